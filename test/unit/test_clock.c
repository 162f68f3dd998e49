/*
 * test_clock.c: ISO 8601 formatting of known instants, and the injectable clock.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "clock.h"

/* Expected values were computed with python3 calendar.timegm. */
static void test_clock_formats_epoch(void **state)
{
    (void)state;
    char out[32];
    orci_time_format(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
}

static void test_clock_formats_microseconds(void **state)
{
    (void)state;
    char out[32];
    orci_time_format(1461873600123456, out, sizeof out);
    assert_string_equal(out, "2016-04-28T20:00:00.123456Z");
    orci_time_format(1000001, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:01.000001Z");
}

static void test_clock_formats_leap_days(void **state)
{
    (void)state;
    char out[32];
    orci_time_format(1456790399123456, out, sizeof out);
    assert_string_equal(out, "2016-02-29T23:59:59.123456Z");
    orci_time_format(951782400000000, out, sizeof out);
    assert_string_equal(out, "2000-02-29T00:00:00.000000Z");
}

static void test_clock_formats_instants_before_1970(void **state)
{
    (void)state;
    char out[32];
    orci_time_format(-500000, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.500000Z");
    orci_time_format(-1, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    orci_time_format(-1000000, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.000000Z");
}

static void test_clock_format_truncates_to_small_buffers(void **state)
{
    (void)state;
    char out[11];
    orci_time_format(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01");
}

static int64_t fixed_now(void *arg)
{
    return *(const int64_t *)arg;
}

static void test_clock_formats_with_chosen_fraction_digits(void **state)
{
    (void)state;
    char out[40];
    orci_time_format_digits(1461873600123456LL, 3, out, sizeof out);
    assert_string_equal(out, "2016-04-28T20:00:00.123Z");
    orci_time_format_digits(1461873600123456LL, 0, out, sizeof out);
    assert_string_equal(out, "2016-04-28T20:00:00Z");
    orci_time_format_digits(-1, 3, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
}

static void test_clock_parses_dates_and_refuses_non_dates(void **state)
{
    (void)state;
    int64_t days = -1;
    char out[16];
    assert_int_equal(orci_parse_date("1970-01-01", &days), 0);
    assert_int_equal(days, 0);
    assert_int_equal(orci_parse_date("2024-02-29", &days), 0);
    orci_format_date(days, out, sizeof out);
    assert_string_equal(out, "2024-02-29");
    assert_int_equal(orci_parse_date("1969-12-31", &days), 0);
    assert_int_equal(days, -1);
    static const char *const bad[] = {"2023-02-29",  "2024-13-01", "2024-00-10", "2024-1-01",
                                      "2024-01-011", "0000-01-01", "2024/01/01", "",
                                      "2100-02-29",  "abcd-ef-gh"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(orci_parse_date(bad[i], &days), -1);
    /* Round trip over four centuries of days. */
    for (int64_t d = -146097; d <= 146097; d += 97) {
        int64_t y, m, dd;
        orci_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(orci_days_from_civil(y, m, dd), d);
    }
}

static void test_clock_parses_http_dates(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(orci_parse_http_date("Thu, 28 Apr 2016 20:00:00 GMT", &s), 0);
    assert_int_equal(s, 1461873600);
    assert_int_equal(orci_parse_http_date("Thu, 29 Feb 2024 00:00:01 GMT", &s), 0);
    assert_int_equal(s, 1709164801);
    static const char *const bad[] = {
        "Thu, 28 Apr 2016 20:00:00 UTC",   "Thu, 28 Apr 2016 20:00:00",
        "Xyz, 28 Apr 2016 20:00:00 GMT",   "Thu, 31 Apr 2016 20:00:00 GMT",
        "Thu, 28 Foo 2016 20:00:00 GMT",   "Thu, 28 Apr 2016 24:00:00 GMT",
        "Thursday, 28-Apr-16 20:00:00 GMT"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(orci_parse_http_date(bad[i], &s), -1);
}

static void test_clock_now_uses_the_injected_clock(void **state)
{
    (void)state;
    int64_t t = 1234567890123456;
    orci_clock c = {fixed_now, &t};
    assert_int_equal(orci_clock_now(&c), 1234567890123456);
    t += 5;
    assert_int_equal(orci_clock_now(&c), 1234567890123461);
}

static void test_clock_system_clock_is_after_2020(void **state)
{
    (void)state;
    /* 2020-01-01T00:00:00Z; any real clock on a test machine is past it. */
    assert_true(orci_clock_now(NULL) > INT64_C(1577836800000000));
    assert_true(orci_clock_now(&orci_clock_system) > INT64_C(1577836800000000));
    int64_t a = orci_monotonic_ms();
    int64_t b = orci_monotonic_ms();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_formats_epoch),
        cmocka_unit_test(test_clock_formats_microseconds),
        cmocka_unit_test(test_clock_formats_leap_days),
        cmocka_unit_test(test_clock_formats_instants_before_1970),
        cmocka_unit_test(test_clock_format_truncates_to_small_buffers),
        cmocka_unit_test(test_clock_formats_with_chosen_fraction_digits),
        cmocka_unit_test(test_clock_parses_dates_and_refuses_non_dates),
        cmocka_unit_test(test_clock_parses_http_dates),
        cmocka_unit_test(test_clock_now_uses_the_injected_clock),
        cmocka_unit_test(test_clock_system_clock_is_after_2020),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
