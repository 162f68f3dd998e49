/* test_vec: orci_grow, the array-doubling helper behind every row collector. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>

#include "vec.h"

static void test_grow_starts_at_eight_and_doubles(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_true(orci_grow(&v, &cap, 1, sizeof *v));
    assert_non_null(v);
    assert_int_equal(cap, 8);
    for (int i = 0; i < 8; i++)
        v[i] = i;
    assert_true(orci_grow(&v, &cap, 9, sizeof *v));
    assert_int_equal(cap, 16);
    for (int i = 0; i < 8; i++)
        assert_int_equal(v[i], i); /* contents kept across the move */
    free(v);
}

static void test_grow_is_a_no_op_when_room_is_left(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_true(orci_grow(&v, &cap, 5, sizeof *v));
    int *before = v;
    assert_true(orci_grow(&v, &cap, 8, sizeof *v));
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 8);
    free(v);
}

static void test_grow_refuses_overflow_and_keeps_the_array(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_true(orci_grow(&v, &cap, 3, sizeof *v));
    v[2] = 42;
    int *before = v;
    assert_false(orci_grow(&v, &cap, SIZE_MAX / 2, sizeof *v));
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 8);
    assert_int_equal(v[2], 42);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_starts_at_eight_and_doubles),
        cmocka_unit_test(test_grow_is_a_no_op_when_room_is_left),
        cmocka_unit_test(test_grow_refuses_overflow_and_keeps_the_array),
    };
    return cmocka_run_group_tests_name("vec", tests, NULL, NULL);
}
