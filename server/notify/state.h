/*
 * state.h: orchestra-notify's delivery state, durable under --state DIR (a SQLite file,
 * DIR/notify.db, WAL with synchronous=FULL: every change is on disk when the call returns).
 *
 * Per target (the e-mail channel "email", each webhook "webhook:<id>") it keeps:
 *  - last_seq: every event of the target's feed up to here is done with (delivered, failed
 *    for good, dead-lettered or not for this target). A restart resumes after it, so it
 *    neither skips nor floods;
 *  - the retry in progress: the event being retried, its failed attempts, the first failure
 *    and the next try, so a restart keeps the schedule (no burst of retries, no reset 24 h
 *    window);
 *  - the redelivery generation last carried out (each `webhook redeliver` is done once);
 *  - counters (delivered, failed, skipped) and the dead letters (event seqs given up on, with
 *    the last error), each either waiting for a redelivery or queued for one.
 *
 * At least once: a delivery is recorded only after its 2xx or SMTP 250 (orci_nstate_done),
 * so a crash between the two repeats that one message, and nothing is ever recorded as done
 * before it is.
 *
 * Any thread: one connection, calls serialized by a mutex (they are short; the fsync of a
 * commit is most of each).
 */
#ifndef ORCI_NOTIFY_STATE_H
#define ORCI_NOTIFY_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestra/error.h"

typedef struct orci_nstate orci_nstate;

#define ORCI_NSTATE_FILE "notify.db"
#define ORCI_NSTATE_ERROR_MAX 512

/*
 * orci_nstate_open opens (creating it and its tables when missing) DIR/notify.db. DIR must
 * exist. *out is released with orci_nstate_close.
 */
int orci_nstate_open(const char *dir, orci_nstate **out, orc_error *err);

/* orci_nstate_close closes the file; NULL is allowed. */
void orci_nstate_close(orci_nstate *s);

/* orci_cursor is one target's state. */
typedef struct orci_cursor {
    int64_t last_seq;
    int64_t generation; /* the redelivery carried out last */
    int64_t retry_seq;  /* the event being retried, 0: none */
    int attempts;       /* its failed attempts so far */
    int64_t first_failure_us;
    int64_t next_attempt_us;
    char last_error[ORCI_NSTATE_ERROR_MAX];
    int64_t delivered; /* accepted: 2xx, SMTP 250 */
    int64_t failed;    /* refused for good (SMTP 5xx): counted, never retried */
    int64_t skipped;   /* not for the target (an opted-out worker, no address...) */
    int64_t dead;      /* dead letters not queued for redelivery */
} orci_cursor;

/*
 * orci_nstate_load reads target's state into *out; a target never seen gets a row starting
 * after start_seq with the redeliveries up to start_generation counted as done (they were
 * asked for before it existed), and *created true.
 */
int orci_nstate_load(orci_nstate *s, const char *target, int64_t start_seq,
                     int64_t start_generation, orci_cursor *out, bool *created, orc_error *err);

/* How an event ended for a target (orci_nstate_done). */
typedef enum orci_outcome {
    ORCI_OUTCOME_DELIVERED,
    ORCI_OUTCOME_FAILED,
    ORCI_OUTCOME_SKIPPED,
} orci_outcome;

/*
 * orci_nstate_done records that event seq is done with (counted as how) and ends its retry.
 * A live event (from the feed) moves last_seq up to seq; a dead letter being redelivered
 * (redelivery true) leaves last_seq and loses its dead-letter row.
 */
int orci_nstate_done(orci_nstate *s, const char *target, int64_t seq, orci_outcome how,
                     bool redelivery, orc_error *err);

/* orci_nstate_retry records a failed attempt of seq and when the next one is due. */
int orci_nstate_retry(orci_nstate *s, const char *target, int64_t seq, int attempts,
                      int64_t first_failure_us, int64_t next_attempt_us, const char *error,
                      orc_error *err);

/*
 * orci_nstate_dead_letter gives up on seq: a dead letter with error (replacing a redelivered
 * one's), the retry ended, and for a live event last_seq moved up to seq so the next goes.
 */
int orci_nstate_dead_letter(orci_nstate *s, const char *target, int64_t seq, const char *error,
                            int64_t now_us, bool redelivery, orc_error *err);

/*
 * orci_nstate_advance moves last_seq up to seq (never down) after events that were not for
 * the target, adding skipped to the count: these are written lazily (a crash repeats only
 * skips, which send nothing).
 */
int orci_nstate_advance(orci_nstate *s, const char *target, int64_t seq, int64_t skipped,
                        orc_error *err);

/*
 * orci_nstate_redeliver carries out redelivery number generation: since >= 0 resends every
 * event after since (last_seq = since, the retry ended, dead letters after since dropped:
 * they come again in order); since < 0 queues every dead letter for redelivery.
 */
int orci_nstate_redeliver(orci_nstate *s, const char *target, int64_t generation, int64_t since,
                          orc_error *err);

/* orci_nstate_next_queued finds the oldest dead letter queued for redelivery (*seq 0: none). */
int orci_nstate_next_queued(orci_nstate *s, const char *target, int64_t *seq, orc_error *err);

/* orci_nstate_drop_dead_letter forgets dead letter seq (its event no longer exists). */
int orci_nstate_drop_dead_letter(orci_nstate *s, const char *target, int64_t seq, orc_error *err);

/* orci_nstate_forget removes everything of target (a deleted webhook). */
int orci_nstate_forget(orci_nstate *s, const char *target, orc_error *err);

#endif
