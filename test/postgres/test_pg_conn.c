/*
 * test_pg_conn.c: the libpq layer of the store (store/pg.c) against a real server: ?N
 * parameters, the types they bind as, rows and columns, row counts, and errors mapped to the
 * same orc codes as SQLite's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pg_cluster.h"
#include "store/pg.h"

static orc_pg_cluster cluster;
static char url[512];
static char dbname[64];

static int group_setup(void **state)
{
    (void)state;
    if (orc_pg_cluster_shared(&cluster) != 0)
        return -1;
    return orc_pg_cluster_create_db(&cluster, "pgconn", url, sizeof url, dbname, sizeof dbname);
}

static int group_teardown(void **state)
{
    (void)state;
    orc_pg_cluster_drop_db(&cluster, dbname);
    return 0;
}

static orci_pg_conn *connect_or_fail(void)
{
    orc_error err = {0};
    orci_pg_conn *c = NULL;
    int rc = orci_pg_connect(url, "test_pg_conn", &c, &err);
    if (rc != ORC_OK)
        fail_msg("connect: %s", err.message);
    return c;
}

static orci_pg_stmt *stmt(orci_pg_conn *c, const char *sql)
{
    orc_error err = {0};
    orci_pg_stmt *st = NULL;
    if (orci_pg_stmt_new(c, sql, &st, &err) != ORC_OK)
        fail_msg("stmt: %s", err.message);
    return st;
}

static void exec_ok(orci_pg_conn *c, const char *sql)
{
    orc_error err = {0};
    int rc = orci_pg_exec(c, sql, NULL, &err);
    if (rc != ORC_OK)
        fail_msg("%s: %s", sql, err.message);
}

static void test_pg_url_detection(void **state)
{
    (void)state;
    assert_true(orci_pg_is_url("postgresql://u@h/db"));
    assert_true(orci_pg_is_url("postgres://h/db?sslmode=require"));
    assert_false(orci_pg_is_url("./orchestra-data/orchestra.db"));
    assert_false(orci_pg_is_url("/var/lib/postgresql.db"));
    assert_false(orci_pg_is_url(NULL));
}

static void test_pg_question_parameters_become_dollar_parameters(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    orci_pg_stmt *st = stmt(c, "SELECT ?2, '?1', \"?3\", ? -- ?9\n/* ?8 */");
    assert_string_equal(orci_pg_stmt_text(st), "SELECT $2, '?1', \"?3\", $3 -- ?9\n/* ?8 */");
    orci_pg_stmt_free(st);
    orci_pg_close(c);
}

/* A subquery in FROM without a name gets one (PostgreSQL 15 refuses it, SQLite takes it). */
static void test_pg_subqueries_in_from_get_a_name(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    orci_pg_stmt *st = stmt(c, "SELECT min(t) FROM (SELECT 2 AS t UNION ALL SELECT ?1) WHERE"
                               " t IN (SELECT 1) AND 'FROM (' <> ''");
    assert_string_equal(orci_pg_stmt_text(st),
                        "SELECT min(t) FROM (SELECT 2 AS t UNION ALL SELECT $1) AS orc_s1 WHERE"
                        " t IN (SELECT 1) AND 'FROM (' <> ''");
    orc_error err = {0};
    orci_pg_bind_int(st, 1, 1);
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_int_equal(orci_pg_col_int(st, 0), 1);
    orci_pg_stmt_free(st);
    /* Named ones, with or without AS, and a join's, stay as they are or get one. */
    st = stmt(c, "SELECT a.x FROM (SELECT 1 AS x) a JOIN (SELECT 1 AS x) ON true,"
                 " (SELECT 1) AS b");
    assert_string_equal(orci_pg_stmt_text(st),
                        "SELECT a.x FROM (SELECT 1 AS x) a JOIN (SELECT 1 AS x) AS orc_s1 ON true,"
                        " (SELECT 1) AS b");
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    orci_pg_stmt_free(st);
    orci_pg_close(c);
}

static void test_pg_binds_and_reads_every_type(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    exec_ok(c, "CREATE TABLE kinds (i BIGINT, t TEXT, b BYTEA, d DOUBLE PRECISION, n TEXT)");
    orci_pg_stmt *ins = stmt(c, "INSERT INTO kinds (i, t, b, d, n) VALUES (?1, ?2, ?3, ?4, ?5)");
    const unsigned char bytes[] = {0, 1, 0xfe, 0xff, 'x'};
    orci_pg_bind_int(ins, 1, INT64_MIN + 1);
    orci_pg_bind_text(ins, 2, "h\xc3\xa9llo 'q' \"dq\"");
    orci_pg_bind_blob(ins, 3, bytes, sizeof bytes);
    orci_pg_bind_double(ins, 4, 2.5);
    orci_pg_bind_null(ins, 5);
    orc_error err = {0};
    int64_t changes = -1;
    assert_int_equal(orci_pg_step(ins, &changes, &err), ORC_OK);
    assert_int_equal(changes, 1);

    orci_pg_stmt *sel = stmt(c, "SELECT i, t, b, d, n, i < 0, 7 FROM kinds");
    assert_int_equal(orci_pg_row(sel, NULL, &err), 1);
    assert_true(orci_pg_col_int(sel, 0) == INT64_MIN + 1);
    assert_string_equal(orci_pg_col_text(sel, 1), "h\xc3\xa9llo 'q' \"dq\"");
    size_t len = 0;
    const unsigned char *b = orci_pg_col_blob(sel, 2, &len);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(b, bytes, sizeof bytes);
    assert_true(orci_pg_col_double(sel, 3) == 2.5);
    assert_true(orci_pg_col_is_null(sel, 4));
    assert_string_equal(orci_pg_col_text(sel, 4), "");
    assert_int_equal(orci_pg_col_int(sel, 5), 1); /* a boolean reads as 1 or 0 */
    assert_string_equal(orci_pg_col_text(sel, 5), "1");
    assert_int_equal(orci_pg_col_int(sel, 6), 7);
    assert_false(orci_pg_col_is_null(sel, 0));
    assert_true(orci_pg_col_is_null(sel, 99)); /* out of range: NULL, never a crash */
    assert_int_equal(orci_pg_row(sel, NULL, &err), 0);
    /* Done: the next call runs it again. */
    assert_int_equal(orci_pg_row(sel, NULL, &err), 1);
    orci_pg_stmt_reset(sel);
    orci_pg_stmt_free(sel);
    orci_pg_stmt_free(ins);
    orci_pg_close(c);
}

static void test_pg_integer_parameters_are_64_bit(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    /* Untyped, the server would take ?1 + 1 as a 32-bit addition. */
    orci_pg_stmt *st = stmt(c, "SELECT ?1 + 1, ?2 || 'x', coalesce(?3, 5)");
    orc_error err = {0};
    orci_pg_bind_int(st, 1, 1700000000000000);
    orci_pg_bind_text(st, 2, "a");
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_true(orci_pg_col_int(st, 0) == 1700000000000001);
    assert_string_equal(orci_pg_col_text(st, 1), "ax");
    assert_int_equal(orci_pg_col_int(st, 2), 5);
    orci_pg_stmt_reset(st);
    /* The same statement with other types prepares another server-side statement. */
    orci_pg_stmt_clear(st);
    orci_pg_bind_int(st, 1, 1);
    orci_pg_bind_text(st, 2, "b");
    orci_pg_bind_int(st, 3, 9);
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_int_equal(orci_pg_col_int(st, 0), 2);
    assert_int_equal(orci_pg_col_int(st, 2), 9);
    orci_pg_stmt_reset(st);
    orci_pg_stmt_free(st);
    orci_pg_close(c);
}

static void test_pg_parameters_the_text_skips_or_leaves_untyped(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    orc_error err = {0};
    /* ?1 unused: unbound, bound NULL or bound; ?4 does not exist (ignored, as SQLite does). */
    orci_pg_stmt *st = stmt(c, "SELECT ?2 || ?3");
    orci_pg_bind_text(st, 2, "a");
    orci_pg_bind_text(st, 3, "b");
    orci_pg_bind_int(st, 4, 1);
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_string_equal(orci_pg_col_text(st, 0), "ab");
    orci_pg_stmt_reset(st);
    orci_pg_bind_int(st, 1, 7);
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_string_equal(orci_pg_col_text(st, 0), "ab");
    orci_pg_stmt_free(st);
    /* A NULL whose place gives it no type. */
    st = stmt(c, "SELECT ?1 IS NULL");
    orci_pg_bind_null(st, 1);
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_int_equal(orci_pg_col_int(st, 0), 1);
    orci_pg_stmt_reset(st);
    orci_pg_bind_int(st, 1, 3);
    assert_int_equal(orci_pg_row(st, NULL, &err), 1);
    assert_int_equal(orci_pg_col_int(st, 0), 0);
    orci_pg_stmt_free(st);
    /* The same inside a transaction: the server's first refusal must not abort it. */
    exec_ok(c, "BEGIN");
    st = stmt(c, "SELECT count(*) FROM (SELECT 'b' AS d) AS t WHERE ?1 IS NULL OR d >= ?1");
    orci_pg_bind_null(st, 1);
    if (orci_pg_row(st, NULL, &err) != 1)
        fail_msg("in a transaction: %s", err.message);
    assert_int_equal(orci_pg_col_int(st, 0), 1);
    orci_pg_stmt_free(st);
    assert_true(orci_pg_in_transaction(c));
    exec_ok(c, "SELECT 1");
    exec_ok(c, "COMMIT");
    orci_pg_close(c);
}

static void test_pg_errors_map_to_the_same_codes_as_sqlite(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    exec_ok(c, "CREATE TABLE u (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
               " n BIGINT CHECK (n >= 0))");
    orci_pg_stmt *ins = stmt(c, "INSERT INTO u (id, name, n) VALUES (?1, ?2, ?3)");
    orc_error err = {0};
    orci_pg_bind_int(ins, 1, 1);
    orci_pg_bind_text(ins, 2, "a");
    orci_pg_bind_int(ins, 3, 0);
    assert_int_equal(orci_pg_step(ins, NULL, &err), ORC_OK);
    orci_pg_bind_int(ins, 1, 2); /* the name again */
    assert_int_equal(orci_pg_step(ins, NULL, &err), ORC_ALREADY_EXISTS);
    orci_pg_bind_int(ins, 1, 1); /* the primary key again */
    orci_pg_bind_text(ins, 2, "b");
    assert_int_equal(orci_pg_step(ins, NULL, &err), ORC_ALREADY_EXISTS);
    orci_pg_bind_int(ins, 1, 3);
    orci_pg_bind_int(ins, 3, -1);
    assert_int_equal(orci_pg_step(ins, NULL, &err), ORC_FAILED_PRECONDITION);
    orci_pg_bind_null(ins, 2);
    orci_pg_bind_int(ins, 3, 1);
    assert_int_equal(orci_pg_step(ins, NULL, &err), ORC_FAILED_PRECONDITION);
    orci_pg_bind_text(ins, 2, "not utf-8 \xff");
    assert_int_equal(orci_pg_step(ins, NULL, &err), ORC_INVALID_ARGUMENT);
    orci_pg_stmt_free(ins);

    orci_pg_stmt *bad = stmt(c, "SELEC 1");
    assert_int_equal(orci_pg_row(bad, NULL, &err), -1);
    assert_int_equal(err.code, ORC_INTERNAL);
    assert_non_null(strstr(err.message, "cannot prepare"));
    orci_pg_stmt_free(bad);

    assert_int_equal(orci_pg_exec(c, "SELECT nothing_here", NULL, &err), ORC_INTERNAL);
    assert_false(orci_pg_lost(c));
    orci_pg_close(c);
}

static void test_pg_changes_count_only_writes(void **state)
{
    (void)state;
    orci_pg_conn *c = connect_or_fail();
    exec_ok(c, "CREATE TABLE ch (x BIGINT); INSERT INTO ch SELECT generate_series(1, 5)");
    orci_pg_stmt *up = stmt(c, "UPDATE ch SET x = x + 10 WHERE x > ?1");
    orc_error err = {0};
    int64_t changes = -1;
    orci_pg_bind_int(up, 1, 2);
    assert_int_equal(orci_pg_step(up, &changes, &err), ORC_OK);
    assert_int_equal(changes, 3);
    orci_pg_stmt *sel = stmt(c, "SELECT x FROM ch");
    assert_int_equal(orci_pg_step(sel, &changes, &err), ORC_OK);
    assert_int_equal(changes, 3); /* a query leaves the count of the last write */
    orci_pg_stmt *ret = stmt(c, "DELETE FROM ch WHERE x < ?1 RETURNING x");
    orci_pg_bind_int(ret, 1, 3);
    assert_int_equal(orci_pg_row(ret, &changes, &err), 1);
    assert_int_equal(changes, 2);
    assert_int_equal(orci_pg_row(ret, &changes, &err), 1);
    assert_int_equal(orci_pg_row(ret, &changes, &err), 0);
    orci_pg_stmt_free(ret);
    orci_pg_stmt_free(sel);
    orci_pg_stmt_free(up);
    orci_pg_close(c);
}

static void test_pg_session_settings(void **state)
{
    (void)state;
    char tcp_url[512];
    assert_int_equal(orc_pg_cluster_url(&cluster, dbname, true, tcp_url, sizeof tcp_url), 0);
    orc_error err = {0};
    orci_pg_conn *c = NULL;
    assert_int_equal(orci_pg_connect(tcp_url, NULL, &c, &err), ORC_OK);
    char v[64];
    assert_int_equal(orci_pg_query_text(c, "SHOW synchronous_commit", v, sizeof v, &err), ORC_OK);
    assert_string_equal(v, "on");
    assert_int_equal(orci_pg_query_text(c, "SHOW tcp_keepalives_idle", v, sizeof v, &err), ORC_OK);
    assert_string_equal(v, "2");
    assert_int_equal(orci_pg_query_text(c, "SHOW tcp_keepalives_count", v, sizeof v, &err), ORC_OK);
    assert_string_equal(v, "3");
    assert_int_equal(orci_pg_query_text(c, "SHOW application_name", v, sizeof v, &err), ORC_OK);
    assert_string_equal(v, "orchestrad");
    assert_int_equal(orci_pg_query_text(c, "SHOW server_encoding", v, sizeof v, &err), ORC_OK);
    assert_string_equal(v, "UTF8");
    assert_int_equal(orci_pg_query_text(c, "SELECT 1 WHERE false", v, sizeof v, &err),
                     ORC_NOT_FOUND);
    assert_true(orci_pg_socket(c) >= 0);
    orci_pg_close(c);
}

static void test_pg_unreachable_and_lost_connections_are_unavailable(void **state)
{
    (void)state;
    orc_error err = {0};
    orci_pg_conn *c = NULL;
    char bad[600];
    snprintf(bad, sizeof bad, "postgresql://postgres@/no_such_db_here?host=%s&port=%d", cluster.dir,
             cluster.port);
    assert_int_equal(orci_pg_connect(bad, NULL, &c, &err), ORC_UNAVAILABLE);
    assert_null(c);
    assert_non_null(strstr(err.message, "no_such_db_here"));

    c = connect_or_fail();
    assert_true(orci_pg_alive(c));
    orci_pg_stmt *st = stmt(c, "SELECT 1");
    char pid[32];
    assert_int_equal(orci_pg_query_text(c, "SELECT pg_backend_pid()", pid, sizeof pid, &err),
                     ORC_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s)", pid);
    assert_int_equal(orc_pg_cluster_query(&cluster, dbname, sql, NULL, 0), 0);
    /* The idle check sees it without a query (the server's goodbye may take a moment). */
    for (int i = 0; i < 500 && orci_pg_alive(c); i++)
        usleep(10000);
    assert_false(orci_pg_alive(c));
    assert_int_equal(orci_pg_row(st, NULL, &err), -1);
    assert_int_equal(err.code, ORC_UNAVAILABLE);
    assert_true(orci_pg_lost(c));
    assert_int_equal(orci_pg_exec(c, "SELECT 1", NULL, &err), ORC_UNAVAILABLE);
    assert_int_equal(orci_pg_socket(c), -1);
    orci_pg_stmt_free(st);
    orci_pg_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_url_detection),
        cmocka_unit_test(test_pg_question_parameters_become_dollar_parameters),
        cmocka_unit_test(test_pg_subqueries_in_from_get_a_name),
        cmocka_unit_test(test_pg_binds_and_reads_every_type),
        cmocka_unit_test(test_pg_integer_parameters_are_64_bit),
        cmocka_unit_test(test_pg_parameters_the_text_skips_or_leaves_untyped),
        cmocka_unit_test(test_pg_errors_map_to_the_same_codes_as_sqlite),
        cmocka_unit_test(test_pg_changes_count_only_writes),
        cmocka_unit_test(test_pg_session_settings),
        cmocka_unit_test(test_pg_unreachable_and_lost_connections_are_unavailable),
    };
    return cmocka_run_group_tests_name("pg_conn", tests, group_setup, group_teardown);
}
