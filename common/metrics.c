/*
 * metrics.c: the registry of metrics.h and its Prometheus text rendering.
 *
 * Each family keeps its series in an open-addressing table of atomic pointers sized for
 * twice its max_series, so a lookup never holds a lock: a new series is published with one
 * compare-and-swap into an empty slot, and a thread that loses the race for the slot reads
 * the winner's series there (and frees its own copy when they are the same values).
 * Series are never removed before the registry is destroyed, so a pointer stays valid.
 * Values are relaxed atomics: a render may see one series a few updates behind another,
 * which Prometheus tolerates; a histogram's count is the sum of its buckets as read, so
 * its +Inf bucket always equals its count.
 */
#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vec.h"

#define METRICS_NUM_MAX 48

const double orci_metrics_duration_buckets[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const size_t orci_metrics_duration_buckets_count =
    sizeof orci_metrics_duration_buckets / sizeof orci_metrics_duration_buckets[0];

struct orci_series {
    const orci_metric *family;
    uint64_t hash;
    const char *values[ORCI_METRIC_MAX_LABELS]; /* as given (rendering escapes them) */
    _Atomic uint64_t value;                     /* counter: the count; gauge: a double's bits */
    _Atomic uint64_t sum;                       /* histogram: a double's bits */
    _Atomic uint64_t counts[];                  /* histogram: per bucket, then +Inf */
};

struct orci_metric {
    char *name;
    char *help;
    orci_metric_type type;
    char *labels[ORCI_METRIC_MAX_LABELS];
    size_t n_labels;
    double buckets[ORCI_METRIC_MAX_BUCKETS];
    size_t n_buckets;
    size_t max_series;
    size_t mask; /* slots - 1, slots a power of two */
    _Atomic(orci_series *) *slots;
    atomic_size_t n_series;
    struct orci_metric *next;
};

typedef struct metrics_collector {
    orci_metrics_collect_fn fn;
    void *arg;
} metrics_collector;

struct orci_metrics {
    pthread_mutex_t mu; /* registration and rendering */
    orci_metric *head, *tail;
    metrics_collector *collectors;
    size_t n_collectors, cap_collectors;
    void *process; /* orci_metrics_add_process's state */
};

/* ---- values ----------------------------------------------------------------------------- */

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double double_of(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* atomic_add_double adds d to the double kept in *a (a compare-and-swap loop). */
static void atomic_add_double(_Atomic uint64_t *a, double d)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, bits_of(double_of(old) + d),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void orci_counter_add(orci_series *s, uint64_t n)
{
    if (s && s->family->type == ORCI_METRIC_COUNTER)
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void orci_counter_set(orci_series *s, uint64_t v)
{
    if (s && s->family->type == ORCI_METRIC_COUNTER)
        atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

void orci_counter_set_float(orci_series *s, double v)
{
    if (s && s->family->type == ORCI_METRIC_COUNTER) {
        atomic_store_explicit(&s->value, 0, memory_order_relaxed);
        atomic_store_explicit(&s->sum, bits_of(v), memory_order_relaxed);
    }
}

void orci_gauge_set(orci_series *s, double v)
{
    if (s && s->family->type == ORCI_METRIC_GAUGE)
        atomic_store_explicit(&s->value, bits_of(v), memory_order_relaxed);
}

void orci_gauge_add(orci_series *s, double d)
{
    if (s && s->family->type == ORCI_METRIC_GAUGE)
        atomic_add_double(&s->value, d);
}

void orci_histogram_observe(orci_series *s, double v)
{
    if (!s || s->family->type != ORCI_METRIC_HISTOGRAM)
        return;
    const orci_metric *f = s->family;
    size_t k = 0;
    while (k < f->n_buckets && !(v <= f->buckets[k])) /* NaN lands in +Inf */
        k++;
    atomic_fetch_add_explicit(&s->counts[k], 1, memory_order_relaxed);
    atomic_add_double(&s->sum, v);
}

/* histogram_count is the sum of a histogram's buckets. */
static uint64_t histogram_count(const orci_series *s)
{
    uint64_t n = 0;
    for (size_t k = 0; k <= s->family->n_buckets; k++)
        n += atomic_load_explicit(&s->counts[k], memory_order_relaxed);
    return n;
}

double orci_metric_value(const orci_series *s)
{
    if (!s)
        return 0;
    uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
    switch (s->family->type) {
    case ORCI_METRIC_COUNTER:
        return (double)v + double_of(atomic_load_explicit(&s->sum, memory_order_relaxed));
    case ORCI_METRIC_GAUGE:
        return double_of(v);
    case ORCI_METRIC_HISTOGRAM:
        return (double)histogram_count(s);
    }
    return 0;
}

/* ---- series ----------------------------------------------------------------------------- */

static uint64_t series_hash(const orci_metric *f, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < f->n_labels; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xffu) *
            1099511628211ULL; /* a byte no UTF-8 text holds: ("a","bc") != ("ab","c") */
    }
    return h;
}

static bool series_is(const orci_series *s, uint64_t hash, const char *const *values)
{
    if (s->hash != hash)
        return false;
    for (size_t i = 0; i < s->family->n_labels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

/* series_new allocates a series with copies of values, in one block. */
static orci_series *series_new(const orci_metric *f, const char *const *values, uint64_t hash)
{
    size_t n_counts = f->type == ORCI_METRIC_HISTOGRAM ? f->n_buckets + 1 : 0;
    size_t head = sizeof(orci_series) + n_counts * sizeof(_Atomic uint64_t);
    size_t text = 0;
    for (size_t i = 0; i < f->n_labels; i++)
        text += strlen(values[i]) + 1;
    orci_series *s = calloc(1, head + text);
    if (!s)
        return NULL;
    s->family = f;
    s->hash = hash;
    char *p = (char *)s + head;
    for (size_t i = 0; i < f->n_labels; i++) {
        size_t n = strlen(values[i]) + 1;
        memcpy(p, values[i], n);
        s->values[i] = p;
        p += n;
    }
    atomic_init(&s->value, f->type == ORCI_METRIC_GAUGE ? bits_of(0.0) : 0);
    atomic_init(&s->sum, bits_of(0.0));
    for (size_t k = 0; k < n_counts; k++)
        atomic_init(&s->counts[k], 0);
    return s;
}

orci_series *orci_metric_series(orci_metric *f, const char *const *values)
{
    if (!f || (f->n_labels > 0 && !values))
        return NULL;
    for (size_t i = 0; i < f->n_labels; i++)
        if (!values[i])
            return NULL;
    uint64_t h = series_hash(f, values);
    orci_series *fresh = NULL;
    size_t i = (size_t)h & f->mask;
    for (size_t probe = 0; probe <= f->mask; probe++, i = (i + 1) & f->mask) {
        orci_series *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (!s) {
            if (!fresh) {
                if (atomic_load_explicit(&f->n_series, memory_order_relaxed) >= f->max_series)
                    return NULL;
                if (!(fresh = series_new(f, values, h)))
                    return NULL;
            }
            orci_series *expected = NULL;
            if (atomic_compare_exchange_strong_explicit(
                    &f->slots[i], &expected, fresh, memory_order_acq_rel, memory_order_acquire)) {
                atomic_fetch_add_explicit(&f->n_series, 1, memory_order_relaxed);
                return fresh;
            }
            s = expected; /* another thread filled the slot first */
        }
        if (series_is(s, h, values)) {
            free(fresh);
            return s;
        }
    }
    free(fresh);
    return NULL;
}

/* ---- registration ----------------------------------------------------------------------- */

static bool name_ok(const char *s, bool colon)
{
    if (!s || !s[0])
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!(alpha || (colon && c == ':') || (i > 0 && digit)))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* spec_check applies the naming rules of metrics.h. */
static int spec_check(const orci_metric_spec *spec, orc_error *err)
{
    const char *name = spec->name ? spec->name : "";
    if (!name_ok(name, true))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "bad metric name \"%s\"", name);
    if (spec->type == ORCI_METRIC_COUNTER && !ends_with(name, "_total"))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "counter %s must end in _total", name);
    if (spec->type != ORCI_METRIC_COUNTER && ends_with(name, "_total"))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "only counters end in _total (%s)", name);
    if (!spec->help || !spec->help[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "metric %s needs a help text", name);
    if (spec->n_labels > ORCI_METRIC_MAX_LABELS || (spec->n_labels > 0 && !spec->labels))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "metric %s: at most %d labels", name,
                             ORCI_METRIC_MAX_LABELS);
    for (size_t i = 0; i < spec->n_labels; i++) {
        const char *l = spec->labels[i];
        if (!name_ok(l, false) || strncmp(l, "__", 2) == 0 ||
            (spec->type == ORCI_METRIC_HISTOGRAM && strcmp(l, "le") == 0))
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "metric %s: bad label name \"%s\"",
                                 name, l ? l : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->labels[j], l) == 0)
                return orc_error_set(err, ORC_INVALID_ARGUMENT, "metric %s: label %s twice", name,
                                     l);
    }
    if (spec->type != ORCI_METRIC_HISTOGRAM)
        return ORC_OK;
    if (spec->n_buckets == 0 || spec->n_buckets > ORCI_METRIC_MAX_BUCKETS || !spec->buckets)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "histogram %s needs 1 to %d buckets", name,
                             ORCI_METRIC_MAX_BUCKETS);
    for (size_t k = 0; k < spec->n_buckets; k++) {
        double b = spec->buckets[k];
        if (isnan(b) || isinf(b) || (k > 0 && !(b > spec->buckets[k - 1])))
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "histogram %s: buckets must be finite and ascending", name);
    }
    return ORC_OK;
}

static void family_free(orci_metric *f)
{
    if (!f)
        return;
    if (f->slots) {
        for (size_t i = 0; i <= f->mask; i++)
            free(atomic_load_explicit(&f->slots[i], memory_order_relaxed));
        free((void *)f->slots);
    }
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f);
}

static orci_metric *family_new(const orci_metric_spec *spec)
{
    orci_metric *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->type = spec->type;
    f->n_labels = spec->n_labels;
    f->n_buckets = spec->type == ORCI_METRIC_HISTOGRAM ? spec->n_buckets : 0;
    f->max_series = spec->max_series ? spec->max_series : ORCI_METRIC_DEFAULT_MAX_SERIES;
    size_t slots = 16;
    while (slots < 2 * f->max_series)
        slots *= 2;
    f->mask = slots - 1;
    f->slots = calloc(slots, sizeof *f->slots);
    f->name = strdup(spec->name);
    f->help = strdup(spec->help);
    bool ok = f->slots && f->name && f->help;
    for (size_t i = 0; i < f->n_labels; i++)
        ok = (f->labels[i] = strdup(spec->labels[i])) != NULL && ok;
    for (size_t k = 0; k < f->n_buckets; k++)
        f->buckets[k] = spec->buckets[k];
    if (!ok) {
        family_free(f);
        return NULL;
    }
    for (size_t i = 0; i < slots; i++)
        atomic_init(&f->slots[i], NULL);
    atomic_init(&f->n_series, 0);
    return f;
}

int orci_metrics_new(orci_metrics **out, orc_error *err)
{
    *out = NULL;
    orci_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return orc_error_set(err, ORC_INTERNAL, "cannot create a mutex");
    }
    *out = m;
    return ORC_OK;
}

void orci_metrics_destroy(orci_metrics *m)
{
    if (!m)
        return;
    for (orci_metric *f = m->head, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    free(m->collectors);
    free(m->process);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int orci_metrics_add(orci_metrics *m, const orci_metric_spec *spec, orci_metric **out,
                     orc_error *err)
{
    *out = NULL;
    if (!m)
        return ORC_OK;
    int rc = spec_check(spec, err);
    if (rc != ORC_OK)
        return rc;
    pthread_mutex_lock(&m->mu);
    for (orci_metric *f = m->head; f; f = f->next) {
        if (strcmp(f->name, spec->name) == 0) {
            pthread_mutex_unlock(&m->mu);
            return orc_error_set(err, ORC_ALREADY_EXISTS, "metric %s is registered twice",
                                 spec->name);
        }
    }
    orci_metric *f = family_new(spec);
    if (f) {
        if (m->tail)
            m->tail->next = f;
        else
            m->head = f;
        m->tail = f;
    }
    pthread_mutex_unlock(&m->mu);
    if (!f)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    *out = f;
    return ORC_OK;
}

int orci_metrics_on_collect(orci_metrics *m, orci_metrics_collect_fn fn, void *arg, orc_error *err)
{
    if (!m || !fn)
        return ORC_OK;
    pthread_mutex_lock(&m->mu);
    int rc = ORC_OK;
    if (!orci_grow(&m->collectors, &m->cap_collectors, m->n_collectors + 1, sizeof *m->collectors))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        m->collectors[m->n_collectors++] = (metrics_collector){fn, arg};
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void orci_metrics_off_collect(orci_metrics *m, orci_metrics_collect_fn fn, void *arg)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_collectors; i++) {
        if (m->collectors[i].fn == fn && m->collectors[i].arg == arg) {
            memmove(&m->collectors[i], &m->collectors[i + 1],
                    (m->n_collectors - i - 1) * sizeof m->collectors[0]);
            m->n_collectors--;
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering -------------------------------------------------------------------------- */

/* fmt_number writes v as Prometheus reads it: the shortest text that reads back as v. */
static void fmt_number(double v, char out[METRICS_NUM_MAX])
{
    if (isnan(v)) {
        snprintf(out, METRICS_NUM_MAX, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, METRICS_NUM_MAX, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        snprintf(out, METRICS_NUM_MAX, "%lld", (long long)v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(out, METRICS_NUM_MAX, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* utf8_len is the length of the valid UTF-8 character at s (0 when not valid). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 1;
    else if (c == 0xE0)
        n = 2, lo = 0xA0;
    else if (c == 0xED)
        n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF)
        n = 2;
    else if (c == 0xF0)
        n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        n = 3;
    else if (c == 0xF4)
        n = 3, hi = 0x8F;
    else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return n + 1;
}

/*
 * add_escaped appends s escaped for a label value (quote true: \ " and newline) or a HELP
 * text (\ and newline), invalid UTF-8 as '?'.
 */
static bool add_escaped(orci_buf *b, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    bool ok = true;
    while (*p && ok) {
        size_t n = utf8_len(p);
        if (*p == '\\')
            ok = orci_buf_adds(b, "\\\\");
        else if (*p == '\n')
            ok = orci_buf_adds(b, "\\n");
        else if (quote && *p == '"')
            ok = orci_buf_adds(b, "\\\"");
        else if (n == 0)
            ok = orci_buf_adds(b, "?");
        else
            ok = orci_buf_add(b, p, n);
        p += n ? n : 1;
    }
    return ok;
}

/* add_labels appends {name="value",...} with le last when given; nothing when empty. */
static bool add_labels(orci_buf *b, const orci_series *s, const char *le)
{
    const orci_metric *f = s->family;
    if (f->n_labels == 0 && !le)
        return true;
    bool ok = orci_buf_adds(b, "{");
    for (size_t i = 0; i < f->n_labels && ok; i++) {
        ok = (i == 0 || orci_buf_adds(b, ",")) && orci_buf_adds(b, f->labels[i]) &&
             orci_buf_adds(b, "=\"") && add_escaped(b, s->values[i], true) &&
             orci_buf_adds(b, "\"");
    }
    if (ok && le)
        ok = (f->n_labels == 0 || orci_buf_adds(b, ",")) && orci_buf_adds(b, "le=\"") &&
             orci_buf_adds(b, le) && orci_buf_adds(b, "\"");
    return ok && orci_buf_adds(b, "}");
}

/* add_sample appends one line: name+suffix, the labels, the value. */
static bool add_sample(orci_buf *b, const orci_series *s, const char *suffix, const char *le,
                       const char *value)
{
    return orci_buf_adds(b, s->family->name) && orci_buf_adds(b, suffix) && add_labels(b, s, le) &&
           orci_buf_adds(b, " ") && orci_buf_adds(b, value) && orci_buf_adds(b, "\n");
}

static bool render_histogram(orci_buf *b, const orci_series *s)
{
    const orci_metric *f = s->family;
    char le[METRICS_NUM_MAX], num[METRICS_NUM_MAX];
    uint64_t cum = 0;
    bool ok = true;
    for (size_t k = 0; k <= f->n_buckets && ok; k++) {
        cum += atomic_load_explicit(&s->counts[k], memory_order_relaxed);
        if (k < f->n_buckets)
            fmt_number(f->buckets[k], le);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
        ok = add_sample(b, s, "_bucket", le, num);
    }
    fmt_number(double_of(atomic_load_explicit(&s->sum, memory_order_relaxed)), num);
    ok = ok && add_sample(b, s, "_sum", NULL, num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)cum);
    return ok && add_sample(b, s, "_count", NULL, num);
}

static bool render_series(orci_buf *b, const orci_series *s)
{
    char num[METRICS_NUM_MAX];
    uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
    switch (s->family->type) {
    case ORCI_METRIC_COUNTER: {
        /* Counted in whole units (add, set) or kept elsewhere as a fraction (set_float). */
        double frac = double_of(atomic_load_explicit(&s->sum, memory_order_relaxed));
        if (frac != 0)
            fmt_number((double)v + frac, num);
        else
            snprintf(num, sizeof num, "%llu", (unsigned long long)v);
        return add_sample(b, s, "", NULL, num);
    }
    case ORCI_METRIC_GAUGE:
        fmt_number(double_of(v), num);
        return add_sample(b, s, "", NULL, num);
    case ORCI_METRIC_HISTOGRAM:
        return render_histogram(b, s);
    }
    return false;
}

static int series_cmp(const void *a, const void *b)
{
    const orci_series *x = *(const orci_series *const *)a, *y = *(const orci_series *const *)b;
    for (size_t i = 0; i < x->family->n_labels; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c != 0)
            return c;
    }
    return 0;
}

static const char *type_name(orci_metric_type t)
{
    return t == ORCI_METRIC_COUNTER ? "counter" : t == ORCI_METRIC_GAUGE ? "gauge" : "histogram";
}

/* render_family appends a family's HELP, TYPE and series, sorted. */
static int render_family(orci_buf *b, const orci_metric *f, orc_error *err)
{
    bool ok = orci_buf_adds(b, "# HELP ") && orci_buf_adds(b, f->name) && orci_buf_adds(b, " ") &&
              add_escaped(b, f->help, false) && orci_buf_adds(b, "\n# TYPE ") &&
              orci_buf_adds(b, f->name) && orci_buf_adds(b, " ") &&
              orci_buf_adds(b, type_name(f->type)) && orci_buf_adds(b, "\n");
    size_t n = 0, slots = f->mask + 1;
    orci_series **all = ok ? malloc(slots * sizeof *all) : NULL;
    if (ok && !all)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; ok && i < slots; i++) {
        orci_series *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (s)
            all[n++] = s;
    }
    if (ok)
        qsort(all, n, sizeof *all, series_cmp);
    for (size_t i = 0; ok && i < n; i++)
        ok = render_series(b, all[i]);
    free(all);
    return ok ? ORC_OK
              : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "the metrics text passed %zu bytes",
                              b->max);
}

int orci_metrics_render(orci_metrics *m, orci_buf *out, orc_error *err)
{
    if (!m)
        return ORC_OK;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_collectors; i++)
        m->collectors[i].fn(m->collectors[i].arg);
    int rc = ORC_OK;
    for (const orci_metric *f = m->head; f && rc == ORC_OK; f = f->next)
        rc = render_family(out, f, err);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- the process ------------------------------------------------------------------------ */

typedef struct metrics_process {
    orci_series *cpu, *rss, *fds, *start;
    double start_s; /* the process's start, Unix seconds (read once) */
} metrics_process;

/* proc_stat reads utime+stime (ticks), starttime (ticks after boot), rss (pages). */
static bool proc_stat(unsigned long long *cpu, unsigned long long *start, long long *rss)
{
    FILE *fp = fopen("/proc/self/stat", "r");
    if (!fp)
        return false;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    unsigned long long ut = 0, st = 0;
    /* Fields 3 on: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss. */
    if (!p || sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d"
                     " %*d %llu %*u %lld",
                     &ut, &st, start, rss) != 4)
        return false;
    *cpu = ut + st;
    return true;
}

/* boot_time reads the boot time (Unix seconds) from /proc/stat; 0 when unknown. */
static double boot_time(void)
{
    FILE *fp = fopen("/proc/stat", "r");
    if (!fp)
        return 0;
    char line[256];
    double bt = 0;
    while (fgets(line, sizeof line, fp)) {
        unsigned long long v;
        if (sscanf(line, "btime %llu", &v) == 1) {
            bt = (double)v;
            break;
        }
    }
    fclose(fp);
    return bt;
}

static void process_collect(void *arg)
{
    metrics_process *p = arg;
    unsigned long long cpu = 0, start = 0;
    long long rss = 0;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (ticks > 0 && page > 0 && proc_stat(&cpu, &start, &rss)) {
        orci_gauge_set(p->rss, (double)rss * (double)page);
        if (p->start_s == 0) {
            double bt = boot_time();
            p->start_s = bt > 0 ? bt + (double)start / (double)ticks : -1;
        }
        if (p->start_s > 0)
            orci_gauge_set(p->start, p->start_s);
        orci_counter_set_float(p->cpu, (double)cpu / (double)ticks);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = -1; /* the descriptor opendir holds */
        while (readdir(d))
            n++;
        closedir(d);
        orci_gauge_set(p->fds, (double)(n - 2)); /* "." and ".." */
    }
}

/* add_one registers a family without labels and returns its only series. */
static int add_one(orci_metrics *m, const char *name, const char *help, orci_metric_type type,
                   orci_series **out, orc_error *err)
{
    orci_metric *f = NULL;
    orci_metric_spec spec = {.name = name, .help = help, .type = type};
    int rc = orci_metrics_add(m, &spec, &f, err);
    if (rc != ORC_OK)
        return rc;
    if (!(*out = orci_metric_series(f, NULL)))
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    return ORC_OK;
}

int orci_metrics_add_process(orci_metrics *m, const char *program, const char *version,
                             orc_error *err)
{
    if (!m)
        return ORC_OK;
    if (m->process)
        return orc_error_set(err, ORC_ALREADY_EXISTS, "process metrics are registered twice");
    metrics_process *p = calloc(1, sizeof *p);
    if (!p)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    m->process = p; /* freed with the registry, whatever happens next */
    orci_metric *info = NULL;
    static const char *const info_labels[] = {"program", "version"};
    orci_metric_spec spec = {.name = "orchestra_build_info",
                             .help = "Always 1: the program and its version, as labels.",
                             .type = ORCI_METRIC_GAUGE,
                             .labels = info_labels,
                             .n_labels = 2};
    int rc = orci_metrics_add(m, &spec, &info, err);
    if (rc == ORC_OK)
        orci_gauge_set(orci_metric_series(info, (const char *const[]){program, version}), 1);
    if (rc == ORC_OK)
        rc = add_one(m, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                     ORCI_METRIC_COUNTER, &p->cpu, err);
    if (rc == ORC_OK)
        rc = add_one(m, "process_resident_memory_bytes", "Resident memory size, in bytes.",
                     ORCI_METRIC_GAUGE, &p->rss, err);
    if (rc == ORC_OK)
        rc = add_one(m, "process_open_fds", "Open file descriptors.", ORCI_METRIC_GAUGE, &p->fds,
                     err);
    if (rc == ORC_OK)
        rc = add_one(m, "process_start_time_seconds",
                     "When the process started, in seconds since the Unix epoch.",
                     ORCI_METRIC_GAUGE, &p->start, err);
    if (rc == ORC_OK)
        rc = orci_metrics_on_collect(m, process_collect, p, err);
    return rc;
}
