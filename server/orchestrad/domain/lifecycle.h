/*
 * lifecycle.h: the human task lifecycle (spec section 3): projects, task creation,
 * eligibility, assignment, save, submit with hierarchical review, and the management
 * operations.
 *
 * Every function runs inside a write job (store.h) on the writer thread, with the writer's
 * connection in lc->db: each call is one transition of one transaction, and before it
 * returns ORC_OK it re-checks the invariants of spec 3.2 on every task it touched
 * (orci_lc_check_task); a violation is ORC_INTERNAL and the job's savepoint rolls back.
 *
 * Errors carry the upstream messages exactly (e.g. "Worker not certified for this task.").
 * Codes: unknown rows ORC_NOT_FOUND; eligibility failures ORC_PERMISSION_DENIED for
 * certification, ORC_FAILED_PRECONDITION for state (status, already assigned, ...);
 * bad input ORC_INVALID_ARGUMENT.
 *
 * Status changes go through a few internal functions (task status, assignment created /
 * submitted / reopened / reassigned, project status) so that the event outbox can append
 * its rows there.
 */
#ifndef ORCI_LIFECYCLE_H
#define ORCI_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/context.h"
#include "domain/jobs.h"
#include "orchestra/error.h"
#include "store/model.h"
#include "store/store.h"

/*
 * orci_lc_machine_ops is what a job's lease, report and failure do to its machine task
 * (spec 3.5): the lifecycle's side of the jobs (jobs.h), which the RPC handlers and the
 * lease maintenance pass to the job functions.
 */
extern const orci_machine_ops orci_lc_machine_ops;

/*
 * orci_lc_hook_answer is orci_lc_machine_ops.answer: what a creation policy's answer does (the
 * step's task created, or the project perhaps done) and an abort hook's (nothing: it ran).
 * A sample-data load's answer is not the lifecycle's (svc applies it: ORC_INTERNAL here).
 */
int orci_lc_hook_answer(orci_lc *lc, const orci_hook_answer *a, orc_error *err);

typedef struct orci_project_params {
    const char *workflow_slug;
    const char *version_slug;
    const char *description;
    int64_t priority;
    int task_class;           /* ORCI_TASK_CLASS_* */
    const char *project_data; /* JSON object text; NULL or "" means {} */
} orci_project_params;

/*
 * orci_lc_create_project validates the parameters (unknown workflow or version:
 * ORC_NOT_FOUND "Workflow <slug> not found" / "Version <slug> of workflow <slug> not found";
 * project_data must be a JSON object), creates the project (Active) and its first tasks
 * (create_subsequent_tasks), and returns its id.
 */
int orci_lc_create_project(orci_lc *lc, const orci_project_params *p, int64_t *project_id,
                           orc_error *err);

/*
 * orci_lc_create_subsequent_tasks creates a task (Awaiting Processing) for every step of the
 * project's version that has none yet, whose creation dependencies are all Complete and
 * whose creation policy (upstream HEAD, store/policy.h) says so, applies the assignment
 * policy of human steps (anyone_certified, previously_completed_steps, specified_worker; a
 * failed pre-assignment leaves the task in the pool), and leaves machine tasks in Awaiting
 * Processing for the executors. A project becomes Completed (upstream HEAD) when it got no
 * new task and none of its tasks is left that is not Complete, or at once, creating
 * nothing, when a Complete task's step has completion_ends_project. A creation policy that
 * cannot run here (a Python function) is ORC_FAILED_PRECONDITION.
 */
int orci_lc_create_subsequent_tasks(orci_lc *lc, int64_t project_id, orc_error *err);

/*
 * orci_lc_assign_task gives task_id to worker_id (spec 3.1 checks in upstream order:
 * status/role, certification, already assigned), creating the assignment and its first
 * iteration and moving the task (Awaiting Processing -> Processing, Pending Review ->
 * Reviewing). Machine tasks and tasks of projects that are not Active are refused.
 */
int orci_lc_assign_task(orci_lc *lc, int64_t worker_id, int64_t task_id, int64_t *assignment_id,
                        orc_error *err);

/*
 * orci_lc_new_task is "request new task" for role (ORCI_ROLE_ENTRY_LEVEL takes Awaiting
 * Processing tasks, ORCI_ROLE_REVIEWER Pending Review ones) of Active projects: candidates
 * ordered by project priority descending, then project start ascending, then task id (the
 * upstream ordering bug fixed). Machine tasks are never handed out. Errors: the returned-
 * task block ("Worker has pending reviewer feedback that must be addressed."), "No worker
 * certificates" (ORC_PERMISSION_DENIED: some candidate failed on certification only), "No
 * task" (ORC_NOT_FOUND).
 */
int orci_lc_new_task(orci_lc *lc, int64_t worker_id, int role, int64_t *task_id,
                     int64_t *assignment_id, orc_error *err);

/* orci_lc_save overwrites the worker's in-progress data (spec 3.4 save_task). */
int orci_lc_save(orci_lc *lc, int64_t worker_id, int64_t task_id, const char *data_json,
                 orc_error *err);

/*
 * orci_lc_submit is submit_task with iteration_status ORCI_ITERATION_REQUESTED_REVIEW
 * (submit / accept) or ORCI_ITERATION_PROVIDED_REVIEW (reject / return), with the checks,
 * the review decision (spec 3.3, using lc->rng) and the transitions of spec 3.2.
 */
int orci_lc_submit(orci_lc *lc, int64_t worker_id, int64_t task_id, const char *data_json,
                   int iteration_status, orc_error *err);

/* --- management operations (spec 3.4) --- */

/*
 * orci_lc_end_project aborts the project and every one of its tasks. The first time, a
 * version with an abort_completion_function (upstream HEAD, a Python hook) has it queued as a
 * job for an executor, announced as project.abort_completion {"function": {...}, "job_id"}.
 */
int orci_lc_end_project(orci_lc *lc, int64_t project_id, orc_error *err);

/*
 * orci_lc_set_project_status pauses (ORCI_PROJECT_PAUSED) or resumes (ORCI_PROJECT_ACTIVE) a
 * project. Aborting goes through orci_lc_end_project; Completed is reached by itself.
 */
int orci_lc_set_project_status(orci_lc *lc, int64_t project_id, int status, orc_error *err);

/* orci_lc_reassign gives an assignment to another worker (role from its counter). */
int orci_lc_reassign(orci_lc *lc, int64_t assignment_id, int64_t worker_id, orc_error *err);

/*
 * orci_lc_complete_and_skip marks the task Complete and its assignments Submitted, then
 * creates the subsequent tasks.
 */
int orci_lc_complete_and_skip(orci_lc *lc, int64_t task_id, orc_error *err);

/*
 * orci_lc_revert builds the audit of reverting task_id to iteration_id (spec 3.4
 * revert_task_to_iteration) as JSON text in *audit_json (malloc'd, caller frees), and
 * applies it only when commit is true.
 */
int orci_lc_revert(orci_lc *lc, int64_t task_id, int64_t iteration_id, bool revert_before,
                   bool commit, char **audit_json, orc_error *err);

/* --- invariants --- */

/*
 * orci_lc_check_task verifies the invariants of spec 3.2 and the uniqueness rules on one
 * task (iterations walk the counters; only the last iteration may be Processing and it
 * belongs to the current assignment with no end and {} data; iterations are contiguous;
 * task status matches the final iteration; at most one Processing assignment; counters
 * 0..n-1 without gaps; human assignments have a worker, machine ones none; one worker per
 * seat). Returns ORC_OK or ORC_INTERNAL with the first violation described. Any connection.
 */
int orci_lc_check_task(orci_db *db, int64_t task_id, orc_error *err);

/*
 * orci_lc_check_changed is orci_lc_check_task for a task the writer's open transaction
 * changed. A broken rule is the transition's fault (ORC_INTERNAL), unless the task's
 * committed rows broke one already (an upstream import keeps such finished tasks as they
 * were): the change is then refused with ORC_FAILED_PRECONDITION naming the old fault.
 */
int orci_lc_check_changed(orci_db *db, int64_t task_id, orc_error *err);

/*
 * orci_lc_check_all checks every task of every project (plus one task per (project, step),
 * and project status against its tasks), calling report(task_id, message, arg) for each
 * violation. *violations gets the count. Any connection.
 */
int orci_lc_check_all(orci_db *db, void (*report)(int64_t task_id, const char *msg, void *arg),
                      void *arg, int64_t *violations, orc_error *err);

#endif
