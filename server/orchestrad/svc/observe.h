/*
 * observe.h: the metrics orchestrad keeps while it serves requests, in a registry
 * (common/metrics.h) that the metrics listener (rpc/observe_http.h) renders:
 *  - orchestra_rpc_requests_total{method, code}: requests answered, by method and status
 *    code (gRPC's names: OK, NOT_FOUND...); method "unknown" for a method that does not exist
 *    or an envelope that could not be read;
 *  - orchestra_rpc_request_duration_seconds{method}: from the start of a request's dispatch
 *    on an RPC worker to its reply (after the commit for a write); a parked long poll counts
 *    its last run only;
 *  - orchestra_rpc_parked_requests: long polls (LeaseJob) parked, waiting for work;
 *  - orchestra_events_subscriber_lag_events: on each ListEvents, how far its after_seq was
 *    behind the newest committed event: how far behind the subscribers catching up are.
 *
 * The series of each method and code are looked up once and kept in a table indexed by
 * the method's place in orci_methods, so that recording a request is a few relaxed atomic
 * additions: no lock, no allocation after the first request of each kind.
 *
 * Threads: any (RPC workers, the writer).
 */
#ifndef ORCI_SVC_OBSERVE_H
#define ORCI_SVC_OBSERVE_H

#include <stdint.h>

#include "metrics.h"
#include "orchestra/error.h"
#include "svc/server.h"

typedef struct orci_server_metrics orci_server_metrics;

/*
 * orci_server_metrics_new registers the families above in reg. With reg NULL (metrics off)
 * it succeeds with *out NULL, and every function below then does nothing.
 */
int orci_server_metrics_new(orci_metrics *reg, orci_server_metrics **out, orc_error *err);

/* orci_server_metrics_destroy frees the lookup tables (the series belong to reg); NULL ok. */
void orci_server_metrics_destroy(orci_server_metrics *sm);

/* orci_server_metrics_request records one answered request (m NULL: unknown method). */
void orci_server_metrics_request(orci_server_metrics *sm, const orci_method *m, int code,
                                 double seconds);

/* orci_server_metrics_parked adds delta (+1 parked, -1 run again) to the parked polls. */
void orci_server_metrics_parked(orci_server_metrics *sm, int delta);

/* orci_server_metrics_list_lag records a ListEvents reader's distance behind the feed. */
void orci_server_metrics_list_lag(orci_server_metrics *sm, int64_t behind);

#endif
