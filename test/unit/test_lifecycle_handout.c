/*
 * test_lifecycle_handout.c: request-new-task as a walk over the hand-out queue (handout.c,
 * schema/0005_handout_queue.sql): the pick-up order merged across several certified steps,
 * paused projects, reviewers passing over their own work, the certification error against
 * "No task", certification class and role mismatches, an uncertified backlog ahead in order;
 * the walk's cost counted in SQLite VM steps (not timed) for a small and a large backlog; the
 * triggers that keep the queue right on every lifecycle path; the migration's backfill; and
 * the per-connection page cache bounds that keep the daemon's memory flat.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lifecycle_fixture.h"
#include "store/migrations.h"
#include "store/model.h"

#define NO_REVIEW "{\"policy\":\"no_review\"}"
#define ONE_REVIEW "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}"

/* ---- rows written straight (the queue triggers fill handout_queue) ------------------- */

/* raw_project inserts an Active REAL project of w/v1 with this priority and start, no tasks. */
static int64_t raw_project(fx *f, int64_t priority, int64_t start)
{
    return fx_exec(f, (fx_sql){.sql = "INSERT INTO projects (start_datetime, status,"
                                      " workflow_version_id, short_description, priority,"
                                      " project_data, task_class)"
                                      " VALUES (?1, 0, ?2, 'raw', ?3, '{}', 1)",
                               .i = {start, f->version_id, priority},
                               .ni = 3});
}

/* raw_task inserts a task of step in project with the given status. */
static int64_t raw_task(fx *f, int64_t project, int64_t step, int status)
{
    return fx_exec(f, (fx_sql){.sql = "INSERT INTO tasks (start_datetime, step_id, project_id,"
                                      " status) VALUES (?1, ?2, ?3, ?4)",
                               .i = {f->now, step, project, status},
                               .ni = 4});
}

/* raw_open_task is a one-task project: an Awaiting Processing task of step. */
static int64_t raw_open_task(fx *f, int64_t step, int64_t priority, int64_t start)
{
    return raw_task(f, raw_project(f, priority, start), step, ORCI_TASK_AWAITING_PROCESSING);
}

static void raw_project_status(fx *f, int64_t project, int status)
{
    fx_exec(f, (fx_sql){.sql = "UPDATE projects SET status = ?2 WHERE id = ?1",
                        .i = {project, status},
                        .ni = 2});
}

/* expect_next asserts that request-new-task hands worker task for role. */
static void expect_next(fx *f, int64_t worker, int role, int64_t task)
{
    FX_OK(f, fx_new_task(f, worker, role));
    if (f->last_task != task)
        fail_msg("handed out task %lld, expected %lld", (long long)f->last_task, (long long)task);
    FX_CHECK(f, task);
}

/*
 * queue_matches_tasks asserts that handout_queue holds exactly the tasks request-new-task may
 * hand out, each with its project's rank and start, as the tasks table says now.
 */
static void queue_matches_tasks(fx *f)
{
    static const char *missing_sql =
        "SELECT count(*) FROM (SELECT t.id, t.step_id, t.status, ~p.priority, p.start_datetime"
        " FROM tasks t JOIN projects p ON p.id = t.project_id JOIN steps s ON s.id = t.step_id"
        " WHERE t.status IN (0, 2) AND p.status = 0 AND s.is_human = 1"
        " EXCEPT SELECT task_id, step_id, status, rank, project_start FROM handout_queue)";
    static const char *extra_sql =
        "SELECT count(*) FROM (SELECT task_id, step_id, status, rank, project_start"
        " FROM handout_queue EXCEPT SELECT t.id, t.step_id, t.status, ~p.priority,"
        " p.start_datetime FROM tasks t JOIN projects p ON p.id = t.project_id"
        " JOIN steps s ON s.id = t.step_id WHERE t.status IN (0, 2) AND p.status = 0"
        " AND s.is_human = 1)";
    int64_t missing = fx_int(f, missing_sql, 0, 0, 0);
    int64_t extra = fx_int(f, extra_sql, 0, 0, 0);
    if (missing != 0 || extra != 0)
        fail_msg("handout_queue: %lld rows missing, %lld rows too many", (long long)missing,
                 (long long)extra);
}

/* ---- order ---------------------------------------------------------------------------- */

/* Three human steps with a certification each; w holds REAL entry-level a and b, not u. */
typedef struct three {
    int64_t ca, cb, cu, a, b, u, w;
} three;

static void three_setup(fx *f, three *t)
{
    fx_workflow(f);
    t->ca = fx_cert(f, "ca");
    t->cb = fx_cert(f, "cb");
    t->cu = fx_cert(f, "cu");
    t->a = fx_step(f, "a", true, NO_REVIEW, NULL);
    t->b = fx_step(f, "b", true, NO_REVIEW, NULL);
    t->u = fx_step(f, "u", true, NO_REVIEW, NULL);
    fx_step_cert(f, t->a, t->ca);
    fx_step_cert(f, t->b, t->cb);
    fx_step_cert(f, t->u, t->cu);
    t->w = fx_worker(f, "w");
    fx_certify(f, t->w, t->ca, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
    fx_certify(f, t->w, t->cb, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
}

static void test_handout_merges_certified_steps_in_pickup_order(void **state)
{
    fx *f = *state;
    three t;
    three_setup(f, &t);
    int64_t a_low = raw_open_task(f, t.a, 1, 100);
    int64_t a_late = raw_open_task(f, t.a, 5, 300);
    /* Same priority and start in two steps: the task id decides, not the step (b's task
     * comes first although step a is older). */
    int64_t b_tie = raw_open_task(f, t.b, 5, 200);
    int64_t a_tie = raw_open_task(f, t.a, 5, 200);
    int64_t b_mid = raw_open_task(f, t.b, 3, 50);
    int64_t u_top = raw_open_task(f, t.u, 9, 10);
    int64_t b_busy = raw_task(f, raw_project(f, 4, 10), t.b, ORCI_TASK_PROCESSING);
    int64_t p_paused = raw_project(f, 7, 10);
    int64_t a_paused = raw_task(f, p_paused, t.a, ORCI_TASK_AWAITING_PROCESSING);
    raw_project_status(f, p_paused, ORCI_PROJECT_PAUSED);
    /* Negative and extreme priorities keep their order (rank is ~priority). */
    int64_t a_min = raw_open_task(f, t.a, INT64_MIN, 0);
    int64_t b_neg = raw_open_task(f, t.b, -1, 0);
    (void)b_busy;

    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, b_tie);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, a_tie);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, a_late);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, b_mid);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, a_low);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, b_neg);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, a_min);
    /* What is left: u's task (not certified) and the paused project's. */
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    fx_certify(f, t.w, t.cu, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, u_top);
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    FX_OK(f, fx_set_project_status(f, p_paused, ORCI_PROJECT_ACTIVE));
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, a_paused);
    queue_matches_tasks(f);
}

/* lcg is a fixed pseudo-random sequence, so the test is the same on every run. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void test_handout_matches_the_full_sort_on_a_mixed_pool(void **state)
{
    fx *f = *state;
    three t;
    three_setup(f, &t);
    uint32_t seed = 12;
    const int64_t steps[3] = {t.a, t.b, t.u};
    for (int i = 0; i < 60; i++) {
        /* Few priorities and starts: many ties, decided by the task id. */
        int64_t p = raw_project(f, (int64_t)(lcg(&seed) % 4), (int64_t)(lcg(&seed) % 5));
        int status = lcg(&seed) % 5 == 0 ? ORCI_TASK_PROCESSING : ORCI_TASK_AWAITING_PROCESSING;
        uint32_t k = lcg(&seed) % 3;
        raw_task(f, p, steps[k], status);
        if (lcg(&seed) % 2 == 0) /* a second task, of another step */
            raw_task(f, p, steps[(k + 1 + lcg(&seed) % 2) % 3], status);
        if (lcg(&seed) % 7 == 0)
            raw_project_status(f, p, ORCI_PROJECT_PAUSED);
    }
    queue_matches_tasks(f);
    /* The answer today's upstream-with-the-order-fixed query gives, computed before. */
    sqlite3_stmt *st = NULL;
    orc_error err = {0};
    st = orci_db_stmt(f->rdb,
                      "SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id"
                      " WHERE t.status = 0 AND p.status = 0 AND t.step_id IN (?1, ?2)"
                      " ORDER BY p.priority DESC, p.start_datetime, t.id",
                      &err);
    assert_non_null(st);
    orci_bind_int(st, 1, t.a);
    orci_bind_int(st, 2, t.b);
    int64_t expected[128];
    size_t n = 0;
    while (orci_db_row(f->rdb, st, &err) == 1) {
        assert_true(n < 128);
        expected[n++] = sqlite3_column_int64(st, 0);
    }
    assert_true(n > 20);
    for (size_t i = 0; i < n; i++)
        expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, expected[i]);
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    queue_matches_tasks(f);
}

/* ---- what is skipped ------------------------------------------------------------------ */

static void test_handout_skips_paused_projects_until_resumed(void **state)
{
    fx *f = *state;
    three t;
    three_setup(f, &t);
    int64_t p_high = raw_project(f, 8, 1);
    int64_t high = raw_task(f, p_high, t.a, ORCI_TASK_AWAITING_PROCESSING);
    int64_t low = raw_open_task(f, t.b, 1, 1);
    FX_OK(f, fx_set_project_status(f, p_high, ORCI_PROJECT_PAUSED));
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, low);
    /* Only paused work left, and of a certified step: no task (not a certification error). */
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    FX_OK(f, fx_set_project_status(f, p_high, ORCI_PROJECT_ACTIVE));
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, high);
}

static void test_handout_reviewer_passes_over_own_work(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    int64_t cert = fx_cert(f, "c");
    int64_t step = fx_step(f, "s", true, ONE_REVIEW, NULL);
    fx_step_cert(f, step, cert);
    int64_t r1 = fx_certified_worker(f, "r1", cert, true);
    int64_t r2 = fx_certified_worker(f, "r2", cert, true);
    /* r1 did the three highest-priority tasks, r2 a lower one; all wait for review. */
    int64_t own[3], other = 0;
    for (int i = 0; i < 3; i++) {
        own[i] = fx_task_of(f, fx_project(f, 9 - i), step);
        FX_OK(f, fx_assign(f, r1, own[i]));
        FX_OK(f, fx_submit(f, r1, own[i], "{}", FX_ACCEPT));
    }
    other = fx_task_of(f, fx_project(f, 1), step);
    FX_OK(f, fx_assign(f, r2, other));
    FX_OK(f, fx_submit(f, r2, other, "{}", FX_ACCEPT));
    expect_next(f, r1, ORCI_ROLE_REVIEWER, other);
    /* Everything left to review is r1's own: no task, not a certification error. */
    FX_EXPECT(f, fx_new_task(f, r1, ORCI_ROLE_REVIEWER), ORC_NOT_FOUND, "No task");
    expect_next(f, r2, ORCI_ROLE_REVIEWER, own[0]);
    expect_next(f, r2, ORCI_ROLE_REVIEWER, own[1]);
    queue_matches_tasks(f);
}

static void test_handout_certification_error_against_no_task(void **state)
{
    fx *f = *state;
    three t;
    three_setup(f, &t);
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    /* Work only in a step w is not certified for. */
    int64_t u_task = raw_open_task(f, t.u, 0, 0);
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    /* A certified head that assign_task refuses for another reason (an Awaiting Processing
     * task that has an assignment) is passed over; the walk goes on to the next task. */
    int64_t other = fx_worker(f, "other");
    int64_t broken = raw_open_task(f, t.a, 9, 0);
    fx_exec(f, (fx_sql){.sql = "INSERT INTO task_assignments (created_at, start_datetime,"
                               " worker_id, task_id, status, assignment_counter)"
                               " VALUES (?1, ?1, ?2, ?3, 0, 0)",
                        .i = {f->now, other, broken},
                        .ni = 3});
    int64_t next = raw_open_task(f, t.a, 8, 0);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, next);
    /* Now only the refused task and u's: the certification error still wins. */
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    FX_OK(f,
          fx_end_project(f, fx_int(f, "SELECT project_id FROM tasks WHERE id = ?1", u_task, 0, 0)));
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    queue_matches_tasks(f);
}

static void test_handout_uncertified_own_review_work_is_no_task(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    int64_t cert = fx_cert(f, "c");
    int64_t step = fx_step(f, "s", true, ONE_REVIEW, NULL);
    fx_step_cert(f, step, cert);
    /* e may do entry-level work but not review it. */
    int64_t e = fx_certified_worker(f, "e", cert, false);
    int64_t task = fx_task_of(f, fx_project(f, 0), step);
    FX_OK(f, fx_assign(f, e, task));
    FX_OK(f, fx_submit(f, e, task, "{}", FX_ACCEPT));
    /* The only review work is e's own: not a candidate, so no certification error. */
    FX_EXPECT(f, fx_new_task(f, e, ORCI_ROLE_REVIEWER), ORC_NOT_FOUND, "No task");
    int64_t e2 = fx_certified_worker(f, "e2", cert, false);
    int64_t task2 = fx_task_of(f, fx_project(f, 0), step);
    FX_OK(f, fx_assign(f, e2, task2));
    FX_OK(f, fx_submit(f, e2, task2, "{}", FX_ACCEPT));
    FX_EXPECT(f, fx_new_task(f, e, ORCI_ROLE_REVIEWER), ORC_PERMISSION_DENIED,
              "No worker certificates");
}

static void test_handout_task_class_and_role_mismatch(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    int64_t c1 = fx_cert(f, "c1");
    int64_t c2 = fx_cert(f, "c2");
    int64_t one = fx_step(f, "one", true, NO_REVIEW, NULL);
    int64_t both = fx_step(f, "both", true, NO_REVIEW, NULL);
    fx_step_cert(f, one, c1);
    fx_step_cert(f, both, c1);
    fx_step_cert(f, both, c2);
    int64_t trainee = fx_worker(f, "trainee");
    fx_certify(f, trainee, c1, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_TRAINING);
    int64_t reviewer = fx_worker(f, "reviewer");
    fx_certify(f, reviewer, c1, ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL);
    int64_t half = fx_worker(f, "half");
    fx_certify(f, half, c1, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
    /* A TRAINING project is handed out all the same: the project's class is never read. */
    int64_t p = raw_project(f, 3, 0);
    fx_exec(f,
            (fx_sql){.sql = "UPDATE projects SET task_class = 0 WHERE id = ?1", .i = {p}, .ni = 1});
    int64_t t_both = raw_task(f, p, both, ORCI_TASK_AWAITING_PROCESSING);
    FX_EXPECT(f, fx_new_task(f, trainee, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    FX_EXPECT(f, fx_new_task(f, reviewer, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    /* One of the two certifications `both` needs is not enough. */
    FX_EXPECT(f, fx_new_task(f, half, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    int64_t t_one = raw_open_task(f, one, 0, 0);
    expect_next(f, half, ORCI_ROLE_ENTRY_LEVEL, t_one);
    fx_certify(f, half, c2, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
    expect_next(f, half, ORCI_ROLE_ENTRY_LEVEL, t_both);
}

static void test_handout_uncertified_backlog_ahead_changes_nothing(void **state)
{
    fx *f = *state;
    three t;
    three_setup(f, &t);
    for (int i = 0; i < 40; i++)
        raw_open_task(f, t.u, 9, i);
    int64_t mine = raw_open_task(f, t.b, 0, 0);
    expect_next(f, t.w, ORCI_ROLE_ENTRY_LEVEL, mine);
    FX_EXPECT(f, fx_new_task(f, t.w, ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
}

/* ---- cost ----------------------------------------------------------------------------- */

/* One counted call: the VM steps and full-scan steps of every statement it ran. */
typedef struct counted {
    int64_t worker;
    int role;
    int64_t task;
    int64_t vm_steps, fullscan_steps;
} counted;

static void stmt_counters(sqlite3 *h, int reset, int64_t *vm, int64_t *scan)
{
    *vm = *scan = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(h, NULL); st != NULL; st = sqlite3_next_stmt(h, st)) {
        *vm += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, reset);
        *scan += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, reset);
    }
}

static int counted_new_task_op(orci_lc *lc, void *arg, orc_error *err)
{
    counted *c = arg;
    sqlite3 *h = orci_db_handle(lc->db);
    int64_t vm = 0, scan = 0;
    stmt_counters(h, 1, &vm, &scan);
    int code = orci_lc_new_task(lc, c->worker, c->role, &c->task, NULL, err);
    stmt_counters(h, 0, &c->vm_steps, &c->fullscan_steps);
    return code;
}

/* bulk_open_tasks adds n one-task projects (priority, starts from 1) with a task of step. */
static void bulk_open_tasks(fx *f, int64_t n, int64_t step, int64_t priority)
{
    fx_exec(f, (fx_sql){.sql = "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k"
                               " WHERE i < ?1) INSERT INTO projects (start_datetime, status,"
                               " workflow_version_id, short_description, priority, project_data,"
                               " task_class) SELECT i, 0, ?2, 'bulk', ?3, '{}', 1 FROM k",
                        .i = {n, f->version_id, priority},
                        .ni = 3});
    fx_exec(f, (fx_sql){.sql = "INSERT INTO tasks (start_datetime, step_id, project_id, status)"
                               " SELECT 0, ?1, id, 0 FROM projects WHERE short_description ="
                               " 'bulk' AND NOT EXISTS (SELECT 1 FROM tasks t"
                               " WHERE t.project_id = projects.id)",
                        .i = {step},
                        .ni = 1});
}

/*
 * backlog_cost builds a pool of n tasks of u ahead in order (w is not certified for u) and
 * n tasks of b behind the answer, then counts one successful request (the answer, a task of
 * a in between) and one certification error (a worker with no certification).
 */
static void backlog_cost(int64_t n, counted *ok, counted *refused)
{
    void *state = NULL;
    fx_setup(&state);
    fx *f = state;
    three t;
    three_setup(f, &t);
    bulk_open_tasks(f, n, t.u, 9);
    bulk_open_tasks(f, n, t.b, 0);
    int64_t answer = raw_open_task(f, t.a, 5, 0);
    int64_t nobody = fx_worker(f, "nobody");
    *ok = (counted){.worker = t.w, .role = ORCI_ROLE_ENTRY_LEVEL};
    FX_OK(f, fx_run(f, counted_new_task_op, ok));
    assert_int_equal(ok->task, answer);
    *refused = (counted){.worker = nobody, .role = ORCI_ROLE_ENTRY_LEVEL};
    FX_EXPECT(f, fx_run(f, counted_new_task_op, refused), ORC_PERMISSION_DENIED,
              "No worker certificates");
    assert_int_equal(fx_int(f, "SELECT count(*) FROM handout_queue WHERE status = 0", 0, 0, 0),
                     2 * n);
    fx_teardown(&state);
}

static void test_handout_cost_does_not_grow_with_the_backlog(void **state)
{
    (void)state;
    counted ok_small, refused_small, ok_large, refused_large;
    backlog_cost(100, &ok_small, &refused_small);
    backlog_cost(10000, &ok_large, &refused_large);
    print_message("VM steps, 100 vs 10000 tasks each side: assign %lld vs %lld, refuse %lld vs "
                  "%lld; full-scan steps %lld vs %lld\n",
                  (long long)ok_small.vm_steps, (long long)ok_large.vm_steps,
                  (long long)refused_small.vm_steps, (long long)refused_large.vm_steps,
                  (long long)ok_small.fullscan_steps, (long long)ok_large.fullscan_steps);
    assert_true(ok_small.vm_steps > 0);
    /* A hundred times the backlog; the same work, give or take a few steps. */
    assert_true(ok_large.vm_steps <= ok_small.vm_steps + ok_small.vm_steps / 10);
    assert_true(refused_large.vm_steps <= refused_small.vm_steps + refused_small.vm_steps / 10);
    /* No table scan over tasks: the only full scan is of the (same) steps table. */
    assert_int_equal(ok_large.fullscan_steps, ok_small.fullscan_steps);
    assert_int_equal(refused_large.fullscan_steps, refused_small.fullscan_steps);
}

/* ---- the queue on every path ---------------------------------------------------------- */

static void test_handout_queue_follows_every_transition(void **state)
{
    fx *f = *state;
    fx_workflow(f);
    int64_t cert = fx_cert(f, "c");
    int64_t s1 = fx_step(f, "s1", true, ONE_REVIEW, NULL);
    int64_t s2 = fx_step(f, "s2", true, NO_REVIEW, NULL);
    fx_step_cert(f, s1, cert);
    fx_creation_dep(f, s2, s1);
    int64_t w = fx_certified_worker(f, "w", cert, false);
    int64_t r = fx_certified_worker(f, "r", cert, true);
    int64_t r2 = fx_certified_worker(f, "r2", cert, true);
    int64_t p1 = fx_project(f, 2), p2 = fx_project(f, 4), p3 = fx_project(f, 6);
    int64_t t1 = fx_task_of(f, p1, s1), t3 = fx_task_of(f, p3, s1);
    queue_matches_tasks(f);
    FX_OK(f, fx_assign(f, w, t1)); /* Processing: out */
    queue_matches_tasks(f);
    FX_OK(f, fx_submit(f, w, t1, "{}", FX_ACCEPT)); /* Pending Review: in, for reviewers */
    queue_matches_tasks(f);
    assert_int_equal(fx_int(f, "SELECT status FROM handout_queue WHERE task_id = ?1", t1, 0, 0),
                     ORCI_TASK_PENDING_REVIEW);
    FX_OK(f, fx_assign(f, r, t1));
    FX_OK(f, fx_submit(f, r, t1, "{}", FX_REJECT)); /* Post-review Processing */
    queue_matches_tasks(f);
    FX_OK(f, fx_submit(f, w, t1, "{}", FX_ACCEPT));
    FX_OK(f, fx_submit(f, r, t1, "{}", FX_ACCEPT)); /* Complete; s2's task created */
    queue_matches_tasks(f);
    assert_true(fx_task_of(f, p1, s2) > 0);
    FX_OK(f, fx_set_project_status(f, p2, ORCI_PROJECT_PAUSED));
    queue_matches_tasks(f);
    FX_OK(f, fx_set_project_status(f, p2, ORCI_PROJECT_ACTIVE));
    queue_matches_tasks(f);
    FX_OK(f, fx_end_project(f, p2));
    queue_matches_tasks(f);
    FX_OK(f, fx_complete_and_skip(f, fx_task_of(f, p1, s2))); /* p1 Completed */
    queue_matches_tasks(f);
    /* Revert t3 to before its first iteration: Awaiting Processing again. */
    FX_OK(f, fx_assign(f, r2, t3));
    int64_t it = fx_int(f,
                        "SELECT i.id FROM iterations i JOIN task_assignments a"
                        " ON a.id = i.assignment_id WHERE a.task_id = ?1",
                        t3, 0, 0);
    queue_matches_tasks(f);
    FX_OK(f, fx_revert(f, t3, it, true, true));
    assert_int_equal(fx_task_status(f, t3), ORCI_TASK_AWAITING_PROCESSING);
    queue_matches_tasks(f);
    /* A forced reload that turns s1 into a machine step, and back. */
    fx_exec(f, (fx_sql){.sql = "UPDATE steps SET is_human = 0 WHERE id = ?1", .i = {s1}, .ni = 1});
    queue_matches_tasks(f);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM handout_queue", 0, 0, 0), 0);
    fx_exec(f, (fx_sql){.sql = "UPDATE steps SET is_human = 1 WHERE id = ?1", .i = {s1}, .ni = 1});
    queue_matches_tasks(f);
    /* A change of priority (nothing does that today) moves the project's tasks. */
    fx_exec(f,
            (fx_sql){.sql = "UPDATE projects SET priority = -3 WHERE id = ?1", .i = {p3}, .ni = 1});
    queue_matches_tasks(f);
    assert_int_equal(fx_int(f, "SELECT rank FROM handout_queue WHERE task_id = ?1", t3, 0, 0), 2);
    expect_next(f, w, ORCI_ROLE_ENTRY_LEVEL, t3);
}

/* ---- migration ------------------------------------------------------------------------ */

/* exec_ok runs SQL text on a raw connection and fails the test on an error. */
static void exec_ok(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
}

/*
 * A database at schema 4 with open tasks in every situation: the queue migration backfills
 * exactly the ones request-new-task may hand out.
 */
static void test_handout_migration_backfills_existing_tasks(void **state)
{
    (void)state;
    char dir[256], path[400];
    orc_test_tmpdir("handout-migration", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/orchestra.db", dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    for (size_t i = 0; i < orci_migrations_count && orci_migrations[i].version <= 4; i++)
        exec_ok(h, orci_migrations[i].sql);
    exec_ok(h, "PRAGMA user_version = 4;"
               "INSERT INTO workflows VALUES (1, 'w', 'W', '', 'w', '{}', NULL, 0);"
               "INSERT INTO workflow_versions VALUES (1, 1, 'v1', 'V', '', 0);"
               "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
               " position, created_at) VALUES (1, 1, 'h', 'H', '', 1, 0, 0),"
               " (2, 1, 'm', 'M', '', 0, 1, 0);"
               /* Active 7, Active 2, Paused 5, Aborted 9, Completed 8 */
               "INSERT INTO projects (id, start_datetime, status, workflow_version_id,"
               " short_description, priority, task_class) VALUES (1, 10, 0, 1, '', 7, 1),"
               " (2, 20, 0, 1, '', 2, 1), (3, 30, 3, 1, '', 5, 1), (4, 40, 2, 1, '', 9, 1),"
               " (5, 50, 4, 1, '', 8, 1);"
               "INSERT INTO tasks (id, start_datetime, step_id, project_id, status) VALUES"
               " (1, 0, 1, 1, 0), (2, 0, 1, 2, 2), (3, 0, 2, 2, 0), (4, 0, 1, 3, 0),"
               " (5, 0, 1, 4, 6), (6, 0, 1, 5, 5), (7, 0, 2, 1, 1);");
    sqlite3_close(h);

    orci_store *store = NULL;
    orc_error err = {0};
    orci_store_opts opts = {.path = path};
    if (orci_store_open(&opts, &store, &err) != ORC_OK)
        fail_msg("store: %s", err.message);
    assert_true(orci_store_schema_version(store) >= 5);
    orci_db *rdb = NULL;
    assert_int_equal(orci_db_open_reader(store, &rdb, &err), ORC_OK);
    sqlite3_stmt *st = orci_db_stmt(rdb,
                                    "SELECT task_id, step_id, status, rank, project_start"
                                    " FROM handout_queue ORDER BY task_id",
                                    &err);
    assert_non_null(st);
    const int64_t want[2][5] = {{1, 1, 0, ~(int64_t)7, 10}, {2, 1, 2, ~(int64_t)2, 20}};
    size_t n = 0;
    while (orci_db_row(rdb, st, &err) == 1) {
        assert_true(n < 2);
        for (int c = 0; c < 5; c++)
            assert_int_equal(sqlite3_column_int64(st, c), want[n][c]);
        n++;
    }
    assert_int_equal(n, 2);
    orci_db_close(rdb);
    orci_store_close(store);
    orc_test_rmtree(dir);
}

/* ---- memory --------------------------------------------------------------------------- */

/* pragma_int reads an integer pragma on a connection. */
static int64_t pragma_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int cache_size_op(orci_lc *lc, void *arg, orc_error *err)
{
    (void)err;
    *(int64_t *)arg = pragma_int(orci_db_handle(lc->db), "PRAGMA cache_size");
    return ORC_OK;
}

/*
 * The page caches are bounded per connection (store.c): readers come one per RPC worker and
 * their caches add up, so each holds 1 MiB; the writer 2 MiB. Negative sizes are KiB.
 */
static void test_handout_page_caches_are_bounded(void **state)
{
    fx *f = *state;
    assert_int_equal(pragma_int(orci_db_handle(f->rdb), "PRAGMA cache_size"), -1024);
    int64_t writer = 0;
    FX_OK(f, fx_run(f, cache_size_op, &writer));
    assert_int_equal(writer, -2048);
    assert_int_equal(pragma_int(orci_db_handle(f->rdb), "PRAGMA mmap_size"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
        T(test_handout_merges_certified_steps_in_pickup_order),
        T(test_handout_matches_the_full_sort_on_a_mixed_pool),
        T(test_handout_skips_paused_projects_until_resumed),
        T(test_handout_reviewer_passes_over_own_work),
        T(test_handout_certification_error_against_no_task),
        T(test_handout_uncertified_own_review_work_is_no_task),
        T(test_handout_task_class_and_role_mismatch),
        T(test_handout_uncertified_backlog_ahead_changes_nothing),
        cmocka_unit_test(test_handout_cost_does_not_grow_with_the_backlog),
        T(test_handout_queue_follows_every_transition),
        cmocka_unit_test(test_handout_migration_backfills_existing_tasks),
        T(test_handout_page_caches_are_bounded),
#undef T
    };
    return cmocka_run_group_tests_name("lifecycle_handout", tests, NULL, NULL);
}
