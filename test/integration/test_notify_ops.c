/*
 * test_notify_ops.c: orchestra-notify as a daemon, with a key of the notify scope only (what
 * the README tells operators to create): SIGTERM stops it within 5 s even while a delivery
 * hangs (a receiver that never answers), the abandoned delivery goes out after a restart (at
 * least once), SIGHUP reopens --log-file after it was moved, a second notifier on the same
 * state folder is refused, and a key without the notify scope is refused with a message. The
 * webhook commands' outputs and refusals, and a webhook deleted while the notifier runs stops.
 * A stop is prompt also while the coordinator does not answer (its calls would wait 10 s).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_flow.h"
#include "harness.h"
#include "notify_harness.h"
#include "support.h"

#define SECRET "ops-secret"
#define WAIT_MS 60000

static void test_stop_reload_restart_with_a_notify_key(void **state)
{
    (void)state;
    orc_harness h = {0};
    assert_int_equal(orc_harness_start(&h, NULL), 0);
    char dir[600], key[128], secret[128], url[96], topic[64], log_file[400];
    assert_int_equal(orc_test_small_workflow(h.dir, "opsflow", dir, sizeof dir), 0);
    orc_flow_load_workflow(&h, dir, "v1");
    int64_t project = orc_flow_create_project(&h, "opsflow", "v1", "Ops", NULL);
    snprintf(topic, sizeof topic, "project.%" PRId64 ".", project);
    assert_int_equal(
        orc_harness_create_key(&h, "notifier", "notify", key, sizeof key, secret, sizeof secret),
        0);
    /* A receiver that takes the request and never answers. */
    orc_notify_proc stall = {0}, rx = {0}, n = {0}, second = {0};
    const char *hang[] = {"--stall", "120", NULL};
    assert_int_equal(orc_notify_receiver_start(&h, "stalled", 0, SECRET, hang, &stall), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/in", stall.port);
    orc_flow_run r;
    orc_flow_admin(&h, &r, NULL, "webhook", "create", url, "--topic", topic, "--secret", SECRET,
                   NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    snprintf(log_file, sizeof log_file, "%s/notify-file.log", h.dir);
    const char *args[] = {"--webhook-timeout", "60000", "--log-file", log_file, NULL};
    assert_int_equal(orc_notify_start(&h, "notify", key, secret, "state", args, &n), 0);
    assert_string_equal(n.log_path, log_file);
    assert_int_equal(orc_notify_wait_log(&n, "starts after", WAIT_MS), 0);

    /* a second notifier on the same state folder is refused */
    assert_int_equal(orc_notify_start(&h, "second", key, secret, "state", NULL, &second), -1);
    assert_true(orc_notify_log_has(&second, "is in use by process"));

    /* SIGHUP after logrotate moved the file: a new file, the daemon goes on */
    char moved[420];
    snprintf(moved, sizeof moved, "%s.1", log_file);
    assert_int_equal(rename(log_file, moved), 0);
    kill(n.pid, SIGHUP);
    assert_int_equal(orc_notify_wait_log(&n, "SIGHUP: log file reopened", WAIT_MS), 0);
    assert_true(orc_test_file_has(moved, "starts after"));

    /* a delivery that hangs does not hold up a stop */
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client_dev(&h, &c), ORC_OK);
    orc_error err;
    assert_int_equal(orc_project_pause(c, project, &err), ORC_OK);
    json_t *got = orc_notify_wait_records(&stall, 1, WAIT_MS, &n);
    assert_non_null(got);
    int64_t seq = json_integer_value(json_object_get(json_array_get(got, 0), "seq"));
    json_decref(got);
    int64_t took = -1;
    int status = orc_notify_term(&n, 10000, &took);
    if (status != 0 || took < 0 || took >= 5000) {
        orc_notify_print_log(&n);
        fail_msg("stopped with %d after %" PRId64 " ms", status, took);
    }

    /* The receiver is fixed (same port): the abandoned delivery goes out after a restart. */
    int port = stall.port;
    orc_notify_kill(&stall);
    assert_int_equal(orc_notify_receiver_start(&h, "receiver", port, SECRET, NULL, &rx), 0);
    assert_int_equal(orc_notify_start(&h, "notify-again", key, secret, "state", NULL, &n), 0);
    got = orc_notify_wait_records(&rx, 1, WAIT_MS, &n);
    assert_non_null(got);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(got, 0), "seq")), seq);
    assert_true(json_is_true(json_object_get(json_array_get(got, 0), "valid")));
    json_decref(got);
    assert_int_equal(orc_notify_stop(&n), 0);
    orc_client_destroy(c);
    orc_notify_kill(&rx);
    orc_harness_cleanup(&h);
}

static void test_a_key_without_the_notify_scope_is_refused(void **state)
{
    (void)state;
    orc_harness h = {0};
    assert_int_equal(orc_harness_start(&h, NULL), 0);
    char key[128], secret[128];
    assert_int_equal(
        orc_harness_create_key(&h, "runner", "executor", key, sizeof key, secret, sizeof secret),
        0);
    orc_notify_proc n = {0};
    /* A coordinator out of reach is waited for; a key it refuses is a mistake to report. */
    assert_int_equal(orc_notify_start(&h, "notify", key, secret, "state", NULL, &n), -1);
    assert_true(orc_notify_log_has(&n, "ListWebhooks requires the admin or notify scope"));
    assert_int_equal(n.pid, 0); /* it exited */
    orc_harness_cleanup(&h);
}

/* run_cli runs `orchestra --json ARGS` with the --dev key: its exit status, stdout and stderr. */
static int run_cli(const orc_harness *h, char **out, char **err, const char *const *args)
{
    const char *argv[16] = {"--json"};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int code = -1;
    assert_int_equal(
        orc_harness_cli_argv(h, ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, NULL, &code, out, err, argv),
        0);
    return code;
}

static void test_webhook_commands_and_a_deleted_webhook_stops(void **state)
{
    (void)state;
    orc_harness h = {0};
    assert_int_equal(orc_harness_start(&h, NULL), 0);
    char *out = NULL, *err = NULL;
    const char *bad_url[] = {"webhook", "create", "ftp://x/", "--secret", "s", NULL};
    assert_int_equal(run_cli(&h, &out, &err, bad_url), 1);
    assert_non_null(strstr(err, "INVALID_ARGUMENT"));
    assert_non_null(strstr(err, "http://"));
    free(out);
    free(err);
    const char *no_secret[] = {"webhook", "create", "http://127.0.0.1:9/", NULL};
    assert_int_equal(run_cli(&h, &out, &err, no_secret), 2);
    free(out);
    free(err);
    const char *unknown[] = {"webhook", "redeliver", "99", NULL};
    assert_int_equal(run_cli(&h, &out, &err, unknown), 1);
    assert_non_null(strstr(err, "No webhook 99"));
    free(out);
    free(err);

    orc_notify_proc n = {0};
    const char *create[] = {"webhook", "create", "http://127.0.0.1:9/", "--secret", "s", NULL};
    assert_int_equal(run_cli(&h, &out, &err, create), 0);
    assert_string_equal(out, "{\"id\":1}\n");
    free(out);
    free(err);
    assert_int_equal(
        orc_notify_start(&h, "notify", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, "state", NULL, &n),
        0);
    assert_int_equal(orc_notify_wait_log(&n, "webhook:1: starts after", WAIT_MS), 0);
    const char *del[] = {"webhook", "delete", "1", NULL};
    assert_int_equal(run_cli(&h, &out, &err, del), 0);
    assert_string_equal(out, "{}\n");
    free(out);
    free(err);
    assert_int_equal(orc_notify_wait_log(&n, "webhook:1: deleted on the coordinator", WAIT_MS), 0);
    const char *list[] = {"webhook", "list", NULL};
    assert_int_equal(run_cli(&h, &out, &err, list), 0);
    assert_string_equal(out, "{\"webhooks\":[]}\n");
    free(out);
    free(err);
    assert_int_equal(orc_notify_stop(&n), 0);
    orc_harness_cleanup(&h);
}

static void test_a_stop_is_prompt_while_the_coordinator_does_not_answer(void **state)
{
    (void)state;
    orc_harness h = {0};
    assert_int_equal(orc_harness_start(&h, NULL), 0);
    orc_notify_proc n = {0};
    const char *mail[] = {"--smtp", "smtp://127.0.0.1:9", "--email-start", "0", NULL};
    assert_int_equal(
        orc_notify_start(&h, "notify", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, "state", mail, &n),
        0);
    /* The coordinator goes away: the notifier's calls now wait for their 10 s timeout. */
    assert_int_equal(orc_harness_stop(&h), 0);
    orc_test_sleep_ms(500);
    int64_t took = -1;
    int status = orc_notify_term(&n, 10000, &took);
    if (status != 0 || took < 0 || took >= 5000) {
        orc_notify_print_log(&n);
        fail_msg("stopped with %d after %" PRId64 " ms", status, took);
    }
    orc_harness_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_reload_restart_with_a_notify_key),
        cmocka_unit_test(test_a_key_without_the_notify_scope_is_refused),
        cmocka_unit_test(test_webhook_commands_and_a_deleted_webhook_stops),
        cmocka_unit_test(test_a_stop_is_prompt_while_the_coordinator_does_not_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
