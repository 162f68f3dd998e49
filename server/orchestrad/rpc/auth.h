/*
 * auth.h: who is calling. Verifies the credentials of one request (an API key signature,
 * a worker session token, or none) and checks a method's scope against them.
 *
 * Threads: any RPC worker thread, with that thread's reader connection.
 */
#ifndef ORCI_AUTH_H
#define ORCI_AUTH_H

#include <stdbool.h>
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
 * orci_auth_proof is what a cached key verification leaves for the write job: whether the
 * key came from the cache, and the secret the signature was checked with. Wipe it after use.
 */
typedef struct orci_auth_proof {
    bool cached;
    char secret[128];
} orci_auth_proof;

/*
 * orci_auth_check_cached is orci_auth_check that, with use_cache and srv->key_cache, may
 * verify an API key signature (not an HTTP signature) with a key read from the database
 * less than ORCI_KEY_CACHE_TTL_US ago (keys.h) instead of reading it now. The outcome is
 * then provisional: proof->cached is set and the change the request makes must first pass
 * orci_auth_confirm, in the write job. A signature the cached key refuses is checked again
 * against the database's key. proof may be NULL only without use_cache.
 */
int orci_auth_check_cached(orci_server *srv, orci_db *rdb, const Orchestra__V1__Auth *auth,
                           const char *method, const char *request_id, const void *body,
                           size_t body_len, int64_t now_us, bool use_cache, orci_principal *out,
                           orci_auth_proof *proof, orc_error *err);

/*
 * orci_auth_confirm runs in the write job of a request whose key proof says came from the
 * cache (otherwise it does nothing): the key must still be active with the same secret
 * (ORC_UNAUTHENTICATED "unknown or revoked API key" otherwise, and the cache forgets it);
 * when its scopes changed, who's key scopes become the current ones and m's scope is checked
 * again (orci_scope_check's refusals). Reads wdb, the writer's connection, inside the
 * transaction: a revocation committed before the request's change is always seen.
 */
int orci_auth_confirm(orci_server *srv, orci_db *wdb, const orci_method *m, orci_principal *who,
                      const orci_auth_proof *proof, orc_error *err);

/* orci_auth_proof_wipe erases a proof (its secret); NULL allowed. */
void orci_auth_proof_wipe(orci_auth_proof *proof);

/*
 * orci_scope_check tells whether principal p may call m: public methods always;
 * otherwise ORC_UNAUTHENTICATED when p has no credentials at all and
 * ORC_PERMISSION_DENIED when p holds none of the method's scopes.
 */
int orci_scope_check(const orci_method *m, const orci_principal *p, orc_error *err);

#endif
