/*
 * notify.h: the handlers of svc/notify.c (issue 18): workers' e-mail preferences and the
 * webhooks of orchestra-notify (see server.h for when each kind of handler runs).
 */
#ifndef ORCI_SVC_NOTIFY_H
#define ORCI_SVC_NOTIFY_H

#include "svc/services.h"

/* GetNotificationSettings: a worker reads their own; admin and notify keys anyone's. */
ORCI_SVC_RUN(orci_svc_get_notification_settings);

/* SetNotificationSettings: a worker sets their own; an admin key anyone's. */
ORCI_SVC_APPLY(orci_svc_set_notification_settings_apply);

/* Webhooks: CreateWebhook, DeleteWebhook, RedeliverWebhook (admin); ListWebhooks and
 * ReportWebhookStatus (notify or admin). */
ORCI_SVC_APPLY(orci_svc_create_webhook_apply);
ORCI_SVC_RUN(orci_svc_list_webhooks);
ORCI_SVC_APPLY(orci_svc_delete_webhook_apply);
ORCI_SVC_APPLY(orci_svc_redeliver_webhook_apply);
ORCI_SVC_APPLY(orci_svc_report_webhook_status_apply);

#endif
