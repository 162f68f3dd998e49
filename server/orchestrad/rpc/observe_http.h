/*
 * observe_http.h: orchestrad's metrics listener (`--metrics-listen HOST:PORT`, off by
 * default), an HTTP server of its own beside the RPC socket:
 *   GET /metrics  the registry in Prometheus text format 0.0.4, with the gauges read from the
 *                 database at each scrape on the listener's own read connection (open tasks by
 *                 status, queued and failed jobs, job leases in flight and past their expiry,
 *                 the last committed event seq) and the publisher's dropped messages;
 *   GET /livez    200 while the process serves HTTP: liveness, nothing else is asked;
 *   GET /readyz   200 when the database is open and the writer commits: a no-op write job
 *                 must come back within 2 s; 503 otherwise (closing, stuck, failing).
 *
 * libmicrohttpd, as orchestra-http (server/README.md says why not nng's HTTP server): a
 * thread per connection, at most 16 connections, 10 s idle timeout, small request heads.
 * None of it runs on an RPC thread, and a scrape never holds a write lock.
 *
 * Threads: start and stop from the main thread. Stop it before the store closes.
 */
#ifndef ORCI_OBSERVE_HTTP_H
#define ORCI_OBSERVE_HTTP_H

#include <stdint.h>

#include "metrics.h"
#include "orchestra/error.h"
#include "store/events.h"
#include "store/store.h"

typedef struct orci_obs_http_opts {
    const char *listen;               /* "HOST:PORT" ("[::1]:9464"; port 0: any free one) */
    orci_metrics *metrics;            /* borrowed; the database gauges are added to it */
    orci_store *store;                /* borrowed */
    const orci_events_pub *publisher; /* borrowed; NULL: no publisher figures */
} orci_obs_http_opts;

typedef struct orci_obs_http orci_obs_http;

/*
 * orci_obs_http_start registers the database gauges in opts->metrics, opens a read connection
 * and starts listening. ORC_INVALID_ARGUMENT for an address that does not resolve,
 * ORC_UNAVAILABLE when it cannot be bound. Release with orci_obs_http_stop.
 */
int orci_obs_http_start(const orci_obs_http_opts *opts, orci_obs_http **out, orc_error *err);

/* orci_obs_http_port is the port it listens on (the one chosen when 0 was asked). */
uint16_t orci_obs_http_port(const orci_obs_http *h);

/*
 * orci_obs_http_stop stops listening (a scrape in progress finishes first) and frees it;
 * the gauges stay registered, frozen. NULL allowed.
 */
void orci_obs_http_stop(orci_obs_http *h);

#endif
