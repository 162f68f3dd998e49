/*
 * lifecycle_internal.h: the one header the lifecycle's files share, and their direction.
 * Each file calls only the files above it in this list, never one below:
 *
 *   lifecycle_rows.c    rows read into structs, every state change (each appending its
 *                       events, so that the outbox sees them in one place), assignment of a
 *                       worker (assign_core)
 *   lifecycle_check.c   the invariants of spec 3.2, over the rows
 *   lifecycle_create.c  projects and the tasks their dependencies make possible
 *   lifecycle.c         the transitions: assign, save, submit with review, machine steps
 *   lifecycle_manage.c  admin operations: end, pause/resume, reassign, skip, revert
 *   handout.c           request-new-task (rows, check and assign_core only)
 *
 * jobs.c sits below all of them (it gets the machine transitions as orci_lc_machine_ops).
 * Writer thread only, except the loaders, which work on any connection.
 */
#ifndef ORCI_LIFECYCLE_INTERNAL_H
#define ORCI_LIFECYCLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "domain/lifecycle.h"

/* A task with what the lifecycle needs of its step and project. */
typedef struct orci_lci_task {
    int64_t id;
    int64_t step_id;
    int64_t project_id;
    int64_t start_us;
    int status;
    bool is_human;
    int project_status;
} orci_lci_task;

/* A live (not soft-deleted) assignment. worker_id is 0 for machine assignments. */
typedef struct orci_lci_assignment {
    int64_t id;
    int64_t worker_id;
    int64_t start_us;
    int status;
    int counter;
} orci_lci_assignment;

/* A live iteration. end_us is -1 while open. submitted_empty: submitted_data is {}. */
typedef struct orci_lci_iteration {
    int64_t id;
    int64_t assignment_id;
    int64_t start_us;
    int64_t end_us;
    int status;
    bool submitted_empty;
} orci_lci_iteration;

/* orci_lci_db_err is the code of a store error already reported in err. */
static inline int orci_lci_db_err(const orc_error *err)
{
    return orci_db_code(err);
}

/* --- lifecycle_rows.c: helpers and loaders (any connection) --- */

/* orci_lci_expected_error tells eligibility refusals (skipped by new_task and the
 * assignment policies) from real failures (which must abort the transition). */
bool orci_lci_expected_error(int code);

/* orci_lci_normalize_object parses text as a JSON object and returns its compact form
 * (malloc'd); NULL or "" means {}. INVALID_ARGUMENT names `what` otherwise. */
char *orci_lci_normalize_object(const char *text, const char *what, orc_error *err);

/*
 * orci_lci_load_task reads a task. Unknown id: ORC_NOT_FOUND with not_found as message
 * (e.g. "No task for given id").
 */
int orci_lci_load_task(orci_db *db, int64_t task_id, const char *not_found, orci_lci_task *t,
                       orc_error *err);

/*
 * orci_lci_load_assignments reads the live assignments of a task ordered by counter into
 * *out (malloc'd, caller frees; NULL when none).
 */
int orci_lci_load_assignments(orci_db *db, int64_t task_id, orci_lci_assignment **out, size_t *n,
                              orc_error *err);

/*
 * orci_lci_load_iterations reads the live iterations of the live assignments of a task,
 * ordered by start time then id, into *out (malloc'd, caller frees; NULL when none).
 */
int orci_lci_load_iterations(orci_db *db, int64_t task_id, orci_lci_iteration **out, size_t *n,
                             orc_error *err);

/*
 * orci_lci_load_ids steps a bound statement to its end and collects the first column of its
 * rows into *out (malloc'd, caller frees; NULL when none).
 */
int orci_lci_load_ids(orci_db *db, orci_stmt *st, int64_t **out, size_t *n, orc_error *err);

/*
 * orci_lci_next_id runs sql, "SELECT coalesce(max(id), 0) + 1 FROM <table> WHERE id > 0" (the
 * WHERE keeps SQLite on the rowid: with statistics it may scan a covering index), for the id of a
 * row about to be inserted. That is the id both stores give a row inserted without one
 * (SQLite's rowid, PostgreSQL's orc_rowid_trigger), and the writer is the only one inserting;
 * the hot path's INSERTs name it instead of asking INSERT ... RETURNING id, which SQLite runs
 * as a multi-row write (a trigger-like program with a temporary table and a statement
 * journal: about 25,000 instructions per row).
 */
int orci_lci_next_id(orci_db *db, const char *sql, int64_t *id, orc_error *err);

/* orci_lci_project_status reads a project's status: ORC_OK or ORC_NOT_FOUND. */
int orci_lci_project_status(orci_db *db, int64_t project_id, int *status, orc_error *err);

/* orci_lci_worker_exists: ORC_OK, or ORC_NOT_FOUND "Worker matching query does not exist." */
int orci_lci_worker_exists(orci_db *db, int64_t worker_id, orc_error *err);

/*
 * orci_lci_certified sets *ok when the worker holds, for every certification the step
 * requires, a REAL certification with exactly this role (spec 3.1).
 */
int orci_lci_certified(orci_db *db, int64_t worker_id, int64_t step_id, int role, bool *ok,
                       orc_error *err);

/* orci_lci_worker_on_task counts the worker's live assignments on the task. */
int orci_lci_worker_on_task(orci_db *db, int64_t worker_id, int64_t task_id, int *count,
                            orc_error *err);

/* --- state changes (lifecycle_rows.c; writer thread, inside the transition's transaction) --- */

/* orci_lci_rng is the transition's random source (orci_rng_system when none was given). */
const orci_rng *orci_lci_rng(const orci_lc *lc);

int orci_lci_set_task_status(orci_lc *lc, int64_t task_id, int status, orc_error *err);
int orci_lci_set_project_status(orci_lc *lc, int64_t project_id, int status, orc_error *err);
int orci_lci_set_assignment_status(orci_lc *lc, int64_t assignment_id, int status, orc_error *err);
int orci_lci_set_assignment_worker(orci_lc *lc, int64_t assignment_id, int64_t worker_id,
                                   orc_error *err);

/*
 * orci_lci_task_status_change is orci_lci_set_task_status for a caller that knows the task's
 * status (old) and kind: the machine-step path, which reads the task anyway. A machine task
 * has no worker to notify (its assignment has none), so it skips the notifications' lookups.
 */
int orci_lci_task_status_change(orci_lc *lc, int64_t task_id, int old, int status, bool is_human,
                                orc_error *err);

/*
 * orci_lci_assignment_event appends an assignment event (type) with the assignment's task,
 * worker and statuses, and {"assignment_id", "counter"} as its payload; other_worker (0:
 * none) is a second worker concerned (reassignment), named in the payload as
 * "previous_worker".
 */
int orci_lci_assignment_event(orci_lc *lc, const char *type, int64_t assignment_id,
                              const char *old_status, const char *new_status, int64_t other_worker,
                              orc_error *err);

/*
 * orci_lci_machine_assignment_event is orci_lci_assignment_event for the assignment of machine
 * task task_id (no worker, counter 0), with the task's context from lc (graph.h): the same
 * event, written without reading the assignment.
 */
int orci_lci_machine_assignment_event(orci_lc *lc, const char *type, int64_t task_id,
                                      int64_t assignment_id, const char *old_status,
                                      const char *new_status, orc_error *err);

/* orci_lci_iteration_start opens a Processing iteration of an assignment at start_us. */
int orci_lci_iteration_start(orci_lc *lc, int64_t assignment_id, int64_t start_us, orc_error *err);

/*
 * orci_lci_assignment_submit is "assignment submitted": the data is stored, the latest
 * iteration is closed with iteration_status and the data at now, and the assignment becomes
 * Submitted. machine_task_id is the task of a machine assignment (its event is then written
 * from the task's known context), 0 for a worker's.
 */
int orci_lci_assignment_submit(orci_lc *lc, int64_t assignment_id, const char *data,
                               int iteration_status, int64_t machine_task_id, orc_error *err);

/*
 * orci_lci_assignment_reopen is "assignment reopened": the task's assignment at counter
 * becomes Processing with data as its in-progress data, and a new iteration starts at now.
 */
int orci_lci_assignment_reopen(orci_lc *lc, int64_t task_id, int counter, const char *data,
                               orc_error *err);

/* orci_lci_assign_core is assign_task (spec 3.1, 3.2) without the invariant check. */
int orci_lci_assign_core(orci_lc *lc, int64_t worker_id, int64_t task_id, int64_t *assignment_id,
                         orc_error *err);

/* --- lifecycle_check.c --- */

/*
 * orci_lci_check_project runs orci_lc_check_changed on every open task of a project (neither
 * Complete nor Aborted). A task is checked by the transition that finishes it, and its rows do
 * not change after that (end_project only marks it Aborted); an import may keep a finished
 * task whose own rows break the rules (with a warning), which must not stop the rest of its
 * project. `orchestrad check` (orci_lc_check_all) still reports such a task.
 */
int orci_lci_check_project(orci_db *db, int64_t project_id, orc_error *err);

/* --- lifecycle_create.c --- */

/*
 * orci_lci_create_subsequent is create_subsequent_tasks without the invariant check (the
 * calling transition checks the project's tasks once at its end).
 */
int orci_lci_create_subsequent(orci_lc *lc, int64_t project_id, orc_error *err);

/*
 * orci_lci_complete_if_done marks an Active project Completed when none of its tasks is left
 * that is not Complete (a step without a task waits for one that is, or was declined by a
 * creation policy), or when a Complete task's step has completion_ends_project.
 */
int orci_lci_complete_if_done(orci_lc *lc, int64_t project_id, orc_error *err);

#endif
