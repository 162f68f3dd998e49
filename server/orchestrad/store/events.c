/*
 * events.c: the event outbox: appending events with gap-free sequence numbers and their
 * topics, the notifications of spec 3.7, reading history back, retention, and the
 * publisher that sends committed events on the PUB socket.
 */
#include "store/events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "json.h"
#include "log.h"
#include "slug.h"
#include "store/model.h"
#include "store/store_internal.h"
#include "vec.h"

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_INTERNAL, "out of memory");
}

/* ---- topics ----------------------------------------------------------------------------- */

size_t orci_events_topics(const orci_event_rec *e,
                          char topics[ORCI_EVENT_TOPICS_MAX][ORCI_EVENT_TOPIC_MAX])
{
    size_t n = 0;
    if (e->worker_only) {
        if (e->worker[0] != '\0')
            snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "worker.%s.", e->worker);
        return n;
    }
    if (e->project_id > 0)
        snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "project.%lld.", (long long)e->project_id);
    if (e->worker[0] != '\0')
        snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "worker.%s.", e->worker);
    if (e->other_worker[0] != '\0' && strcmp(e->other_worker, e->worker) != 0)
        snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "worker.%s.", e->other_worker);
    if (e->workflow[0] != '\0')
        snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "workflow.%s.", e->workflow);
    if (e->step[0] != '\0')
        snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "step.%s.", e->step);
    return n;
}

/* ---- appending ------------------------------------------------------------------------ */

/*
 * next_seq is the seq of the next event: one past the newest row, or the retention floor
 * first_kept when retention pruned every row (prune keeps every row from first_kept on, so a
 * table with rows has its newest at or above first_kept - 1). Read inside the writer's
 * transaction, so a rolled-back job gives its numbers back and the sequence stays gap-free.
 * A statement of its own: as a subquery of the INSERT it cost SQLite a cursor on events per
 * subquery and, in an INSERT ... SELECT, a temporary copy of the row.
 */
static int next_seq(orci_db *db, int64_t *seq, orc_error *err)
{
    int code = orci_events_flush(db, err); /* pending events come first */
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(db, "SELECT max(seq) FROM events", err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    bool empty = r == 0 || orci_col_is_null(st, 0);
    *seq = empty ? 0 : orci_col_int(st, 0) + 1;
    if (r == 1)
        orci_stmt_reset(st);
    if (!empty)
        return ORC_OK;
    st = orci_db_stmt(db, "SELECT first_kept FROM events_meta WHERE id = 1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    bool found = false;
    code = orci_db_one_id(db, st, seq, &found, err);
    if (code == ORC_OK && !found)
        code = orc_error_set(err, ORC_INTERNAL, "the events table has no retention row");
    return code;
}

/*
 * The writer's pending events. An event appended inside a write job is kept in memory and
 * written with the job's other events in one multi-row INSERT when the job ends
 * (orci_events_flush, called by the store), before any savepoint statement
 * (orci_db_exec), before another kind of event insert and before events are read: a machine
 * step's seven events cost one statement instead of seven, and one read of the newest seq.
 * Opening the table's and its five indexes' cursors and closing them again, once per
 * statement, was about 10,000 of the 34,000 instructions of each event, and reading the
 * newest seq another 3,000.
 */
#define PENDING_MAX 8
/* PENDING_VALUES bound values per row, in pending_bind's column order. */
#define PENDING_VALUES 13
#define PENDING_COLUMNS                                                                            \
    "INSERT INTO events (seq, type, time, project_id, task_id, step, workflow, worker,"            \
    " old_status, new_status, payload, worker_only, other_worker) VALUES "

typedef struct pending_event {
    int64_t seq;
    orci_event_rec e;    /* the names are copies; type and statuses point into text */
    const char *payload; /* compact JSON, in text */
    char *text;          /* type, old status, new status, payload: one allocation */
} pending_event;

typedef struct orci_event_buf orci_event_buf;

struct orci_event_buf {
    pending_event rows[PENDING_MAX];
    int n;
    int64_t next_seq; /* the seq of rows[0] */
};

static char pending_sql[PENDING_MAX]
                       [sizeof PENDING_COLUMNS + PENDING_MAX * 128]; /* a row takes at most 90 */
static pthread_once_t pending_sql_once = PTHREAD_ONCE_INIT;

/* pending_sql_build writes the INSERT of 1 to PENDING_MAX rows (string addresses that stay
 * put, which the statement cache keys on). */
static void pending_sql_build(void)
{
    for (int k = 1; k <= PENDING_MAX; k++) {
        char *out = pending_sql[k - 1];
        size_t cap = sizeof pending_sql[k - 1];
        size_t len = (size_t)snprintf(out, cap, "%s", PENDING_COLUMNS);
        for (int r = 0; r < k; r++) {
            int b = r * PENDING_VALUES;
            len += (size_t)snprintf(out + len, cap - len,
                                    "%s(?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d,"
                                    " ?%d, ?%d)",
                                    r > 0 ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6,
                                    b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13);
        }
    }
}

static void pending_clear(orci_event_buf *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->rows[i].text);
    b->n = 0;
}

void orci_events_discard(orci_db *db)
{
    if (db->pending != NULL)
        pending_clear(db->pending);
}

void orci_events_buf_free(struct orci_event_buf *b)
{
    if (b == NULL)
        return;
    pending_clear(b);
    free(b);
}

/* pending_bind binds row r of a multi-row INSERT to p. */
static void pending_bind(orci_stmt *st, int r, const pending_event *p)
{
    const orci_event_rec *e = &p->e;
    int b = r * PENDING_VALUES;
    orci_bind_int(st, b + 1, p->seq);
    orci_bind_text(st, b + 2, e->type);
    orci_bind_int(st, b + 3, e->time_us);
    orci_bind_int(st, b + 4, e->project_id);
    orci_bind_int(st, b + 5, e->task_id);
    orci_bind_text(st, b + 6, e->step);
    orci_bind_text(st, b + 7, e->workflow);
    orci_bind_text(st, b + 8, e->worker);
    orci_bind_text(st, b + 9, e->old_status);
    orci_bind_text(st, b + 10, e->new_status);
    orci_bind_text(st, b + 11, p->payload);
    orci_bind_int(st, b + 12, e->worker_only ? 1 : 0);
    orci_bind_text(st, b + 13, e->worker_only ? "" : e->other_worker);
}

int orci_events_flush(orci_db *db, orc_error *err)
{
    orci_event_buf *b = db->pending;
    if (b == NULL || b->n == 0)
        return ORC_OK;
    pthread_once(&pending_sql_once, pending_sql_build);
    orci_stmt *st = orci_db_stmt(db, pending_sql[b->n - 1], err);
    int code = ORC_INTERNAL;
    if (st != NULL) {
        for (int i = 0; i < b->n; i++)
            pending_bind(st, i, &b->rows[i]);
        code = orci_db_step(db, st, err);
    }
    pending_clear(b); /* on failure the job fails, and its transaction or savepoint goes */
    return code;
}

/* text_put copies s to *at and returns where it starts. */
static const char *text_put(char **at, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    char *start = *at;
    *at += n;
    return start;
}

/*
 * append_row keeps e with payload (compact JSON text, NULL: {}) among the pending events; a
 * full buffer is written first. The topics are not stored: they follow from these columns
 * (orci_events_topics), and migration 0006's indexes find events by topic.
 */
static int append_row(orci_db *db, const orci_event_rec *e, const char *payload, int64_t *seq,
                      orc_error *err)
{
    if (db->pending == NULL && (db->pending = calloc(1, sizeof *db->pending)) == NULL)
        return oom(err);
    orci_event_buf *b = db->pending;
    int code = b->n == PENDING_MAX ? orci_events_flush(db, err) : ORC_OK;
    /* The first pending event reads where the sequence goes on; the others follow it (any
     * other insert of an event writes the pending ones first). */
    if (code == ORC_OK && b->n == 0)
        code = next_seq(db, &b->next_seq, err);
    if (code != ORC_OK)
        return code;
    const char *old_status = e->old_status != NULL ? e->old_status : "";
    const char *new_status = e->new_status != NULL ? e->new_status : "";
    const char *body = payload != NULL ? payload : "{}";
    size_t len = strlen(e->type) + strlen(old_status) + strlen(new_status) + strlen(body) + 4;
    pending_event *row = &b->rows[b->n];
    if ((row->text = malloc(len)) == NULL)
        return oom(err);
    row->seq = b->next_seq + b->n;
    if (seq != NULL)
        *seq = row->seq;
    row->e = *e;
    char *at = row->text;
    row->e.type = text_put(&at, e->type);
    row->e.old_status = text_put(&at, old_status);
    row->e.new_status = text_put(&at, new_status);
    row->e.payload = NULL;
    row->payload = text_put(&at, body);
    b->n++;
    return ORC_OK;
}

int orci_events_append(orci_db *db, const orci_event_rec *e, int64_t *seq, orc_error *err)
{
    if (e == NULL || e->type == NULL || e->type[0] == '\0')
        return orc_error_set(err, ORC_INTERNAL, "event without a type");
    char *payload = e->payload != NULL ? orci_json_dump(e->payload) : NULL;
    if (e->payload != NULL && payload == NULL)
        return oom(err);
    int code = append_row(db, e, payload, seq, err);
    free(payload);
    return code;
}

int orci_events_task_event_known(orci_db *db, int64_t now_us, const char *type,
                                 const orci_event_task *t, const char *old_status,
                                 const char *new_status, const char *payload_text, orc_error *err)
{
    if (type == NULL || type[0] == '\0')
        return orc_error_set(err, ORC_INTERNAL, "event without a type");
    /* Only the fields append_row reads; the names are copied, no worker is concerned. */
    orci_event_rec e;
    e.type = type;
    e.time_us = now_us;
    e.project_id = t->project_id;
    e.task_id = t->task_id;
    memcpy(e.step, t->step, sizeof e.step);
    memcpy(e.workflow, t->workflow, sizeof e.workflow);
    e.worker[0] = '\0';
    e.other_worker[0] = '\0';
    e.old_status = old_status;
    e.new_status = new_status;
    e.payload = NULL;
    e.worker_only = false;
    return append_row(db, &e, payload_text, NULL, err);
}

int orci_events_machine_assignment_event(orci_db *db, int64_t now_us, const char *type,
                                         const orci_event_task *t, int64_t assignment_id,
                                         const char *old_status, const char *new_status,
                                         orc_error *err)
{
    /* As SQLite's json_object renders it in ASSIGNMENT_EVENT_SQL: compact, in this order. */
    char payload[64];
    snprintf(payload, sizeof payload, "{\"assignment_id\":%lld,\"counter\":0}",
             (long long)assignment_id);
    return orci_events_task_event_known(db, now_us, type, t, old_status, new_status, payload, err);
}

/* ---- context ------------------------------------------------------------------------- */

static void copy_name(char *dst, const char *src)
{
    snprintf(dst, ORCI_EVENT_NAME_MAX, "%s", src != NULL ? src : "");
}

int orci_events_task_context(orci_db *db, int64_t task_id, orci_event_rec *e, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT t.project_id, s.slug, w.slug FROM tasks t"
                                 " JOIN steps s ON s.id = t.step_id"
                                 " JOIN workflow_versions v ON v.id = s.workflow_version_id"
                                 " JOIN workflows w ON w.id = v.workflow_id WHERE t.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int code = orci_db_first_row(db, st, "no such task", err);
    if (code != ORC_OK)
        return code;
    e->task_id = task_id;
    e->project_id = orci_col_int(st, 0);
    copy_name(e->step, orci_col_text(st, 1));
    copy_name(e->workflow, orci_col_text(st, 2));
    orci_stmt_reset(st);
    return ORC_OK;
}

int orci_events_project_context(orci_db *db, int64_t project_id, orci_event_rec *e, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT w.slug FROM projects p"
                                 " JOIN workflow_versions v ON v.id = p.workflow_version_id"
                                 " JOIN workflows w ON w.id = v.workflow_id WHERE p.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int code = orci_db_first_row(db, st, "no such project", err);
    if (code != ORC_OK)
        return code;
    e->project_id = project_id;
    copy_name(e->workflow, orci_col_text(st, 0));
    orci_stmt_reset(st);
    return ORC_OK;
}

int orci_events_worker_name(orci_db *db, int64_t worker_id, char *out, size_t out_size,
                            orc_error *err)
{
    if (out_size > 0)
        out[0] = '\0';
    if (worker_id <= 0)
        return ORC_OK;
    orci_stmt *st = orci_db_stmt(
        db, "SELECT u.username FROM workers k JOIN users u ON u.id = k.user_id WHERE k.id = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, worker_id);
    int code = orci_db_first_row(db, st, "no such worker", err);
    if (code != ORC_OK)
        return code;
    snprintf(out, out_size, "%s", orci_col_text(st, 0));
    orci_stmt_reset(st);
    return ORC_OK;
}

int orci_events_assignment_context(orci_db *db, int64_t assignment_id, orci_event_rec *e,
                                   orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db, "SELECT task_id, coalesce(worker_id, 0) FROM task_assignments WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, assignment_id);
    int code = orci_db_first_row(db, st, "no such assignment", err);
    if (code != ORC_OK)
        return code;
    int64_t task_id = orci_col_int(st, 0);
    int64_t worker_id = orci_col_int(st, 1);
    orci_stmt_reset(st);
    if ((code = orci_events_task_context(db, task_id, e, err)) != ORC_OK)
        return code;
    return orci_events_worker_name(db, worker_id, e->worker, sizeof e->worker, err);
}

/*
 * The context of a task, joined inside the INSERT: an event about a task costs its seq and
 * one statement, not a lookup and an insert.
 */
#define TASK_CONTEXT                                                                               \
    " FROM tasks t JOIN steps s ON s.id = t.step_id"                                               \
    " JOIN workflow_versions v ON v.id = s.workflow_version_id"                                    \
    " JOIN workflows w ON w.id = v.workflow_id"
/* Machine tasks and assignments have no worker: the CASE spares their events the lookup. */
#define USERNAME(worker_id)                                                                        \
    "CASE WHEN " worker_id " > 0 THEN coalesce((SELECT u.username FROM workers k"                  \
    " JOIN users u ON u.id = k.user_id WHERE k.id = " worker_id "), '') ELSE '' END"

/* inserted checks that an INSERT ... SELECT found its row (not_found otherwise). */
static int inserted(orci_db *db, orci_stmt *st, const char *not_found, orc_error *err)
{
    int code = orci_db_step(db, st, err);
    if (code == ORC_OK && orci_db_changes(db) != 1)
        code = orc_error_set(err, ORC_NOT_FOUND, "%s", not_found);
    return code;
}

#define TASK_EVENT_SQL                                                                             \
    "INSERT INTO events (seq, type, time, project_id, task_id, step, workflow, worker,"            \
    " old_status, new_status, payload) SELECT ?8, ?1, ?2, t.project_id, t.id, s.slug, "            \
    "w.slug, " USERNAME("?4") ", ?5, ?6, ?7" TASK_CONTEXT " WHERE t.id = ?3"

int orci_events_task_event(orci_db *db, int64_t now_us, const char *type, int64_t task_id,
                           int64_t worker_id, const char *old_status, const char *new_status,
                           const json_t *payload, orc_error *err)
{
    if (type == NULL || type[0] == '\0')
        return orc_error_set(err, ORC_INTERNAL, "event without a type");
    char *text = payload != NULL ? orci_json_dump(payload) : NULL;
    if (payload != NULL && text == NULL)
        return oom(err);
    int64_t seq = 0;
    int code = next_seq(db, &seq, err);
    orci_stmt *st = code == ORC_OK ? orci_db_stmt(db, TASK_EVENT_SQL, err) : NULL;
    if (st != NULL) {
        orci_bind_text(st, 1, type);
        orci_bind_int(st, 2, now_us);
        orci_bind_int(st, 3, task_id);
        orci_bind_int(st, 4, worker_id);
        orci_bind_text(st, 5, old_status != NULL ? old_status : "");
        orci_bind_text(st, 6, new_status != NULL ? new_status : "");
        orci_bind_text(st, 7, text != NULL ? text : "{}");
        orci_bind_int(st, 8, seq);
        code = inserted(db, st, "no such task", err);
    } else if (code == ORC_OK) {
        code = ORC_INTERNAL;
    }
    free(text);
    return code;
}

/* json_object renders as orci_json_dump would: compact, keys in this order. */
#define ASSIGNMENT_EVENT_SQL                                                                       \
    "INSERT INTO events (seq, type, time, project_id, task_id, step, workflow, worker,"            \
    " old_status, new_status, payload, other_worker) SELECT ?7, ?1, ?2, t.project_id, t.id,"       \
    " s.slug, w.slug, " USERNAME(                                                                  \
        "a.worker_id") ", ?4, ?5,"                                                                 \
                       " CASE WHEN ?6 > 0 THEN json_object('assignment_id', a.id, 'counter', "     \
                       "a.assignment_counter,"                                                     \
                       " 'previous_worker', " USERNAME(                                            \
                           "?6") ")"                                                               \
                                 " ELSE json_object('assignment_id', a.id, 'counter', "            \
                                 "a.assignment_counter) END, " USERNAME(                           \
                                     "?6") " FROM task_assignments a JOIN tasks t ON t.id = "      \
                                           "a.task_id"                                             \
                                           " JOIN steps s ON s.id = t.step_id JOIN "               \
                                           "workflow_versions v ON v.id = s.workflow_version_id"   \
                                           " JOIN workflows w ON w.id = v.workflow_id WHERE a.id " \
                                           "= ?3"

int orci_events_assignment_event(orci_db *db, int64_t now_us, const char *type,
                                 int64_t assignment_id, const char *old_status,
                                 const char *new_status, int64_t other_worker_id, orc_error *err)
{
    if (type == NULL || type[0] == '\0')
        return orc_error_set(err, ORC_INTERNAL, "event without a type");
    int64_t seq = 0;
    int code = next_seq(db, &seq, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(db, ASSIGNMENT_EVENT_SQL, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, type);
    orci_bind_int(st, 2, now_us);
    orci_bind_int(st, 3, assignment_id);
    orci_bind_text(st, 4, old_status != NULL ? old_status : "");
    orci_bind_text(st, 5, new_status != NULL ? new_status : "");
    orci_bind_int(st, 6, other_worker_id);
    orci_bind_int(st, 7, seq);
    return inserted(db, st, "no such assignment", err);
}

/* ---- notifications ---------------------------------------------------------------------- */

typedef struct note_kind {
    const char *type;
    const char *message; /* the subject line of the upstream e-mail */
} note_kind;

static const note_kind NOTES[] = {
    [ORCI_NOTE_ASSIGNED] = {"notification.assigned", "You've been assigned to a new task!"},
    [ORCI_NOTE_UNDER_REVIEW] = {"notification.under_review", "Your task is under review!"},
    [ORCI_NOTE_RETURNED] = {"notification.returned", "Your task has been returned"},
    [ORCI_NOTE_COMPLETE] = {"notification.complete", "Task complete!"},
    [ORCI_NOTE_READY_FOR_REREVIEW] = {"notification.ready_for_rereview",
                                      "A task is ready for re-review!"},
    [ORCI_NOTE_ENDED] = {"notification.ended", "A task you were working on has been ended"},
};

/* task_workers collects the distinct workers of a task's live assignments, lowest level
 * first, into *out (malloc'd; NULL when none). */
static int task_workers(orci_db *db, int64_t task_id, int64_t **out, size_t *n, orc_error *err)
{
    *out = NULL;
    *n = 0;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT worker_id FROM task_assignments WHERE task_id = ?1"
                                 " AND is_deleted = 0 AND worker_id IS NOT NULL"
                                 " GROUP BY worker_id ORDER BY min(assignment_counter)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    size_t cap = 0;
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (!orci_grow(out, &cap, *n + 1, sizeof **out)) {
            orci_stmt_reset(st);
            free(*out);
            *out = NULL;
            *n = 0;
            return oom(err);
        }
        (*out)[(*n)++] = orci_col_int(st, 0);
    }
    if (r < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return orci_db_code(err);
    }
    return ORC_OK;
}

int orci_events_notify(orci_db *db, int64_t now_us, int64_t task_id, int64_t worker_id,
                       orci_note kind, orc_error *err)
{
    if ((int)kind < 0 || (size_t)kind >= sizeof NOTES / sizeof NOTES[0])
        return orc_error_set(err, ORC_INTERNAL, "unknown notification %d", (int)kind);
    int64_t *workers = NULL;
    size_t n = 0;
    json_t *payload = NULL;
    int code = ORC_OK;
    if (worker_id > 0) {
        workers = malloc(sizeof *workers);
        if (workers == NULL)
            return oom(err);
        workers[0] = worker_id;
        n = 1;
    } else if ((code = task_workers(db, task_id, &workers, &n, err)) != ORC_OK) {
        return code;
    }
    /* A machine task has no worker to tell: its completion costs no more queries. */
    if (n == 0)
        goto out;
    orci_event_rec e = {.type = NOTES[kind].type, .time_us = now_us, .worker_only = true};
    if ((code = orci_events_task_context(db, task_id, &e, err)) != ORC_OK)
        goto out;
    orci_stmt *st =
        orci_db_stmt(db,
                     "SELECT p.short_description, v.slug, t.status FROM tasks t"
                     " JOIN projects p ON p.id = t.project_id"
                     " JOIN workflow_versions v ON v.id = p.workflow_version_id WHERE t.id = ?1",
                     err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, task_id);
    if ((code = orci_db_first_row(db, st, "no such task", err)) != ORC_OK)
        goto out;
    const char *status = orci_task_status_label((int)orci_col_int(st, 2));
    payload =
        json_pack("{s:s, s:s, s:s, s:s}", "message", NOTES[kind].message, "project_description",
                  orci_col_text(st, 0), "version", orci_col_text(st, 1), "task_status", status);
    orci_stmt_reset(st);
    if (payload == NULL) {
        code = oom(err);
        goto out;
    }
    e.payload = payload;
    e.new_status = status;
    for (size_t i = 0; i < n; i++) {
        if ((code = orci_events_worker_name(db, workers[i], e.worker, sizeof e.worker, err)) !=
                ORC_OK ||
            (code = orci_events_append(db, &e, NULL, err)) != ORC_OK)
            goto out;
    }
    code = ORC_OK;
out:
    free(workers);
    json_decref(payload);
    return code;
}

/* ---- reading -------------------------------------------------------------------------- */

int orci_events_bounds(orci_db *db, int64_t *first_kept, int64_t *last_seq, orc_error *err)
{
    int flushed = orci_events_flush(db, err);
    if (flushed != ORC_OK)
        return flushed;
    orci_stmt *st =
        orci_db_stmt(db,
                     "SELECT first_kept, max((SELECT coalesce(max(seq), 0) FROM events),"
                     " first_kept - 1) FROM events_meta WHERE id = 1",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    int code = orci_db_first_row(db, st, "the events table has no retention row", err);
    if (code == ORC_NOT_FOUND)
        code = orc_error_set(err, ORC_INTERNAL, "%s", err != NULL ? err->message : "");
    if (code != ORC_OK)
        return code;
    *first_kept = orci_col_int(st, 0);
    *last_seq = orci_col_int(st, 1);
    orci_stmt_reset(st);
    return ORC_OK;
}

static char *dup_col(orci_stmt *st, int col)
{
    return strdup(orci_col_text(st, col));
}

/* The columns every event read selects, in this order (event_fill, row_topics). */
#define EVENT_COLUMNS                                                                              \
    "seq, type, time, project_id, task_id, step, workflow, worker, old_status, new_status,"        \
    " payload, worker_only, other_worker"

/*
 * topic_put writes head, name and a dot into out as orci_events_topics does from an
 * orci_event_rec (whose names are cut to ORCI_EVENT_NAME_MAX - 1 bytes, and topics to
 * ORCI_EVENT_TOPIC_MAX - 1), without formatting: the publisher builds topics for every
 * event it sends.
 */
static void topic_put(char out[ORCI_EVENT_TOPIC_MAX], const char *head, const char *name)
{
    size_t hl = strlen(head), nl = strlen(name);
    if (nl > ORCI_EVENT_NAME_MAX - 1)
        nl = ORCI_EVENT_NAME_MAX - 1;
    char buf[ORCI_EVENT_TOPIC_MAX + ORCI_EVENT_NAME_MAX];
    memcpy(buf, head, hl);
    memcpy(buf + hl, name, nl);
    buf[hl + nl] = '.';
    size_t n = hl + nl + 1;
    if (n > ORCI_EVENT_TOPIC_MAX - 1)
        n = ORCI_EVENT_TOPIC_MAX - 1;
    memcpy(out, buf, n);
    out[n] = '\0';
}

/*
 * row_topics derives the topics of the event in the current row of EVENT_COLUMNS (they are
 * not stored: migration 0006) into topics, exactly as orci_events_topics would from the
 * event's record; returns how many.
 */
static size_t row_topics(orci_stmt *st, char topics[ORCI_EVENT_TOPICS_MAX][ORCI_EVENT_TOPIC_MAX])
{
    int64_t project_id = orci_col_int(st, 3);
    const char *step = orci_col_text(st, 5), *workflow = orci_col_text(st, 6);
    const char *worker = orci_col_text(st, 7), *other = orci_col_text(st, 12);
    size_t n = 0;
    if ((int)orci_col_int(st, 11) != 0) {
        if (worker[0] != '\0')
            topic_put(topics[n++], "worker.", worker);
        return n;
    }
    if (project_id > 0)
        snprintf(topics[n++], ORCI_EVENT_TOPIC_MAX, "project.%lld.", (long long)project_id);
    if (worker[0] != '\0')
        topic_put(topics[n++], "worker.", worker);
    if (other[0] != '\0' && strncmp(other, worker, ORCI_EVENT_NAME_MAX - 1) != 0)
        topic_put(topics[n++], "worker.", other);
    if (workflow[0] != '\0')
        topic_put(topics[n++], "workflow.", workflow);
    if (step[0] != '\0')
        topic_put(topics[n++], "step.", step);
    return n;
}

/* event_from_row builds an Event (everything malloc'd) from a row of EVENT_COLUMNS. */
static Orchestra__V1__Event *event_from_row(orci_stmt *st)
{
    Orchestra__V1__Event *ev = malloc(sizeof *ev);
    if (ev == NULL)
        return NULL;
    orchestra__v1__event__init(ev);
    ev->seq = orci_col_int(st, 0);
    ev->time = orci_col_int(st, 2);
    ev->project_id = orci_col_int(st, 3);
    ev->task_id = orci_col_int(st, 4);
    ev->type = dup_col(st, 1);
    ev->step = dup_col(st, 5);
    ev->workflow = dup_col(st, 6);
    ev->worker = dup_col(st, 7);
    ev->old_status = dup_col(st, 8);
    ev->new_status = dup_col(st, 9);
    ev->payload = dup_col(st, 10);
    bool ok = ev->type && ev->step && ev->workflow && ev->worker && ev->old_status &&
              ev->new_status && ev->payload;
    char topics[ORCI_EVENT_TOPICS_MAX][ORCI_EVENT_TOPIC_MAX];
    size_t n = ok ? row_topics(st, topics) : 0;
    if (n > 0) {
        ev->topics = calloc(n, sizeof *ev->topics);
        ok = ev->topics != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            ev->topics[i] = strdup(topics[i]);
            ok = ev->topics[i] != NULL;
            ev->n_topics = i + 1;
        }
    }
    if (!ok) {
        protobuf_c_message_free_unpacked(&ev->base, NULL);
        return NULL;
    }
    return ev;
}

void orci_events_free(Orchestra__V1__Event **events, size_t n)
{
    if (events == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (events[i] != NULL)
            protobuf_c_message_free_unpacked(&events[i]->base, NULL);
    free(events);
}

/*
 * prefix_end writes into out the smallest string above every string starting with prefix
 * (the prefix with its last byte incremented); false when there is none (all bytes 0xff).
 */
static bool prefix_end(const char *prefix, char *out, size_t out_size)
{
    size_t n = strlen(prefix);
    if (n + 1 > out_size)
        return false;
    memcpy(out, prefix, n + 1);
    while (n > 0) {
        unsigned char c = (unsigned char)out[n - 1];
        if (c < 0xff) {
            out[n - 1] = (char)(c + 1);
            out[n] = '\0';
            return true;
        }
        out[--n] = '\0';
    }
    return false;
}

/* The kinds of topic, in the order of orci_events_topics, and their fixed heads. */
enum { KIND_PROJECT, KIND_WORKER, KIND_WORKFLOW, KIND_STEP, KIND_COUNT };
static const char *const KIND_HEAD[KIND_COUNT] = {"project.", "worker.", "workflow.", "step."};

/*
 * kinds_for sets may[k] when a topic of kind k can start with prefix (its head and the
 * prefix agree on their common length), so the list queries skip the other indexes.
 */
static void kinds_for(const char *prefix, bool may[KIND_COUNT])
{
    size_t pl = strlen(prefix);
    for (int k = 0; k < KIND_COUNT; k++) {
        size_t hl = strlen(KIND_HEAD[k]);
        may[k] = strncmp(prefix, KIND_HEAD[k], pl < hl ? pl : hl) == 0;
    }
}

/*
 * one_topic tells whether prefix is a whole topic that no other topic starts with, so the
 * exact (seekable) query applies: "project.<digits>.", or "workflow.<slug>." or
 * "step.<slug>." (a slug has no dot: common/slug.h, enforced wherever one enters). A range of
 * topics cannot use the index's seq, so a poll of one step's events after a seq walked every
 * event of that step ever kept. A worker's username may hold dots: its topics stay ranges.
 */
static bool one_topic(const char *prefix)
{
    static const char *const heads[] = {"workflow.", "step."};
    if (strncmp(prefix, "project.", 8) == 0) {
        const char *p = prefix + 8;
        size_t digits = strspn(p, "0123456789");
        return digits > 0 && p[digits] == '.' && p[digits + 1] == '\0';
    }
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        size_t hl = strlen(heads[i]), n = strlen(prefix);
        if (strncmp(prefix, heads[i], hl) != 0 || n <= hl + 1 || prefix[n - 1] != '.' ||
            n - hl > ORCI_EVENT_NAME_MAX)
            continue;
        char slug[ORCI_EVENT_NAME_MAX + 1];
        memcpy(slug, prefix + hl, n - hl - 1);
        slug[n - hl - 1] = '\0';
        return orci_slug_valid(slug);
    }
    return false;
}

/*
 * The events whose topics match, one branch per kind of topic on that kind's index
 * (migration 0006: the expressions and WHERE terms must stay those of the indexes). ?1
 * after_seq, ?2 limit, ?3 the topic (exact) or prefix, ?4 the end of the prefix range,
 * ?5..?8 whether each kind may match. Each branch stops at the limit on its own.
 */
#define LIST_BRANCH(kind_param, where, match)                                                      \
    " SELECT seq FROM (SELECT seq FROM events WHERE " kind_param " <> 0 AND " where " AND " match  \
    " AND seq > ?1 ORDER BY seq LIMIT ?2) AS branch"
#define LIST_EQ(expr) expr " = ?3"
#define LIST_RANGE(expr) expr " >= ?3 AND " expr " < ?4"
#define LIST_BY_TOPIC(M)                                                                                                                                   \
    "SELECT " EVENT_COLUMNS                                                                                                                                \
    " FROM events WHERE seq IN (" LIST_BRANCH("?5", "worker_only = 0 AND project_id > 0", M("'project.' || project_id || '.'")) " UNION ALL" LIST_BRANCH(  \
        "?6", "worker != ''",                                                                                                                              \
        M("'worker.' || worker || '.'")) " UNION ALL" LIST_BRANCH("?6",                                                                                    \
                                                                  "worker_only = 0 AND "                                                                   \
                                                                  "other_worker != '' AND "                                                                \
                                                                  "other_worker != worker",                                                                \
                                                                  M("'worker.' || other_worker "                                                           \
                                                                    "|| '.'")) " UNION "                                                                   \
                                                                               "ALL" LIST_BRANCH(                                                          \
                                                                                   "?7",                                                                   \
                                                                                   "worker_only "                                                          \
                                                                                   "= 0 AND "                                                              \
                                                                                   "workflow != "                                                          \
                                                                                   "''",                                                                   \
                                                                                   M("'workflow.'"                                                         \
                                                                                     " || "                                                                \
                                                                                     "workflow "                                                           \
                                                                                     "|| '.'")) " UNION ALL" LIST_BRANCH("?8",                             \
                                                                                                                         "worker_only = 0 AND step != ''", \
                                                                                                                         M("'step.' || step || '.'")) ") ORDER BY seq LIMIT ?2"

/* list_statement prepares the query for prefix (NULL: every event; *none: nothing matches). */
static orci_stmt *list_statement(orci_db *db, const char *prefix, bool exact, bool *none,
                                 orc_error *err)
{
    *none = false;
    if (prefix == NULL || prefix[0] == '\0')
        return orci_db_stmt(db,
                            "SELECT " EVENT_COLUMNS " FROM events WHERE seq > ?1"
                            " ORDER BY seq LIMIT ?2",
                            err);
    orci_stmt *st;
    if (exact || one_topic(prefix)) {
        st = orci_db_stmt(db, LIST_BY_TOPIC(LIST_EQ), err);
    } else {
        char end[ORCI_EVENT_TOPIC_MAX + 2];
        /* No end means a prefix of 0xff bytes or one longer than any topic: none matches. */
        if (!prefix_end(prefix, end, sizeof end)) {
            *none = true;
            return NULL;
        }
        st = orci_db_stmt(db, LIST_BY_TOPIC(LIST_RANGE), err);
        if (st != NULL)
            orci_bind_text(st, 4, end);
    }
    if (st == NULL)
        return NULL;
    bool may[KIND_COUNT];
    kinds_for(prefix, may);
    orci_bind_text(st, 3, prefix);
    for (int k = 0; k < KIND_COUNT; k++)
        orci_bind_int(st, 5 + k, may[k]);
    return st;
}

int orci_events_list(orci_db *db, int64_t after_seq, const char *prefix, bool exact, int limit,
                     Orchestra__V1__Event ***out, size_t *n, orc_error *err)
{
    *out = NULL;
    *n = 0;
    int flushed = orci_events_flush(db, err);
    if (flushed != ORC_OK)
        return flushed;
    if (limit <= 0)
        limit = ORCI_EVENTS_DEFAULT_LIMIT;
    if (limit > ORCI_EVENTS_MAX_LIMIT)
        limit = ORCI_EVENTS_MAX_LIMIT;
    bool none = false;
    orci_stmt *st = list_statement(db, prefix, exact, &none, err);
    if (none)
        return ORC_OK;
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, after_seq);
    orci_bind_int(st, 2, limit);
    Orchestra__V1__Event **evs = NULL;
    size_t cnt = 0, cap = 0;
    int r, code = ORC_OK;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (!orci_grow(&evs, &cap, cnt + 1, sizeof *evs)) {
            code = oom(err);
            break;
        }
        if ((evs[cnt] = event_from_row(st)) == NULL) {
            code = oom(err);
            break;
        }
        cnt++;
    }
    if (r < 0)
        code = orci_db_code(err);
    if (code != ORC_OK) {
        orci_stmt_reset(st);
        orci_events_free(evs, cnt);
        return code;
    }
    *out = evs;
    *n = cnt;
    return ORC_OK;
}

/* ---- retention ------------------------------------------------------------------------ */

int orci_events_prune(orci_db *db, int64_t cutoff_us, int64_t *pruned, orc_error *err)
{
    *pruned = 0;
    int64_t first = 0, last = 0;
    int code = orci_events_bounds(db, &first, &last, err);
    if (code != ORC_OK)
        return code;
    /* The new floor: the first event in seq order at or after the cutoff, or past the newest.
     * Events are pruned as one range from the old floor, so the kept ones stay gap-free. The
     * walk in seq order visits the events it is about to delete and stops at the first one
     * kept, so it needs no index on time (one index entry less per event appended). */
    orci_stmt *st = orci_db_stmt(
        db, "SELECT seq FROM events WHERE seq >= ?2 AND time >= ?1 ORDER BY seq LIMIT 1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, cutoff_us);
    orci_bind_int(st, 2, first);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    int64_t floor = last + 1;
    if (r == 1) {
        if (!orci_col_is_null(st, 0))
            floor = orci_col_int(st, 0);
        orci_stmt_reset(st);
    }
    if (floor <= first)
        return ORC_OK;
    if ((st = orci_db_stmt(db, "DELETE FROM events WHERE seq < ?1", err)) == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, floor);
    if ((code = orci_db_step(db, st, err)) != ORC_OK)
        return code;
    *pruned = orci_db_changes(db);
    if ((st = orci_db_stmt(db, "UPDATE events_meta SET first_kept = ?1 WHERE id = 1", err)) == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, floor);
    return orci_db_step(db, st, err);
}

/* ---- publishing ----------------------------------------------------------------------- */

/* Topics whose newest published seq the publisher remembers (a direct-mapped cache). */
#define PUB_TOPIC_SLOTS 1024

typedef struct pub_topic {
    int64_t seq; /* 0: empty */
    char topic[ORCI_EVENT_TOPIC_MAX];
} pub_topic;

/*
 * The publisher runs on a thread of its own, with its own reader connection: the writer's
 * commit hook only wakes it. Reading the new events back and sending each once per topic cost
 * the writer about 125,000 instructions per machine step, before it could answer the next
 * request (issue 12). Events are committed (durable) before they are read, so publishing later
 * and on another connection changes nothing a subscriber can tell: the same events, in seq
 * order, each once per topic.
 */
struct orci_events_pub {
    orci_store *store;
    nng_socket sock;
    orci_db *db;       /* the publisher thread's reader connection */
    int64_t last;      /* the newest seq published (publisher thread only) */
    pub_topic *topics; /* PUB_TOPIC_SLOTS, publisher thread only */
    nng_aio *aio;      /* sends, one at a time (publisher thread only) */
    atomic_uint_least64_t dropped;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pending; /* a commit since the thread last read the events */
    bool quit;
    bool started;
    pthread_t thread;
};

/*
 * prev_on_topic seeks the newest event below seq on topic in the index of the topic's kind
 * (migration 0006; a worker's topic is in two: as the worker and as the other worker).
 */
static int prev_on_topic(orci_db *db, const char *topic, int64_t seq, int64_t *prev, orc_error *err)
{
    static const char *const SQL[] = {
        "SELECT seq FROM events WHERE worker_only = 0 AND project_id > 0"
        " AND 'project.' || project_id || '.' = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
        "SELECT seq FROM events WHERE worker != '' AND 'worker.' || worker || '.' = ?1"
        " AND seq < ?2 ORDER BY seq DESC LIMIT 1",
        "SELECT seq FROM events WHERE worker_only = 0 AND other_worker != ''"
        " AND other_worker != worker AND 'worker.' || other_worker || '.' = ?1 AND seq < ?2"
        " ORDER BY seq DESC LIMIT 1",
        "SELECT seq FROM events WHERE worker_only = 0 AND workflow != ''"
        " AND 'workflow.' || workflow || '.' = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
        "SELECT seq FROM events WHERE worker_only = 0 AND step != ''"
        " AND 'step.' || step || '.' = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
    };
    size_t from = 0, to = 0; /* the SQL entries to try */
    if (strncmp(topic, "project.", 8) == 0)
        from = 0, to = 1;
    else if (strncmp(topic, "worker.", 7) == 0)
        from = 1, to = 3;
    else if (strncmp(topic, "workflow.", 9) == 0)
        from = 3, to = 4;
    else if (strncmp(topic, "step.", 5) == 0)
        from = 4, to = 5;
    *prev = 0;
    for (size_t i = from; i < to; i++) {
        orci_stmt *st = orci_db_stmt(db, SQL[i], err);
        if (st == NULL)
            return ORC_INTERNAL;
        orci_bind_text(st, 1, topic);
        orci_bind_int(st, 2, seq);
        int64_t v = 0;
        bool found = false;
        int code = orci_db_one_id(db, st, &v, &found, err);
        if (code != ORC_OK)
            return code;
        if (found && v > *prev)
            *prev = v;
    }
    return ORC_OK;
}

static uint64_t topic_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/*
 * topic_prev_seq is the topic_prev_seq of the copy of event seq under topic: the newest seq
 * below it on that topic, raised to first_kept - 1 so that it stays an upper bound once
 * retention pruned the real one. It never exceeds seq - 1, which is always a bound (it tells
 * a subscriber nothing it would not assume anyway): that is the answer when the lookup fails
 * or first_kept is unknown (INT64_MAX).
 *
 * The publisher sees every event committed since it started, in seq order, so the newest
 * seq it published on a topic is exactly the previous event on it: a topic it remembers
 * costs no query. Only a topic not seen since the start (or pushed out of the cache) is
 * looked up, with one index seek. Either way the slot then holds seq.
 */
static int64_t topic_prev_seq(orci_events_pub *p, orci_db *db, const char *topic, int64_t seq,
                              int64_t first_kept)
{
    pub_topic *slot = &p->topics[topic_hash(topic) & (PUB_TOPIC_SLOTS - 1)];
    int64_t prev = 0;
    bool known = slot->seq > 0 && slot->seq < seq && strcmp(slot->topic, topic) == 0;
    if (known) {
        prev = slot->seq;
    } else {
        orc_error err = {0};
        if (prev_on_topic(db, topic, seq, &prev, &err) != ORC_OK)
            prev = seq - 1;
    }
    size_t tl = strlen(topic);
    if (tl < sizeof slot->topic) {
        slot->seq = seq;
        memcpy(slot->topic, topic, tl + 1);
    } else {
        slot->seq = 0; /* never happens: topics are shorter than ORCI_EVENT_TOPIC_MAX */
    }
    if (first_kept > seq)
        return seq - 1;
    return prev > first_kept - 1 ? prev : first_kept - 1;
}

/*
 * publish_row sends the event in the current row of EVENT_COLUMNS once per topic, each copy
 * packed with its own topic_prev_seq. The Event points into the row (valid until the next
 * step): nothing is allocated but the messages. Counts refusals; returns the event's seq.
 */
static int64_t publish_row(orci_events_pub *p, orci_db *db, orci_stmt *st, int64_t first_kept)
{
    Orchestra__V1__Event ev;
    orchestra__v1__event__init(&ev);
    ev.seq = orci_col_int(st, 0);
    ev.type = (char *)orci_col_text(st, 1);
    ev.time = orci_col_int(st, 2);
    ev.project_id = orci_col_int(st, 3);
    ev.task_id = orci_col_int(st, 4);
    ev.step = (char *)orci_col_text(st, 5);
    ev.workflow = (char *)orci_col_text(st, 6);
    ev.worker = (char *)orci_col_text(st, 7);
    ev.old_status = (char *)orci_col_text(st, 8);
    ev.new_status = (char *)orci_col_text(st, 9);
    ev.payload = (char *)orci_col_text(st, 10);
    char topics[ORCI_EVENT_TOPICS_MAX][ORCI_EVENT_TOPIC_MAX];
    char *names[ORCI_EVENT_TOPICS_MAX];
    ev.n_topics = row_topics(st, topics);
    for (size_t i = 0; i < ev.n_topics; i++)
        names[i] = topics[i];
    ev.topics = names;
    /*
     * The copies differ only in topic_prev_seq, the last field (13): the event is packed
     * once without it, and each copy appends the field's tag and varint, which is where
     * protobuf-c would have put it, so every copy is byte for byte the usual encoding.
     */
    uint8_t small[2048];
    size_t len = protobuf_c_message_get_packed_size(&ev.base);
    uint8_t *packed = len <= sizeof small ? small : malloc(len);
    if (packed == NULL) {
        atomic_fetch_add(&p->dropped, ev.n_topics);
        return ev.seq;
    }
    protobuf_c_message_pack(&ev.base, packed);
    for (size_t i = 0; i < ev.n_topics; i++) {
        uint64_t prev = (uint64_t)topic_prev_seq(p, db, topics[i], ev.seq, first_kept);
        uint8_t tail[11];
        size_t tn = 0;
        if (prev != 0) {
            tail[tn++] = (13 << 3) | 0; /* field 13, varint */
            for (; prev >= 0x80; prev >>= 7)
                tail[tn++] = (uint8_t)(prev | 0x80);
            tail[tn++] = (uint8_t)prev;
        }
        size_t tl = strlen(topics[i]);
        nng_msg *m = NULL;
        if (nng_msg_alloc(&m, tl + 1 + len + tn) != 0) {
            atomic_fetch_add(&p->dropped, 1);
            continue;
        }
        uint8_t *body = nng_msg_body(m);
        memcpy(body, topics[i], tl);
        body[tl] = '\0';
        memcpy(body + tl + 1, packed, len);
        memcpy(body + tl + 1 + len, tail, tn);
        /* nng_sendmsg would allocate (and seed with a getrandom call) an aio per copy. */
        nng_aio_set_msg(p->aio, m);
        nng_aio_set_timeout(p->aio, NNG_DURATION_ZERO);
        nng_send_aio(p->sock, p->aio);
        nng_aio_wait(p->aio);
        if (nng_aio_result(p->aio) != 0) {
            nng_msg_free(nng_aio_get_msg(p->aio));
            nng_aio_set_msg(p->aio, NULL);
            atomic_fetch_add(&p->dropped, 1);
        }
    }
    if (packed != small)
        free(packed);
    return ev.seq;
}

/*
 * pub_first_kept reads the retention floor, or INT64_MAX when it cannot: every copy then
 * gets seq - 1 as its topic_prev_seq, never a bound below a pruned event.
 */
static int64_t pub_first_kept(orci_db *db)
{
    orc_error err = {0};
    orci_stmt *st = orci_db_stmt(db, "SELECT first_kept FROM events_meta WHERE id = 1", &err);
    int64_t first = 0;
    bool found = false;
    if (st == NULL || orci_db_one_id(db, st, &first, &found, &err) != ORC_OK || !found) {
        orci_warn("events: cannot read the retention floor: %s",
                  err.code != ORC_OK ? err.message : "no retention row");
        return INT64_MAX;
    }
    return first;
}

/* publish_rows sends the events after p->last, in seq order. */
static void publish_rows(orci_events_pub *p, orci_db *db, int64_t first_kept)
{
    orc_error err = {0};
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT " EVENT_COLUMNS " FROM events WHERE seq > ?1"
                                 " ORDER BY seq",
                                 &err);
    if (st == NULL) {
        orci_warn("events: cannot read events to publish: %s", err.message);
        return;
    }
    orci_bind_int(st, 1, p->last);
    int r;
    while ((r = orci_db_row(db, st, &err)) == 1)
        p->last = publish_row(p, db, st, first_kept);
    if (r < 0)
        orci_warn("events: cannot read events to publish: %s", err.message);
}

/*
 * publish_new sends every event committed since the last call, on the publisher thread. It
 * reads in one snapshot, and sends only once everything the snapshot holds is on disk: a
 * commit newer than the one that woke the thread may not be synced yet.
 */
static void publish_new(orci_events_pub *p)
{
    orci_db *db = p->db;
    orc_error err = {0};
    /* PostgreSQL makes a commit durable before anyone sees it: no snapshot to wait for, and
     * none to pay two more round trips for. */
    bool snapshot = !orci_db_is_pg(db);
    if (snapshot && orci_db_read_begin(db, &err) != ORC_OK) {
        orci_warn("events: cannot read events to publish: %s", err.message);
        return;
    }
    int64_t first_kept = pub_first_kept(db); /* the snapshot's first read */
    orci_store_wait_durable(p->store);
    publish_rows(p, db, first_kept);
    if (snapshot)
        orci_db_read_end(db);
}

/* publish_hook is the store's commit hook, once commits are durable: it wakes the publisher. */
static void publish_hook(void *arg)
{
    orci_events_pub *p = arg;
    pthread_mutex_lock(&p->mu);
    p->pending = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* pub_main publishes after each wake-up; at the stop, what was committed before it. */
static void *pub_main(void *arg)
{
    prctl(PR_SET_NAME, "orc:publisher", 0, 0, 0);
    orci_events_pub *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->pending && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->pending)
            break;
        p->pending = false;
        pthread_mutex_unlock(&p->mu);
        publish_new(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* pub_init_job reads the newest seq on the writer thread, serialized with the commits. */
static int pub_init_job(orci_db *db, void *arg, orc_error *err)
{
    orci_events_pub *p = arg;
    int64_t first = 0, last = 0;
    int code = orci_events_bounds(db, &first, &last, err);
    if (code != ORC_OK)
        return code;
    p->last = last;
    return ORC_OK;
}

static void pub_free(orci_events_pub *p)
{
    orci_db_close(p->db);
    nng_aio_free(p->aio);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->topics);
    free(p);
}

int orci_events_pub_start(orci_store *s, nng_socket sock, orci_events_pub **out, orc_error *err)
{
    if (out == NULL || s == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_events_pub_start: no store or no output");
    *out = NULL;
    orci_events_pub *p = calloc(1, sizeof *p);
    if (p == NULL)
        return oom(err);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->topics = calloc(PUB_TOPIC_SLOTS, sizeof *p->topics);
    if (p->topics == NULL || nng_aio_alloc(&p->aio, NULL, NULL) != 0) {
        pub_free(p);
        return oom(err);
    }
    p->store = s;
    p->sock = sock;
    atomic_init(&p->dropped, 0);
    int code = orci_db_open_reader(s, &p->db, err);
    if (code != ORC_OK) {
        pub_free(p);
        return code;
    }
    /* The hook goes in first, then a write job reads where publishing starts: no commit
     * falls between the two, and a wake-up before the thread runs waits for it (pending). */
    orci_store_set_commit_hook(s, publish_hook, p);
    code = orci_store_write(s, pub_init_job, p, err);
    if (code == ORC_OK && pthread_create(&p->thread, NULL, pub_main, p) != 0)
        code = orc_error_set(err, ORC_INTERNAL, "cannot start the event publisher's thread");
    if (code != ORC_OK) {
        orci_store_set_commit_hook(s, NULL, NULL);
        pub_free(p);
        return code;
    }
    p->started = true;
    *out = p;
    return ORC_OK;
}

void orci_events_pub_stop(orci_events_pub *p)
{
    if (p == NULL)
        return;
    /* After the hook is gone no commit wakes the thread; what it was woken for it sends. */
    orci_store_set_commit_hook(p->store, NULL, NULL);
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started)
        pthread_join(p->thread, NULL);
    pub_free(p);
}

uint64_t orci_events_pub_dropped(const orci_events_pub *p)
{
    return p != NULL ? (uint64_t)atomic_load(&((orci_events_pub *)p)->dropped) : 0;
}
