/* test_walgather.c: the VFS that writes a commit's WAL frames in one write (walgather.c). */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "support.h"

#define TABLES 20
/* The numbers 1 to N as table s(value), before an INSERT ... SELECT ... FROM s. */
#define SERIES(n)                                                                                  \
    "WITH RECURSIVE s(value) AS (VALUES (1) UNION ALL SELECT value + 1 FROM s "                    \
    "WHERE value < " #n ") "

typedef orc_test_dbdir fixture;

ORC_TEST_DBDIR_FIXTURE("walgather", "g.db")

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("%s: %s\n", sql, msg != NULL ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* open_db opens path in WAL mode as orchestrad's writer does (synchronous=NORMAL: the commit
 * itself makes no fdatasync), with the gathering VFS or the default one. */
static sqlite3 *open_db(const char *path, bool gather)
{
    const char *vfs = NULL;
    if (gather) {
        vfs = orci_walgather_vfs();
        assert_non_null(vfs);
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
    assert_int_equal(rc, SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
    return db;
}

/* write_calls returns the write system calls this process has made (any file). */
static long write_calls(void)
{
    size_t len = 0;
    char *text = orc_test_read_file("/proc/self/io", &len);
    assert_non_null(text);
    const char *p = strstr(text, "syscw:");
    assert_non_null(p);
    long n = strtol(p + 6, NULL, 10);
    free(text);
    return n;
}

/* make_tables creates TABLES tables with an index each and some rows, so that one more row in
 * each later changes 2 * TABLES pages. */
static void make_tables(sqlite3 *db)
{
    exec(db, "BEGIN");
    for (int t = 0; t < TABLES; t++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "CREATE TABLE t%d (id INTEGER PRIMARY KEY, v TEXT);"
                 "CREATE INDEX t%d_v ON t%d(v);" SERIES(
                     50) "INSERT INTO t%d (v) SELECT printf('row %%d', value) FROM s;",
                 t, t, t, t);
        exec(db, sql);
    }
    exec(db, "COMMIT");
}

/* commit_writes makes one transaction that adds a row to every table and returns the write
 * system calls its COMMIT made. */
static long commit_writes(sqlite3 *db, int round)
{
    exec(db, "BEGIN");
    for (int t = 0; t < TABLES; t++) {
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO t%d (v) VALUES ('round %d')", t, round);
        exec(db, sql);
    }
    long before = write_calls();
    exec(db, "COMMIT");
    return write_calls() - before;
}

/* A commit of about 40 pages is one write with the VFS; SQLite's own VFS makes two per page
 * (which shows that the count sees the WAL's writes at all). Both commits' connections are
 * past their first transaction, which also extends the WAL index file. */
static void test_commit_is_one_write(void **state)
{
    fixture *f = *state;
    sqlite3 *plain = open_db(f->path, false);
    make_tables(plain);
    long plain_writes = commit_writes(plain, 1);
    sqlite3_close(plain);

    sqlite3 *db = open_db(f->path, true);
    commit_writes(db, 2); /* a new connection's first transaction also maps the WAL index */
    long gathered = commit_writes(db, 3);
    long again = commit_writes(db, 4);
    sqlite3_close(db);
    print_message("write calls per commit: %ld with SQLite's VFS, %ld and %ld gathered\n",
                  plain_writes, gathered, again);
    /* 40 pages of 4 KiB are two writes (the buffer takes 120 KiB); under valgrind, whose own
     * writes count too, both figures about double. */
    assert_true(plain_writes >= 2 * TABLES);
    assert_true(gathered >= 1 && gathered * 5 <= plain_writes);
    assert_true(again >= 1 && again * 5 <= plain_writes);
}

/* copy_file copies from to to with plain reads and writes (what a power cut would leave of a
 * file whose writes all reached the kernel). */
static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    char *data = orc_test_read_file(from, &len);
    assert_non_null(data);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    free(data);
}

/* Once COMMIT returns, the commit's frames are in the WAL file, not in the VFS's buffer: a
 * copy of the files taken then (the connection still open) holds the rows, and so does a
 * connection through SQLite's own VFS. */
static void test_frames_in_the_file_when_commit_returns(void **state)
{
    fixture *f = *state;
    sqlite3 *db = open_db(f->path, true);
    make_tables(db);
    for (int r = 1; r <= 5; r++)
        commit_writes(db, r);

    sqlite3 *other = open_db(f->path, false);
    assert_int_equal(one_int(other, "SELECT count(*) FROM t7"), 55);
    sqlite3_close(other);

    char copy[360], from[360], to[380];
    snprintf(copy, sizeof copy, "%s/copy.db", f->dir);
    copy_file(f->path, copy);
    snprintf(from, sizeof from, "%s-wal", f->path);
    snprintf(to, sizeof to, "%s-wal", copy);
    copy_file(from, to);
    sqlite3 *c = open_db(copy, false);
    assert_int_equal(one_int(c, "SELECT count(*) FROM t19 WHERE v LIKE 'round %'"), 5);
    assert_int_equal(one_int(c, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                     0);
    sqlite3_close(c);
    sqlite3_close(db);
}

/* A transaction larger than the buffer (and than the 128 KiB the default VFS writes in one
 * call) commits whole, in several writes. */
static void test_large_commit(void **state)
{
    fixture *f = *state;
    sqlite3 *db = open_db(f->path, true);
    exec(db, "CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB);" SERIES(
                 400) "INSERT INTO big (b) SELECT randomblob(3000) FROM s");
    sqlite3 *other = open_db(f->path, false);
    assert_int_equal(one_int(other, "SELECT count(*) FROM big WHERE length(b) = 3000"), 400);
    assert_int_equal(one_int(other, "SELECT count(*) FROM pragma_integrity_check "
                                    "WHERE integrity_check != 'ok'"),
                     0);
    sqlite3_close(other);
    sqlite3_close(db);
}

/* A transaction that spills pages to the WAL (a page cache of 10 pages) and then rolls back
 * leaves nothing behind for later: another connection then commits over the same part of the
 * WAL, and whatever the first one does next cannot write its spilled frames over those. */
static void test_spilled_then_rolled_back(void **state)
{
    fixture *f = *state;
    sqlite3 *a = open_db(f->path, true);
    exec(a, "PRAGMA cache_size=10; CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)");
    /* Every committed page in the database file: the rollback reads nothing from the WAL
     * (a read would write the spilled frames out first, while the lock is still held). */
    exec(a, "PRAGMA wal_checkpoint(TRUNCATE)");
    exec(a, "BEGIN; INSERT INTO big (b) VALUES (randomblob(100000))");
    exec(a, "ROLLBACK");

    sqlite3 *b = open_db(f->path, true);
    exec(b, SERIES(30) "INSERT INTO big (b) SELECT zeroblob(2000) FROM s");
    sqlite3_close(b);

    exec(a, "INSERT INTO big (b) VALUES (zeroblob(10))");
    sqlite3_close(a);

    sqlite3 *c = open_db(f->path, false);
    assert_int_equal(one_int(c, "SELECT count(*) FROM big"), 31);
    assert_int_equal(one_int(c, "SELECT count(*) FROM big WHERE b != zeroblob(length(b))"), 0);
    assert_int_equal(one_int(c, "SELECT count(*) FROM pragma_integrity_check "
                                "WHERE integrity_check != 'ok'"),
                     0);
    sqlite3_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_is_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_in_the_file_when_commit_returns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_large_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spilled_then_rolled_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
