/*
 * test_svc_task.c: the worker's own task methods (Dashboard, NewTask, TaskInfo, SaveTask,
 * SubmitTask) through orci_dispatch on a temporary store, with a workflow loaded through the
 * loader and projects created in write jobs.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>

#include "svc_fixture.h"

static int setup(void **state)
{
    sf_setup(state);
    sf_load_workflow(*state);
    return 0;
}

static int teardown(void **state)
{
    return sf_teardown(state);
}

/* ---- calls ---------------------------------------------------------------------------- */

static Orchestra__V1__Reply *new_task_rid(sf *f, const char *token, const char *role,
                                          const char *rid)
{
    Orchestra__V1__NewTaskRequest q;
    orchestra__v1__new_task_request__init(&q);
    q.role = (char *)role;
    return sf_call_rid(f, SF_TOKEN(token), "NewTask", &q.base, rid);
}

/* json_of unpacks the json field of a NewTask / TaskInfo / Dashboard reply (malloc'd). */
static char *json_of(Orchestra__V1__Reply *r, const char *method)
{
    if ((int)r->status != ORC_OK)
        fail_msg("%s: %s \"%s\"", method, orc_code_name((int)r->status), r->message);
    char *out = NULL;
    if (strcmp(method, "NewTask") == 0) {
        Orchestra__V1__NewTaskReply *m =
            orchestra__v1__new_task_reply__unpack(NULL, r->body.len, r->body.data);
        assert_non_null(m);
        out = strdup(m->json);
        orchestra__v1__new_task_reply__free_unpacked(m, NULL);
    } else if (strcmp(method, "TaskInfo") == 0) {
        Orchestra__V1__TaskInfoReply *m =
            orchestra__v1__task_info_reply__unpack(NULL, r->body.len, r->body.data);
        assert_non_null(m);
        out = strdup(m->json);
        orchestra__v1__task_info_reply__free_unpacked(m, NULL);
    } else {
        Orchestra__V1__DashboardReply *m =
            orchestra__v1__dashboard_reply__unpack(NULL, r->body.len, r->body.data);
        assert_non_null(m);
        out = strdup(m->json);
        orchestra__v1__dashboard_reply__free_unpacked(m, NULL);
    }
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_non_null(out);
    return out;
}

/* new_task asks for a task (which must succeed) and returns its task id. */
static int64_t new_task(sf *f, const char *token, const char *role)
{
    char *json = json_of(new_task_rid(f, token, role, NULL), "NewTask");
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    assert_non_null(doc);
    int64_t id = json_integer_value(json_object_get(doc, "id"));
    assert_true(id > 0);
    json_decref(doc);
    free(json);
    return id;
}

static Orchestra__V1__Reply *task_info(sf *f, const char *token, int64_t task_id)
{
    Orchestra__V1__TaskInfoRequest q;
    orchestra__v1__task_info_request__init(&q);
    q.task_id = task_id;
    return sf_call(f, SF_TOKEN(token), "TaskInfo", &q.base);
}

static Orchestra__V1__Reply *save(sf *f, const char *token, int64_t task_id, const char *data)
{
    Orchestra__V1__SaveTaskRequest q;
    orchestra__v1__save_task_request__init(&q);
    q.task_id = task_id;
    q.data = (char *)data;
    return sf_call(f, SF_TOKEN(token), "SaveTask", &q.base);
}

static Orchestra__V1__Reply *submit(sf *f, const char *token, int64_t task_id, const char *data,
                                    const char *command)
{
    Orchestra__V1__SubmitTaskRequest q;
    orchestra__v1__submit_task_request__init(&q);
    q.task_id = task_id;
    q.data = (char *)data;
    q.command = (char *)command;
    return sf_call(f, SF_TOKEN(token), "SubmitTask", &q.base);
}

static Orchestra__V1__Reply *dashboard(sf *f, sf_who who)
{
    Orchestra__V1__DashboardRequest q;
    orchestra__v1__dashboard_request__init(&q);
    return sf_call(f, who, "Dashboard", &q.base);
}

static const char SQL_TASK_STATUS[] = "SELECT status FROM tasks WHERE id = ?1";
static const char SQL_DATA[] = "SELECT in_progress_task_data FROM task_assignments"
                               " WHERE task_id = ?1 AND worker_id = ?2 AND is_deleted = 0";
static const char SQL_SUBMITTED[] = "SELECT i.submitted_data FROM iterations i"
                                    " JOIN task_assignments a ON a.id = i.assignment_id"
                                    " WHERE a.task_id = ?1 AND a.worker_id = ?2"
                                    " ORDER BY i.start_datetime DESC, i.id DESC LIMIT 1";
static const char SQL_ASSIGNMENTS[] = "SELECT count(*) FROM task_assignments WHERE task_id = ?1";

/* ---- Dashboard and identity ----------------------------------------------------------- */

static void test_svc_task_dashboard_lists_the_workers_task(void **state)
{
    sf *f = *state;
    char ada[128];
    sf_worker(f, "ada", false, ada, sizeof ada);
    sf_project(f, "First project", 5);
    int64_t task = new_task(f, ada, "entry_level");
    char *json = json_of(dashboard(f, SF_TOKEN(ada)), "Dashboard");
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    assert_non_null(doc);
    json_t *in_progress = json_object_get(json_object_get(doc, "tasks"), "in_progress");
    assert_int_equal(json_array_size(in_progress), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(in_progress, 0), "id")),
                     task);
    assert_true(json_is_false(json_object_get(doc, "reviewerStatus")));
    json_decref(doc);
    free(json);
}

static void test_svc_task_admin_key_cannot_call_worker_methods(void **state)
{
    sf *f = *state;
    sf_expect(dashboard(f, SF_ADMIN), ORC_PERMISSION_DENIED, "requires the worker scope");
    Orchestra__V1__NewTaskRequest q;
    orchestra__v1__new_task_request__init(&q);
    q.role = "entry_level";
    sf_expect(sf_call(f, SF_ADMIN, "NewTask", &q.base), ORC_PERMISSION_DENIED,
              "requires the worker scope");
    sf_expect(dashboard(f, SF_ANON), ORC_UNAUTHENTICATED, "credentials required");
}

typedef struct user_job {
    const char *hash;
} user_job;

/* A user who may log in but has no worker row. */
static int user_fn(orci_db *db, void *arg, orc_error *err)
{
    sqlite3_stmt *st = orci_db_stmt(db,
                                    "INSERT INTO users (username, password, created_at)"
                                    " VALUES ('staff', ?1, 1)",
                                    err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, ((user_job *)arg)->hash);
    return orci_db_step(db, st, err);
}

static void test_svc_task_user_without_worker_row_is_refused(void **state)
{
    sf *f = *state;
    char hash[ORCI_PASSWORD_HASH_MAX];
    assert_int_equal(orci_password_hash("staff-pw", 1000, hash, sizeof hash), 0);
    user_job j = {hash};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, user_fn, &j, &err), ORC_OK);
    char token[128];
    sf_login(f, "staff", "staff-pw", token, sizeof token);
    sf_expect(dashboard(f, SF_TOKEN(token)), ORC_PERMISSION_DENIED, "User is not a worker.");
    sf_expect(new_task_rid(f, token, "entry_level", NULL), ORC_PERMISSION_DENIED,
              "User is not a worker.");
    sf_expect(task_info(f, token, 1), ORC_PERMISSION_DENIED, "User is not a worker.");
    sf_expect(save(f, token, 1, "{}"), ORC_PERMISSION_DENIED, "User is not a worker.");
    sf_expect(submit(f, token, 1, "{}", "submit"), ORC_PERMISSION_DENIED, "User is not a worker.");
}

/* ---- NewTask -------------------------------------------------------------------------- */

static void test_svc_task_new_task_entry_level_returns_task_json(void **state)
{
    sf *f = *state;
    char ada[128];
    int64_t wid = sf_worker(f, "ada", false, ada, sizeof ada);
    int64_t project = sf_project(f, "First project", 5);
    char *json = json_of(new_task_rid(f, ada, "entry_level", NULL), "NewTask");
    int64_t task = sf_int(f, "SELECT id FROM tasks WHERE project_id = ?1", project, 0);
    int64_t assignment = sf_int(
        f, "SELECT id FROM task_assignments WHERE task_id = ?1 AND worker_id = ?2", task, wid);
    assert_true(task > 0 && assignment > 0);
    char want[256];
    snprintf(want, sizeof want,
             "{\"id\":%" PRId64 ",\"assignment_id\":%" PRId64
             ",\"step\":\"plan\",\"project\":\"v1\",\"detail\":\"First project\"}",
             task, assignment);
    assert_string_equal(json, want);
    free(json);
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 1); /* Processing */
    /* Nothing else to hand out. */
    sf_expect(new_task_rid(f, ada, "entry_level", NULL), ORC_NOT_FOUND, "No task");
}

static void test_svc_task_new_task_refuses_unknown_role(void **state)
{
    sf *f = *state;
    char ada[128];
    sf_worker(f, "ada", false, ada, sizeof ada);
    sf_project(f, "First project", 5);
    sf_expect(new_task_rid(f, ada, "boss", NULL), ORC_INVALID_ARGUMENT, "No such task type");
    sf_expect(new_task_rid(f, ada, "", NULL), ORC_INVALID_ARGUMENT, "No such task type");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM task_assignments", 0, 0), 0);
}

typedef struct assign_job {
    int64_t worker_id, task_id;
    int64_t now_us;
} assign_job;

static int assign_fn(orci_db *db, void *arg, orc_error *err)
{
    assign_job *j = arg;
    orci_lc lc = {.db = db, .now_us = j->now_us};
    int64_t aid = 0;
    return orci_lc_assign_task(&lc, j->worker_id, j->task_id, &aid, err);
}

static void test_svc_task_uncertified_worker_gets_no_task(void **state)
{
    sf *f = *state;
    char bob[128];
    int64_t bob_id = sf_add_worker(f, "bob", "pw-bob");
    sf_login(f, "bob", "pw-bob", bob, sizeof bob);
    int64_t project = sf_project(f, "First project", 5);
    sf_expect(new_task_rid(f, bob, "entry_level", NULL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    /* A training certification grants nothing. */
    sf_expect_ok(sf_certify_reply(f, "bob", "entry_level", "training", false));
    sf_expect(new_task_rid(f, bob, "entry_level", NULL), ORC_PERMISSION_DENIED,
              "No worker certificates");
    /* Assigned directly, the lifecycle names the reason. */
    int64_t task = sf_int(f, "SELECT id FROM tasks WHERE project_id = ?1", project, 0);
    assign_job j = {bob_id, task, f->tc.now_us};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, assign_fn, &j, &err), ORC_PERMISSION_DENIED);
    assert_string_equal(err.message, "Worker not certified for this task.");
    assert_int_equal(sf_int(f, SQL_ASSIGNMENTS, task, 0), 0);
}

static void test_svc_task_new_task_retry_returns_the_same_task(void **state)
{
    sf *f = *state;
    char ada[128];
    sf_worker(f, "ada", false, ada, sizeof ada);
    sf_project(f, "First project", 5);
    sf_project(f, "Second project", 1);
    char *first = json_of(new_task_rid(f, ada, "entry_level", "nt-1"), "NewTask");
    sf_advance(f, 1);
    char *again = json_of(new_task_rid(f, ada, "entry_level", "nt-1"), "NewTask");
    assert_string_equal(first, again);
    assert_non_null(strstr(first, "First project")); /* higher priority first */
    assert_int_equal(sf_int(f, "SELECT count(*) FROM task_assignments", 0, 0), 1);
    /* A new request id is a new request. */
    char *second = json_of(new_task_rid(f, ada, "entry_level", "nt-2"), "NewTask");
    assert_non_null(strstr(second, "Second project"));
    assert_int_equal(sf_int(f, "SELECT count(*) FROM task_assignments", 0, 0), 2);
    free(first);
    free(again);
    free(second);
}

/* ---- TaskInfo ------------------------------------------------------------------------- */

static void test_svc_task_info_only_for_the_workers_own_task(void **state)
{
    sf *f = *state;
    char ada[128], bob[128];
    sf_worker(f, "ada", false, ada, sizeof ada);
    sf_worker(f, "bob", false, bob, sizeof bob);
    sf_project(f, "First project", 5);
    int64_t task = new_task(f, ada, "entry_level");

    char *json = json_of(task_info(f, ada, task), "TaskInfo");
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "task_id")), task);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "step"), "slug")),
                        "plan");
    assert_true(json_is_false(json_object_get(doc, "is_read_only")));
    json_decref(doc);
    free(json);

    sf_expect(task_info(f, bob, task), ORC_PERMISSION_DENIED, "Worker is not associated with task");
    sf_expect(task_info(f, ada, task + 1000), ORC_NOT_FOUND, "No task for given id");
}

/* ---- SaveTask / SubmitTask ------------------------------------------------------------ */

static void test_svc_task_save_and_submit_with_data_then_reject(void **state)
{
    sf *f = *state;
    char ada[128], bob[128];
    int64_t ada_id = sf_worker(f, "ada", false, ada, sizeof ada);
    int64_t bob_id = sf_worker(f, "bob", true, bob, sizeof bob);
    sf_project(f, "First project", 5);
    int64_t task = new_task(f, ada, "entry_level");

    sf_expect_ok(save(f, ada, task, "{\"draft\": 1}"));
    sf_assert_text(f, SQL_DATA, task, ada_id, "{\"draft\":1}");
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 1); /* saving changes no status */
    sf_expect(save(f, bob, task, "{}"), ORC_PERMISSION_DENIED,
              "Worker is not associated with task");

    sf_expect_ok(submit(f, ada, task, "{\"final\": 2}", "submit"));
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 2); /* Pending Review */
    sf_assert_text(f, SQL_DATA, task, ada_id, "{\"final\":2}");
    sf_assert_text(f, SQL_SUBMITTED, task, ada_id, "{\"final\":2}");
    sf_expect(save(f, ada, task, "{}"), ORC_FAILED_PRECONDITION, "Worker is not allowed to save");

    assert_int_equal(new_task(f, bob, "reviewer"), task);
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 3); /* Reviewing */
    sf_expect_ok(submit(f, bob, task, "{\"fix\": \"this\"}", "reject"));
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 4); /* Post-review Processing */
    sf_assert_text(f, SQL_SUBMITTED, task, bob_id, "{\"fix\":\"this\"}");
    /* The work went back to ada with the reviewer's data. */
    sf_assert_text(f, SQL_DATA, task, ada_id, "{\"fix\":\"this\"}");
    char *json = json_of(dashboard(f, SF_TOKEN(ada)), "Dashboard");
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "tasks"), "returned")),
                     1);
    assert_true(json_is_true(json_object_get(doc, "preventNew")));
    json_decref(doc);
    free(json);
}

static void test_svc_task_submit_with_empty_data_keeps_the_saved_data(void **state)
{
    sf *f = *state;
    char ada[128], bob[128];
    int64_t ada_id = sf_worker(f, "ada", false, ada, sizeof ada);
    int64_t bob_id = sf_worker(f, "bob", true, bob, sizeof bob);
    int64_t project = sf_project(f, "First project", 5);
    int64_t task = new_task(f, ada, "entry_level");

    sf_expect_ok(save(f, ada, task, "{\"a\":1}"));
    sf_expect_ok(submit(f, ada, task, "", "submit"));
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 2);
    sf_assert_text(f, SQL_DATA, task, ada_id, "{\"a\":1}");
    sf_assert_text(f, SQL_SUBMITTED, task, ada_id, "{\"a\":1}");

    assert_int_equal(new_task(f, bob, "reviewer"), task);
    sf_assert_text(f, SQL_DATA, task, bob_id, "{\"a\":1}"); /* the submitted work */
    sf_expect_ok(save(f, bob, task, "{\"a\":1,\"b\":2}"));
    sf_expect_ok(submit(f, bob, task, "", "accept"));
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 5); /* Complete: one review level */
    sf_assert_text(f, SQL_DATA, task, bob_id, "{\"a\":1,\"b\":2}");
    sf_assert_text(f, SQL_SUBMITTED, task, bob_id, "{\"a\":1,\"b\":2}");
    /* The next step was created. */
    assert_int_equal(sf_int(f, "SELECT count(*) FROM tasks WHERE project_id = ?1", project, 0), 2);
    sf_expect(submit(f, bob, task, "", "accept"), ORC_FAILED_PRECONDITION, NULL);
}

static void test_svc_task_refuses_bad_data_and_commands(void **state)
{
    sf *f = *state;
    char ada[128];
    int64_t ada_id = sf_worker(f, "ada", false, ada, sizeof ada);
    sf_project(f, "First project", 5);
    int64_t task = new_task(f, ada, "entry_level");

    sf_expect(save(f, ada, task, "[1]"), ORC_INVALID_ARGUMENT, "task data");
    sf_expect(save(f, ada, task, "{\"a\":"), ORC_INVALID_ARGUMENT, "task data");
    sf_expect(save(f, ada, task, ""), ORC_INVALID_ARGUMENT, "task data");
    sf_expect(submit(f, ada, task, "{}", "approve"), ORC_INVALID_ARGUMENT, "Illegal command");
    sf_expect(submit(f, ada, task, "{}", ""), ORC_INVALID_ARGUMENT, "Illegal command");
    sf_expect(submit(f, ada, task, "\"text\"", "submit"), ORC_INVALID_ARGUMENT, "task data");
    sf_assert_text(f, SQL_DATA, task, ada_id, "{}");
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 1);
    /* A worker without an assignment on the task: the lifecycle's own error. */
    char bob[128];
    sf_worker(f, "bob", false, bob, sizeof bob);
    sf_expect(submit(f, bob, task, "", "submit"), ORC_PERMISSION_DENIED, NULL);
    sf_expect(submit(f, ada, task + 1000, "", "submit"), ORC_NOT_FOUND, "No task for given id");
    assert_int_equal(sf_int(f, SQL_TASK_STATUS, task, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_svc_task_dashboard_lists_the_workers_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_admin_key_cannot_call_worker_methods, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_user_without_worker_row_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_new_task_entry_level_returns_task_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_new_task_refuses_unknown_role, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_uncertified_worker_gets_no_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_new_task_retry_returns_the_same_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_info_only_for_the_workers_own_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_save_and_submit_with_data_then_reject, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_submit_with_empty_data_keeps_the_saved_data,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_task_refuses_bad_data_and_commands, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("svc_task", tests, NULL, NULL);
}
