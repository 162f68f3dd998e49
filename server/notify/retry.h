/*
 * retry.h: when orchestra-notify tries a failed delivery again, and when it gives up.
 *
 * A delivery that fails (a webhook's non-2xx answer or timeout, a temporary SMTP failure) is
 * tried again after an exponential delay with jitter: the n-th failure waits d = min(max,
 * min * 2^(n-1)), taken at random in [d/2, d) ("equal jitter": the waits of receivers that
 * failed together spread out, yet never shrink below half the schedule). Tries go on until
 * give_up_ms has passed since the first failure; the last try is made at that deadline (a
 * wait is cut short to land on it), so an event is tried for at least the whole window before
 * it is dead-lettered. Pure functions, any thread.
 */
#ifndef ORCI_NOTIFY_RETRY_H
#define ORCI_NOTIFY_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* orci_retry_policy is the schedule: milliseconds. */
typedef struct orci_retry_policy {
    int64_t min_ms;     /* the first wait's scale (> 0) */
    int64_t max_ms;     /* no wait is longer (>= min_ms) */
    int64_t give_up_ms; /* window from the first failure; 0: the first failure gives up */
} orci_retry_policy;

/* orci_retry_delay_ms is the jittered wait after the n-th failure (n >= 1), u in [0, 1). */
int64_t orci_retry_delay_ms(const orci_retry_policy *p, int n, double u);

/*
 * orci_retry_next decides after the n-th failure (n >= 1) of an event whose first failure
 * was at first_us, now at now_us: true with the time of the next try in *next_us, or false
 * when the window is over (dead-letter it). u is a uniform random number in [0, 1).
 */
bool orci_retry_next(const orci_retry_policy *p, int n, int64_t first_us, int64_t now_us, double u,
                     int64_t *next_us);

#endif
