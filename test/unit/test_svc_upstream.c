/*
 * test_svc_upstream.c: the handlers behind upstream HEAD's client endpoints and the import
 * (svc/upstream.c, GetProjectInformation's project_ids), driven through orci_dispatch:
 * AssignWorkerToTask answers upstream's {success, errors} kinds and changes nothing on a
 * refusal; MessageProjectTeam says there is no team channel; ImportFixture reports what it
 * did and SetWorkerPassword lets an imported worker log in.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "domain/import.h"
#include "svc_fixture.h"

typedef struct assign_result {
    int status;
    bool success;
    int64_t assignment_id;
    char kind[64];
    char message[256];
} assign_result;

static assign_result assign(sf *f, int64_t worker_id, int64_t task_id)
{
    Orchestra__V1__AssignWorkerToTaskRequest q;
    orchestra__v1__assign_worker_to_task_request__init(&q);
    q.worker_id = worker_id;
    q.task_id = task_id;
    Orchestra__V1__Reply *r = sf_call(f, SF_ADMIN, "AssignWorkerToTask", &q.base);
    assign_result out = {.status = (int)r->status};
    if ((int)r->status == ORC_OK) {
        Orchestra__V1__AssignWorkerToTaskReply *a =
            orchestra__v1__assign_worker_to_task_reply__unpack(NULL, r->body.len, r->body.data);
        assert_non_null(a);
        out.success = a->success;
        out.assignment_id = a->assignment_id;
        snprintf(out.kind, sizeof out.kind, "%s", a->error_kind);
        snprintf(out.message, sizeof out.message, "%s", a->error_message);
        orchestra__v1__assign_worker_to_task_reply__free_unpacked(a, NULL);
    }
    orchestra__v1__reply__free_unpacked(r, NULL);
    return out;
}

static void expect_refusal(sf *f, int64_t worker, int64_t task, const char *kind,
                           const char *message)
{
    assign_result a = assign(f, worker, task);
    assert_int_equal(a.status, ORC_OK); /* upstream answers 200 whatever happened */
    assert_false(a.success);
    assert_string_equal(a.kind, kind);
    assert_string_equal(a.message, message);
}

static void test_assign_worker_to_task_answers_upstreams_kinds(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    int64_t p = sf_project(f, "one", 1);
    int64_t task = sf_int(f, "SELECT id FROM tasks WHERE project_id = ?1", p, 0);
    char token[256];
    int64_t editor = sf_worker(f, "editor", false, token, sizeof token);
    int64_t stranger = sf_add_worker(f, "stranger", "pw-stranger");

    expect_refusal(f, stranger, task, "worker_certification_error",
                   "Worker not certified for this task.");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM task_assignments", 0, 0), 0);
    expect_refusal(f, 999, task, "error", "Worker matching query does not exist.");
    expect_refusal(f, editor, 999, "error", "No task for given id");
    expect_refusal(f, 0, task, "error", "Worker matching query does not exist.");

    assign_result ok = assign(f, editor, task);
    assert_true(ok.success);
    assert_string_equal(ok.kind, "");
    assert_int_equal(ok.assignment_id,
                     sf_int(f, "SELECT id FROM task_assignments WHERE task_id = ?1", task, 0));
    assert_int_equal(sf_int(f, "SELECT status FROM tasks WHERE id = ?1", task, 0),
                     ORCI_TASK_PROCESSING);
    expect_refusal(f, editor, task, "task_assignment_error",
                   "Status incompatible with new assignment");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM task_assignments", 0, 0), 1);
}

static void test_message_project_team_has_no_team_channel(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    int64_t p = sf_project(f, "one", 1);
    Orchestra__V1__MessageProjectTeamRequest q;
    orchestra__v1__message_project_team_request__init(&q);
    q.project_id = p;
    q.message = "hello team";
    sf_expect(sf_call(f, SF_ADMIN, "MessageProjectTeam", &q.base), ORC_FAILED_PRECONDITION,
              "has no team channel configured");
    q.project_id = p + 100;
    sf_expect(sf_call(f, SF_ADMIN, "MessageProjectTeam", &q.base), ORC_NOT_FOUND,
              "No project for given id");
}

static void test_project_information_for_a_list_of_ids(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    int64_t p = sf_project(f, "one", 1);
    int64_t ids[] = {p, p + 50};
    Orchestra__V1__GetProjectInformationRequest q;
    orchestra__v1__get_project_information_request__init(&q);
    q.project_ids = ids;
    q.n_project_ids = 2;
    Orchestra__V1__Reply *r = sf_call(f, SF_ADMIN, "GetProjectInformation", &q.base);
    assert_int_equal((int)r->status, ORC_OK);
    Orchestra__V1__GetProjectInformationReply *g =
        orchestra__v1__get_project_information_reply__unpack(NULL, r->body.len, r->body.data);
    json_t *doc = json_loads(g->json, 0, NULL);
    assert_int_equal(json_object_size(doc), 1);
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)p);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(doc, key), "project"), "id")),
                     p);
    json_decref(doc);
    orchestra__v1__get_project_information_reply__free_unpacked(g, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    int64_t many[501];
    for (size_t i = 0; i < 501; i++)
        many[i] = (int64_t)i + 1;
    q.project_ids = many;
    q.n_project_ids = 501;
    sf_expect(sf_call(f, SF_ADMIN, "GetProjectInformation", &q.base), ORC_INVALID_ARGUMENT,
              "at most 500 project ids");
}

static void test_imported_worker_logs_in_once_given_a_password(void **state)
{
    sf *f = *state;
    Orchestra__V1__ImportFixtureRequest q;
    orchestra__v1__import_fixture_request__init(&q);
    q.fixture_json = "[{\"model\": \"auth.user\", \"pk\": 5, \"fields\": {\"username\": \"imp\","
                     " \"password\": \"pbkdf2_sha256$1$s$h\"}},"
                     " {\"model\": \"orchestra.worker\", \"pk\": 5, \"fields\": {\"user\": 5}},"
                     " {\"model\": \"orchestra.payrate\", \"pk\": 1, \"fields\": {}}]";
    Orchestra__V1__Reply *r = sf_call(f, SF_ADMIN, "ImportFixture", &q.base);
    assert_int_equal((int)r->status, ORC_OK);
    Orchestra__V1__ImportFixtureReply *ir =
        orchestra__v1__import_fixture_reply__unpack(NULL, r->body.len, r->body.data);
    assert_int_equal(ir->n_counts, ORCI_IMPORT_N_MODELS);
    assert_string_equal(ir->counts[0]->model, "auth.user");
    assert_int_equal(ir->counts[0]->created, 1);
    assert_int_equal(ir->n_skipped, 1);
    assert_string_equal(ir->skipped[0]->model, "orchestra.payrate");
    assert_int_equal(ir->n_users_without_password, 1);
    assert_string_equal(ir->users_without_password[0], "imp");
    orchestra__v1__import_fixture_reply__free_unpacked(ir, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);

    /* No password: no login, whatever is tried (an empty one is refused earlier). */
    sf_expect(sf_login_rid(f, "imp", "pbkdf2_sha256$1$s$h", NULL), ORC_UNAUTHENTICATED, NULL);
    Orchestra__V1__SetWorkerPasswordRequest pw;
    orchestra__v1__set_worker_password_request__init(&pw);
    pw.username = "imp";
    pw.password = "new-secret";
    sf_expect_ok(sf_call(f, SF_ADMIN, "SetWorkerPassword", &pw.base));
    char token[256];
    sf_login(f, "imp", "new-secret", token, sizeof token);
    pw.username = "nobody";
    sf_expect(sf_call(f, SF_ADMIN, "SetWorkerPassword", &pw.base), ORC_NOT_FOUND,
              "Worker nobody not found");
    pw.username = "imp";
    pw.password = "";
    sf_expect(sf_call(f, SF_ADMIN, "SetWorkerPassword", &pw.base), ORC_INVALID_ARGUMENT,
              "A password is required.");
    /* A session token is no admin. */
    pw.password = "other";
    sf_expect(sf_call(f, SF_TOKEN(token), "SetWorkerPassword", &pw.base), ORC_PERMISSION_DENIED,
              NULL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sf_setup, sf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_assign_worker_to_task_answers_upstreams_kinds),
        T(test_message_project_team_has_no_team_channel),
        T(test_project_information_for_a_list_of_ids),
        T(test_imported_worker_logs_in_once_given_a_password),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
