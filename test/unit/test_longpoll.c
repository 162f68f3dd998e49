/*
 * test_longpoll.c: LeaseJob as a long poll on a real RPC server (rpc.c over ipc://): a parked
 * poll is answered when another call creates a job, when a retried job falls due, or with an
 * empty reply at its deadline; parked polls hold no worker thread and no serving context,
 * so Health still answers with 16 of them parked on a 4-context server; stopping the server
 * answers parked polls at once. Also: a lone request, served in the callback that received it,
 * whose write waits behind a busy writer is answered by the writer.
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
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "rpc/keys.h"
#include "lifecycle_fixture.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "rpc/rpc.h"
#include "svc/server.h"
#include "sign.h"

#define SECRET "s3cret-of-test"
#define N_PARKED 16

typedef struct lp {
    fx *f;
    orci_server srv;
    orci_rpc *rpc;
    char url[400];
    int next_id;
} lp;

static int key_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    orci_key k;
    int rc =
        orci_keys_create(db, "exec", ORCI_SCOPE_EXECUTOR, "exec-key", SECRET, FX_EPOCH_US, &k, err);
    if (rc == ORC_OK)
        rc = orci_keys_create(db, "admin", ORCI_SCOPE_ADMIN, "admin-key", SECRET, FX_EPOCH_US, &k,
                              err);
    return rc;
}

static int setup(void **state)
{
    void *fs = NULL;
    fx_setup(&fs);
    lp *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = fs;
    fx *f = t->f;
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->store, key_fn, NULL, &err), ORC_OK);
    fx_workflow(f);
    fx_exec(f, (fx_sql){.sql = "INSERT INTO steps (workflow_version_id, slug, name, description,"
                               " is_human, execution_function, retry_policy, position, created_at)"
                               " VALUES (?1, 'crawl', 'Crawl', '', 0,"
                               " '{\"module\":\"m\",\"name\":\"crawl\"}',"
                               " '{\"initial_delay_ms\":300,\"max_delay_ms\":300}', 0, ?2)",
                        .i = {f->version_id, f->now},
                        .ni = 2});
    t->srv.store = f->store; /* the system clock: parking runs in real time */
    t->srv.settings.auth_window_s = 300;
    t->srv.settings.pbkdf2_iterations = 1000;
    snprintf(t->url, sizeof t->url, "ipc://%s/rpc.sock", f->dir);
    orci_rpc_opts ro = {.url = t->url, .contexts = 4, .workers = 2};
    if (orci_rpc_start(&t->srv, &ro, &t->rpc, &err) != ORC_OK)
        fail_msg("rpc: %s", err.message);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    lp *t = *state;
    orci_rpc_stop(t->rpc);
    void *fs = t->f;
    fx_teardown(&fs);
    free(t);
    return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

/* request builds a signed request envelope as an nng message. */
static nng_msg *request(lp *t, const char *method, const char *key_id, const ProtobufCMessage *body)
{
    size_t body_len = protobuf_c_message_get_packed_size(body);
    uint8_t *b = malloc(body_len ? body_len : 1);
    assert_non_null(b);
    protobuf_c_message_pack(body, b);
    char rid[32];
    snprintf(rid, sizeof rid, "req-%d", ++t->next_id);
    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)method;
    r.request_id = rid;
    r.body.data = b;
    r.body.len = body_len;
    a.key_id = (char *)key_id;
    a.timestamp = (int64_t)time(NULL);
    orci_sign_request(SECRET, strlen(SECRET), method, rid, a.timestamp, b, body_len, mac);
    a.signature.data = mac;
    a.signature.len = sizeof mac;
    r.auth = &a;
    nng_msg *m = NULL;
    assert_int_equal(nng_msg_alloc(&m, orchestra__v1__request__get_packed_size(&r)), 0);
    orchestra__v1__request__pack(&r, nng_msg_body(m));
    free(b);
    return m;
}

static nng_socket dial(lp *t)
{
    nng_socket s;
    assert_int_equal(nng_req0_open(&s), 0);
    /* Longer than any poll: a parked request is never sent twice. */
    assert_int_equal(nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, 60000), 0);
    assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000), 0);
    assert_int_equal(nng_dial(s, t->url, NULL, 0), 0);
    return s;
}

/* call sends a request and returns the reply envelope (status checked by the caller). */
static Orchestra__V1__Reply *call(lp *t, const char *method, const char *key_id,
                                  const ProtobufCMessage *body)
{
    nng_socket s = dial(t);
    assert_int_equal(nng_sendmsg(s, request(t, method, key_id, body), 0), 0);
    nng_msg *m = NULL;
    assert_int_equal(nng_recvmsg(s, &m, 0), 0);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    assert_non_null(r);
    nng_msg_free(m);
    nng_close(s);
    return r;
}

static int64_t create_project(lp *t)
{
    Orchestra__V1__CreateProjectRequest cp;
    orchestra__v1__create_project_request__init(&cp);
    cp.workflow = "w";
    cp.version = "v1";
    cp.description = "long poll";
    cp.project_data = "{}";
    Orchestra__V1__Reply *r = call(t, "CreateProject", "admin-key", &cp.base);
    if ((int)r->status != ORC_OK)
        fail_msg("CreateProject: %s", r->message);
    Orchestra__V1__CreateProjectReply *c =
        orchestra__v1__create_project_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(c);
    int64_t id = c->project_id;
    orchestra__v1__create_project_reply__free_unpacked(c, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return id;
}

/* ---- polls --------------------------------------------------------------------------- */

typedef struct poll_t {
    nng_socket sock;
    nng_aio *aio;
    atomic_bool done;
    int64_t started_ms, done_ms;
} poll_t;

static void poll_cb(void *arg)
{
    poll_t *p = arg;
    p->done_ms = orc_test_now_ms();
    atomic_store(&p->done, true);
}

/* poll_start sends a LeaseJob and arms the receive of its reply. */
static void poll_start(lp *t, poll_t *p, const char *function, int wait_ms)
{
    memset(p, 0, sizeof *p);
    p->sock = dial(t);
    assert_int_equal(nng_aio_alloc(&p->aio, poll_cb, p), 0);
    nng_aio_set_timeout(p->aio, 20000);
    Orchestra__V1__LeaseJobRequest lr;
    orchestra__v1__lease_job_request__init(&lr);
    char *fns[1] = {(char *)function};
    lr.executor_id = "exec-test";
    lr.functions = fns;
    lr.n_functions = 1;
    lr.wait_ms = wait_ms;
    p->started_ms = orc_test_now_ms();
    assert_int_equal(nng_sendmsg(p->sock, request(t, "LeaseJob", "exec-key", &lr.base), 0), 0);
    nng_recv_aio(p->sock, p->aio);
}

/* poll_reply waits for the poll's reply and returns the job (NULL when none; caller frees). */
static Orchestra__V1__LeaseJobReply *poll_reply(poll_t *p)
{
    nng_aio_wait(p->aio);
    assert_int_equal(nng_aio_result(p->aio), 0);
    nng_msg *m = nng_aio_get_msg(p->aio);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    assert_non_null(r);
    nng_msg_free(m);
    if ((int)r->status != ORC_OK)
        fail_msg("LeaseJob: %s", r->message);
    Orchestra__V1__LeaseJobReply *lr =
        orchestra__v1__lease_job_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(lr);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return lr;
}

static void poll_close(poll_t *p)
{
    nng_aio_free(p->aio);
    nng_close(p->sock);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_longpoll_parked_lease_answered_when_job_created(void **state)
{
    lp *t = *state;
    poll_t p;
    poll_start(t, &p, "m.crawl", 20000);
    orc_test_sleep_ms(300);
    assert_false(atomic_load(&p.done)); /* parked: no job yet */

    int64_t created_ms = orc_test_now_ms();
    int64_t project = create_project(t);
    Orchestra__V1__LeaseJobReply *lr = poll_reply(&p);
    assert_non_null(lr->job);
    assert_int_equal(lr->job->project_id, project);
    assert_string_equal(lr->job->function, "m.crawl");
    assert_string_equal(lr->job->step, "crawl");
    assert_int_equal(lr->job->attempt, 1);
    /* Woken by the creation, long before the poll's 20 s deadline. */
    assert_true(p.done_ms - created_ms < 10000);
    orchestra__v1__lease_job_reply__free_unpacked(lr, NULL);
    poll_close(&p);
}

static void test_longpoll_empty_reply_at_deadline(void **state)
{
    lp *t = *state;
    create_project(t); /* a job of another function does not answer the poll */
    poll_t p;
    poll_start(t, &p, "m.other", 400);
    Orchestra__V1__LeaseJobReply *lr = poll_reply(&p);
    assert_null(lr->job);
    assert_true(p.done_ms - p.started_ms >= 350);
    orchestra__v1__lease_job_reply__free_unpacked(lr, NULL);
    poll_close(&p);
}

static void test_longpoll_retried_job_wakes_poll_when_due(void **state)
{
    lp *t = *state;
    create_project(t);
    poll_t p;
    poll_start(t, &p, "m.crawl", 5000);
    Orchestra__V1__LeaseJobReply *lr = poll_reply(&p);
    assert_non_null(lr->job);
    poll_close(&p);

    /* A retryable failure: due again 150 to 300 ms later (the step's policy). */
    Orchestra__V1__FailJobRequest fr;
    orchestra__v1__fail_job_request__init(&fr);
    fr.job_id = lr->job->job_id;
    fr.lease_token = lr->job->lease_token;
    fr.error = "flaky";
    fr.retryable = true;
    poll_t again;
    poll_start(t, &again, "m.crawl", 15000);
    orc_test_sleep_ms(200);
    assert_false(atomic_load(&again.done));
    Orchestra__V1__Reply *r = call(t, "FailJob", "exec-key", &fr.base);
    assert_int_equal(r->status, ORC_OK);
    orchestra__v1__reply__free_unpacked(r, NULL);
    orchestra__v1__lease_job_reply__free_unpacked(lr, NULL);

    /* The parked poll gets attempt 2 at the due time, without any other call. */
    lr = poll_reply(&again);
    assert_non_null(lr->job);
    assert_int_equal(lr->job->attempt, 2);
    assert_true(again.done_ms - again.started_ms < 10000);
    orchestra__v1__lease_job_reply__free_unpacked(lr, NULL);
    poll_close(&again);
}

static void test_longpoll_parked_polls_do_not_block_health_and_stop_answers_them(void **state)
{
    lp *t = *state;
    poll_t polls[N_PARKED];
    for (int i = 0; i < N_PARKED; i++)
        poll_start(t, &polls[i], "m.none", 20000);
    orc_test_sleep_ms(300);
    for (int i = 0; i < N_PARKED; i++)
        assert_false(atomic_load(&polls[i].done));

    /* Four contexts and two workers, sixteen parked polls: Health still answers. */
    Orchestra__V1__HealthRequest h;
    orchestra__v1__health_request__init(&h);
    for (int i = 0; i < 3; i++) {
        Orchestra__V1__Reply *r = call(t, "Health", "admin-key", &h.base);
        assert_int_equal(r->status, ORC_OK);
        orchestra__v1__reply__free_unpacked(r, NULL);
    }
    for (int i = 0; i < N_PARKED; i++)
        assert_false(atomic_load(&polls[i].done));

    /* A graceful stop answers every parked poll (empty) at once. */
    int64_t stop_ms = orc_test_now_ms();
    orci_rpc_stop(t->rpc);
    t->rpc = NULL;
    assert_true(orc_test_now_ms() - stop_ms < 10000);
    for (int i = 0; i < N_PARKED; i++) {
        Orchestra__V1__LeaseJobReply *lr = poll_reply(&polls[i]);
        assert_null(lr->job);
        assert_true(polls[i].done_ms - polls[i].started_ms < 15000);
        orchestra__v1__lease_job_reply__free_unpacked(lr, NULL);
        poll_close(&polls[i]);
    }
}

/* ---- a lone request served in its receive callback ---------------------------------- */

/* hold_writer holds the store's writer at a gate until the test opens it. */
static int hold_writer(orci_db *db, void *arg, orc_error *err)
{
    (void)db;
    (void)err;
    orc_test_gate_enter(arg);
    return ORC_OK;
}

/* held_done says that the held job's on_done ran (arg: a second gate). */
static void held_done(void *arg, int status, const orc_error *err)
{
    (void)status;
    (void)err;
    orc_test_gate_arrive(arg);
}

/*
 * A request that arrives when no other is being served is served in the nng callback that
 * received it. When the store's writer is busy, its write is queued and the callback returns
 * without a reply: the writer answers it once it has run it. Here the writer is held by a job
 * of the test's own while a CreateProject arrives alone; its reply comes once it is let go.
 */
static void test_lone_write_queued_behind_a_busy_writer_is_answered_by_the_writer(void **state)
{
    lp *t = *state;
    orc_test_gate held, done;
    orc_test_gate_init(&held);
    orc_test_gate_init(&done);
    orc_error err = {0};
    assert_int_equal(
        orci_store_write_async(t->f->store, hold_writer, &held, held_done, &done, &err), ORC_OK);
    orc_test_gate_wait_entered(&held);

    Orchestra__V1__CreateProjectRequest cp;
    orchestra__v1__create_project_request__init(&cp);
    cp.workflow = "w";
    cp.version = "v1";
    cp.description = "behind a busy writer";
    cp.project_data = "{}";
    poll_t p; /* the reply's receive, as a poll's */
    memset(&p, 0, sizeof p);
    p.sock = dial(t);
    assert_int_equal(nng_aio_alloc(&p.aio, poll_cb, &p), 0);
    nng_aio_set_timeout(p.aio, 20000);
    assert_int_equal(nng_sendmsg(p.sock, request(t, "CreateProject", "admin-key", &cp.base), 0), 0);
    nng_recv_aio(p.sock, p.aio);
    orc_test_sleep_ms(300);
    assert_false(atomic_load(&p.done)); /* queued behind the held writer */

    orc_test_gate_open(&held);
    nng_aio_wait(p.aio);
    assert_int_equal(nng_aio_result(p.aio), 0);
    nng_msg *m = nng_aio_get_msg(p.aio);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
    assert_non_null(r);
    nng_msg_free(m);
    if ((int)r->status != ORC_OK)
        fail_msg("CreateProject: %s", r->message);
    orchestra__v1__reply__free_unpacked(r, NULL);
    poll_close(&p);

    /* The server goes on serving: the next lone request is answered at once. */
    assert_true(create_project(t) > 0);
    orc_test_gate_wait_entered(&done);
    orc_test_gate_fini(&held);
    orc_test_gate_fini(&done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_longpoll_parked_lease_answered_when_job_created, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_longpoll_empty_reply_at_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longpoll_retried_job_wakes_poll_when_due, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_longpoll_parked_polls_do_not_block_health_and_stop_answers_them, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_lone_write_queued_behind_a_busy_writer_is_answered_by_the_writer, setup, teardown),
    };
    return cmocka_run_group_tests_name("longpoll", tests, NULL, NULL);
}
