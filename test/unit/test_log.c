/*
 * test_log.c: the log's two formats (common/log.h): text lines with key=value fields, and
 * JSON objects that stay valid whatever the message holds; the level check; the level and
 * format word handed to child processes.
 *
 * The log writes to file descriptor 2: each test sends it to a scratch file
 * (orci_log_open_file) and reads the lines back.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "support.h"

typedef struct fixture {
    char dir[256];
    char path[320];
    int saved_stderr;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    orc_test_tmpdir("log", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/log.txt", f->dir);
    f->saved_stderr = dup(2);
    orci_log_init("tester", ORCI_LOG_DEBUG);
    orci_log_set_format(ORCI_LOG_TEXT);
    *state = f;
    return orci_log_open_file(f->path) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dup2(f->saved_stderr, 2);
    close(f->saved_stderr);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* read_log returns the file's lines so far (malloc'd) and empties it for the next test step. */
static char *read_log(const fixture *f)
{
    char *text = orc_test_read_file(f->path, NULL);
    assert_non_null(text);
    assert_int_equal(truncate(f->path, 0), 0);
    return text;
}

/* parse_line parses one JSON line strictly (jansson refuses invalid UTF-8 and bad escapes). */
static json_t *parse_line(const char *line)
{
    json_error_t e;
    json_t *v = json_loads(line, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        fail_msg("not JSON (%s): %s", e.text, line);
    assert_true(json_is_object(v));
    return v;
}

static void test_log_text_line_carries_fields_quoted_when_needed(void **state)
{
    fixture *f = *state;
    orci_log_field fields[] = {ORCI_LOG_STR("request_id", "ab12"),
                               ORCI_LOG_STR("caller", "key:k1"),
                               ORCI_LOG_STR("error", "No project \"7\" here"),
                               ORCI_LOG_STR("empty", ""),
                               ORCI_LOG_INT("status", 404),
                               ORCI_LOG_MS("duration_ms", 1.23456)};
    orci_log_fields(ORCI_LOG_INFO, fields, 6, "rpc %s", "done");
    char *text = read_log(f);
    const char *body = strstr(text, " INFO tester: ");
    assert_non_null(body);
    assert_string_equal(body, " INFO tester: rpc done request_id=ab12 caller=key:k1 "
                              "error=\"No project \\\"7\\\" here\" empty=\"\" status=404 "
                              "duration_ms=1.235\n");
    free(text);
}

static void test_log_json_line_has_the_keys_and_typed_values(void **state)
{
    fixture *f = *state;
    orci_log_set_format(ORCI_LOG_JSON);
    orci_log_field fields[] = {ORCI_LOG_STR("method", "CompleteJob"), ORCI_LOG_INT("status", 200),
                               ORCI_LOG_MS("duration_ms", 0.5)};
    orci_log_fields(ORCI_LOG_WARN, fields, 3, "rpc");
    orci_info("plain %d", 7);
    char *text = read_log(f);
    char *second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *v = parse_line(text);
    assert_string_equal(json_string_value(json_object_get(v, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(v, "program")), "tester");
    assert_string_equal(json_string_value(json_object_get(v, "msg")), "rpc");
    assert_string_equal(json_string_value(json_object_get(v, "method")), "CompleteJob");
    assert_int_equal(json_integer_value(json_object_get(v, "status")), 200);
    assert_true(json_real_value(json_object_get(v, "duration_ms")) == 0.5);
    const char *time = json_string_value(json_object_get(v, "time"));
    assert_non_null(time);
    assert_int_equal(strlen(time), strlen("2026-11-27T05:14:57.123Z"));
    assert_int_equal(time[strlen(time) - 1], 'Z');
    json_decref(v);
    v = parse_line(second);
    assert_string_equal(json_string_value(json_object_get(v, "msg")), "plain 7");
    assert_string_equal(json_string_value(json_object_get(v, "level")), "info");
    assert_int_equal(json_object_size(v), 4);
    json_decref(v);
    free(text);
    orci_log_set_format(ORCI_LOG_TEXT);
}

static void test_log_json_stays_valid_whatever_the_text_holds(void **state)
{
    fixture *f = *state;
    orci_log_set_format(ORCI_LOG_JSON);
    /* Quotes, backslashes, control characters, a line break, invalid UTF-8, and valid. */
    const char *nasty = "a\"b\\c\x01\td\ne\xff\xfe f\xc3\xa9 \xe2\x82";
    orci_log_field fields[] = {ORCI_LOG_STR("value", nasty), ORCI_LOG_STR("null", NULL)};
    orci_log_fields(ORCI_LOG_ERROR, fields, 2, "%s", nasty);
    /* A message far longer than a record holds is cut, and the line is still JSON. */
    char *huge = malloc(100000);
    assert_non_null(huge);
    memset(huge, '"', 99999);
    huge[99999] = '\0';
    orci_log_fields(ORCI_LOG_ERROR, fields, 1, "%s", huge);
    free(huge);
    char *text = read_log(f);
    char *second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_ptr_equal(strchr(second, '\n'), second + strlen(second) - 1); /* one more line */
    json_t *v = parse_line(text);
    const char *msg = json_string_value(json_object_get(v, "msg"));
    assert_string_equal(msg, "a\"b\\c\x01\td\ne\xef\xbf\xbd\xef\xbf\xbd f\xc3\xa9 "
                             "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(v, "value")), msg);
    assert_string_equal(json_string_value(json_object_get(v, "null")), "");
    json_decref(v);
    second[strlen(second) - 1] = '\0';
    v = parse_line(second);
    msg = json_string_value(json_object_get(v, "msg"));
    assert_true(strlen(msg) > 100);
    assert_true(strlen(msg) < 5000);
    assert_string_equal(msg + strlen(msg) - 3, "...");
    json_decref(v);
    free(text);
    orci_log_set_format(ORCI_LOG_TEXT);
}

static void test_log_text_keeps_one_record_on_one_line(void **state)
{
    fixture *f = *state;
    orci_log_field fields[] = {ORCI_LOG_STR("v", "x\ny")};
    orci_log_fields(ORCI_LOG_INFO, fields, 1, "one\ntwo\n");
    char *text = read_log(f);
    assert_non_null(strstr(text, ": one two v=\"x y\"\n"));
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
    free(text);
}

static void test_log_level_off_writes_nothing_and_says_so(void **state)
{
    fixture *f = *state;
    orci_log_init("tester", ORCI_LOG_WARN);
    assert_false(orci_log_enabled(ORCI_LOG_INFO));
    assert_true(orci_log_enabled(ORCI_LOG_WARN));
    orci_info("hidden");
    orci_log_fields(ORCI_LOG_DEBUG, NULL, 0, "hidden too");
    char *text = read_log(f);
    assert_string_equal(text, "");
    free(text);
    orci_log_init("tester", ORCI_LOG_DEBUG);
}

static void test_log_spec_hands_level_and_format_to_a_child(void **state)
{
    (void)state;
    char spec[32];
    orci_log_init("tester", ORCI_LOG_DEBUG);
    orci_log_set_format(ORCI_LOG_JSON);
    orci_log_spec(spec, sizeof spec);
    assert_string_equal(spec, "debug:json");
    orci_log_init_spec("child", "warn");
    orci_log_spec(spec, sizeof spec);
    assert_string_equal(spec, "warn");
    orci_log_init_spec("child", "bogus:json");
    orci_log_spec(spec, sizeof spec);
    assert_string_equal(spec, "info:json");
    assert_int_equal(orci_log_parse_format("json"), ORCI_LOG_JSON);
    assert_int_equal(orci_log_parse_format("text"), ORCI_LOG_TEXT);
    assert_int_equal(orci_log_parse_format("JSON"), -1);
    assert_int_equal(orci_log_parse_format(NULL), -1);
    orci_log_init("tester", ORCI_LOG_DEBUG);
    orci_log_set_format(ORCI_LOG_TEXT);
}

static void test_log_url_hides_credentials(void **state)
{
    (void)state;
    char out[128];
    orci_log_url("smtp://ann:s3cr@t@mail.example.com:587/x?y", out, sizeof out);
    assert_string_equal(out, "smtp://***@mail.example.com:587/x?y");
    orci_log_url("https://hooks.example.com/a@b", out, sizeof out);
    assert_string_equal(out, "https://hooks.example.com/a@b"); /* '@' in the path: no userinfo */
    orci_log_url("http://127.0.0.1:8080/hook", out, sizeof out);
    assert_string_equal(out, "http://127.0.0.1:8080/hook");
    orci_log_url("user:pw@host", out, sizeof out);
    assert_string_equal(out, "***@host");
    orci_log_url(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_text_line_carries_fields_quoted_when_needed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_json_line_has_the_keys_and_typed_values, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_json_stays_valid_whatever_the_text_holds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_text_keeps_one_record_on_one_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_level_off_writes_nothing_and_says_so, setup,
                                        teardown),
        cmocka_unit_test(test_log_spec_hands_level_and_format_to_a_child),
        cmocka_unit_test(test_log_url_hides_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
