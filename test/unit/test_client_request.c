/*
 * test_client_request.c: the client's request envelope (signature, credentials) and the
 * generic call against an in-process REP peer (status mapping, timeout, resend after a lost
 * connection).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "call.h"
#include "orchestra/client.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "sign.h"
#include "support.h"

#define TEST_URL "inproc://test_client_request"

/* A REP socket listening on TEST_URL, so that orc_client_new's first dial succeeds. */
static nng_socket rep_listen(void)
{
    nng_socket s;
    assert_int_equal(nng_rep0_open(&s), 0);
    assert_int_equal(nng_listen(s, TEST_URL, NULL, 0), 0);
    return s;
}

static orc_client *client_with(const char *key, const char *secret, const char *token,
                               int timeout_ms)
{
    orc_client_opts o;
    memset(&o, 0, sizeof o);
    o.rpc_url = TEST_URL;
    o.api_key = key;
    o.api_secret = secret;
    o.token = token;
    o.timeout_ms = timeout_ms;
    orc_client *c = NULL;
    orc_error e;
    assert_int_equal(orc_client_new(&o, &c, &e), ORC_OK);
    assert_non_null(c);
    return c;
}

static Orchestra__V1__Request *build(orc_client *c, const char *method, const char *body,
                                     const char *id, int64_t ts)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(orci_client_build_request(c, method, body, strlen(body), id, ts, &buf, &len),
                     ORC_OK);
    Orchestra__V1__Request *r = orchestra__v1__request__unpack(NULL, len, buf);
    orc_free(buf);
    assert_non_null(r);
    return r;
}

static void test_request_with_key_carries_a_verifiable_signature(void **state)
{
    (void)state;
    nng_socket rep = rep_listen();
    orc_client *c = client_with("orchestra-user", "CHANGEME", NULL, 0);
    Orchestra__V1__Request *r = build(c, "ListWorkflows", "body-bytes", "abc123", 1700000000);

    assert_string_equal(r->method, "ListWorkflows");
    assert_string_equal(r->request_id, "abc123");
    assert_int_equal(r->body.len, strlen("body-bytes"));
    assert_memory_equal(r->body.data, "body-bytes", r->body.len);
    assert_non_null(r->auth);
    assert_string_equal(r->auth->key_id, "orchestra-user");
    assert_int_equal(r->auth->timestamp, 1700000000);
    assert_string_equal(r->auth->token, "");

    uint8_t mac[ORCI_SHA256_LEN];
    orci_sign_request("CHANGEME", 8, "ListWorkflows", "abc123", 1700000000, "body-bytes",
                      strlen("body-bytes"), mac);
    assert_int_equal(r->auth->signature.len, ORCI_SHA256_LEN);
    assert_memory_equal(r->auth->signature.data, mac, ORCI_SHA256_LEN);

    /* The signature binds the request id: another id gives another MAC. */
    orci_sign_request("CHANGEME", 8, "ListWorkflows", "abc124", 1700000000, "body-bytes",
                      strlen("body-bytes"), mac);
    assert_memory_not_equal(r->auth->signature.data, mac, ORCI_SHA256_LEN);

    orchestra__v1__request__free_unpacked(r, NULL);
    orc_client_destroy(c);
    nng_close(rep);
}

static void test_request_without_credentials_has_no_auth(void **state)
{
    (void)state;
    nng_socket rep = rep_listen();
    orc_client *c = client_with(NULL, NULL, NULL, 0);
    Orchestra__V1__Request *r = build(c, "Health", "", "id-1", 42);
    assert_string_equal(r->method, "Health");
    assert_null(r->auth);
    assert_int_equal(r->body.len, 0);
    orchestra__v1__request__free_unpacked(r, NULL);
    orc_client_destroy(c);
    nng_close(rep);
}

static void test_request_carries_token_and_follows_set_token(void **state)
{
    (void)state;
    nng_socket rep = rep_listen();
    orc_client *c = client_with(NULL, NULL, "session-token-1", 0);
    Orchestra__V1__Request *r = build(c, "Health", "", "id-2", 42);
    assert_non_null(r->auth);
    assert_string_equal(r->auth->token, "session-token-1");
    assert_string_equal(r->auth->key_id, "");
    assert_int_equal(r->auth->signature.len, 0);
    orchestra__v1__request__free_unpacked(r, NULL);

    assert_int_equal(orc_client_set_token(c, "session-token-2"), ORC_OK);
    r = build(c, "Health", "", "id-3", 42);
    assert_non_null(r->auth);
    assert_string_equal(r->auth->token, "session-token-2");
    orchestra__v1__request__free_unpacked(r, NULL);

    assert_int_equal(orc_client_set_token(c, NULL), ORC_OK);
    r = build(c, "Health", "", "id-4", 42);
    assert_null(r->auth);
    orchestra__v1__request__free_unpacked(r, NULL);
    orc_client_destroy(c);
    nng_close(rep);
}

static void test_client_new_without_server_is_unavailable(void **state)
{
    (void)state;
    char dir[256], url[400];
    orc_test_tmpdir("client-refused", dir, sizeof dir);
    snprintf(url, sizeof url, "ipc://%s/nobody.sock", dir);
    orc_client_opts o;
    memset(&o, 0, sizeof o);
    o.rpc_url = url;
    orc_client *c = NULL;
    orc_error e;
    assert_int_equal(orc_client_new(&o, &c, &e), ORC_UNAVAILABLE);
    assert_null(c);
    assert_int_equal(e.code, ORC_UNAVAILABLE);
    assert_non_null(strstr(e.message, "cannot reach orchestrad at ipc://"));
    orc_test_rmtree(dir);
}

static void test_client_new_refuses_key_without_secret(void **state)
{
    (void)state;
    orc_client_opts o;
    memset(&o, 0, sizeof o);
    o.rpc_url = TEST_URL;
    o.api_key = "orchestra-user";
    orc_client *c = NULL;
    orc_error e;
    assert_int_equal(orc_client_new(&o, &c, &e), ORC_INVALID_ARGUMENT);
    assert_null(c);
}

/* ---- a scripted REP peer ------------------------------------------------------------- */

typedef struct peer {
    nng_socket rep;
    int mode;       /* PEER_* */
    uint8_t *first; /* bytes of the first request received */
    size_t first_len;
    uint8_t *second; /* bytes of the request received after reopening (PEER_DROP_ONCE) */
    size_t second_len;
} peer;

enum { PEER_REFUSE, PEER_SILENT, PEER_DROP_ONCE };

static void reply_with(nng_socket s, const uint8_t *req, size_t len, int status,
                       const char *message, const ProtobufCMessage *body)
{
    Orchestra__V1__Request *r = orchestra__v1__request__unpack(NULL, len, req);
    Orchestra__V1__Reply rep = ORCHESTRA__V1__REPLY__INIT;
    uint8_t bodybuf[256];
    rep.status = (Orchestra__V1__Code)status;
    rep.message = (char *)message;
    rep.request_id = r ? r->request_id : (char *)"";
    if (body) {
        rep.body.len = protobuf_c_message_pack(body, bodybuf);
        rep.body.data = bodybuf;
    }
    uint8_t out[1024];
    size_t n = orchestra__v1__reply__pack(&rep, out);
    nng_send(s, out, n, 0);
    if (r)
        orchestra__v1__request__free_unpacked(r, NULL);
}

static void *peer_main(void *arg)
{
    peer *p = arg;
    void *buf = NULL;
    size_t len = 0;
    if (nng_recv(p->rep, &buf, &len, NNG_FLAG_ALLOC) != 0)
        return NULL;
    p->first = malloc(len);
    memcpy(p->first, buf, len);
    p->first_len = len;
    nng_free(buf, len);
    if (p->mode == PEER_REFUSE) {
        reply_with(p->rep, p->first, p->first_len, ORC_NOT_FOUND, "No project for given id", NULL);
    } else if (p->mode == PEER_DROP_ONCE) {
        /* Drop the connection without answering, then come back and answer the resend. */
        nng_close(p->rep);
        if (nng_rep0_open(&p->rep) != 0 || nng_listen(p->rep, TEST_URL, NULL, 0) != 0)
            return NULL;
        if (nng_recv(p->rep, &buf, &len, NNG_FLAG_ALLOC) != 0)
            return NULL;
        p->second = malloc(len);
        memcpy(p->second, buf, len);
        p->second_len = len;
        nng_free(buf, len);
        Orchestra__V1__HealthReply h = ORCHESTRA__V1__HEALTH_REPLY__INIT;
        h.status = "SERVING";
        reply_with(p->rep, p->second, p->second_len, ORC_OK, "", &h.base);
    }
    return NULL;
}

static void test_call_returns_the_server_refusal(void **state)
{
    (void)state;
    peer p = {.rep = rep_listen(), .mode = PEER_REFUSE};
    orc_client *c = client_with("orchestra-user", "CHANGEME", NULL, 10000);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, peer_main, &p), 0);
    orc_error e;
    assert_int_equal(orc_health(c, &e), ORC_NOT_FOUND);
    assert_int_equal(e.code, ORC_NOT_FOUND);
    assert_string_equal(e.message, "No project for given id");
    pthread_join(t, NULL);

    /* What went out is a signed envelope with a 32-hex-digit request id. */
    Orchestra__V1__Request *r = orchestra__v1__request__unpack(NULL, p.first_len, p.first);
    assert_non_null(r);
    assert_string_equal(r->method, "Health");
    assert_int_equal(strlen(r->request_id), ORCI_CLIENT_REQUEST_ID_LEN);
    assert_int_equal(strspn(r->request_id, "0123456789abcdef"), ORCI_CLIENT_REQUEST_ID_LEN);
    assert_non_null(r->auth);
    uint8_t mac[ORCI_SHA256_LEN];
    orci_sign_request("CHANGEME", 8, "Health", r->request_id, r->auth->timestamp, r->body.data,
                      r->body.len, mac);
    assert_memory_equal(r->auth->signature.data, mac, ORCI_SHA256_LEN);
    orchestra__v1__request__free_unpacked(r, NULL);

    free(p.first);
    orc_client_destroy(c);
    nng_close(p.rep);
}

static void test_call_without_answer_times_out_as_unavailable(void **state)
{
    (void)state;
    peer p = {.rep = rep_listen(), .mode = PEER_SILENT};
    orc_client *c = client_with(NULL, NULL, NULL, 200);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, peer_main, &p), 0);
    orc_error e;
    assert_int_equal(orc_health(c, &e), ORC_UNAVAILABLE);
    assert_non_null(strstr(e.message, "no answer from orchestrad at " TEST_URL " within 200 ms"));
    pthread_join(t, NULL);
    free(p.first);
    orc_client_destroy(c);
    nng_close(p.rep);
}

static void test_call_resends_same_bytes_after_lost_connection(void **state)
{
    (void)state;
    peer p = {.rep = rep_listen(), .mode = PEER_DROP_ONCE};
    orc_client *c = client_with("orchestra-user", "CHANGEME", NULL, 20000);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, peer_main, &p), 0);
    orc_error e;
    assert_int_equal(orc_health(c, &e), ORC_OK);
    pthread_join(t, NULL);
    assert_non_null(p.second);
    assert_int_equal(p.first_len, p.second_len);
    assert_memory_equal(p.first, p.second, p.first_len);
    free(p.first);
    free(p.second);
    orc_client_destroy(c);
    nng_close(p.rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_with_key_carries_a_verifiable_signature),
        cmocka_unit_test(test_request_without_credentials_has_no_auth),
        cmocka_unit_test(test_request_carries_token_and_follows_set_token),
        cmocka_unit_test(test_client_new_without_server_is_unavailable),
        cmocka_unit_test(test_client_new_refuses_key_without_secret),
        cmocka_unit_test(test_call_returns_the_server_refusal),
        cmocka_unit_test(test_call_without_answer_times_out_as_unavailable),
        cmocka_unit_test(test_call_resends_same_bytes_after_lost_connection),
    };
    return cmocka_run_group_tests_name("client_request", tests, NULL, NULL);
}
