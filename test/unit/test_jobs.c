/*
 * test_jobs.c: the job and lease state machine (jobs.h) on a temporary store, with the
 * fixture's controlled clock and scripted random source: jobs created with machine tasks,
 * leases (what the executor gets, which functions), heartbeats, expiry and re-offer, lost
 * and duplicate reports, retries with backoff until the assignment fails, the admin retry,
 * ending a project, and a store closed and reopened in between. The invariants of every
 * task touched are checked after each step.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "domain/jobs.h"
#include "lifecycle_fixture.h"

/* ---- the workflow -------------------------------------------------------------------- */

typedef struct jx {
    fx *f;
    int64_t crawl, rate, post; /* steps */
    int64_t worker;
} jx;

/* machine_step adds a machine step running module.name with a retry policy. */
static int64_t machine_step(fx *f, const char *slug, const char *function_json,
                            const char *retry_policy)
{
    return fx_exec(f, (fx_sql){.sql = "INSERT INTO steps (workflow_version_id, slug, name,"
                                      " description, is_human, execution_function, retry_policy,"
                                      " position, created_at) VALUES (?1, ?4, ?4, '', 0, ?5, ?6,"
                                      " ?2, ?3)",
                               .i = {f->version_id, f->position++, f->now},
                               .ni = 3,
                               .s = {slug, function_json, retry_policy},
                               .ns = 3});
}

/*
 * jx_workflow: crawl (machine m.crawl, with retry_policy) -> rate (human, no review) ->
 * post (machine m.post, default policy).
 */
static void jx_workflow(jx *x, fx *f, const char *retry_policy)
{
    x->f = f;
    fx_workflow(f);
    x->crawl = machine_step(f, "crawl", "{\"module\":\"m\",\"name\":\"crawl\"}", retry_policy);
    x->rate = fx_step(f, "rate", true, "{\"policy\":\"no_review\"}", NULL);
    x->post = machine_step(f, "post", "{\"command\":[\"post.sh\"]}", "{}");
    fx_creation_dep(f, x->rate, x->crawl);
    fx_creation_dep(f, x->post, x->rate);
    x->worker = fx_worker(f, "ada");
}

static int setup(void **state)
{
    return fx_setup(state);
}

static int teardown(void **state)
{
    return fx_teardown(state);
}

/* ---- transitions --------------------------------------------------------------------- */

typedef struct lease_args {
    const char *executor;
    const char *fns[4];
    size_t n;
    int64_t lease_ms;
    bool unacked; /* the lease answers a parked poll (orci_lease_params.unacked) */
    orci_job job;
    bool found;
    int64_t next_due;
} lease_args;

static int lease_op(orci_lc *lc, void *arg, orc_error *err)
{
    lease_args *a = arg;
    orci_lease_params p = {.executor_id = a->executor,
                           .functions = a->fns,
                           .n_functions = a->n,
                           .lease_ms = a->lease_ms,
                           .unacked = a->unacked};
    return orci_jobs_lease(lc, &orci_lc_machine_ops, &p, &a->job, &a->found, &a->next_due, err);
}

/* lease runs a lease for one function; the caller finis a->job. */
static int lease(fx *f, lease_args *a, const char *executor, const char *function, int64_t lease_ms)
{
    memset(a, 0, sizeof *a);
    a->executor = executor;
    a->fns[0] = function;
    a->n = 1;
    a->lease_ms = lease_ms;
    return fx_run(f, lease_op, a);
}

typedef struct report_args {
    int64_t job_id;
    const char *token;
    const char *text;
    bool flag;
    int64_t lease_ms;
    int64_t out_time;
    bool out_flag;
} report_args;

static int heartbeat_op(orci_lc *lc, void *arg, orc_error *err)
{
    report_args *a = arg;
    return orci_jobs_heartbeat(lc, a->job_id, a->token, a->lease_ms, &a->out_time, &a->out_flag,
                               err);
}

static int complete_op(orci_lc *lc, void *arg, orc_error *err)
{
    report_args *a = arg;
    return orci_jobs_complete(lc, &orci_lc_machine_ops, a->job_id, a->token, a->text, err);
}

static int fail_op(orci_lc *lc, void *arg, orc_error *err)
{
    report_args *a = arg;
    return orci_jobs_fail(lc, &orci_lc_machine_ops, a->job_id, a->token, a->text, a->flag,
                          &a->out_flag, &a->out_time, err);
}

static int retry_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_jobs_retry(lc, ((report_args *)arg)->job_id, err);
}

static int heartbeat(fx *f, const orci_job *j, int64_t lease_ms, int64_t *expires, bool *cancelled)
{
    report_args a = {.job_id = j->job_id, .token = j->lease_token, .lease_ms = lease_ms};
    int code = fx_run(f, heartbeat_op, &a);
    *expires = a.out_time;
    *cancelled = a.out_flag;
    return code;
}

static int complete(fx *f, const orci_job *j, const char *output)
{
    report_args a = {.job_id = j->job_id, .token = j->lease_token, .text = output};
    return fx_run(f, complete_op, &a);
}

static int fail_job(fx *f, const orci_job *j, const char *error, bool retryable, bool *will_retry,
                    int64_t *next_at)
{
    report_args a = {
        .job_id = j->job_id, .token = j->lease_token, .text = error, .flag = retryable};
    int code = fx_run(f, fail_op, &a);
    *will_retry = a.out_flag;
    *next_at = a.out_time;
    return code;
}

static int retry_task(fx *f, int64_t task)
{
    report_args a = {.job_id = task};
    return fx_run(f, retry_op, &a);
}

/* ---- readers ------------------------------------------------------------------------- */

static int64_t job_int(fx *f, const char *column_sql, int64_t task)
{
    return fx_int(f, column_sql, task, 0, 0);
}

#define JOB_STATUS(f, task) job_int(f, "SELECT status FROM jobs WHERE task_id = ?1", task)
#define JOB_ATTEMPTS(f, task) job_int(f, "SELECT attempts FROM jobs WHERE task_id = ?1", task)

static void lease_found(fx *f, lease_args *a, const char *executor, const char *function,
                        int64_t lease_ms)
{
    FX_OK(f, lease(f, a, executor, function, lease_ms));
    if (!a->found)
        fail_msg("no job leased for %s", function);
}

/* lease_found_parked is lease_found for a parked poll answered later: unacknowledged. */
static void lease_found_parked(fx *f, lease_args *a, const char *executor, const char *function,
                               int64_t lease_ms)
{
    memset(a, 0, sizeof *a);
    a->executor = executor;
    a->fns[0] = function;
    a->n = 1;
    a->lease_ms = lease_ms;
    a->unacked = true;
    FX_OK(f, fx_run(f, lease_op, a));
    if (!a->found)
        fail_msg("no job leased for %s", function);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_jobs_created_with_machine_task(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t seq0 = fx_int(f, "SELECT seq FROM job_signal", 0, 0, 0);
    int64_t p = fx_project(f, 0);
    int64_t task = fx_task_of(f, p, x.crawl);
    assert_true(task > 0);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_count_tasks(f, p), 1);
    assert_int_equal(JOB_STATUS(f, task), ORCI_JOB_QUEUED);
    assert_int_equal(JOB_ATTEMPTS(f, task), 0);
    char *fn = fx_text(f, "SELECT function FROM jobs WHERE task_id = ?1", task);
    assert_string_equal(fn, "m.crawl");
    free(fn);
    /* The documented defaults of retry_policy. */
    assert_int_equal(job_int(f, "SELECT max_attempts FROM jobs WHERE task_id = ?1", task),
                     ORCI_JOB_DEFAULT_MAX_ATTEMPTS);
    assert_int_equal(job_int(f, "SELECT initial_delay_ms FROM jobs WHERE task_id = ?1", task),
                     ORCI_JOB_DEFAULT_INITIAL_DELAY_MS);
    assert_int_equal(job_int(f, "SELECT max_delay_ms FROM jobs WHERE task_id = ?1", task),
                     ORCI_JOB_DEFAULT_MAX_DELAY_MS);
    assert_int_equal(job_int(f, "SELECT next_attempt_at FROM jobs WHERE task_id = ?1", task),
                     f->now);
    /* The executors are told. */
    assert_true(fx_int(f, "SELECT seq FROM job_signal", 0, 0, 0) > seq0);
    FX_CHECK(f, task);
}

/* index_entries counts the entries of an index (the cells of its leaf pages, from dbstat). */
static int64_t index_entries(fx *f, const char *index)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(ncell), 0) FROM dbstat WHERE name = '%s' AND pagetype = 'leaf'",
             index);
    return fx_int(f, sql, 0, 0, 0);
}

/* plan_uses says whether the query plan of sql names index. */
static bool plan_uses(fx *f, const char *sql, const char *index)
{
    char eqp[600];
    snprintf(eqp, sizeof eqp, "EXPLAIN QUERY PLAN %s", sql);
    orc_error err = {0};
    orci_stmt *st = orci_db_stmt(f->rdb, eqp, &err);
    if (st == NULL)
        fail_msg("%s: %s", eqp, err.message);
    bool uses = false;
    int r;
    while ((r = orci_db_row(f->rdb, st, &err)) > 0)
        uses = uses || strstr(orci_col_text(st, 3), index) != NULL;
    if (r < 0)
        fail_msg("%s: %s", eqp, err.message);
    return uses;
}

/* A machine assignment has no worker: it has no entry in the indexes on worker_id (two pages
 * of every machine step's commit before migration 0015), which still serve the queries that
 * name a worker. */
static void test_jobs_machine_assignments_stay_out_of_the_worker_indexes(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t task = fx_task_of(f, fx_project(f, 0), x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 60000);
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM task_assignments"
                            " WHERE task_id = ?1 AND worker_id IS NULL AND status = 0",
                            task, 0, 0),
                     1);
    assert_int_equal(index_entries(f, "task_assignments_worker_open"), 0);
    FX_OK(f, complete(f, &a.job, "{\"ok\": true}"));
    orci_job_fini(&a.job);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);
    assert_int_equal(index_entries(f, "task_assignments_worker"), 0);
    assert_int_equal(index_entries(f, "task_assignments_worker_open"), 0);
    /* The queries by worker keep their indexes (the hand-out's returned-task check). */
    assert_true(plan_uses(f, "SELECT id FROM task_assignments WHERE worker_id = 7",
                          "task_assignments_worker"));
    assert_true(plan_uses(f,
                          "SELECT 1 FROM task_assignments a JOIN tasks t ON t.id = a.task_id"
                          " WHERE a.worker_id = 7 AND a.is_deleted = 0 AND a.status = 0"
                          " AND t.status = 4",
                          "task_assignments_worker_open"));
}

/* A project's tasks are found through the unique index on (project_id, step_id) alone: a
 * second index on project_id (tasks_project, before migration 0018) cost every new task one
 * more B-tree and page. The step's query for the tasks it made walks the id range. */
static void test_jobs_tasks_by_project_use_the_unique_index(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t project = fx_project(f, 0);
    assert_true(fx_task_of(f, project, x.crawl) > 0);
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM pragma_index_list('tasks') l"
                            " JOIN pragma_index_info(l.name) i ON i.seqno = 0"
                            " WHERE i.name = 'project_id'",
                            0, 0, 0),
                     1);
    assert_true(plan_uses(f, "SELECT step_id, status FROM tasks WHERE project_id = 1",
                          "sqlite_autoindex_tasks_1 (project_id=?)"));
    assert_true(plan_uses(f, "SELECT id FROM tasks WHERE +project_id = 1 AND id > 0 ORDER BY id",
                          "INTEGER PRIMARY KEY (rowid>?)"));
}

/* A project's jobs are found through their tasks (kind 0) and jobs_policy (kind 1): no index
 * leads with jobs.project_id (jobs_project, before migration 0019, kept an entry for every job
 * and cost every step one more B-tree and page). Cancelling a project's jobs walks both. */
static void test_jobs_by_project_through_tasks_and_policies(void **state)
{
    fx *f = *state;
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM pragma_index_list('jobs') l"
                            " JOIN pragma_index_info(l.name) i ON i.seqno = 0"
                            " WHERE i.name = 'project_id' AND l.partial = 0",
                            0, 0, 0),
                     0);
    const char *cancel = "UPDATE jobs SET status = 4 WHERE status IN (0, 1, 3)"
                         " AND (task_id IN (SELECT id FROM tasks WHERE project_id = 1)"
                         " OR (kind = 1 AND project_id = 1))";
    assert_true(plan_uses(f, cancel, "sqlite_autoindex_tasks_1 (project_id=?)"));
    assert_true(plan_uses(f, cancel, "sqlite_autoindex_jobs_1 (task_id=?)"));
    assert_true(plan_uses(f, cancel, "jobs_policy (project_id=?)"));
    assert_false(plan_uses(f, cancel, "SCAN jobs"));
    assert_true(plan_uses(f,
                          "SELECT count(*) FROM jobs WHERE project_id = 1 AND kind = 1"
                          " AND status IN (0, 1, 3)",
                          "jobs_policy (project_id=?)"));
}

/* A finished job and a completed task leave the indexes that find work by status (each
 * step wrote their finished part before migration 0016), which still serve the queries that
 * look for work. */
static void test_jobs_finished_rows_leave_the_status_indexes(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t task = fx_task_of(f, fx_project(f, 0), x.crawl);
    assert_int_equal(index_entries(f, "jobs_due"), 1);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 60000);
    assert_int_equal(index_entries(f, "jobs_due"), 0);
    assert_int_equal(index_entries(f, "jobs_lease"), 1);
    FX_OK(f, complete(f, &a.job, "{\"ok\": true}"));
    orci_job_fini(&a.job);
    assert_int_equal(JOB_STATUS(f, task), ORCI_JOB_COMPLETED);
    assert_int_equal(index_entries(f, "jobs_due"), 0);
    assert_int_equal(index_entries(f, "jobs_lease"), 0);
    assert_int_equal(index_entries(f, "tasks_status"),
                     fx_int(f, "SELECT count(*) FROM tasks WHERE status < 5", 0, 0, 0));
    assert_true(fx_int(f, "SELECT count(*) FROM tasks WHERE status >= 5", 0, 0, 0) >= 1);
    /* The queries for work keep their indexes: due jobs, expired leases, the /metrics
     * counts (rpc/observe_http.c). */
    assert_true(plan_uses(f,
                          "SELECT j.id FROM jobs j JOIN projects p ON p.id = j.project_id"
                          " WHERE j.status = 0 AND j.next_attempt_at <= 5 AND p.status = 0"
                          " ORDER BY j.next_attempt_at, j.id LIMIT 1",
                          "jobs_due"));
    assert_true(plan_uses(f, "SELECT count(*) FROM jobs WHERE status = 3", "jobs_due"));
    assert_true(plan_uses(f,
                          "SELECT id FROM jobs WHERE status = 1 AND lease_expires_at <= 5"
                          " ORDER BY lease_expires_at, id LIMIT 4",
                          "jobs_lease"));
    assert_true(plan_uses(f, "SELECT status, count(*) FROM tasks WHERE status < 5 GROUP BY status",
                          "tasks_status"));
}

static void test_jobs_lease_gives_project_data_and_prerequisites(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = 0;
    FX_OK(f, fx_create_project(f, 0, "{\"url\":\"http://example.org/\"}", &p));
    int64_t crawl = fx_task_of(f, p, x.crawl);

    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 10000);
    assert_int_equal(a.job.task_id, crawl);
    assert_int_equal(a.job.project_id, p);
    assert_int_equal(a.job.attempt, 1);
    assert_string_equal(a.job.workflow, "w");
    assert_string_equal(a.job.step, "crawl");
    assert_string_equal(a.job.function, "m.crawl");
    fx_assert_json_equal(a.job.execution_function, "{\"module\":\"m\",\"name\":\"crawl\"}");
    char expected[200];
    snprintf(expected, sizeof expected, "{\"url\":\"http://example.org/\",\"project_id\":%lld}",
             (long long)p);
    fx_assert_json_equal(a.job.project_data, expected);
    fx_assert_json_equal(a.job.prerequisites, "{}");
    assert_int_equal(a.job.lease_expires_at, f->now + 10000 * 1000LL);
    assert_true(strlen(a.job.lease_token) >= 40);
    /* Spec 3.5 step 2: machine assignment, no worker, Processing, one iteration. */
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_assignment_worker(f, crawl, 0), -1);
    assert_int_equal(fx_count_iterations(f, crawl), 1);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_LEASED);
    FX_CHECK(f, crawl);

    FX_OK(f, complete(f, &a.job, "{\"image\":\"a.png\"}"));
    orci_job_fini(&a.job);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_SUBMITTED);
    char *data = fx_assignment_data(f, crawl, 0);
    fx_assert_json_equal(data, "{\"image\":\"a.png\"}");
    free(data);
    assert_int_equal(fx_int(f,
                            "SELECT i.status FROM iterations i JOIN task_assignments a"
                            " ON a.id = i.assignment_id WHERE a.task_id = ?1",
                            crawl, 0, 0),
                     ORCI_ITERATION_REQUESTED_REVIEW);
    FX_CHECK(f, crawl);

    /* The next (human) task exists; doing it creates the next machine task. */
    int64_t rate = fx_task_of(f, p, x.rate);
    assert_true(rate > 0);
    FX_OK(f, fx_new_task(f, x.worker, ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, rate);
    FX_OK(f, fx_submit(f, x.worker, rate, "{\"rating\":\"5\"}", FX_ACCEPT));
    int64_t post = fx_task_of(f, p, x.post);
    assert_true(post > 0);
    lease_found(f, &a, "exec-1", "command", 0);
    assert_int_equal(a.job.task_id, post);
    assert_int_equal(a.job.lease_expires_at, f->now + ORCI_JOB_DEFAULT_LEASE_MS * 1000LL);
    /* The flat dict of spec 3.6: every ancestor's data. */
    fx_assert_json_equal(a.job.prerequisites,
                         "{\"crawl\":{\"image\":\"a.png\"},\"rate\":{\"rating\":\"5\"}}");
    orci_job_fini(&a.job);
    FX_CHECK(f, post);
}

static void test_jobs_lease_only_listed_functions(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);

    lease_args a;
    FX_OK(f, lease(f, &a, "exec-1", "m.other", 0));
    assert_false(a.found);
    assert_int_equal(a.next_due, 0); /* nothing scheduled for m.other */
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_QUEUED);

    memset(&a, 0, sizeof a);
    a.executor = "exec-1";
    a.fns[0] = "command";
    a.fns[1] = "m.crawl";
    a.n = 2;
    FX_OK(f, fx_run(f, lease_op, &a));
    assert_true(a.found);
    assert_int_equal(a.job.task_id, crawl);
    orci_job_fini(&a.job);

    /* Nothing else to lease now; the lease itself falls due at its expiry. */
    FX_OK(f, lease(f, &a, "exec-2", "m.crawl", 0));
    assert_false(a.found);
    assert_int_equal(a.next_due,
                     job_int(f, "SELECT lease_expires_at FROM jobs WHERE task_id = ?1", crawl));

    /* Bad requests. */
    FX_EXPECT(f, lease(f, &a, "", "m.crawl", 0), ORC_INVALID_ARGUMENT, NULL);
    FX_EXPECT(f, lease(f, &a, "exec-1", "m.crawl", -1), ORC_INVALID_ARGUMENT, NULL);
    memset(&a, 0, sizeof a);
    a.executor = "exec-1";
    FX_EXPECT(f, fx_run(f, lease_op, &a), ORC_INVALID_ARGUMENT, NULL);
    FX_CHECK(f, crawl);
}

static void test_jobs_heartbeat_extends_lease(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 10000);
    int64_t first_expiry = a.job.lease_expires_at;

    f->now += 5 * FX_SECOND;
    int64_t expires = 0;
    bool cancelled = true;
    FX_OK(f, heartbeat(f, &a.job, 10000, &expires, &cancelled));
    assert_false(cancelled);
    assert_int_equal(expires, f->now + 10000 * 1000LL);
    assert_true(expires > first_expiry);
    assert_int_equal(job_int(f, "SELECT lease_expires_at FROM jobs WHERE task_id = ?1", crawl),
                     expires);

    /* Past the first expiry the lease still holds, so the completion counts. */
    f->now = first_expiry + 2 * FX_SECOND;
    FX_OK(f, complete(f, &a.job, "{}"));
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    /* A heartbeat after the end of the lease is refused. */
    FX_EXPECT(f, heartbeat(f, &a.job, 0, &expires, &cancelled), ORC_FAILED_PRECONDITION,
              "lease lost");
    orci_job_fini(&a.job);
    FX_CHECK(f, crawl);
}

static void test_jobs_expired_lease_is_offered_again_and_old_report_refused(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args first, second;
    lease_found(f, &first, "exec-1", "m.crawl", 10000);

    /* exec-1 hangs: its lease runs out and exec-2 gets the job as attempt 2. */
    f->now = first.job.lease_expires_at;
    lease_found(f, &second, "exec-2", "m.crawl", 10000);
    assert_int_equal(second.job.job_id, first.job.job_id);
    assert_int_equal(second.job.attempt, 2);
    assert_string_not_equal(second.job.lease_token, first.job.lease_token);
    char *why = fx_text(f, "SELECT last_error FROM jobs WHERE task_id = ?1", crawl);
    assert_string_equal(why, "lease expired (executor exec-1)");
    free(why);
    char *owner = fx_text(f, "SELECT lease_owner FROM jobs WHERE task_id = ?1", crawl);
    assert_string_equal(owner, "exec-2");
    free(owner);
    /* Still the same machine assignment and iteration. */
    assert_int_equal(fx_count_assignments(f, crawl), 1);
    assert_int_equal(fx_count_iterations(f, crawl), 1);
    FX_CHECK(f, crawl);

    /* exec-1 wakes up: every report of its lost lease is refused and changes nothing. */
    int64_t expires = 0;
    bool cancelled = false, will_retry = false;
    int64_t next_at = 0;
    FX_EXPECT(f, complete(f, &first.job, "{\"late\":true}"), ORC_FAILED_PRECONDITION, "lease lost");
    FX_EXPECT(f, heartbeat(f, &first.job, 0, &expires, &cancelled), ORC_FAILED_PRECONDITION,
              "lease lost");
    FX_EXPECT(f, fail_job(f, &first.job, "boom", true, &will_retry, &next_at),
              ORC_FAILED_PRECONDITION, "lease lost");
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_LEASED);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 2);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    char *data = fx_assignment_data(f, crawl, 0);
    assert_string_equal(data, "{}");
    free(data);
    FX_CHECK(f, crawl);

    /* exec-2 completes; a duplicate of that completion has no second effect. */
    FX_OK(f, complete(f, &second.job, "{\"image\":\"b.png\"}"));
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_count_tasks(f, p), 2);
    int64_t iterations = fx_count_iterations(f, crawl);
    FX_OK(f, complete(f, &second.job, "{\"image\":\"other.png\"}"));
    data = fx_assignment_data(f, crawl, 0);
    fx_assert_json_equal(data, "{\"image\":\"b.png\"}");
    free(data);
    assert_int_equal(fx_count_iterations(f, crawl), iterations);
    assert_int_equal(fx_count_tasks(f, p), 2);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_COMPLETED);
    /* The first lease stays refused after the completion too. */
    FX_EXPECT(f, complete(f, &first.job, "{}"), ORC_FAILED_PRECONDITION, "lease lost");
    FX_CHECK(f, crawl);
    orci_job_fini(&first.job);
    orci_job_fini(&second.job);
}

static void test_jobs_retry_with_backoff_until_failed_then_admin_retry(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{\"max_attempts\":3,\"initial_delay_ms\":10000,\"max_delay_ms\":15000}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    fx_script(f, 0.5); /* jitter factor 0.75 */
    fx_script(f, 0.0); /* jitter factor 0.5 */

    /* Attempt 1 fails: due again after 10 s * 0.75. */
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 0);
    bool will_retry = false;
    int64_t next_at = 0;
    FX_OK(f, fail_job(f, &a.job, "HTTP 503", true, &will_retry, &next_at));
    assert_true(will_retry);
    assert_int_equal(next_at, f->now + 7500000);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_QUEUED);
    /* The machine is still on it: assignment Processing, task Processing. */
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    FX_CHECK(f, crawl);
    /* A repeat of that report changes nothing. */
    bool again = false;
    int64_t again_at = 0;
    FX_OK(f, fail_job(f, &a.job, "HTTP 503", true, &again, &again_at));
    assert_true(again);
    assert_int_equal(again_at, next_at);
    assert_int_equal(f->rng_calls, 1);
    orci_job_fini(&a.job);

    /* Not due yet: nothing to lease, and the poll learns when. */
    FX_OK(f, lease(f, &a, "exec-1", "m.crawl", 0));
    assert_false(a.found);
    assert_int_equal(a.next_due, next_at);

    /* Attempt 2 at the due time fails: min(15 s, 20 s) * 0.5. */
    f->now = next_at - FX_SECOND;
    lease_found(f, &a, "exec-1", "m.crawl", 0);
    assert_int_equal(a.job.attempt, 2);
    FX_OK(f, fail_job(f, &a.job, "HTTP 503", true, &will_retry, &next_at));
    assert_true(will_retry);
    assert_int_equal(next_at, f->now + 7500000);
    orci_job_fini(&a.job);

    /* Attempt 3 is the last: the job fails, the assignment is Failed, the task shows it. */
    f->now = next_at - FX_SECOND;
    lease_found(f, &a, "exec-1", "m.crawl", 0);
    assert_int_equal(a.job.attempt, 3);
    FX_OK(f, fail_job(f, &a.job, "HTTP 500", true, &will_retry, &next_at));
    assert_false(will_retry);
    assert_int_equal(next_at, 0);
    assert_int_equal(f->rng_calls, 2);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_FAILED);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_FAILED);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    char *why = fx_text(f, "SELECT last_error FROM jobs WHERE task_id = ?1", crawl);
    assert_string_equal(why, "HTTP 500");
    free(why);
    FX_CHECK(f, crawl);
    /* Its late completion is refused. */
    FX_EXPECT(f, complete(f, &a.job, "{}"), ORC_FAILED_PRECONDITION, "lease lost");
    orci_job_fini(&a.job);
    f->now += 3600 * FX_SECOND;
    FX_OK(f, lease(f, &a, "exec-1", "m.crawl", 0));
    assert_false(a.found);

    /* The admin retry: queued with attempts reset; the next lease reopens the assignment. */
    FX_EXPECT(f, retry_task(f, 999999), ORC_NOT_FOUND, "No job for this task");
    FX_OK(f, retry_task(f, crawl));
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_QUEUED);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 0);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_FAILED);
    FX_CHECK(f, crawl);
    FX_EXPECT(f, retry_task(f, crawl), ORC_FAILED_PRECONDITION, "Job is queued, not failed");
    lease_found(f, &a, "exec-2", "m.crawl", 0);
    assert_int_equal(a.job.attempt, 1);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_count_assignments(f, crawl), 1);
    FX_CHECK(f, crawl);
    FX_OK(f, complete(f, &a.job, "{\"image\":\"c.png\"}"));
    orci_job_fini(&a.job);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_COMPLETED);
    int64_t rate = fx_task_of(f, p, x.rate);
    assert_true(rate > 0);
    assert_int_equal(fx_task_status(f, rate), ORCI_TASK_AWAITING_PROCESSING);
    FX_CHECK(f, crawl);
    FX_CHECK(f, rate);
}

static void test_jobs_non_retryable_failure_fails_at_once(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{\"max_attempts\":5}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 0);
    bool will_retry = true;
    int64_t next_at = -1;
    FX_OK(f, fail_job(f, &a.job, "URL was not provided.", false, &will_retry, &next_at));
    assert_false(will_retry);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_FAILED);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 1);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_FAILED);
    assert_int_equal(f->rng_calls, 0);
    FX_CHECK(f, crawl);
    orci_job_fini(&a.job);
}

static void test_jobs_expiry_on_last_attempt_fails_the_job(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{\"max_attempts\":1}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 2000);
    f->now = a.job.lease_expires_at;
    orci_job_fini(&a.job);
    /* The next lease call settles the expired lease: no attempt is left. */
    FX_OK(f, lease(f, &a, "exec-2", "m.crawl", 0));
    assert_false(a.found);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_FAILED);
    assert_int_equal(fx_assignment_status(f, crawl, 0), ORCI_ASSIGNMENT_FAILED);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    FX_CHECK(f, crawl);
}

/*
 * A lease answering a parked poll that expires before any heartbeat may never have reached
 * its executor (it had stopped meanwhile): it costs no attempt, three times per job; the
 * fourth such expiry counts, so that a job that kills its executor at once still runs out of
 * attempts. A heartbeat makes the lease count like any other.
 */
static void test_jobs_unacknowledged_expiry_costs_no_attempt(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{\"max_attempts\":1}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found_parked(f, &a, "exec-1", "m.crawl", 2000);
    for (int k = 1; k <= 3; k++) {
        /* No heartbeat: the next lease call settles the expired lease and gets the job. */
        f->now = a.job.lease_expires_at;
        orci_job_fini(&a.job);
        lease_found_parked(f, &a, "exec-2", "m.crawl", 2000);
        assert_int_equal(a.job.attempt, 1);
        char *why = fx_text(f, "SELECT last_error FROM jobs WHERE task_id = ?1", crawl);
        assert_non_null(strstr(why, "before the executor acknowledged it: not counted"));
        free(why);
        assert_int_equal(job_int(f, "SELECT free_expiries FROM jobs WHERE task_id = ?1", crawl), k);
    }
    /* The fourth unacknowledged expiry is the job's one attempt. */
    f->now = a.job.lease_expires_at;
    orci_job_fini(&a.job);
    FX_OK(f, lease(f, &a, "exec-3", "m.crawl", 0));
    assert_false(a.found);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_FAILED);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 1);
    FX_CHECK(f, crawl);
}

/* A parked poll's lease that its executor acknowledged costs its attempt when it expires. */
static void test_jobs_acknowledged_parked_lease_counts(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{\"max_attempts\":1}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found_parked(f, &a, "exec-1", "m.crawl", 2000);
    int64_t expires = 0;
    bool cancelled = false;
    FX_OK(f, heartbeat(f, &a.job, 2000, &expires, &cancelled));
    f->now = expires;
    orci_job_fini(&a.job);
    FX_OK(f, lease(f, &a, "exec-2", "m.crawl", 0));
    assert_false(a.found);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_FAILED);
    assert_int_equal(job_int(f, "SELECT free_expiries FROM jobs WHERE task_id = ?1", crawl), 0);
    FX_CHECK(f, crawl);
}

static void test_jobs_end_project_cancels_jobs(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t running = fx_project(f, 0);
    int64_t waiting = fx_project(f, 0);
    int64_t t_running = fx_task_of(f, running, x.crawl);
    int64_t t_waiting = fx_task_of(f, waiting, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 60000);
    assert_int_equal(a.job.task_id, t_running);

    FX_OK(f, fx_end_project(f, running));
    FX_OK(f, fx_end_project(f, waiting));
    assert_int_equal(JOB_STATUS(f, t_running), ORCI_JOB_CANCELLED);
    assert_int_equal(JOB_STATUS(f, t_waiting), ORCI_JOB_CANCELLED);
    /* Nothing is leased any more. */
    lease_args b;
    FX_OK(f, lease(f, &b, "exec-2", "m.crawl", 0));
    assert_false(b.found);
    assert_int_equal(b.next_due, 0);
    /* The running executor hears of it. */
    int64_t expires = 0;
    bool cancelled = false;
    FX_OK(f, heartbeat(f, &a.job, 0, &expires, &cancelled));
    assert_true(cancelled);
    /* Its output is still kept once and the task stays Aborted (spec 3.5). */
    FX_OK(f, complete(f, &a.job, "{\"image\":\"late.png\"}"));
    assert_int_equal(fx_task_status(f, t_running), ORCI_TASK_ABORTED);
    assert_int_equal(fx_assignment_status(f, t_running, 0), ORCI_ASSIGNMENT_SUBMITTED);
    char *data = fx_assignment_data(f, t_running, 0);
    fx_assert_json_equal(data, "{\"image\":\"late.png\"}");
    free(data);
    assert_int_equal(fx_count_tasks(f, running), 1);
    FX_OK(f, complete(f, &a.job, "{\"image\":\"again.png\"}"));
    data = fx_assignment_data(f, t_running, 0);
    fx_assert_json_equal(data, "{\"image\":\"late.png\"}");
    free(data);
    assert_int_equal(fx_task_status(f, t_waiting), ORCI_TASK_ABORTED);
    assert_int_equal(fx_count_assignments(f, t_waiting), 0);
    FX_EXPECT(f, retry_task(f, t_waiting), ORC_FAILED_PRECONDITION, "Job is cancelled, not failed");
    FX_CHECK(f, t_running);
    FX_CHECK(f, t_waiting);
    orci_job_fini(&a.job);
}

/* first_iteration is the id of the first iteration of task's (machine) assignment. */
static int64_t first_iteration(fx *f, int64_t task)
{
    return fx_int(f,
                  "SELECT i.id FROM iterations i JOIN task_assignments a ON a.id = i.assignment_id"
                  " WHERE a.task_id = ?1 AND a.is_deleted = 0 AND i.is_deleted = 0"
                  " ORDER BY i.id LIMIT 1",
                  task, 0, 0);
}

static void test_jobs_revert_of_a_completed_machine_task_runs_its_step_again(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 60000);
    FX_OK(f, complete(f, &a.job, "{\"page\":\"one\"}"));
    orci_job_fini(&a.job);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_COMPLETED);

    /* A dry run changes nothing, the job included. */
    int64_t it = first_iteration(f, crawl);
    FX_OK(f, fx_revert(f, crawl, it, false, false));
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_COMPLETED);

    /* Back to Processing: the job is queued again with no attempt made, and runs again. */
    FX_OK(f, fx_revert(f, crawl, it, false, true));
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_QUEUED);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 0);
    FX_CHECK(f, crawl);
    lease_found(f, &a, "exec-2", "m.crawl", 60000);
    assert_int_equal(a.job.task_id, crawl);
    FX_OK(f, complete(f, &a.job, "{\"page\":\"two\"}"));
    orci_job_fini(&a.job);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_count_assignments(f, crawl), 1);
    char *data = fx_assignment_data(f, crawl, 0);
    fx_assert_json_equal(data, "{\"page\":\"two\"}");
    free(data);
    FX_CHECK(f, crawl);

    /* Back to before its first iteration: Awaiting Processing, queued, runs a third time. */
    FX_OK(f, fx_revert(f, crawl, first_iteration(f, crawl), true, true));
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_count_assignments(f, crawl), 0);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_QUEUED);
    lease_found(f, &a, "exec-3", "m.crawl", 60000);
    FX_OK(f, complete(f, &a.job, "{\"page\":\"three\"}"));
    orci_job_fini(&a.job);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    data = fx_assignment_data(f, crawl, 0);
    fx_assert_json_equal(data, "{\"page\":\"three\"}");
    free(data);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 1);
    FX_CHECK(f, crawl);
}

static void test_jobs_paused_project_is_not_leased_until_resumed(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_PAUSED));
    lease_args a;
    FX_OK(f, lease(f, &a, "exec-1", "m.crawl", 0));
    assert_false(a.found);
    int64_t seq = fx_int(f, "SELECT seq FROM job_signal", 0, 0, 0);
    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_ACTIVE));
    assert_true(fx_int(f, "SELECT seq FROM job_signal", 0, 0, 0) > seq);
    lease_found(f, &a, "exec-1", "m.crawl", 0);
    assert_int_equal(a.job.task_id, crawl);
    orci_job_fini(&a.job);
    FX_CHECK(f, crawl);
}

static void test_jobs_complete_refuses_bad_output(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 0);
    FX_EXPECT(f, complete(f, &a.job, "[1,2]"), ORC_INVALID_ARGUMENT, NULL);
    FX_EXPECT(f, complete(f, &a.job, "{\"a\":"), ORC_INVALID_ARGUMENT, NULL);
    orci_job wrong = a.job;
    wrong.lease_token = "not-the-token";
    FX_EXPECT(f, complete(f, &wrong, "{}"), ORC_FAILED_PRECONDITION, "lease lost");
    wrong.job_id = a.job.job_id + 99;
    FX_EXPECT(f, complete(f, &wrong, "{}"), ORC_NOT_FOUND, "No job for given id");
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_LEASED);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_PROCESSING);
    FX_CHECK(f, crawl);
    orci_job_fini(&a.job);
}

/* reopen closes the store and opens it again on the same file. */
static void reopen(fx *f)
{
    orci_db_close(f->rdb);
    orci_store_close(f->store);
    char path[400];
    snprintf(path, sizeof path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = path};
    orc_error err = {0};
    if (orci_store_open(&opts, &f->store, &err) != ORC_OK)
        fail_msg("store: %s", err.message);
    if (orci_db_open_reader(f->store, &f->rdb, &err) != ORC_OK)
        fail_msg("reader: %s", err.message);
}

static void test_jobs_survive_a_restart(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{\"max_attempts\":2,\"initial_delay_ms\":1000}");
    int64_t p = fx_project(f, 0);
    int64_t crawl = fx_task_of(f, p, x.crawl);
    lease_args a;
    lease_found(f, &a, "exec-1", "m.crawl", 20000);
    reopen(f);

    /* The lease, its token and its expiry are on disk. */
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_LEASED);
    int64_t expires = 0;
    bool cancelled = true;
    FX_OK(f, heartbeat(f, &a.job, 20000, &expires, &cancelled));
    assert_false(cancelled);
    bool will_retry = false;
    int64_t next_at = 0;
    FX_OK(f, fail_job(f, &a.job, "flaky", true, &will_retry, &next_at));
    assert_true(will_retry);
    orci_job_fini(&a.job);
    reopen(f);

    /* The re-queued job and its attempt count are on disk. */
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_QUEUED);
    assert_int_equal(JOB_ATTEMPTS(f, crawl), 1);
    f->now = next_at;
    lease_found(f, &a, "exec-2", "m.crawl", 0);
    assert_int_equal(a.job.attempt, 2);
    reopen(f);
    FX_OK(f, complete(f, &a.job, "{\"ok\":1}"));
    orci_job_fini(&a.job);
    reopen(f);
    assert_int_equal(fx_task_status(f, crawl), ORCI_TASK_COMPLETE);
    assert_int_equal(JOB_STATUS(f, crawl), ORCI_JOB_COMPLETED);
    FX_CHECK(f, crawl);
}

static int list_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    orci_job_info *v = NULL;
    size_t n = 0;
    int code = orci_jobs_list(lc->db, p->a, &v, &n, err);
    if (code == ORC_OK) {
        p->out1 = (int64_t)n;
        p->out2 = n > 0 ? v[0].status : -1;
        p->text = n > 0 ? strdup(v[0].executor_id) : NULL;
    }
    orci_job_infos_free(v, n);
    return code;
}

static void test_jobs_list_shows_status_and_executor(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    int64_t p1 = fx_project(f, 0);
    fx_project(f, 0);
    lease_args a;
    lease_found(f, &a, "exec-9", "m.crawl", 0);
    orci_job_fini(&a.job);
    fx_args all = {.a = 0};
    FX_OK(f, fx_run(f, list_op, &all));
    assert_int_equal(all.out1, 2);
    free(all.text);
    fx_args one = {.a = p1};
    FX_OK(f, fx_run(f, list_op, &one));
    assert_int_equal(one.out1, 1);
    assert_int_equal(one.out2, ORCI_JOB_LEASED);
    assert_string_equal(one.text, "exec-9");
    assert_string_equal(orci_job_status_name((int)one.out2), "leased");
    free(one.text);
}

/* expected_data is what HEAD passes: the stored data parsed, "project_id" set, dumped. */
static char *expected_data(fx *f, int64_t project)
{
    char *stored = fx_text(f, "SELECT project_data FROM projects WHERE id = ?1", project);
    json_t *v = json_loads(stored, 0, NULL);
    free(stored);
    assert_true(json_is_object(v));
    json_object_set_new(v, "project_id", json_integer(project));
    char *out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(v);
    return out;
}

static void test_jobs_project_data_gets_project_id_exactly_as_parsed_and_dumped(void **state)
{
    fx *f = *state;
    jx x;
    jx_workflow(&x, f, "{}");
    /* Data is stored normalized; the lease adds "project_id" without reparsing when it can. */
    static const char *const datas[] = {
        "{}",
        "{\"url\":\"http://example.org/a b\",\"n\":1.5,\"big\":12345678901234,\"t\":true}",
        "{\"nested\":{\"a\":[1,2,{\"b\":null}]},\"s\":\"\\u00e9\\n\\\"q\\\"\"}",
        "{\"project_id\":\"theirs\",\"after\":1}",
        "{\"inner\":{\"project_id\":7}}",
    };
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        int64_t p = 0;
        FX_OK(f, fx_create_project(f, 0, datas[i], &p));
        lease_args a;
        lease_found(f, &a, "exec-1", "m.crawl", 0);
        assert_int_equal(a.job.project_id, p);
        char *want = expected_data(f, p);
        assert_string_equal(a.job.project_data, want);
        free(want);
        orci_job_fini(&a.job);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jobs_created_with_machine_task, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_jobs_machine_assignments_stay_out_of_the_worker_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_by_project_through_tasks_and_policies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_tasks_by_project_use_the_unique_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_finished_rows_leave_the_status_indexes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_lease_gives_project_data_and_prerequisites, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_lease_only_listed_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_heartbeat_extends_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_jobs_expired_lease_is_offered_again_and_old_report_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_unacknowledged_expiry_costs_no_attempt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_acknowledged_parked_lease_counts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_retry_with_backoff_until_failed_then_admin_retry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_non_retryable_failure_fails_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_expiry_on_last_attempt_fails_the_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_end_project_cancels_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_jobs_revert_of_a_completed_machine_task_runs_its_step_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_paused_project_is_not_leased_until_resumed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_complete_refuses_bad_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_list_shows_status_and_executor, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_jobs_project_data_gets_project_id_exactly_as_parsed_and_dumped, setup, teardown),
    };
    return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}
