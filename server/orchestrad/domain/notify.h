/*
 * notify.h: what the coordinator keeps for orchestra-notify (issue 18): each worker's e-mail
 * preference per kind of notification (upstream's CommunicationPreference, spec 3.7), and the
 * webhooks the notifier delivers the event feed to, with the delivery state it reports.
 *
 * Reads run on any connection (a worker thread's reader); changes run inside a write job of
 * the store (the writer). Strings in results are copied into the caller's structs.
 */
#ifndef ORCI_DOMAIN_NOTIFY_H
#define ORCI_DOMAIN_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

/* The six kinds of spec 3.7, in the order every answer lists them. */
#define ORCI_NOTIFY_KINDS 6

/* orci_notify_kind_name is the name of kind i ("assigned", ...); NULL when out of range. */
const char *orci_notify_kind_name(int i);

/* orci_notify_kind_index is the index of a kind's name, or -1 when it is not one. */
int orci_notify_kind_index(const char *name);

/* Field sizes: usernames and names as the users table allows, e-mail as AddWorker does. */
#define ORCI_NOTIFY_NAME_MAX 151
#define ORCI_NOTIFY_EMAIL_MAX 255

/* orci_notify_settings is a worker's address and preferences. */
typedef struct orci_notify_settings {
    int64_t worker_id;
    char username[ORCI_NOTIFY_NAME_MAX];
    char email[ORCI_NOTIFY_EMAIL_MAX];
    char first_name[ORCI_NOTIFY_NAME_MAX];
    char last_name[ORCI_NOTIFY_NAME_MAX];
    bool email_on[ORCI_NOTIFY_KINDS]; /* true unless the worker opted out */
} orci_notify_settings;

/*
 * orci_notify_settings_get reads username's settings into *out. ORC_NOT_FOUND "No worker
 * named <username>" when there is none.
 */
int orci_notify_settings_get(orci_db *db, const char *username, orci_notify_settings *out,
                             orc_error *err);

/* orci_notify_settings_set stores worker_id's preference for kind (an index). Writer. */
int orci_notify_settings_set(orci_db *db, int64_t worker_id, int kind, bool email, int64_t now_us,
                             orc_error *err);

/* Limits of a webhook's fields (the table checks them too). */
#define ORCI_WEBHOOK_URL_MAX 2048
#define ORCI_WEBHOOK_PREFIX_MAX 512
#define ORCI_WEBHOOK_SECRET_MAX 256
#define ORCI_WEBHOOK_STATE_MAX 32
#define ORCI_WEBHOOK_ERROR_MAX 512

/*
 * orci_webhook_check validates a new webhook's fields: an http:// or https:// URL with a host
 * and no blanks or control characters, a prefix and a secret within their limits.
 * ORC_INVALID_ARGUMENT with the reason otherwise.
 */
int orci_webhook_check(const char *url, const char *prefix, const char *secret, orc_error *err);

/*
 * orci_webhook_create adds a webhook (fields checked with orci_webhook_check) that starts after
 * the newest event committed so far (*start_seq). Writer.
 */
int orci_webhook_create(orci_db *db, const char *url, const char *prefix, const char *secret,
                        int64_t now_us, int64_t *id, int64_t *start_seq, orc_error *err);

/* orci_webhook_delete marks webhook id deleted: ORC_NOT_FOUND when there is no live one. */
int orci_webhook_delete(orci_db *db, int64_t id, int64_t now_us, orc_error *err);

/*
 * orci_webhook_redeliver asks the notifier to send again: every event after since (since
 * >= 0), or the dead-lettered events (since -1). *generation is the request's number.
 */
int orci_webhook_redeliver(orci_db *db, int64_t id, int64_t since, int64_t *generation,
                           orc_error *err);

/* orci_webhook_status is what the notifier reports of one webhook. */
typedef struct orci_webhook_status {
    int64_t id;
    const char *state;      /* borrowed; at most ORCI_WEBHOOK_STATE_MAX bytes are kept */
    const char *last_error; /* borrowed; cut to ORCI_WEBHOOK_ERROR_MAX bytes */
    int64_t delivered_seq;
    int64_t delivered;
    int64_t dead_lettered;
    int64_t attempts;
    int64_t next_attempt_us;
} orci_webhook_status;

/* orci_webhook_report stores a report (ORC_NOT_FOUND for an unknown or deleted id). Writer. */
int orci_webhook_report(orci_db *db, const orci_webhook_status *st, int64_t now_us, orc_error *err);

/* orci_webhook_row is one live webhook as stored; the strings are malloc'd. */
typedef struct orci_webhook_row {
    int64_t id;
    char *url;
    char *topic_prefix;
    char *secret;
    int64_t created_at_us;
    int64_t start_seq;
    int64_t redeliver_generation;
    int64_t redeliver_since;
    char *state;
    char *last_error;
    int64_t delivered_seq;
    int64_t delivered;
    int64_t dead_lettered;
    int64_t attempts;
    int64_t next_attempt_us;
    int64_t status_at_us;
} orci_webhook_row;

/*
 * orci_webhook_list reads every live webhook in id order into *rows (release with
 * orci_webhook_rows_free; NULL when none).
 */
int orci_webhook_list(orci_db *db, orci_webhook_row **rows, size_t *n, orc_error *err);

/* orci_webhook_rows_free frees what orci_webhook_list returned. */
void orci_webhook_rows_free(orci_webhook_row *rows, size_t n);

#endif
