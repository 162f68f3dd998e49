/*
 * subscribe.c: the event history (ListEvents) and the subscription that delivers events in
 * seq order, each exactly once, over the lossy PUB/SUB feed.
 *
 * The ordering core keeps two marks:
 *  - known_through: every matching event with seq <= known_through has been delivered or
 *    is held in `pending`; nothing else up to there exists for this filter;
 *  - the pending buffer: events not delivered yet, sorted by seq, without duplicates.
 * The head of pending is delivered as soon as its seq <= known_through. A live event with
 * seq == known_through + 1 extends known_through at once (nothing can lie between). One
 * further ahead leaves a hole: the events between may exist and match the filter (a
 * filtered feed is not gap-free, a lossy one may have dropped some), and only ListEvents
 * with the same prefix can tell. It answers with exactly the matching events after
 * known_through; a short page (fewer than the limit) means the history is read whole up to
 * its last_seq, which becomes the new known_through. The history is also read at the start
 * (catch-up from the resume point), after the feed (re)connects (what was published
 * meanwhile is lost) and after a quiet spell (a dropped tail leaves no hole to notice).
 * Live events at or below known_through are duplicates (an event is published once per
 * topic) and are dropped.
 *
 * One filter needs no history read for a live event beyond a hole: a single project's
 * topic. Each live copy carries topic_prev_seq, the coordinator's upper bound of the
 * previous event on the copy's topic. When the subscription's prefix is exactly that topic
 * and no other topic can start with it, the events matching the filter are the events of
 * that topic; if the bound is <= known_through, none lies between known_through and the
 * copy, so known_through moves up to the copy's seq (also for a copy already held in
 * pending, once known_through reaches its bound). A bound above known_through is a real
 * hole (a lost copy) and is read from the history as before. Only "project.<digits>."
 * qualifies: usernames may contain dots ("worker.al." is a prefix of "worker.al.b.") and
 * so may workflow and step slugs (the loader does not refuse them), so a copy under
 * "workflow.w." says nothing about the events of "workflow.w.x.". History events carry no
 * bound (-1), nor does a copy with 0 on the wire: a coordinator without the field sends 0,
 * and taking it for "no previous event" would skip real holes. Retention keeps the bound safe (it
 * is never below the oldest kept seq - 1, so a subscriber behind it still reads the history and
 * hears ORC_OUT_OF_RANGE).
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/supplemental/tls/tls.h>

#include "block.h"
#include "call.h"
#include "clock.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"
#include "subscribe.h"
#include "vec.h"

#define SUB_DEFAULT_PAGE 1000
#define SUB_MAX_PAGE 10000
#define SUB_DEFAULT_IDLE_MS 2000
#define SUB_DEFAULT_RETRY_MS 200
#define SUB_DEFAULT_PENDING 4096
/* The largest SUB receive queue nng 1.5.2 accepts; the fallback is STACK.md's advice. */
#define SUB_RECVBUF 8192
#define SUB_RECVBUF_FALLBACK 1024
#define SUB_RECV_MAX (4u << 20)
#define SUB_TOPIC_MAX 512
#define SUB_RECONNECT_MIN_MS 100
#define SUB_RECONNECT_MAX_MS 2000
#define SUB_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct orc_subscription {
    orci_event_source src;
    orci_subscribe_tuning t;
    char *prefix;
    int64_t delivered;     /* seq of the last event delivered (the resume point) */
    int64_t known_through; /* see the file comment */
    bool one_topic;        /* prefix is a topic no other topic extends (the file comment) */
    bool need_replay;      /* catch-up, a reconnection or a full page ask for a history read */
    int64_t last_news_ms;  /* when a live event or a history answer last came */
    int64_t retry_at_ms;   /* no history read before this (after a failure) */
    uint64_t replays;
    /* pending events: buf[start .. start + len), sorted by seq */
    orc_event **buf;
    size_t start;
    size_t len;
    size_t cap;
};

/* ---- events ---------------------------------------------------------------------------- */

void orc_event_free(orc_event *ev)
{
    if (!ev)
        return;
    free(ev->type);
    free(ev->topic);
    free(ev->step);
    free(ev->workflow);
    free(ev->worker);
    free(ev->old_status);
    free(ev->new_status);
    free(ev->payload);
    free(ev);
}

void orci_event_page_clear(orc_event_page *page)
{
    if (!page)
        return;
    for (size_t i = 0; i < page->n_events; i++)
        orc_event_free(page->events[i]);
    free(page->events);
    page->events = NULL;
    page->n_events = 0;
}

void orc_event_page_free(orc_event_page *page)
{
    orci_event_page_clear(page);
    free(page);
}

/* dup_str copies s (NULL: ""), NULL when out of memory. */
static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

orc_event *orci_event_from_proto(const void *proto_event, const char *prefix,
                                 const char *copy_topic)
{
    const Orchestra__V1__Event *p = proto_event;
    orc_event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    const char *topic = copy_topic ? copy_topic : "";
    for (size_t i = 0; i < p->n_topics; i++) {
        if (p->topics[i] && has_prefix(p->topics[i], prefix ? prefix : "")) {
            topic = p->topics[i];
            break;
        }
    }
    ev->seq = p->seq;
    ev->time_us = p->time;
    ev->project_id = p->project_id;
    ev->task_id = p->task_id;
    ev->type = dup_str(p->type);
    ev->topic = dup_str(topic);
    ev->step = dup_str(p->step);
    ev->workflow = dup_str(p->workflow);
    ev->worker = dup_str(p->worker);
    ev->old_status = dup_str(p->old_status);
    ev->new_status = dup_str(p->new_status);
    ev->payload = dup_str(p->payload && p->payload[0] ? p->payload : "{}");
    /* The bound is about the copy's topic: worth keeping only when that is the one shown. 0
     * is what a coordinator that does not send the field puts on the wire, so it reads as
     * unknown too (the first event of a topic then costs one history read). */
    ev->topic_prev_seq = -1;
    if (copy_topic && strcmp(topic, copy_topic) == 0 && p->topic_prev_seq > 0)
        ev->topic_prev_seq = p->topic_prev_seq;
    if (!ev->type || !ev->topic || !ev->step || !ev->workflow || !ev->worker || !ev->old_status ||
        !ev->new_status || !ev->payload) {
        orc_event_free(ev);
        return NULL;
    }
    return ev;
}

int orc_events_list(orc_client *c, int64_t after_seq, const char *topic_prefix, int limit,
                    orc_event_page **out, orc_error *err)
{
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the events");
    *out = NULL;
    orc_event_page *page = calloc(1, sizeof *page);
    if (!page)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    int rc = orci_events_list_into(c, after_seq, topic_prefix, limit, page, err);
    if (rc != ORC_OK)
        free(page);
    else
        *out = page;
    return rc;
}

int orci_events_list_into(orc_client *c, int64_t after_seq, const char *topic_prefix, int limit,
                          orc_event_page *page, orc_error *err)
{
    Orchestra__V1__ListEventsRequest in = ORCHESTRA__V1__LIST_EVENTS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    int rc = ORC_OK;

    if (!page)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the events");
    memset(page, 0, sizeof *page);
    if (!c)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no client handle");
    if (after_seq < 0 || limit < 0 || limit > SUB_MAX_PAGE)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "after_seq must not be negative and limit must lie in [0, %d]",
                             SUB_MAX_PAGE);
    in.after_seq = after_seq;
    in.topic_prefix = (char *)(topic_prefix ? topic_prefix : "");
    in.limit = limit;
    rc = orci_client_call(c, "ListEvents", &in.base, &orchestra__v1__list_events_reply__descriptor,
                          &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListEventsReply *r = (const Orchestra__V1__ListEventsReply *)out;
    if (r->n_events > 0) {
        page->events = calloc(r->n_events, sizeof *page->events);
        if (!page->events) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
    }
    int64_t prev = after_seq;
    for (size_t i = 0; i < r->n_events; i++) {
        /* The ordering core relies on ascending seqs above after_seq: refuse anything else
         * rather than deliver out of order. */
        if (r->events[i]->seq <= prev) {
            rc = orc_error_set(err, ORC_INTERNAL,
                               "ListEvents answered seq %lld after %lld: not in order",
                               (long long)r->events[i]->seq, (long long)prev);
            goto out;
        }
        prev = r->events[i]->seq;
        page->events[i] = orci_event_from_proto(r->events[i], in.topic_prefix, NULL);
        if (!page->events[i]) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
        page->n_events = i + 1;
    }
    page->last_seq = r->last_seq;
    page->first_seq = r->first_seq;

out:
    if (rc != ORC_OK)
        orci_event_page_clear(page);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

/* ---- the pending buffer ---------------------------------------------------------------- */

static orc_event *pending_head(const orc_subscription *s)
{
    return s->len ? s->buf[s->start] : NULL;
}

static orc_event *pending_pop(orc_subscription *s)
{
    orc_event *e = s->buf[s->start];
    s->buf[s->start] = NULL;
    s->start++;
    s->len--;
    if (s->len == 0)
        s->start = 0;
    return e;
}

/* pending_find returns the index (relative to start) of the first event with seq >= seq. */
static size_t pending_find(const orc_subscription *s, int64_t seq)
{
    size_t lo = 0, hi = s->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->buf[s->start + mid]->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* pending_insert puts e (ownership passes here) in seq order, dropping a duplicate. Returns
 * false when out of memory (e is freed). */
static bool pending_insert(orc_subscription *s, orc_event *e)
{
    size_t at = pending_find(s, e->seq);
    if (at < s->len && s->buf[s->start + at]->seq == e->seq) {
        orc_event_free(e);
        return true;
    }
    if (s->start + s->len == s->cap) {
        if (s->start > 0) {
            memmove(s->buf, s->buf + s->start, s->len * sizeof *s->buf);
            s->start = 0;
        } else if (!orci_grow(&s->buf, &s->cap, s->cap + 1, sizeof *s->buf)) {
            orc_event_free(e);
            return false;
        }
    }
    orc_event **base = s->buf + s->start;
    memmove(base + at + 1, base + at, (s->len - at) * sizeof *base);
    base[at] = e;
    s->len++;
    return true;
}

/*
 * topic_is_leaf tells whether no topic other than prefix itself starts with prefix:
 * "project.<digits>." (ids have no dots; the file comment says why nothing else).
 */
static bool topic_is_leaf(const char *prefix)
{
    static const char head[] = "project.";
    if (strncmp(prefix, head, sizeof head - 1) != 0)
        return false;
    const char *p = prefix + sizeof head - 1;
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > digits && p[0] == '.' && p[1] == '\0';
}

/*
 * follows tells whether nothing matching the filter lies between known_through and e:
 * e is the next seq, or a live copy on the subscription's only topic whose bound of the
 * previous event on that topic is already known.
 */
static bool follows(const orc_subscription *s, const orc_event *e)
{
    if (e->seq == s->known_through + 1)
        return true;
    return s->one_topic && e->topic_prev_seq > 0 && e->topic_prev_seq <= s->known_through &&
           strcmp(e->topic, s->prefix) == 0;
}

/* advance_known extends known_through over pending events that follow it without a hole. */
static void advance_known(orc_subscription *s)
{
    for (size_t i = pending_find(s, s->known_through + 1); i < s->len; i++) {
        const orc_event *e = s->buf[s->start + i];
        if (!follows(s, e))
            break;
        s->known_through = e->seq;
    }
}

/* ---- the ordering core ------------------------------------------------------------------ */

static int64_t sub_now(const orc_subscription *s)
{
    return s->src.now_ms ? s->src.now_ms(s->src.arg) : orci_monotonic_ms();
}

/* take_live files a live event (ownership passes here). */
static void take_live(orc_subscription *s, orc_event *e)
{
    if (e->seq <= s->known_through) {
        orc_event_free(e); /* delivered, held, or another copy of one of them */
        return;
    }
    /* A full buffer drops live events beyond a hole: they lie above known_through, so the
     * history read that the hole triggers brings them back. */
    if (s->len >= (size_t)s->t.pending_max && !follows(s, e)) {
        orc_event_free(e);
        return;
    }
    if (!pending_insert(s, e)) {
        s->need_replay = true; /* lost to memory: read it back later */
        return;
    }
    advance_known(s);
}

/* replay reads the history after known_through and files it. */
static int replay(orc_subscription *s, orc_error *err)
{
    orc_event_page page;
    int64_t after = s->known_through;
    s->replays++;
    int rc = s->src.list(s->src.arg, after, s->prefix, s->t.page_size, &page, err);
    if (rc != ORC_OK)
        return rc;
    int64_t top = after;
    for (size_t i = 0; i < page.n_events; i++) {
        orc_event *e = page.events[i];
        page.events[i] = NULL;
        if (e->seq <= after) {
            orc_event_free(e);
            continue;
        }
        if (e->seq > top)
            top = e->seq;
        if (!pending_insert(s, e)) {
            /* Whatever was filed stays consistent: known only up to the last one filed. */
            orci_event_page_clear(&page);
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        }
    }
    bool whole = page.n_events < (size_t)s->t.page_size;
    /* Unfiltered, every seq exists and matches: the events themselves say how far the
     * history is known, whatever moment the server read its last_seq at. Filtered, only
     * last_seq can say that nothing matching lies between the last event and it (the
     * server must read it no later than the events). */
    if (whole && s->prefix[0] && page.last_seq > top)
        top = page.last_seq;
    orci_event_page_clear(&page);
    s->known_through = top;
    s->need_replay = !whole;
    advance_known(s);
    int64_t now = sub_now(s);
    s->last_news_ms = now;
    /* An answer that resolved nothing while an event waits beyond a hole (the server lags
     * behind its own feed): do not ask again at once. */
    orc_event *head = pending_head(s);
    if (s->known_through == after && head && head->seq > s->known_through)
        s->retry_at_ms = now + s->t.retry_ms;
    return ORC_OK;
}

/* transient tells whether a failed history read is worth retrying by itself. */
static bool transient(int rc)
{
    return rc == ORC_UNAVAILABLE || rc == ORC_DEADLINE_EXCEEDED || rc == ORC_RESOURCE_EXHAUSTED ||
           rc == ORC_ABORTED;
}

int orc_subscription_next(orc_subscription *s, int timeout_ms, orc_event **ev, orc_error *err)
{
    orc_error fail;
    int failed = ORC_OK;

    if (!ev)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the event");
    *ev = NULL;
    if (!s)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no subscription");
    int64_t start = sub_now(s);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : start + timeout_ms;
    for (;;) {
        orc_event *head = pending_head(s);
        if (head && head->seq <= s->known_through) {
            *ev = pending_pop(s);
            s->delivered = (*ev)->seq;
            orc_error_clear(err);
            return ORC_OK;
        }
        int64_t now = sub_now(s);
        bool want = s->need_replay || head || now - s->last_news_ms >= s->t.idle_replay_ms;
        if (want && now >= s->retry_at_ms) {
            int rc = replay(s, &fail);
            if (rc == ORC_OK) {
                failed = ORC_OK;
                continue;
            }
            s->retry_at_ms = now + s->t.retry_ms;
            if (!transient(rc)) {
                if (err)
                    *err = fail;
                return rc;
            }
            failed = rc;
        }

        /* Wait for the live feed until the deadline, or until the next history read is due. */
        int64_t until = deadline;
        int64_t due = want ? s->retry_at_ms : s->last_news_ms + s->t.idle_replay_ms;
        if (due < until)
            until = due;
        int64_t wait = until - now;
        if (wait < 0)
            wait = 0;
        if (wait > INT_MAX)
            wait = INT_MAX;
        orc_event *live = NULL;
        bool resync = false;
        orc_error rerr;
        int rc = s->src.recv(s->src.arg, (int)wait, &live, &resync, &rerr);
        if (resync)
            s->need_replay = true;
        if (rc == ORC_OK && live) {
            s->last_news_ms = sub_now(s);
            take_live(s, live);
            continue;
        }
        orc_event_free(live);
        if (rc != ORC_OK && rc != ORC_DEADLINE_EXCEEDED) {
            if (err)
                *err = rerr;
            return rc;
        }
        if (resync)
            continue; /* read the history before giving up, even at the deadline */
        if (sub_now(s) >= deadline) {
            if (failed != ORC_OK) {
                if (err)
                    *err = fail;
                return failed;
            }
            return orc_error_set(err, ORC_DEADLINE_EXCEEDED, "no new event within %d ms",
                                 timeout_ms);
        }
    }
}

int64_t orc_subscription_last_seq(const orc_subscription *s)
{
    return s ? s->delivered : 0;
}

uint64_t orci_subscription_replays(const orc_subscription *s)
{
    return s ? s->replays : 0;
}

void orc_subscription_destroy(orc_subscription *s)
{
    if (!s)
        return;
    if (s->src.destroy)
        s->src.destroy(s->src.arg);
    while (s->len)
        orc_event_free(pending_pop(s));
    free(s->buf);
    free(s->prefix);
    free(s);
}

/* tuned returns v, or dflt when v is not positive. */
static int tuned(int v, int dflt)
{
    return v > 0 ? v : dflt;
}

int orci_subscription_new_source(const orci_event_source *src, const char *prefix,
                                 int64_t after_seq, const orci_subscribe_tuning *tuning,
                                 orc_subscription **out, orc_error *err)
{
    orci_subscribe_tuning none = {0};
    if (!out || !src || !src->recv || !src->list) {
        if (src && src->destroy)
            src->destroy(src->arg);
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no event source or no place for it");
    }
    *out = NULL;
    if (!tuning)
        tuning = &none;
    orc_subscription *s = calloc(1, sizeof *s);
    if (!s) {
        if (src->destroy)
            src->destroy(src->arg);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    s->src = *src;
    if (after_seq < 0) {
        orc_subscription_destroy(s);
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "negative resume point %lld",
                             (long long)after_seq);
    }
    s->t.page_size = tuned(tuning->page_size, SUB_DEFAULT_PAGE);
    if (s->t.page_size > SUB_MAX_PAGE)
        s->t.page_size = SUB_MAX_PAGE;
    s->t.idle_replay_ms = tuned(tuning->idle_replay_ms, SUB_DEFAULT_IDLE_MS);
    s->t.retry_ms = tuned(tuning->retry_ms, SUB_DEFAULT_RETRY_MS);
    s->t.pending_max = tuned(tuning->pending_max, SUB_DEFAULT_PENDING);
    s->prefix = dup_str(prefix);
    if (!s->prefix) {
        orc_subscription_destroy(s);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    s->one_topic = topic_is_leaf(s->prefix);
    s->delivered = after_seq;
    s->known_through = after_seq;
    s->need_replay = true; /* catch up from the resume point first */
    s->last_news_ms = sub_now(s);
    s->retry_at_ms = INT64_MIN;
    *out = s;
    return ORC_OK;
}

/* ---- the real source: SUB socket + ListEvents ------------------------------------------ */

/*
 * Feed connections are never closed while the process runs; a destroyed subscription parks
 * its connection in a process-wide pool and the next subscription to the same URL (with the
 * same CA) takes it back. The reason is a defect of nng 1.5.2 (Debian 12): closing a TCP or
 * IPC pipe while a message is half received loses the transport's completion (nni_aio_begin
 * on a stopped aio returns without running the callback), so the reaper thread waits
 * forever in the SUB pipe's stop, and from then on every nng_close in the process, REQ
 * sockets included, blocks. A SUB socket receives whenever the coordinator publishes, so its
 * close cannot be timed safely; a pipe the coordinator closes (restart, shutdown) ends
 * through the read error instead and is not affected. A parked connection has no
 * subscription: the SUB protocol frees every message on arrival, so it costs one idle TCP
 * connection and no queue. nng does not close sockets at exit (no atexit in release builds).
 */
/* Most coordinators in one events URL list (standbys: only the active one binds). */
#define FEED_MAX_URLS 8

typedef struct feed_conn {
    nng_socket sock;
    nng_tls_config *tls[FEED_MAX_URLS]; /* one per tls+tcp:// URL of the list */
    char *url;                          /* one URL or a comma-separated list */
    char *ca;                           /* the CA file in use for tls+tcp://, else "" */
    char *topic;                        /* the current subscription, NULL while parked */
    atomic_bool connected;              /* set by the pipe callback on every (re)connection */
    struct feed_conn *next_parked;
} feed_conn;

static pthread_mutex_t feed_pool_mu = PTHREAD_MUTEX_INITIALIZER;
static feed_conn *feed_pool;

typedef struct live_source {
    feed_conn *conn;
    orc_client *rpc; /* borrowed */
    char *prefix;
} live_source;

/* feed_drain drops whatever conn's receive queue holds. */
static void feed_drain(feed_conn *conn)
{
    nng_msg *m = NULL;
    while (nng_recvmsg(conn->sock, &m, NNG_FLAG_NONBLOCK) == 0)
        nng_msg_free(m);
}

/* feed_park unsubscribes conn and puts it in the pool. */
static void feed_park(feed_conn *conn)
{
    if (conn->topic) {
        nng_socket_set(conn->sock, NNG_OPT_SUB_UNSUBSCRIBE, conn->topic, strlen(conn->topic));
        free(conn->topic);
        conn->topic = NULL;
    }
    feed_drain(conn);
    pthread_mutex_lock(&feed_pool_mu);
    conn->next_parked = feed_pool;
    feed_pool = conn;
    pthread_mutex_unlock(&feed_pool_mu);
}

/* feed_take returns a parked connection to url with the same CA, or NULL. */
static feed_conn *feed_take(const char *url, const char *ca)
{
    pthread_mutex_lock(&feed_pool_mu);
    feed_conn **at = &feed_pool;
    while (*at && (strcmp((*at)->url, url) != 0 || strcmp((*at)->ca, ca) != 0))
        at = &(*at)->next_parked;
    feed_conn *conn = *at;
    if (conn) {
        *at = conn->next_parked;
        conn->next_parked = NULL;
    }
    pthread_mutex_unlock(&feed_pool_mu);
    return conn;
}

/* feed_subscribe sets conn's subscription to prefix, dropping anything queued before. */
static int feed_subscribe(feed_conn *conn, const char *prefix, orc_error *err)
{
    char *topic = strdup(prefix);
    if (!topic)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    int rv = nng_socket_set(conn->sock, NNG_OPT_SUB_SUBSCRIBE, prefix, strlen(prefix));
    if (rv != 0) {
        free(topic);
        return orc_error_set(err, ORC_INTERNAL, "cannot subscribe to the event feed: %s",
                             nng_strerror(rv));
    }
    conn->topic = topic;
    feed_drain(conn);
    return ORC_OK;
}

/* feed_pipe_added runs on an nng thread: it only raises a flag. */
static void feed_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    (void)ev;
    feed_conn *conn = arg;
    atomic_store(&conn->connected, true);
}

/* feed_tls sets up TLS on dialer d for the tls+tcp:// URL url, verifying with ca. */
static int feed_tls(feed_conn *conn, int i, nng_dialer d, const char *url, const char *ca,
                    orc_error *err)
{
    nng_url *u = NULL;
    int rv;
    if ((rv = nng_tls_config_alloc(&conn->tls[i], NNG_TLS_MODE_CLIENT)) != 0) {
        conn->tls[i] = NULL;
        return orc_error_set(err, ORC_INTERNAL, "cannot set up TLS: %s", nng_strerror(rv));
    }
    if ((rv = nng_tls_config_ca_file(conn->tls[i], ca)) != 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot load CA file %s: %s", ca,
                             nng_strerror(rv));
    if ((rv = nng_url_parse(&u, url)) != 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "invalid events URL %s: %s", url,
                             nng_strerror(rv));
    rv = nng_tls_config_server_name(conn->tls[i], u->u_hostname);
    nng_url_free(u);
    if (rv == 0)
        rv = nng_tls_config_auth_mode(conn->tls[i], NNG_TLS_AUTH_MODE_REQUIRED);
    if (rv == 0)
        rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, conn->tls[i]);
    if (rv != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot set up TLS: %s", nng_strerror(rv));
    return ORC_OK;
}

/* feed_free releases a connection that never received: only set-up failures come here, so
 * closing its socket is safe. */
static void feed_free(feed_conn *conn, bool sock_open)
{
    if (sock_open)
        nng_close(conn->sock);
    for (int i = 0; i < FEED_MAX_URLS; i++)
        if (conn->tls[i])
            nng_tls_config_free(conn->tls[i]);
    free(conn->url);
    free(conn->ca);
    free(conn->topic);
    free(conn);
}

/*
 * feed_dial_all dials every URL of conn->url, a comma-separated list when coordinators stand
 * by (only the active one binds its feed; after a failover the new one's is dialed already).
 * In the background: the history is read through the RPC client meanwhile, and nng keeps
 * redialing a feed that is not there yet or goes away.
 */
static int feed_dial_all(feed_conn *conn, const char *ca, orc_error *err)
{
    char *list = strdup(conn->url), *save = NULL;
    if (!list)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    int rc = ORC_OK, rv, n = 0;
    for (char *u = strtok_r(list, ", ", &save); u && rc == ORC_OK;
         u = strtok_r(NULL, ", ", &save)) {
        nng_dialer d;
        if (n == FEED_MAX_URLS)
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "more than %d events URLs in %s",
                               FEED_MAX_URLS, conn->url);
        else if ((rv = nng_dialer_create(&d, conn->sock, u)) != 0)
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "invalid events URL %s: %s", u,
                               nng_strerror(rv));
        if (rc != ORC_OK)
            break;
        nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, SUB_RECONNECT_MIN_MS);
        nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, SUB_RECONNECT_MAX_MS);
        if (ca[0] && (rc = feed_tls(conn, n, d, u, ca, err)) != ORC_OK)
            break;
        if ((rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
            rc = orc_error_set(err, ORC_UNAVAILABLE, "cannot dial the event feed %s: %s", u,
                               nng_strerror(rv));
        n++;
    }
    if (rc == ORC_OK && n == 0)
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "no events URL in \"%s\"", conn->url);
    free(list);
    return rc;
}

/* feed_open makes a new connection to url (not subscribed yet) and starts dialing it. */
static int feed_open(const char *url, const char *ca, feed_conn **out, orc_error *err)
{
    int rv;
    int rc = ORC_OK;
    bool sock_open = false;
    feed_conn *conn = calloc(1, sizeof *conn);
    if (!conn)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    atomic_init(&conn->connected, false);
    if (!(conn->url = strdup(url)) || !(conn->ca = strdup(ca))) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }
    if ((rv = nng_sub0_open(&conn->sock)) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot open a SUB socket: %s", nng_strerror(rv));
        goto fail;
    }
    sock_open = true;
    if (nng_socket_set_int(conn->sock, NNG_OPT_RECVBUF, SUB_RECVBUF) != 0)
        nng_socket_set_int(conn->sock, NNG_OPT_RECVBUF, SUB_RECVBUF_FALLBACK);
    if ((rv = nng_socket_set_size(conn->sock, NNG_OPT_RECVMAXSZ, SUB_RECV_MAX)) != 0 ||
        (rv = nng_pipe_notify(conn->sock, NNG_PIPE_EV_ADD_POST, feed_pipe_added, conn)) != 0) {
        rc = orc_error_set(err, ORC_INTERNAL, "cannot configure the SUB socket: %s",
                           nng_strerror(rv));
        goto fail;
    }
    if ((rc = feed_dial_all(conn, ca, err)) != ORC_OK)
        goto fail;
    *out = conn;
    return ORC_OK;

fail:
    feed_free(conn, sock_open);
    return rc;
}

static void live_destroy(void *arg)
{
    live_source *ls = arg;
    if (!ls)
        return;
    if (ls->conn)
        feed_park(ls->conn);
    free(ls->prefix);
    free(ls);
}

static int live_recv(void *arg, int timeout_ms, orc_event **ev, bool *resync, orc_error *err)
{
    live_source *ls = arg;
    nng_socket sock = ls->conn->sock;
    nng_msg *m = NULL;
    *ev = NULL;
    *resync = atomic_exchange(&ls->conn->connected, false);
    int flags = 0;
    if (timeout_ms == 0)
        flags = NNG_FLAG_NONBLOCK;
    else
        nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, (nng_duration)timeout_ms);
    int rv = nng_recvmsg(sock, &m, flags);
    if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN)
        return orc_error_set(err, ORC_DEADLINE_EXCEEDED, NULL);
    if (rv != 0)
        return orc_error_set(err, ORC_UNAVAILABLE, "the event feed failed: %s", nng_strerror(rv));
    const uint8_t *body = nng_msg_body(m);
    size_t len = nng_msg_len(m);
    size_t scan = len < SUB_TOPIC_MAX ? len : SUB_TOPIC_MAX;
    const uint8_t *nul = memchr(body, '\0', scan);
    Orchestra__V1__Event *p = NULL;
    if (nul && has_prefix((const char *)body, ls->prefix))
        p = orchestra__v1__event__unpack(NULL, len - (size_t)(nul - body) - 1, nul + 1);
    if (!p) {
        /* Not an event of ours: whatever it was is re-read from the history. */
        nng_msg_free(m);
        *resync = true;
        return orc_error_set(err, ORC_DEADLINE_EXCEEDED, NULL);
    }
    *ev = orci_event_from_proto(p, ls->prefix, (const char *)body);
    orchestra__v1__event__free_unpacked(p, NULL);
    nng_msg_free(m);
    if (!*ev) {
        *resync = true;
        return orc_error_set(err, ORC_DEADLINE_EXCEEDED, NULL);
    }
    return ORC_OK;
}

static int live_list(void *arg, int64_t after_seq, const char *prefix, int limit,
                     orc_event_page *page, orc_error *err)
{
    live_source *ls = arg;
    return orci_events_list_into(ls->rpc, after_seq, prefix, limit, page, err);
}

int orc_subscription_new(const orc_subscribe_opts *opts_in, orc_client *rpc, orc_subscription **out,
                         orc_error *err)
{
    orc_subscribe_opts copy;
    const orc_subscribe_opts *opts = &copy;

    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the subscription");
    *out = NULL;
    if (!rpc)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no client for the history");
    int rc = orci_struct_in(&copy, sizeof copy, opts_in, sizeof copy, "orc_subscribe_opts", err);
    if (rc != ORC_OK)
        return rc;
    const char *url = opts->events_url;
    if (!url || !url[0])
        url = getenv("ORCHESTRA_EVENTS");
    if (!url || !url[0])
        url = ORC_DEFAULT_EVENTS_URL;
    const char *prefix = opts->topic_prefix ? opts->topic_prefix : "";
    if (strlen(prefix) >= SUB_TOPIC_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "topic prefix longer than %d bytes",
                             SUB_TOPIC_MAX - 1);
    const char *ca = "";
    if (strncmp(url, "tls+", 4) == 0) {
        bool given = opts->tls_ca_file && opts->tls_ca_file[0];
        ca = given ? opts->tls_ca_file : SUB_SYSTEM_CA_FILE;
        if (access(ca, R_OK) != 0 && given)
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot read CA file %s", ca);
        if (access(ca, R_OK) != 0)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "%s needs a CA file to verify the server (ORCHESTRA_TLS_CA)", url);
    }

    live_source *ls = calloc(1, sizeof *ls);
    if (!ls)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    ls->rpc = rpc;
    if (!(ls->prefix = strdup(prefix))) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }
    ls->conn = feed_take(url, ca);
    if (!ls->conn && (rc = feed_open(url, ca, &ls->conn, err)) != ORC_OK)
        goto fail;
    if ((rc = feed_subscribe(ls->conn, prefix, err)) != ORC_OK)
        goto fail;
    orci_event_source src = {
        .arg = ls,
        .recv = live_recv,
        .list = live_list,
        .now_ms = NULL,
        .destroy = live_destroy,
    };
    orci_subscribe_tuning t = {
        .page_size = opts->page_size,
        .idle_replay_ms = opts->idle_replay_ms,
    };
    return orci_subscription_new_source(&src, prefix, opts->after_seq, &t, out, err);

fail:
    live_destroy(ls);
    return rc;
}
