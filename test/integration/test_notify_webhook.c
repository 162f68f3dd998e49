/*
 * test_notify_webhook.c: orchestra-notify's webhooks against a real orchestrad and an HTTP
 * receiver on loopback that checks every signature. A receiver answering 500 three times then
 * 200 gets the event accepted once, every attempt with the same seq; a receiver down for good
 * ends in dead letters, visible in `webhook list`, and `webhook redeliver` sends them once it
 * is back (and `--since` sends everything after a seq again); a notifier SIGKILLed during a
 * burst of 1,000 events delivers every one after its restart, in order, with at most the one
 * event that was in flight sent twice.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_flow.h"
#include "harness.h"
#include "notify_harness.h"
#include "support.h"

#define SECRET "whsec-of-the-test"
#define WAIT_MS 90000
#define BURST 1000

/* start makes the daemon and a project of a small workflow; returns the project id. */
static int64_t start(orc_harness *h)
{
    assert_int_equal(orc_harness_start(h, NULL), 0);
    char dir[600];
    assert_int_equal(orc_test_small_workflow(h->dir, "hooked", dir, sizeof dir), 0);
    orc_flow_load_workflow(h, dir, "v1");
    return orc_flow_create_project(h, "hooked", "v1", "Hooked project", NULL);
}

/* create_webhook runs `webhook create URL --topic PREFIX --secret S --json`: the id. */
static int64_t create_webhook(const orc_harness *h, int port, const char *prefix)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/orchestra", port);
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "webhook", "create", url, "--topic", prefix, "--secret", SECRET,
                   NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    int64_t id = json_integer_value(json_object_get(v, "id"));
    assert_true(id > 0);
    assert_int_equal(json_object_size(v), 1);
    json_decref(v);
    orc_flow_run_free(&r);
    return id;
}

/* webhook_json returns webhook id's entry of `webhook list --json` (new reference). */
static json_t *webhook_json(const orc_harness *h, int64_t id)
{
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "webhook", "list", NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *found = NULL;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(v, "webhooks"), i, w)
    {
        if (json_integer_value(json_object_get(w, "id")) == id)
            found = json_incref(w);
    }
    json_decref(v);
    if (!found)
        fail_msg("webhook %" PRId64 " is not listed", id);
    return found;
}

/* wait_listed waits until webhook id's listed key (an integer) reaches want. */
static json_t *wait_listed(const orc_harness *h, int64_t id, const char *key, int64_t want,
                           const orc_notify_proc *n)
{
    int64_t end = orc_test_now_ms() + WAIT_MS;
    for (;;) {
        json_t *w = webhook_json(h, id);
        if (json_integer_value(json_object_get(w, key)) == want)
            return w;
        if (orc_test_now_ms() > end) {
            char *dump = json_dumps(w, 0);
            orc_notify_print_log(n);
            fail_msg("webhook %" PRId64 ": %s never became %" PRId64 ": %s", id, key, want, dump);
        }
        json_decref(w);
        orc_test_sleep_ms(50);
    }
}

/* pause_resume makes 2*n events on the project (project.status_changed). */
static void pause_resume(const orc_harness *h, int64_t project, int n)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client_dev(h, &c), ORC_OK);
    orc_error err;
    for (int i = 0; i < n; i++) {
        if (orc_project_pause(c, project, &err) != ORC_OK ||
            orc_project_resume(c, project, &err) != ORC_OK)
            fail_msg("pause/resume: %s", err.message);
    }
    orc_client_destroy(c);
}

/* last_seq is the newest event's seq. */
static int64_t last_seq(const orc_harness *h)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client_dev(h, &c), ORC_OK);
    orc_event_page *page = NULL;
    orc_error err;
    assert_int_equal(orc_events_list(c, INT64_MAX / 2, "", 1, &page, &err), ORC_OK);
    int64_t last = page->last_seq;
    orc_event_page_free(page);
    orc_client_destroy(c);
    return last;
}

/* check_delivery asserts a record's signature, freshness and that its body is its seq's. */
static void check_delivery(json_t *rec, const char *topic)
{
    json_t *ev = json_object_get(rec, "event");
    if (!json_is_true(json_object_get(rec, "valid")) ||
        !json_is_true(json_object_get(rec, "fresh")) ||
        json_integer_value(json_object_get(ev, "seq")) !=
            json_integer_value(json_object_get(rec, "seq")) ||
        strcmp(json_string_value(json_object_get(ev, "topic")), topic) != 0 ||
        !json_is_string(json_object_get(ev, "type")) ||
        !json_is_string(json_object_get(ev, "time"))) {
        char *dump = json_dumps(rec, 0);
        fail_msg("bad delivery: %s", dump);
    }
}

static void test_500_three_times_then_200_is_accepted_once(void **state)
{
    (void)state;
    orc_harness h = {0};
    int64_t project = start(&h);
    char topic[64];
    snprintf(topic, sizeof topic, "project.%" PRId64 ".", project);
    orc_notify_proc n = {0}, rx = {0};
    const char *fail3[] = {"--fail-first", "3", NULL};
    assert_int_equal(orc_notify_receiver_start(&h, "receiver", 0, SECRET, fail3, &rx), 0);
    int64_t id = create_webhook(&h, rx.port, topic);
    assert_int_equal(
        orc_notify_start(&h, "notify", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, "state", NULL, &n),
        0);
    pause_resume(&h, project, 1); /* two events after the webhook's creation */
    json_t *recs = orc_notify_wait_records(&rx, 5, WAIT_MS, &n);
    assert_non_null(recs);
    assert_int_equal(json_array_size(recs), 5);
    int64_t first = json_integer_value(json_object_get(json_array_get(recs, 0), "seq"));
    for (size_t i = 0; i < 5; i++) {
        json_t *rec = json_array_get(recs, i);
        check_delivery(rec, topic);
        int64_t seq = json_integer_value(json_object_get(rec, "seq"));
        int status = (int)json_integer_value(json_object_get(rec, "status"));
        /* the same event until it is accepted, then the next one, once */
        assert_int_equal(seq, i < 4 ? first : first + 1);
        assert_int_equal(status, i < 3 ? 500 : 200);
    }
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(recs, 3), "event"), "type")),
                        "project.status_changed");
    json_decref(recs);
    json_t *w = wait_listed(&h, id, "delivered", 2, &n);
    assert_int_equal(json_integer_value(json_object_get(w, "delivered_seq")), first + 1);
    assert_string_equal(json_string_value(json_object_get(w, "state")), "active");
    assert_int_equal(json_integer_value(json_object_get(w, "dead_lettered")), 0);
    assert_string_equal(json_string_value(json_object_get(w, "last_error")), "HTTP 500");
    json_decref(w);
    assert_int_equal(orc_notify_stop(&n), 0);
    orc_notify_kill(&rx);
    orc_harness_cleanup(&h);
}

static void test_a_receiver_down_for_good_ends_in_dead_letters_and_redeliver_works(void **state)
{
    (void)state;
    orc_harness h = {0};
    int64_t project = start(&h);
    char topic[64];
    snprintf(topic, sizeof topic, "project.%" PRId64 ".", project);
    int port = orc_test_free_port();
    int64_t id = create_webhook(&h, port, "project.");
    int64_t before = last_seq(&h);
    orc_notify_proc n = {0}, rx = {0};
    const char *one_second[] = {"--retry-for", "1", NULL};
    assert_int_equal(orc_notify_start(&h, "notify", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, "state",
                                      one_second, &n),
                     0);
    pause_resume(&h, project, 1);
    json_t *w = wait_listed(&h, id, "dead_lettered", 2, &n);
    assert_string_equal(json_string_value(json_object_get(w, "state")), "dead-lettered");
    assert_int_equal(json_integer_value(json_object_get(w, "delivered")), 0);
    assert_int_equal(json_integer_value(json_object_get(w, "delivered_seq")), before + 2);
    assert_non_null(strstr(json_string_value(json_object_get(w, "last_error")), "onnect"));
    json_decref(w);
    assert_true(orc_notify_log_has(&n, "dead-lettered after"));

    /* The receiver comes back on the same port: the dead letters go out on request. */
    assert_int_equal(orc_notify_receiver_start(&h, "receiver", port, SECRET, NULL, &rx), 0);
    orc_flow_run r;
    char id_text[32], since_text[32];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    orc_flow_admin(&h, &r, NULL, "webhook", "redeliver", id_text, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    json_t *recs = orc_notify_wait_records(&rx, 2, WAIT_MS, &n);
    assert_non_null(recs);
    for (size_t i = 0; i < 2; i++) {
        check_delivery(json_array_get(recs, i), topic); /* the first matching topic */
        assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, i), "seq")),
                         before + 1 + (int64_t)i);
    }
    json_decref(recs);
    w = wait_listed(&h, id, "dead_lettered", 0, &n);
    json_decref(w);
    w = wait_listed(&h, id, "delivered", 2, &n);
    assert_string_equal(json_string_value(json_object_get(w, "state")), "active");
    json_decref(w);

    /* --since sends every event after the seq again, then carries on with new ones. */
    snprintf(since_text, sizeof since_text, "%" PRId64, before);
    orc_flow_admin(&h, &r, NULL, "webhook", "redeliver", id_text, "--since", since_text, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    recs = orc_notify_wait_records(&rx, 4, WAIT_MS, &n);
    assert_non_null(recs);
    json_decref(recs);
    pause_resume(&h, project, 1);
    recs = orc_notify_wait_records(&rx, 6, WAIT_MS, &n);
    assert_non_null(recs);
    assert_int_equal(json_array_size(recs), 6);
    for (size_t i = 2; i < 6; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, i), "seq")),
                         before + 1 + (int64_t)(i - 2));
    json_decref(recs);
    assert_int_equal(orc_notify_stop(&n), 0);
    orc_notify_kill(&rx);
    orc_harness_cleanup(&h);
}

typedef struct burst_arg {
    const orc_harness *h;
    int64_t project;
} burst_arg;

static void *burst(void *arg)
{
    burst_arg *b = arg;
    orc_client *c = NULL;
    if (orc_harness_client_dev(b->h, &c) != ORC_OK)
        return "no client";
    orc_error err;
    for (int i = 0; i < BURST / 2; i++) {
        if (orc_project_pause(c, b->project, &err) != ORC_OK ||
            orc_project_resume(c, b->project, &err) != ORC_OK) {
            orc_client_destroy(c);
            return "pause/resume refused";
        }
    }
    orc_client_destroy(c);
    return NULL;
}

/* check_burst asserts that the receiver got every seq in (first, first + BURST], in order,
 * with at most one repeat (the delivery in flight when the notifier was killed). */
static void check_burst(json_t *recs, int64_t first, const char *topic)
{
    int64_t expect = first + 1, repeats = 0, prev = first;
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        check_delivery(rec, topic);
        int64_t seq = json_integer_value(json_object_get(rec, "seq"));
        if (seq == prev) {
            repeats++;
            continue;
        }
        if (seq != expect)
            fail_msg("record %zu: seq %" PRId64 ", expected %" PRId64, i, seq, expect);
        prev = seq;
        expect++;
    }
    assert_int_equal(expect, first + BURST + 1);
    assert_true(repeats <= 1);
}

static void test_a_notifier_killed_in_a_burst_delivers_every_event_after_restart(void **state)
{
    (void)state;
    orc_harness h = {0};
    int64_t project = start(&h);
    char topic[64];
    snprintf(topic, sizeof topic, "project.%" PRId64 ".", project);
    orc_notify_proc n = {0}, rx = {0};
    assert_int_equal(orc_notify_receiver_start(&h, "receiver", 0, SECRET, NULL, &rx), 0);
    create_webhook(&h, rx.port, topic);
    int64_t first = last_seq(&h);
    assert_int_equal(
        orc_notify_start(&h, "notify", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, "state", NULL, &n),
        0);
    burst_arg b = {&h, project};
    pthread_t producer;
    assert_int_equal(pthread_create(&producer, NULL, burst, &b), 0);
    /* Kill it once deliveries are under way (the burst goes on meanwhile). */
    json_t *some = orc_notify_wait_records(&rx, 50, WAIT_MS, &n);
    assert_non_null(some);
    json_decref(some);
    orc_notify_kill(&n);
    assert_int_equal(orc_notify_start(&h, "notify-again", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET,
                                      "state", NULL, &n),
                     0);
    assert_true(orc_notify_log_has(&n, "resumes after"));
    void *failed = NULL;
    pthread_join(producer, &failed);
    if (failed)
        fail_msg("burst: %s", (const char *)failed);
    int64_t end = orc_test_now_ms() + WAIT_MS;
    json_t *recs = NULL;
    for (;;) {
        recs = orc_notify_records(&rx);
        size_t got = json_array_size(recs);
        json_t *lastrec = json_array_get(recs, got ? got - 1 : 0);
        if (got && json_integer_value(json_object_get(lastrec, "seq")) == first + BURST)
            break;
        if (orc_test_now_ms() > end) {
            orc_notify_print_log(&n);
            fail_msg("%zu deliveries after %d ms, the burst is %d events", got, WAIT_MS, BURST);
        }
        json_decref(recs);
        orc_test_sleep_ms(100);
    }
    check_burst(recs, first, topic);
    json_decref(recs);
    assert_int_equal(orc_notify_stop(&n), 0);
    orc_notify_kill(&rx);
    orc_harness_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_500_three_times_then_200_is_accepted_once),
        cmocka_unit_test(test_a_receiver_down_for_good_ends_in_dead_letters_and_redeliver_works),
        cmocka_unit_test(test_a_notifier_killed_in_a_burst_delivers_every_event_after_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
