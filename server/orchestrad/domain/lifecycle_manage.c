/*
 * lifecycle_manage.c: the management operations of spec 3.4: end project, pause and resume,
 * reassign, complete-and-skip and revert with its audit.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "domain/jobs.h"
#include "domain/lifecycle.h"
#include "domain/lifecycle_internal.h"
#include "store/db.h"
#include "store/events.h"

#define MSG_NO_TASK "No task for given id"

/* ---- end, pause, resume ------------------------------------------------------------- */

/*
 * abort_completion queues the version's abort_completion_function (upstream HEAD: a Python
 * function called with the project when it is ended) as a job for an executor (the
 * coordinator never runs user code; domain/jobs_hooks.c) and announces it as the event
 * project.abort_completion {"function": {...}, "job_id": N}. Called after the project's jobs
 * were cancelled, which the hook's job is not.
 */
static int abort_completion(orci_lc *lc, int64_t project_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT v.abort_completion_function FROM projects p"
                                 " JOIN workflow_versions v ON v.id = p.workflow_version_id"
                                 " WHERE p.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int r = orci_db_row(lc->db, st, err);
    if (r <= 0)
        return r < 0 ? orci_lci_db_err(err) : ORC_OK;
    json_t *fn = json_loads(orci_col_text(st, 0), 0, NULL);
    bool hook = json_object_size(fn) > 0; /* "{}": the version has none */
    char *spec = hook ? strdup(orci_col_text(st, 0)) : NULL;
    orci_stmt_reset(st);
    if (!hook || spec == NULL) {
        json_decref(fn);
        return hook ? orc_error_set(err, ORC_INTERNAL, "out of memory") : ORC_OK;
    }
    int64_t job_id = 0;
    int code = orci_jobs_create_abort(lc, project_id, spec, &job_id, err);
    free(spec);
    if (code != ORC_OK) {
        json_decref(fn);
        return code;
    }
    json_t *payload = json_pack("{s:o, s:I}", "function", fn, "job_id", (json_int_t)job_id);
    if (payload == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    orci_event_rec e = {
        .type = "project.abort_completion", .time_us = lc->now_us, .payload = payload};
    code = orci_events_project_context(lc->db, project_id, &e, err);
    if (code == ORC_OK)
        code = orci_events_append(lc->db, &e, NULL, err);
    json_decref(payload);
    return code;
}

int orci_lc_end_project(orci_lc *lc, int64_t project_id, orc_error *err)
{
    int status = 0;
    int code = orci_lci_project_status(lc->db, project_id, &status, err);
    if (code != ORC_OK)
        return code;
    bool first = status != ORCI_PROJECT_ABORTED;
    if (first &&
        (code = orci_lci_set_project_status(lc, project_id, ORCI_PROJECT_ABORTED, err)) != ORC_OK)
        return code;
    /* Every task, Complete ones included; assignments stay as they are (spec 3.2). */
    orci_stmt *st = orci_db_stmt(
        lc->db, "SELECT id FROM tasks WHERE project_id = ?1 AND status != 6 ORDER BY id", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int64_t *ids = NULL;
    size_t n = 0;
    if ((code = orci_lci_load_ids(lc->db, st, &ids, &n, err)) != ORC_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((code = orci_lci_set_task_status(lc, ids[i], ORCI_TASK_ABORTED, err)) != ORC_OK)
            goto out;
    /* Its machine steps stop too: queued jobs are never leased, running ones are told. The
     * abort hook is queued after that, so that it is not cancelled with them. */
    if ((code = orci_jobs_cancel_project(lc, project_id, err)) != ORC_OK ||
        (first && (code = abort_completion(lc, project_id, err)) != ORC_OK))
        goto out;
    code = orci_lci_check_project(lc->db, project_id, err);
out:
    free(ids);
    return code;
}

int orci_lc_set_project_status(orci_lc *lc, int64_t project_id, int status, orc_error *err)
{
    if (status == ORCI_PROJECT_ABORTED)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Use end project to abort a project.");
    if (status == ORCI_PROJECT_COMPLETED)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "A project becomes Completed by itself when all its tasks are "
                             "complete.");
    if (status != ORCI_PROJECT_ACTIVE && status != ORCI_PROJECT_PAUSED)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Invalid project status.");
    int current = 0;
    int code = orci_lci_project_status(lc->db, project_id, &current, err);
    if (code != ORC_OK)
        return code;
    if (current == status)
        return ORC_OK;
    if (current != ORCI_PROJECT_ACTIVE && current != ORCI_PROJECT_PAUSED)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Project is %s; only Active and Paused projects can be paused or "
                             "resumed.",
                             orci_project_status_label(current));
    if ((code = orci_lci_set_project_status(lc, project_id, status, err)) != ORC_OK)
        return code;
    /* A task may have been completed by an admin while the project was paused. */
    if (status == ORCI_PROJECT_ACTIVE &&
        (code = orci_lci_complete_if_done(lc, project_id, err)) != ORC_OK)
        return code;
    /* Its jobs may be leased again: wake the executors waiting for work. */
    if (status == ORCI_PROJECT_ACTIVE && (code = orci_jobs_signal(lc->db, err)) != ORC_OK)
        return code;
    return orci_lci_check_project(lc->db, project_id, err);
}

/* ---- reassign, complete and skip ---------------------------------------------------- */

int orci_lc_reassign(orci_lc *lc, int64_t assignment_id, int64_t worker_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT task_id, assignment_counter FROM task_assignments"
                                 " WHERE id = ?1 AND is_deleted = 0",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, assignment_id);
    int code = orci_db_first_row(lc->db, st, "No assignment for given id", err);
    if (code != ORC_OK)
        return code;
    int64_t task_id = orci_col_int(st, 0);
    int counter = (int)orci_col_int(st, 1);
    orci_stmt_reset(st);

    code = orci_lci_worker_exists(lc->db, worker_id, err);
    if (code != ORC_OK)
        return code;
    orci_lci_task t;
    if ((code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err)) != ORC_OK)
        return code;
    if (!t.is_human)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Machine tasks cannot be assigned to workers.");
    int role = counter > 0 ? ORCI_ROLE_REVIEWER : ORCI_ROLE_ENTRY_LEVEL;
    bool certified = false;
    if ((code = orci_lci_certified(lc->db, worker_id, t.step_id, role, &certified, err)) != ORC_OK)
        return code;
    if (!certified)
        return orc_error_set(err, ORC_PERMISSION_DENIED,
                             "Worker not certified for this assignment.");
    int seats = 0;
    if ((code = orci_lci_worker_on_task(lc->db, worker_id, task_id, &seats, err)) != ORC_OK)
        return code;
    if (seats > 0)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Worker already assigned to this task.");
    if ((code = orci_lci_set_assignment_worker(lc, assignment_id, worker_id, err)) != ORC_OK)
        return code;
    return orci_lc_check_changed(lc->db, task_id, err);
}

int orci_lc_complete_and_skip(orci_lc *lc, int64_t task_id, orc_error *err)
{
    orci_lci_task t;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        return code;
    if (t.status == ORCI_TASK_ABORTED)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Cannot complete and skip an aborted task.");
    orci_lci_assignment *as = NULL;
    size_t n = 0;
    if ((code = orci_lci_load_assignments(lc->db, task_id, &as, &n, err)) != ORC_OK)
        return code;
    bool changed = t.status != ORCI_TASK_COMPLETE;
    if (changed &&
        (code = orci_lci_set_task_status(lc, task_id, ORCI_TASK_COMPLETE, err)) != ORC_OK)
        goto out;
    /* DOC behaviour: assignments become Submitted, iterations are left alone. */
    for (size_t i = 0; i < n; i++) {
        if (as[i].status == ORCI_ASSIGNMENT_SUBMITTED)
            continue;
        changed = true;
        if ((code = orci_lci_set_assignment_status(lc, as[i].id, ORCI_ASSIGNMENT_SUBMITTED, err)) !=
            ORC_OK)
            goto out;
    }
    /* The task is checked when this changed it: a Complete task left as it was may be one an
     * import kept though its rows break the rules (lifecycle_internal.h). */
    if ((code = orci_lci_create_subsequent(lc, t.project_id, err)) != ORC_OK ||
        (changed && (code = orci_lc_check_changed(lc->db, task_id, err)) != ORC_OK))
        goto out;
    code = orci_lci_check_project(lc->db, t.project_id, err);
out:
    free(as);
    return code;
}

/* ---- revert ------------------------------------------------------------------------- */

enum { CHANGE_UNCHANGED = 0, CHANGE_REVERTED = 1, CHANGE_DELETED = 2 };

static json_t *time_json(orci_stmt *st, int col)
{
    if (orci_col_is_null(st, col))
        return json_null();
    char buf[40];
    orci_time_format(orci_col_int(st, col), buf, sizeof buf);
    return json_string(buf);
}

/* data_json parses stored JSON text (validated on the way in); {} if it cannot. */
static json_t *data_json(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v != NULL ? v : json_object();
}

/* iterations_json serializes an assignment's live iterations like project_information. */
static int iterations_json(orci_db *db, int64_t assignment_id, json_t *out, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT id, start_datetime, end_datetime, status,"
                                 " assignment_id, submitted_data FROM iterations"
                                 " WHERE assignment_id = ?1 AND is_deleted = 0"
                                 " ORDER BY start_datetime, id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, assignment_id);
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0)
            return orci_lci_db_err(err);
        if (r == 0)
            return ORC_OK;
        json_t *it = json_object();
        json_object_set_new(it, "id", json_integer(orci_col_int(st, 0)));
        json_object_set_new(it, "start_datetime", time_json(st, 1));
        json_object_set_new(it, "end_datetime", time_json(st, 2));
        json_object_set_new(it, "status",
                            json_string(orci_iteration_status_label((int)orci_col_int(st, 3))));
        json_object_set_new(it, "assignment", json_integer(orci_col_int(st, 4)));
        json_object_set_new(it, "submitted_data", data_json(orci_col_text(st, 5)));
        json_array_append_new(out, it);
    }
}

/*
 * task_json serializes a task with its live assignments and their iterations, with the field
 * names of project_information (spec 4.3); statuses are labels as upstream's serializers
 * give them.
 */
static int task_json(orci_db *db, int64_t task_id, json_t **out, orc_error *err)
{
    *out = NULL;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT t.id, s.slug, t.project_id, t.status, t.start_datetime"
                                 " FROM tasks t JOIN steps s ON s.id = t.step_id"
                                 " WHERE t.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int code = orci_db_first_row(db, st, MSG_NO_TASK, err);
    if (code != ORC_OK)
        return code;
    json_t *task = json_object();
    json_object_set_new(task, "id", json_integer(orci_col_int(st, 0)));
    json_object_set_new(task, "step_slug", json_string(orci_col_text(st, 1)));
    json_object_set_new(task, "project", json_integer(orci_col_int(st, 2)));
    json_object_set_new(task, "status",
                        json_string(orci_task_status_label((int)orci_col_int(st, 3))));
    json_object_set_new(task, "start_datetime", time_json(st, 4));
    orci_stmt_reset(st);

    json_t *assignments = json_array();
    json_t *latest = json_null();
    st = orci_db_stmt(db,
                      "SELECT a.id, a.start_datetime, a.worker_id, u.username, u.first_name,"
                      " u.last_name, a.task_id, a.status, a.in_progress_task_data"
                      " FROM task_assignments a LEFT JOIN workers w ON w.id = a.worker_id"
                      " LEFT JOIN users u ON u.id = w.user_id"
                      " WHERE a.task_id = ?1 AND a.is_deleted = 0 ORDER BY a.assignment_counter",
                      err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto fail;
    }
    orci_bind_int(st, 1, task_id);
    bool have_processing = false;
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0) {
            code = orci_lci_db_err(err);
            goto fail;
        }
        if (r == 0)
            break;
        json_t *a = json_object();
        json_array_append_new(assignments, a);
        json_object_set_new(a, "id", json_integer(orci_col_int(st, 0)));
        json_object_set_new(a, "start_datetime", time_json(st, 1));
        json_t *worker = json_object();
        bool machine = orci_col_is_null(st, 2);
        json_object_set_new(worker, "id",
                            machine ? json_null() : json_integer(orci_col_int(st, 2)));
        json_object_set_new(worker, "username",
                            machine ? json_null() : json_string(orci_col_text(st, 3)));
        json_object_set_new(worker, "first_name",
                            machine ? json_null() : json_string(orci_col_text(st, 4)));
        json_object_set_new(worker, "last_name",
                            machine ? json_null() : json_string(orci_col_text(st, 5)));
        json_object_set_new(a, "worker", worker);
        json_object_set_new(a, "task", json_integer(orci_col_int(st, 6)));
        int status = (int)orci_col_int(st, 7);
        json_object_set_new(a, "status", json_string(orci_assignment_status_label(status)));
        json_t *data = data_json(orci_col_text(st, 8));
        json_object_set_new(a, "in_progress_task_data", data);
        /* latest_data: the Processing assignment's data, else the highest counter's. */
        if (!have_processing) {
            json_decref(latest);
            latest = json_deep_copy(data);
            have_processing = status == ORCI_ASSIGNMENT_PROCESSING;
        }
        json_t *its = json_array();
        json_object_set_new(a, "iterations", its);
    }
    /* Iterations after the assignment query is done: both share no statement, but keeping
     * one query open while running another on the cache is avoided on principle. */
    for (size_t i = 0; i < json_array_size(assignments); i++) {
        json_t *a = json_array_get(assignments, i);
        int64_t aid = json_integer_value(json_object_get(a, "id"));
        if ((code = iterations_json(db, aid, json_object_get(a, "iterations"), err)) != ORC_OK)
            goto fail;
    }
    json_object_set_new(task, "latest_data", latest);
    json_object_set_new(task, "assignments", assignments);
    *out = task;
    return ORC_OK;
fail:
    json_decref(latest);
    json_decref(assignments);
    json_decref(task);
    return code;
}

/* later_than orders iterations by start time, then id (spec: "later-starting"). */
static bool later_than(const orci_lci_iteration *a, const orci_lci_iteration *b)
{
    return a->start_us > b->start_us || (a->start_us == b->start_us && a->id > b->id);
}

static int soft_delete_iteration(orci_lc *lc, int64_t id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db, "UPDATE iterations SET is_deleted = 1 WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    return orci_db_step(lc->db, st, err);
}

static int soft_delete_assignment(orci_lc *lc, int64_t id, orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(lc->db, "UPDATE iterations SET is_deleted = 1 WHERE assignment_id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    int code = orci_db_step(lc->db, st, err);
    if (code != ORC_OK)
        return code;
    st = orci_db_stmt(lc->db, "UPDATE task_assignments SET is_deleted = 1 WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    return orci_db_step(lc->db, st, err);
}

static int reopen_iteration(orci_lc *lc, int64_t id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "UPDATE iterations SET status = 0, end_datetime = NULL,"
                                 " submitted_data = '{}' WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    return orci_db_step(lc->db, st, err);
}

/* revert_apply carries the computed changes out (spec 3.4, applied only with commit). */
static int revert_apply(orci_lc *lc, const orci_lci_task *t, const orci_lci_assignment *as,
                        size_t n, const int *achange, const orci_lci_iteration *it,
                        const int *ichange, size_t m, int reverted_status, orc_error *err)
{
    int code = orci_lci_set_task_status(lc, t->id, reverted_status, err);
    if (code != ORC_OK)
        return code;
    for (size_t k = 0; k < n; k++) {
        if (achange[k] == CHANGE_DELETED) {
            if ((code = soft_delete_assignment(lc, as[k].id, err)) != ORC_OK)
                return code;
            continue;
        }
        if (achange[k] != CHANGE_REVERTED)
            continue;
        const orci_lci_iteration *last = NULL;
        for (size_t i = 0; i < m; i++) {
            if (it[i].assignment_id != as[k].id)
                continue;
            if (ichange[i] == CHANGE_DELETED)
                code = soft_delete_iteration(lc, it[i].id, err);
            else if (ichange[i] == CHANGE_REVERTED)
                code = reopen_iteration(lc, it[i].id, err);
            if (code != ORC_OK)
                return code;
            if (ichange[i] != CHANGE_DELETED)
                last = &it[i];
        }
        /* The assignment follows its latest remaining iteration. A reverted iteration is
         * Processing again. */
        bool processing = last != NULL && (ichange[last - it] == CHANGE_REVERTED ||
                                           last->status == ORCI_ITERATION_PROCESSING);
        int status = processing ? ORCI_ASSIGNMENT_PROCESSING : ORCI_ASSIGNMENT_SUBMITTED;
        if (status != as[k].status &&
            (code = orci_lci_set_assignment_status(lc, as[k].id, status, err)) != ORC_OK)
            return code;
    }
    /* A completed project whose task is open again is active again. */
    if (t->project_status == ORCI_PROJECT_COMPLETED && reverted_status != ORCI_TASK_COMPLETE)
        code = orci_lci_set_project_status(lc, t->project_id, ORCI_PROJECT_ACTIVE, err);
    return code;
}

/* revert_audit assembles the audit document from the serialized task and the changes. */
static json_t *revert_audit(json_t *task, size_t n, const int *achange,
                            const orci_lci_iteration *it, const int *ichange, size_t m,
                            int reverted_status)
{
    json_t *audit = json_object();
    json_t *list = json_array();
    json_t *serialized = json_object_get(task, "assignments");
    for (size_t k = 0; k < n; k++) {
        json_t *a = json_array_get(serialized, k);
        json_t *entry = json_object();
        json_object_set_new(entry, "assignment", json_deep_copy(a));
        json_object_set_new(entry, "change", json_integer(achange[k]));
        json_t *its = json_array();
        json_t *sits = json_object_get(a, "iterations");
        for (size_t j = 0; j < json_array_size(sits); j++) {
            json_t *si = json_array_get(sits, j);
            int64_t id = json_integer_value(json_object_get(si, "id"));
            int change = CHANGE_UNCHANGED;
            for (size_t i = 0; i < m; i++)
                if (it[i].id == id)
                    change = ichange[i];
            json_t *ie = json_object();
            json_object_set_new(ie, "iteration", json_deep_copy(si));
            json_object_set_new(ie, "change", json_integer(change));
            json_array_append_new(its, ie);
        }
        json_object_set_new(entry, "iterations", its);
        json_array_append_new(list, entry);
    }
    json_object_set(audit, "task", task);
    json_object_set_new(audit, "assignments", list);
    json_object_set_new(audit, "reverted_status", json_integer(reverted_status));
    return audit;
}

/* revert_target finds the iteration to revert to and checks that it may be used. */
static int revert_target(const orci_lci_iteration *it, size_t m, int64_t task_id,
                         int64_t iteration_id, bool revert_before,
                         const orci_lci_iteration **target, orc_error *err)
{
    *target = NULL;
    for (size_t i = 0; i < m; i++)
        if (it[i].id == iteration_id)
            *target = &it[i];
    if (*target == NULL)
        return orc_error_set(err, ORC_NOT_FOUND, "Iteration %lld is not an iteration of task %lld",
                             (long long)iteration_id, (long long)task_id);
    if (!revert_before)
        return ORC_OK;
    for (size_t i = 0; i < m; i++) {
        if (it[i].assignment_id != (*target)->assignment_id)
            continue;
        if (&it[i] != *target)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "Cannot revert before an iteration that isn't the first of "
                                 "its assignment.");
        break;
    }
    return ORC_OK;
}

/*
 * revert_plan marks what a revert to target does to each iteration (ichange) and assignment
 * (achange) and returns the task's status afterwards.
 */
static int revert_plan(const orci_lci_assignment *as, size_t n, const orci_lci_iteration *it,
                       size_t m, const orci_lci_iteration *target, bool revert_before, int *achange,
                       int *ichange)
{
    size_t remaining = 0;
    const orci_lci_iteration *newest = NULL, *second = NULL;
    for (size_t i = 0; i < m; i++) {
        bool is_target = it[i].id == target->id;
        if (revert_before)
            ichange[i] =
                is_target || later_than(&it[i], target) ? CHANGE_DELETED : CHANGE_UNCHANGED;
        else
            ichange[i] = is_target                    ? CHANGE_REVERTED
                         : later_than(&it[i], target) ? CHANGE_DELETED
                                                      : CHANGE_UNCHANGED;
        if (ichange[i] != CHANGE_DELETED) {
            remaining++;
            second = newest;
            newest = &it[i];
        }
    }
    for (size_t k = 0; k < n; k++) {
        size_t total = 0, deleted = 0, reverted = 0;
        for (size_t i = 0; i < m; i++) {
            if (it[i].assignment_id != as[k].id)
                continue;
            total++;
            deleted += ichange[i] == CHANGE_DELETED;
            reverted += ichange[i] == CHANGE_REVERTED;
        }
        achange[k] = deleted == total         ? CHANGE_DELETED
                     : deleted + reverted > 0 ? CHANGE_REVERTED
                                              : CHANGE_UNCHANGED;
    }
    if (remaining == 0)
        return ORCI_TASK_AWAITING_PROCESSING;
    if (revert_before)
        return ORCI_TASK_PENDING_REVIEW;
    if (remaining == 1)
        return ORCI_TASK_PROCESSING;
    return second->status == ORCI_ITERATION_REQUESTED_REVIEW ? ORCI_TASK_REVIEWING
                                                             : ORCI_TASK_POST_REVIEW_PROCESSING;
}

int orci_lc_revert(orci_lc *lc, int64_t task_id, int64_t iteration_id, bool revert_before,
                   bool commit, char **audit_json, orc_error *err)
{
    if (audit_json != NULL)
        *audit_json = NULL;
    orci_lci_task t;
    orci_lci_assignment *as = NULL;
    orci_lci_iteration *it = NULL;
    int *achange = NULL, *ichange = NULL;
    size_t n = 0, m = 0;
    json_t *task = NULL, *audit = NULL;
    const orci_lci_iteration *target = NULL;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        return code;
    if ((code = orci_lci_load_assignments(lc->db, task_id, &as, &n, err)) != ORC_OK ||
        (code = orci_lci_load_iterations(lc->db, task_id, &it, &m, err)) != ORC_OK ||
        (code = revert_target(it, m, task_id, iteration_id, revert_before, &target, err)) != ORC_OK)
        goto out;
    if (t.status == ORCI_TASK_ABORTED) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Cannot revert aborted task.");
        goto out;
    }
    achange = calloc(n + 1, sizeof *achange);
    ichange = calloc(m + 1, sizeof *ichange);
    if (achange == NULL || ichange == NULL) {
        code = orc_error_set(err, ORC_INTERNAL, "out of memory");
        goto out;
    }
    int reverted_status = revert_plan(as, n, it, m, target, revert_before, achange, ichange);
    if ((code = task_json(lc->db, task_id, &task, err)) != ORC_OK)
        goto out;
    audit = revert_audit(task, n, achange, it, ichange, m, reverted_status);
    if (commit) {
        if ((code = revert_apply(lc, &t, as, n, achange, it, ichange, m, reverted_status, err)) !=
            ORC_OK)
            goto out;
        /* A machine step taken back from Complete runs again (upstream left it stuck). */
        if (!t.is_human && reverted_status != ORCI_TASK_COMPLETE &&
            (code = orci_jobs_requeue(lc, task_id, err)) != ORC_OK)
            goto out;
        if ((code = orci_lc_check_changed(lc->db, task_id, err)) != ORC_OK)
            goto out;
    }
    if (audit_json != NULL) {
        *audit_json = json_dumps(audit, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (*audit_json == NULL)
            code = orc_error_set(err, ORC_INTERNAL, "out of memory");
    }
out:
    json_decref(audit);
    json_decref(task);
    free(ichange);
    free(achange);
    free(it);
    free(as);
    return code;
}
