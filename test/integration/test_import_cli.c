/*
 * test_import_cli.c: switching from upstream with the `orchestra` CLI against a real
 * orchestrad: `orchestra import` of the hand-written upstream fixture (its report, the users
 * who need a password, a second run, a broken or missing file), `orchestra worker password`
 * for an imported worker, the failed machine job the import left for an admin, and a workflow
 * folder with a Python creation policy loaded, and one whose path names no function refused.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support.h"

typedef struct fixture {
    orc_harness h;
    char dump[600]; /* the upstream fixture */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dump, sizeof f->dump, "%s/test/integration/data/upstream_dump.json",
             orc_test_env("ORC_SOURCE_DIR"));
    *state = f;
    if (orc_harness_start(&f->h, NULL) != 0) {
        orc_harness_cleanup(&f->h);
        free(f);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int status = f->h.pid != 0 ? orc_harness_stop(&f->h) : 0;
    orc_harness_cleanup(&f->h);
    free(f);
    return status == 0 ? 0 : -1;
}

/* One CLI run's outcome; cli() fails the test when the program could not run. */
typedef struct run {
    int code;
    char *out, *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

#define CLI(f, stdin_text, r, ...)                                                                 \
    do {                                                                                           \
        if (orc_harness_cli(&(f)->h, (stdin_text), &(r).code, &(r).out, &(r).err, __VA_ARGS__,     \
                            NULL) != 0)                                                            \
            fail_msg("the CLI did not run");                                                       \
    } while (0)

static void expect_code(const run *r, int code)
{
    if (r->code != code)
        fail_msg("exit %d (want %d)\nstdout: %s\nstderr: %s", r->code, code, r->out, r->err);
}

static void test_import_reports_and_changes_nothing_the_second_time(void **state)
{
    fixture *f = *state;
    run r;
    CLI(f, NULL, r, "import", f->dump);
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "orchestra.project               9 created, 0 already here"));
    assert_non_null(strstr(r.out, "orchestra.payrate               1 skipped (not imported)"));
    assert_non_null(strstr(r.out, "warning: orchestra.project pk 9: every task is Complete"));
    assert_non_null(strstr(r.out, "`orchestra worker password USERNAME --password-stdin`:\n"
                                  "  admin\n  ann\n  rob\n  rev2\n  gone.user\n"));
    run_free(&r);

    CLI(f, NULL, r, "--json", "import", f->dump);
    expect_code(&r, 0);
    json_t *doc = json_loads(r.out, 0, NULL);
    assert_non_null(doc);
    json_t *projects = json_object_get(json_object_get(doc, "counts"), "orchestra.project");
    assert_int_equal(json_integer_value(json_object_get(projects, "created")), 0);
    assert_int_equal(json_integer_value(json_object_get(projects, "existing")), 9);
    assert_int_equal(json_array_size(json_object_get(doc, "warnings")), 0);
    json_decref(doc);
    run_free(&r);

    /* The machine step that had failed upstream waits for an admin's retry. */
    CLI(f, NULL, r, "--json", "job", "list");
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "failed before the import (upstream)"));
    run_free(&r);
}

static void test_broken_and_missing_files(void **state)
{
    fixture *f = *state;
    char path[700];
    snprintf(path, sizeof path, "%s/broken.json", f->h.dir);
    assert_int_equal(orc_test_write_file(path, "[{\"model\": \"auth.user\", \"pk\": 1, \"fields\":"
                                               " {\"username\": \"x\"}},"
                                               " {\"model\": \"orchestra.worker\", \"pk\": 1,"
                                               " \"fields\": {\"user\": 2}}]"),
                     0);
    run r;
    CLI(f, NULL, r, "import", path);
    expect_code(&r, 1);
    assert_non_null(strstr(r.err, "The import failed, nothing was imported: orchestra.worker pk "
                                  "1: field \"user\": auth.user pk 2 is neither in the fixture "
                                  "nor imported before"));
    run_free(&r);
    /* Nothing of it stayed: the user of the refused import does not exist. */
    CLI(f, "pw\n", r, "worker", "password", "x", "--password-stdin");
    expect_code(&r, 1);
    assert_non_null(strstr(r.err, "Worker x not found"));
    run_free(&r);
    CLI(f, NULL, r, "import", "/nonexistent/dump.json");
    expect_code(&r, 2);
    run_free(&r);
}

static void test_imported_worker_gets_a_password(void **state)
{
    fixture *f = *state;
    run r;
    CLI(f, NULL, r, "import", f->dump);
    expect_code(&r, 0);
    run_free(&r);
    CLI(f, "s3cret\n", r, "--json", "worker", "password", "rob", "--password-stdin");
    expect_code(&r, 0);
    assert_string_equal(r.out, "{\"username\":\"rob\"}\n");
    run_free(&r);
    char session[600];
    snprintf(session, sizeof session, "ORCHESTRA_SESSION=%s/rob.session", f->h.dir);
    const char *env[] = {session, NULL};
    const char *login[] = {"login", "rob", "--password-stdin", NULL};
    assert_int_equal(
        orc_harness_cli_env(&f->h, NULL, NULL, env, "s3cret\n", &r.code, &r.out, &r.err, login), 0);
    expect_code(&r, 0);
    run_free(&r);
    /* Rob's imported review is his to continue. */
    const char *dash[] = {"--json", "dashboard", NULL};
    assert_int_equal(
        orc_harness_cli_env(&f->h, NULL, NULL, env, NULL, &r.code, &r.out, &r.err, dash), 0);
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "\"in_progress\":[{\"id\":15,"));
    run_free(&r);
}

/* write_policy_flow writes workflow pyflow whose step s has a creation policy naming path. */
static void write_policy_flow(fixture *f, const char *path, char *dir, size_t dir_size)
{
    char file[700], text[600];
    snprintf(dir, dir_size, "%s/pyflow", f->h.dir);
    snprintf(file, sizeof file, "%s/workflow.json", dir);
    assert_int_equal(orc_test_write_file(file, "{\"slug\": \"pyflow\", \"name\": \"P\","
                                               " \"description\": \"\", \"certifications\": []}"),
                     0);
    snprintf(file, sizeof file, "%s/v1/version.json", dir);
    snprintf(text, sizeof text,
             "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"\", \"steps\": [{\"slug\":"
             " \"s\", \"name\": \"S\", \"description\": \"\", \"creation_policy\":"
             " {\"policy_function\": {\"path\": \"%s\"}}}]}",
             path);
    assert_int_equal(orc_test_write_file(file, text), 0);
}

static void test_python_creation_policy_loads_and_a_bad_path_is_refused(void **state)
{
    fixture *f = *state;
    char dir[600];
    run r;
    /* Python creation policies run on the executors (issue 16): the workflow loads. */
    write_policy_flow(f, "pyflow.policies.decide", dir, sizeof dir);
    CLI(f, NULL, r, "workflow", "load", dir, "v1");
    expect_code(&r, 0);
    run_free(&r);
    /* A path that cannot name a Python function is refused when loading. */
    write_policy_flow(f, "decide", dir, sizeof dir);
    CLI(f, NULL, r, "workflow", "load", dir, "v1", "--force");
    expect_code(&r, 1);
    assert_non_null(strstr(r.err, "An error occurred while loading the workflow: "
                                  "s.creation_policy: \"path\" must name a Python function, "
                                  "\"package.module.function\" (decide is not one)"));
    run_free(&r);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_import_reports_and_changes_nothing_the_second_time),
        T(test_broken_and_missing_files),
        T(test_imported_worker_gets_a_password),
        T(test_python_creation_policy_loads_and_a_bad_path_is_refused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
