/*
 * webviews.h: the read views the experts' web app needs beside the upstream documents of
 * views.h: a task page's step, interface and review history, a step's interface module, and
 * the project management view of a project. Each returns malloc'd text (caller frees).
 *
 * Threads: any connection (a worker thread's reader); one snapshot per view (a savepoint).
 */
#ifndef ORCI_WEBVIEWS_H
#define ORCI_WEBVIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

/*
 * orci_view_task_details renders what the task page shows beside task_assignment_information
 * for a worker holding an assignment on task_id:
 * {"step":{"slug","name","description"},"user_interface":{..},"has_module":b,
 *  "history":[{"id","assignment","counter","worker":{"username","first_name","last_name"},
 *  "status","start_datetime","end_datetime","submitted_data"}]}
 * user_interface is the step's, without the module's text; history is every iteration of
 * the task in start order (the review rounds). Errors as task_assignment_information's:
 * ORC_NOT_FOUND "No task for given id", ORC_PERMISSION_DENIED "Worker is not associated with
 * task".
 */
int orci_view_task_details(orci_db *db, int64_t worker_id, int64_t task_id, char **json,
                           orc_error *err);

/*
 * orci_view_task_interface returns the interface module of task_id's step (its path and
 * text, both malloc'd) for a worker holding an assignment on the task. ORC_NOT_FOUND "This
 * step has no interface module" when the step has none; the access errors of
 * orci_view_task_details otherwise.
 */
int orci_view_task_interface(orci_db *db, int64_t worker_id, int64_t task_id, char **path,
                             char **source, orc_error *err);

/*
 * orci_view_managed_project renders upstream's project management project_information:
 * project_information (views.h) whose steps also carry their "name", and whose iterations
 * still open end at now_us (so that a timeline can draw them).
 */
int orci_view_managed_project(orci_db *db, int64_t project_id, int64_t now_us, char **json,
                              orc_error *err);

/* Most assignments orci_view_dashboard_details reads in one call. */
#define ORCI_DASHBOARD_DETAILS_MAX 500

/*
 * orci_view_dashboard_details renders, for those of ids (n of them, at most
 * ORCI_DASHBOARD_DETAILS_MAX) that are worker_id's own live assignments,
 * {"<id>":{"workflow":name,"assigned_at":time,"changed_at":time}}: the workflow's name, the
 * assignment's start, and the latest start or end of any iteration of its task.
 */
int orci_view_dashboard_details(orci_db *db, int64_t worker_id, const int64_t *ids, size_t n,
                                char **json, orc_error *err);

#endif
