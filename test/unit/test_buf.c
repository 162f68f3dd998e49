/*
 * test_buf.c: the capped growing buffer (common/buf.h).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_buf_appends_and_keeps_a_terminator(void **state)
{
    (void)state;
    orci_buf b = {.max = 1 << 20};
    assert_true(orci_buf_adds(&b, "abc"));
    assert_true(orci_buf_add(&b, "\0x", 2));
    assert_int_equal(b.len, 5);
    assert_int_equal(b.p[5], '\0');
    /* Growing far past the first allocation keeps every byte. */
    for (int i = 0; i < 1000; i++)
        assert_true(orci_buf_adds(&b, "0123456789"));
    assert_int_equal(b.len, 10005);
    assert_memory_equal(b.p + 9995, "0123456789", 10);
    size_t len = 0;
    char *p = orci_buf_take(&b, &len);
    assert_int_equal(len, 10005);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    free(p);
}

static void test_buf_refuses_what_passes_the_cap_and_stays_unchanged(void **state)
{
    (void)state;
    orci_buf b = {.max = 8};
    assert_true(orci_buf_adds(&b, "12345"));
    assert_false(orci_buf_adds(&b, "6789"));
    assert_int_equal(b.len, 5);
    assert_string_equal(b.p, "12345");
    assert_true(orci_buf_adds(&b, "678"));
    assert_true(orci_buf_over(&b, 1));
    assert_false(orci_buf_add(&b, "9", 1));
    assert_true(b.cap <= 9); /* never more room than the cap and its terminator */
    assert_false(orci_buf_over(&b, 0));
    assert_true(orci_buf_over(&b, (size_t)-1));
    orci_buf_fini(&b);
    assert_null(b.p);
}

static void test_buf_take_of_an_empty_buffer_is_an_empty_string(void **state)
{
    (void)state;
    orci_buf b = {.max = 4};
    size_t len = 7;
    char *p = orci_buf_take(&b, &len);
    assert_non_null(p);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);
    orci_buf_fini(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_appends_and_keeps_a_terminator),
        cmocka_unit_test(test_buf_refuses_what_passes_the_cap_and_stays_unchanged),
        cmocka_unit_test(test_buf_take_of_an_empty_buffer_is_an_empty_string),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
