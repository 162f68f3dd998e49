/*
 * test_python_jobs.c: the coordinator's side of Python functions (issue 16, part 1): the
 * loader's forms of a machine step's execution_function, how jobs are matched to what an
 * executor advertises (exact names, top-level Python packages, hook jobs never by name, a job
 * nobody runs staying queued), Python creation policies asked as jobs and their answers
 * acted on, the abort hook queued once on end project, and a sample-data load function's
 * record written all or nothing. On a temporary store with the fixture's clock.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "domain/jobs.h"
#include "lifecycle_fixture.h"
#include "store/dbutil.h"
#include "workflow/loader.h"
#include "workflow/sampledata.h"

#define NO_REVIEW "{\"policy\":\"no_review\"}"
#define POLICY(path) "{\"policy_function\":{\"path\":\"" path "\",\"kwargs\":{\"flag\":\"extra\"}}}"

/* ---- the loader ---------------------------------------------------------------------------- */

/* plan_step plans workflow wf/v1 with one machine step whose execution_function is fn. */
static int plan_step(const char *fn, orci_load_plan **out, orc_error *err)
{
    Orchestra__V1__WorkflowBundle b = ORCHESTRA__V1__WORKFLOW_BUNDLE__INIT;
    Orchestra__V1__VersionFile vf = ORCHESTRA__V1__VERSION_FILE__INIT;
    Orchestra__V1__VersionFile *vfs[] = {&vf};
    char version[2048];
    snprintf(version, sizeof version,
             "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"\", \"steps\": [{\"slug\":"
             " \"m\", \"name\": \"M\", \"description\": \"\", \"is_human\": false,"
             " \"execution_function\": %s}]}",
             fn);
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

static void expect_loads(const char *fn, const char *function)
{
    orci_load_plan *p = NULL;
    orc_error err = {0};
    if (plan_step(fn, &p, &err) != ORC_OK)
        fail_msg("%s: %s", fn, err.message);
    char *name = orci_jobs_function_name(p->steps[0].execution_function);
    assert_string_equal(name, function);
    free(name);
    orci_load_plan_free(p);
}

static void test_loader_takes_docs_heads_and_command_forms(void **state)
{
    (void)state;
    expect_loads("{\"module\": \"simple_workflow.v1.crawl\", \"name\": \"crawl_page\"}",
                 "simple_workflow.v1.crawl.crawl_page");
    expect_loads("{\"path\": \"app.v1.steps.greet\", \"kwargs\": {\"times\": 2}}",
                 "app.v1.steps.greet");
    expect_loads("{\"path\": \"app.steps.greet\"}", "app.steps.greet");
    expect_loads("{\"command\": [\"true\"]}", "command");
}

static void test_loader_refuses_mixed_and_bad_forms(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"path\": \"app.steps.greet\", \"module\": \"app.steps\", \"name\": \"greet\"}",
        "{\"path\": \"app.steps.greet\", \"kwargs\": [1]}",
        "{\"path\": \"greet\"}",
        "{\"path\": \"app.steps.1greet\"}",
        "{\"path\": \"app..greet\"}",
        "{\"path\": \"app.steps.greet\", \"extra\": 1}",
        "{\"module\": \"app.steps\", \"name\": \"greet\", \"kwargs\": {}}",
        "{\"command\": [\"true\"], \"path\": \"app.x.y\"}",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        orci_load_plan *p = NULL;
        orc_error err = {0};
        if (plan_step(bad[i], &p, &err) != ORC_INVALID_ARGUMENT)
            fail_msg("loaded %s", bad[i]);
        assert_non_null(strstr(err.message, "m.execution_function is invalid"));
        assert_null(p);
    }
}

/* ---- lease matching ------------------------------------------------------------------------ */

typedef struct lease_args {
    const char *fns[4], *pkgs[4];
    size_t n_fns, n_pkgs;
    orci_job job;
    bool found;
} lease_args;

static int lease_op(orci_lc *lc, void *arg, orc_error *err)
{
    lease_args *a = arg;
    orci_lease_params p = {.executor_id = "ex",
                           .functions = a->fns,
                           .n_functions = a->n_fns,
                           .packages = a->pkgs,
                           .n_packages = a->n_pkgs};
    int64_t next = 0;
    return orci_jobs_lease(lc, &orci_lc_machine_ops, &p, &a->job, &a->found, &next, err);
}

/* lease_as leases with one exact name (or none) and one package (or none). */
static int lease_as(fx *f, lease_args *a, const char *fn, const char *pkg)
{
    memset(a, 0, sizeof *a);
    if (fn)
        a->fns[a->n_fns++] = fn;
    if (pkg)
        a->pkgs[a->n_pkgs++] = pkg;
    return fx_run(f, lease_op, a);
}

static int64_t machine_step(fx *f, const char *slug, const char *fn)
{
    return fx_exec(f, (fx_sql){.sql = "INSERT INTO steps (workflow_version_id, slug, name,"
                                      " description, is_human, execution_function, position,"
                                      " created_at) VALUES (?1, ?4, ?4, '', 0, ?5, ?2, ?3)",
                               .i = {f->version_id, f->position++, f->now},
                               .ni = 3,
                               .s = {slug, fn},
                               .ns = 2});
}

static int64_t job_status_of(fx *f, int64_t job)
{
    return fx_int(f, "SELECT status FROM jobs WHERE id = ?1", job, 0, 0);
}

static void test_a_python_step_matches_by_package_or_exact_name(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    machine_step(f, "m", "{\"path\":\"pyapp.v1.steps.greet\",\"kwargs\":{\"times\":2}}");
    int64_t p = fx_project(f, 0);
    int64_t job = fx_int(f, "SELECT id FROM jobs WHERE project_id = ?1", p, 0, 0);
    assert_int_equal(fx_int(f, "SELECT kind FROM jobs WHERE id = ?1", job, 0, 0), 0);
    char *pkg = fx_text(f, "SELECT package FROM jobs WHERE id = ?1", job);
    assert_string_equal(pkg, "pyapp");
    free(pkg);

    lease_args a;
    /* Neither another package nor a name of the same package takes it. */
    FX_OK(f, lease_as(f, &a, "other.fn", "otherpkg"));
    assert_false(a.found);
    FX_OK(f, lease_as(f, &a, "pyapp.v1.steps", NULL));
    assert_false(a.found);
    assert_int_equal(job_status_of(f, job), ORCI_JOB_QUEUED);
    /* Its package does, with nothing but packages asked for. */
    FX_OK(f, lease_as(f, &a, NULL, "pyapp"));
    assert_true(a.found);
    assert_int_equal(a.job.job_id, job);
    assert_int_equal(a.job.kind, ORCI_JOB_KIND_STEP);
    assert_string_equal(a.job.function, "pyapp.v1.steps.greet");
    json_t *ef = json_loads(a.job.execution_function, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(ef, "kwargs"), "times")),
                     2);
    json_decref(ef);
    json_t *pd = json_loads(a.job.project_data, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(pd, "project_id")), p);
    json_decref(pd);
    orci_job_fini(&a.job);
}

static void test_an_exact_name_still_takes_a_step_without_packages(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    machine_step(f, "m", "{\"module\":\"simple_workflow.v1.crawl\",\"name\":\"crawl_page\"}");
    fx_project(f, 0);
    lease_args a;
    FX_OK(f, lease_as(f, &a, "simple_workflow.v1.crawl.crawl_page", NULL));
    assert_true(a.found);
    assert_string_equal(a.job.function, "simple_workflow.v1.crawl.crawl_page");
    orci_job_fini(&a.job);
}

static void test_a_job_nobody_runs_stays_queued(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    machine_step(f, "m", "{\"path\":\"nobody.has.this\"}");
    int64_t p = fx_project(f, 0);
    lease_args a;
    for (int i = 0; i < 5; i++) {
        FX_OK(f, lease_as(f, &a, "simple_workflow.v1.crawl.crawl_page", "pyapp"));
        assert_false(a.found);
    }
    assert_int_equal(fx_int(f, "SELECT status FROM jobs WHERE project_id = ?1", p, 0, 0),
                     ORCI_JOB_QUEUED);
    assert_int_equal(fx_int(f, "SELECT attempts FROM jobs WHERE project_id = ?1", p, 0, 0), 0);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
}

static void test_lease_requests_are_checked(void **state)
{
    fx *f = *state;
    lease_args a;
    FX_EXPECT(f, lease_as(f, &a, NULL, NULL), ORC_INVALID_ARGUMENT,
              "functions must list 1 to 64 functions (or python_packages 1 to 256 packages)");
    FX_EXPECT(f, lease_as(f, &a, "creation_policy:app.p.f", NULL), ORC_INVALID_ARGUMENT,
              "function names must be 1 to 256 bytes, without ':'");
    FX_EXPECT(f, lease_as(f, &a, NULL, "app.sub"), ORC_INVALID_ARGUMENT,
              "python_packages must be top-level package names of 1 to 256 bytes, without '.' "
              "or ':'");
}

/* ---- creation policies ----------------------------------------------------------------------- */

typedef struct answer_args {
    int64_t job;
    const char *token, *output;
} answer_args;

static int complete_op(orci_lc *lc, void *arg, orc_error *err)
{
    answer_args *a = arg;
    return orci_jobs_complete(lc, &orci_lc_machine_ops, a->job, a->token, a->output, err);
}

/* answer leases the job of package pkg (it must be job) and completes it with output. */
static void answer(fx *f, int64_t job, const char *pkg, const char *output)
{
    lease_args a;
    FX_OK(f, lease_as(f, &a, NULL, pkg));
    assert_true(a.found);
    assert_int_equal(a.job.job_id, job);
    answer_args c = {.job = job, .token = a.job.lease_token, .output = output};
    FX_OK(f, fx_run(f, complete_op, &c));
    orci_job_fini(&a.job);
}

typedef struct policy_flow {
    int64_t first, extra, after, worker, project;
} policy_flow;

/* policy_setup: human first -> machine extra (Python policy) and human after (no policy). */
static void policy_setup(fx *f, policy_flow *pf)
{
    fx_workflow(f);
    pf->first = fx_step(f, "first", true, NO_REVIEW, NULL);
    pf->extra = machine_step(f, "extra", "{\"path\":\"pyapp.steps.extra\"}");
    pf->after = fx_step(f, "after", true, NO_REVIEW, NULL);
    fx_creation_dep(f, pf->extra, pf->first);
    fx_creation_dep(f, pf->after, pf->first);
    fx_exec(f, (fx_sql){.sql = "UPDATE steps SET creation_policy = ?2 WHERE id = ?1",
                        .i = {pf->extra},
                        .ni = 1,
                        .s = {POLICY("pyapp.policies.when_flag")},
                        .ns = 1});
    pf->worker = fx_worker(f, "ada");
    pf->project = fx_project(f, 0);
    int64_t t = fx_task_of(f, pf->project, pf->first);
    FX_OK(f, fx_assign(f, pf->worker, t));
    FX_OK(f, fx_submit(f, pf->worker, t, "{\"ok\":1}", FX_ACCEPT));
}

static int64_t policy_job(fx *f, const policy_flow *pf)
{
    return fx_int(f, "SELECT id FROM jobs WHERE kind = 1 AND project_id = ?1 AND step_id = ?2",
                  pf->project, pf->extra, 0);
}

static void test_a_python_policy_is_asked_and_its_yes_creates_the_task(void **state)
{
    fx *f = *state;
    policy_flow pf;
    policy_setup(f, &pf);
    int64_t job = policy_job(f, &pf);
    assert_true(job > 0);
    assert_int_equal(fx_task_of(f, pf.project, pf.extra), -1); /* not before the answer */
    assert_true(fx_task_of(f, pf.project, pf.after) > 0);      /* the others go on */
    char *fn = fx_text(f, "SELECT function FROM jobs WHERE id = ?1", job);
    assert_string_equal(fn, "creation_policy:pyapp.policies.when_flag");
    free(fn);

    /* What the executor gets: the policy's spec, the data and the step's prerequisites. */
    lease_args a;
    FX_OK(f, lease_as(f, &a, NULL, "pyapp"));
    assert_true(a.found);
    assert_int_equal(a.job.kind, ORCI_JOB_KIND_POLICY);
    assert_string_equal(a.job.step, "extra");
    fx_assert_json_equal(a.job.execution_function,
                         "{\"path\":\"pyapp.policies.when_flag\",\"kwargs\":{\"flag\":\"extra\"}}");
    fx_assert_json_equal(a.job.prerequisites, "{\"first\":{\"ok\":1}}");
    answer_args c = {.job = job, .token = a.job.lease_token, .output = "{\"create\":true}"};
    FX_OK(f, fx_run(f, complete_op, &c));
    orci_job_fini(&a.job);

    int64_t t = fx_task_of(f, pf.project, pf.extra);
    assert_true(t > 0);
    /* A machine step: its own job is queued in the same transaction. */
    assert_int_equal(
        fx_int(f, "SELECT count(*) FROM jobs WHERE task_id = ?1 AND status = 0", t, 0, 0), 1);
}

/* Ending the project cancels a policy's job not answered yet, as it does its steps' jobs
 * (found through jobs_policy: jobs has no index on project_id since migration 0019). */
static void test_end_project_cancels_a_policy_job_not_answered(void **state)
{
    fx *f = *state;
    policy_flow pf;
    policy_setup(f, &pf);
    int64_t job = policy_job(f, &pf);
    assert_true(job > 0);
    int64_t other = fx_project(f, 0); /* another project's jobs stay as they are */
    FX_OK(f, fx_end_project(f, pf.project));
    assert_int_equal(fx_int(f, "SELECT status FROM jobs WHERE id = ?1", job, 0, 0),
                     ORCI_JOB_CANCELLED);
    assert_int_equal(
        fx_int(f, "SELECT count(*) FROM jobs WHERE project_id = ?1 AND status = 4", other, 0, 0),
        0);
}

static void test_a_python_policys_no_leaves_the_step_out_and_the_project_completes(void **state)
{
    fx *f = *state;
    policy_flow pf;
    policy_setup(f, &pf);
    int64_t t = fx_task_of(f, pf.project, pf.after);
    FX_OK(f, fx_assign(f, pf.worker, t));
    FX_OK(f, fx_submit(f, pf.worker, t, "{}", FX_ACCEPT));
    /* Every task is Complete, but the policy has not answered: not done yet. */
    assert_int_equal(fx_project_status(f, pf.project), ORCI_PROJECT_ACTIVE);
    answer(f, policy_job(f, &pf), "pyapp", "{\"create\":false}");
    assert_int_equal(fx_task_of(f, pf.project, pf.extra), -1);
    assert_int_equal(fx_project_status(f, pf.project), ORCI_PROJECT_COMPLETED);
}

static void test_a_declined_policy_is_asked_again_at_the_next_completion(void **state)
{
    fx *f = *state;
    policy_flow pf;
    policy_setup(f, &pf);
    int64_t job = policy_job(f, &pf);
    answer(f, job, "pyapp", "{\"create\":false}");
    assert_int_equal(job_status_of(f, job), ORCI_JOB_COMPLETED);
    /* upstream ran the policy at every create_subsequent_tasks: the same job is asked again */
    FX_OK(f, fx_create_subsequent(f, pf.project));
    assert_int_equal(job_status_of(f, job), ORCI_JOB_QUEUED);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM jobs WHERE kind = 1", 0, 0, 0), 1);
    answer(f, job, "pyapp", "{\"create\":true}");
    assert_true(fx_task_of(f, pf.project, pf.extra) > 0);
}

static void test_a_policy_that_does_not_parse_refuses_the_transition(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    int64_t a = fx_step(f, "a", true, NO_REVIEW, NULL);
    int64_t b = fx_step(f, "b", true, NO_REVIEW, NULL);
    fx_creation_dep(f, b, a);
    /* Only an imported database could hold it: the loader refuses such a path. */
    fx_exec(f, (fx_sql){.sql = "UPDATE steps SET creation_policy = ?2 WHERE id = ?1",
                        .i = {b},
                        .ni = 1,
                        .s = {"{\"policy_function\":{\"path\":\"not a path\"}}"},
                        .ns = 1});
    int64_t w = fx_worker(f, "ada");
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, a);
    FX_OK(f, fx_assign(f, w, t));
    FX_EXPECT(f, fx_submit(f, w, t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "b.creation_policy: \"path\" must name a Python function, "
              "\"package.module.function\" (not a path is not one)");
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM jobs", 0, 0, 0), 0);
}

/* ---- the abort hook ------------------------------------------------------------------------ */

static void test_end_project_queues_the_abort_hook_once(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    machine_step(f, "m", "{\"path\":\"pyapp.steps.m\"}");
    fx_exec(f, (fx_sql){.sql = "UPDATE workflow_versions SET abort_completion_function ="
                               " '{\"path\":\"pyapp.hooks.on_abort\",\"kwargs\":{\"n\":1}}'"});
    int64_t p = fx_project(f, 0);
    FX_OK(f, fx_end_project(f, p));
    FX_OK(f, fx_end_project(f, p)); /* again: no second hook */
    int64_t hook = fx_int(f, "SELECT id FROM jobs WHERE kind = 2 AND project_id = ?1", p, 0, 0);
    assert_true(hook > 0);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM jobs WHERE kind = 2", 0, 0, 0), 1);
    /* The step's job was cancelled with the project; the hook was not. */
    assert_int_equal(fx_int(f, "SELECT status FROM jobs WHERE kind = 0", 0, 0, 0),
                     ORCI_JOB_CANCELLED);
    char *payload =
        fx_text(f, "SELECT payload FROM events WHERE type = 'project.abort_completion' AND ?1", 1);
    json_t *doc = json_loads(payload, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(doc, "job_id")), hook);
    json_decref(doc);
    free(payload);

    /* The ended project's hook is leased with the project as upstream's model showed it. */
    lease_args a;
    FX_OK(f, lease_as(f, &a, NULL, "pyapp"));
    assert_true(a.found);
    assert_int_equal(a.job.kind, ORCI_JOB_KIND_ABORT);
    json_t *ctx = json_loads(a.job.context, 0, NULL);
    json_t *project = json_object_get(ctx, "project");
    assert_int_equal(json_integer_value(json_object_get(project, "id")), p);
    assert_int_equal(json_integer_value(json_object_get(project, "status")), ORCI_PROJECT_ABORTED);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(project, "workflow_version"), "slug")),
        "v1");
    json_decref(ctx);
    answer_args c = {.job = hook, .token = a.job.lease_token, .output = "{}"};
    FX_OK(f, fx_run(f, complete_op, &c));
    orci_job_fini(&a.job);
    assert_int_equal(job_status_of(f, hook), ORCI_JOB_COMPLETED);
}

/* ---- sample data ------------------------------------------------------------------------------
 */

typedef struct sample_args {
    const char *doc;
} sample_args;

static int sample_op(orci_lc *lc, void *arg, orc_error *err)
{
    sample_args *a = arg;
    int64_t version = 0;
    sqlite3_stmt *st = orci_db_stmt(lc->db, "SELECT id FROM workflow_versions", err);
    bool found = false;
    if (!st || orci_db_one_id(lc->db, st, &version, &found, err) != ORC_OK)
        return ORC_INTERNAL;
    return orci_sample_data_apply_recorded(lc->db, version, a->doc, lc->now_us, NULL, NULL, err);
}

#define HASH                                                                                       \
    "pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0$"                                                         \
    "iAo2E2pHsj+kUSD1YZQ0nHDBZ8p1xjfHc8PZV0rpEIo="

static void test_a_load_functions_record_is_written_whole(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    fx_cert(f, "writer");
    fx_exec(f, (fx_sql){.sql = "INSERT INTO users (username, first_name, email, created_at)"
                               " VALUES ('old', 'Old', 'old@example.org', 0)"});
    /* A reviewer row without its entry-level row is refused, and nothing is written. */
    sample_args bad = {
        "{\"users\":[{\"username\":\"new\",\"fields\":{\"first_name\":\"New\"},\"worker\":true},"
        "{\"username\":\"old\",\"worker\":true,\"certifications\":[{\"certification\":\"writer\","
        "\"role\":\"reviewer\",\"task_class\":\"real\"}]}]}"};
    FX_EXPECT(f, fx_run(f, sample_op, &bad), ORC_FAILED_PRECONDITION,
              "Worker old cannot be a reviewer for writer (real tasks) without the entry-level "
              "certification of the same task class.");
    assert_int_equal(fx_int(f, "SELECT count(*) FROM users", 0, 0, 0), 1);

    sample_args good = {
        "{\"users\":[{\"username\":\"new\",\"fields\":{\"first_name\":\"New\",\"password\":\"" HASH
        "\",\"is_staff\":true},\"worker\":true,\"project_admin\":true},"
        "{\"username\":\"old\",\"fields\":{\"last_name\":\"Timer\"},\"worker\":true,"
        "\"certifications\":[{\"certification\":\"writer\",\"role\":\"reviewer\",\"task_class\":"
        "\"real\"},{\"certification\":\"writer\",\"role\":\"entry_level\",\"task_class\":"
        "\"real\"}]}]}"};
    FX_OK(f, fx_run(f, sample_op, &good));
    assert_int_equal(fx_int(f,
                            "SELECT is_staff + project_admin FROM users WHERE username ="
                            " 'new' AND first_name = 'New' AND password != '' AND ?1",
                            1, 0, 0),
                     2);
    /* Only the fields given change: the old user keeps its first name and e-mail. */
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM users WHERE username = 'old' AND"
                            " first_name = 'Old' AND last_name = 'Timer' AND"
                            " email = 'old@example.org' AND password = '' AND ?1",
                            1, 0, 0),
                     1);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM workers", 0, 0, 0), 2);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM worker_certifications", 0, 0, 0), 2);
    /* Written again, nothing changes. */
    FX_OK(f, fx_run(f, sample_op, &good));
    assert_int_equal(fx_int(f, "SELECT count(*) FROM worker_certifications", 0, 0, 0), 2);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM users", 0, 0, 0), 2);
}

static void test_a_bad_record_is_refused(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    const char *docs[] = {
        "{\"users\":[{\"username\":\"\"}]}",
        "{\"users\":[{\"username\":\"a\",\"fields\":{\"password\":\"plain text\"}}]}",
        "{\"users\":[{\"username\":\"a\",\"fields\":{\"is_staff\":\"yes\"}}]}",
        "{\"users\":[{\"username\":\"a\",\"fields\":{\"shoe_size\":42}}]}",
        "{\"users\":[{\"username\":\"a\",\"worker\":true,\"certifications\":[{\"certification\":"
        "\"nope\",\"role\":\"entry_level\",\"task_class\":\"real\"}]}]}",
        "{\"users\":[{\"username\":\"a\"},{\"username\":\"a\"}]}",
        "{\"people\":[]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        sample_args a = {docs[i]};
        int rc = fx_run(f, sample_op, &a);
        if (rc != ORC_INVALID_ARGUMENT && rc != ORC_FAILED_PRECONDITION)
            fail_msg("%s gave %d (%s)", docs[i], rc, f->err.message);
    }
    assert_int_equal(fx_int(f, "SELECT count(*) FROM users", 0, 0, 0), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader_takes_docs_heads_and_command_forms),
        cmocka_unit_test(test_loader_refuses_mixed_and_bad_forms),
        T(test_a_python_step_matches_by_package_or_exact_name),
        T(test_an_exact_name_still_takes_a_step_without_packages),
        T(test_a_job_nobody_runs_stays_queued),
        T(test_lease_requests_are_checked),
        T(test_a_python_policy_is_asked_and_its_yes_creates_the_task),
        T(test_a_python_policys_no_leaves_the_step_out_and_the_project_completes),
        T(test_a_declined_policy_is_asked_again_at_the_next_completion),
        T(test_a_policy_that_does_not_parse_refuses_the_transition),
        T(test_end_project_cancels_a_policy_job_not_answered),
        T(test_end_project_queues_the_abort_hook_once),
        T(test_a_load_functions_record_is_written_whole),
        T(test_a_bad_record_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
