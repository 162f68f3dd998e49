/*
 * channels.h: the two kinds of target orchestra-notify delivers to (target.h's orci_channel):
 *
 *  - e-mail: for each notification event upstream would mail (mail.h), the worker's address
 *    and preference come from the coordinator (GetNotificationSettings, at delivery time: a
 *    worker who opted out gets nothing from then on); an opted-out worker or one without an
 *    address is skipped, an unusable address fails for good, the rest goes over SMTP (smtp.h);
 *  - webhook: every event of the webhook's feed, as orc_event_json renders it, signed and
 *    POSTed (webhook.h).
 *
 * A channel runs on its target's thread only.
 */
#ifndef ORCI_NOTIFY_CHANNELS_H
#define ORCI_NOTIFY_CHANNELS_H

#include <stdatomic.h>

#include "orchestra/client.h"
#include "smtp.h"
#include "target.h"

/* orci_email_config configures the e-mail channel; strings are copied. */
typedef struct orci_email_config {
    orc_client *rpc;     /* shared, borrowed: the addresses and preferences */
    const char *from;    /* the envelope and From: address */
    const char *app_url; /* the web app's base, for the task's link */
    orci_smtp_opts smtp; /* its stop is set by orci_email_channel */
} orci_email_config;

/* orci_email_channel makes the e-mail channel; stop aborts a transaction in flight. */
int orci_email_channel(const orci_email_config *c, atomic_bool *stop, orci_channel *out,
                       orc_error *err);

/* orci_hook_config configures one webhook's channel; strings are copied. */
typedef struct orci_hook_config {
    const char *url;
    const char *secret;
    const char *ca_file; /* NULL: the system's CAs */
    int timeout_ms;
} orci_hook_config;

/* orci_hook_channel makes a webhook's channel; stop aborts a request in flight. */
int orci_hook_channel(const orci_hook_config *c, atomic_bool *stop, orci_channel *out,
                      orc_error *err);

#endif
