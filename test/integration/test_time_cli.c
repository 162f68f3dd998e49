/*
 * test_time_cli.c: time tracking through the `orchestra` CLI against a real orchestrad: a
 * worker starts a timer on their task, stops it, fixes the entry with `time edit`, adds
 * entries with `time add` and reads `timecard --json`, whose rounding and totals must follow
 * the rules (entries rounded up to the minute, day total = sum of the rounded entries,
 * withheld when an entry is incomplete). The daemon has no fake clock, so the checks do not
 * depend on how long the timer ran: the stopped entry is given a fixed duration by hand.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_flow.h"
#include "harness.h"
#include "domain/timetrack.h"

typedef struct fixture {
    orc_harness h;
    char open_dir[700];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (orc_harness_start(&f->h, NULL) != 0) {
        orc_harness_cleanup(&f->h);
        free(f);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int status = f->h.pid != 0 ? orc_harness_stop(&f->h) : 0;
    orc_harness_cleanup(&f->h);
    free(f);
    return status == 0 ? 0 : -1;
}

/* as_json runs a worker command (arguments NULL-terminated), expects success and returns
 * its document. */
#define as_json(f, w, doc, ...)                                                                    \
    do {                                                                                           \
        orc_flow_run r_;                                                                           \
        orc_flow_as(&(f)->h, (w), &r_, __VA_ARGS__, NULL);                                         \
        orc_flow_expect_ok(&r_);                                                                   \
        (doc) = orc_flow_json(&r_);                                                                \
        orc_flow_run_free(&r_);                                                                    \
    } while (0)

/* as_refused runs a worker command and expects exit 1 with message. */
#define as_refused(f, w, message, ...)                                                             \
    do {                                                                                           \
        orc_flow_run r_;                                                                           \
        orc_flow_as(&(f)->h, (w), &r_, __VA_ARGS__, NULL);                                         \
        orc_flow_expect_refused(&r_, message);                                                     \
        orc_flow_run_free(&r_);                                                                    \
    } while (0)

static const char *str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "(null)";
}

static void expect_str(fixture *f, json_t *o, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(o, key));
    if (!got || strcmp(got, want) != 0) {
        fprintf(stderr, "%s: want \"%s\"\n", key, want);
        orc_flow_fail_json(&f->h, "document", o);
    }
}

static int64_t id_of(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* The time-tracking scenario: ann holds an assignment, bob does not. */
typedef struct time_run {
    fixture *f;
    orc_flow_worker ann, bob;
    int64_t project, assignment;
    char a_text[32];
} time_run;

/* time_timer: start, refuse a second start, see it running, stop; returns the entry's id. */
static int64_t time_timer(time_run *x)
{
    fixture *f = x->f;
    /* Start, refuse a second start, see it running, stop. */
    json_t *doc;
    as_json(f, &x->ann, doc, "timer", "start", "--assignment", x->a_text, "--description",
            "Drafting");
    assert_int_equal(id_of(doc, "assignment"), x->assignment);
    char start_date[16];
    snprintf(start_date, sizeof start_date, "%.10s", str(doc, "start_time"));
    json_decref(doc);
    as_refused(f, &x->ann, "Timer has already started", "timer", "start");
    as_refused(f, &x->bob, "Worker is not assigned to this task id.", "timer", "start",
               "--assignment", x->a_text);
    as_json(f, &x->ann, doc, "timer", "status");
    assert_non_null(json_string_value(json_object_get(doc, "time_worked")));
    json_decref(doc);
    as_json(f, &x->ann, doc, "timer", "stop");
    /* Dated by the UTC date of the start (the date part of start_time, which is UTC). */
    expect_str(f, doc, "date", start_date);
    expect_str(f, doc, "description", "Drafting");
    assert_int_equal(id_of(doc, "assignment"), x->assignment);
    int64_t timed = id_of(doc, "id");
    json_decref(doc);
    as_refused(f, &x->ann, "Timer not started", "timer", "stop");
    as_json(f, &x->ann, doc, "timer", "status");
    assert_true(json_is_null(json_object_get(doc, "start_time")));
    json_decref(doc);

    return timed;
}

/* time_entries fixes the timed entry by hand and adds two more, one lacking a description;
 * returns the incomplete one's id. */
static int64_t time_entries(time_run *x, int64_t timed)
{
    fixture *f = x->f;
    char id_text[32];
    json_t *doc;
    /* Fix the entry by hand, add two more, one of them lacking a description. */
    snprintf(id_text, sizeof id_text, "%" PRId64, timed);
    as_refused(f, &x->bob, "permission", "time", "edit", id_text, "--time", "00:05");
    as_json(f, &x->ann, doc, "time", "edit", id_text, "--date", "2026-01-05", "--time", "00:01:01");
    expect_str(f, doc, "time_worked", "00:01:01");
    expect_str(f, doc, "date", "2026-01-05");
    json_decref(doc);
    as_json(f, &x->ann, doc, "time", "add", "2026-01-05", "00:00:30", "--description", "Review",
            "--assignment", x->a_text);
    expect_str(f, doc, "time_worked", "00:00:30");
    json_decref(doc);
    as_json(f, &x->ann, doc, "time", "add", "2026-01-06", "00:10");
    int64_t incomplete = id_of(doc, "id");
    json_decref(doc);
    as_refused(f, &x->ann, "Duration has wrong format", "time", "add", "2026-01-06", "ten");

    as_json(f, &x->ann, doc, "time", "list", "--from", "2026-01-05", "--to", "2026-01-06");
    assert_int_equal(json_array_size(json_object_get(doc, "entries")), 3);
    json_decref(doc);

    return incomplete;
}

/* time_timecard: the rounding and totals, the incomplete day, deletion, the default week. */
static void time_timecard(time_run *x, int64_t incomplete)
{
    fixture *f = x->f;
    json_t *doc;
    char id_text[32];
    /* 61 s -> 00:02 and 30 s -> 00:01: the total is 00:03 (the rounded sum would be 00:02). */
    as_json(f, &x->ann, doc, "timecard", "--from", "2026-01-05", "--to", "2026-01-06");
    json_t *days = json_object_get(doc, "days");
    assert_int_equal(json_array_size(days), 2);
    json_t *mon = json_array_get(days, 0), *tue = json_array_get(days, 1);
    expect_str(f, mon, "date", "2026-01-05");
    expect_str(f, mon, "total", "00:03");
    assert_true(json_is_false(json_object_get(mon, "incomplete")));
    json_t *entries = json_object_get(mon, "entries");
    expect_str(f, json_array_get(entries, 0), "rounded", "00:02");
    expect_str(f, json_array_get(entries, 1), "rounded", "00:01");
    assert_true(json_is_null(json_object_get(tue, "total")));
    assert_true(json_is_true(json_object_get(tue, "incomplete")));
    json_decref(doc);

    /* Deleting the incomplete entry hides it and gives its day a total again. */
    snprintf(id_text, sizeof id_text, "%" PRId64, incomplete);
    as_json(f, &x->ann, doc, "time", "rm", id_text);
    json_decref(doc);
    as_refused(f, &x->ann, "Not found", "time", "rm", id_text);
    as_json(f, &x->ann, doc, "timecard", "--from", "2026-01-06", "--to", "2026-01-06");
    json_t *day = json_array_get(json_object_get(doc, "days"), 0);
    expect_str(f, day, "total", "00:00");
    assert_int_equal(json_array_size(json_object_get(day, "entries")), 0);
    json_decref(doc);

    /* The default timecard is the current ISO week: seven days from a Monday. */
    as_json(f, &x->ann, doc, "timecard");
    days = json_object_get(doc, "days");
    assert_int_equal(json_array_size(days), 7);
    int64_t first = 0, mon_days, sun_days;
    assert_int_equal(orci_tt_parse_date(str(json_array_get(days, 0), "date"), &first, NULL),
                     ORC_OK);
    orci_tt_iso_week(first, &mon_days, &sun_days);
    assert_int_equal(first, mon_days);
    json_decref(doc);
}

static void test_worker_times_a_task_fixes_it_and_reads_the_timecard(void **state)
{
    time_run x = {.f = *state};
    fixture *f = x.f;
    const orc_harness *h = &f->h;
    assert_int_equal(orc_test_small_workflow(h->dir, "open_wf", f->open_dir, sizeof f->open_dir),
                     0);
    orc_flow_load_workflow(h, f->open_dir, "v1");
    x.project = orc_flow_create_project(h, "open_wf", "v1", "Timed", NULL);
    orc_flow_worker_init(&x.ann, h, "ann", "pw-for-tests");
    orc_flow_add_worker(h, &x.ann);
    orc_flow_login(h, &x.ann);
    orc_flow_worker_init(&x.bob, h, "bob", "pw-for-tests");
    orc_flow_add_worker(h, &x.bob);
    orc_flow_login(h, &x.bob);
    orc_flow_task_new(h, &x.ann, "entry_level", &x.assignment);
    snprintf(x.a_text, sizeof x.a_text, "%" PRId64, x.assignment);
    int64_t incomplete = time_entries(&x, time_timer(&x));
    time_timecard(&x, incomplete);
    /* The assignment's recorded work time is the sum of its live entries: 61 s + 30 s. */
    json_t *info = orc_flow_project_info(h, x.project);
    json_t *a = json_array_get(json_object_get(orc_flow_task(info, "first"), "assignments"), 0);
    if (!a || json_real_value(json_object_get(a, "recorded_work_time")) != 91.0)
        orc_flow_fail_json(h, "project info", info);
    json_decref(info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_worker_times_a_task_fixes_it_and_reads_the_timecard,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("time_cli", tests, NULL, NULL);
}
