/*
 * test_schema_pg.c: the two migration sets (schema/ for SQLite, schema/pg/ for PostgreSQL)
 * end with the same tables, columns, indexes and triggers, numbered alike; and the functions
 * schema/pg/0001 gives PostgreSQL answer as SQLite's own do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_cluster.h"
#include "store/migrations.h"
#include "store/migrations_pg.h"
#include "store/pg.h"

#define MAX_ITEMS 1024

static orc_pg_cluster cluster;
static char url[512];
static char dbname[64];
static orci_pg_conn *pg;
static sqlite3 *lite;

/* A sorted list of "table.column type null" (or "index name", "trigger name") lines. */
typedef struct items {
    char *v[MAX_ITEMS];
    size_t n;
} items;

static void items_add(items *it, const char *s)
{
    assert_true(it->n < MAX_ITEMS);
    it->v[it->n] = strdup(s);
    assert_non_null(it->v[it->n]);
    it->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void items_free(items *it)
{
    for (size_t i = 0; i < it->n; i++)
        free(it->v[i]);
    it->n = 0;
}

/* items_assert_equal compares two lists, printing every line only one of them has. */
static void items_assert_equal(items *a, const char *an, items *b, const char *bn)
{
    qsort(a->v, a->n, sizeof a->v[0], cmp_str);
    qsort(b->v, b->n, sizeof b->v[0], cmp_str);
    size_t i = 0, j = 0;
    int diffs = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            fprintf(stderr, "only in %s: %s\n", an, a->v[i++]);
            diffs++;
        } else {
            fprintf(stderr, "only in %s: %s\n", bn, b->v[j++]);
            diffs++;
        }
    }
    assert_int_equal(diffs, 0);
    assert_true(a->n > 0);
}

static int group_setup(void **state)
{
    (void)state;
    if (orc_pg_cluster_shared(&cluster) != 0 ||
        orc_pg_cluster_create_db(&cluster, "schema", url, sizeof url, dbname, sizeof dbname) != 0)
        return -1;
    orc_error err = {0};
    if (orci_pg_connect(url, "test_schema_pg", &pg, &err) != ORC_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    if (sqlite3_open(":memory:", &lite) != SQLITE_OK)
        return -1;
    for (size_t i = 0; i < orci_migrations_count; i++) {
        char *msg = NULL;
        if (sqlite3_exec(lite, orci_migrations[i].sql, NULL, NULL, &msg) != SQLITE_OK) {
            fprintf(stderr, "sqlite %s: %s\n", orci_migrations[i].name, msg);
            return -1;
        }
    }
    for (size_t i = 0; i < orci_pg_migrations_count; i++) {
        if (orci_pg_exec(pg, orci_pg_migrations[i].sql, NULL, &err) != ORC_OK) {
            fprintf(stderr, "postgres %s: %s\n", orci_pg_migrations[i].name, err.message);
            return -1;
        }
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    orci_pg_close(pg);
    sqlite3_close(lite);
    orc_pg_cluster_drop_db(&cluster, dbname);
    return 0;
}

static void test_schema_pg_migrations_are_numbered_alike(void **state)
{
    (void)state;
    assert_int_equal(orci_pg_migrations_count, orci_migrations_count);
    for (size_t i = 0; i < orci_migrations_count; i++) {
        assert_int_equal(orci_pg_migrations[i].version, orci_migrations[i].version);
        assert_string_equal(orci_pg_migrations[i].name, orci_migrations[i].name);
    }
}

/* lite_type is the PostgreSQL type a SQLite column type stands for. */
static const char *lite_type(const char *t)
{
    if (strcmp(t, "INTEGER") == 0)
        return "bigint";
    if (strcmp(t, "TEXT") == 0)
        return "text";
    if (strcmp(t, "BLOB") == 0)
        return "bytea";
    if (strcmp(t, "REAL") == 0)
        return "double precision";
    return t;
}

/* pg_rows runs sql and adds the first column of each row to it. */
static void pg_rows(const char *sql, items *it)
{
    orc_error err = {0};
    orci_pg_stmt *st = NULL;
    assert_int_equal(orci_pg_stmt_new(pg, sql, &st, &err), ORC_OK);
    int r;
    while ((r = orci_pg_row(st, NULL, &err)) == 1)
        items_add(it, orci_pg_col_text(st, 0));
    if (r < 0)
        fail_msg("%s: %s", sql, err.message);
    orci_pg_stmt_free(st);
}

/* lite_rows runs sql on SQLite and adds the first column of each row to it. */
static void lite_rows(const char *sql, items *it)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(lite, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        items_add(it, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static void test_schema_pg_same_tables_and_columns(void **state)
{
    (void)state;
    items a = {0}, b = {0};
    lite_rows("SELECT m.name || '.' || c.name || ' ' || c.type || ' ' ||"
              " CASE WHEN c.\"notnull\" OR c.pk = 1 AND c.type = 'INTEGER'"
              " THEN 'not null' ELSE 'null' END"
              " FROM sqlite_master m, pragma_table_info(m.name) c"
              " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
              &b);
    /* SQLite's types, written as PostgreSQL's. */
    for (size_t i = 0; i < b.n; i++) {
        char tbl[256], type[64], null[16];
        if (sscanf(b.v[i], "%255s %63s %15s", tbl, type, null) != 3)
            fail_msg("bad line %s", b.v[i]);
        char line[400];
        snprintf(line, sizeof line, "%s %s %s", tbl, lite_type(type),
                 strcmp(null, "not") == 0 ? "not null" : "null");
        free(b.v[i]);
        b.v[i] = strdup(line);
    }
    pg_rows("SELECT table_name || '.' || column_name || ' ' || data_type || ' ' ||"
            " CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE 'null' END"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name <> 'orc_schema_version'",
            &a);
    items_assert_equal(&a, "postgres", &b, "sqlite");
    items_free(&a);
    items_free(&b);
}

static void test_schema_pg_same_indexes_and_triggers(void **state)
{
    (void)state;
    items a = {0}, b = {0};
    lite_rows("SELECT type || ' ' || name FROM sqlite_master"
              " WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_autoindex_%'",
              &b);
    /* PostgreSQL names the indexes of its keys and unique constraints itself, and keeps
     * the rowid triggers of schema/pg/0001. */
    pg_rows("SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public'"
            " AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'"
            " UNION ALL SELECT DISTINCT 'trigger ' || trigger_name"
            " FROM information_schema.triggers WHERE trigger_schema = 'public'"
            " AND trigger_name NOT LIKE '%\\_rowid'",
            &a);
    items_assert_equal(&a, "postgres", &b, "sqlite");
    items_free(&a);
    items_free(&b);
}

/* same_answer runs one query on both stores and compares the first column's text. */
static void same_answer(const char *sql)
{
    items a = {0}, b = {0};
    pg_rows(sql, &a);
    lite_rows(sql, &b);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        if (strcmp(a.v[i], b.v[i]) != 0)
            fail_msg("%s: postgres says %s, sqlite %s", sql, a.v[i], b.v[i]);
    }
    items_free(&a);
    items_free(&b);
}

static void test_schema_pg_functions_answer_as_sqlite(void **state)
{
    (void)state;
    same_answer("SELECT json_object('assignment_id', 5, 'counter', 0)");
    same_answer("SELECT json_object('a', 1, 'b', -2, 'previous_worker', 'w\"x\\y')");
    same_answer("SELECT json_object('a', 1, 'b', 2, 'c', NULL)");
    same_answer("SELECT coalesce(json_extract('{\"create\": true}', '$.create'), 'null')");
    same_answer("SELECT coalesce(json_extract('{\"create\": false}', '$.create'), 'null')");
    same_answer("SELECT coalesce(json_extract('{\"create\": null}', '$.create'), 'null')");
    same_answer("SELECT coalesce(json_extract('{\"x\": 1}', '$.create'), 'null')");
    same_answer("SELECT json_extract('{\"n\": 42, \"s\": \"t\"}', '$.n') ||"
                " json_extract('{\"n\": 42, \"s\": \"t\"}', '$.s')");
    same_answer("SELECT value FROM json_each('[\"a\", \"b.c\", \"\"]') ORDER BY value");
    same_answer("SELECT count(*) FROM json_each('[]')");
    same_answer("SELECT 'project.' || CAST(12 AS BIGINT) || '.'");
    same_answer("SELECT CASE WHEN json_valid('{\"a\":[1,2]}') THEN 'y' ELSE 'n' END ||"
                " CASE WHEN json_valid('{bad') THEN 'y' ELSE 'n' END");
    same_answer("SELECT ~5");
    same_answer("SELECT max(CAST(3 AS BIGINT), CAST(5 AS BIGINT)) || ',' ||"
                " min(CAST(3 AS BIGINT), CAST(5 AS BIGINT))");
    same_answer("SELECT coalesce(max(CAST(3 AS BIGINT), NULL), -1)");
    same_answer("SELECT max(x) FROM (SELECT 1 AS x UNION ALL SELECT 2) AS v");
}

/* pg_int runs a one-value query. */
static int64_t pg_int(const char *sql)
{
    orc_error err = {0};
    char v[64];
    if (orci_pg_query_text(pg, sql, v, sizeof v, &err) != ORC_OK)
        fail_msg("%s: %s", sql, err.message);
    return strtoll(v, NULL, 10);
}

static void test_schema_pg_ids_as_sqlite_rowids(void **state)
{
    (void)state;
    orc_error err = {0};
    const char *ins = "INSERT INTO users (username, created_at) VALUES ('u1', 1)";
    assert_int_equal(orci_pg_exec(pg, ins, NULL, &err), ORC_OK);
    assert_int_equal(pg_int("SELECT max(id) FROM users"), 1);
    /* A rolled-back insert leaves no gap. */
    assert_int_equal(orci_pg_exec(pg,
                                  "BEGIN; INSERT INTO users (username, created_at)"
                                  " VALUES ('u2', 1); ROLLBACK",
                                  NULL, &err),
                     ORC_OK);
    assert_int_equal(
        orci_pg_exec(pg, "INSERT INTO users (username, created_at) VALUES ('u3', 1)", NULL, &err),
        ORC_OK);
    assert_int_equal(pg_int("SELECT id FROM users WHERE username = 'u3'"), 2);
    /* An explicit id is kept and the next one follows it. */
    assert_int_equal(
        orci_pg_exec(pg,
                     "INSERT INTO users (id, username, created_at) VALUES (40, 'u4', 1);"
                     " INSERT INTO users (username, created_at) VALUES ('u5', 1)",
                     NULL, &err),
        ORC_OK);
    assert_int_equal(pg_int("SELECT id FROM users WHERE username = 'u5'"), 41);
    /* A JSON column refuses text that is not JSON, as a constraint. */
    assert_int_equal(orci_pg_exec(pg,
                                  "INSERT INTO workflows (slug, name, description, code_directory,"
                                  " sample_data_load_function, created_at)"
                                  " VALUES ('w', 'w', '', 'w', '{bad', 1)",
                                  NULL, &err),
                     ORC_FAILED_PRECONDITION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_pg_migrations_are_numbered_alike),
        cmocka_unit_test(test_schema_pg_same_tables_and_columns),
        cmocka_unit_test(test_schema_pg_same_indexes_and_triggers),
        cmocka_unit_test(test_schema_pg_functions_answer_as_sqlite),
        cmocka_unit_test(test_schema_pg_ids_as_sqlite_rowids),
    };
    return cmocka_run_group_tests_name("schema_pg", tests, group_setup, group_teardown);
}
