/*
 * subscribe.h: the ordering core of orc_subscription, over an abstract event source.
 *
 * orc_subscription_new plugs in the real source (an nng SUB socket for the live feed and
 * ListEvents for the history); the unit test plugs in a fake one, with a fake clock, to
 * drive reordering, duplicates, gaps, reconnections and quiet spells deterministically.
 * Same threading as the subscription: one thread at a time.
 */
#ifndef ORCI_SUBSCRIBE_H
#define ORCI_SUBSCRIBE_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestra/client.h"

/*
 * orci_event_source is where a subscription gets its events. Every function receives arg.
 *  - recv waits up to timeout_ms (0: does not wait) for one live event: ORC_OK with *ev
 *    (ownership passes to the caller), or ORC_DEADLINE_EXCEEDED with *ev NULL. It sets
 *    *resync when the feed was (re)connected since the last call: what was published
 *    meanwhile may be lost. Any other code is a failure of the feed.
 *  - list is orci_events_list_into: it fills the caller's page (emptied with
 *    orci_event_page_clear).
 *  - now_ms reads a monotonic clock in ms (NULL: the real one).
 *  - destroy releases arg when the subscription is destroyed (NULL: nothing to do).
 */
typedef struct orci_event_source {
    void *arg;
    int (*recv)(void *arg, int timeout_ms, orc_event **ev, bool *resync, orc_error *err);
    int (*list)(void *arg, int64_t after_seq, const char *prefix, int limit, orc_event_page *page,
                orc_error *err);
    int64_t (*now_ms)(void *arg);
    void (*destroy)(void *arg);
} orci_event_source;

/* orci_subscribe_tuning sets the subscription's limits; 0 in a field means its default. */
typedef struct orci_subscribe_tuning {
    int page_size;      /* ListEvents limit (1000) */
    int idle_replay_ms; /* history re-read after this long without news (2000) */
    int retry_ms;       /* wait after a failed history read before the next (200) */
    int pending_max;    /* live events held ahead of the next expected one (4096) */
} orci_subscribe_tuning;

/*
 * orci_subscription_new_source makes a subscription over src (copied; src->arg is owned by
 * the subscription from now on, even on failure, and released with src->destroy),
 * delivering events with seq > after_seq that have a topic starting with prefix (NULL: "").
 */
int orci_subscription_new_source(const orci_event_source *src, const char *prefix,
                                 int64_t after_seq, const orci_subscribe_tuning *tuning,
                                 orc_subscription **out, orc_error *err);

/*
 * orci_events_list_into is orc_events_list into a page the caller holds (zeroed by the call;
 * its events released with orci_event_page_clear), for the subscription's history reads.
 */
int orci_events_list_into(orc_client *c, int64_t after_seq, const char *topic_prefix, int limit,
                          orc_event_page *page, orc_error *err);

/* orci_event_page_clear releases the events of page (not page itself); NULL is allowed. */
void orci_event_page_clear(orc_event_page *page);

/* orci_subscription_replays counts the ListEvents calls made so far (for tests). */
uint64_t orci_subscription_replays(const orc_subscription *s);

/*
 * orci_event_from_proto converts a decoded orchestra.v1.Event (const Orchestra__V1__Event *,
 * borrowed) into a new orc_event (release with orc_event_free) whose topic is the first of
 * its topics starting with prefix, else copy_topic (NULL: ""). copy_topic is the topic a live
 * copy was received under, NULL for an event of the history: the event keeps the copy's
 * topic_prev_seq when its topic is copy_topic, else -1 (not known). NULL when out of memory.
 */
orc_event *orci_event_from_proto(const void *proto_event, const char *prefix,
                                 const char *copy_topic);

#endif
