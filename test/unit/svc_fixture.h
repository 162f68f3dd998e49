/*
 * svc_fixture.h: the fixture shared by test_svc_worker.c and test_svc_task.c: a temporary
 * store, an orci_server with an injected clock and a scripted random source, an admin API key,
 * request envelopes driven through orci_dispatch (key-signed or with a session token), a
 * small workflow loaded through the loader and projects created in write jobs.
 * Include after cmocka's required headers. Everything is static inline: each test program
 * gets its own copy and unused helpers do not warn.
 */
#ifndef ORC_TEST_SVC_FIXTURE_H
#define ORC_TEST_SVC_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "rpc/dispatch.h"
#include "rpc/keys.h"
#include "domain/lifecycle.h"
#include "workflow/loader.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "svc/server.h"
#include "sign.h"
#include "store/store.h"
#include "support.h"

#define SF_T0_US (1700000000LL * 1000000) /* the test clock's start */
#define SF_SECOND 1000000LL
#define SF_KEY "admin-key"
#define SF_SECRET "s3cret-of-test"
#define SF_TTL_S 3600

typedef struct sf_clock {
    int64_t now_us;
} sf_clock;

typedef struct sf {
    char dir[256];
    sf_clock tc;
    orci_clock clock;
    orci_rng rng;
    size_t rng_calls;
    orci_server srv;
    orci_db *rdb;
    unsigned next_rid;
} sf;

static inline int64_t sf_clock_now(void *arg)
{
    return ((sf_clock *)arg)->now_us;
}

/* The scripted random source: always 0.0, so sampled review with rate > 0 always reviews. */
static inline double sf_uniform(void *arg)
{
    ((sf *)arg)->rng_calls++;
    return 0.0;
}

typedef struct sf_key_job {
    int64_t now_us;
} sf_key_job;

static inline int sf_key_fn(orci_db *db, void *arg, orc_error *err)
{
    sf_key_job *j = arg;
    return orci_keys_ensure(db, "admin", ORCI_SCOPE_ADMIN, SF_KEY, SF_SECRET, j->now_us, err);
}

static inline int sf_setup(void **state)
{
    sf *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("svc", f->dir, sizeof f->dir);
    char path[400];
    snprintf(path, sizeof path, "%s/orchestra.db", f->dir);
    orci_store_opts so = {.path = path};
    orc_error err = {0};
    if (orci_store_open(&so, &f->srv.store, &err) != ORC_OK)
        fail_msg("store: %s", err.message);
    if (orci_db_open_reader(f->srv.store, &f->rdb, &err) != ORC_OK)
        fail_msg("reader: %s", err.message);
    f->tc.now_us = SF_T0_US;
    f->clock.now_us = sf_clock_now;
    f->clock.arg = &f->tc;
    f->rng = (orci_rng){sf_uniform, f};
    f->srv.clock = &f->clock;
    f->srv.rng = &f->rng;
    f->srv.settings.auth_window_s = 300;
    f->srv.settings.pbkdf2_iterations = 1000;
    f->srv.settings.session_ttl_s = SF_TTL_S;
    f->srv.started_at_us = SF_T0_US;
    sf_key_job kj = {SF_T0_US};
    if (orci_store_write(f->srv.store, sf_key_fn, &kj, &err) != ORC_OK)
        fail_msg("key: %s", err.message);
    *state = f;
    return 0;
}

static inline int sf_teardown(void **state)
{
    sf *f = *state;
    if (!f)
        return 0;
    orci_db_close(f->rdb);
    orci_store_close(f->srv.store);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* sf_advance moves the injected clock forward by seconds. */
static inline void sf_advance(sf *f, int64_t seconds)
{
    f->tc.now_us += seconds * SF_SECOND;
}

/* ---- requests ---------------------------------------------------------------------- */

/* Who calls: the admin key, a session token, or nobody. */
typedef struct sf_who {
    bool admin;
    const char *token;
} sf_who;

#define SF_ADMIN ((sf_who){.admin = true})
#define SF_ANON ((sf_who){0})
#define SF_TOKEN(t) ((sf_who){.token = (t)})

static inline uint8_t *sf_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = m ? protobuf_c_message_get_packed_size(m) : 0;
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    if (m)
        protobuf_c_message_pack(m, buf);
    return buf;
}

/*
 * sf_call_rid dispatches method with body as who, with request id rid (NULL: a fresh one),
 * and returns the unpacked Reply (free with orchestra__v1__reply__free_unpacked).
 */
static inline Orchestra__V1__Reply *sf_call_rid(sf *f, sf_who who, const char *method,
                                                const ProtobufCMessage *body, const char *rid)
{
    char fresh[32];
    if (!rid) {
        snprintf(fresh, sizeof fresh, "rid-%u", ++f->next_rid);
        rid = fresh;
    }
    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    size_t body_len;
    uint8_t *b = sf_pack(body, &body_len);
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)method;
    r.request_id = (char *)rid;
    r.body.data = b;
    r.body.len = body_len;
    if (who.admin) {
        a.key_id = SF_KEY;
        a.timestamp = f->tc.now_us / SF_SECOND;
        orci_sign_request(SF_SECRET, strlen(SF_SECRET), method, rid, a.timestamp, b, body_len, mac);
        a.signature.data = mac;
        a.signature.len = sizeof mac;
        r.auth = &a;
    }
    if (who.token) {
        a.token = (char *)who.token;
        r.auth = &a;
    }
    size_t len;
    uint8_t *req = sf_pack(&r.base, &len);
    free(b);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    assert_int_equal(orci_dispatch(&f->srv, f->rdb, req, len, &reply, &reply_len), ORC_OK);
    free(req);
    assert_non_null(reply);
    Orchestra__V1__Reply *out = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    free(reply);
    assert_non_null(out);
    return out;
}

static inline Orchestra__V1__Reply *sf_call(sf *f, sf_who who, const char *method,
                                            const ProtobufCMessage *body)
{
    return sf_call_rid(f, who, method, body, NULL);
}

/* sf_expect checks a reply's status and that its message contains part; frees it. */
static inline void sf_expect(Orchestra__V1__Reply *r, int status, const char *part)
{
    if ((int)r->status != status || (part && !strstr(r->message, part)))
        fail_msg("got %s \"%s\", want %s \"%s\"", orc_code_name((int)r->status), r->message,
                 orc_code_name(status), part ? part : "");
    orchestra__v1__reply__free_unpacked(r, NULL);
}

/* sf_expect_ok checks for ORC_OK and frees the reply. */
static inline void sf_expect_ok(Orchestra__V1__Reply *r)
{
    sf_expect(r, ORC_OK, NULL);
}

/* ---- workers and sessions ------------------------------------------------------------- */

static inline Orchestra__V1__Reply *sf_add_worker_reply(sf *f, const char *username,
                                                        const char *password)
{
    Orchestra__V1__AddWorkerRequest q;
    orchestra__v1__add_worker_request__init(&q);
    q.username = (char *)username;
    q.password = (char *)password;
    q.first_name = "First";
    q.last_name = "Last";
    q.email = "someone@example.com";
    return sf_call(f, SF_ADMIN, "AddWorker", &q.base);
}

/* sf_add_worker adds a worker through AddWorker and returns its worker id. */
static inline int64_t sf_add_worker(sf *f, const char *username, const char *password)
{
    Orchestra__V1__Reply *r = sf_add_worker_reply(f, username, password);
    if ((int)r->status != ORC_OK)
        fail_msg("AddWorker %s: %s", username, r->message);
    Orchestra__V1__AddWorkerReply *a =
        orchestra__v1__add_worker_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(a);
    assert_string_equal(a->username, username);
    int64_t id = a->id;
    orchestra__v1__add_worker_reply__free_unpacked(a, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return id;
}

static inline Orchestra__V1__Reply *sf_certify_reply(sf *f, const char *username, const char *role,
                                                     const char *task_class, bool revoke)
{
    Orchestra__V1__CertifyWorkerRequest q;
    orchestra__v1__certify_worker_request__init(&q);
    q.username = (char *)username;
    q.workflow = "news";
    q.certification = "editor";
    q.role = (char *)role;
    q.task_class = (char *)(task_class ? task_class : "");
    q.revoke = revoke;
    return sf_call(f, SF_ADMIN, "CertifyWorker", &q.base);
}

static inline Orchestra__V1__Reply *sf_login_rid(sf *f, const char *username, const char *password,
                                                 const char *rid)
{
    Orchestra__V1__LoginRequest q;
    orchestra__v1__login_request__init(&q);
    q.username = (char *)username;
    q.password = (char *)password;
    return sf_call_rid(f, SF_ANON, "Login", &q.base, rid);
}

/* sf_login logs in (which must succeed) and writes the session token into token. */
static inline void sf_login(sf *f, const char *username, const char *password, char *token,
                            size_t token_size)
{
    Orchestra__V1__Reply *r = sf_login_rid(f, username, password, NULL);
    if ((int)r->status != ORC_OK)
        fail_msg("Login %s: %s", username, r->message);
    Orchestra__V1__LoginReply *l =
        orchestra__v1__login_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(l);
    assert_true(strlen(l->token) > 0 && strlen(l->token) < token_size);
    snprintf(token, token_size, "%s", l->token);
    orchestra__v1__login_reply__free_unpacked(l, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

/* sf_worker adds username (password "pw-<username>"), certifies it as entry-level (and
 * reviewer when asked) for news/editor, logs in and writes the token. Returns the worker id. */
static inline int64_t sf_worker(sf *f, const char *username, bool reviewer, char *token,
                                size_t token_size)
{
    char pw[200];
    snprintf(pw, sizeof pw, "pw-%s", username);
    int64_t id = sf_add_worker(f, username, pw);
    sf_expect_ok(sf_certify_reply(f, username, "entry_level", NULL, false));
    if (reviewer)
        sf_expect_ok(sf_certify_reply(f, username, "reviewer", NULL, false));
    sf_login(f, username, pw, token, token_size);
    return id;
}

/* ---- workflow and projects ------------------------------------------------------------ */

/* news/v1: plan (human, editor, one review level) -> write (human, editor, no review). */
static const char SF_WORKFLOW_JSON[] =
    "{\"slug\":\"news\",\"name\":\"News\",\"description\":\"Write news.\","
    "\"certifications\":[{\"slug\":\"editor\",\"name\":\"Editor\",\"description\":\"Edits\"}]}";
static const char SF_VERSION_JSON[] =
    "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":\"First.\",\"steps\":["
    "{\"slug\":\"plan\",\"name\":\"Plan\",\"description\":\"Plan it\","
    "\"required_certifications\":[\"editor\"],"
    "\"review_policy\":{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}},"
    "{\"slug\":\"write\",\"name\":\"Write\",\"description\":\"Write it\","
    "\"creation_depends_on\":[\"plan\"],\"required_certifications\":[\"editor\"],"
    "\"review_policy\":{\"policy\":\"no_review\"}}]}";

typedef struct sf_load_job {
    const orci_load_plan *plan;
    int64_t now_us;
} sf_load_job;

static inline int sf_load_fn(orci_db *db, void *arg, orc_error *err)
{
    sf_load_job *j = arg;
    return orci_loader_apply(db, j->plan, false, j->now_us, err);
}

/* sf_load_workflow loads news/v1 through the loader. */
static inline void sf_load_workflow(sf *f)
{
    Orchestra__V1__WorkflowBundle b;
    Orchestra__V1__VersionFile vf;
    Orchestra__V1__VersionFile *vfs[1] = {&vf};
    orchestra__v1__workflow_bundle__init(&b);
    orchestra__v1__version_file__init(&vf);
    b.app = "news";
    b.code_directory = "/apps/news";
    b.workflow_json = (char *)SF_WORKFLOW_JSON;
    vf.dir = "v1";
    vf.json = (char *)SF_VERSION_JSON;
    b.versions = vfs;
    b.n_versions = 1;
    orci_load_plan *p = NULL;
    orc_error err = {0};
    if (orci_loader_plan(&b, "v1", &p, &err) != ORC_OK)
        fail_msg("plan: %s", err.message);
    sf_load_job j = {p, f->tc.now_us};
    int rc = orci_store_write(f->srv.store, sf_load_fn, &j, &err);
    orci_load_plan_free(p);
    if (rc != ORC_OK)
        fail_msg("load: %s", err.message);
}

typedef struct sf_project_job {
    const char *description;
    int64_t priority;
    int64_t now_us;
    const orci_rng *rng;
    int64_t id;
} sf_project_job;

static inline int sf_project_fn(orci_db *db, void *arg, orc_error *err)
{
    sf_project_job *j = arg;
    orci_lc lc = {.db = db, .now_us = j->now_us, .rng = j->rng};
    orci_project_params p = {.workflow_slug = "news",
                             .version_slug = "v1",
                             .description = j->description,
                             .priority = j->priority,
                             .task_class = ORCI_TASK_CLASS_REAL};
    return orci_lc_create_project(&lc, &p, &j->id, err);
}

/* sf_project creates a news/v1 project (its plan task Awaiting Processing); returns its id. */
static inline int64_t sf_project(sf *f, const char *description, int64_t priority)
{
    sf_project_job j = {description, priority, f->tc.now_us, &f->rng, 0};
    orc_error err = {0};
    if (orci_store_write(f->srv.store, sf_project_fn, &j, &err) != ORC_OK)
        fail_msg("project: %s", err.message);
    return j.id;
}

/* ---- reading rows back ---------------------------------------------------------------- */

/* sf_int reads one integer with up to two int64 parameters; -1 when there is no row. */
static inline int64_t sf_int(sf *f, const char *sql, int64_t a, int64_t b)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb, sql, &err);
    if (!st)
        fail_msg("%s: %s", sql, err.message);
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1)
        orci_bind_int(st, 1, a);
    if (n >= 2)
        orci_bind_int(st, 2, b);
    int r = orci_db_row(f->rdb, st, &err);
    if (r < 0)
        fail_msg("%s: %s", sql, err.message);
    if (r == 0)
        return -1;
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

/* sf_text reads one text value (malloc'd) with up to two int64 parameters; NULL: no row. */
static inline char *sf_text(sf *f, const char *sql, int64_t a, int64_t b)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb, sql, &err);
    if (!st)
        fail_msg("%s: %s", sql, err.message);
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1)
        orci_bind_int(st, 1, a);
    if (n >= 2)
        orci_bind_int(st, 2, b);
    int r = orci_db_row(f->rdb, st, &err);
    if (r < 0)
        fail_msg("%s: %s", sql, err.message);
    if (r == 0)
        return NULL;
    char *v = strdup(orci_col_text(st, 0));
    sqlite3_reset(st);
    assert_non_null(v);
    return v;
}

/* sf_assert_text checks that a one-value query gives want. */
static inline void sf_assert_text(sf *f, const char *sql, int64_t a, int64_t b, const char *want)
{
    char *got = sf_text(f, sql, a, b);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", sql, got ? got : "(no row)", want);
    free(got);
}

#endif
