/*
 * target.h: one delivery target of orchestra-notify (the e-mail channel, or one webhook) and
 * the thread that feeds it, in seq order, from the event feed.
 *
 * The thread follows the feed with an orc_subscription on the target's topic prefix (gaps
 * and restarts are filled with ListEvents by the client library) from the target's last_seq
 * in the state file (state.h), and hands each event the channel wants to its deliver
 * function, one at a time:
 *  - accepted (or refused for good, or nothing to send): recorded, then the next event;
 *  - failed: recorded as a retry and tried again on the schedule of retry.h; the events
 *    after it wait (delivery is in order); once the window is over the event becomes a dead
 *    letter and the next one goes;
 *  - events the channel does not want (not an e-mail) only move last_seq, lazily.
 * A redelivery request (orci_target_redeliver) queues the dead letters again (they go before
 * the feed's next event) or restarts the feed after a given seq.
 *
 * Threads: orci_target_start runs the thread; the other functions are for the manager
 * (notifier.h) on any one thread.
 */
#ifndef ORCI_NOTIFY_TARGET_H
#define ORCI_NOTIFY_TARGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/client.h"
#include "retry.h"
#include "sent.h"
#include "state.h"

/*
 * orci_channel is what a target delivers with. wants (NULL: every event) says whether an
 * event is for it at all; deliver makes one attempt, writing what failed into why;
 * free releases ctx (when the target ends). Called on the target's thread only.
 */
typedef struct orci_channel {
    bool (*wants)(void *ctx, const orc_event *ev);
    orci_sent (*deliver)(void *ctx, const orc_event *ev, char *why, size_t why_size);
    void (*free)(void *ctx);
    void *ctx;
} orci_channel;

/* orci_target_opts describes a target; strings are copied, pointers borrowed. */
typedef struct orci_target_opts {
    const char *name;         /* the state file's key: "email", "webhook:<id>" */
    const char *prefix;       /* the feed's topic prefix ("": every event) */
    int64_t start_seq;        /* a target without state starts after this seq */
    int64_t start_generation; /* ...with the redeliveries asked for so far counted as done */
    orc_client *rpc;          /* shared, thread-safe; outlives the target */
    const char *events_url;
    const char *tls_ca;
    orci_nstate *state;
    orci_retry_policy retry;
    atomic_bool *stop; /* the target's own stop flag (the channel aborts on it too) */
} orci_target_opts;

typedef struct orci_target orci_target;

/*
 * orci_target_start starts the target's thread; the channel (its ctx included) belongs to
 * the target from now on, even on failure. *out is released with orci_target_join.
 */
int orci_target_start(const orci_target_opts *o, orci_channel ch, orci_target **out,
                      orc_error *err);

/* orci_target_redeliver asks for redelivery number generation (see state.h's since). */
void orci_target_redeliver(orci_target *t, int64_t generation, int64_t since);

/* orci_target_wake makes the thread look at its stop flag now (after the manager set it). */
void orci_target_wake(orci_target *t);

/* orci_target_status is a target's state for reports. */
typedef struct orci_target_status {
    char state[32]; /* "active", "retrying", "dead-lettered" */
    char last_error[ORCI_NSTATE_ERROR_MAX];
    int64_t delivered_seq;
    int64_t delivered, failed, skipped, dead_lettered;
    int64_t attempts;
    int64_t next_attempt_us;
    uint64_t changes; /* grows with every change: report when it moved */
} orci_target_status;

/* orci_target_status_get copies the target's current status into *out. */
void orci_target_status_get(orci_target *t, orci_target_status *out);

/*
 * orci_target_join waits for the thread (its stop flag must be set and the target woken)
 * and frees the target; NULL is allowed.
 */
void orci_target_join(orci_target *t);

#endif
