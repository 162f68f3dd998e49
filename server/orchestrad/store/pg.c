/*
 * pg.c: see pg.h.
 */
#include "store/pg.h"

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Type OIDs (PostgreSQL's pg_type.dat; they are fixed for the built-in types). */
#define PG_BOOLOID 16
#define PG_BYTEAOID 17
#define PG_INT8OID 20
#define PG_TEXTOID 25
#define PG_FLOAT8OID 701

/*
 * Keepalives on both ends of the connection: the server drops the session (and so the active
 * coordinator's lock) about idle + count * interval seconds after this end's machine went
 * silent, and libpq here notices a silent server as fast. tcp_user_timeout bounds a write
 * that is never acknowledged.
 */
#define PG_KEEPALIVE_IDLE_S "2"
#define PG_KEEPALIVE_INTERVAL_S "1"
#define PG_KEEPALIVE_COUNT "3"
#define PG_TCP_USER_TIMEOUT_MS "5000"
#define PG_CONNECT_TIMEOUT_S "10"

/* The session settings every connection gets, whatever the URL said. */
static const char PG_SESSION_SQL[] =
    "SET client_encoding = 'UTF8'; SET synchronous_commit = on;"
    " SET standard_conforming_strings = on; SET client_min_messages = warning;"
    " SET bytea_output = 'hex';"
    " SET tcp_keepalives_idle = " PG_KEEPALIVE_IDLE_S
    "; SET tcp_keepalives_interval = " PG_KEEPALIVE_INTERVAL_S
    "; SET tcp_keepalives_count = " PG_KEEPALIVE_COUNT
    "; SET tcp_user_timeout = " PG_TCP_USER_TIMEOUT_MS ";";

struct orci_pg_conn {
    PGconn *h;
    bool lost;
    uint64_t next_name; /* names of prepared statements: o1, o2, ... */
};

/* One parameter's binding, in libpq's terms. Integers and doubles live in small. */
typedef struct pg_param {
    unsigned type; /* an OID, 0 for NULL (the server infers it) */
    int format;    /* 0 text, 1 binary */
    int len;
    char *val; /* NULL for SQL NULL; small, or malloc'd when owned */
    bool owned;
    char small[8];
} pg_param;

/* A server-side statement prepared for one set of parameter types. */
typedef struct pg_variant {
    unsigned *types;
    char name[24];
} pg_variant;

struct orci_pg_stmt {
    orci_pg_conn *conn;
    char *text; /* $N form */
    int nparams;
    pg_param *params;
    /* What libpq takes, one slot per parameter, filled at each run. */
    const char **values;
    int *lengths;
    int *formats;
    unsigned *types;
    bool *used; /* the parameters the text names (?3 alone leaves ?1 and ?2 unused) */
    pg_variant *variants;
    int nvariants;
    int bind_err; /* a failed binding, reported by the next step */
    char bind_msg[96];
    PGresult *res;
    int row; /* current row, -1 before the first */
    int nrows;
    /* Decoded bytea columns of the current row: one buffer per column, NULL until read. */
    unsigned char **blobs;
    size_t *blob_lens;
    int nblobs;
};

bool orci_pg_is_url(const char *db)
{
    return db != NULL &&
           (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0);
}

/* ---- errors -------------------------------------------------------------------------- */

int orci_pg_code(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return ORC_INTERNAL;
    if (strcmp(sqlstate, "23505") == 0)
        return ORC_ALREADY_EXISTS;
    if (strncmp(sqlstate, "23", 2) == 0)
        return ORC_FAILED_PRECONDITION;
    /* Connection failures, a server shutting down or refusing sessions, serialization
     * failures and deadlocks: try again (elsewhere). */
    if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P", 3) == 0 ||
        strcmp(sqlstate, "53300") == 0 || strcmp(sqlstate, "40001") == 0 ||
        strcmp(sqlstate, "40P01") == 0)
        return ORC_UNAVAILABLE;
    if (strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "54", 2) == 0)
        return ORC_RESOURCE_EXHAUSTED;
    /* Data exceptions: text that is not UTF-8, a number out of range. */
    if (strncmp(sqlstate, "22", 2) == 0)
        return ORC_INVALID_ARGUMENT;
    return ORC_INTERNAL;
}

/* conn_fail reports a failed call on c (res may be NULL) in err and notes a lost connection. */
static int conn_fail(orci_pg_conn *c, const PGresult *res, orc_error *err)
{
    if (PQstatus(c->h) == CONNECTION_BAD)
        c->lost = true;
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(c->h);
    /* libpq's own messages end with a newline. */
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    if (c->lost)
        return orc_error_set(err, ORC_UNAVAILABLE, "database connection lost: %.*s", (int)n, msg);
    int code = orci_pg_code(state);
    if (code == ORC_INTERNAL)
        return orc_error_set(err, ORC_INTERNAL, "database error: %.*s (%s)", (int)n, msg,
                             state != NULL ? state : "no SQLSTATE");
    return orc_error_set(err, (orc_code)code, "%.*s", (int)n, msg);
}

/* ---- connections --------------------------------------------------------------------- */

/* pg_notice drops the server's notices: every outcome that matters comes back as a result. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int orci_pg_connect(const char *conninfo, const char *app, orci_pg_conn **out, orc_error *err)
{
    *out = NULL;
    if (conninfo == NULL || conninfo[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no PostgreSQL URL given");
    orci_pg_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    /* Ours first: the URL, expanded in last place, overrides any of them. */
    const char *keys[] = {"application_name",
                          "connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "dbname",
                          NULL};
    const char *vals[] = {app != NULL ? app : "orchestrad",
                          PG_CONNECT_TIMEOUT_S,
                          "1",
                          PG_KEEPALIVE_IDLE_S,
                          PG_KEEPALIVE_INTERVAL_S,
                          PG_KEEPALIVE_COUNT,
                          PG_TCP_USER_TIMEOUT_MS,
                          conninfo,
                          NULL};
    c->h = PQconnectdbParams(keys, vals, 1);
    if (c->h == NULL) {
        free(c);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory for a connection");
    }
    if (PQstatus(c->h) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(c->h);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        int code =
            orc_error_set(err, ORC_UNAVAILABLE, "cannot connect to PostgreSQL: %.*s", (int)n, msg);
        orci_pg_close(c);
        return code;
    }
    PQsetNoticeProcessor(c->h, pg_notice, NULL);
    int code = orci_pg_exec(c, PG_SESSION_SQL, NULL, err);
    if (code != ORC_OK) {
        orci_pg_close(c);
        return code;
    }
    *out = c;
    return ORC_OK;
}

void orci_pg_close(orci_pg_conn *c)
{
    if (c == NULL)
        return;
    if (c->h != NULL)
        PQfinish(c->h);
    free(c);
}

bool orci_pg_lost(const orci_pg_conn *c)
{
    return c == NULL || c->lost || PQstatus(c->h) == CONNECTION_BAD;
}

bool orci_pg_in_transaction(const orci_pg_conn *c)
{
    if (c == NULL)
        return false;
    PGTransactionStatusType t = PQtransactionStatus(c->h);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool orci_pg_alive(orci_pg_conn *c)
{
    if (orci_pg_lost(c)) {
        if (c != NULL)
            c->lost = true;
        return false;
    }
    /* An idle connection has nothing to read: anything there is the server's last words (a
     * shutdown, a terminated session) or the end of the connection, which the keepalives
     * also bring about when the other machine went silent. */
    struct pollfd p = {.fd = PQsocket(c->h), .events = POLLIN};
    if (poll(&p, 1, 0) > 0) {
        if (!PQconsumeInput(c->h) || PQstatus(c->h) == CONNECTION_BAD)
            c->lost = true;
        for (PGnotify *n = PQnotifies(c->h); n != NULL; n = PQnotifies(c->h))
            PQfreemem(n);
    }
    return !c->lost;
}

int orci_pg_socket(const orci_pg_conn *c)
{
    return c != NULL && !c->lost ? PQsocket(c->h) : -1;
}

/* command_changes reads the row count of an INSERT, UPDATE or DELETE (others: untouched). */
static void command_changes(PGresult *res, int64_t *changes)
{
    if (changes == NULL)
        return;
    const char *status = PQcmdStatus(res);
    if (strncmp(status, "INSERT", 6) != 0 && strncmp(status, "UPDATE", 6) != 0 &&
        strncmp(status, "DELETE", 6) != 0)
        return;
    *changes = strtoll(PQcmdTuples(res), NULL, 10);
}

int orci_pg_exec(orci_pg_conn *c, const char *sql, int64_t *changes, orc_error *err)
{
    if (c == NULL || sql == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_pg_exec: no connection or no SQL");
    if (orci_pg_lost(c)) {
        c->lost = true;
        return orc_error_set(err, ORC_UNAVAILABLE, "database connection lost");
    }
    /* PQexec returns the last statement's result, and the first failure stops the text. */
    PGresult *res = PQexec(c->h, sql);
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int code = ORC_OK;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        command_changes(res, changes);
    else
        code = conn_fail(c, res, err);
    PQclear(res);
    return code;
}

int orci_pg_query_text(orci_pg_conn *c, const char *sql, char *out, size_t out_size, orc_error *err)
{
    if (c == NULL || sql == NULL || out == NULL || out_size == 0)
        return orc_error_set(err, ORC_INTERNAL, "orci_pg_query_text: bad arguments");
    if (orci_pg_lost(c)) {
        c->lost = true;
        return orc_error_set(err, ORC_UNAVAILABLE, "database connection lost");
    }
    PGresult *res = PQexec(c->h, sql);
    int code = ORC_OK;
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
        code = conn_fail(c, res, err);
    else if (PQntuples(res) < 1 || PQnfields(res) < 1)
        code = orc_error_set(err, ORC_NOT_FOUND, "%s returned no row", sql);
    else
        snprintf(out, out_size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return code;
}

/* ---- statements ---------------------------------------------------------------------- */

/*
 * rewrite_params copies sql into out ($N for SQLite's ?N, and for a bare ? the next number
 * as SQLite counts them), outside quoted text, quoted names and comments. *nparams is the
 * highest number; used (when not NULL, *nparams entries) marks the numbers the text uses.
 * out holds at least 8 * strlen(sql) + 1 bytes.
 */
static void rewrite_params(const char *sql, char *out, int *nparams, bool *used)
{
    int maxn = 0;
    char *o = out;
    for (const char *p = sql; *p != '\0';) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            *o++ = *p++;
            while (*p != '\0' && *p != q)
                *o++ = *p++;
            if (*p != '\0')
                *o++ = *p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                *o++ = *p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            size_t n = end != NULL ? (size_t)(end + 2 - p) : strlen(p);
            memcpy(o, p, n);
            o += n;
            p += n;
        } else if (*p == '?') {
            p++;
            int n = 0;
            if (*p >= '0' && *p <= '9') {
                while (*p >= '0' && *p <= '9' && n < 100000)
                    n = n * 10 + (*p++ - '0');
            } else {
                n = maxn + 1;
            }
            if (n > maxn)
                maxn = n;
            if (used != NULL && n >= 1 && n <= *nparams)
                used[n - 1] = true;
            o += sprintf(o, "$%d", n);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *nparams = maxn;
}

/* word_before tells whether the text before end (white space skipped) ends with word. */
static bool word_before(const char *start, const char *end, const char *word)
{
    while (end > start && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t'))
        end--;
    size_t n = strlen(word);
    if ((size_t)(end - start) < n || strncasecmp(end - n, word, n) != 0)
        return false;
    const char *b = end - n;
    return b == start || !(isalnum((unsigned char)b[-1]) || b[-1] == '_');
}

/* has_alias tells whether the text after a subquery's ')' names it (AS x, or a bare name
 * that is no keyword). */
static bool has_alias(const char *p)
{
    static const char *const KEYWORDS[] = {
        "WHERE", "UNION",  "ORDER",  "GROUP",     "LIMIT",  "JOIN",   "LEFT",  "INNER", "CROSS",
        "ON",    "HAVING", "EXCEPT", "INTERSECT", "OFFSET", "WINDOW", "RIGHT", "FULL",  "NATURAL"};
    while (*p == ' ' || *p == '\n' || *p == '\t')
        p++;
    if (!isalpha((unsigned char)*p) && *p != '_' && *p != '"')
        return false;
    size_t n = 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; i++)
        if (n == strlen(KEYWORDS[i]) && strncasecmp(p, KEYWORDS[i], n) == 0)
            return false;
    return true; /* AS, or a name */
}

/*
 * add_aliases copies text into a new string, naming each subquery in FROM or JOIN that has
 * no name (" AS orc_sN"): SQLite and PostgreSQL 16 take one without, PostgreSQL 15 refuses
 * it. Quoted text and comments are copied as they are. NULL when out of memory.
 */
static char *add_aliases(const char *text)
{
    enum { DEPTH_MAX = 64 };
    bool from[DEPTH_MAX];
    int depth = 0, named = 0;
    size_t opens = 0;
    for (const char *q = text; *q != '\0'; q++)
        opens += *q == '(';
    char *out = malloc(strlen(text) + opens * 16 + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const char *p = text; *p != '\0';) {
        if (*p == '\'' || *p == '"') {
            char q = *p;
            *o++ = *p++;
            while (*p != '\0' && *p != q)
                *o++ = *p++;
            if (*p != '\0')
                *o++ = *p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p != '\0' && *p != '\n')
                *o++ = *p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            size_t n = end != NULL ? (size_t)(end + 2 - p) : strlen(p);
            memcpy(o, p, n);
            o += n;
            p += n;
        } else if (*p == '(') {
            if (depth < DEPTH_MAX)
                from[depth] = word_before(out, o, "FROM") || word_before(out, o, "JOIN");
            depth++;
            *o++ = *p++;
        } else if (*p == ')') {
            *o++ = *p++;
            if (depth > 0 && --depth < DEPTH_MAX && from[depth] && !has_alias(p))
                o += sprintf(o, " AS orc_s%d", ++named % 1000);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

int orci_pg_stmt_new(orci_pg_conn *c, const char *sql, orci_pg_stmt **out, orc_error *err)
{
    *out = NULL;
    if (c == NULL || sql == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_pg_stmt_new: no connection or no SQL");
    orci_pg_stmt *st = calloc(1, sizeof *st);
    size_t n = strlen(sql);
    char *text = malloc(8 * n + 1); /* a bare "?" becomes "$" and up to 6 digits */
    if (st == NULL || text == NULL) {
        free(st);
        free(text);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    rewrite_params(sql, text, &st->nparams, NULL);
    st->text = text;
    st->conn = c;
    st->row = -1;
    if (st->nparams > 0) {
        size_t np = (size_t)st->nparams;
        st->params = calloc(np, sizeof *st->params);
        st->values = calloc(np, sizeof *st->values);
        st->lengths = calloc(np, sizeof *st->lengths);
        st->formats = calloc(np, sizeof *st->formats);
        st->types = calloc(np, sizeof *st->types);
        st->used = calloc(np, sizeof *st->used);
        if (st->params == NULL || st->values == NULL || st->lengths == NULL ||
            st->formats == NULL || st->types == NULL || st->used == NULL) {
            orci_pg_stmt_free(st);
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        }
        rewrite_params(sql, text, &st->nparams, st->used);
    }
    char *named = add_aliases(text);
    if (named == NULL) {
        orci_pg_stmt_free(st);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(st->text);
    st->text = named;
    *out = st;
    return ORC_OK;
}

const char *orci_pg_stmt_text(const orci_pg_stmt *st)
{
    return st != NULL ? st->text : "";
}

static void blobs_clear(orci_pg_stmt *st)
{
    for (int i = 0; i < st->nblobs; i++) {
        free(st->blobs[i]);
        st->blobs[i] = NULL;
    }
}

void orci_pg_stmt_reset(orci_pg_stmt *st)
{
    if (st == NULL)
        return;
    blobs_clear(st);
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->nrows = 0;
}

static void param_clear(pg_param *p)
{
    if (p->owned)
        free(p->val);
    *p = (pg_param){0};
}

void orci_pg_stmt_clear(orci_pg_stmt *st)
{
    if (st == NULL)
        return;
    orci_pg_stmt_reset(st);
    for (int i = 0; i < st->nparams; i++)
        param_clear(&st->params[i]);
    st->bind_err = ORC_OK;
}

void orci_pg_stmt_free(orci_pg_stmt *st)
{
    if (st == NULL)
        return;
    orci_pg_stmt_clear(st);
    for (int i = 0; i < st->nvariants; i++)
        free(st->variants[i].types);
    free(st->variants);
    free(st->blobs);
    free(st->blob_lens);
    free(st->params);
    free(st->values);
    free(st->lengths);
    free(st->formats);
    free(st->types);
    free(st->used);
    free(st->text);
    free(st);
}

/* ---- bindings ------------------------------------------------------------------------ */

/*
 * param_at returns parameter idx (from 1) after clearing it, or NULL for a number the text does
 * not have: that binding is ignored, as SQLite ignores it (SQLITE_RANGE), so that one binding
 * code serves statements that read some of its parameters.
 */
static pg_param *param_at(orci_pg_stmt *st, int idx)
{
    if (st == NULL || idx < 1 || idx > st->nparams)
        return NULL;
    pg_param *p = &st->params[idx - 1];
    param_clear(p);
    return p;
}

void orci_pg_bind_int(orci_pg_stmt *st, int idx, int64_t v)
{
    pg_param *p = param_at(st, idx);
    if (p == NULL)
        return;
    uint64_t be = htobe64((uint64_t)v);
    *p = (pg_param){.type = PG_INT8OID, .format = 1, .len = 8, .val = p->small};
    memcpy(p->small, &be, sizeof be);
}

void orci_pg_bind_double(orci_pg_stmt *st, int idx, double v)
{
    pg_param *p = param_at(st, idx);
    if (p == NULL)
        return;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t be = htobe64(bits);
    *p = (pg_param){.type = PG_FLOAT8OID, .format = 1, .len = 8, .val = p->small};
    memcpy(p->small, &be, sizeof be);
}

void orci_pg_bind_null(orci_pg_stmt *st, int idx)
{
    (void)param_at(st, idx); /* cleared: NULL, type left to the server */
}

/* bind_copy binds len bytes of v as type (copied; text is sent in text format). */
static void bind_copy(orci_pg_stmt *st, int idx, unsigned type, const void *v, size_t len)
{
    pg_param *p = param_at(st, idx);
    if (p == NULL)
        return;
    if (len > (size_t)INT32_MAX) {
        st->bind_err = ORC_RESOURCE_EXHAUSTED;
        snprintf(st->bind_msg, sizeof st->bind_msg, "a value of %zu bytes is too large", len);
        return;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        st->bind_err = ORC_RESOURCE_EXHAUSTED;
        snprintf(st->bind_msg, sizeof st->bind_msg, "out of memory for a value of %zu bytes", len);
        return;
    }
    if (len > 0)
        memcpy(copy, v, len);
    copy[len] = '\0';
    *p = (pg_param){.type = type,
                    .format = type == PG_TEXTOID ? 0 : 1,
                    .len = (int)len,
                    .val = copy,
                    .owned = true};
}

void orci_pg_bind_text(orci_pg_stmt *st, int idx, const char *s)
{
    if (s == NULL)
        orci_pg_bind_null(st, idx);
    else
        bind_copy(st, idx, PG_TEXTOID, s, strlen(s));
}

void orci_pg_bind_blob(orci_pg_stmt *st, int idx, const void *p, size_t len)
{
    bind_copy(st, idx, PG_BYTEAOID, p, len);
}

/* ---- running ------------------------------------------------------------------------- */

_Static_assert(sizeof(Oid) == sizeof(unsigned), "Oid is an unsigned int");

/* indeterminate tells whether res says a parameter's type could not be inferred. */
static bool indeterminate(const PGresult *res)
{
    /* 42P18 for ?1 IS NULL alone; 42P08 when the same parameter also sits where it would get
     * a type (?1 IS NULL OR date >= ?1): both read "could not determine data type". */
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && (strcmp(state, "42P18") == 0 || strcmp(state, "42P08") == 0);
}

/* variant_for returns the server-side statement for the current parameter types, preparing
 * it on first use. */
static int variant_for(orci_pg_stmt *st, const pg_variant **out, orc_error *err)
{
    unsigned *types = st->types;
    for (int i = 0; i < st->nparams; i++) {
        types[i] = st->params[i].type;
        /* A number the text skips has no context to take a type from. */
        if (types[i] == 0 && !st->used[i])
            types[i] = PG_TEXTOID;
    }
    for (int v = 0; v < st->nvariants; v++) {
        if (st->nparams == 0 ||
            memcmp(st->variants[v].types, types, sizeof(unsigned) * (size_t)st->nparams) == 0) {
            *out = &st->variants[v];
            return ORC_OK;
        }
    }
    pg_variant *grown = realloc(st->variants, sizeof *grown * (size_t)(st->nvariants + 1));
    if (grown == NULL)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    st->variants = grown;
    pg_variant *v = &st->variants[st->nvariants];
    *v = (pg_variant){0};
    v->types = malloc(sizeof(unsigned) * (size_t)(st->nparams > 0 ? st->nparams : 1));
    if (v->types == NULL)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (st->nparams > 0) /* types is NULL for a statement without parameters */
        memcpy(v->types, types, sizeof(unsigned) * (size_t)st->nparams);
    orci_pg_conn *c = st->conn;
    snprintf(v->name, sizeof v->name, "o%llu", (unsigned long long)++c->next_name);
    /* A NULL may sit where nothing gives it a type (?1 IS NULL alone): the server refuses
     * the statement, and inside a transaction that refusal would abort it. A savepoint around
     * this first try keeps the transaction (one round trip, once per statement and types). */
    bool guard = false;
    for (int i = 0; i < st->nparams && !guard; i++)
        guard = types[i] == 0 && PQtransactionStatus(c->h) == PQTRANS_INTRANS;
    int guarded = guard ? orci_pg_exec(c, "SAVEPOINT orci_prepare", NULL, err) : ORC_OK;
    if (guarded != ORC_OK) {
        free(v->types);
        return guarded;
    }
    /* Oid is libpq's unsigned int. */
    PGresult *res = PQprepare(c->h, v->name, st->text, st->nparams, (const Oid *)types);
    bool retry = res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR && indeterminate(res);
    if (guard)
        guarded = orci_pg_exec(c,
                               retry ? "ROLLBACK TO SAVEPOINT orci_prepare; RELEASE orci_prepare"
                                     : "RELEASE orci_prepare",
                               NULL, err);
    if (guarded != ORC_OK) {
        PQclear(res);
        free(v->types);
        return guarded;
    }
    if (retry) {
        /* As text, then. The variant keeps the types it was looked up by. */
        PQclear(res);
        unsigned *typed = malloc(sizeof(unsigned) * (size_t)st->nparams);
        if (typed == NULL)
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        for (int i = 0; i < st->nparams; i++)
            typed[i] = types[i] != 0 ? types[i] : PG_TEXTOID;
        res = PQprepare(c->h, v->name, st->text, st->nparams, (const Oid *)typed);
        free(typed);
    }
    int code = ORC_OK;
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        code = conn_fail(c, res, err);
        if (err != NULL && code != ORC_UNAVAILABLE) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err->message);
            code = orc_error_set(err, ORC_INTERNAL, "cannot prepare statement: %s", msg);
        }
        free(v->types);
    } else {
        st->nvariants++;
        *out = v;
    }
    PQclear(res);
    return code;
}

/* run executes st with its bindings, leaving the result in st->res. */
static int run(orci_pg_stmt *st, int64_t *changes, orc_error *err)
{
    orci_pg_stmt_reset(st);
    orci_pg_conn *c = st->conn;
    if (st->bind_err != ORC_OK) {
        int code = orc_error_set(err, (orc_code)st->bind_err, "%s", st->bind_msg);
        st->bind_err = ORC_OK;
        return code;
    }
    if (orci_pg_lost(c)) {
        c->lost = true;
        return orc_error_set(err, ORC_UNAVAILABLE, "database connection lost");
    }
    const pg_variant *v = NULL;
    int code = variant_for(st, &v, err);
    if (code != ORC_OK)
        return code;
    int n = st->nparams;
    for (int i = 0; i < n; i++) {
        st->values[i] = st->params[i].val;
        st->lengths[i] = st->params[i].len;
        st->formats[i] = st->params[i].format;
    }
    PGresult *res = PQexecPrepared(c->h, v->name, n, st->values, st->lengths, st->formats, 0);
    ExecStatusType s = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
        code = conn_fail(c, res, err);
        PQclear(res);
        return code;
    }
    command_changes(res, changes);
    st->res = res;
    st->nrows = PQntuples(res);
    st->row = -1;
    int nf = PQnfields(res);
    if (nf > st->nblobs) {
        unsigned char **b = realloc(st->blobs, sizeof *b * (size_t)nf);
        if (b == NULL)
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        st->blobs = b;
        size_t *l = realloc(st->blob_lens, sizeof *l * (size_t)nf);
        if (l == NULL)
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        st->blob_lens = l;
        for (int i = st->nblobs; i < nf; i++) {
            st->blobs[i] = NULL;
            st->blob_lens[i] = 0;
        }
        st->nblobs = nf;
    }
    return ORC_OK;
}

int orci_pg_step(orci_pg_stmt *st, int64_t *changes, orc_error *err)
{
    if (st == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_pg_step: no statement");
    int code = run(st, changes, err);
    orci_pg_stmt_reset(st);
    return code;
}

int orci_pg_row(orci_pg_stmt *st, int64_t *changes, orc_error *err)
{
    if (st == NULL) {
        orc_error_set(err, ORC_INTERNAL, "orci_pg_row: no statement");
        return -1;
    }
    if (st->res == NULL && run(st, changes, err) != ORC_OK)
        return -1;
    blobs_clear(st);
    if (++st->row < st->nrows)
        return 1;
    orci_pg_stmt_reset(st);
    return 0;
}

/* ---- columns ------------------------------------------------------------------------- */

/* cell returns the text of column col of the current row, or NULL (SQL NULL, no row). */
static const char *cell(orci_pg_stmt *st, int col)
{
    if (st == NULL || st->res == NULL || st->row < 0 || st->row >= st->nrows || col < 0 ||
        col >= PQnfields(st->res) || PQgetisnull(st->res, st->row, col))
        return NULL;
    return PQgetvalue(st->res, st->row, col);
}

bool orci_pg_col_is_null(orci_pg_stmt *st, int col)
{
    return cell(st, col) == NULL;
}

int64_t orci_pg_col_int(orci_pg_stmt *st, int col)
{
    const char *v = cell(st, col);
    if (v == NULL)
        return 0;
    if (PQftype(st->res, col) == PG_BOOLOID)
        return v[0] == 't' ? 1 : 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    /* numeric and float text ("2.5", "1e+20") truncates toward zero, as SQLite's does. */
    if (end != NULL && (*end == '.' || *end == 'e' || *end == 'E')) {
        double d = strtod(v, NULL);
        if (d >= 9.2233720368547758e18)
            return INT64_MAX;
        if (d <= -9.2233720368547758e18)
            return INT64_MIN;
        return (int64_t)d;
    }
    return (int64_t)n;
}

double orci_pg_col_double(orci_pg_stmt *st, int col)
{
    const char *v = cell(st, col);
    if (v == NULL)
        return 0;
    if (PQftype(st->res, col) == PG_BOOLOID)
        return v[0] == 't' ? 1 : 0;
    return strtod(v, NULL);
}

const char *orci_pg_col_text(orci_pg_stmt *st, int col)
{
    const char *v = cell(st, col);
    if (v == NULL)
        return "";
    if (PQftype(st->res, col) == PG_BOOLOID)
        return v[0] == 't' ? "1" : "0";
    return v;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const void *orci_pg_col_blob(orci_pg_stmt *st, int col, size_t *len)
{
    *len = 0;
    const char *v = cell(st, col);
    if (v == NULL)
        return NULL;
    size_t n = (size_t)PQgetlength(st->res, st->row, col);
    if (PQftype(st->res, col) != PG_BYTEAOID) {
        *len = n; /* text read as bytes, as SQLite gives it */
        return n > 0 ? v : NULL;
    }
    if (col >= st->nblobs)
        return NULL;
    if (st->blobs[col] == NULL) {
        /* bytea's text output is "\x" and two hex digits per byte (bytea_output = hex, the
         * default since PostgreSQL 9.0). */
        if (n < 2 || v[0] != '\\' || v[1] != 'x')
            return NULL;
        size_t bytes = (n - 2) / 2;
        unsigned char *b = malloc(bytes > 0 ? bytes : 1);
        if (b == NULL)
            return NULL;
        for (size_t i = 0; i < bytes; i++) {
            int hi = hex_value(v[2 + 2 * i]), lo = hex_value(v[3 + 2 * i]);
            b[i] = (unsigned char)((hi < 0 ? 0 : hi) << 4 | (lo < 0 ? 0 : lo));
        }
        st->blobs[col] = b;
        st->blob_lens[col] = bytes;
    }
    *len = st->blob_lens[col];
    return *len > 0 ? st->blobs[col] : NULL;
}
