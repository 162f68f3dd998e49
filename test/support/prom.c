/*
 * prom.c: a strict reader of Prometheus' text format 0.0.4 (prom.h).
 */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_LINE_MAX 8192

static bool prom_name_ok(const char *s, size_t n, bool colon)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!(alpha || (colon && c == ':') || (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static bool prom_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int prom_fail(char *why, size_t size, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int prom_fail(char *why, size_t size, int line, const char *fmt, ...)
{
    int n = snprintf(why, size, "line %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < size)
        vsnprintf(why + n, size - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static orc_prom_family *prom_family(orc_prom *p, const char *name)
{
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp(p->families[i].name, name) == 0)
            return &p->families[i];
    return NULL;
}

static orc_prom_family *prom_family_add(orc_prom *p, const char *name)
{
    orc_prom_family *f = prom_family(p, name);
    if (f)
        return f;
    orc_prom_family *nv = realloc(p->families, (p->n_families + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    p->families = nv;
    f = &p->families[p->n_families++];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    return f;
}

/* prom_sample_family: the family a sample belongs to (histogram suffixes removed). */
static orc_prom_family *prom_sample_family(orc_prom *p, const char *name)
{
    orc_prom_family *f = prom_family(p, name);
    if (f)
        return f;
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < 3; i++) {
        if (!prom_ends(name, suffixes[i]))
            continue;
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(name) - strlen(suffixes[i])), name);
        f = prom_family(p, base);
        if (f && (strcmp(f->type, "histogram") == 0 || strcmp(f->type, "summary") == 0))
            return f;
    }
    return NULL;
}

/* prom_labels checks "{a="x",b="y"}" starting at s; *end after the brace. */
static bool prom_labels(const char *s, const char **end)
{
    const char *q = s + 1;
    if (*q == '}') {
        *end = q + 1;
        return true;
    }
    for (;;) {
        size_t n = strcspn(q, "=");
        if (!prom_name_ok(q, n, false) || q[n] != '=' || q[n + 1] != '"')
            return false;
        q += n + 2;
        while (*q && *q != '"') {
            if (*q == '\\') {
                if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                    return false;
                q++;
            } else if (*q == '\n') {
                return false;
            }
            q++;
        }
        if (*q != '"')
            return false;
        q++;
        if (*q == '}') {
            *end = q + 1;
            return true;
        }
        if (*q != ',')
            return false;
        q++;
    }
}

static bool prom_value(const char *s, double *v)
{
    if (strcmp(s, "NaN") == 0) {
        *v = NAN;
        return true;
    }
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0) {
        *v = s[0] == '+' ? INFINITY : -INFINITY;
        return true;
    }
    char *end = NULL;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && !isinf(*v) && !isnan(*v);
}

/* prom_comment handles "# HELP" and "# TYPE" lines (other comments are allowed). */
static int prom_comment(orc_prom *p, const char *line, int no, char *why, size_t size)
{
    bool help = strncmp(line, "# HELP ", 7) == 0, type = strncmp(line, "# TYPE ", 7) == 0;
    if (!help && !type)
        return 0;
    const char *name = line + 7;
    size_t n = strcspn(name, " ");
    if (!prom_name_ok(name, n, true) || name[n] != ' ')
        return prom_fail(why, size, no, "bad HELP or TYPE line: %s", line);
    char fam[256];
    snprintf(fam, sizeof fam, "%.*s", (int)n, name);
    const char *rest = name + n + 1;
    orc_prom_family *f = prom_family_add(p, fam);
    if (!f)
        return prom_fail(why, size, no, "out of memory");
    if (help) {
        if (f->help)
            return prom_fail(why, size, no, "second HELP for %s", fam);
        f->help = true;
        for (const char *c = rest; *c; c++) {
            if (*c != '\\')
                continue;
            if (c[1] != '\\' && c[1] != 'n')
                return prom_fail(why, size, no, "bad escape in HELP of %s", fam);
            c++;
        }
        return 0;
    }
    if (f->type)
        return prom_fail(why, size, no, "second TYPE for %s", fam);
    if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
        strcmp(rest, "summary") && strcmp(rest, "untyped"))
        return prom_fail(why, size, no, "unknown type %s", rest);
    for (size_t i = 0; i < p->n_samples; i++)
        if (prom_sample_family(p, p->samples[i].name) == f)
            return prom_fail(why, size, no, "TYPE of %s after its samples", fam);
    f->type = strdup(rest);
    if (strcmp(rest, "counter") == 0 && !prom_ends(fam, "_total"))
        return prom_fail(why, size, no, "counter %s does not end in _total", fam);
    return 0;
}

static int prom_sample(orc_prom *p, const char *line, int no, char *why, size_t size)
{
    size_t n = strcspn(line, "{ ");
    if (!prom_name_ok(line, n, true))
        return prom_fail(why, size, no, "bad sample name: %s", line);
    const char *after = line + n, *labels = "", *labels_end = after;
    if (*after == '{') {
        if (!prom_labels(after, &labels_end))
            return prom_fail(why, size, no, "bad labels: %s", line);
        labels = after + 1;
    }
    if (*labels_end != ' ')
        return prom_fail(why, size, no, "no value: %s", line);
    char value[64];
    const char *v = labels_end + 1;
    size_t vn = strcspn(v, " ");
    if (vn >= sizeof value)
        return prom_fail(why, size, no, "bad value: %s", line);
    snprintf(value, sizeof value, "%.*s", (int)vn, v);
    if (v[vn] == ' ') { /* an optional timestamp: an integer */
        char *end = NULL;
        strtoll(v + vn + 1, &end, 10);
        if (!end || *end != '\0')
            return prom_fail(why, size, no, "bad timestamp: %s", line);
    }
    orc_prom_sample s = {0};
    if (!prom_value(value, &s.value))
        return prom_fail(why, size, no, "bad value: %s", line);
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)n, line);
    orc_prom_family *f = prom_sample_family(p, name);
    if (!f || !f->type || !f->help)
        return prom_fail(why, size, no, "%s has no HELP and TYPE before it", name);
    size_t ln = *after == '{' ? (size_t)(labels_end - 1 - labels) : 0;
    char lab[PROM_LINE_MAX];
    snprintf(lab, sizeof lab, "%.*s", (int)ln, labels);
    for (size_t i = 0; i < p->n_samples; i++)
        if (strcmp(p->samples[i].name, name) == 0 && strcmp(p->samples[i].labels, lab) == 0)
            return prom_fail(why, size, no, "sample %s{%s} twice", name, lab);
    orc_prom_sample *nv = realloc(p->samples, (p->n_samples + 1) * sizeof *nv);
    if (!nv)
        return prom_fail(why, size, no, "out of memory");
    p->samples = nv;
    s.name = strdup(name);
    s.labels = strdup(lab);
    p->samples[p->n_samples++] = s;
    return s.name && s.labels ? 0 : prom_fail(why, size, no, "out of memory");
}

/* prom_strip_le removes the le label from a bucket's labels into base; le into le. */
static void prom_strip_le(const char *labels, char *base, size_t bsize, char *le, size_t lsize)
{
    const char *at = strstr(labels, "le=\"");
    while (at && at != labels && at[-1] != ',')
        at = strstr(at + 1, "le=\"");
    le[0] = '\0';
    if (!at) {
        snprintf(base, bsize, "%s", labels);
        return;
    }
    const char *close = strchr(at + 4, '"');
    snprintf(le, lsize, "%.*s", close ? (int)(close - at - 4) : 0, at + 4);
    const char *after = close ? close + 1 : at + strlen(at);
    if (*after == ',')
        after++;
    size_t head = (size_t)(at - labels);
    if (head > 0 && labels[head - 1] == ',' && !*after)
        head--;
    snprintf(base, bsize, "%.*s%s", (int)head, labels, after);
}

/* prom_histograms checks every histogram series: cumulative buckets, +Inf equal to _count. */
static int prom_histograms(const orc_prom *p, char *why, size_t size)
{
    for (size_t i = 0; i < p->n_samples; i++) {
        const orc_prom_sample *c = &p->samples[i];
        if (!prom_ends(c->name, "_count"))
            continue;
        char base_name[256];
        snprintf(base_name, sizeof base_name, "%.*s", (int)(strlen(c->name) - 6), c->name);
        const char *type = orc_prom_family_type(p, base_name);
        if (!type || strcmp(type, "histogram") != 0)
            continue;
        char bucket_name[300];
        snprintf(bucket_name, sizeof bucket_name, "%s_bucket", base_name);
        double last = -1, inf = -1;
        double last_le = -INFINITY;
        for (size_t k = 0; k < p->n_samples; k++) {
            const orc_prom_sample *b = &p->samples[k];
            char base[1024], le[64];
            if (strcmp(b->name, bucket_name) != 0)
                continue;
            prom_strip_le(b->labels, base, sizeof base, le, sizeof le);
            if (strcmp(base, c->labels) != 0)
                continue;
            double bound = 0;
            if (!le[0] || !prom_value(le, &bound))
                return snprintf(why, size, "%s{%s}: bad le", bucket_name, b->labels), -1;
            if (!(bound > last_le) || b->value < last)
                return snprintf(why, size, "%s{%s}: buckets not ascending and cumulative",
                                bucket_name, b->labels),
                       -1;
            last_le = bound;
            last = b->value;
            if (isinf(bound))
                inf = b->value;
        }
        if (inf < 0 || inf != c->value)
            return snprintf(why, size, "%s{%s}: +Inf bucket %g, count %g", base_name, c->labels,
                            inf, c->value),
                   -1;
    }
    return 0;
}

int orc_prom_parse(const char *text, orc_prom *p, char *why, size_t why_size)
{
    memset(p, 0, sizeof *p);
    size_t len = strlen(text);
    if (len == 0 || text[len - 1] != '\n') {
        snprintf(why, why_size, "the text does not end with a newline");
        return -1;
    }
    int no = 0, rc = 0;
    for (const char *line = text; *line && rc == 0; line = strchr(line, '\n') + 1) {
        no++;
        size_t n = strcspn(line, "\n");
        if (n >= PROM_LINE_MAX) {
            rc = prom_fail(why, why_size, no, "line too long");
            break;
        }
        char buf[PROM_LINE_MAX];
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (n == 0)
            continue;
        rc = buf[0] == '#' ? prom_comment(p, buf, no, why, why_size)
                           : prom_sample(p, buf, no, why, why_size);
    }
    if (rc == 0)
        rc = prom_histograms(p, why, why_size);
    if (rc != 0)
        orc_prom_free(p);
    return rc;
}

void orc_prom_free(orc_prom *p)
{
    for (size_t i = 0; i < p->n_samples; i++) {
        free(p->samples[i].name);
        free(p->samples[i].labels);
    }
    for (size_t i = 0; i < p->n_families; i++) {
        free(p->families[i].name);
        free(p->families[i].type);
    }
    free(p->samples);
    free(p->families);
    memset(p, 0, sizeof *p);
}

const char *orc_prom_family_type(const orc_prom *p, const char *name)
{
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp(p->families[i].name, name) == 0)
            return p->families[i].type;
    return NULL;
}

double orc_prom_get(const orc_prom *p, const char *name, const char *labels)
{
    for (size_t i = 0; i < p->n_samples; i++)
        if (strcmp(p->samples[i].name, name) == 0 && strcmp(p->samples[i].labels, labels) == 0)
            return p->samples[i].value;
    return -1;
}

/* prom_has_all: every comma-separated pair of filter is one of labels' pairs. */
static bool prom_has_all(const char *labels, const char *filter)
{
    char f[1024];
    snprintf(f, sizeof f, "%s", filter);
    for (char *save = NULL, *pair = strtok_r(f, ",", &save); pair;
         pair = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(pair);
        bool found = false;
        for (const char *at = strstr(labels, pair); at && !found; at = strstr(at + 1, pair))
            found = (at == labels || at[-1] == ',') && (at[n] == '\0' || at[n] == ',');
        if (!found)
            return false;
    }
    return true;
}

double orc_prom_sum(const orc_prom *p, const char *name, const char *filter)
{
    double sum = 0;
    for (size_t i = 0; i < p->n_samples; i++)
        if (strcmp(p->samples[i].name, name) == 0 && prom_has_all(p->samples[i].labels, filter))
            sum += p->samples[i].value;
    return sum;
}

size_t orc_prom_count(const orc_prom *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_samples; i++)
        n += strcmp(p->samples[i].name, name) == 0;
    return n;
}
