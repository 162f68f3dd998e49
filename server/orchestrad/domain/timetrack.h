/*
 * timetrack.h: time tracking (spec section 5, "Time tracking rules"; seed 4.1): the
 * worker's timer, time entries and the timecard.
 *
 * Two layers:
 *  - pure rules (dates, durations, rounding, the timecard of a list of entries), with no
 *    clock and no database, so tests drive them directly;
 *  - operations on an orci_db for one worker at one instant (orci_tt: the time is passed
 *    in, never read). Writing operations run on the writer inside the request's
 *    transaction; status, list and timecard only read.
 *
 * Rendering (the JSON documents):
 *  - a timer is {"id","worker","assignment","start_time","stop_time","description"}, times
 *    as "YYYY-MM-DDTHH:MM:SS.ffffffZ" or null, plus "time_worked" while it runs, in Python
 *    timedelta text ("1:00:00", "0:05:03.123456", "1 day, 0:00:01");
 *  - an entry is {"id","date","time_worked","description","assignment"} with time_worked as
 *    Django renders durations: "HH:MM:SS", "D HH:MM:SS" past a day, ".ffffff" appended
 *    when the duration has a sub-second part (a stopped timer's full-precision duration);
 *  - a timecard is {"days":[{"date","entries":[{...entry,"rounded":"HH:MM"}],
 *    "total":"HH:MM"|null,"incomplete":bool}]}, one day per date of the range.
 *
 * Refusals carry the upstream messages: "Timer has already started", "Timer not started"
 * (FAILED_PRECONDITION), "Worker is not assigned to this task id." (INVALID_ARGUMENT) for an
 * assignment that is not the worker's own, NOT_FOUND for a missing or deleted entry and
 * PERMISSION_DENIED for another worker's entry.
 */
#ifndef ORCI_TIMETRACK_H
#define ORCI_TIMETRACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

#define ORCI_TT_MSG_STARTED "Timer has already started"
#define ORCI_TT_MSG_NOT_STARTED "Timer not started"
#define ORCI_TT_MSG_NOT_ASSIGNED "Worker is not assigned to this task id."

/* Longest range a timecard covers, in days. */
#define ORCI_TT_MAX_RANGE_DAYS 366

/* ---- pure rules -------------------------------------------------------------------- */

/* orci_tt_parse_date parses "YYYY-MM-DD" (a real calendar date) into days since
 * 1970-01-01; INVALID_ARGUMENT otherwise. */
int orci_tt_parse_date(const char *text, int64_t *days, orc_error *err);

/* orci_tt_format_date writes the date of days since 1970-01-01 as "YYYY-MM-DD". */
void orci_tt_format_date(int64_t days, char *out, size_t out_size);

/* orci_tt_utc_days is the UTC date (days since 1970-01-01) of an instant in us. */
int64_t orci_tt_utc_days(int64_t us);

/* orci_tt_iso_week gives the Monday and Sunday of the ISO week holding days. */
void orci_tt_iso_week(int64_t days, int64_t *monday, int64_t *sunday);

/*
 * orci_tt_parse_duration parses "[D ]HH:MM[:SS[.ffffff]]" (hours any number of digits,
 * minutes and seconds below 60, at most six fraction digits) into microseconds;
 * INVALID_ARGUMENT otherwise.
 */
int orci_tt_parse_duration(const char *text, int64_t *us, orc_error *err);

/*
 * orci_tt_format_duration renders an entry's duration as "HH:MM:SS", or "D HH:MM:SS" past a
 * day (spec 5, CONTRACT.md); sub-seconds are kept in the store but not shown.
 */
void orci_tt_format_duration(int64_t us, char *out, size_t out_size);

/* orci_tt_format_timedelta renders a duration as Python's str(timedelta). */
void orci_tt_format_timedelta(int64_t us, char *out, size_t out_size);

/*
 * orci_tt_rounded_minutes is the displayed length of an entry in minutes: the hours,
 * minutes and seconds components only (whole days and sub-second parts are ignored), one
 * minute more when the seconds component is not zero.
 */
int64_t orci_tt_rounded_minutes(int64_t us);

/* orci_tt_format_hm writes minutes as "HH:MM" (hours may exceed 23). */
void orci_tt_format_hm(int64_t minutes, char *out, size_t out_size);

/* orci_tt_entry is one time entry as the rules see it. description NULL: none. */
typedef struct orci_tt_entry {
    int64_t id;
    int64_t days; /* its date */
    int64_t us;   /* time worked */
    const char *description;
    int64_t assignment_id; /* 0: none */
} orci_tt_entry;

/* orci_tt_entry_incomplete: the entry lacks a description or an assignment. */
bool orci_tt_entry_incomplete(const orci_tt_entry *e);

/* orci_tt_entry_json renders an entry (new reference; NULL when out of memory). */
json_t *orci_tt_entry_json(const orci_tt_entry *e);

/*
 * orci_tt_timecard_json builds the timecard of entries[0..n) for the dates from..to
 * (inclusive; entries outside are skipped): every date in order, its entries in the given
 * order with "rounded", the total of the rounded entries, or null with "incomplete" true
 * when one of them is incomplete. New reference; NULL when out of memory.
 */
json_t *orci_tt_timecard_json(const orci_tt_entry *entries, size_t n, int64_t from, int64_t to);

/* ---- operations for one worker ---------------------------------------------------------- */

typedef struct orci_tt {
    orci_db *db;
    int64_t worker_id;
    int64_t now_us;
} orci_tt;

/*
 * Documents come back in *json (malloc'd, the caller's). A string argument NULL means
 * "not given"; an assignment id 0 means none.
 */

/* orci_tt_timer_start starts the worker's timer, attached to assignment_id (0: keep the
 * timer's) and with description (NULL: keep); *json is the timer. */
int orci_tt_timer_start(const orci_tt *t, int64_t assignment_id, const char *description,
                        char **json, orc_error *err);

/* orci_tt_timer_stop stops the timer: one entry dated by the UTC date of the start, with
 * the full duration, the timer's description and assignment; the timer is reset. *json is
 * the entry. */
int orci_tt_timer_stop(const orci_tt *t, char **json, orc_error *err);

/* orci_tt_timer_status renders the timer (all null but worker when the worker never used
 * one) with time_worked while it runs. */
int orci_tt_timer_status(const orci_tt *t, char **json, orc_error *err);

/* orci_tt_timer_update sets the description (NULL: keep) and attaches assignment_id (0:
 * keep) or, with detach, detaches. *json is "null". */
int orci_tt_timer_update(const orci_tt *t, int64_t assignment_id, bool detach,
                         const char *description, char **json, orc_error *err);

/* orci_tt_fields are the fields of an entry to create or change. */
typedef struct orci_tt_fields {
    const char *date;        /* "YYYY-MM-DD"; NULL: keep (required to create) */
    const char *time_worked; /* "[D ]HH:MM[:SS[.ffffff]]"; NULL: keep (required to create) */
    const char *description; /* NULL: keep / none */
    int64_t assignment_id;   /* 0: keep / none */
    bool detach;             /* edit: remove the assignment */
} orci_tt_fields;

/* orci_tt_entry_create adds an entry by hand; *json is the entry, *id its id (NULL ok). */
int orci_tt_entry_create(const orci_tt *t, const orci_tt_fields *f, int64_t *id, char **json,
                         orc_error *err);

/* orci_tt_entry_list renders {"entries":[..]}: the worker's live entries with date in
 * [min_date, max_date] (NULL: unbounded) and, when assignment_id > 0, of that assignment,
 * by date then id. */
int orci_tt_entry_list(const orci_tt *t, const char *min_date, const char *max_date,
                       int64_t assignment_id, char **json, orc_error *err);

/* orci_tt_entry_edit changes the worker's entry id; *json is the entry. */
int orci_tt_entry_edit(const orci_tt *t, int64_t id, const orci_tt_fields *f, char **json,
                       orc_error *err);

/* orci_tt_entry_delete soft-deletes the worker's entry id. */
int orci_tt_entry_delete(const orci_tt *t, int64_t id, orc_error *err);

/* orci_tt_timecard renders the timecard of from..to (NULL: the current ISO week's Monday,
 * resp. Sunday, by the UTC date of now_us). */
int orci_tt_timecard(const orci_tt *t, const char *from, const char *to, char **json,
                     orc_error *err);

#endif
