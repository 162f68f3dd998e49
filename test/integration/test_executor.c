/*
 * test_executor.c: machine steps run by real orchestra-executor processes against a real
 * orchestrad: crashes, hangs, refused plugins, retries, competing executors, a SIGKILL'd
 * executor (whose command dies with it) and a restarted coordinator. Every wait is bounded and
 * polls the project's state.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
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
#include "support.h"

#define WAIT_MS 60000
/* The lease the killed executor asks for (--lease): B gets its job once it runs out. */
#define SHORT_LEASE_S 5

typedef struct fixture {
    orc_harness h;
    orc_exec ex[2];
    pid_t stray; /* a command's process group to kill at the end if still there, 0 when none */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
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
    int status = 0;
    for (size_t i = 0; i < 2; i++)
        if (orc_exec_stop(&f->ex[i]) != 0)
            status = -1;
    if (f->stray > 0)
        kill(-f->stray, SIGKILL);
    if (f->h.pid != 0 && orc_harness_stop(&f->h) != 0)
        status = -1;
    orc_harness_cleanup(&f->h);
    free(f);
    return status;
}

/* ---- helpers --------------------------------------------------------------------------- */

/*
 * load_machine_workflow loads workflow <slug>/v1: the machine step "run" with this
 * execution_function and retry_policy (JSON texts), then the human step "after" on it.
 */
static void load_machine_workflow(fixture *f, const char *slug, const char *function,
                                  const char *retry)
{
    char wf[512], version[2048], dir[700];
    snprintf(wf, sizeof wf,
             "{\"slug\":\"%s\",\"name\":\"%s\",\"description\":\"A machine step.\","
             "\"certifications\":[]}",
             slug, slug);
    snprintf(version, sizeof version,
             "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":\"Run, then a person.\","
             "\"steps\":["
             "{\"slug\":\"run\",\"name\":\"Run\",\"description\":\"The machine step.\","
             "\"is_human\":false,\"execution_function\":%s,\"retry_policy\":%s},"
             "{\"slug\":\"after\",\"name\":\"After\",\"description\":\"A person.\","
             "\"is_human\":true,\"creation_depends_on\":[\"run\"],"
             "\"review_policy\":{\"policy\":\"no_review\"}}]}",
             function, retry);
    orc_flow_write_workflow(f->h.dir, slug, wf, version, dir, sizeof dir);
    orc_flow_load_workflow(&f->h, dir, "v1");
}

static const char *const FAST_RETRY =
    "{\"max_attempts\":2,\"initial_delay_ms\":20,\"max_delay_ms\":50}";
static const char *const ECHO = "{\"module\":\"test_plugins.flaky\",\"name\":\"echo\"}";

static void start_exec(fixture *f, size_t i, const char *name, const char *plugins, int concurrency,
                       int job_timeout_s, bool allow_commands)
{
    orc_exec_opts o = {.plugins_dir = plugins,
                       .concurrency = concurrency,
                       .job_timeout_s = job_timeout_s,
                       .allow_commands = allow_commands};
    assert_int_equal(orc_exec_start(&f->h, name, &o, &f->ex[i]), 0);
}

static void plugin_dir(fixture *f, const char *name, const char *const *files, char *out,
                       size_t out_size)
{
    assert_int_equal(orc_exec_plugin_dir(&f->h, name, files, out, out_size), 0);
}

static void wait_task(fixture *f, int64_t project, const char *step, const char *want,
                      int timeout_ms)
{
    orc_exec *exs[2] = {&f->ex[0], &f->ex[1]};
    assert_int_equal(orc_exec_wait_task(&f->h, project, step, want, timeout_ms, exs, 2), 0);
}

/* expect_job asserts the run job of project: status, attempts and (not NULL) an error part. */
static void expect_job(fixture *f, int64_t project, const char *status, int attempts,
                       const char *error_part)
{
    Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(&f->h, project);
    assert_non_null(jobs);
    const Orchestra__V1__JobInfo *j = orc_exec_find_job(jobs, project, "run");
    if (j == NULL || strcmp(j->status, status) != 0 || j->attempts != attempts ||
        (error_part != NULL && strstr(j->last_error, error_part) == NULL)) {
        fprintf(stderr,
                "project %" PRId64 ": expected job run %s after %d attempts (error ~ %s); got %s\n",
                project, status, attempts, error_part != NULL ? error_part : "-",
                j == NULL ? "no job" : "");
        if (j != NULL)
            fprintf(stderr, "  status %s attempts %d/%d last_error \"%s\" executor %s\n", j->status,
                    j->attempts, j->max_attempts, j->last_error, j->executor_id);
        orc_harness_print_log(&f->h);
        orc_exec_print_log(&f->ex[0]);
        orc_exec_print_log(&f->ex[1]);
        fail();
    }
    protobuf_c_message_free_unpacked(&jobs->base, NULL);
}

/*
 * expect_one_iteration asserts that the run task has one assignment with one iteration,
 * closed as Requested Review with the assignment's data (spec 3.5: a retry reuses them).
 */
static void expect_one_iteration(fixture *f, int64_t project)
{
    json_t *info = orc_flow_project_info(&f->h, project);
    json_t *as = json_object_get(orc_flow_task(info, "run"), "assignments");
    json_t *its = json_object_get(json_array_get(as, 0), "iterations");
    json_t *it = json_array_get(its, 0);
    const char *status = json_string_value(json_object_get(it, "status"));
    if (json_array_size(as) != 1 || json_array_size(its) != 1 || status == NULL ||
        strcmp(status, "Requested Review") != 0 ||
        !json_equal(json_object_get(it, "submitted_data"),
                    json_object_get(json_array_get(as, 0), "in_progress_task_data")))
        orc_flow_fail_json(&f->h, "run: one assignment with one Requested Review iteration", info);
    json_decref(info);
}

static void expect_running(fixture *f, size_t i)
{
    int status;
    assert_int_not_equal(f->ex[i].pid, 0);
    assert_int_equal(waitpid(f->ex[i].pid, &status, WNOHANG), 0);
}

/* echo_completes runs one echo project to completion on the running executors. */
static void echo_completes(fixture *f)
{
    load_machine_workflow(f, "echowf", ECHO, FAST_RETRY);
    int64_t p = orc_flow_create_project(&f->h, "echowf", "v1", "echo", "{\"n\":7}");
    wait_task(f, p, "run", "Complete/Submitted", WAIT_MS);
    wait_task(f, p, "after", "Awaiting Processing/", WAIT_MS);
    json_t *info = orc_flow_project_info(&f->h, p);
    json_t *data = json_object_get(orc_flow_task(info, "run"), "latest_data");
    json_t *n = json_object_get(json_object_get(data, "project_data"), "n");
    if (json_integer_value(n) != 7)
        orc_flow_fail_json(&f->h, "the echo step should return its project_data", info);
    json_decref(info);
    expect_job(f, p, "completed", 1, NULL);
    expect_one_iteration(f, p);
}

static const char *const TEST_LIB_ALL[] = {"test_lib/test_plugin_crash.so",
                                           "test_lib/test_plugin_hang.so",
                                           "test_lib/test_plugin_flaky.so", NULL};

/* ---- tests ----------------------------------------------------------------------------- */

static void test_crashing_plugin_fails_after_its_retries_and_executor_keeps_serving(void **state)
{
    fixture *f = *state;
    char plugins[700];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    start_exec(f, 0, "a", plugins, 1, 0, false);
    load_machine_workflow(f, "crashwf", "{\"module\":\"test_plugins.crash\",\"name\":\"segv\"}",
                          FAST_RETRY);
    int64_t p = orc_flow_create_project(&f->h, "crashwf", "v1", "crash", NULL);
    wait_task(f, p, "run", "Processing/Failed", WAIT_MS);
    expect_job(f, p, "failed", 2, "crashed");
    orc_flow_expect_no_task(&f->h, p, "after");
    assert_int_equal(orc_exec_log_count(&f->ex[0], "signal 11"), 2);
    expect_running(f, 0);
    echo_completes(f);
    orc_flow_expect_consistent(&f->h);
}

static void test_hanging_plugin_is_killed_at_the_job_timeout_and_retried(void **state)
{
    fixture *f = *state;
    char plugins[700];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    start_exec(f, 0, "a", plugins, 1, 1, false);
    load_machine_workflow(f, "hangwf", "{\"module\":\"test_plugins.hang\",\"name\":\"sleep\"}",
                          FAST_RETRY);
    int64_t p = orc_flow_create_project(&f->h, "hangwf", "v1", "hang", NULL);
    wait_task(f, p, "run", "Processing/Failed", WAIT_MS);
    /* Two attempts: the timeout is a retryable failure. */
    expect_job(f, p, "failed", 2, "timed out");
    expect_running(f, 0);
    echo_completes(f);
}

static void test_bad_abi_plugin_is_refused_with_one_line_and_others_serve(void **state)
{
    fixture *f = *state;
    char plugins[700];
    static const char *const files[] = {"test_lib/test_plugin_bad_abi.so",
                                        "test_lib/test_plugin_flaky.so", NULL};
    plugin_dir(f, "plugins", files, plugins, sizeof plugins);
    start_exec(f, 0, "a", plugins, 1, 0, false);
    assert_int_equal(orc_exec_log_count(&f->ex[0], "test_plugin_bad_abi.so"), 1);
    assert_int_equal(
        orc_exec_log_count(&f->ex[0], "ABI version 99, this executor speaks 1; refused"), 1);
    assert_int_equal(orc_exec_log_count(&f->ex[0], "1 plugins loaded, 1 refused"), 1);
    echo_completes(f);
    assert_int_equal(orc_exec_log_count(&f->ex[0], "test_plugins.bad_abi.noop"), 0);
}

static void test_exhausted_retries_then_retry_job_completes_the_task(void **state)
{
    fixture *f = *state;
    char plugins[700];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    start_exec(f, 0, "a", plugins, 1, 0, false);
    load_machine_workflow(f, "flakywf", "{\"module\":\"test_plugins.flaky\",\"name\":\"flaky\"}",
                          FAST_RETRY);
    /* Three failures, two attempts per lease budget. */
    int64_t p = orc_flow_create_project(&f->h, "flakywf", "v1", "flaky", "{\"fail_times\":3}");
    wait_task(f, p, "run", "Processing/Failed", WAIT_MS);
    expect_job(f, p, "failed", 2, "flaky failure 2 of 3");
    orc_flow_expect_no_task(&f->h, p, "after");

    int64_t task = orc_flow_task_id(&f->h, p, "run");
    assert_int_equal(orc_exec_retry_job(&f->h, task), ORC_OK);
    wait_task(f, p, "run", "Complete/Submitted", WAIT_MS);
    wait_task(f, p, "after", "Awaiting Processing/", WAIT_MS);
    /* The third attempt failed again, the fourth succeeded: two attempts since RetryJob. */
    expect_job(f, p, "completed", 2, NULL);
    expect_one_iteration(f, p);
    json_t *info = orc_flow_project_info(&f->h, p);
    json_t *n =
        json_object_get(json_object_get(orc_flow_task(info, "run"), "latest_data"), "attempts");
    if (json_integer_value(n) != 4)
        orc_flow_fail_json(&f->h, "the flaky step should succeed at its fourth call", info);
    json_decref(info);
    /* A completed task is not retried again. */
    assert_int_not_equal(orc_exec_retry_job(&f->h, task), ORC_OK);
    orc_flow_expect_consistent(&f->h);
}

static void test_two_executors_complete_every_job_exactly_once(void **state)
{
    fixture *f = *state;
    enum { N = 20 };
    char plugins[700];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    load_machine_workflow(f, "echowf", ECHO, FAST_RETRY);
    start_exec(f, 0, "a", plugins, 2, 0, false);
    start_exec(f, 1, "b", plugins, 2, 0, false);
    int64_t projects[N];
    for (int i = 0; i < N; i++) {
        char data[64];
        snprintf(data, sizeof data, "{\"i\":%d}", i);
        projects[i] = orc_flow_create_project(&f->h, "echowf", "v1", "many", data);
    }
    for (int i = 0; i < N; i++) {
        wait_task(f, projects[i], "run", "Complete/Submitted", WAIT_MS);
        wait_task(f, projects[i], "after", "Awaiting Processing/", WAIT_MS);
    }
    Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(&f->h, 0);
    assert_non_null(jobs);
    assert_int_equal(jobs->n_jobs, N);
    for (size_t i = 0; i < jobs->n_jobs; i++) {
        assert_string_equal(jobs->jobs[i]->status, "completed");
        assert_int_equal(jobs->jobs[i]->attempts, 1);
    }
    protobuf_c_message_free_unpacked(&jobs->base, NULL);
    orc_flow_expect_consistent(&f->h);
}

/* write_script writes a shell script into the daemon's folder; its path goes to out. */
static void write_script(fixture *f, const char *name, const char *text, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", f->h.dir, name);
    assert_int_equal(orc_test_write_file(out, text), 0);
}

/* wait_file waits up to timeout_ms for path to exist. */
static void wait_file(fixture *f, const char *path, int timeout_ms)
{
    int64_t deadline = orc_test_now_ms() + timeout_ms;
    while (access(path, F_OK) != 0) {
        if (orc_test_now_ms() >= deadline) {
            fprintf(stderr, "%s did not appear within %d ms\n", path, timeout_ms);
            orc_harness_print_log(&f->h);
            orc_exec_print_log(&f->ex[0]);
            fail();
        }
        orc_test_sleep_ms(20);
    }
}

static void test_coordinator_restart_while_a_job_runs_still_completes_it(void **state)
{
    fixture *f = *state;
    char plugins[700], script[700], text[8192], go[700], started[700], function[1024];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    snprintf(go, sizeof go, "%s/go", f->h.dir);
    snprintf(started, sizeof started, "%s/started", f->h.dir);
    /* The job waits (at most 60 s) for the go file, then answers. */
    snprintf(text, sizeof text,
             "cat >/dev/null\n"
             "touch '%s'\n"
             "i=0\n"
             "while [ ! -e '%s' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n"
             "echo '{\"waited\":true}'\n",
             started, go);
    write_script(f, "job.sh", text, script, sizeof script);
    snprintf(function, sizeof function, "{\"command\":[\"sh\",\"%s\"]}", script);
    load_machine_workflow(f, "restartwf", function, FAST_RETRY);
    start_exec(f, 0, "a", plugins, 2, 0, true);
    int64_t p = orc_flow_create_project(&f->h, "restartwf", "v1", "restart", NULL);
    wait_file(f, started, WAIT_MS);
    expect_job(f, p, "leased", 1, NULL);

    /* A clean stop (exit 0) even while the executor keeps polling: see orci_rpc_stop_within. */
    assert_int_equal(orc_harness_stop(&f->h), 0);
    assert_int_equal(orc_harness_relaunch(&f->h), 0);
    assert_int_equal(orc_test_write_file(go, "go\n"), 0);
    wait_task(f, p, "run", "Complete/Submitted", WAIT_MS);
    wait_task(f, p, "after", "Awaiting Processing/", WAIT_MS);
    expect_job(f, p, "completed", 1, NULL);
    expect_one_iteration(f, p);
    /* The other worker was parked in LeaseJob across the restart: new work is still served. */
    load_machine_workflow(f, "echowf", ECHO, FAST_RETRY);
    int64_t q = orc_flow_create_project(&f->h, "echowf", "v1", "after the restart", NULL);
    wait_task(f, q, "run", "Complete/Submitted", WAIT_MS);
    expect_job(f, q, "completed", 1, NULL);
    expect_running(f, 0);
    orc_flow_expect_consistent(&f->h);
}

static void test_sigkilled_executor_loses_nothing_and_job_completes_once_elsewhere(void **state)
{
    fixture *f = *state;
    char plugins[700], script[700], text[8192], pidfile[700], runs[700], function[1024];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    snprintf(pidfile, sizeof pidfile, "%s/first.pid", f->h.dir);
    snprintf(runs, sizeof runs, "%s/runs", f->h.dir);
    /* The first run records its pid and hangs; any later run answers at once. Every run is
     * counted in the runs file. */
    snprintf(text, sizeof text,
             "cat >/dev/null\n"
             "echo run >> '%s'\n"
             "if [ ! -e '%s.done' ]; then\n"
             "  touch '%s.done'\n"
             "  echo $$ > '%s.tmp' && mv '%s.tmp' '%s'\n"
             "  exec sleep 300\n"
             "fi\n"
             "echo '{\"second\":true}'\n",
             runs, pidfile, pidfile, pidfile, pidfile, pidfile);
    write_script(f, "job.sh", text, script, sizeof script);
    snprintf(function, sizeof function, "{\"command\":[\"sh\",\"%s\"]}", script);
    load_machine_workflow(f, "killwf", function, FAST_RETRY);
    orc_exec_opts a = {
        .plugins_dir = plugins, .concurrency = 1, .lease_s = SHORT_LEASE_S, .allow_commands = true};
    assert_int_equal(orc_exec_start(&f->h, "a", &a, &f->ex[0]), 0);
    int64_t p = orc_flow_create_project(&f->h, "killwf", "v1", "kill", NULL);
    wait_file(f, pidfile, WAIT_MS);
    char *pid_text = orc_test_read_file(pidfile, NULL);
    assert_non_null(pid_text);
    f->stray = (pid_t)atol(pid_text);
    free(pid_text);
    assert_true(f->stray > 1);
    expect_job(f, p, "leased", 1, NULL);

    orc_exec_kill(&f->ex[0]);
    /* The command dies with its executor (it was the executor's child: `exec sleep`). */
    int64_t deadline = orc_test_now_ms() + 10000;
    while (orc_proc_info(f->stray, NULL, NULL) && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(20);
    assert_false(orc_proc_info(f->stray, NULL, NULL));
    start_exec(f, 1, "b", plugins, 1, 0, true);
    /* B gets the job once A's lease has expired. */
    wait_task(f, p, "run", "Complete/Submitted", SHORT_LEASE_S * 1000 + WAIT_MS);
    wait_task(f, p, "after", "Awaiting Processing/", WAIT_MS);
    expect_job(f, p, "completed", 2, NULL);
    char *ran = orc_test_read_file(runs, NULL);
    assert_non_null(ran);
    assert_string_equal(ran, "run\nrun\n");
    free(ran);
    expect_one_iteration(f, p);
    json_t *info = orc_flow_project_info(&f->h, p);
    json_t *second =
        json_object_get(json_object_get(orc_flow_task(info, "run"), "latest_data"), "second");
    if (!json_is_true(second))
        orc_flow_fail_json(&f->h, "the run step should hold executor B's result", info);
    json_decref(info);
    orc_flow_expect_consistent(&f->h);
}

/* wait_leased_by waits until project's run job is leased by the executor with pid owner. */
static void wait_leased_by(fixture *f, int64_t project, pid_t owner)
{
    char suffix[32];
    snprintf(suffix, sizeof suffix, ":%ld", (long)owner);
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    for (;;) {
        Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(&f->h, project);
        assert_non_null(jobs);
        const Orchestra__V1__JobInfo *j = orc_exec_find_job(jobs, project, "run");
        size_t n = j != NULL ? strlen(j->executor_id) : 0;
        bool leased = j != NULL && strcmp(j->status, "leased") == 0 && n > strlen(suffix) &&
                      strcmp(j->executor_id + n - strlen(suffix), suffix) == 0;
        protobuf_c_message_free_unpacked(&jobs->base, NULL);
        if (leased)
            return;
        if (orc_test_now_ms() > deadline)
            fail_msg("project %" PRId64 ": its job was never leased by pid %ld", project,
                     (long)owner);
        orc_test_sleep_ms(20);
    }
}

static const char *const ONE_ATTEMPT = "{\"max_attempts\":1}";

/*
 * An executor stopped while its LeaseJob poll waits takes the poll with it: the job created
 * afterwards goes to the next executor as its one and only attempt, at once (issue 13: it was
 * leased to the stopped executor, and its lease's expiry failed the task).
 */
static void test_stopped_executor_withdraws_its_waiting_poll(void **state)
{
    fixture *f = *state;
    char plugins[700];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    load_machine_workflow(f, "onewf", ECHO, ONE_ATTEMPT);
    orc_exec_opts a = {.plugins_dir = plugins, .concurrency = 1, .lease_s = 600};
    assert_int_equal(orc_exec_start(&f->h, "a", &a, &f->ex[0]), 0);
    orc_test_sleep_ms(300); /* its first poll waits */
    assert_int_equal(orc_exec_stop(&f->ex[0]), 0);
    int64_t p = orc_flow_create_project(&f->h, "onewf", "v1", "one", "{\"n\":1}");
    start_exec(f, 1, "b", plugins, 1, 0, false);
    /* Within WAIT_MS, far below the 600 s lease A would have held. */
    wait_task(f, p, "run", "Complete/Submitted", WAIT_MS);
    expect_job(f, p, "completed", 1, NULL);
    Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(&f->h, p);
    assert_non_null(jobs);
    assert_string_equal(orc_exec_find_job(jobs, p, "run")->last_error, "");
    protobuf_c_message_free_unpacked(&jobs->base, NULL);
    expect_one_iteration(f, p);
}

/*
 * A lease that answers a waiting poll reaches an executor that never reads it (frozen, then
 * killed): its expiry costs no attempt, and the next executor completes the one-attempt job.
 */
static void test_lease_never_received_costs_no_attempt(void **state)
{
    fixture *f = *state;
    char plugins[700];
    plugin_dir(f, "plugins", TEST_LIB_ALL, plugins, sizeof plugins);
    load_machine_workflow(f, "onewf", ECHO, ONE_ATTEMPT);
    orc_exec_opts a = {.plugins_dir = plugins, .concurrency = 1, .lease_s = SHORT_LEASE_S};
    assert_int_equal(orc_exec_start(&f->h, "a", &a, &f->ex[0]), 0);
    orc_test_sleep_ms(300); /* its first poll waits */
    pid_t frozen = f->ex[0].pid;
    assert_int_equal(kill(frozen, SIGSTOP), 0);
    int64_t p = orc_flow_create_project(&f->h, "onewf", "v1", "one", "{\"n\":1}");
    wait_leased_by(f, p, frozen); /* the waiting poll was answered: A holds the lease */
    orc_exec_kill(&f->ex[0]);
    start_exec(f, 1, "b", plugins, 1, 0, false);
    wait_task(f, p, "run", "Complete/Submitted", SHORT_LEASE_S * 1000 + WAIT_MS);
    expect_job(f, p, "completed", 1, "not counted as an attempt");
    expect_one_iteration(f, p);
    orc_flow_expect_consistent(&f->h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stopped_executor_withdraws_its_waiting_poll, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lease_never_received_costs_no_attempt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_crashing_plugin_fails_after_its_retries_and_executor_keeps_serving, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_hanging_plugin_is_killed_at_the_job_timeout_and_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bad_abi_plugin_is_refused_with_one_line_and_others_serve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exhausted_retries_then_retry_job_completes_the_task,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_executors_complete_every_job_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_coordinator_restart_while_a_job_runs_still_completes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sigkilled_executor_loses_nothing_and_job_completes_once_elsewhere, setup,
            teardown),
    };
    return cmocka_run_group_tests_name("executor", tests, NULL, NULL);
}
