/*
 * pg_cluster.c: see pg_cluster.h.
 */
#include "pg_cluster.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#define PG_CLUSTER_TIMEOUT_MS 180000

/* script runs pg_cluster.sh cmd dir, its output on our stderr. */
static int script(const char *cmd, const char *dir)
{
    const char *src = getenv("ORC_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/test/support/pg_cluster.sh", src != NULL ? src : ".");
    /* The template folder makes every cluster after the first a copy instead of an initdb. */
    const char *build = getenv("ORC_BUILD_DIR");
    if (build != NULL && getenv("ORC_PG_TEMPLATE") == NULL) {
        char tpl[512];
        snprintf(tpl, sizeof tpl, "%s/pg-template", build);
        setenv("ORC_PG_TEMPLATE", tpl, 1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("pg_cluster: fork");
        return -1;
    }
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl("/bin/sh", "sh", path, cmd, dir, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (orc_test_wait_exit(pid, PG_CLUSTER_TIMEOUT_MS, &st) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fprintf(stderr, "pg_cluster: %s %s did not finish\n", cmd, dir);
        return -1;
    }
    if (st != 0) {
        fprintf(stderr, "pg_cluster: %s %s failed (status %d)\n", cmd, dir, st);
        return -1;
    }
    return 0;
}

static int read_port(orc_pg_cluster *c)
{
    char path[300];
    snprintf(path, sizeof path, "%s/port", c->dir);
    char *text = orc_test_read_file(path, NULL);
    c->port = text != NULL ? atoi(text) : 0;
    free(text);
    if (c->port <= 0) {
        fprintf(stderr, "pg_cluster: no port in %s\n", path);
        return -1;
    }
    return 0;
}

int orc_pg_cluster_start(orc_pg_cluster *c)
{
    memset(c, 0, sizeof *c);
    /* Not orc_test_tmpdir: the folder must be reachable by the postgres user. */
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/orc-pg.XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(c->dir) == NULL) {
        perror("pg_cluster: mkdtemp");
        return -1;
    }
    c->own = true;
    if (script("start", c->dir) != 0 || read_port(c) != 0) {
        orc_pg_cluster_remove(c);
        return -1;
    }
    return 0;
}

static orc_pg_cluster private_cluster;

static void private_remove(void)
{
    orc_pg_cluster_remove(&private_cluster);
}

int orc_pg_cluster_shared(orc_pg_cluster *c)
{
    const char *dir = getenv("ORC_TEST_PG_DIR");
    if (dir != NULL && dir[0] != '\0') {
        memset(c, 0, sizeof *c);
        snprintf(c->dir, sizeof c->dir, "%s", dir);
        return read_port(c);
    }
    if (private_cluster.port == 0) {
        if (orc_pg_cluster_start(&private_cluster) != 0)
            return -1;
        atexit(private_remove);
    }
    *c = private_cluster;
    c->own = false; /* the process removes it at exit */
    return 0;
}

int orc_pg_cluster_stop(orc_pg_cluster *c)
{
    return script("stop", c->dir);
}

int orc_pg_cluster_restart(orc_pg_cluster *c)
{
    /* start keeps the data folder and picks the port again: use the same one. */
    if (script("start", c->dir) != 0)
        return -1;
    return read_port(c);
}

void orc_pg_cluster_remove(orc_pg_cluster *c)
{
    if (c == NULL || !c->own || c->dir[0] == '\0')
        return;
    script("remove", c->dir);
    c->own = false;
    c->port = 0;
}

int orc_pg_cluster_url(const orc_pg_cluster *c, const char *db, bool tcp, char *url,
                       size_t url_size)
{
    int n = tcp ? snprintf(url, url_size, "postgresql://postgres@127.0.0.1:%d/%s", c->port, db)
                : snprintf(url, url_size, "postgresql://postgres@/%s?host=%s&port=%d", db, c->dir,
                           c->port);
    if (n < 0 || (size_t)n >= url_size) {
        fprintf(stderr, "pg_cluster: URL too long\n");
        return -1;
    }
    return 0;
}

/* connect_db opens a connection to database db of c, or NULL after printing why. */
static PGconn *connect_db(const orc_pg_cluster *c, const char *db)
{
    char url[512];
    if (orc_pg_cluster_url(c, db, false, url, sizeof url) != 0)
        return NULL;
    PGconn *h = PQconnectdb(url);
    if (h == NULL || PQstatus(h) != CONNECTION_OK) {
        fprintf(stderr, "pg_cluster: cannot connect to %s: %s", url,
                h != NULL ? PQerrorMessage(h) : "out of memory\n");
        PQfinish(h);
        return NULL;
    }
    return h;
}

int orc_pg_cluster_query(const orc_pg_cluster *c, const char *db, const char *sql, char *out,
                         size_t out_size)
{
    PGconn *h = connect_db(c, db);
    if (h == NULL)
        return -1;
    PGresult *res = PQexec(h, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "pg_cluster: %s: %s", sql, PQerrorMessage(h));
        rc = -1;
    } else if (out != NULL && out_size > 0) {
        snprintf(out, out_size, "%s",
                 st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0
                     ? PQgetvalue(res, 0, 0)
                     : "");
    }
    PQclear(res);
    PQfinish(h);
    return rc;
}

int orc_pg_cluster_create_db(const orc_pg_cluster *c, const char *prefix, char *url,
                             size_t url_size, char *name, size_t name_size)
{
    static unsigned counter;
    char db[64], sql[160];
    snprintf(db, sizeof db, "%s_%ld_%u", prefix != NULL ? prefix : "orc", (long)getpid(),
             ++counter);
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' "
             "LC_CTYPE 'C'",
             db);
    if (orc_pg_cluster_query(c, "postgres", sql, NULL, 0) != 0)
        return -1;
    if (name != NULL)
        snprintf(name, name_size, "%s", db);
    return orc_pg_cluster_url(c, db, false, url, url_size);
}

int orc_pg_cluster_drop_db(const orc_pg_cluster *c, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    return orc_pg_cluster_query(c, "postgres", sql, NULL, 0);
}
