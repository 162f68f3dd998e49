/*
 * store_internal.h: the store's connection and store structures, shared by store.c (the
 * writer, the statement cache, SQLite) and store_pg.c (PostgreSQL). Internal to store/.
 */
#ifndef ORCI_STORE_INTERNAL_H
#define ORCI_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "store/pg.h"
#include "store/store.h"

/* One cached statement. The SQL text is copied: the key pointer is only a fast path. */
typedef struct stmt_entry {
    const char *ptr; /* the pointer last used to look this statement up */
    char *sql;       /* owned copy of the text */
    uint64_t hash;
    orci_stmt *st;
} stmt_entry;

/* Statements found by the address of their SQL text, before hashing the text. */
#define STMT_FAST_SLOTS 256

typedef struct stmt_fast {
    const char *ptr;  /* the SQL pointer a caller used */
    const char *text; /* the cached entry's own copy of the text */
    orci_stmt *st;
} stmt_fast;

struct orci_db {
    sqlite3 *h;       /* SQLite; NULL on PostgreSQL */
    orci_pg_conn *pg; /* PostgreSQL; NULL on SQLite */
    int64_t changes;  /* PostgreSQL: rows the last statement changed */
    /* PostgreSQL: the savepoint that opened the transaction (SQLite's meaning of a SAVEPOINT
     * outside one: its RELEASE commits); "" when none did. */
    char auto_txn[48];
    stmt_entry *slots; /* open addressing, capacity a power of two */
    size_t cap;
    size_t count;
    bool rolled_back;  /* writer: set by the rollback hook */
    bool bare;         /* writer: the job runs without a savepoint (orci_db_bare) */
    bool discard;      /* writer: the bare job keeps nothing (orci_db_discard) */
    bool again;        /* writer: the bare job runs again in a savepoint (orci_db_again) */
    orci_store *store; /* writer: its store (orci_db_open_peer); NULL otherwise */
    struct orci_event_buf *pending; /* writer: events of the job not written yet (events.c) */
    const char *deferred;           /* writer: orci_db_defer's statement, run once... */
    int deferred_n;                 /* ...if this is above 0 when it is flushed */
    int64_t deferred_runs;          /* writer: times a deferred statement ran */
    /* SQL texts are string literals, so their address finds a statement at once: hashing
     * a few hundred bytes of text dozens of times per write job showed in profiles. The
     * text is still compared, so a reused buffer never gets another text's statement. */
    stmt_fast fast[STMT_FAST_SLOTS];
};

/*
 * A write job lives on the stack of the orci_store_write caller until done is set, or, from
 * orci_store_write_async, on the heap until the writer has called its on_done.
 */
typedef struct write_job {
    orci_write_fn fn;
    void *arg;
    orc_error err;
    int status;
    bool done;
    pthread_cond_t cond;     /* synchronous jobs */
    orci_write_done on_done; /* asynchronous jobs: called by the writer, then freed */
    void *done_arg;
    struct write_job *next;
    /* Handed to the syncer (durable.c): answered once the commits up to gen are on disk;
     * hook: its batch committed, so the commit hook runs first. */
    uint64_t gen;
    bool hook;
} write_job;

struct orci_store {
    char *path; /* the file, or the PostgreSQL URL */
    bool pg;
    orci_store_lost_fn on_lost;
    void *lost_arg;
    bool lost;    /* writer thread: the PostgreSQL connection (and its lock) is gone */
    orci_db *wdb; /* owned by the writer thread once it runs */
    int max_batch;
    int schema_version;

    pthread_mutex_t mu;
    pthread_cond_t wake; /* signals the writer: a job was queued or closing started */
    pthread_cond_t idle; /* signals close: the last waiting caller has left */
    write_job *head, *tail;
    int waiters; /* callers inside orci_store_write; close waits for them to leave */
    bool closing;
    bool sync_init;
    bool thread_started;
    pthread_t thread;
    write_job **batch; /* max_batch slots, used by the writer thread only */
    /* A thread holds the writer's connection: the writer thread running a batch (or checking
     * its PostgreSQL connection), or a caller of orci_store_write_async that found the writer
     * idle and nothing queued, and runs its job itself (writer.c, "A job run by its caller"). */
    bool busy;

    pthread_mutex_t hook_mu; /* held by the writer while the commit hook runs */
    bool hook_mu_init;
    orci_commit_hook hook;
    void *hook_arg;

    /* The checkpointer: its own connection and thread, woken through mu. */
    sqlite3 *ckpt_db;
    pthread_cond_t ckpt_cv; /* a checkpoint is wanted, or closing */
    bool ckpt_cv_init;
    bool ckpt_wanted;
    bool ckpt_running; /* the checkpointer is copying (the writer's own checkpoint waits) */
    bool ckpt_quit;
    bool ckpt_started;
    pthread_t ckpt_thread;
    int ckpt_next; /* WAL size that wakes the checkpointer next (writer thread only) */

    /*
     * Durability off the writer's thread (durable.c), SQLite only. The writer commits with
     * synchronous=NORMAL (no fsync) and bumps visible_gen before each COMMIT; a reply waits
     * until durable_gen, the newest generation known to be on disk, reaches what it could
     * have seen. The WAL is synced on the writer's thread when nothing else is queued, else
     * by the syncer thread while the writer goes on with the next batch.
     */
    bool dur_on;
    int wal_fd;     /* the WAL, opened read-only for fdatasync (-1: none) */
    int wal_fd_old; /* a WAL file replaced under us, kept open until close (-1: none) */
    char *wal_path;
    atomic_uint_least64_t visible_gen;
    atomic_uint_least64_t durable_gen;
    pthread_mutex_t dur_mu;
    pthread_cond_t dur_cv;   /* broadcast: durable_gen advanced */
    pthread_cond_t dur_work; /* the syncer: a batch was handed over, or quit */
    bool dur_init;
    write_job *dur_head, *dur_tail; /* handed over, not yet answered */
    bool dur_quit;
    bool dur_started;
    pthread_t dur_thread;
    void (*before_sync)(void *arg); /* orci_store_opts.before_sync */
    void *before_sync_arg;

    /* Metrics (orci_store_opts.metrics); NULL when off. */
    orci_series *m_batch;  /* write jobs per committed transaction */
    orci_series *m_commit; /* the COMMIT: WAL write (and, without dur_on, fsync), seconds */
    orci_series *m_txn;    /* a batch from BEGIN to its commit, seconds */
    orci_series *m_sync;   /* an fdatasync of the WAL (dur_on), seconds */
};

/* store_pg.c: PostgreSQL's part of orci_store_open (connection, lock, migrations). */
int orci_store_pg_open(orci_store *s, const orci_store_opts *opts, orc_error *err);

/* store_pg.c: a reader connection to s's PostgreSQL database. */
int orci_store_pg_reader(orci_store *s, orci_db **out, orc_error *err);

/* store_pg.c: the writer's idle check; false once the connection (and the lock) is gone. */
bool orci_store_pg_alive(orci_store *s);

/* store.c: closes a connection's cached statements and the connection. */
void orci_db_close(orci_db *db);

/*
 * events.c. The events a write job appends wait in memory (db's orci_event_buf) and are written
 * together, in order, by orci_events_flush: the store calls it when a job succeeds, and
 * before a savepoint statement (orci_db_exec), so a ROLLBACK TO takes them back like any
 * row; events.c before another event insert or read. orci_events_discard drops them (a
 * failed job, a rolled-back transaction). orci_events_buf_free frees a buffer (NULL allowed).
 */
int orci_events_flush(orci_db *db, orc_error *err);
void orci_events_discard(orci_db *db);
void orci_events_buf_free(struct orci_event_buf *b);

/* store.c: forgets the deferred statement of a job that keeps nothing. */
void orci_db_discard_deferred(orci_db *db);

/* writer.c: the writer thread (started by orci_store_open, joined by orci_store_close). */
void *orci_store_writer_main(void *arg);

/* orci_walgather_vfs registers (once) the VFS that gathers a commit's WAL frames into one
 * write (walgather.c) and returns its name, or NULL if SQLite's default VFS cannot carry it. */
const char *orci_walgather_vfs(void);

/* writer.c: runs the commit hook (after a durable commit). */
void orci_store_run_hook(orci_store *s);

/* writer.c: answers the jobs of a list linked by next (callbacks, or wakes their callers). */
void orci_store_answer(orci_store *s, write_job *list);

/* writer.c: seconds on the monotonic clock. */
double orci_store_now_s(void);

/*
 * durable.c. orci_durable_start (after migrations) opens the WAL for syncing, switches the
 * writer to synchronous=NORMAL and starts the syncer; when the WAL cannot be opened the
 * writer keeps synchronous=FULL (dur_on false). orci_durable_commit is called by the writer
 * just before a COMMIT. orci_durable_hand_off takes a finished batch: false when the caller
 * answers it now (nothing it could have seen is still unsynced, or the caller's own
 * fdatasync just made it so: idle, nothing else queued), true when the syncer will.
 * orci_durable_stop answers what was handed over and ends the syncer (after the writer).
 */
int orci_durable_start(orci_store *s, orc_error *err);
void orci_durable_commit(orci_store *s);
bool orci_durable_hand_off(orci_store *s, write_job *list, bool committed, bool idle);
void orci_durable_stop(orci_store *s);
void orci_durable_free(orci_store *s);

#endif
