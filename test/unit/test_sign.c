/*
 * test_sign.c: the RPC request signature against an independently computed vector.
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

#include "sign.h"

#define SECRET "test-secret-0123456789"
#define METHOD "Coordinator.SubmitWorkflow"
#define REQUEST_ID "3f1c9a2e-0001"
#define TIMESTAMP INT64_C(1700000000)
#define BODY "{\"workflow\":\"demo\"}"

static void sign_hex(const char *secret, const char *method, const char *request_id,
                     int64_t timestamp, const char *body, size_t body_len, char hex[65])
{
    uint8_t mac[ORCI_SHA256_LEN];
    orci_sign_request(secret, strlen(secret), method, request_id, timestamp, body, body_len, mac);
    orci_hex_encode(mac, sizeof mac, hex);
}

/*
 * The expected MACs were computed once with Debian's python3 standard library:
 *
 * /usr/bin/python3 -c '
 * import hmac, hashlib
 * body = b"{\"workflow\":\"demo\"}"
 * s = "orchestra-rpc-v1\n" + "Coordinator.SubmitWorkflow" + "\n" + "3f1c9a2e-0001" + "\n"
 *     + str(1700000000) + "\n" + hashlib.sha256(body).hexdigest()
 * print(hmac.new(b"test-secret-0123456789", s.encode(), hashlib.sha256).hexdigest())
 * s2 = "orchestra-rpc-v1\n" + "M" + "\n" + "r" + "\n" + str(-5) + "\n"
 *      + hashlib.sha256(b"").hexdigest()
 * print(hmac.new(b"k", s2.encode(), hashlib.sha256).hexdigest())'
 */
static void test_sign_matches_python_vector(void **state)
{
    (void)state;
    char hex[65];
    sign_hex(SECRET, METHOD, REQUEST_ID, TIMESTAMP, BODY, strlen(BODY), hex);
    assert_string_equal(hex, "fe9ded8451483136987eaf433967da5b4200c2acda8bcc179a46c994d94285ca");
}

static void test_sign_empty_body_and_negative_timestamp_match_python_vector(void **state)
{
    (void)state;
    char hex[65];
    sign_hex("k", "M", "r", -5, NULL, 0, hex);
    assert_string_equal(hex, "504f53bede2c41ef675f1f432823badcee4ad40fba73d14d35474a5b65885c2a");
}

static void test_sign_every_field_changes_the_mac(void **state)
{
    (void)state;
    char base[65], other[65];
    sign_hex(SECRET, METHOD, REQUEST_ID, TIMESTAMP, BODY, strlen(BODY), base);

    sign_hex(SECRET, "Coordinator.GetWorkflow", REQUEST_ID, TIMESTAMP, BODY, strlen(BODY), other);
    assert_string_not_equal(base, other);
    sign_hex(SECRET, METHOD, "3f1c9a2e-0002", TIMESTAMP, BODY, strlen(BODY), other);
    assert_string_not_equal(base, other);
    sign_hex(SECRET, METHOD, REQUEST_ID, TIMESTAMP + 1, BODY, strlen(BODY), other);
    assert_string_not_equal(base, other);
    sign_hex(SECRET, METHOD, REQUEST_ID, TIMESTAMP, "{\"workflow\":\"demO\"}", strlen(BODY), other);
    assert_string_not_equal(base, other);
    sign_hex("test-secret-0123456788", METHOD, REQUEST_ID, TIMESTAMP, BODY, strlen(BODY), other);
    assert_string_not_equal(base, other);

    /* Moving a character across the separator changes the signing string too. */
    sign_hex(SECRET, "ab", "c", TIMESTAMP, BODY, strlen(BODY), base);
    sign_hex(SECRET, "a", "bc", TIMESTAMP, BODY, strlen(BODY), other);
    assert_string_not_equal(base, other);

    /* Same inputs, same MAC. */
    sign_hex(SECRET, "a", "bc", TIMESTAMP, BODY, strlen(BODY), base);
    assert_string_equal(base, other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_python_vector),
        cmocka_unit_test(test_sign_empty_body_and_negative_timestamp_match_python_vector),
        cmocka_unit_test(test_sign_every_field_changes_the_mac),
    };
    return cmocka_run_group_tests_name("sign", tests, NULL, NULL);
}
