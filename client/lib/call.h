/*
 * call.h: the generic RPC call of liborchestra, used by the typed calls (calls_*.c).
 *
 * One call = one Orchestra__V1__Request envelope {method, request_id, auth, body} sent on a
 * fresh nng REQ context, and one Orchestra__V1__Reply back. The request id is 32 random hex
 * digits; when the connection drops while a request is in flight, nng re-sends the SAME
 * bytes (same request id, same signature) on the next connection, and the server answers a
 * repeated id from its stored replies, so the retry has no second effect.
 *
 * Thread safety: every function here may be called from any number of threads on one
 * handle at once (each call opens its own nng context), except that orc_client_set_token
 * must not race with calls.
 */
#ifndef ORCI_CALL_H
#define ORCI_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "orchestra/call.h"
#include "orchestra/client.h"

/* Length of a request id: 16 random bytes in lowercase hex. */
#define ORCI_CLIENT_REQUEST_ID_LEN 32

/*
 * orci_client_call packs `in` (borrowed), sends it as `method` and waits for the reply
 * (at most the handle's timeout). On ORC_OK, *out holds the decoded reply body (a message
 * of out_desc, owned by the caller: release with protobuf_c_message_free_unpacked(*out,
 * NULL)). A refusal returns the server's status with its message in err; a transport
 * failure returns ORC_UNAVAILABLE; an undecodable reply returns ORC_INTERNAL.
 */
int orci_client_call(orc_client *c, const char *method, const ProtobufCMessage *in,
                     const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out,
                     orc_error *err);

/*
 * orci_call_with_id is orc_call (orchestra/call.h) under the given request id instead of a
 * fresh one (NULL or "": fresh), for a gateway whose log lines name the ids of the RPCs it
 * makes (orchestra-http). The id is an idempotency key: each mutating call needs its own.
 */
int orci_call_with_id(orc_client *c, const char *method, const char *request_id,
                      const orc_creds *creds, const void *body, size_t body_len, void **reply_body,
                      size_t *reply_len, orc_error *err);

/*
 * orci_client_build_request packs the envelope of one request as orci_client_call would,
 * with the given request id and timestamp (Unix seconds) and the handle's credentials:
 * key-signed when an API key is set, carrying the token when one is set, no auth
 * otherwise. *out (release with orc_free) holds *out_len bytes. Returns ORC_OK, or
 * ORC_RESOURCE_EXHAUSTED when out of memory. Exposed for tests that capture and replay a
 * signed request.
 */
int orci_client_build_request(orc_client *c, const char *method, const void *body, size_t body_len,
                              const char *request_id, int64_t timestamp, uint8_t **out,
                              size_t *out_len);

/*
 * orci_client_roundtrip sends the raw envelope req (borrowed, len bytes) on a fresh context
 * and returns the raw reply in *reply (release with orc_free), *reply_len bytes. Only
 * transport errors are reported (ORC_UNAVAILABLE); the reply is not decoded.
 */
int orci_client_roundtrip(orc_client *c, const void *req, size_t len, uint8_t **reply,
                          size_t *reply_len, orc_error *err);

#endif
