/*
 * test_child_runner.c: jobs run isolated outside the executor (plugins/executor/job.c,
 * child.c, host.c, proc.c): plugin functions in a long-lived plugin host, commands in a
 * process each. A crash, a hang, too much output, too much memory and failing commands
 * become failed jobs, never a failed executor; a host serves many jobs and is replaced
 * after a bad one; a child's exit is seen without a sleep loop; a host dies with the thread
 * that started it.
 *
 * The test program plays the executor binary: run with --plugin-host it is a plugin host.
 * It also defines poll() and nanosleep() (found before libc's by the static link of the
 * executor's code), to count how the child runner waits.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "host.h"
#include "job.h"
#include "log.h"
#include "plugin_set.h"

/* ---- how the runner waits: poll() and nanosleep() seen from inside ------------------- */

static bool wait_counting;  /* count the calls below */
static int wait_polls;      /* poll() calls */
static int wait_min_poll;   /* the shortest poll() timeout, ms */
static int wait_nanosleeps; /* nanosleep() calls */

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    static int (*real)(struct pollfd *, nfds_t, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "poll");
    if (wait_counting) {
        wait_polls++;
        if (timeout < wait_min_poll)
            wait_min_poll = timeout;
    }
    return real(fds, n, timeout);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    static int (*real)(const struct timespec *, struct timespec *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "nanosleep");
    if (wait_counting)
        wait_nanosleeps++;
    return real(req, rem);
}

typedef struct fixture {
    char self[PATH_MAX];
    char storage[64];
    orc_plugin_host host;
    orci_plugin_set *plugins;
    const char *paths[64]; /* the plugins' files, for the plugin hosts */
    size_t n_paths;
    orci_host *runner; /* the plugin host the jobs of a test run in */
} fixture;

/* host_for makes a plugin host for the fixture's plugins with this memory limit. */
static orci_host *host_for(fixture *f, int memory_mb)
{
    orci_host_opts o = {.self_exe = f->self,
                        .plugin_paths = f->paths,
                        .n_plugins = f->n_paths,
                        .storage_root = f->storage,
                        .log_level = "warn",
                        .memory_mb = memory_mb};
    orci_host *h = NULL;
    orc_error e = {0};
    assert_int_equal(orci_host_new(&o, &h, &e), ORC_OK);
    return h;
}

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
    for (; f->n_paths < orci_plugin_set_plugins(f->plugins) && f->n_paths < 64; f->n_paths++)
        f->paths[f->n_paths] = orci_plugin_set_plugin_path(f->plugins, f->n_paths);
    *state = f;
    return 0;
}

/* Each test gets a fresh default host, stopped after it. */
static int host_setup(void **state)
{
    fixture *f = *state;
    f->runner = host_for(f, ORCI_HOST_DEFAULT_MEMORY_MB);
    return 0;
}

static int host_teardown(void **state)
{
    fixture *f = *state;
    orci_host_destroy(f->runner);
    f->runner = NULL;
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
                           .host = f->runner,
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

/* A function that fails without a word still gives its job a reason (never an empty error). */
static void test_job_failure_without_message_says_function_failed(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "test_plugins.flaky.quiet", "{\"project_id\":9}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_string_equal(out.error, "function failed");
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

/* ---- waiting for a child ---------------------------------------------------------------- */

static void test_child_exit_is_seen_without_a_sleep_loop(void **state)
{
    (void)state;
    /* The child closes its pipes at once and ends 300 ms later: only its exit is left to
     * wait for. A sleep loop would wake up every few tens of ms meanwhile; a pidfd in the
     * poll() wakes up once, when it exits, and no poll() waits less than the deadline. */
    const char *argv[] = {"sh", "-c", "exec >&- <&-; sleep 0.3", NULL};
    orci_child_spec cs = {.argv = argv, .timeout_ms = 60000, .output_max = 1024};
    orci_child_result r;
    orc_error e = {0};
    wait_polls = wait_nanosleeps = 0;
    wait_min_poll = INT32_MAX;
    wait_counting = true;
    int rc = orci_child_run(&cs, &r, &e);
    wait_counting = false;
    assert_int_equal(rc, ORC_OK);
    assert_int_equal(r.outcome, ORCI_CHILD_EXITED);
    assert_int_equal(r.exit_status, 0);
    assert_true(r.elapsed_ms >= 300);
    assert_int_equal(wait_nanosleeps, 0);
    assert_in_range(wait_polls, 1, 4);
    assert_true(wait_min_poll > 30000);
    orci_child_result_fini(&r);
}

static void test_child_many_quick_children_cost_no_fixed_wait(void **state)
{
    (void)state;
    /* Children that exit at once, some with their output closed first: each is noticed by
     * the poll() that waits for it, never by a timed wake-up. */
    enum { N = 40 };
    const char *quick[] = {"true", NULL};
    const char *closed[] = {"sh", "-c", "exec >&-; exit 0", NULL};
    wait_polls = wait_nanosleeps = 0;
    wait_min_poll = INT32_MAX;
    wait_counting = true;
    for (int i = 0; i < N; i++) {
        orci_child_spec cs = {
            .argv = i % 2 ? quick : closed, .timeout_ms = 60000, .output_max = 1024};
        orci_child_result r;
        orc_error e = {0};
        assert_int_equal(orci_child_run(&cs, &r, &e), ORC_OK);
        assert_int_equal(r.outcome, ORCI_CHILD_EXITED);
        orci_child_result_fini(&r);
    }
    wait_counting = false;
    assert_int_equal(wait_nanosleeps, 0);
    assert_true(wait_min_poll > 30000);
    assert_true(wait_polls <= 3 * N);
}

/* proc_kb reads "<key> N kB" from /proc/<pid>/status; -1 when missing. */
static long long proc_kb(long pid, const char *key)
{
    char path[64], text[8192] = "";
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    text[n] = '\0';
    const char *at = strstr(text, key);
    return at != NULL ? strtoll(at + strlen(key), NULL, 10) : -1;
}

/*
 * sanitized says whether this is a sanitizer build: its shadow memory counts as data (over a
 * TiB), so plugin hosts run without a memory limit (host_main.c).
 */
static bool sanitized(void)
{
    return proc_kb((long)getpid(), "VmData:") > (1LL << 30);
}

/* ---- the plugin host ---------------------------------------------------------------------- */

/* run_pid runs test_plugins.host.pid on f's runner; returns the pid it reports. */
static long run_pid(fixture *f)
{
    orci_job_spec s = spec_for(f, "test_plugins.host.pid", "{\"project_id\":1}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    json_t *o = json_loads(out.output, 0, NULL);
    assert_non_null(o);
    long pid = (long)json_integer_value(json_object_get(o, "pid"));
    json_decref(o);
    orci_job_outcome_fini(&out);
    assert_true(pid > 1);
    assert_int_equal(pid, (long)orci_host_pid(f->runner));
    return pid;
}

/* expect_gone asserts that no process pid exists any more (it was killed and reaped). */
static void expect_gone(long pid)
{
    assert_int_equal(kill((pid_t)pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_host_serves_many_jobs_in_one_process(void **state)
{
    fixture *f = *state;
    assert_int_equal(orci_host_pid(f->runner), 0); /* started at the first job */
    long pid = run_pid(f);
    assert_int_not_equal(pid, (long)getpid());
    for (int i = 0; i < 5; i++)
        assert_int_equal(run_pid(f), pid);
    /* Other functions, of other plugins, run in the same process too. */
    orci_job_spec s = spec_for(f, "test_plugins.flaky.echo", "{\"project_id\":2}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    orci_job_outcome_fini(&out);
    assert_int_equal(run_pid(f), pid);
}

/* expect_fail runs function and asserts a failure with this message; returns retryable. */
static bool expect_fail(fixture *f, orci_job_spec *s, const char *message)
{
    orci_job_outcome out;
    orci_job_run(s, &out);
    assert_false(out.ok);
    assert_string_equal(out.error, message);
    bool retryable = out.retryable;
    orci_job_outcome_fini(&out);
    (void)f;
    return retryable;
}

static void test_host_bad_job_fails_alone_and_the_next_runs_on_a_new_host(void **state)
{
    fixture *f = *state;
    long first = run_pid(f);

    orci_job_spec crash = spec_for(f, "test_plugins.crash.segv", "{\"project_id\":1}");
    assert_true(expect_fail(f, &crash, "function crashed: signal 11"));
    long second = run_pid(f);
    assert_int_not_equal(second, first);
    expect_gone(first);

    orci_job_spec hang = spec_for(f, "test_plugins.hang.sleep", "{\"project_id\":1}");
    hang.timeout_ms = 1000;
    assert_true(expect_fail(f, &hang, "function timed out after 1 s"));
    long third = run_pid(f);
    assert_int_not_equal(third, second);
    expect_gone(second);

    orci_job_spec big = spec_for(f, "test_plugins.flaky.big", "{\"project_id\":1,\"size\":100000}");
    big.output_max = 10000;
    assert_false(expect_fail(f, &big, "function output exceeds 10000 bytes"));
    long fourth = run_pid(f);
    assert_int_not_equal(fourth, third);
    expect_gone(third);

    /* A function that fails the ordinary way keeps its host. */
    orci_job_spec flaky =
        spec_for(f, "test_plugins.flaky.flaky", "{\"project_id\":77,\"fail_times\":1}");
    assert_true(expect_fail(f, &flaky, "flaky failure 1 of 1"));
    assert_int_equal(run_pid(f), fourth);
}

static bool stop_at_once(void *arg)
{
    (void)arg;
    return false;
}

static void test_host_stopped_job_replaces_the_host(void **state)
{
    fixture *f = *state;
    long first = run_pid(f);
    orci_job_spec s = spec_for(f, "test_plugins.hang.sleep", "{\"project_id\":1}");
    s.tick_ms = 10;
    s.tick = stop_at_once;
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_false(out.ok);
    assert_true(out.stopped);
    assert_string_equal(out.error, "function stopped");
    orci_job_outcome_fini(&out);
    expect_gone(first);
    assert_int_not_equal(run_pid(f), first);
}

/* limited_host gives f a fresh plugin host limited to mb MB and returns its pid; a sanitizer
 * build, whose hosts run without a limit, skips the test. */
static long limited_host(fixture *f, int mb)
{
    if (sanitized()) {
        fprintf(stderr, "a sanitizer build: plugin hosts run without a memory limit\n");
        skip();
    }
    orci_host_destroy(f->runner);
    f->runner = host_for(f, mb);
    return run_pid(f);
}

static void test_host_memory_limit_fails_the_job_and_replaces_the_host(void **state)
{
    fixture *f = *state;
    long first = limited_host(f, 64);

    /* Within the limit: fine, same host. */
    orci_job_spec small = spec_for(f, "test_plugins.host.hog", "{\"project_id\":1,\"mb\":8}");
    orci_job_outcome out;
    orci_job_run(&small, &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "{\"allocated_mb\":8}");
    orci_job_outcome_fini(&out);
    assert_int_equal(run_pid(f), first);

    /* Past it: the allocation fails, the job fails (retryable) saying why, the host goes. */
    orci_job_spec hog = spec_for(f, "test_plugins.host.hog", "{\"project_id\":1,\"mb\":256}");
    orci_job_run(&hog, &out);
    assert_false(out.ok);
    assert_true(out.retryable);
    assert_non_null(strstr(out.error, "function exceeded the memory limit of 64 MB "
                                      "(allocation failed after "));
    orci_job_outcome_fini(&out);
    long second = run_pid(f);
    assert_int_not_equal(second, first);
    expect_gone(first);

    /* A function that does not check its malloc crashes: the message still says why. */
    orci_job_spec crash =
        spec_for(f, "test_plugins.host.hog", "{\"project_id\":1,\"mb\":256,\"crash\":true}");
    assert_true(
        expect_fail(f, &crash, "function exceeded the memory limit of 64 MB (crashed: signal 11)"));
    assert_int_not_equal(run_pid(f), second);
    expect_gone(second);
}

/*
 * A call whose peak comes within an eighth of the limit, then frees it all, still answers;
 * the host goes after it. Only the peak shows it (the resident size is back down when the
 * host checks), so this covers the peak's measure and its reset after every call.
 */
static void test_host_replaced_after_a_call_that_peaked_near_the_limit(void **state)
{
    fixture *f = *state;
    long first = limited_host(f, 64);
    /* Enough to pass 56 MB (7/8 of 64) from where the host stands, 6 MB short of the limit. */
    long long base = proc_kb(first, "VmHWM:"), data = proc_kb(first, "VmData:");
    assert_true(base > 0 && data > 0);
    long long from = base > data ? base : data;
    long mb = (long)((56 * 1024 - from) / 1024) + 2;
    assert_true(mb > 0);
    char in[96];
    snprintf(in, sizeof in, "{\"project_id\":1,\"mb\":%ld}", mb);
    orci_job_spec peak = spec_for(f, "test_plugins.host.hog", in);
    orci_job_outcome out;
    orci_job_run(&peak, &out);
    assert_true(out.ok);
    orci_job_outcome_fini(&out);
    long second = run_pid(f);
    assert_int_not_equal(second, first);
    expect_gone(first);
    /* The fresh host's small calls keep it: nothing is left of the last host's peak. */
    orci_job_spec small = spec_for(f, "test_plugins.host.hog", "{\"project_id\":1,\"mb\":8}");
    for (int i = 0; i < 3; i++) {
        orci_job_run(&small, &out);
        assert_true(out.ok);
        orci_job_outcome_fini(&out);
    }
    assert_int_equal(run_pid(f), second);
}

static void test_host_kills_processes_a_function_left_behind(void **state)
{
    fixture *f = *state;
    long host = run_pid(f);
    orci_job_spec s = spec_for(f, "test_plugins.host.spawn", "{\"project_id\":1}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    json_t *o = json_loads(out.output, 0, NULL);
    long child = (long)json_integer_value(json_object_get(o, "child"));
    json_decref(o);
    orci_job_outcome_fini(&out);
    assert_true(child > 1);
    expect_gone(child); /* killed and reaped by the host before it answered */
    assert_int_equal(run_pid(f), host);
}

static void test_host_function_printing_on_stdout_does_not_break_it(void **state)
{
    fixture *f = *state;
    long host = run_pid(f);
    orci_job_spec s = spec_for(f, "test_plugins.host.print", "{\"project_id\":1}");
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "{\"printed\":1}");
    orci_job_outcome_fini(&out);
    assert_int_equal(run_pid(f), host);
}

static void test_host_destroy_stops_its_process(void **state)
{
    fixture *f = *state;
    long host = run_pid(f);
    orci_host_destroy(f->runner);
    f->runner = NULL;
    expect_gone(host);
}

/* host_thread starts a host on its own thread and ends, leaving the host to its fate. */
static void *host_thread(void *arg)
{
    fixture *f = arg;
    orci_host_opts o = {.self_exe = f->self,
                        .plugin_paths = f->paths,
                        .n_plugins = f->n_paths,
                        .storage_root = f->storage,
                        .log_level = "warn"};
    orci_host *h = NULL;
    orci_child_result r = {0};
    orc_error e = {0};
    if (orci_host_new(&o, &h, &e) != ORC_OK)
        return NULL; /* no cmocka assertion off the test's thread */
    static const char input[] = "{\"project_data\":{},\"prerequisites\":{}}";
    orci_host_call call = {.function = "test_plugins.host.pid",
                           .input = input,
                           .input_len = sizeof input - 1,
                           .timeout_ms = 30000,
                           .output_max = 4096};
    if (orci_host_run(h, &call, &r, &e) != ORC_OK || r.outcome != ORCI_CHILD_REPLIED) {
        orci_host_destroy(h);
        h = NULL;
    }
    orci_child_result_fini(&r);
    return h;
}

static void test_host_dies_with_the_thread_that_started_it(void **state)
{
    fixture *f = *state;
    pthread_t t;
    void *ret = NULL;
    assert_int_equal(pthread_create(&t, NULL, host_thread, f), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    orci_host *h = ret;
    assert_non_null(h);
    pid_t pid = orci_host_pid(h);
    assert_true(pid > 1);
    /* Nothing told it to stop: the kernel kills it when its thread ends (within 10 s). */
    int fd = pidfd_open(pid, 0);
    assert_true(fd >= 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll(&pfd, 1, 10000);
    close(fd);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int waited = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
    orci_host_destroy(h); /* reaps it, or kills it when it still runs */
    assert_int_equal(ready, 1);
    assert_int_equal(waited, 0);
    assert_int_equal(info.si_code, CLD_KILLED);
    assert_int_equal(info.si_status, SIGKILL);
}

static void test_command_empty_output_is_an_empty_object(void **state)
{
    fixture *f = *state;
    orci_job_spec s = spec_for(f, "command", "{}");
    s.execution_function = "{\"command\":[\"true\"]}";
    orci_job_outcome out;
    orci_job_run(&s, &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "{}");
    orci_job_outcome_fini(&out);

    s.execution_function = "{\"command\":[\"echo\"]}"; /* a bare newline */
    orci_job_run(&s, &out);
    assert_true(out.ok);
    assert_string_equal(out.output, "{}");
    orci_job_outcome_fini(&out);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], ORCI_HOST_FLAG) == 0)
        return orci_host_main(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    orci_log_init("test_child_runner", ORCI_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_job_plugin_output_comes_back, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_job_crash_fails_retryable_with_signal, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_job_hang_is_killed_at_deadline, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_job_output_over_cap_fails_permanently, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_job_flaky_fails_then_succeeds, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_job_unknown_function_fails_permanently, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_job_failure_without_message_says_function_failed,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_job_bad_project_data_fails_permanently, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_command_reads_stdin_and_returns_its_json, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_command_nonzero_exit_fails, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_command_bad_json_fails, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_command_missing_program_fails, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_command_refused_without_allow_commands, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_command_output_cap_kills_it, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_command_crash_reports_signal, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_child_tick_runs_and_can_stop_the_child, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_child_large_input_reaches_the_child, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_child_exit_is_seen_without_a_sleep_loop, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_child_many_quick_children_cost_no_fixed_wait,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_serves_many_jobs_in_one_process, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(
            test_host_bad_job_fails_alone_and_the_next_runs_on_a_new_host, host_setup,
            host_teardown),
        cmocka_unit_test_setup_teardown(test_host_stopped_job_replaces_the_host, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_host_replaced_after_a_call_that_peaked_near_the_limit,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_memory_limit_fails_the_job_and_replaces_the_host,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_kills_processes_a_function_left_behind,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_function_printing_on_stdout_does_not_break_it,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_destroy_stops_its_process, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_host_dies_with_the_thread_that_started_it, host_setup,
                                        host_teardown),
        cmocka_unit_test_setup_teardown(test_command_empty_output_is_an_empty_object, host_setup,
                                        host_teardown),
    };
    return cmocka_run_group_tests_name("child_runner", tests, setup, teardown);
}
