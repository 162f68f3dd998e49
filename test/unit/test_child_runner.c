/*
 * test_child_runner.c: jobs run isolated in child processes (plugins/executor/job.c,
 * child.c): a crash, a hang, too much output and failing commands become failed jobs,
 * never a failed executor.
 *
 * The test program plays the executor binary: run with --run-plugin it is the job child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "job.h"
#include "log.h"
#include "plugin_set.h"

typedef struct fixture {
    char self[PATH_MAX];
    char storage[64];
    orc_plugin_host host;
    orci_plugin_set *plugins;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    orc_error e = {0};
    if (!f)
        return -1;
    ssize_t n = readlink("/proc/self/exe", f->self, sizeof f->self - 1);
    if (n <= 0)
        return -1;
    f->self[n] = '\0';
    snprintf(f->storage, sizeof f->storage, "/tmp/orc_test_child_XXXXXX");
    if (!mkdtemp(f->storage))
        return -1;
    orci_plugin_host_init(&f->host, f->storage);
    if (orci_plugin_set_new(&f->host, &f->plugins, &e) != ORC_OK ||
        orci_plugin_set_load_dir(f->plugins, ORC_TEST_PLUGIN_DIR, NULL, NULL, &e) != ORC_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    orci_plugin_set_destroy(f->plugins);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->storage);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* spec_for makes a job spec for function with the fixture's plugins. */
static orci_job_spec spec_for(fixture *f, const char *function, const char *project_data)
{
    return (orci_job_spec){.function = function,
                           .project_data = project_data,
                           .prerequisites = "{\"crawl\":{\"image\":\"x.png\"}}",
                           .plugins = f->plugins,
                           .allow_commands = true,
                           .self_exe = f->self,
                           .storage_root = f->storage,
                           .log_level = "warn",
                           .timeout_ms = 30000};
}

static void test_job_plugin_output_comes_back(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.flaky.echo", "{\"project_id\":7,\"url\":\"u\"}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    json_t *o = json_loads(out.output, 0, NULL);
    assert_non_null(o);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(o, "project_data"), "project_id")), 7);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(o, "prerequisites"), "crawl"), "image")),
        "x.png");
    json_decref(o);
    orci_job_outcome_fini(&out);
}

static void test_job_crash_fails_retryable_with_signal(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.crash.segv", "{\"project_id\":1}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_string_equal(out.error, "function crashed: signal 11");
    orci_job_outcome_fini(&out);
}

static void test_job_hang_is_killed_at_deadline(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.hang.sleep", "{\"project_id\":1}");
    s.timeout_ms = 1000;
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_string_equal(out.error, "function timed out after 1 s");
    orci_job_outcome_fini(&out);
}

static void test_job_output_over_cap_fails_permanently(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.flaky.big", "{\"project_id\":1,\"size\":100000}");
    s.output_max = 10000;
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_false(out.retryable);
    assert_string_equal(out.error, "function output exceeds 10000 bytes");
    orci_job_outcome_fini(&out);

    s.output_max = 200000; /* the same function under a larger cap succeeds */
    orci_job_run(&s, &out);
    assert_true(out.ok);
    orci_job_outcome_fini(&out);
}

static void test_job_flaky_fails_then_succeeds(void **state)
{
    fixture *f = *state;
    orci_job_spec s =
        spec_for(f, "test_plugins.flaky.flaky", "{\"project_id\":42,\"fail_times\":1}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_string_equal(out.error, "flaky failure 1 of 1");
    orci_job_outcome_fini(&out);
    orci_job_run(&s, &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "{\"attempts\":2}");
    orci_job_outcome_fini(&out);
}

static void test_job_unknown_function_fails_permanently(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.bad_abi.noop", "{}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_false(out.retryable);
    assert_string_equal(out.error, "no plugin provides the function test_plugins.bad_abi.noop");
    orci_job_outcome_fini(&out);
}

static void test_job_bad_project_data_fails_permanently(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.flaky.echo", "[1,2]");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_false(out.retryable);
    assert_non_null(strstr(out.error, "project_data"));
    orci_job_outcome_fini(&out);
}

static void test_command_reads_stdin_and_returns_its_json(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{\"project_id\":3}");
    s.execution_function = "{\"command\":[\"sh\",\"-c\",\"read -r line; printf "
                           "'{\\\"input\\\":%s}' \\\"$line\\\"\"]}";
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    json_t *o = json_loads(out.output, 0, NULL);
    assert_non_null(o);
    json_t *in = json_object_get(o, "input");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(in, "project_data"), "project_id")), 3);
    assert_true(json_is_object(json_object_get(json_object_get(in, "prerequisites"), "crawl")));
    json_decref(o);
    orci_job_outcome_fini(&out);
}

static void test_command_nonzero_exit_fails(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"sh\",\"-c\",\"echo '{}'; exit 3\"]}";
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_string_equal(out.error, "command exited with status 3");
    orci_job_outcome_fini(&out);
}

static void test_command_bad_json_fails(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"echo\",\"not json\"]}";
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_false(out.retryable);
    assert_non_null(strstr(out.error, "command output"));
    orci_job_outcome_fini(&out);

    s.execution_function = "{\"command\":[\"echo\",\"[1]\"]}"; /* JSON, but not an object */
    orci_job_run(&s, &out);
    assert_false(out.ok);
    orci_job_outcome_fini(&out);
}

static void test_command_missing_program_fails(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"/nonexistent/orchestra-test-program\"]}";
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "cannot run /nonexistent/orchestra-test-program: No such "
                                   "file or directory");
    orci_job_outcome_fini(&out);
}

static void test_command_refused_without_allow_commands(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"true\"]}";
    s.allow_commands = false;
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_false(out.retryable);
    assert_string_equal(out.error, "external commands are not allowed on this executor");
    orci_job_outcome_fini(&out);
}

static void test_command_output_cap_kills_it(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"yes\"]}";
    s.output_max = 4096;
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_string_equal(out.error, "command output exceeds 4096 bytes");
    orci_job_outcome_fini(&out);
}

static void test_command_crash_reports_signal(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"sh\",\"-c\",\"kill -9 $$\"]}";
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_string_equal(out.error, "command crashed: signal 9");
    orci_job_outcome_fini(&out);
}

static bool stop_at_second_tick(void *arg)
{
    int *ticks = arg;
    return ++*ticks < 2;
}

static void test_child_tick_runs_and_can_stop_the_child(void **state)
{
    (void)state;
    int ticks = 0;
    const char *argv[] = {"sleep", "30", NULL};
    orci_child_spec cs = {.argv = argv,
                          .timeout_ms = 60000,
                          .output_max = 1024,
                          .tick_ms = 10,
                          .tick = stop_at_second_tick,
                          .tick_arg = &ticks};
    orci_child_result r;
    orc_error e = {0};
    assert_int_equal(orci_child_run(&cs, &r, &e), ORC_OK);
    assert_int_equal(r.outcome, ORCI_CHILD_STOPPED);
    assert_int_equal(ticks, 2);
    orci_child_result_fini(&r);
}

static void test_child_large_input_reaches_the_child(void **state)
{
    (void)state;
    size_t n = 1u << 20; /* far more than a pipe buffer */
    char *input = malloc(n);
    assert_non_null(input);
    memset(input, 'a', n);
    const char *argv[] = {"wc", "-c", NULL};
    orci_child_spec cs = {
        .argv = argv, .input = input, .input_len = n, .timeout_ms = 30000, .output_max = 1024};
    orci_child_result r;
    orc_error e = {0};
    assert_int_equal(orci_child_run(&cs, &r, &e), ORC_OK);
    assert_int_equal(r.outcome, ORCI_CHILD_EXITED);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(strtol(r.output, NULL, 10), (long)n);
    orci_child_result_fini(&r);
    free(input);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], ORCI_JOB_CHILD_FLAG) == 0)
        return orci_job_child_main(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    orci_log_init("test_child_runner", ORCI_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_plugin_output_comes_back),
        cmocka_unit_test(test_job_crash_fails_retryable_with_signal),
        cmocka_unit_test(test_job_hang_is_killed_at_deadline),
        cmocka_unit_test(test_job_output_over_cap_fails_permanently),
        cmocka_unit_test(test_job_flaky_fails_then_succeeds),
        cmocka_unit_test(test_job_unknown_function_fails_permanently),
        cmocka_unit_test(test_job_bad_project_data_fails_permanently),
        cmocka_unit_test(test_command_reads_stdin_and_returns_its_json),
        cmocka_unit_test(test_command_nonzero_exit_fails),
        cmocka_unit_test(test_command_bad_json_fails),
        cmocka_unit_test(test_command_missing_program_fails),
        cmocka_unit_test(test_command_refused_without_allow_commands),
        cmocka_unit_test(test_command_output_cap_kills_it),
        cmocka_unit_test(test_command_crash_reports_signal),
        cmocka_unit_test(test_child_tick_runs_and_can_stop_the_child),
        cmocka_unit_test(test_child_large_input_reaches_the_child),
    };
    return cmocka_run_group_tests_name("child_runner", tests, setup, teardown);
}
