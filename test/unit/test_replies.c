/* test_replies.c: stored replies for idempotent retries (rpc_replies). */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/replies.h"
#include "store/store.h"
#include "support.h"

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
    orci_db *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("replies", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->r, &err), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_db_close(f->r);
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

typedef struct put_op {
    const char *principal;
    const char *request_id;
    int status;
    const char *message;
    const char *details;
    const void *body;
    size_t body_len;
    int64_t now;
} put_op;

static int put_job(orci_db *db, void *arg, orc_error *err)
{
    put_op *op = arg;
    return orci_reply_put(db, op->principal, op->request_id, "orchestra.v1.Test/Do", op->status,
                          op->message, op->details, op->body, op->body_len, op->now, err);
}

static int put(fixture *f, const char *principal, const char *request_id, int64_t now,
               orc_error *err)
{
    put_op op = {.principal = principal, .request_id = request_id, .message = "ok", .now = now};
    return orci_store_write(f->s, put_job, &op, err);
}

typedef struct prune_op {
    int64_t cutoff;
    int64_t deleted;
} prune_op;

static int prune_job(orci_db *db, void *arg, orc_error *err)
{
    prune_op *op = arg;
    return orci_replies_prune(db, op->cutoff, &op->deleted, err);
}

static void test_replies_round_trip_keeps_binary_body(void **state)
{
    fixture *f = *state;
    static const uint8_t body[] = {0x0a, 0x00, 0x03, 'a', 0x00, 'b', 0xff, 0x00};
    put_op op = {.principal = "key:ci",
                 .request_id = "req-1",
                 .status = ORC_NOT_FOUND,
                 .message = "project 4 not found",
                 .details = "{\"id\":4}",
                 .body = body,
                 .body_len = sizeof body,
                 .now = 1000};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->s, put_job, &op, &err), ORC_OK);

    orci_stored_reply r;
    assert_int_equal(orci_reply_get(f->r, "key:ci", "req-1", &r, &err), ORC_OK);
    assert_int_equal(r.status, ORC_NOT_FOUND);
    assert_string_equal(r.message, "project 4 not found");
    assert_string_equal(r.details, "{\"id\":4}");
    assert_int_equal(r.body_len, sizeof body);
    assert_memory_equal(r.body, body, sizeof body);
    orci_stored_reply_fini(&r);
    orci_stored_reply_fini(NULL);
}

static void test_replies_empty_body_round_trip(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    assert_int_equal(put(f, "user:3", "r", 5, &err), ORC_OK);
    orci_stored_reply r;
    assert_int_equal(orci_reply_get(f->r, "user:3", "r", &r, &err), ORC_OK);
    assert_int_equal(r.status, ORC_OK);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.details, "");
    orci_stored_reply_fini(&r);
}

static void test_replies_unknown_is_not_found(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    assert_int_equal(put(f, "key:a", "req", 5, &err), ORC_OK);
    orci_stored_reply r;
    assert_int_equal(orci_reply_get(f->r, "key:a", "other", &r, &err), ORC_NOT_FOUND);
    /* the request id is scoped by principal */
    assert_int_equal(orci_reply_get(f->r, "key:b", "req", &r, &err), ORC_NOT_FOUND);
}

static void test_replies_duplicate_put_already_exists(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    assert_int_equal(put(f, "key:a", "req", 5, &err), ORC_OK);
    assert_int_equal(put(f, "key:a", "req", 6, &err), ORC_ALREADY_EXISTS);
    assert_string_equal(err.message, "a reply for request req is already stored");
    /* another principal may use the same request id */
    assert_int_equal(put(f, "key:b", "req", 6, &err), ORC_OK);
}

static void test_replies_prune_deletes_older_than_cutoff(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    assert_int_equal(put(f, "p", "old", 100, &err), ORC_OK);
    assert_int_equal(put(f, "p", "mid", 200, &err), ORC_OK);
    assert_int_equal(put(f, "p", "new", 300, &err), ORC_OK);
    prune_op op = {.cutoff = 250};
    assert_int_equal(orci_store_write(f->s, prune_job, &op, &err), ORC_OK);
    assert_int_equal(op.deleted, 2);
    orci_stored_reply r;
    assert_int_equal(orci_reply_get(f->r, "p", "old", &r, &err), ORC_NOT_FOUND);
    assert_int_equal(orci_reply_get(f->r, "p", "mid", &r, &err), ORC_NOT_FOUND);
    assert_int_equal(orci_reply_get(f->r, "p", "new", &r, &err), ORC_OK);
    orci_stored_reply_fini(&r);
    /* nothing left to prune below the cutoff */
    assert_int_equal(orci_store_write(f->s, prune_job, &op, &err), ORC_OK);
    assert_int_equal(op.deleted, 0);
}

/* Retention deletes in arrival order: a reply whose time went back behind a newer one's
 * stays until that one is old too; none newer than the cutoff is ever deleted. */
static void test_replies_prune_keeps_arrival_order(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    assert_int_equal(put(f, "p", "first", 100, &err), ORC_OK);
    assert_int_equal(put(f, "p", "newer", 300, &err), ORC_OK);
    assert_int_equal(put(f, "p", "back", 120, &err), ORC_OK);
    prune_op op = {.cutoff = 250};
    assert_int_equal(orci_store_write(f->s, prune_job, &op, &err), ORC_OK);
    assert_int_equal(op.deleted, 1);
    orci_stored_reply r;
    assert_int_equal(orci_reply_get(f->r, "p", "first", &r, &err), ORC_NOT_FOUND);
    assert_int_equal(orci_reply_get(f->r, "p", "newer", &r, &err), ORC_OK);
    orci_stored_reply_fini(&r);
    assert_int_equal(orci_reply_get(f->r, "p", "back", &r, &err), ORC_OK);
    orci_stored_reply_fini(&r);
    op.cutoff = 400;
    assert_int_equal(orci_store_write(f->s, prune_job, &op, &err), ORC_OK);
    assert_int_equal(op.deleted, 2);
    assert_int_equal(orci_reply_get(f->r, "p", "back", &r, &err), ORC_NOT_FOUND);
}

/* A database from before migration 0017 keeps its replies: they are numbered in the order of
 * their times and found by their key as before. */
static void test_replies_migration_0017_keeps_old_replies(void **state)
{
    fixture *f = *state;
    orci_db_close(f->r);
    orci_store_close(f->s);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    const char *old =
        "DROP TABLE rpc_replies;"
        "CREATE TABLE rpc_replies (principal TEXT NOT NULL, request_id TEXT NOT NULL,"
        " method TEXT NOT NULL, status INTEGER NOT NULL, message TEXT NOT NULL,"
        " details TEXT NOT NULL DEFAULT '', body BLOB NOT NULL, created_at INTEGER NOT NULL,"
        " PRIMARY KEY (principal, request_id)) STRICT, WITHOUT ROWID;"
        "CREATE INDEX rpc_replies_created ON rpc_replies(created_at);"
        "INSERT INTO rpc_replies VALUES ('p', 'zz-late', 'M', 0, 'ok', '', x'0102', 300),"
        " ('p', 'aa-early', 'M', 5, 'no', 'd', x'', 100), ('q', 'mm', 'M', 0, 'ok', '', x'', 200);"
        "CREATE INDEX tasks_project ON tasks(project_id);"       /* dropped by 0018 */
        "CREATE INDEX jobs_project ON jobs(project_id, status);" /* and by 0019 */
        "PRAGMA user_version = 16;";
    assert_int_equal(sqlite3_exec(h, old, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->r, &err), ORC_OK);
    orci_stored_reply r;
    assert_int_equal(orci_reply_get(f->r, "p", "zz-late", &r, &err), ORC_OK);
    assert_int_equal(r.body_len, 2);
    orci_stored_reply_fini(&r);
    assert_int_equal(orci_reply_get(f->r, "p", "aa-early", &r, &err), ORC_OK);
    assert_int_equal(r.status, 5);
    assert_string_equal(r.details, "d");
    orci_stored_reply_fini(&r);
    /* Numbered by time: retention takes the two oldest, then finds the key taken. */
    prune_op op = {.cutoff = 250};
    assert_int_equal(orci_store_write(f->s, prune_job, &op, &err), ORC_OK);
    assert_int_equal(op.deleted, 2);
    assert_int_equal(orci_reply_get(f->r, "q", "mm", &r, &err), ORC_NOT_FOUND);
    assert_int_equal(put(f, "p", "zz-late", 400, &err), ORC_ALREADY_EXISTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_round_trip_keeps_binary_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_prune_keeps_arrival_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_migration_0017_keeps_old_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replies_empty_body_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_unknown_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_duplicate_put_already_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_prune_deletes_older_than_cutoff, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("replies", tests, NULL, NULL);
}
