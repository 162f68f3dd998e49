/*
 * test_workers.c: users and workers, certifications (the reviewer-needs-entry rule),
 * password hashes, the failed-login rate limit and sessions, on a temporary store.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "store/model.h"
#include "store/store.h"
#include "support.h"
#include "domain/workers.h"

#define T0 INT64_C(1461873600000000)
#define SEC INT64_C(1000000)

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
    orci_db *rdb;
} fixture;

static int exec_job(orci_db *db, void *arg, orc_error *err)
{
    return orci_db_exec(db, arg, err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("workers", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->rdb, &err), ORC_OK);
    const char *rows = "INSERT INTO workflows (id, slug, name, description, code_directory,"
                       " created_at) VALUES (1, 'wf', 'W', 'd', '/wf', 0),"
                       " (2, 'wf2', 'W2', 'd', '/wf2', 0);"
                       "INSERT INTO certifications (id, workflow_id, slug, name, description,"
                       " created_at) VALUES (1, 1, 'cert', 'C', 'd', 0), (2, 2, 'other', 'O',"
                       " 'd', 0);";
    assert_int_equal(orci_store_write(f->s, exec_job, (void *)rows, &err), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_db_close(f->rdb);
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- write jobs --------------------------------------------------------------------- */

typedef struct args {
    orci_user_params user;
    const char *username, *workflow, *cert;
    int role, task_class;
    bool grant;
    int64_t now, ttl, user_id, worker_id;
    const char *token_in;
    char token[64];
    size_t token_size;
} args;

static int job_add(orci_db *db, void *arg, orc_error *err)
{
    args *a = arg;
    return orci_workers_add(db, &a->user, a->now, &a->user_id, &a->worker_id, err);
}

static int job_certify(orci_db *db, void *arg, orc_error *err)
{
    args *a = arg;
    return orci_workers_certify(db, a->username, a->workflow, a->cert, a->role, a->task_class,
                                a->grant, a->now, err);
}

static int job_failed(orci_db *db, void *arg, orc_error *err)
{
    args *a = arg;
    return orci_workers_login_failed(db, a->username, a->now, err);
}

static int job_session(orci_db *db, void *arg, orc_error *err)
{
    args *a = arg;
    return orci_workers_session_create(db, a->user_id, a->now, a->ttl, a->token,
                                       a->token_size != 0 ? a->token_size : sizeof a->token, err);
}

static int job_revoke(orci_db *db, void *arg, orc_error *err)
{
    args *a = arg;
    return orci_workers_session_revoke(db, a->token_in, a->now, err);
}

static int run(fixture *f, orci_write_fn fn, args *a, orc_error *err)
{
    orc_error_clear(err);
    return orci_store_write(f->s, fn, a, err);
}

/* add_user adds a worker and returns its user id (the worker id in *worker_id). */
static int64_t add_user(fixture *f, const char *username, const char *hash, int64_t *worker_id)
{
    args a = {.user = {.username = username, .password_hash = hash, .first_name = "F"}, .now = T0};
    orc_error err = {0};
    int rc = run(f, job_add, &a, &err);
    if (rc != ORC_OK)
        print_error("add %s: %s\n", username, err.message);
    assert_int_equal(rc, ORC_OK);
    if (worker_id != NULL)
        *worker_id = a.worker_id;
    return a.user_id;
}

static int certify(fixture *f, const char *user, const char *wf, const char *cert, int role,
                   int task_class, bool grant, orc_error *err)
{
    args a = {.username = user,
              .workflow = wf,
              .cert = cert,
              .role = role,
              .task_class = task_class,
              .grant = grant,
              .now = T0};
    return run(f, job_certify, &a, err);
}

static int64_t count_certifications(fixture *f, int64_t worker_id)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(
        f->rdb, "SELECT count(*) FROM worker_certifications WHERE worker_id = ?1", &err);
    assert_non_null(st);
    orci_bind_int(st, 1, worker_id);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static void fail_login(fixture *f, const char *username, int64_t now)
{
    args a = {.username = username, .now = now};
    orc_error err = {0};
    assert_int_equal(run(f, job_failed, &a, &err), ORC_OK);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_workers_add_and_find(void **state)
{
    fixture *f = *state;
    int64_t worker_id = 0;
    int64_t user_id = add_user(f, "alice", NULL, &worker_id);
    assert_true(user_id > 0);
    assert_true(worker_id > 0);
    int64_t u = 0, w = 0;
    orc_error err = {0};
    assert_int_equal(orci_workers_find(f->rdb, "alice", &u, &w, &err), ORC_OK);
    assert_int_equal(u, user_id);
    assert_int_equal(w, worker_id);
    assert_int_equal(orci_workers_find(f->rdb, "ghost", &u, &w, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "Worker ghost not found");

    /* Django's username characters, up to 150 */
    add_user(f, "a.b+c-d_e@f", NULL, NULL);
    char longest[152];
    memset(longest, 'x', 150);
    longest[150] = '\0';
    add_user(f, longest, NULL, NULL);
}

static void test_workers_add_refuses_duplicate_and_bad_names(void **state)
{
    fixture *f = *state;
    add_user(f, "alice", NULL, NULL);
    orc_error err = {0};
    args a = {.user = {.username = "alice"}, .now = T0};
    assert_int_equal(run(f, job_add, &a, &err), ORC_ALREADY_EXISTS);
    assert_string_equal(err.message, "User alice already exists");

    char too_long[160];
    memset(too_long, 'x', 151);
    too_long[151] = '\0';
    const char *bad[] = {"", "bad name", "semi;colon", "caf\xc3\xa9", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        args b = {.user = {.username = bad[i]}, .now = T0};
        assert_int_equal(run(f, job_add, &b, &err), ORC_INVALID_ARGUMENT);
    }
    args c = {.user = {.username = NULL}, .now = T0};
    assert_int_equal(run(f, job_add, &c, &err), ORC_INVALID_ARGUMENT);
    /* a password "hash" that is not one is refused rather than stored */
    args d = {.user = {.username = "bob", .password_hash = "secret"}, .now = T0};
    assert_int_equal(run(f, job_add, &d, &err), ORC_INVALID_ARGUMENT);
    assert_int_equal(orci_workers_find(f->rdb, "bob", NULL, NULL, &err), ORC_NOT_FOUND);
}

static void test_workers_password_hash_lookup(void **state)
{
    fixture *f = *state;
    char hash[ORCI_PASSWORD_HASH_MAX];
    assert_int_equal(orci_password_hash("s3cret", 1000, hash, sizeof hash), 0);
    int64_t uid = add_user(f, "alice", hash, NULL);
    add_user(f, "nopass", NULL, NULL);

    char out[ORCI_PASSWORD_HASH_MAX];
    int64_t got_uid = 0;
    orc_error err = {0};
    assert_int_equal(orci_workers_password_hash(f->rdb, "alice", &got_uid, out, sizeof out, &err),
                     ORC_OK);
    assert_int_equal(got_uid, uid);
    assert_string_equal(out, hash);
    assert_int_equal(orci_password_verify("s3cret", out), 1);
    assert_int_equal(orci_password_verify("wrong", out), 0);

    assert_int_equal(orci_workers_password_hash(f->rdb, "nopass", NULL, out, sizeof out, &err),
                     ORC_OK);
    assert_string_equal(out, "");
    assert_int_equal(orci_workers_password_hash(f->rdb, "ghost", NULL, out, sizeof out, &err),
                     ORC_NOT_FOUND);
    assert_string_equal(err.message, "Worker ghost not found");
    assert_int_not_equal(orci_workers_password_hash(f->rdb, "alice", NULL, out, 8, &err), ORC_OK);
}

static void test_workers_certify_entry_then_reviewer(void **state)
{
    fixture *f = *state;
    int64_t worker_id = 0;
    add_user(f, "alice", NULL, &worker_id);
    orc_error err = {0};

    /* a reviewer row needs the entry-level row of the same certification and class */
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_FAILED_PRECONDITION);
    assert_int_equal(certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL,
                             ORCI_TASK_CLASS_TRAINING, true, &err),
                     ORC_OK);
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_FAILED_PRECONDITION);
    assert_int_equal(certify(f, "alice", "wf2", "other", ORCI_ROLE_ENTRY_LEVEL,
                             ORCI_TASK_CLASS_REAL, true, &err),
                     ORC_OK);
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_FAILED_PRECONDITION);
    assert_int_equal(count_certifications(f, worker_id), 2);

    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_OK);
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_OK);
    assert_int_equal(count_certifications(f, worker_id), 4);
    /* granting twice is a no-op */
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_OK);
    assert_int_equal(count_certifications(f, worker_id), 4);
    /* the rule holds only on grant: the entry-level row may go later */
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, false, &err),
        ORC_OK);
    assert_int_equal(count_certifications(f, worker_id), 3);
}

static void test_workers_revoke_and_lookup_errors(void **state)
{
    fixture *f = *state;
    int64_t worker_id = 0;
    add_user(f, "alice", NULL, &worker_id);
    orc_error err = {0};
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_OK);
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, false, &err),
        ORC_OK);
    assert_int_equal(count_certifications(f, worker_id), 0);
    assert_int_equal(
        certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, false, &err),
        ORC_NOT_FOUND);

    assert_int_equal(
        certify(f, "alice", "wf", "nope", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_NOT_FOUND);
    assert_string_equal(err.message, "Certification wf/nope not found");
    /* the certification slug is looked up within the given workflow only */
    assert_int_equal(
        certify(f, "alice", "wf", "other", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_NOT_FOUND);
    assert_string_equal(err.message, "Certification wf/other not found");
    assert_int_equal(
        certify(f, "ghost", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL, true, &err),
        ORC_NOT_FOUND);
    assert_string_equal(err.message, "Worker ghost not found");
    assert_int_equal(certify(f, "alice", "wf", "cert", 2, ORCI_TASK_CLASS_REAL, true, &err),
                     ORC_INVALID_ARGUMENT);
    assert_int_equal(certify(f, "alice", "wf", "cert", ORCI_ROLE_ENTRY_LEVEL, 7, true, &err),
                     ORC_INVALID_ARGUMENT);
}

static void test_workers_login_rate_limit(void **state)
{
    fixture *f = *state;
    orc_error err = {0};
    const int64_t t = T0;
    for (int i = 0; i < ORCI_LOGIN_MAX_FAILURES - 1; i++) {
        fail_login(f, "alice", t + i * SEC);
        assert_int_equal(orci_workers_login_allowed(f->rdb, "alice", t + i * SEC, &err), ORC_OK);
    }
    fail_login(f, "alice", t + 4 * SEC); /* the fifth within the window */
    assert_int_equal(orci_workers_login_allowed(f->rdb, "alice", t + 5 * SEC, &err),
                     ORC_RESOURCE_EXHAUSTED);
    assert_string_equal(err.message, "Too many failed login attempts; try again later.");
    /* other names are not affected */
    assert_int_equal(orci_workers_login_allowed(f->rdb, "bob", t + 5 * SEC, &err), ORC_OK);
    /* still refused just before the first failure leaves the window */
    assert_int_equal(
        orci_workers_login_allowed(f->rdb, "alice", t + ORCI_LOGIN_WINDOW_US - 1, &err),
        ORC_RESOURCE_EXHAUSTED);
    /* once it has left, four remain: allowed again */
    assert_int_equal(orci_workers_login_allowed(f->rdb, "alice", t + ORCI_LOGIN_WINDOW_US, &err),
                     ORC_OK);
    /* well after the window, everything has expired */
    assert_int_equal(
        orci_workers_login_allowed(f->rdb, "alice", t + 2 * ORCI_LOGIN_WINDOW_US, &err), ORC_OK);
}

static void test_workers_session_clears_failures(void **state)
{
    fixture *f = *state;
    int64_t uid = add_user(f, "alice", NULL, NULL);
    orc_error err = {0};
    for (int i = 0; i < ORCI_LOGIN_MAX_FAILURES; i++)
        fail_login(f, "alice", T0 + i * SEC);
    assert_int_equal(orci_workers_login_allowed(f->rdb, "alice", T0 + 10 * SEC, &err),
                     ORC_RESOURCE_EXHAUSTED);
    args a = {.user_id = uid, .now = T0 + 10 * SEC, .ttl = 3600 * SEC};
    assert_int_equal(run(f, job_session, &a, &err), ORC_OK);
    assert_int_equal(orci_workers_login_allowed(f->rdb, "alice", T0 + 11 * SEC, &err), ORC_OK);
}

static void test_workers_session_create_and_revoke(void **state)
{
    fixture *f = *state;
    int64_t uid = add_user(f, "alice", NULL, NULL);
    orc_error err = {0};
    args a = {.user_id = uid, .now = T0, .ttl = 3600 * SEC};
    assert_int_equal(run(f, job_session, &a, &err), ORC_OK);
    assert_int_equal(strlen(a.token), 43); /* 32 bytes, base64url without padding */

    /* the row holds SHA-256(token), never the token, and the expiry */
    sqlite3_stmt *st = orci_db_stmt(
        f->rdb, "SELECT token_hash, user_id, expires_at, revoked_at FROM sessions", &err);
    assert_non_null(st);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    uint8_t want[ORCI_SHA256_LEN];
    orci_sha256(a.token, strlen(a.token), want);
    assert_int_equal(sqlite3_column_bytes(st, 0), ORCI_SHA256_LEN);
    assert_memory_equal(sqlite3_column_blob(st, 0), want, ORCI_SHA256_LEN);
    assert_memory_not_equal(sqlite3_column_blob(st, 0), a.token, ORCI_SHA256_LEN);
    assert_int_equal(sqlite3_column_int64(st, 1), uid);
    assert_int_equal(sqlite3_column_int64(st, 2), T0 + 3600 * SEC);
    assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 0);

    /* a second session gets another token */
    args b = {.user_id = uid, .now = T0, .ttl = 3600 * SEC};
    assert_int_equal(run(f, job_session, &b, &err), ORC_OK);
    assert_string_not_equal(a.token, b.token);

    args r = {.token_in = a.token, .now = T0 + 5 * SEC};
    assert_int_equal(run(f, job_revoke, &r, &err), ORC_OK);
    st = orci_db_stmt(f->rdb, "SELECT revoked_at FROM sessions WHERE token_hash = ?1", &err);
    assert_non_null(st);
    sqlite3_bind_blob(st, 1, want, (int)sizeof want, SQLITE_TRANSIENT);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    assert_int_equal(sqlite3_column_int64(st, 0), T0 + 5 * SEC);
    sqlite3_reset(st);
    /* revoking twice, or a token that never existed */
    assert_int_equal(run(f, job_revoke, &r, &err), ORC_NOT_FOUND);
    args unknown = {.token_in = "not-a-token", .now = T0};
    assert_int_equal(run(f, job_revoke, &unknown, &err), ORC_NOT_FOUND);
    /* the other session is untouched */
    args r2 = {.token_in = b.token, .now = T0 + 6 * SEC};
    assert_int_equal(run(f, job_revoke, &r2, &err), ORC_OK);
}

static void test_workers_session_refuses_bad_arguments(void **state)
{
    fixture *f = *state;
    int64_t uid = add_user(f, "alice", NULL, NULL);
    orc_error err = {0};
    args small = {.user_id = uid, .now = T0, .ttl = SEC, .token_size = 16};
    assert_int_equal(run(f, job_session, &small, &err), ORC_INVALID_ARGUMENT);
    args no_ttl = {.user_id = uid, .now = T0, .ttl = 0};
    assert_int_equal(run(f, job_session, &no_ttl, &err), ORC_INVALID_ARGUMENT);
    args ghost = {.user_id = uid + 100, .now = T0, .ttl = SEC};
    assert_int_equal(run(f, job_session, &ghost, &err), ORC_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workers_add_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_add_refuses_duplicate_and_bad_names, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_workers_password_hash_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_certify_entry_then_reviewer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_revoke_and_lookup_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_login_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_session_clears_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_session_create_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_session_refuses_bad_arguments, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("workers", tests, NULL, NULL);
}
