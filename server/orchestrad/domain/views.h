/*
 * views.h: the read-only documents of the lifecycle, rendered as the upstream JSON shapes
 * (spec 4.3 and 5), from any connection (a worker thread's reader, or the writer inside a
 * transaction). Each returns malloc'd JSON text in *json (caller frees).
 */
#ifndef ORCI_VIEWS_H
#define ORCI_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

/*
 * orci_view_project_information renders project_information (spec 4.3) plus the project
 * "status" label: {"project":{...,"status":"Active"},"steps":[...],"tasks":{...}}. Unknown
 * id: ORC_NOT_FOUND "No project for given id".
 */
int orci_view_project_information(orci_db *db, int64_t project_id, char **json, orc_error *err);

/*
 * orci_view_projects_information renders upstream HEAD's project_information for a list of
 * projects (spec 4.3 HEAD): {"<id>": {"project", "steps", "tasks"}}, in one snapshot, with
 * HEAD's fields (the project's scratchpad_url, status number and slack_group_id; steps' id
 * and name; workers' slack_username and slack_user_id). Unknown ids are left out.
 */
int orci_view_projects_information(orci_db *db, const int64_t *project_ids, size_t n, char **json,
                                   orc_error *err);

/*
 * orci_view_dashboard renders dashboard_tasks (spec 5) for a worker:
 * {"tasks":{"in_progress":[],"returned":[],"pending_review":[],"pending_processing":[],
 *  "complete":[]},"preventNew":b,"reviewerStatus":b}
 */
int orci_view_dashboard(orci_db *db, int64_t worker_id, char **json, orc_error *err);

/*
 * orci_view_task_assignment renders task_assignment_information (spec 5) of the worker's
 * own assignment on task_id, with the flat prerequisites dict of spec 3.6. Errors:
 * ORC_NOT_FOUND "No task for given id"; ORC_PERMISSION_DENIED "Worker is not associated
 * with task".
 */
int orci_view_task_assignment(orci_db *db, int64_t worker_id, int64_t task_id, char **json,
                              orc_error *err);

/*
 * orci_view_prerequisites renders the flat prerequisites dict of spec 3.6 for a task: the
 * transitive closure of its creation dependencies, each mapped to the in-progress data of
 * the highest-counter assignment of that step's task. An ancestor that is not Complete
 * gives ORC_FAILED_PRECONDITION. Used by task views and by machine-step jobs.
 */
int orci_view_prerequisites(orci_db *db, int64_t task_id, char **json, orc_error *err);

/*
 * orci_view_prerequisites_in is orci_view_prerequisites for a caller inside a transaction that
 * knows the task's project, version and step (a job being leased): no savepoint, no lookup.
 */
int orci_view_prerequisites_in(orci_db *db, int64_t project_id, int64_t version_id, int64_t step_id,
                               char **json, orc_error *err);

/* orci_view_step_prerequisites is the same dict for a step of a project that has no task yet
 * (a creation policy asks for it: upstream's get_previously_completed_task_data). */
int orci_view_step_prerequisites(orci_db *db, int64_t project_id, int64_t step_id, char **json,
                                 orc_error *err);

#endif
