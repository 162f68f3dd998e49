/*
 * baseline.c: the physical baselines of the benchmarks (benchlib.h): one nng REQ/REP round
 * trip against a REP echo with contexts, and one synchronous=FULL SQLite commit in WAL
 * mode. Whatever orchestrad does per call costs at least one of each.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

/* One context of the echo server: receive, send the same message back, again. */
typedef struct bl_echo_ctx {
    nng_aio *aio;
    nng_ctx ctx;
    int sending;
} bl_echo_ctx;

struct bl_echo {
    nng_socket sock;
    bl_echo_ctx *ctxs;
    int n;
};

static void bl_echo_cb(void *arg)
{
    bl_echo_ctx *e = arg;
    if (nng_aio_result(e->aio) != 0) {
        if (e->sending)
            nng_msg_free(nng_aio_get_msg(e->aio));
        return; /* closed */
    }
    if (e->sending) {
        e->sending = 0;
        nng_ctx_recv(e->ctx, e->aio);
    } else {
        e->sending = 1;
        nng_ctx_send(e->ctx, e->aio);
    }
}

bl_echo *bl_echo_start(const char *url, int n)
{
    bl_echo *e = calloc(1, sizeof *e);
    if (e == NULL || (e->ctxs = calloc((size_t)n, sizeof *e->ctxs)) == NULL) {
        free(e);
        return NULL;
    }
    int rv = nng_rep0_open(&e->sock);
    if (rv == 0)
        rv = nng_listen(e->sock, url, NULL, 0);
    for (int i = 0; rv == 0 && i < n; i++) {
        if ((rv = nng_aio_alloc(&e->ctxs[i].aio, bl_echo_cb, &e->ctxs[i])) == 0 &&
            (rv = nng_ctx_open(&e->ctxs[i].ctx, e->sock)) == 0) {
            e->n = i + 1;
            nng_ctx_recv(e->ctxs[i].ctx, e->ctxs[i].aio);
        }
    }
    if (rv != 0) {
        fprintf(stderr, "bench: echo server on %s: %s\n", url, nng_strerror(rv));
        bl_echo_stop(e);
        return NULL;
    }
    return e;
}

void bl_echo_stop(bl_echo *e)
{
    if (e == NULL)
        return;
    nng_close(e->sock);
    for (int i = 0; i < e->n; i++) {
        nng_aio_stop(e->ctxs[i].aio);
        nng_aio_free(e->ctxs[i].aio);
    }
    free(e->ctxs);
    free(e);
}

int bl_echo_round_trips(const char *url, int n, size_t size, bl_samples *out)
{
    nng_socket s;
    char body[4096];
    if (size > sizeof body)
        size = sizeof body;
    memset(body, 'x', size);
    int rv = nng_req0_open(&s);
    if (rv == 0 && (rv = nng_dial(s, url, NULL, 0)) != 0)
        nng_close(s);
    if (rv != 0) {
        fprintf(stderr, "bench: echo client to %s: %s\n", url, nng_strerror(rv));
        return -1;
    }
    int failures = 0;
    for (int i = 0; i < n; i++) {
        nng_msg *m;
        if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, body, size) != 0) {
            failures++;
            continue;
        }
        int64_t t0 = bl_mono_us();
        if (nng_sendmsg(s, m, 0) != 0) {
            nng_msg_free(m);
            failures++;
            continue;
        }
        if (nng_recvmsg(s, &m, 0) != 0) {
            failures++;
            continue;
        }
        bl_samples_push(out, bl_mono_us() - t0);
        nng_msg_free(m);
    }
    nng_close(s);
    return failures;
}

/* bl_sql runs one statement on db; 0 or -1 (printed). */
static int bl_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench: sqlite: %s: %s\n", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int bl_commit_samples(const char *dir, int n, bl_samples *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/commit-baseline.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open(path, &db) != SQLITE_OK || bl_sql(db, "PRAGMA journal_mode=WAL") != 0 ||
        bl_sql(db, "PRAGMA synchronous=FULL") != 0 ||
        bl_sql(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, status INTEGER, payload TEXT) "
                   "STRICT") != 0 ||
        sqlite3_prepare_v2(db, "INSERT INTO t(status, payload) VALUES (?1, ?2)", -1, &st, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "bench: commit baseline in %s: %s\n", path, sqlite3_errmsg(db));
        goto out;
    }
    /*
     * A long-running database writes over a WAL file that checkpoints have emptied; a fresh
     * WAL grows with every commit, and growing a file costs each fsync a metadata write too
     * (measured here: a p50 of 0.5 to 3 ms growing against 0.23 ms reused). So the first n
     * commits grow the WAL unmeasured, a checkpoint empties it, and the next n are measured.
     */
    for (int i = 0; i < 2 * n; i++) {
        if (i == n && bl_sql(db, "PRAGMA wal_checkpoint(PASSIVE)") != 0)
            goto out;
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, "{\"status\":\"Complete\"}", -1, SQLITE_STATIC);
        /* Autocommit: each INSERT is its own transaction, so each step is one commit. */
        int64_t t0 = bl_mono_us();
        int r = sqlite3_step(st);
        int64_t t1 = bl_mono_us();
        sqlite3_reset(st);
        if (r != SQLITE_DONE) {
            fprintf(stderr, "bench: commit baseline: %s\n", sqlite3_errmsg(db));
            goto out;
        }
        if (i >= n)
            bl_samples_push(out, t1 - t0);
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return rc;
}

int bl_physical_baseline(const char *dir, int rounds, int commits, int64_t *rr_p50_us,
                         int64_t *commit_p50_us)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", bl_free_port());
    bl_echo *e = bl_echo_start(url, 8);
    if (e == NULL)
        return -1;
    bl_samples rr = {0}, cm = {0};
    int failures = bl_echo_round_trips(url, rounds, 128, &rr);
    bl_echo_stop(e);
    int rc = failures == 0 ? bl_commit_samples(dir, commits, &cm) : -1;
    if (failures != 0)
        fprintf(stderr, "bench: %d echo round trips failed\n", failures);
    *rr_p50_us = bl_percentile(&rr, 50);
    *commit_p50_us = bl_percentile(&cm, 50);
    bl_samples_free(&rr);
    bl_samples_free(&cm);
    return rc;
}
