/*
 * test_list_cli.c: the CLI's listings and conventions for scripts: project, worker, task,
 * certification and key lists (filters, every page fetched, --limit), errors as one JSON
 * document on stderr under --json, and the old verbs kept as aliases of the new ones.
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

#include "cli_flow.h"
#include "harness.h"
#include "support.h"

static int setup(void **state)
{
    orc_harness *h = calloc(1, sizeof *h);
    *state = h;
    if (!h || orc_harness_start(h, NULL) != 0)
        return -1;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/plugins/journalism_workflow", orc_test_env("ORC_SOURCE_DIR"));
    orc_flow_load_workflow(h, dir, "v1");
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "workflow", "sample-data", "journalism/v1", NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    return 0;
}

static int teardown(void **state)
{
    orc_harness *h = *state;
    orc_harness_cleanup(h);
    free(h);
    return 0;
}

/* admin_json runs an admin command with --json and returns member key of its document. */
static json_t *admin_json(const orc_harness *h, json_t **doc, const char *key, const char *a1,
                          const char *a2, const char *a3, const char *a4, const char *a5)
{
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "--json", a1, a2, a3, a4, a5, NULL);
    orc_flow_expect_ok(&r);
    *doc = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *v = json_object_get(*doc, key);
    if (!json_is_array(v))
        orc_flow_fail_json(h, key, *doc);
    return v;
}

/* assert_time checks that v is null (when allowed) or an RFC 3339 UTC timestamp. */
static void assert_time(const json_t *v, bool null_ok)
{
    if (null_ok && json_is_null(v))
        return;
    assert_true(json_is_string(v));
    const char *s = json_string_value(v);
    int y, mo, d, hh, mm, ss, n = 0;
    assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &hh, &mm, &ss, &n), 6);
    assert_true(y >= 2020 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
    s += n;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    assert_string_equal(s, "Z");
}

static void test_list_projects_with_filters_and_every_page(void **state)
{
    orc_harness *h = *state;
    for (int i = 0; i < 5; i++)
        orc_flow_create_project(h, "journalism", "v1", "an article", NULL);
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "project", "end", "2", NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    json_t *doc;
    json_t *all = admin_json(h, &doc, "projects", "project", "list", NULL, NULL, NULL);
    assert_int_equal(json_array_size(all), 5);
    json_t *p = json_array_get(all, 0);
    assert_string_equal(json_string_value(json_object_get(p, "workflow")), "journalism");
    assert_string_equal(json_string_value(json_object_get(p, "status")), "Active");
    assert_non_null(strstr(json_string_value(json_object_get(p, "start")), "Z"));
    json_decref(doc);
    all = admin_json(h, &doc, "projects", "project", "list", "--status", "Aborted", NULL);
    assert_int_equal(json_array_size(all), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "id")), 2);
    json_decref(doc);
    all = admin_json(h, &doc, "projects", "project", "list", "--workflow", "simple_workflow", NULL);
    assert_int_equal(json_array_size(all), 0);
    json_decref(doc);
    all = admin_json(h, &doc, "projects", "project", "list", "--limit", "3", NULL);
    assert_int_equal(json_array_size(all), 3);
    json_decref(doc);
    /* Pages of two through the library: 2, 2, 1, each after the last id of the one before. */
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client_dev(h, &c), ORC_OK);
    orc_list_filter f = {.limit = 2};
    size_t sizes[4] = {0}, pages = 0;
    do {
        char *text = NULL;
        orc_error e;
        assert_int_equal(orc_project_list_json(c, &f, &text, &e), ORC_OK);
        json_t *page = json_loads(text, 0, NULL);
        orc_free(text);
        assert_true(pages < 4);
        sizes[pages++] = json_array_size(json_object_get(page, "projects"));
        int64_t next = json_integer_value(json_object_get(page, "next_after_id"));
        assert_true(next == 0 || next > f.after_id);
        f.after_id = next;
        json_decref(page);
    } while (f.after_id != 0);
    orc_client_destroy(c);
    assert_int_equal(pages, 3);
    assert_int_equal(sizes[0], 2);
    assert_int_equal(sizes[1], 2);
    assert_int_equal(sizes[2], 1);
}

static void test_list_workers_tasks_certifications_and_keys(void **state)
{
    orc_harness *h = *state;
    json_t *doc;
    json_t *workers = admin_json(h, &doc, "workers", "worker", "list", NULL, NULL, NULL);
    assert_int_equal(json_array_size(workers), 6);
    bool editor = false;
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w)
    {
        if (strcmp(json_string_value(json_object_get(w, "username")), "journalism-editor") != 0)
            continue;
        editor = true;
        json_t *certs = json_object_get(w, "certifications");
        assert_int_equal(json_array_size(certs), 1);
        assert_string_equal(json_string_value(json_array_get(certs, 0)),
                            "journalism/editor entry_level real");
        assert_true(json_is_true(json_object_get(w, "has_password")));
    }
    assert_true(editor);
    json_decref(doc);

    int64_t p = orc_flow_create_project(h, "journalism", "v1", "tasks", NULL);
    char pid[32];
    snprintf(pid, sizeof pid, "%lld", (long long)p);
    json_t *tasks = admin_json(h, &doc, "tasks", "task", "list", "-p", pid, NULL);
    assert_int_equal(json_array_size(tasks), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tasks, 0), "step")),
                        "document_creation");
    assert_time(json_object_get(json_array_get(tasks, 0), "start"), false);
    json_decref(doc);

    /* The machine step waits for an executor: its job's times are RFC 3339 too. */
    json_t *jobs = admin_json(h, &doc, "jobs", "job", "list", "-p", pid, NULL);
    assert_int_equal(json_array_size(jobs), 1);
    json_t *job = json_array_get(jobs, 0);
    assert_string_equal(json_string_value(json_object_get(job, "status")), "queued");
    assert_time(json_object_get(job, "next_attempt_at"), true);
    json_decref(doc);

    json_t *certs = admin_json(h, &doc, "certifications", "certification", "list", "--workflow",
                               "journalism", NULL);
    assert_int_equal(json_array_size(certs), 4);
    json_decref(doc);

    json_t *keys = admin_json(h, &doc, "keys", "key", "list", NULL, NULL, NULL);
    assert_true(json_array_size(keys) >= 1);
    json_t *k = json_array_get(keys, 0);
    assert_string_equal(json_string_value(json_object_get(k, "key_id")), ORC_TEST_DEV_KEY);
    /* The --dev key holds every key scope, the notifier's included. */
    char *scopes = json_dumps(json_object_get(k, "scopes"), JSON_COMPACT);
    assert_string_equal(scopes, "[\"project\",\"admin\",\"executor\",\"notify\"]");
    free(scopes);
    assert_null(json_object_get(k, "secret"));
    assert_true(json_is_null(json_object_get(k, "revoked")));
    assert_time(json_object_get(k, "created"), false);
    /* No secret anywhere in the output. */
    char *text = json_dumps(doc, 0);
    assert_null(strstr(text, ORC_TEST_DEV_SECRET));
    free(text);
    json_decref(doc);
}

static void test_json_errors_and_old_names(void **state)
{
    orc_harness *h = *state;
    orc_flow_run r;
    /* A refusal under --json: one JSON document on stderr, exit 1. */
    orc_flow_admin(h, &r, NULL, "--json", "project", "list", "--status", "Sleeping", NULL);
    assert_int_equal(r.code, 1);
    json_error_t je;
    json_t *e = json_loads(r.err, 0, &je);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), "INVALID_ARGUMENT");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "Sleeping"));
    json_decref(e);
    orc_flow_run_free(&r);
    /* A usage error too (exit 2), and an unknown command. */
    orc_flow_admin(h, &r, NULL, "--json", "project", "list", "--bogus", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(e = json_loads(r.err, 0, &je));
    assert_string_equal(json_string_value(json_object_get(e, "code")), "INVALID_ARGUMENT");
    json_decref(e);
    orc_flow_run_free(&r);
    orc_flow_admin(h, &r, NULL, "--json", "nonsense", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(e = json_loads(r.err, 0, &je));
    json_decref(e);
    orc_flow_run_free(&r);
    /* The old verbs answer like the new ones. */
    int64_t p = orc_flow_create_project(h, "journalism", "v1", "aliases", NULL);
    char pid[32];
    snprintf(pid, sizeof pid, "%lld", (long long)p);
    orc_flow_run old, now;
    orc_flow_admin(h, &old, NULL, "--json", "project", "info", pid, NULL);
    orc_flow_admin(h, &now, NULL, "--json", "project", "show", pid, NULL);
    orc_flow_expect_ok(&old);
    orc_flow_expect_ok(&now);
    assert_string_equal(old.out, now.out);
    orc_flow_run_free(&old);
    orc_flow_run_free(&now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_projects_with_filters_and_every_page, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_workers_tasks_certifications_and_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_errors_and_old_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("list_cli", tests, NULL, NULL);
}
