/*
 * target.c: a delivery target's thread (target.h).
 */
#include "target.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"

/* How long one wait for the feed lasts before the thread looks at its flags again. */
#define TARGET_POLL_MS 250
/* Skipped events are recorded at least this often while the feed is busy. */
#define TARGET_FLUSH_US 1000000
/* A failing state file or coordinator is asked again after this long. */
#define TARGET_BACKOFF_US 500000

struct orci_target {
    char *name, *prefix, *events_url, *tls_ca;
    int64_t start_seq, start_generation;
    orc_client *rpc;
    orci_nstate *state;
    orci_retry_policy retry;
    atomic_bool *stop;
    orci_channel ch;
    pthread_t thread;
    bool started;

    pthread_mutex_t mu; /* guards the fields below it */
    pthread_cond_t cv;
    int64_t want_generation, want_since;
    orci_target_status status;

    /* the thread's own */
    orci_cursor cur;
    orc_subscription *sub;
    orc_event *ev;    /* the event being delivered */
    bool redelivery;  /* ev is a dead letter sent again */
    int unrecorded;   /* ev was delivered (its outcome + 1) but the record failed: no resend */
    int64_t skip_seq; /* last_seq not yet written (events not for the target) */
    int64_t skip_since_us;
    bool unreachable;  /* said once until the coordinator answers again */
    bool maybe_queued; /* dead letters may wait for redelivery (false once none did) */
    uint64_t rng;
};

static int64_t now_us(void)
{
    return orci_clock_now(&orci_clock_system);
}

static bool stopping(const orci_target *t)
{
    return atomic_load(t->stop);
}

/* uniform gives a number in [0, 1) for the retry jitter (xorshift64*). */
static double uniform(orci_target *t)
{
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* sleep_until waits until until_us, a stop, a wake or a redelivery request (at most 1 s). */
static void sleep_until(orci_target *t, int64_t until_us)
{
    int64_t now = now_us();
    if (until_us > now + 1000000)
        until_us = now + 1000000;
    if (until_us <= now)
        return;
    struct timespec ts = {.tv_sec = (time_t)(until_us / 1000000),
                          .tv_nsec = (long)(until_us % 1000000) * 1000};
    pthread_mutex_lock(&t->mu);
    if (!stopping(t) && t->want_generation <= t->cur.generation)
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    pthread_mutex_unlock(&t->mu);
}

/* publish copies the thread's cursor into the status the manager reads. */
static void publish(orci_target *t, const char *last_error)
{
    pthread_mutex_lock(&t->mu);
    orci_target_status *s = &t->status;
    bool retrying = t->ev && t->cur.retry_seq == t->ev->seq && t->cur.attempts > 0;
    snprintf(s->state, sizeof s->state, "%s",
             retrying          ? "retrying"
             : t->cur.dead > 0 ? "dead-lettered"
                               : "active");
    if (last_error)
        snprintf(s->last_error, sizeof s->last_error, "%s", last_error);
    s->delivered_seq = t->cur.last_seq > t->skip_seq ? t->cur.last_seq : t->skip_seq;
    s->delivered = t->cur.delivered;
    s->failed = t->cur.failed;
    s->skipped = t->cur.skipped;
    s->dead_lettered = t->cur.dead;
    s->attempts = retrying ? t->cur.attempts : 0;
    s->next_attempt_us = retrying ? t->cur.next_attempt_us : 0;
    s->changes++;
    pthread_mutex_unlock(&t->mu);
}

/* flush_skips writes last_seq after events that were not for the target. */
static void flush_skips(orci_target *t)
{
    if (t->skip_seq <= t->cur.last_seq)
        return;
    orc_error err;
    if (orci_nstate_advance(t->state, t->name, t->skip_seq, 0, &err) != ORC_OK) {
        orci_warn("%s: %s", t->name, err.message);
        return;
    }
    t->cur.last_seq = t->skip_seq;
    publish(t, NULL);
}

/* drop_event frees the event being delivered. */
static void drop_event(orci_target *t)
{
    orc_event_free(t->ev);
    t->ev = NULL;
    t->redelivery = false;
    t->unrecorded = 0;
}

/* ---- redelivery ---------------------------------------------------------------------------- */

/* apply_redelivery carries out a redelivery the manager asked for, once. */
static void apply_redelivery(orci_target *t)
{
    pthread_mutex_lock(&t->mu);
    int64_t gen = t->want_generation, since = t->want_since;
    pthread_mutex_unlock(&t->mu);
    if (gen <= t->cur.generation)
        return;
    orc_error err;
    if (orci_nstate_redeliver(t->state, t->name, gen, since, &err) != ORC_OK) {
        orci_warn("%s: redelivery %" PRId64 ": %s", t->name, gen, err.message);
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return;
    }
    t->cur.generation = gen;
    if (since >= 0) {
        /* The feed starts over after since: what was in flight comes again in order. */
        orci_info("%s: redelivering every event after seq %" PRId64, t->name, since);
        drop_event(t);
        orc_subscription_destroy(t->sub);
        t->sub = NULL;
        t->cur.last_seq = since;
        t->skip_seq = 0;
        t->cur.retry_seq = 0;
        t->cur.attempts = 0;
    } else {
        orci_info("%s: redelivering the dead letters", t->name);
        t->maybe_queued = true;
        /* The receiver may be back: a retry in progress is tried at once too. */
        if (t->ev && t->cur.retry_seq == t->ev->seq)
            t->cur.next_attempt_us = now_us();
    }
    bool created = false;
    orci_cursor fresh;
    if (orci_nstate_load(t->state, t->name, t->cur.last_seq, gen, &fresh, &created, &err) == ORC_OK)
        t->cur.dead = fresh.dead;
    publish(t, NULL);
}

/* ---- the next event ------------------------------------------------------------------------- */

/*
 * fetch_dead_letter reads dead letter seq back from the history (ListEvents) as the event
 * to deliver; one that was pruned meanwhile is dropped.
 */
static bool fetch_dead_letter(orci_target *t, int64_t seq)
{
    orc_event_page *page = NULL;
    orc_error err;
    int rc = orc_events_list(t->rpc, seq - 1, t->prefix, 1, &page, &err);
    if (rc == ORC_UNAVAILABLE) {
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return false;
    }
    if (rc == ORC_OK && page->n_events == 1 && page->events[0]->seq == seq) {
        t->ev = page->events[0];
        page->events[0] = NULL;
        page->n_events = 0;
        orc_event_page_free(page);
        t->redelivery = true;
        return true;
    }
    if (rc == ORC_OK)
        orc_event_page_free(page);
    orci_warn("%s: dead letter %" PRId64 " cannot be read back (%s): dropped", t->name, seq,
              rc == ORC_OK ? "no such event any more" : err.message);
    if (orci_nstate_drop_dead_letter(t->state, t->name, seq, &err) != ORC_OK) {
        orci_warn("%s: %s", t->name, err.message);
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
    }
    return false;
}

/*
 * skip_pruned moves past events the coordinator's retention removed before they were
 * delivered: nothing can bring them back, so the target says so and goes on.
 */
static void skip_pruned(orci_target *t, const char *why)
{
    orc_event_page *page = NULL;
    orc_error err;
    /* An after_seq beyond the history answers with the bounds and no events. */
    if (orc_events_list(t->rpc, INT64_MAX / 2, t->prefix, 1, &page, &err) != ORC_OK) {
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return;
    }
    int64_t floor = page->first_seq - 1;
    orc_event_page_free(page);
    orci_error("%s: %s: events up to seq %" PRId64 " were pruned before delivery", t->name, why,
               floor);
    if (orci_nstate_advance(t->state, t->name, floor, 0, &err) != ORC_OK) {
        orci_warn("%s: %s", t->name, err.message);
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return;
    }
    t->cur.last_seq = floor > t->cur.last_seq ? floor : t->cur.last_seq;
    orc_subscription_destroy(t->sub);
    t->sub = NULL;
    publish(t, why);
}

/* open_feed subscribes from where the target stands. */
static bool open_feed(orci_target *t)
{
    int64_t from = t->skip_seq > t->cur.last_seq ? t->skip_seq : t->cur.last_seq;
    orc_subscribe_opts so = {.events_url = t->events_url,
                             .topic_prefix = t->prefix,
                             .after_seq = from,
                             .tls_ca_file = t->tls_ca};
    orc_error err;
    if (orc_subscription_new(&so, t->rpc, &t->sub, &err) != ORC_OK) {
        orci_warn("%s: cannot follow the event feed: %s", t->name, err.message);
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return false;
    }
    return true;
}

/* next_from_feed takes the feed's next event for the target; false when there is none now. */
static bool next_from_feed(orci_target *t)
{
    if (!t->sub && !open_feed(t))
        return false;
    orc_event *ev = NULL;
    orc_error err;
    int rc = orc_subscription_next(t->sub, TARGET_POLL_MS, &ev, &err);
    if (rc == ORC_OK) {
        if (t->unreachable)
            orci_info("%s: the coordinator answers again", t->name);
        t->unreachable = false;
        if (!t->ch.wants || t->ch.wants(t->ch.ctx, ev)) {
            t->ev = ev;
            t->redelivery = false;
            return true;
        }
        if (t->skip_seq <= t->cur.last_seq)
            t->skip_since_us = now_us();
        t->skip_seq = ev->seq;
        orc_event_free(ev);
        if (now_us() - t->skip_since_us >= TARGET_FLUSH_US)
            flush_skips(t);
        return false;
    }
    if (rc == ORC_DEADLINE_EXCEEDED) {
        flush_skips(t); /* idle: a good moment */
    } else if (rc == ORC_OUT_OF_RANGE) {
        skip_pruned(t, err.message);
    } else {
        if (!t->unreachable)
            orci_warn("%s: event feed: %s (still trying)", t->name, err.message);
        t->unreachable = true;
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
    }
    return false;
}

/* next_event picks what to deliver next: a queued dead letter first, else the feed's next. */
static bool next_event(orci_target *t)
{
    int64_t queued = 0;
    orc_error err;
    /* Only a redelivery queues dead letters: the state file is asked after one (and at the
     * start), not before every event. */
    if (t->maybe_queued && orci_nstate_next_queued(t->state, t->name, &queued, &err) != ORC_OK) {
        orci_warn("%s: %s", t->name, err.message);
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return false;
    }
    if (queued > 0)
        return fetch_dead_letter(t, queued);
    t->maybe_queued = false;
    return next_from_feed(t);
}

/* ---- one attempt ------------------------------------------------------------------------------
 */

/* record_done records the event as done with (how) and goes on to the next. */
static void record_done(orci_target *t, orci_outcome how, const char *why)
{
    orc_error err;
    int64_t seq = t->ev->seq;
    if (orci_nstate_done(t->state, t->name, seq, how, t->redelivery, &err) != ORC_OK) {
        /* Not recorded: the record is tried again, not the delivery (a full disk must not
         * turn into a stream of repeats); a restart meanwhile would send it again. */
        if (!t->unrecorded)
            orci_error("%s: event %" PRId64 " was delivered but cannot be recorded: %s", t->name,
                       seq, err.message);
        t->unrecorded = (int)how + 1;
        sleep_until(t, now_us() + TARGET_BACKOFF_US);
        return;
    }
    t->unrecorded = 0;
    if (how == ORCI_OUTCOME_DELIVERED)
        t->cur.delivered++;
    else if (how == ORCI_OUTCOME_FAILED)
        t->cur.failed++;
    else
        t->cur.skipped++;
    if (!t->redelivery && seq > t->cur.last_seq)
        t->cur.last_seq = seq;
    if (t->cur.retry_seq == seq) {
        t->cur.retry_seq = 0;
        t->cur.attempts = 0;
    }
    drop_event(t);
    publish(t, how == ORCI_OUTCOME_FAILED ? why : NULL);
}

/* record_failure schedules the next try of the event, or dead-letters it past the window. */
static void record_failure(orci_target *t, const char *why)
{
    orc_error err;
    int64_t seq = t->ev->seq, now = now_us(), next = 0;
    bool again = t->cur.retry_seq == seq && t->cur.attempts > 0;
    int n = again ? t->cur.attempts + 1 : 1;
    int64_t first = again ? t->cur.first_failure_us : now;
    if (orci_retry_next(&t->retry, n, first, now, uniform(t), &next)) {
        if (orci_nstate_retry(t->state, t->name, seq, n, first, next, why, &err) != ORC_OK) {
            orci_warn("%s: %s", t->name, err.message);
            sleep_until(t, now + TARGET_BACKOFF_US);
            return;
        }
        t->cur.retry_seq = seq;
        t->cur.attempts = n;
        t->cur.first_failure_us = first;
        t->cur.next_attempt_us = next;
        orci_warn("%s: event %" PRId64 " attempt %d failed: %s; next try in %" PRId64 " ms",
                  t->name, seq, n, why, (next - now) / 1000);
        publish(t, why);
        return;
    }
    if (orci_nstate_dead_letter(t->state, t->name, seq, why, now, t->redelivery, &err) != ORC_OK) {
        orci_warn("%s: %s", t->name, err.message);
        sleep_until(t, now + TARGET_BACKOFF_US);
        return;
    }
    orci_warn("%s: event %" PRId64 " dead-lettered after %d attempts over %" PRId64 " s: %s",
              t->name, seq, n, (now - first) / 1000000, why);
    t->cur.dead++;
    if (!t->redelivery && seq > t->cur.last_seq)
        t->cur.last_seq = seq;
    t->cur.retry_seq = 0;
    t->cur.attempts = 0;
    drop_event(t);
    publish(t, why);
}

/* attempt delivers the current event once, when its next try is due. */
static void attempt(orci_target *t)
{
    if (t->unrecorded) {
        record_done(t, (orci_outcome)(t->unrecorded - 1), NULL);
        return;
    }
    if (t->cur.retry_seq == t->ev->seq && t->cur.attempts > 0 &&
        t->cur.next_attempt_us > now_us()) {
        sleep_until(t, t->cur.next_attempt_us);
        return;
    }
    char why[ORCI_NSTATE_ERROR_MAX] = "";
    orci_sent r = t->ch.deliver(t->ch.ctx, t->ev, why, sizeof why);
    switch (r) {
    case ORCI_SENT_OK:
        orci_debug("%s: event %" PRId64 " delivered", t->name, t->ev->seq);
        record_done(t, ORCI_OUTCOME_DELIVERED, NULL);
        break;
    case ORCI_SENT_SKIP:
        orci_debug("%s: event %" PRId64 " not sent: %s", t->name, t->ev->seq, why);
        record_done(t, ORCI_OUTCOME_SKIPPED, NULL);
        break;
    case ORCI_SENT_FAIL:
        orci_error("%s: event %" PRId64 " refused for good: %s", t->name, t->ev->seq, why);
        record_done(t, ORCI_OUTCOME_FAILED, why);
        break;
    case ORCI_SENT_RETRY:
        /* A failure seen while stopping may be the stop itself: it is not held against the
         * event (it goes again after the restart). */
        if (!stopping(t))
            record_failure(t, why[0] ? why : "failed");
        break;
    case ORCI_SENT_ABORTED:
        break;
    }
}

/* ---- the thread --------------------------------------------------------------------------------
 */

static void *target_main(void *arg)
{
    orci_target *t = arg;
    while (!stopping(t)) {
        apply_redelivery(t);
        if (stopping(t))
            break;
        if (!t->ev && !next_event(t))
            continue;
        attempt(t);
    }
    flush_skips(t);
    drop_event(t);
    orc_subscription_destroy(t->sub);
    t->sub = NULL;
    return NULL;
}

static void target_free(orci_target *t)
{
    if (!t)
        return;
    if (t->ch.free)
        t->ch.free(t->ch.ctx);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t->name);
    free(t->prefix);
    free(t->events_url);
    free(t->tls_ca);
    free(t);
}

/* dup_opt copies an optional string: false when out of memory. */
static bool dup_opt(const char *s, char **out)
{
    *out = s ? strdup(s) : NULL;
    return !s || *out;
}

int orci_target_start(const orci_target_opts *o, orci_channel ch, orci_target **out, orc_error *err)
{
    *out = NULL;
    orci_target *t = calloc(1, sizeof *t);
    if (!t) {
        if (ch.free)
            ch.free(ch.ctx);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    t->ch = ch;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (!dup_opt(o->name, &t->name) || !dup_opt(o->prefix ? o->prefix : "", &t->prefix) ||
        !dup_opt(o->events_url, &t->events_url) || !dup_opt(o->tls_ca, &t->tls_ca)) {
        target_free(t);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    t->start_seq = o->start_seq;
    t->start_generation = o->start_generation;
    t->rpc = o->rpc;
    t->state = o->state;
    t->retry = o->retry;
    t->stop = o->stop;
    if (orci_random(&t->rng, sizeof t->rng) != 0 || t->rng == 0)
        t->rng = (uint64_t)now_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    bool created = false;
    int code = orci_nstate_load(t->state, t->name, t->start_seq, t->start_generation, &t->cur,
                                &created, err);
    if (code != ORC_OK) {
        target_free(t);
        return code;
    }
    t->want_generation = t->cur.generation;
    t->maybe_queued = true;
    orci_info("%s: %s after seq %" PRId64 " (topic prefix \"%s\")%s", t->name,
              created ? "starts" : "resumes", t->cur.last_seq, t->prefix,
              t->cur.attempts > 0 ? ", a retry in progress" : "");
    publish(t, t->cur.last_error[0] ? t->cur.last_error : NULL);
    if (pthread_create(&t->thread, NULL, target_main, t) != 0) {
        target_free(t);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot start a thread: %s",
                             strerror(errno));
    }
    t->started = true;
    *out = t;
    return ORC_OK;
}

void orci_target_redeliver(orci_target *t, int64_t generation, int64_t since)
{
    pthread_mutex_lock(&t->mu);
    if (generation > t->want_generation) {
        t->want_generation = generation;
        t->want_since = since;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
}

void orci_target_wake(orci_target *t)
{
    pthread_mutex_lock(&t->mu);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void orci_target_status_get(orci_target *t, orci_target_status *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->status;
    pthread_mutex_unlock(&t->mu);
}

void orci_target_join(orci_target *t)
{
    if (!t)
        return;
    if (t->started)
        pthread_join(t->thread, NULL);
    target_free(t);
}
