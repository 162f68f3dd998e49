/*
 * test_error.c: the orc_code table agrees with the wire enum, and orc_error formatting.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "orchestra/error.h"
#include "proto/envelope.pb-c.h"

#define CODE_ENTRY_(name, num, msg) {#name, num, msg},
static const struct {
    const char *name;
    int number;
    const char *message;
} codes[] = {ORC_CODES(CODE_ENTRY_)};
#undef CODE_ENTRY_
#define N_CODES (sizeof codes / sizeof codes[0])

static void test_error_codes_match_proto_enum(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *desc = &orchestra__v1__code__descriptor;
    for (size_t i = 0; i < N_CODES; i++) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value_by_name(desc, codes[i].name);
        if (v == NULL)
            fail_msg("orc_code %s is missing from orchestra.v1.Code", codes[i].name);
        assert_int_equal(v->value, codes[i].number);
    }
    /* Every proto value has its C twin, so neither side has extras. */
    assert_int_equal(desc->n_values, N_CODES);
    for (unsigned i = 0; i < desc->n_values; i++) {
        assert_string_equal(orc_code_name(desc->values[i].value), desc->values[i].name);
    }
}

static void test_error_names_and_messages_come_from_the_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        assert_string_equal(orc_code_name(codes[i].number), codes[i].name);
        assert_string_equal(orc_code_default_message(codes[i].number), codes[i].message);
    }
    assert_int_equal(ORC_NOT_FOUND, 5);
    assert_string_equal(orc_code_name(ORC_INVALID_ARGUMENT), "INVALID_ARGUMENT");
    assert_string_equal(orc_code_default_message(ORC_NOT_FOUND), "not found");
}

static void test_error_unknown_numbers_map_to_unknown(void **state)
{
    (void)state;
    assert_string_equal(orc_code_name(-1), "UNKNOWN");
    assert_string_equal(orc_code_name(17), "UNKNOWN");
    assert_string_equal(orc_code_name(1000000), "UNKNOWN");
    assert_string_equal(orc_code_default_message(-7), "unknown error");
    assert_string_equal(orc_code_default_message(99), "unknown error");
}

static void test_error_set_formats_and_returns_code(void **state)
{
    (void)state;
    orc_error err;
    memset(&err, 0x55, sizeof err);
    int rc = orc_error_set(&err, ORC_NOT_FOUND, "workflow %s (v%d) not found", "demo", 3);
    assert_int_equal(rc, ORC_NOT_FOUND);
    assert_int_equal(err.code, ORC_NOT_FOUND);
    assert_string_equal(err.message, "workflow demo (v3) not found");

    orc_error_clear(&err);
    assert_int_equal(err.code, ORC_OK);
    assert_string_equal(err.message, "");
    orc_error_clear(NULL);
}

static void test_error_set_null_fmt_uses_default_message(void **state)
{
    (void)state;
    orc_error err = {0};
    assert_int_equal(orc_error_set(&err, ORC_PERMISSION_DENIED, NULL), ORC_PERMISSION_DENIED);
    assert_string_equal(err.message, "permission denied");
}

static void test_error_set_null_err_returns_code(void **state)
{
    (void)state;
    assert_int_equal(orc_error_set(NULL, ORC_UNAVAILABLE, "x %d", 1), ORC_UNAVAILABLE);
}

static void test_error_set_truncates_long_messages(void **state)
{
    (void)state;
    char longer[ORC_ERROR_MESSAGE_MAX * 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    orc_error err;
    orc_error_set(&err, ORC_INTERNAL, "%s", longer);
    assert_int_equal(strlen(err.message), ORC_ERROR_MESSAGE_MAX - 1);
    assert_int_equal(err.message[ORC_ERROR_MESSAGE_MAX - 1], '\0');
    assert_int_equal(err.message[0], 'a');
}

static void test_error_truncation_keeps_utf8_sequences_whole(void **state)
{
    (void)state;
    /* 510 ASCII bytes then "é" (2 bytes): the cut at 511 would split it. */
    char text[ORC_ERROR_MESSAGE_MAX + 8];
    memset(text, 'x', 510);
    strcpy(text + 510, "\xc3\xa9zz");
    orc_error err;
    orc_error_set(&err, ORC_INTERNAL, "%s", text);
    assert_int_equal(strlen(err.message), 510);

    /* 509 ASCII bytes then "é": fits exactly in 511 and is kept. */
    memset(text, 'x', 509);
    strcpy(text + 509, "\xc3\xa9zz");
    orc_error_set(&err, ORC_INTERNAL, "%s", text);
    assert_int_equal(strlen(err.message), 511);
    assert_memory_equal(err.message + 509, "\xc3\xa9", 2);
}

static void test_error_set_may_reuse_its_own_message(void **state)
{
    (void)state;
    orc_error err;
    orc_error_set(&err, ORC_NOT_FOUND, "step b");
    orc_error_set(&err, ORC_FAILED_PRECONDITION, "cannot run: %s", err.message);
    assert_string_equal(err.message, "cannot run: step b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes_match_proto_enum),
        cmocka_unit_test(test_error_names_and_messages_come_from_the_table),
        cmocka_unit_test(test_error_unknown_numbers_map_to_unknown),
        cmocka_unit_test(test_error_set_formats_and_returns_code),
        cmocka_unit_test(test_error_set_null_fmt_uses_default_message),
        cmocka_unit_test(test_error_set_null_err_returns_code),
        cmocka_unit_test(test_error_set_truncates_long_messages),
        cmocka_unit_test(test_error_truncation_keeps_utf8_sequences_whole),
        cmocka_unit_test(test_error_set_may_reuse_its_own_message),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
