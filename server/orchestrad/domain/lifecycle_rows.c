/*
 * lifecycle_rows.c: the bottom of the lifecycle (lifecycle_internal.h gives the direction):
 * the rows of tasks, assignments and iterations read into structs, every state change (each
 * appending its events, so that the event outbox sees them all), and the assignment of a
 * worker to a task (spec 3.1, 3.2). Calls nothing of the other lifecycle files.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "domain/graph.h"
#include "domain/lifecycle.h"
#include "domain/lifecycle_internal.h"
#include "json.h"
#include "log.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/events.h"
#include "vec.h"

#define MSG_NO_TASK "No task for given id"
#define MSG_NO_PROJECT "No project for given id"
#define MSG_REVIEW_POLICY "Review policy incorrectly specified."

/* ---- small helpers ----------------------------------------------------------------- */

const orci_rng *orci_lci_rng(const orci_lc *lc)
{
    return lc->rng != NULL ? lc->rng : &orci_rng_system;
}

bool orci_lci_expected_error(int code)
{
    return code == ORC_PERMISSION_DENIED || code == ORC_FAILED_PRECONDITION ||
           code == ORC_NOT_FOUND;
}

/* orci_lci_normalize_object parses text as a JSON object and returns its compact form (malloc'd).
 */
char *orci_lci_normalize_object(const char *text, const char *what, orc_error *err)
{
    if (text == NULL || text[0] == '\0')
        text = "{}";
    json_t *v = orci_json_parse_object(text, strlen(text), what, err);
    if (v == NULL)
        return NULL;
    char *out = orci_json_dump(v);
    json_decref(v);
    if (out == NULL)
        orc_error_set(err, ORC_INTERNAL, "out of memory");
    return out;
}

/* ---- loaders ------------------------------------------------------------------------ */

int orci_lci_load_task(orci_db *db, int64_t task_id, const char *not_found, orci_lci_task *t,
                       orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT t.id, t.step_id, t.project_id, t.start_datetime, t.status, s.is_human, p.status"
        " FROM tasks t JOIN steps s ON s.id = t.step_id JOIN projects p ON p.id = t.project_id"
        " WHERE t.id = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int code = orci_db_first_row(db, st, not_found, err);
    if (code != ORC_OK)
        return code;
    t->id = orci_col_int(st, 0);
    t->step_id = orci_col_int(st, 1);
    t->project_id = orci_col_int(st, 2);
    t->start_us = orci_col_int(st, 3);
    t->status = (int)orci_col_int(st, 4);
    t->is_human = orci_col_int(st, 5) != 0;
    t->project_status = (int)orci_col_int(st, 6);
    orci_stmt_reset(st);
    return ORC_OK;
}

/* row_fill reads the current row of a statement into one array slot. */
typedef void (*row_fill)(orci_stmt *st, void *slot);

/*
 * collect_rows steps a bound statement to its end, reading each row with fill into a growing
 * array of elem-byte slots: *out (malloc'd, caller frees; NULL when no row), *n rows. On
 * failure *out is NULL and *n 0.
 */
static int collect_rows(orci_db *db, orci_stmt *st, size_t elem, row_fill fill, void **out,
                        size_t *n, orc_error *err)
{
    *out = NULL;
    *n = 0;
    unsigned char *v = NULL;
    size_t count = 0, cap = 0;
    int code = ORC_OK;
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0) {
            code = orci_lci_db_err(err);
            goto fail;
        }
        if (r == 0)
            break;
        if (!orci_grow(&v, &cap, count + 1, elem)) {
            orci_stmt_reset(st);
            code = orc_error_set(err, ORC_INTERNAL, "out of memory");
            goto fail;
        }
        fill(st, v + count * elem);
        count++;
    }
    *out = v;
    *n = count;
    return ORC_OK;
fail:
    free(v);
    return code;
}

/* collect_by_id prepares sql, binds ?1 to id and collects its rows as collect_rows does. */
static int collect_by_id(orci_db *db, const char *sql, int64_t id, size_t elem, row_fill fill,
                         void **out, size_t *n, orc_error *err)
{
    *out = NULL;
    *n = 0;
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    return collect_rows(db, st, elem, fill, out, n, err);
}

static void fill_assignment(orci_stmt *st, void *slot)
{
    *(orci_lci_assignment *)slot = (orci_lci_assignment){
        .id = orci_col_int(st, 0),
        .worker_id = orci_col_int(st, 1),
        .start_us = orci_col_int(st, 2),
        .status = (int)orci_col_int(st, 3),
        .counter = (int)orci_col_int(st, 4),
    };
}

static void fill_iteration(orci_stmt *st, void *slot)
{
    *(orci_lci_iteration *)slot = (orci_lci_iteration){
        .id = orci_col_int(st, 0),
        .assignment_id = orci_col_int(st, 1),
        .start_us = orci_col_int(st, 2),
        .end_us = orci_col_is_null(st, 3) ? -1 : orci_col_int(st, 3),
        .status = (int)orci_col_int(st, 4),
        .submitted_empty = orci_col_int(st, 5) != 0,
    };
}

static void fill_id(orci_stmt *st, void *slot)
{
    *(int64_t *)slot = orci_col_int(st, 0);
}

int orci_lci_load_ids(orci_db *db, orci_stmt *st, int64_t **out, size_t *n, orc_error *err)
{
    void *v = NULL;
    int code = collect_rows(db, st, sizeof **out, fill_id, &v, n, err);
    *out = v;
    return code;
}

/* The loaders below sort their few rows here: an ORDER BY that no index gives costs SQLite a
 * temporary b-tree (allocations, a sorter) on every invariant check. */
static int cmp_assignment(const void *a, const void *b)
{
    const orci_lci_assignment *x = a, *y = b;
    if (x->counter != y->counter)
        return x->counter < y->counter ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_iteration(const void *a, const void *b)
{
    const orci_lci_iteration *x = a, *y = b;
    if (x->start_us != y->start_us)
        return x->start_us < y->start_us ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int orci_lci_load_assignments(orci_db *db, int64_t task_id, orci_lci_assignment **out, size_t *n,
                              orc_error *err)
{
    void *v = NULL;
    int code = collect_by_id(
        db,
        "SELECT id, COALESCE(worker_id, 0), start_datetime, status, assignment_counter"
        " FROM task_assignments WHERE task_id = ?1 AND is_deleted = 0",
        task_id, sizeof **out, fill_assignment, &v, n, err);
    if (code == ORC_OK && *n > 1)
        qsort(v, *n, sizeof **out, cmp_assignment); /* by counter, then id */
    *out = v;
    return code;
}

int orci_lci_load_iterations(orci_db *db, int64_t task_id, orci_lci_iteration **out, size_t *n,
                             orc_error *err)
{
    void *v = NULL;
    int code = collect_by_id(db,
                             "SELECT i.id, i.assignment_id, i.start_datetime, i.end_datetime,"
                             " i.status, i.submitted_data = '{}'"
                             " FROM iterations i JOIN task_assignments a ON a.id = i.assignment_id"
                             " WHERE a.task_id = ?1 AND a.is_deleted = 0 AND i.is_deleted = 0",
                             task_id, sizeof **out, fill_iteration, &v, n, err);
    if (code == ORC_OK && *n > 1)
        qsort(v, *n, sizeof **out, cmp_iteration); /* by start time, then id */
    *out = v;
    return code;
}

int orci_lci_next_id(orci_db *db, const char *sql, int64_t *id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    bool found = false;
    int code = orci_db_one_id(db, st, id, &found, err);
    if (code == ORC_OK && (!found || *id <= 0))
        code = orc_error_set(err, ORC_INTERNAL, "no next id from %s", sql);
    return code;
}

int orci_lci_project_status(orci_db *db, int64_t project_id, int *status, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, "SELECT status FROM projects WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int64_t v = 0;
    bool found = false;
    int code = orci_db_one_id(db, st, &v, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_NOT_FOUND, MSG_NO_PROJECT);
    *status = (int)v;
    return ORC_OK;
}

int orci_lci_worker_exists(orci_db *db, int64_t worker_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, "SELECT id FROM workers WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, worker_id);
    int64_t v = 0;
    bool found = false;
    int code = orci_db_one_id(db, st, &v, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_NOT_FOUND, "Worker matching query does not exist.");
    return ORC_OK;
}

int orci_lci_certified(orci_db *db, int64_t worker_id, int64_t step_id, int role, bool *ok,
                       orc_error *err)
{
    /* Upstream compares two counts: the step's required certifications and the worker's
     * REAL rows with this exact role among them (spec 3.1). */
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT (SELECT count(*) FROM step_certifications WHERE step_id = ?1),"
        " (SELECT count(*) FROM step_certifications sc JOIN worker_certifications wc"
        "  ON wc.certification_id = sc.certification_id"
        "  WHERE sc.step_id = ?1 AND wc.worker_id = ?2 AND wc.role = ?3 AND wc.task_class = 1)",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, step_id);
    orci_bind_int(st, 2, worker_id);
    orci_bind_int(st, 3, role);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_lci_db_err(err);
    if (r == 0)
        return orc_error_set(err, ORC_INTERNAL, "certification count returned no row");
    *ok = orci_col_int(st, 0) == orci_col_int(st, 1);
    orci_stmt_reset(st);
    return ORC_OK;
}

int orci_lci_worker_on_task(orci_db *db, int64_t worker_id, int64_t task_id, int *count,
                            orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT count(*) FROM task_assignments"
                                 " WHERE task_id = ?1 AND worker_id = ?2 AND is_deleted = 0",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    orci_bind_int(st, 2, worker_id);
    int64_t v = 0;
    bool found = false;
    int code = orci_db_one_id(db, st, &v, &found, err);
    if (code != ORC_OK)
        return code;
    *count = (int)v;
    return ORC_OK;
}

/* ---- state changes ------------------------------------------------------------------ */

/* set_column runs an UPDATE whose ?1 is the row id and ?2 the new value. */
static int set_column(orci_lc *lc, const char *sql, int64_t id, int64_t value, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    orci_bind_int(st, 2, value);
    return orci_db_step(lc->db, st, err);
}

/* get_column reads one integer column of a row by id (sql's ?1); ORC_INTERNAL if none. */
static int get_column(orci_lc *lc, const char *sql, int64_t id, int64_t *value, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    bool found = false;
    int code = orci_db_one_id(lc->db, st, value, &found, err);
    if (code == ORC_OK && !found)
        code = orc_error_set(err, ORC_INTERNAL, "row %lld vanished", (long long)id);
    return code;
}

/*
 * assignment_event appends an assignment event (type) with the assignment's task, worker
 * and statuses, and {"assignment_id", "counter"} as its payload; other_worker (0: none) is a
 * second worker concerned (reassignment), named in the payload as "previous_worker".
 */
int orci_lci_assignment_event(orci_lc *lc, const char *type, int64_t assignment_id,
                              const char *old_status, const char *new_status, int64_t other_worker,
                              orc_error *err)
{
    return orci_events_assignment_event(lc->db, lc->now_us, type, assignment_id, old_status,
                                        new_status, other_worker, err);
}

int orci_lci_machine_assignment_event(orci_lc *lc, const char *type, int64_t task_id,
                                      int64_t assignment_id, const char *old_status,
                                      const char *new_status, orc_error *err)
{
    const orci_event_task *ctx = NULL;
    int code = orci_lc_task_ctx(lc, task_id, &ctx, err);
    if (code != ORC_OK)
        return code;
    return orci_events_machine_assignment_event(lc->db, lc->now_us, type, ctx, assignment_id,
                                                old_status, new_status, err);
}

/* latest_worker is the worker of a task's highest-counter live assignment (0: none). */
static int latest_worker(orci_lc *lc, int64_t task_id, int64_t *worker_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT coalesce(worker_id, 0) FROM task_assignments"
                                 " WHERE task_id = ?1 AND is_deleted = 0"
                                 " ORDER BY assignment_counter DESC LIMIT 1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    bool found = false;
    *worker_id = 0;
    return orci_db_one_id(lc->db, st, worker_id, &found, err);
}

/*
 * orci_lci_set_task_status changes a task's status and appends task.status_changed and the
 * notifications of spec 3.7 that the new status alone decides: Pending Review (to the
 * submitter), Complete and Aborted (to every worker on the task). The ones that name the
 * worker an assignment went to are appended where the assignment is created or reopened.
 */
/*
 * task_status_change is orci_lci_set_task_status for a caller that knows the task's status
 * (old) and kind: the machine-step path, which reads the task anyway. A machine task has no
 * worker to notify (its assignment has none), so it skips the notifications' lookups.
 */
int orci_lci_task_status_change(orci_lc *lc, int64_t task_id, int old, int status, bool is_human,
                                orc_error *err)
{
    int code = set_column(lc, "UPDATE tasks SET status = ?2 WHERE id = ?1", task_id, status, err);
    if (code != ORC_OK || old == status)
        return code;
    const orci_event_task *ctx = NULL;
    if ((code = orci_lc_task_ctx(lc, task_id, &ctx, err)) != ORC_OK ||
        (code = orci_events_task_event_known(lc->db, lc->now_us, "task.status_changed", ctx,
                                             orci_task_status_label(old),
                                             orci_task_status_label(status), NULL, err)) != ORC_OK)
        return code;
    if (!is_human)
        return ORC_OK;
    if (status == ORCI_TASK_PENDING_REVIEW) {
        int64_t submitter = 0;
        if ((code = latest_worker(lc, task_id, &submitter, err)) != ORC_OK)
            return code;
        if (submitter > 0)
            return orci_events_notify(lc->db, lc->now_us, task_id, submitter,
                                      ORCI_NOTE_UNDER_REVIEW, err);
    } else if (status == ORCI_TASK_COMPLETE) {
        return orci_events_notify(lc->db, lc->now_us, task_id, 0, ORCI_NOTE_COMPLETE, err);
    } else if (status == ORCI_TASK_ABORTED) {
        return orci_events_notify(lc->db, lc->now_us, task_id, 0, ORCI_NOTE_ENDED, err);
    }
    return ORC_OK;
}

int orci_lci_set_task_status(orci_lc *lc, int64_t task_id, int status, orc_error *err)
{
    int64_t old = 0;
    int code = get_column(lc, "SELECT status FROM tasks WHERE id = ?1", task_id, &old, err);
    if (code != ORC_OK)
        return code;
    /* Not knowing the kind, look for workers to notify as always (a machine task has none). */
    return orci_lci_task_status_change(lc, task_id, (int)old, status, true, err);
}

int orci_lci_set_project_status(orci_lc *lc, int64_t project_id, int status, orc_error *err)
{
    int64_t old = 0;
    int code = get_column(lc, "SELECT status FROM projects WHERE id = ?1", project_id, &old, err);
    if (code != ORC_OK)
        return code;
    if ((code = set_column(lc, "UPDATE projects SET status = ?2 WHERE id = ?1", project_id, status,
                           err)) != ORC_OK)
        return code;
    if (old == status)
        return ORC_OK;
    orci_event_rec e = {.type = "project.status_changed",
                        .time_us = lc->now_us,
                        .old_status = orci_project_status_label((int)old),
                        .new_status = orci_project_status_label(status)};
    if ((code = orci_events_project_context(lc->db, project_id, &e, err)) != ORC_OK)
        return code;
    return orci_events_append(lc->db, &e, NULL, err);
}

int orci_lci_set_assignment_status(orci_lc *lc, int64_t assignment_id, int status, orc_error *err)
{
    int64_t old = 0;
    int code = get_column(lc, "SELECT status FROM task_assignments WHERE id = ?1", assignment_id,
                          &old, err);
    if (code != ORC_OK)
        return code;
    if ((code = set_column(lc, "UPDATE task_assignments SET status = ?2 WHERE id = ?1",
                           assignment_id, status, err)) != ORC_OK)
        return code;
    if (old == status)
        return ORC_OK;
    return orci_lci_assignment_event(lc, "assignment.status_changed", assignment_id,
                                     orci_assignment_status_label((int)old),
                                     orci_assignment_status_label(status), 0, err);
}

int orci_lci_set_assignment_worker(orci_lc *lc, int64_t assignment_id, int64_t worker_id,
                                   orc_error *err)
{
    int64_t old = 0;
    int code = get_column(lc, "SELECT coalesce(worker_id, 0) FROM task_assignments WHERE id = ?1",
                          assignment_id, &old, err);
    if (code != ORC_OK)
        return code;
    if ((code = set_column(lc, "UPDATE task_assignments SET worker_id = ?2 WHERE id = ?1",
                           assignment_id, worker_id, err)) != ORC_OK)
        return code;
    if (old == worker_id)
        return ORC_OK;
    return orci_lci_assignment_event(lc, "assignment.reassigned", assignment_id, NULL, NULL, old,
                                     err);
}

/* iteration_start opens a Processing iteration of an assignment at start_us. */
int orci_lci_iteration_start(orci_lc *lc, int64_t assignment_id, int64_t start_us, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "INSERT INTO iterations (created_at, start_datetime,"
                                 " assignment_id, status, submitted_data)"
                                 " VALUES (?1, ?2, ?3, 0, '{}')",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, lc->now_us);
    orci_bind_int(st, 2, start_us);
    orci_bind_int(st, 3, assignment_id);
    return orci_db_step(lc->db, st, err);
}

/*
 * assignment_create is "assignment created": a Processing assignment at now with its first
 * iteration starting at the assignment's start.
 */
static int assignment_create(orci_lc *lc, int64_t task_id, int64_t worker_id, int counter,
                             const char *data, int64_t *assignment_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        lc->db,
        "INSERT INTO task_assignments (created_at, start_datetime, worker_id, task_id, status,"
        " assignment_counter, in_progress_task_data) VALUES (?1, ?1, ?2, ?3, 0, ?4, ?5)"
        " RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, lc->now_us);
    orci_bind_int(st, 2, worker_id);
    orci_bind_int(st, 3, task_id);
    orci_bind_int(st, 4, counter);
    orci_bind_text(st, 5, data);
    int64_t id = 0;
    int code = orci_db_insert(lc->db, st, &id, err);
    if (code != ORC_OK)
        return code;
    if (assignment_id != NULL)
        *assignment_id = id;
    if ((code = orci_lci_iteration_start(lc, id, lc->now_us, err)) != ORC_OK ||
        (code = orci_lci_assignment_event(lc, "assignment.created", id, NULL,
                                          orci_assignment_status_label(ORCI_ASSIGNMENT_PROCESSING),
                                          0, err)) != ORC_OK)
        return code;
    /* The task entered Processing or Reviewing for this worker (spec 3.7). */
    if (worker_id > 0)
        code = orci_events_notify(lc->db, lc->now_us, task_id, worker_id, ORCI_NOTE_ASSIGNED, err);
    return code;
}

/*
 * assignment_submit is "assignment submitted": the data is stored, the latest iteration is
 * closed with iteration_status and the data at now, and the assignment becomes Submitted.
 */
int orci_lci_assignment_submit(orci_lc *lc, int64_t assignment_id, const char *data,
                               int iteration_status, int64_t machine_task_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "UPDATE task_assignments SET in_progress_task_data = ?2,"
                                 " status = 1 WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, assignment_id);
    orci_bind_text(st, 2, data);
    int code = orci_db_step(lc->db, st, err);
    if (code != ORC_OK)
        return code;
    /* The latest iteration: the newest start, the highest id among equals. Written so that
     * the index on assignment_id gives the order (ORDER BY start_datetime DESC, id DESC needed
     * a sorter on every submission). */
    st = orci_db_stmt(lc->db,
                      "SELECT id FROM iterations WHERE assignment_id = ?1 AND is_deleted = 0"
                      " AND start_datetime = (SELECT max(start_datetime) FROM iterations"
                      " WHERE assignment_id = ?1 AND is_deleted = 0) ORDER BY id DESC LIMIT 1",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, assignment_id);
    int64_t iteration_id = 0;
    bool found = false;
    if ((code = orci_db_one_id(lc->db, st, &iteration_id, &found, err)) != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_INTERNAL, "assignment %lld has no iteration",
                             (long long)assignment_id);
    st = orci_db_stmt(lc->db,
                      "UPDATE iterations SET status = ?2, submitted_data = ?3,"
                      " end_datetime = ?4 WHERE id = ?1",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, iteration_id);
    orci_bind_int(st, 2, iteration_status);
    orci_bind_text(st, 3, data);
    orci_bind_int(st, 4, lc->now_us);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
        return code;
    if (machine_task_id > 0)
        return orci_lci_machine_assignment_event(
            lc, "assignment.submitted", machine_task_id, assignment_id,
            orci_assignment_status_label(ORCI_ASSIGNMENT_PROCESSING),
            orci_assignment_status_label(ORCI_ASSIGNMENT_SUBMITTED), err);
    return orci_lci_assignment_event(lc, "assignment.submitted", assignment_id,
                                     orci_assignment_status_label(ORCI_ASSIGNMENT_PROCESSING),
                                     orci_assignment_status_label(ORCI_ASSIGNMENT_SUBMITTED), 0,
                                     err);
}

/*
 * assignment_reopen is "assignment reopened": the task's assignment at counter becomes
 * Processing with data as its in-progress data, and a new iteration starts at now.
 */
int orci_lci_assignment_reopen(orci_lc *lc, int64_t task_id, int counter, const char *data,
                               orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT id FROM task_assignments WHERE task_id = ?1"
                                 " AND assignment_counter = ?2 AND is_deleted = 0",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    orci_bind_int(st, 2, counter);
    int64_t id = 0;
    bool found = false;
    int code = orci_db_one_id(lc->db, st, &id, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_INTERNAL, "task %lld has no assignment with counter %d",
                             (long long)task_id, counter);
    st = orci_db_stmt(lc->db,
                      "UPDATE task_assignments SET in_progress_task_data = ?2, status = 0"
                      " WHERE id = ?1",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    orci_bind_text(st, 2, data);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK ||
        (code = orci_lci_iteration_start(lc, id, lc->now_us, err)) != ORC_OK ||
        (code = orci_lci_assignment_event(
             lc, "assignment.returned", id, orci_assignment_status_label(ORCI_ASSIGNMENT_SUBMITTED),
             orci_assignment_status_label(ORCI_ASSIGNMENT_PROCESSING), 0, err)) != ORC_OK)
        return code;
    /* Spec 3.7: back to a lower level is "returned"; back up to the reviewer after a
     * post-review round is "ready for re-review". */
    int64_t task_status = 0, worker_id = 0;
    if ((code = get_column(lc, "SELECT status FROM tasks WHERE id = ?1", task_id, &task_status,
                           err)) != ORC_OK ||
        (code = get_column(lc, "SELECT coalesce(worker_id, 0) FROM task_assignments WHERE id = ?1",
                           id, &worker_id, err)) != ORC_OK)
        return code;
    if (worker_id <= 0)
        return ORC_OK;
    if (task_status == ORCI_TASK_POST_REVIEW_PROCESSING)
        return orci_events_notify(lc->db, lc->now_us, task_id, worker_id, ORCI_NOTE_RETURNED, err);
    if (task_status == ORCI_TASK_REVIEWING)
        return orci_events_notify(lc->db, lc->now_us, task_id, worker_id,
                                  ORCI_NOTE_READY_FOR_REREVIEW, err);
    return ORC_OK;
}

/* ---- assignment --------------------------------------------------------------------- */

/* assignment_data copies an assignment's in-progress data (malloc'd). */
static char *assignment_data(orci_db *db, int64_t assignment_id, orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(db, "SELECT in_progress_task_data FROM task_assignments WHERE id = ?1", err);
    if (st == NULL)
        return NULL;
    orci_bind_int(st, 1, assignment_id);
    int r = orci_db_row(db, st, err);
    if (r <= 0) {
        if (r == 0)
            orc_error_set(err, ORC_INTERNAL, "assignment %lld vanished", (long long)assignment_id);
        return NULL;
    }
    char *out = strdup(orci_col_text(st, 0));
    orci_stmt_reset(st);
    if (out == NULL)
        orc_error_set(err, ORC_INTERNAL, "out of memory");
    return out;
}

/*
 * orci_lci_assign_core is assign_task (spec 3.1 and 3.2) without the invariant check. Every check
 * happens before the first write, so a refusal leaves the database untouched (new_task and
 * the assignment policies rely on that).
 */
int orci_lci_assign_core(orci_lc *lc, int64_t worker_id, int64_t task_id, int64_t *assignment_id,
                         orc_error *err)
{
    orci_lci_task t;
    orci_lci_assignment *as = NULL;
    size_t n = 0;
    char *data = NULL;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        return code;
    if ((code = orci_lci_worker_exists(lc->db, worker_id, err)) != ORC_OK)
        return code;
    if (t.project_status != ORCI_PROJECT_ACTIVE)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Project is not active.");
    if (!t.is_human)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Machine tasks cannot be assigned to workers.");
    int role, next;
    if (t.status == ORCI_TASK_AWAITING_PROCESSING) {
        role = ORCI_ROLE_ENTRY_LEVEL;
        next = ORCI_TASK_PROCESSING;
    } else if (t.status == ORCI_TASK_PENDING_REVIEW) {
        role = ORCI_ROLE_REVIEWER;
        next = ORCI_TASK_REVIEWING;
    } else {
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Status incompatible with new assignment");
    }
    if ((code = orci_lci_load_assignments(lc->db, task_id, &as, &n, err)) != ORC_OK)
        return code;
    if (t.status == ORCI_TASK_AWAITING_PROCESSING && n > 0) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Task is in incorrect state");
        goto out;
    }
    bool certified = false;
    if ((code = orci_lci_certified(lc->db, worker_id, t.step_id, role, &certified, err)) != ORC_OK)
        goto out;
    if (!certified) {
        code = orc_error_set(err, ORC_PERMISSION_DENIED, "Worker not certified for this task.");
        goto out;
    }
    int seats = 0;
    if ((code = orci_lci_worker_on_task(lc->db, worker_id, task_id, &seats, err)) != ORC_OK)
        goto out;
    if (seats > 0) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Worker already assigned to this task.");
        goto out;
    }
    /* The new level starts from the current (highest-counter) assignment's data. */
    if (n > 0) {
        if ((data = assignment_data(lc->db, as[n - 1].id, err)) == NULL) {
            code = orci_lci_db_err(err);
            goto out;
        }
    }
    if ((code = orci_lci_set_task_status(lc, task_id, next, err)) != ORC_OK)
        goto out;
    code = assignment_create(lc, task_id, worker_id, (int)n, data != NULL ? data : "{}",
                             assignment_id, err);
out:
    free(data);
    free(as);
    return code;
}
