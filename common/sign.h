/*
 * sign.h: the native RPC request signature, shared by the client library and orchestrad.
 *
 * signature = HMAC-SHA256(secret, signing string) where the signing string is
 *   "orchestra-rpc-v1\n" method "\n" request_id "\n" timestamp "\n" hex(SHA-256(body))
 * with timestamp in decimal Unix seconds. Binding the request id means a captured request
 * can only be replayed as itself, and the server answers a repeated id from its stored
 * replies, so a replay has no second effect.
 */
#ifndef ORCI_SIGN_H
#define ORCI_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* orci_sign_request computes the signature of one request into mac[32]. */
void orci_sign_request(const char *secret, size_t secret_len, const char *method,
                       const char *request_id, int64_t timestamp, const void *body, size_t body_len,
                       uint8_t mac[ORCI_SHA256_LEN]);

#endif
