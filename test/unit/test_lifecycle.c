/*
 * test_lifecycle.c: eligibility, assignment, request-new-task, save, the next-status table,
 * review sampling, task creation and assignment policies (ported from upstream's
 * test_task_lifecycle), plus paused projects, machine tasks, pick-up order and the
 * single-writer race.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "lifecycle_fixture.h"
#include "store/model.h"

#define NO_REVIEW "{\"policy\":\"no_review\"}"
#define ONE_REVIEW "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}"

/* The usual cast: w0 entry-level only, w1 and w2 entry-level and reviewer, w3 holds no
 * certification, w4 training certifications only (they grant nothing). */
typedef struct cast {
    int64_t cert1, step1;
    int64_t w[5];
} cast;

static void cast_setup(fx *f, cast *c, const char *review)
{
    fx_workflow(f);
    c->cert1 = fx_cert(f, "cert1");
    c->step1 = fx_step(f, "step1", true, review, NULL);
    fx_step_cert(f, c->step1, c->cert1);
    c->w[0] = fx_certified_worker(f, "w0", c->cert1, false);
    c->w[1] = fx_certified_worker(f, "w1", c->cert1, true);
    c->w[2] = fx_certified_worker(f, "w2", c->cert1, true);
    c->w[3] = fx_worker(f, "w3");
    c->w[4] = fx_worker(f, "w4");
    fx_certify(f, c->w[4], c->cert1, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_TRAINING);
    fx_certify(f, c->w[4], c->cert1, ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_TRAINING);
}

/* ---- model -------------------------------------------------------------------------- */

static void test_lifecycle_model_labels_match_upstream(void **state)
{
    (void)state;
    assert_string_equal(orci_task_status_label(ORCI_TASK_AWAITING_PROCESSING),
                        "Awaiting Processing");
    assert_string_equal(orci_task_status_label(ORCI_TASK_POST_REVIEW_PROCESSING),
                        "Post-review Processing");
    assert_string_equal(orci_task_status_label(ORCI_TASK_ABORTED), "Aborted");
    assert_string_equal(orci_task_status_label(7), "");
    assert_string_equal(orci_assignment_status_label(ORCI_ASSIGNMENT_FAILED), "Failed");
    assert_string_equal(orci_iteration_status_label(ORCI_ITERATION_REQUESTED_REVIEW),
                        "Requested Review");
    assert_string_equal(orci_iteration_status_label(ORCI_ITERATION_PROVIDED_REVIEW),
                        "Provided Review");
    assert_string_equal(orci_project_status_label(ORCI_PROJECT_PAUSED), "Paused");
    assert_string_equal(orci_project_status_label(1), "");
    assert_int_equal(orci_role_parse(orci_role_name(ORCI_ROLE_REVIEWER)), ORCI_ROLE_REVIEWER);
    assert_int_equal(orci_role_parse("entry_level"), ORCI_ROLE_ENTRY_LEVEL);
    assert_int_equal(orci_role_parse("boss"), -1);
    assert_int_equal(orci_role_parse(NULL), -1);
    assert_int_equal(orci_task_class_parse("real"), ORCI_TASK_CLASS_REAL);
    assert_int_equal(orci_task_class_parse(orci_task_class_name(0)), ORCI_TASK_CLASS_TRAINING);
    assert_int_equal(orci_task_class_parse("Real"), -1);
}

static void test_lifecycle_system_rng_stays_in_unit_interval(void **state)
{
    (void)state;
    double lo = 1.0, hi = 0.0;
    for (int i = 0; i < 2000; i++) {
        double u = orci_rng_system.uniform(orci_rng_system.arg);
        assert_true(u >= 0.0 && u < 1.0);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    /* 2000 draws of a uniform source cover most of the interval. */
    assert_true(lo < 0.05 && hi > 0.95);
}

/* ---- projects and task creation ----------------------------------------------------- */

static void test_lifecycle_create_project_creates_root_tasks_only(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t step2 = fx_step(f, "step2", true, NO_REVIEW, NULL);
    fx_creation_dep(f, step2, c.step1);
    int64_t p = fx_project(f, 0);
    int64_t t1 = fx_task_of(f, p, c.step1);
    assert_true(t1 > 0);
    assert_int_equal(fx_task_status(f, t1), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_task_of(f, p, step2), -1);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
    /* Creating again changes nothing while step1 is open. */
    FX_OK(f, fx_create_subsequent(f, p));
    assert_int_equal(fx_count_tasks(f, p), 1);
    FX_CHECK(f, t1);
}

static void test_lifecycle_create_project_refuses_bad_parameters(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    FX_EXPECT(f, fx_create_project(f, 0, "[1,2]", NULL), ORC_INVALID_ARGUMENT, NULL);
    FX_EXPECT(f, fx_create_project(f, 0, "{bad", NULL), ORC_INVALID_ARGUMENT, NULL);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM projects", 0, 0, 0), 0);
    int64_t p = 0;
    FX_OK(f, fx_create_project(f, 0, "{\"k\": 1}", &p));
    char *data = fx_text(f, "SELECT project_data FROM projects WHERE id = ?1", p);
    fx_assert_json_equal(data, "{\"k\":1}");
    free(data);
    FX_EXPECT(f, fx_create_subsequent(f, 999), ORC_NOT_FOUND, "No project for given id");
}

static int unknown_version_op(orci_lc *lc, void *arg, orc_error *err)
{
    const char *const *slugs = arg;
    orci_project_params pp = {.workflow_slug = slugs[0],
                              .version_slug = slugs[1],
                              .priority = 0,
                              .task_class = ORCI_TASK_CLASS_REAL};
    return orci_lc_create_project(lc, &pp, NULL, err);
}

static void test_lifecycle_create_project_reports_unknown_workflow_and_version(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    const char *a[2] = {"nope", "v1"};
    FX_EXPECT(f, fx_run(f, unknown_version_op, (void *)a), ORC_NOT_FOUND,
              "Workflow nope not found");
    const char *b[2] = {"w", "v9"};
    FX_EXPECT(f, fx_run(f, unknown_version_op, (void *)b), ORC_NOT_FOUND,
              "Version v9 of workflow w not found");
}

/* ---- certification and assignment (upstream test_task_lifecycle) -------------------- */

static void test_lifecycle_assign_checks_entry_level_certification(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    /* No certification at all, and training certifications, grant nothing. */
    FX_EXPECT(f, fx_assign(f, c.w[3], t), ORC_PERMISSION_DENIED,
              "Worker not certified for this task.");
    FX_EXPECT(f, fx_assign(f, c.w[4], t), ORC_PERMISSION_DENIED,
              "Worker not certified for this task.");
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_count_assignments(f, t), 0);

    FX_OK(f, fx_assign(f, c.w[0], t));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_assignment_worker(f, t, 0), c.w[0]);
    assert_int_equal(fx_assignment_status(f, t, 0), ORCI_ASSIGNMENT_PROCESSING);
    assert_int_equal(f->last_id, fx_assignment_id(f, t, 0));
    assert_int_equal(fx_count_iterations(f, t), 1);
    /* The iteration starts at the assignment's start. */
    assert_int_equal(fx_int(f,
                            "SELECT i.start_datetime = a.start_datetime FROM iterations i"
                            " JOIN task_assignments a ON a.id = i.assignment_id"
                            " WHERE a.task_id = ?1",
                            t, 0, 0),
                     1);
    FX_CHECK(f, t);
    /* Processing is not a status a new assignment can join. */
    FX_EXPECT(f, fx_assign(f, c.w[1], t), ORC_FAILED_PRECONDITION,
              "Status incompatible with new assignment");
}

static void test_lifecycle_assign_checks_reviewer_certification_then_seat(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    FX_OK(f, fx_assign(f, c.w[1], t));
    FX_OK(f, fx_submit(f, c.w[1], t, "{\"draft\":1}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PENDING_REVIEW);
    FX_CHECK(f, t);

    /* w0 is entry-level only: certification is checked before the seat. */
    FX_EXPECT(f, fx_assign(f, c.w[0], t), ORC_PERMISSION_DENIED,
              "Worker not certified for this task.");
    FX_EXPECT(f, fx_assign(f, c.w[4], t), ORC_PERMISSION_DENIED,
              "Worker not certified for this task.");
    /* w1 is a reviewer but already holds the entry-level seat. */
    FX_EXPECT(f, fx_assign(f, c.w[1], t), ORC_FAILED_PRECONDITION,
              "Worker already assigned to this task.");
    FX_OK(f, fx_assign(f, c.w[2], t));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_REVIEWING);
    assert_int_equal(fx_assignment_worker(f, t, 1), c.w[2]);
    /* The reviewer starts from the submitted work. */
    char *data = fx_assignment_data(f, t, 1);
    fx_assert_json_equal(data, "{\"draft\":1}");
    free(data);
    FX_CHECK(f, t);
}

static void test_lifecycle_assign_reports_unknown_rows(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    FX_EXPECT(f, fx_assign(f, c.w[0], 999), ORC_NOT_FOUND, "No task for given id");
    FX_EXPECT(f, fx_assign(f, 999, t), ORC_NOT_FOUND, "Worker matching query does not exist.");
}

static void test_lifecycle_step_without_certifications_lets_anyone_in(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t open = fx_step(f, "open", true, NO_REVIEW, NULL);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, open);
    FX_OK(f, fx_assign(f, c.w[3], t));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
}

static void test_lifecycle_certification_needs_every_required_one(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t cert2 = fx_cert(f, "cert2");
    int64_t both = fx_step(f, "both", true, NO_REVIEW, NULL);
    fx_step_cert(f, both, c.cert1);
    fx_step_cert(f, both, cert2);
    int64_t t = fx_task_of(f, fx_project(f, 0), both);
    FX_EXPECT(f, fx_assign(f, c.w[0], t), ORC_PERMISSION_DENIED,
              "Worker not certified for this task.");
    fx_certify(f, c.w[0], cert2, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
    FX_OK(f, fx_assign(f, c.w[0], t));
}

/* ---- request new task --------------------------------------------------------------- */

static void test_lifecycle_new_task_hands_out_entry_then_review_work(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    FX_EXPECT(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);

    FX_EXPECT(f, fx_new_task(f, c.w[3], ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    FX_EXPECT(f, fx_new_task(f, c.w[4], ORCI_ROLE_ENTRY_LEVEL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    FX_EXPECT(f, fx_new_task(f, c.w[0], 7), ORC_INVALID_ARGUMENT, "No such task type");
    FX_EXPECT(f, fx_new_task(f, 999, ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, NULL);

    FX_OK(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, t);
    assert_int_equal(f->last_id, fx_assignment_id(f, t, 0));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
    FX_EXPECT(f, fx_new_task(f, c.w[1], ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    /* Nothing to review yet. */
    FX_EXPECT(f, fx_new_task(f, c.w[1], ORCI_ROLE_REVIEWER), ORC_NOT_FOUND, "No task");

    FX_OK(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT));
    /* The submitter's own task is no candidate; an entry-level-only worker is refused. */
    FX_EXPECT(f, fx_new_task(f, c.w[0], ORCI_ROLE_REVIEWER), ORC_NOT_FOUND, "No task");
    int64_t w5 = fx_certified_worker(f, "w5", c.cert1, false);
    FX_EXPECT(f, fx_new_task(f, w5, ORCI_ROLE_REVIEWER), ORC_PERMISSION_DENIED,
              "No worker certificates");
    FX_EXPECT(f, fx_new_task(f, c.w[4], ORCI_ROLE_REVIEWER), ORC_PERMISSION_DENIED,
              "No worker certificates");
    FX_OK(f, fx_new_task(f, c.w[1], ORCI_ROLE_REVIEWER));
    assert_int_equal(f->last_task, t);
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_REVIEWING);
    assert_int_equal(fx_assignment_worker(f, t, 1), c.w[1]);
    FX_EXPECT(f, fx_new_task(f, c.w[2], ORCI_ROLE_REVIEWER), ORC_NOT_FOUND, "No task");
    FX_CHECK(f, t);
}

static void test_lifecycle_new_task_never_hands_a_worker_their_own_work(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    FX_OK(f, fx_assign(f, c.w[1], t));
    FX_OK(f, fx_submit(f, c.w[1], t, "{}", FX_ACCEPT));
    /* w1 is a certified reviewer, but the only review work is w1's own. */
    FX_EXPECT(f, fx_new_task(f, c.w[1], ORCI_ROLE_REVIEWER), ORC_NOT_FOUND, "No task");
}

static void test_lifecycle_new_task_blocked_by_returned_task(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    fx_project(f, 0); /* more work waiting in the pool */
    FX_OK(f, fx_assign(f, c.w[0], t));
    FX_OK(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT));
    FX_OK(f, fx_assign(f, c.w[1], t));
    FX_OK(f, fx_submit(f, c.w[1], t, "{\"fix\":true}", FX_REJECT));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_POST_REVIEW_PROCESSING);
    FX_EXPECT(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL), ORC_FAILED_PRECONDITION,
              "Worker has pending reviewer feedback that must be addressed.");
    /* The reviewer is not blocked. */
    FX_OK(f, fx_new_task(f, c.w[1], ORCI_ROLE_ENTRY_LEVEL));
    FX_OK(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT));
    FX_EXPECT(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
}

static void test_lifecycle_new_task_orders_by_priority_then_start(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t low = fx_task_of(f, fx_project(f, 1), c.step1);
    int64_t high_old = fx_task_of(f, fx_project(f, 5), c.step1);
    int64_t high_new = fx_task_of(f, fx_project(f, 5), c.step1);
    int64_t mid = fx_task_of(f, fx_project(f, 3), c.step1);
    FX_OK(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, high_old);
    FX_OK(f, fx_new_task(f, c.w[1], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, high_new);
    FX_OK(f, fx_new_task(f, c.w[2], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, mid);
    /* A worker may hold tasks of several projects. */
    FX_OK(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, low);
}

static void test_lifecycle_paused_project_is_not_handed_out(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, c.step1);
    int64_t p2 = fx_project(f, 0);
    int64_t t2 = fx_task_of(f, p2, c.step1);
    FX_OK(f, fx_assign(f, c.w[1], t2));
    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_PAUSED));
    FX_OK(f, fx_set_project_status(f, p2, ORCI_PROJECT_PAUSED));
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_PAUSED);

    FX_EXPECT(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    FX_EXPECT(f, fx_assign(f, c.w[0], t), ORC_FAILED_PRECONDITION, "Project is not active.");
    FX_EXPECT(f, fx_save(f, c.w[1], t2, "{\"a\":1}"), ORC_FAILED_PRECONDITION,
              "Project is paused.");
    FX_EXPECT(f, fx_submit(f, c.w[1], t2, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Project is paused.");
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_PROCESSING);

    FX_OK(f, fx_set_project_status(f, p, ORCI_PROJECT_ACTIVE));
    FX_OK(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, t);
}

static void test_lifecycle_machine_tasks_are_never_handed_to_workers(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t machine = fx_step(f, "machine", false, NULL, NULL);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, machine);
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_count_assignments(f, t), 0);
    FX_EXPECT(f, fx_assign(f, c.w[3], t), ORC_FAILED_PRECONDITION,
              "Machine tasks cannot be assigned to workers.");
    /* step1 is human and handed out; the machine task is not, even to the uncertified. */
    FX_OK(f, fx_new_task(f, c.w[0], ORCI_ROLE_ENTRY_LEVEL));
    assert_int_equal(f->last_task, fx_task_of(f, p, c.step1));
    FX_EXPECT(f, fx_new_task(f, c.w[3], ORCI_ROLE_ENTRY_LEVEL), ORC_NOT_FOUND, "No task");
    FX_CHECK(f, t);
}

/* Two callers race for the last task: the single writer serializes them. */
typedef struct racer {
    fx *f;
    int64_t worker;
    int code;
    char message[ORC_ERROR_MESSAGE_MAX];
} racer;

static int race_op(orci_lc *lc, void *arg, orc_error *err)
{
    racer *r = arg;
    return orci_lc_new_task(lc, r->worker, ORCI_ROLE_ENTRY_LEVEL, NULL, NULL, err);
}

static void *race_thread(void *arg)
{
    racer *r = arg;
    fx_call call = {r->f, race_op, r};
    orc_error err = {0};
    r->code = orci_store_write(r->f->store, fx_job, &call, &err);
    snprintf(r->message, sizeof r->message, "%s", err.message);
    return NULL;
}

static void test_lifecycle_race_for_last_task_has_one_winner(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    racer a = {.f = f, .worker = c.w[0]}, b = {.f = f, .worker = c.w[1]};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, race_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    racer *winner = a.code == ORC_OK ? &a : &b;
    racer *loser = a.code == ORC_OK ? &b : &a;
    assert_int_equal(winner->code, ORC_OK);
    assert_int_equal(loser->code, ORC_NOT_FOUND);
    assert_string_equal(loser->message, "No task");
    assert_int_equal(fx_count_assignments(f, t), 1);
    assert_int_equal(fx_assignment_worker(f, t, 0), winner->worker);
    FX_CHECK(f, t);
}

/* ---- save --------------------------------------------------------------------------- */

static void test_lifecycle_save_permissions(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    FX_EXPECT(f, fx_save(f, c.w[0], 999, "{}"), ORC_NOT_FOUND, "No task for given id");
    FX_EXPECT(f, fx_save(f, c.w[0], t, "{}"), ORC_PERMISSION_DENIED,
              "Worker is not associated with task");
    FX_OK(f, fx_assign(f, c.w[0], t));
    FX_EXPECT(f, fx_save(f, c.w[0], t, "[1]"), ORC_INVALID_ARGUMENT, NULL);
    FX_EXPECT(f, fx_save(f, c.w[0], t, "{\"a\":1,\"a\":2}"), ORC_INVALID_ARGUMENT, NULL);
    FX_OK(f, fx_save(f, c.w[0], t, "{\"a\": [1, 2]}"));
    char *data = fx_assignment_data(f, t, 0);
    fx_assert_json_equal(data, "{\"a\":[1,2]}");
    free(data);
    /* Save touches nothing else. */
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_count_iterations(f, t), 1);
    assert_int_equal(fx_int(f,
                            "SELECT count(*) FROM iterations i JOIN task_assignments a"
                            " ON a.id = i.assignment_id WHERE a.task_id = ?1"
                            " AND i.end_datetime IS NULL AND i.submitted_data = '{}'",
                            t, 0, 0),
                     1);
    FX_OK(f, fx_submit(f, c.w[0], t, "{\"a\":2}", FX_ACCEPT));
    FX_EXPECT(f, fx_save(f, c.w[0], t, "{}"), ORC_FAILED_PRECONDITION,
              "Worker is not allowed to save");
    FX_CHECK(f, t);
}

/* ---- submit and the next-status table ----------------------------------------------- */

static void test_lifecycle_submit_checks_in_upstream_order(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t gate = fx_step(f, "gate", true, NO_REVIEW, NULL);
    fx_submission_dep(f, c.step1, gate);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, c.step1);
    int64_t g = fx_task_of(f, p, gate);
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", 0), ORC_INVALID_ARGUMENT, "Illegal command");
    FX_EXPECT(f, fx_submit(f, c.w[0], 999, "{}", FX_ACCEPT), ORC_NOT_FOUND, "No task for given id");
    /* Prerequisites come first, even before the worker is known. */
    FX_EXPECT(f, fx_submit(f, c.w[3], t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Submission prerequisites are not complete.");
    FX_OK(f, fx_assign(f, c.w[1], g));
    FX_OK(f, fx_submit(f, c.w[1], g, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, g), ORCI_TASK_COMPLETE);
    FX_EXPECT(f, fx_submit(f, c.w[3], t, "{}", FX_ACCEPT), ORC_PERMISSION_DENIED,
              "Worker is not associated with task");
    FX_OK(f, fx_assign(f, c.w[0], t));
    FX_OK(f, fx_submit(f, c.w[0], t, "{\"done\":1}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_COMPLETE);
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Task already completed");
    FX_EXPECT(f, fx_submit(f, c.w[3], t, "{}", FX_REJECT), ORC_FAILED_PRECONDITION,
              "Task already completed");
}

static void test_lifecycle_next_status_table_refuses_illegal_transitions(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, ONE_REVIEW);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, c.step1);
    FX_OK(f, fx_assign(f, c.w[0], t));
    /* An entry-level worker cannot reject. */
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_REJECT), ORC_FAILED_PRECONDITION,
              "Task not in rejectable state.");
    FX_OK(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PENDING_REVIEW);
    /* In Pending Review nobody holds a Processing assignment. */
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Worker is not allowed to submit");
    FX_OK(f, fx_assign(f, c.w[1], t));
    FX_OK(f, fx_submit(f, c.w[1], t, "{}", FX_REJECT));
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_POST_REVIEW_PROCESSING);
    /* Post-review: the worker must fix and resubmit, not reject. */
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_REJECT), ORC_FAILED_PRECONDITION,
              "Task not in rejectable state.");
    FX_CHECK(f, t);

    /* A task whose status disagrees with its Processing assignment (planted) reaches the
     * table itself. */
    fx_exec(f, (fx_sql){.sql = "UPDATE tasks SET status = 2 WHERE id = ?1", .i = {t}, .ni = 1});
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Task has illegal status for submit.");
    fx_exec(f, (fx_sql){.sql = "UPDATE tasks SET status = 4 WHERE id = ?1", .i = {t}, .ni = 1});

    /* Aborted: accept and reject are both refused. */
    FX_OK(f, fx_end_project(f, p));
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
              "Task not in submittable state.");
    FX_EXPECT(f, fx_submit(f, c.w[0], t, "{}", FX_REJECT), ORC_FAILED_PRECONDITION,
              "Task not in rejectable state.");
}

static void test_lifecycle_sampled_review_rolls_at_each_level(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, "{\"policy\":\"sampled_review\",\"rate\":0.5,\"max_reviews\":2}");
    int64_t t1 = fx_task_of(f, fx_project(f, 0), c.step1);
    int64_t t2 = fx_task_of(f, fx_project(f, 0), c.step1);

    fx_script(f, 0.7); /* not sampled: complete */
    FX_OK(f, fx_assign(f, c.w[0], t1));
    FX_OK(f, fx_submit(f, c.w[0], t1, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t1), ORCI_TASK_COMPLETE);
    assert_int_equal(f->rng_calls, 1);

    fx_script(f, 0.3);  /* sampled: first review */
    fx_script(f, 0.49); /* sampled again: second review */
    FX_OK(f, fx_assign(f, c.w[0], t2));
    FX_OK(f, fx_submit(f, c.w[0], t2, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_PENDING_REVIEW);
    FX_OK(f, fx_assign(f, c.w[1], t2));
    FX_OK(f, fx_submit(f, c.w[1], t2, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_PENDING_REVIEW);
    assert_int_equal(f->rng_calls, 3);
    /* Two reviews done: max_reviews <= n-1 completes without rolling. */
    FX_OK(f, fx_assign(f, c.w[2], t2));
    FX_OK(f, fx_submit(f, c.w[2], t2, "{}", FX_ACCEPT));
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_COMPLETE);
    assert_int_equal(f->rng_calls, 3);
    FX_CHECK(f, t1);
    FX_CHECK(f, t2);
}

static void test_lifecycle_rate_zero_never_reviews(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, "{\"policy\":\"sampled_review\",\"rate\":0,\"max_reviews\":3}");
    int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
    FX_OK(f, fx_assign(f, c.w[0], t));
    FX_OK(f, fx_submit(f, c.w[0], t, "{}", FX_ACCEPT)); /* scripted 0.0 is not < 0 */
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_COMPLETE);
}

static void test_lifecycle_bad_review_policy_fails_submit_and_rolls_back(void **state)
{
    const char *policies[] = {"{}", "{\"policy\":\"sampled_review\",\"rate\":1}",
                              "{\"policy\":\"sampled_review\",\"max_reviews\":1}",
                              "{\"policy\":\"sometimes\"}"};
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        fx *f = NULL;
        fx_setup((void **)&f);
        cast c;
        cast_setup(f, &c, policies[i]);
        int64_t t = fx_task_of(f, fx_project(f, 0), c.step1);
        FX_OK(f, fx_assign(f, c.w[0], t));
        FX_EXPECT(f, fx_submit(f, c.w[0], t, "{\"x\":1}", FX_ACCEPT), ORC_FAILED_PRECONDITION,
                  "Review policy incorrectly specified.");
        assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
        assert_int_equal(fx_assignment_status(f, t, 0), ORCI_ASSIGNMENT_PROCESSING);
        char *data = fx_assignment_data(f, t, 0);
        fx_assert_json_equal(data, "{}");
        free(data);
        FX_CHECK(f, t);
        fx_teardown((void **)&f);
    }
    (void)state;
}

/* ---- subsequent tasks and assignment policies --------------------------------------- */

static void test_lifecycle_completion_creates_dependent_tasks(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t step2 = fx_step(f, "step2", true, NO_REVIEW, NULL);
    int64_t step3 = fx_step(f, "step3", true, NO_REVIEW, NULL);
    fx_creation_dep(f, step2, c.step1);
    fx_creation_dep(f, step3, c.step1);
    fx_creation_dep(f, step3, step2);
    int64_t p = fx_project(f, 0);
    int64_t t1 = fx_task_of(f, p, c.step1);
    FX_OK(f, fx_assign(f, c.w[0], t1));
    FX_OK(f, fx_submit(f, c.w[0], t1, "{\"one\":1}", FX_ACCEPT));
    int64_t t2 = fx_task_of(f, p, step2);
    assert_true(t2 > 0);
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_task_of(f, p, step3), -1);
    FX_OK(f, fx_assign(f, c.w[3], t2));
    FX_OK(f, fx_submit(f, c.w[3], t2, "{}", FX_ACCEPT));
    int64_t t3 = fx_task_of(f, p, step3);
    assert_true(t3 > 0);
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_ACTIVE);
    FX_OK(f, fx_assign(f, c.w[3], t3));
    FX_OK(f, fx_submit(f, c.w[3], t3, "{}", FX_ACCEPT));
    /* Every step has a task and every task is Complete. */
    assert_int_equal(fx_project_status(f, p), ORCI_PROJECT_COMPLETED);
    FX_CHECK(f, t3);
}

static void test_lifecycle_previously_completed_steps_policy(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t cert2 = fx_cert(f, "cert2");
    int64_t step2 = fx_step(f, "step2", true, NO_REVIEW,
                            "{\"policy\":\"previously_completed_steps\",\"steps\":[\"step1\"]}");
    fx_creation_dep(f, step2, c.step1);
    int64_t step3 = fx_step(f, "step3", true, NO_REVIEW,
                            "{\"policy\":\"previously_completed_steps\",\"steps\":[\"step1\"]}");
    fx_step_cert(f, step3, cert2);
    fx_creation_dep(f, step3, c.step1);

    int64_t p = fx_project(f, 0);
    int64_t t1 = fx_task_of(f, p, c.step1);
    FX_OK(f, fx_assign(f, c.w[0], t1));
    FX_OK(f, fx_submit(f, c.w[0], t1, "{}", FX_ACCEPT));
    /* step2: same worker, assigned at creation. */
    int64_t t2 = fx_task_of(f, p, step2);
    assert_int_equal(fx_task_status(f, t2), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_assignment_worker(f, t2, 0), c.w[0]);
    /* step3 needs cert2, which w0 lacks: the failure is ignored, the task stays pooled. */
    int64_t t3 = fx_task_of(f, p, step3);
    assert_int_equal(fx_task_status(f, t3), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_count_assignments(f, t3), 0);
    FX_CHECK(f, t2);
    FX_CHECK(f, t3);
}

static void test_lifecycle_specified_worker_policy(void **state)
{
    fx *f = *state;
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t mine = fx_step(f, "mine", true, NO_REVIEW,
                           "{\"policy\":\"specified_worker\",\"username\":\"w2\"}");
    fx_step_cert(f, mine, c.cert1);
    int64_t ghost = fx_step(f, "ghost", true, NO_REVIEW,
                            "{\"policy\":\"specified_worker\",\"username\":\"nobody\"}");
    int64_t uncertified = fx_step(f, "uncertified", true, NO_REVIEW,
                                  "{\"policy\":\"specified_worker\",\"username\":\"w3\"}");
    fx_step_cert(f, uncertified, c.cert1);
    int64_t p = fx_project(f, 0);
    int64_t t = fx_task_of(f, p, mine);
    assert_int_equal(fx_task_status(f, t), ORCI_TASK_PROCESSING);
    assert_int_equal(fx_assignment_worker(f, t, 0), c.w[2]);
    assert_int_equal(fx_task_status(f, fx_task_of(f, p, ghost)), ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(fx_task_status(f, fx_task_of(f, p, uncertified)),
                     ORCI_TASK_AWAITING_PROCESSING);
}

static void expect_policy_refused(const char *policy, bool human, const char *message)
{
    fx *f = NULL;
    fx_setup((void **)&f);
    cast c;
    cast_setup(f, &c, NO_REVIEW);
    int64_t machine = fx_step(f, "machine", false, NULL, NULL);
    (void)machine;
    fx_step(f, "bad", human, human ? NO_REVIEW : NULL, policy);
    FX_EXPECT(f, fx_create_project(f, 0, NULL, NULL), ORC_FAILED_PRECONDITION, message);
    /* The whole creation rolled back. */
    assert_int_equal(fx_int(f, "SELECT count(*) FROM projects", 0, 0, 0), 0);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM tasks", 0, 0, 0), 0);
    fx_teardown((void **)&f);
}

static void test_lifecycle_malformed_assignment_policies_are_refused(void **state)
{
    (void)state;
    expect_policy_refused("{\"policy\":\"bogus\"}", true,
                          "Assignment policy incorrectly specified.");
    expect_policy_refused("{}", true, "Assignment policy incorrectly specified.");
    expect_policy_refused("{\"policy\":\"previously_completed_steps\"}", true,
                          "Assignment policy incorrectly specified.");
    expect_policy_refused("{\"policy\":\"previously_completed_steps\",\"steps\":[\"zzz\"]}", true,
                          "Assignment policy incorrectly specified.");
    expect_policy_refused("{\"policy\":\"previously_completed_steps\",\"steps\":[\"machine\"]}",
                          true, "Machine step should not be member of assignment policy");
    expect_policy_refused("{\"policy\":\"specified_worker\"}", true,
                          "Assignment policy incorrectly specified.");
    expect_policy_refused("{\"policy\":\"anyone_certified\"}", false,
                          "Machine step should not have assignment policy.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_model_labels_match_upstream),
        cmocka_unit_test(test_lifecycle_system_rng_stays_in_unit_interval),
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
        T(test_lifecycle_create_project_creates_root_tasks_only),
        T(test_lifecycle_create_project_refuses_bad_parameters),
        T(test_lifecycle_create_project_reports_unknown_workflow_and_version),
        T(test_lifecycle_assign_checks_entry_level_certification),
        T(test_lifecycle_assign_checks_reviewer_certification_then_seat),
        T(test_lifecycle_assign_reports_unknown_rows),
        T(test_lifecycle_step_without_certifications_lets_anyone_in),
        T(test_lifecycle_certification_needs_every_required_one),
        T(test_lifecycle_new_task_hands_out_entry_then_review_work),
        T(test_lifecycle_new_task_never_hands_a_worker_their_own_work),
        T(test_lifecycle_new_task_blocked_by_returned_task),
        T(test_lifecycle_new_task_orders_by_priority_then_start),
        T(test_lifecycle_paused_project_is_not_handed_out),
        T(test_lifecycle_machine_tasks_are_never_handed_to_workers),
        T(test_lifecycle_race_for_last_task_has_one_winner),
        T(test_lifecycle_save_permissions),
        T(test_lifecycle_submit_checks_in_upstream_order),
        T(test_lifecycle_next_status_table_refuses_illegal_transitions),
        T(test_lifecycle_sampled_review_rolls_at_each_level),
        T(test_lifecycle_rate_zero_never_reviews),
        cmocka_unit_test(test_lifecycle_bad_review_policy_fails_submit_and_rolls_back),
        T(test_lifecycle_completion_creates_dependent_tasks),
        T(test_lifecycle_previously_completed_steps_policy),
        T(test_lifecycle_specified_worker_policy),
        cmocka_unit_test(test_lifecycle_malformed_assignment_policies_are_refused),
#undef T
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
