/*
 * test_svc_worker.c: AddWorker, CertifyWorker, Login and Logout through orci_dispatch on a
 * temporary store (hashing, the failed-login rate limit, session expiry and revocation,
 * replies that are never stored).
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "svc_fixture.h"
#include "domain/workers.h"

static int setup(void **state)
{
    sf_setup(state);
    sf_load_workflow(*state);
    return 0;
}

static int teardown(void **state)
{
    return sf_teardown(state);
}

static Orchestra__V1__Reply *dashboard(sf *f, const char *token)
{
    Orchestra__V1__DashboardRequest q;
    orchestra__v1__dashboard_request__init(&q);
    return sf_call(f, SF_TOKEN(token), "Dashboard", &q.base);
}

static int64_t failures(sf *f, const char *username)
{
    orc_error err = {0};
    sqlite3_stmt *st =
        orci_db_stmt(f->rdb, "SELECT count(*) FROM login_failures WHERE username = ?1", &err);
    assert_non_null(st);
    orci_bind_text(st, 1, username);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

/* ---- AddWorker ------------------------------------------------------------------------ */

static void test_svc_worker_add_then_login_gives_working_token(void **state)
{
    sf *f = *state;
    int64_t id = sf_add_worker(f, "ada", "correct horse");
    assert_true(id > 0);
    assert_int_equal(sf_int(f,
                            "SELECT w.id FROM workers w JOIN users u ON u.id = w.user_id"
                            " WHERE u.username = 'ada'",
                            0, 0),
                     id);
    /* The password is stored hashed with the configured cost, never as given. */
    char *hash = sf_text(f, "SELECT password FROM users WHERE username = 'ada'", 0, 0);
    assert_non_null(hash);
    assert_true(strncmp(hash, "pbkdf2-sha256$1000$", 19) == 0);
    assert_null(strstr(hash, "correct horse"));
    assert_int_equal(orci_password_verify("correct horse", hash), 1);
    free(hash);
    sf_assert_text(f, "SELECT email FROM users WHERE username = 'ada'", 0, 0,
                   "someone@example.com");

    sf_advance(f, 10);
    Orchestra__V1__Reply *r = sf_login_rid(f, "ada", "correct horse", NULL);
    assert_int_equal(r->status, ORC_OK);
    Orchestra__V1__LoginReply *l =
        orchestra__v1__login_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(l);
    assert_string_equal(l->username, "ada");
    assert_int_equal(l->expires_at, f->tc.now_us + SF_TTL_S * SF_SECOND);
    assert_true(strlen(l->token) >= 40);

    Orchestra__V1__Reply *d = dashboard(f, l->token);
    assert_int_equal(d->status, ORC_OK);
    Orchestra__V1__DashboardReply *dr =
        orchestra__v1__dashboard_reply__unpack(NULL, d->body.len, d->body.data);
    assert_non_null(dr);
    json_error_t je;
    json_t *doc = json_loads(dr->json, 0, &je);
    assert_non_null(doc);
    assert_true(json_is_object(json_object_get(doc, "tasks")));
    assert_true(json_is_array(json_object_get(json_object_get(doc, "tasks"), "in_progress")));
    json_decref(doc);
    orchestra__v1__dashboard_reply__free_unpacked(dr, NULL);
    orchestra__v1__reply__free_unpacked(d, NULL);
    orchestra__v1__login_reply__free_unpacked(l, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

static void test_svc_worker_add_refuses_bad_input(void **state)
{
    sf *f = *state;
    sf_expect(sf_add_worker_reply(f, "bad name", "pw"), ORC_INVALID_ARGUMENT, "Invalid username");
    sf_expect(sf_add_worker_reply(f, "", "pw"), ORC_INVALID_ARGUMENT, "Invalid username");
    sf_expect(sf_add_worker_reply(f, "bob", ""), ORC_INVALID_ARGUMENT, "password is required");
    char long_pw[1026];
    memset(long_pw, 'p', sizeof long_pw - 1);
    long_pw[sizeof long_pw - 1] = '\0';
    sf_expect(sf_add_worker_reply(f, "bob", long_pw), ORC_INVALID_ARGUMENT, "longer than 1024");
    long_pw[1024] = '\0'; /* exactly 1024 bytes is accepted */
    sf_expect_ok(sf_add_worker_reply(f, "bob", long_pw));
    sf_expect(sf_add_worker_reply(f, "bob", "other"), ORC_ALREADY_EXISTS,
              "User bob already exists");

    Orchestra__V1__AddWorkerRequest q;
    orchestra__v1__add_worker_request__init(&q);
    q.username = "carol";
    q.password = "pw";
    char long_email[300];
    memset(long_email, 'e', sizeof long_email - 1);
    long_email[sizeof long_email - 1] = '\0';
    q.email = long_email;
    sf_expect(sf_call(f, SF_ADMIN, "AddWorker", &q.base), ORC_INVALID_ARGUMENT, "Email");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM users WHERE username = 'carol'", 0, 0), 0);
}

static void test_svc_worker_add_needs_admin_key(void **state)
{
    sf *f = *state;
    Orchestra__V1__AddWorkerRequest q;
    orchestra__v1__add_worker_request__init(&q);
    q.username = "mallory";
    q.password = "pw";
    sf_expect(sf_call(f, SF_ANON, "AddWorker", &q.base), ORC_UNAUTHENTICATED,
              "credentials required");
    char token[128];
    sf_worker(f, "ada", false, token, sizeof token);
    sf_expect(sf_call(f, SF_TOKEN(token), "AddWorker", &q.base), ORC_PERMISSION_DENIED,
              "requires the admin scope");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM users WHERE username = 'mallory'", 0, 0), 0);
}

/* ---- Login ---------------------------------------------------------------------------- */

static void test_svc_worker_wrong_password_is_recorded_then_rate_limited(void **state)
{
    sf *f = *state;
    sf_add_worker(f, "ada", "right");
    for (int i = 0; i < ORCI_LOGIN_MAX_FAILURES; i++) {
        sf_advance(f, 1);
        sf_expect(sf_login_rid(f, "ada", "wrong", NULL), ORC_UNAUTHENTICATED,
                  "Invalid username or password.");
        assert_int_equal(failures(f, "ada"), i + 1);
    }
    /* The sixth attempt within the window is refused even with the right password. */
    sf_advance(f, 1);
    sf_expect(sf_login_rid(f, "ada", "right", NULL), ORC_RESOURCE_EXHAUSTED,
              "Too many failed login attempts; try again later.");
    assert_int_equal(failures(f, "ada"), ORCI_LOGIN_MAX_FAILURES);
    /* Another name is not affected. */
    sf_add_worker(f, "bob", "bobs");
    char token[128];
    sf_login(f, "bob", "bobs", token, sizeof token);

    /* Once the window has passed, the right password works and clears the count. */
    sf_advance(f, ORCI_LOGIN_WINDOW_US / SF_SECOND);
    sf_login(f, "ada", "right", token, sizeof token);
    assert_int_equal(failures(f, "ada"), 0);
    sf_expect_ok(dashboard(f, token));
}

static void test_svc_worker_unknown_user_looks_like_wrong_password(void **state)
{
    sf *f = *state;
    sf_expect(sf_login_rid(f, "nobody", "pw", NULL), ORC_UNAUTHENTICATED,
              "Invalid username or password.");
    assert_int_equal(failures(f, "nobody"), 1);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM sessions", 0, 0), 0);
    /* Empty credentials are refused without a lookup. */
    sf_expect(sf_login_rid(f, "", "pw", NULL), ORC_UNAUTHENTICATED, "Invalid username");
    sf_expect(sf_login_rid(f, "nobody", "", NULL), ORC_UNAUTHENTICATED, "Invalid username");
    assert_int_equal(failures(f, "nobody"), 1);
}

typedef struct sql_job {
    const char *sql;
} sql_job;

static int sql_fn(orci_db *db, void *arg, orc_error *err)
{
    return orci_db_exec(db, ((sql_job *)arg)->sql, err);
}

static void run_sql(sf *f, const char *sql)
{
    sql_job j = {sql};
    orc_error err = {0};
    if (orci_store_write(f->srv.store, sql_fn, &j, &err) != ORC_OK)
        fail_msg("%s: %s", sql, err.message);
}

static void test_svc_worker_inactive_or_passwordless_user_cannot_log_in(void **state)
{
    sf *f = *state;
    sf_add_worker(f, "ada", "right");
    run_sql(f, "UPDATE users SET is_active = 0 WHERE username = 'ada'");
    sf_expect(sf_login_rid(f, "ada", "right", NULL), ORC_UNAUTHENTICATED,
              "Invalid username or password.");
    assert_int_equal(failures(f, "ada"), 1);

    sf_add_worker(f, "bob", "right");
    run_sql(f, "UPDATE users SET password = '' WHERE username = 'bob'");
    sf_expect(sf_login_rid(f, "bob", "right", NULL), ORC_UNAUTHENTICATED,
              "Invalid username or password.");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM sessions", 0, 0), 0);
}

static void test_svc_worker_login_replies_are_not_stored(void **state)
{
    sf *f = *state;
    sf_add_worker(f, "ada", "right");
    Orchestra__V1__Reply *r1 = sf_login_rid(f, "ada", "right", "same-id");
    Orchestra__V1__Reply *r2 = sf_login_rid(f, "ada", "right", "same-id");
    assert_int_equal(r1->status, ORC_OK);
    assert_int_equal(r2->status, ORC_OK);
    Orchestra__V1__LoginReply *l1 =
        orchestra__v1__login_reply__unpack(NULL, r1->body.len, r1->body.data);
    Orchestra__V1__LoginReply *l2 =
        orchestra__v1__login_reply__unpack(NULL, r2->body.len, r2->body.data);
    assert_non_null(l1);
    assert_non_null(l2);
    assert_string_not_equal(l1->token, l2->token);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM sessions", 0, 0), 2);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM rpc_replies WHERE method = 'Login'", 0, 0), 0);
    /* Both sessions work. */
    sf_expect_ok(dashboard(f, l1->token));
    sf_expect_ok(dashboard(f, l2->token));
    orchestra__v1__login_reply__free_unpacked(l1, NULL);
    orchestra__v1__login_reply__free_unpacked(l2, NULL);
    orchestra__v1__reply__free_unpacked(r1, NULL);
    orchestra__v1__reply__free_unpacked(r2, NULL);
}

/* ---- sessions ------------------------------------------------------------------------- */

static void test_svc_worker_logout_revokes_the_token(void **state)
{
    sf *f = *state;
    char token[128], other[128];
    sf_worker(f, "ada", false, token, sizeof token);
    sf_login(f, "ada", "pw-ada", other, sizeof other);
    Orchestra__V1__LogoutRequest q;
    orchestra__v1__logout_request__init(&q);
    sf_expect_ok(sf_call(f, SF_TOKEN(token), "Logout", &q.base));
    sf_expect(dashboard(f, token), ORC_UNAUTHENTICATED, "invalid or expired session token");
    sf_expect(sf_call(f, SF_TOKEN(token), "Logout", &q.base), ORC_UNAUTHENTICATED, NULL);
    /* The other session of the same user is untouched. */
    sf_expect_ok(dashboard(f, other));
    /* Logout needs a session. */
    sf_expect(sf_call(f, SF_ADMIN, "Logout", &q.base), ORC_PERMISSION_DENIED,
              "requires the worker scope");
}

static void test_svc_worker_session_expires_after_ttl(void **state)
{
    sf *f = *state;
    char token[128];
    sf_worker(f, "ada", false, token, sizeof token);
    sf_advance(f, SF_TTL_S - 1);
    sf_expect_ok(dashboard(f, token));
    sf_advance(f, 1);
    sf_expect(dashboard(f, token), ORC_UNAUTHENTICATED, "invalid or expired session token");
}

static void test_svc_worker_default_ttl_is_twelve_hours(void **state)
{
    sf *f = *state;
    f->srv.settings.session_ttl_s = 0;
    sf_add_worker(f, "ada", "right");
    Orchestra__V1__Reply *r = sf_login_rid(f, "ada", "right", NULL);
    assert_int_equal(r->status, ORC_OK);
    Orchestra__V1__LoginReply *l =
        orchestra__v1__login_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(l);
    assert_int_equal(l->expires_at, f->tc.now_us + 12LL * 3600 * SF_SECOND);
    orchestra__v1__login_reply__free_unpacked(l, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

/* ---- CertifyWorker -------------------------------------------------------------------- */

static void test_svc_worker_certify_reviewer_needs_entry_level(void **state)
{
    sf *f = *state;
    int64_t wid = sf_add_worker(f, "ada", "right");
    sf_expect(sf_certify_reply(f, "ada", "reviewer", NULL, false), ORC_FAILED_PRECONDITION,
              "entry_level certification");
    sf_expect_ok(sf_certify_reply(f, "ada", "entry_level", NULL, false));
    sf_expect_ok(sf_certify_reply(f, "ada", "reviewer", NULL, false));
    const char *count_sql = "SELECT count(*) FROM worker_certifications WHERE worker_id = ?1"
                            " AND task_class = ?2";
    assert_int_equal(sf_int(f, count_sql, wid, ORCI_TASK_CLASS_REAL), 2);
    /* Training is its own class: the real entry-level row does not count for it. */
    sf_expect(sf_certify_reply(f, "ada", "reviewer", "training", false), ORC_FAILED_PRECONDITION,
              NULL);
    sf_expect_ok(sf_certify_reply(f, "ada", "entry_level", "training", false));
    assert_int_equal(sf_int(f, count_sql, wid, ORCI_TASK_CLASS_TRAINING), 1);
    /* Revoking removes the row; revoking it again finds nothing. */
    sf_expect_ok(sf_certify_reply(f, "ada", "reviewer", "real", true));
    assert_int_equal(sf_int(f, count_sql, wid, ORCI_TASK_CLASS_REAL), 1);
    sf_expect(sf_certify_reply(f, "ada", "reviewer", "real", true), ORC_NOT_FOUND, NULL);
}

static void test_svc_worker_certify_refuses_bad_input(void **state)
{
    sf *f = *state;
    sf_add_worker(f, "ada", "right");
    sf_expect(sf_certify_reply(f, "ada", "boss", NULL, false), ORC_INVALID_ARGUMENT,
              "Unknown role");
    sf_expect(sf_certify_reply(f, "ada", "reviewer", "fake", false), ORC_INVALID_ARGUMENT,
              "Unknown task class");
    sf_expect(sf_certify_reply(f, "nobody", "entry_level", NULL, false), ORC_NOT_FOUND,
              "Worker nobody not found");
    Orchestra__V1__CertifyWorkerRequest q;
    orchestra__v1__certify_worker_request__init(&q);
    q.username = "ada";
    q.workflow = "news";
    q.certification = "nope";
    q.role = "entry_level";
    sf_expect(sf_call(f, SF_ADMIN, "CertifyWorker", &q.base), ORC_NOT_FOUND,
              "Certification news/nope not found");
    assert_int_equal(sf_int(f, "SELECT count(*) FROM worker_certifications", 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_svc_worker_add_then_login_gives_working_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_add_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_add_needs_admin_key, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_svc_worker_wrong_password_is_recorded_then_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_unknown_user_looks_like_wrong_password,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_inactive_or_passwordless_user_cannot_log_in,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_login_replies_are_not_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_logout_revokes_the_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_session_expires_after_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_default_ttl_is_twelve_hours, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_certify_reviewer_needs_entry_level, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_svc_worker_certify_refuses_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("svc_worker", tests, NULL, NULL);
}
