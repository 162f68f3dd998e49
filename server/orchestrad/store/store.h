/*
 * store.h: the durable store, SQLite in WAL mode.
 *
 * One writer thread owns the read-write connection. Callers hand it write jobs through
 * orci_store_write, which blocks until the job's changes are on disk: the writer takes
 * every job queued, runs each inside its own SAVEPOINT of one BEGIN IMMEDIATE transaction
 * (group commit) and commits with synchronous=FULL, then wakes the callers. A job that
 * fails rolls back only its own savepoint.
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

/* orci_db is one SQLite connection with its cache of prepared statements. */
typedef struct orci_db orci_db;

typedef struct orci_store_opts {
    const char *path; /* database file; its folder is created when missing */
    int max_batch;    /* most jobs per group commit; 0: 64 */
    /* Where the writer records its batch sizes and commit times (common/metrics.h:
     * orchestra_store_*), borrowed: it must outlive the store. NULL: nothing is recorded. */
    struct orci_metrics *metrics;
} orci_store_opts;

/*
 * orci_store_open opens (creating) the database, applies the embedded migrations of
 * schema/ that are newer than PRAGMA user_version, each in its own transaction, and starts
 * the writer thread. Release with orci_store_close.
 */
int orci_store_open(const orci_store_opts *opts, orci_store **out, orc_error *err);

/* orci_store_close finishes the queued jobs, stops the writer and closes; NULL allowed. */
void orci_store_close(orci_store *s);

/* orci_store_schema_version is the PRAGMA user_version after migrations. */
int orci_store_schema_version(const orci_store *s);

/*
 * orci_write_fn is a write job. It runs on the writer thread inside a savepoint with the
 * writer's connection. It returns ORC_OK to keep its changes or an error (with err filled)
 * to roll them back.
 */
typedef int (*orci_write_fn)(orci_db *db, void *arg, orc_error *err);

/*
 * orci_store_write runs fn(db, arg) on the writer thread and returns once its changes are
 * committed and synced (ORC_OK), or fn's error, or ORC_INTERNAL / ORC_UNAVAILABLE when the
 * commit failed or the store is closing.
 */
int orci_store_write(orci_store *s, orci_write_fn fn, void *arg, orc_error *err);

/*
 * orci_write_done receives the outcome of an asynchronous write job on the writer thread,
 * after the commit (and the commit hook): status as orci_store_write would return it, err
 * (borrowed for the call) filled when status is not ORC_OK. It must not block or call
 * orci_store_write; it may hand the result to another thread or send it on.
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
 * orci_commit_hook is called on the writer thread after each successful COMMIT, with the
 * writer's connection and no transaction open, before the batch's callers are woken. It may
 * read (e.g. the events just committed) but must not write. Used by the event publisher.
 */
typedef void (*orci_commit_hook)(orci_db *db, void *arg);

/*
 * orci_store_set_commit_hook installs fn with arg (borrowed; NULL fn removes the hook).
 * Any thread except the writer; once it returns, an earlier hook is no longer running.
 */
void orci_store_set_commit_hook(orci_store *s, orci_commit_hook fn, void *arg);

/* orci_db_open_reader opens a read-only connection for the calling thread. */
int orci_db_open_reader(orci_store *s, orci_db **out, orc_error *err);

/* orci_db_close closes a connection and its statements; NULL allowed. */
void orci_db_close(orci_db *db);

/*
 * orci_db_stmt returns the prepared statement for sql (a string literal: the cache is
 * keyed by its text), reset and with bindings cleared, ready to bind. The statement stays
 * owned by db. Returns NULL with err set (ORC_INTERNAL) when SQLite refuses the SQL.
 */
sqlite3_stmt *orci_db_stmt(orci_db *db, const char *sql, orc_error *err);

/*
 * orci_db_step runs a statement that returns no rows to completion and resets it.
 * Constraint violations give ORC_ALREADY_EXISTS or ORC_FAILED_PRECONDITION, anything
 * else ORC_INTERNAL, with SQLite's message.
 */
int orci_db_step(orci_db *db, sqlite3_stmt *st, orc_error *err);

/*
 * orci_db_row steps a query: 1 when a row is ready, 0 when done (the statement is reset),
 * -1 on error with err set.
 */
int orci_db_row(orci_db *db, sqlite3_stmt *st, orc_error *err);

/* orci_db_exec runs fixed SQL text (never built from input), e.g. SAVEPOINT names. */
int orci_db_exec(orci_db *db, const char *sql, orc_error *err);

/* orci_db_handle exposes the connection (for sqlite3_last_insert_rowid and changes). */
sqlite3 *orci_db_handle(orci_db *db);

/* orci_db_last_id is sqlite3_last_insert_rowid. */
int64_t orci_db_last_id(orci_db *db);

/* Binding helpers: a NULL string binds SQL NULL. */
void orci_bind_text(sqlite3_stmt *st, int idx, const char *s);
void orci_bind_int(sqlite3_stmt *st, int idx, int64_t v);

/* orci_col_text returns column text or "" for NULL (valid until the next step). */
const char *orci_col_text(sqlite3_stmt *st, int col);

#endif
