/*
 * test_python_steps.c: upstream-style Python functions run by a real orchestra-executor
 * against a real orchestrad (issue 16, part 1). The workflow app test/integration/data/python
 * /pyflow is written as an upstream team writes one, and that folder is the executor's
 * --python-path: its crawl step (DOC's {module, name}, requests and BeautifulSoup) crawls a
 * page served by this process; a step with kwargs (HEAD's {path, kwargs}) gets them and the
 * project id; a Python creation policy leaves a step out or lets it in; the abort hook runs
 * once when the project is ended; a step that raises is retried by its policy and then fails
 * with the traceback's last lines; one returning a set fails clearly; a runner killed in the
 * middle of a step is replaced and the step retried, and one whose executor is killed dies with
 * it; the sample-data load function loads its workers; an executor without Python leaves a
 * Python job queued.
 * Every wait is bounded and polls the project's or the jobs' state. Needs Debian's
 * /usr/bin/python3 with python3-requests and python3-bs4.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "cli_flow.h"
#include "exec_harness.h"
#include "harness.h"
#include "support.h"

#define WAIT_MS 90000

typedef struct fixture {
    orc_harness h;
    orc_exec ex;
    nng_http_server *web;
    char base[64];
    char pypath[600];
} fixture;

static const char page_html[] = "<html><body><h1>Images</h1>"
                                "<img src=\"img/a.png\"><img src=\"/img/b.JPG\">"
                                "<img src=\"notes.txt\"></body></html>";

static void page_cb(nng_aio *aio)
{
    nng_http_res *res = NULL;
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_http_res_set_header(res, "Content-Type", "text/html");
    nng_http_res_copy_data(res, page_html, strlen(page_html));
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

static int start_web(fixture *f)
{
    nng_url *url = NULL;
    nng_http_handler *page = NULL;
    nng_sockaddr sa;
    if (nng_url_parse(&url, "http://127.0.0.1:0") != 0 || nng_http_server_hold(&f->web, url) != 0)
        return -1;
    nng_url_free(url);
    if (nng_http_handler_alloc(&page, "/", page_cb) != 0 ||
        nng_http_server_add_handler(f->web, page) != 0 || nng_http_server_start(f->web) != 0 ||
        nng_http_server_get_addr(f->web, &sa) != 0)
        return -1;
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u/", ntohs(sa.s_in.sa_port));
    return 0;
}

/* start_exec starts the executor with Python on (--python-path the data folder) or off. */
static int start_exec(fixture *f, bool python)
{
    const char *on[] = {"--python-path", f->pypath, NULL};
    const char *off[] = {"--no-python", NULL};
    orc_exec_opts o = {.plugins_dir = ORC_PLUGIN_DIR,
                       .concurrency = 2,
                       .job_timeout_s = 120,
                       .args = python ? on : off};
    return orc_exec_start(&f->h, python ? "python" : "nopython", &o, &f->ex);
}

static int setup_with(void **state, bool python)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    snprintf(f->pypath, sizeof f->pypath, "%s/test/integration/data/python",
             orc_test_env("ORC_SOURCE_DIR"));
    if (orc_harness_start(&f->h, NULL) != 0 || start_web(f) != 0 || start_exec(f, python) != 0)
        return -1;
    char app[700];
    snprintf(app, sizeof app, "%s/pyflow", f->pypath);
    for (int v = 1; v <= 3; v++) {
        char version[8];
        snprintf(version, sizeof version, "v%d", v);
        orc_flow_load_workflow(&f->h, app, version);
    }
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, true);
}

static int setup_no_python(void **state)
{
    return setup_with(state, false);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    int status = orc_exec_stop(&f->ex) == 0 ? 0 : -1;
    if (f->web) {
        nng_http_server_stop(f->web);
        nng_http_server_release(f->web);
    }
    if (f->h.pid != 0 && orc_harness_stop(&f->h) != 0)
        status = -1;
    orc_harness_cleanup(&f->h);
    free(f);
    return status;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void wait_task(fixture *f, int64_t project, const char *step, const char *want)
{
    orc_exec *exs[] = {&f->ex};
    assert_int_equal(orc_exec_wait_task(&f->h, project, step, want, WAIT_MS, exs, 1), 0);
}

/* latest returns the latest data of the project's task of step (new reference). */
static json_t *latest(fixture *f, int64_t project, const char *step)
{
    json_t *info = orc_flow_project_info(&f->h, project);
    json_t *data = json_object_get(orc_flow_task(info, step), "latest_data");
    json_incref(data);
    json_decref(info);
    assert_non_null(data);
    return data;
}

/* job_of finds the project's job whose function starts with prefix (NULL: none). The reply
 * holding it is put in *reply (free with protobuf_c_message_free_unpacked). */
static const Orchestra__V1__JobInfo *job_of(fixture *f, int64_t project, const char *prefix,
                                            Orchestra__V1__ListJobsReply **reply)
{
    *reply = orc_exec_list_jobs(&f->h, project);
    assert_non_null(*reply);
    for (size_t i = 0; i < (*reply)->n_jobs; i++)
        if (strncmp((*reply)->jobs[i]->function, prefix, strlen(prefix)) == 0)
            return (*reply)->jobs[i];
    return NULL;
}

/* wait_job polls until the project's job of prefix has status; returns its last error. */
static char *wait_job(fixture *f, int64_t project, const char *prefix, const char *status,
                      int *attempts)
{
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    for (;;) {
        Orchestra__V1__ListJobsReply *r = NULL;
        const Orchestra__V1__JobInfo *j = job_of(f, project, prefix, &r);
        if (j && strcmp(j->status, status) == 0) {
            char *error = strdup(j->last_error);
            if (attempts)
                *attempts = j->attempts;
            protobuf_c_message_free_unpacked(&r->base, NULL);
            return error;
        }
        char last[128];
        snprintf(last, sizeof last, "%s", j ? j->status : "(no job)");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (orc_test_now_ms() >= deadline) {
            orc_exec_print_log(&f->ex);
            orc_harness_print_log(&f->h);
            fail_msg("job %s of project %lld is %s, not %s", prefix, (long long)project, last,
                     status);
        }
        orc_test_sleep_ms(100);
    }
}

static int64_t create(fixture *f, const char *version, const char *data)
{
    return orc_flow_create_project(&f->h, "pyflow", version, "A test of the Python flow", data);
}

/* ---- the steps ------------------------------------------------------------------------- */

static void test_python_steps_run_as_upstream_wrote_them(void **state)
{
    fixture *f = *state;
    char data[1024], hook_log[700];
    snprintf(hook_log, sizeof hook_log, "%s/hook.log", f->h.dir);
    snprintf(data, sizeof data, "{\"url\": \"%s\", \"hook_log\": \"%s\"}", f->base, hook_log);
    int64_t p = create(f, "v1", data);

    /* crawl: DOC's {module, name}, requests and BeautifulSoup against the local page. */
    wait_task(f, p, "crawl", "Complete/Submitted");
    json_t *crawl = latest(f, p, "crawl");
    const char *image = json_string_value(json_object_get(crawl, "image"));
    char a[128], b[128];
    snprintf(a, sizeof a, "%simg/a.png", f->base);
    snprintf(b, sizeof b, "%simg/b.JPG", f->base);
    assert_string_equal(json_string_value(json_object_get(crawl, "status")), "success");
    assert_true(image && (strcmp(image, a) == 0 || strcmp(image, b) == 0));

    /* greet: HEAD's {path, kwargs}, with project_id in project_data. */
    wait_task(f, p, "greet", "Complete/Submitted");
    json_t *greet = latest(f, p, "greet");
    assert_string_equal(json_string_value(json_object_get(greet, "text")), "hello hello");
    assert_int_equal(json_integer_value(json_object_get(greet, "project_id")), p);
    assert_string_equal(json_string_value(json_object_get(greet, "image")), image);
    json_decref(greet);
    json_decref(crawl);

    /* extra: its Python creation policy answered no, so it never got a task. */
    free(wait_job(f, p, "creation_policy:pyflow.policies.when_flag", "completed", NULL));
    orc_flow_expect_no_task(&f->h, p, "extra");
    orc_flow_expect_task(&f->h, p, "rate", "Awaiting Processing", "");
    orc_flow_expect_project_status(&f->h, p, "Active");

    /* Ending the project runs the version's abort hook once, with the project. */
    orc_flow_run r;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)p);
    orc_flow_admin(&f->h, &r, NULL, "project", "end", id, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    orc_flow_admin(&f->h, &r, NULL, "project", "end", id, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    free(wait_job(f, p, "abort_completion:pyflow.hooks.on_abort", "completed", NULL));
    Orchestra__V1__ListJobsReply *jobs = orc_exec_list_jobs(&f->h, p);
    size_t hooks = 0;
    for (size_t i = 0; i < jobs->n_jobs; i++)
        hooks += strcmp(jobs->jobs[i]->kind, "abort_completion") == 0;
    protobuf_c_message_free_unpacked(&jobs->base, NULL);
    assert_int_equal(hooks, 1);
    char *log = orc_test_read_file(hook_log, NULL);
    char want[128];
    snprintf(want, sizeof want, "ended %lld v1 A test of the Python flow\n", (long long)p);
    assert_non_null(log);
    assert_string_equal(log, want);
    free(log);
}

static void test_python_policy_lets_the_step_in_when_it_says_so(void **state)
{
    fixture *f = *state;
    char data[512];
    snprintf(data, sizeof data, "{\"url\": \"%s\", \"extra\": true}", f->base);
    int64_t p = create(f, "v1", data);
    wait_task(f, p, "extra", "Complete/Submitted");
    json_t *extra = latest(f, p, "extra");
    assert_true(json_is_true(json_object_get(extra, "extra")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(extra, "seen"), 0)),
                        "crawl");
    json_decref(extra);
}

static void test_a_raising_step_is_retried_then_failed_and_a_set_is_refused(void **state)
{
    fixture *f = *state;
    int64_t p = create(f, "v2", "{}");
    int attempts = 0;
    char *error = wait_job(f, p, "pyflow.v2.steps.boom", "failed", &attempts);
    /* Its retry_policy allows 2 attempts; the error ends with the traceback's last lines. */
    assert_int_equal(attempts, 2);
    assert_non_null(strstr(error, "pyflow/v2/steps.py\", line 3, in check"));
    assert_non_null(strstr(error, "raise ValueError('kaboom')"));
    const char *last = strrchr(error, '\n');
    assert_non_null(last);
    assert_string_equal(last + 1, "ValueError: kaboom");
    free(error);
    wait_task(f, p, "boom", "Processing/Failed");

    error = wait_job(f, p, "pyflow.v2.steps.returns_set", "failed", &attempts);
    assert_int_equal(attempts, 1); /* not retried: it would return a set again */
    assert_string_equal(error, "the function returned set, not a dict (a JSON object)");
    free(error);
    wait_task(f, p, "returns_set", "Processing/Failed");
}

static void test_a_killed_runner_is_replaced_and_the_step_retried(void **state)
{
    fixture *f = *state;
    char marker[700], data[800];
    snprintf(marker, sizeof marker, "%s/slow.pid", f->h.dir);
    snprintf(data, sizeof data, "{\"marker\": \"%s\"}", marker);
    int64_t p = create(f, "v3", data);
    /* The first attempt writes its runner's pid and waits. */
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    char *text = NULL;
    while (!(text = orc_test_read_file(marker, NULL)) && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(50);
    assert_non_null(text);
    pid_t runner = (pid_t)atol(text);
    free(text);
    /* A child of the executor, in a process group of its own. */
    pid_t ppid = 0, pgid = 0;
    assert_true(orc_proc_info(runner, &ppid, &pgid));
    assert_int_equal(ppid, f->ex.pid);
    assert_int_equal(pgid, runner);
    assert_int_equal(kill(runner, SIGKILL), 0);

    wait_task(f, p, "slow", "Complete/Submitted");
    json_t *out = latest(f, p, "slow");
    assert_true(json_is_true(json_object_get(out, "retried")));
    assert_int_equal(json_integer_value(json_object_get(out, "first_pid")), runner);
    assert_true(json_integer_value(json_object_get(out, "pid")) != runner);
    json_decref(out);
    int attempts = 0;
    free(wait_job(f, p, "pyflow.v3.steps.slow", "completed", &attempts));
    assert_int_equal(attempts, 2);
    char line[64];
    snprintf(line, sizeof line, "python runner %d ended", (int)runner);
    assert_int_equal(orc_exec_log_count(&f->ex, line), 1);
}

static void test_a_killed_executor_takes_its_runner_along(void **state)
{
    fixture *f = *state;
    char marker[700], data[800];
    snprintf(marker, sizeof marker, "%s/slow.pid", f->h.dir);
    snprintf(data, sizeof data, "{\"marker\": \"%s\"}", marker);
    create(f, "v3", data);
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    char *text = NULL;
    while (!(text = orc_test_read_file(marker, NULL)) && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(50);
    assert_non_null(text);
    pid_t runner = (pid_t)atol(text);
    free(text);
    assert_true(orc_proc_info(runner, NULL, NULL));
    orc_exec_kill(&f->ex); /* SIGKILL: no chance to stop its runner itself */
    deadline = orc_test_now_ms() + WAIT_MS;
    while (orc_proc_info(runner, NULL, NULL) && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(50);
    assert_false(orc_proc_info(runner, NULL, NULL)); /* PR_SET_PDEATHSIG */
}

static void test_a_python_load_function_loads_the_sample_data(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 2; round++) {
        orc_flow_run r;
        orc_flow_admin(&f->h, &r, NULL, "workflow", "sample-data", "pyflow/v1", NULL);
        orc_flow_expect_ok(&r);
        json_t *doc = orc_flow_json(&r);
        json_t *users = json_object_get(doc, "users");
        assert_int_equal(json_array_size(users), 2);
        assert_string_equal(json_string_value(json_array_get(users, 0)), "py-writer");
        assert_string_equal(json_string_value(json_array_get(users, 1)), "py-lead");
        json_decref(doc);
        orc_flow_run_free(&r);
    }
    orc_flow_run r;
    orc_flow_admin(&f->h, &r, NULL, "worker", "list", NULL);
    orc_flow_expect_ok(&r);
    json_t *doc = orc_flow_json(&r);
    json_t *workers = json_object_get(doc, "workers");
    assert_int_equal(json_array_size(workers), 2);
    json_t *lead = json_array_get(workers, 1);
    assert_string_equal(json_string_value(json_object_get(lead, "username")), "py-lead");
    assert_true(json_is_true(json_object_get(lead, "is_admin")));
    assert_int_equal(json_array_size(json_object_get(lead, "certifications")), 2);
    json_decref(doc);
    orc_flow_run_free(&r);
    /* The password its load function set works. */
    orc_flow_worker w;
    orc_flow_worker_init(&w, &f->h, "py-lead", "lead");
    orc_flow_login(&f->h, &w);
}

static void test_an_executor_without_python_leaves_python_jobs_queued(void **state)
{
    fixture *f = *state;
    int64_t p = create(f, "v2", "{}");
    /* The executor leases by its C plugins' names only: the Python steps wait for one that
     * runs Python, they do not fail. Its polls go on meanwhile (bounded, not timed). */
    assert_true(orc_exec_log_count(&f->ex, "and 0 Python packages") == 1);
    for (int i = 0; i < 20; i++) {
        orc_test_sleep_ms(100);
        Orchestra__V1__ListJobsReply *r = NULL;
        const Orchestra__V1__JobInfo *j = job_of(f, p, "pyflow.v2.steps.boom", &r);
        assert_non_null(j);
        assert_string_equal(j->status, "queued");
        assert_int_equal(j->attempts, 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    orc_flow_expect_task(&f->h, p, "boom", "Awaiting Processing", "");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_python_steps_run_as_upstream_wrote_them),
        T(test_python_policy_lets_the_step_in_when_it_says_so),
        T(test_a_raising_step_is_retried_then_failed_and_a_set_is_refused),
        T(test_a_killed_runner_is_replaced_and_the_step_retried),
        T(test_a_killed_executor_takes_its_runner_along),
        T(test_a_python_load_function_loads_the_sample_data),
        cmocka_unit_test_setup_teardown(test_an_executor_without_python_leaves_python_jobs_queued,
                                        setup_no_python, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
