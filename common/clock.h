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
 * orci_time_format writes us as RFC 3339 / ISO 8601 UTC with microseconds and 'Z'
 * ("2016-04-28T20:00:00.123456Z") into out (at least 32 bytes).
 */
void orci_time_format(int64_t us, char *out, size_t out_size);

/*
 * orci_time_format_digits is orci_time_format with `digits` (0, 3 or 6) digits of the
 * second's fraction: 3 gives "2016-04-28T20:00:00.123Z", 0 "2016-04-28T20:00:00Z".
 */
void orci_time_format_digits(int64_t us, int digits, char *out, size_t out_size);

/* ---- the calendar (proleptic Gregorian, UTC) ---------------------------------------- */

/* orci_floor_div is a / b rounded towards minus infinity (b > 0). */
int64_t orci_floor_div(int64_t a, int64_t b);

/* orci_days_from_civil counts days from 1970-01-01 to y-m-d (m 1..12, d 1..31). */
int64_t orci_days_from_civil(int64_t y, int64_t m, int64_t d);

/* orci_civil_from_days is the inverse of orci_days_from_civil. */
void orci_civil_from_days(int64_t days, int64_t *y, int64_t *m, int64_t *d);

/*
 * orci_parse_date reads exactly "YYYY-MM-DD" (a real date, year 1 or later) into days since
 * 1970-01-01. Returns 0, or -1 when text is anything else.
 */
int orci_parse_date(const char *text, int64_t *days);

/* orci_format_date writes days since 1970-01-01 as "YYYY-MM-DD" (at least 11 bytes). */
void orci_format_date(int64_t days, char *out, size_t out_size);

/*
 * orci_parse_http_date reads an HTTP date in its one current form, IMF-fixdate
 * ("Thu, 28 Apr 2016 20:00:00 GMT", RFC 9110 5.6.7), into seconds since the epoch.
 * Returns 0, or -1 when text is anything else.
 */
int orci_parse_http_date(const char *text, int64_t *seconds);

#endif
