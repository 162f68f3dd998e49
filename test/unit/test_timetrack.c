/*
 * test_timetrack.c: the pure time tracking rules (timetrack.h): UTC dates, the ISO week,
 * duration parsing and rendering, rounding up to the minute and the timecard's day totals.
 * Every instant is given explicitly: no clock is read.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <string.h>

#include "domain/timetrack.h"

#define S 1000000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int64_t date_days(const char *text)
{
    int64_t d = 0;
    orc_error err = {0};
    if (orci_tt_parse_date(text, &d, &err) != ORC_OK)
        fail_msg("%s: %s", text, err.message);
    return d;
}

static void assert_date(int64_t days, const char *want)
{
    char got[16];
    orci_tt_format_date(days, got, sizeof got);
    assert_string_equal(got, want);
}

static void assert_rounded(int64_t us, const char *want)
{
    char got[32];
    orci_tt_format_hm(orci_tt_rounded_minutes(us), got, sizeof got);
    assert_string_equal(got, want);
}

static int64_t duration(const char *text)
{
    int64_t us = -1;
    orc_error err = {0};
    if (orci_tt_parse_duration(text, &us, &err) != ORC_OK)
        fail_msg("%s: %s", text, err.message);
    return us;
}

static void test_dates_round_trip_and_reject_impossible_days(void **state)
{
    (void)state;
    assert_int_equal(date_days("1970-01-01"), 0);
    assert_date(date_days("2024-02-29"), "2024-02-29");
    assert_date(date_days("2000-03-01") - 1, "2000-02-29");
    assert_date(date_days("1969-12-31"), "1969-12-31");
    int64_t d;
    orc_error err = {0};
    const char *bad[] = {"2023-02-29", "2024-13-01", "2024-00-10",  "2024-1-01", "2024-01-32",
                         "",           "2024/01/01", "2024-01-01x", "1900-02-29"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(orci_tt_parse_date(bad[i], &d, &err), ORC_INVALID_ARGUMENT);
    assert_int_equal(orci_tt_parse_date(NULL, &d, &err), ORC_INVALID_ARGUMENT);
}

static void test_utc_date_changes_exactly_at_midnight(void **state)
{
    (void)state;
    int64_t midnight = date_days("2026-11-27") * DAY;
    assert_date(orci_tt_utc_days(midnight - 1), "2026-11-26");
    assert_date(orci_tt_utc_days(midnight), "2026-11-27");
    assert_date(orci_tt_utc_days(midnight + DAY - 1), "2026-11-27");
    /* Before the epoch the date still floors. */
    assert_date(orci_tt_utc_days(-1), "1969-12-31");
}

static void test_default_week_runs_monday_to_sunday(void **state)
{
    (void)state;
    int64_t mon, sun;
    /* 2026-11-27 is a Friday. */
    orci_tt_iso_week(date_days("2026-11-27"), &mon, &sun);
    assert_date(mon, "2026-11-23");
    assert_date(sun, "2026-11-29");
    /* A Monday and a Sunday are in their own week. */
    orci_tt_iso_week(date_days("2026-11-23"), &mon, &sun);
    assert_date(mon, "2026-11-23");
    orci_tt_iso_week(date_days("2026-11-29"), &mon, &sun);
    assert_date(mon, "2026-11-23");
    assert_date(sun, "2026-11-29");
    /* Across a year's end, and before the epoch. */
    orci_tt_iso_week(date_days("2027-01-01"), &mon, &sun);
    assert_date(mon, "2026-12-28");
    assert_date(sun, "2027-01-03");
    orci_tt_iso_week(date_days("1969-12-31"), &mon, &sun);
    assert_date(mon, "1969-12-29");
}

static void test_durations_parse_hours_minutes_and_optional_seconds(void **state)
{
    (void)state;
    assert_int_equal(duration("01:30"), HOUR + 30 * MIN);
    assert_int_equal(duration("00:00"), 0);
    assert_int_equal(duration("1:02:03"), HOUR + 2 * MIN + 3 * S);
    assert_int_equal(duration("00:00:59.9"), 59 * S + 900000);
    assert_int_equal(duration("00:00:01.000001"), S + 1);
    assert_int_equal(duration("25:00:00"), 25 * HOUR);
    assert_int_equal(duration("1 02:03:04"), DAY + 2 * HOUR + 3 * MIN + 4 * S);
}

static void test_durations_refuse_bad_text(void **state)
{
    (void)state;
    const char *bad[] = {
        "",       "1",      "1:",      ":30",       "01:60",      "01:30:60",
        "-01:00", "01:3",   "01:30:5", "01:30:00.", "aa:bb",      "01:30:00.1234567",
        "1 ",     " 01:00", "01:00 ",  "x 01:00",   "01:00:00:00"};
    int64_t us;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        orc_error err = {0};
        if (orci_tt_parse_duration(bad[i], &us, &err) != ORC_INVALID_ARGUMENT)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_non_null(strstr(err.message, "HH:MM"));
    }
}

static void test_durations_render_like_django_and_python(void **state)
{
    (void)state;
    char out[64];
    orci_tt_format_duration(HOUR + 2 * MIN + 3 * S, out, sizeof out);
    assert_string_equal(out, "01:02:03");
    orci_tt_format_duration(0, out, sizeof out);
    assert_string_equal(out, "00:00:00");
    orci_tt_format_duration(DAY + 61 * S, out, sizeof out);
    assert_string_equal(out, "1 00:01:01");
    orci_tt_format_duration(5 * MIN + 3 * S + 123456, out, sizeof out);
    assert_string_equal(out, "00:05:03"); /* entries show whole seconds (CONTRACT.md) */
    orci_tt_format_timedelta(HOUR, out, sizeof out);
    assert_string_equal(out, "1:00:00");
    orci_tt_format_timedelta(5 * MIN + 3 * S + 123456, out, sizeof out);
    assert_string_equal(out, "0:05:03.123456");
    orci_tt_format_timedelta(2 * DAY + S, out, sizeof out);
    assert_string_equal(out, "2 days, 0:00:01");
    orci_tt_format_timedelta(DAY, out, sizeof out);
    assert_string_equal(out, "1 day, 0:00:00");
}

static void test_rounding_adds_a_minute_for_nonzero_seconds(void **state)
{
    (void)state;
    assert_rounded(0, "00:00");
    assert_rounded(S, "00:01");
    assert_rounded(59 * S + 900000, "00:01");
    assert_rounded(60 * S, "00:01");
    assert_rounded(61 * S, "00:02");
    /* A sub-second part alone does not round up: only the seconds component counts. */
    assert_rounded(MIN + 500000, "00:01");
    assert_rounded(59 * MIN + 30 * S, "01:00");
    assert_rounded(2 * HOUR, "02:00");
}

static void test_rounding_ignores_whole_days(void **state)
{
    (void)state;
    /* 1 day 02:03:04 shows as 02:04: the day component is dropped, as upstream does. */
    assert_rounded(DAY + 2 * HOUR + 3 * MIN + 4 * S, "02:04");
    assert_rounded(DAY, "00:00");
    assert_rounded(DAY - S, "24:00");
}

static json_t *card(const orci_tt_entry *e, size_t n, int64_t from, int64_t to)
{
    json_t *doc = orci_tt_timecard_json(e, n, from, to);
    assert_non_null(doc);
    return doc;
}

static const char *day_total(json_t *doc, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "days"), i), "total"));
}

static void test_day_total_is_sum_of_rounded_entries(void **state)
{
    (void)state;
    int64_t d = date_days("2026-11-23");
    orci_tt_entry e[] = {
        {.id = 1, .days = d, .us = 61 * S, .description = "a", .assignment_id = 7},
        {.id = 2, .days = d, .us = 61 * S, .description = "b", .assignment_id = 7},
        {.id = 3, .days = d, .us = 30 * S, .description = "c", .assignment_id = 7},
    };
    json_t *doc = card(e, 3, d, d);
    /* 2 + 2 + 1 minutes, whereas the rounded sum of 2:32 would be 3. */
    assert_string_equal(day_total(doc, 0), "00:05");
    json_t *day = json_array_get(json_object_get(doc, "days"), 0);
    assert_false(json_is_true(json_object_get(day, "incomplete")));
    json_t *first = json_array_get(json_object_get(day, "entries"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "rounded")), "00:02");
    assert_string_equal(json_string_value(json_object_get(first, "time_worked")), "00:01:01");
    json_decref(doc);
}

static void test_incomplete_entry_withholds_its_day_total_only(void **state)
{
    (void)state;
    int64_t d = date_days("2026-11-23");
    orci_tt_entry e[] = {
        {.id = 1, .days = d, .us = HOUR, .description = "a", .assignment_id = 7},
        {.id = 2, .days = d, .us = MIN, .description = NULL, .assignment_id = 7},
        {.id = 3, .days = d + 1, .us = MIN, .description = "x", .assignment_id = 0},
        {.id = 4, .days = d + 2, .us = MIN, .description = "", .assignment_id = 7},
        {.id = 5, .days = d + 3, .us = 90 * S, .description = "ok", .assignment_id = 7},
    };
    json_t *doc = card(e, 5, d, d + 4);
    json_t *days = json_object_get(doc, "days");
    assert_int_equal(json_array_size(days), 5);
    for (size_t i = 0; i < 3; i++) {
        json_t *day = json_array_get(days, i);
        assert_true(json_is_null(json_object_get(day, "total")));
        assert_true(json_is_true(json_object_get(day, "incomplete")));
    }
    assert_string_equal(day_total(doc, 3), "00:02");
    /* An empty day is complete with a zero total. */
    assert_string_equal(day_total(doc, 4), "00:00");
    assert_int_equal(json_array_size(json_object_get(json_array_get(days, 4), "entries")), 0);
    json_decref(doc);
}

static void test_timecard_lists_every_date_and_skips_entries_outside(void **state)
{
    (void)state;
    int64_t d = date_days("2026-11-23");
    orci_tt_entry e[] = {
        {.id = 1, .days = d - 1, .us = HOUR, .description = NULL, .assignment_id = 0},
        {.id = 2, .days = d + 6, .us = 25 * HOUR, .description = "long", .assignment_id = 3},
    };
    json_t *doc = card(e, 2, d, d + 6);
    json_t *days = json_object_get(doc, "days");
    assert_int_equal(json_array_size(days), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(days, 0), "date")),
                        "2026-11-23");
    assert_string_equal(day_total(doc, 0), "00:00");
    /* 25 hours is 1 day 01:00:00: rounded shows 01:00. */
    assert_string_equal(day_total(doc, 6), "01:00");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_round_trip_and_reject_impossible_days),
        cmocka_unit_test(test_utc_date_changes_exactly_at_midnight),
        cmocka_unit_test(test_default_week_runs_monday_to_sunday),
        cmocka_unit_test(test_durations_parse_hours_minutes_and_optional_seconds),
        cmocka_unit_test(test_durations_refuse_bad_text),
        cmocka_unit_test(test_durations_render_like_django_and_python),
        cmocka_unit_test(test_rounding_adds_a_minute_for_nonzero_seconds),
        cmocka_unit_test(test_rounding_ignores_whole_days),
        cmocka_unit_test(test_day_total_is_sum_of_rounded_entries),
        cmocka_unit_test(test_incomplete_entry_withholds_its_day_total_only),
        cmocka_unit_test(test_timecard_lists_every_date_and_skips_entries_outside),
    };
    return cmocka_run_group_tests_name("timetrack", tests, NULL, NULL);
}
