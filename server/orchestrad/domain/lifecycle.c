/*
 * lifecycle.c: the transitions workers and executors drive: assignment with its invariant
 * check, save and submit with hierarchical review (spec 3.1 to 3.4), and the machine-step
 * transitions (3.5) handed to the jobs as orci_lc_machine_ops. Built on lifecycle_rows.c
 * (rows, state changes) and lifecycle_create.c (the tasks a submission makes possible).
 */
#include "domain/lifecycle.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lifecycle_internal.h"
#include "json.h"
#include "log.h"
#include "store/db.h"
#include "store/dbutil.h"

#define MSG_NO_TASK "No task for given id"
#define MSG_NO_PROJECT "No project for given id"
#define MSG_REVIEW_POLICY "Review policy incorrectly specified."

int orci_lc_assign_task(orci_lc *lc, int64_t worker_id, int64_t task_id, int64_t *assignment_id,
                        orc_error *err)
{
    int64_t id = 0;
    int code = orci_lci_assign_core(lc, worker_id, task_id, &id, err);
    if (code == ORC_OK)
        code = orci_lc_check_changed(lc->db, task_id, err);
    if (code == ORC_OK && assignment_id != NULL)
        *assignment_id = id;
    return code;
}

/* ---- save and submit ---------------------------------------------------------------- */

/*
 * worker_assignment finds the worker's single live assignment on a task: "Worker is not
 * associated with task" when none, the broken-state error when several.
 */
static int worker_assignment(orci_db *db, int64_t worker_id, int64_t task_id, int64_t *id,
                             int *status, int *counter, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT id, status, assignment_counter FROM task_assignments"
                                 " WHERE task_id = ?1 AND worker_id = ?2 AND is_deleted = 0",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    orci_bind_int(st, 2, worker_id);
    int rows = 0;
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0)
            return orci_lci_db_err(err);
        if (r == 0)
            break;
        if (rows++ == 0) {
            *id = orci_col_int(st, 0);
            *status = (int)orci_col_int(st, 1);
            *counter = (int)orci_col_int(st, 2);
        }
    }
    if (rows == 0)
        return orc_error_set(err, ORC_PERMISSION_DENIED, "Worker is not associated with task");
    if (rows > 1)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Task assignment with worker is in broken state.");
    return ORC_OK;
}

int orci_lc_save(orci_lc *lc, int64_t worker_id, int64_t task_id, const char *data_json,
                 orc_error *err)
{
    char *data = orci_lci_normalize_object(data_json, "task data", err);
    if (data == NULL)
        return orci_lci_db_err(err);
    orci_lci_task t;
    int64_t aid = 0;
    int astatus = 0, counter = 0;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        goto out;
    if (t.project_status == ORCI_PROJECT_PAUSED) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Project is paused.");
        goto out;
    }
    if ((code = worker_assignment(lc->db, worker_id, task_id, &aid, &astatus, &counter, err)) !=
        ORC_OK)
        goto out;
    if (astatus != ORCI_ASSIGNMENT_PROCESSING) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Worker is not allowed to save");
        goto out;
    }
    orci_stmt *st = orci_db_stmt(
        lc->db, "UPDATE task_assignments SET in_progress_task_data = ?2 WHERE id = ?1", err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, aid);
    orci_bind_text(st, 2, data);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
        goto out;
    code = orci_lc_check_changed(lc->db, task_id, err);
out:
    free(data);
    return code;
}

/*
 * review_needed is upstream's _is_review_needed (spec 3.3): n counts the task's
 * assignments including the submitter's.
 */
static int review_needed(orci_lc *lc, int64_t step_id, size_t n, bool *needed, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db, "SELECT review_policy FROM steps WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, step_id);
    int r = orci_db_row(lc->db, st, err);
    if (r < 0)
        return orci_lci_db_err(err);
    if (r == 0)
        return orc_error_set(err, ORC_INTERNAL, "step %lld vanished", (long long)step_id);
    const char *text = orci_col_text(st, 0);
    json_t *policy = json_loads(text, 0, NULL);
    orci_stmt_reset(st);
    int code = ORC_OK;
    const char *name = json_string_value(json_object_get(policy, "policy"));
    json_t *rate = json_object_get(policy, "rate");
    json_t *max_reviews = json_object_get(policy, "max_reviews");
    if (name != NULL && strcmp(name, "sampled_review") == 0 && json_is_number(rate) &&
        json_is_number(max_reviews)) {
        if (json_number_value(max_reviews) <= (double)n - 1) {
            *needed = false;
        } else {
            const orci_rng *rng = orci_lci_rng(lc);
            *needed = rng->uniform(rng->arg) < json_number_value(rate);
        }
    } else if (name != NULL && strcmp(name, "no_review") == 0) {
        *needed = false;
    } else {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_REVIEW_POLICY);
    }
    json_decref(policy);
    return code;
}

/* next_status is upstream's get_next_task_status (the table of spec 3.2). */
static int next_status(orci_lc *lc, const orci_lci_task *t, size_t n_assignments,
                       int iteration_status, int *next, orc_error *err)
{
    if (t->status == ORCI_TASK_AWAITING_PROCESSING || t->status == ORCI_TASK_PENDING_REVIEW ||
        t->status == ORCI_TASK_COMPLETE)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Task has illegal status for submit.");
    if (iteration_status == ORCI_ITERATION_REQUESTED_REVIEW) {
        if (t->status == ORCI_TASK_PROCESSING || t->status == ORCI_TASK_REVIEWING) {
            bool needed = false;
            int code = review_needed(lc, t->step_id, n_assignments, &needed, err);
            if (code != ORC_OK)
                return code;
            *next = needed ? ORCI_TASK_PENDING_REVIEW : ORCI_TASK_COMPLETE;
            return ORC_OK;
        }
        if (t->status == ORCI_TASK_POST_REVIEW_PROCESSING) {
            *next = ORCI_TASK_REVIEWING;
            return ORC_OK;
        }
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Task not in submittable state.");
    }
    if (t->status == ORCI_TASK_REVIEWING) {
        *next = ORCI_TASK_POST_REVIEW_PROCESSING;
        return ORC_OK;
    }
    return orc_error_set(err, ORC_FAILED_PRECONDITION, "Task not in rejectable state.");
}

int orci_lc_submit(orci_lc *lc, int64_t worker_id, int64_t task_id, const char *data_json,
                   int iteration_status, orc_error *err)
{
    if (iteration_status != ORCI_ITERATION_REQUESTED_REVIEW &&
        iteration_status != ORCI_ITERATION_PROVIDED_REVIEW)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Illegal command");
    char *data = orci_lci_normalize_object(data_json, "task data", err);
    if (data == NULL)
        return orci_lci_db_err(err);
    orci_lci_task t;
    orci_lci_assignment *as = NULL;
    size_t n = 0;
    int64_t aid = 0;
    int astatus = 0, counter = 0, next = 0;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        goto out;
    if (t.project_status == ORCI_PROJECT_PAUSED) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Project is paused.");
        goto out;
    }
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT count(*) FROM step_submission_deps d WHERE d.step_id = ?1"
                                 " AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = ?2"
                                 "  AND t.step_id = d.depends_on_id AND t.status = 5)",
                                 err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, t.step_id);
    orci_bind_int(st, 2, t.project_id);
    int64_t missing = 0;
    bool found = false;
    if ((code = orci_db_one_id(lc->db, st, &missing, &found, err)) != ORC_OK)
        goto out;
    if (missing > 0) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Submission prerequisites are not complete.");
        goto out;
    }
    if (t.status == ORCI_TASK_COMPLETE) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Task already completed");
        goto out;
    }
    if ((code = worker_assignment(lc->db, worker_id, task_id, &aid, &astatus, &counter, err)) !=
        ORC_OK)
        goto out;
    if (astatus != ORCI_ASSIGNMENT_PROCESSING) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Worker is not allowed to submit");
        goto out;
    }
    if ((code = orci_lci_load_assignments(lc->db, task_id, &as, &n, err)) != ORC_OK)
        goto out;
    if ((code = next_status(lc, &t, n, iteration_status, &next, err)) != ORC_OK)
        goto out;

    if ((code = orci_lci_assignment_submit(lc, aid, data, iteration_status, 0, err)) != ORC_OK)
        goto out;
    if ((code = orci_lci_set_task_status(lc, task_id, next, err)) != ORC_OK)
        goto out;
    if (next == ORCI_TASK_REVIEWING)
        code = orci_lci_assignment_reopen(lc, task_id, counter + 1, data, err);
    else if (next == ORCI_TASK_POST_REVIEW_PROCESSING)
        code = orci_lci_assignment_reopen(lc, task_id, counter - 1, data, err);
    else if (next == ORCI_TASK_COMPLETE)
        code = orci_lci_create_subsequent(lc, t.project_id, err);
    /* The project's check covers the task while it stays open; once Complete, it is not. */
    if (code == ORC_OK && next == ORCI_TASK_COMPLETE)
        code = orci_lc_check_changed(lc->db, task_id, err);
    if (code != ORC_OK)
        goto out;
    code = orci_lci_check_project(lc->db, t.project_id, err);
out:
    free(as);
    free(data);
    return code;
}

/* ---- machine steps (spec 3.5) -------------------------------------------------------- */

/* machine_assignment finds the live counter-0 assignment of a task; *found false if none. */
static int machine_assignment(orci_db *db, int64_t task_id, int64_t *id, int *status, bool *found,
                              orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT id, status FROM task_assignments WHERE task_id = ?1"
                                 " AND assignment_counter = 0 AND is_deleted = 0",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_lci_db_err(err);
    *found = r == 1;
    if (r == 1) {
        *id = orci_col_int(st, 0);
        *status = (int)orci_col_int(st, 1);
        orci_stmt_reset(st);
    }
    return ORC_OK;
}

/*
 * machine_start is spec 3.5 step 2 for a job being leased: an Awaiting Processing task gets
 * its machine assignment (counter 0, no worker, Processing) and Iteration and becomes
 * Processing; a Processing task whose machine assignment Failed has it reopened (Processing
 * again); one still Processing is left as it is (a lease offered again). *startable is
 * false, with nothing changed, when the task is in any other state (Complete, Aborted).
 */
static int machine_start(orci_lc *lc, int64_t task_id, bool *startable, orc_error *err)
{
    *startable = false;
    orci_lci_task t;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        return code;
    if (t.is_human)
        return orc_error_set(err, ORC_INTERNAL, "task %lld is not a machine task",
                             (long long)task_id);
    int64_t aid = 0;
    int astatus = 0;
    bool found = false;
    if ((code = machine_assignment(lc->db, task_id, &aid, &astatus, &found, err)) != ORC_OK)
        return code;
    if (t.status == ORCI_TASK_AWAITING_PROCESSING && !found) {
        int64_t machine_id = 0;
        if ((code = orci_lci_next_id(
                 lc->db, "SELECT coalesce(max(id), 0) + 1 FROM task_assignments WHERE id > 0",
                 &machine_id, err)) != ORC_OK)
            return code;
        orci_stmt *st = orci_db_stmt(
            lc->db,
            "INSERT INTO task_assignments (id, created_at, start_datetime, worker_id, task_id,"
            " status, assignment_counter, in_progress_task_data)"
            " VALUES (?3, ?1, ?1, NULL, ?2, 0, 0, '{}')",
            err);
        if (st == NULL)
            return ORC_INTERNAL;
        orci_bind_int(st, 1, lc->now_us);
        orci_bind_int(st, 2, task_id);
        orci_bind_int(st, 3, machine_id);
        if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
            return code;
        if ((code = orci_lci_iteration_start(lc, machine_id, lc->now_us, err)) != ORC_OK ||
            (code = orci_lci_machine_assignment_event(
                 lc, "assignment.created", task_id, machine_id, NULL,
                 orci_assignment_status_label(ORCI_ASSIGNMENT_PROCESSING), err)) != ORC_OK)
            return code;
        if ((code = orci_lci_task_status_change(lc, task_id, t.status, ORCI_TASK_PROCESSING,
                                                t.is_human, err)) != ORC_OK)
            return code;
    } else if (t.status == ORCI_TASK_PROCESSING && found) {
        if (astatus == ORCI_ASSIGNMENT_FAILED &&
            (code = orci_lci_set_assignment_status(lc, aid, ORCI_ASSIGNMENT_PROCESSING, err)) !=
                ORC_OK)
            return code;
        if (astatus == ORCI_ASSIGNMENT_SUBMITTED)
            return ORC_OK;
    } else {
        return ORC_OK;
    }
    *startable = true;
    return orci_lc_check_changed(lc->db, task_id, err);
}

/*
 * machine_complete is spec 3.5 step 4 for a machine task that returned output (a compact
 * JSON object): the assignment is Submitted with it; if the project was aborted the task
 * stays Aborted, otherwise the iteration is closed Requested Review, the task becomes
 * Complete and the subsequent tasks are created.
 */
static int machine_complete(orci_lc *lc, int64_t task_id, const char *output, orc_error *err)
{
    orci_lci_task t;
    int code = orci_lci_load_task(lc->db, task_id, MSG_NO_TASK, &t, err);
    if (code != ORC_OK)
        return code;
    int64_t aid = 0;
    int astatus = 0;
    bool found = false;
    if ((code = machine_assignment(lc->db, task_id, &aid, &astatus, &found, err)) != ORC_OK)
        return code;
    if (!found || astatus != ORCI_ASSIGNMENT_PROCESSING)
        return orc_error_set(err, ORC_INTERNAL, "task %lld has no running machine assignment",
                             (long long)task_id);
    if (t.status == ORCI_TASK_ABORTED || t.project_status == ORCI_PROJECT_ABORTED) {
        /* Ended meanwhile: the output is kept, the task stays Aborted. */
        orci_stmt *st = orci_db_stmt(lc->db,
                                     "UPDATE task_assignments SET in_progress_task_data = ?2,"
                                     " status = 1 WHERE id = ?1",
                                     err);
        if (st == NULL)
            return ORC_INTERNAL;
        orci_bind_int(st, 1, aid);
        orci_bind_text(st, 2, output);
        if ((code = orci_db_step(lc->db, st, err)) != ORC_OK ||
            (code = orci_lci_assignment_event(
                 lc, "assignment.submitted", aid,
                 orci_assignment_status_label(ORCI_ASSIGNMENT_PROCESSING),
                 orci_assignment_status_label(ORCI_ASSIGNMENT_SUBMITTED), 0, err)) != ORC_OK)
            return code;
        if (t.status != ORCI_TASK_ABORTED &&
            (code = orci_lci_set_task_status(lc, task_id, ORCI_TASK_ABORTED, err)) != ORC_OK)
            return code;
        return orci_lc_check_changed(lc->db, task_id, err);
    }
    if (t.status != ORCI_TASK_PROCESSING)
        return orc_error_set(err, ORC_INTERNAL, "machine task %lld is %s, not Processing",
                             (long long)task_id, orci_task_status_label(t.status));
    /* Task ids grow: the tasks created below are the project's tasks above the newest now. */
    orci_stmt *st = orci_db_stmt(lc->db, "SELECT max(id) FROM tasks WHERE id > 0", err);
    if (st == NULL)
        return ORC_INTERNAL;
    int64_t newest = 0;
    bool any = false;
    if ((code = orci_db_one_id(lc->db, st, &newest, &any, err)) != ORC_OK ||
        (code = orci_lci_assignment_submit(lc, aid, output, ORCI_ITERATION_REQUESTED_REVIEW,
                                           task_id, err)) != ORC_OK ||
        (code = orci_lci_task_status_change(lc, task_id, t.status, ORCI_TASK_COMPLETE, t.is_human,
                                            err)) != ORC_OK ||
        (code = orci_lci_create_subsequent(lc, t.project_id, err)) != ORC_OK)
        return code;
    /*
     * The invariants of spec 3.2 are rules about one task's own rows, so only the tasks this
     * transition changed are checked: the completed task and the tasks it created (with
     * their pre-assignments). The project's other tasks are as they were after their own
     * transitions, each checked then; checking them all again made a step's cost grow with
     * the project.
     */
    if ((code = orci_lc_check_changed(lc->db, task_id, err)) != ORC_OK)
        return code;
    /* The ids past newest are the few this transaction made: walked in id order ("+" keeps
     * SQLite off the index by project, which would sort them). */
    st = orci_db_stmt(lc->db, "SELECT id FROM tasks WHERE +project_id = ?1 AND id > ?2 ORDER BY id",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, t.project_id);
    orci_bind_int(st, 2, newest);
    int64_t *ids = NULL;
    size_t n = 0;
    code = orci_lci_load_ids(lc->db, st, &ids, &n, err);
    for (size_t i = 0; i < n && code == ORC_OK; i++)
        code = orci_lc_check_changed(lc->db, ids[i], err);
    free(ids);
    return code;
}

/* machine_fail marks the machine assignment Failed; the task stays Processing. */
static int machine_fail(orci_lc *lc, int64_t task_id, orc_error *err)
{
    int64_t aid = 0;
    int astatus = 0;
    bool found = false;
    int code = machine_assignment(lc->db, task_id, &aid, &astatus, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_INTERNAL, "task %lld has no machine assignment",
                             (long long)task_id);
    if ((code = orci_lci_set_assignment_status(lc, aid, ORCI_ASSIGNMENT_FAILED, err)) != ORC_OK)
        return code;
    return orci_lc_check_changed(lc->db, task_id, err);
}

const orci_machine_ops orci_lc_machine_ops = {
    .start = machine_start,
    .complete = machine_complete,
    .fail = machine_fail,
    .answer = orci_lc_hook_answer,
};
