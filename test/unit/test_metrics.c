/*
 * test_metrics.c: the metrics registry (common/metrics.h) and its Prometheus text, read
 * back with the strict reader of test/support/prom.h.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "prom.h"

/* render renders m whole into a malloc'd string. */
static char *render(orci_metrics *m)
{
    orci_buf b = {.max = 1 << 24};
    orc_error err;
    orc_error_clear(&err);
    assert_int_equal(orci_metrics_render(m, &b, &err), ORC_OK);
    size_t len = 0;
    return orci_buf_take(&b, &len);
}

static orci_metric *add(orci_metrics *m, const char *name, orci_metric_type type,
                        const char *const *labels, size_t n_labels)
{
    static const double buckets[] = {0.1, 1, 10};
    orci_metric_spec spec = {.name = name,
                             .help = "What it counts.",
                             .type = type,
                             .labels = labels,
                             .n_labels = n_labels,
                             .buckets = buckets,
                             .n_buckets = 3};
    orci_metric *f = NULL;
    orc_error err;
    orc_error_clear(&err);
    assert_int_equal(orci_metrics_add(m, &spec, &f, &err), ORC_OK);
    assert_non_null(f);
    return f;
}

static void test_metrics_render_exactly_the_text_format(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    static const char *const two[] = {"method", "code"};
    orci_metric *c = add(m, "t_requests_total", ORCI_METRIC_COUNTER, two, 2);
    orci_metric *g = add(m, "t_open", ORCI_METRIC_GAUGE, NULL, 0);
    orci_metric *h = add(m, "t_seconds", ORCI_METRIC_HISTOGRAM, two, 1);
    orci_counter_add(orci_metric_series(c, (const char *const[]){"b", "OK"}), 2);
    orci_counter_add(orci_metric_series(c, (const char *const[]){"a", "NOT_FOUND"}), 1);
    orci_counter_add(orci_metric_series(c, (const char *const[]){"b", "OK"}), 1);
    orci_gauge_set(orci_metric_series(g, NULL), 2.5);
    orci_gauge_add(orci_metric_series(g, NULL), -1);
    orci_series *hs = orci_metric_series(h, (const char *const[]){"a"});
    orci_histogram_observe(hs, 0.05);
    orci_histogram_observe(hs, 0.1); /* on a bound: that bucket (le is "less or equal") */
    orci_histogram_observe(hs, 5);
    orci_histogram_observe(hs, 100);
    char *text = render(m);
    const char *want = "# HELP t_requests_total What it counts.\n"
                       "# TYPE t_requests_total counter\n"
                       "t_requests_total{method=\"a\",code=\"NOT_FOUND\"} 1\n"
                       "t_requests_total{method=\"b\",code=\"OK\"} 3\n"
                       "# HELP t_open What it counts.\n"
                       "# TYPE t_open gauge\n"
                       "t_open 1.5\n"
                       "# HELP t_seconds What it counts.\n"
                       "# TYPE t_seconds histogram\n"
                       "t_seconds_bucket{method=\"a\",le=\"0.1\"} 2\n"
                       "t_seconds_bucket{method=\"a\",le=\"1\"} 2\n"
                       "t_seconds_bucket{method=\"a\",le=\"10\"} 3\n"
                       "t_seconds_bucket{method=\"a\",le=\"+Inf\"} 4\n"
                       "t_seconds_sum{method=\"a\"} 105.15\n"
                       "t_seconds_count{method=\"a\"} 4\n";
    assert_string_equal(text, want);
    orc_prom p;
    char why[256] = "";
    if (orc_prom_parse(text, &p, why, sizeof why) != 0)
        fail_msg("%s", why);
    orc_prom_free(&p);
    free(text);
    orci_metrics_destroy(m);
}

static void test_metrics_refuse_names_against_the_conventions(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    static const char *const le[] = {"le"};
    static const char *const dunder[] = {"__x"};
    static const char *const twice[] = {"a", "a"};
    static const double down[] = {1, 0.5};
    const orci_metric_spec bad[] = {
        {.name = "requests", .help = "h", .type = ORCI_METRIC_COUNTER},
        {.name = "open_total", .help = "h", .type = ORCI_METRIC_GAUGE},
        {.name = "9lives", .help = "h", .type = ORCI_METRIC_GAUGE},
        {.name = "a-b", .help = "h", .type = ORCI_METRIC_GAUGE},
        {.name = "nohelp", .help = "", .type = ORCI_METRIC_GAUGE},
        {.name = "h1",
         .help = "h",
         .type = ORCI_METRIC_HISTOGRAM,
         .labels = le,
         .n_labels = 1,
         .buckets = down,
         .n_buckets = 1},
        {.name = "g1", .help = "h", .type = ORCI_METRIC_GAUGE, .labels = dunder, .n_labels = 1},
        {.name = "g2", .help = "h", .type = ORCI_METRIC_GAUGE, .labels = twice, .n_labels = 2},
        {.name = "h2", .help = "h", .type = ORCI_METRIC_HISTOGRAM, .buckets = down, .n_buckets = 2},
        {.name = "h3", .help = "h", .type = ORCI_METRIC_HISTOGRAM},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        orci_metric *f = (orci_metric *)1;
        orc_error err;
        orc_error_clear(&err);
        assert_int_equal(orci_metrics_add(m, &bad[i], &f, &err), ORC_INVALID_ARGUMENT);
        assert_null(f);
        assert_true(err.message[0] != '\0');
    }
    add(m, "ok_total", ORCI_METRIC_COUNTER, NULL, 0);
    orci_metric_spec again = {.name = "ok_total", .help = "h", .type = ORCI_METRIC_COUNTER};
    orci_metric *f = NULL;
    assert_int_equal(orci_metrics_add(m, &again, &f, NULL), ORC_ALREADY_EXISTS);
    orci_metrics_destroy(m);
}

static void test_metrics_escape_label_values_and_help(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    static const char *const one[] = {"route"};
    orci_metric_spec spec = {.name = "t_esc",
                             .help = "A \\ back\nslash.",
                             .type = ORCI_METRIC_GAUGE,
                             .labels = one,
                             .n_labels = 1};
    orci_metric *f = NULL;
    assert_int_equal(orci_metrics_add(m, &spec, &f, NULL), ORC_OK);
    orci_gauge_set(orci_metric_series(f, (const char *const[]){"q\"b\\n\nx\xff\xc3\xa9"}), 1);
    char *text = render(m);
    assert_non_null(strstr(text, "# HELP t_esc A \\\\ back\\nslash.\n"));
    assert_non_null(strstr(text, "t_esc{route=\"q\\\"b\\\\n\\nx?\xc3\xa9\"} 1\n"));
    orc_prom p;
    char why[256] = "";
    if (orc_prom_parse(text, &p, why, sizeof why) != 0)
        fail_msg("%s", why);
    orc_prom_free(&p);
    free(text);
    /* The same raw values find the same series (escaping happens only when rendering). */
    orci_series *a = orci_metric_series(f, (const char *const[]){"\xff"});
    assert_ptr_equal(a, orci_metric_series(f, (const char *const[]){"\xff"}));
    orci_metrics_destroy(m);
}

static void test_metrics_cap_the_series_of_a_family(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    static const char *const one[] = {"k"};
    orci_metric_spec spec = {.name = "t_cap_total",
                             .help = "h",
                             .type = ORCI_METRIC_COUNTER,
                             .labels = one,
                             .n_labels = 1,
                             .max_series = 3};
    orci_metric *f = NULL;
    assert_int_equal(orci_metrics_add(m, &spec, &f, NULL), ORC_OK);
    const char *keys[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 3; i++)
        assert_non_null(orci_metric_series(f, (const char *const[]){keys[i]}));
    assert_null(orci_metric_series(f, (const char *const[]){keys[3]}));
    assert_non_null(orci_metric_series(f, (const char *const[]){"b"})); /* known: still found */
    orci_counter_add(NULL, 1); /* a dropped series: updates do nothing */
    orci_histogram_observe(NULL, 1);
    orci_gauge_set(NULL, 1);
    char *text = render(m);
    assert_null(strstr(text, "k=\"d\""));
    free(text);
    orci_metrics_destroy(m);
}

static void test_metrics_off_registers_nothing_and_records_nothing(void **state)
{
    (void)state;
    orci_metric_spec spec = {.name = "x_total", .help = "h", .type = ORCI_METRIC_COUNTER};
    orci_metric *f = (orci_metric *)1;
    assert_int_equal(orci_metrics_add(NULL, &spec, &f, NULL), ORC_OK);
    assert_null(f);
    assert_null(orci_metric_series(NULL, NULL));
    assert_int_equal(orci_metrics_add_process(NULL, "p", "1", NULL), ORC_OK);
    orci_buf b = {.max = 16};
    assert_int_equal(orci_metrics_render(NULL, &b, NULL), ORC_OK);
    assert_int_equal(b.len, 0);
}

typedef struct hammer {
    orci_metric *counter, *hist;
    int id;
} hammer;

static void *hammer_main(void *arg)
{
    hammer *h = arg;
    const char *mine = h->id % 2 ? "odd" : "even";
    for (int i = 0; i < 100000; i++) {
        /* A lookup each time: series are made by racing threads too. */
        orci_counter_add(orci_metric_series(h->counter, (const char *const[]){"shared"}), 1);
        orci_counter_add(orci_metric_series(h->counter, (const char *const[]){mine}), 1);
        orci_histogram_observe(orci_metric_series(h->hist, NULL), (double)(i % 4));
    }
    return NULL;
}

static void test_metrics_lose_no_update_between_threads(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    static const char *const one[] = {"k"};
    orci_metric *c = add(m, "t_hits_total", ORCI_METRIC_COUNTER, one, 1);
    orci_metric *hist = add(m, "t_obs", ORCI_METRIC_HISTOGRAM, NULL, 0);
    hammer hs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        hs[i] = (hammer){.counter = c, .hist = hist, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *text = render(m);
    orc_prom p;
    char why[256] = "";
    if (orc_prom_parse(text, &p, why, sizeof why) != 0)
        fail_msg("%s", why);
    assert_true(orc_prom_get(&p, "t_hits_total", "k=\"shared\"") == 400000);
    assert_true(orc_prom_get(&p, "t_hits_total", "k=\"odd\"") == 200000);
    assert_true(orc_prom_get(&p, "t_hits_total", "k=\"even\"") == 200000);
    assert_true(orc_prom_get(&p, "t_obs_count", "") == 400000);
    /* 0+1+2+3 per 4 observations: exact in a double. */
    assert_true(orc_prom_get(&p, "t_obs_sum", "") == 600000);
    assert_true(orc_prom_get(&p, "t_obs_bucket", "le=\"0.1\"") == 100000);
    assert_true(orc_prom_get(&p, "t_obs_bucket", "le=\"1\"") == 200000);
    assert_true(orc_prom_get(&p, "t_obs_bucket", "le=\"10\"") == 400000);
    orc_prom_free(&p);
    free(text);
    orci_metrics_destroy(m);
}

typedef struct collector {
    orci_series *s;
    int calls;
} collector;

static void collect(void *arg)
{
    collector *c = arg;
    c->calls++;
    orci_gauge_set(c->s, 40 + c->calls);
}

static void test_metrics_collectors_fill_gauges_at_each_render(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    collector c = {.s = orci_metric_series(add(m, "t_rows", ORCI_METRIC_GAUGE, NULL, 0), NULL)};
    assert_int_equal(orci_metrics_on_collect(m, collect, &c, NULL), ORC_OK);
    char *text = render(m);
    assert_non_null(strstr(text, "\nt_rows 41\n"));
    free(text);
    text = render(m);
    assert_non_null(strstr(text, "\nt_rows 42\n"));
    free(text);
    orci_metrics_off_collect(m, collect, &c);
    text = render(m);
    assert_non_null(strstr(text, "\nt_rows 42\n"));
    assert_int_equal(c.calls, 2);
    free(text);
    orci_metrics_destroy(m);
}

static void test_metrics_process_families_read_proc(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    assert_int_equal(orci_metrics_add_process(m, "tester", "9.9", NULL), ORC_OK);
    assert_int_equal(orci_metrics_add_process(m, "tester", "9.9", NULL), ORC_ALREADY_EXISTS);
    char *text = render(m);
    orc_prom p;
    char why[256] = "";
    if (orc_prom_parse(text, &p, why, sizeof why) != 0)
        fail_msg("%s", why);
    assert_true(orc_prom_get(&p, "orchestra_build_info", "program=\"tester\",version=\"9.9\"") ==
                1);
    assert_true(orc_prom_get(&p, "process_resident_memory_bytes", "") > 100000);
    assert_true(orc_prom_get(&p, "process_open_fds", "") >= 3);
    assert_true(orc_prom_get(&p, "process_cpu_seconds_total", "") >= 0);
    assert_true(orc_prom_get(&p, "process_start_time_seconds", "") > 1.5e9);
    assert_string_equal(orc_prom_family_type(&p, "process_cpu_seconds_total"), "counter");
    orc_prom_free(&p);
    free(text);
    orci_metrics_destroy(m);
}

static void test_metrics_render_stops_at_the_buffer_cap(void **state)
{
    (void)state;
    orci_metrics *m = NULL;
    assert_int_equal(orci_metrics_new(&m, NULL), ORC_OK);
    orci_gauge_set(orci_metric_series(add(m, "t_big", ORCI_METRIC_GAUGE, NULL, 0), NULL), 1);
    orci_buf b = {.max = 20};
    orc_error err;
    orc_error_clear(&err);
    assert_int_equal(orci_metrics_render(m, &b, &err), ORC_RESOURCE_EXHAUSTED);
    assert_true(b.len <= 20);
    orci_buf_fini(&b);
    orci_metrics_destroy(m);
}

static void test_prom_reader_refuses_broken_text(void **state)
{
    (void)state;
    /* The reader the integration tests rely on must itself fail on bad text. */
    const char *bad[] = {
        "x 1\n",                                                 /* no HELP/TYPE */
        "# HELP x h\n# TYPE x gauge\nx 1",                       /* no final newline */
        "# HELP x h\n# TYPE x gauge\nx{a=\"b} 1\n",              /* open quote */
        "# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n",          /* bad escape */
        "# HELP x h\n# TYPE x gauge\nx one\n",                   /* not a number */
        "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",                /* twice */
        "# HELP x h\n# TYPE x counter\nx 1\n",                   /* counter without _total */
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n" /* not cumulative */
        "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", /* no +Inf */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        orc_prom p;
        char why[256] = "";
        assert_int_equal(orc_prom_parse(bad[i], &p, why, sizeof why), -1);
        assert_true(why[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_exactly_the_text_format),
        cmocka_unit_test(test_metrics_refuse_names_against_the_conventions),
        cmocka_unit_test(test_metrics_escape_label_values_and_help),
        cmocka_unit_test(test_metrics_cap_the_series_of_a_family),
        cmocka_unit_test(test_metrics_off_registers_nothing_and_records_nothing),
        cmocka_unit_test(test_metrics_lose_no_update_between_threads),
        cmocka_unit_test(test_metrics_collectors_fill_gauges_at_each_render),
        cmocka_unit_test(test_metrics_process_families_read_proc),
        cmocka_unit_test(test_metrics_render_stops_at_the_buffer_cap),
        cmocka_unit_test(test_prom_reader_refuses_broken_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
