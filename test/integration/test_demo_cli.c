/*
 * test_demo_cli.c: the example workflows' commands end to end (spec section 6): `orchestra
 * demo simple --yes` against a real orchestrad, a real orchestra-executor with the example
 * plugins and a local web page served by this process; `orchestra journalism`; `orchestra
 * job list`; and the executor's prompt stop while parked in a long poll.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "clock.h"
#include "exec_harness.h"
#include "harness.h"

#define RATING "5: This image is very awesome"

typedef struct fixture {
    orc_harness h;
    orc_exec ex;
    nng_http_server *web;
    char base[64];      /* "http://127.0.0.1:PORT/" */
    char images[2][96]; /* the absolute URLs of the page's images */
} fixture;

static const char page_html[] = "<html><body><h1>Demo</h1>"
                                "<img src=\"img/a.png\" alt=a> <img src=\"/img/b.jpg\" alt=b>"
                                "</body></html>";

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

/* run_cli runs the CLI with the --dev key; *out and *err are the caller's to free. */
static int run_cli(fixture *f, char **out, char **err, const char *const *args)
{
    int code = -1;
    if (orc_harness_cli_argv(&f->h, ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, NULL, &code, out, err,
                             args) != 0)
        fail_msg("%s did not run to its end", args[0]);
    return code;
}

/* expect_ok runs the CLI and fails the test, showing its output, unless it exits 0;
 * returns its stdout (the caller frees). */
static char *expect_ok(fixture *f, const char *const *args)
{
    char *out = NULL, *err = NULL;
    int code = run_cli(f, &out, &err, args);
    if (code != 0) {
        orc_exec_print_log(&f->ex);
        orc_harness_print_log(&f->h);
        fail_msg("orchestra %s %s exited %d\nstdout: %s\nstderr: %s", args[0],
                 args[1] ? args[1] : "", code, out, err);
    }
    free(err);
    return out;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    nng_url *url = NULL;
    nng_http_handler *page = NULL;
    nng_sockaddr sa;
    char key[128], secret[128];
    if (!f || orc_harness_start(&f->h, NULL) != 0)
        return -1;
    *state = f;
    if (nng_url_parse(&url, "http://127.0.0.1:0") != 0 || nng_http_server_hold(&f->web, url) != 0)
        return -1;
    nng_url_free(url);
    if (nng_http_handler_alloc(&page, "/", page_cb) != 0 ||
        nng_http_server_add_handler(f->web, page) != 0 || nng_http_server_start(f->web) != 0 ||
        nng_http_server_get_addr(f->web, &sa) != 0)
        return -1;
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u/", ntohs(sa.s_in.sa_port));
    snprintf(f->images[0], sizeof f->images[0], "%simg/a.png", f->base);
    snprintf(f->images[1], sizeof f->images[1], "%simg/b.jpg", f->base);

    if (orc_harness_create_key(&f->h, "demo-executor", "executor", key, sizeof key, secret,
                               sizeof secret) != 0)
        return -1;
    orc_exec_opts eo = {.plugins_dir = ORC_PLUGIN_DIR, .key = key, .secret = secret};
    if (orc_exec_start(&f->h, "demo", &eo, &f->ex) != 0)
        return -1;

    const char *src = orc_test_env("ORC_SOURCE_DIR");
    char simple[512], journalism[512];
    snprintf(simple, sizeof simple, "%s/plugins/simple_workflow", src);
    snprintf(journalism, sizeof journalism, "%s/plugins/journalism_workflow", src);
    const char *const loads[][5] = {
        {"workflow", "load", simple, "v1", NULL},
        {"workflow", "load", journalism, "v1", NULL},
        {"workflow", "sample-data", "simple_workflow/v1", NULL},
        {"workflow", "sample-data", "journalism/v1", NULL},
    };
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        char *out = NULL, *err = NULL;
        int code = run_cli(f, &out, &err, loads[i]);
        if (code != 0)
            fprintf(stderr, "orchestra %s %s: exit %d\n%s%s", loads[i][0], loads[i][1], code, out,
                    err);
        free(out);
        free(err);
        if (code != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    orc_exec_stop(&f->ex);
    if (f->web) {
        nng_http_server_stop(f->web);
        nng_http_server_release(f->web);
    }
    orc_harness_cleanup(&f->h);
    free(f);
    return 0;
}

/* is_page_image says whether url is one of the page's images. */
static bool is_page_image(const fixture *f, const char *url)
{
    return url && (strcmp(url, f->images[0]) == 0 || strcmp(url, f->images[1]) == 0);
}

static void test_demo_simple_yes_crawls_the_page_and_rates_the_image(void **state)
{
    fixture *f = *state;
    const char *const args[] = {"demo", "simple", "--yes", "--url", f->base, NULL};
    char *out = expect_ok(f, args);
    assert_non_null(strstr(out, "tasks.rate.latest_data.rating is '" RATING "'"));
    const char *created = strstr(out, "Project with id ");
    assert_non_null(created);
    int64_t project_id = strtoll(created + strlen("Project with id "), NULL, 10);
    assert_true(project_id > 0);
    /* The crawled image is shown to the worker before the rating. */
    const char *shown = strstr(out, "The task shows the crawled image: ");
    assert_non_null(shown);
    char image[128];
    assert_int_equal(sscanf(shown + strlen("The task shows the crawled image: "), "%127s", image),
                     1);
    assert_true(is_page_image(f, image));
    free(out);

    json_t *info = orc_exec_project_info(&f->h, project_id);
    assert_non_null(info);
    json_t *tasks = json_object_get(info, "tasks");
    json_t *crawl = json_object_get(tasks, "crawl");
    json_t *rate = json_object_get(tasks, "rate");
    assert_string_equal(json_string_value(json_object_get(crawl, "status")), "Complete");
    json_t *crawled = json_object_get(crawl, "latest_data");
    assert_string_equal(json_string_value(json_object_get(crawled, "status")), "success");
    assert_string_equal(json_string_value(json_object_get(crawled, "image")), image);
    assert_string_equal(json_string_value(json_object_get(rate, "status")), "Complete");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rate, "latest_data"), "rating")), RATING);
    json_t *project = json_object_get(info, "project");
    assert_int_equal(json_integer_value(json_object_get(project, "task_class")), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(project, "project_data"), "url")),
        f->base);
    json_decref(info);

    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%" PRId64, project_id);
    const char *const list[] = {"--json", "job", "list", "-p", pid_text, NULL};
    out = expect_ok(f, list);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    json_t *jobs = json_object_get(doc, "jobs");
    assert_int_equal(json_array_size(jobs), 1);
    json_t *job = json_array_get(jobs, 0);
    assert_string_equal(json_string_value(json_object_get(job, "step")), "crawl");
    assert_string_equal(json_string_value(json_object_get(job, "status")), "completed");
    assert_string_equal(json_string_value(json_object_get(job, "function")),
                        "simple_workflow.v1.crawl.crawl_page");
    assert_int_equal(json_integer_value(json_object_get(job, "project_id")), project_id);
    assert_int_equal(json_integer_value(json_object_get(job, "attempts")), 1);
    json_decref(doc);
    free(out);

    const char *const table[] = {"job", "list", NULL};
    out = expect_ok(f, table);
    assert_non_null(strstr(out, "completed"));
    assert_non_null(strstr(out, "simple_workflow.v1.crawl.crawl_page"));
    free(out);
}

static void test_demo_simple_json_prints_one_document(void **state)
{
    fixture *f = *state;
    const char *const args[] = {"--json", "demo", "simple", "-y", "--url", f->base, NULL};
    char *out = expect_ok(f, args);
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    if (!doc)
        fail_msg("stdout is not one JSON document (%s): %s", je.text, out);
    assert_true(json_integer_value(json_object_get(doc, "project_id")) > 0);
    assert_string_equal(json_string_value(json_object_get(doc, "rating")), RATING);
    assert_true(is_page_image(
        f, json_string_value(json_object_get(json_object_get(doc, "crawl"), "image"))));
    json_decref(doc);
    free(out);
}

static void test_demo_simple_rejects_bad_options(void **state)
{
    fixture *f = *state;
    const char *const bad[][6] = {
        {"demo", "simple", "--wait", "0", NULL},
        {"demo", "simple", "--url", NULL},
        {"demo", "simple", "extra", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL, *err = NULL;
        assert_int_equal(run_cli(f, &out, &err, bad[i]), 2);
        assert_non_null(strstr(err, "usage: orchestra example simple"));
        free(out);
        free(err);
    }
}

static void test_journalism_final_needs_a_completed_project(void **state)
{
    fixture *f = *state;
    const char *const create[] = {"--json", "journalism", "--new", NULL};
    char *out = expect_ok(f, create);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    json_int_t id = json_integer_value(json_object_get(doc, "project_id"));
    assert_true(id > 0);
    json_t *project = json_object_get(json_object_get(doc, "project_information"), "project");
    assert_string_equal(json_string_value(json_object_get(project, "workflow_slug")), "journalism");
    assert_string_equal(json_string_value(json_object_get(project, "short_description")),
                        "A test run of our journalism workflow");
    assert_int_equal(json_integer_value(json_object_get(project, "task_class")), 0);
    assert_non_null(json_string_value(
        json_object_get(json_object_get(project, "project_data"), "article_draft_template")));
    json_decref(doc);
    free(out);

    char id_text[32];
    snprintf(id_text, sizeof id_text, "%" JSON_INTEGER_FORMAT, id);
    const char *const status[] = {"journalism", "-s", "-p", id_text, NULL};
    out = expect_ok(f, status);
    assert_non_null(strstr(out, "Information received!"));
    assert_non_null(strstr(out, "\"workflow_slug\": \"journalism\""));
    free(out);

    const char *const final[] = {"journalism", "--final", "--project-id", id_text, NULL};
    char *err = NULL;
    out = NULL;
    assert_int_equal(run_cli(f, &out, &err, final), 1);
    assert_non_null(strstr(err, "The '--final' option must be used with a completed project"));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void test_journalism_wants_exactly_one_mode(void **state)
{
    fixture *f = *state;
    const char *const bad[][6] = {
        {"journalism", NULL},
        {"journalism", "--new", "--status", NULL},
        {"journalism", "--final", NULL},
        {"journalism", "-n", "-p", "1", NULL},
        {"journalism", "--finish", "-p", "1", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL, *err = NULL;
        int code = run_cli(f, &out, &err, bad[i]);
        if (code != 2)
            fail_msg("case %zu: exit %d, stderr %s", i, code, err);
        assert_non_null(strstr(err, "usage: orchestra example journalism"));
        free(out);
        free(err);
    }
}

/* Runs last: the executor has nothing to do and sits in its LeaseJob long poll (20 s); it
 * must leave that poll at once on SIGTERM and exit 0. */
static void test_executor_stops_promptly_while_parked_in_a_poll(void **state)
{
    fixture *f = *state;
    int64_t start = orci_monotonic_ms();
    assert_int_equal(orc_exec_stop(&f->ex), 0);
    int64_t took = orci_monotonic_ms() - start;
    if (took >= 10000)
        fail_msg("the idle executor took %" PRId64 " ms to stop", took);
    assert_int_equal(orc_exec_log_count(&f->ex, "stopped"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_simple_yes_crawls_the_page_and_rates_the_image),
        cmocka_unit_test(test_demo_simple_json_prints_one_document),
        cmocka_unit_test(test_demo_simple_rejects_bad_options),
        cmocka_unit_test(test_journalism_final_needs_a_completed_project),
        cmocka_unit_test(test_journalism_wants_exactly_one_mode),
        cmocka_unit_test(test_executor_stops_promptly_while_parked_in_a_poll),
    };
    return cmocka_run_group_tests_name("demo_cli", tests, setup, teardown);
}
