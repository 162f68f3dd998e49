/*
 * webhook.h: one delivery of an event to a webhook: the signature and the POST (libcurl).
 *
 * A delivery is a POST of the event's JSON (orc_event_json, what `orchestra events --json`
 * prints) with the headers
 *   Content-Type: application/json
 *   Orchestra-Event-Seq: <seq>            the receiver's idempotency key
 *   Orchestra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * (Stripe's scheme: the receiver recomputes the HMAC over the timestamp and the exact body
 * bytes, compares in constant time and refuses an old t, which stops replays). Only a 2xx
 * answer counts as delivered; anything else, a timeout or a refused connection is a failure to
 * retry. Redirects are not followed (a 3xx is a failure: the secret's receiver is the URL
 * configured). TLS certificates are verified (the system's CAs, or ca_file).
 *
 * One orci_webhook_client per target thread: it keeps its connection alive between
 * deliveries (libcurl reuses it).
 */
#ifndef ORCI_NOTIFY_WEBHOOK_H
#define ORCI_NOTIFY_WEBHOOK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "sent.h"

/* "t=" + 20 digits + ",v1=" + 64 hex digits + NUL, rounded up. */
#define ORCI_WEBHOOK_SIGNATURE_MAX 96

/*
 * orci_webhook_signature writes the Orchestra-Signature value for body (len bytes) signed with
 * secret at unix time t into out (ORCI_WEBHOOK_SIGNATURE_MAX bytes). false when out of memory.
 */
bool orci_webhook_signature(const char *secret, int64_t t, const char *body, size_t len,
                            char out[ORCI_WEBHOOK_SIGNATURE_MAX]);

typedef struct orci_webhook_client orci_webhook_client;

/* orci_webhook_opts configures a client; strings are copied. */
typedef struct orci_webhook_opts {
    const char *url;
    const char *ca_file;     /* PEM CA bundle; NULL: the system's */
    int timeout_ms;          /* the whole request */
    const atomic_bool *stop; /* set: a request in flight is abandoned (ORCI_SENT_ABORTED) */
} orci_webhook_opts;

/* orci_webhook_client_new makes a client; release with orci_webhook_client_free. */
int orci_webhook_client_new(const orci_webhook_opts *o, orci_webhook_client **out, orc_error *err);

/* orci_webhook_client_free closes the connection; NULL is allowed. */
void orci_webhook_client_free(orci_webhook_client *w);

/*
 * orci_webhook_post delivers body (len bytes) as event seq, signed with secret at unix time
 * now_s. *status gets the HTTP status (0 when none came); why (why_size bytes) says what
 * failed.
 */
orci_sent orci_webhook_post(orci_webhook_client *w, const char *secret, int64_t seq,
                            const char *body, size_t len, int64_t now_s, int *status, char *why,
                            size_t why_size);

#endif
