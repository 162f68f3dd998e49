/*
 * test_dispatch.c: orci_dispatch end to end on a temporary store (envelope and body
 * validation, authentication, scopes, idempotent mutating calls), orci_auth_check for
 * worker sessions, and the RPC server answering over a real socket.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/auth.h"
#include "crypto.h"
#include "rpc/dispatch.h"
#include "rpc/keys.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "rpc/rpc.h"
#include "svc/server.h"
#include "sign.h"
#include "store/store.h"
#include "support.h"

#define T0_US (1700000000LL * 1000000) /* the test clock's start */

typedef struct test_clock {
    int64_t now_us;
} test_clock;

static int64_t test_clock_now(void *arg)
{
    return ((test_clock *)arg)->now_us;
}

typedef struct fixture {
    char dir[256];
    char path[320];
    test_clock tc;
    orci_clock clock;
    orci_server srv;
    orci_db *rdb;
    int64_t user_id;
} fixture;

/* ---- set-up ----------------------------------------------------------------------- */

typedef struct key_job {
    const char *key_id;
    const char *secret;
    unsigned scopes;
    bool revoke;
} key_job;

static int key_job_fn(orci_db *db, void *arg, orc_error *err)
{
    key_job *j = arg;
    orci_key k;
    int rc = orci_keys_create(db, j->key_id, j->scopes, j->key_id, j->secret, T0_US, &k, err);
    if (rc == ORC_OK && j->revoke)
        rc = orci_keys_revoke(db, j->key_id, T0_US, err);
    return rc;
}

/* A user with a worker row, a live session "tok-live" and an expired one "tok-old". */
static int session_job_fn(orci_db *db, void *arg, orc_error *err)
{
    int64_t *user_id = arg;
    sqlite3_stmt *st =
        orci_db_stmt(db, "INSERT INTO users (username, created_at) VALUES ('ada', ?1)", err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, T0_US);
    int rc = orci_db_step(db, st, err);
    if (rc != ORC_OK)
        return rc;
    *user_id = orci_db_last_id(db);
    st = orci_db_stmt(db, "INSERT INTO workers (user_id, start_datetime) VALUES (?1, ?2)", err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, *user_id);
    orci_bind_int(st, 2, T0_US);
    if ((rc = orci_db_step(db, st, err)) != ORC_OK)
        return rc;
    const char *tokens[2] = {"tok-live", "tok-old"};
    int64_t expires[2] = {T0_US + 3600LL * 1000000, T0_US - 1};
    for (int i = 0; i < 2; i++) {
        uint8_t hash[ORCI_SHA256_LEN];
        orci_sha256(tokens[i], strlen(tokens[i]), hash);
        st = orci_db_stmt(db,
                          "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
                          " VALUES (?1, ?2, ?3, ?4)",
                          err);
        if (!st)
            return ORC_INTERNAL;
        sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
        orci_bind_int(st, 2, *user_id);
        orci_bind_int(st, 3, T0_US);
        orci_bind_int(st, 4, expires[i]);
        if ((rc = orci_db_step(db, st, err)) != ORC_OK)
            return rc;
    }
    return ORC_OK;
}

static void add_key(fixture *f, const char *key_id, unsigned scopes, bool revoke)
{
    key_job j = {.key_id = key_id, .secret = "s3cret-of-test", .scopes = scopes, .revoke = revoke};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, key_job_fn, &j, &err), ORC_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("dispatch", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts so = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&so, &f->srv.store, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->srv.store, &f->rdb, &err), ORC_OK);
    f->tc.now_us = T0_US;
    f->clock.now_us = test_clock_now;
    f->clock.arg = &f->tc;
    f->srv.clock = &f->clock;
    f->srv.settings.auth_window_s = 300;
    f->srv.settings.pbkdf2_iterations = 1000;
    f->srv.started_at_us = T0_US;
    add_key(f, "admin-key", ORCI_SCOPE_ADMIN, false);
    add_key(f, "exec-key", ORCI_SCOPE_EXECUTOR, false);
    add_key(f, "old-key", ORCI_SCOPE_ALL_KEYS, true);
    assert_int_equal(orci_store_write(f->srv.store, session_job_fn, &f->user_id, &err), ORC_OK);
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

typedef struct req_opts {
    const char *method;
    const char *request_id;
    const ProtobufCMessage *body;        /* packed into the request */
    const char *key_id;                  /* signs with "s3cret-of-test" when set */
    int64_t timestamp;                   /* seconds; 0: T0 */
    const ProtobufCMessage *signed_body; /* sign this instead of body (tampering) */
    const char *token;
} req_opts;

static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
    *len = m ? protobuf_c_message_get_packed_size(m) : 0;
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    if (m)
        protobuf_c_message_pack(m, buf);
    return buf;
}

static uint8_t *build_request(const req_opts *o, size_t *len)
{
    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    size_t body_len, signed_len;
    uint8_t *body = pack_msg(o->body, &body_len);
    uint8_t *signed_body = pack_msg(o->signed_body ? o->signed_body : o->body, &signed_len);
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)o->method;
    r.request_id = (char *)(o->request_id ? o->request_id : "");
    r.body.data = body;
    r.body.len = body_len;
    if (o->key_id) {
        a.key_id = (char *)o->key_id;
        a.timestamp = o->timestamp ? o->timestamp : T0_US / 1000000;
        orci_sign_request("s3cret-of-test", strlen("s3cret-of-test"), o->method, r.request_id,
                          a.timestamp, signed_body, signed_len, mac);
        a.signature.data = mac;
        a.signature.len = sizeof mac;
        r.auth = &a;
    }
    if (o->token) {
        a.token = (char *)o->token;
        r.auth = &a;
    }
    uint8_t *out = pack_msg(&r.base, len);
    free(body);
    free(signed_body);
    return out;
}

/* call dispatches raw bytes; returns the unpacked reply (and the raw one when asked). */
static Orchestra__V1__Reply *call_raw(fixture *f, const void *msg, size_t len, uint8_t **raw,
                                      size_t *raw_len)
{
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    assert_int_equal(orci_dispatch(&f->srv, f->rdb, msg, len, &reply, &reply_len), ORC_OK);
    assert_non_null(reply);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    assert_non_null(r);
    if (raw) {
        *raw = reply;
        *raw_len = reply_len;
    } else {
        free(reply);
    }
    return r;
}

static Orchestra__V1__Reply *call(fixture *f, const req_opts *o)
{
    size_t len;
    uint8_t *req = build_request(o, &len);
    Orchestra__V1__Reply *r = call_raw(f, req, len, NULL, NULL);
    free(req);
    return r;
}

static void expect_status(Orchestra__V1__Reply *r, int status, const char *message_part)
{
    if ((int)r->status != status || (message_part && !strstr(r->message, message_part)))
        fail_msg("got %s \"%s\", want %s \"%s\"", orc_code_name((int)r->status), r->message,
                 orc_code_name(status), message_part ? message_part : "");
    orchestra__v1__reply__free_unpacked(r, NULL);
}

static int64_t count_replies(fixture *f, const char *principal)
{
    orc_error err = {0};
    sqlite3_stmt *st =
        orci_db_stmt(f->rdb, "SELECT count(*) FROM rpc_replies WHERE principal = ?1", &err);
    assert_non_null(st);
    orci_bind_text(st, 1, principal);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    int64_t n = sqlite3_column_int64(st, 0);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 0);
    return n;
}

/* ---- envelope and routing --------------------------------------------------------- */

static void test_dispatch_refuses_garbage_envelope(void **state)
{
    fixture *f = *state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    expect_status(call_raw(f, garbage, sizeof garbage, NULL, NULL), ORC_INVALID_ARGUMENT,
                  "malformed request envelope");
    /* A truncated length-delimited field. */
    const uint8_t truncated[] = {0x0a, 0x40, 'H', 'e'};
    expect_status(call_raw(f, truncated, sizeof truncated, NULL, NULL), ORC_INVALID_ARGUMENT,
                  "malformed request envelope");
    /* Nothing at all is an envelope without a method. */
    expect_status(call_raw(f, NULL, 0, NULL, NULL), ORC_INVALID_ARGUMENT, "method is required");
}

static void test_dispatch_refuses_unknown_method(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "Frobnicate"};
    expect_status(call(f, &o), ORC_UNIMPLEMENTED, "unknown method Frobnicate");
}

static void test_dispatch_refuses_overlong_request_id(void **state)
{
    fixture *f = *state;
    char rid[ORCI_REQUEST_ID_MAX + 2];
    memset(rid, 'r', sizeof rid - 1);
    rid[sizeof rid - 1] = '\0';
    req_opts o = {.method = "Health", .request_id = rid};
    expect_status(call(f, &o), ORC_INVALID_ARGUMENT, "request_id");
}

static void test_dispatch_refuses_invalid_utf8_in_envelope(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "Health", .request_id = "bad\xc3\x28"};
    expect_status(call(f, &o), ORC_INVALID_ARGUMENT, "UTF-8");
}

static void test_dispatch_health_needs_no_credentials(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "Health", .request_id = "echo-me"};
    Orchestra__V1__Reply *r = call(f, &o);
    assert_int_equal(r->status, ORC_OK);
    assert_string_equal(r->message, "");
    assert_string_equal(r->request_id, "echo-me");
    Orchestra__V1__HealthReply *h =
        orchestra__v1__health_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(h);
    assert_string_equal(h->status, "SERVING");
    orchestra__v1__health_reply__free_unpacked(h, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

static void test_dispatch_server_info_reports_settings(void **state)
{
    fixture *f = *state;
    f->tc.now_us = T0_US + 42;
    req_opts o = {.method = "ServerInfo"};
    Orchestra__V1__Reply *r = call(f, &o);
    assert_int_equal(r->status, ORC_OK);
    Orchestra__V1__ServerInfoReply *si =
        orchestra__v1__server_info_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(si);
    assert_string_equal(si->version, ORCI_VERSION);
    assert_int_equal(si->schema_version, orci_store_schema_version(f->srv.store));
    assert_true(si->schema_version >= 1);
    assert_int_equal(si->started_at, T0_US);
    assert_int_equal(si->now, T0_US + 42);
    assert_int_equal(si->auth_window_seconds, 300);
    assert_false(si->dev_mode);
    orchestra__v1__server_info_reply__free_unpacked(si, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

/* ---- authentication and scopes ------------------------------------------------------ */

static void test_dispatch_list_workflows_unsigned_is_unauthenticated(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "ListWorkflows"};
    expect_status(call(f, &o), ORC_UNAUTHENTICATED, "credentials required for ListWorkflows");
}

static void test_dispatch_key_lacking_scope_is_permission_denied(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "ListWorkflows", .key_id = "exec-key"};
    expect_status(call(f, &o), ORC_PERMISSION_DENIED,
                  "ListWorkflows requires the project or admin scope");
}

static void test_dispatch_refuses_timestamp_outside_window(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "Health", .key_id = "admin-key"};
    f->tc.now_us = T0_US + 300LL * 1000000; /* at the edge: accepted */
    expect_status(call(f, &o), ORC_OK, NULL);
    f->tc.now_us = T0_US + 301LL * 1000000;
    expect_status(call(f, &o), ORC_UNAUTHENTICATED,
                  "request timestamp is outside the allowed window of +-300 s");
    f->tc.now_us = T0_US - 301LL * 1000000; /* from the future */
    expect_status(call(f, &o), ORC_UNAUTHENTICATED, "outside the allowed window");
}

static void test_dispatch_refuses_tampered_body(void **state)
{
    fixture *f = *state;
    Orchestra__V1__LoadSampleDataRequest signed_req, sent_req;
    orchestra__v1__load_sample_data_request__init(&signed_req);
    orchestra__v1__load_sample_data_request__init(&sent_req);
    signed_req.workflow = "simple_workflow";
    sent_req.workflow = "other_workflow";
    req_opts o = {.method = "LoadSampleData",
                  .request_id = "r-tamper",
                  .key_id = "admin-key",
                  .body = &sent_req.base,
                  .signed_body = &signed_req.base};
    expect_status(call(f, &o), ORC_UNAUTHENTICATED, "bad request signature");
    assert_int_equal(count_replies(f, "key:admin-key"), 0);
}

static void test_dispatch_refuses_changed_request_id(void **state)
{
    fixture *f = *state;
    size_t len;
    req_opts o = {.method = "Health", .request_id = "id-1", .key_id = "admin-key"};
    uint8_t *req = build_request(&o, &len);
    Orchestra__V1__Request *r = orchestra__v1__request__unpack(NULL, len, req);
    assert_non_null(r);
    free(r->request_id);
    r->request_id = strdup("id-2"); /* a replay under another id must not verify */
    uint8_t *forged = pack_msg(&r->base, &len);
    expect_status(call_raw(f, forged, len, NULL, NULL), ORC_UNAUTHENTICATED,
                  "bad request signature");
    orchestra__v1__request__free_unpacked(r, NULL);
    free(req);
    free(forged);
}

static void test_dispatch_refuses_revoked_and_unknown_keys(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "Health", .key_id = "old-key"};
    expect_status(call(f, &o), ORC_UNAUTHENTICATED, "unknown or revoked API key");
    o.key_id = "no-such-key";
    expect_status(call(f, &o), ORC_UNAUTHENTICATED, "unknown or revoked API key");
}

static void test_auth_session_token_gives_worker_principal(void **state)
{
    fixture *f = *state;
    Orchestra__V1__Auth a;
    orchestra__v1__auth__init(&a);
    a.token = "tok-live";
    orci_principal p;
    orc_error err = {0};
    assert_int_equal(orci_auth_check(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US, &p, &err),
                     ORC_OK);
    assert_int_equal(p.user_id, f->user_id);
    assert_true(p.worker_id > 0);
    assert_string_equal(p.username, "ada");
    assert_int_equal(p.scopes, ORCI_SCOPE_WORKER);
    char name[64];
    snprintf(name, sizeof name, "user:%lld", (long long)f->user_id);
    assert_string_equal(p.name, name);

    /* A worker session does not grant key scopes. */
    const orci_method *lw = orci_method_find("ListWorkflows");
    assert_non_null(lw);
    assert_int_equal(orci_scope_check(lw, &p, &err), ORC_PERMISSION_DENIED);

    a.token = "tok-old";
    assert_int_equal(orci_auth_check(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US, &p, &err),
                     ORC_UNAUTHENTICATED);
    assert_int_equal(p.scopes, 0);
    a.token = "tok-never-issued";
    assert_int_equal(orci_auth_check(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US, &p, &err),
                     ORC_UNAUTHENTICATED);
    assert_string_equal(err.message, "invalid or expired session token");
}

static void test_auth_key_and_token_together_name_the_key(void **state)
{
    fixture *f = *state;
    req_opts o = {.method = "Health", .key_id = "admin-key", .token = "tok-live"};
    size_t len;
    uint8_t *req = build_request(&o, &len);
    Orchestra__V1__Request *r = orchestra__v1__request__unpack(NULL, len, req);
    assert_non_null(r);
    orci_principal p;
    orc_error err = {0};
    assert_int_equal(orci_auth_check(&f->srv, f->rdb, r->auth, r->method, r->request_id,
                                     r->body.data, r->body.len, T0_US, &p, &err),
                     ORC_OK);
    assert_string_equal(p.name, "key:admin-key");
    assert_int_equal(p.scopes, ORCI_SCOPE_ADMIN | ORCI_SCOPE_WORKER);
    assert_int_equal(p.user_id, f->user_id);

    /* Both must verify: a dead token fails the request even with a good key. */
    free(r->auth->token);
    r->auth->token = strdup("tok-old");
    assert_int_equal(orci_auth_check(&f->srv, f->rdb, r->auth, r->method, r->request_id,
                                     r->body.data, r->body.len, T0_US, &p, &err),
                     ORC_UNAUTHENTICATED);
    orchestra__v1__request__free_unpacked(r, NULL);
    free(req);
}

/* ---- bodies and mutating calls ------------------------------------------------------ */

static void test_dispatch_refuses_malformed_body(void **state)
{
    fixture *f = *state;
    Orchestra__V1__Request r;
    orchestra__v1__request__init(&r);
    uint8_t junk[] = {0x0a, 0x7f, 0x01};
    r.method = "Health";
    r.body.data = junk;
    r.body.len = sizeof junk;
    size_t len;
    uint8_t *req = pack_msg(&r.base, &len);
    expect_status(call_raw(f, req, len, NULL, NULL), ORC_INVALID_ARGUMENT,
                  "malformed body for Health");
    free(req);
}

static void test_dispatch_mutating_call_needs_request_id(void **state)
{
    fixture *f = *state;
    Orchestra__V1__LoadSampleDataRequest body;
    orchestra__v1__load_sample_data_request__init(&body);
    body.workflow = "simple_workflow";
    body.version = "v1";
    req_opts o = {.method = "LoadSampleData", .key_id = "admin-key", .body = &body.base};
    expect_status(call(f, &o), ORC_INVALID_ARGUMENT, "request_id is required for LoadSampleData");
}

static void test_dispatch_refuses_invalid_utf8_in_body(void **state)
{
    fixture *f = *state;
    Orchestra__V1__LoadSampleDataRequest body;
    orchestra__v1__load_sample_data_request__init(&body);
    body.workflow = "simple\xc3\x28";
    body.version = "v1";
    req_opts o = {.method = "LoadSampleData",
                  .request_id = "r-utf8",
                  .key_id = "admin-key",
                  .body = &body.base};
    expect_status(call(f, &o), ORC_INVALID_ARGUMENT, "not valid UTF-8");

    /* Nested and repeated strings are checked too. */
    Orchestra__V1__VersionFile vf;
    orchestra__v1__version_file__init(&vf);
    vf.dir = "v1";
    vf.json = "{\"slug\": \"\xed\xa0\x80\"}"; /* an encoded surrogate */
    Orchestra__V1__VersionFile *vfs[1] = {&vf};
    Orchestra__V1__WorkflowBundle b;
    orchestra__v1__workflow_bundle__init(&b);
    b.app = "app";
    b.n_versions = 1;
    b.versions = vfs;
    Orchestra__V1__LoadWorkflowRequest lw;
    orchestra__v1__load_workflow_request__init(&lw);
    lw.bundle = &b;
    lw.version = "v1";
    req_opts o2 = {.method = "LoadWorkflow",
                   .request_id = "r-utf8-nested",
                   .key_id = "admin-key",
                   .body = &lw.base};
    expect_status(call(f, &o2), ORC_INVALID_ARGUMENT, "VersionFile.json is not valid UTF-8");
    assert_int_equal(count_replies(f, "key:admin-key"), 0);
}

static void test_dispatch_repeated_request_id_gets_identical_stored_reply(void **state)
{
    fixture *f = *state;
    Orchestra__V1__LoadSampleDataRequest body;
    orchestra__v1__load_sample_data_request__init(&body);
    body.workflow = "not_loaded";
    body.version = "v1";
    req_opts o = {.method = "LoadSampleData",
                  .request_id = "r-same",
                  .key_id = "admin-key",
                  .body = &body.base};
    size_t len;
    uint8_t *req = build_request(&o, &len);
    uint8_t *raw1, *raw2;
    size_t len1, len2;
    Orchestra__V1__Reply *r1 = call_raw(f, req, len, &raw1, &len1);
    assert_int_not_equal(r1->status, ORC_OK); /* nothing is loaded */
    assert_string_equal(r1->request_id, "r-same");
    assert_int_equal(count_replies(f, "key:admin-key"), 1);

    f->tc.now_us += 5LL * 1000000; /* a resend a little later */
    Orchestra__V1__Reply *r2 = call_raw(f, req, len, &raw2, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(raw1, raw2, len1);
    assert_int_equal(count_replies(f, "key:admin-key"), 1);

    /* Another principal's request id is its own. */
    add_key(f, "admin-two", ORCI_SCOPE_ADMIN, false);
    o.key_id = "admin-two";
    orchestra__v1__reply__free_unpacked(call(f, &o), NULL);
    assert_int_equal(count_replies(f, "key:admin-two"), 1);
    assert_int_equal(count_replies(f, "key:admin-key"), 1);

    orchestra__v1__reply__free_unpacked(r1, NULL);
    orchestra__v1__reply__free_unpacked(r2, NULL);
    free(raw1);
    free(raw2);
    free(req);
}

/* A one-step workflow, as the client would read it from a folder. */
static const char tiny_workflow_json[] =
    "{\"slug\": \"tiny\", \"name\": \"Tiny\", \"description\": \"d\", \"certifications\": []}";
static const char tiny_version_json[] =
    "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"d\", \"steps\": ["
    "{\"slug\": \"s1\", \"name\": \"S1\", \"description\": \"d\", \"is_human\": true,"
    " \"review_policy\": {\"policy\": \"no_review\"}}]}";

static uint8_t *tiny_load_request(const char *request_id, size_t *len)
{
    Orchestra__V1__VersionFile vf;
    orchestra__v1__version_file__init(&vf);
    vf.dir = "v1";
    vf.json = (char *)tiny_version_json;
    Orchestra__V1__VersionFile *vfs[1] = {&vf};
    Orchestra__V1__WorkflowBundle b;
    orchestra__v1__workflow_bundle__init(&b);
    b.app = "tiny";
    b.code_directory = "/nowhere/tiny";
    b.workflow_json = (char *)tiny_workflow_json;
    b.n_versions = 1;
    b.versions = vfs;
    Orchestra__V1__LoadWorkflowRequest lw;
    orchestra__v1__load_workflow_request__init(&lw);
    lw.bundle = &b;
    lw.version = "v1";
    req_opts o = {.method = "LoadWorkflow",
                  .request_id = request_id,
                  .key_id = "admin-key",
                  .body = &lw.base};
    return build_request(&o, len);
}

static int64_t count_versions(fixture *f)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb, "SELECT count(*) FROM workflow_versions", &err);
    assert_non_null(st);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    int64_t n = sqlite3_column_int64(st, 0);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 0);
    return n;
}

static void test_dispatch_load_workflow_retry_has_one_effect(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *req = tiny_load_request("load-1", &len);
    uint8_t *raw1, *raw2;
    size_t len1, len2;
    Orchestra__V1__Reply *r1 = call_raw(f, req, len, &raw1, &len1);
    if ((int)r1->status != ORC_OK)
        fail_msg("first load: %s %s", orc_code_name((int)r1->status), r1->message);
    Orchestra__V1__LoadWorkflowReply *lr =
        orchestra__v1__load_workflow_reply__unpack(NULL, r1->body.len, r1->body.data);
    assert_non_null(lr);
    assert_string_equal(lr->workflow, "tiny");
    assert_string_equal(lr->version, "v1");
    orchestra__v1__load_workflow_reply__free_unpacked(lr, NULL);
    assert_int_equal(count_versions(f), 1);

    /* The same request again (a REQ resend or a replay): the stored answer, no effect. */
    Orchestra__V1__Reply *r2 = call_raw(f, req, len, &raw2, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(raw1, raw2, len1);
    assert_int_equal(count_versions(f), 1);

    /* A new request id really runs again, and is refused since v1 exists now. */
    uint8_t *req3 = tiny_load_request("load-2", &len);
    expect_status(call_raw(f, req3, len, NULL, NULL), ORC_ALREADY_EXISTS,
                  "Version v1 already exists");
    assert_int_equal(count_versions(f), 1);
    free(req3);

    orchestra__v1__reply__free_unpacked(r1, NULL);
    orchestra__v1__reply__free_unpacked(r2, NULL);
    free(raw1);
    free(raw2);
    free(req);
}

/* Deterministic xorshift64 for the mutation test. */
static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_dispatch_answers_every_mutated_request(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *seed_req = tiny_load_request("fuzz", &len);
    uint8_t *buf = malloc(len + 8);
    assert_non_null(buf);
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 3000; i++) {
        memcpy(buf, seed_req, len);
        size_t n = len;
        int flips = 1 + (int)(xorshift(&rng) % 4);
        for (int k = 0; k < flips; k++)
            buf[xorshift(&rng) % n] = (uint8_t)xorshift(&rng);
        if (xorshift(&rng) % 4 == 0)
            n = xorshift(&rng) % (n + 1); /* truncated */
        Orchestra__V1__Reply *r = call_raw(f, buf, n, NULL, NULL);
        assert_true((int)r->status <= ORC_UNAUTHENTICATED);
        if ((int)r->status != ORC_OK)
            assert_true(r->message[0] != '\0');
        orchestra__v1__reply__free_unpacked(r, NULL);
    }
    free(buf);
    free(seed_req);
}

/* ---- the server over a socket ------------------------------------------------------- */

static void test_rpc_answers_health_over_ipc_and_stops(void **state)
{
    fixture *f = *state;
    char url[400];
    snprintf(url, sizeof url, "ipc://%s/rpc.sock", f->dir);
    orci_rpc_opts ro = {.url = url, .contexts = 4, .workers = 2};
    orci_rpc *rpc = NULL;
    orc_error err = {0};
    assert_int_equal(orci_rpc_start(&f->srv, &ro, &rpc, &err), ORC_OK);

    /* A second server on the same address is refused with a clear error. */
    orci_rpc *again = NULL;
    assert_int_equal(orci_rpc_start(&f->srv, &ro, &again, &err), ORC_UNAVAILABLE);
    assert_null(again);
    assert_non_null(strstr(err.message, "cannot listen on"));

    nng_socket req;
    assert_int_equal(nng_req0_open(&req), 0);
    assert_int_equal(nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 10000), 0);
    assert_int_equal(nng_dial(req, url, NULL, 0), 0);
    for (int i = 0; i < 3; i++) {
        req_opts o = {.method = "Health"};
        size_t len;
        uint8_t *msg = build_request(&o, &len);
        assert_int_equal(nng_send(req, msg, len, 0), 0);
        free(msg);
        void *buf = NULL;
        size_t n = 0;
        assert_int_equal(nng_recv(req, &buf, &n, NNG_FLAG_ALLOC), 0);
        Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, n, buf);
        nng_free(buf, n);
        assert_non_null(r);
        expect_status(r, ORC_OK, NULL);
    }
    nng_close(req);
    orci_rpc_stop(rpc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_garbage_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_unknown_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_overlong_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_invalid_utf8_in_envelope, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_health_needs_no_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_server_info_reports_settings, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_list_workflows_unsigned_is_unauthenticated,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_key_lacking_scope_is_permission_denied, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_timestamp_outside_window, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_tampered_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_changed_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_revoked_and_unknown_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_auth_session_token_gives_worker_principal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_auth_key_and_token_together_name_the_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_malformed_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_mutating_call_needs_request_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_invalid_utf8_in_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_dispatch_repeated_request_id_gets_identical_stored_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_load_workflow_retry_has_one_effect, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_answers_every_mutated_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rpc_answers_health_over_ipc_and_stops, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
