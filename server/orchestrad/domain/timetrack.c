/*
 * timetrack.c: the worker's timer, time entries and timecard (timetrack.h).
 */
#include "domain/timetrack.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store/db.h"
#include "store/events.h"
#include "json.h"
#include "vec.h"

#define US_PER_S 1000000LL
#define US_PER_DAY (86400LL * US_PER_S)
#define MAX_DESCRIPTION 200
#define MSG_NOT_FOUND "Not found."
#define MSG_FORBIDDEN "You do not have permission to perform this action."

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
}

static int db_code(const orc_error *err)
{
    return err && err->code ? err->code : ORC_INTERNAL;
}

/* ---- dates ------------------------------------------------------------------------- */

int orci_tt_parse_date(const char *text, int64_t *days, orc_error *err)
{
    if (orci_parse_date(text, days) != 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Date has wrong format. Use one of these formats instead: "
                             "YYYY-MM-DD.");
    return ORC_OK;
}

void orci_tt_format_date(int64_t days, char *out, size_t out_size)
{
    orci_format_date(days, out, out_size);
}

int64_t orci_tt_utc_days(int64_t us)
{
    return orci_floor_div(us, US_PER_DAY);
}

void orci_tt_iso_week(int64_t days, int64_t *monday, int64_t *sunday)
{
    /* 1970-01-01 was a Thursday: weekday 3 counting from Monday = 0. */
    int64_t wd = days + 3 - orci_floor_div(days + 3, 7) * 7;
    *monday = days - wd;
    *sunday = *monday + 6;
}

/* ---- durations --------------------------------------------------------------------- */

/* number reads one or more digits (at most max_digits) at *s, advancing it. */
static bool number(const char **s, int max_digits, int64_t *v)
{
    int n = 0;
    *v = 0;
    while (isdigit((unsigned char)**s)) {
        if (++n > max_digits)
            return false;
        *v = *v * 10 + (**s - '0');
        (*s)++;
    }
    return n > 0;
}

int orci_tt_parse_duration(const char *text, int64_t *us, orc_error *err)
{
    const char *s = text;
    int64_t days = 0, h, m, sec = 0, frac = 0;
    if (!s)
        goto bad;
    /* An optional "D " day prefix: a number followed by a space. */
    const char *sp = strchr(s, ' ');
    if (sp) {
        if (!number(&s, 6, &days) || s != sp)
            goto bad;
        s++;
    }
    if (!number(&s, 6, &h) || *s++ != ':')
        goto bad;
    const char *ms = s;
    if (!number(&s, 2, &m) || s - ms != 2 || m > 59)
        goto bad;
    if (*s == ':') {
        s++;
        const char *ss = s;
        if (!number(&s, 2, &sec) || s - ss != 2 || sec > 59)
            goto bad;
        if (*s == '.') {
            s++;
            const char *fs = s;
            if (!number(&s, 6, &frac))
                goto bad;
            for (ptrdiff_t i = s - fs; i < 6; i++)
                frac *= 10;
        }
    }
    if (*s != '\0')
        goto bad;
    *us = days * US_PER_DAY + ((h * 60 + m) * 60 + sec) * US_PER_S + frac;
    return ORC_OK;
bad:
    return orc_error_set(err, ORC_INVALID_ARGUMENT,
                         "Duration has wrong format. Use one of these formats instead: "
                         "HH:MM[:SS[.ffffff]].");
}

typedef struct parts {
    int64_t days, h, m, s, us;
} parts;

static parts split(int64_t us)
{
    if (us < 0)
        us = 0;
    parts p;
    p.days = us / US_PER_DAY;
    int64_t rest = us % US_PER_DAY;
    p.us = rest % US_PER_S;
    rest /= US_PER_S;
    p.s = rest % 60;
    p.m = rest / 60 % 60;
    p.h = rest / 3600;
    return p;
}

void orci_tt_format_duration(int64_t us, char *out, size_t out_size)
{
    /* "HH:MM:SS" (or "D HH:MM:SS") as CONTRACT.md and spec 5 show entries; the stored value
     * keeps its microseconds (time_worked_us), only the text drops them. */
    parts p = split(us);
    char day[32] = "";
    if (p.days)
        snprintf(day, sizeof day, "%" PRId64 " ", p.days);
    snprintf(out, out_size, "%s%02" PRId64 ":%02" PRId64 ":%02" PRId64, day, p.h, p.m, p.s);
}

void orci_tt_format_timedelta(int64_t us, char *out, size_t out_size)
{
    parts p = split(us);
    char day[40] = "", frac[16] = "";
    if (p.days)
        snprintf(day, sizeof day, "%" PRId64 " day%s, ", p.days, p.days == 1 ? "" : "s");
    if (p.us)
        snprintf(frac, sizeof frac, ".%06" PRId64, p.us);
    snprintf(out, out_size, "%s%" PRId64 ":%02" PRId64 ":%02" PRId64 "%s", day, p.h, p.m, p.s,
             frac);
}

int64_t orci_tt_rounded_minutes(int64_t us)
{
    parts p = split(us);
    return p.h * 60 + p.m + (p.s != 0 ? 1 : 0);
}

void orci_tt_format_hm(int64_t minutes, char *out, size_t out_size)
{
    snprintf(out, out_size, "%02" PRId64 ":%02" PRId64, minutes / 60, minutes % 60);
}

/* ---- entries and the timecard -------------------------------------------------------- */

bool orci_tt_entry_incomplete(const orci_tt_entry *e)
{
    return !e->description || !e->description[0] || e->assignment_id <= 0;
}

json_t *orci_tt_entry_json(const orci_tt_entry *e)
{
    char date[16], worked[48];
    orci_tt_format_date(e->days, date, sizeof date);
    orci_tt_format_duration(e->us, worked, sizeof worked);
    return json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)e->id, "date", date,
                     "time_worked", worked, "description",
                     e->description ? json_string(e->description) : json_null(), "assignment",
                     e->assignment_id > 0 ? json_integer(e->assignment_id) : json_null());
}

/* timecard_day renders one date; NULL when out of memory. */
static json_t *timecard_day(const orci_tt_entry *entries, size_t n, int64_t day)
{
    char date[16], hm[32];
    orci_tt_format_date(day, date, sizeof date);
    json_t *list = json_array();
    json_t *o = json_pack("{s:s, s:o}", "date", date, "entries", list);
    if (!o)
        return NULL;
    int64_t total = 0;
    bool incomplete = false;
    for (size_t i = 0; i < n; i++) {
        const orci_tt_entry *e = &entries[i];
        if (e->days != day)
            continue;
        int64_t rounded = orci_tt_rounded_minutes(e->us);
        total += rounded;
        incomplete = incomplete || orci_tt_entry_incomplete(e);
        orci_tt_format_hm(rounded, hm, sizeof hm);
        json_t *j = orci_tt_entry_json(e);
        if (!j || json_object_set_new(j, "rounded", json_string(hm)) != 0 ||
            json_array_append_new(list, j) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    orci_tt_format_hm(total, hm, sizeof hm);
    if (json_object_set_new(o, "total", incomplete ? json_null() : json_string(hm)) != 0 ||
        json_object_set_new(o, "incomplete", json_boolean(incomplete)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *orci_tt_timecard_json(const orci_tt_entry *entries, size_t n, int64_t from, int64_t to)
{
    json_t *days = json_array();
    json_t *doc = json_pack("{s:o}", "days", days);
    if (!doc)
        return NULL;
    for (int64_t d = from; d <= to; d++) {
        json_t *day = timecard_day(entries, n, d);
        if (!day || json_array_append_new(days, day) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

/* ---- database helpers ---------------------------------------------------------------- */

/* dump_out renders doc (reference stolen) into *json. */
static int dump_out(json_t *doc, char **json, orc_error *err)
{
    if (!doc)
        return oom(err);
    *json = orci_json_dump(doc);
    json_decref(doc);
    return *json ? ORC_OK : oom(err);
}

static int check_description(const char *d, orc_error *err)
{
    if (d && strlen(d) > MAX_DESCRIPTION)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Ensure this field has no more than 200 characters.");
    return ORC_OK;
}

/* check_own_assignment refuses an assignment that is not the worker's own live one. */
static int check_own_assignment(const orci_tt *t, int64_t assignment_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(t->db,
                                 "SELECT 1 FROM task_assignments"
                                 " WHERE id = ?1 AND worker_id = ?2 AND is_deleted = 0",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, assignment_id);
    orci_bind_int(st, 2, t->worker_id);
    int r = orci_db_row(t->db, st, err);
    if (r < 0)
        return db_code(err);
    orci_stmt_reset(st);
    if (r == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, ORCI_TT_MSG_NOT_ASSIGNED);
    return ORC_OK;
}

/* timer is the worker's timer row; id 0 when there is none. */
typedef struct timer {
    int64_t id, assignment_id, start, stop;
    bool running, stopped;
    char description[MAX_DESCRIPTION * 4 + 1];
    bool has_description;
} timer;

static int timer_load(const orci_tt *t, timer *tm, orc_error *err)
{
    memset(tm, 0, sizeof *tm);
    orci_stmt *st = orci_db_stmt(t->db,
                                 "SELECT id, assignment_id, start_time, stop_time, description"
                                 " FROM task_timers WHERE worker_id = ?1",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, t->worker_id);
    int r = orci_db_row(t->db, st, err);
    if (r < 0)
        return db_code(err);
    if (r == 0)
        return ORC_OK;
    tm->id = orci_col_int(st, 0);
    tm->assignment_id = orci_col_int(st, 1);
    tm->running = !orci_col_is_null(st, 2);
    tm->start = orci_col_int(st, 2);
    tm->stopped = !orci_col_is_null(st, 3);
    tm->stop = orci_col_int(st, 3);
    tm->has_description = !orci_col_is_null(st, 4);
    snprintf(tm->description, sizeof tm->description, "%s", orci_col_text(st, 4));
    orci_stmt_reset(st);
    return ORC_OK;
}

/* timer_ensure creates the worker's timer row when missing. */
static int timer_ensure(const orci_tt *t, timer *tm, orc_error *err)
{
    if (tm->id > 0)
        return ORC_OK;
    orci_stmt *st =
        orci_db_stmt(t->db, "INSERT INTO task_timers (worker_id) VALUES (?1) RETURNING id", err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, t->worker_id);
    return orci_db_insert(t->db, st, &tm->id, err);
}

/* timer_save writes the fields of tm back. */
static int timer_save(const orci_tt *t, const timer *tm, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(t->db,
                                 "UPDATE task_timers SET assignment_id = ?2, start_time = ?3,"
                                 " stop_time = ?4, description = ?5 WHERE id = ?1",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, tm->id);
    if (tm->assignment_id > 0)
        orci_bind_int(st, 2, tm->assignment_id);
    if (tm->running)
        orci_bind_int(st, 3, tm->start);
    if (tm->stopped)
        orci_bind_int(st, 4, tm->stop);
    orci_bind_text(st, 5, tm->has_description ? tm->description : NULL);
    return orci_db_step(t->db, st, err);
}

static json_t *time_or_null(bool set, int64_t us)
{
    if (!set)
        return json_null();
    char text[48];
    orci_time_format(us, text, sizeof text);
    return json_string(text);
}

static json_t *timer_json(const orci_tt *t, const timer *tm, bool with_worked)
{
    json_t *o = json_pack(
        "{s:o, s:I, s:o, s:o, s:o, s:o}", "id", tm->id > 0 ? json_integer(tm->id) : json_null(),
        "worker", (json_int_t)t->worker_id, "assignment",
        tm->assignment_id > 0 ? json_integer(tm->assignment_id) : json_null(), "start_time",
        time_or_null(tm->running, tm->start), "stop_time", time_or_null(tm->stopped, tm->stop),
        "description", tm->has_description ? json_string(tm->description) : json_null());
    if (o && with_worked && tm->running) {
        char worked[64];
        orci_tt_format_timedelta(t->now_us - tm->start, worked, sizeof worked);
        if (json_object_set_new(o, "time_worked", json_string(worked)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* ---- events ------------------------------------------------------------------------- */

/*
 * tt_event appends a time-tracking event for the worker, with the task context of
 * assignment_id when one is attached (0: none); payload is stolen (NULL: out of memory).
 */
static int tt_event(const orci_tt *t, const char *type, int64_t assignment_id, json_t *payload,
                    orc_error *err)
{
    if (!payload)
        return oom(err);
    orci_event_rec e = {.type = type, .time_us = t->now_us, .payload = payload};
    int rc = ORC_OK;
    if (assignment_id > 0)
        rc = orci_events_assignment_context(t->db, assignment_id, &e, err);
    if (rc == ORC_OK)
        rc = orci_events_worker_name(t->db, t->worker_id, e.worker, sizeof e.worker, err);
    if (rc == ORC_OK)
        rc = orci_events_append(t->db, &e, NULL, err);
    json_decref(payload);
    return rc;
}

static json_t *id_or_null(int64_t id)
{
    return id > 0 ? json_integer(id) : json_null();
}

/* ---- timer --------------------------------------------------------------------------- */

int orci_tt_timer_start(const orci_tt *t, int64_t assignment_id, const char *description,
                        char **json, orc_error *err)
{
    timer tm;
    int rc;
    *json = NULL;
    if ((rc = check_description(description, err)) != ORC_OK ||
        (assignment_id > 0 && (rc = check_own_assignment(t, assignment_id, err)) != ORC_OK) ||
        (rc = timer_load(t, &tm, err)) != ORC_OK)
        return rc;
    if (tm.running)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, ORCI_TT_MSG_STARTED);
    if ((rc = timer_ensure(t, &tm, err)) != ORC_OK)
        return rc;
    if (assignment_id > 0)
        tm.assignment_id = assignment_id;
    if (description) {
        tm.has_description = true;
        snprintf(tm.description, sizeof tm.description, "%s", description);
    }
    tm.running = true;
    tm.start = t->now_us;
    tm.stopped = false;
    if ((rc = timer_save(t, &tm, err)) != ORC_OK ||
        (rc = tt_event(t, "timer.started", tm.assignment_id,
                       json_pack("{s:o, s:o}", "assignment_id", id_or_null(tm.assignment_id),
                                 "description",
                                 tm.has_description ? json_string(tm.description) : json_null()),
                       err)) != ORC_OK)
        return rc;
    return dump_out(timer_json(t, &tm, false), json, err);
}

/* entry_insert adds an entry row and gives its id. */
static int entry_insert(const orci_tt *t, const orci_tt_entry *e, bool from_timer, int64_t start,
                        int64_t stop, int64_t *id, orc_error *err)
{
    char date[16];
    orci_tt_format_date(e->days, date, sizeof date);
    orci_stmt *st = orci_db_stmt(
        t->db,
        "INSERT INTO time_entries (created_at, date, time_worked_us, worker_id, assignment_id,"
        " description, timer_start_time, timer_stop_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " RETURNING id",
        err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, t->now_us);
    orci_bind_text(st, 2, date);
    orci_bind_int(st, 3, e->us);
    orci_bind_int(st, 4, t->worker_id);
    if (e->assignment_id > 0)
        orci_bind_int(st, 5, e->assignment_id);
    orci_bind_text(st, 6, e->description);
    if (from_timer) {
        orci_bind_int(st, 7, start);
        orci_bind_int(st, 8, stop);
    }
    int rc = orci_db_insert(t->db, st, id, err);
    if (rc != ORC_OK)
        return rc;
    return tt_event(t, "time_entry.created", e->assignment_id,
                    json_pack("{s:I, s:s, s:I, s:o, s:o, s:b}", "time_entry_id", (json_int_t)*id,
                              "date", date, "time_worked_us", (json_int_t)e->us, "assignment_id",
                              id_or_null(e->assignment_id), "description",
                              e->description ? json_string(e->description) : json_null(),
                              "from_timer", from_timer),
                    err);
}

int orci_tt_timer_stop(const orci_tt *t, char **json, orc_error *err)
{
    timer tm;
    *json = NULL;
    int rc = timer_load(t, &tm, err);
    if (rc != ORC_OK)
        return rc;
    if (!tm.running)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, ORCI_TT_MSG_NOT_STARTED);
    int64_t worked = t->now_us - tm.start;
    orci_tt_entry e = {.days = orci_tt_utc_days(tm.start),
                       .us = worked > 0 ? worked : 0,
                       .description = tm.has_description ? tm.description : NULL,
                       .assignment_id = tm.assignment_id};
    if ((rc = entry_insert(t, &e, true, tm.start, t->now_us, &e.id, err)) != ORC_OK)
        return rc;
    json_t *doc = orci_tt_entry_json(&e);
    timer reset = {.id = tm.id};
    if ((rc = timer_save(t, &reset, err)) != ORC_OK ||
        (rc = tt_event(t, "timer.stopped", tm.assignment_id,
                       json_pack("{s:I, s:I, s:o}", "time_entry_id", (json_int_t)e.id,
                                 "time_worked_us", (json_int_t)e.us, "assignment_id",
                                 id_or_null(tm.assignment_id)),
                       err)) != ORC_OK) {
        json_decref(doc);
        return rc;
    }
    return dump_out(doc, json, err);
}

int orci_tt_timer_status(const orci_tt *t, char **json, orc_error *err)
{
    timer tm;
    *json = NULL;
    int rc = timer_load(t, &tm, err);
    if (rc != ORC_OK)
        return rc;
    return dump_out(timer_json(t, &tm, true), json, err);
}

int orci_tt_timer_update(const orci_tt *t, int64_t assignment_id, bool detach,
                         const char *description, char **json, orc_error *err)
{
    timer tm;
    int rc;
    *json = NULL;
    if ((rc = check_description(description, err)) != ORC_OK ||
        (!detach && assignment_id > 0 &&
         (rc = check_own_assignment(t, assignment_id, err)) != ORC_OK) ||
        (rc = timer_load(t, &tm, err)) != ORC_OK || (rc = timer_ensure(t, &tm, err)) != ORC_OK)
        return rc;
    if (detach)
        tm.assignment_id = 0;
    else if (assignment_id > 0)
        tm.assignment_id = assignment_id;
    if (description) {
        tm.has_description = true;
        snprintf(tm.description, sizeof tm.description, "%s", description);
    }
    if ((rc = timer_save(t, &tm, err)) != ORC_OK)
        return rc;
    *json = strdup("null");
    return *json ? ORC_OK : oom(err);
}

/* ---- entries ------------------------------------------------------------------------- */

/* row_entry reads an entry from columns id, date, time_worked_us, description,
 * assignment_id (description points into the statement until its next step). */
static int row_entry(orci_stmt *st, orci_tt_entry *e, orc_error *err)
{
    e->id = orci_col_int(st, 0);
    if (orci_tt_parse_date(orci_col_text(st, 1), &e->days, err) != ORC_OK)
        return orc_error_set(err, ORC_INTERNAL, "entry %" PRId64 " has a bad date", e->id);
    e->us = orci_col_int(st, 2);
    e->description = orci_col_is_null(st, 3) ? NULL : orci_col_text(st, 3);
    e->assignment_id = orci_col_int(st, 4);
    return ORC_OK;
}

/* validate_fields checks what f sets; for a new entry, date and time_worked are required. */
static int validate_fields(const orci_tt *t, const orci_tt_fields *f, bool create, int64_t *days,
                           int64_t *us, orc_error *err)
{
    int rc;
    if (create && !f->date)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "date: This field is required.");
    if (create && !f->time_worked)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "time_worked: This field is required.");
    if ((f->date && (rc = orci_tt_parse_date(f->date, days, err)) != ORC_OK) ||
        (f->time_worked && (rc = orci_tt_parse_duration(f->time_worked, us, err)) != ORC_OK) ||
        (rc = check_description(f->description, err)) != ORC_OK ||
        (!f->detach && f->assignment_id > 0 &&
         (rc = check_own_assignment(t, f->assignment_id, err)) != ORC_OK))
        return rc;
    return ORC_OK;
}

int orci_tt_entry_create(const orci_tt *t, const orci_tt_fields *f, int64_t *id, char **json,
                         orc_error *err)
{
    *json = NULL;
    orci_tt_entry e = {.description = f->description, .assignment_id = f->assignment_id};
    int rc = validate_fields(t, f, true, &e.days, &e.us, err);
    if (rc != ORC_OK || (rc = entry_insert(t, &e, false, 0, 0, &e.id, err)) != ORC_OK)
        return rc;
    if (id)
        *id = e.id;
    return dump_out(orci_tt_entry_json(&e), json, err);
}

int orci_tt_entry_list(const orci_tt *t, const char *min_date, const char *max_date,
                       int64_t assignment_id, char **json, orc_error *err)
{
    int64_t ignored;
    *json = NULL;
    if ((min_date && orci_tt_parse_date(min_date, &ignored, err) != ORC_OK) ||
        (max_date && orci_tt_parse_date(max_date, &ignored, err) != ORC_OK))
        return ORC_INVALID_ARGUMENT;
    orci_stmt *st = orci_db_stmt(
        t->db,
        "SELECT id, date, time_worked_us, description, assignment_id FROM time_entries"
        " WHERE worker_id = ?1 AND is_deleted = 0 AND (?2 IS NULL OR date >= ?2)"
        " AND (?3 IS NULL OR date <= ?3) AND (?4 = 0 OR assignment_id = ?4) ORDER BY date, id",
        err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, t->worker_id);
    orci_bind_text(st, 2, min_date);
    orci_bind_text(st, 3, max_date);
    orci_bind_int(st, 4, assignment_id > 0 ? assignment_id : 0);
    json_t *list = json_array();
    json_t *doc = json_pack("{s:o}", "entries", list);
    if (!doc) {
        orci_stmt_reset(st);
        return oom(err);
    }
    int r;
    while ((r = orci_db_row(t->db, st, err)) == 1) {
        orci_tt_entry e;
        json_t *j = NULL;
        if (row_entry(st, &e, err) != ORC_OK || !(j = orci_tt_entry_json(&e)) ||
            json_array_append_new(list, j) != 0) {
            orci_stmt_reset(st);
            json_decref(doc);
            return j ? oom(err) : db_code(err);
        }
    }
    if (r < 0) {
        json_decref(doc);
        return db_code(err);
    }
    return dump_out(doc, json, err);
}

/* owned_entry checks that entry id exists, is live and is the worker's own. */
static int owned_entry(const orci_tt *t, int64_t id, orci_tt_entry *e, char *desc, size_t desc_size,
                       orc_error *err)
{
    orci_stmt *st = orci_db_stmt(t->db,
                                 "SELECT id, date, time_worked_us, description, assignment_id,"
                                 " worker_id FROM time_entries WHERE id = ?1 AND is_deleted = 0",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    int r = orci_db_row(t->db, st, err);
    if (r < 0)
        return db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, MSG_NOT_FOUND);
    int rc = row_entry(st, e, err);
    int64_t owner = orci_col_int(st, 5);
    if (rc == ORC_OK && e->description) {
        snprintf(desc, desc_size, "%s", e->description);
        e->description = desc;
    }
    orci_stmt_reset(st);
    if (rc != ORC_OK)
        return rc;
    if (owner != t->worker_id)
        return orc_error_set(err, ORC_PERMISSION_DENIED, MSG_FORBIDDEN);
    return ORC_OK;
}

int orci_tt_entry_edit(const orci_tt *t, int64_t id, const orci_tt_fields *f, char **json,
                       orc_error *err)
{
    char desc[MAX_DESCRIPTION * 4 + 1];
    orci_tt_entry e;
    *json = NULL;
    int rc = owned_entry(t, id, &e, desc, sizeof desc, err);
    if (rc != ORC_OK || (rc = validate_fields(t, f, false, &e.days, &e.us, err)) != ORC_OK)
        return rc;
    if (f->description)
        e.description = f->description;
    if (f->detach)
        e.assignment_id = 0;
    else if (f->assignment_id > 0)
        e.assignment_id = f->assignment_id;
    char date[16];
    orci_tt_format_date(e.days, date, sizeof date);
    orci_stmt *st = orci_db_stmt(t->db,
                                 "UPDATE time_entries SET date = ?2, time_worked_us = ?3,"
                                 " description = ?4, assignment_id = ?5 WHERE id = ?1",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    orci_bind_text(st, 2, date);
    orci_bind_int(st, 3, e.us);
    orci_bind_text(st, 4, e.description);
    if (e.assignment_id > 0)
        orci_bind_int(st, 5, e.assignment_id);
    if ((rc = orci_db_step(t->db, st, err)) != ORC_OK)
        return rc;
    return dump_out(orci_tt_entry_json(&e), json, err);
}

int orci_tt_entry_delete(const orci_tt *t, int64_t id, orc_error *err)
{
    char desc[MAX_DESCRIPTION * 4 + 1];
    orci_tt_entry e;
    int rc = owned_entry(t, id, &e, desc, sizeof desc, err);
    if (rc != ORC_OK)
        return rc;
    orci_stmt *st =
        orci_db_stmt(t->db, "UPDATE time_entries SET is_deleted = 1 WHERE id = ?1", err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    return orci_db_step(t->db, st, err);
}

/* ---- timecard ------------------------------------------------------------------------ */

typedef struct entry_buf {
    orci_tt_entry *v;
    size_t n, cap;
} entry_buf;

static void entry_buf_free(entry_buf *b)
{
    for (size_t i = 0; i < b->n; i++)
        free((char *)b->v[i].description);
    free(b->v);
}

static int entry_buf_push(entry_buf *b, const orci_tt_entry *e)
{
    if (!orci_grow(&b->v, &b->cap, b->n + 1, sizeof *b->v))
        return -1;
    orci_tt_entry c = *e;
    if (c.description && !(c.description = strdup(c.description)))
        return -1;
    b->v[b->n++] = c;
    return 0;
}

int orci_tt_timecard(const orci_tt *t, const char *from, const char *to, char **json,
                     orc_error *err)
{
    int64_t monday, sunday, lo, hi;
    *json = NULL;
    orci_tt_iso_week(orci_tt_utc_days(t->now_us), &monday, &sunday);
    lo = monday;
    hi = sunday;
    if ((from && orci_tt_parse_date(from, &lo, err) != ORC_OK) ||
        (to && orci_tt_parse_date(to, &hi, err) != ORC_OK))
        return ORC_INVALID_ARGUMENT;
    if (lo > hi)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "The range ends before it starts.");
    if (hi - lo >= ORCI_TT_MAX_RANGE_DAYS)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "A timecard covers at most %d days.",
                             ORCI_TT_MAX_RANGE_DAYS);
    char lo_text[16], hi_text[16];
    orci_tt_format_date(lo, lo_text, sizeof lo_text);
    orci_tt_format_date(hi, hi_text, sizeof hi_text);
    orci_stmt *st =
        orci_db_stmt(t->db,
                     "SELECT id, date, time_worked_us, description, assignment_id FROM time_entries"
                     " WHERE worker_id = ?1 AND is_deleted = 0 AND date >= ?2 AND date <= ?3"
                     " ORDER BY date, id",
                     err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, t->worker_id);
    orci_bind_text(st, 2, lo_text);
    orci_bind_text(st, 3, hi_text);
    entry_buf b = {0};
    int r, rc = ORC_OK;
    while ((r = orci_db_row(t->db, st, err)) == 1) {
        orci_tt_entry e;
        if ((rc = row_entry(st, &e, err)) != ORC_OK ||
            (entry_buf_push(&b, &e) != 0 && (rc = oom(err)) != ORC_OK)) {
            orci_stmt_reset(st);
            goto cleanup;
        }
    }
    if (r < 0) {
        rc = db_code(err);
        goto cleanup;
    }
    rc = dump_out(orci_tt_timecard_json(b.v, b.n, lo, hi), json, err);
cleanup:
    entry_buf_free(&b);
    return rc;
}
