/*
 * observe.h: what orchestra-http tells about itself and each request.
 *
 *  - A request id per HTTP request (24 hex digits), answered in X-Request-Id. Every RPC the
 *    request makes carries it as its request id (the first one as is, the next ones with
 *    "-2", "-3"... appended, since a request id is an idempotency key), so the access log
 *    line joins up with orchestrad's lines of the same calls.
 *  - One access log line per request: client address, HTTP method, route (the pattern, not
 *    the path), path (without the query), status, bytes, duration and request id; at INFO
 *    for methods that change something, DEBUG for GET, HEAD and OPTIONS.
 *  - Metrics: orchestra_http_requests_total{route, method, code},
 *    orchestra_http_request_duration_seconds{route}, orchestra_http_rpc_calls_total{method,
 *    code} and orchestra_http_rpc_duration_seconds{method} (the RPCs to the coordinator), and
 *    the process families; GET /metrics renders them.
 *  - Health: GET /livez answers 200 while the process serves HTTP (liveness); GET /readyz
 *    and upstream's status endpoints (/orchestra/status/, /orchestra/api/status/) answer 200
 *    only when the coordinator answers Health within 2 s, else 503 (readiness).
 *
 * The request being served is the calling thread's (libmicrohttpd runs one connection per
 * thread and each handler to its end on it): orci_http_obs_begin makes it current, so the
 * RPC helpers below find its id without every handler passing it along.
 *
 * Threads: any number at once; begin and end on the thread that serves the request.
 */
#ifndef ORCI_HTTP_OBSERVE_H
#define ORCI_HTTP_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "orchestra/call.h"
#include "orchestra/client.h"

#define ORCI_HTTP_REQUEST_ID_LEN 24

typedef struct orci_http_obs orci_http_obs;

typedef struct orci_http_obs_opts {
    orci_metrics *metrics; /* borrowed; NULL: no metrics (/metrics answers 404) */
    const char *rpc_url;   /* the coordinator, for the health checks (NULL: the default) */
    const char *tls_ca;    /* its CA for tls+tcp:// (NULL: none) */
    int health_timeout_ms; /* a Health call's limit; 0: 2000 */
} orci_http_obs_opts;

/* orci_http_obs_new registers the families and opens the health checks' own client. */
int orci_http_obs_new(const orci_http_obs_opts *opts, orci_http_obs **out, orc_error *err);

/* orci_http_obs_destroy releases it (no request may be in flight); NULL allowed. */
void orci_http_obs_destroy(orci_http_obs *o);

/* orci_http_reqctx is one HTTP request being served (embedded in the server's request). */
typedef struct orci_http_reqctx {
    orci_http_obs *obs;
    char id[ORCI_HTTP_REQUEST_ID_LEN + 1];
    int rpcs;         /* RPCs made so far */
    int64_t start_ns; /* monotonic */
} orci_http_reqctx;

/* orci_http_obs_begin starts a request: a fresh id, the start time. */
void orci_http_obs_begin(orci_http_obs *o, orci_http_reqctx *rc);

/* orci_http_obs_enter makes rc the calling thread's current request. */
void orci_http_obs_enter(orci_http_reqctx *rc);

/* orci_http_obs_forget: rc ends unanswered (the client left); it is no longer current. */
void orci_http_obs_forget(orci_http_reqctx *rc);

/*
 * orci_http_obs_end records a request's answer: the access log line and the metrics. It
 * leaves the thread without a current request. client may be "" (unknown).
 */
void orci_http_obs_end(orci_http_reqctx *rc, const char *client, const char *method,
                       const char *path, int status, size_t bytes);

/*
 * orci_http_obs_answer serves the observation paths: /metrics, /livez, /readyz and upstream's
 * status endpoints. Returns false when path is none of them; else fills *status, *ctype
 * (static) and *body (malloc'd, *len bytes).
 */
bool orci_http_obs_answer(orci_http_obs *o, const char *method, const char *path, int *status,
                          const char **ctype, char **body, size_t *len);

/* orci_http_route is the route pattern of path ("/orchestra/app/task/{id}/"), for metrics
 * and logs; "unmatched" for a path no endpoint serves. */
const char *orci_http_route(const char *path);

/*
 * orci_http_rpc is orc_call under the current request's next RPC id (a fresh one outside a
 * request), counted in the metrics. Same contract as orc_call.
 */
int orci_http_rpc(orc_client *c, const char *method, const orc_creds *creds, const void *body,
                  size_t body_len, void **reply_body, size_t *reply_len, orc_error *err);

#endif
