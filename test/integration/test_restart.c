/*
 * test_restart.c: orchestrad stops cleanly on SIGTERM, idle or busy, and a new process on
 * the same database serves the same state (workflows and sample users).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support.h"

static int setup(void **state)
{
    orc_harness *h = calloc(1, sizeof *h);
    *state = NULL;
    if (h == NULL)
        return -1;
    if (orc_harness_start(h, NULL) != 0) {
        orc_harness_cleanup(h);
        free(h);
        return -1;
    }
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    orc_harness *h = *state;
    if (h == NULL)
        return 0;
    int status = h->pid != 0 ? orc_harness_stop(h) : 0;
    orc_harness_cleanup(h);
    free(h);
    return status == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* cli_json runs the CLI with --json and the arguments, expects exit 0, returns the JSON. */
static json_t *cli_json(const orc_harness *h, const char *a1, const char *a2, const char *a3,
                        const char *a4)
{
    int code = -1;
    char *out = NULL, *err = NULL;
    assert_int_equal(orc_harness_cli(h, NULL, &code, &out, &err, "--json", a1, a2, a3, a4, NULL),
                     0);
    if (code != 0)
        fprintf(stderr, "orchestra %s %s: exit %d\n%s\n%s\n", a1, a2, code, out, err);
    assert_int_equal(code, 0);
    json_error_t jerr;
    json_t *v = json_loads(out, 0, &jerr);
    if (v == NULL)
        fprintf(stderr, "not JSON: %s\n", out);
    assert_non_null(v);
    free(out);
    free(err);
    return v;
}

/* sorted_users returns the "users" array of a sample-data reply as a sorted JSON array. */
static json_t *sorted_users(json_t *reply)
{
    json_t *users = json_object_get(reply, "users");
    assert_true(json_is_array(users));
    size_t n = json_array_size(users);
    const char **names = calloc(n + 1, sizeof *names);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        names[i] = json_string_value(json_array_get(users, i));
        assert_non_null(names[i]);
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(names[i]));
    free(names);
    return out;
}

/* db_usernames reads every username from the database (read-only), sorted. */
static json_t *db_usernames(const orc_harness *h)
{
    char *rows = orc_harness_sql(h, "SELECT username FROM users ORDER BY username");
    assert_non_null(rows);
    json_t *out = json_array();
    for (char *save = NULL, *line = strtok_r(rows, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        json_array_append_new(out, json_string(line));
    free(rows);
    return out;
}

/* contains_all tells whether every string of want is in have. */
static bool contains_all(json_t *have, json_t *want)
{
    for (size_t i = 0; i < json_array_size(want); i++) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(have) && !found; j++)
            found = json_equal(json_array_get(have, j), json_array_get(want, i));
        if (!found)
            return false;
    }
    return true;
}

static void assert_json_equal(json_t *got, json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_SORT_KEYS);
        fprintf(stderr, "JSON differs\n-- got --\n%s\n-- want --\n%s\n", g, w);
        free(g);
        free(w);
        fail();
    }
}

static void assert_log_says_stopped(const orc_harness *h)
{
    char *log = orc_harness_read_log(h);
    assert_non_null(log);
    if (strstr(log, "stopped") == NULL) {
        orc_harness_print_log(h);
        fail_msg("the log does not say the daemon stopped");
    }
    free(log);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_state_survives_a_clean_restart(void **state)
{
    orc_harness *h = *state;
    char simple[700], journalism[700];
    const char *src = orc_test_env("ORC_SOURCE_DIR");
    snprintf(simple, sizeof simple, "%s/plugins/simple_workflow", src);
    snprintf(journalism, sizeof journalism, "%s/plugins/journalism_workflow", src);

    json_decref(cli_json(h, "workflow", "load", simple, "v1"));
    json_decref(cli_json(h, "workflow", "load", journalism, "v1"));
    json_t *reply = cli_json(h, "workflow", "sample-data", "journalism/v1", NULL);
    json_t *users = sorted_users(reply);
    json_decref(reply);
    assert_int_equal(json_array_size(users), 6);
    json_t *list_before = cli_json(h, "workflow", "list", NULL, NULL);
    json_t *db_users_before = db_usernames(h);
    assert_true(contains_all(db_users_before, users));

    assert_int_equal(orc_harness_stop(h), 0);
    assert_log_says_stopped(h);
    assert_int_equal(orc_harness_relaunch(h), 0);

    /* Same listing, same users in the database, before anything is reloaded. */
    json_t *list_after = cli_json(h, "workflow", "list", NULL, NULL);
    assert_json_equal(list_after, list_before);
    json_t *db_users_after = db_usernames(h);
    assert_json_equal(db_users_after, db_users_before);

    /* Loading the sample data again is accepted and names the same users. */
    reply = cli_json(h, "workflow", "sample-data", "journalism/v1", NULL);
    json_t *users_again = sorted_users(reply);
    assert_json_equal(users_again, users);
    json_t *db_users_reloaded = db_usernames(h);
    assert_json_equal(db_users_reloaded, db_users_before);

    /* A reload of the workflow without --force is still refused: the version persisted. */
    int code = -1;
    char *out = NULL, *err = NULL;
    assert_int_equal(
        orc_harness_cli(h, NULL, &code, &out, &err, "workflow", "load", simple, "v1", NULL), 0);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "Version v1 already exists"));
    free(out);
    free(err);

    json_decref(reply);
    json_decref(users);
    json_decref(users_again);
    json_decref(list_before);
    json_decref(list_after);
    json_decref(db_users_before);
    json_decref(db_users_after);
    json_decref(db_users_reloaded);
}

#define N_CALLERS 8

typedef struct caller {
    pthread_t thread;
    const orc_harness *h;
    atomic_bool *stop;
    atomic_int *total_ok;
    int ok;
    int unavailable;
    int other;
    int other_code;
    char other_message[ORC_ERROR_MESSAGE_MAX];
} caller;

static void *caller_main(void *arg)
{
    caller *k = arg;
    orc_client *c = NULL;
    if (orc_harness_client_timeout(k->h, ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, 2000, &c) !=
        ORC_OK) {
        k->other++;
        snprintf(k->other_message, sizeof k->other_message, "cannot connect");
        return NULL;
    }
    while (!atomic_load(k->stop)) {
        char *json = NULL;
        orc_error e;
        int rc = orc_workflow_types_json(c, &json, &e);
        orc_free(json);
        if (rc == ORC_OK) {
            k->ok++;
            atomic_fetch_add(k->total_ok, 1);
        } else if (rc == ORC_UNAVAILABLE) {
            k->unavailable++;
        } else if (k->other++ == 0) {
            k->other_code = rc;
            snprintf(k->other_message, sizeof k->other_message, "%s", e.message);
        }
    }
    orc_client_destroy(c);
    return NULL;
}

static void test_sigterm_with_requests_in_flight_exits_cleanly(void **state)
{
    orc_harness *h = *state;
    atomic_bool stop = false;
    atomic_int total_ok = 0;
    caller ks[N_CALLERS];
    memset(ks, 0, sizeof ks);
    for (int i = 0; i < N_CALLERS; i++) {
        ks[i].h = h;
        ks[i].stop = &stop;
        ks[i].total_ok = &total_ok;
        assert_int_equal(pthread_create(&ks[i].thread, NULL, caller_main, &ks[i]), 0);
    }
    /* Let the callers get going (bounded wait), then stop the daemon under them. */
    int64_t deadline = orc_test_now_ms() + 15000;
    while (atomic_load(&total_ok) < N_CALLERS * 20 && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(5);
    int busy_ok = atomic_load(&total_ok);
    int status = orc_harness_stop(h);
    atomic_store(&stop, true);
    for (int i = 0; i < N_CALLERS; i++)
        pthread_join(ks[i].thread, NULL);

    int ok = 0, unavailable = 0;
    for (int i = 0; i < N_CALLERS; i++) {
        ok += ks[i].ok;
        unavailable += ks[i].unavailable;
    }
    fprintf(stderr, "(%d calls succeeded, %d before SIGTERM; %d were UNAVAILABLE)\n", ok, busy_ok,
            unavailable);
    assert_true(busy_ok >= N_CALLERS * 20);
    assert_int_equal(status, 0);
    assert_log_says_stopped(h);
    for (int i = 0; i < N_CALLERS; i++) {
        if (ks[i].other > 0)
            fprintf(stderr, "caller %d: %d calls failed otherwise than UNAVAILABLE, first %s %s\n",
                    i, ks[i].other, orc_code_name(ks[i].other_code), ks[i].other_message);
        assert_int_equal(ks[i].other, 0);
        assert_true(ks[i].ok > 0);
    }

    /* The database is fine: a new process serves it. */
    assert_int_equal(orc_harness_relaunch(h), 0);
    json_t *list = cli_json(h, "workflow", "list", NULL, NULL);
    assert_true(json_is_object(json_object_get(list, "workflows")));
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_survives_a_clean_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_with_requests_in_flight_exits_cleanly, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("restart", tests, NULL, NULL);
}
