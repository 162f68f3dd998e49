/*
 * sign.c: the native RPC request signature (see sign.h for the signing string).
 *
 * The HMAC is computed incrementally over the parts of the signing string, so no copy of
 * the request is made whatever the sizes of the method, the request id or the body.
 */
#include "sign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGN_PREFIX "orchestra-rpc-v1\n"

void orci_sign_request(const char *secret, size_t secret_len, const char *method,
                       const char *request_id, int64_t timestamp, const void *body, size_t body_len,
                       uint8_t mac[ORCI_SHA256_LEN])
{
    uint8_t body_hash[ORCI_SHA256_LEN];
    char body_hex[2 * ORCI_SHA256_LEN + 1];
    char ts[24];

    if (method == NULL)
        method = "";
    if (request_id == NULL)
        request_id = "";
    orci_sha256(body_len > 0 ? body : "", body_len, body_hash);
    orci_hex_encode(body_hash, sizeof body_hash, body_hex);
    int ts_len = snprintf(ts, sizeof ts, "%" PRId64, timestamp);

    if (secret == NULL)
        secret_len = 0;
    const orci_span parts[] = {
        {SIGN_PREFIX, strlen(SIGN_PREFIX)},
        {method, strlen(method)},
        {"\n", 1},
        {request_id, strlen(request_id)},
        {"\n", 1},
        {ts, ts_len > 0 ? (size_t)ts_len : 0},
        {"\n", 1},
        {body_hex, 2 * ORCI_SHA256_LEN},
    };
    orci_hmac_sha256_parts(secret, secret_len, parts, sizeof parts / sizeof parts[0], mac);
}
