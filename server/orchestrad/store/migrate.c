/*
 * migrate.c: see migrate.h. The table and column names come from the target's catalog (the
 * schema orchestrad made, the same on both stores: test_schema_pg), never from input; they
 * are quoted all the same.
 */
#include "store/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "store/store_internal.h"

#define MIGRATE_MAX_COLUMNS 64
#define MIGRATE_SQL_MAX 8192

typedef enum col_kind { COL_INT, COL_TEXT, COL_BLOB, COL_DOUBLE } col_kind;

typedef struct migrate_ctx {
    orci_db *src; /* a SQLite reader, inside one read transaction */
    orci_migrate_report *rep;
} migrate_ctx;

typedef struct table_cols {
    char names[MIGRATE_MAX_COLUMNS][64];
    col_kind kinds[MIGRATE_MAX_COLUMNS];
    int n;
} table_cols;

static col_kind kind_of(const char *pg_type)
{
    if (strcmp(pg_type, "bigint") == 0 || strcmp(pg_type, "integer") == 0 ||
        strcmp(pg_type, "smallint") == 0 || strcmp(pg_type, "boolean") == 0)
        return COL_INT;
    if (strcmp(pg_type, "bytea") == 0)
        return COL_BLOB;
    if (strcmp(pg_type, "double precision") == 0 || strcmp(pg_type, "real") == 0 ||
        strcmp(pg_type, "numeric") == 0)
        return COL_DOUBLE;
    return COL_TEXT;
}

/* list_tables reads the target's tables (the version table aside), by name. */
static int list_tables(orci_db *db, orci_migrate_report *rep, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT table_name FROM information_schema.tables"
                                 " WHERE table_schema = current_schema()"
                                 " AND table_type = 'BASE TABLE'"
                                 " AND table_name <> 'orc_schema_version' ORDER BY table_name",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r;
    rep->n_tables = 0;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (rep->n_tables == ORCI_MIGRATE_MAX_TABLES) {
            orci_stmt_reset(st);
            return orc_error_set(err, ORC_INTERNAL, "more than %d tables", ORCI_MIGRATE_MAX_TABLES);
        }
        snprintf(rep->tables[rep->n_tables++].name, sizeof rep->tables[0].name, "%s",
                 orci_col_text(st, 0));
    }
    return r < 0 ? orci_db_code(err) : ORC_OK;
}

static int list_columns(orci_db *db, const char *table, table_cols *c, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT column_name, data_type FROM information_schema.columns"
                                 " WHERE table_schema = current_schema() AND table_name = ?1"
                                 " ORDER BY ordinal_position",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, table);
    int r;
    c->n = 0;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (c->n == MIGRATE_MAX_COLUMNS) {
            orci_stmt_reset(st);
            return orc_error_set(err, ORC_INTERNAL, "table %s has too many columns", table);
        }
        snprintf(c->names[c->n], sizeof c->names[0], "%s", orci_col_text(st, 0));
        c->kinds[c->n++] = kind_of(orci_col_text(st, 1));
    }
    if (r < 0)
        return orci_db_code(err);
    return c->n > 0 ? ORC_OK : orc_error_set(err, ORC_INTERNAL, "table %s has no columns", table);
}

/* build_sql writes the source's SELECT and the target's INSERT of every column. */
static int build_sql(const char *table, const table_cols *c, char *sel, char *ins, orc_error *err)
{
    size_t s = (size_t)snprintf(sel, MIGRATE_SQL_MAX, "SELECT ");
    size_t i = (size_t)snprintf(ins, MIGRATE_SQL_MAX, "INSERT INTO \"%s\" (", table);
    for (int k = 0; k < c->n && s < MIGRATE_SQL_MAX && i < MIGRATE_SQL_MAX; k++) {
        s += (size_t)snprintf(sel + s, MIGRATE_SQL_MAX - s, "%s\"%s\"", k ? ", " : "", c->names[k]);
        i += (size_t)snprintf(ins + i, MIGRATE_SQL_MAX - i, "%s\"%s\"", k ? ", " : "", c->names[k]);
    }
    if (s < MIGRATE_SQL_MAX)
        s += (size_t)snprintf(sel + s, MIGRATE_SQL_MAX - s, " FROM \"%s\"", table);
    if (i < MIGRATE_SQL_MAX)
        i += (size_t)snprintf(ins + i, MIGRATE_SQL_MAX - i, ") VALUES (");
    for (int k = 0; k < c->n && i < MIGRATE_SQL_MAX; k++)
        i += (size_t)snprintf(ins + i, MIGRATE_SQL_MAX - i, "%s?%d", k ? ", " : "", k + 1);
    if (i < MIGRATE_SQL_MAX)
        i += (size_t)snprintf(ins + i, MIGRATE_SQL_MAX - i, ")");
    if (s >= MIGRATE_SQL_MAX || i >= MIGRATE_SQL_MAX)
        return orc_error_set(err, ORC_INTERNAL, "the statements of table %s are too long", table);
    return ORC_OK;
}

/* bind_from binds column k of the source's row to parameter k + 1 of the insert. */
static void bind_from(sqlite3_stmt *row, orci_stmt *ins, int k, col_kind kind)
{
    if (sqlite3_column_type(row, k) == SQLITE_NULL) {
        orci_bind_null(ins, k + 1);
        return;
    }
    switch (kind) {
    case COL_INT:
        orci_bind_int(ins, k + 1, (int64_t)sqlite3_column_int64(row, k));
        break;
    case COL_DOUBLE:
        orci_bind_double(ins, k + 1, sqlite3_column_double(row, k));
        break;
    case COL_BLOB:
        orci_bind_blob(ins, k + 1, sqlite3_column_blob(row, k),
                       (size_t)sqlite3_column_bytes(row, k));
        break;
    case COL_TEXT:
        orci_bind_text(ins, k + 1, (const char *)sqlite3_column_text(row, k));
        break;
    }
}

/* count_rows reads count(*) of a table through a statement text made for it. */
static int count_rows(orci_db *db, const char *table, int64_t *n, orc_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    *n = r == 1 ? orci_col_int(st, 0) : 0;
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

/* copy_rows inserts every row of the source's SELECT sel with the target's insert ins. */
static int copy_rows(migrate_ctx *x, orci_db *db, const table_cols *c, const char *sel,
                     const char *ins_sql, int64_t *copied, orc_error *err)
{
    sqlite3_stmt *row = NULL;
    if (sqlite3_prepare_v2(x->src->h, sel, -1, &row, NULL) != SQLITE_OK)
        return orc_error_set(err, ORC_INTERNAL, "source: %s: %s", sel, sqlite3_errmsg(x->src->h));
    int code = ORC_OK, rc;
    *copied = 0;
    while (code == ORC_OK && (rc = sqlite3_step(row)) == SQLITE_ROW) {
        orci_stmt *ins = orci_db_stmt(db, ins_sql, err);
        if (ins == NULL) {
            code = ORC_INTERNAL;
            break;
        }
        for (int k = 0; k < c->n; k++)
            bind_from(row, ins, k, c->kinds[k]);
        if ((code = orci_db_step(db, ins, err)) == ORC_OK)
            (*copied)++;
    }
    if (code == ORC_OK && rc != SQLITE_DONE)
        code = orc_error_set(err, ORC_INTERNAL, "source: %s", sqlite3_errmsg(x->src->h));
    sqlite3_finalize(row);
    return code;
}

/* copy_table empties the target's table (rows its migrations seeded) and copies the source's. */
static int copy_table(migrate_ctx *x, orci_db *db, orci_migrate_table *t, orc_error *err)
{
    table_cols *c = calloc(1, sizeof *c);
    char *sel = malloc(MIGRATE_SQL_MAX), *ins = malloc(MIGRATE_SQL_MAX);
    char del[128];
    int code = ORC_OK;
    if (c == NULL || sel == NULL || ins == NULL) {
        code = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    snprintf(del, sizeof del, "DELETE FROM \"%s\"", t->name);
    int64_t copied = 0, in_source = 0, in_target = 0;
    if ((code = list_columns(db, t->name, c, err)) != ORC_OK ||
        (code = build_sql(t->name, c, sel, ins, err)) != ORC_OK ||
        (code = orci_db_exec(db, del, err)) != ORC_OK ||
        (code = copy_rows(x, db, c, sel, ins, &copied, err)) != ORC_OK ||
        (code = count_rows(x->src, t->name, &in_source, err)) != ORC_OK ||
        (code = count_rows(db, t->name, &in_target, err)) != ORC_OK)
        goto out;
    if (copied != in_source || in_target != in_source)
        code =
            orc_error_set(err, ORC_FAILED_PRECONDITION,
                          "table %s: %lld rows in the source, %lld copied, %lld in the "
                          "target; nothing was moved",
                          t->name, (long long)in_source, (long long)copied, (long long)in_target);
    t->rows = in_target;
out:
    free(c);
    free(sel);
    free(ins);
    return code;
}

/* copy_all is the target writer's job: the whole copy in its one transaction. */
static int copy_all(orci_db *db, void *arg, orc_error *err)
{
    migrate_ctx *x = arg;
    int64_t data = 0;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT (SELECT count(*) FROM workflows) + (SELECT count(*)"
                                 " FROM projects) + (SELECT count(*) FROM users) +"
                                 " (SELECT count(*) FROM tasks)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    data = r == 1 ? orci_col_int(st, 0) : 0;
    if (r == 1)
        orci_stmt_reset(st);
    if (data > 0)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "the target database already holds data (workflows, projects, "
                             "users or tasks); migrate into a new, empty database");
    int code = orci_db_exec(db, "SET LOCAL session_replication_role = replica", err);
    if (code != ORC_OK)
        return orc_error_set(err, (orc_code)code,
                             "cannot turn triggers off for the copy (a superuser is needed): %s",
                             err->message);
    if ((code = list_tables(db, x->rep, err)) != ORC_OK)
        return code;
    x->rep->rows = 0;
    for (int i = 0; i < x->rep->n_tables && code == ORC_OK; i++) {
        code = copy_table(x, db, &x->rep->tables[i], err);
        x->rep->rows += x->rep->tables[i].rows;
    }
    return code;
}

int orci_store_migrate(const char *from, const char *to, orci_migrate_report *rep, orc_error *err)
{
    memset(rep, 0, sizeof *rep);
    if (from == NULL || orci_pg_is_url(from) || to == NULL || !orci_pg_is_url(to))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "migrate-store moves a SQLite file (--from) into a PostgreSQL "
                             "database (--to postgresql://...)");
    if (access(from, R_OK) != 0)
        return orc_error_set(err, ORC_NOT_FOUND, "no database at %s", from);
    orci_store *src = NULL, *dst = NULL;
    orci_db *rdb = NULL;
    int code;
    orci_store_opts so = {.path = from}, to_opts = {.path = to};
    if ((code = orci_store_open(&so, &src, err)) != ORC_OK ||
        (code = orci_db_open_reader(src, &rdb, err)) != ORC_OK ||
        (code = orci_store_open(&to_opts, &dst, err)) != ORC_OK)
        goto out;
    /* One snapshot of the source for the copy and its counts. */
    if ((code = orci_db_exec(rdb, "BEGIN", err)) != ORC_OK)
        goto out;
    migrate_ctx x = {.src = rdb, .rep = rep};
    code = orci_store_write(dst, copy_all, &x, err);
    orci_db_exec(rdb, "COMMIT", NULL);
    rep->schema_version = orci_store_schema_version(dst);
out:
    orci_db_close(rdb);
    orci_store_close(dst);
    orci_store_close(src);
    return code;
}
