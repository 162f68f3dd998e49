/*
 * test_job_api.c: the public job protocol (orchestra/jobs.h) against a real orchestrad: a
 * lease that finds nothing, a heartbeat, a retryable failure, a completion that brings the
 * chain's next job in the same call, a lost lease refused; and the README's minimal executor
 * (compiled from the README's own text) running a two-step chain to its end.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_flow.h"
#include "exec_harness.h"
#include "harness.h"
#include "orchestra/jobs.h"
#include "support.h"

#define WAIT_MS 20000

typedef struct fixture {
    orc_harness h;
    char key[128], secret[128];
} fixture;

static const char *const hello[] = {"example.hello"};

/* load_hello loads workflow hello/v1: machine steps a -> b, both example.hello, with the
 * retry policy retry (JSON text). */
static void load_hello(fixture *f, const char *retry)
{
    char version[1024], dir[700];
    snprintf(version, sizeof version,
             "{\"slug\":\"v1\",\"name\":\"V1\",\"description\":\"Two steps.\",\"steps\":["
             "{\"slug\":\"a\",\"name\":\"A\",\"description\":\"a\",\"is_human\":false,"
             "\"execution_function\":{\"module\":\"example\",\"name\":\"hello\"},"
             "\"retry_policy\":%s},"
             "{\"slug\":\"b\",\"name\":\"B\",\"description\":\"b\",\"is_human\":false,"
             "\"creation_depends_on\":[\"a\"],"
             "\"execution_function\":{\"module\":\"example\",\"name\":\"hello\"}}]}",
             retry);
    orc_flow_write_workflow(f->h.dir, "hello",
                            "{\"slug\":\"hello\",\"name\":\"Hello\",\"description\":\"Greets.\","
                            "\"certifications\":[]}",
                            version, dir, sizeof dir);
    orc_flow_load_workflow(&f->h, dir, "v1");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || orc_harness_start(&f->h, NULL) != 0)
        return -1;
    return orc_harness_create_key(&f->h, "runner", "executor", f->key, sizeof f->key, f->secret,
                                  sizeof f->secret);
}

static int teardown(void **state)
{
    fixture *f = *state;
    orc_harness_cleanup(&f->h);
    free(f);
    return 0;
}

static orc_client *executor_client(fixture *f)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client_timeout(&f->h, f->key, f->secret, 30000, &c), ORC_OK);
    return c;
}

static void test_job_api_leases_heartbeats_fails_and_chains(void **state)
{
    fixture *f = *state;
    load_hello(f, "{\"max_attempts\":2,\"initial_delay_ms\":1,\"max_delay_ms\":1}");
    orc_client *c = executor_client(f);
    orc_job_offer offer = {.executor_id = "test", .functions = hello, .n_functions = 1};
    orc_job *job = NULL, *next = NULL;
    orc_error e;
    /* Nothing to lease yet: the poll ends empty. */
    assert_int_equal(orc_job_lease(c, &offer, 200, &job, &e), ORC_OK);
    assert_null(job);

    int64_t p = orc_flow_create_project(&f->h, "hello", "v1", "greet", "{\"who\":\"you\"}");
    assert_int_equal(orc_job_lease(c, &offer, 5000, &job, &e), ORC_OK);
    assert_non_null(job);
    assert_string_equal(job->step, "a");
    assert_string_equal(job->function, "example.hello");
    assert_int_equal(job->project_id, p);
    assert_int_equal(job->attempt, 1);
    assert_non_null(strstr(job->project_data, "\"who\""));
    bool cancelled = true, will_retry = false;
    assert_int_equal(orc_job_heartbeat(c, job, 0, &cancelled, &e), ORC_OK);
    assert_false(cancelled);

    /* A retryable failure: the job comes back as attempt 2. */
    assert_int_equal(orc_job_fail(c, job, "not now", true, &will_retry, NULL, NULL, &e), ORC_OK);
    assert_true(will_retry);
    orc_job *again = NULL;
    assert_int_equal(orc_job_lease(c, &offer, 5000, &again, &e), ORC_OK);
    assert_non_null(again);
    assert_int_equal(again->job_id, job->job_id);
    assert_int_equal(again->attempt, 2);
    /* The first lease is lost now: its report is refused and changes nothing. */
    assert_int_equal(orc_job_complete(c, job, "{}", NULL, NULL, &e), ORC_FAILED_PRECONDITION);
    orc_job_free(job);

    /* Completing a brings b in the same call. */
    assert_int_equal(orc_job_complete(c, again, "{\"greeting\":\"hi\"}", &offer, &next, &e),
                     ORC_OK);
    assert_non_null(next);
    assert_string_equal(next->step, "b");
    assert_non_null(strstr(next->prerequisites, "\"greeting\""));
    assert_int_equal(orc_job_complete(c, next, "{}", &offer, &job, &e), ORC_OK);
    assert_null(job); /* the chain is done */
    orc_job_free(again);
    orc_job_free(next);
    orc_flow_expect_project_status(&f->h, p, "Completed");
    orc_client_destroy(c);
}

static void test_readme_minimal_executor_runs_a_chain(void **state)
{
    fixture *f = *state;
    load_hello(f, "{}");
    char log[400];
    snprintf(log, sizeof log, "%s/readme_executor.log", f->h.dir);
    setenv("ORCHESTRA_RPC", f->h.rpc_url, 1);
    setenv("ORCHESTRA_API_KEY", f->key, 1);
    setenv("ORCHESTRA_API_SECRET", f->secret, 1);
    const char *argv[] = {orc_test_env("ORC_README_EXECUTOR"), NULL};
    pid_t pid = orc_test_spawn(argv, log);
    unsetenv("ORCHESTRA_RPC");
    unsetenv("ORCHESTRA_API_KEY");
    unsetenv("ORCHESTRA_API_SECRET");
    assert_true(pid > 0);
    int64_t p = orc_flow_create_project(&f->h, "hello", "v1", "greet", NULL);
    int rc = orc_exec_wait_task(&f->h, p, "b", "Complete/Submitted", WAIT_MS, NULL, 0);
    kill(pid, SIGKILL);
    int status;
    orc_test_wait_exit(pid, 5000, &status);
    if (rc != 0) {
        char *text = orc_test_read_file(log, NULL);
        fprintf(stderr, "-- the README executor's output --\n%s\n", text ? text : "");
        free(text);
    }
    assert_int_equal(rc, 0);
    json_t *info = orc_flow_project_info(&f->h, p);
    const char *greeting = json_string_value(
        json_object_get(json_object_get(orc_flow_task(info, "a"), "latest_data"), "greeting"));
    char want[80];
    snprintf(want, sizeof want, "hello from step a of project %lld", (long long)p);
    assert_non_null(greeting);
    assert_string_equal(greeting, want);
    json_decref(info);
    orc_flow_expect_project_status(&f->h, p, "Completed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_job_api_leases_heartbeats_fails_and_chains, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_readme_minimal_executor_runs_a_chain, setup, teardown),
    };
    return cmocka_run_group_tests_name("job_api", tests, NULL, NULL);
}
