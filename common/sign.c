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

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "log.h"

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

    const unsigned char *key = (const unsigned char *)(secret != NULL ? secret : "");
    if (secret == NULL)
        secret_len = 0;

    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    int rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_md_hmac_starts(&md, key, secret_len);
#define SIGN_UPDATE(p, n)                                                                          \
    do {                                                                                           \
        if (rc == 0)                                                                               \
            rc = mbedtls_md_hmac_update(&md, (const unsigned char *)(p), (n));                     \
    } while (0)
    SIGN_UPDATE(SIGN_PREFIX, strlen(SIGN_PREFIX));
    SIGN_UPDATE(method, strlen(method));
    SIGN_UPDATE("\n", 1);
    SIGN_UPDATE(request_id, strlen(request_id));
    SIGN_UPDATE("\n", 1);
    SIGN_UPDATE(ts, (size_t)ts_len);
    SIGN_UPDATE("\n", 1);
    SIGN_UPDATE(body_hex, 2 * ORCI_SHA256_LEN);
#undef SIGN_UPDATE
    if (rc == 0)
        rc = mbedtls_md_hmac_finish(&md, mac);
    mbedtls_md_free(&md);
    if (rc != 0) {
        /* Only the allocation in mbedtls_md_setup can fail; a wrong MAC would be worse. */
        orci_error("request signing failed: out of memory");
        abort();
    }
}
