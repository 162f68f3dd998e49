/*
 * test_subscribe.c: the ordering core of orc_subscription over a fake event source.
 *
 * The fake holds a committed history (what ListEvents answers, filtered by prefix as the
 * server does) and a queue of live messages (what the SUB socket would deliver: possibly
 * reordered, duplicated, with holes), plus a fake clock that a wait without news moves
 * forward. Like the coordinator, it gives each live copy the seq of the previous event on
 * the copy's topic (topic_prev_seq, at least first_kept - 1 after pruning) and history
 * events none (-1). Every test checks the delivered sequence against the history.
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
#include "proto/orchestra.pb-c.h"
#include "subscribe.h"

#define MAX_HISTORY 2000
#define MAX_LIVE 8000

typedef struct fake {
    int64_t now;
    /* history: seq i+1 has topics topics[i][0..1] (the second may be NULL) */
    const char *topics[MAX_HISTORY][2];
    int64_t committed;
    int64_t first_kept; /* retention: seqs below it are pruned (0 or 1: nothing is) */
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

static orc_event *make_event(int64_t seq, const char *topic, int64_t topic_prev_seq)
{
    orc_event *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->seq = seq;
    e->topic_prev_seq = topic_prev_seq;
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

/* topic_prev is what the coordinator sends with the copy of seq under topic: the previous
 * seq with exactly that topic, at least first_kept - 1. */
static int64_t topic_prev(const fake *f, int64_t seq, const char *topic)
{
    int64_t prev = 0;
    for (int64_t q = seq - 1; q >= 1 && prev == 0; q--) {
        for (int k = 0; k < 2; k++) {
            const char *t = f->topics[q - 1][k];
            if (t && strcmp(t, topic) == 0)
                prev = q;
        }
    }
    return prev > f->first_kept - 1 ? prev : f->first_kept - 1;
}

static int fake_recv(void *arg, int timeout_ms, orc_event **ev, bool *resync, orc_error *err)
{
    fake *f = arg;
    *resync = f->resync;
    f->resync = false;
    if (f->live_head < f->live_len) {
        size_t i = f->live_head++;
        *ev = make_event(f->live_seq[i], f->live_topic[i],
                         topic_prev(f, f->live_seq[i], f->live_topic[i]));
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
    if (f->first_kept > 1 && after_seq < f->first_kept - 1)
        return orc_error_set(err, ORC_OUT_OF_RANGE, "events up to seq %lld were pruned",
                             (long long)(f->first_kept - 1));
    page->events = calloc((size_t)limit, sizeof *page->events);
    assert_non_null(page->events);
    for (int64_t seq = after_seq + 1; seq <= f->committed && page->n_events < (size_t)limit;
         seq++) {
        for (int k = 0; k < 2; k++) {
            const char *t = f->topics[seq - 1][k];
            if (starts_with(t, prefix)) {
                page->events[page->n_events++] = make_event(seq, t, -1);
                break;
            }
        }
    }
    page->last_seq = f->committed;
    page->first_seq = f->first_kept > 1 ? f->first_kept : 1;
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

/*
 * feed commits an event with topics t1 and t2 (may be NULL) and publishes the copies a SUB
 * socket subscribed to prefix receives, except the one under lose (NULL: none).
 */
static int64_t feed(fake *f, const char *prefix, const char *t1, const char *t2, const char *lose)
{
    int64_t seq = commit(f, t1, t2);
    const char *copies[2] = {t1, t2};
    for (int k = 0; k < 2; k++) {
        if (copies[k] && starts_with(copies[k], prefix) && !(lose && strcmp(copies[k], lose) == 0))
            publish(f, seq, copies[k]);
    }
    return seq;
}

/* expect_filtered asserts that got[0..n) is every committed seq with a topic under prefix. */
static void expect_filtered(const fake *f, const char *prefix, const int64_t *got, size_t n)
{
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
}

static void test_subscription_one_project_follows_topic_prev_seq_without_history_reads(void **state)
{
    (void)state;
    static const char *const P = "project.7.";
    fake *f = calloc(1, sizeof *f);
    commit(f, P, "workflow.w.");
    commit(f, "project.8.", NULL);
    orc_subscription *s = open_sub(f, P, 0, NULL);
    int64_t got[128];
    size_t n = 0;
    drain(s, 0, got, &n, 128); /* the catch-up */
    assert_int_equal(n, 1);
    uint64_t replays = orci_subscription_replays(s);
    /* Project 7's events between other projects' and workers' events, delivered as they
     * come: every live copy lies beyond a hole in the global sequence, and its
     * topic_prev_seq says that the hole holds nothing of project 7. */
    for (int i = 0; i < 30; i++) {
        feed(f, P, i % 3 == 0 ? "worker.ann." : P, i % 2 ? "workflow.w." : NULL, NULL);
        feed(f, P, "project.8.", "workflow.w.", NULL);
        if (i % 4 == 0)
            feed(f, P, "worker.ann.", NULL, NULL);
        drain(s, 0, got, &n, 128);
        expect_filtered(f, P, got, n);
    }
    assert_true(n > 10);
    assert_int_equal(orci_subscription_replays(s), replays);
    assert_int_equal(orc_subscription_last_seq(s), got[n - 1]);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_one_project_reads_history_when_a_copy_is_lost(void **state)
{
    (void)state;
    static const char *const P = "project.7.";
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, P, 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    uint64_t replays = orci_subscription_replays(s);
    feed(f, P, P, NULL, NULL);            /* 1 */
    feed(f, P, "project.8.", NULL, NULL); /* 2 */
    feed(f, P, P, NULL, P);               /* 3: the feed loses it */
    feed(f, P, "project.8.", NULL, NULL); /* 4 */
    feed(f, P, P, NULL, NULL);            /* 5: its topic_prev_seq, 3, lies above 1 */
    drain(s, 0, got, &n, 16);
    int64_t want[] = {1, 3, 5};
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
    assert_int_equal(orci_subscription_replays(s), replays + 1);
    /* Once the history filled the hole, the chain is followed again. */
    feed(f, P, "project.8.", NULL, NULL);
    feed(f, P, P, NULL, NULL);
    drain(s, 0, got, &n, 16);
    assert_int_equal(n, 4);
    assert_int_equal(got[3], 7);
    assert_int_equal(orci_subscription_replays(s), replays + 1);
    /* The lost copy is the one right after known_through: its bound is known_through + 1. */
    feed(f, P, P, NULL, P); /* 8: lost */
    feed(f, P, P, NULL, NULL);
    drain(s, 0, got, &n, 16);
    expect_filtered(f, P, got, n);
    assert_int_equal(orci_subscription_replays(s), replays + 2);
    orc_subscription_destroy(s);
    free(f);
}

/*
 * run_extended_topic feeds a subscription to prefix whose topic `longer` extends: a copy
 * under prefix with a correct topic_prev_seq must not hide a lost event of `longer`, and
 * every hole is read from the history.
 */
static void run_extended_topic(const char *prefix, const char *longer)
{
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, prefix, 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    uint64_t replays = orci_subscription_replays(s);
    feed(f, prefix, prefix, NULL, NULL);   /* 1 */
    feed(f, prefix, longer, NULL, longer); /* 2: matches the prefix, lost */
    feed(f, prefix, prefix, NULL, NULL);   /* 3: topic_prev_seq 1 */
    drain(s, 0, got, &n, 16);
    expect_filtered(f, prefix, got, n);
    assert_int_equal(n, 3);
    assert_int_equal(orci_subscription_replays(s), replays + 1);
    /* Holes of events that match nothing still cost a history read each. */
    for (int i = 0; i < 3; i++) {
        feed(f, prefix, "project.9.", NULL, NULL);
        feed(f, prefix, prefix, NULL, NULL);
        drain(s, 0, got, &n, 16);
    }
    expect_filtered(f, prefix, got, n);
    assert_int_equal(orci_subscription_replays(s), replays + 4);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_worker_prefix_still_reads_history_for_every_hole(void **state)
{
    (void)state;
    /* Usernames may contain dots: "worker.al." is a prefix of "worker.al.b.". */
    run_extended_topic("worker.al.", "worker.al.b.");
}

static void test_subscription_workflow_prefix_still_reads_history_for_every_hole(void **state)
{
    (void)state;
    /* Workflow slugs may contain dots too (the loader does not refuse them). */
    run_extended_topic("workflow.w.", "workflow.w.x.");
    run_extended_topic("step.s.", "step.s.t.");
}

static void test_subscription_wildcard_prefix_does_not_trust_one_topics_bound(void **state)
{
    (void)state;
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, "project.", 0, NULL);
    int64_t got[16];
    size_t n = 0;
    drain(s, 0, got, &n, 16);
    uint64_t replays = orci_subscription_replays(s);
    feed(f, "project.", "project.7.", NULL, NULL);         /* 1 */
    feed(f, "project.", "project.7.", NULL, "project.7."); /* 2: lost */
    feed(f, "project.", "project.8.", NULL, NULL);         /* 3: project.8.'s first: bound 0 */
    drain(s, 0, got, &n, 16);
    expect_range(got, n, 1, 3);
    assert_int_equal(orci_subscription_replays(s), replays + 1);
    orc_subscription_destroy(s);
    free(f);
}

static void test_subscription_one_project_hears_when_its_previous_event_was_pruned(void **state)
{
    (void)state;
    static const char *const P = "project.7.";
    fake *f = calloc(1, sizeof *f);
    orc_subscription *s = open_sub(f, P, 0, NULL);
    int64_t got[16];
    size_t n = 0;
    feed(f, P, P, NULL, NULL); /* 1 */
    drain(s, 0, got, &n, 16);
    assert_int_equal(n, 1);
    feed(f, P, "project.8.", NULL, NULL); /* 2 */
    feed(f, P, P, NULL, P);               /* 3: lost, then pruned */
    f->first_kept = 4;
    feed(f, P, P, NULL, NULL); /* 4: the real previous is gone; the bound is 3 */
    orc_event *ev = NULL;
    orc_error err;
    assert_int_equal(orc_subscription_next(s, 0, &ev, &err), ORC_OUT_OF_RANGE);
    assert_null(ev);
    assert_int_equal(orc_subscription_last_seq(s), 1);
    orc_subscription_destroy(s);
    free(f);
}

static void test_event_from_proto_keeps_the_bound_of_the_copys_own_topic(void **state)
{
    (void)state;
    char *topics[] = {"project.7.", "worker.al.b.", "worker.al."};
    Orchestra__V1__Event p = ORCHESTRA__V1__EVENT__INIT;
    p.seq = 9;
    p.topics = topics;
    p.n_topics = 3;
    p.topic_prev_seq = 4;
    /* a live copy under the topic it shows */
    orc_event *e = orci_event_from_proto(&p, "project.7.", "project.7.");
    assert_non_null(e);
    assert_string_equal(e->topic, "project.7.");
    assert_int_equal(e->topic_prev_seq, 4);
    orc_event_free(e);
    /* the copy of worker.al. shows worker.al.b. (the first match): its bound is not that one's */
    e = orci_event_from_proto(&p, "worker.al.", "worker.al.");
    assert_non_null(e);
    assert_string_equal(e->topic, "worker.al.b.");
    assert_int_equal(e->topic_prev_seq, -1);
    orc_event_free(e);
    /* the history carries no bound */
    p.topic_prev_seq = 0;
    e = orci_event_from_proto(&p, "project.7.", NULL);
    assert_non_null(e);
    assert_int_equal(e->topic_prev_seq, -1);
    orc_event_free(e);
    /* nor does a live copy with 0, what a coordinator without the field sends */
    e = orci_event_from_proto(&p, "project.7.", "project.7.");
    assert_non_null(e);
    assert_int_equal(e->topic_prev_seq, -1);
    orc_event_free(e);
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
    static const char *const topics[] = {"project.1.", "project.2.", "worker.ann.",
                                         "step.s.",    "worker.al.", "worker.al.b."};
    const size_t nt = sizeof topics / sizeof topics[0];
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
            const char *a = topics[rnd(&x) % nt];
            const char *b = topics[rnd(&x) % nt];
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
    run_chaos("project.2.", 0x8c2f0e1b5a9d3c47ull); /* follows topic_prev_seq */
    run_chaos("worker.", 0xda942042e4dd58b5ull);
    run_chaos("worker.al.", 0x51afd7ed558ccd13ull); /* extended by worker.al.b. */
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
        cmocka_unit_test(
            test_subscription_one_project_follows_topic_prev_seq_without_history_reads),
        cmocka_unit_test(test_subscription_one_project_reads_history_when_a_copy_is_lost),
        cmocka_unit_test(test_subscription_worker_prefix_still_reads_history_for_every_hole),
        cmocka_unit_test(test_subscription_workflow_prefix_still_reads_history_for_every_hole),
        cmocka_unit_test(test_subscription_wildcard_prefix_does_not_trust_one_topics_bound),
        cmocka_unit_test(test_subscription_one_project_hears_when_its_previous_event_was_pruned),
        cmocka_unit_test(test_event_from_proto_keeps_the_bound_of_the_copys_own_topic),
        cmocka_unit_test(test_subscription_survives_a_chaotic_feed_and_restarts),
        cmocka_unit_test(test_subscription_refuses_bad_arguments),
    };
    return cmocka_run_group_tests_name("subscribe", tests, NULL, NULL);
}
