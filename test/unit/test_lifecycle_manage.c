/*
 * test_lifecycle_manage.c: the management operations (upstream test_project_management_api
 * at the lifecycle level): end project, pause and resume, reassign, complete-and-skip and
 * revert with its audit in every scenario.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lifecycle_fixture.h"
#include "store/model.h"

#define ONE_REVIEW "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}"
#define TWO_REVIEWS "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":2}"
#define NO_REVIEW "{\"policy\":\"no_review\"}"

typedef struct team {
    int64_t cert, step1, step2;
    int64_t worker, entry2, r1, r2, r3;
} team;

/* team_setup: step1 (review policy as given), optionally step2 after step1, and workers. */
static void team_setup(fx *f, team *t, const char *review, bool second_step)
{
    fx_workflow(f);
    t->cert = fx_cert(f, "cert");
    t->step1 = fx_step(f, "step1", true, review, NULL);
    fx_step_cert(f, t->step1, t->cert);
    t->step2 = 0;
    if (second_step) {
        t->step2 = fx_step(f, "step2", true, NO_REVIEW, NULL);
        fx_creation_dep(f, t->step2, t->step1);
    }
    t->worker = fx_certified_worker(f, "worker", t->cert, false);
    t->entry2 = fx_certified_worker(f, "entry2", t->cert, false);
    t->r1 = fx_certified_worker(f, "reviewer1", t->cert, true);
    t->r2 = fx_certified_worker(f, "reviewer2", t->cert, true);
    t->r3 = fx_certified_worker(f, "reviewer3", t->cert, true);
}

/* ---- end project, pause and resume -------------------------------------------------- */

static void test_lifecycle_end_project_aborts_every_task(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, NO_REVIEW, true);
    int64_t p = fx_project(f, 0);
    int64_t t1 = fx_task_of(f, p, t.step1);
    FX_OK(f, fx_assign(f, t.worker, t1));
    FX_OK(f, fx_submit(f, t.worker, t1, "{}", FX_ACCEPT));
    int64_t t2 = fx_task_of(f, p, t.step2);
    FX_OK(f, fx_assign(f, t.entry2, t2));

    FX_OK(f, fx_end_project(f, p));
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ABORTED);
    /* Complete tasks too; assignments are left as they were. */
    assert_int_equal(fx_task_status(f, t1), ORCI_TASK_ABORTED);
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_ABORTED);
    assert_int_equal(fx_assignment_status(f, t1, 0), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_assignment_status(f, t2, 0), ORCI_ASSIGNMENT_PROCESSING);
    FX_CHECK(f, t1);
    FX_CHECK(f, t2);

    FX_EXPECT(f, fx_submit(f, t.entry2, t2, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Task not in submittable state.");
    FX_OK(f, fx_create_subsequent(f, p));
    assert_int_equal(fx_count_tasks(f, p), 2);
    FX_EXPECT(f, fx_complete_and_skip(f, t2), ORC_FAILED_PRECONDITION,
              "Cannot complete and skip an aborted task.");
    FX_EXPECT(f, fx_set_project_status(f, p, ORCI_PROJECT_ACTIVE), ORC_FAILED_PRECONDITION, NULL);
    FX_EXPECT(f, fx_end_project(f, 999), ORC_NOT_FOUND, "No project for given id");
    /* Ending twice is harmless. */
    FX_OK(f, fx_end_project(f, p));

    int64_t violations = -1;
    orc_error err = {0};
    assert_int_equal(orci_lc_check_all(f->rdb, NULL, NULL, &violations, &err), ORC_OK);
    assert_int_equal(violations, 0);
}

static void test_lifecycle_set_project_status_only_pauses_and_resumes(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, NO_REVIEW, false);
    int64_t p = fx_project(f, 0);
    FX_EXPECT(f, fx_set_project_status(f, p, ORCI_PROJECT_ABORTED), ORC_INVALID_ARGUMENT,
              "Use end project to abort a project.");
    FX_EXPECT(f, fx_set_project_status(f, p, ORCI_PROJECT_COMPLETED), ORC_INVALID_ARGUMENT, NULL);
    FX_EXPECT(f, fx_set_project_status(f, p, 1), ORC_INVALID_ARGUMENT, "Invalid project status.");
    FX_EXPECT(f, fx_set_project_status(f, 999, ORCI_PROJECT_PAUSED), ORC_NOT_FOUND,
              "No project for given id");
    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_PAUSED));
    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_PAUSED));
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_PAUSED);

    /* An admin completes the only task while the project is paused: it stays Paused, and
     * becomes Completed on resume. */
    int64_t t1 = fx_task_of(f, p, t.step1);
    FX_OK(f, fx_complete_and_skip(f, t1));
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_PAUSED);
    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_ACTIVE));
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    FX_EXPECT(f, fx_set_project_status(f, p, ORCI_PROJECT_PAUSED), ORC_FAILED_PRECONDITION, NULL);
}

/* ---- reassign ----------------------------------------------------------------------- */

static void test_lifecycle_reassign_swaps_only_the_worker(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, TWO_REVIEWS, false);
    int64_t task = fx_task_of(f, fx_project(f, 0), t.step1);
    FX_OK(f, fx_assign(f, t.worker, task));
    FX_OK(f, fx_submit(f, t.worker, task, "{\"w\":1}", FX_ACCEPT));
    FX_OK(f, fx_assign(f, t.r1, task));
    FX_OK(f, fx_submit(f, t.r1, task, "{\"r\":1}", FX_ACCEPT));
    FX_OK(f, fx_assign(f, t.r2, task));
    int64_t a0 = fx_assignment_id(f, task, 0);
    int64_t a1 = fx_assignment_id(f, task, 1);
    int64_t a2 = fx_assignment_id(f, task, 2);
    int64_t iterations = fx_count_iterations(f, task);

    /* Entry-level seat to another entry-level worker, then to a reviewer. */
    FX_OK(f, fx_reassign(f, a0, t.entry2));
    assert_int_equal(fx_assignment_worker(f, task, 0), t.entry2);
    FX_OK(f, fx_reassign(f, a0, t.r3));
    assert_int_equal(fx_assignment_worker(f, task, 0), t.r3);
    /* r3 already holds a seat. */
    FX_EXPECT(f, fx_reassign(f, a1, t.r3), ORC_FAILED_PRECONDITION,
              "Worker already assigned to this task.");
    assert_int_equal(fx_assignment_worker(f, task, 1), t.r1);
    /* A review seat needs a reviewer. */
    FX_EXPECT(f, fx_reassign(f, a1, t.worker), ORC_PERMISSION_DENIED,
              "Worker not certified for this assignment.");
    /* The current reviewer's seat moves with its work. */
    FX_EXPECT(f, fx_reassign(f, a2, t.worker), ORC_PERMISSION_DENIED,
              "Worker not certified for this assignment.");
    FX_EXPECT(f, fx_reassign(f, a2, t.r1), ORC_FAILED_PRECONDITION,
              "Worker already assigned to this task.");
    int64_t r4 = fx_certified_worker(f, "reviewer4", t.cert, true);
    FX_OK(f, fx_reassign(f, a2, r4));
    assert_int_equal(fx_assignment_worker(f, task, 2), r4);
    assert_int_equal(fx_assignment_status(f, task, 2), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_count_iterations(f, task), iterations);
    char *data = fx_assignment_data(f, task, 2);
    fx_assert_json_equal(data, "{\"r\":1}");
    free(data);
    /* The new holder acts on the seat. */
    FX_OK(f, fx_submit(f, r4, task, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);

    FX_EXPECT(f, fx_reassign(f, 999, r4), ORC_NOT_FOUND, "No assignment for given id");
    FX_EXPECT(f, fx_reassign(f, a2, 999), ORC_NOT_FOUND, NULL);
    FX_CHECK(f, task);
}

/* ---- complete and skip -------------------------------------------------------------- */

static void test_lifecycle_complete_and_skip_creates_next_tasks(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, true);
    int64_t p = fx_project(f, 0);
    int64_t t1 = fx_task_of(f, p, t.step1);
    FX_OK(f, fx_assign(f, t.worker, t1));
    FX_OK(f, fx_complete_and_skip(f, t1));
    assert_int_equal(fx_task_status(f, t1), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_assignment_status(f, t1, 0), ORCI_ASSIGNMENT_SUBMITTED);
    /* The iteration is left alone (still open). */
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM iterations i JOIN task_assignments a"
                            " ON a.id = i.assignment_id WHERE a.task_id = ?1"
                            " AND i.status = 0 AND i.end_datetime IS NULL",
                            t1, 0, 0),
                     1);
    FX_CHECK(f, t1);
    int64_t t2 = fx_task_of(f, p, t.step2);
    assert_true(t2 > 0);
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_AWAITING_PROCESSING);
    /* The dependent task exists already: creating again adds nothing. */
    FX_OK(f, fx_create_subsequent(f, p));
    assert_int_equal(fx_count_tasks(f, p), 2);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);

    /* Skipping an unassigned task completes the project. */
    FX_OK(f, fx_complete_and_skip(f, t2));
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_count_assignments(f, t2), 0);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    FX_CHECK(f, t2);
    FX_EXPECT(f, fx_complete_and_skip(f, 999), ORC_NOT_FOUND, "No task for given id");
}

static void test_lifecycle_complete_and_skip_in_review(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t p = fx_project(f, 0);
    int64_t t1 = fx_task_of(f, p, t.step1);
    FX_OK(f, fx_assign(f, t.worker, t1));
    FX_OK(f, fx_submit(f, t.worker, t1, "{}", FX_ACCEPT));
    FX_OK(f, fx_assign(f, t.r1, t1));
    FX_OK(f, fx_complete_and_skip(f, t1));
    assert_int_equal(fx_assignment_status(f, t1, 0), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_assignment_status(f, t1, 1), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    FX_EXPECT(f, fx_submit(f, t.r1, t1, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Task already completed");
    FX_CHECK(f, t1);
}

/* ---- revert ------------------------------------------------------------------------- */

/*
 * complete_task runs upstream's setup_complete_task: the worker submits, reviewer 1
 * rejects, the worker resubmits, reviewer 1 accepts. it[] gets the four iterations in
 * start order: worker, reviewer (reject), worker, reviewer (accept).
 */
static int64_t complete_task(fx *f, team *t, int64_t *project, int64_t it[4])
{
    int64_t p = fx_project(f, 0);
    int64_t task = fx_task_of(f, p, t->step1);
    FX_OK(f, fx_assign(f, t->worker, task));
    FX_OK(f, fx_submit(f, t->worker, task, "{\"test\":\"entry_submit\"}", FX_ACCEPT));
    FX_OK(f, fx_assign(f, t->r1, task));
    FX_OK(f, fx_submit(f, t->r1, task, "{\"test\":\"reviewer_reject\"}", FX_REJECT));
    FX_OK(f, fx_submit(f, t->worker, task, "{\"test\":\"entry_resubmit\"}", FX_ACCEPT));
    FX_OK(f, fx_submit(f, t->r1, task, "{\"test\":\"reviewer_accept\"}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);
    for (int k = 0; k < 4; k++)
        it[k] = fx_int(f,
                       "SELECT i.id FROM iterations i JOIN task_assignments a"
                       " ON a.id = i.assignment_id WHERE a.task_id = ?1 AND i.is_deleted = 0"
                       " ORDER BY i.start_datetime, i.id LIMIT 1 OFFSET ?2",
                       task, k, 0);
    if (project != NULL)
        *project = p;
    return task;
}

/*
 * expect_audit checks the audit: the task as it was, each assignment's change and its
 * iterations' changes (a string like "01" per assignment, '-' for none), the status.
 */
static void expect_audit(fx *f, int64_t task, const char *task_status, const int *achange,
                         const char *const *ichanges, size_t n, int reverted_status)
{
    json_error_t jerr;
    json_t *audit = json_loads(f->audit != NULL ? f->audit : "", 0, &jerr);
    if (audit == NULL)
        fail_msg("audit is not JSON: %s", jerr.text);
    json_t *jt = json_object_get(audit, "task");
    assert_int_equal(json_integer_value(json_object_get(jt, "id")), task);
    assert_string_equal(json_string_value(json_object_get(jt, "status")), task_status);
    assert_string_equal(json_string_value(json_object_get(jt, "step_slug")), "step1");
    assert_true(json_is_integer(json_object_get(jt, "project")));
    assert_true(json_is_string(json_object_get(jt, "start_datetime")));
    assert_true(json_is_array(json_object_get(jt, "assignments")));
    assert_int_equal(json_integer_value(json_object_get(audit, "reverted_status")),
                     reverted_status);
    json_t *as = json_object_get(audit, "assignments");
    assert_int_equal(json_array_size(as), n);
    for (size_t k = 0; k < n; k++) {
        json_t *entry = json_array_get(as, k);
        assert_int_equal(json_integer_value(json_object_get(entry, "change")), achange[k]);
        json_t *a = json_object_get(entry, "assignment");
        assert_true(json_is_string(json_object_get(a, "status")));
        assert_true(json_is_object(json_object_get(a, "worker")));
        assert_true(json_is_string(json_object_get(json_object_get(a, "worker"), "username")));
        assert_true(json_is_object(json_object_get(a, "in_progress_task_data")));
        json_t *its = json_object_get(entry, "iterations");
        assert_int_equal(json_array_size(its), strlen(ichanges[k]));
        for (size_t j = 0; j < json_array_size(its); j++) {
            json_t *ie = json_array_get(its, j);
            assert_int_equal(json_integer_value(json_object_get(ie, "change")),
                             ichanges[k][j] - '0');
            json_t *iteration = json_object_get(ie, "iteration");
            assert_true(json_is_integer(json_object_get(iteration, "id")));
            assert_true(json_is_string(json_object_get(iteration, "status")));
            assert_true(json_is_object(json_object_get(iteration, "submitted_data")));
            assert_int_equal(json_integer_value(json_object_get(iteration, "assignment")),
                             json_integer_value(json_object_get(a, "id")));
        }
    }
    json_decref(audit);
}

static void test_lifecycle_revert_without_commit_changes_nothing(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4], p;
    int64_t task = complete_task(f, &t, &p, it);
    FX_OK(f, fx_revert(f, task, it[1], false, false));
    const int ac[] = {1, 1};
    const char *const ic[] = {"02", "12"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_REVIEWING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_count_iterations(f, task), 4);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
}

static void test_lifecycle_revert_to_second_review(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4], p;
    int64_t task = complete_task(f, &t, &p, it);
    FX_OK(f, fx_revert(f, task, it[3], false, true));
    const int ac[] = {0, 1};
    const char *const ic[] = {"00", "01"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_REVIEWING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_REVIEWING);
    assert_int_equal(fx_assignment_status(f, task, 0), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_assignment_status(f, task, 1), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_count_iterations(f, task), 4);
    /* The in-progress data is not rolled back. */
    char *data = fx_assignment_data(f, task, 1);
    fx_assert_json_equal(data, "{\"test\":\"reviewer_accept\"}");
    free(data);
    FX_CHECK(f, task);
    /* The project is open again, and the reviewer can finish again. */
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
    FX_OK(f, fx_submit(f, t.r1, task, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    FX_CHECK(f, task);
}

static void test_lifecycle_revert_to_post_review(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4];
    int64_t task = complete_task(f, &t, NULL, it);
    FX_OK(f, fx_revert(f, task, it[2], false, true));
    const int ac[] = {1, 1};
    const char *const ic[] = {"01", "02"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_POST_REVIEW_PROCESSING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_POST_REVIEW_PROCESSING);
    assert_int_equal(fx_assignment_status(f, task, 0), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_assignment_status(f, task, 1), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_count_iterations(f, task), 3);
    /* Deleted rows are soft-deleted. */
    assert_int_equal(fx_int(f, "SELECT is_deleted FROM iterations WHERE id = ?1", it[3], 0, 0), 1);
    FX_CHECK(f, task);
    FX_OK(f, fx_submit(f, t.worker, task, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_REVIEWING);
    FX_CHECK(f, task);
}

static void test_lifecycle_revert_to_first_review(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4];
    int64_t task = complete_task(f, &t, NULL, it);
    FX_OK(f, fx_revert(f, task, it[1], false, true));
    const int ac[] = {1, 1};
    const char *const ic[] = {"02", "12"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_REVIEWING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_REVIEWING);
    assert_int_equal(fx_assignment_status(f, task, 0), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_assignment_status(f, task, 1), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_count_iterations(f, task), 2);
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM iterations WHERE id = ?1 AND status = 0"
                            " AND end_datetime IS NULL AND submitted_data = '{}'",
                            it[1], 0, 0),
                     1);
    FX_CHECK(f, task);
}

static void test_lifecycle_revert_before_first_review_is_pending_review(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4];
    int64_t task = complete_task(f, &t, NULL, it);
    FX_OK(f, fx_revert(f, task, it[1], true, true));
    const int ac[] = {1, 2};
    const char *const ic[] = {"02", "22"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_PENDING_REVIEW);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_PENDING_REVIEW);
    assert_int_equal(fx_count_assignments(f, task), 1);
    assert_int_equal(fx_assignment_status(f, task, 0), ORCI_ASSIGNMENT_SUBMITTED);
    assert_int_equal(fx_int(f,
                            "SELECT is_deleted FROM task_assignments WHERE task_id = ?1"
                            " AND assignment_counter = 1",
                            task, 0, 0),
                     1);
    FX_CHECK(f, task);
    /* The review level can be taken again, by anyone eligible. */
    FX_OK(f, fx_new_task(f, t.r2, ORCI_ROLE_REVIEWER));
    assert_int_equal(f->last_task, task);
    assert_int_equal(fx_assignment_worker(f, task, 1), t.r2);
    FX_CHECK(f, task);
}

static void test_lifecycle_revert_to_processing(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4];
    int64_t task = complete_task(f, &t, NULL, it);
    FX_OK(f, fx_revert(f, task, it[0], false, true));
    const int ac[] = {1, 2};
    const char *const ic[] = {"12", "22"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_PROCESSING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_count_assignments(f, task), 1);
    assert_int_equal(fx_assignment_status(f, task, 0), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(fx_count_iterations(f, task), 1);
    FX_CHECK(f, task);
    FX_OK(f, fx_save(f, t.worker, task, "{\"again\":1}"));
}

static void test_lifecycle_revert_before_everything_is_awaiting(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4];
    int64_t task = complete_task(f, &t, NULL, it);
    FX_OK(f, fx_revert(f, task, it[0], true, true));
    const int ac[] = {2, 2};
    const char *const ic[] = {"22", "22"};
    expect_audit(f, task, "Complete", ac, ic, 2, ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_count_assignments(f, task), 0);
    assert_int_equal(fx_count_iterations(f, task), 0);
    FX_CHECK(f, task);
    FX_OK(f, fx_new_task(f, t.entry2, ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, task);
    FX_CHECK(f, task);
}

static void test_lifecycle_revert_pending_review_task(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t task = fx_task_of(f, fx_project(f, 0), t.step1);
    FX_OK(f, fx_assign(f, t.worker, task));
    FX_OK(f, fx_submit(f, t.worker, task, "{}", FX_ACCEPT));
    int64_t it0 = fx_int(f,
                         "SELECT i.id FROM iterations i JOIN task_assignments a"
                         " ON a.id = i.assignment_id WHERE a.task_id = ?1",
                         task, 0, 0);
    FX_OK(f, fx_revert(f, task, it0, false, true));
    const int ac[] = {1};
    const char *const ic[] = {"1"};
    expect_audit(f, task, "Pending Review", ac, ic, 1, ORCI_TASK_PROCESSING);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_assignment_status(f, task, 0), ORCI_ASSIGNMENT_PROCESSING);
    FX_CHECK(f, task);
}

static void test_lifecycle_revert_refuses_invalid_requests(void **state)
{
    fx *f = *state;
    team t;
    team_setup(f, &t, ONE_REVIEW, false);
    int64_t it[4], p;
    int64_t task = complete_task(f, &t, &p, it);
    /* Only the first iteration of an assignment can be reverted before. */
    FX_EXPECT(f, fx_revert(f, task, it[2], true, true), ORC_INVALID_ARGUMENT,
              "Cannot revert before an iteration that isn't the first of its assignment.");
    FX_EXPECT(f, fx_revert(f, task, it[3], true, false), ORC_INVALID_ARGUMENT,
              "Cannot revert before an iteration that isn't the first of its assignment.");
    assert_null(f->audit);
    FX_EXPECT(f, fx_revert(f, 999, it[0], false, true), ORC_NOT_FOUND, "No task for given id");
    FX_EXPECT(f, fx_revert(f, task, 999, false, true), ORC_NOT_FOUND, NULL);
    int64_t other = fx_task_of(f, fx_project(f, 0), t.step1);
    FX_EXPECT(f, fx_revert(f, other, it[0], false, true), ORC_NOT_FOUND, NULL);
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);

    FX_OK(f, fx_end_project(f, p));
    FX_EXPECT(f, fx_revert(f, task, it[1], false, true), ORC_FAILED_PRECONDITION,
              "Cannot revert aborted task.");
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_ABORTED);
    assert_int_equal(fx_count_iterations(f, task), 4);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_lifecycle_end_project_aborts_every_task),
        T(test_lifecycle_set_project_status_only_pauses_and_resumes),
        T(test_lifecycle_reassign_swaps_only_the_worker),
        T(test_lifecycle_complete_and_skip_creates_next_tasks),
        T(test_lifecycle_complete_and_skip_in_review),
        T(test_lifecycle_revert_without_commit_changes_nothing),
        T(test_lifecycle_revert_to_second_review),
        T(test_lifecycle_revert_to_post_review),
        T(test_lifecycle_revert_to_first_review),
        T(test_lifecycle_revert_before_first_review_is_pending_review),
        T(test_lifecycle_revert_to_processing),
        T(test_lifecycle_revert_before_everything_is_awaiting),
        T(test_lifecycle_revert_pending_review_task),
        T(test_lifecycle_revert_refuses_invalid_requests),
    };
#undef T
    return cmocka_run_group_tests_name("lifecycle_manage", tests, NULL, NULL);
}
