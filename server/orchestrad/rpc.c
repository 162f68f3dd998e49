/*
 * rpc.c: the REP server (see rpc.h).
 *
 * Each context is a small state machine, all transitions under rpc->mu:
 *   RECV  a receive is armed (or has just completed and its callback is pending);
 *   WAIT  the request is queued or being dispatched by a worker;
 *   SEND  the reply is being sent;
 *   IDLE  parked for good (stopping, or the socket closed).
 * Callbacks never block: RECV -> WAIT pushes onto the work queue; SEND -> RECV re-arms.
 */
#include "rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "replies.h"

#define RPC_SEND_TIMEOUT_MS 10000
#define RPC_STOP_SEND_WAIT_MS 10000
#define RPC_PRUNE_INTERVAL_S 60
#define RPC_TLS_FILE_MAX (1u << 20)

typedef enum rpc_state { RPC_RECV, RPC_WAIT, RPC_SEND, RPC_IDLE } rpc_state;

typedef struct rpc_ctx {
    struct orci_rpc *rpc;
    nng_ctx ctx;
    nng_aio *aio;
    rpc_state state;
    nng_msg *req;         /* the request while WAIT */
    struct rpc_ctx *next; /* work queue link */
} rpc_ctx;

typedef struct rpc_worker {
    struct orci_rpc *rpc;
    orci_db *rdb;
    pthread_t thread;
    bool started;
} rpc_worker;

struct orci_rpc {
    orci_server *srv;
    nng_socket sock;
    bool sock_open;

    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* queue not empty, or quit */
    pthread_cond_t state_cv; /* a context changed state */
    pthread_cond_t maint_cv; /* CLOCK_MONOTONIC: quit for the maintenance thread */
    bool sync_init;
    bool stopping; /* no new receives */
    bool quit;     /* threads exit */
    rpc_ctx *head, *tail;

    rpc_ctx *ctxs;
    int n_ctxs;
    rpc_worker *workers;
    int n_workers;
    pthread_t maint;
    bool maint_started;
};

/* ---- listening ------------------------------------------------------------------------ */

/* rpc_read_file reads a whole (small) file into a NUL-terminated malloc'd string. */
static char *rpc_read_file(const char *path, orc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(RPC_TLS_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, RPC_TLS_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > RPC_TLS_FILE_MAX;
    fclose(f);
    if (bad) {
        free(buf);
        orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot read %s (missing or over 1 MiB)", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/*
 * rpc_ipc_in_use tells whether a server is listening on the ipc socket at path. nng 1.5.2
 * checks for a stale socket file by connecting and closing at once, and a connection that
 * closes before the SP handshake stops that ipc listener from ever accepting again
 * (nng issue #1518, fixed after 1.5.2). Probing here with a complete handshake first keeps
 * a second orchestrad from breaking a running one.
 */
static bool rpc_ipc_in_use(const char *path)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path)
        return false;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    bool live = false;
    if (connect(fd, (const struct sockaddr *)&sun, sizeof sun) == 0) {
        /* SP header: "\0SP\0", protocol 48 (req0), two reserved bytes. */
        static const unsigned char hello[8] = {0, 'S', 'P', 0, 0, 48, 0, 0};
        unsigned char answer[8];
        live = true;
        if (write(fd, hello, sizeof hello) == (ssize_t)sizeof hello) {
            size_t got = 0;
            while (got < sizeof answer) {
                ssize_t n = read(fd, answer + got, sizeof answer - got);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
        }
    }
    close(fd);
    return live;
}

int orci_listen(nng_socket sock, const char *url, const char *cert_file, const char *key_file,
                orc_error *err)
{
    if (strncmp(url, "ipc://", 6) == 0 && rpc_ipc_in_use(url + 6))
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot listen on %s: %s", url,
                             nng_strerror(NNG_EADDRINUSE));
    nng_listener l;
    nng_tls_config *cfg = NULL;
    char *cert = NULL, *key = NULL;
    int rc = ORC_OK;
    int rv = nng_listener_create(&l, sock, url);
    if (rv != 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot listen on %s: %s", url,
                             nng_strerror(rv));
    if (strncmp(url, "tls+", 4) == 0) {
        if (!cert_file || !key_file) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                               "%s needs a certificate and key (--tls-cert, --tls-key)", url);
            goto fail;
        }
        if (!(cert = rpc_read_file(cert_file, err)) || !(key = rpc_read_file(key_file, err))) {
            rc = ORC_INVALID_ARGUMENT;
            goto fail;
        }
        rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER);
        if (rv == 0)
            rv = nng_tls_config_own_cert(cfg, cert, key, NULL);
        if (rv != 0) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "TLS certificate %s / key %s: %s",
                               cert_file, key_file, nng_strerror(rv));
            goto fail;
        }
        rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
        if (rv != 0) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot use TLS on %s: %s", url,
                               nng_strerror(rv));
            goto fail;
        }
    }
    rv = nng_listener_start(l, 0);
    if (rv != 0) {
        rc = orc_error_set(err, rv == NNG_EADDRINVAL ? ORC_INVALID_ARGUMENT : ORC_UNAVAILABLE,
                           "cannot listen on %s: %s", url, nng_strerror(rv));
        goto fail;
    }
    goto out;
fail:
    nng_listener_close(l);
out:
    if (cfg)
        nng_tls_config_free(cfg); /* the listener holds its own reference */
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
    }
    free(cert);
    return rc;
}

/* ---- contexts ------------------------------------------------------------------------- */

/* rpc_arm_recv_locked re-arms a receive, or parks the context when stopping. */
static void rpc_arm_recv_locked(rpc_ctx *c)
{
    if (c->rpc->stopping) {
        c->state = RPC_IDLE;
        pthread_cond_broadcast(&c->rpc->state_cv);
        return;
    }
    c->state = RPC_RECV;
    nng_aio_set_timeout(c->aio, NNG_DURATION_INFINITE);
    nng_ctx_recv(c->ctx, c->aio);
}

static void rpc_ctx_cb(void *arg)
{
    rpc_ctx *c = arg;
    orci_rpc *r = c->rpc;
    int rv = nng_aio_result(c->aio);
    pthread_mutex_lock(&r->mu);
    switch (c->state) {
    case RPC_RECV:
        if (rv != 0) {
            if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || r->stopping) {
                c->state = RPC_IDLE;
                pthread_cond_broadcast(&r->state_cv);
            } else {
                rpc_arm_recv_locked(c);
            }
            break;
        }
        /* Even when stopping, a request already received is answered. */
        c->req = nng_aio_get_msg(c->aio);
        nng_aio_set_msg(c->aio, NULL);
        c->state = RPC_WAIT;
        c->next = NULL;
        if (r->tail)
            r->tail->next = c;
        else
            r->head = c;
        r->tail = c;
        pthread_cond_signal(&r->work_cv);
        break;
    case RPC_SEND:
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(c->aio));
            nng_aio_set_msg(c->aio, NULL);
        }
        if (rv == NNG_ECLOSED) {
            c->state = RPC_IDLE;
            pthread_cond_broadcast(&r->state_cv);
        } else {
            rpc_arm_recv_locked(c);
        }
        break;
    case RPC_WAIT:
    case RPC_IDLE:
        break;
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- workers -------------------------------------------------------------------------- */

static void rpc_serve(rpc_worker *w, rpc_ctx *c)
{
    orci_rpc *r = w->rpc;
    nng_msg *msg = c->req;
    c->req = NULL;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int rc = orci_dispatch(r->srv, w->rdb, nng_msg_body(msg), nng_msg_len(msg), &reply, &reply_len);
    nng_msg_clear(msg);
    if (rc == ORC_OK && nng_msg_append(msg, reply, reply_len) != 0)
        rc = ORC_RESOURCE_EXHAUSTED;
    free(reply);

    pthread_mutex_lock(&r->mu);
    if (rc != ORC_OK) {
        /* No memory for a reply: drop the request; the client's timeout will tell. */
        orci_error("rpc: cannot allocate a reply; request dropped");
        nng_msg_free(msg);
        rpc_arm_recv_locked(c);
    } else {
        c->state = RPC_SEND;
        nng_aio_set_msg(c->aio, msg);
        nng_aio_set_timeout(c->aio, RPC_SEND_TIMEOUT_MS);
        nng_ctx_send(c->ctx, c->aio);
    }
    pthread_mutex_unlock(&r->mu);
}

static void *rpc_worker_main(void *arg)
{
    rpc_worker *w = arg;
    orci_rpc *r = w->rpc;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->head && !r->quit)
            pthread_cond_wait(&r->work_cv, &r->mu);
        if (!r->head)
            break;
        rpc_ctx *c = r->head;
        r->head = c->next;
        if (!r->head)
            r->tail = NULL;
        c->next = NULL;
        pthread_mutex_unlock(&r->mu);
        rpc_serve(w, c);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- maintenance ---------------------------------------------------------------------- */

static int rpc_prune_job(orci_db *db, void *arg, orc_error *err)
{
    int64_t *cutoff_deleted = arg; /* in: cutoff; out: rows deleted */
    int64_t deleted = 0;
    int rc = orci_replies_prune(db, cutoff_deleted[0], &deleted, err);
    cutoff_deleted[1] = deleted;
    return rc;
}

static void *rpc_maint_main(void *arg)
{
    orci_rpc *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->quit) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += RPC_PRUNE_INTERVAL_S;
        int rv = 0;
        while (!r->quit && rv != ETIMEDOUT)
            rv = pthread_cond_timedwait(&r->maint_cv, &r->mu, &deadline);
        if (r->quit)
            break;
        pthread_mutex_unlock(&r->mu);

        int64_t keep_us = (2 * (int64_t)r->srv->settings.auth_window_s + 60) * 1000000;
        int64_t job[2] = {orci_clock_now(r->srv->clock) - keep_us, 0};
        orc_error err;
        orc_error_clear(&err);
        if (orci_store_write(r->srv->store, rpc_prune_job, job, &err) != ORC_OK)
            orci_warn("rpc: pruning stored replies failed: %s", err.message);
        else if (job[1] > 0)
            orci_debug("rpc: pruned %" PRId64 " stored replies", job[1]);

        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

static int rpc_count_locked(const orci_rpc *r, rpc_state s)
{
    int n = 0;
    for (int i = 0; i < r->n_ctxs; i++)
        n += r->ctxs[i].state == s;
    return n;
}

static void rpc_free(orci_rpc *r)
{
    if (r->sock_open)
        nng_close(r->sock); /* aborts what is left; callbacks park the contexts */
    for (int i = 0; i < r->n_ctxs; i++) {
        rpc_ctx *c = &r->ctxs[i];
        if (c->aio) {
            nng_aio_stop(c->aio); /* waits for a running callback */
            nng_msg_free(nng_aio_get_msg(c->aio));
            nng_aio_free(c->aio);
        }
        nng_msg_free(c->req);
    }
    for (int i = 0; i < r->n_workers; i++)
        orci_db_close(r->workers[i].rdb);
    if (r->sync_init) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->work_cv);
        pthread_cond_destroy(&r->state_cv);
        pthread_cond_destroy(&r->maint_cv);
    }
    free(r->ctxs);
    free(r->workers);
    free(r);
}

/* rpc_join tells every thread to finish and waits for them. */
static void rpc_join(orci_rpc *r)
{
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    pthread_cond_broadcast(&r->work_cv);
    pthread_cond_broadcast(&r->maint_cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n_workers; i++)
        if (r->workers[i].started)
            pthread_join(r->workers[i].thread, NULL);
    if (r->maint_started)
        pthread_join(r->maint, NULL);
}

int orci_rpc_start(orci_server *srv, const orci_rpc_opts *opts, orci_rpc **out, orc_error *err)
{
    *out = NULL;
    int rc;
    int rv;
    orci_rpc *r = calloc(1, sizeof *r);
    if (!r)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    r->srv = srv;
    r->n_ctxs = opts->contexts > 0 ? opts->contexts : ORCI_RPC_DEFAULT_CONTEXTS;
    r->n_workers = opts->workers > 0 ? opts->workers : ORCI_RPC_DEFAULT_WORKERS;
    size_t max_message = opts->max_message ? opts->max_message : ORCI_RPC_DEFAULT_MAX_MESSAGE;
    r->ctxs = calloc((size_t)r->n_ctxs, sizeof *r->ctxs);
    r->workers = calloc((size_t)r->n_workers, sizeof *r->workers);
    if (!r->ctxs || !r->workers) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work_cv, NULL);
    pthread_cond_init(&r->state_cv, NULL);
    pthread_cond_init(&r->maint_cv, &ca);
    pthread_condattr_destroy(&ca);
    r->sync_init = true;

    for (int i = 0; i < r->n_workers; i++) {
        r->workers[i].rpc = r;
        rc = orci_db_open_reader(srv->store, &r->workers[i].rdb, err);
        if (rc != ORC_OK)
            goto fail;
    }

    rv = nng_rep0_open(&r->sock);
    if (rv != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot open the RPC socket: %s", nng_strerror(rv));
        goto fail;
    }
    r->sock_open = true;
    rv = nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ, max_message);
    if (rv != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot cap the message size: %s", nng_strerror(rv));
        goto fail;
    }
    rc = orci_listen(r->sock, opts->url, opts->tls_cert_file, opts->tls_key_file, err);
    if (rc != ORC_OK)
        goto fail;

    for (int i = 0; i < r->n_ctxs; i++) {
        rpc_ctx *c = &r->ctxs[i];
        c->rpc = r;
        c->state = RPC_IDLE;
        if ((rv = nng_aio_alloc(&c->aio, rpc_ctx_cb, c)) != 0 ||
            (rv = nng_ctx_open(&c->ctx, r->sock)) != 0) {
            rc = orc_error_set(err, ORC_INTERNAL, "cannot set up RPC contexts: %s",
                               nng_strerror(rv));
            goto fail;
        }
    }
    for (int i = 0; i < r->n_workers; i++) {
        if (pthread_create(&r->workers[i].thread, NULL, rpc_worker_main, &r->workers[i]) != 0) {
            rc = orc_error_set(err, ORC_INTERNAL, "cannot start RPC worker threads");
            goto fail;
        }
        r->workers[i].started = true;
    }
    if (pthread_create(&r->maint, NULL, rpc_maint_main, r) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot start the maintenance thread");
        goto fail;
    }
    r->maint_started = true;

    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n_ctxs; i++)
        rpc_arm_recv_locked(&r->ctxs[i]);
    pthread_mutex_unlock(&r->mu);
    orci_debug("rpc: %d contexts, %d workers, messages up to %zu bytes", r->n_ctxs, r->n_workers,
               max_message);
    *out = r;
    return ORC_OK;
fail:
    if (r->sync_init)
        rpc_join(r);
    rpc_free(r);
    return rc;
}

void orci_rpc_stop(orci_rpc *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    /* Cancel the receives; callbacks run later on nng's threads and park the contexts. */
    for (int i = 0; i < r->n_ctxs; i++)
        if (r->ctxs[i].state == RPC_RECV)
            nng_aio_cancel(r->ctxs[i].aio);
    /* Requests already received are answered, however long they take. */
    while (rpc_count_locked(r, RPC_RECV) + rpc_count_locked(r, RPC_WAIT) > 0)
        pthread_cond_wait(&r->state_cv, &r->mu);
    pthread_mutex_unlock(&r->mu);

    /* Replies get a bounded time to leave (a peer may have stopped reading). */
    int64_t deadline = orci_monotonic_ms() + RPC_STOP_SEND_WAIT_MS;
    pthread_mutex_lock(&r->mu);
    while (rpc_count_locked(r, RPC_SEND) > 0 && orci_monotonic_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->state_cv, &r->mu, &ts);
    }
    int unsent = rpc_count_locked(r, RPC_SEND);
    pthread_mutex_unlock(&r->mu);
    if (unsent > 0)
        orci_warn("rpc: %d replies not delivered at shutdown", unsent);

    rpc_join(r);
    rpc_free(r);
}
