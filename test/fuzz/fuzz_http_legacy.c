/*
 * fuzz_http_legacy.c: a fuzzed HTTP request (fuzz_http_input.h) through the legacy JSON
 * API's handler, orci_http_handle (server/http/legacy.h), at the fixture's fixed time.
 *
 * The handler reaches the coordinator through orci_client_roundtrip. This target is linked
 * with --wrap=orci_client_roundtrip, and the wrapper below hands the envelope straight to
 * orci_dispatch on the in-process fixture (fuzz_server.h) instead of a socket. So one input
 * covers routing, the Authorization and Date checks, the signing string, the Digest check,
 * the JSON body, the RPC the shim builds, the coordinator's verification of the forwarded
 * signature and the handler, and the shim's rendering of the reply. What is not covered is
 * libmicrohttpd's own parsing (server/http/main.c) and the nng transport.
 *
 * Two test hooks, read from the request's headers, widen what the fuzzer can reach:
 *  - a signature="fuzz-valid-signature" parameter is replaced, on the way to the
 *    coordinator, by the right signature of the signing string the shim built, so mutated
 *    requests get past the HMAC (any other value is verified as sent, and the seeds carry
 *    real signatures of upstream's example key);
 *  - an "X-Fuzz-Down" header makes the round trip fail as an unreachable coordinator does
 *    (ORC_UNAVAILABLE); "X-Fuzz-Tls" marks the request as https.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "crypto.h"
#include "rpc/dispatch.h"
#include "fuzz_http_input.h"
#include "fuzz_server.h"
#include "legacy.h"
#include "proto/envelope.pb-c.h"

#define FUZZ_VALID_SIGNATURE "fuzz-valid-signature"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_orci_client_roundtrip(orc_client *c, const void *req, size_t len, uint8_t **reply,
                                 size_t *reply_len, orc_error *err);

static bool fuzz_coordinator_down;

/* resign replaces the magic signature of a forwarded HTTP signature by the right one. */
static uint8_t *resign(const void *req, size_t len, size_t *out_len)
{
    Orchestra__V1__Request *r = orchestra__v1__request__unpack(NULL, len, req);
    if (!r)
        return NULL;
    uint8_t *out = NULL;
    Orchestra__V1__HttpSignature *hs = r->auth ? r->auth->http_signature : NULL;
    if (hs && strcmp(hs->signature, FUZZ_VALID_SIGNATURE) == 0) {
        const char *secret =
            strcmp(hs->key_id, FUZZ_LEGACY_KEY) == 0 ? FUZZ_LEGACY_SECRET : FUZZ_SECRET;
        uint8_t mac[ORCI_SHA256_LEN];
        char b64[4 * ((ORCI_SHA256_LEN + 2) / 3) + 1];
        orci_hmac_sha256(secret, strlen(secret), hs->signing_string, strlen(hs->signing_string),
                         mac);
        orci_base64_encode(mac, sizeof mac, b64, sizeof b64);
        char *old = hs->signature;
        hs->signature = b64;
        size_t n = orchestra__v1__request__get_packed_size(r);
        out = malloc(n ? n : 1);
        if (out)
            *out_len = orchestra__v1__request__pack(r, out);
        hs->signature = old;
    }
    orchestra__v1__request__free_unpacked(r, NULL);
    return out;
}

int __wrap_orci_client_roundtrip(orc_client *c, const void *req, size_t len, uint8_t **reply,
                                 size_t *reply_len, orc_error *err)
{
    (void)c;
    *reply = NULL;
    *reply_len = 0;
    if (fuzz_coordinator_down)
        return orc_error_set(err, ORC_UNAVAILABLE, "the coordinator cannot be reached");
    fuzz_server *fs = fuzz_server_get();
    size_t signed_len = 0;
    uint8_t *signed_req = resign(req, len, &signed_len);
    int rc = orci_dispatch(&fs->srv, fs->rdb, signed_req ? signed_req : req,
                           signed_req ? signed_len : len, reply, reply_len);
    free(signed_req);
    if (rc != ORC_OK)
        return orc_error_set(err, rc, "dispatch failed");
    return ORC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Set up (or reset) before the first request, never inside one. */
    fuzz_server_next_input(fuzz_server_get());
    fuzz_http_input in;
    if (fuzz_http_input_parse(data, size, &in) != 0)
        return 0;
    fuzz_coordinator_down = fuzz_http_header(&in, "x-fuzz-down") != NULL;
    orci_http_config cfg = {.client = NULL, .date_window_s = 300};
    orci_http_request req = {.method = in.method,
                             .path = in.path,
                             .target = in.target,
                             .header = fuzz_http_header,
                             .header_arg = &in,
                             .body = in.body,
                             .body_len = in.body_len,
                             .tls = fuzz_http_header(&in, "x-fuzz-tls") != NULL};
    orci_http_response res;
    orci_http_handle(&cfg, &req, FUZZ_NOW_S, &res);
    /* Always an answer: a status, a content type and a body of the length said. */
    if (res.status < 200 || res.status > 599 || !res.content_type || !res.body ||
        strlen(res.body) != res.body_len)
        abort();
    orci_http_response_fini(&res);
    fuzz_http_input_fini(&in);
    return 0;
}
