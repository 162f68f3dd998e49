/*
 * test_executor_hosts.c: the plugin hosts of a real orchestra-executor against a real
 * orchestrad. One host serves a chain of steps and stops with its executor; a SIGKILL'd
 * executor leaves no host or command process behind and its step still completes exactly
 * once on a new executor; a function past the memory limit fails its own job only; reports
 * bring the next job along, except from an executor that is stopping.
 * Every wait is bounded and polls the project's state or /proc.
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
#include <unistd.h>

#include "cli_flow.h"
#include "exec_harness.h"
#include "harness.h"
#include "support.h"

#define WAIT_MS 60000
/* The lease the killed executor asks for (--lease): the next one gets its job after it. */
#define SHORT_LEASE_S 5
/* How long processes get to die once their executor was killed. */
#define DIE_MS 10000
#define MAX_PROCS 64

typedef struct fixture {
    orc_harness h;
    orc_exec ex[2];
    char plugins[700];
} fixture;

static const char *const PLUGINS[] = {"test_lib/test_plugin_host.so",
                                      "test_lib/test_plugin_flaky.so", NULL};
static const char *const RETRY_TWICE =
    "{\"max_attempts\":2,\"initial_delay_ms\":20,\"max_delay_ms\":50}";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (orc_harness_start(&f->h, NULL) != 0 ||
        orc_exec_plugin_dir(&f->h, "plugins", PLUGINS, f->plugins, sizeof f->plugins) != 0) {
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
    if (f->h.pid != 0 && orc_harness_stop(&f->h) != 0)
        status = -1;
    orc_harness_cleanup(&f->h);
    free(f);
    return status;
}

/* ---- helpers --------------------------------------------------------------------------- */

/*
 * load_chain loads workflow <slug>/v1: the machine steps s0 -> s1 -> ..., step i running
 * test_plugins.host.<names[i]> (n names) with retry_policy retry (JSON text).
 */
static void load_chain(fixture *f, const char *slug, const char *const *names, int n,
                       const char *retry)
{
    char wf[512], version[8192], dir[700];
    snprintf(wf, sizeof wf,
             "{\"slug\":\"%s\",\"name\":\"%s\",\"description\":\"Machine steps.\","
             "\"certifications\":[]}",
             slug, slug);
    size_t len = (size_t)snprintf(version, sizeof version,
                                  "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":"
                                  "\"A chain.\",\"steps\":[");
    for (int i = 0; i < n && len < sizeof version; i++) {
        char dep[32] = "";
        if (i > 0)
            snprintf(dep, sizeof dep, ",\"creation_depends_on\":[\"s%d\"]", i - 1);
        len += (size_t)snprintf(version + len, sizeof version - len,
                                "%s{\"slug\":\"s%d\",\"name\":\"S%d\",\"description\":\"A step.\","
                                "\"is_human\":false,\"execution_function\":{\"module\":"
                                "\"test_plugins.host\",\"name\":\"%s\"},\"retry_policy\":%s%s}",
                                i > 0 ? "," : "", i, i, names[i], retry, dep);
    }
    if (len < sizeof version)
        snprintf(version + len, sizeof version - len, "]}");
    assert_true(len + 2 < sizeof version);
    orc_flow_write_workflow(f->h.dir, slug, wf, version, dir, sizeof dir);
    orc_flow_load_workflow(&f->h, dir, "v1");
}

/* load_same loads a chain of n steps that all run test_plugins.host.<name>. */
static void load_same(fixture *f, const char *slug, int n, const char *name, const char *retry)
{
    const char *names[8];
    assert_true(n <= 8);
    for (int i = 0; i < n; i++)
        names[i] = name;
    load_chain(f, slug, names, n, retry);
}

static void start_exec(fixture *f, size_t i, const char *name, int lease_s, int memory_mb)
{
    orc_exec_opts o = {.plugins_dir = f->plugins,
                       .concurrency = 1,
                       .lease_s = lease_s,
                       .job_memory_mb = memory_mb,
                       .allow_commands = true};
    assert_int_equal(orc_exec_start(&f->h, name, &o, &f->ex[i]), 0);
}

static void wait_task(fixture *f, int64_t project, const char *step, const char *want,
                      int timeout_ms)
{
    orc_exec *exs[2] = {&f->ex[0], &f->ex[1]};
    assert_int_equal(orc_exec_wait_task(&f->h, project, step, want, timeout_ms, exs, 2), 0);
}

/* step_data returns the integer key of step's latest data in project. */
static long long step_data(fixture *f, int64_t project, const char *step, const char *key)
{
    json_t *info = orc_flow_project_info(&f->h, project);
    json_t *v = json_object_get(json_object_get(orc_flow_task(info, step), "latest_data"), key);
    if (!json_is_integer(v))
        orc_flow_fail_json(&f->h, "the step's data should hold the integer", info);
    long long n = json_integer_value(v);
    json_decref(info);
    return n;
}

/* expect_job asserts the job of step: status, attempts and (not NULL) a part of its error. */
static void expect_job(fixture *f, int64_t project, const char *step, const char *status,
                       int attempts, const char *error_part)
{
    Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(&f->h, project);
    assert_non_null(jobs);
    const Orchestra__V1__JobInfo *j = orc_exec_find_job(jobs, project, step);
    if (j == NULL || strcmp(j->status, status) != 0 || j->attempts != attempts ||
        (error_part != NULL && strstr(j->last_error, error_part) == NULL)) {
        fprintf(stderr, "project %" PRId64 " step %s: expected %s after %d attempts (~ %s)\n",
                project, step, status, attempts, error_part != NULL ? error_part : "-");
        if (j != NULL)
            fprintf(stderr, "  got %s after %d attempts, last_error \"%s\"\n", j->status,
                    j->attempts, j->last_error);
        orc_harness_print_log(&f->h);
        orc_exec_print_log(&f->ex[0]);
        orc_exec_print_log(&f->ex[1]);
        fail();
    }
    protobuf_c_message_free_unpacked(&jobs->base, NULL);
}

/* wait_file waits up to timeout_ms for path to exist. */
static void wait_file(fixture *f, const char *path, int timeout_ms)
{
    int64_t deadline = orc_test_now_ms() + timeout_ms;
    while (access(path, F_OK) != 0) {
        if (orc_test_now_ms() >= deadline) {
            fprintf(stderr, "%s did not appear within %d ms\n", path, timeout_ms);
            orc_exec_print_log(&f->ex[0]);
            fail();
        }
        orc_test_sleep_ms(20);
    }
}

/* left_behind counts the live processes among pids and in the groups of pids. */
static size_t left_behind(const pid_t *pids, size_t n)
{
    size_t alive = 0;
    pid_t found[MAX_PROCS];
    for (size_t i = 0; i < n; i++) {
        if (orc_proc_info(pids[i], NULL, NULL))
            alive++;
        alive += orc_proc_find(0, pids[i], found, MAX_PROCS);
    }
    return alive;
}

/*
 * sanitized says whether this is a sanitizer build: its shadow memory counts as data (over a
 * TiB), so plugin hosts run without a memory limit (host_main.c).
 */
static bool sanitized(void)
{
    char *status = orc_test_read_file("/proc/self/status", NULL);
    const char *data = status != NULL ? strstr(status, "VmData:") : NULL;
    bool huge = data != NULL && strtoll(data + 7, NULL, 10) > (1LL << 30);
    free(status);
    return huge;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_one_host_serves_a_chain_of_steps_and_stops_with_its_executor(void **state)
{
    fixture *f = *state;
    enum { STEPS = 4, PROJECTS = 3 };
    load_same(f, "pidchain", STEPS, "pid", RETRY_TWICE);
    start_exec(f, 0, "a", 0, 0);
    int64_t p[PROJECTS];
    for (int i = 0; i < PROJECTS; i++)
        p[i] = orc_flow_create_project(&f->h, "pidchain", "v1", "chain", NULL);
    long long host = 0;
    for (int i = 0; i < PROJECTS; i++) {
        wait_task(f, p[i], "s3", "Complete/Submitted", WAIT_MS);
        for (int s = 0; s < STEPS; s++) {
            char step[8];
            snprintf(step, sizeof step, "s%d", s);
            long long pid = step_data(f, p[i], step, "pid");
            if (host == 0)
                host = pid;
            assert_int_equal(pid, host); /* every step of every project: one process */
            expect_job(f, p[i], step, "completed", 1, NULL);
        }
    }
    assert_int_equal(orc_exec_log_count(&f->ex[0], "completed in"), STEPS * PROJECTS);
    /* A step's next step is due as it completes: it comes with the report, no LeaseJob. */
    assert_true(orc_exec_log_count(&f->ex[0], "handed over with the report") >=
                PROJECTS * (STEPS - 1));
    /* It is the executor's child, its only one, in a process group of its own. */
    pid_t ppid = 0, pgid = 0, kids[MAX_PROCS];
    assert_true(orc_proc_info((pid_t)host, &ppid, &pgid));
    assert_int_equal(ppid, f->ex[0].pid);
    assert_int_equal(pgid, (pid_t)host);
    assert_int_equal(orc_proc_find(f->ex[0].pid, 0, kids, MAX_PROCS), 1);

    /* A clean stop stops the host too, without having to kill it. */
    assert_int_equal(orc_exec_stop(&f->ex[0]), 0);
    pid_t gone = (pid_t)host;
    assert_int_equal(left_behind(&gone, 1), 0);
    assert_int_equal(orc_exec_log_count(&f->ex[0], "did not exit"), 0);
    orc_flow_expect_consistent(&f->h);
}

static void test_sigkilled_executor_leaves_no_process_and_the_step_completes_once(void **state)
{
    fixture *f = *state;
    char counter[800];
    load_same(f, "hangonce", 1, "hang_once", RETRY_TWICE);
    start_exec(f, 0, "a", SHORT_LEASE_S, 0);
    int64_t p = orc_flow_create_project(&f->h, "hangonce", "v1", "hang once", NULL);
    /* The first run counts itself, then hangs inside the host. */
    snprintf(counter, sizeof counter, "%s/hang-once-%" PRId64 ".count", f->ex[0].storage, p);
    wait_file(f, counter, WAIT_MS);
    expect_job(f, p, "s0", "leased", 1, NULL);
    pid_t kids[MAX_PROCS];
    size_t n = orc_proc_find(f->ex[0].pid, 0, kids, MAX_PROCS);
    assert_int_equal(n, 1); /* the host, running the job */

    orc_exec_kill(&f->ex[0]);
    int64_t deadline = orc_test_now_ms() + DIE_MS;
    while (left_behind(kids, n) > 0 && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(20);
    assert_int_equal(left_behind(kids, n), 0);

    /* B gets the job once A's lease has run out, and runs it once. */
    start_exec(f, 1, "b", 0, 0);
    wait_task(f, p, "s0", "Complete/Submitted", SHORT_LEASE_S * 1000 + WAIT_MS);
    expect_job(f, p, "s0", "completed", 2, NULL);
    assert_int_equal(step_data(f, p, "s0", "runs"), 2);
    char *runs = orc_test_read_file(counter, NULL);
    assert_non_null(runs);
    assert_string_equal(runs, "2\n");
    free(runs);
    assert_int_equal(orc_exec_log_count(&f->ex[1], "completed in"), 1);
    orc_flow_expect_consistent(&f->h);
}

static void test_memory_hog_fails_its_job_and_the_executor_keeps_serving(void **state)
{
    fixture *f = *state;
    if (sanitized()) {
        fprintf(stderr, "a sanitizer build: plugin hosts run without a memory limit\n");
        skip();
    }
    load_same(f, "hog", 1, "hog", RETRY_TWICE);
    load_same(f, "pidone", 1, "pid", RETRY_TWICE);
    start_exec(f, 0, "a", 0, 64);
    int64_t small = orc_flow_create_project(&f->h, "hog", "v1", "small", "{\"mb\":8}");
    wait_task(f, small, "s0", "Complete/Submitted", WAIT_MS);
    assert_int_equal(step_data(f, small, "s0", "allocated_mb"), 8);

    int64_t big = orc_flow_create_project(&f->h, "hog", "v1", "big", "{\"mb\":512}");
    wait_task(f, big, "s0", "Processing/Failed", WAIT_MS);
    expect_job(f, big, "s0", "failed", 2, "function exceeded the memory limit of 64 MB");
    assert_int_equal(orc_exec_log_count(&f->ex[0], "came near its memory limit"), 2);

    int64_t after = orc_flow_create_project(&f->h, "pidone", "v1", "after", NULL);
    wait_task(f, after, "s0", "Complete/Submitted", WAIT_MS);
    expect_job(f, after, "s0", "completed", 1, NULL);
    assert_true(orc_proc_info(f->ex[0].pid, NULL, NULL));
    orc_flow_expect_consistent(&f->h);
}

static void test_a_stopping_executor_finishes_its_job_and_takes_no_next_one(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"nap", "pid"};
    load_chain(f, "napchain", names, 2, RETRY_TWICE);
    start_exec(f, 0, "a", 0, 0);
    int64_t p = orc_flow_create_project(&f->h, "napchain", "v1", "nap", "{\"ms\":1500}");
    char started[800];
    snprintf(started, sizeof started, "%s/nap-%" PRId64 ".started", f->ex[0].storage, p);
    wait_file(f, started, WAIT_MS);
    /* SIGTERM while s0 naps: it finishes within the grace period and is reported, and the
     * report asks for no next job, so s1 stays queued for another executor. */
    assert_int_equal(orc_exec_stop(&f->ex[0]), 0);
    expect_job(f, p, "s0", "completed", 1, NULL);
    expect_job(f, p, "s1", "queued", 0, NULL);
    assert_int_equal(orc_exec_log_count(&f->ex[0], "handed over"), 0);
    assert_int_equal(orc_exec_log_count(&f->ex[0], "shutting down"), 0);

    start_exec(f, 1, "b", 0, 0);
    wait_task(f, p, "s1", "Complete/Submitted", WAIT_MS);
    expect_job(f, p, "s1", "completed", 1, NULL);
    orc_flow_expect_consistent(&f->h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_one_host_serves_a_chain_of_steps_and_stops_with_its_executor, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sigkilled_executor_leaves_no_process_and_the_step_completes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_hog_fails_its_job_and_the_executor_keeps_serving, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_stopping_executor_finishes_its_job_and_takes_no_next_one, setup, teardown),
    };
    return cmocka_run_group_tests_name("executor_hosts", tests, NULL, NULL);
}
