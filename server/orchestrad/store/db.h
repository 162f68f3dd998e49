/*
 * db.h: the row API, the one way code outside store/ talks to the database, whichever it is
 * (SQLite or PostgreSQL, store/README.md).
 *
 * A statement comes from the connection's cache (orci_db_stmt, keyed by its SQL text, a
 * string literal in the portable dialect of schema/README.md with ?N parameters), is bound
 * (orci_bind_*), then run: orci_db_step for a statement without rows, orci_db_row for each
 * row of a query (columns read with orci_col_*, valid until the next step), orci_db_insert
 * for an INSERT ... RETURNING id. A query left before its last row is reset with
 * orci_stmt_reset. Errors are the same orc codes on both stores: a unique or primary key
 * violation is ORC_ALREADY_EXISTS, any other constraint ORC_FAILED_PRECONDITION, a lost
 * connection ORC_UNAVAILABLE, anything else ORC_INTERNAL.
 *
 * Threads: an orci_db and its statements from one thread at a time.
 *
 * The column and binding calls are inlines that test one bit of the statement pointer
 * (store.h: orci_stmt) and go straight to SQLite or to store/pg.c: a machine step makes a few
 * hundred of them, and SQLite's side must cost what calling SQLite directly cost.
 */
#ifndef ORCI_DB_H
#define ORCI_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/pg.h"
#include "store/store.h"

/* orci_bind_blob binds len bytes (copied); a NULL p with len 0 binds an empty blob. */
static inline void orci_bind_blob(orci_stmt *st, int idx, const void *p, size_t len)
{
    if (orci_stmt_is_pg(st))
        orci_pg_bind_blob(orci_stmt_pg(st), idx, p != NULL ? p : "", len);
    else
        sqlite3_bind_blob64(st, idx, p != NULL ? p : "", (sqlite3_uint64)len, SQLITE_TRANSIENT);
}

/* orci_bind_null binds SQL NULL. */
static inline void orci_bind_null(orci_stmt *st, int idx)
{
    if (orci_stmt_is_pg(st))
        orci_pg_bind_null(orci_stmt_pg(st), idx);
    else
        sqlite3_bind_null(st, idx);
}

/* orci_bind_double binds a floating-point value. */
static inline void orci_bind_double(orci_stmt *st, int idx, double v)
{
    if (orci_stmt_is_pg(st))
        orci_pg_bind_double(orci_stmt_pg(st), idx, v);
    else
        sqlite3_bind_double(st, idx, v);
}

/* orci_col_int is the column as an integer (0 for NULL; a boolean is 1 or 0). */
static inline int64_t orci_col_int(orci_stmt *st, int col)
{
    if (orci_stmt_is_pg(st))
        return orci_pg_col_int(orci_stmt_pg(st), col);
    return (int64_t)sqlite3_column_int64(st, col);
}

/* orci_col_double is the column as a floating-point value (0 for NULL). */
static inline double orci_col_double(orci_stmt *st, int col)
{
    if (orci_stmt_is_pg(st))
        return orci_pg_col_double(orci_stmt_pg(st), col);
    return sqlite3_column_double(st, col);
}

/* orci_col_is_null tells whether the column is SQL NULL. */
static inline bool orci_col_is_null(orci_stmt *st, int col)
{
    if (orci_stmt_is_pg(st))
        return orci_pg_col_is_null(orci_stmt_pg(st), col);
    return sqlite3_column_type(st, col) == SQLITE_NULL;
}

/*
 * orci_col_blob returns the column's bytes (valid until the next step; NULL for SQL NULL or
 * an empty value) and their count in *len.
 */
static inline const void *orci_col_blob(orci_stmt *st, int col, size_t *len)
{
    if (orci_stmt_is_pg(st))
        return orci_pg_col_blob(orci_stmt_pg(st), col, len);
    const void *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    return p;
}

/* orci_stmt_reset ends a query before its last row (a finished one is reset already). */
static inline void orci_stmt_reset(orci_stmt *st)
{
    if (orci_stmt_is_pg(st))
        orci_pg_stmt_reset(orci_stmt_pg(st));
    else
        sqlite3_reset(st);
}

#endif
