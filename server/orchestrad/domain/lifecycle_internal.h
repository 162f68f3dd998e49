/*
 * lifecycle_internal.h: what lifecycle.c, lifecycle_manage.c and lifecycle_check.c share:
 * row loaders, the eligibility checks and the few functions through which every state
 * change goes (so that events can be appended in one place). Writer thread only, except
 * the loaders, which work on any connection.
 */
#ifndef ORCI_LIFECYCLE_INTERNAL_H
#define ORCI_LIFECYCLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* --- loaders (any connection) --- */

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
int orci_lci_load_ids(orci_db *db, sqlite3_stmt *st, int64_t **out, size_t *n, orc_error *err);

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

/* --- state changes (writer thread, inside the transition's transaction) --- */

int orci_lci_set_task_status(orci_lc *lc, int64_t task_id, int status, orc_error *err);
int orci_lci_set_project_status(orci_lc *lc, int64_t project_id, int status, orc_error *err);
int orci_lci_set_assignment_status(orci_lc *lc, int64_t assignment_id, int status, orc_error *err);
int orci_lci_set_assignment_worker(orci_lc *lc, int64_t assignment_id, int64_t worker_id,
                                   orc_error *err);

/*
 * orci_lci_create_subsequent is create_subsequent_tasks without the invariant check (the
 * calling transition checks the project's tasks once at its end).
 */
int orci_lci_create_subsequent(orci_lc *lc, int64_t project_id, orc_error *err);

/*
 * orci_lci_complete_if_done marks an Active project Completed when every step has a task
 * and every task is Complete.
 */
int orci_lci_complete_if_done(orci_lc *lc, int64_t project_id, orc_error *err);

/* orci_lci_check_project runs orci_lc_check_task on every task of a project. */
int orci_lci_check_project(orci_db *db, int64_t project_id, orc_error *err);

/* --- machine steps (jobs.c drives these; spec 3.5) --- */

/*
 * orci_lci_machine_start is spec 3.5 step 2 for a job being leased: an Awaiting Processing
 * task gets its machine assignment (counter 0, no worker, Processing) and Iteration and
 * becomes Processing; a Processing task whose machine assignment Failed has it reopened
 * (Processing again); one still Processing is left as it is (a lease offered again).
 * *startable is false, with nothing changed, when the task is in any other state (Complete,
 * Aborted).
 */
int orci_lci_machine_start(orci_lc *lc, int64_t task_id, bool *startable, orc_error *err);

/*
 * orci_lci_machine_complete is spec 3.5 step 4 for a machine task that returned output (a
 * compact JSON object): the assignment is Submitted with it; if the project was aborted the
 * task stays Aborted, otherwise the iteration is closed Requested Review, the task becomes
 * Complete and the subsequent tasks are created.
 */
int orci_lci_machine_complete(orci_lc *lc, int64_t task_id, const char *output, orc_error *err);

/* orci_lci_machine_fail marks the machine assignment Failed; the task stays Processing. */
int orci_lci_machine_fail(orci_lc *lc, int64_t task_id, orc_error *err);

/* orci_lci_expected_error tells eligibility refusals (skipped by new_task and the
 * assignment policies) from real failures (which must abort the transition). */
bool orci_lci_expected_error(int code);

/* orci_lci_normalize_object parses text as a JSON object and returns its compact form
 * (malloc'd); NULL or "" means {}. INVALID_ARGUMENT names `what` otherwise. */
char *orci_lci_normalize_object(const char *text, const char *what, orc_error *err);

/* orci_lci_assign_core is assign_task (spec 3.1, 3.2) without the invariant check. */
int orci_lci_assign_core(orci_lc *lc, int64_t worker_id, int64_t task_id, int64_t *assignment_id,
                         orc_error *err);

#endif
