/*
 * pg.h: the PostgreSQL side of the row API (db.h), over libpq. Internal to store/.
 *
 * A connection (orci_pg_conn) is opened from a URL or key=value conninfo, the PG* variables
 * and ~/.pgpass as libpq reads them, with TCP keepalives on both ends so that a dead peer is
 * noticed within seconds, and synchronous_commit on. Statements (orci_pg_stmt) take the
 * portable dialect's ?N parameters, rewritten once to $N; each is prepared on the server the
 * first time it runs with a given set of parameter types (an integer binds as int8, text as
 * text, bytes as bytea, a double as float8, NULL untyped) and kept for the connection's life.
 * Results come back whole, as text, and are read row by row.
 *
 * Threads: a connection and its statements from one thread at a time.
 */
#ifndef ORCI_PG_H
#define ORCI_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"

typedef struct orci_pg_conn orci_pg_conn;
typedef struct orci_pg_stmt orci_pg_stmt;

/* orci_pg_is_url tells whether a --db value names a PostgreSQL database (postgres:// or
 * postgresql:// URL) rather than a SQLite file. */
bool orci_pg_is_url(const char *db);

/*
 * orci_pg_connect opens a connection to conninfo (a postgresql:// URL or key=value pairs;
 * what it leaves out comes from PG* variables and libpq's defaults), with
 * application_name app (NULL: "orchestrad"). ORC_UNAVAILABLE when the server cannot be
 * reached or refuses (libpq's message). Release with orci_pg_close.
 */
int orci_pg_connect(const char *conninfo, const char *app, orci_pg_conn **out, orc_error *err);

/* orci_pg_close closes the connection and frees its statements' server-side state; NULL
 * allowed. Statements of the connection must be freed first. */
void orci_pg_close(orci_pg_conn *c);

/* orci_pg_lost tells whether the connection broke (every call then fails ORC_UNAVAILABLE). */
bool orci_pg_lost(const orci_pg_conn *c);

/* orci_pg_in_transaction tells whether a transaction block is open (or failed) on c. */
bool orci_pg_in_transaction(const orci_pg_conn *c);

/*
 * orci_pg_alive checks an idle connection without blocking: false once it is lost (the
 * server closed it, ended the session, or the keepalives found the peer gone).
 */
bool orci_pg_alive(orci_pg_conn *c);

/* orci_pg_socket is the connection's socket descriptor (-1 when lost), for poll(). */
int orci_pg_socket(const orci_pg_conn *c);

/*
 * orci_pg_exec runs fixed SQL text with the simple protocol (several statements allowed, no
 * parameters, rows discarded). *changes (when not NULL) receives the last command's row count.
 */
int orci_pg_exec(orci_pg_conn *c, const char *sql, int64_t *changes, orc_error *err);

/*
 * orci_pg_query_text runs fixed SQL text that returns one value and copies it into out (""
 * for NULL). ORC_NOT_FOUND when it returned no row.
 */
int orci_pg_query_text(orci_pg_conn *c, const char *sql, char *out, size_t out_size,
                       orc_error *err);

/* orci_pg_stmt_new makes a statement of c from sql (?N parameters), not yet prepared.
 * Release with orci_pg_stmt_free. */
int orci_pg_stmt_new(orci_pg_conn *c, const char *sql, orci_pg_stmt **out, orc_error *err);

/* orci_pg_stmt_free frees st (its server-side statements go with the connection). */
void orci_pg_stmt_free(orci_pg_stmt *st);

/* orci_pg_stmt_text is the statement's SQL as sent to the server ($N parameters). */
const char *orci_pg_stmt_text(const orci_pg_stmt *st);

/* orci_pg_stmt_clear drops st's result and bindings (every parameter NULL again). */
void orci_pg_stmt_clear(orci_pg_stmt *st);

/* orci_pg_stmt_reset drops st's result, keeping its bindings. */
void orci_pg_stmt_reset(orci_pg_stmt *st);

/* Bindings (idx from 1). A failure (no memory, an index out of range) is kept and reported by
 * the next step. Text and bytes are copied. */
void orci_pg_bind_int(orci_pg_stmt *st, int idx, int64_t v);
void orci_pg_bind_text(orci_pg_stmt *st, int idx, const char *s); /* NULL binds NULL */
void orci_pg_bind_blob(orci_pg_stmt *st, int idx, const void *p, size_t len);
void orci_pg_bind_null(orci_pg_stmt *st, int idx);
void orci_pg_bind_double(orci_pg_stmt *st, int idx, double v);

/*
 * orci_pg_step runs st to completion, discarding rows, and drops the result; *changes (when
 * not NULL) receives the rows the command changed. Errors mapped as db.h says.
 */
int orci_pg_step(orci_pg_stmt *st, int64_t *changes, orc_error *err);

/*
 * orci_pg_row runs st on its first call and moves to the next row on the later ones: 1 with
 * a row ready, 0 when done (the result is dropped: the next call runs it again), -1 on
 * error with err set. *changes as orci_pg_step, set when the statement ran.
 */
int orci_pg_row(orci_pg_stmt *st, int64_t *changes, orc_error *err);

/* Columns of the current row (col from 0), as db.h's orci_col_*. */
int64_t orci_pg_col_int(orci_pg_stmt *st, int col);
double orci_pg_col_double(orci_pg_stmt *st, int col);
const char *orci_pg_col_text(orci_pg_stmt *st, int col);
bool orci_pg_col_is_null(orci_pg_stmt *st, int col);
const void *orci_pg_col_blob(orci_pg_stmt *st, int col, size_t *len);

/* orci_pg_code maps a SQLSTATE to the orc code db.h promises (NULL or "": ORC_INTERNAL). */
int orci_pg_code(const char *sqlstate);

#endif
