/*
 * test_upstream_head.c: what upstream HEAD added to workflows and projects, at the loader
 * and lifecycle level: creation policies (upstream's built-in runs, a Python one is asked of
 * an executor: test_python_jobs.c follows it further), completion_ends_project, the
 * abort_completion_function hook queued on end project, and the
 * project_information document in HEAD's shape for a list of projects.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "domain/views.h"
#include "lifecycle_fixture.h"
#include "store/model.h"
#include "workflow/loader.h"

#define NO_REVIEW "{\"policy\":\"no_review\"}"
#define ALWAYS                                                                                     \
    "{\"policy_function\":{\"path\":\"orchestra.creation_policies.always_create\","                \
    "\"kwargs\":{\"x\":1}}}"
#define PYTHON_POLICY "{\"policy_function\":{\"path\":\"my_app.policies.maybe\"}}"

/* chain builds w/v1 with human steps a -> b -> c (no review) and a worker for them. */
typedef struct chain {
    int64_t a, b, c, worker;
} chain;

static void chain_setup(fx *f, chain *ch)
{
    fx_workflow(f);
    ch->a = fx_step(f, "a", true, NO_REVIEW, NULL);
    ch->b = fx_step(f, "b", true, NO_REVIEW, NULL);
    ch->c = fx_step(f, "c", true, NO_REVIEW, NULL);
    fx_creation_dep(f, ch->b, ch->a);
    fx_creation_dep(f, ch->c, ch->b);
    ch->worker = fx_worker(f, "worker");
}

static void set_step_text(fx *f, int64_t step, const char *column_sql, const char *value)
{
    fx_exec(f, (fx_sql){.sql = column_sql, .i = {step}, .ni = 1, .s = {value}, .ns = 1});
}

/* do_task assigns the project's task of step to the worker and submits it. */
static void do_task(fx *f, int64_t project, int64_t step, int64_t worker)
{
    int64_t t = fx_task_of(f, project, step);
    assert_true(t > 0);
    FX_OK(f, fx_assign(f, worker, t));
    FX_OK(f, fx_submit(f, worker, t, "{}", FX_ACCEPT));
}

static int64_t violations(fx *f)
{
    int64_t n = -1;
    orc_error err = {0};
    assert_int_equal(orci_lc_check_all(f->rdb, NULL, NULL, &n, &err), ORC_OK);
    return n;
}

/* ---- creation policies ------------------------------------------------------------------ */

static void test_builtin_creation_policy_creates_the_task(void **state)
{
    fx *f = *state;
    chain ch;
    chain_setup(f, &ch);
    set_step_text(f, ch.b, "UPDATE steps SET creation_policy = ?2 WHERE id = ?1", ALWAYS);
    int64_t p = fx_project(f, 0);
    do_task(f, p, ch.a, ch.worker);
    assert_int_equal(fx_task_status(f, fx_task_of(f, p, ch.b)), ORCI_TASK_AWAITING_PROCESSING);
}

static void test_python_creation_policy_is_asked_of_an_executor(void **state)
{
    fx *f = *state;
    chain ch;
    chain_setup(f, &ch);
    set_step_text(f, ch.b, "UPDATE steps SET creation_policy = ?2 WHERE id = ?1", PYTHON_POLICY);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, ch.a);
    FX_OK(f, fx_assign(f, ch.worker, t));
    FX_OK(f, fx_submit(f, ch.worker, t, "{}", FX_ACCEPT));
    /* No task until the answer; a job asks the policy, and the project is not done. */
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_task_of(f, p, ch.b), -1);
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM jobs WHERE kind = 1 AND step_id = ?1 AND"
                            " function = 'creation_policy:my_app.policies.maybe' AND status = 0",
                            ch.b, 0, 0),
                     1);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
    assert_int_equal(violations(f), 0);
}

/* ---- completion_ends_project -------------------------------------------------------------- */

static void test_completion_ends_project_completes_it_and_starts_nothing_after(void **state)
{
    fx *f = *state;
    chain ch;
    chain_setup(f, &ch);
    fx_exec(f, (fx_sql){.sql = "UPDATE steps SET completion_ends_project = 1 WHERE id = ?1",
                        .i = {ch.b},
                        .ni = 1});
    int64_t p = fx_project(f, 0);
    do_task(f, p, ch.a, ch.worker);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
    do_task(f, p, ch.b, ch.worker);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    assert_int_equal(fx_task_of(f, p, ch.c), -1);
    /* Asking again creates nothing in the completed project. */
    FX_OK(f, fx_create_subsequent(f, p));
    assert_int_equal(fx_task_of(f, p, ch.c), -1);
    /* The consistency check knows such a project (a step without a task is fine). */
    assert_int_equal(violations(f), 0);
}

static void test_without_the_flag_the_project_runs_to_its_last_task(void **state)
{
    fx *f = *state;
    chain ch;
    chain_setup(f, &ch);
    int64_t p = fx_project(f, 0);
    do_task(f, p, ch.a, ch.worker);
    do_task(f, p, ch.b, ch.worker);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
    do_task(f, p, ch.c, ch.worker);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    assert_int_equal(violations(f), 0);
}

/* ---- abort_completion_function ------------------------------------------------------------ */

static int64_t abort_events(fx *f)
{
    return fx_int(f, "SELECT count(*) FROM events WHERE type = 'project.abort_completion'", 0, 0,
                  0);
}

static void test_end_project_announces_the_abort_completion_function(void **state)
{
    fx *f = *state;
    chain ch;
    chain_setup(f, &ch);
    int64_t plain = fx_project(f, 0);
    FX_OK(f, fx_end_project(f, plain));
    assert_int_equal(abort_events(f), 0); /* a version without one: nothing */
    fx_exec(f, (fx_sql){.sql = "UPDATE workflow_versions SET abort_completion_function ="
                               " '{\"path\":\"my_app.hooks.cleanup\",\"kwargs\":{\"n\":1}}'"});
    int64_t p = fx_project(f, 0);
    FX_OK(f, fx_end_project(f, p));
    assert_int_equal(abort_events(f), 1);
    char *payload = fx_text(f,
                            "SELECT payload FROM events WHERE type = 'project.abort_completion'"
                            " AND project_id = ?1",
                            p);
    int64_t job = fx_int(f, "SELECT id FROM jobs WHERE kind = 2 AND project_id = ?1", p, 0, 0);
    assert_true(job > 0);
    char want[200];
    snprintf(want, sizeof want,
             "{\"function\":{\"path\":\"my_app.hooks.cleanup\",\"kwargs\":{\"n\":1}},"
             "\"job_id\":%lld}",
             (long long)job);
    fx_assert_json_equal(payload, want);
    free(payload);
    /* Ending an ended project again does not announce it twice. */
    FX_OK(f, fx_end_project(f, p));
    assert_int_equal(abort_events(f), 1);
}

/* ---- project_information in HEAD's shape --------------------------------------------------- */

static void test_projects_information_in_heads_shape(void **state)
{
    fx *f = *state;
    chain ch;
    chain_setup(f, &ch);
    fx_exec(f, (fx_sql){.sql = "UPDATE workers SET slack_username = 'wk', slack_user_id = 'U1'"});
    int64_t p = fx_project(f, 4);
    FX_OK(f, fx_assign(f, ch.worker, fx_task_of(f, p, ch.a)));
    int64_t ids[] = {p, 999};
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_projects_information(f->rdb, ids, 2, &text, &err), ORC_OK);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 1); /* 999 is unknown: left out */
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)p);
    json_t *one = json_object_get(doc, key);
    json_t *project = json_object_get(one, "project");
    assert_true(json_is_integer(json_object_get(project, "status")));
    assert_int_equal(json_integer_value(json_object_get(project, "status")), 0);
    assert_true(json_is_null(json_object_get(project, "scratchpad_url")));
    assert_null(json_object_get(project, "team_messages_url"));
    assert_true(json_is_null(json_object_get(project, "slack_group_id")));
    json_t *step = json_array_get(json_object_get(one, "steps"), 0);
    assert_int_equal(json_integer_value(json_object_get(step, "id")), ch.a);
    assert_string_equal(json_string_value(json_object_get(step, "name")), "a");
    json_t *asg = json_array_get(
        json_object_get(json_object_get(json_object_get(one, "tasks"), "a"), "assignments"), 0);
    json_t *worker = json_object_get(asg, "worker");
    assert_string_equal(json_string_value(json_object_get(worker, "slack_username")), "wk");
    assert_string_equal(json_string_value(json_object_get(worker, "slack_user_id")), "U1");
    assert_non_null(json_object_get(asg, "recorded_work_time"));
    json_decref(doc);
    free(text);
    /* DOC's document keeps its shape. */
    assert_int_equal(orci_view_project_information(f->rdb, p, &text, &err), ORC_OK);
    doc = json_loads(text, 0, NULL);
    project = json_object_get(doc, "project");
    assert_string_equal(json_string_value(json_object_get(project, "status")), "Active");
    assert_non_null(json_object_get(project, "team_messages_url"));
    assert_null(json_object_get(project, "slack_group_id"));
    assert_null(json_object_get(json_array_get(json_object_get(doc, "steps"), 0), "id"));
    json_decref(doc);
    free(text);
}

/* ---- the loader ------------------------------------------------------------------------------ */

/* plan_version plans a workflow with one version whose steps are steps_json. */
static int plan_version(const char *version_extra, const char *steps_json, orci_load_plan **out,
                        orc_error *err)
{
    Orchestra__V1__WorkflowBundle b = ORCHESTRA__V1__WORKFLOW_BUNDLE__INIT;
    Orchestra__V1__VersionFile vf = ORCHESTRA__V1__VERSION_FILE__INIT;
    Orchestra__V1__VersionFile *vfs[] = {&vf};
    char version[2048];
    snprintf(version, sizeof version,
             "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"\"%s, \"steps\": %s}",
             version_extra, steps_json);
    b.app = (char *)"app";
    b.code_directory = (char *)"/apps/app";
    b.workflow_json = (char *)"{\"slug\": \"wf\", \"name\": \"Wf\", \"description\": \"\","
                              " \"certifications\": []}";
    b.versions = vfs;
    b.n_versions = 1;
    vf.dir = (char *)"v1";
    vf.json = version;
    *out = NULL;
    return orci_loader_plan(&b, "v1", out, err);
}

static void expect_plan_refused(const char *extra, const char *steps, const char *message)
{
    orci_load_plan *p = NULL;
    orc_error err = {0};
    assert_int_equal(plan_version(extra, steps, &p, &err), ORC_INVALID_ARGUMENT);
    assert_null(p);
    assert_string_equal(err.message, message);
}

static void test_loader_reads_heads_keys(void **state)
{
    (void)state;
    orci_load_plan *p = NULL;
    orc_error err = {0};
    int rc = plan_version(
        ", \"abort_completion_function\": {\"path\": \"app.hooks.end\", \"kwargs\": {\"a\": 1}}",
        "[{\"slug\": \"s\", \"name\": \"S\", \"description\": \"\", \"creation_policy\": " ALWAYS
        ", \"completion_ends_project\": true}, {\"slug\": \"t\", \"name\": \"T\","
        " \"description\": \"\"}]",
        &p, &err);
    if (rc != ORC_OK)
        fail_msg("%s", err.message);
    assert_string_equal(p->abort_completion_function,
                        "{\"path\":\"app.hooks.end\",\"kwargs\":{\"a\":1}}");
    assert_string_equal(p->steps[0].creation_policy, ALWAYS);
    assert_true(p->steps[0].completion_ends_project);
    assert_string_equal(p->steps[1].creation_policy, "{}");
    assert_false(p->steps[1].completion_ends_project);
    orci_load_plan_free(p);
}

static void test_loader_refuses_bad_creation_policies_and_keys(void **state)
{
    (void)state;
    expect_plan_refused("",
                        "[{\"slug\": \"s\", \"name\": \"S\", \"description\": \"\","
                        " \"creation_policy\": {\"policy_function\": {\"path\": \"maybe\"}}}]",
                        "s.creation_policy: \"path\" must name a Python function, "
                        "\"package.module.function\" (maybe is not one)");
    expect_plan_refused("",
                        "[{\"slug\": \"s\", \"name\": \"S\", \"description\": \"\","
                        " \"creation_policy\": {\"policy\": \"always\"}}]",
                        "s.creation_policy must be {\"policy_function\": {\"path\": \"...\", "
                        "\"kwargs\": {...}}}");
    expect_plan_refused("",
                        "[{\"slug\": \"s\", \"name\": \"S\", \"description\": \"\","
                        " \"completion_ends_project\": 1}]",
                        "s.completion_ends_project must be true or false");
    expect_plan_refused(", \"abort_completion_function\": {\"module\": \"m\", \"name\": \"n\"}",
                        "[]",
                        "version.json (v1): \"abort_completion_function\" must be {\"path\": "
                        "\"pkg.module.function\", \"kwargs\": {...}} (kwargs optional)");
}

typedef struct load_job {
    orci_load_plan *plan;
} load_job;

static int load_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_loader_apply(lc->db, ((load_job *)arg)->plan, true, lc->now_us, err);
}

static void test_loader_stores_heads_keys(void **state)
{
    fx *f = *state;
    orci_load_plan *p = NULL;
    orc_error err = {0};
    assert_int_equal(plan_version(", \"abort_completion_function\": {\"path\": \"app.end\"}",
                                  "[{\"slug\": \"s\", \"name\": \"S\", \"description\": \"\","
                                  " \"completion_ends_project\": true, \"creation_policy\": " ALWAYS
                                  "}]",
                                  &p, &err),
                     ORC_OK);
    load_job j = {p};
    FX_OK(f, fx_run(f, load_op, &j));
    orci_load_plan_free(p);
    char *fn =
        fx_text(f, "SELECT abort_completion_function FROM workflow_versions WHERE ?1 = 1", 1);
    assert_string_equal(fn, "{\"path\":\"app.end\"}");
    free(fn);
    char *policy = fx_text(f, "SELECT creation_policy FROM steps WHERE ?1 = 1", 1);
    assert_string_equal(policy, ALWAYS);
    free(policy);
    assert_int_equal(fx_int(f, "SELECT completion_ends_project FROM steps", 0, 0, 0), 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_builtin_creation_policy_creates_the_task),
        T(test_python_creation_policy_is_asked_of_an_executor),
        T(test_completion_ends_project_completes_it_and_starts_nothing_after),
        T(test_without_the_flag_the_project_runs_to_its_last_task),
        T(test_end_project_announces_the_abort_completion_function),
        T(test_projects_information_in_heads_shape),
        cmocka_unit_test(test_loader_reads_heads_keys),
        cmocka_unit_test(test_loader_refuses_bad_creation_policies_and_keys),
        T(test_loader_stores_heads_keys),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
