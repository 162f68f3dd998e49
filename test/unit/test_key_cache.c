/*
 * test_key_cache.c: the cache of verified API keys (rpc/keys.h) and how requests use it
 * (rpc/auth.h, rpc/dispatch.c): a write verified with a cached key is confirmed by its write
 * job, so a revocation refuses the next write at once; reads always read the key; a new key
 * works at once; a wrong secret is refused, cached or not; a changed secret or scope is seen;
 * an entry serves for ORCI_KEY_CACHE_TTL_US at most, by the request clock.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "rpc/auth.h"
#include "rpc/dispatch.h"
#include "rpc/keys.h"
#include "sign.h"
#include "store/store.h"
#include "support.h"
#include "svc/server.h"

#define T0_US (1700000000LL * 1000000)
#define SECRET "s3cret-of-test"
#define TTL ORCI_KEY_CACHE_TTL_US

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
} fixture;

/* ---- keys in the database ----------------------------------------------------------- */

typedef struct key_job {
    const char *key_id;
    const char *secret;
    unsigned scopes;
    enum { KEY_ENSURE, KEY_REVOKE } op;
} key_job;

static int key_job_fn(orci_db *db, void *arg, orc_error *err)
{
    key_job *j = arg;
    if (j->op == KEY_REVOKE)
        return orci_keys_revoke(db, j->key_id, T0_US, err);
    return orci_keys_ensure(db, j->key_id, j->scopes, j->key_id, j->secret, T0_US, err);
}

static void key_do(fixture *f, const key_job *j)
{
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, key_job_fn, (void *)j, &err), ORC_OK);
}

static void key_ensure(fixture *f, const char *key_id, const char *secret, unsigned scopes)
{
    key_job j = {.key_id = key_id, .secret = secret, .scopes = scopes, .op = KEY_ENSURE};
    key_do(f, &j);
}

static void key_revoke(fixture *f, const char *key_id)
{
    key_job j = {.key_id = key_id, .op = KEY_REVOKE};
    key_do(f, &j);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("keycache", f->dir, sizeof f->dir);
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
    f->srv.started_at_us = T0_US;
    assert_int_equal(orci_key_cache_new(TTL, &f->srv.key_cache, &err), ORC_OK);
    key_ensure(f, "admin-key", SECRET, ORCI_SCOPE_ADMIN);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_key_cache_destroy(f->srv.key_cache);
    orci_db_close(f->rdb);
    orci_store_close(f->srv.store);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- requests ----------------------------------------------------------------------- */

/*
 * request builds a signed request: LoadSampleData of a workflow that is not loaded (a write
 * whose refusal is stored as its reply) when write, ListWorkflows (a read) otherwise.
 */
static uint8_t *request(const char *key_id, const char *secret, bool write, const char *rid,
                        size_t *len)
{
    Orchestra__V1__LoadSampleDataRequest lsd;
    orchestra__v1__load_sample_data_request__init(&lsd);
    lsd.workflow = "not_loaded";
    lsd.version = "v1";
    Orchestra__V1__ListWorkflowsRequest lw;
    orchestra__v1__list_workflows_request__init(&lw);
    const ProtobufCMessage *body = write ? &lsd.base : &lw.base;
    size_t body_len = protobuf_c_message_get_packed_size(body);
    uint8_t *body_buf = malloc(body_len + 1);
    assert_non_null(body_buf);
    protobuf_c_message_pack(body, body_buf);

    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    r.method = write ? "LoadSampleData" : "ListWorkflows";
    r.request_id = (char *)rid;
    r.body.data = body_buf;
    r.body.len = body_len;
    uint8_t mac[ORCI_SHA256_LEN];
    a.key_id = (char *)key_id;
    a.timestamp = T0_US / 1000000;
    orci_sign_request(secret, strlen(secret), r.method, rid, a.timestamp, body_buf, body_len, mac);
    a.signature.data = mac;
    a.signature.len = sizeof mac;
    r.auth = &a;
    *len = orchestra__v1__request__get_packed_size(&r);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    orchestra__v1__request__pack(&r, out);
    free(body_buf);
    return out;
}

/* call dispatches a request and returns its status; the message goes to msg. */
static int call(fixture *f, const char *key_id, const char *secret, bool write, const char *rid,
                char *msg, size_t msg_size)
{
    size_t len;
    uint8_t *req = request(key_id, secret, write, rid, &len);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    assert_int_equal(orci_dispatch(&f->srv, f->rdb, req, len, &reply, &reply_len), ORC_OK);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    assert_non_null(r);
    int status = (int)r->status;
    snprintf(msg, msg_size, "%s", r->message);
    orchestra__v1__reply__free_unpacked(r, NULL);
    free(reply);
    free(req);
    return status;
}

static int64_t stored_replies(fixture *f, const char *principal)
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

static bool cached(fixture *f, const char *key_id)
{
    orci_key k;
    bool hit = orci_key_cache_get(f->srv.key_cache, key_id, f->tc.now_us, &k);
    explicit_bzero(&k, sizeof k);
    return hit;
}

/* A write answered by its handler (the workflow is not loaded), its reply stored. */
static void expect_handled(int status, const char *msg)
{
    if (status == ORC_OK || status == ORC_UNAUTHENTICATED || status == ORC_PERMISSION_DENIED)
        fail_msg("got %s \"%s\", want the handler's refusal", orc_code_name(status), msg);
}

static void expect_refused(int status, const char *msg, int want, const char *part)
{
    if (status != want || strstr(msg, part) == NULL)
        fail_msg("got %s \"%s\", want %s \"%s\"", orc_code_name(status), msg, orc_code_name(want),
                 part);
}

/* ---- the cache itself --------------------------------------------------------------- */

static void test_key_cache_entry_serves_for_the_ttl_only(void **state)
{
    fixture *f = *state;
    orci_key k = {.id = 1, .scopes = ORCI_SCOPE_ADMIN};
    snprintf(k.key_id, sizeof k.key_id, "k1");
    snprintf(k.secret, sizeof k.secret, "sec");
    orci_key out;
    assert_false(orci_key_cache_get(f->srv.key_cache, "k1", T0_US, &out));
    orci_key_cache_put(f->srv.key_cache, &k, T0_US);
    assert_true(orci_key_cache_get(f->srv.key_cache, "k1", T0_US, &out));
    assert_string_equal(out.secret, "sec");
    assert_int_equal(out.scopes, ORCI_SCOPE_ADMIN);
    assert_true(orci_key_cache_get(f->srv.key_cache, "k1", T0_US + TTL - 1, &out));
    assert_false(orci_key_cache_get(f->srv.key_cache, "k1", T0_US + TTL, &out));
    /* A clock that went back does not make the entry younger. */
    assert_false(orci_key_cache_get(f->srv.key_cache, "k1", T0_US - 1, &out));
    assert_false(orci_key_cache_get(f->srv.key_cache, "k2", T0_US, &out));
    orci_key_cache_drop(f->srv.key_cache, "k1");
    assert_false(orci_key_cache_get(f->srv.key_cache, "k1", T0_US, &out));
    /* A revoked key is never kept. */
    k.revoked_at = T0_US;
    orci_key_cache_put(f->srv.key_cache, &k, T0_US);
    assert_false(orci_key_cache_get(f->srv.key_cache, "k1", T0_US, &out));
}

static void test_key_cache_auth_uses_entry_within_ttl_then_reads_again(void **state)
{
    fixture *f = *state;
    Orchestra__V1__Auth a;
    orchestra__v1__auth__init(&a);
    a.key_id = "admin-key";
    a.timestamp = T0_US / 1000000;
    uint8_t mac[ORCI_SHA256_LEN];
    orci_sign_request(SECRET, strlen(SECRET), "Health", "", a.timestamp, "", 0, mac);
    a.signature.data = mac;
    a.signature.len = sizeof mac;
    orci_principal p;
    orci_auth_proof proof;
    orc_error err = {0};
    /* First use: read from the database (not a cached proof), then kept. */
    assert_int_equal(orci_auth_check_cached(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US, true,
                                            &p, &proof, &err),
                     ORC_OK);
    assert_false(proof.cached);
    assert_true(cached(f, "admin-key"));
    /* Within the TTL the entry answers, even for a key revoked meanwhile (provisionally). */
    key_revoke(f, "admin-key");
    assert_int_equal(orci_auth_check_cached(&f->srv, f->rdb, &a, "Health", "", "", 0,
                                            T0_US + TTL - 1, true, &p, &proof, &err),
                     ORC_OK);
    assert_true(proof.cached);
    assert_string_equal(proof.secret, SECRET);
    assert_string_equal(p.name, "key:admin-key");
    /* Past the TTL the key is read again, and refused: the bound on a prepare step. */
    assert_int_equal(orci_auth_check_cached(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US + TTL,
                                            true, &p, &proof, &err),
                     ORC_UNAUTHENTICATED);
    assert_false(proof.cached);
    assert_false(cached(f, "admin-key"));
    /* Without use_cache the database decides at once. */
    key_ensure(f, "admin-key", SECRET, ORCI_SCOPE_ADMIN);
    assert_int_equal(orci_auth_check_cached(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US, true,
                                            &p, &proof, &err),
                     ORC_OK);
    key_revoke(f, "admin-key");
    assert_int_equal(orci_auth_check_cached(&f->srv, f->rdb, &a, "Health", "", "", 0, T0_US, false,
                                            &p, &proof, &err),
                     ORC_UNAUTHENTICATED);
}

/* ---- requests through the dispatcher ------------------------------------------------ */

static void test_key_cache_revoked_key_write_refused_at_once(void **state)
{
    fixture *f = *state;
    char msg[ORC_ERROR_MESSAGE_MAX];
    expect_handled(call(f, "admin-key", SECRET, true, "w1", msg, sizeof msg), msg);
    assert_int_equal(stored_replies(f, "key:admin-key"), 1);
    assert_true(cached(f, "admin-key"));

    key_revoke(f, "admin-key");
    /* The entry is fresh, yet the write job sees the revocation: nothing is stored. */
    expect_refused(call(f, "admin-key", SECRET, true, "w2", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "unknown or revoked API key");
    /* Not even the stored reply of an earlier request. */
    expect_refused(call(f, "admin-key", SECRET, true, "w1", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "unknown or revoked API key");
    assert_int_equal(stored_replies(f, "key:admin-key"), 1);
    assert_false(cached(f, "admin-key"));
}

static void test_key_cache_revoked_key_read_refused_at_once(void **state)
{
    fixture *f = *state;
    char msg[ORC_ERROR_MESSAGE_MAX];
    expect_handled(call(f, "admin-key", SECRET, true, "w1", msg, sizeof msg), msg);
    assert_int_equal(call(f, "admin-key", SECRET, false, "", msg, sizeof msg), ORC_OK);
    assert_true(cached(f, "admin-key"));
    key_revoke(f, "admin-key");
    expect_refused(call(f, "admin-key", SECRET, false, "", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "unknown or revoked API key");
}

static void test_key_cache_new_key_usable_at_once(void **state)
{
    fixture *f = *state;
    char msg[ORC_ERROR_MESSAGE_MAX];
    /* An unknown key is refused and not remembered as such. */
    expect_refused(call(f, "late-key", SECRET, true, "n1", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "unknown or revoked API key");
    key_ensure(f, "late-key", SECRET, ORCI_SCOPE_ADMIN);
    expect_handled(call(f, "late-key", SECRET, true, "n2", msg, sizeof msg), msg);
    assert_int_equal(stored_replies(f, "key:late-key"), 1);
    assert_true(cached(f, "late-key"));
}

static void test_key_cache_wrong_secret_refused_from_cache(void **state)
{
    fixture *f = *state;
    char msg[ORC_ERROR_MESSAGE_MAX];
    expect_handled(call(f, "admin-key", SECRET, true, "w1", msg, sizeof msg), msg);
    assert_true(cached(f, "admin-key"));
    expect_refused(call(f, "admin-key", "not-the-secret", true, "w2", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "bad request signature");
    expect_refused(call(f, "admin-key", "not-the-secret", false, "", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "bad request signature");
    assert_int_equal(stored_replies(f, "key:admin-key"), 1);
    /* The right secret still works. */
    expect_handled(call(f, "admin-key", SECRET, true, "w3", msg, sizeof msg), msg);
    assert_int_equal(stored_replies(f, "key:admin-key"), 2);
}

static void test_key_cache_changed_secret_seen(void **state)
{
    fixture *f = *state;
    char msg[ORC_ERROR_MESSAGE_MAX];
    expect_handled(call(f, "admin-key", SECRET, true, "w1", msg, sizeof msg), msg);
    key_ensure(f, "admin-key", "new-secret", ORCI_SCOPE_ADMIN);
    /* The old secret still matches the cached copy, but the write job refuses it. */
    expect_refused(call(f, "admin-key", SECRET, true, "w2", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "unknown or revoked API key");
    /* The new one is accepted at once (the cache forgot the old entry, or a refusal by a
     * cached copy reads the key again). */
    expect_handled(call(f, "admin-key", "new-secret", true, "w3", msg, sizeof msg), msg);
    expect_refused(call(f, "admin-key", SECRET, true, "w4", msg, sizeof msg), msg,
                   ORC_UNAUTHENTICATED, "bad request signature");
    assert_int_equal(stored_replies(f, "key:admin-key"), 2);
}

static void test_key_cache_changed_scope_seen(void **state)
{
    fixture *f = *state;
    char msg[ORC_ERROR_MESSAGE_MAX];
    key_ensure(f, "proj-key", SECRET, ORCI_SCOPE_PROJECT);
    /* A refusal by cached scopes is decided again on the database's scopes. */
    expect_refused(call(f, "proj-key", SECRET, true, "p1", msg, sizeof msg), msg,
                   ORC_PERMISSION_DENIED, "requires the admin scope");
    key_ensure(f, "proj-key", SECRET, ORCI_SCOPE_ADMIN);
    expect_handled(call(f, "proj-key", SECRET, true, "p2", msg, sizeof msg), msg);
    /* Scopes taken away: the cached admin scope passes the worker, not the write job. */
    key_ensure(f, "proj-key", SECRET, ORCI_SCOPE_PROJECT);
    assert_true(cached(f, "proj-key"));
    expect_refused(call(f, "proj-key", SECRET, true, "p3", msg, sizeof msg), msg,
                   ORC_PERMISSION_DENIED, "requires the admin scope");
    assert_int_equal(stored_replies(f, "key:proj-key"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_cache_entry_serves_for_the_ttl_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_auth_uses_entry_within_ttl_then_reads_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_revoked_key_write_refused_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_revoked_key_read_refused_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_new_key_usable_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_wrong_secret_refused_from_cache, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_changed_secret_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_cache_changed_scope_seen, setup, teardown),
    };
    return cmocka_run_group_tests_name("key_cache", tests, NULL, NULL);
}
