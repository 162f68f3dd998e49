/*
 * httpsig.h: the legacy HTTP Signatures scheme (draft-cavage-03, as python3-httpsig signs
 * and djangorestframework-httpsignature verifies; spec 4.1, STACK.md 5), shim side: parse
 * the Authorization header, build the signing string from the actual request, check the
 * Date header's freshness and a signed Digest. The HMAC itself is verified by orchestrad
 * (auth.c), which alone holds the secrets.
 *
 * Threads: every function is reentrant.
 */
#ifndef ORCI_HTTPSIG_H
#define ORCI_HTTPSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"

#define ORCI_HTTPSIG_MAX_HEADERS 16
#define ORCI_HTTPSIG_NAME_MAX 64
#define ORCI_HTTPSIG_SIGNATURE_MAX 256
/* The longest signing string built: longer ones are refused. */
#define ORCI_HTTPSIG_STRING_MAX 8192

/* orci_httpsig_params is what the Authorization header says. */
typedef struct orci_httpsig_params {
    char signature[ORCI_HTTPSIG_SIGNATURE_MAX]; /* the signature="..." text, as sent */
    char headers[ORCI_HTTPSIG_MAX_HEADERS][ORCI_HTTPSIG_NAME_MAX]; /* lower-case names */
    size_t n_headers; /* ["date"] when the header has no headers= parameter */
} orci_httpsig_params;

/*
 * orci_httpsig_parse reads an Authorization value `Signature k="v",k="v",...` in any
 * parameter order. keyId and algorithm are ignored (the key comes from X-Api-Key and the
 * algorithm is always hmac-sha256); unknown parameters too. Refusals are
 * ORC_UNAUTHENTICATED: "Bad signature" for a malformed header or one without signature=,
 * "Bad signature headers" for an unusable headers= list.
 */
int orci_httpsig_parse(const char *authorization, orci_httpsig_params *out, orc_error *err);

/* orci_httpsig_header_fn returns the raw value of request header `name` (any case), or NULL. */
typedef const char *(*orci_httpsig_header_fn)(void *arg, const char *name);

/*
 * orci_httpsig_signing_string builds the string to sign, one "name: value" line per listed
 * header joined by "\n" with no trailing newline: (request-target) is the lower-case
 * method, a space and the raw request target (path?query as sent); host is the Host header;
 * other names give the raw header value. A listed header that the request lacks is refused
 * with ORC_UNAUTHENTICATED "missing signed header <name>" (upstream would sign "None").
 * *out (release with free) is the string.
 */
int orci_httpsig_signing_string(const orci_httpsig_params *p, const char *method,
                                const char *target, orci_httpsig_header_fn get, void *arg,
                                char **out, orc_error *err);

/*
 * orci_httpsig_parse_date reads an IMF-fixdate ("Thu, 28 Apr 2016 20:00:00 GMT") into Unix
 * seconds. Returns 0, or -1 when the text is not one.
 */
int orci_httpsig_parse_date(const char *text, int64_t *out);

/*
 * orci_httpsig_digest_ok tells whether a Digest header value (RFC 3230,
 * "SHA-256=<base64>", possibly among other comma-separated algorithms) carries the
 * SHA-256 of body. The base64 text is compared with ours, never decoded.
 */
bool orci_httpsig_digest_ok(const char *digest, const void *body, size_t body_len);

#endif
