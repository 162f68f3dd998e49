/*
 * test_svc_project.c: the project and project-management handlers (svc_project.c) driven
 * through orci_dispatch with signed envelopes, on a temporary store holding a workflow
 * loaded by the loader and workers added by workers.c.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "rpc/dispatch.h"
#include "rpc/keys.h"
#include "workflow/loader.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "svc/server.h"
#include "sign.h"
#include "store/store.h"
#include "support.h"
#include "domain/workers.h"

#define T0_US (1700000000LL * 1000000) /* the test clock's start */
#define SECRET "s3cret-of-test"
#define ADMIN "admin-key" /* admin and project scopes */
#define PROJ "proj-key"   /* project scope only */

typedef struct test_clock {
    int64_t now_us;
} test_clock;

static int64_t test_clock_now(void *arg)
{
    return ((test_clock *)arg)->now_us;
}

/* The scripted random source: always 0.0 (any sampled review happens), counting calls. */
static double test_uniform(void *arg)
{
    (*(int *)arg)++;
    return 0.0;
}

typedef struct fixture {
    char dir[256];
    char path[320];
    test_clock tc;
    orci_clock clock;
    int rng_calls;
    orci_rng rng;
    orci_server srv;
    orci_db *rdb;
    int next_request;
} fixture;

/* ---- set-up ----------------------------------------------------------------------- */

/* A workflow "news": draft (human, needs "editor", no review) -> edit (human). */
static const char WF[] = "{'slug':'news','name':'News','description':'Write news.',"
                         " 'certifications':[{'slug':'editor','name':'Editor','description':'E'}]}";
static const char V1[] = "{'slug':'v1','name':'Version 1','description':'First.','steps':["
                         " {'slug':'draft','name':'Draft','description':'Draft it',"
                         "  'required_certifications':['editor'],"
                         "  'review_policy':{'policy':'no_review'}},"
                         " {'slug':'edit','name':'Edit','description':'Edit it',"
                         "  'creation_depends_on':['draft'],"
                         "  'review_policy':{'policy':'no_review'}}]}";

/* q copies JSON written with single quotes into real JSON (malloc'd). */
static char *q(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static int load_fn(orci_db *db, void *arg, orc_error *err)
{
    return orci_loader_apply(db, arg, false, T0_US, err);
}

static void load_workflow(fixture *f)
{
    Orchestra__V1__WorkflowBundle *b = malloc(sizeof *b);
    assert_non_null(b);
    orchestra__v1__workflow_bundle__init(b);
    b->app = strdup("news");
    b->code_directory = strdup("/apps/news");
    b->workflow_json = q(WF);
    b->versions = malloc(sizeof *b->versions);
    assert_non_null(b->versions);
    Orchestra__V1__VersionFile *vf = malloc(sizeof *vf);
    assert_non_null(vf);
    orchestra__v1__version_file__init(vf);
    vf->dir = strdup("v1");
    vf->json = q(V1);
    b->versions[b->n_versions++] = vf;

    orci_load_plan *p = NULL;
    orc_error err = {0};
    if (orci_loader_plan(b, "v1", &p, &err) != ORC_OK)
        fail_msg("plan: %s", err.message);
    if (orci_store_write(f->srv.store, load_fn, p, &err) != ORC_OK)
        fail_msg("load: %s", err.message);
    orci_load_plan_free(p);
    orci_bundle_free(b);
}

/* Keys, and workers ada and bob (both certified editors) and cal (not certified). */
static int people_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    int rc = orci_keys_ensure(db, "admin", ORCI_SCOPE_ADMIN | ORCI_SCOPE_PROJECT, ADMIN, SECRET,
                              T0_US, err);
    if (rc == ORC_OK)
        rc = orci_keys_ensure(db, "project", ORCI_SCOPE_PROJECT, PROJ, SECRET, T0_US, err);
    static const char *const names[] = {"ada", "bob", "cal"};
    for (size_t i = 0; i < 3 && rc == ORC_OK; i++) {
        orci_user_params up = {.username = names[i], .first_name = names[i], .last_name = "L"};
        rc = orci_workers_add(db, &up, T0_US, NULL, NULL, err);
        if (rc == ORC_OK && i < 2)
            rc = orci_workers_certify(db, names[i], "news", "editor", ORCI_ROLE_ENTRY_LEVEL,
                                      ORCI_TASK_CLASS_REAL, true, T0_US, err);
    }
    return rc;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("svc_project", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts so = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&so, &f->srv.store, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->srv.store, &f->rdb, &err), ORC_OK);
    f->tc.now_us = T0_US;
    f->clock.now_us = test_clock_now;
    f->clock.arg = &f->tc;
    f->rng.uniform = test_uniform;
    f->rng.arg = &f->rng_calls;
    f->srv.clock = &f->clock;
    f->srv.rng = &f->rng;
    f->srv.settings.auth_window_s = 300;
    f->srv.settings.pbkdf2_iterations = 1000;
    f->srv.settings.session_ttl_s = 3600;
    f->srv.started_at_us = T0_US;
    load_workflow(f);
    if (orci_store_write(f->srv.store, people_fn, NULL, &err) != ORC_OK)
        fail_msg("people: %s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_db_close(f->rdb);
    orci_store_close(f->srv.store);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- requests ---------------------------------------------------------------------- */

static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/*
 * call_id sends method with body signed by key_id under request_id (NULL: a fresh one) and
 * returns the unpacked reply envelope (the caller frees it).
 */
static Orchestra__V1__Reply *call_id(fixture *f, const char *key_id, const char *method,
                                     const char *request_id, const ProtobufCMessage *body)
{
    char rid[32];
    if (!request_id) {
        snprintf(rid, sizeof rid, "r-%d", ++f->next_request);
        request_id = rid;
    }
    f->tc.now_us += 1000000; /* each request one second later */
    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    size_t body_len;
    uint8_t *b = pack_msg(body, &body_len);
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)method;
    r.request_id = (char *)request_id;
    r.body.data = b;
    r.body.len = body_len;
    a.key_id = (char *)key_id;
    a.timestamp = f->tc.now_us / 1000000;
    orci_sign_request(SECRET, strlen(SECRET), method, request_id, a.timestamp, b, body_len, mac);
    a.signature.data = mac;
    a.signature.len = sizeof mac;
    r.auth = &a;
    size_t len;
    uint8_t *req = pack_msg(&r.base, &len);
    free(b);

    uint8_t *reply = NULL;
    size_t reply_len = 0;
    assert_int_equal(orci_dispatch(&f->srv, f->rdb, req, len, &reply, &reply_len), ORC_OK);
    free(req);
    Orchestra__V1__Reply *out = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    assert_non_null(out);
    free(reply);
    return out;
}

/* expect_error asserts a refusal with its code and (a part of) its message. */
static void expect_error(fixture *f, const char *key_id, const char *method,
                         const ProtobufCMessage *body, int code, const char *message_part)
{
    Orchestra__V1__Reply *r = call_id(f, key_id, method, NULL, body);
    if ((int)r->status != code || !strstr(r->message, message_part))
        fail_msg("%s: got %s \"%s\", want %s \"%s\"", method, orc_code_name((int)r->status),
                 r->message, orc_code_name(code), message_part);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

/* call_ok asserts success and returns the reply body unpacked as want (caller frees). */
static ProtobufCMessage *call_ok(fixture *f, const char *key_id, const char *method,
                                 const ProtobufCMessage *body,
                                 const ProtobufCMessageDescriptor *want)
{
    Orchestra__V1__Reply *r = call_id(f, key_id, method, NULL, body);
    if ((int)r->status != ORC_OK)
        fail_msg("%s: got %s \"%s\"", method, orc_code_name((int)r->status), r->message);
    ProtobufCMessage *m = protobuf_c_message_unpack(want, NULL, r->body.len, r->body.data);
    assert_non_null(m);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return m;
}

static void call_ok_empty(fixture *f, const char *method, const ProtobufCMessage *body,
                          const ProtobufCMessageDescriptor *want)
{
    protobuf_c_message_free_unpacked(call_ok(f, ADMIN, method, body, want), NULL);
}

/* ---- reading the database ---------------------------------------------------------- */

/* int_of runs a query returning one integer, binding id when it has a parameter. */
static int64_t int_of(fixture *f, const char *sql, int64_t id)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb, sql, &err);
    if (!st)
        fail_msg("%s: %s", sql, err.message);
    if (sqlite3_bind_parameter_count(st) >= 1)
        orci_bind_int(st, 1, id);
    int r = orci_db_row(f->rdb, st, &err);
    if (r != 1)
        fail_msg("%s: no row (%s)", sql, err.message);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

static int64_t count_projects(fixture *f)
{
    return int_of(f, "SELECT count(*) FROM projects", 0);
}

static int64_t task_of_step(fixture *f, int64_t project, const char *step)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb,
                                    "SELECT t.id FROM tasks t JOIN steps s ON s.id = t.step_id"
                                    " WHERE t.project_id = ?1 AND s.slug = ?2",
                                    &err);
    assert_non_null(st);
    orci_bind_int(st, 1, project);
    orci_bind_text(st, 2, step);
    int r = orci_db_row(f->rdb, st, &err);
    assert_true(r >= 0);
    int64_t id = r == 1 ? sqlite3_column_int64(st, 0) : 0;
    if (r == 1)
        sqlite3_reset(st);
    return id;
}

typedef struct text_buf {
    char *s;
    size_t n;
} text_buf;

static int dump_row(void *arg, int n, char **vals, char **cols)
{
    text_buf *b = arg;
    for (int i = 0; i < n; i++) {
        const char *v = vals[i] ? vals[i] : "NULL";
        size_t add = strlen(cols[i]) + strlen(v) + 3;
        b->s = realloc(b->s, b->n + add + 2);
        assert_non_null(b->s);
        b->n += (size_t)sprintf(b->s + b->n, "%s=%s|", cols[i], v);
    }
    b->s = realloc(b->s, b->n + 2);
    assert_non_null(b->s);
    b->n += (size_t)sprintf(b->s + b->n, "\n");
    return 0;
}

/* dump returns every row of the lifecycle tables (malloc'd text). */
static char *dump(fixture *f)
{
    static const char *const queries[] = {
        "SELECT * FROM projects ORDER BY id",
        "SELECT * FROM tasks ORDER BY id",
        "SELECT * FROM task_assignments ORDER BY id",
        "SELECT * FROM iterations ORDER BY id",
    };
    text_buf b = {0};
    b.s = calloc(1, 1);
    assert_non_null(b.s);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        char *msg = NULL;
        if (sqlite3_exec(orci_db_handle(f->rdb), queries[i], dump_row, &b, &msg) != SQLITE_OK)
            fail_msg("%s: %s", queries[i], msg ? msg : "?");
    }
    return b.s;
}

/* ---- helpers for the requests ------------------------------------------------------ */

static int64_t create_project(fixture *f, const char *key_id)
{
    Orchestra__V1__CreateProjectRequest req;
    orchestra__v1__create_project_request__init(&req);
    req.workflow = "news";
    req.version = "v1";
    req.description = "a story";
    req.priority = 5;
    req.task_class = "real";
    req.project_data = "{\"topic\":\"weather\"}";
    Orchestra__V1__CreateProjectReply *r = (Orchestra__V1__CreateProjectReply *)call_ok(
        f, key_id, "CreateProject", &req.base, &orchestra__v1__create_project_reply__descriptor);
    int64_t id = r->project_id;
    orchestra__v1__create_project_reply__free_unpacked(r, NULL);
    assert_true(id > 0);
    return id;
}

static int64_t assign(fixture *f, int64_t task, const char *username)
{
    Orchestra__V1__AssignTaskRequest req;
    orchestra__v1__assign_task_request__init(&req);
    req.task_id = task;
    req.username = (char *)username;
    Orchestra__V1__AssignTaskReply *r = (Orchestra__V1__AssignTaskReply *)call_ok(
        f, ADMIN, "AssignTask", &req.base, &orchestra__v1__assign_task_reply__descriptor);
    int64_t id = r->assignment_id;
    orchestra__v1__assign_task_reply__free_unpacked(r, NULL);
    assert_true(id > 0);
    return id;
}

/* check_consistency returns the number of violations CheckConsistency reports. */
static size_t check_consistency(fixture *f, char *first, size_t first_size)
{
    Orchestra__V1__CheckConsistencyRequest req;
    orchestra__v1__check_consistency_request__init(&req);
    Orchestra__V1__CheckConsistencyReply *r = (Orchestra__V1__CheckConsistencyReply *)call_ok(
        f, ADMIN, "CheckConsistency", &req.base,
        &orchestra__v1__check_consistency_reply__descriptor);
    size_t n = r->n_violations;
    if (first && n > 0)
        snprintf(first, first_size, "%lld:%s", (long long)r->violations[0]->task_id,
                 r->violations[0]->message);
    orchestra__v1__check_consistency_reply__free_unpacked(r, NULL);
    return n;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_create_project_creates_its_first_tasks(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, PROJ);
    assert_int_equal(count_projects(f), 1);
    assert_int_equal(int_of(f, "SELECT task_class FROM projects WHERE id = ?1", id),
                     ORCI_TASK_CLASS_REAL);
    assert_int_equal(int_of(f, "SELECT priority FROM projects WHERE id = ?1", id), 5);
    int64_t draft = task_of_step(f, id, "draft");
    assert_true(draft > 0);
    assert_int_equal(int_of(f, "SELECT status FROM tasks WHERE id = ?1", draft),
                     ORCI_TASK_AWAITING_PROCESSING);
    /* edit waits for draft. */
    assert_int_equal(task_of_step(f, id, "edit"), 0);
}

static void test_create_project_task_class_other_than_real_is_training(void **state)
{
    fixture *f = *state;
    Orchestra__V1__CreateProjectRequest req;
    orchestra__v1__create_project_request__init(&req);
    req.workflow = "news";
    req.version = "v1";
    req.task_class = "REAL"; /* upstream compares exactly */
    req.priority = -3;
    Orchestra__V1__CreateProjectReply *r = (Orchestra__V1__CreateProjectReply *)call_ok(
        f, ADMIN, "CreateProject", &req.base, &orchestra__v1__create_project_reply__descriptor);
    assert_int_equal(int_of(f, "SELECT task_class FROM projects WHERE id = ?1", r->project_id),
                     ORCI_TASK_CLASS_TRAINING);
    assert_int_equal(int_of(f, "SELECT priority FROM projects WHERE id = ?1", r->project_id), -3);
    /* Empty project_data is stored as {}. */
    assert_int_equal(
        int_of(f, "SELECT project_data = '{}' FROM projects WHERE id = ?1", r->project_id), 1);
    orchestra__v1__create_project_reply__free_unpacked(r, NULL);
}

static void test_create_project_unknown_workflow_writes_nothing(void **state)
{
    fixture *f = *state;
    Orchestra__V1__CreateProjectRequest req;
    orchestra__v1__create_project_request__init(&req);
    req.workflow = "sports";
    req.version = "v1";
    expect_error(f, PROJ, "CreateProject", &req.base, ORC_NOT_FOUND, "Workflow sports not found");
    req.workflow = "news";
    req.version = "v9";
    expect_error(f, PROJ, "CreateProject", &req.base, ORC_NOT_FOUND,
                 "Version v9 of workflow news not found");
    assert_int_equal(count_projects(f), 0);
    assert_int_equal(int_of(f, "SELECT count(*) FROM tasks", 0), 0);
}

static void test_create_project_refuses_bad_input(void **state)
{
    fixture *f = *state;
    Orchestra__V1__CreateProjectRequest req;
    orchestra__v1__create_project_request__init(&req);
    req.workflow = "news";
    req.version = "v1";
    req.project_data = "[1,2]";
    expect_error(f, PROJ, "CreateProject", &req.base, ORC_INVALID_ARGUMENT, "project_data");
    req.project_data = "{\"a\":";
    expect_error(f, PROJ, "CreateProject", &req.base, ORC_INVALID_ARGUMENT, "project_data");
    req.project_data = "";
    req.workflow = "";
    expect_error(f, PROJ, "CreateProject", &req.base, ORC_INVALID_ARGUMENT, "workflow is required");
    req.workflow = "news";
    req.version = "";
    expect_error(f, PROJ, "CreateProject", &req.base, ORC_INVALID_ARGUMENT, "version is required");
    assert_int_equal(count_projects(f), 0);
}

static void test_create_project_same_request_id_creates_one_project(void **state)
{
    fixture *f = *state;
    Orchestra__V1__CreateProjectRequest req;
    orchestra__v1__create_project_request__init(&req);
    req.workflow = "news";
    req.version = "v1";
    req.task_class = "real";
    int64_t ids[2];
    for (int i = 0; i < 2; i++) {
        Orchestra__V1__Reply *r = call_id(f, PROJ, "CreateProject", "same-id", &req.base);
        assert_int_equal(r->status, ORC_OK);
        Orchestra__V1__CreateProjectReply *cp =
            orchestra__v1__create_project_reply__unpack(NULL, r->body.len, r->body.data);
        assert_non_null(cp);
        ids[i] = cp->project_id;
        orchestra__v1__create_project_reply__free_unpacked(cp, NULL);
        orchestra__v1__reply__free_unpacked(r, NULL);
    }
    assert_int_equal(ids[0], ids[1]);
    assert_int_equal(count_projects(f), 1);
    /* Another request id is another project. */
    Orchestra__V1__Reply *r = call_id(f, PROJ, "CreateProject", "other-id", &req.base);
    assert_int_equal(r->status, ORC_OK);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_int_equal(count_projects(f), 2);
}

static void test_project_information_has_upstream_shape(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    Orchestra__V1__GetProjectInformationRequest req;
    orchestra__v1__get_project_information_request__init(&req);
    req.project_id = id;
    Orchestra__V1__GetProjectInformationReply *r =
        (Orchestra__V1__GetProjectInformationReply *)call_ok(
            f, PROJ, "GetProjectInformation", &req.base,
            &orchestra__v1__get_project_information_reply__descriptor);
    json_error_t je;
    json_t *doc = json_loads(r->json, 0, &je);
    if (!doc)
        fail_msg("not JSON: %s: %s", je.text, r->json);
    json_t *project = json_object_get(doc, "project");
    assert_true(json_is_object(project));
    assert_true(json_is_array(json_object_get(doc, "steps")));
    assert_int_equal(json_array_size(json_object_get(doc, "steps")), 2);
    json_t *tasks = json_object_get(doc, "tasks");
    assert_true(json_is_object(tasks));
    assert_non_null(json_object_get(tasks, "draft"));
    assert_null(json_object_get(tasks, "edit"));
    assert_int_equal(json_integer_value(json_object_get(project, "id")), id);
    assert_string_equal(json_string_value(json_object_get(project, "workflow_slug")), "news");
    assert_string_equal(json_string_value(json_object_get(project, "status")), "Active");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(project, "project_data"), "topic")),
        "weather");
    json_decref(doc);
    orchestra__v1__get_project_information_reply__free_unpacked(r, NULL);

    req.project_id = id + 100;
    expect_error(f, PROJ, "GetProjectInformation", &req.base, ORC_NOT_FOUND,
                 "No project for given id");
    req.project_id = 0;
    expect_error(f, PROJ, "GetProjectInformation", &req.base, ORC_INVALID_ARGUMENT,
                 "project_id must be a positive id");
}

static void test_project_scope_cannot_manage_projects(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, PROJ);
    Orchestra__V1__EndProjectRequest req;
    orchestra__v1__end_project_request__init(&req);
    req.project_id = id;
    expect_error(f, PROJ, "EndProject", &req.base, ORC_PERMISSION_DENIED, "admin");
    Orchestra__V1__CheckConsistencyRequest cc;
    orchestra__v1__check_consistency_request__init(&cc);
    expect_error(f, PROJ, "CheckConsistency", &cc.base, ORC_PERMISSION_DENIED, "admin");
    assert_int_equal(int_of(f, "SELECT status FROM projects WHERE id = ?1", id),
                     ORCI_PROJECT_ACTIVE);
}

static void test_end_project_aborts_every_task(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    int64_t draft = task_of_step(f, id, "draft");
    assign(f, draft, "ada");
    Orchestra__V1__EndProjectRequest req;
    orchestra__v1__end_project_request__init(&req);
    req.project_id = id;
    call_ok_empty(f, "EndProject", &req.base, &orchestra__v1__end_project_reply__descriptor);
    assert_int_equal(int_of(f, "SELECT status FROM projects WHERE id = ?1", id),
                     ORCI_PROJECT_ABORTED);
    assert_int_equal(
        int_of(f, "SELECT count(*) FROM tasks WHERE project_id = ?1 AND status != 6", id), 0);
    assert_int_equal(int_of(f, "SELECT count(*) FROM tasks WHERE project_id = ?1", id), 1);
    req.project_id = id + 100;
    expect_error(f, ADMIN, "EndProject", &req.base, ORC_NOT_FOUND, "");
    req.project_id = -1;
    expect_error(f, ADMIN, "EndProject", &req.base, ORC_INVALID_ARGUMENT, "project_id");
}

static void test_set_project_status_pauses_and_resumes(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    Orchestra__V1__SetProjectStatusRequest req;
    orchestra__v1__set_project_status_request__init(&req);
    req.project_id = id;
    req.status = "Paused";
    call_ok_empty(f, "SetProjectStatus", &req.base,
                  &orchestra__v1__set_project_status_reply__descriptor);
    assert_int_equal(int_of(f, "SELECT status FROM projects WHERE id = ?1", id),
                     ORCI_PROJECT_PAUSED);
    req.status = "active"; /* case-insensitive */
    call_ok_empty(f, "SetProjectStatus", &req.base,
                  &orchestra__v1__set_project_status_reply__descriptor);
    assert_int_equal(int_of(f, "SELECT status FROM projects WHERE id = ?1", id),
                     ORCI_PROJECT_ACTIVE);
    req.status = "Aborted";
    expect_error(f, ADMIN, "SetProjectStatus", &req.base, ORC_FAILED_PRECONDITION,
                 "Use end project to abort a project.");
    req.status = "Sleeping";
    expect_error(f, ADMIN, "SetProjectStatus", &req.base, ORC_INVALID_ARGUMENT,
                 "Invalid project status Sleeping");
    req.status = "";
    expect_error(f, ADMIN, "SetProjectStatus", &req.base, ORC_INVALID_ARGUMENT,
                 "status is required");
    assert_int_equal(int_of(f, "SELECT status FROM projects WHERE id = ?1", id),
                     ORCI_PROJECT_ACTIVE);
}

static void test_assign_then_reassign(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    int64_t draft = task_of_step(f, id, "draft");

    Orchestra__V1__AssignTaskRequest ar;
    orchestra__v1__assign_task_request__init(&ar);
    ar.task_id = draft;
    ar.username = "nobody";
    expect_error(f, ADMIN, "AssignTask", &ar.base, ORC_NOT_FOUND, "Worker nobody not found");
    ar.username = "cal";
    expect_error(f, ADMIN, "AssignTask", &ar.base, ORC_PERMISSION_DENIED,
                 "Worker not certified for this task.");
    ar.username = "";
    expect_error(f, ADMIN, "AssignTask", &ar.base, ORC_INVALID_ARGUMENT, "username is required");
    ar.username = "ada";
    ar.task_id = 0;
    expect_error(f, ADMIN, "AssignTask", &ar.base, ORC_INVALID_ARGUMENT, "task_id");

    int64_t asg = assign(f, draft, "ada");
    int64_t ada = int_of(f,
                         "SELECT w.id FROM workers w JOIN users u ON u.id = w.user_id"
                         " WHERE u.username = 'ada'",
                         0);
    int64_t bob = int_of(f,
                         "SELECT w.id FROM workers w JOIN users u ON u.id = w.user_id"
                         " WHERE u.username = 'bob'",
                         0);
    assert_int_equal(int_of(f, "SELECT worker_id FROM task_assignments WHERE id = ?1", asg), ada);
    assert_int_equal(int_of(f, "SELECT status FROM tasks WHERE id = ?1", draft),
                     ORCI_TASK_PROCESSING);

    Orchestra__V1__ReassignAssignmentRequest rr;
    orchestra__v1__reassign_assignment_request__init(&rr);
    rr.assignment_id = asg;
    rr.username = "cal";
    expect_error(f, ADMIN, "ReassignAssignment", &rr.base, ORC_PERMISSION_DENIED,
                 "Worker not certified");
    rr.username = "nobody";
    expect_error(f, ADMIN, "ReassignAssignment", &rr.base, ORC_NOT_FOUND,
                 "Worker nobody not found");
    rr.username = "bob";
    call_ok_empty(f, "ReassignAssignment", &rr.base,
                  &orchestra__v1__reassign_assignment_reply__descriptor);
    assert_int_equal(int_of(f, "SELECT worker_id FROM task_assignments WHERE id = ?1", asg), bob);
    assert_int_equal(int_of(f, "SELECT count(*) FROM task_assignments WHERE task_id = ?1", draft),
                     1);
    rr.assignment_id = 0;
    expect_error(f, ADMIN, "ReassignAssignment", &rr.base, ORC_INVALID_ARGUMENT, "assignment_id");
}

static void test_complete_and_skip_creates_the_next_task(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    int64_t draft = task_of_step(f, id, "draft");
    Orchestra__V1__CompleteAndSkipTaskRequest req;
    orchestra__v1__complete_and_skip_task_request__init(&req);
    req.task_id = draft;
    call_ok_empty(f, "CompleteAndSkipTask", &req.base,
                  &orchestra__v1__complete_and_skip_task_reply__descriptor);
    assert_int_equal(int_of(f, "SELECT status FROM tasks WHERE id = ?1", draft),
                     ORCI_TASK_COMPLETE);
    int64_t edit = task_of_step(f, id, "edit");
    assert_true(edit > 0);
    assert_int_equal(int_of(f, "SELECT status FROM tasks WHERE id = ?1", edit),
                     ORCI_TASK_AWAITING_PROCESSING);
    req.task_id = 0;
    expect_error(f, ADMIN, "CompleteAndSkipTask", &req.base, ORC_INVALID_ARGUMENT, "task_id");
}

static void test_revert_dry_run_changes_nothing_and_commit_applies(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    int64_t draft = task_of_step(f, id, "draft");
    int64_t asg = assign(f, draft, "ada");
    int64_t iteration = int_of(f, "SELECT id FROM iterations WHERE assignment_id = ?1", asg);

    Orchestra__V1__RevertTaskRequest req;
    orchestra__v1__revert_task_request__init(&req);
    req.task_id = draft;
    req.iteration_id = iteration;
    req.revert_before = true;
    req.commit = false;
    char *before = dump(f);
    Orchestra__V1__RevertTaskReply *r = (Orchestra__V1__RevertTaskReply *)call_ok(
        f, ADMIN, "RevertTask", &req.base, &orchestra__v1__revert_task_reply__descriptor);
    json_t *audit = json_loads(r->audit_json, 0, NULL);
    assert_non_null(audit);
    assert_int_equal(json_integer_value(json_object_get(audit, "reverted_status")),
                     ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(json_array_size(json_object_get(audit, "assignments")), 1);
    json_decref(audit);
    orchestra__v1__revert_task_reply__free_unpacked(r, NULL);
    char *after = dump(f);
    assert_string_equal(before, after);
    free(before);
    free(after);

    req.commit = true;
    r = (Orchestra__V1__RevertTaskReply *)call_ok(f, ADMIN, "RevertTask", &req.base,
                                                  &orchestra__v1__revert_task_reply__descriptor);
    assert_true(strlen(r->audit_json) > 2);
    orchestra__v1__revert_task_reply__free_unpacked(r, NULL);
    assert_int_equal(int_of(f, "SELECT status FROM tasks WHERE id = ?1", draft),
                     ORCI_TASK_AWAITING_PROCESSING);
    assert_int_equal(
        int_of(f, "SELECT count(*) FROM task_assignments WHERE task_id = ?1 AND is_deleted = 0",
               draft),
        0);

    req.iteration_id = 0;
    expect_error(f, ADMIN, "RevertTask", &req.base, ORC_INVALID_ARGUMENT, "iteration_id");
}

static int corrupt_fn(orci_db *db, void *arg, orc_error *err)
{
    /* A task in Processing with no assignment breaks the status/iteration pairing. */
    sqlite3_stmt *st = orci_db_stmt(db, "UPDATE tasks SET status = 1 WHERE id = ?1", err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, *(int64_t *)arg);
    return orci_db_step(db, st, err);
}

static void test_check_consistency_reports_a_corrupted_row(void **state)
{
    fixture *f = *state;
    int64_t id = create_project(f, ADMIN);
    int64_t other = create_project(f, ADMIN);
    assign(f, task_of_step(f, other, "draft"), "ada");
    char first[512] = "";
    assert_int_equal(check_consistency(f, first, sizeof first), 0);

    int64_t draft = task_of_step(f, id, "draft");
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, corrupt_fn, &draft, &err), ORC_OK);
    assert_int_equal(check_consistency(f, first, sizeof first), 1);
    char want[32];
    snprintf(want, sizeof want, "%lld:", (long long)draft);
    if (strncmp(first, want, strlen(want)) != 0)
        fail_msg("violation %s is not about task %lld", first, (long long)draft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_project_creates_its_first_tasks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_project_task_class_other_than_real_is_training,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_project_unknown_workflow_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_project_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_project_same_request_id_creates_one_project,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_information_has_upstream_shape, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_project_scope_cannot_manage_projects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_project_aborts_every_task, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_project_status_pauses_and_resumes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_assign_then_reassign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_and_skip_creates_the_next_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_revert_dry_run_changes_nothing_and_commit_applies,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_consistency_reports_a_corrupted_row, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("svc_project", tests, NULL, NULL);
}
