/* test_session.c: the worker session file of `orchestra login` (client/lib/session.c). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "session.h"
#include "support.h"

/* Each test gets its own folder, removed afterwards. */
static int setup(void **state)
{
    char *dir = malloc(1024);
    if (!dir)
        return -1;
    orc_test_tmpdir("session", dir, 1024);
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    orc_test_rmtree(*state);
    free(*state);
    return 0;
}

static void save_ok(const char *path, const char *rpc, const char *username, const char *token,
                    const char *expires_at)
{
    orci_session s = {
        .rpc = (char *)rpc,
        .username = (char *)username,
        .token = (char *)token,
        .expires_at = (char *)expires_at,
    };
    orc_error err = {0};
    int rc = orci_session_save(path, &s, &err);
    if (rc != ORC_OK)
        print_error("save: %s\n", err.message);
    assert_int_equal(rc, ORC_OK);
}

static void test_session_save_then_load_round_trips(void **state)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/session", (const char *)*state);
    save_ok(path, "tcp://127.0.0.1:7999", "journalism-editor", "tok-123",
            "2030-01-02T03:04:05.000000Z");
    orci_session s;
    orc_error err = {0};
    assert_int_equal(orci_session_load(path, &s, &err), ORC_OK);
    assert_string_equal(s.rpc, "tcp://127.0.0.1:7999");
    assert_string_equal(s.username, "journalism-editor");
    assert_string_equal(s.token, "tok-123");
    assert_string_equal(s.expires_at, "2030-01-02T03:04:05.000000Z");
    orci_session_fini(&s);
    assert_null(s.token);
}

static void test_session_optional_fields_stay_absent(void **state)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/session", (const char *)*state);
    save_ok(path, NULL, "alice", "t", NULL);
    char *text = orc_test_read_file(path, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "\"rpc\""));
    assert_null(strstr(text, "\"expires_at\""));
    free(text);
    orci_session s;
    assert_int_equal(orci_session_load(path, &s, NULL), ORC_OK);
    assert_null(s.rpc);
    assert_null(s.expires_at);
    assert_string_equal(s.username, "alice");
    orci_session_fini(&s);
}

static void test_session_file_is_0600_in_new_0700_folders(void **state)
{
    const char *dir = *state;
    char path[1100], sub[1100];
    snprintf(path, sizeof path, "%s/a/b/session", dir);
    save_ok(path, "tcp://h:1", "bob", "secret", NULL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(sub, sizeof sub, "%s/a", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_session_save_replaces_and_leaves_no_temporary(void **state)
{
    const char *dir = *state;
    char path[1100];
    snprintf(path, sizeof path, "%s/session", dir);
    save_ok(path, NULL, "carol", "first", NULL);
    /* A group-readable old file must not pass its mode on. */
    assert_int_equal(chmod(path, 0644), 0);
    save_ok(path, NULL, "carol", "second", NULL);
    orci_session s;
    assert_int_equal(orci_session_load(path, &s, NULL), ORC_OK);
    assert_string_equal(s.token, "second");
    orci_session_fini(&s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            entries++;
    closedir(d);
    assert_int_equal(entries, 1);
}

static void test_session_path_precedence(void **state)
{
    (void)state;
    char path[1100];
    orc_error err = {0};
    setenv("ORCHESTRA_SESSION", "/tmp/explicit/s1", 1);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    setenv("HOME", "/home/w", 1);
    assert_int_equal(orci_session_path(path, sizeof path, &err), ORC_OK);
    assert_string_equal(path, "/tmp/explicit/s1");

    /* Empty counts as unset. */
    setenv("ORCHESTRA_SESSION", "", 1);
    assert_int_equal(orci_session_path(path, sizeof path, &err), ORC_OK);
    assert_string_equal(path, "/xdg/orchestra/session");

    /* A relative XDG_CONFIG_HOME is invalid (XDG spec) and ignored. */
    unsetenv("ORCHESTRA_SESSION");
    setenv("XDG_CONFIG_HOME", "relative/cfg", 1);
    assert_int_equal(orci_session_path(path, sizeof path, &err), ORC_OK);
    assert_string_equal(path, "/home/w/.config/orchestra/session");

    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    assert_int_equal(orci_session_path(path, sizeof path, &err), ORC_FAILED_PRECONDITION);
    assert_string_equal(path, "");

    setenv("ORCHESTRA_SESSION", "/a/rather/long/path", 1);
    assert_int_equal(orci_session_path(path, 8, &err), ORC_OUT_OF_RANGE);
    unsetenv("ORCHESTRA_SESSION");
}

static void test_session_load_missing_file_is_not_found(void **state)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/nothing/session", (const char *)*state);
    orci_session s;
    orc_error err = {0};
    assert_int_equal(orci_session_load(path, &s, &err), ORC_NOT_FOUND);
    assert_null(s.token);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(orci_session_remove(path, &err), ORC_NOT_FOUND);
}

static void test_session_load_refuses_what_is_not_a_session(void **state)
{
    const char *dir = *state;
    static const char *const bad[] = {
        "not json",
        "[1,2]",
        "{\"username\":\"a\"}",
        "{\"username\":\"a\",\"token\":\"\"}",
        "{\"username\":\"a\",\"token\":7}",
        "{\"token\":\"t\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/bad%zu", dir, i);
        assert_int_equal(orc_test_write_file(path, bad[i]), 0);
        orci_session s;
        orc_error err = {0};
        assert_int_equal(orci_session_load(path, &s, &err), ORC_INVALID_ARGUMENT);
        assert_null(s.username);
        assert_null(s.token);
    }
}

static void test_session_save_refuses_no_token(void **state)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/session", (const char *)*state);
    orci_session s = {.username = "a", .token = ""};
    assert_int_equal(orci_session_save(path, &s, NULL), ORC_INVALID_ARGUMENT);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
}

static void test_session_remove_deletes_the_file(void **state)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/session", (const char *)*state);
    save_ok(path, NULL, "dave", "t", NULL);
    assert_int_equal(orci_session_remove(path, NULL), ORC_OK);
    orci_session s;
    assert_int_equal(orci_session_load(path, &s, NULL), ORC_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_save_then_load_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_optional_fields_stay_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_file_is_0600_in_new_0700_folders, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_save_replaces_and_leaves_no_temporary, setup,
                                        teardown),
        cmocka_unit_test(test_session_path_precedence),
        cmocka_unit_test_setup_teardown(test_session_load_missing_file_is_not_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_load_refuses_what_is_not_a_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_session_save_refuses_no_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_remove_deletes_the_file, setup, teardown),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
