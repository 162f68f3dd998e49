/*
 * clock.c: the system clock behind orci_clock, a monotonic clock, RFC 3339 formatting and
 * the calendar arithmetic every date in the project goes through (H. Hinnant's algorithms).
 */
#include "clock.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
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

int64_t orci_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t orci_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = orci_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void orci_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = orci_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static bool clock_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* clock_digits reads exactly n decimal digits at s. */
static bool clock_digits(const char *s, int n, int64_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* clock_valid_day: d is a day of month m of year y. */
static bool clock_valid_day(int64_t y, int64_t m, int64_t d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && clock_leap(y));
}

int orci_parse_date(const char *text, int64_t *days)
{
    int64_t y, m, d;
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
        !clock_digits(text, 4, &y) || !clock_digits(text + 5, 2, &m) ||
        !clock_digits(text + 8, 2, &d) || y < 1 || !clock_valid_day(y, m, d))
        return -1;
    *days = orci_days_from_civil(y, m, d);
    return 0;
}

void orci_format_date(int64_t days, char *out, size_t out_size)
{
    int64_t y, m, d;
    orci_civil_from_days(days, &y, &m, &d);
    snprintf(out, out_size, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, m, d);
}

int orci_parse_http_date(const char *text, int64_t *seconds)
{
    static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    /* "Thu, 28 Apr 2016 20:00:00 GMT": fixed width, 29 characters. */
    if (!text || strlen(text) != 29 || strncmp(text + 3, ", ", 2) != 0 || text[7] != ' ' ||
        text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':' ||
        strcmp(text + 25, " GMT") != 0)
        return -1;
    bool wday_ok = false;
    for (size_t i = 0; i < 7; i++)
        wday_ok |= strncmp(text, wdays[i], 3) == 0;
    int64_t month = 0, day, year, hour, min, sec;
    for (int i = 0; i < 12; i++)
        if (strncmp(text + 8, months[i], 3) == 0)
            month = i + 1;
    if (!wday_ok || month == 0 || !clock_digits(text + 5, 2, &day) ||
        !clock_digits(text + 12, 4, &year) || !clock_digits(text + 17, 2, &hour) ||
        !clock_digits(text + 20, 2, &min) || !clock_digits(text + 23, 2, &sec) ||
        !clock_valid_day(year, month, day) || hour > 23 || min > 59 || sec > 60)
        return -1;
    *seconds = orci_days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    return 0;
}

void orci_time_format_digits(int64_t us, int digits, char *out, size_t out_size)
{
    if (out == NULL || out_size == 0)
        return;
    int64_t secs = orci_floor_div(us, 1000000);
    int64_t frac = us - secs * 1000000; /* never negative, before 1970 too */
    int64_t days = orci_floor_div(secs, 86400), rem = secs - days * 86400, y, m, d;
    orci_civil_from_days(days, &y, &m, &d);
    char fraction[16] = "";
    if (digits == 3)
        snprintf(fraction, sizeof fraction, ".%03d", (int)(frac / 1000));
    else if (digits == 6)
        snprintf(fraction, sizeof fraction, ".%06d", (int)frac);
    snprintf(out, out_size, "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02d:%02d:%02d%sZ", y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), fraction);
}

void orci_time_format(int64_t us, char *out, size_t out_size)
{
    orci_time_format_digits(us, 6, out, out_size);
}
