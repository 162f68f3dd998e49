/*
 * writer.c: the store's writer thread (store.h): group commit, one SAVEPOINT per job (or none
 * for a batch of one on SQLite), the answers once durable (durable.c), and the caller that
 * runs a lone job itself when the writer is idle (store/README.md, "A job run by its
 * caller"). The connection and its statements are store.c's.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "store/store_internal.h"

/* How often the idle writer checks its PostgreSQL connection (and so its lock). */
#define STORE_PG_CHECK_MS 200

/* ---- the writer thread -------------------------------------------------------------- */

/* in_txn tells whether the connection has a transaction open (or, on PostgreSQL, failed). */
static bool in_txn(orci_db *db)
{
    return db->pg != NULL ? orci_pg_in_transaction(db->pg) : !sqlite3_get_autocommit(db->h);
}

/* reset_busy resets statements a job left mid-way so they hold no read cursor. PostgreSQL's
 * results come whole and hold nothing on the server. */
static void reset_busy(orci_db *db)
{
    if (db->pg != NULL)
        return;
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->h, NULL); st != NULL;
         st = sqlite3_next_stmt(db->h, st)) {
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    }
}

/*
 * fail_code is the code of a batch that did not commit: ORC_UNAVAILABLE when the PostgreSQL
 * connection is gone (whether its COMMIT landed is unknown, and the caller should try again,
 * with its idempotency key, on the coordinator that takes over), else ORC_INTERNAL.
 */
static orc_code fail_code(orci_db *db)
{
    return db->pg != NULL && orci_pg_lost(db->pg) ? ORC_UNAVAILABLE : ORC_INTERNAL;
}

/* fail_succeeded reports to the jobs [from, to) that kept changes that those are gone. */
static void fail_succeeded(orci_db *db, write_job **jobs, int from, int to, const char *why)
{
    orc_code code = fail_code(db);
    for (int i = from; i < to; i++) {
        if (jobs[i]->status == ORC_OK)
            jobs[i]->status =
                orc_error_set(&jobs[i]->err, code, "transaction not committed: %s", why);
    }
}

static void fail_all(orci_db *db, write_job **jobs, int from, int to, const char *why)
{
    orc_code code = fail_code(db);
    for (int i = from; i < to; i++)
        jobs[i]->status = orc_error_set(&jobs[i]->err, code, "transaction not committed: %s", why);
}

typedef enum job_outcome {
    JOB_INTACT,    /* the transaction is still open */
    JOB_LOST,      /* the transaction was rolled back: every change of it is gone */
    JOB_COMMITTED, /* the job committed the transaction itself (against the rules) */
} job_outcome;

/* after_job tells what became of the transaction when no transaction is open any more. */
static job_outcome after_job(orci_db *db)
{
    /* PostgreSQL has no rollback hook: a transaction gone without our COMMIT counts as lost. */
    return db->rolled_back || db->pg != NULL ? JOB_LOST : JOB_COMMITTED;
}

/*
 * job_end writes the events a job appended when it succeeded (status ORC_OK), else drops
 * them; returns the job's status, or the error of writing them.
 */
static int job_end(orci_db *db, int status, orc_error *err)
{
    if (status != ORC_OK) {
        orci_events_discard(db);
        orci_db_discard_deferred(db);
        return status;
    }
    int code = orci_events_flush(db, err);
    return code == ORC_OK ? orci_db_flush_deferred(db, err) : code;
}

/* run_job runs one job in its savepoint and says whether the transaction survived. */
static job_outcome run_job(orci_db *db, write_job *j)
{
    orc_error e = {0};
    orc_error_clear(&j->err);
    db->rolled_back = false;
    if (orci_db_exec(db, "SAVEPOINT j", &e) != ORC_OK) {
        j->status = orc_error_set(&j->err, ORC_INTERNAL, "%s", e.message);
        return in_txn(db) ? JOB_INTACT : JOB_LOST;
    }
    j->status = job_end(db, j->fn(db, j->arg, &j->err), &j->err);
    if (j->status != ORC_OK && j->err.code == ORC_OK)
        orc_error_set(&j->err, j->status, NULL);
    reset_busy(db);
    if (!in_txn(db)) {
        /* The job ended the transaction, or SQLite rolled it back after an error. */
        if (j->status == ORC_OK)
            j->status = orc_error_set(&j->err, ORC_INTERNAL, "write job ended its transaction");
        return after_job(db);
    }
    if (j->status != ORC_OK) {
        if (orci_db_exec(db, "ROLLBACK TO j", &e) != ORC_OK ||
            orci_db_exec(db, "RELEASE j", &e) != ORC_OK)
            return JOB_LOST;
        return JOB_INTACT;
    }
    if (orci_db_exec(db, "RELEASE j", &e) != ORC_OK) {
        j->status = orc_error_set(&j->err, ORC_INTERNAL, "%s", e.message);
        if (!in_txn(db))
            return JOB_LOST;
        if (orci_db_exec(db, "ROLLBACK TO j", &e) != ORC_OK ||
            orci_db_exec(db, "RELEASE j", &e) != ORC_OK)
            return JOB_LOST;
    }
    return JOB_INTACT;
}

static void rollback(orci_db *db)
{
    orci_events_discard(db);
    orci_db_discard_deferred(db);
    if (!in_txn(db))
        return;
    if (db->pg != NULL)
        (void)orci_pg_exec(db->pg, "ROLLBACK", NULL, NULL);
    else
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

double orci_store_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* commit commits the transaction of jobs [from, to); false (and the jobs told) on failure. */
static bool commit(orci_store *s, write_job **jobs, int from, int to)
{
    orci_db *db = s->wdb;
    orc_error e = {0};
    double t0 = s->m_commit ? orci_store_now_s() : 0;
    orci_durable_commit(s);
    if (orci_db_exec(db, "COMMIT", &e) != ORC_OK) {
        orci_warn("write transaction failed to commit: %s", e.message);
        rollback(db);
        fail_succeeded(db, jobs, from, to, e.message);
        return false;
    }
    if (s->m_commit) {
        orci_histogram_observe(s->m_commit, orci_store_now_s() - t0);
        orci_histogram_observe(s->m_batch, to - from);
    }
    return true;
}

/* lost_txn reports a rolled-back transaction to the jobs [from, to) that kept changes. */
static void lost_txn(orci_db *db, write_job **jobs, int from, int to, const char *message)
{
    char why[ORC_ERROR_MESSAGE_MAX];
    snprintf(why, sizeof why, "transaction rolled back: %.400s", message);
    orci_warn("write %s", why);
    rollback(db);
    fail_succeeded(db, jobs, from, to, why);
}

/*
 * run_bare runs a batch's only job on SQLite in the transaction itself, without SAVEPOINT j
 * (orci_db_bare): a savepoint makes SQLite copy each page the job changes into its
 * sub-journal first, about 93,000 instructions of a machine step's 1.1 million. A failed job
 * rolls the transaction back, which leaves what its savepoint would have: nothing. Returns
 * false when the job asked to run again in a savepoint (orci_db_again), after the rollback;
 * else true, with *committed.
 */
static bool run_bare(orci_store *s, write_job *j, bool *committed)
{
    orci_db *db = s->wdb;
    orc_error e = {0};
    *committed = false;
    if (orci_db_exec(db, "BEGIN IMMEDIATE", &e) != ORC_OK)
        return false; /* the usual path reports it */
    orc_error_clear(&j->err);
    db->rolled_back = db->discard = db->again = false;
    db->bare = true;
    j->status = j->fn(db, j->arg, &j->err);
    db->bare = false;
    if (db->discard || db->again) {
        orci_events_discard(db); /* nothing is kept, or it all runs again */
        orci_db_discard_deferred(db);
    } else
        j->status = job_end(db, j->status, &j->err);
    if (j->status != ORC_OK && j->err.code == ORC_OK)
        orc_error_set(&j->err, j->status, NULL);
    reset_busy(db);
    if (db->again) {
        rollback(db);
        return false;
    }
    if (!in_txn(db)) {
        if (j->status == ORC_OK)
            j->status = orc_error_set(&j->err, ORC_INTERNAL, "write job ended its transaction");
        if (after_job(db) == JOB_COMMITTED) {
            orci_warn("a write job committed its own transaction");
            orci_durable_commit(s);
            *committed = true;
        } else {
            lost_txn(db, &j, 0, 1, j->err.message);
        }
        return true;
    }
    if (j->status != ORC_OK || db->discard)
        rollback(db);
    else
        *committed = commit(s, &j, 0, 1);
    return true;
}

/*
 * run_batch runs n jobs in one transaction, and starts another for the rest only when a
 * job ended the transaction it ran in. Returns whether anything was committed.
 */
static bool run_batch(orci_store *s, write_job **jobs, int n)
{
    orci_db *db = s->wdb;
    bool committed = false;
    if (n == 1 && db->pg == NULL && run_bare(s, jobs[0], &committed))
        return committed;
    orc_error e = {0};
    int start = 0; /* first job of the current transaction */
    while (start < n) {
        /* SQLite: take the write lock now, not at the first write (a reader's snapshot
         * could not be upgraded). PostgreSQL locks rows as it goes. */
        if (orci_db_exec(db, db->pg != NULL ? "BEGIN" : "BEGIN IMMEDIATE", &e) != ORC_OK) {
            orci_warn("cannot begin a write transaction: %s", e.message);
            rollback(db);
            fail_all(db, jobs, start, n, e.message);
            return committed;
        }
        int i = start;
        job_outcome o = JOB_INTACT;
        while (i < n && o == JOB_INTACT)
            o = run_job(db, jobs[i++]);
        if (o == JOB_LOST) {
            lost_txn(db, jobs, start, i, jobs[i - 1]->err.message);
        } else if (o == JOB_COMMITTED) {
            orci_warn("a write job committed its own transaction");
            orci_durable_commit(s);
            committed = true;
        } else if (commit(s, jobs, start, i)) {
            committed = true;
        }
        start = i;
    }
    return committed;
}

/* writer_lost (s->mu held) notes once that the PostgreSQL session is gone and says so. */
static void writer_lost(orci_store *s)
{
    if (s->lost)
        return;
    s->lost = true;
    orci_error("store: the connection to PostgreSQL is lost, and with it this coordinator's "
               "lock: another coordinator may take over; stopping");
    if (s->on_lost != NULL)
        s->on_lost(s->lost_arg);
}

void orci_store_run_hook(orci_store *s)
{
    pthread_mutex_lock(&s->hook_mu);
    if (s->hook != NULL)
        s->hook(s->hook_arg);
    pthread_mutex_unlock(&s->hook_mu);
}

void orci_store_answer(orci_store *s, write_job *list)
{
    /* Asynchronous callers are answered on this thread, without waking anyone: their
     * callback finishes the request (the RPC server sends its reply). */
    write_job *waiting = NULL, **tail = &waiting;
    for (write_job *j = list, *next; j != NULL; j = next) {
        next = j->next;
        if (j->on_done != NULL) {
            j->on_done(j->done_arg, j->status, &j->err);
            free(j);
        } else {
            *tail = j;
            tail = &j->next;
        }
    }
    *tail = NULL;
    if (waiting == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    for (write_job *j = waiting, *next; j != NULL; j = next) {
        next = j->next; /* j is gone once its caller sees done */
        j->done = true;
        pthread_cond_signal(&j->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

void orci_store_set_commit_hook(orci_store *s, orci_commit_hook fn, void *arg)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->hook_mu);
    s->hook = fn;
    s->hook_arg = fn != NULL ? arg : NULL;
    pthread_mutex_unlock(&s->hook_mu);
}

/*
 * writer_idle waits (s->mu held) for a job or the close, and while a caller runs a job on
 * the connection (s->busy) for it to end. On PostgreSQL it wakes every
 * STORE_PG_CHECK_MS to check the idle connection: once it is gone, so is the session's lock
 * and another coordinator may be taking over, so this one must stop serving at once
 * (on_lost) rather than at its next write.
 */
static void writer_idle(orci_store *s)
{
    while (s->busy || (s->head == NULL && !s->closing)) {
        if (!s->pg) {
            pthread_cond_wait(&s->wake, &s->mu);
            continue;
        }
        /* On PostgreSQL the wait is timed even while a caller runs a job: its end wakes
         * nobody, and the idle session must still be checked within STORE_PG_CHECK_MS. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += STORE_PG_CHECK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&s->wake, &s->mu, &until) == 0 || s->lost || s->busy ||
            s->head != NULL)
            continue;
        s->busy = true; /* no caller runs a job on the connection meanwhile */
        pthread_mutex_unlock(&s->mu);
        bool alive = orci_store_pg_alive(s);
        pthread_mutex_lock(&s->mu);
        s->busy = false;
        if (!alive)
            writer_lost(s);
    }
}

/* The store whose writer's connection this thread holds (writer_run), if any. */
static _Thread_local const orci_store *store_writing;

/*
 * writer_run runs the jobs [0, n) as a batch, outside s->mu, then answers them once their
 * changes are durable: synced here when nothing else waits, else by the syncer while the
 * writer goes on (durable.c). The caller holds s->busy.
 */
static void writer_run(orci_store *s, write_job **jobs, int n)
{
    store_writing = s;
    double t0 = s->m_txn ? orci_store_now_s() : 0;
    bool committed = run_batch(s, jobs, n);
    if (s->pg && !s->lost && orci_pg_lost(s->wdb->pg)) {
        pthread_mutex_lock(&s->mu);
        writer_lost(s);
        pthread_mutex_unlock(&s->mu);
    }
    if (committed && s->m_txn)
        orci_histogram_observe(s->m_txn, orci_store_now_s() - t0);
    for (int i = 0; i < n; i++)
        jobs[i]->next = i + 1 < n ? jobs[i + 1] : NULL;
    pthread_mutex_lock(&s->mu);
    bool idle = s->head == NULL;
    pthread_mutex_unlock(&s->mu);
    store_writing = NULL;
    if (!orci_durable_hand_off(s, jobs[0], committed, idle)) {
        orci_store_answer(s, jobs[0]);
        if (committed)
            orci_store_run_hook(s);
    }
}

void *orci_store_writer_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:writer", 0, 0, 0); /* names show in top -H, perf and /proc */
    orci_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        writer_idle(s);
        if (s->head == NULL)
            break; /* closing and drained */
        int n = 0;
        while (s->head != NULL && n < s->max_batch) {
            write_job *j = s->head;
            s->head = j->next;
            j->next = NULL;
            s->batch[n++] = j;
        }
        if (s->head == NULL)
            s->tail = NULL;
        s->busy = true;
        pthread_mutex_unlock(&s->mu);
        writer_run(s, s->batch, n);
        pthread_mutex_lock(&s->mu);
        s->busy = false;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* queue_locked puts j at the end of the writer's queue and wakes the writer (s->mu held). */
static void queue_locked(orci_store *s, write_job *j)
{
    if (s->tail != NULL)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->wake);
}

int orci_store_write(orci_store *s, orci_write_fn fn, void *arg, orc_error *err)
{
    if (s == NULL || fn == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_store_write: no store or no job");
    if (store_writing == s)
        return orc_error_set(err, ORC_INTERNAL,
                             "orci_store_write called from a write job (a write job cannot "
                             "wait for another)");
    write_job j = {.fn = fn, .arg = arg, .status = ORC_INTERNAL};
    if (pthread_cond_init(&j.cond, NULL) != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot create a condition variable");
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        pthread_cond_destroy(&j.cond);
        return orc_error_set(err, ORC_UNAVAILABLE, "store is closing");
    }
    queue_locked(s, &j);
    s->waiters++;
    while (!j.done)
        pthread_cond_wait(&j.cond, &s->mu);
    if (--s->waiters == 0 && s->closing)
        pthread_cond_signal(&s->idle);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&j.cond);
    if (err != NULL)
        *err = j.err;
    return j.status;
}

/*
 * A job run by its caller (orci_store_write_async_lone). A lone request that finds the
 * writer idle and nothing queued would otherwise wake the writer thread and wait for it to
 * be scheduled: on a 2-core machine that hand-off is about 30 us of a machine step's round
 * trip. Under load the writer's batches are better, and callers use orci_store_write_async. The
 * caller takes the writer's connection (s->busy) and runs the job as a batch of one on its own
 * thread, with the same transaction, sync and answer as the writer's. Jobs queued meanwhile wait
 * for the writer thread, woken when the caller is done, and make the next batch as before.
 */
static void store_run_inline(orci_store *s, write_job *j)
{
    writer_run(s, &j, 1);
    pthread_mutex_lock(&s->mu);
    s->busy = false;
    if (s->head != NULL || s->closing)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

/* store_submit runs or queues an asynchronous job; here: the caller may run it itself. */
static int store_submit(orci_store *s, orci_write_fn fn, void *arg, orci_write_done on_done,
                        void *done_arg, bool here, orc_error *err)
{
    if (s == NULL || fn == NULL || on_done == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_store_write_async: no store or no job");
    write_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    *j = (write_job){
        .fn = fn, .arg = arg, .status = ORC_INTERNAL, .on_done = on_done, .done_arg = done_arg};
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        free(j);
        return orc_error_set(err, ORC_UNAVAILABLE, "store is closing");
    }
    if (here && s->thread_started && !s->busy && s->head == NULL) {
        s->busy = true;
        pthread_mutex_unlock(&s->mu);
        store_run_inline(s, j);
        return ORC_OK;
    }
    queue_locked(s, j);
    pthread_mutex_unlock(&s->mu);
    return ORC_OK;
}

int orci_store_write_async(orci_store *s, orci_write_fn fn, void *arg, orci_write_done on_done,
                           void *done_arg, orc_error *err)
{
    return store_submit(s, fn, arg, on_done, done_arg, false, err);
}

int orci_store_write_async_lone(orci_store *s, orci_write_fn fn, void *arg, orci_write_done on_done,
                                void *done_arg, orc_error *err)
{
    return store_submit(s, fn, arg, on_done, done_arg, true, err);
}
