/*
 * test_httpsig.c: the legacy HTTP signature scheme. Shim side (server/http/httpsig.c):
 * Authorization parsing, signing strings, Date and Digest checks, and upstream's test
 * vectors (spec 4.1, STACK.md 5) reproduced through our code. Coordinator side: orci_dispatch
 * verifying a forwarded Auth.http_signature (right, wrong, unknown key, wrong scope).
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "rpc/dispatch.h"
#include "httpsig.h"
#include "rpc/keys.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "svc/server.h"
#include "store/store.h"
#include "support.h"

#define VEC_DATE "Thu, 28 Apr 2016 20:00:00 GMT"

/* ---- shim side ----------------------------------------------------------------------- */

typedef struct hdr {
    const char *name;
    const char *value;
} hdr;

/* A request's headers: a NULL-terminated list searched without regard to case. */
static const char *get_header(void *arg, const char *name)
{
    for (const hdr *h = arg; h->name; h++)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    return NULL;
}

static void sign_b64(const char *secret, const char *text, char out[45])
{
    uint8_t mac[ORCI_SHA256_LEN];
    orci_hmac_sha256(secret, strlen(secret), text, strlen(text), mac);
    orci_base64_encode(mac, sizeof mac, out, 45);
}

static void test_parse_defaults_headers_to_date(void **state)
{
    (void)state;
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(
        orci_httpsig_parse("Signature keyId=\"orchestra-user\",algorithm=\"hmac-sha256\","
                           "signature=\"x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=\"",
                           &p, &err),
        ORC_OK);
    assert_string_equal(p.signature, "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=");
    assert_int_equal(p.n_headers, 1);
    assert_string_equal(p.headers[0], "date");
}

static void test_parse_is_order_insensitive(void **state)
{
    (void)state;
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(orci_httpsig_parse("Signature headers=\"(request-target) Host date\","
                                        "signature=\"abc=\",algorithm=\"rsa-sha1\",keyId=\"k\"",
                                        &p, &err),
                     ORC_OK);
    assert_string_equal(p.signature, "abc=");
    assert_int_equal(p.n_headers, 3);
    assert_string_equal(p.headers[0], "(request-target)");
    assert_string_equal(p.headers[1], "host");
    assert_string_equal(p.headers[2], "date");
}

static void test_parse_refuses_malformed_headers(void **state)
{
    (void)state;
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(orci_httpsig_parse("Basic dXNlcjpwYXNz", &p, &err), ORC_UNAUTHENTICATED);
    assert_string_equal(err.message, "Bad signature");
    assert_int_equal(orci_httpsig_parse("Signature keyId=\"k\"", &p, &err), ORC_UNAUTHENTICATED);
    assert_int_equal(orci_httpsig_parse("Signature signature=\"abc", &p, &err),
                     ORC_UNAUTHENTICATED);
    assert_int_equal(orci_httpsig_parse("Signature signature=\"a\",headers=\"da_te\"", &p, &err),
                     ORC_UNAUTHENTICATED);
    assert_string_equal(err.message, "Bad signature headers");
    assert_int_equal(orci_httpsig_parse(NULL, &p, &err), ORC_UNAUTHENTICATED);
}

static void test_orchestra_vector_date_only(void **state)
{
    (void)state;
    hdr hs[] = {{"Date", VEC_DATE}, {NULL, NULL}};
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(orci_httpsig_parse("Signature keyId=\"orchestra-user\",algorithm="
                                        "\"hmac-sha256\",signature=\"x\"",
                                        &p, &err),
                     ORC_OK);
    char *s = NULL;
    assert_int_equal(orci_httpsig_signing_string(&p, "POST", "/orchestra/api/project/x/",
                                                 get_header, hs, &s, &err),
                     ORC_OK);
    assert_string_equal(s, "date: " VEC_DATE);
    char b64[45];
    sign_b64("CHANGEME", s, b64);
    assert_string_equal(b64, "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=");
    free(s);
}

static void test_orchestra_vector_with_request_target(void **state)
{
    (void)state;
    hdr hs[] = {{"date", VEC_DATE}, {NULL, NULL}};
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(orci_httpsig_parse("Signature keyId=\"orchestra-user\",algorithm="
                                        "\"hmac-sha256\",signature=\"x\","
                                        "headers=\"(request-target) date\"",
                                        &p, &err),
                     ORC_OK);
    char *s = NULL;
    assert_int_equal(orci_httpsig_signing_string(&p, "POST",
                                                 "/orchestra/api/project/create_project/",
                                                 get_header, hs, &s, &err),
                     ORC_OK);
    assert_string_equal(s, "(request-target): post /orchestra/api/project/create_project/\n"
                           "date: " VEC_DATE);
    char b64[45];
    sign_b64("CHANGEME", s, b64);
    assert_string_equal(b64, "cMOEeCx+TtxjsTfm7pWeuV1QTX3e3ra7Bj1EZrdfqJc=");
    free(s);
}

static void test_stack_vector_with_host_and_digest(void **state)
{
    (void)state;
    const char *body = "{\"workflow\":\"nightly\",\"params\":{\"n\":42}}";
    hdr hs[] = {{"Host", "orchestra.example:8080"},
                {"Date", "Tue, 07 Jun 2014 20:51:35 GMT"},
                {"Digest", "SHA-256=90Svb+oKkCPgqSTLtKUxd1Lw+PfLPN+sxCd2KcdUAtw="},
                {NULL, NULL}};
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(orci_httpsig_parse("Signature keyId=\"worker-7\",signature=\"x\","
                                        "headers=\"(request-target) host date digest\"",
                                        &p, &err),
                     ORC_OK);
    char *s = NULL;
    assert_int_equal(orci_httpsig_signing_string(&p, "POST", "/api/v1/workflows?dry_run=1",
                                                 get_header, hs, &s, &err),
                     ORC_OK);
    char b64[45];
    sign_b64("s3cr3t-shared-key", s, b64);
    assert_string_equal(b64, "hEoehlSBcV5IEnAGNfwGJqMBFiEtaomd4ACyRm9kFjE=");
    free(s);
    assert_true(orci_httpsig_digest_ok(hs[2].value, body, strlen(body)));
    assert_true(orci_httpsig_digest_ok(
        "MD5=abc, sha-256=90Svb+oKkCPgqSTLtKUxd1Lw+PfLPN+sxCd2KcdUAtw=", body, strlen(body)));
    assert_false(orci_httpsig_digest_ok(hs[2].value, "{}", 2));
    assert_false(orci_httpsig_digest_ok(NULL, body, strlen(body)));
}

static void test_signing_string_refuses_missing_header(void **state)
{
    (void)state;
    hdr hs[] = {{"Date", VEC_DATE}, {NULL, NULL}};
    orci_httpsig_params p;
    orc_error err = {0};
    assert_int_equal(
        orci_httpsig_parse("Signature signature=\"x\",headers=\"date content-type\"", &p, &err),
        ORC_OK);
    char *s = NULL;
    assert_int_equal(orci_httpsig_signing_string(&p, "POST", "/", get_header, hs, &s, &err),
                     ORC_UNAUTHENTICATED);
    assert_null(s);
    assert_string_equal(err.message, "missing signed header content-type");
}

static void test_parse_date_reads_imf_fixdate_only(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(orci_httpsig_parse_date(VEC_DATE, &t), 0);
    assert_int_equal(t, 1461873600);
    assert_int_equal(orci_httpsig_parse_date("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(orci_httpsig_parse_date("Thu, 28 Apr 2016 20:00:00 UTC", &t), -1);
    assert_int_equal(orci_httpsig_parse_date("Thursday, 28-Apr-16 20:00:00 GMT", &t), -1);
    assert_int_equal(orci_httpsig_parse_date("Thu, 28 Foo 2016 20:00:00 GMT", &t), -1);
    assert_int_equal(orci_httpsig_parse_date("Thu, 28 Apr 2016 25:00:00 GMT", &t), -1);
    assert_int_equal(orci_httpsig_parse_date(NULL, &t), -1);
}

/* ---- coordinator side ---------------------------------------------------------------- */

#define T0_US (1700000000LL * 1000000)

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_clock clock;
    orci_server srv;
    orci_db *rdb;
} fixture;

static int64_t fixed_now(void *arg)
{
    (void)arg;
    return T0_US;
}

typedef struct key_job {
    const char *key_id;
    unsigned scopes;
} key_job;

static int key_job_fn(orci_db *db, void *arg, orc_error *err)
{
    key_job *j = arg;
    orci_key k;
    return orci_keys_create(db, j->key_id, j->scopes, j->key_id, "CHANGEME", T0_US, &k, err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("httpsig", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts so = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&so, &f->srv.store, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->srv.store, &f->rdb, &err), ORC_OK);
    f->clock.now_us = fixed_now;
    f->srv.clock = &f->clock;
    f->srv.settings.auth_window_s = 300;
    f->srv.started_at_us = T0_US;
    key_job proj = {"orchestra-user", ORCI_SCOPE_PROJECT};
    key_job exec = {"exec-key", ORCI_SCOPE_EXECUTOR};
    assert_int_equal(orci_store_write(f->srv.store, key_job_fn, &proj, &err), ORC_OK);
    assert_int_equal(orci_store_write(f->srv.store, key_job_fn, &exec, &err), ORC_OK);
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

/* http_call sends ListWorkflows with an HTTP signature; returns the reply (free it). */
static Orchestra__V1__Reply *http_call(fixture *f, const char *key_id, const char *signature,
                                       const char *also_key_id)
{
    Orchestra__V1__HttpSignature hs = ORCHESTRA__V1__HTTP_SIGNATURE__INIT;
    hs.key_id = (char *)key_id;
    hs.signing_string = "date: " VEC_DATE;
    hs.signature = (char *)signature;
    Orchestra__V1__Auth a = ORCHESTRA__V1__AUTH__INIT;
    a.http_signature = &hs;
    if (also_key_id)
        a.key_id = (char *)also_key_id;
    Orchestra__V1__Request r = ORCHESTRA__V1__REQUEST__INIT;
    r.method = "ListWorkflows";
    r.request_id = "0123456789abcdef0123456789abcdef";
    r.auth = &a;
    size_t len = orchestra__v1__request__get_packed_size(&r);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    orchestra__v1__request__pack(&r, buf);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    assert_int_equal(orci_dispatch(&f->srv, f->rdb, buf, len, &reply, &reply_len), ORC_OK);
    free(buf);
    Orchestra__V1__Reply *out = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    free(reply);
    assert_non_null(out);
    return out;
}

static void expect(Orchestra__V1__Reply *r, int status, const char *message)
{
    if ((int)r->status != status || (message && strcmp(r->message, message) != 0))
        fail_msg("got %s \"%s\", want %s \"%s\"", orc_code_name((int)r->status), r->message,
                 orc_code_name(status), message ? message : "");
    orchestra__v1__reply__free_unpacked(r, NULL);
}

static void test_dispatch_accepts_right_http_signature(void **state)
{
    fixture *f = *state;
    expect(http_call(f, "orchestra-user", "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=", NULL),
           ORC_OK, NULL);
}

static void test_dispatch_refuses_wrong_http_signature(void **state)
{
    fixture *f = *state;
    expect(http_call(f, "orchestra-user", "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4", NULL),
           ORC_UNAUTHENTICATED, "Bad signature");
    expect(http_call(f, "orchestra-user", "cMOEeCx+TtxjsTfm7pWeuV1QTX3e3ra7Bj1EZrdfqJc=", NULL),
           ORC_UNAUTHENTICATED, "Bad signature");
    expect(http_call(f, "orchestra-user", "", NULL), ORC_UNAUTHENTICATED, "Bad signature");
}

static void test_dispatch_refuses_unknown_http_key(void **state)
{
    fixture *f = *state;
    expect(http_call(f, "nobody", "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=", NULL),
           ORC_UNAUTHENTICATED, "Unable to find API key");
    expect(http_call(f, "", "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=", NULL),
           ORC_UNAUTHENTICATED, "Unable to find API key");
}

static void test_dispatch_http_signature_gets_the_keys_scopes(void **state)
{
    fixture *f = *state;
    /* exec-key has the same secret, so the signature holds, but not the project scope. */
    expect(http_call(f, "exec-key", "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=", NULL),
           ORC_PERMISSION_DENIED, NULL);
}

static void test_dispatch_refuses_http_signature_with_key_id(void **state)
{
    fixture *f = *state;
    expect(http_call(f, "orchestra-user",
                     "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=", "orchestra-user"),
           ORC_UNAUTHENTICATED, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_defaults_headers_to_date),
        cmocka_unit_test(test_parse_is_order_insensitive),
        cmocka_unit_test(test_parse_refuses_malformed_headers),
        cmocka_unit_test(test_orchestra_vector_date_only),
        cmocka_unit_test(test_orchestra_vector_with_request_target),
        cmocka_unit_test(test_stack_vector_with_host_and_digest),
        cmocka_unit_test(test_signing_string_refuses_missing_header),
        cmocka_unit_test(test_parse_date_reads_imf_fixdate_only),
        cmocka_unit_test_setup_teardown(test_dispatch_accepts_right_http_signature, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_wrong_http_signature, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_unknown_http_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_http_signature_gets_the_keys_scopes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_refuses_http_signature_with_key_id, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("httpsig", tests, NULL, NULL);
}
