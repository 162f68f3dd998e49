/*
 * rpc.c: the REP server (see rpc.h).
 *
 * Each context is a small state machine, all transitions under rpc->mu:
 *   RECV    a receive is armed (or has just completed and its callback is pending);
 *   WAIT    the request is queued or being dispatched by a worker;
 *   PARKED  a long poll waiting for work (below); no thread holds it;
 *   SEND    the reply is being sent;
 *   SPARE   an extra context with nothing to do, kept for the next parked poll;
 *   IDLE    parked for good (stopping, or the socket closed).
 * Callbacks never block: RECV -> WAIT pushes onto the work queue; SEND -> RECV re-arms.
 *
 * Long polls (LeaseJob). When orci_dispatch_poll answers "parked", the worker keeps the
 * request bytes on the context and moves it to PARKED instead of replying, and the thread
 * is free again. So that parked polls never starve other requests, a context that parks is
 * replaced at once by a SPARE or a newly opened context: `contexts` of them always receive
 * and serve, however many polls are parked (up to RPC_MAX_PARKED; beyond that a poll is
 * answered at once). Contexts above `contexts` go SPARE once their reply is sent.
 * A parked request is run again, from scratch, by the poller thread moving it back to the
 * work queue:
 *  - when work may have arrived: every committed write reports the job signal as it left
 *    it (jobs.h; bumped by every transaction that makes a job leasable: creation, re-queue,
 *    admin retry, project resume; not for a job leased in the transaction that created it),
 *    rpc_done compares it with the last value seen and kicks the poller when it grew. A poll that
 * saw an older value than the current one when it parked is run again at once, so a job committed
 * while the poll was deciding is never missed;
 *  - at its wake time, when the handler said work falls due (a retry's backoff ends, a
 *    lease expires);
 *  - at its deadline (first arrival + wait_ms), in final mode, when the handler answers with
 *    what it has (an empty LeaseJobReply when nothing came).
 * A parked poll whose connection closes (its executor stopped or died) is withdrawn without
 * an answer: nng's pipe callback marks it and the poller sends the context back to receiving,
 * so no job is leased to an executor that is gone (a poll whose connection closed while it was
 * running is withdrawn when it would park: the callback remembers the last closed pipes).
 * Stopping runs every parked poll at once in final mode, so their executors get an empty
 * reply promptly. The maintenance thread also settles expired leases once a minute, for
 * jobs whose executors all died. Clients doing long polls must set their REQ resend time
 * longer than the poll (or infinite), or the REQ socket re-sends a parked request.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rpc/dispatch.h"
#include "rpc/keys.h"
#include "store/events.h"
#include "domain/jobs.h"
#include "domain/lifecycle.h"
#include "daemon.h"
#include "log.h"
#include "rpc/replies.h"

/* Allocations from this size up are mmap'd and unmapped when freed (orci_rpc_start). */
#define RPC_MMAP_THRESHOLD (256 * 1024)

#define RPC_SEND_TIMEOUT_MS 10000
/* At a stop, how long replies get to leave: well inside the daemon's 5 s stop budget. */
#define RPC_STOP_SEND_WAIT_MS 1500
#define RPC_PRUNE_INTERVAL_S 60
#define RPC_TLS_FILE_MAX (1u << 20)
/* Most long polls parked at once; more are answered at once (empty when no work). */
#define RPC_MAX_PARKED 1024
/* Closed connections remembered for requests that were running when theirs closed. */
#define RPC_CLOSED_PIPES 256

typedef enum rpc_state { RPC_RECV, RPC_WAIT, RPC_PARKED, RPC_SEND, RPC_SPARE, RPC_IDLE } rpc_state;

typedef struct rpc_ctx {
    struct orci_rpc *rpc;
    nng_ctx ctx;
    nng_aio *aio;
    rpc_state state;
    nng_msg *req;         /* the request while WAIT or PARKED */
    uint32_t pipe;        /* the id of the connection the request came on */
    bool withdrawn;       /* PARKED, and its connection closed: drop it */
    struct rpc_ctx *next; /* work queue link */
    /* Long poll, once parked: its deadline is fixed at the first park. */
    bool polled;
    bool final;          /* the next run must answer */
    int64_t deadline_ms; /* monotonic */
    int64_t wake_ms;     /* monotonic: run again then */
    int64_t seen;        /* the job signal when the request started running */
    /* Served in its receive callback (rpc_serve_here): rpc_done keeps the outcome here until
     * the dispatch has returned, and the callback then finishes the request itself. */
    bool in_cb;
    bool done_pending;
    int done_rc;
    orci_dispatch_info done_info;
    uint8_t *done_reply;
    size_t done_len;
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
    pthread_cond_t poll_cv;  /* CLOCK_MONOTONIC: the poller has something to look at */
    bool sync_init;
    bool stopping; /* no new receives */
    bool quit;     /* threads exit */
    rpc_ctx *head, *tail;

    rpc_ctx **ctxs; /* every context, each allocated on its own */
    int n_ctxs, cap_ctxs;
    int n_wait;         /* contexts in RPC_WAIT: requests queued or being served (rpc_state_set) */
    int target;         /* contexts that receive and serve */
    int n_parked;       /* in PARKED */
    int n_spare;        /* in SPARE */
    bool poll_kick;     /* run every parked poll again */
    bool poll_withdraw; /* some parked poll is withdrawn */
    uint32_t closed_pipes[RPC_CLOSED_PIPES]; /* the last closed connections, a ring */
    unsigned n_closed;                       /* connections closed so far */
    int64_t job_seq;                         /* the last job signal seen */

    rpc_worker *workers;
    int n_workers;
    orci_key_cache *key_cache; /* made here and lent to srv while serving */
    orci_db *maint_rdb;
    /* The reader of a request served in its receive callback: one at a time, since that
     * request stays RPC_WAIT while it runs and none is served so unless n_wait is 0. */
    orci_db *here_rdb;
    pthread_t maint;
    bool maint_started;
    pthread_t poller;
    bool poller_started;
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

/* rpc_state_set moves c to state s (rpc->mu held), keeping the count of RPC_WAIT. */
static void rpc_state_set(rpc_ctx *c, rpc_state s)
{
    c->rpc->n_wait += (s == RPC_WAIT) - (c->state == RPC_WAIT);
    c->state = s;
}

/* rpc_arm_recv_locked re-arms a receive, or parks the context when stopping. */
static void rpc_arm_recv_locked(rpc_ctx *c)
{
    if (c->rpc->stopping) {
        rpc_state_set(c, RPC_IDLE);
        pthread_cond_broadcast(&c->rpc->state_cv);
        return;
    }
    rpc_state_set(c, RPC_RECV);
    nng_aio_set_timeout(c->aio, NNG_DURATION_INFINITE);
    nng_ctx_recv(c->ctx, c->aio);
}

/* rpc_enqueue_locked puts a context holding a request on the work queue. */
static void rpc_enqueue_locked(orci_rpc *r, rpc_ctx *c)
{
    rpc_state_set(c, RPC_WAIT);
    c->next = NULL;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    pthread_cond_signal(&r->work_cv);
}

/* rpc_active_locked counts the contexts serving requests (not parked, not spare). */
static int rpc_active_locked(const orci_rpc *r)
{
    return r->n_ctxs - r->n_parked - r->n_spare;
}

/* rpc_after_send_locked: a context whose reply left receives again, or becomes spare. */
static void rpc_after_send_locked(rpc_ctx *c)
{
    orci_rpc *r = c->rpc;
    if (!r->stopping && rpc_active_locked(r) > r->target) {
        rpc_state_set(c, RPC_SPARE);
        r->n_spare++;
        return;
    }
    rpc_arm_recv_locked(c);
}

static void rpc_serve_here_locked(orci_rpc *r, rpc_ctx *c);

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
                rpc_state_set(c, RPC_IDLE);
                pthread_cond_broadcast(&r->state_cv);
            } else {
                rpc_arm_recv_locked(c);
            }
            break;
        }
        /* Even when stopping, a request already received is answered. */
        c->req = nng_aio_get_msg(c->aio);
        nng_aio_set_msg(c->aio, NULL);
        c->pipe = nng_pipe_id(nng_msg_get_pipe(c->req));
        c->polled = false;
        c->final = false;
        if (r->n_wait == 0 && !r->stopping)
            rpc_serve_here_locked(r, c);
        else
            rpc_enqueue_locked(r, c);
        break;
    case RPC_SEND:
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(c->aio));
            nng_aio_set_msg(c->aio, NULL);
        }
        if (rv == NNG_ECLOSED) {
            rpc_state_set(c, RPC_IDLE);
            pthread_cond_broadcast(&r->state_cv);
        } else {
            rpc_after_send_locked(c);
        }
        break;
    case RPC_WAIT:
    case RPC_PARKED:
    case RPC_SPARE:
    case RPC_IDLE:
        break;
    }
    /* The worker woken above takes rpc->mu only once this callback is done with it: it may
     * reply on this context's aio at once, and starting an operation on an aio whose callback
     * is still running crashed nng 1.5.2 (signalling after the unlock made that likely). */
    pthread_mutex_unlock(&r->mu);
}

/* rpc_ctx_new opens one more context (IDLE) and adds it to r->ctxs. */
static int rpc_ctx_new_locked(orci_rpc *r, rpc_ctx **out, orc_error *err)
{
    if (r->n_ctxs == r->cap_ctxs) {
        int ncap = r->cap_ctxs == 0 ? 64 : r->cap_ctxs * 2;
        rpc_ctx **nv = realloc(r->ctxs, (size_t)ncap * sizeof *nv);
        if (!nv)
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        r->ctxs = nv;
        r->cap_ctxs = ncap;
    }
    rpc_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    c->rpc = r;
    rpc_state_set(c, RPC_IDLE);
    int rv = nng_aio_alloc(&c->aio, rpc_ctx_cb, c);
    if (rv == 0 && (rv = nng_ctx_open(&c->ctx, r->sock)) != 0) {
        nng_aio_free(c->aio);
        c->aio = NULL;
    }
    if (rv != 0) {
        free(c);
        return orc_error_set(err, ORC_INTERNAL, "cannot set up an RPC context: %s",
                             nng_strerror(rv));
    }
    r->ctxs[r->n_ctxs++] = c;
    *out = c;
    return ORC_OK;
}

/*
 * rpc_replace_locked keeps `target` contexts serving after one parked: a spare one, or a
 * new one, starts receiving.
 */
static void rpc_replace_locked(orci_rpc *r)
{
    if (r->stopping || rpc_active_locked(r) >= r->target)
        return;
    rpc_ctx *c = NULL;
    for (int i = 0; i < r->n_ctxs && !c; i++)
        if (r->ctxs[i]->state == RPC_SPARE)
            c = r->ctxs[i];
    if (c) {
        r->n_spare--;
    } else {
        orc_error err;
        orc_error_clear(&err);
        if (rpc_ctx_new_locked(r, &c, &err) != ORC_OK) {
            orci_warn("rpc: %s; %d contexts serve while polls are parked", err.message,
                      rpc_active_locked(r));
            return;
        }
    }
    rpc_arm_recv_locked(c);
}

/* ---- workers -------------------------------------------------------------------------- */

/*
 * rpc_note_signal takes a job signal value from a committed write and wakes the parked polls
 * when it grew.
 */
static void rpc_note_signal_locked(orci_rpc *r, int64_t seq)
{
    if (seq > r->job_seq) {
        r->job_seq = seq;
        if (r->n_parked > 0) {
            r->poll_kick = true;
            pthread_cond_signal(&r->poll_cv);
        }
    }
}

static void rpc_note_signal(orci_rpc *r, int64_t seq)
{
    pthread_mutex_lock(&r->mu);
    rpc_note_signal_locked(r, seq);
    pthread_mutex_unlock(&r->mu);
}

/* rpc_note_write reads the job signal after a committed write (maintenance thread). */
static void rpc_note_write(orci_rpc *r, orci_db *rdb)
{
    int64_t seq = 0;
    orc_error err;
    orc_error_clear(&err);
    if (orci_jobs_signal_seq(rdb, &seq, &err) != ORC_OK) {
        orci_warn("rpc: cannot read the job signal: %s", err.message);
        return;
    }
    rpc_note_signal(r, seq);
}

/* rpc_pipe_closed_locked tells whether connection id closed lately (rpc_pipe_cb). */
static bool rpc_pipe_closed_locked(const orci_rpc *r, uint32_t id)
{
    unsigned n = r->n_closed < RPC_CLOSED_PIPES ? r->n_closed : RPC_CLOSED_PIPES;
    for (unsigned i = 0; i < n; i++)
        if (r->closed_pipes[i] == id)
            return true;
    return false;
}

/*
 * rpc_withdraw_locked drops a poll whose connection closed, unanswered (nobody would read
 * the answer, and a job in it would wait out its lease), and frees its context.
 */
static void rpc_withdraw_locked(rpc_ctx *c)
{
    orci_info("rpc: a parked LeaseJob withdrawn: its connection closed");
    nng_msg_free(c->req);
    c->req = NULL;
    c->polled = false;
    c->final = false;
    c->withdrawn = false;
    rpc_after_send_locked(c);
}

/*
 * rpc_pipe_cb runs on nng's thread when a connection has closed: the polls parked on it are
 * marked for the poller, which withdraws them (no nng call on a context from here).
 */
static void rpc_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)ev;
    orci_rpc *r = arg;
    uint32_t id = nng_pipe_id(p);
    pthread_mutex_lock(&r->mu);
    r->closed_pipes[r->n_closed++ % RPC_CLOSED_PIPES] = id;
    for (int i = 0; i < r->n_ctxs; i++) {
        rpc_ctx *c = r->ctxs[i];
        if (c->state == RPC_PARKED && c->pipe == id) {
            c->withdrawn = true;
            r->poll_withdraw = true;
        }
    }
    if (r->poll_withdraw)
        pthread_cond_signal(&r->poll_cv);
    pthread_mutex_unlock(&r->mu);
}

/* rpc_park_locked parks a context whose request asked to wait, or queues it again at once. */
static void rpc_park_locked(orci_rpc *r, rpc_ctx *c, const orci_dispatch_info *info, int64_t seen)
{
    if (!r->stopping && rpc_pipe_closed_locked(r, c->pipe)) {
        rpc_withdraw_locked(c);
        return;
    }
    int64_t now = orci_monotonic_ms();
    if (!c->polled) {
        c->polled = true;
        c->deadline_ms = now + info->park_deadline_ms;
    }
    c->wake_ms = c->deadline_ms;
    if (info->park_wake_ms >= 0 && now + info->park_wake_ms < c->wake_ms)
        c->wake_ms = now + info->park_wake_ms;
    bool full = r->n_parked >= RPC_MAX_PARKED;
    if (r->stopping || full || now >= c->deadline_ms || r->job_seq > seen) {
        /* Work arrived while it decided (run again), or it must answer now. */
        c->final = r->stopping || full || now >= c->deadline_ms;
        rpc_enqueue_locked(r, c);
    } else {
        rpc_state_set(c, RPC_PARKED);
        r->n_parked++;
        rpc_replace_locked(r);
        pthread_cond_signal(&r->poll_cv);
    }
}

/*
 * rpc_finish_locked sends the reply of a request (or parks it), rpc->mu held: the send's
 * callback (which takes rpc->mu) must not run, and a stop must not free the context, while
 * nng_ctx_send is still using the aio on this thread (the callback may come before
 * nng_ctx_send returns).
 */
static void rpc_finish_locked(rpc_ctx *c, int rc, const orci_dispatch_info *info, uint8_t *reply,
                              size_t reply_len)
{
    orci_rpc *r = c->rpc;
    if (rc == ORC_OK && info->parked) {
        rpc_park_locked(r, c, info, c->seen);
        return;
    }
    nng_msg *msg = c->req;
    c->req = NULL;
    nng_msg_clear(msg);
    if (rc == ORC_OK && nng_msg_append(msg, reply, reply_len) != 0)
        rc = ORC_RESOURCE_EXHAUSTED;
    free(reply);
    if (info->wrote)
        rpc_note_signal_locked(r, info->job_seq);
    c->polled = false;
    c->final = false;
    if (rc != ORC_OK) {
        /* No memory for a reply: drop the request; the client's timeout will tell. */
        orci_error("rpc: cannot allocate a reply; request dropped");
        nng_msg_free(msg);
        rpc_after_send_locked(c);
        return;
    }
    rpc_state_set(c, RPC_SEND);
    nng_aio_set_msg(c->aio, msg);
    nng_aio_set_timeout(c->aio, RPC_SEND_TIMEOUT_MS);
    nng_ctx_send(c->ctx, c->aio);
}

/*
 * rpc_done is the dispatcher's answer. It runs where the dispatcher finished the request:
 * on the thread that served it, or for a write on the store's writer thread right after the
 * commit, which sends the reply itself instead of waking a worker to do it. A request being
 * served in its receive callback gets its answer there (rpc_serve_here_locked).
 */
static void rpc_done(void *arg, int rc, const orci_dispatch_info *info, uint8_t *reply,
                     size_t reply_len)
{
    rpc_ctx *c = arg;
    orci_rpc *r = c->rpc;
    pthread_mutex_lock(&r->mu);
    if (c->in_cb) {
        c->done_pending = true;
        c->done_rc = rc;
        c->done_info = *info;
        c->done_reply = reply;
        c->done_len = reply_len;
    } else {
        rpc_finish_locked(c, rc, info, reply, reply_len);
    }
    pthread_mutex_unlock(&r->mu);
}

/*
 * rpc_serve_here_locked serves a request on nng's thread, in the callback that received it,
 * when it is the only request in service (rpc->mu held, and released while it runs). A lone
 * machine step so skips the wake-up of a worker, about 30 us on the 2-core machine; requests
 * arriving meanwhile go to the workers as before.
 * The context's aio gets its next operation (the reply's send, or a receive) from this
 * callback, under rpc->mu, which the callback lets go of last, as nng's own servers send from
 * their callbacks: while the dispatch runs, rpc_done leaves the outcome in the context. A
 * write still queued to the writer when the dispatch returns is finished by the writer's
 * rpc_done once this callback has let go of rpc->mu, as a worker's request is. (Starting an
 * operation on the aio from another thread while its callback still ran crashed nng 1.5.2.)
 */
static void rpc_serve_here_locked(orci_rpc *r, rpc_ctx *c)
{
    rpc_state_set(c, RPC_WAIT);
    c->in_cb = true;
    c->seen = r->job_seq;
    pthread_mutex_unlock(&r->mu);
    orci_dispatch_start(r->srv, r->here_rdb, nng_msg_body(c->req), nng_msg_len(c->req), false,
                        false, true, rpc_done, c);
    pthread_mutex_lock(&r->mu);
    c->in_cb = false;
    if (c->done_pending) {
        c->done_pending = false;
        rpc_finish_locked(c, c->done_rc, &c->done_info, c->done_reply, c->done_len);
    }
}

/*
 * rpc_serve starts a request on a worker; rpc_done finishes it, here or on the writer.
 * final and rerun were read with the context under rpc->mu, when it left the queue.
 */
static void rpc_serve(rpc_worker *w, rpc_ctx *c, bool final, bool rerun, bool lone)
{
    orci_rpc *r = w->rpc;
    nng_msg *msg = c->req;
    orci_dispatch_start(r->srv, w->rdb, nng_msg_body(msg), nng_msg_len(msg), final, rerun, lone,
                        rpc_done, c);
}

static void *rpc_worker_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:rpc", 0, 0, 0); /* names show in top -H, perf and /proc */
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
        bool final = c->final || r->stopping;
        bool rerun = c->polled;
        /* Queued and served requests are RPC_WAIT: this one alone may run its write here. */
        bool lone = r->n_wait == 1;
        c->seen = r->job_seq;
        pthread_mutex_unlock(&r->mu);
        rpc_serve(w, c, final, rerun, lone);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the poller: parked polls back to the queue ---------------------------------------- */

/* rpc_abs_time converts a monotonic time in ms to a timespec for poll_cv / maint_cv. */
static struct timespec rpc_abs_time(int64_t mono_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t delta = mono_ms - orci_monotonic_ms();
    if (delta < 0)
        delta = 0;
    int64_t ns = (int64_t)now.tv_nsec + (delta % 1000) * 1000000;
    struct timespec ts = {.tv_sec = now.tv_sec + (time_t)(delta / 1000) + (time_t)(ns / 1000000000),
                          .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

static void *rpc_poller_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:poller", 0, 0, 0);
    orci_rpc *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->quit) {
        int64_t now = orci_monotonic_ms();
        int64_t next = INT64_MAX;
        bool all = r->poll_kick || r->stopping;
        r->poll_kick = false;
        r->poll_withdraw = false;
        for (int i = 0; i < r->n_ctxs && r->n_parked > 0; i++) {
            rpc_ctx *c = r->ctxs[i];
            if (c->state != RPC_PARKED)
                continue;
            if (c->withdrawn && !r->stopping) {
                r->n_parked--;
                rpc_withdraw_locked(c);
            } else if (all || now >= c->wake_ms) {
                c->final = r->stopping || now >= c->deadline_ms;
                r->n_parked--;
                rpc_enqueue_locked(r, c);
            } else if (c->wake_ms < next) {
                next = c->wake_ms;
            }
        }
        if (r->quit || r->poll_kick || r->poll_withdraw || (r->stopping && r->n_parked > 0))
            continue;
        if (next == INT64_MAX) {
            pthread_cond_wait(&r->poll_cv, &r->mu);
        } else {
            struct timespec ts = rpc_abs_time(next);
            pthread_cond_timedwait(&r->poll_cv, &r->mu, &ts);
        }
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

static int rpc_prune_events_job(orci_db *db, void *arg, orc_error *err)
{
    int64_t *cutoff_pruned = arg; /* in: cutoff; out: events pruned */
    return orci_events_prune(db, cutoff_pruned[0], &cutoff_pruned[1], err);
}

typedef struct rpc_expire_arg {
    orci_server *srv;
    int64_t settled;
} rpc_expire_arg;

static int rpc_expire_job(orci_db *db, void *arg, orc_error *err)
{
    rpc_expire_arg *a = arg;
    orci_lc lc = {.db = db, .now_us = orci_clock_now(a->srv->clock), .rng = a->srv->rng};
    return orci_jobs_expire(&lc, &orci_lc_machine_ops, &a->settled, err);
}

static void *rpc_maint_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:maint", 0, 0, 0);
    orci_rpc *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->quit) {
        struct timespec deadline = rpc_abs_time(orci_monotonic_ms() + RPC_PRUNE_INTERVAL_S * 1000);
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

        /* Event retention (--events-keep-days); 0 keeps everything. */
        if (r->srv->settings.events_keep_days > 0) {
            int64_t ev[2] = {orci_clock_now(r->srv->clock) -
                                 (int64_t)r->srv->settings.events_keep_days * 86400 * 1000000,
                             0};
            orc_error_clear(&err);
            if (orci_store_write(r->srv->store, rpc_prune_events_job, ev, &err) != ORC_OK)
                orci_warn("rpc: pruning old events failed: %s", err.message);
            else if (ev[1] > 0)
                orci_info("rpc: pruned %" PRId64 " events older than %d days", ev[1],
                          r->srv->settings.events_keep_days);
        }

        /* Leases whose executors died while no other executor polls for their functions. */
        rpc_expire_arg ex = {.srv = r->srv};
        orc_error_clear(&err);
        if (orci_store_write(r->srv->store, rpc_expire_job, &ex, &err) != ORC_OK) {
            orci_warn("rpc: settling expired job leases failed: %s", err.message);
        } else if (ex.settled > 0) {
            orci_info("rpc: %" PRId64 " job leases expired", ex.settled);
            rpc_note_write(r, r->maint_rdb);
        }

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
        n += r->ctxs[i]->state == s;
    return n;
}

static void rpc_free(orci_rpc *r)
{
    /*
     * Contexts first: stop each aio (aborts what is left and waits for a running callback,
     * which parks the context) and close its nng context. Closing the socket while contexts
     * still had operations in flight hung nng_close now and then (nng 1.5.2).
     */
    /* Once this returns no pipe callback runs (nng calls them under the lock it takes). */
    if (r->sock_open)
        nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
    for (int i = 0; i < r->n_ctxs; i++) {
        rpc_ctx *c = r->ctxs[i];
        if (c->aio) {
            nng_aio_stop(c->aio);
            nng_ctx_close(c->ctx);
        }
    }
    if (r->sock_open)
        nng_close(r->sock);
    for (int i = 0; i < r->n_ctxs; i++) {
        rpc_ctx *c = r->ctxs[i];
        if (c->aio) {
            nng_msg_free(nng_aio_get_msg(c->aio));
            nng_aio_free(c->aio);
        }
        nng_msg_free(c->req);
        free(c);
    }
    for (int i = 0; i < r->n_workers; i++)
        orci_db_close(r->workers[i].rdb);
    orci_db_close(r->maint_rdb);
    orci_db_close(r->here_rdb);
    if (r->key_cache) {
        /* Every request has been answered (drained) or none ever ran (failed start). */
        r->srv->key_cache = NULL;
        orci_key_cache_destroy(r->key_cache);
    }
    if (r->sync_init) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->work_cv);
        pthread_cond_destroy(&r->state_cv);
        pthread_cond_destroy(&r->maint_cv);
        pthread_cond_destroy(&r->poll_cv);
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
    pthread_cond_broadcast(&r->poll_cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n_workers; i++)
        if (r->workers[i].started)
            pthread_join(r->workers[i].thread, NULL);
    if (r->maint_started)
        pthread_join(r->maint, NULL);
    if (r->poller_started)
        pthread_join(r->poller, NULL);
}

/* rpc_socket_open opens the REP socket, caps its messages, watches its connections closing
 * (rpc_pipe_cb) and listens on opts->url. */
static int rpc_socket_open(orci_rpc *r, const orci_rpc_opts *opts, size_t max_message,
                           orc_error *err)
{
    int rv = nng_rep0_open(&r->sock);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot open the RPC socket: %s", nng_strerror(rv));
    r->sock_open = true;
    rv = nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ, max_message);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot cap the message size: %s",
                             nng_strerror(rv));
    rv = nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, rpc_pipe_cb, r);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot watch connections: %s", nng_strerror(rv));
    return orci_listen(r->sock, opts->url, opts->tls_cert_file, opts->tls_key_file, err);
}

int orci_rpc_start(orci_server *srv, const orci_rpc_opts *opts, orci_rpc **out, orc_error *err)
{
    *out = NULL;
    int rc;
    orci_rpc *r = calloc(1, sizeof *r);
    if (!r)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    r->srv = srv;
    if (!srv->key_cache) {
        if ((rc = orci_key_cache_new(ORCI_KEY_CACHE_TTL_US, &r->key_cache, err)) != ORC_OK) {
            free(r);
            return rc;
        }
        srv->key_cache = r->key_cache;
    }
    r->target = opts->contexts > 0 ? opts->contexts : ORCI_RPC_DEFAULT_CONTEXTS;
    r->n_workers = opts->workers > 0 ? opts->workers : ORCI_RPC_DEFAULT_WORKERS;
    size_t max_message = opts->max_message ? opts->max_message : ORCI_RPC_DEFAULT_MAX_MESSAGE;
    /* Requests of up to max_message bytes, and their decoded copies, go to the system as soon
     * as they are freed: glibc's adaptive threshold would otherwise raise itself to the
     * largest block freed and keep blocks that size in each thread's arena (a few 3 MiB
     * messages left the daemon ~75 MB larger). */
    mallopt(M_MMAP_THRESHOLD, RPC_MMAP_THRESHOLD);
    r->workers = calloc((size_t)r->n_workers, sizeof *r->workers);
    if (!r->workers) {
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
    pthread_cond_init(&r->poll_cv, &ca);
    pthread_condattr_destroy(&ca);
    r->sync_init = true;

    for (int i = 0; i < r->n_workers; i++) {
        r->workers[i].rpc = r;
        rc = orci_db_open_reader(srv->store, &r->workers[i].rdb, err);
        if (rc != ORC_OK)
            goto fail;
    }
    rc = orci_db_open_reader(srv->store, &r->maint_rdb, err);
    if (rc != ORC_OK)
        goto fail;
    rc = orci_db_open_reader(srv->store, &r->here_rdb, err);
    if (rc != ORC_OK)
        goto fail;
    rc = orci_jobs_signal_seq(r->maint_rdb, &r->job_seq, err);
    if (rc != ORC_OK)
        goto fail;

    if ((rc = rpc_socket_open(r, opts, max_message, err)) != ORC_OK)
        goto fail;

    for (int i = 0; i < r->target; i++) {
        rpc_ctx *c;
        if ((rc = rpc_ctx_new_locked(r, &c, err)) != ORC_OK)
            goto fail;
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
    if (pthread_create(&r->poller, NULL, rpc_poller_main, r) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot start the long-poll thread");
        goto fail;
    }
    r->poller_started = true;

    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n_ctxs; i++)
        rpc_arm_recv_locked(r->ctxs[i]);
    pthread_mutex_unlock(&r->mu);
    orci_debug("rpc: %d contexts, %d workers, messages up to %zu bytes", r->target, r->n_workers,
               max_message);
    *out = r;
    return ORC_OK;
fail:
    if (r->sync_init)
        rpc_join(r);
    rpc_free(r);
    return rc;
}

/* rpc_drain answers what was received, then joins the threads (everything but closing). */
static void rpc_drain(orci_rpc *r)
{
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    /* Cancel the receives; callbacks run later on nng's threads and park the contexts. */
    for (int i = 0; i < r->n_ctxs; i++)
        if (r->ctxs[i]->state == RPC_RECV)
            nng_aio_cancel(r->ctxs[i]->aio);
    /* Parked polls are answered now (final mode), by the poller and the workers. */
    pthread_cond_signal(&r->poll_cv);
    /* Requests already received are answered, however long they take. */
    while (rpc_count_locked(r, RPC_RECV) + rpc_count_locked(r, RPC_WAIT) +
               rpc_count_locked(r, RPC_PARKED) >
           0)
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
}

void orci_rpc_stop(orci_rpc *r)
{
    if (!r)
        return;
    rpc_drain(r);
    rpc_free(r);
}

static void rpc_free_cb(void *arg)
{
    rpc_free(arg);
}

bool orci_rpc_stop_within(orci_rpc *r, int timeout_ms)
{
    if (!r)
        return true;
    rpc_drain(r);
    /* The close may hang (nng 1.5.2): on a thread the caller can give up waiting for. */
    return orci_run_within(rpc_free_cb, r, timeout_ms);
}
