/*
 * test_json.c: strict parsing (duplicates, trailing bytes, UTF-8, size, type) and dumping.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "json.h"

static void test_json_parses_valid_document(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *text = "{\"n\": 9007199254740993, \"s\": \"\xc3\xa9t\xc3\xa9\"}";
    json_t *v = orci_json_parse_object(text, strlen(text), "doc.json", &err);
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "n")), INT64_C(9007199254740993));
    assert_string_equal(json_string_value(json_object_get(v, "s")), "\xc3\xa9t\xc3\xa9");
    json_decref(v);
}

static void test_json_parse_accepts_any_type(void **state)
{
    (void)state;
    orc_error err = {0};
    json_t *v = orci_json_parse("42", 2, "n", &err);
    assert_non_null(v);
    assert_int_equal(json_integer_value(v), 42);
    json_decref(v);
    v = orci_json_parse("[1,2]", 5, "a", &err);
    assert_non_null(v);
    assert_true(json_is_array(v));
    json_decref(v);
}

static void test_json_refuses_duplicate_keys(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *text = "{\"a\":1,\"a\":2}";
    assert_null(orci_json_parse(text, strlen(text), "dup.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "duplicate"));
}

static void test_json_refuses_trailing_bytes(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *text = "{\"a\":1} x";
    assert_null(orci_json_parse(text, strlen(text), "t.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
    text = "{\"a\":1}{}";
    assert_null(orci_json_parse(text, strlen(text), "t.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
}

static void test_json_refuses_invalid_utf8(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *text = "{\"a\":\"\xc3\x28\"}";
    assert_null(orci_json_parse(text, strlen(text), "u.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
    /* An embedded NUL escape is refused too: C strings cannot carry it. */
    text = "{\"a\":\"x\\u0000y\"}";
    assert_null(orci_json_parse(text, strlen(text), "u.json", &err));
}

static void test_json_parse_object_refuses_non_objects(void **state)
{
    (void)state;
    static const char *const docs[] = {"[1,2]", "\"s\"", "3", "true", "null"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        orc_error err = {0};
        assert_null(orci_json_parse_object(docs[i], strlen(docs[i]), "workflow.json", &err));
        assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
        assert_non_null(strstr(err.message, "workflow.json"));
        assert_non_null(strstr(err.message, "object"));
    }
}

static void test_json_error_names_document_and_line(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *text = "{\n  \"a\": 1,\n  \"b\": ,\n}";
    assert_null(orci_json_parse(text, strlen(text), "version.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
    assert_true(strncmp(err.message, "version.json: line 3 column ", 28) == 0);
}

static void test_json_refuses_empty_and_oversized_documents(void **state)
{
    (void)state;
    orc_error err = {0};
    assert_null(orci_json_parse("", 0, "empty.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);

    size_t big = 16u * 1024 * 1024 + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    text[0] = '0';
    orc_error_clear(&err);
    assert_null(orci_json_parse(text, big, "big.json", &err));
    assert_int_equal(err.code, ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "big.json"));
    assert_non_null(strstr(err.message, "16 MiB"));
    free(text);
}

static void test_json_dump_round_trip_keeps_key_order(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *text = "{ \"zeta\": 1, \"alpha\": [true, null, 2.5], \"mid\": {\"b\": \"x\", "
                       "\"a\": \"y\"} }";
    json_t *v = orci_json_parse_object(text, strlen(text), "doc", &err);
    assert_non_null(v);
    char *out = orci_json_dump(v);
    assert_non_null(out);
    assert_string_equal(out,
                        "{\"zeta\":1,\"alpha\":[true,null,2.5],\"mid\":{\"b\":\"x\",\"a\":\"y\"}}");
    json_t *again = orci_json_parse_object(out, strlen(out), "dump", &err);
    assert_non_null(again);
    assert_true(json_equal(v, again));
    free(out);
    json_decref(again);
    json_decref(v);

    json_t *obj = json_object();
    json_object_set_new(obj, "b", json_integer(1));
    json_object_set_new(obj, "a", json_integer(2));
    out = orci_json_dump(obj);
    assert_string_equal(out, "{\"b\":1,\"a\":2}");
    free(out);
    json_decref(obj);

    json_t *s = json_string("scalar");
    out = orci_json_dump(s);
    assert_string_equal(out, "\"scalar\"");
    free(out);
    json_decref(s);
    assert_null(orci_json_dump(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parses_valid_document),
        cmocka_unit_test(test_json_parse_accepts_any_type),
        cmocka_unit_test(test_json_refuses_duplicate_keys),
        cmocka_unit_test(test_json_refuses_trailing_bytes),
        cmocka_unit_test(test_json_refuses_invalid_utf8),
        cmocka_unit_test(test_json_parse_object_refuses_non_objects),
        cmocka_unit_test(test_json_error_names_document_and_line),
        cmocka_unit_test(test_json_refuses_empty_and_oversized_documents),
        cmocka_unit_test(test_json_dump_round_trip_keeps_key_order),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
