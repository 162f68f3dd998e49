/*
 * test_subscribe.c: the ordering core of orc_subscription over a fake event source.
 *
 * The fake holds a committed history (what ListEvents answers, filtered by prefix as the
 * server does) and a queue of live messages (what the SUB socket would deliver: possibly
 * reordered, duplicated, with holes), plus a fake clock that a wait without news moves
 * forward. Every test checks the delivered sequence against the history.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestra/client.h"
#include "subscribe.h"

#define MAX_HISTORY 2000
#define MAX_LIVE 8000

typedef struct fake {
    int64_t now;
    /* history: seq i+1 has topics topics[i][0..1] (the second may be NULL) */
    const char *topics[MAX_HISTORY][2];
    int64_t committed;
    /* live messages: seq and the topic it was published under */
    int64_t live_seq[MAX_LIVE];
    const char *live_topic[MAX_LIVE];
    size_t live_head;
    size_t live_len;
    bool resync;
    /* failure injection: the next fail_count list calls return fail_code */
    int fail_code;
    int fail_count;
    int lists;
} fake;

static orc_event *make_event(int64_t seq, const char *topic)
{
    orc_event *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->seq = seq;
    e->type = strdup("task.status_changed");
    e->topic = strdup(topic);
    e->step = strdup("");
    e->workflow = strdup("");
    e->worker = strdup("");
    e->old_status = strdup("");
    e->new_status = strdup("");
    e->payload = strdup("{}");
    return e;
}

static bool starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int fake_recv(void *arg, int timeout_ms, orc_event **ev, bool *resync, orc_error *err)
{
    fake *f = arg;
    *resync = f->resync;
    f->resync = false;
    if (f->live_head < f->live_len) {
        size_t i = f->live_head++;
        *ev = make_event(f->live_seq[i], f->live_topic[i]);
        return ORC_OK;
    }
    *ev = NULL;
    if (timeout_ms > 0)
        f->now += timeout_ms;
    return orc_error_set(err, ORC_DEADLINE_EXCEEDED, NULL);
}

static int fake_list(void *arg, int64_t after_seq, const char *prefix, int limit,
                     orc_event_page *page, orc_error *err)
{
    fake *f = arg;
    memset(page, 0, sizeof *page);
    f->lists++;
    if (f->fail_count > 0) {
        f->fail_count--;
        return orc_error_set(err, f->fail_code, "injected failure");
    }
    page->events = calloc((size_t)limit, sizeof *page->events);
    assert_non_null(page->events);
    for (int64_t seq = after_seq + 1; seq <= f->committed && page->n_events < (size_t)limit;
         seq++) {
        for (int k = 0; k < 2; k++) {
            const char *t = f->topics[seq - 1][k];
            if (starts_with(t, prefix)) {
                page->events[page->n_events++] = make_event(seq, t);
                break;
            }
        }
    }
    page->last_seq = f->committed;
    page->first_seq = 1;
    return ORC_OK;
}

static int64_t fake_now(void *arg)
{
    return ((fake *)arg)->now;
}

/* commit appends an event with these topics (t2 may be NULL) to the history. */
static int64_t commit(fake *f, const char *t1, const char *t2)
{
    assert_true(f->committed < MAX_HISTORY);
    f->topics[f->committed][0] = t1;
    f->topics[f->committed][1] = t2;
    return ++f->committed;
}

/* publish queues a live message of seq under topic. */
static void publish(fake *f, int64_t seq, const char *topic)
{
    assert_true(f->live_len < MAX_LIVE);
    f->live_seq[f->live_len] = seq;
    f->live_topic[f->live_len] = topic;
    f->live_len++;
}

/* commit_publish commits an event with one topic and publishes it. */
static int64_t commit_publish(fake *f, const char *topic)
{
    int64_t seq = commit(f, topic, NULL);
    publish(f, seq, topic);
    return seq;
}

static orc_subscription *open_sub(fake *f, const char *prefix, int64_t after,
                                  const orci_subscribe_tuning *t)
{
    orci_event_source src = {.arg = f, .recv = fake_recv, .list = fake_list, .now_ms = fake_now};
    orc_subscription *s = NULL;
    orc_error err;
    assert_int_equal(orci_subscription_new_source(&src, prefix, after, t, &s, &err), ORC_OK);
    return s;
}

/*
 * drain delivers with timeout_ms per call until ORC_DEADLINE_EXCEEDED, appending seqs to
 * got (n in/out). Any other code fails the test.
 */
static void drain(orc_subscription *s, int timeout_ms, int64_t *got, size_t *n, size_t max)
{
    for (;;) {
        orc_event *ev = NULL;
        orc_error err;
        int rc = orc_subscription_next(s, timeout_ms, &ev, &err);
        if (rc == ORC_DEADLINE_EXCEEDED) {
            assert_null(ev);
            return;
        }
        if (rc != ORC_OK)
            fail_msg("next: %s %s", orc_code_name(rc), err.message);
        assert_non_null(ev);
        assert_true(*n < max);
        got[(*n)++] = ev->seq;
        orc_event_free(ev);
    }
}

/* expect_range asserts that got[0..n) is first, first+1, ..., last. */
static void expect_range(const int64_t *got, size_t n, int64_t first, int64_t last)
{
    assert_int_equal(n, (size_t)(last - first + 1));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], first + (int64_t)i);
}

static void test_subscription_catches_up_from_history_in_order(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    for (int i = 0; i < 5; i++)
        commit(f, "project.1.", NULL);
    orc_subscription *s = open_sub(f, "", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 5);
    assert_int_equal(orc_subscription_last_seq(s), 5);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_delivers_contiguous_live_events_without_history_reads(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16); /* the catch-up: nothing yet */
    assert_int_equal(n, 0);
    uint64_t replays = orci_subscription_replays(s);
    for (int i = 0; i < 4; i++)
        commit_publish(f, "project.1.");
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 4);
    assert_int_equal(orci_subscription_replays(s), replays);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_drops_duplicate_copies_of_an_event(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    /* One event per topic: an "" subscriber receives every copy. */
    for (int i = 0; i < 3; i++) {
        int64_t seq = commit(f, "project.1.", "worker.ann.");
        publish(f, seq, "project.1.");
        publish(f, seq, "worker.ann.");
    }
    publish(f, 2, "project.1."); /* a late repeat */
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 3);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_reorders_events_that_arrive_ahead(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    for (int i = 0; i < 4; i++)
        commit(f, "project.1.", NULL);
    publish(f, 1, "project.1.");
    publish(f, 3, "project.1.");
    publish(f, 2, "project.1.");
    publish(f, 4, "project.1.");
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 4);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_fills_a_gap_from_history(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    uint64_t replays = orci_subscription_replays(s);
    commit_publish(f, "project.1.");
    commit_publish(f, "project.1.");
    commit(f, "project.1.", NULL); /* 3 and 4 lost by the feed */
    commit(f, "project.1.", NULL);
    commit_publish(f, "project.1.");
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 5);
    assert_int_equal(orci_subscription_replays(s), replays + 1);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_resumes_after_a_stored_seq(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    for (int i = 0; i < 10; i++)
        commit(f, "project.1.", NULL);
    orc_subscription *s = open_sub(f, "", 6, NULL);
    assert_int_equal(orc_subscription_last_seq(s), 6);
    publish(f, 5, "project.1."); /* older than the resume point */
    publish(f, 9, "project.1.");
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 7, 10);
    assert_int_equal(orc_subscription_last_seq(s), 10);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_filtered_feed_delivers_only_matching_events(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "project.1.", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    /* The SUB socket filters: only project.1. messages reach the subscriber. */
    for (int i = 0; i < 6; i++) {
        if (i % 2 == 0) {
            int64_t seq = commit(f, "workflow.w.", "project.1.");
            publish(f, seq, "project.1.");
        } else {
            commit(f, "project.2.", NULL);
        }
    }
    orc_event *ev = NULL;
    orc_error err;
    int64_t want[] = {1, 3, 5};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_OK);
        assert_int_equal(ev->seq, want[i]);
        assert_string_equal(ev->topic, "project.1.");
        orc_event_free(ev);
    }
    assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_DEADLINE_EXCEEDED);
    assert_null(ev);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_rereads_history_after_a_reconnection(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    commit_publish(f, "project.1.");
    drain(s, 0, got, &n, 16);
    /* Published while the feed was down: never seen live. */
    commit(f, "project.1.", NULL);
    commit(f, "project.1.", NULL);
    f->resync = true;
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 3);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_catches_a_dropped_tail_when_idle(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orci_subscribe_tuning t = {.idle_replay_ms = 1000};
    orc_subscription *s = open_sub(f, "", 0, &t);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    commit(f, "project.1.", NULL); /* the feed dropped it, and nothing follows */
    int64_t before = f->now;
    orc_event *ev = NULL;
    orc_error err;
    assert_int_equal(orc_subscription_next(s, 5000, &ev, &err), ORC_OK);
    assert_int_equal(ev->seq, 1);
    assert_true(f->now - before >= 1000);
    assert_true(f->now - before < 5000);
    orc_event_free(ev);
    /* Without news, a timeout is reported once the time is up. */
    before = f->now;
    assert_int_equal(orc_subscription_next(s, 300, &ev, &err), ORC_DEADLINE_EXCEEDED);
    assert_int_equal(f->now - before, 300);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_pages_through_a_long_history(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    for (int i = 0; i < 10; i++)
        commit(f, "project.1.", NULL);
    orci_subscribe_tuning t = {.page_size = 3};
    orc_subscription *s = open_sub(f, "", 0, &t);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 10);
    assert_true(f->lists >= 4);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_reports_pruned_history_and_keeps_its_place(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    commit(f, "project.1.", NULL);
    f->fail_code = ORC_OUT_OF_RANGE;
    f->fail_count = 1;
    orc_subscription *s = open_sub(f, "", 0, NULL);
    orc_event *ev = NULL;
    orc_error err;
    assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_OUT_OF_RANGE);
    assert_int_equal(err.code, ORC_OUT_OF_RANGE);
    assert_null(ev);
    assert_int_equal(orc_subscription_last_seq(s), 0);
    f->now += 1000; /* past the retry pause */
    assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_OK);
    assert_int_equal(ev->seq, 1);
    orc_event_free(ev);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_retries_an_unreachable_history(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    commit(f, "project.1.", NULL);
    f->fail_code = ORC_UNAVAILABLE;
    f->fail_count = 2;
    orc_subscription *s = open_sub(f, "", 0, NULL);
    orc_event *ev = NULL;
    orc_error err;
    /* Within the timeout the failed reads are retried by the subscription itself. */
    assert_int_equal(orc_subscription_next(s, 1000, &ev, &err), ORC_OK);
    assert_int_equal(ev->seq, 1);
    assert_int_equal(f->lists, 3);
    orc_event_free(ev);
    /* When the time runs out first, the caller hears why. */
    commit(f, "project.1.", NULL);
    f->resync = true;
    f->fail_count = 100;
    assert_int_equal(orc_subscription_next(s, 500, &ev, &err), ORC_UNAVAILABLE);
    f->fail_count = 0;
    f->now += 1000;
    assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_OK);
    assert_int_equal(ev->seq, 2);
    orc_event_free(ev);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_recovers_from_a_full_pending_buffer(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orci_subscribe_tuning t = {.pending_max = 4};
    orc_subscription *s = open_sub(f, "", 0, &t);
    int64_t got[32];
    size_t n = 0;
    drain(s, 0, got, &n, 32);
    commit(f, "project.1.", NULL); /* lost: everything after it waits behind a hole */
    for (int i = 0; i < 19; i++)
        commit_publish(f, "project.1.");
    /* The history is out of reach while the feed floods the buffer. */
    f->fail_code = ORC_UNAVAILABLE;
    f->fail_count = 1;
    orc_event *ev = NULL;
    orc_error err;
    assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_UNAVAILABLE);
    assert_null(ev);
    assert_int_equal(f->live_head, f->live_len);
    f->now += 1000;
    drain(s, 0, got, &n, 32);
    expect_range(got, n, 1, 20);
    orc_subscription_destroy(s);
    free(f);
}

/* rnd is a small deterministic generator (xorshift64). */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/*
 * A lossy, reordering, duplicating feed with reconnections and a subscriber stopped and
 * resumed from its last seq: the concatenated deliveries are exactly the filtered history.
 */
static void run_chaos(const char *prefix, uint64_t seed)
{
    static const char *const topics[] = {"project.1.", "project.2.", "worker.ann.", "step.s."};
    fake *f = calloc(1, sizeof *f);
    uint64_t x = seed;
    int64_t *got = calloc(MAX_HISTORY, sizeof *got);
    size_t n = 0;
    orci_subscribe_tuning t = {.page_size = 7, .pending_max = 16};
    orc_subscription *s = open_sub(f, prefix, 0, &t);
    for (int round = 0; round < 60; round++) {
        /* commit a burst; publish each copy whose topic matches, some lost or repeated */
        size_t first_live = f->live_len;
        for (int i = 0; i < 20; i++) {
            const char *a = topics[rnd(&x) % 4];
            const char *b = topics[rnd(&x) % 4];
            int64_t seq = commit(f, a, b == a ? NULL : b);
            for (int k = 0; k < 2; k++) {
                const char *tp = f->topics[seq - 1][k];
                if (!starts_with(tp, prefix) || rnd(&x) % 5 == 0)
                    continue;
                publish(f, seq, tp);
                if (rnd(&x) % 7 == 0)
                    publish(f, seq, tp);
            }
        }
        /* swap a few neighbours: nng delivers in order, but a reconnection can interleave */
        for (size_t i = first_live; i + 1 < f->live_len; i++) {
            if (rnd(&x) % 6 == 0) {
                int64_t sq = f->live_seq[i];
                const char *tp = f->live_topic[i];
                f->live_seq[i] = f->live_seq[i + 1];
                f->live_topic[i] = f->live_topic[i + 1];
                f->live_seq[i + 1] = sq;
                f->live_topic[i + 1] = tp;
            }
        }
        if (rnd(&x) % 4 == 0)
            f->resync = true;
        /* deliver some, then maybe stop and resume from the last seq */
        size_t budget = (size_t)(rnd(&x) % 30);
        for (size_t k = 0; k < budget; k++) {
            orc_event *ev = NULL;
            orc_error err;
            int rc = orc_subscription_next(s, 0, &ev, &err);
            if (rc == ORC_DEADLINE_EXCEEDED)
                break;
            assert_int_equal(rc, ORC_OK);
            got[n++] = ev->seq;
            orc_event_free(ev);
        }
        if (rnd(&x) % 3 == 0) {
            int64_t resume = orc_subscription_last_seq(s);
            orc_subscription_destroy(s);
            f->live_head = f->live_len; /* what was in flight is gone */
            s = open_sub(f, prefix, resume, &t);
        }
    }
    drain(s, 0, got, &n, MAX_HISTORY);
    size_t m = 0;
    for (int64_t seq = 1; seq <= f->committed; seq++) {
        if (!starts_with(f->topics[seq - 1][0], prefix) &&
            !starts_with(f->topics[seq - 1][1], prefix))
            continue;
        assert_true(m < n);
        assert_int_equal(got[m], seq);
        m++;
    }
    assert_int_equal(m, n);
    orc_subscription_destroy(s);
    free(got);
    free(f);
}

static void test_subscription_survives_a_chaotic_feed_and_restarts(void **state)
{
    (void)state;
    run_chaos("", 0x9e3779b97f4a7c15ull);
    run_chaos("project.1.", 0x2545f4914f6cdd1dull);
    run_chaos("worker.", 0xda942042e4dd58b5ull);
}

static void test_subscription_refuses_bad_arguments(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orci_event_source src = {.arg = f, .recv = fake_recv, .list = fake_list, .now_ms = fake_now};
    orc_subscription *s = NULL;
    orc_error err;
    assert_int_equal(orci_subscription_new_source(&src, "", -1, NULL, &s, &err),
                     ORC_INVALID_ARGUMENT);
    assert_null(s);
    orc_event *ev = (orc_event *)1;
    assert_int_equal(orc_subscription_next(NULL, 0, &ev, &err), ORC_INVALID_ARGUMENT);
    assert_null(ev);
    assert_int_equal(orc_subscription_new(NULL, NULL, &s, &err), ORC_INVALID_ARGUMENT);
    orc_subscription_destroy(NULL);
    orc_event_free(NULL);
    orc_event_page_free(NULL);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscription_catches_up_from_history_in_order),
        cmocka_unit_test(test_subscription_delivers_contiguous_live_events_without_history_reads),
        cmocka_unit_test(test_subscription_drops_duplicate_copies_of_an_event),
        cmocka_unit_test(test_subscription_reorders_events_that_arrive_ahead),
        cmocka_unit_test(test_subscription_fills_a_gap_from_history),
        cmocka_unit_test(test_subscription_resumes_after_a_stored_seq),
        cmocka_unit_test(test_subscription_filtered_feed_delivers_only_matching_events),
        cmocka_unit_test(test_subscription_rereads_history_after_a_reconnection),
        cmocka_unit_test(test_subscription_catches_a_dropped_tail_when_idle),
        cmocka_unit_test(test_subscription_pages_through_a_long_history),
        cmocka_unit_test(test_subscription_reports_pruned_history_and_keeps_its_place),
        cmocka_unit_test(test_subscription_retries_an_unreachable_history),
        cmocka_unit_test(test_subscription_recovers_from_a_full_pending_buffer),
        cmocka_unit_test(test_subscription_survives_a_chaotic_feed_and_restarts),
        cmocka_unit_test(test_subscription_refuses_bad_arguments),
    };
    return cmocka_run_group_tests_name("subscribe", tests, NULL, NULL);
}
