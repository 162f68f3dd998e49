/*
 * auth.h: who is calling. Verifies the credentials of one request (an API key signature,
 * a worker session token, or none) and checks a method's scope against them.
 *
 * Threads: any RPC worker thread, with that thread's reader connection.
 */
#ifndef ORCI_AUTH_H
#define ORCI_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "proto/envelope.pb-c.h"
#include "svc/server.h"

/*
 * orci_auth_check establishes the principal of a request into *out.
 *  - With a key id: the key must exist and not be revoked, the timestamp must lie within
 *    +-srv->settings.auth_window_s of now_us, and the signature must equal
 *    orci_sign_request(secret, method, request_id, timestamp, body). Scopes are the key's,
 *    the name "key:<key_id>".
 *  - With an http_signature (legacy HTTP API, forwarded by orchestra-http; no key_id
 *    allowed with it): the key must exist and not be revoked, and the signature text must
 *    equal base64(HMAC-SHA256(secret, signing_string)). Scopes are the key's, the name
 *    "key:<key_id>". Refusals say "Unable to find API key" or "Bad signature". Freshness
 *    (the Date header) is checked by the shim, which built the signing string.
 *  - With a token: its SHA-256 must name a live session (not revoked, not expired) of an
 *    active user. The principal gets that user (and worker) and ORCI_SCOPE_WORKER; the
 *    name is "user:<id>" unless a key was verified too.
 *  - With neither (auth may be NULL): scopes 0 and an empty name.
 * Refusals are ORC_UNAUTHENTICATED with a message saying why; database failures
 * ORC_INTERNAL. All pointers are borrowed for the call.
 */
int orci_auth_check(orci_server *srv, orci_db *rdb, const Orchestra__V1__Auth *auth,
                    const char *method, const char *request_id, const void *body, size_t body_len,
                    int64_t now_us, orci_principal *out, orc_error *err);

/*
 * orci_scope_check tells whether principal p may call m: public methods always;
 * otherwise ORC_UNAUTHENTICATED when p has no credentials at all and
 * ORC_PERMISSION_DENIED when p holds none of the method's scopes.
 */
int orci_scope_check(const orci_method *m, const orci_principal *p, orc_error *err);

#endif
