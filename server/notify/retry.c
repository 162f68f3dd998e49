/*
 * retry.c: the retry schedule of retry.h.
 */
#include "retry.h"

int64_t orci_retry_delay_ms(const orci_retry_policy *p, int n, double u)
{
    int64_t min = p->min_ms > 0 ? p->min_ms : 1;
    int64_t max = p->max_ms >= min ? p->max_ms : min;
    int64_t d = min;
    /* Doubling stops at the cap, so the shift never overflows however many failures. */
    for (int i = 1; i < n && d < max; i++)
        d = d > max / 2 ? max : d * 2;
    if (d > max)
        d = max;
    if (u < 0 || u >= 1)
        u = 0;
    int64_t half = d / 2;
    return half + (int64_t)((double)(d - half) * u);
}

bool orci_retry_next(const orci_retry_policy *p, int n, int64_t first_us, int64_t now_us, double u,
                     int64_t *next_us)
{
    int64_t deadline = first_us + (p->give_up_ms > 0 ? p->give_up_ms : 0) * 1000;
    if (now_us >= deadline)
        return false;
    int64_t next = now_us + orci_retry_delay_ms(p, n, u) * 1000;
    *next_us = next < deadline ? next : deadline;
    return true;
}
