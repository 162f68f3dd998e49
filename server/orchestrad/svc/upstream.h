/*
 * upstream.h: the handlers of svc/upstream.c, what a team switching from upstream Orchestra
 * needs (issue 16): upstream HEAD's client endpoints, the import of an upstream database,
 * and the password its imported workers need (see server.h for when each kind of handler
 * runs).
 */
#ifndef ORCI_SVC_UPSTREAM_H
#define ORCI_SVC_UPSTREAM_H

#include "svc/services.h"

/* AssignWorkerToTask (project or admin scope): upstream's always-answering shape. */
ORCI_SVC_APPLY(orci_svc_assign_worker_to_task_apply);

/* MessageProjectTeam (project or admin scope): read-only, it has nowhere to post. */
ORCI_SVC_RUN(orci_svc_message_project_team);

/* ImportFixture (admin): the fixture is parsed and checked in prepare, written in apply. */
ORCI_SVC_PREPARE(orci_svc_import_fixture_prepare);
ORCI_SVC_APPLY(orci_svc_import_fixture_apply);
void orci_svc_import_plan_free(void *plan);

/* SetWorkerPassword (admin): hashed in prepare, off the writer. */
ORCI_SVC_PREPARE(orci_svc_set_worker_password_prepare);
ORCI_SVC_APPLY(orci_svc_set_worker_password_apply);
void orci_svc_set_password_plan_free(void *plan);

#endif
