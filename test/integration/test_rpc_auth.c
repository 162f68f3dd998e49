/*
 * test_rpc_auth.c: who may call what on a real orchestrad, through the client library, raw
 * signed envelopes and the CLI: public Health, unsigned and wrongly signed calls, stale
 * timestamps, scopes of keys made with `orchestrad keys create`, revocation while running,
 * and the CLI's exit codes.
 */
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
#include <time.h>

#include "call.h"
#include "harness.h"
#include "orchestra/call.h"
#include "orchestra/version.h"
#include "proto/envelope.pb-c.h"
#include "support.h"

static orc_harness H;

static int group_setup(void **state)
{
    (void)state;
    if (orc_harness_start(&H, NULL) != 0) {
        orc_harness_cleanup(&H);
        return -1;
    }
    return 0;
}

/* cmocka does not count a failed group teardown: main adds this to the failures. */
static int group_teardown_failed;

static int group_teardown(void **state)
{
    (void)state;
    int status = H.pid != 0 ? orc_harness_stop(&H) : 0;
    orc_harness_cleanup(&H);
    group_teardown_failed = status != 0;
    return status == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------- */

static orc_client *client_as(const char *key, const char *secret)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client(&H, key, secret, &c), ORC_OK);
    assert_non_null(c);
    return c;
}

/* list_code calls ListWorkflows through the library and returns its code. */
static int list_code(orc_client *c, orc_error *e)
{
    char *json = NULL;
    int rc = orc_workflow_types_json(c, &json, e);
    orc_free(json);
    return rc;
}

static void expect_code(int got, int want, const orc_error *e)
{
    if (got != want) {
        fprintf(stderr, "got %s (%s), want %s\n", orc_code_name(got), e->message,
                orc_code_name(want));
        orc_harness_print_log(&H);
    }
    assert_int_equal(got, want);
}

/* small_workflow makes a workflow folder named slug in the daemon's folder. */
static void small_workflow(const char *slug, char *dir, size_t dir_size)
{
    assert_int_equal(orc_test_small_workflow(H.dir, slug, dir, dir_size), 0);
}

/* raw_status sends a request built by the library with timestamp ts; the reply's status. */
static int raw_status(orc_client *c, const char *method, const char *request_id, int64_t ts,
                      char *message, size_t message_size)
{
    uint8_t *req = NULL, *reply = NULL;
    size_t req_len = 0, reply_len = 0;
    orc_error e;
    assert_int_equal(orci_client_build_request(c, method, NULL, 0, request_id, ts, &req, &req_len),
                     ORC_OK);
    int rc = orci_client_roundtrip(c, req, req_len, &reply, &reply_len, &e);
    if (rc != ORC_OK)
        fprintf(stderr, "roundtrip: %s\n", e.message);
    assert_int_equal(rc, ORC_OK);
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    assert_non_null(r);
    int status = (int)r->status;
    snprintf(message, message_size, "%s", r->message);
    orchestra__v1__reply__free_unpacked(r, NULL);
    orc_free(req);
    orc_free(reply);
    return status;
}

typedef struct run {
    int code;
    char *out;
    char *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static void expect_exit(const char *what, const run *r, int code)
{
    if (r->code != code) {
        fprintf(stderr, "%s: exit %d, want %d\n-- stdout --\n%s\n-- stderr --\n%s\n", what, r->code,
                code, r->out ? r->out : "", r->err ? r->err : "");
        orc_harness_print_log(&H);
    }
    assert_int_equal(r->code, code);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_health_needs_no_credentials(void **state)
{
    (void)state;
    orc_client *c = client_as(NULL, NULL);
    orc_error e;
    expect_code(orc_health(c, &e), ORC_OK, &e);
    orc_server_info *info = NULL;
    expect_code(orc_server_info_get(c, &info, &e), ORC_OK, &e);
    assert_true(info->dev_mode);
    assert_int_equal(info->auth_window_seconds, 300);
    assert_string_equal(info->version, ORC_VERSION_STRING);
    orc_server_info_free(info);
    orc_client_destroy(c);
}

static void test_orc_call_uses_the_handle_or_the_given_credentials(void **state)
{
    (void)state;
    orc_client *c = client_as(ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET);
    orc_error e;
    void *reply = NULL;
    size_t len = 0;
    /* The handle's key: ListWorkflows (an empty request) answers. */
    expect_code(orc_call(c, "ListWorkflows", NULL, NULL, 0, &reply, &len, &e), ORC_OK, &e);
    assert_non_null(reply);
    orc_free(reply);
    /* Given credentials replace the handle's: a made-up token, then a forged HTTP signature. */
    orc_creds token = {.token = "no-such-token"};
    expect_code(orc_call(c, "ListWorkflows", &token, NULL, 0, &reply, &len, &e),
                ORC_UNAUTHENTICATED, &e);
    assert_null(reply);
    orc_creds http = {.http_key_id = ORC_TEST_DEV_KEY,
                      .http_signing_string = "date: Thu, 28 Apr 2016 20:00:00 GMT",
                      .http_signature = "x7cxTgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4="};
    expect_code(orc_call(c, "ListWorkflows", &http, NULL, 0, &reply, &len, &e), ORC_OK, &e);
    orc_free(reply);
    http.http_signature = "AAAAgVay8HoeEB0Jhe94yXr/z63BsqiP5GFnMV+9D4=";
    expect_code(orc_call(c, "ListWorkflows", &http, NULL, 0, &reply, &len, &e), ORC_UNAUTHENTICATED,
                &e);
    /* No credentials at all, and an unknown method. */
    orc_creds none = {0};
    expect_code(orc_call(c, "ListWorkflows", &none, NULL, 0, &reply, &len, &e), ORC_UNAUTHENTICATED,
                &e);
    expect_code(orc_call(c, "NoSuchMethod", NULL, NULL, 0, &reply, &len, &e), ORC_UNIMPLEMENTED,
                &e);
    orc_client_destroy(c);
}

static void test_unsigned_list_workflows_is_unauthenticated(void **state)
{
    (void)state;
    orc_client *c = client_as(NULL, NULL);
    orc_error e;
    expect_code(list_code(c, &e), ORC_UNAUTHENTICATED, &e);
    assert_true(strlen(e.message) > 0);
    orc_client_destroy(c);
}

static void test_project_key_lists_but_cannot_load(void **state)
{
    (void)state;
    char key[256], secret[256], dir[600];
    assert_int_equal(
        orc_harness_create_key(&H, "viewer", "project", key, sizeof key, secret, sizeof secret), 0);
    orc_client *c = client_as(key, secret);
    orc_error e;
    expect_code(list_code(c, &e), ORC_OK, &e);
    small_workflow("viewer_wf", dir, sizeof dir);
    orc_workflow_ref *ref = NULL;
    expect_code(orc_workflow_load(c, dir, "v1", false, &ref, &e), ORC_PERMISSION_DENIED, &e);
    assert_null(ref);
    assert_true(strlen(e.message) > 0);
    orc_client_destroy(c);

    /* Nothing was loaded: the dev key can load the same folder for the first time. */
    orc_client *admin = client_as(ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET);
    expect_code(orc_workflow_load(admin, dir, "v1", false, &ref, &e), ORC_OK, &e);
    assert_string_equal(ref->workflow, "viewer_wf");
    assert_string_equal(ref->version, "v1");
    orc_workflow_ref_free(ref);
    orc_client_destroy(admin);
}

static void test_wrong_secret_is_unauthenticated(void **state)
{
    (void)state;
    orc_error e;
    orc_client *good = client_as(ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET);
    expect_code(list_code(good, &e), ORC_OK, &e);
    orc_client_destroy(good);

    orc_client *bad = client_as(ORC_TEST_DEV_KEY, "NOT-THE-SECRET");
    expect_code(list_code(bad, &e), ORC_UNAUTHENTICATED, &e);
    orc_client_destroy(bad);

    orc_client *unknown = client_as("no-such-key", ORC_TEST_DEV_SECRET);
    expect_code(list_code(unknown, &e), ORC_UNAUTHENTICATED, &e);
    orc_client_destroy(unknown);
}

static void test_stale_or_future_timestamp_is_unauthenticated(void **state)
{
    (void)state;
    orc_client *c = client_as(ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET);
    char msg[ORC_ERROR_MESSAGE_MAX];
    int64_t now = (int64_t)time(NULL);
    /* The same construction with a current timestamp is accepted. */
    assert_int_equal(raw_status(c, "ListWorkflows", "ts-fresh", now, msg, sizeof msg), ORC_OK);
    int st = raw_status(c, "ListWorkflows", "ts-stale", now - 600, msg, sizeof msg);
    if (st != ORC_UNAUTHENTICATED)
        fprintf(stderr, "stale: %s %s\n", orc_code_name(st), msg);
    assert_int_equal(st, ORC_UNAUTHENTICATED);
    st = raw_status(c, "ListWorkflows", "ts-future", now + 600, msg, sizeof msg);
    assert_int_equal(st, ORC_UNAUTHENTICATED);
    orc_client_destroy(c);
}

static void test_revoked_key_is_unauthenticated(void **state)
{
    (void)state;
    char key[256], secret[256];
    assert_int_equal(orc_harness_create_key(&H, "short-lived", "project,admin", key, sizeof key,
                                            secret, sizeof secret),
                     0);
    orc_client *c = client_as(key, secret);
    orc_error e;
    expect_code(list_code(c, &e), ORC_OK, &e);

    run r = {0};
    assert_int_equal(
        orc_harness_orchestrad_admin(&H, &r.code, &r.out, &r.err, "keys", "revoke", key, NULL), 0);
    expect_exit("keys revoke", &r, 0);
    run_free(&r);

    expect_code(list_code(c, &e), ORC_UNAUTHENTICATED, &e);
    orc_client_destroy(c);

    /* Revoking it again: no active key of that id. */
    assert_int_equal(
        orc_harness_orchestrad_admin(&H, &r.code, &r.out, &r.err, "keys", "revoke", key, NULL), 0);
    expect_exit("second keys revoke", &r, 1);
    run_free(&r);
}

static void test_cli_exit_status_one_on_refusal_with_message(void **state)
{
    (void)state;
    char key[256], secret[256], dir[600];
    assert_int_equal(
        orc_harness_create_key(&H, "cli-viewer", "project", key, sizeof key, secret, sizeof secret),
        0);
    small_workflow("cli_refused_wf", dir, sizeof dir);
    run r = {0};
    assert_int_equal(orc_harness_cli_as(&H, key, secret, NULL, &r.code, &r.out, &r.err, "workflow",
                                        "load", dir, "v1", NULL),
                     0);
    expect_exit("load with a project key", &r, 1);
    assert_true(strlen(r.err) > 0);
    assert_string_equal(r.out, "");
    run_free(&r);

    assert_int_equal(orc_harness_cli_as(&H, NULL, NULL, NULL, &r.code, &r.out, &r.err, "--json",
                                        "workflow", "list", NULL),
                     0);
    expect_exit("unsigned list", &r, 1);
    assert_true(strlen(r.err) > 0);
    run_free(&r);

    assert_int_equal(orc_harness_cli_as(&H, ORC_TEST_DEV_KEY, "wrong", NULL, &r.code, &r.out,
                                        &r.err, "--json", "workflow", "list", NULL),
                     0);
    expect_exit("list with a wrong secret", &r, 1);
    assert_true(strlen(r.err) > 0);
    run_free(&r);
}

static void test_cli_exit_status_three_when_no_server_listens(void **state)
{
    (void)state;
    int port = orc_test_free_port();
    assert_true(port > 0);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    const char *argv[] = {
        orc_test_env("ORC_CLI"), "--rpc", url, "--json", "workflow", "list", NULL};
    const char *env[] = {"ORCHESTRA_API_KEY=" ORC_TEST_DEV_KEY,
                         "ORCHESTRA_API_SECRET=" ORC_TEST_DEV_SECRET, "PATH=/usr/bin:/bin", NULL};
    run r = {0};
    int64_t t0 = orc_test_now_ms();
    assert_int_equal(orc_test_run(argv, env, NULL, 60000, &r.code, &r.out, &r.err), 0);
    int64_t took = orc_test_now_ms() - t0;
    expect_exit("list with no server", &r, 3);
    assert_true(strlen(r.err) > 0);
    fprintf(stderr, "(the CLI reported the missing server after %lld ms)\n", (long long)took);
    run_free(&r);
}

static void test_cli_exit_status_two_on_usage_error(void **state)
{
    (void)state;
    run r = {0};
    assert_int_equal(
        orc_harness_cli(&H, NULL, &r.code, &r.out, &r.err, "workflow", "frobnicate", NULL), 0);
    expect_exit("unknown subcommand", &r, 2);
    assert_true(strlen(r.err) > 0);
    run_free(&r);

    assert_int_equal(orc_harness_cli(&H, NULL, &r.code, &r.out, &r.err, "workflow", "load", NULL),
                     0);
    expect_exit("load without a folder", &r, 2);
    run_free(&r);

    assert_int_equal(orc_harness_cli(&H, NULL, &r.code, &r.out, &r.err, "--no-such-flag",
                                     "workflow", "list", NULL),
                     0);
    expect_exit("unknown flag", &r, 2);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_needs_no_credentials),
        cmocka_unit_test(test_orc_call_uses_the_handle_or_the_given_credentials),
        cmocka_unit_test(test_unsigned_list_workflows_is_unauthenticated),
        cmocka_unit_test(test_project_key_lists_but_cannot_load),
        cmocka_unit_test(test_wrong_secret_is_unauthenticated),
        cmocka_unit_test(test_stale_or_future_timestamp_is_unauthenticated),
        cmocka_unit_test(test_revoked_key_is_unauthenticated),
        cmocka_unit_test(test_cli_exit_status_one_on_refusal_with_message),
        cmocka_unit_test(test_cli_exit_status_three_when_no_server_listens),
        cmocka_unit_test(test_cli_exit_status_two_on_usage_error),
    };
    int failed = cmocka_run_group_tests_name("rpc_auth", tests, group_setup, group_teardown);
    return failed + group_teardown_failed;
}
