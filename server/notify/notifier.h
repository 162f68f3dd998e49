/*
 * notifier.h: orchestra-notify's manager: it starts the e-mail target and one target per
 * webhook (target.h), keeps the set of webhooks in step with the coordinator (ListWebhooks,
 * every refresh interval: new ones start after the seq they were created at, deleted ones
 * stop and their state is dropped, redelivery requests are handed on), and reports each
 * webhook's delivery state back (ReportWebhookStatus) when it changed.
 *
 * Runs on the main thread until orci_daemon_stopping(); SIGHUP (orci_daemon_take_reload)
 * reopens the log file.
 */
#ifndef ORCI_NOTIFY_NOTIFIER_H
#define ORCI_NOTIFY_NOTIFIER_H

#include <stdbool.h>
#include <stdint.h>

#include "channels.h"
#include "retry.h"
#include "state.h"

/* orci_notifier_config is the daemon's settings; everything is borrowed. */
typedef struct orci_notifier_config {
    orc_client *rpc; /* thread-safe, shared by every target */
    const char *events_url;
    const char *tls_ca; /* CA of a tls+tcp:// events URL */
    orci_nstate *state;
    orci_retry_policy retry;
    bool email;                  /* the e-mail channel is on (--smtp given) */
    orci_email_config email_cfg; /* its settings (email_cfg.rpc is set from rpc) */
    int64_t email_start;         /* where a new e-mail channel starts: a seq, or -1 for now */
    const char *webhook_ca;      /* CA bundle for https webhooks; NULL: the system's */
    int webhook_timeout_ms;
    int refresh_ms; /* how often the webhooks are read and reported */
} orci_notifier_config;

/*
 * orci_notifier_run runs until a stop is asked for, then stops every target: their flags are
 * set (a delivery in flight is abandoned and goes again after a restart), rpc is closed
 * (orc_client_close: a call in flight returns) and the threads are joined. ORC_OK then; an
 * error only when nothing could start (the state file or the e-mail settings).
 */
int orci_notifier_run(const orci_notifier_config *c, orc_error *err);

#endif
