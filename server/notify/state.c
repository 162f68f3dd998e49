/*
 * state.c: the delivery state file of state.h.
 */
#include "state.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

struct orci_nstate {
    sqlite3 *db;
    pthread_mutex_t mu;
};

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS targets ("
                             " name TEXT PRIMARY KEY,"
                             " last_seq INTEGER NOT NULL,"
                             " generation INTEGER NOT NULL DEFAULT 0,"
                             " retry_seq INTEGER NOT NULL DEFAULT 0,"
                             " attempts INTEGER NOT NULL DEFAULT 0,"
                             " first_failure_us INTEGER NOT NULL DEFAULT 0,"
                             " next_attempt_us INTEGER NOT NULL DEFAULT 0,"
                             " last_error TEXT NOT NULL DEFAULT '',"
                             " delivered INTEGER NOT NULL DEFAULT 0,"
                             " failed INTEGER NOT NULL DEFAULT 0,"
                             " skipped INTEGER NOT NULL DEFAULT 0) STRICT;"
                             "CREATE TABLE IF NOT EXISTS dead_letters ("
                             " target TEXT NOT NULL,"
                             " seq INTEGER NOT NULL,"
                             " error TEXT NOT NULL,"
                             " dead_at_us INTEGER NOT NULL,"
                             " queued INTEGER NOT NULL DEFAULT 0 CHECK (queued IN (0, 1)),"
                             " PRIMARY KEY (target, seq)) STRICT, WITHOUT ROWID;";

static int db_error(orci_nstate *s, orc_error *err, const char *what)
{
    return orc_error_set(err, ORC_INTERNAL, "state file: %s: %s", what, sqlite3_errmsg(s->db));
}

int orci_nstate_open(const char *dir, orci_nstate **out, orc_error *err)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, ORCI_NSTATE_FILE) >= sizeof path)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "the state folder's path is too long");
    orci_nstate *s = calloc(1, sizeof *s);
    if (!s)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        orc_error_set(err, ORC_UNAVAILABLE, "cannot open the state file %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        orci_nstate_close(s);
        return ORC_UNAVAILABLE;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* FULL: a recorded delivery survives a power loss too (nothing is ever sent twice
     * because the record of the first sending was lost with the machine). */
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     " PRAGMA journal_size_limit=4194304;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        int code = db_error(s, err, path);
        orci_nstate_close(s);
        return code;
    }
    *out = s;
    return ORC_OK;
}

void orci_nstate_close(orci_nstate *s)
{
    if (!s)
        return;
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- statements ------------------------------------------------------------------------------ */

/*
 * A value bound to a statement: an integer or text. Each call below names its statements and
 * values in one table, run by exec_all in one transaction.
 */
typedef struct val {
    bool is_text;
    int64_t i;
    const char *t;
} val;

#define I(x) ((val){.i = (x)})
#define T(x) ((val){.is_text = true, .t = (x)})
#define MAX_VALS 8

typedef struct stmt {
    const char *sql;
    val v[MAX_VALS];
    int n;
} stmt;

/* run_one prepares, binds and steps one statement to its end. */
static int run_one(orci_nstate *s, const stmt *q, orc_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, q->sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "prepare");
    for (int i = 0; i < q->n; i++) {
        if (q->v[i].is_text)
            sqlite3_bind_text(st, i + 1, q->v[i].t ? q->v[i].t : "", -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, i + 1, q->v[i].i);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ORC_OK : db_error(s, err, "write");
}

/* exec_all runs n statements in one transaction: all of them are recorded, or none. */
static int exec_all(orci_nstate *s, const stmt *qs, int n, orc_error *err)
{
    pthread_mutex_lock(&s->mu);
    int code = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
                   ? ORC_OK
                   : db_error(s, err, "begin");
    for (int i = 0; code == ORC_OK && i < n; i++)
        code = run_one(s, &qs[i], err);
    if (code == ORC_OK && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        code = db_error(s, err, "commit");
    if (code != ORC_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->mu);
    return code;
}

#define END_RETRY                                                                                  \
    "retry_seq = 0, attempts = 0, first_failure_us = 0, next_attempt_us = 0, last_error = ''"

/* ---- reads --------------------------------------------------------------------------------------
 */

/* read_int reads one integer of a query on (target[, seq]); 0 when no row. Mutex held. */
static int read_int(orci_nstate *s, const char *sql, const char *target, int64_t *out,
                    orc_error *err)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "prepare");
    sqlite3_bind_text(st, 1, target, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORC_OK : db_error(s, err, "read");
}

/* read_cursor fills *out from target's row; *found false when there is none. Mutex held. */
static int read_cursor(orci_nstate *s, const char *target, orci_cursor *out, bool *found,
                       orc_error *err)
{
    sqlite3_stmt *st = NULL;
    *found = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT last_seq, generation, retry_seq, attempts, first_failure_us,"
                           " next_attempt_us, last_error, delivered, failed, skipped"
                           " FROM targets WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "prepare");
    sqlite3_bind_text(st, 1, target, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = true;
        out->last_seq = sqlite3_column_int64(st, 0);
        out->generation = sqlite3_column_int64(st, 1);
        out->retry_seq = sqlite3_column_int64(st, 2);
        out->attempts = sqlite3_column_int(st, 3);
        out->first_failure_us = sqlite3_column_int64(st, 4);
        out->next_attempt_us = sqlite3_column_int64(st, 5);
        const unsigned char *e = sqlite3_column_text(st, 6);
        snprintf(out->last_error, sizeof out->last_error, "%s", e ? (const char *)e : "");
        out->delivered = sqlite3_column_int64(st, 7);
        out->failed = sqlite3_column_int64(st, 8);
        out->skipped = sqlite3_column_int64(st, 9);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(s, err, "read");
    if (!*found)
        return ORC_OK;
    return read_int(s, "SELECT count(*) FROM dead_letters WHERE target = ?1 AND queued = 0", target,
                    &out->dead, err);
}

int orci_nstate_load(orci_nstate *s, const char *target, int64_t start_seq,
                     int64_t start_generation, orci_cursor *out, bool *created, orc_error *err)
{
    memset(out, 0, sizeof *out);
    *created = false;
    bool found = false;
    pthread_mutex_lock(&s->mu);
    int code = read_cursor(s, target, out, &found, err);
    pthread_mutex_unlock(&s->mu);
    if (code != ORC_OK || found)
        return code;
    stmt q = {"INSERT INTO targets (name, last_seq, generation) VALUES (?1, ?2, ?3)",
              {T(target), I(start_seq), I(start_generation)},
              3};
    if ((code = exec_all(s, &q, 1, err)) != ORC_OK)
        return code;
    out->last_seq = start_seq;
    out->generation = start_generation;
    *created = true;
    return ORC_OK;
}

int orci_nstate_next_queued(orci_nstate *s, const char *target, int64_t *seq, orc_error *err)
{
    pthread_mutex_lock(&s->mu);
    int code = read_int(s,
                        "SELECT coalesce(min(seq), 0) FROM dead_letters"
                        " WHERE target = ?1 AND queued = 1",
                        target, seq, err);
    pthread_mutex_unlock(&s->mu);
    return code;
}

/* ---- writes -------------------------------------------------------------------------------------
 */

int orci_nstate_done(orci_nstate *s, const char *target, int64_t seq, orci_outcome how,
                     bool redelivery, orc_error *err)
{
    const char *count = how == ORCI_OUTCOME_DELIVERED ? "UPDATE targets SET delivered ="
                                                        " delivered + 1 WHERE name = ?1"
                        : how == ORCI_OUTCOME_FAILED  ? "UPDATE targets SET failed = failed + 1"
                                                        " WHERE name = ?1"
                                                      : "UPDATE targets SET skipped = skipped + 1"
                                                        " WHERE name = ?1";
    stmt qs[3] = {{count, {T(target)}, 1}};
    if (redelivery) {
        qs[1] = (stmt){
            "DELETE FROM dead_letters WHERE target = ?1 AND seq = ?2", {T(target), I(seq)}, 2};
        qs[2] = (stmt){"UPDATE targets SET " END_RETRY " WHERE name = ?1 AND retry_seq = ?2",
                       {T(target), I(seq)},
                       2};
    } else {
        qs[1] =
            (stmt){"UPDATE targets SET last_seq = max(last_seq, ?2), " END_RETRY " WHERE name = ?1",
                   {T(target), I(seq)},
                   2};
    }
    return exec_all(s, qs, redelivery ? 3 : 2, err);
}

int orci_nstate_retry(orci_nstate *s, const char *target, int64_t seq, int attempts,
                      int64_t first_failure_us, int64_t next_attempt_us, const char *error,
                      orc_error *err)
{
    char e[ORCI_NSTATE_ERROR_MAX];
    snprintf(e, sizeof e, "%s", error ? error : "");
    stmt q = {"UPDATE targets SET retry_seq = ?2, attempts = ?3, first_failure_us = ?4,"
              " next_attempt_us = ?5, last_error = ?6 WHERE name = ?1",
              {T(target), I(seq), I(attempts), I(first_failure_us), I(next_attempt_us), T(e)},
              6};
    return exec_all(s, &q, 1, err);
}

int orci_nstate_dead_letter(orci_nstate *s, const char *target, int64_t seq, const char *error,
                            int64_t now_us, bool redelivery, orc_error *err)
{
    char e[ORCI_NSTATE_ERROR_MAX];
    snprintf(e, sizeof e, "%s", error ? error : "");
    stmt qs[2] = {
        {"INSERT INTO dead_letters (target, seq, error, dead_at_us, queued)"
         " VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT (target, seq) DO UPDATE SET"
         " error = excluded.error, dead_at_us = excluded.dead_at_us, queued = 0",
         {T(target), I(seq), T(e), I(now_us)},
         4},
        {redelivery ? "UPDATE targets SET " END_RETRY ", last_error = ?3 WHERE name = ?1"
                    : "UPDATE targets SET last_seq = max(last_seq, ?2), " END_RETRY
                      ", last_error = ?3 WHERE name = ?1",
         {T(target), I(seq), T(e)},
         3},
    };
    return exec_all(s, qs, 2, err);
}

int orci_nstate_advance(orci_nstate *s, const char *target, int64_t seq, int64_t skipped,
                        orc_error *err)
{
    stmt q = {"UPDATE targets SET last_seq = max(last_seq, ?2), skipped = skipped + ?3"
              " WHERE name = ?1",
              {T(target), I(seq), I(skipped)},
              3};
    return exec_all(s, &q, 1, err);
}

int orci_nstate_redeliver(orci_nstate *s, const char *target, int64_t generation, int64_t since,
                          orc_error *err)
{
    if (since < 0) {
        stmt qs[2] = {
            {"UPDATE dead_letters SET queued = 1 WHERE target = ?1", {T(target)}, 1},
            {"UPDATE targets SET generation = ?2 WHERE name = ?1", {T(target), I(generation)}, 2},
        };
        return exec_all(s, qs, 2, err);
    }
    stmt qs[2] = {
        {"DELETE FROM dead_letters WHERE target = ?1 AND seq > ?2", {T(target), I(since)}, 2},
        {"UPDATE targets SET generation = ?2, last_seq = ?3, " END_RETRY " WHERE name = ?1",
         {T(target), I(generation), I(since)},
         3},
    };
    return exec_all(s, qs, 2, err);
}

int orci_nstate_drop_dead_letter(orci_nstate *s, const char *target, int64_t seq, orc_error *err)
{
    stmt qs[2] = {
        {"DELETE FROM dead_letters WHERE target = ?1 AND seq = ?2", {T(target), I(seq)}, 2},
        {"UPDATE targets SET " END_RETRY " WHERE name = ?1 AND retry_seq = ?2",
         {T(target), I(seq)},
         2},
    };
    return exec_all(s, qs, 2, err);
}

int orci_nstate_forget(orci_nstate *s, const char *target, orc_error *err)
{
    stmt qs[2] = {
        {"DELETE FROM dead_letters WHERE target = ?1", {T(target)}, 1},
        {"DELETE FROM targets WHERE name = ?1", {T(target)}, 1},
    };
    return exec_all(s, qs, 2, err);
}
