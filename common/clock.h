/*
 * clock.h: an injectable clock. Production code reads time only through an orci_clock so
 * that tests can drive it.
 */
#ifndef ORCI_CLOCK_H
#define ORCI_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct orci_clock {
    /* Returns microseconds since the Unix epoch (UTC). */
    int64_t (*now_us)(void *arg);
    void *arg;
} orci_clock;

/* orci_clock_system is the real-time clock. */
extern const orci_clock orci_clock_system;

/* orci_clock_now reads c (NULL means the system clock). */
int64_t orci_clock_now(const orci_clock *c);

/* orci_monotonic_ms returns a monotonic time in milliseconds, for timeouts. */
int64_t orci_monotonic_ms(void);

/*
 * orci_time_format writes us as ISO 8601 UTC with microseconds and 'Z'
 * ("2016-04-28T20:00:00.123456Z") into out (at least 32 bytes).
 */
void orci_time_format(int64_t us, char *out, size_t out_size);

#endif
