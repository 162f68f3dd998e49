/*
 * prom.h: a strict reader of Prometheus' text exposition format 0.0.4, for the tests that
 * scrape /metrics.
 *
 * orc_prom_parse refuses, with the line and why, anything a Prometheus server would refuse
 * or that breaks the naming conventions this project follows: a line that is not a HELP,
 * TYPE or sample line; a sample before its family's TYPE, or of a family without HELP; a
 * TYPE given twice; bad metric or label names; label values with escapes other than \\, \"
 * and \n; values that are not numbers; the same sample twice; a counter not named *_total;
 * a histogram whose buckets are not cumulative or lack +Inf, or whose +Inf bucket is not
 * its _count; text not ending in a newline.
 *
 * Samples are kept with their labels as written, in order (`method="X",code="OK"`).
 */
#ifndef ORC_TEST_PROM_H
#define ORC_TEST_PROM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct orc_prom_sample {
    char *name;
    char *labels; /* as written between the braces, "" when none */
    double value;
} orc_prom_sample;

typedef struct orc_prom_family {
    char *name;
    char *type; /* "counter", "gauge", "histogram", "summary" or "untyped" */
    bool help;
} orc_prom_family;

typedef struct orc_prom {
    orc_prom_sample *samples;
    size_t n_samples;
    orc_prom_family *families;
    size_t n_families;
} orc_prom;

/* orc_prom_parse reads text into p: 0, or -1 with the reason in why (p is then empty). */
int orc_prom_parse(const char *text, orc_prom *p, char *why, size_t why_size);

/* orc_prom_free releases what p holds. */
void orc_prom_free(orc_prom *p);

/* orc_prom_family_type is the TYPE of family name, NULL when it is not there. */
const char *orc_prom_family_type(const orc_prom *p, const char *name);

/* orc_prom_get is the value of the sample name{labels} (labels as written), -1 when absent. */
double orc_prom_get(const orc_prom *p, const char *name, const char *labels);

/*
 * orc_prom_sum adds the values of the samples called name whose labels contain every
 * `key="value"` of filter (comma-separated, as written; "" matches all). 0 when none.
 */
double orc_prom_sum(const orc_prom *p, const char *name, const char *filter);

/* orc_prom_count counts the samples called name (whatever their labels). */
size_t orc_prom_count(const orc_prom *p, const char *name);

#endif
