/*
 * methods.c: the method table. Every method of the Orchestra service (proto/orchestra.proto)
 * has one entry here naming the scopes that grant it and its handlers (services.h).
 */
#include <string.h>

#include "rpc/dispatch.h"
#include "proto/orchestra.pb-c.h"
#include "svc/server.h"
#include "svc/listings.h"
#include "svc/notify.h"
#include "svc/services.h"
#include "svc/upstream.h"
#include "svc/webapp.h"

const orci_method orci_methods[] = {
    /* system: public */
    {.name = "Health", .scopes = 0, .mutating = false, .run = orci_svc_health},
    {.name = "ServerInfo", .scopes = 0, .mutating = false, .run = orci_svc_server_info},

    /* workflows */
    {.name = "LoadWorkflow",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .prepare = orci_svc_load_workflow_prepare,
     .apply = orci_svc_load_workflow_apply,
     .plan_free = orci_svc_load_plan_free},
    {.name = "LoadAllWorkflows",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .prepare = orci_svc_load_all_prepare,
     .apply = orci_svc_load_all_apply,
     .plan_free = orci_svc_load_plan_free},
    {.name = "LoadSampleData",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_load_sample_data_apply},
    {.name = "ListWorkflows",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_list_workflows},

    /* projects */
    {.name = "CreateProject",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_create_project_apply},
    {.name = "GetProjectInformation",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_project_information},

    /* project management */
    {.name = "EndProject",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_end_project_apply},
    {.name = "SetProjectStatus",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_set_project_status_apply},
    {.name = "AssignTask",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_assign_task_apply},
    {.name = "ReassignAssignment",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_reassign_apply},
    {.name = "CompleteAndSkipTask",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_complete_and_skip_apply},
    {.name = "RevertTask",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_revert_task_apply},
    {.name = "CheckConsistency",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_check_consistency},

    /* workers */
    {.name = "AddWorker",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .prepare = orci_svc_add_worker_prepare,
     .apply = orci_svc_add_worker_apply,
     .plan_free = orci_svc_worker_plan_free},
    {.name = "CertifyWorker",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_certify_worker_apply},

    /* worker sessions: Login is public, answers hold a secret, a failure is recorded */
    {.name = "Login",
     .scopes = 0,
     .mutating = true,
     .no_stored_reply = true,
     .commit_on_error = true,
     .prepare = orci_svc_login_prepare,
     .apply = orci_svc_login_apply,
     .plan_free = orci_svc_worker_plan_free},
    {.name = "Logout",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_logout_apply},

    /* the worker's own tasks */
    {.name = "Dashboard",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_dashboard},
    {.name = "NewTask",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_new_task_apply},
    {.name = "TaskInfo", .scopes = ORCI_SCOPE_WORKER, .mutating = false, .run = orci_svc_task_info},
    {.name = "SaveTask",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_save_task_apply},
    {.name = "SubmitTask",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_submit_task_apply},

    /* machine-step jobs: executors lease (a long poll) and report; admins retry and list */
    {.name = "LeaseJob",
     .scopes = ORCI_SCOPE_EXECUTOR,
     .mutating = true,
     .prepare = orci_svc_lease_job_prepare,
     .apply = orci_svc_lease_job_apply},
    {.name = "Heartbeat",
     .scopes = ORCI_SCOPE_EXECUTOR,
     .mutating = true,
     .apply = orci_svc_heartbeat_apply},
    {.name = "CompleteJob",
     .scopes = ORCI_SCOPE_EXECUTOR,
     .mutating = true,
     .apply = orci_svc_complete_job_apply},
    {.name = "FailJob",
     .scopes = ORCI_SCOPE_EXECUTOR,
     .mutating = true,
     .apply = orci_svc_fail_job_apply},
    {.name = "RetryJob",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_retry_job_apply},
    {.name = "ListJobs", .scopes = ORCI_SCOPE_ADMIN, .mutating = false, .run = orci_svc_list_jobs},

    /* time tracking: the calling worker's timer, time entries and timecard */
    {.name = "TimerStart",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_timer_start_apply},
    {.name = "TimerStop",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_timer_stop_apply},
    {.name = "TimerStatus",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_timer_status},
    {.name = "TimerUpdate",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_timer_update_apply},
    {.name = "TimeEntryCreate",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_time_entry_create_apply},
    {.name = "TimeEntryList",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_time_entry_list},
    {.name = "TimeEntryEdit",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_time_entry_edit_apply},
    {.name = "TimeEntryDelete",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_time_entry_delete_apply},
    {.name = "Timecard", .scopes = ORCI_SCOPE_WORKER, .mutating = false, .run = orci_svc_timecard},

    /* events: the feed's history; a worker session reads its own topic only; the notifier
     * (notify scope) reads everything */
    {.name = "ListEvents",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN | ORCI_SCOPE_NOTIFY | ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_list_events},

    /* the experts' web app: the worker's account and task pages (session token) */
    {.name = "WhoAmI", .scopes = ORCI_SCOPE_WORKER, .mutating = false, .run = orci_svc_whoami},
    /* a wrong old password is recorded as a failed login, so the error commits */
    {.name = "ChangePassword",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = true,
     .commit_on_error = true,
     .prepare = orci_svc_change_password_prepare,
     .apply = orci_svc_change_password_apply,
     .plan_free = orci_svc_password_plan_free},
    {.name = "TaskDetails",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_task_details},
    {.name = "TaskInterface",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_task_interface},
    {.name = "DashboardDetails",
     .scopes = ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_dashboard_details},
    {.name = "SetWorkerAdmin",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_set_worker_admin_apply},
    /* project management: admin keys, or workers with the project admin role (checked by
     * the handlers, since a session's scope cannot tell) */
    {.name = "ManagedProjectInformation",
     .scopes = ORCI_SCOPE_ADMIN | ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_managed_project_information},
    {.name = "ManageProject",
     .scopes = ORCI_SCOPE_ADMIN | ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_manage_project_apply},

    /* coming from upstream (svc/upstream.h): HEAD's client endpoints, the import and the
     * password of the workers it brings */
    {.name = "AssignWorkerToTask",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_assign_worker_to_task_apply},
    {.name = "MessageProjectTeam",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_message_project_team},
    {.name = "ImportFixture",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .prepare = orci_svc_import_fixture_prepare,
     .apply = orci_svc_import_fixture_apply,
     .plan_free = orci_svc_import_plan_free},
    {.name = "SetWorkerPassword",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .prepare = orci_svc_set_worker_password_prepare,
     .apply = orci_svc_set_worker_password_apply,
     .plan_free = orci_svc_set_password_plan_free},

    /* listings (svc/listings.c) */
    {.name = "ListProjects",
     .scopes = ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_list_projects},
    {.name = "ListWorkers",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_list_workers},
    {.name = "ListTasks",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_list_tasks},
    {.name = "ListCertifications",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = false,
     .run = orci_svc_list_certifications},
    {.name = "ListKeys", .scopes = ORCI_SCOPE_ADMIN, .mutating = false, .run = orci_svc_list_keys},

    /* notifications (svc/notify.c): preferences (a worker's own, or an admin's; the notifier
     * reads them with the address) and webhooks (admin manages, the notifier lists and
     * reports) */
    {.name = "GetNotificationSettings",
     .scopes = ORCI_SCOPE_ADMIN | ORCI_SCOPE_NOTIFY | ORCI_SCOPE_WORKER,
     .mutating = false,
     .run = orci_svc_get_notification_settings},
    {.name = "SetNotificationSettings",
     .scopes = ORCI_SCOPE_ADMIN | ORCI_SCOPE_WORKER,
     .mutating = true,
     .apply = orci_svc_set_notification_settings_apply},
    {.name = "CreateWebhook",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_create_webhook_apply},
    {.name = "ListWebhooks",
     .scopes = ORCI_SCOPE_ADMIN | ORCI_SCOPE_NOTIFY,
     .mutating = false,
     .run = orci_svc_list_webhooks},
    {.name = "DeleteWebhook",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_delete_webhook_apply},
    {.name = "RedeliverWebhook",
     .scopes = ORCI_SCOPE_ADMIN,
     .mutating = true,
     .apply = orci_svc_redeliver_webhook_apply},
    {.name = "ReportWebhookStatus",
     .scopes = ORCI_SCOPE_ADMIN | ORCI_SCOPE_NOTIFY,
     .mutating = true,
     .apply = orci_svc_report_webhook_status_apply},
};

const size_t orci_methods_count = sizeof orci_methods / sizeof orci_methods[0];

const orci_method *orci_method_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < orci_methods_count; i++)
        if (strcmp(orci_methods[i].name, name) == 0)
            return &orci_methods[i];
    return NULL;
}

int orci_methods_check(orc_error *err)
{
    const ProtobufCServiceDescriptor *sd = &orchestra__v1__orchestra__descriptor;
    for (unsigned i = 0; i < sd->n_methods; i++) {
        const char *name = sd->methods[i].name;
        if (!orci_method_find(name))
            return orc_error_set(err, ORC_INTERNAL, "method %s of %s has no handler", name,
                                 sd->name);
    }
    for (size_t i = 0; i < orci_methods_count; i++) {
        const orci_method *m = &orci_methods[i];
        if (!protobuf_c_service_descriptor_get_method_by_name(sd, m->name))
            return orc_error_set(err, ORC_INTERNAL, "handler %s is not a method of %s", m->name,
                                 sd->name);
        if (orci_method_find(m->name) != m)
            return orc_error_set(err, ORC_INTERNAL, "method %s is listed twice", m->name);
        if ((m->scopes & ~(unsigned)(ORCI_SCOPE_ALL_KEYS | ORCI_SCOPE_WORKER)) != 0)
            return orc_error_set(err, ORC_INTERNAL, "method %s names an unknown scope", m->name);
        if (m->mutating) {
            if (!m->apply || m->run)
                return orc_error_set(err, ORC_INTERNAL, "mutating method %s needs apply and no run",
                                     m->name);
            if (m->scopes == 0 && !m->no_stored_reply)
                return orc_error_set(err, ORC_INTERNAL,
                                     "public mutating method %s must not store replies", m->name);
        } else if (!m->run || m->prepare || m->apply || m->plan_free || m->no_stored_reply ||
                   m->commit_on_error) {
            return orc_error_set(err, ORC_INTERNAL,
                                 "read-only method %s needs run and nothing else", m->name);
        }
    }
    return ORC_OK;
}
