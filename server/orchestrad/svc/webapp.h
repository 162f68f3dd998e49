/*
 * webapp.h: the handlers of svc_webapp.c, the methods the experts' web app needs beyond the
 * worker ones (see server.h for when each kind of handler runs).
 */
#ifndef ORCI_SVC_WEBAPP_H
#define ORCI_SVC_WEBAPP_H

#include "svc/services.h"

/* WhoAmI, TaskDetails, TaskInterface, DashboardDetails: the calling worker (session token). */
ORCI_SVC_RUN(orci_svc_whoami);
ORCI_SVC_RUN(orci_svc_task_details);
ORCI_SVC_RUN(orci_svc_task_interface);
ORCI_SVC_RUN(orci_svc_dashboard_details);

/* ChangePassword: the old password is verified and the new one hashed in prepare. */
ORCI_SVC_PREPARE(orci_svc_change_password_prepare);
ORCI_SVC_APPLY(orci_svc_change_password_apply);
/* Frees (and wipes) a ChangePassword plan. */
void orci_svc_password_plan_free(void *plan);

/* SetWorkerAdmin: admin scope. */
ORCI_SVC_APPLY(orci_svc_set_worker_admin_apply);

/* Project management: an admin key, or the session of a project admin worker. */
ORCI_SVC_RUN(orci_svc_managed_project_information);
ORCI_SVC_APPLY(orci_svc_manage_project_apply);

#endif
