/*
 * store_pg.c: the PostgreSQL side of the store (store/README.md): the writer's connection
 * and the session advisory lock it holds (one active coordinator per database; the others
 * wait for it as standbys), the migrations of schema/pg/, the readers' connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store/migrations_pg.h"
#include "store/store_internal.h"

/*
 * The advisory lock's key. Advisory locks live in one database, so each database has its
 * own active coordinator, whatever else the cluster holds. The value is "orcstrad" in ASCII.
 */
#define STORE_PG_LOCK_KEY "8030604370823979364"
/* The lock of a migration's transaction (a coordinator and an admin command may meet). */
#define STORE_PG_MIGRATE_KEY "8030604370823979365"
/* How often a standby asks for the lock again. */
#define STORE_PG_LOCK_POLL_MS 200

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* db_new wraps a PostgreSQL connection as an orci_db (taking it; closed on failure). */
static int db_new(orci_pg_conn *c, orci_db **out, orc_error *err)
{
    orci_db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        orci_pg_close(c);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    db->pg = c;
    *out = db;
    return ORC_OK;
}

/* try_lock asks for the lock once: ORC_OK when taken, ORC_ALREADY_EXISTS when held. */
static int try_lock(orci_pg_conn *c, orc_error *err)
{
    char got[8];
    int code = orci_pg_query_text(c, "SELECT pg_try_advisory_lock(" STORE_PG_LOCK_KEY ")", got,
                                  sizeof got, err);
    if (code != ORC_OK)
        return code;
    return got[0] == 't' ? ORC_OK : ORC_ALREADY_EXISTS;
}

/*
 * connect_locked connects and takes the lock, waiting for it (and for the server, while it
 * cannot be reached) as opts says. *out receives the connection that holds the lock.
 */
static int connect_locked(const char *url, const orci_store_opts *opts, orci_pg_conn **out,
                          orc_error *err)
{
    bool said = false;
    for (;;) {
        orci_pg_conn *c = NULL;
        int code = orci_pg_connect(url, "orchestrad", &c, err);
        if (code == ORC_OK && opts->shared) {
            *out = c;
            return ORC_OK;
        }
        if (code == ORC_OK) {
            code = try_lock(c, err);
            if (code == ORC_OK) {
                if (said)
                    orci_info("standby: took the database's lock; now the active coordinator");
                *out = c;
                return ORC_OK;
            }
            orci_pg_close(c);
        }
        if (code == ORC_ALREADY_EXISTS && !opts->wait)
            return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "another orchestrad is active on this database (it holds the "
                                 "advisory lock); start this one with --standby to wait");
        if (code != ORC_ALREADY_EXISTS && code != ORC_UNAVAILABLE)
            return code;
        if (!opts->wait)
            return code;
        if (!said) {
            orci_info("standby: %s; waiting to take over",
                      code == ORC_ALREADY_EXISTS ? "another coordinator is active" : err->message);
            said = true;
        }
        /* Ask again over a new connection: one that waited may have been dropped meanwhile. */
        for (int waited = 0; waited < STORE_PG_LOCK_POLL_MS; waited += 50) {
            if (opts->should_stop != NULL && opts->should_stop(opts->stop_arg))
                return orc_error_set(err, ORC_UNAVAILABLE, "stopped while on standby");
            sleep_ms(50);
        }
    }
}

/* schema_version reads the version recorded by the migrations (0 for a new database). */
static int schema_version(orci_pg_conn *c, int *out, orc_error *err)
{
    char text[32];
    int code = orci_pg_query_text(c, "SELECT coalesce(max(version), 0) FROM orc_schema_version",
                                  text, sizeof text, err);
    if (code == ORC_OK)
        *out = atoi(text);
    return code;
}

/* version_table makes the table of the version when missing, under the migrations' lock. */
static int version_table(orci_pg_conn *c, orc_error *err)
{
    int code = orci_pg_exec(c,
                            "BEGIN; SELECT pg_advisory_xact_lock(" STORE_PG_MIGRATE_KEY ");"
                            " CREATE TABLE IF NOT EXISTS orc_schema_version"
                            " (version integer NOT NULL); COMMIT",
                            NULL, err);
    if (code != ORC_OK && orci_pg_in_transaction(c))
        (void)orci_pg_exec(c, "ROLLBACK", NULL, NULL);
    return code;
}

/*
 * apply_migration applies m in a transaction of its own, unless the version (read again
 * under the migrations' lock) shows another process applied it meanwhile.
 */
static int apply_migration(orci_pg_conn *c, const orci_migration *m, orc_error *err)
{
    orc_error e = {0};
    char record[96];
    snprintf(record, sizeof record,
             "DELETE FROM orc_schema_version; INSERT INTO orc_schema_version VALUES (%d)",
             m->version);
    int cur = 0;
    if (orci_pg_exec(c, "BEGIN; SELECT pg_advisory_xact_lock(" STORE_PG_MIGRATE_KEY ")", NULL,
                     &e) == ORC_OK &&
        schema_version(c, &cur, &e) == ORC_OK) {
        if (cur >= m->version)
            return orci_pg_exec(c, "COMMIT", NULL, err);
        if (orci_pg_exec(c, m->sql, NULL, &e) == ORC_OK &&
            orci_pg_exec(c, record, NULL, &e) == ORC_OK &&
            orci_pg_exec(c, "COMMIT", NULL, &e) == ORC_OK)
            return ORC_OK;
    }
    if (orci_pg_in_transaction(c))
        (void)orci_pg_exec(c, "ROLLBACK", NULL, NULL);
    return orc_error_set(err, e.code == ORC_UNAVAILABLE ? ORC_UNAVAILABLE : ORC_INTERNAL,
                         "schema migration pg/%s failed: %s", m->name, e.message);
}

/* migrate applies the migrations of schema/pg/ newer than the recorded version, in order. */
static int migrate(orci_pg_conn *c, int *version, orc_error *err)
{
    int cur = 0, code;
    if ((code = version_table(c, err)) != ORC_OK || (code = schema_version(c, &cur, err)) != ORC_OK)
        return code;
    int known = 0;
    for (size_t i = 0; i < orci_pg_migrations_count; i++) {
        if (orci_pg_migrations[i].version <= known)
            return orc_error_set(err, ORC_INTERNAL, "embedded migrations out of order at %s",
                                 orci_pg_migrations[i].name);
        known = orci_pg_migrations[i].version;
    }
    if (cur > known)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "database schema version %d is newer than this orchestrad "
                             "supports (%d)",
                             cur, known);
    for (size_t i = 0; i < orci_pg_migrations_count; i++) {
        const orci_migration *m = &orci_pg_migrations[i];
        if (m->version <= cur)
            continue;
        if ((code = apply_migration(c, m, err)) != ORC_OK)
            return code;
        orci_info("applied schema migration pg/%s", m->name);
        cur = m->version;
    }
    *version = cur;
    return ORC_OK;
}

/*
 * check_collation refuses a database whose text does not compare byte by byte, as SQLite's
 * does: orderings, unique names and prefix ranges (events' topics) would differ.
 */
static int check_collation(orci_pg_conn *c, orc_error *err)
{
    char coll[64];
    int code = orci_pg_query_text(
        c, "SELECT datcollate FROM pg_database WHERE datname = current_database()", coll,
        sizeof coll, err);
    if (code != ORC_OK)
        return code;
    if (strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "the database's collation is %s; orchestrad needs C (CREATE "
                             "DATABASE ... TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C')",
                             coll);
    return ORC_OK;
}

int orci_store_pg_open(orci_store *s, const orci_store_opts *opts, orc_error *err)
{
    orci_pg_conn *c = NULL;
    int code = connect_locked(s->path, opts, &c, err);
    if (code != ORC_OK)
        return code;
    if ((code = check_collation(c, err)) != ORC_OK) {
        orci_pg_close(c);
        return code;
    }
    /* Migrations run in the active coordinator (or an admin command, under the migrations'
     * own lock), before any write job. */
    if ((code = migrate(c, &s->schema_version, err)) != ORC_OK) {
        orci_pg_close(c);
        return code;
    }
    return db_new(c, &s->wdb, err);
}

int orci_store_pg_reader(orci_store *s, orci_db **out, orc_error *err)
{
    orci_pg_conn *c = NULL;
    int code = orci_pg_connect(s->path, "orchestrad-reader", &c, err);
    if (code != ORC_OK)
        return code;
    /* As SQLite's readers are query_only: a write through a reader is a bug, refused. */
    code = orci_pg_exec(c, "SET default_transaction_read_only = on", NULL, err);
    if (code != ORC_OK) {
        orci_pg_close(c);
        return code;
    }
    return db_new(c, out, err);
}

bool orci_store_pg_alive(orci_store *s)
{
    return s->wdb != NULL && orci_pg_alive(s->wdb->pg);
}
