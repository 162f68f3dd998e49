/*
 * test_lifecycle_review.c: hierarchical review end to end (upstream test_dashboard's full
 * scenario at the lifecycle level) with the iteration invariants checked after every step,
 * and the invariant checker itself (planted violations).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lifecycle_fixture.h"
#include "store/model.h"

#define TWO_REVIEWS "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":2}"

typedef struct crew {
    int64_t cert, step, project, task;
    int64_t worker, r1, r2, r3;
} crew;

static void crew_setup(fx *f, crew *c)
{
    fx_workflow(f);
    c->cert = fx_cert(f, "cert");
    c->step = fx_step(f, "step", true, TWO_REVIEWS, NULL);
    fx_step_cert(f, c->step, c->cert);
    c->worker = fx_certified_worker(f, "worker", c->cert, false);
    c->r1 = fx_certified_worker(f, "reviewer1", c->cert, true);
    c->r2 = fx_certified_worker(f, "reviewer2", c->cert, true);
    c->r3 = fx_certified_worker(f, "reviewer3", c->cert, true);
    c->project = fx_project(f, 0);
    c->task = fx_task_of(f, c->project, c->step);
}

/* expect_state checks the task status, each level's assignment status and the invariants. */
static void expect_state(fx *f, int64_t task, int status, int a0, int a1, int a2)
{
    assert_int_equal(fx_task_status(f, task), status);
    assert_int_equal(fx_assignment_status(f, task, 0), a0);
    assert_int_equal(fx_assignment_status(f, task, 1), a1);
    assert_int_equal(fx_assignment_status(f, task, 2), a2);
    FX_CHECK(f, task);
}

static void expect_data(fx *f, int64_t task, int counter, const char *json)
{
    char *data = fx_assignment_data(f, task, counter);
    fx_assert_json_equal(data, json);
    free(data);
}

enum { P = ORCI_ASSIGNMENT_PROCESSING, S = ORCI_ASSIGNMENT_SUBMITTED, NONE = -1 };

static void test_lifecycle_full_review_scenario(void **state)
{
    fx *f = *state;
    crew c;
    crew_setup(f, &c);
    int64_t t = c.task;
    expect_state(f, t, ORCI_TASK_AWAITING_PROCESSING, NONE, NONE, NONE);

    FX_OK(f, fx_new_task(f, c.worker, ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, t);
    expect_state(f, t, ORCI_TASK_PROCESSING, P, NONE, NONE);
    FX_OK(f, fx_save(f, c.worker, t, "{\"v\":0}"));
    FX_OK(f, fx_submit(f, c.worker, t, "{\"v\":1}", FX_ACCEPT));
    expect_state(f, t, ORCI_TASK_PENDING_REVIEW, S, NONE, NONE);

    /* Reviewer 1 picks it up with the submitted data and rejects. */
    FX_OK(f, fx_new_task(f, c.r1, ORCI_ROLE_REVIEWER));
    expect_state(f, t, ORCI_TASK_REVIEWING, S, P, NONE);
    expect_data(f, t, 1, "{\"v\":1}");
    FX_OK(f, fx_submit(f, c.r1, t, "{\"v\":1,\"note\":\"fix\"}", FX_REJECT));
    expect_state(f, t, ORCI_TASK_POST_REVIEW_PROCESSING, P, S, NONE);
    expect_data(f, t, 0, "{\"v\":1,\"note\":\"fix\"}");

    /* The worker resubmits: back to reviewer 1. */
    FX_OK(f, fx_submit(f, c.worker, t, "{\"v\":2}", FX_ACCEPT));
    expect_state(f, t, ORCI_TASK_REVIEWING, S, P, NONE);
    expect_data(f, t, 1, "{\"v\":2}");

    /* Reviewer 1 accepts: max_reviews 2 sends it to a second review. */
    FX_OK(f, fx_submit(f, c.r1, t, "{\"v\":3}", FX_ACCEPT));
    expect_state(f, t, ORCI_TASK_PENDING_REVIEW, S, S, NONE);
    FX_EXPECT(f, fx_submit(f, c.r1, t, "{\"v\":3}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Worker is not allowed to submit");
    expect_state(f, t, ORCI_TASK_PENDING_REVIEW, S, S, NONE);

    /* Reviewer 2 rejects: the task goes down exactly one level, to reviewer 1. */
    FX_OK(f, fx_new_task(f, c.r2, ORCI_ROLE_REVIEWER));
    assert_int_equal(f->last_task, t);
    expect_state(f, t, ORCI_TASK_REVIEWING, S, S, P);
    expect_data(f, t, 2, "{\"v\":3}");
    FX_OK(f, fx_submit(f, c.r2, t, "{\"v\":4}", FX_REJECT));
    expect_state(f, t, ORCI_TASK_POST_REVIEW_PROCESSING, S, P, S);
    expect_data(f, t, 1, "{\"v\":4}");
    /* Reviewer 1 cannot pass the rejection further down, and the worker is idle. */
    FX_EXPECT(f, fx_submit(f, c.r1, t, "{}", FX_REJECT), ORC_FAILED_PRECONDITION,
              "Task not in rejectable state.");
    FX_EXPECT(f, fx_submit(f, c.worker, t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Worker is not allowed to submit");
    /* Reviewer 1 now has returned work and cannot take new tasks. */
    FX_EXPECT(f, fx_new_task(f, c.r1, ORCI_ROLE_REVIEWER), ORC_FAILED_PRECONDITION,
              "Worker has pending reviewer feedback that must be addressed.");

    /* Reviewer 1 resubmits: back to reviewer 2, who accepts. */
    FX_OK(f, fx_submit(f, c.r1, t, "{\"v\":5}", FX_ACCEPT));
    expect_state(f, t, ORCI_TASK_REVIEWING, S, S, P);
    expect_data(f, t, 2, "{\"v\":5}");
    FX_OK(f, fx_submit(f, c.r2, t, "{\"v\":6}", FX_ACCEPT));
    expect_state(f, t, ORCI_TASK_COMPLETE, S, S, S);
    expect_data(f, t, 2, "{\"v\":6}");
    FX_EXPECT(f, fx_submit(f, c.r2, t, "{\"v\":6}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Task already completed");
    assert_int_equal(fx_project_status(f, c.project), ORCI_PROJECT_COMPLETED);

    /* Seven iterations: worker, r1 (reject), worker, r1, r2 (reject), r1, r2. */
    assert_int_equal(fx_count_iterations(f, t), 7);
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM iterations i JOIN task_assignments a"
                            " ON a.id = i.assignment_id WHERE a.task_id = ?1 AND i.status = 2",
                            t, 0, 0),
                     2);
    /* Only the first submit and reviewer 1's accept rolled for a review. */
    assert_int_equal(f->rng_calls, 2);
}

static void test_lifecycle_iterations_are_contiguous_in_time(void **state)
{
    fx *f = *state;
    crew c;
    crew_setup(f, &c);
    int64_t t = c.task;
    FX_OK(f, fx_assign(f, c.worker, t));
    int64_t picked = f->now;
    FX_OK(f, fx_submit(f, c.worker, t, "{}", FX_ACCEPT));
    int64_t submitted = f->now;
    FX_OK(f, fx_assign(f, c.r1, t));
    FX_OK(f, fx_submit(f, c.r1, t, "{\"r\":1}", FX_REJECT));
    int64_t rejected = f->now;
    const char *at = "SELECT i.start_datetime FROM iterations i JOIN task_assignments a"
                     " ON a.id = i.assignment_id WHERE a.task_id = ?1"
                     " ORDER BY i.start_datetime, i.id LIMIT 1 OFFSET ?2";
    const char *end = "SELECT i.end_datetime FROM iterations i JOIN task_assignments a"
                      " ON a.id = i.assignment_id WHERE a.task_id = ?1"
                      " ORDER BY i.start_datetime, i.id LIMIT 1 OFFSET ?2";
    assert_int_equal(fx_int(f, at, t, 0, 0), picked);
    assert_int_equal(fx_int(f, end, t, 0, 0), submitted);
    /* The reopened level starts at the reject time, with the reviewer's data. */
    assert_int_equal(fx_int(f, end, t, 1, 0), rejected);
    assert_int_equal(fx_int(f, at, t, 2, 0), rejected);
    assert_int_equal(fx_int(f, end, t, 2, 0), -1);
    char *submitted_data = fx_text(f,
                                   "SELECT i.submitted_data FROM iterations i JOIN"
                                   " task_assignments a ON a.id = i.assignment_id WHERE"
                                   " a.task_id = ?1 AND i.status = 2",
                                   t);
    fx_assert_json_equal(submitted_data, "{\"r\":1}");
    free(submitted_data);
    FX_CHECK(f, t);
}

/* ---- the invariant checker ---------------------------------------------------------- */

typedef struct reports {
    int n;
    int64_t task[16];
    char msg[16][ORC_ERROR_MESSAGE_MAX];
} reports;

static void collect(int64_t task_id, const char *msg, void *arg)
{
    reports *r = arg;
    if (r->n < 16) {
        r->task[r->n] = task_id;
        snprintf(r->msg[r->n], sizeof r->msg[0], "%s", msg);
    }
    r->n++;
}

static int64_t check_all(fx *f, reports *r)
{
    memset(r, 0, sizeof *r);
    int64_t violations = -1;
    orc_error err = {0};
    if (orci_lc_check_all(f->rdb, collect, r, &violations, &err) != ORC_OK)
        fail_msg("check_all: %s", err.message);
    assert_int_equal(violations, r->n);
    return violations;
}

/* reviewed_task drives a task to Reviewing by r1 after one round. */
static void reviewed_task(fx *f, crew *c)
{
    FX_OK(f, fx_assign(f, c->worker, c->task));
    FX_OK(f, fx_submit(f, c->worker, c->task, "{}", FX_ACCEPT));
    FX_OK(f, fx_assign(f, c->r1, c->task));
}

static void test_lifecycle_check_all_passes_a_healthy_store(void **state)
{
    fx *f = *state;
    crew c;
    crew_setup(f, &c);
    reviewed_task(f, &c);
    int64_t other = fx_project(f, 3);
    FX_OK(f, fx_end_project(f, other));
    reports r;
    assert_int_equal(check_all(f, &r), 0);
}

static void test_lifecycle_check_all_reports_planted_violation(void **state)
{
    fx *f = *state;
    crew c;
    crew_setup(f, &c);
    reviewed_task(f, &c);
    int64_t healthy = fx_task_of(f, fx_project(f, 0), c.step);
    /* Plant: the task says Post-review Processing while reviewer 1 reviews. */
    fx_exec(f,
            (fx_sql){.sql = "UPDATE tasks SET status = 4 WHERE id = ?1", .i = {c.task}, .ni = 1});
    reports r;
    assert_int_equal(check_all(f, &r), 1);
    assert_int_equal(r.task[0], c.task);
    assert_non_null(strstr(r.msg[0], "Post-review Processing"));
    /* A Complete task in an Active project breaks a task rule and a project rule. */
    fx_exec(f,
            (fx_sql){.sql = "UPDATE tasks SET status = 5 WHERE id = ?1", .i = {c.task}, .ni = 1});
    assert_int_equal(check_all(f, &r), 2);
    assert_int_equal(r.task[0], c.task);
    assert_non_null(strstr(r.msg[0], "Complete with a Processing assignment"));
    assert_int_equal(r.task[1], 0);
    assert_non_null(strstr(r.msg[1], "still Active"));
    FX_CHECK(f, healthy);
}

static void test_lifecycle_check_all_reports_project_rules(void **state)
{
    fx *f = *state;
    crew c;
    crew_setup(f, &c);
    /* An aborted project with a live task, and an active project with an aborted task. */
    fx_exec(
        f,
        (fx_sql){.sql = "UPDATE projects SET status = 2 WHERE id = ?1", .i = {c.project}, .ni = 1});
    int64_t p2 = fx_project(f, 0);
    int64_t t2 = fx_task_of(f, p2, c.step);
    fx_exec(f, (fx_sql){.sql = "UPDATE tasks SET status = 6 WHERE id = ?1", .i = {t2}, .ni = 1});
    reports r;
    assert_int_equal(check_all(f, &r), 2);
    bool aborted_project = false, aborted_task = false;
    for (int i = 0; i < r.n; i++) {
        aborted_project |= r.task[i] == c.task && strstr(r.msg[i], "aborted project") != NULL;
        aborted_task |= r.task[i] == t2 && strstr(r.msg[i], "Aborted in project") != NULL;
    }
    assert_true(aborted_project);
    assert_true(aborted_task);
}

/* plant runs one corrupting statement on a fresh reviewed task and expects a violation. */
static void expect_violation(const char *sql, const char *fragment)
{
    fx *f = NULL;
    fx_setup((void **)&f);
    crew c;
    crew_setup(f, &c);
    reviewed_task(f, &c);
    FX_CHECK(f, c.task);
    fx_exec(f, (fx_sql){.sql = sql, .i = {c.task}, .ni = 1});
    orc_error err = {0};
    assert_int_equal(orci_lc_check_task(f->rdb, c.task, &err), ORC_INTERNAL);
    if (strstr(err.message, fragment) == NULL)
        fail_msg("%s: expected a message with '%s', got '%s'", sql, fragment, err.message);
    fx_teardown((void **)&f);
}

static void test_lifecycle_check_task_detects_each_rule(void **state)
{
    (void)state;
    expect_violation("UPDATE task_assignments SET status = 0 WHERE task_id = ?1",
                     "assignments are Processing");
    expect_violation("UPDATE task_assignments SET assignment_counter = 2"
                     " WHERE task_id = ?1 AND assignment_counter = 1",
                     "counters");
    expect_violation("UPDATE task_assignments SET worker_id = NULL WHERE task_id = ?1"
                     " AND assignment_counter = 1",
                     "has no worker");
    expect_violation("UPDATE task_assignments SET worker_id = (SELECT worker_id FROM"
                     " task_assignments WHERE task_id = ?1 AND assignment_counter = 0)"
                     " WHERE task_id = ?1 AND assignment_counter = 1",
                     "two assignments");
    expect_violation("UPDATE iterations SET submitted_data = '{\"x\":1}' WHERE end_datetime IS"
                     " NULL AND assignment_id IN (SELECT id FROM task_assignments"
                     " WHERE task_id = ?1)",
                     "open iteration");
    expect_violation("UPDATE iterations SET status = 0, end_datetime = NULL WHERE"
                     " assignment_id IN (SELECT id FROM task_assignments WHERE task_id = ?1"
                     " AND assignment_counter = 0)",
                     "not the last");
    expect_violation("UPDATE iterations SET start_datetime = start_datetime + 5 WHERE"
                     " end_datetime IS NULL AND assignment_id IN (SELECT id FROM"
                     " task_assignments WHERE task_id = ?1)",
                     "does not start with its assignment");
    expect_violation("UPDATE tasks SET status = 4 WHERE id = ?1", "iterations say");
    expect_violation("UPDATE tasks SET status = 2 WHERE id = ?1", "Pending Review");
    expect_violation("UPDATE iterations SET is_deleted = 1 WHERE assignment_id IN"
                     " (SELECT id FROM task_assignments WHERE task_id = ?1"
                     " AND assignment_counter = 1)",
                     "no iteration");
    expect_violation("UPDATE iterations SET status = 2 WHERE end_datetime IS NOT NULL AND"
                     " assignment_id IN (SELECT id FROM task_assignments WHERE task_id = ?1)",
                     "belongs to counter");
}

static void test_lifecycle_violation_rolls_transition_back(void **state)
{
    fx *f = *state;
    crew c;
    crew_setup(f, &c);
    reviewed_task(f, &c);
    /* A corrupt open iteration: the next transition on the task refuses to commit, and says
     * the fault was in the stored rows before it (not one of its own, which is INTERNAL). */
    fx_exec(f, (fx_sql){.sql = "UPDATE iterations SET start_datetime = start_datetime + 1"
                               " WHERE assignment_id IN (SELECT id FROM task_assignments WHERE"
                               " task_id = ?1 AND assignment_counter = 1)",
                        .i = {c.task},
                        .ni = 1});
    FX_EXPECT(f, fx_save(f, c.r1, c.task, "{\"lost\":1}"), ORC_FAILED_PRECONDITION, NULL);
    assert_non_null(strstr(f->err.message, "its stored rows already break"));
    assert_non_null(strstr(f->err.message, "does not start"));
    expect_data(f, c.task, 1, "{}");
    FX_EXPECT(f, fx_submit(f, c.r1, c.task, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION, NULL);
    assert_int_equal(fx_task_status(f, c.task), ORCI_TASK_REVIEWING);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_lifecycle_full_review_scenario),
        T(test_lifecycle_iterations_are_contiguous_in_time),
        T(test_lifecycle_check_all_passes_a_healthy_store),
        T(test_lifecycle_check_all_reports_planted_violation),
        T(test_lifecycle_check_all_reports_project_rules),
        cmocka_unit_test(test_lifecycle_check_task_detects_each_rule),
        T(test_lifecycle_violation_rolls_transition_back),
    };
#undef T
    return cmocka_run_group_tests_name("lifecycle_review", tests, NULL, NULL);
}
