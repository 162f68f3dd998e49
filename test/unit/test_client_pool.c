/*
 * test_client_pool.c: the client keeps the REQ contexts of calls that went through for the
 * next calls (client.c "Contexts"): many calls in a row and from several threads at once get
 * each its own reply; a call that timed out leaves nothing behind for the next one (a late
 * answer to it never reaches another call); after orc_client_close calls fail at once.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "orchestra/client.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "support.h"

#define TEST_URL "inproc://test_client_pool"
#define THREADS 4
#define CALLS 200

/*
 * A REP peer with contexts: answers every Health request (with its request id), except that with
 * hold_first it keeps the first request unanswered until release is set, then answers it (too late)
 * and goes on.
 */
typedef struct peer {
    nng_socket rep;
    atomic_int answered;
    atomic_bool stop;
    bool hold_first;
    atomic_bool release;
    pthread_t thread;
} peer;

static nng_msg *answer(nng_msg *req)
{
    Orchestra__V1__Request *r =
        orchestra__v1__request__unpack(NULL, nng_msg_len(req), nng_msg_body(req));
    Orchestra__V1__HealthReply h = ORCHESTRA__V1__HEALTH_REPLY__INIT;
    Orchestra__V1__Reply rep = ORCHESTRA__V1__REPLY__INIT;
    uint8_t body[256], out[512];
    h.status = "SERVING";
    rep.request_id = r ? r->request_id : (char *)"";
    rep.body.len = protobuf_c_message_pack(&h.base, body);
    rep.body.data = body;
    size_t n = orchestra__v1__reply__pack(&rep, out);
    if (r)
        orchestra__v1__request__free_unpacked(r, NULL);
    nng_msg_clear(req);
    nng_msg_append(req, out, n);
    return req;
}

/* ctx_recv and ctx_send: nng 1.5.2 has no nng_ctx_recvmsg / nng_ctx_sendmsg. */
static int ctx_recv(nng_ctx ctx, nng_aio *aio, nng_msg **m)
{
    nng_aio_set_timeout(aio, 20);
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    *m = rv == 0 ? nng_aio_get_msg(aio) : NULL;
    return rv;
}

static void ctx_send(nng_ctx ctx, nng_aio *aio, nng_msg *m)
{
    nng_aio_set_timeout(aio, 1000);
    nng_aio_set_msg(aio, m);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if (nng_aio_result(aio) != 0)
        nng_msg_free(m);
}

static void *peer_main(void *arg)
{
    peer *p = arg;
    nng_ctx held_ctx;
    nng_msg *held = NULL;
    nng_ctx ctx;
    nng_aio *aio;
    assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
    assert_int_equal(nng_ctx_open(&ctx, p->rep), 0);
    while (!atomic_load(&p->stop)) {
        if (held && atomic_load(&p->release)) {
            ctx_send(held_ctx, aio, answer(held));
            nng_ctx_close(held_ctx);
            held = NULL;
        }
        nng_msg *m = NULL;
        if (ctx_recv(ctx, aio, &m) != 0)
            continue;
        if (p->hold_first && !held && atomic_load(&p->answered) == 0 && !atomic_load(&p->release)) {
            /* Keep it on this context; serve the others on a new one. */
            held = m;
            held_ctx = ctx;
            assert_int_equal(nng_ctx_open(&ctx, p->rep), 0);
            continue;
        }
        ctx_send(ctx, aio, answer(m));
        atomic_fetch_add(&p->answered, 1);
    }
    if (held) {
        nng_msg_free(held);
        nng_ctx_close(held_ctx);
    }
    nng_ctx_close(ctx);
    nng_aio_free(aio);
    return NULL;
}

static void peer_start(peer *p, bool hold_first)
{
    memset(p, 0, sizeof *p);
    p->hold_first = hold_first;
    assert_int_equal(nng_rep0_open(&p->rep), 0);
    assert_int_equal(nng_listen(p->rep, TEST_URL, NULL, 0), 0);
    assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_stop(peer *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    nng_close(p->rep);
}

static orc_client *client_new(int timeout_ms)
{
    orc_client_opts o;
    memset(&o, 0, sizeof o);
    o.rpc_url = TEST_URL;
    o.timeout_ms = timeout_ms;
    orc_client *c = NULL;
    orc_error e;
    assert_int_equal(orc_client_new(&o, &c, &e), ORC_OK);
    return c;
}

/* health is one call; the client refuses a reply that carries another request's id. */
static int health(orc_client *c, orc_error *e)
{
    return orc_health(c, e);
}

typedef struct caller {
    orc_client *c;
    int ok;
} caller;

static void *caller_main(void *arg)
{
    caller *k = arg;
    for (int i = 0; i < CALLS / THREADS; i++) {
        orc_error e;
        if (health(k->c, &e) == ORC_OK)
            k->ok++;
    }
    return NULL;
}

static void test_pool_calls_in_a_row_and_at_once_get_their_replies(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, false);
    orc_client *c = client_new(10000);
    /* The client checks that every reply carries its request's id: a reused context that
     * handed one call another's reply would fail the call. */
    for (int i = 0; i < CALLS; i++) {
        orc_error e;
        assert_int_equal(health(c, &e), ORC_OK);
    }
    caller k[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        k[i] = (caller){.c = c};
        assert_int_equal(pthread_create(&t[i], NULL, caller_main, &k[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(k[i].ok, CALLS / THREADS);
    }
    orc_client_destroy(c);
    peer_stop(&p); /* joined: it has counted its last answer */
    assert_int_equal(atomic_load(&p.answered), 2 * CALLS);
}

static void test_pool_timed_out_call_leaves_nothing_for_the_next(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, true);
    orc_client *c = client_new(300);
    orc_error e;
    assert_int_equal(health(c, &e), ORC_UNAVAILABLE);
    assert_non_null(strstr(e.message, "within 300 ms"));
    /* The late answer to the first call goes out now; the next calls get their own. */
    atomic_store(&p.release, true);
    for (int i = 0; i < 20; i++)
        assert_int_equal(health(c, &e), ORC_OK);
    orc_client_destroy(c);
    peer_stop(&p);
}

static void test_pool_calls_after_close_fail_at_once(void **state)
{
    (void)state;
    peer p;
    peer_start(&p, false);
    orc_client *c = client_new(10000);
    orc_error e;
    for (int i = 0; i < 5; i++)
        assert_int_equal(health(c, &e), ORC_OK);
    orc_client_close(c);
    assert_int_equal(health(c, &e), ORC_UNAVAILABLE);
    assert_non_null(strstr(e.message, "closed"));
    orc_client_destroy(c);
    peer_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_calls_in_a_row_and_at_once_get_their_replies),
        cmocka_unit_test(test_pool_timed_out_call_leaves_nothing_for_the_next),
        cmocka_unit_test(test_pool_calls_after_close_fail_at_once),
    };
    return cmocka_run_group_tests_name("client_pool", tests, NULL, NULL);
}
