/*
 * harness_store.c: the store a harness's daemon runs on (harness.h): a SQLite file in the
 * harness's folder, or, when ORC_TEST_STORE=postgres (the tests labelled postgres), a database
 * of its own in the shared test cluster (pg_cluster.h); and SQL on that store for the tests
 * that look at rows.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pg_cluster.h"

bool orc_test_store_pg(void)
{
    const char *s = getenv("ORC_TEST_STORE");
    return s != NULL && strcmp(s, "postgres") == 0;
}

int orc_harness_store_setup(orc_harness *h)
{
    h->pg_db[0] = '\0';
    if (!orc_test_store_pg()) {
        snprintf(h->db_path, sizeof h->db_path, "%s/orchestra.db", h->dir);
        return 0;
    }
    orc_pg_cluster c;
    if (orc_pg_cluster_shared(&c) != 0)
        return -1;
    return orc_pg_cluster_create_db(&c, "itest", h->db_path, sizeof h->db_path, h->pg_db,
                                    sizeof h->pg_db);
}

void orc_harness_store_cleanup(orc_harness *h)
{
    if (h->pg_db[0] == '\0')
        return;
    orc_pg_cluster c;
    if (orc_pg_cluster_shared(&c) == 0)
        orc_pg_cluster_drop_db(&c, h->pg_db);
    h->pg_db[0] = '\0';
}

/* text_add appends s (and sep when not '\0') to the growing buffer *buf. */
static int text_add(char **buf, size_t *len, size_t *cap, const char *s, char sep)
{
    size_t n = strlen(s) + 2;
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap + n) * 2;
        char *b = realloc(*buf, ncap);
        if (b == NULL)
            return -1;
        *buf = b;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, strlen(s));
    *len += strlen(s);
    if (sep != '\0')
        (*buf)[(*len)++] = sep;
    (*buf)[*len] = '\0';
    return 0;
}

static char *sql_sqlite(const orc_harness *h, const char *sql)
{
    char uri[400];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", h->db_path);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s: %s\n", uri, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    int rc;
    bool ok = text_add(&buf, &len, &cap, "", '\0') == 0;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        for (int i = 0; ok && i < n; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            ok = text_add(&buf, &len, &cap, t != NULL ? (const char *)t : "",
                          i + 1 < n ? '|' : '\n') == 0;
        }
    }
    if (ok && rc != SQLITE_DONE) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        ok = false;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *sql_pg(const orc_harness *h, const char *sql)
{
    PGconn *c = PQconnectdb(h->db_path);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s", h->db_path,
                c != NULL ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return NULL;
    }
    PGresult *res = PQexec(c, sql);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    ok = ok && text_add(&buf, &len, &cap, "", '\0') == 0;
    int rows = ok ? PQntuples(res) : 0, cols = ok ? PQnfields(res) : 0;
    for (int r = 0; ok && r < rows; r++) {
        for (int i = 0; ok && i < cols; i++) {
            /* Booleans as SQLite gives them. */
            const char *v = PQgetvalue(res, r, i);
            if (PQftype(res, i) == 16)
                v = v[0] == 't' ? "1" : "0";
            ok = text_add(&buf, &len, &cap, v, i + 1 < cols ? '|' : '\n') == 0;
        }
    }
    PQclear(res);
    PQfinish(c);
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *orc_harness_sql(const orc_harness *h, const char *sql)
{
    return h->pg_db[0] != '\0' ? sql_pg(h, sql) : sql_sqlite(h, sql);
}
