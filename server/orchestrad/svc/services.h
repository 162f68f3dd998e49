/*
 * services.h: the handlers behind the method table (methods.c), one svc_*.c per area.
 * See server.h for when each kind of handler runs and what it may do.
 */
#ifndef ORCI_SERVICES_H
#define ORCI_SERVICES_H

#include "svc/server.h"

/* svc_system.c */
int orci_svc_health(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                    orc_error *err);
int orci_svc_server_info(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                         orc_error *err);

/* svc_workflow.c */
int orci_svc_load_workflow_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                   orc_error *err);
int orci_svc_load_workflow_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                                 ProtobufCMessage **out, orc_error *err);
int orci_svc_load_all_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                              orc_error *err);
int orci_svc_load_all_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                            ProtobufCMessage **out, orc_error *err);
/* Frees a plan of either load method. */
void orci_svc_load_plan_free(void *plan);
int orci_svc_load_sample_data_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                    void *plan, ProtobufCMessage **out, orc_error *err);
int orci_svc_list_workflows(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                            orc_error *err);

/*
 * Handler shapes, to keep the lists below short:
 *   RUN(x):     int x(orci_call *, const ProtobufCMessage *in, ProtobufCMessage **out, orc_error *)
 *   PREPARE(x): int x(orci_call *, const ProtobufCMessage *in, void **plan, orc_error *)
 *   APPLY(x):   int x(orci_call *, orci_db *wdb, const ProtobufCMessage *in, void *plan,
 *                     ProtobufCMessage **out, orc_error *)
 */
#define ORCI_SVC_RUN(x)                                                                            \
    int x(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out, orc_error *err)
#define ORCI_SVC_PREPARE(x)                                                                        \
    int x(orci_call *c, const ProtobufCMessage *in, void **plan, orc_error *err)
#define ORCI_SVC_APPLY(x)                                                                          \
    int x(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,                      \
          ProtobufCMessage **out, orc_error *err)

/* svc_project.c: projects (project or admin scope) and project management (admin). */
ORCI_SVC_APPLY(orci_svc_create_project_apply);
ORCI_SVC_RUN(orci_svc_project_information);
ORCI_SVC_APPLY(orci_svc_end_project_apply);
ORCI_SVC_APPLY(orci_svc_set_project_status_apply);
ORCI_SVC_APPLY(orci_svc_assign_task_apply);
ORCI_SVC_APPLY(orci_svc_reassign_apply);
ORCI_SVC_APPLY(orci_svc_complete_and_skip_apply);
ORCI_SVC_APPLY(orci_svc_revert_task_apply);
ORCI_SVC_RUN(orci_svc_check_consistency);

/* svc_worker.c: workers (admin) and sessions. Passwords are hashed and verified in the
 * prepare step, on the worker thread, never on the writer. */
ORCI_SVC_PREPARE(orci_svc_add_worker_prepare);
ORCI_SVC_APPLY(orci_svc_add_worker_apply);
ORCI_SVC_APPLY(orci_svc_certify_worker_apply);
ORCI_SVC_PREPARE(orci_svc_login_prepare);
ORCI_SVC_APPLY(orci_svc_login_apply);
ORCI_SVC_APPLY(orci_svc_logout_apply);
/* Frees a plan of AddWorker or Login (both are malloc'd structs with no pointers). */
void orci_svc_worker_plan_free(void *plan);

/* svc_task.c: the calling worker's own tasks (session token; c->who->worker_id). */
ORCI_SVC_RUN(orci_svc_dashboard);
ORCI_SVC_APPLY(orci_svc_new_task_apply);
ORCI_SVC_RUN(orci_svc_task_info);
ORCI_SVC_APPLY(orci_svc_save_task_apply);
ORCI_SVC_APPLY(orci_svc_submit_task_apply);

/* svc_job.c: machine-step jobs. LeaseJob (a long poll: its prepare and apply may park the
 * call, see orci_call), Heartbeat, CompleteJob, FailJob (executor); RetryJob, ListJobs
 * (admin). */
ORCI_SVC_PREPARE(orci_svc_lease_job_prepare);
ORCI_SVC_APPLY(orci_svc_lease_job_apply);
ORCI_SVC_APPLY(orci_svc_heartbeat_apply);
ORCI_SVC_APPLY(orci_svc_complete_job_apply);
ORCI_SVC_APPLY(orci_svc_fail_job_apply);
ORCI_SVC_APPLY(orci_svc_retry_job_apply);
ORCI_SVC_RUN(orci_svc_list_jobs);

/* svc_time.c: time tracking for the calling worker (session token): the timer, time
 * entries and the timecard (timetrack.h). */
ORCI_SVC_APPLY(orci_svc_timer_start_apply);
ORCI_SVC_APPLY(orci_svc_timer_stop_apply);
ORCI_SVC_RUN(orci_svc_timer_status);
ORCI_SVC_APPLY(orci_svc_timer_update_apply);
ORCI_SVC_APPLY(orci_svc_time_entry_create_apply);
ORCI_SVC_RUN(orci_svc_time_entry_list);
ORCI_SVC_APPLY(orci_svc_time_entry_edit_apply);
ORCI_SVC_APPLY(orci_svc_time_entry_delete_apply);
ORCI_SVC_RUN(orci_svc_timecard);

/* svc_events.c: ListEvents, the event feed's history (events.h). */
ORCI_SVC_RUN(orci_svc_list_events);

#endif
