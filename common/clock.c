/*
 * clock.c: the system clock behind orci_clock, a monotonic clock and ISO 8601 formatting.
 */
#include "clock.h"

#include <stdio.h>
#include <time.h>

static int64_t clock_system_now_us(void *arg)
{
    (void)arg;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const orci_clock orci_clock_system = {clock_system_now_us, NULL};

int64_t orci_clock_now(const orci_clock *c)
{
    if (c == NULL || c->now_us == NULL)
        return clock_system_now_us(NULL);
    return c->now_us(c->arg);
}

int64_t orci_monotonic_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void orci_time_format(int64_t us, char *out, size_t out_size)
{
    if (out == NULL || out_size == 0)
        return;
    /* Floor division, so that instants before 1970 keep a non-negative fraction. */
    int64_t secs = us / 1000000;
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        out[0] = '\0';
        return;
    }
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}
