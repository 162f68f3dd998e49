/*
 * orchestra/call.h: any RPC of the Orchestra service, with its messages as protobuf bytes,
 * for programs that speak the service themselves: gateways that forward their own users'
 * credentials (orchestra-http does), bindings generated from proto/orchestra.proto in other
 * languages. Programs in C usually want the typed calls of client.h and jobs.h instead.
 *
 * Thread safety: as client.h (any number of threads on one handle).
 */
#ifndef ORCHESTRA_CALL_H
#define ORCHESTRA_CALL_H

#include <stddef.h>

#include "orchestra/client.h"
#include "orchestra/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * orc_creds are the credentials of one call instead of the handle's own (its API key and
 * token): a worker session token, or a legacy HTTP signature that the coordinator verifies
 * (key id, the signing string built from the HTTP request, the base64 signature). Strings
 * are borrowed for the call. All NULL: no credentials at all.
 */
typedef struct orc_creds {
    size_t size; /* 0, or sizeof(orc_creds) (client.h, "Structs that grow") */
    const char *token;
    const char *http_key_id;
    const char *http_signing_string;
    const char *http_signature;
} orc_creds;

/*
 * orc_call sends method (a method of the Orchestra service, e.g. "CreateProject") with body
 * (its packed request message, body_len bytes; borrowed) under creds (NULL: the handle's
 * own credentials, key-signed), under a fresh request id, and waits for the reply (at most
 * the handle's timeout). On ORC_OK, *reply_body (release with orc_free) holds the packed
 * reply message, *reply_len bytes. A refusal returns the server's code with its message in
 * err; a transport failure ORC_UNAVAILABLE.
 */
int orc_call(orc_client *c, const char *method, const orc_creds *creds, const void *body,
             size_t body_len, void **reply_body, size_t *reply_len, orc_error *err);

/*
 * orc_call_id is orc_call under the caller's request id (NULL or "": a fresh one), for a
 * gateway whose log lines name the ids of the RPCs it makes: the coordinator logs each call
 * with its id (orchestra-http passes its X-Request-Id). The id is the call's idempotency key
 * too: a mutating call repeated under an id already used gets the first call's reply, so each
 * call needs an id of its own (at most 128 characters).
 */
int orc_call_id(orc_client *c, const char *method, const char *request_id, const orc_creds *creds,
                const void *body, size_t body_len, void **reply_body, size_t *reply_len,
                orc_error *err);

#ifdef __cplusplus
}
#endif

#endif
