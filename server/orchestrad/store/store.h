/*
 * store.h: the durable store: SQLite in WAL mode (a file path) or PostgreSQL (a postgres:// or
 * postgresql:// URL), store/README.md.
 *
 * One writer thread owns the read-write connection (a caller of orci_store_write_async_lone
 * that finds it idle borrows it for its own job). Callers hand it write jobs through
 * orci_store_write, which blocks until the job's changes are on disk: the writer takes
 * every job queued, runs each inside its own SAVEPOINT of one BEGIN IMMEDIATE transaction
 * (group commit) and commits, then wakes the callers once the commit is on disk. A job that
 * fails rolls back only its own savepoint. On SQLite the COMMIT itself does not wait for the
 * disk (synchronous=NORMAL): the WAL is synced (fdatasync) before any caller is answered,
 * on the writer's thread when nothing else is queued, else on a syncer thread while the
 * writer runs the next batch (durable.c). Replies to reads wait for that sync as well
 * (orci_store_wait_durable), so nobody sees a change that a power cut could still undo.
 *
 * Readers open their own connections (orci_db_open_reader), one per thread.
 * Every statement is prepared (orci_db_stmt); no SQL is ever built from input.
 *
 * Threads: orci_store_open/close from the main thread; orci_store_write and
 * orci_store_write_async from any thread except the writer itself; an orci_db from one thread
 * at a time.
 */
#ifndef ORCI_STORE_H
#define ORCI_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "orchestra/error.h"

typedef struct orci_store orci_store;

/* orci_db is one connection (SQLite or PostgreSQL) with its cache of prepared statements. */
typedef struct orci_db orci_db;

/*
 * orci_stmt is one prepared statement of a connection, owned by the connection's cache. On
 * SQLite it is the sqlite3_stmt itself (so that a step costs no indirection); on PostgreSQL a
 * pointer to the store's orci_pg_stmt with its lowest bit set (db.h tells them apart).
 */
typedef sqlite3_stmt orci_stmt;

/* orci_pg_stmt is PostgreSQL's statement (store/pg.h). */
typedef struct orci_pg_stmt orci_pg_stmt;

/* orci_stmt_is_pg tells a PostgreSQL statement (tagged pointer) from a SQLite one. */
static inline bool orci_stmt_is_pg(const orci_stmt *st)
{
    return __builtin_expect(((uintptr_t)st & 1u) != 0, 0);
}

/* orci_stmt_pg is the PostgreSQL statement behind a tagged orci_stmt. */
static inline orci_pg_stmt *orci_stmt_pg(orci_stmt *st)
{
    return (orci_pg_stmt *)((uintptr_t)st & ~(uintptr_t)1u);
}

/*
 * orci_store_lost_fn is called once, from the writer thread, when a PostgreSQL store lost its
 * connection (and so its lock, see orci_store_opts.wait): the process must stop serving.
 */
typedef void (*orci_store_lost_fn)(void *arg);

typedef struct orci_store_opts {
    /* A database file (its folder is created when missing), or a postgres:// or
     * postgresql:// URL or a libpq conninfo starting with "postgresql:" */
    const char *path;
    int max_batch; /* most jobs per group commit; 0: 64 */
    /* Where the writer records its batch sizes and commit times (common/metrics.h:
     * orchestra_store_*), borrowed: it must outlive the store. NULL: nothing is recorded. */
    struct orci_metrics *metrics;
    /* PostgreSQL: the writer's session holds an advisory lock for the store's life (one
     * active coordinator per database). With wait, orci_store_open waits for it (a standby)
     * until should_stop(stop_arg) says to give up (ORC_UNAVAILABLE); without, a held lock is
     * ORC_FAILED_PRECONDITION at once. */
    bool wait;
    bool shared; /* no lock: an admin command beside the running coordinator */
    bool (*should_stop)(void *stop_arg);
    void *stop_arg;
    orci_store_lost_fn on_lost; /* NULL: only a warning */
    void *lost_arg;
    /* Tests: called on the syncing thread before each fdatasync of the WAL (it may block,
     * to hold the sync back). NULL in the daemon. */
    void (*before_sync)(void *arg);
    void *before_sync_arg;
} orci_store_opts;

/*
 * orci_store_open opens (creating) the database, applies the embedded migrations of
 * schema/ (schema/pg/ on PostgreSQL) that are newer than the recorded version, each in its
 * own transaction, and starts the writer thread. Release with orci_store_close.
 */
int orci_store_open(const orci_store_opts *opts, orci_store **out, orc_error *err);

/* orci_store_close finishes the queued jobs, stops the writer and closes; NULL allowed. */
void orci_store_close(orci_store *s);

/* orci_store_schema_version is the schema version after migrations. */
int orci_store_schema_version(const orci_store *s);

/* orci_store_is_pg tells whether the store is PostgreSQL. */
bool orci_store_is_pg(const orci_store *s);

/* orci_db_is_pg tells whether the connection is PostgreSQL's. */
bool orci_db_is_pg(const orci_db *db);

/*
 * orci_write_fn is a write job. It runs on the writer thread inside a savepoint with the
 * writer's connection, or, as the only job of its transaction on SQLite, in the transaction
 * itself (orci_db_bare). It returns ORC_OK to keep its changes or an error (with err filled)
 * to roll them back.
 */
typedef int (*orci_write_fn)(orci_db *db, void *arg, orc_error *err);

/*
 * orci_db_bare tells a write job that it runs without a savepoint of its own: an error it
 * returns rolls the whole transaction back, which holds nothing else. Savepoints cost a copy
 * of every page a job changes; the store leaves them out when a batch holds one job. A bare
 * job that must undo part of its work and keep the rest (a savepoint of its own would do, but
 * costs the same copy) can instead
 *  - orci_db_discard: keep nothing, and succeed (the transaction is rolled back, not
 *    committed);
 *  - orci_db_again: return what it returns, ORC_ABORTED, to be run again from the start, in a
 *    savepoint, once the transaction is rolled back.
 */
bool orci_db_bare(const orci_db *db);
void orci_db_discard(orci_db *db);
int orci_db_again(orci_db *db, orc_error *err);

/*
 * orci_store_write runs fn(db, arg) on the writer thread and returns once its changes are
 * committed and synced (ORC_OK), or fn's error, or ORC_INTERNAL / ORC_UNAVAILABLE when the
 * commit failed or the store is closing.
 */
int orci_store_write(orci_store *s, orci_write_fn fn, void *arg, orc_error *err);

/*
 * orci_write_done receives the outcome of an asynchronous write job on the thread that ran
 * it (the writer's, or the caller's: orci_store_write_async_lone) or the syncer's, after the
 * commit is on disk (the commit hook runs right after): status as orci_store_write would
 * return it, err (borrowed for the call) filled when status is not ORC_OK. It must not block
 * or call orci_store_write; it may hand the result to another thread or send it on.
 */
typedef void (*orci_write_done)(void *arg, int status, const orc_error *err);

/*
 * orci_store_write_async queues fn(db, arg) like orci_store_write but returns at once: the
 * writer calls on_done(done_arg, ...) once the job's changes are committed and synced (or
 * rolled back). ORC_OK when queued; ORC_UNAVAILABLE when the store is closing, and then
 * on_done is never called. Jobs queued before orci_store_close are still run.
 */
int orci_store_write_async(orci_store *s, orci_write_fn fn, void *arg, orci_write_done on_done,
                           void *done_arg, orc_error *err);

/*
 * orci_store_write_async_lone is orci_store_write_async for a caller that knows of no other
 * write on its way (a lone request): when the writer is idle and nothing is queued, the
 * caller runs the job itself, as a batch of one, and on_done is called on its thread before
 * this returns (the caller must hold no lock on_done takes). Under load the writer's batches
 * are better: jobs that arrive while one runs here wait for it to end.
 */
int orci_store_write_async_lone(orci_store *s, orci_write_fn fn, void *arg, orci_write_done on_done,
                                void *done_arg, orc_error *err);

/*
 * orci_commit_hook is called once commits are on disk, on the thread that synced them, right
 * after their callers are answered (the replies go out first; the thread the hook wakes
 * would compete with them for the CPU). It must not block (the event publisher's only wakes
 * its thread).
 */
typedef void (*orci_commit_hook)(void *arg);

/*
 * orci_store_set_commit_hook installs fn with arg (borrowed; NULL fn removes the hook).
 * Any thread except the writer; once it returns, an earlier hook is no longer running.
 */
void orci_store_set_commit_hook(orci_store *s, orci_commit_hook fn, void *arg);

/*
 * orci_store_wait_durable returns once every commit that a read made before the call could
 * have seen is on disk: call it after the reads and before answering. It waits at most for
 * one fdatasync in progress (and returns at once on PostgreSQL, where a commit is durable
 * before anyone sees it, or when nothing is waiting to be synced).
 */
void orci_store_wait_durable(orci_store *s);

/* orci_db_open_reader opens a read-only connection for the calling thread. */
int orci_db_open_reader(orci_store *s, orci_db **out, orc_error *err);

/*
 * orci_db_open_peer opens a reader of the store whose writer connection db is: it sees what
 * was last committed, not db's open transaction. ORC_FAILED_PRECONDITION when db is not a
 * store's writer connection.
 */
int orci_db_open_peer(orci_db *db, orci_db **out, orc_error *err);

/* orci_db_close closes a connection and its statements; NULL allowed. */
void orci_db_close(orci_db *db);

/*
 * orci_db_stmt returns the prepared statement for sql (a string literal: the cache is
 * keyed by its text), reset and with bindings cleared, ready to bind. The statement stays
 * owned by db. Returns NULL with err set (ORC_INTERNAL) when SQLite refuses the SQL.
 */
orci_stmt *orci_db_stmt(orci_db *db, const char *sql, orc_error *err);

/*
 * orci_db_step runs a statement that returns no rows to completion and resets it.
 * Constraint violations give ORC_ALREADY_EXISTS or ORC_FAILED_PRECONDITION, anything
 * else ORC_INTERNAL, with SQLite's message.
 */
int orci_db_step(orci_db *db, orci_stmt *st, orc_error *err);

/*
 * orci_db_row steps a query: 1 when a row is ready, 0 when done (the statement is reset),
 * -1 on error with err set.
 */
int orci_db_row(orci_db *db, orci_stmt *st, orc_error *err);

/*
 * orci_db_exec runs fixed SQL text (never built from input), e.g. SAVEPOINT names. A
 * SAVEPOINT outside a transaction starts one on both stores, as SQLite does, and its RELEASE
 * commits it.
 */
int orci_db_exec(orci_db *db, const char *sql, orc_error *err);

/*
 * A deferred statement: fixed SQL that a write job may ask for several times and that runs
 * once, with ?1 bound to the number of requests, with the job's pending events, when its
 * next savepoint statement, COMMIT or ROLLBACK comes (orci_db_exec) or
 * orci_db_flush_deferred is called. A job that takes back each of its
 * requests (orci_db_undefer) writes nothing: the job signal (jobs.c), bumped by a job's
 * creation and taken back when the same report leases that job, no longer costs a machine
 * step an UPDATE, its undo and a page. One statement per connection at a time; a failed or
 * discarded job's request goes with it.
 */
int orci_db_defer(orci_db *db, const char *sql, orc_error *err);
/* orci_db_deferred counts the requests not yet run or taken back; *runs (when not NULL)
 * gets how often the statement has run on db, so that a caller can tell whether a request it
 * counted is still among them. */
int orci_db_deferred(const orci_db *db, int64_t *runs);
/* orci_db_undefer takes one request back (none: nothing happens). */
void orci_db_undefer(orci_db *db);
/* orci_db_flush_deferred runs the deferred statement now if any request is left. */
int orci_db_flush_deferred(orci_db *db, orc_error *err);

/*
 * orci_db_read_begin starts one read snapshot for the queries up to orci_db_read_end: a
 * savepoint, which outside a transaction starts one on either store (on PostgreSQL a
 * REPEATABLE READ one, see orci_db_exec). Not nested.
 */
int orci_db_read_begin(orci_db *db, orc_error *err);

/* orci_db_read_end ends the snapshot of orci_db_read_begin (after its success only). */
void orci_db_read_end(orci_db *db);

/* orci_db_handle exposes a SQLite connection (store/ and tests on SQLite); NULL on
 * PostgreSQL. */
sqlite3 *orci_db_handle(orci_db *db);

/* orci_db_last_id is SQLite's last rowid (tests on SQLite; code uses orci_db_insert); 0 on
 * PostgreSQL. */
int64_t orci_db_last_id(orci_db *db);

/* orci_db_changes counts the rows the last INSERT, UPDATE or DELETE of db changed. */
int64_t orci_db_changes(orci_db *db);

/*
 * orci_db_insert runs an INSERT ... RETURNING id (one row) and gives the id in *id (when not
 * NULL). Errors as orci_db_step; ORC_INTERNAL when the statement returned no row.
 */
int orci_db_insert(orci_db *db, orci_stmt *st, int64_t *id, orc_error *err);

/* Binding helpers: a NULL string binds SQL NULL. */
void orci_bind_text(orci_stmt *st, int idx, const char *s);
void orci_bind_int(orci_stmt *st, int idx, int64_t v);

/* orci_col_text returns column text or "" for NULL (valid until the next step). */
const char *orci_col_text(orci_stmt *st, int col);

#endif
