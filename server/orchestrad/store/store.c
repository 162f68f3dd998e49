/*
 * store.c: the per-connection cache of prepared statements, the row API's calls that take a
 * connection, deferred statements, SQLite's connections, migrations and checkpointer, and
 * opening and closing the store. The writer thread and its batches are in writer.c;
 * PostgreSQL's connections, lock and migrations in store_pg.c.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "store/migrations.h"
#include "store/store_internal.h"

#define STORE_DEFAULT_BATCH 64
#define STORE_MAX_BATCH 4096
#define STORE_BUSY_TIMEOUT_MS 5000
#define STMT_CACHE_INITIAL 64
/* New WAL pages after which the checkpointer copies the WAL back (SQLite's own default). */
#define STORE_CHECKPOINT_PAGES 1000
/* WAL pages past which the writer checkpoints itself, so that the WAL starts over. */
#define STORE_WAL_RESTART_PAGES 4000

static stmt_fast *fast_slot(orci_db *db, const char *sql)
{
    return &db->fast[((uintptr_t)sql >> 3) & (STMT_FAST_SLOTS - 1)];
}

/* fast_find returns the statement last used with this SQL pointer, if its text matches. */
static orci_stmt *fast_find(orci_db *db, const char *sql)
{
    stmt_fast *f = fast_slot(db, sql);
    if (f->ptr == sql && f->st != NULL && strcmp(f->text, sql) == 0)
        return f->st;
    return NULL;
}

static void fast_put(orci_db *db, const char *sql, const char *text, orci_stmt *st)
{
    *fast_slot(db, sql) = (stmt_fast){.ptr = sql, .text = text, .st = st};
}

/* ---- errors ------------------------------------------------------------------------- */

/* sqlite_code maps an (extended) SQLite result code to an orc_code. */
static int sqlite_code(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return ORC_ALREADY_EXISTS;
    default:
        break;
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return ORC_FAILED_PRECONDITION;
    return ORC_INTERNAL;
}

/* db_fail fills err from the connection's last error. */
static int db_fail(sqlite3 *h, int rc, orc_error *err)
{
    int code = sqlite_code(rc);
    const char *msg = h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
    if (code == ORC_INTERNAL)
        return orc_error_set(err, ORC_INTERNAL, "database error: %s (%d)", msg, rc);
    return orc_error_set(err, code, "%s", msg);
}

/* ---- statement cache ---------------------------------------------------------------- */

static uint64_t sql_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* stmt_free finalizes a statement of either store. */
static void stmt_free(orci_stmt *st)
{
    if (orci_stmt_is_pg(st))
        orci_pg_stmt_free(orci_stmt_pg(st));
    else
        sqlite3_finalize(st);
}

static int cache_grow(orci_db *db, orc_error *err)
{
    size_t ncap = db->cap == 0 ? STMT_CACHE_INITIAL : db->cap * 2;
    stmt_entry *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory for the statement cache");
    for (size_t i = 0; i < db->cap; i++) {
        stmt_entry *e = &db->slots[i];
        if (e->st == NULL)
            continue;
        size_t j = (size_t)e->hash & (ncap - 1);
        while (ns[j].st != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(db->slots);
    db->slots = ns;
    db->cap = ncap;
    return ORC_OK;
}

/* cache_find returns the cached statement for sql, or NULL with *slot where it would go. */
static orci_stmt *cache_find(orci_db *db, const char *sql, uint64_t hash, size_t *slot)
{
    size_t i = 0;
    if (db->cap > 0) {
        for (i = (size_t)hash & (db->cap - 1); db->slots[i].st != NULL;
             i = (i + 1) & (db->cap - 1)) {
            stmt_entry *e = &db->slots[i];
            if (e->hash == hash && (e->ptr == sql || strcmp(e->sql, sql) == 0)) {
                e->ptr = sql;
                fast_put(db, sql, e->sql, e->st);
                return e->st;
            }
        }
    }
    *slot = i;
    return NULL;
}

/* cache_add keeps st (prepared from sql) in the cache; on failure st is finalized. */
static int cache_add(orci_db *db, const char *sql, uint64_t hash, size_t slot, orci_stmt *st,
                     orc_error *err)
{
    /* Keep the load under one half so probes stay short. */
    if ((db->count + 1) * 2 > db->cap) {
        if (cache_grow(db, err) != ORC_OK) {
            stmt_free(st);
            return ORC_INTERNAL;
        }
        for (slot = (size_t)hash & (db->cap - 1); db->slots[slot].st != NULL;
             slot = (slot + 1) & (db->cap - 1))
            ;
    }
    char *copy = strdup(sql);
    if (copy == NULL) {
        stmt_free(st);
        return orc_error_set(err, ORC_INTERNAL, "out of memory for the statement cache");
    }
    db->slots[slot] = (stmt_entry){.ptr = sql, .sql = copy, .hash = hash, .st = st};
    db->count++;
    fast_put(db, sql, copy, st);
    return ORC_OK;
}

/* pg_stmt_new makes a PostgreSQL statement for sql, tagged as orci_stmt (db.h). */
static orci_stmt *pg_stmt_new(orci_db *db, const char *sql, orc_error *err)
{
    orci_pg_stmt *p = NULL;
    if (orci_pg_stmt_new(db->pg, sql, &p, err) != ORC_OK)
        return NULL;
    return (orci_stmt *)((uintptr_t)p | 1u);
}

orci_stmt *orci_db_stmt(orci_db *db, const char *sql, orc_error *err)
{
    if (db == NULL || (db->h == NULL && db->pg == NULL) || sql == NULL) {
        orc_error_set(err, ORC_INTERNAL, "orci_db_stmt: no connection or no SQL");
        return NULL;
    }
    orci_stmt *st = fast_find(db, sql);
    uint64_t hash = 0;
    size_t slot = 0;
    if (st == NULL) {
        hash = sql_hash(sql);
        st = cache_find(db, sql, hash, &slot);
    }
    if (st != NULL) {
        if (orci_stmt_is_pg(st)) {
            orci_pg_stmt_clear(orci_stmt_pg(st));
        } else {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        return st;
    }
    if (db->pg != NULL) {
        st = pg_stmt_new(db, sql, err);
        if (st == NULL || cache_add(db, sql, hash, slot, st, err) != ORC_OK)
            return NULL;
        return st;
    }
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK || st == NULL) {
        orc_error_set(err, ORC_INTERNAL, "cannot prepare statement: %s",
                      rc != SQLITE_OK ? sqlite3_errmsg(db->h) : "empty SQL");
        sqlite3_finalize(st);
        return NULL;
    }
    if (cache_add(db, sql, hash, slot, st, err) != ORC_OK)
        return NULL;
    return st;
}

/* ---- connections -------------------------------------------------------------------- */

/* only_space tells whether s holds nothing but white space (and SQL's ';'). */
static bool only_space(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r' && *s != ';')
            return false;
    return true;
}

/*
 * pg_exec runs fixed SQL on PostgreSQL with SQLite's meaning of a SAVEPOINT outside a
 * transaction: it starts one (REPEATABLE READ: one snapshot, as SQLite's read transaction),
 * which the RELEASE of that savepoint commits. Code reading several statements from one
 * snapshot (views, listings) takes a savepoint on either store.
 */
static int pg_exec(orci_db *db, const char *sql, orc_error *err)
{
    if (strncmp(sql, "SAVEPOINT ", 10) == 0 && db->auto_txn[0] == '\0' &&
        !orci_pg_in_transaction(db->pg) && strlen(sql + 10) < sizeof db->auto_txn) {
        int code = orci_pg_exec(db->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ", NULL, err);
        if (code == ORC_OK)
            code = orci_pg_exec(db->pg, sql, NULL, err);
        if (code != ORC_OK) {
            (void)orci_pg_exec(db->pg, "ROLLBACK", NULL, NULL);
            return code;
        }
        snprintf(db->auto_txn, sizeof db->auto_txn, "%s", sql + 10);
        return ORC_OK;
    }
    if (strncmp(sql, "RELEASE ", 8) == 0 && db->auto_txn[0] != '\0' &&
        strcmp(sql + 8, db->auto_txn) == 0) {
        db->auto_txn[0] = '\0';
        return orci_pg_exec(db->pg, "COMMIT", NULL, err);
    }
    return orci_pg_exec(db->pg, sql, &db->changes, err);
}

void orci_db_discard_deferred(orci_db *db)
{
    db->deferred = NULL;
    db->deferred_n = 0;
}

int orci_db_defer(orci_db *db, const char *sql, orc_error *err)
{
    if (db->deferred != NULL && strcmp(db->deferred, sql) != 0)
        return orc_error_set(err, ORC_INTERNAL, "orci_db_defer: another statement is deferred");
    db->deferred = sql;
    db->deferred_n++;
    return ORC_OK;
}

int orci_db_deferred(const orci_db *db, int64_t *runs)
{
    if (runs != NULL)
        *runs = db->deferred_runs;
    return db->deferred_n;
}

void orci_db_undefer(orci_db *db)
{
    if (db->deferred_n > 0)
        db->deferred_n--;
}

int orci_db_flush_deferred(orci_db *db, orc_error *err)
{
    const char *sql = db->deferred;
    int n = db->deferred_n;
    orci_db_discard_deferred(db);
    if (sql == NULL || n == 0)
        return ORC_OK;
    db->deferred_runs++;
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, n);
    return orci_db_step(db, st, err);
}

int orci_db_exec(orci_db *db, const char *sql, orc_error *err)
{
    if (db == NULL || (db->h == NULL && db->pg == NULL) || sql == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_db_exec: no connection or no SQL");
    /* A savepoint statement (or COMMIT) comes after the events appended before it, and the
     * deferred statement. */
    int code = orci_events_flush(db, err);
    if (code == ORC_OK)
        code = orci_db_flush_deferred(db, err);
    if (code != ORC_OK)
        return code;
    if (db->pg != NULL)
        return pg_exec(db, sql, err);
    /* A single statement (SAVEPOINT, RELEASE, BEGIN, COMMIT... several per write job) is
     * prepared once and kept; sqlite3_exec would parse it on every call. */
    orci_stmt *st = fast_find(db, sql);
    uint64_t hash = 0;
    size_t slot = 0;
    if (st == NULL) {
        hash = sql_hash(sql);
        st = cache_find(db, sql, hash, &slot);
    }
    if (st == NULL) {
        const char *tail = NULL;
        int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, &tail);
        if (rc != SQLITE_OK)
            return db_fail(db->h, sqlite3_extended_errcode(db->h), err);
        if (st == NULL || tail == NULL || !only_space(tail)) {
            /* Several statements (a migration): run them as text. */
            sqlite3_finalize(st);
            rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
            if (rc != SQLITE_OK)
                return db_fail(db->h, sqlite3_extended_errcode(db->h), err);
            return ORC_OK;
        }
        if (cache_add(db, sql, hash, slot, st, err) != ORC_OK)
            return ORC_INTERNAL;
    }
    return orci_db_step(db, st, err);
}

int orci_db_step(orci_db *db, orci_stmt *st, orc_error *err)
{
    if (db == NULL || st == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_db_step: no statement");
    if (orci_stmt_is_pg(st))
        return orci_pg_step(orci_stmt_pg(st), &db->changes, err);
    int rc;
    do {
        rc = sqlite3_step(st);
    } while (rc == SQLITE_ROW);
    int code = ORC_OK;
    if (rc != SQLITE_DONE)
        code = db_fail(db->h, sqlite3_extended_errcode(db->h), err);
    sqlite3_reset(st);
    return code;
}

int orci_db_row(orci_db *db, orci_stmt *st, orc_error *err)
{
    if (db == NULL || st == NULL) {
        orc_error_set(err, ORC_INTERNAL, "orci_db_row: no statement");
        return -1;
    }
    if (orci_stmt_is_pg(st))
        return orci_pg_row(orci_stmt_pg(st), &db->changes, err);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    int ret = 0;
    if (rc != SQLITE_DONE) {
        db_fail(db->h, sqlite3_extended_errcode(db->h), err);
        ret = -1;
    }
    sqlite3_reset(st);
    return ret;
}

int orci_db_read_begin(orci_db *db, orc_error *err)
{
    return orci_db_exec(db, "SAVEPOINT orci_read", err);
}

void orci_db_read_end(orci_db *db)
{
    (void)orci_db_exec(db, "RELEASE orci_read", NULL);
}

sqlite3 *orci_db_handle(orci_db *db)
{
    return db != NULL ? db->h : NULL;
}

int64_t orci_db_last_id(orci_db *db)
{
    return db != NULL && db->h != NULL ? (int64_t)sqlite3_last_insert_rowid(db->h) : 0;
}

int64_t orci_db_changes(orci_db *db)
{
    if (db == NULL)
        return 0;
    return db->pg != NULL ? db->changes : (int64_t)sqlite3_changes64(db->h);
}

int orci_db_insert(orci_db *db, orci_stmt *st, int64_t *id, orc_error *err)
{
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return err != NULL && err->code != ORC_OK ? (int)err->code : ORC_INTERNAL;
    if (r == 0)
        return orc_error_set(err, ORC_INTERNAL, "an INSERT ... RETURNING gave no row");
    if (orci_stmt_is_pg(st)) {
        if (id != NULL)
            *id = orci_pg_col_int(orci_stmt_pg(st), 0);
        /* The server ran the whole statement; its result is dropped (a step would run it
         * again). */
        orci_pg_stmt_reset(orci_stmt_pg(st));
        return ORC_OK;
    }
    if (id != NULL)
        *id = (int64_t)sqlite3_column_int64(st, 0);
    /* SQLite made every change at the first step; the rest of the statement returns nothing. */
    return orci_db_step(db, st, err);
}

void orci_bind_text(orci_stmt *st, int idx, const char *s)
{
    if (orci_stmt_is_pg(st)) {
        orci_pg_bind_text(orci_stmt_pg(st), idx, s);
        return;
    }
    if (s == NULL)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

void orci_bind_int(orci_stmt *st, int idx, int64_t v)
{
    if (orci_stmt_is_pg(st))
        orci_pg_bind_int(orci_stmt_pg(st), idx, v);
    else
        sqlite3_bind_int64(st, idx, (sqlite3_int64)v);
}

const char *orci_col_text(orci_stmt *st, int col)
{
    if (orci_stmt_is_pg(st))
        return orci_pg_col_text(orci_stmt_pg(st), col);
    const unsigned char *t = sqlite3_column_text(st, col);
    return t != NULL ? (const char *)t : "";
}

void orci_db_close(orci_db *db)
{
    if (db == NULL)
        return;
    for (size_t i = 0; i < db->cap; i++) {
        if (db->slots[i].st != NULL) {
            stmt_free(db->slots[i].st);
            free(db->slots[i].sql);
        }
    }
    free(db->slots);
    orci_events_buf_free(db->pending);
    if (db->h != NULL)
        sqlite3_close_v2(db->h);
    orci_pg_close(db->pg);
    free(db);
}

/* pragma_text runs a pragma that returns one text value and copies it into out. */
static int pragma_text(orci_db *db, const char *sql, char *out, size_t out_size, orc_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db->h, rc, err);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out, out_size, "%s", orci_col_text(st, 0));
        sqlite3_finalize(st);
        return ORC_OK;
    }
    int code = rc == SQLITE_DONE ? orc_error_set(err, ORC_INTERNAL, "%s returned no value", sql)
                                 : db_fail(db->h, sqlite3_extended_errcode(db->h), err);
    sqlite3_finalize(st);
    return code;
}

/* on_rollback notes on the writer's connection that its transaction was rolled back. */
static void on_rollback(void *arg)
{
    orci_db *db = arg;
    db->rolled_back = true;
    orci_events_discard(db);
    orci_db_discard_deferred(db);
}

/* db_open opens one connection with the pragmas every connection gets. */
static int db_open(const char *path, bool writer, orci_db **out, orc_error *err)
{
    *out = NULL;
    orci_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    int flags = SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    int code = ORC_OK;
    /* The writer's WAL frames go out in one write per commit (walgather.c). */
    int rc = sqlite3_open_v2(path, &db->h, flags, writer ? orci_walgather_vfs() : NULL);
    if (rc != SQLITE_OK) {
        code = orc_error_set(err, ORC_UNAVAILABLE, "cannot open database %s: %s", path,
                             db->h != NULL ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, STORE_BUSY_TIMEOUT_MS);
    if ((code = orci_db_exec(db, "PRAGMA foreign_keys=ON", err)) != ORC_OK)
        goto fail;
    if (writer) {
        char mode[32];
        if ((code = pragma_text(db, "PRAGMA journal_mode=WAL", mode, sizeof mode, err)) != ORC_OK)
            goto fail;
        if (strcmp(mode, "wal") != 0) {
            code =
                orc_error_set(err, ORC_FAILED_PRECONDITION,
                              "database %s cannot use WAL mode (journal mode is %s)", path, mode);
            goto fail;
        }
        sqlite3_rollback_hook(db->h, on_rollback, db);
        /* Page cache: 2 MiB for the writer, whose cache lives across its transactions (every
         * interior B-tree page of a database with 1M open tasks takes 0.9 MiB); 1 MiB per
         * reader, whose cache SQLite drops whenever another connection has committed, so it
         * rarely outlives one request. Readers come one per RPC worker thread: this bounds
         * what they can hold together without mmap (file pages mapped would count as RSS). */
        if ((code = orci_db_exec(db,
                                 "PRAGMA synchronous=FULL;"
                                 "PRAGMA temp_store=MEMORY;"
                                 "PRAGMA cache_size=-2048;"
                                 "PRAGMA journal_size_limit=67108864",
                                 err)) != ORC_OK)
            goto fail;
    } else {
        if ((code = orci_db_exec(db, "PRAGMA query_only=ON; PRAGMA cache_size=-1024", err)) !=
            ORC_OK)
            goto fail;
    }
    *out = db;
    return ORC_OK;
fail:
    orci_db_close(db);
    return code;
}

int orci_db_open_reader(orci_store *s, orci_db **out, orc_error *err)
{
    if (out == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_db_open_reader: no output");
    *out = NULL;
    if (s == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_db_open_reader: no store");
    pthread_mutex_lock(&s->mu);
    bool closing = s->closing;
    pthread_mutex_unlock(&s->mu);
    if (closing)
        return orc_error_set(err, ORC_UNAVAILABLE, "store is closing");
    if (s->pg)
        return orci_store_pg_reader(s, out, err);
    return db_open(s->path, false, out, err);
}

int orci_db_open_peer(orci_db *db, orci_db **out, orc_error *err)
{
    *out = NULL;
    if (db == NULL || db->store == NULL)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "not a store's writer connection");
    return orci_db_open_reader(db->store, out, err);
}

/* ---- opening: folder, file mode, migrations ----------------------------------------- */

/* make_parent creates the folders leading to path (mode 0700) when missing. */
static int make_parent(const char *path, orc_error *err)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    int code = ORC_OK;
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        goto out;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            code = orc_error_set(err, ORC_UNAVAILABLE, "cannot create folder %s: %s", dir,
                                 strerror(errno));
            goto out;
        }
        *p = c;
        if (c == '\0')
            break;
    }
out:
    free(dir);
    return code;
}

/* create_private makes sure the database file exists, created with mode 0600. */
static int create_private(const char *path, orc_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot open database %s: %s", path,
                             strerror(errno));
    close(fd);
    return ORC_OK;
}

static int user_version(orci_db *db, int *out, orc_error *err)
{
    char text[32];
    int code = pragma_text(db, "PRAGMA user_version", text, sizeof text, err);
    if (code == ORC_OK)
        *out = atoi(text);
    return code;
}

static int apply_migration(orci_db *db, const orci_migration *m, orc_error *err)
{
    orc_error e = {0};
    char setv[64];
    snprintf(setv, sizeof setv, "PRAGMA user_version = %d", m->version);
    if (orci_db_exec(db, "BEGIN IMMEDIATE", &e) != ORC_OK)
        goto fail;
    if (orci_db_exec(db, m->sql, &e) != ORC_OK || orci_db_exec(db, setv, &e) != ORC_OK ||
        orci_db_exec(db, "COMMIT", &e) != ORC_OK) {
        if (!sqlite3_get_autocommit(db->h))
            sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    return ORC_OK;
fail:
    return orc_error_set(err, ORC_INTERNAL, "schema migration %s failed: %s", m->name, e.message);
}

static int migrate(orci_db *db, int *version, orc_error *err)
{
    int cur = 0, code;
    if ((code = user_version(db, &cur, err)) != ORC_OK)
        return code;
    int known = 0;
    for (size_t i = 0; i < orci_migrations_count; i++) {
        if (orci_migrations[i].version <= known)
            return orc_error_set(err, ORC_INTERNAL, "embedded migrations out of order at %s",
                                 orci_migrations[i].name);
        known = orci_migrations[i].version;
    }
    if (cur > known)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "database schema version %d is newer than this orchestrad "
                             "supports (%d)",
                             cur, known);
    for (size_t i = 0; i < orci_migrations_count; i++) {
        const orci_migration *m = &orci_migrations[i];
        if (m->version <= cur)
            continue;
        if ((code = apply_migration(db, m, err)) != ORC_OK)
            return code;
        orci_info("applied schema migration %s", m->name);
        cur = m->version;
    }
    *version = cur;
    return ORC_OK;
}

/* ---- the checkpointer ---------------------------------------------------------------- */

/*
 * SQLite checkpoints on the committing connection by default: every thousand WAL pages one
 * commit of the writer also copied the WAL into the database and synced both, stalling
 * every request queued behind it. The writer's WAL hook now wakes this thread every thousand
 * new pages, which checkpoints with a connection of its own in PASSIVE mode: it copies what
 * no reader still needs, never blocks the writer, and the writer keeps committing meanwhile.
 *
 * A checkpoint racing the writer rarely copies the very last frame, and SQLite starts the WAL
 * over only after a checkpoint copied all of it. So that the WAL cannot grow for ever under a
 * steady load, the writer checkpoints itself once the WAL passes STORE_WAL_RESTART_PAGES: by
 * then the checkpointer has copied nearly everything, the writer copies the rest (and syncs),
 * and its next transaction starts the WAL over. Durability is the WAL's (an fdatasync before
 * any commit is answered, durable.c) and does not depend on checkpoints; SQLite syncs the WAL
 * before each checkpoint copies it, at synchronous=NORMAL as at FULL.
 */
static int store_wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
    orci_store *s = arg;
    if (pages >= STORE_WAL_RESTART_PAGES) {
        /* Two checkpoints cannot run at once: one racing the checkpointer's copy would only
         * get SQLITE_BUSY, and the WAL would grow for as long as that copy lasts on a loaded
         * machine. Waiting for it is short (a copy of at most these pages) and rare. */
        pthread_mutex_lock(&s->mu);
        while (s->ckpt_running)
            pthread_cond_wait(&s->ckpt_cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            orci_warn("store: checkpoint failed: %s", sqlite3_errmsg(h));
        s->ckpt_next = STORE_CHECKPOINT_PAGES;
        return SQLITE_OK;
    }
    if (pages < s->ckpt_next) {
        if (pages < s->ckpt_next - STORE_CHECKPOINT_PAGES)
            s->ckpt_next = STORE_CHECKPOINT_PAGES; /* the WAL started over */
        return SQLITE_OK;
    }
    s->ckpt_next = pages + STORE_CHECKPOINT_PAGES;
    pthread_mutex_lock(&s->mu);
    if (!s->ckpt_wanted) {
        s->ckpt_wanted = true;
        pthread_cond_signal(&s->ckpt_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:checkpoint", 0, 0, 0);
    orci_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->ckpt_wanted && !s->ckpt_quit)
            pthread_cond_wait(&s->ckpt_cv, &s->mu);
        if (s->ckpt_quit)
            break;
        s->ckpt_wanted = false;
        s->ckpt_running = true;
        pthread_mutex_unlock(&s->mu);
        int log = 0, done = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            orci_warn("store: checkpoint failed: %s", sqlite3_errmsg(s->ckpt_db));
        else if (log < 0)
            orci_warn("store: checkpoint found no WAL");
        pthread_mutex_lock(&s->mu);
        s->ckpt_running = false;
        pthread_cond_broadcast(&s->ckpt_cv); /* a writer may wait to checkpoint itself */
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* checkpointer_start opens the checkpointer's connection and thread, then takes over. */
static int checkpointer_start(orci_store *s, orc_error *err)
{
    if (pthread_cond_init(&s->ckpt_cv, NULL) != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot create a condition variable");
    s->ckpt_cv_init = true;
    int rc =
        sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot open database %s: %s", s->path,
                             s->ckpt_db != NULL ? sqlite3_errmsg(s->ckpt_db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(s->ckpt_db, STORE_BUSY_TIMEOUT_MS);
    /* A connection learns that the database is in WAL mode on its first read; until then
     * a checkpoint does nothing (and says so with a log size of -1). */
    rc = sqlite3_exec(s->ckpt_db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return orc_error_set(err, ORC_UNAVAILABLE, "cannot read database %s: %s", s->path,
                             sqlite3_errmsg(s->ckpt_db));
    if (pthread_create(&s->ckpt_thread, NULL, checkpointer_main, s) != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot start the checkpointer thread");
    s->ckpt_started = true;
    s->ckpt_next = STORE_CHECKPOINT_PAGES;
    /* Replaces SQLite's automatic checkpoint on the writer's connection. */
    sqlite3_wal_hook(s->wdb->h, store_wal_hook, s);
    return ORC_OK;
}

/* checkpointer_stop ends the thread (after the writer) and closes its connection. */
static void checkpointer_stop(orci_store *s)
{
    if (s->ckpt_started) {
        pthread_mutex_lock(&s->mu);
        s->ckpt_quit = true;
        pthread_cond_signal(&s->ckpt_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->ckpt_thread, NULL);
        s->ckpt_started = false;
    }
    if (s->ckpt_db != NULL) {
        sqlite3_close_v2(s->ckpt_db);
        s->ckpt_db = NULL;
    }
    if (s->ckpt_cv_init) {
        pthread_cond_destroy(&s->ckpt_cv);
        s->ckpt_cv_init = false;
    }
}

/* ---- open / close ------------------------------------------------------------------- */

static void store_free(orci_store *s)
{
    if (s == NULL)
        return;
    orci_durable_free(s);
    checkpointer_stop(s);
    /* No PRAGMA optimize here: SQLite 3.40 analyzes a table once and never again, so the
     * statistics of a young database stayed as it grew and steered the planner to full scans
     * (schema/0014_no_planner_stats.sql). */
    if (s->wdb != NULL)
        orci_db_close(s->wdb);
    if (s->hook_mu_init)
        pthread_mutex_destroy(&s->hook_mu);
    if (s->sync_init) {
        pthread_cond_destroy(&s->idle);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
    }
    free(s->batch);
    free(s->path);
    free(s);
}

/*
 * store_configure_sqlite runs once, before SQLite is first used: SQLite's allocation
 * statistics (sqlite3_memory_used, never read here) take a process-wide mutex on every
 * malloc and free inside SQLite, i.e. dozens of times per statement; Debian's build has no
 * lookaside allocator to spare them. A process that used SQLite before (a test program)
 * keeps its settings: sqlite3_config then refuses, harmlessly.
 */
static void store_configure_sqlite(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t store_sqlite_once = PTHREAD_ONCE_INIT;

/* store_sqlite_open opens the SQLite file's writer connection, migrates, checkpoints. */
static int store_sqlite_open(orci_store *s, orc_error *err)
{
    int code;
    if ((code = make_parent(s->path, err)) != ORC_OK ||
        (code = create_private(s->path, err)) != ORC_OK ||
        (code = db_open(s->path, true, &s->wdb, err)) != ORC_OK ||
        (code = migrate(s->wdb, &s->schema_version, err)) != ORC_OK ||
        (code = checkpointer_start(s, err)) != ORC_OK ||
        (code = orci_durable_start(s, err)) != ORC_OK)
        return code;
    return ORC_OK;
}

/* store_metrics registers the writer's families in m (NULL: none) and keeps their series. */
static int store_metrics(orci_store *s, orci_metrics *m, orc_error *err)
{
    static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096};
    const orci_metric_spec specs[] = {
        {.name = "orchestra_store_commit_batch_size",
         .help = "Write jobs committed together in one transaction (group commit).",
         .type = ORCI_METRIC_HISTOGRAM,
         .buckets = batch_buckets,
         .n_buckets = sizeof batch_buckets / sizeof batch_buckets[0]},
        {.name = "orchestra_store_commit_duration_seconds",
         .help = "Time of a COMMIT of the writer, in seconds: on SQLite the WAL write (its "
                 "fsync is orchestra_store_sync_duration_seconds), on PostgreSQL the whole "
                 "durable commit.",
         .type = ORCI_METRIC_HISTOGRAM,
         .buckets = orci_metrics_duration_buckets,
         .n_buckets = orci_metrics_duration_buckets_count},
        {.name = "orchestra_store_transaction_duration_seconds",
         .help = "Time of a committed batch of write jobs from BEGIN to the end of its "
                 "COMMIT, in seconds.",
         .type = ORCI_METRIC_HISTOGRAM,
         .buckets = orci_metrics_duration_buckets,
         .n_buckets = orci_metrics_duration_buckets_count},
        {.name = "orchestra_store_sync_duration_seconds",
         .help = "Time of an fdatasync of the SQLite WAL, which makes the commits before it "
                 "durable before they are answered, in seconds.",
         .type = ORCI_METRIC_HISTOGRAM,
         .buckets = orci_metrics_duration_buckets,
         .n_buckets = orci_metrics_duration_buckets_count},
    };
    orci_series **dest[] = {&s->m_batch, &s->m_commit, &s->m_txn, &s->m_sync};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        orci_metric *f = NULL;
        int rc = orci_metrics_add(m, &specs[i], &f, err);
        if (rc != ORC_OK)
            return rc;
        *dest[i] = orci_metric_series(f, NULL);
    }
    return ORC_OK;
}

int orci_store_open(const orci_store_opts *opts, orci_store **out, orc_error *err)
{
    pthread_once(&store_sqlite_once, store_configure_sqlite);
    if (out == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_store_open: no output");
    *out = NULL;
    if (opts == NULL || opts->path == NULL || opts->path[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no database path given");
    int code = ORC_OK;
    orci_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    s->wal_fd = s->wal_fd_old = -1;
    s->before_sync = opts->before_sync;
    s->before_sync_arg = opts->before_sync_arg;
    s->max_batch = opts->max_batch > 0 ? opts->max_batch : STORE_DEFAULT_BATCH;
    if (s->max_batch > STORE_MAX_BATCH)
        s->max_batch = STORE_MAX_BATCH;
    s->path = strdup(opts->path);
    s->batch = calloc((size_t)s->max_batch, sizeof *s->batch);
    if (s->path == NULL || s->batch == NULL) {
        code = orc_error_set(err, ORC_INTERNAL, "out of memory");
        goto fail;
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        code = orc_error_set(err, ORC_INTERNAL, "cannot create a mutex");
        goto fail;
    }
    if (pthread_cond_init(&s->wake, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        code = orc_error_set(err, ORC_INTERNAL, "cannot create a condition variable");
        goto fail;
    }
    if (pthread_cond_init(&s->idle, NULL) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        code = orc_error_set(err, ORC_INTERNAL, "cannot create a condition variable");
        goto fail;
    }
    s->sync_init = true;
    if (pthread_mutex_init(&s->hook_mu, NULL) != 0) {
        code = orc_error_set(err, ORC_INTERNAL, "cannot create a mutex");
        goto fail;
    }
    s->hook_mu_init = true;
    s->pg = orci_pg_is_url(s->path);
    s->on_lost = opts->on_lost;
    s->lost_arg = opts->lost_arg;
    if ((code = store_metrics(s, opts->metrics, err)) != ORC_OK)
        goto fail;
    if (s->pg)
        code = orci_store_pg_open(s, opts, err);
    else
        code = store_sqlite_open(s, err);
    if (code != ORC_OK)
        goto fail;
    s->wdb->store = s;
    if (pthread_create(&s->thread, NULL, orci_store_writer_main, s) != 0) {
        code = orc_error_set(err, ORC_INTERNAL, "cannot start the writer thread");
        goto fail;
    }
    s->thread_started = true;
    *out = s;
    return ORC_OK;
fail:
    store_free(s);
    return code;
}

void orci_store_close(orci_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    orci_durable_stop(s); /* answers what the writer handed over */
    /* Callers woken by the writer's last batch may still be leaving orci_store_write. */
    pthread_mutex_lock(&s->mu);
    while (s->waiters > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    store_free(s);
}

int orci_store_schema_version(const orci_store *s)
{
    return s != NULL ? s->schema_version : 0;
}

bool orci_store_is_pg(const orci_store *s)
{
    return s != NULL && s->pg;
}

bool orci_db_is_pg(const orci_db *db)
{
    return db != NULL && db->pg != NULL;
}

bool orci_db_bare(const orci_db *db)
{
    return db->bare;
}

void orci_db_discard(orci_db *db)
{
    db->discard = true;
}

int orci_db_again(orci_db *db, orc_error *err)
{
    db->again = true;
    return orc_error_set(err, ORC_ABORTED, "run the write job again in a savepoint");
}
