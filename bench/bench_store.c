/*
 * bench_store: durable writes through the store's writer thread (group commit) against the
 * baseline of one transaction per write on a plain connection, both with WAL and
 * synchronous=FULL, both driven by the same number of threads.
 *
 * Prints: name value unit [ratio-to-baseline].
 *
 * With ORC_BENCH_PG_HOST and ORC_BENCH_PG_PORT (benchlib.h, bench/stores.sh) the store is a new
 * PostgreSQL database of that server instead, the baseline one autocommitted INSERT per write
 * over a libpq connection per thread (synchronous_commit on), and the figures are named
 * store.pg.*.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"
#include "clock.h"
#include "log.h"
#include "store/db.h"
#include "store/store.h"

#define THREADS 8
#define WRITES_PER_THREAD 250

typedef struct bench_ctx {
    orci_store *store;
    const char *path;
    int thread;
    int failures;
} bench_ctx;

typedef struct insert_arg {
    int thread;
    int seq;
} insert_arg;

static int insert_job(orci_db *db, void *arg, orc_error *err)
{
    const insert_arg *a = arg;
    orci_stmt *st =
        orci_db_stmt(db, "INSERT INTO bench(thread, seq, payload) VALUES (?, ?, ?)", err);
    if (st == NULL)
        return err->code;
    orci_bind_int(st, 1, a->thread);
    orci_bind_int(st, 2, a->seq);
    orci_bind_text(st, 3, "{\"status\":\"Processing\"}");
    return orci_db_step(db, st, err);
}

static int create_table(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    if (orci_db_is_pg(db))
        return orci_db_exec(db,
                            "CREATE TABLE IF NOT EXISTS bench(thread BIGINT, seq BIGINT, "
                            "payload TEXT)",
                            err);
    return orci_db_exec(db,
                        "CREATE TABLE IF NOT EXISTS bench(thread INTEGER, seq INTEGER, "
                        "payload TEXT) STRICT",
                        err);
}

static void *store_writer(void *p)
{
    bench_ctx *c = p;
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        insert_arg a = {c->thread, i};
        orc_error err;
        if (orci_store_write(c->store, insert_job, &a, &err) != ORC_OK)
            c->failures++;
    }
    return NULL;
}

/* pg_plain_writer is the baseline on PostgreSQL: one autocommitted INSERT per write. */
static void *pg_plain_writer(void *p)
{
    bench_ctx *c = p;
    PGconn *db = PQconnectdb(c->path);
    if (PQstatus(db) != CONNECTION_OK) {
        c->failures += WRITES_PER_THREAD;
        PQfinish(db);
        return NULL;
    }
    PQclear(PQexec(db, "SET synchronous_commit = on"));
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        char thread[16], seq[16];
        snprintf(thread, sizeof thread, "%d", c->thread);
        snprintf(seq, sizeof seq, "%d", i);
        const char *vals[] = {thread, seq, "{\"status\":\"Processing\"}"};
        PGresult *r =
            PQexecParams(db, "INSERT INTO bench(thread, seq, payload) VALUES ($1, $2, $3)", 3, NULL,
                         vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            c->failures++;
        PQclear(r);
    }
    PQfinish(db);
    return NULL;
}

static void *plain_writer(void *p)
{
    bench_ctx *c = p;
    sqlite3 *db = NULL;
    if (sqlite3_open(c->path, &db) != SQLITE_OK) {
        c->failures += WRITES_PER_THREAD;
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 60000);
    sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO bench(thread, seq, payload) VALUES (?, ?, ?)", -1, &st,
                       NULL);
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        sqlite3_bind_int(st, 1, c->thread);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_text(st, 3, "{\"status\":\"Processing\"}", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            c->failures++;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

static double run_threads(void *(*fn)(void *), orci_store *store, const char *path, int *failures)
{
    pthread_t th[THREADS];
    bench_ctx ctx[THREADS];
    int64_t t0 = orci_monotonic_ms();
    for (int i = 0; i < THREADS; i++) {
        ctx[i] = (bench_ctx){store, path, i, 0};
        pthread_create(&th[i], NULL, fn, &ctx[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        *failures += ctx[i].failures;
    }
    int64_t ms = orci_monotonic_ms() - t0;
    return (double)(THREADS * WRITES_PER_THREAD) * 1000.0 / (double)(ms > 0 ? ms : 1);
}

int main(void)
{
    orci_log_init("bench_store", ORCI_LOG_WARN);
    char dir[] = "/tmp/orc-bench-store-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char path[320], pg_name[64] = "";
    snprintf(path, sizeof path, "%s/bench.db", dir);
    bool pg = bl_pg_enabled();
    if (pg && bl_pg_create("orc_bench_store", path, sizeof path, pg_name, sizeof pg_name) != 0)
        return 1;

    orc_error err;
    orci_store *store = NULL;
    orci_store_opts opts = {.path = path};
    if (orci_store_open(&opts, &store, &err) != ORC_OK ||
        orci_store_write(store, create_table, NULL, &err) != ORC_OK) {
        fprintf(stderr, "bench_store: %s\n", err.message);
        return 1;
    }

    int failures = 0;
    double baseline = run_threads(pg ? pg_plain_writer : plain_writer, NULL, path, &failures);
    double grouped = run_threads(store_writer, store, path, &failures);
    orci_store_close(store);
    if (pg)
        bl_pg_drop(pg_name);

    const char *name = pg ? "store.pg" : "store";
    printf("%s.durable_writes.txn_per_write %.0f writes/s (baseline)\n", name, baseline);
    printf("%s.durable_writes.group_commit %.0f writes/s ratio %.2f\n", name, grouped,
           grouped / baseline);
    if (failures)
        fprintf(stderr, "bench_store: %d writes failed\n", failures);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_store: could not remove %s\n", dir);
    return failures ? 1 : 0;
}
