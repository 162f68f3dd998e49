/*
 * pg_cluster.h: throw-away PostgreSQL clusters and databases for the tests labelled postgres.
 *
 * A cluster is a data folder and a server with its Unix socket in that folder, run by
 * test/support/pg_cluster.sh (as the postgres user when the tests run as root). CTest starts
 * one shared cluster for the whole postgres run (the fixture postgres.cluster, which sets
 * ORC_TEST_PG_DIR); orc_pg_cluster_shared attaches to it, or, in a test program started by
 * hand, starts a private one that is removed when the program exits. Each test then takes a
 * database of its own (orc_pg_cluster_create_db).
 *
 * Functions returning int give 0 on success and -1 after printing why on stderr. Call them
 * from the test's main thread.
 */
#ifndef ORC_TEST_PG_CLUSTER_H
#define ORC_TEST_PG_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct orc_pg_cluster {
    char dir[256]; /* data in dir/data, the socket in dir */
    int port;      /* also listening on 127.0.0.1:port */
    bool own;      /* started here: stopped and removed by orc_pg_cluster_remove */
} orc_pg_cluster;

/* orc_pg_cluster_start makes and starts a private cluster in a new temporary folder. */
int orc_pg_cluster_start(orc_pg_cluster *c);

/*
 * orc_pg_cluster_shared attaches to the cluster of $ORC_TEST_PG_DIR, or starts a private one
 * once per process (removed at exit). *c receives it; the process keeps it.
 */
int orc_pg_cluster_shared(orc_pg_cluster *c);

/* orc_pg_cluster_stop stops the server (fast shutdown); the folder stays. */
int orc_pg_cluster_stop(orc_pg_cluster *c);

/* orc_pg_cluster_restart starts a stopped cluster again on the same folder and port. */
int orc_pg_cluster_restart(orc_pg_cluster *c);

/* orc_pg_cluster_remove stops a cluster this process started and deletes its folder. */
void orc_pg_cluster_remove(orc_pg_cluster *c);

/*
 * orc_pg_cluster_url writes a postgresql:// URL for database db (over the Unix socket, or
 * TCP on 127.0.0.1 when tcp) into url.
 */
int orc_pg_cluster_url(const orc_pg_cluster *c, const char *db, bool tcp, char *url,
                       size_t url_size);

/*
 * orc_pg_cluster_create_db creates a database with a fresh name (prefix, the process id and a
 * counter; UTF-8, C collation) and writes its URL into url (and its name into name when not
 * NULL).
 */
int orc_pg_cluster_create_db(const orc_pg_cluster *c, const char *prefix, char *url,
                             size_t url_size, char *name, size_t name_size);

/* orc_pg_cluster_drop_db drops database name, closing its sessions first. */
int orc_pg_cluster_drop_db(const orc_pg_cluster *c, const char *name);

/*
 * orc_pg_cluster_query runs sql on database db and copies the first column of the first
 * row into out ("" when no row; NULL out to ignore it).
 */
int orc_pg_cluster_query(const orc_pg_cluster *c, const char *db, const char *sql, char *out,
                         size_t out_size);

#endif
