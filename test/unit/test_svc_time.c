/*
 * test_svc_time.c: the time tracking methods (TimerStart, TimerStop, TimerStatus,
 * TimerUpdate, TimeEntryCreate, TimeEntryList, TimeEntryEdit, TimeEntryDelete, Timecard)
 * through orci_dispatch on a temporary store with the fixture's injected clock.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>

#include "svc_fixture.h"
#include "domain/timetrack.h"

#define MSG_NOT_ASSIGNED "Worker is not assigned to this task id."

/* tt is the state of one test: a worker with an assignment, and another worker with one. */
typedef struct tt {
    sf *f;
    char ann[200], bob[200];
    int64_t ann_worker, ann_assignment, bob_assignment, project;
} tt;

/* new_assignment has the worker take a task and returns the assignment id. */
static int64_t new_assignment(sf *f, const char *token)
{
    Orchestra__V1__NewTaskRequest q;
    orchestra__v1__new_task_request__init(&q);
    q.role = "entry_level";
    Orchestra__V1__Reply *r = sf_call(f, SF_TOKEN(token), "NewTask", &q.base);
    if ((int)r->status != ORC_OK)
        fail_msg("NewTask: %s", r->message);
    Orchestra__V1__NewTaskReply *m =
        orchestra__v1__new_task_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(m);
    json_t *doc = json_loads(m->json, 0, NULL);
    assert_non_null(doc);
    int64_t id = json_integer_value(json_object_get(doc, "assignment_id"));
    json_decref(doc);
    orchestra__v1__new_task_reply__free_unpacked(m, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_true(id > 0);
    return id;
}

static int setup(void **state)
{
    sf_setup(state);
    sf *f = *state;
    sf_load_workflow(f);
    tt *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->f = f;
    t->ann_worker = sf_worker(f, "ann", false, t->ann, sizeof t->ann);
    sf_worker(f, "bob", false, t->bob, sizeof t->bob);
    t->project = sf_project(f, "first", 1);
    sf_project(f, "second", 1);
    t->ann_assignment = new_assignment(f, t->ann);
    t->bob_assignment = new_assignment(f, t->bob);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tt *t = *state;
    void *f = t->f;
    free(t);
    return sf_teardown(&f);
}

/* ---- calls ---------------------------------------------------------------------------- */

/* doc_of checks for ORC_OK and parses a TimeReply's document (a new reference). */
static json_t *doc_of(Orchestra__V1__Reply *r, const char *method)
{
    if ((int)r->status != ORC_OK)
        fail_msg("%s: %s \"%s\"", method, orc_code_name((int)r->status), r->message);
    Orchestra__V1__TimeReply *m =
        orchestra__v1__time_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(m);
    json_t *doc = json_loads(m->json, JSON_DECODE_ANY, NULL);
    if (!doc)
        fail_msg("%s: not JSON: %s", method, m->json);
    orchestra__v1__time_reply__free_unpacked(m, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    return doc;
}

static Orchestra__V1__Reply *timer_start(tt *t, const char *token, int64_t assignment,
                                         const char *description)
{
    Orchestra__V1__TimerStartRequest q;
    orchestra__v1__timer_start_request__init(&q);
    q.assignment_id = assignment;
    q.description = (char *)(description ? description : "");
    return sf_call(t->f, SF_TOKEN(token), "TimerStart", &q.base);
}

static Orchestra__V1__Reply *timer_stop(tt *t, const char *token)
{
    Orchestra__V1__TimerStopRequest q;
    orchestra__v1__timer_stop_request__init(&q);
    return sf_call(t->f, SF_TOKEN(token), "TimerStop", &q.base);
}

static json_t *timer_status(tt *t, const char *token)
{
    Orchestra__V1__TimerStatusRequest q;
    orchestra__v1__timer_status_request__init(&q);
    return doc_of(sf_call(t->f, SF_TOKEN(token), "TimerStatus", &q.base), "TimerStatus");
}

static Orchestra__V1__Reply *entry_create(tt *t, const char *token, const char *date,
                                          const char *worked, const char *description,
                                          int64_t assignment)
{
    Orchestra__V1__TimeEntryCreateRequest q;
    orchestra__v1__time_entry_create_request__init(&q);
    q.date = (char *)date;
    q.time_worked = (char *)worked;
    q.description = (char *)(description ? description : "");
    q.assignment_id = assignment;
    return sf_call(t->f, SF_TOKEN(token), "TimeEntryCreate", &q.base);
}

/* add_entry creates an entry (which must succeed) and returns its id. */
static int64_t add_entry(tt *t, const char *date, const char *worked, const char *description,
                         int64_t assignment)
{
    json_t *e =
        doc_of(entry_create(t, t->ann, date, worked, description, assignment), "TimeEntryCreate");
    int64_t id = json_integer_value(json_object_get(e, "id"));
    json_decref(e);
    assert_true(id > 0);
    return id;
}

static json_t *entry_list(tt *t, const char *min, const char *max, int64_t assignment)
{
    Orchestra__V1__TimeEntryListRequest q;
    orchestra__v1__time_entry_list_request__init(&q);
    q.min_date = (char *)(min ? min : "");
    q.max_date = (char *)(max ? max : "");
    q.assignment_id = assignment;
    return doc_of(sf_call(t->f, SF_TOKEN(t->ann), "TimeEntryList", &q.base), "TimeEntryList");
}

static size_t n_entries(json_t *list_doc)
{
    size_t n = json_array_size(json_object_get(list_doc, "entries"));
    json_decref(list_doc);
    return n;
}

static Orchestra__V1__Reply *entry_delete(tt *t, const char *token, int64_t id)
{
    Orchestra__V1__TimeEntryDeleteRequest q;
    orchestra__v1__time_entry_delete_request__init(&q);
    q.id = id;
    return sf_call(t->f, SF_TOKEN(token), "TimeEntryDelete", &q.base);
}

static json_t *timecard(tt *t, const char *from, const char *to)
{
    Orchestra__V1__TimecardRequest q;
    orchestra__v1__timecard_request__init(&q);
    q.from = (char *)(from ? from : "");
    q.to = (char *)(to ? to : "");
    return doc_of(sf_call(t->f, SF_TOKEN(t->ann), "Timecard", &q.base), "Timecard");
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* set_clock puts the injected clock at date (YYYY-MM-DD) plus seconds and microseconds and
 * logs both workers in again. */
static void set_clock(tt *t, const char *date, int64_t seconds, int64_t micro)
{
    int64_t days = 0;
    assert_int_equal(orci_tt_parse_date(date, &days, NULL), ORC_OK);
    t->f->tc.now_us = days * 86400 * SF_SECOND + seconds * SF_SECOND + micro;
    /* Sessions last an hour: log in again at the new time. */
    sf_login(t->f, "ann", "pw-ann", t->ann, sizeof t->ann);
    sf_login(t->f, "bob", "pw-bob", t->bob, sizeof t->bob);
}

/* ---- timer ---------------------------------------------------------------------------- */

static void test_timer_refuses_second_start_and_stop_without_start(void **state)
{
    tt *t = *state;
    sf_expect(timer_stop(t, t->ann), ORC_FAILED_PRECONDITION, "Timer not started");
    json_t *timer = doc_of(timer_start(t, t->ann, 0, NULL), "TimerStart");
    assert_non_null(str(timer, "start_time"));
    assert_true(json_is_null(json_object_get(timer, "stop_time")));
    assert_int_equal(json_integer_value(json_object_get(timer, "worker")), t->ann_worker);
    json_decref(timer);
    sf_expect(timer_start(t, t->ann, 0, NULL), ORC_FAILED_PRECONDITION,
              "Timer has already started");
    /* Bob's timer is his own. */
    sf_expect(timer_stop(t, t->bob), ORC_FAILED_PRECONDITION, "Timer not started");
    sf_expect_ok(timer_stop(t, t->ann));
    sf_expect(timer_stop(t, t->ann), ORC_FAILED_PRECONDITION, "Timer not started");
}

static void test_timer_stop_creates_one_full_precision_entry_and_resets(void **state)
{
    tt *t = *state;
    set_clock(t, "2026-11-25", 10 * 3600, 0);
    sf_expect_ok(timer_start(t, t->ann, t->ann_assignment, "Drafting"));
    t->f->tc.now_us += 3723 * SF_SECOND + 500000; /* 1:02:03.5 */
    sf_login(t->f, "ann", "pw-ann", t->ann, sizeof t->ann);
    json_t *running = timer_status(t, t->ann);
    assert_string_equal(str(running, "time_worked"), "1:02:03.500000");
    assert_string_equal(str(running, "start_time"), "2026-11-25T10:00:00.000000Z");
    assert_int_equal(json_integer_value(json_object_get(running, "assignment")), t->ann_assignment);
    json_decref(running);

    json_t *e = doc_of(timer_stop(t, t->ann), "TimerStop");
    assert_string_equal(str(e, "date"), "2026-11-25");
    assert_string_equal(str(e, "time_worked"), "01:02:03");
    assert_string_equal(str(e, "description"), "Drafting");
    assert_int_equal(json_integer_value(json_object_get(e, "assignment")), t->ann_assignment);
    int64_t id = json_integer_value(json_object_get(e, "id"));
    json_decref(e);
    assert_int_equal(sf_int(t->f, "SELECT count(*) FROM time_entries", 0, 0), 1);
    assert_int_equal(sf_int(t->f, "SELECT time_worked_us FROM time_entries WHERE id = ?1", id, 0),
                     3723500000LL);
    assert_int_equal(sf_int(t->f,
                            "SELECT timer_stop_time - timer_start_time FROM time_entries"
                            " WHERE id = ?1",
                            id, 0),
                     3723500000LL);

    json_t *reset = timer_status(t, t->ann);
    assert_true(json_is_null(json_object_get(reset, "start_time")));
    assert_true(json_is_null(json_object_get(reset, "assignment")));
    assert_true(json_is_null(json_object_get(reset, "description")));
    assert_null(json_object_get(reset, "time_worked"));
    json_decref(reset);
}

static void test_timer_entry_is_dated_by_utc_date_of_start(void **state)
{
    tt *t = *state;
    set_clock(t, "2026-11-25", 86400 - 30, 0); /* 23:59:30 UTC */
    sf_expect_ok(timer_start(t, t->ann, t->ann_assignment, "Late"));
    t->f->tc.now_us += 60 * SF_SECOND; /* stops at 00:00:30 on the 26th */
    json_t *e = doc_of(timer_stop(t, t->ann), "TimerStop");
    assert_string_equal(str(e, "date"), "2026-11-25");
    assert_string_equal(str(e, "time_worked"), "00:01:00");
    json_decref(e);
    /* Started exactly at midnight: the new day. */
    set_clock(t, "2026-11-26", 0, 0);
    sf_expect_ok(timer_start(t, t->ann, 0, NULL));
    t->f->tc.now_us += SF_SECOND;
    e = doc_of(timer_stop(t, t->ann), "TimerStop");
    assert_string_equal(str(e, "date"), "2026-11-26");
    json_decref(e);
}

static void test_timer_refuses_another_workers_assignment(void **state)
{
    tt *t = *state;
    sf_expect(timer_start(t, t->ann, t->bob_assignment, NULL), ORC_INVALID_ARGUMENT,
              MSG_NOT_ASSIGNED);
    sf_expect(timer_start(t, t->ann, 999999, NULL), ORC_INVALID_ARGUMENT, MSG_NOT_ASSIGNED);
    Orchestra__V1__TimerUpdateRequest q;
    orchestra__v1__timer_update_request__init(&q);
    q.assignment_id = t->bob_assignment;
    sf_expect(sf_call(t->f, SF_TOKEN(t->ann), "TimerUpdate", &q.base), ORC_INVALID_ARGUMENT,
              MSG_NOT_ASSIGNED);
    /* Nothing started. */
    json_t *timer = timer_status(t, t->ann);
    assert_true(json_is_null(json_object_get(timer, "start_time")));
    json_decref(timer);
}

static void test_timer_update_sets_description_and_detaches(void **state)
{
    tt *t = *state;
    sf_expect_ok(timer_start(t, t->ann, 0, NULL));
    Orchestra__V1__TimerUpdateRequest q;
    orchestra__v1__timer_update_request__init(&q);
    q.assignment_id = t->ann_assignment;
    q.set_description = true;
    q.description = "Research";
    json_t *r = doc_of(sf_call(t->f, SF_TOKEN(t->ann), "TimerUpdate", &q.base), "TimerUpdate");
    assert_true(json_is_null(r));
    json_decref(r);
    json_t *timer = timer_status(t, t->ann);
    assert_string_equal(str(timer, "description"), "Research");
    assert_int_equal(json_integer_value(json_object_get(timer, "assignment")), t->ann_assignment);
    json_decref(timer);
    orchestra__v1__timer_update_request__init(&q);
    q.detach = true;
    json_decref(doc_of(sf_call(t->f, SF_TOKEN(t->ann), "TimerUpdate", &q.base), "TimerUpdate"));
    timer = timer_status(t, t->ann);
    assert_true(json_is_null(json_object_get(timer, "assignment")));
    assert_string_equal(str(timer, "description"), "Research");
    json_decref(timer);
    json_t *e = doc_of(timer_stop(t, t->ann), "TimerStop");
    assert_true(json_is_null(json_object_get(e, "assignment")));
    assert_string_equal(str(e, "description"), "Research");
    json_decref(e);
}

/* ---- entries -------------------------------------------------------------------------- */

static void test_entries_created_by_hand_validate_their_fields(void **state)
{
    tt *t = *state;
    json_t *e = doc_of(entry_create(t, t->ann, "2026-11-24", "01:30", NULL, 0), "TimeEntryCreate");
    assert_string_equal(str(e, "time_worked"), "01:30:00");
    assert_true(json_is_null(json_object_get(e, "description")));
    assert_true(json_is_null(json_object_get(e, "assignment")));
    json_decref(e);
    sf_expect(entry_create(t, t->ann, "2026-02-30", "01:30", NULL, 0), ORC_INVALID_ARGUMENT,
              "Date has wrong format");
    sf_expect(entry_create(t, t->ann, "2026-11-24", "1h30", NULL, 0), ORC_INVALID_ARGUMENT,
              "Duration has wrong format");
    sf_expect(entry_create(t, t->ann, "", "01:30", NULL, 0), ORC_INVALID_ARGUMENT, "date");
    sf_expect(entry_create(t, t->ann, "2026-11-24", "01:30", "x", t->bob_assignment),
              ORC_INVALID_ARGUMENT, MSG_NOT_ASSIGNED);
    assert_int_equal(sf_int(t->f, "SELECT count(*) FROM time_entries", 0, 0), 1);
}

static void test_entries_list_filters_by_dates_and_assignment(void **state)
{
    tt *t = *state;
    add_entry(t, "2026-11-23", "01:00", "a", t->ann_assignment);
    add_entry(t, "2026-11-24", "00:30", "b", 0);
    add_entry(t, "2026-11-25", "00:10", "c", t->ann_assignment);
    json_decref(
        doc_of(entry_create(t, t->bob, "2026-11-24", "02:00", "bob", 0), "TimeEntryCreate"));
    assert_int_equal(n_entries(entry_list(t, NULL, NULL, 0)), 3);
    assert_int_equal(n_entries(entry_list(t, "2026-11-24", NULL, 0)), 2);
    assert_int_equal(n_entries(entry_list(t, NULL, "2026-11-24", 0)), 2);
    assert_int_equal(n_entries(entry_list(t, "2026-11-24", "2026-11-24", 0)), 1);
    assert_int_equal(n_entries(entry_list(t, NULL, NULL, t->ann_assignment)), 2);
    json_t *l = entry_list(t, "2026-11-23", "2026-11-23", t->ann_assignment);
    json_t *first = json_array_get(json_object_get(l, "entries"), 0);
    assert_string_equal(str(first, "description"), "a");
    assert_string_equal(str(first, "time_worked"), "01:00:00");
    json_decref(l);
}

static void test_entries_change_only_by_their_owner(void **state)
{
    tt *t = *state;
    int64_t id = add_entry(t, "2026-11-23", "01:00", "a", t->ann_assignment);
    Orchestra__V1__TimeEntryEditRequest q;
    orchestra__v1__time_entry_edit_request__init(&q);
    q.id = id;
    q.time_worked = "00:45";
    sf_expect(sf_call(t->f, SF_TOKEN(t->bob), "TimeEntryEdit", &q.base), ORC_PERMISSION_DENIED,
              NULL);
    sf_expect(entry_delete(t, t->bob, id), ORC_PERMISSION_DENIED, NULL);
    q.set_description = true;
    q.description = "fixed";
    q.date = "2026-11-24";
    json_t *e = doc_of(sf_call(t->f, SF_TOKEN(t->ann), "TimeEntryEdit", &q.base), "TimeEntryEdit");
    assert_string_equal(str(e, "time_worked"), "00:45:00");
    assert_string_equal(str(e, "description"), "fixed");
    assert_string_equal(str(e, "date"), "2026-11-24");
    assert_int_equal(json_integer_value(json_object_get(e, "assignment")), t->ann_assignment);
    json_decref(e);
    /* Another worker's assignment is refused; detaching is allowed. */
    orchestra__v1__time_entry_edit_request__init(&q);
    q.id = id;
    q.assignment_id = t->bob_assignment;
    sf_expect(sf_call(t->f, SF_TOKEN(t->ann), "TimeEntryEdit", &q.base), ORC_INVALID_ARGUMENT,
              MSG_NOT_ASSIGNED);
    q.assignment_id = 0;
    q.detach = true;
    e = doc_of(sf_call(t->f, SF_TOKEN(t->ann), "TimeEntryEdit", &q.base), "TimeEntryEdit");
    assert_true(json_is_null(json_object_get(e, "assignment")));
    json_decref(e);
    /* Missing, then deleted: not found. */
    q.id = id + 1000;
    sf_expect(sf_call(t->f, SF_TOKEN(t->ann), "TimeEntryEdit", &q.base), ORC_NOT_FOUND, NULL);
    sf_expect(entry_delete(t, t->ann, id + 1000), ORC_NOT_FOUND, NULL);
    sf_expect_ok(entry_delete(t, t->ann, id));
    sf_expect(entry_delete(t, t->ann, id), ORC_NOT_FOUND, NULL);
    q.id = id;
    sf_expect(sf_call(t->f, SF_TOKEN(t->ann), "TimeEntryEdit", &q.base), ORC_NOT_FOUND, NULL);
    /* A soft delete keeps the row. */
    assert_int_equal(sf_int(t->f, "SELECT is_deleted FROM time_entries WHERE id = ?1", id, 0), 1);
}

/* recorded_work_time returns the first assignment's recorded_work_time of the plan step. */
static json_t *recorded_work_time(tt *t)
{
    Orchestra__V1__GetProjectInformationRequest q;
    orchestra__v1__get_project_information_request__init(&q);
    q.project_id = t->project;
    Orchestra__V1__Reply *r = sf_call(t->f, SF_ADMIN, "GetProjectInformation", &q.base);
    if ((int)r->status != ORC_OK)
        fail_msg("GetProjectInformation: %s", r->message);
    Orchestra__V1__GetProjectInformationReply *m =
        orchestra__v1__get_project_information_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(m);
    json_t *doc = json_loads(m->json, 0, NULL);
    assert_non_null(doc);
    orchestra__v1__get_project_information_reply__free_unpacked(m, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    json_t *a = json_array_get(
        json_object_get(json_object_get(json_object_get(doc, "tasks"), "plan"), "assignments"), 0);
    assert_non_null(a);
    assert_int_equal(json_integer_value(json_object_get(a, "id")), t->ann_assignment);
    json_t *v = json_incref(json_object_get(a, "recorded_work_time"));
    json_decref(doc);
    return v;
}

static void test_soft_deleted_entries_are_hidden_and_not_counted(void **state)
{
    tt *t = *state;
    json_t *v = recorded_work_time(t);
    assert_true(json_is_null(v));
    json_decref(v);
    add_entry(t, "2026-11-23", "01:00", "a", t->ann_assignment);
    int64_t gone = add_entry(t, "2026-11-23", "00:30", "b", t->ann_assignment);
    add_entry(t, "2026-11-24", "00:00:30", "c", t->ann_assignment);
    v = recorded_work_time(t);
    assert_true(json_number_value(v) == 5430.0);
    json_decref(v);
    sf_expect_ok(entry_delete(t, t->ann, gone));
    v = recorded_work_time(t);
    assert_true(json_number_value(v) == 3630.0);
    json_decref(v);
    assert_int_equal(n_entries(entry_list(t, NULL, NULL, 0)), 2);
    json_t *card = timecard(t, "2026-11-23", "2026-11-23");
    json_t *day = json_array_get(json_object_get(card, "days"), 0);
    assert_int_equal(json_array_size(json_object_get(day, "entries")), 1);
    assert_string_equal(str(day, "total"), "01:00");
    json_decref(card);
}

/* ---- timecard ------------------------------------------------------------------------- */

static void test_timecard_defaults_to_current_iso_week_with_rounded_totals(void **state)
{
    tt *t = *state;
    set_clock(t, "2026-11-27", 12 * 3600, 0); /* a Friday */
    add_entry(t, "2026-11-22", "05:00", "before the week", t->ann_assignment);
    add_entry(t, "2026-11-23", "00:00:01", "one second", t->ann_assignment);
    add_entry(t, "2026-11-23", "00:01:01", "sixty-one", t->ann_assignment);
    add_entry(t, "2026-11-23", "00:01:00", "sixty", t->ann_assignment);
    add_entry(t, "2026-11-25", "00:20", NULL, t->ann_assignment);
    add_entry(t, "2026-11-29", "1 02:03:04", "long", t->ann_assignment);
    json_t *card = timecard(t, NULL, NULL);
    json_t *days = json_object_get(card, "days");
    assert_int_equal(json_array_size(days), 7);
    assert_string_equal(str(json_array_get(days, 0), "date"), "2026-11-23");
    assert_string_equal(str(json_array_get(days, 6), "date"), "2026-11-29");
    json_t *mon = json_array_get(days, 0);
    assert_string_equal(str(mon, "total"), "00:04");
    json_t *entries = json_object_get(mon, "entries");
    assert_string_equal(str(json_array_get(entries, 0), "rounded"), "00:01");
    assert_string_equal(str(json_array_get(entries, 1), "rounded"), "00:02");
    assert_string_equal(str(json_array_get(entries, 2), "rounded"), "00:01");
    json_t *wed = json_array_get(days, 2);
    assert_true(json_is_null(json_object_get(wed, "total")));
    assert_true(json_is_true(json_object_get(wed, "incomplete")));
    json_t *sun = json_array_get(days, 6);
    assert_string_equal(str(json_array_get(json_object_get(sun, "entries"), 0), "time_worked"),
                        "1 02:03:04");
    assert_string_equal(str(sun, "total"), "02:04");
    json_decref(card);
    /* A range that ends before it starts is refused. */
    Orchestra__V1__TimecardRequest q;
    orchestra__v1__timecard_request__init(&q);
    q.from = "2026-11-29";
    q.to = "2026-11-23";
    sf_expect(sf_call(t->f, SF_TOKEN(t->ann), "Timecard", &q.base), ORC_INVALID_ARGUMENT, NULL);
}

static void test_time_methods_refuse_callers_without_a_session(void **state)
{
    tt *t = *state;
    Orchestra__V1__TimerStatusRequest q;
    orchestra__v1__timer_status_request__init(&q);
    Orchestra__V1__Reply *r = sf_call(t->f, SF_ADMIN, "TimerStatus", &q.base);
    assert_int_not_equal((int)r->status, ORC_OK);
    orchestra__v1__reply__free_unpacked(r, NULL);
    r = sf_call(t->f, SF_ANON, "TimerStart", &q.base);
    assert_int_not_equal((int)r->status, ORC_OK);
    orchestra__v1__reply__free_unpacked(r, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_refuses_second_start_and_stop_without_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_stop_creates_one_full_precision_entry_and_resets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_entry_is_dated_by_utc_date_of_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timer_refuses_another_workers_assignment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timer_update_sets_description_and_detaches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_created_by_hand_validate_their_fields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_list_filters_by_dates_and_assignment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entries_change_only_by_their_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soft_deleted_entries_are_hidden_and_not_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_timecard_defaults_to_current_iso_week_with_rounded_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_methods_refuse_callers_without_a_session, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("svc_time", tests, NULL, NULL);
}
