/*
 * test_svc_webapp.c: the coordinator's methods for the experts' web app (svc/webapp.c),
 * driven through the dispatcher like the other svc tests: WhoAmI, ChangePassword,
 * TaskDetails, TaskInterface, SetWorkerAdmin, ManagedProjectInformation, ManageProject,
 * plus the per-address login limit and the loader's interface modules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svc_fixture.h"
#include "domain/workers.h"
#include "workflow/interfaces.h"

/* reply_json unpacks the one "json" string of a reply body of desc (malloc'd) and frees r. */
static json_t *reply_json(Orchestra__V1__Reply *r, const ProtobufCMessageDescriptor *desc)
{
    if ((int)r->status != ORC_OK)
        fail_msg("%s: %s", orc_code_name((int)r->status), r->message);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, r->body.len, r->body.data);
    assert_non_null(m);
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(desc, "json");
    assert_non_null(fd);
    const char *text = *(const char **)((const char *)m + fd->offset);
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("reply is not JSON: %s", text);
    protobuf_c_message_free_unpacked(m, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return v;
}

static Orchestra__V1__Reply *whoami(sf *f, const char *token)
{
    Orchestra__V1__WhoAmIRequest q;
    orchestra__v1__who_am_irequest__init(&q);
    return sf_call(f, SF_TOKEN(token), "WhoAmI", &q.base);
}

static Orchestra__V1__Reply *set_admin(sf *f, sf_who who, const char *username, bool on)
{
    Orchestra__V1__SetWorkerAdminRequest q;
    orchestra__v1__set_worker_admin_request__init(&q);
    q.username = (char *)username;
    q.project_admin = on;
    return sf_call(f, who, "SetWorkerAdmin", &q.base);
}

static Orchestra__V1__Reply *change_password(sf *f, const char *token, const char *old_pw,
                                             const char *new_pw)
{
    Orchestra__V1__ChangePasswordRequest q;
    orchestra__v1__change_password_request__init(&q);
    q.old_password = (char *)old_pw;
    q.new_password = (char *)new_pw;
    return sf_call(f, SF_TOKEN(token), "ChangePassword", &q.base);
}

static Orchestra__V1__Reply *login_from(sf *f, const char *username, const char *password,
                                        const char *address)
{
    Orchestra__V1__LoginRequest q;
    orchestra__v1__login_request__init(&q);
    q.username = (char *)username;
    q.password = (char *)password;
    q.client_address = (char *)address;
    return sf_call(f, SF_ANON, "Login", &q.base);
}

/* new_task takes the next task for role with token; returns its task id. */
static int64_t new_task(sf *f, const char *token, const char *role)
{
    Orchestra__V1__NewTaskRequest q;
    orchestra__v1__new_task_request__init(&q);
    q.role = (char *)role;
    json_t *v = reply_json(sf_call(f, SF_TOKEN(token), "NewTask", &q.base),
                           &orchestra__v1__new_task_reply__descriptor);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    json_decref(v);
    return id;
}

static Orchestra__V1__Reply *submit(sf *f, const char *token, int64_t task, const char *data,
                                    const char *command)
{
    Orchestra__V1__SubmitTaskRequest q;
    orchestra__v1__submit_task_request__init(&q);
    q.task_id = task;
    q.data = (char *)data;
    q.command = (char *)command;
    return sf_call(f, SF_TOKEN(token), "SubmitTask", &q.base);
}

static Orchestra__V1__Reply *details(sf *f, const char *token, int64_t task)
{
    Orchestra__V1__TaskDetailsRequest q;
    orchestra__v1__task_details_request__init(&q);
    q.task_id = task;
    return sf_call(f, SF_TOKEN(token), "TaskDetails", &q.base);
}

static Orchestra__V1__Reply *manage(sf *f, sf_who who, const char *op, int64_t project,
                                    int64_t task, int64_t assignment, int64_t iteration,
                                    const char *username, bool commit)
{
    Orchestra__V1__ManageProjectRequest q;
    orchestra__v1__manage_project_request__init(&q);
    q.operation = (char *)op;
    q.project_id = project;
    q.task_id = task;
    q.assignment_id = assignment;
    q.iteration_id = iteration;
    q.username = (char *)(username ? username : "");
    q.commit = commit;
    return sf_call(f, who, "ManageProject", &q.base);
}

static Orchestra__V1__Reply *managed_info(sf *f, sf_who who, int64_t project)
{
    Orchestra__V1__ManagedProjectInformationRequest q;
    orchestra__v1__managed_project_information_request__init(&q);
    q.project_id = project;
    return sf_call(f, who, "ManagedProjectInformation", &q.base);
}

/* ---- account ---------------------------------------------------------------------------- */

static void test_webapp_whoami_and_the_project_admin_role(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char token[128];
    sf_worker(f, "ada", false, token, sizeof token);
    Orchestra__V1__Reply *r = whoami(f, token);
    assert_int_equal(r->status, ORC_OK);
    Orchestra__V1__WhoAmIReply *w =
        orchestra__v1__who_am_ireply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(w);
    assert_string_equal(w->username, "ada");
    assert_string_equal(w->first_name, "First");
    assert_false(w->project_admin);
    assert_int_equal(w->expires_at, SF_T0_US + SF_TTL_S * SF_SECOND);
    orchestra__v1__who_am_ireply__free_unpacked(w, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);

    /* Only an admin key grants the role; a worker cannot grant it to itself. */
    sf_expect(set_admin(f, SF_TOKEN(token), "ada", true), ORC_PERMISSION_DENIED, "admin scope");
    sf_expect(set_admin(f, SF_ADMIN, "nobody", true), ORC_NOT_FOUND, "nobody");
    sf_expect_ok(set_admin(f, SF_ADMIN, "ada", true));
    assert_int_equal(sf_int(f, "SELECT project_admin FROM users WHERE username = 'ada'", 0, 0), 1);
    sf_expect_ok(set_admin(f, SF_ADMIN, "ada", false));
    assert_int_equal(sf_int(f, "SELECT project_admin FROM users WHERE username = 'ada'", 0, 0), 0);
    sf_expect(whoami(f, "not-a-token"), ORC_UNAUTHENTICATED, NULL);
}

static void test_webapp_change_password_checks_and_signs_out_other_sessions(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char token[128], other[128];
    sf_worker(f, "ada", false, token, sizeof token);
    sf_login(f, "ada", "pw-ada", other, sizeof other);

    sf_expect(change_password(f, token, "pw-ada", "short"), ORC_INVALID_ARGUMENT, "too short");
    sf_expect(change_password(f, token, "pw-ada", "12345678901"), ORC_INVALID_ARGUMENT,
              "entirely numeric");
    sf_expect(change_password(f, token, "wrong", "a-long-new-one"), ORC_INVALID_ARGUMENT,
              "Your old password was entered incorrectly.");
    /* the wrong guess counts toward the login limit */
    assert_int_equal(sf_int(f, "SELECT count(*) FROM login_failures WHERE username = 'ada'", 0, 0),
                     1);

    sf_expect_ok(change_password(f, token, "pw-ada", "a-long-new-one"));
    sf_expect(sf_login_rid(f, "ada", "pw-ada", NULL), ORC_UNAUTHENTICATED, NULL);
    char fresh[128];
    sf_login(f, "ada", "a-long-new-one", fresh, sizeof fresh);
    /* the session that changed it stays, the other one is signed out */
    sf_expect_ok(whoami(f, token));
    sf_expect(whoami(f, other), ORC_UNAUTHENTICATED, NULL);
}

static void test_webapp_change_password_is_rate_limited(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char token[128];
    sf_worker(f, "ada", false, token, sizeof token);
    for (int i = 0; i < ORCI_LOGIN_MAX_FAILURES; i++)
        sf_expect(change_password(f, token, "guess", "a-long-new-one"), ORC_INVALID_ARGUMENT,
                  "incorrectly");
    /* now even the right old password is refused until the window passes */
    sf_expect(change_password(f, token, "pw-ada", "a-long-new-one"), ORC_RESOURCE_EXHAUSTED,
              "Too many failed login attempts");
    sf_advance(f, ORCI_LOGIN_WINDOW_US / SF_SECOND + 1);
    sf_expect_ok(change_password(f, token, "pw-ada", "a-long-new-one"));
}

static void test_webapp_login_failures_are_limited_per_address(void **state)
{
    sf *f = *state;
    sf_add_worker(f, "victim", "right-password");
    char name[32];
    /* One address guesses across many names: each name stays under its own limit. */
    for (int i = 0; i < ORCI_LOGIN_MAX_FAILURES_PER_ADDRESS; i++) {
        snprintf(name, sizeof name, "user%d", i);
        sf_expect(login_from(f, name, "guess", "203.0.113.7"), ORC_UNAUTHENTICATED, NULL);
    }
    assert_int_equal(sf_int(f,
                            "SELECT count(*) FROM login_failures"
                            " WHERE client_address = '203.0.113.7'",
                            0, 0),
                     ORCI_LOGIN_MAX_FAILURES_PER_ADDRESS);
    /* that address is now slowed down, even with a right password */
    sf_expect(login_from(f, "victim", "right-password", "203.0.113.7"), ORC_RESOURCE_EXHAUSTED,
              "Too many failed login attempts");
    /* the real user, elsewhere, is not */
    sf_expect_ok(login_from(f, "victim", "right-password", "198.51.100.1"));
    /* and the address gets its turn back once the window has passed */
    sf_advance(f, ORCI_LOGIN_WINDOW_US / SF_SECOND + 1);
    sf_expect_ok(login_from(f, "victim", "right-password", "203.0.113.7"));
}

/* ---- task pages ---------------------------------------------------------------------------- */

static void test_webapp_task_details_history_and_access(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char core[128], reviewer[128], stranger[128];
    int64_t core_id = sf_worker(f, "core", false, core, sizeof core);
    int64_t rev_id = sf_worker(f, "rev", true, reviewer, sizeof reviewer);
    sf_worker(f, "stranger", false, stranger, sizeof stranger);
    sf_project(f, "an article", 5);
    int64_t task = new_task(f, core, "entry_level");
    sf_expect_ok(submit(f, core, task, "{\"text\":\"draft\"}", "submit"));
    sf_advance(f, 1);
    assert_int_equal(new_task(f, reviewer, "reviewer"), task);
    sf_expect_ok(
        submit(f, reviewer, task, "{\"text\":\"draft\",\"_review_comment\":\"more\"}", "reject"));

    json_t *v = reply_json(details(f, core, task), &orchestra__v1__task_details_reply__descriptor);
    json_t *step = json_object_get(v, "step");
    assert_string_equal(json_string_value(json_object_get(step, "slug")), "plan");
    assert_string_equal(json_string_value(json_object_get(step, "description")), "Plan it");
    assert_true(json_is_false(json_object_get(v, "has_module")));
    json_t *h = json_object_get(v, "history");
    assert_int_equal(json_array_size(h), 3); /* core's, the reviewer's, core's again */
    const char *statuses[] = {"Requested Review", "Provided Review", "Processing"};
    const char *who[] = {"core", "rev", "core"};
    for (size_t i = 0; i < 3; i++) {
        json_t *it = json_array_get(h, i);
        assert_string_equal(json_string_value(json_object_get(it, "status")), statuses[i]);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(it, "worker"), "username")), who[i]);
    }
    json_t *review = json_object_get(json_array_get(h, 1), "submitted_data");
    assert_string_equal(json_string_value(json_object_get(review, "_review_comment")), "more");
    assert_true(json_is_null(json_object_get(json_array_get(h, 2), "end_datetime")));
    json_decref(v);

    /* the dashboard's cards: the worker's own assignments only */
    int64_t mine = sf_int(f, "SELECT id FROM task_assignments WHERE worker_id = ?1", core_id, 0);
    int64_t theirs = sf_int(f, "SELECT id FROM task_assignments WHERE worker_id = ?1", rev_id, 0);
    Orchestra__V1__DashboardDetailsRequest dq;
    orchestra__v1__dashboard_details_request__init(&dq);
    int64_t ids[] = {mine, theirs, 12345};
    dq.assignment_ids = ids;
    dq.n_assignment_ids = 3;
    json_t *cards = reply_json(sf_call(f, SF_TOKEN(core), "DashboardDetails", &dq.base),
                               &orchestra__v1__dashboard_details_reply__descriptor);
    assert_int_equal(json_object_size(cards), 1);
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)mine);
    json_t *card = json_object_get(cards, key);
    assert_string_equal(json_string_value(json_object_get(card, "workflow")), "News");
    char t0[40], t1[40];
    orci_time_format(SF_T0_US, t0, sizeof t0);
    orci_time_format(SF_T0_US + SF_SECOND, t1, sizeof t1);
    assert_string_equal(json_string_value(json_object_get(card, "assigned_at")), t0);
    assert_string_equal(json_string_value(json_object_get(card, "changed_at")), t1);
    json_decref(cards);

    sf_expect(details(f, stranger, task), ORC_PERMISSION_DENIED,
              "Worker is not associated with task");
    sf_expect(details(f, core, 999), ORC_NOT_FOUND, "No task for given id");
    Orchestra__V1__TaskInterfaceRequest q;
    orchestra__v1__task_interface_request__init(&q);
    q.task_id = task;
    sf_expect(sf_call(f, SF_TOKEN(core), "TaskInterface", &q.base), ORC_NOT_FOUND,
              "no interface module");
}

/* load_with_module loads a one-step workflow whose step names module, with files. */
static int load_with_module(sf *f, const char *ui, const char *path, const char *text,
                            orc_error *err)
{
    char version[600];
    snprintf(version, sizeof version,
             "{\"slug\":\"v1\",\"name\":\"V\",\"description\":\"d\",\"steps\":[{\"slug\":\"form\","
             "\"name\":\"Form\",\"description\":\"Fill it\",\"user_interface\":%s,"
             "\"review_policy\":{\"policy\":\"no_review\"}}]}",
             ui);
    Orchestra__V1__WorkflowBundle b;
    Orchestra__V1__VersionFile vf, *vfs[1] = {&vf};
    Orchestra__V1__WorkflowFile wfile, *files[1] = {&wfile};
    orchestra__v1__workflow_bundle__init(&b);
    orchestra__v1__version_file__init(&vf);
    orchestra__v1__workflow_file__init(&wfile);
    b.app = "forms";
    b.code_directory = "/apps/forms";
    b.workflow_json = "{\"slug\":\"forms\",\"name\":\"Forms\",\"description\":\"d\","
                      "\"certifications\":[]}";
    vf.dir = "v1";
    vf.json = version;
    b.versions = vfs;
    b.n_versions = 1;
    if (path) {
        wfile.path = (char *)path;
        wfile.text = (char *)text;
        b.files = files;
        b.n_files = 1;
    }
    orci_load_plan *p = NULL;
    int rc = orci_loader_plan(&b, "v1", &p, err);
    if (rc != ORC_OK)
        return rc;
    sf_load_job j = {p, f->tc.now_us};
    rc = orci_store_write(f->srv.store, sf_load_fn, &j, err);
    orci_load_plan_free(p);
    return rc;
}

static void test_webapp_interface_modules_are_checked_kept_and_served(void **state)
{
    sf *f = *state;
    orc_error err = {0};
    const char *ui = "{\"module\":\"v1/ui/form.js\"}";
    assert_int_equal(load_with_module(f, ui, NULL, NULL, &err), ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "does not hold"));
    assert_int_equal(load_with_module(f, "{\"module\":\"../x.js\"}", "../x.js", "x", &err),
                     ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "inside the workflow folder"));
    assert_int_equal(load_with_module(f, "{\"module\":\"v1/f.js\",\"module_source\":\"x\"}",
                                      "v1/f.js", "x", &err),
                     ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "filled in by the loader"));
    const char *src = "export default function mount(root, api) { root.textContent = 'hi'; }";
    assert_int_equal(load_with_module(f, ui, "v1/ui/form.js", src, &err), ORC_OK);

    /* anyone may take the step (no certification); its page says it has a module */
    char token[128];
    sf_add_worker(f, "ada", "pw-ada");
    sf_login(f, "ada", "pw-ada", token, sizeof token);
    Orchestra__V1__CreateProjectRequest cq;
    orchestra__v1__create_project_request__init(&cq);
    cq.workflow = "forms";
    cq.version = "v1";
    cq.description = "a form";
    cq.task_class = "real";
    sf_expect_ok(sf_call(f, SF_ADMIN, "CreateProject", &cq.base));
    int64_t task = new_task(f, token, "entry_level");
    json_t *v = reply_json(details(f, token, task), &orchestra__v1__task_details_reply__descriptor);
    assert_true(json_is_true(json_object_get(v, "has_module")));
    json_t *got_ui = json_object_get(v, "user_interface");
    assert_string_equal(json_string_value(json_object_get(got_ui, "module")), "v1/ui/form.js");
    assert_null(json_object_get(got_ui, "module_source")); /* the text is served on its own */
    json_decref(v);

    Orchestra__V1__TaskInterfaceRequest q;
    orchestra__v1__task_interface_request__init(&q);
    q.task_id = task;
    Orchestra__V1__Reply *r = sf_call(f, SF_TOKEN(token), "TaskInterface", &q.base);
    assert_int_equal(r->status, ORC_OK);
    Orchestra__V1__TaskInterfaceReply *ti =
        orchestra__v1__task_interface_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(ti);
    assert_string_equal(ti->path, "v1/ui/form.js");
    assert_string_equal(ti->source, src);
    orchestra__v1__task_interface_reply__free_unpacked(ti, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

static void test_webapp_module_paths(void **state)
{
    (void)state;
    assert_true(orci_module_path_valid("v1/interface/rate.js"));
    assert_true(orci_module_path_valid("form.mjs"));
    const char *bad[] = {"",          "/etc/x.js", "../x.js",   "v1/../../x.js", "v1//x.js",
                         "./x.js",    "x.json",    "v1\\x.js",  "v1/x.js/",      ".js",
                         "v1/./x.js", "x.js.map",  "v1/../x.js"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (orci_module_path_valid(bad[i]))
            fail_msg("%s accepted", bad[i]);
}

/* ---- project management ------------------------------------------------------------------- */

static void test_webapp_project_management_for_admins_only(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char core[128], boss[128];
    sf_worker(f, "core", false, core, sizeof core);
    sf_worker(f, "boss", false, boss, sizeof boss);
    int64_t project = sf_project(f, "an article", 5);
    int64_t task = sf_int(f, "SELECT id FROM tasks WHERE project_id = ?1", project, 0);

    sf_expect(managed_info(f, SF_TOKEN(core), project), ORC_PERMISSION_DENIED,
              "You do not have permission to perform this action.");
    sf_expect(manage(f, SF_TOKEN(core), "assign_task", 0, task, 0, 0, "core", false),
              ORC_PERMISSION_DENIED, "permission");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM task_assignments", 0, 0), 0);

    sf_expect_ok(set_admin(f, SF_ADMIN, "boss", true));
    json_t *a = reply_json(manage(f, SF_TOKEN(boss), "assign_task", 0, task, 0, 0, "core", false),
                           &orchestra__v1__manage_project_reply__descriptor);
    int64_t assignment = json_integer_value(json_object_get(a, "assignment_id"));
    assert_true(assignment > 0);
    json_decref(a);
    sf_expect(manage(f, SF_TOKEN(boss), "no_such_thing", project, 0, 0, 0, NULL, false),
              ORC_INVALID_ARGUMENT, "Unknown project management operation");

    /* the view: step names, and the open iteration ends "now" */
    sf_advance(f, 60);
    json_t *v = reply_json(managed_info(f, SF_TOKEN(boss), project),
                           &orchestra__v1__managed_project_information_reply__descriptor);
    json_t *step0 = json_array_get(json_object_get(v, "steps"), 0);
    assert_string_equal(json_string_value(json_object_get(step0, "name")), "Plan");
    json_t *it = json_array_get(
        json_object_get(
            json_array_get(json_object_get(json_object_get(json_object_get(v, "tasks"), "plan"),
                                           "assignments"),
                           0),
            "iterations"),
        0);
    char now[40];
    orci_time_format(f->tc.now_us, now, sizeof now);
    assert_string_equal(json_string_value(json_object_get(it, "end_datetime")), now);
    int64_t iteration = json_integer_value(json_object_get(it, "id"));
    json_decref(v);

    /* revert the submitted work: a preview changes nothing, the commit does */
    sf_expect_ok(submit(f, core, task, "{\"text\":\"done\"}", "submit"));
    assert_int_equal(sf_int(f, "SELECT status FROM tasks WHERE id = ?1", task, 0),
                     ORCI_TASK_PENDING_REVIEW);
    json_t *audit =
        reply_json(manage(f, SF_ADMIN, "revert_task", 0, task, 0, iteration, NULL, false),
                   &orchestra__v1__manage_project_reply__descriptor);
    assert_non_null(json_object_get(audit, "assignments"));
    json_decref(audit);
    assert_int_equal(sf_int(f, "SELECT status FROM tasks WHERE id = ?1", task, 0),
                     ORCI_TASK_PENDING_REVIEW);
    json_decref(
        reply_json(manage(f, SF_TOKEN(boss), "revert_task", 0, task, 0, iteration, NULL, true),
                   &orchestra__v1__manage_project_reply__descriptor));
    assert_int_equal(sf_int(f, "SELECT status FROM tasks WHERE id = ?1", task, 0),
                     ORCI_TASK_PROCESSING);

    json_decref(reply_json(manage(f, SF_TOKEN(boss), "end_project", project, 0, 0, 0, NULL, false),
                           &orchestra__v1__manage_project_reply__descriptor));
    assert_int_equal(sf_int(f, "SELECT status FROM projects WHERE id = ?1", project, 0),
                     ORCI_PROJECT_ABORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_webapp_whoami_and_the_project_admin_role, sf_setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(
            test_webapp_change_password_checks_and_signs_out_other_sessions, sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_webapp_change_password_is_rate_limited, sf_setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_webapp_login_failures_are_limited_per_address,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_webapp_task_details_history_and_access, sf_setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_webapp_interface_modules_are_checked_kept_and_served,
                                        sf_setup, sf_teardown),
        cmocka_unit_test(test_webapp_module_paths),
        cmocka_unit_test_setup_teardown(test_webapp_project_management_for_admins_only, sf_setup,
                                        sf_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
