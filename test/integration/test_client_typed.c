/*
 * test_client_typed.c: liborchestra's typed results against a real orchestrad: the listings
 * as structs (projects, tasks, jobs, workers, certifications, keys, workflows, consistency
 * violations) say what their JSON documents say, page alike, and filter alike; the structs
 * the library hands out (orc_server_info, orc_workflow_ref, orc_load_result, orc_event_page)
 * carry the server's answer; a filter from an older program (a smaller size) is read only as
 * far as it goes.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_flow.h"
#include "harness.h"
#include "orchestra/client.h"
#include "orchestra/version.h"
#include "support.h"

#define PROJECTS 3

typedef struct fixture {
    orc_harness h;
    orc_client *c;
    char wf_dir[700];
    int64_t projects[PROJECTS];
} fixture;

/* A machine step first (its job stays queued: no executor here), then a human one. */
static const char WORKFLOW[] =
    "{\"slug\":\"typedwf\",\"name\":\"typedwf\",\"description\":\"Typed.\",\"certifications\":["
    "{\"slug\":\"base\",\"name\":\"Base\",\"description\":\"The first.\"},"
    "{\"slug\":\"senior\",\"name\":\"Senior\",\"description\":\"The second.\","
    "\"required_certifications\":[\"base\"]}]}";
static const char VERSION[] =
    "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":\"A machine, then a person.\","
    "\"steps\":["
    "{\"slug\":\"run\",\"name\":\"Run\",\"description\":\"The machine step.\","
    "\"is_human\":false,\"execution_function\":{\"module\":\"test_plugins.flaky\",\"name\":"
    "\"echo\"}},"
    "{\"slug\":\"after\",\"name\":\"After\",\"description\":\"A person.\",\"is_human\":true,"
    "\"creation_depends_on\":[\"run\"],\"review_policy\":{\"policy\":\"no_review\"}}]}";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f || orc_harness_start(&f->h, NULL) != 0 || orc_harness_client_dev(&f->h, &f->c) != ORC_OK)
        return -1;
    orc_flow_write_workflow(f->h.dir, "typedwf", WORKFLOW, VERSION, f->wf_dir, sizeof f->wf_dir);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        orc_client_destroy(f->c);
        orc_harness_cleanup(&f->h);
        free(f);
    }
    return 0;
}

static void load_and_create(fixture *f)
{
    orc_error e;
    orc_workflow_ref *ref = NULL;
    assert_int_equal(orc_workflow_load(f->c, f->wf_dir, "v1", false, &ref, &e), ORC_OK);
    assert_string_equal(ref->workflow, "typedwf");
    assert_string_equal(ref->version, "v1");
    orc_workflow_ref_free(ref);
    for (int i = 0; i < PROJECTS; i++) {
        char desc[32];
        snprintf(desc, sizeof desc, "typed %d", i);
        orc_project_params p = {
            .workflow = "typedwf", .version = "v1", .description = desc, .priority = 10 + i};
        assert_int_equal(orc_project_create(f->c, &p, &f->projects[i], &e), ORC_OK);
    }
}

static json_t *parse(char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    orc_free(text);
    assert_non_null(v);
    return v;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    assert_non_null(v);
    return v;
}

static void test_the_projects_as_structs_match_their_json(void **state)
{
    fixture *f = *state;
    load_and_create(f);
    orc_error e;
    orc_project_list *l = NULL;
    char *text = NULL;
    assert_int_equal(orc_projects_list(f->c, NULL, &l, &e), ORC_OK);
    assert_int_equal(orc_project_list_json(f->c, NULL, &text, &e), ORC_OK);
    json_t *doc = parse(text);
    json_t *items = json_object_get(doc, "projects");
    assert_int_equal(l->n_projects, PROJECTS);
    assert_int_equal(json_array_size(items), PROJECTS);
    assert_int_equal(l->next_after_id, 0);
    for (size_t i = 0; i < l->n_projects; i++) {
        const orc_project_summary *p = l->projects[i];
        const json_t *o = json_array_get(items, i);
        assert_int_equal(p->id, f->projects[i]);
        assert_int_equal(p->id, json_integer_value(json_object_get(o, "id")));
        assert_string_equal(p->workflow, jstr(o, "workflow"));
        assert_string_equal(p->version, jstr(o, "version"));
        assert_string_equal(p->description, jstr(o, "description"));
        assert_int_equal(p->priority, 10 + (int64_t)i);
        assert_int_equal(p->priority, json_integer_value(json_object_get(o, "priority")));
        assert_string_equal(p->status, "Active");
        assert_string_equal(p->status, jstr(o, "status"));
        assert_string_equal(p->task_class, jstr(o, "task_class"));
        assert_true(p->start_us > 0);
        assert_true(json_is_string(json_object_get(o, "start")));
    }
    json_decref(doc);
    orc_project_list_free(l);

    /* One a page: the pages walk the same ids. */
    orc_list_filter page = {.limit = 1};
    for (int i = 0; i < PROJECTS; i++) {
        assert_int_equal(orc_projects_list(f->c, &page, &l, &e), ORC_OK);
        assert_int_equal(l->n_projects, 1);
        assert_int_equal(l->projects[0]->id, f->projects[i]);
        page.after_id = l->next_after_id;
        orc_project_list_free(l);
    }
    assert_int_equal(orc_projects_list(f->c, &page, &l, &e), ORC_OK);
    assert_int_equal(l->n_projects, 0);
    assert_int_equal(l->next_after_id, 0);
    orc_project_list_free(l);

    /* A filter from a program built before status existed is read up to its size: the status
     * it never set is not taken for a filter. */
    orc_list_filter older = {
        .size = offsetof(orc_list_filter, status), .status = "Completed", .workflow = "nothing"};
    assert_int_equal(orc_projects_list(f->c, &older, &l, &e), ORC_OK);
    assert_int_equal(l->n_projects, PROJECTS);
    orc_project_list_free(l);
    orc_list_filter now = {.size = sizeof now, .status = "Completed"};
    assert_int_equal(orc_projects_list(f->c, &now, &l, &e), ORC_OK);
    assert_int_equal(l->n_projects, 0);
    orc_project_list_free(l);
}

static void test_the_tasks_and_jobs_as_structs_match_their_json(void **state)
{
    fixture *f = *state;
    load_and_create(f);
    orc_error e;
    orc_list_filter one = {.project_id = f->projects[1]};
    orc_task_list *tl = NULL;
    char *text = NULL;
    assert_int_equal(orc_tasks_list(f->c, &one, &tl, &e), ORC_OK);
    assert_int_equal(orc_task_list_json(f->c, &one, &text, &e), ORC_OK);
    json_t *doc = parse(text);
    json_t *items = json_object_get(doc, "tasks");
    assert_int_equal(tl->n_tasks, 1); /* the machine step; the human one waits for it */
    assert_int_equal(json_array_size(items), 1);
    const orc_task_summary *t = tl->tasks[0];
    const json_t *o = json_array_get(items, 0);
    assert_int_equal(t->id, json_integer_value(json_object_get(o, "id")));
    assert_int_equal(t->project_id, f->projects[1]);
    assert_string_equal(t->step, "run");
    assert_false(t->is_human);
    assert_string_equal(t->status, jstr(o, "status"));
    assert_string_equal(t->worker, "");
    assert_true(json_is_null(json_object_get(o, "worker")));
    assert_true(t->start_us > 0);
    int64_t task_id = t->id;
    json_decref(doc);
    orc_task_list_free(tl);

    orc_job_info_list *jl = NULL;
    assert_int_equal(orc_jobs_list(f->c, f->projects[1], &jl, &e), ORC_OK);
    assert_int_equal(orc_job_list_json(f->c, f->projects[1], &text, &e), ORC_OK);
    doc = parse(text);
    items = json_object_get(doc, "jobs");
    assert_int_equal(jl->n_jobs, 1);
    assert_int_equal(json_array_size(items), 1);
    const orc_job_info *j = jl->jobs[0];
    o = json_array_get(items, 0);
    assert_int_equal(j->job_id, json_integer_value(json_object_get(o, "job_id")));
    assert_int_equal(j->project_id, f->projects[1]);
    assert_int_equal(j->task_id, task_id);
    assert_string_equal(j->step, "run");
    assert_string_equal(j->function, jstr(o, "function"));
    assert_string_equal(j->status, "queued");
    assert_int_equal(j->attempts, 0);
    assert_int_equal(j->max_attempts, json_integer_value(json_object_get(o, "max_attempts")));
    assert_string_equal(j->last_error, "");
    assert_string_equal(j->executor_id, "");
    json_decref(doc);
    orc_job_info_list_free(jl);
    assert_int_equal(orc_jobs_list(f->c, 0, &jl, &e), ORC_OK);
    assert_int_equal(jl->n_jobs, PROJECTS);
    orc_job_info_list_free(jl);
    assert_int_equal(orc_jobs_list(f->c, -1, &jl, &e), ORC_INVALID_ARGUMENT);
    assert_null(jl);
}

/* expect_strv: the n strings v are the JSON array a's, in order. */
static void expect_strv(char *const *v, size_t n, const json_t *a)
{
    assert_int_equal(n, json_array_size(a));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i], json_string_value(json_array_get(a, i)));
}

/* expect_workers compares orc_workers_list with the JSON listing; tina (wid) holds two
 * certifications. */
static void expect_workers(fixture *f, int64_t wid)
{
    orc_error e;
    orc_worker_list *wl = NULL;
    char *text = NULL;
    assert_int_equal(orc_workers_list(f->c, NULL, &wl, &e), ORC_OK);
    assert_int_equal(orc_worker_list_json(f->c, NULL, &text, &e), ORC_OK);
    json_t *doc = parse(text);
    json_t *items = json_object_get(doc, "workers");
    assert_int_equal(wl->n_workers, json_array_size(items));
    bool seen = false;
    for (size_t i = 0; i < wl->n_workers; i++) {
        const orc_worker_summary *w = wl->workers[i];
        const json_t *o = json_array_get(items, i);
        assert_int_equal(w->id, json_integer_value(json_object_get(o, "id")));
        assert_string_equal(w->username, jstr(o, "username"));
        assert_string_equal(w->first_name, jstr(o, "first_name"));
        assert_string_equal(w->last_name, jstr(o, "last_name"));
        assert_string_equal(w->email, jstr(o, "email"));
        assert_int_equal(w->is_admin, json_is_true(json_object_get(o, "is_admin")));
        assert_int_equal(w->has_password, json_is_true(json_object_get(o, "has_password")));
        expect_strv(w->certifications, w->n_certifications, json_object_get(o, "certifications"));
        if (w->id == wid) {
            seen = true;
            assert_string_equal(w->username, "tina");
            assert_string_equal(w->last_name, "");
            assert_true(w->has_password);
            assert_int_equal(w->n_certifications, 2);
        }
    }
    assert_true(seen);
    json_decref(doc);
    orc_worker_list_free(wl);
}

/* expect_certifications compares orc_certifications_list with the JSON listing. */
static void expect_certifications(fixture *f)
{
    orc_error e;
    char *text = NULL;
    orc_certification_list *cl = NULL;
    assert_int_equal(orc_certifications_list(f->c, "typedwf", &cl, &e), ORC_OK);
    assert_int_equal(orc_certification_list_json(f->c, "typedwf", &text, &e), ORC_OK);
    json_t *doc = parse(text);
    json_t *items = json_object_get(doc, "certifications");
    assert_int_equal(cl->n_certifications, 2);
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < cl->n_certifications; i++) {
        const orc_certification_info *ci = cl->certifications[i];
        const json_t *o = json_array_get(items, i);
        assert_int_equal(ci->id, json_integer_value(json_object_get(o, "id")));
        assert_string_equal(ci->workflow, "typedwf");
        assert_string_equal(ci->slug, jstr(o, "slug"));
        assert_string_equal(ci->name, jstr(o, "name"));
        assert_string_equal(ci->description, jstr(o, "description"));
        expect_strv(ci->required, ci->n_required, json_object_get(o, "required"));
        if (strcmp(ci->slug, "senior") == 0) {
            assert_int_equal(ci->n_required, 1);
            assert_string_equal(ci->required[0], "base");
        }
    }
    json_decref(doc);
    orc_certification_list_free(cl);
}

/* expect_keys compares orc_keys_list with the JSON listing, a new key with two scopes among them.
 */
static void expect_keys(fixture *f)
{
    orc_error e;
    char *text = NULL;
    char key[128], secret[128];
    assert_int_equal(orc_harness_create_key(&f->h, "typed", "project,executor", key, sizeof key,
                                            secret, sizeof secret),
                     0);
    orc_key_list *kl = NULL;
    assert_int_equal(orc_keys_list(f->c, &kl, &e), ORC_OK);
    assert_int_equal(orc_key_list_json(f->c, &text, &e), ORC_OK);
    json_t *doc = parse(text);
    json_t *items = json_object_get(doc, "keys");
    assert_int_equal(kl->n_keys, json_array_size(items));
    bool seen = false;
    for (size_t i = 0; i < kl->n_keys; i++) {
        const orc_key_info *k = kl->keys[i];
        const json_t *o = json_array_get(items, i);
        assert_string_equal(k->key_id, jstr(o, "key_id"));
        assert_string_equal(k->name, jstr(o, "name"));
        expect_strv(k->scopes, k->n_scopes, json_object_get(o, "scopes"));
        assert_true(k->created_us > 0);
        assert_int_equal(k->revoked_us == 0, json_is_null(json_object_get(o, "revoked")));
        if (strcmp(k->key_id, key) == 0) {
            seen = true;
            assert_string_equal(k->name, "typed");
            assert_int_equal(k->n_scopes, 2);
        }
    }
    assert_true(seen);
    json_decref(doc);
    orc_key_list_free(kl);
}

/* expect_workflows_and_consistency compares orc_workflows_list and orc_check_consistency with their
 * JSON. */
static void expect_workflows_and_consistency(fixture *f)
{
    orc_error e;
    char *text = NULL;
    orc_workflow_list *wfl = NULL;
    assert_int_equal(orc_workflows_list(f->c, &wfl, &e), ORC_OK);
    assert_int_equal(orc_workflow_types_json(f->c, &text, &e), ORC_OK);
    json_t *doc = parse(text);
    json_t *wfs = json_object_get(doc, "workflows");
    assert_int_equal(wfl->n_workflows, json_object_size(wfs));
    for (size_t i = 0; i < wfl->n_workflows; i++) {
        const orc_workflow_info *w = wfl->workflows[i];
        const json_t *o = json_object_get(wfs, w->slug);
        assert_non_null(o);
        assert_string_equal(w->name, jstr(o, "name"));
        const json_t *vs = json_object_get(o, "versions");
        assert_int_equal(w->n_versions, json_object_size(vs));
        for (size_t j = 0; j < w->n_versions; j++) {
            const json_t *v = json_object_get(vs, w->versions[j]->slug);
            assert_non_null(v);
            assert_string_equal(w->versions[j]->name, jstr(v, "name"));
            assert_string_equal(w->versions[j]->description, jstr(v, "description"));
        }
    }
    assert_int_equal(wfl->n_workflows, 1);
    assert_string_equal(wfl->workflows[0]->slug, "typedwf");
    assert_string_equal(wfl->workflows[0]->description, "Typed.");
    assert_int_equal(wfl->workflows[0]->n_versions, 1);
    assert_string_equal(wfl->workflows[0]->versions[0]->slug, "v1");
    json_decref(doc);
    orc_workflow_list_free(wfl);

    orc_violation_list *vl = NULL;
    size_t n_violations = 99;
    assert_int_equal(orc_check_consistency(f->c, &vl, &e), ORC_OK);
    assert_int_equal(orc_check_consistency_json(f->c, &text, &n_violations, &e), ORC_OK);
    orc_free(text);
    assert_int_equal(vl->n_violations, 0);
    assert_int_equal(n_violations, 0);
    orc_violation_list_free(vl);
}

static void test_workers_certifications_keys_as_structs_match_their_json(void **state)
{
    fixture *f = *state;
    load_and_create(f);
    orc_error e;
    orc_worker_params wp = {.username = "tina",
                            .password = "tina-pw-1",
                            .first_name = "Tina",
                            .email = "tina@example.org"};
    int64_t wid = 0;
    assert_int_equal(orc_worker_add(f->c, &wp, &wid, &e), ORC_OK);
    assert_int_equal(
        orc_worker_certify(f->c, "tina", "typedwf", "base", "entry_level", NULL, false, &e),
        ORC_OK);
    assert_int_equal(
        orc_worker_certify(f->c, "tina", "typedwf", "senior", "entry_level", NULL, false, &e),
        ORC_OK);

    expect_workers(f, wid);
    expect_certifications(f);
    expect_keys(f);
    expect_workflows_and_consistency(f);
}

static void test_handed_out_structs_carry_the_answer(void **state)
{
    fixture *f = *state;
    orc_error e;
    orc_server_info *info = NULL;
    assert_int_equal(orc_server_info_get(f->c, &info, &e), ORC_OK);
    assert_string_equal(info->version, ORC_VERSION_STRING);
    assert_true(info->schema_version > 0);
    assert_true(info->now_us >= info->started_at_us && info->started_at_us > 0);
    orc_server_info_free(info);

    /* Two folders: one that loads, one whose workflow.json does not parse. */
    char broken[800], file[900];
    snprintf(broken, sizeof broken, "%s/broken", f->h.dir);
    snprintf(file, sizeof file, "%s/workflow.json", broken);
    assert_int_equal(orc_test_write_file(file, "{"), 0);
    const char *dirs[] = {f->wf_dir, broken};
    orc_load_result **res = NULL;
    size_t n = 0;
    assert_int_equal(orc_workflow_load_all(f->c, dirs, 2, false, &res, &n, &e), ORC_OK);
    assert_true(n >= 1);
    bool loaded = false, refused = false;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(res[i]->app);
        assert_non_null(res[i]->message);
        if (res[i]->status == ORC_OK && strcmp(res[i]->workflow, "typedwf") == 0) {
            assert_string_equal(res[i]->version, "v1");
            loaded = true;
        }
        if (strcmp(res[i]->app, "broken") == 0) {
            assert_int_not_equal(res[i]->status, ORC_OK);
            assert_true(strlen(res[i]->message) > 0);
            refused = true;
        }
    }
    assert_true(loaded);
    assert_true(refused);
    orc_load_results_free(res, n);
    orc_project_params p = {.workflow = "typedwf", .version = "v1", .description = "events"};
    int64_t id = 0;
    assert_int_equal(orc_project_create(f->c, &p, &id, &e), ORC_OK);

    orc_event_page *page = NULL;
    assert_int_equal(orc_events_list(f->c, 0, "", 0, &page, &e), ORC_OK);
    assert_true(page->last_seq >= 1);
    assert_int_equal(page->n_events, (size_t)page->last_seq); /* unfiltered: every seq */
    assert_int_equal(page->events[0]->seq, 1);
    orc_event_page_free(page);
    page = NULL;
    assert_int_equal(orc_events_list(f->c, -1, "", 0, &page, &e), ORC_INVALID_ARGUMENT);
    assert_null(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_projects_as_structs_match_their_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_tasks_and_jobs_as_structs_match_their_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_workers_certifications_keys_as_structs_match_their_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handed_out_structs_carry_the_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
