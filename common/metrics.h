/*
 * metrics.h: a process's metrics, rendered as Prometheus text (exposition format 0.0.4).
 *
 * A registry holds families (counters, gauges, histograms with fixed buckets), each with
 * fixed label names; a family's series (one per set of label values) are made on first use.
 * Updating a series is lock-free (relaxed atomics) and allocates nothing once the series
 * exists; finding a series is a lock-free hash lookup (the first use of a set of values
 * allocates it). Every update function accepts a NULL series and then does nothing, so code
 * that records metrics needs no check when the process runs without them (families and
 * series are NULL then).
 *
 * Names follow Prometheus' conventions, checked at registration: [a-zA-Z_:][a-zA-Z0-9_:]*,
 * counters end in _total, labels [a-zA-Z_][a-zA-Z0-9_]* without a leading "__" (and no "le"
 * on histograms). Label values are UTF-8 (invalid bytes become '?') and must come from a
 * bounded set (method names, route patterns, status codes), never from raw input: each
 * family holds at most max_series series, and a new set of values beyond that is dropped.
 *
 * Gauges that are cheaper to read than to keep up to date (rows counted in the database,
 * another module's counter) are filled by collectors, called at the start of each render.
 *
 * Threads: any thread may register, update and render. Renders are serialised (collectors
 * never run twice at once), registration takes the same lock, updates take none.
 */
#ifndef ORCI_METRICS_H
#define ORCI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "orchestra/error.h"

/* The Content-Type of orci_metrics_render's output. */
#define ORCI_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define ORCI_METRIC_MAX_LABELS 4
#define ORCI_METRIC_MAX_BUCKETS 32
#define ORCI_METRIC_DEFAULT_MAX_SERIES 1024

typedef struct orci_metrics orci_metrics;
typedef struct orci_metric orci_metric; /* a family */
typedef struct orci_series orci_series; /* one set of label values of a family */

typedef enum orci_metric_type {
    ORCI_METRIC_COUNTER,
    ORCI_METRIC_GAUGE,
    ORCI_METRIC_HISTOGRAM,
} orci_metric_type;

/* orci_metric_spec describes a family; everything is copied by orci_metrics_add. */
typedef struct orci_metric_spec {
    const char *name; /* "orchestra_rpc_requests_total" */
    const char *help; /* one line: what is counted, in which unit */
    orci_metric_type type;
    const char *const *labels; /* n_labels label names (none: NULL, 0) */
    size_t n_labels;
    const double *buckets; /* histograms: n_buckets ascending upper bounds, +Inf implied */
    size_t n_buckets;
    size_t max_series; /* 0: ORCI_METRIC_DEFAULT_MAX_SERIES */
} orci_metric_spec;

/* orci_metrics_new makes an empty registry (release with orci_metrics_destroy). */
int orci_metrics_new(orci_metrics **out, orc_error *err);

/*
 * orci_metrics_destroy frees the registry, its families and series; NULL allowed. No other
 * thread may use any of them any more.
 */
void orci_metrics_destroy(orci_metrics *m);

/*
 * orci_metrics_add registers a family. ORC_INVALID_ARGUMENT for a name, label or bucket list
 * that breaks the rules above, ORC_ALREADY_EXISTS for a name already registered. With m
 * NULL it succeeds with *out NULL (metrics off). *out belongs to m.
 */
int orci_metrics_add(orci_metrics *m, const orci_metric_spec *spec, orci_metric **out,
                     orc_error *err);

/*
 * orci_metric_series returns the series of f with these label values (as many as f has
 * labels; NULL when it has none), made on first use. NULL when f is NULL, the family is full
 * or memory ran out: updates to NULL do nothing. The series lives as long as the registry,
 * so a caller may keep it and skip the lookup next time.
 */
orci_series *orci_metric_series(orci_metric *f, const char *const *values);

/* orci_counter_add adds n to a counter. */
void orci_counter_add(orci_series *s, uint64_t n);

/*
 * orci_counter_set sets a counter to v, for a counter kept elsewhere and copied in by a
 * collector (it must never go down).
 */
void orci_counter_set(orci_series *s, uint64_t v);

/* orci_counter_set_float is orci_counter_set for a count with a fraction (CPU seconds). */
void orci_counter_set_float(orci_series *s, double v);

/* orci_gauge_set sets a gauge; orci_gauge_add adds d (negative to subtract). */
void orci_gauge_set(orci_series *s, double v);
void orci_gauge_add(orci_series *s, double d);

/* orci_histogram_observe counts v in its bucket and adds it to the sum. */
void orci_histogram_observe(orci_series *s, double v);

/* orci_metric_value reads a counter or gauge (a histogram's count): for tests. 0 for NULL. */
double orci_metric_value(const orci_series *s);

/*
 * orci_metrics_collect_fn fills gauges (or counters) just before a render, on the rendering
 * thread. It must not register families or render.
 */
typedef void (*orci_metrics_collect_fn)(void *arg);

/* orci_metrics_on_collect adds a collector (arg borrowed; it must outlive m). */
int orci_metrics_on_collect(orci_metrics *m, orci_metrics_collect_fn fn, void *arg, orc_error *err);

/*
 * orci_metrics_off_collect removes a collector added with the same fn and arg (after it, no
 * render calls it: a render in progress is waited for).
 */
void orci_metrics_off_collect(orci_metrics *m, orci_metrics_collect_fn fn, void *arg);

/*
 * orci_metrics_render runs the collectors, then appends every family with its HELP and TYPE
 * lines and its series (sorted by label values; a family without series shows only its HELP
 * and TYPE) to out. ORC_RESOURCE_EXHAUSTED when out's cap is reached or memory runs out
 * (out then holds part of the text).
 */
int orci_metrics_render(orci_metrics *m, orci_buf *out, orc_error *err);

/*
 * orci_metrics_add_process registers the standard process families (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_open_fds, process_start_time_seconds; read from
 * /proc/self on each render, as the official client libraries name them) and
 * orchestra_build_info{program, version} set to 1. m NULL: nothing.
 */
int orci_metrics_add_process(orci_metrics *m, const char *program, const char *version,
                             orc_error *err);

/* orci_metrics_duration_buckets are the latency buckets every daemon uses, in seconds. */
extern const double orci_metrics_duration_buckets[];
extern const size_t orci_metrics_duration_buckets_count;

#endif
