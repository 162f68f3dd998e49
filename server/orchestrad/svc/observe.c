/*
 * observe.c: orchestrad's request metrics (see observe.h).
 */
#include "svc/observe.h"

#include <stdatomic.h>
#include <stdlib.h>

/* The status codes are 0 (OK) to 16 (UNAUTHENTICATED), as gRPC's. */
#define SM_CODES (ORC_UNAUTHENTICATED + 1)

struct orci_server_metrics {
    orci_metric *requests, *durations, *lag;
    orci_series *parked;
    orci_series *lag_series;
    /* Series found so far: [method][code] and [method], the last row for unknown methods. */
    _Atomic(orci_series *) *req_cache;
    _Atomic(orci_series *) *dur_cache;
    size_t n_rows;
};

static const double sm_lag_buckets[] = {0, 1, 10, 100, 1000, 10000, 100000, 1000000};

/* sm_add registers one family. */
static int sm_add(orci_metrics *reg, const char *name, const char *help, orci_metric_type type,
                  const char *const *labels, size_t n_labels, const double *buckets,
                  size_t n_buckets, orci_metric **out, orc_error *err)
{
    orci_metric_spec spec = {.name = name,
                             .help = help,
                             .type = type,
                             .labels = labels,
                             .n_labels = n_labels,
                             .buckets = buckets,
                             .n_buckets = n_buckets};
    return orci_metrics_add(reg, &spec, out, err);
}

int orci_server_metrics_new(orci_metrics *reg, orci_server_metrics **out, orc_error *err)
{
    *out = NULL;
    if (!reg)
        return ORC_OK;
    orci_server_metrics *sm = calloc(1, sizeof *sm);
    if (!sm)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    sm->n_rows = orci_methods_count + 1;
    sm->req_cache = calloc(sm->n_rows * SM_CODES, sizeof *sm->req_cache);
    sm->dur_cache = calloc(sm->n_rows, sizeof *sm->dur_cache);
    int rc = ORC_OK;
    if (!sm->req_cache || !sm->dur_cache)
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    static const char *const req_labels[] = {"method", "code"};
    if (rc == ORC_OK)
        rc = sm_add(reg, "orchestra_rpc_requests_total",
                    "RPC requests answered, by method and status code.", ORCI_METRIC_COUNTER,
                    req_labels, 2, NULL, 0, &sm->requests, err);
    if (rc == ORC_OK)
        rc = sm_add(reg, "orchestra_rpc_request_duration_seconds",
                    "Time from the dispatch of an RPC request to its reply, in seconds.",
                    ORCI_METRIC_HISTOGRAM, req_labels, 1, orci_metrics_duration_buckets,
                    orci_metrics_duration_buckets_count, &sm->durations, err);
    orci_metric *parked = NULL;
    if (rc == ORC_OK)
        rc = sm_add(reg, "orchestra_rpc_parked_requests",
                    "Long polls (LeaseJob) parked until a job is due.", ORCI_METRIC_GAUGE, NULL, 0,
                    NULL, 0, &parked, err);
    if (rc == ORC_OK)
        rc = sm_add(reg, "orchestra_events_subscriber_lag_events",
                    "Events between a ListEvents call's after_seq and the newest committed "
                    "event: how far behind the subscribers reading the history are.",
                    ORCI_METRIC_HISTOGRAM, NULL, 0, sm_lag_buckets,
                    sizeof sm_lag_buckets / sizeof sm_lag_buckets[0], &sm->lag, err);
    if (rc == ORC_OK) {
        sm->parked = orci_metric_series(parked, NULL);
        sm->lag_series = orci_metric_series(sm->lag, NULL);
        if (!sm->parked || !sm->lag_series)
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    if (rc != ORC_OK) {
        orci_server_metrics_destroy(sm);
        return rc;
    }
    for (size_t i = 0; i < sm->n_rows * SM_CODES; i++)
        atomic_init(&sm->req_cache[i], NULL);
    for (size_t i = 0; i < sm->n_rows; i++)
        atomic_init(&sm->dur_cache[i], NULL);
    *out = sm;
    return ORC_OK;
}

void orci_server_metrics_destroy(orci_server_metrics *sm)
{
    if (!sm)
        return;
    free((void *)sm->req_cache);
    free((void *)sm->dur_cache);
    free(sm);
}

/*
 * sm_cached returns the series in *slot, or looks it up and keeps it. Two threads may look
 * up the same one at once: both get the same series from the registry.
 */
static orci_series *sm_cached(_Atomic(orci_series *) *slot, orci_metric *f,
                              const char *const *values)
{
    orci_series *s = atomic_load_explicit(slot, memory_order_acquire);
    if (!s && (s = orci_metric_series(f, values)) != NULL)
        atomic_store_explicit(slot, s, memory_order_release);
    return s;
}

void orci_server_metrics_request(orci_server_metrics *sm, const orci_method *m, int code,
                                 double seconds)
{
    if (!sm)
        return;
    size_t row = sm->n_rows - 1;
    if (m && m >= orci_methods && m < orci_methods + orci_methods_count)
        row = (size_t)(m - orci_methods);
    if (code < 0 || code >= SM_CODES)
        code = ORC_UNKNOWN;
    const char *name = row < sm->n_rows - 1 ? m->name : "unknown";
    orci_counter_add(sm_cached(&sm->req_cache[row * SM_CODES + (size_t)code], sm->requests,
                               (const char *const[]){name, orc_code_name(code)}),
                     1);
    orci_histogram_observe(
        sm_cached(&sm->dur_cache[row], sm->durations, (const char *const[]){name}), seconds);
}

void orci_server_metrics_parked(orci_server_metrics *sm, int delta)
{
    if (sm)
        orci_gauge_add(sm->parked, delta);
}

void orci_server_metrics_list_lag(orci_server_metrics *sm, int64_t behind)
{
    if (sm)
        orci_histogram_observe(sm->lag_series, behind < 0 ? 0 : (double)behind);
}
