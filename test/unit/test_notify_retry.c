/*
 * test_notify_retry.c: the notifier's retry schedule (server/notify/retry.c): waits double
 * from the minimum up to the maximum, jitter keeps each wait in [d/2, d), the tries go on for
 * the whole window with the last one at its deadline, and then the event is given up on.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "retry.h"

#define S 1000000LL /* one second in microseconds */

static const orci_retry_policy DAY = {.min_ms = 1000, .max_ms = 3600000, .give_up_ms = 86400000};

static void test_waits_double_up_to_the_cap(void **state)
{
    (void)state;
    /* u just below 1: the top of each jitter range, just below d */
    int64_t prev = 0;
    for (int n = 1; n <= 12; n++) {
        int64_t hi = orci_retry_delay_ms(&DAY, n, 0.999999);
        int64_t lo = orci_retry_delay_ms(&DAY, n, 0.0);
        int64_t d = 1000LL << (n - 1);
        if (d > 3600000)
            d = 3600000;
        assert_int_equal(lo, d / 2);
        assert_true(hi < d && hi >= d - d / 1000);
        assert_true(hi >= prev);
        prev = hi;
    }
    /* far past the cap: no overflow, the cap */
    assert_int_equal(orci_retry_delay_ms(&DAY, 10000, 0.0), 1800000);
    assert_true(orci_retry_delay_ms(&DAY, 10000, 0.5) <= 3600000);
}

static void test_jitter_spreads_within_half_a_wait(void **state)
{
    (void)state;
    int64_t a = orci_retry_delay_ms(&DAY, 3, 0.1), b = orci_retry_delay_ms(&DAY, 3, 0.9);
    assert_true(a >= 2000 && a < 4000);
    assert_true(b >= 2000 && b < 4000);
    assert_true(b > a);
    /* a bad random number is taken as 0, never a wait outside the range */
    assert_int_equal(orci_retry_delay_ms(&DAY, 3, 7.0), 2000);
    assert_int_equal(orci_retry_delay_ms(&DAY, 3, -1.0), 2000);
}

static void test_retries_last_the_whole_window_then_give_up(void **state)
{
    (void)state;
    int64_t first = 1000 * S, now = first, next = 0;
    int n = 1, tries = 1;
    /* Fail every try, as a receiver down for good: follow the schedule to its end. */
    while (orci_retry_next(&DAY, n, first, now, 0.5, &next)) {
        assert_true(next > now);
        assert_true(next <= first + 86400 * S);
        now = next;
        n++;
        tries++;
        assert_true(tries < 200);
    }
    /* the last try was at the deadline: at least 24 hours of tries */
    assert_int_equal(now, first + 86400 * S);
    assert_true(tries > 20);
}

static void test_a_wait_is_cut_to_land_on_the_deadline(void **state)
{
    (void)state;
    orci_retry_policy p = {.min_ms = 1000, .max_ms = 60000, .give_up_ms = 10000};
    int64_t next = 0;
    assert_true(orci_retry_next(&p, 10, 0, 9 * S, 0.99, &next));
    assert_int_equal(next, 10 * S);
    assert_false(orci_retry_next(&p, 11, 0, 10 * S, 0.5, &next));
}

static void test_no_window_means_no_retry(void **state)
{
    (void)state;
    orci_retry_policy p = {.min_ms = 10, .max_ms = 10, .give_up_ms = 0};
    int64_t next = 0;
    assert_false(orci_retry_next(&p, 1, 5 * S, 5 * S, 0.5, &next));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_double_up_to_the_cap),
        cmocka_unit_test(test_jitter_spreads_within_half_a_wait),
        cmocka_unit_test(test_retries_last_the_whole_window_then_give_up),
        cmocka_unit_test(test_a_wait_is_cut_to_land_on_the_deadline),
        cmocka_unit_test(test_no_window_means_no_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
