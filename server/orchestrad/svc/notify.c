/*
 * svc_notify.c: workers' e-mail preferences (GetNotificationSettings,
 * SetNotificationSettings) and webhooks (CreateWebhook, ListWebhooks, DeleteWebhook,
 * RedeliverWebhook, ReportWebhookStatus), what orchestra-notify reads and reports and what
 * people set (issue 18).
 *
 * Who may do what: a worker session reads and sets its own preferences only; an admin key
 * reads and sets anyone's; a notify key reads anyone's (it needs the address to send to).
 * Webhooks are managed with an admin key; the notifier (notify or admin key) lists them with
 * their secrets and reports their state. Replies are malloc'd (the dispatcher frees them
 * with protobuf_c_message_free_unpacked(out, NULL)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/notify.h"
#include "proto/orchestra.pb-c.h"
#include "svc/notify.h"

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

/*
 * whose_settings picks the worker a settings call is about: a key (admin, notify) names one;
 * a worker session means itself, and naming anyone else is refused.
 */
static int whose_settings(const orci_call *c, const char *username, const char **out,
                          orc_error *err)
{
    const char *named = username != NULL ? username : "";
    if (c->who->scopes & (ORCI_SCOPE_ADMIN | ORCI_SCOPE_NOTIFY)) {
        if (named[0] == '\0')
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username is required");
        *out = named;
        return ORC_OK;
    }
    if (c->who->user_id <= 0 || c->who->username[0] == '\0')
        return orc_error_set(err, ORC_PERMISSION_DENIED, "User is not a worker.");
    if (named[0] != '\0' && strcmp(named, c->who->username) != 0)
        return orc_error_set(err, ORC_PERMISSION_DENIED,
                             "a worker may only see and change their own notification settings");
    *out = c->who->username;
    return ORC_OK;
}

/* settings_reply builds the NotificationSettings answer from s. */
static int settings_reply(const orci_notify_settings *s, ProtobufCMessage **out, orc_error *err)
{
    Orchestra__V1__NotificationSettings *r = calloc(1, sizeof *r);
    if (r == NULL)
        return oom(err);
    orchestra__v1__notification_settings__init(r);
    r->username = strdup(s->username);
    r->email = strdup(s->email);
    r->first_name = strdup(s->first_name);
    r->last_name = strdup(s->last_name);
    r->preferences = calloc(ORCI_NOTIFY_KINDS, sizeof *r->preferences);
    bool ok = r->username && r->email && r->first_name && r->last_name && r->preferences;
    for (int i = 0; ok && i < ORCI_NOTIFY_KINDS; i++) {
        Orchestra__V1__NotificationPreference *p = malloc(sizeof *p);
        if (p == NULL) {
            ok = false;
            break;
        }
        orchestra__v1__notification_preference__init(p);
        r->preferences[r->n_preferences++] = p;
        p->email = s->email_on[i];
        ok = (p->kind = strdup(orci_notify_kind_name(i))) != NULL;
    }
    if (!ok) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return oom(err);
    }
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_get_notification_settings(orci_call *c, const ProtobufCMessage *in,
                                       ProtobufCMessage **out, orc_error *err)
{
    const Orchestra__V1__GetNotificationSettingsRequest *req =
        (const Orchestra__V1__GetNotificationSettingsRequest *)in;
    *out = NULL;
    const char *who = NULL;
    int rc = whose_settings(c, req->username, &who, err);
    if (rc != ORC_OK)
        return rc;
    orci_notify_settings s;
    if ((rc = orci_notify_settings_get(c->rdb, who, &s, err)) != ORC_OK)
        return rc;
    return settings_reply(&s, out, err);
}

int orci_svc_set_notification_settings_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                             void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__SetNotificationSettingsRequest *req =
        (const Orchestra__V1__SetNotificationSettingsRequest *)in;
    *out = NULL;
    const char *who = NULL;
    int rc = whose_settings(c, req->username, &who, err);
    if (rc != ORC_OK)
        return rc;
    /* Every kind is checked before anything is written: a bad list changes nothing. */
    for (size_t i = 0; i < req->n_preferences; i++) {
        const char *kind = req->preferences[i]->kind;
        if (orci_notify_kind_index(kind) < 0)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "Unknown notification kind \"%.60s\" (assigned, under_review, "
                                 "returned, ready_for_rereview, complete, ended)",
                                 kind != NULL ? kind : "");
    }
    orci_notify_settings s;
    if ((rc = orci_notify_settings_get(wdb, who, &s, err)) != ORC_OK)
        return rc;
    for (size_t i = 0; i < req->n_preferences; i++) {
        int k = orci_notify_kind_index(req->preferences[i]->kind);
        bool on = req->preferences[i]->email;
        if ((rc = orci_notify_settings_set(wdb, s.worker_id, k, on, c->now_us, err)) != ORC_OK)
            return rc;
        s.email_on[k] = on;
    }
    return settings_reply(&s, out, err);
}

/* ---- webhooks ------------------------------------------------------------------------------ */

int orci_svc_create_webhook_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                  void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__CreateWebhookRequest *req =
        (const Orchestra__V1__CreateWebhookRequest *)in;
    *out = NULL;
    int64_t id = 0, start = 0;
    int rc = orci_webhook_create(wdb, req->url, req->topic_prefix, req->secret, c->now_us, &id,
                                 &start, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__CreateWebhookReply *r = malloc(sizeof *r);
    if (r == NULL)
        return oom(err);
    orchestra__v1__create_webhook_reply__init(r);
    r->id = id;
    r->start_seq = start;
    *out = &r->base;
    return ORC_OK;
}

/* webhook_message copies row (its strings move into the message) into a new Webhook. */
static Orchestra__V1__Webhook *webhook_message(orci_webhook_row *row, bool secrets)
{
    Orchestra__V1__Webhook *w = malloc(sizeof *w);
    if (w == NULL)
        return NULL;
    orchestra__v1__webhook__init(w);
    w->id = row->id;
    w->url = row->url;
    w->topic_prefix = row->topic_prefix;
    w->state = row->state;
    w->last_error = row->last_error;
    row->url = row->topic_prefix = row->state = row->last_error = NULL;
    if (secrets) {
        w->secret = row->secret;
        row->secret = NULL;
    }
    w->created_at = row->created_at_us;
    w->start_seq = row->start_seq;
    w->redeliver_generation = row->redeliver_generation;
    w->redeliver_since = row->redeliver_since;
    w->delivered_seq = row->delivered_seq;
    w->delivered = row->delivered;
    w->dead_lettered = row->dead_lettered;
    w->attempts = row->attempts;
    w->next_attempt_at = row->next_attempt_us;
    w->status_at = row->status_at_us;
    return w;
}

int orci_svc_list_webhooks(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                           orc_error *err)
{
    const Orchestra__V1__ListWebhooksRequest *req = (const Orchestra__V1__ListWebhooksRequest *)in;
    *out = NULL;
    orci_webhook_row *rows = NULL;
    size_t n = 0;
    int rc = orci_webhook_list(c->rdb, &rows, &n, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__ListWebhooksReply *r = malloc(sizeof *r);
    Orchestra__V1__Webhook **list = n > 0 ? calloc(n, sizeof *list) : NULL;
    if (r == NULL || (n > 0 && list == NULL)) {
        free(r);
        free(list);
        orci_webhook_rows_free(rows, n);
        return oom(err);
    }
    orchestra__v1__list_webhooks_reply__init(r);
    r->webhooks = list;
    /* Only the callers the method admits (notify, admin) ever get here; secrets on request. */
    for (size_t i = 0; i < n; i++) {
        Orchestra__V1__Webhook *w = webhook_message(&rows[i], req->include_secrets);
        if (w == NULL) {
            orci_webhook_rows_free(rows, n);
            protobuf_c_message_free_unpacked(&r->base, NULL);
            return oom(err);
        }
        r->webhooks[r->n_webhooks++] = w;
    }
    orci_webhook_rows_free(rows, n);
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_delete_webhook_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                  void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__DeleteWebhookRequest *req =
        (const Orchestra__V1__DeleteWebhookRequest *)in;
    *out = NULL;
    int rc = orci_webhook_delete(wdb, req->id, c->now_us, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__DeleteWebhookReply *r = malloc(sizeof *r);
    if (r == NULL)
        return oom(err);
    orchestra__v1__delete_webhook_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_redeliver_webhook_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                     void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    (void)c;
    const Orchestra__V1__RedeliverWebhookRequest *req =
        (const Orchestra__V1__RedeliverWebhookRequest *)in;
    *out = NULL;
    if (req->has_since && req->since < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "since must be a seq >= 0");
    int64_t gen = 0;
    int rc = orci_webhook_redeliver(wdb, req->id, req->has_since ? req->since : -1, &gen, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__RedeliverWebhookReply *r = malloc(sizeof *r);
    if (r == NULL)
        return oom(err);
    orchestra__v1__redeliver_webhook_reply__init(r);
    r->generation = gen;
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_report_webhook_status_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                         void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__ReportWebhookStatusRequest *req =
        (const Orchestra__V1__ReportWebhookStatusRequest *)in;
    *out = NULL;
    orci_webhook_status s = {.id = req->id,
                             .state = req->state,
                             .last_error = req->last_error,
                             .delivered_seq = req->delivered_seq,
                             .delivered = req->delivered,
                             .dead_lettered = req->dead_lettered,
                             .attempts = req->attempts,
                             .next_attempt_us = req->next_attempt_at};
    int rc = orci_webhook_report(wdb, &s, c->now_us, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__ReportWebhookStatusReply *r = malloc(sizeof *r);
    if (r == NULL)
        return oom(err);
    orchestra__v1__report_webhook_status_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}
