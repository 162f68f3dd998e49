/*
 * calls_notify.c: the typed calls of client.h for notifications: workers' e-mail preferences
 * (GetNotificationSettings, SetNotificationSettings) and webhooks (CreateWebhook,
 * ListWebhooks, DeleteWebhook, RedeliverWebhook, ReportWebhookStatus).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

static const char *const KINDS[ORC_NOTIFY_KINDS] = {
    "assigned", "under_review", "returned", "ready_for_rereview", "complete", "ended",
};

const char *orc_notify_kind_name(int kind)
{
    return kind >= 0 && kind < ORC_NOTIFY_KINDS ? KINDS[kind] : NULL;
}

int orc_notify_kind_parse(const char *name)
{
    for (int i = 0; name && i < ORC_NOTIFY_KINDS; i++)
        if (strcmp(KINDS[i], name) == 0)
            return i;
    return -1;
}

/* settings_copy fills *out from the reply (kinds the client does not know are ignored). */
static void settings_copy(const Orchestra__V1__NotificationSettings *s,
                          orc_notification_settings *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->username, sizeof out->username, "%s", s->username);
    snprintf(out->email, sizeof out->email, "%s", s->email);
    snprintf(out->first_name, sizeof out->first_name, "%s", s->first_name);
    snprintf(out->last_name, sizeof out->last_name, "%s", s->last_name);
    for (int k = 0; k < ORC_NOTIFY_KINDS; k++)
        out->email_on[k] = true;
    for (size_t i = 0; i < s->n_preferences; i++) {
        int k = orc_notify_kind_parse(s->preferences[i]->kind);
        if (k >= 0)
            out->email_on[k] = s->preferences[i]->email;
    }
}

int orc_notification_settings_get(orc_client *c, const char *username,
                                  orc_notification_settings *out, orc_error *err)
{
    Orchestra__V1__GetNotificationSettingsRequest in =
        ORCHESTRA__V1__GET_NOTIFICATION_SETTINGS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    in.username = (char *)(username ? username : "");
    int rc = orci_client_call(c, "GetNotificationSettings", &in.base,
                              &orchestra__v1__notification_settings__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    settings_copy((const Orchestra__V1__NotificationSettings *)reply, out);
    protobuf_c_message_free_unpacked(reply, NULL);
    return ORC_OK;
}

int orc_notification_settings_set(orc_client *c, const char *username,
                                  const bool change[ORC_NOTIFY_KINDS],
                                  const bool email_on[ORC_NOTIFY_KINDS],
                                  orc_notification_settings *out, orc_error *err)
{
    Orchestra__V1__SetNotificationSettingsRequest in =
        ORCHESTRA__V1__SET_NOTIFICATION_SETTINGS_REQUEST__INIT;
    Orchestra__V1__NotificationPreference prefs[ORC_NOTIFY_KINDS];
    Orchestra__V1__NotificationPreference *list[ORC_NOTIFY_KINDS];
    ProtobufCMessage *reply = NULL;
    if (!change || !email_on)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no preferences given");
    in.username = (char *)(username ? username : "");
    for (int k = 0; k < ORC_NOTIFY_KINDS; k++) {
        if (!change[k])
            continue;
        orchestra__v1__notification_preference__init(&prefs[in.n_preferences]);
        prefs[in.n_preferences].kind = (char *)KINDS[k];
        prefs[in.n_preferences].email = email_on[k];
        list[in.n_preferences] = &prefs[in.n_preferences];
        in.n_preferences++;
    }
    in.preferences = list;
    int rc = orci_client_call(c, "SetNotificationSettings", &in.base,
                              &orchestra__v1__notification_settings__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    if (out)
        settings_copy((const Orchestra__V1__NotificationSettings *)reply, out);
    protobuf_c_message_free_unpacked(reply, NULL);
    return ORC_OK;
}

/* ---- webhooks -------------------------------------------------------------------------------- */

int orc_webhook_create(orc_client *c, const char *url, const char *topic_prefix, const char *secret,
                       int64_t *id, int64_t *start_seq, orc_error *err)
{
    Orchestra__V1__CreateWebhookRequest in = ORCHESTRA__V1__CREATE_WEBHOOK_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (id)
        *id = 0;
    if (start_seq)
        *start_seq = 0;
    if (!url || !url[0] || !secret || !secret[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a URL and a secret are required");
    in.url = (char *)url;
    in.topic_prefix = (char *)(topic_prefix ? topic_prefix : "");
    in.secret = (char *)secret;
    int rc = orci_client_call(c, "CreateWebhook", &in.base,
                              &orchestra__v1__create_webhook_reply__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__CreateWebhookReply *r = (const Orchestra__V1__CreateWebhookReply *)reply;
    if (id)
        *id = r->id;
    if (start_seq)
        *start_seq = r->start_seq;
    protobuf_c_message_free_unpacked(reply, NULL);
    return ORC_OK;
}

void orc_webhook_list_free(orc_webhook_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_webhooks; i++) {
        orc_webhook *w = &l->webhooks[i];
        free(w->url);
        free(w->topic_prefix);
        if (w->secret)
            memset(w->secret, 0, strlen(w->secret));
        free(w->secret);
        free(w->state);
        free(w->last_error);
    }
    free(l->webhooks);
    l->webhooks = NULL;
    l->n_webhooks = 0;
}

/* webhook_copy fills *w from m; false when out of memory. */
static bool webhook_copy(const Orchestra__V1__Webhook *m, orc_webhook *w)
{
    memset(w, 0, sizeof *w);
    w->id = m->id;
    w->url = strdup(m->url);
    w->topic_prefix = strdup(m->topic_prefix);
    w->secret = strdup(m->secret);
    w->state = strdup(m->state);
    w->last_error = strdup(m->last_error);
    w->created_at_us = m->created_at;
    w->start_seq = m->start_seq;
    w->redeliver_generation = m->redeliver_generation;
    w->redeliver_since = m->redeliver_since;
    w->delivered_seq = m->delivered_seq;
    w->delivered = m->delivered;
    w->dead_lettered = m->dead_lettered;
    w->attempts = m->attempts;
    w->next_attempt_us = m->next_attempt_at;
    w->status_at_us = m->status_at;
    return w->url && w->topic_prefix && w->secret && w->state && w->last_error;
}

int orc_webhooks_list(orc_client *c, bool include_secrets, orc_webhook_list *out, orc_error *err)
{
    Orchestra__V1__ListWebhooksRequest in = ORCHESTRA__V1__LIST_WEBHOOKS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    out->webhooks = NULL;
    out->n_webhooks = 0;
    in.include_secrets = include_secrets;
    int rc = orci_client_call(c, "ListWebhooks", &in.base,
                              &orchestra__v1__list_webhooks_reply__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListWebhooksReply *r = (const Orchestra__V1__ListWebhooksReply *)reply;
    if (r->n_webhooks > 0 && !(out->webhooks = calloc(r->n_webhooks, sizeof *out->webhooks)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_webhooks; i++) {
        out->n_webhooks++;
        if (!webhook_copy(r->webhooks[i], &out->webhooks[i]))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    if (rc != ORC_OK)
        orc_webhook_list_free(out);
    return rc;
}

int orc_webhook_delete(orc_client *c, int64_t id, orc_error *err)
{
    Orchestra__V1__DeleteWebhookRequest in = ORCHESTRA__V1__DELETE_WEBHOOK_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    in.id = id;
    int rc = orci_client_call(c, "DeleteWebhook", &in.base,
                              &orchestra__v1__delete_webhook_reply__descriptor, &reply, err);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

int orc_webhook_redeliver(orc_client *c, int64_t id, int64_t since, int64_t *generation,
                          orc_error *err)
{
    Orchestra__V1__RedeliverWebhookRequest in = ORCHESTRA__V1__REDELIVER_WEBHOOK_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (generation)
        *generation = 0;
    in.id = id;
    in.has_since = since >= 0;
    in.since = since >= 0 ? since : 0;
    int rc = orci_client_call(c, "RedeliverWebhook", &in.base,
                              &orchestra__v1__redeliver_webhook_reply__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    if (generation)
        *generation = ((const Orchestra__V1__RedeliverWebhookReply *)reply)->generation;
    protobuf_c_message_free_unpacked(reply, NULL);
    return ORC_OK;
}

int orc_webhook_report(orc_client *c, const orc_webhook_status *s, orc_error *err)
{
    Orchestra__V1__ReportWebhookStatusRequest in =
        ORCHESTRA__V1__REPORT_WEBHOOK_STATUS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!s)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no status given");
    in.id = s->id;
    in.state = (char *)(s->state ? s->state : "");
    in.last_error = (char *)(s->last_error ? s->last_error : "");
    in.delivered_seq = s->delivered_seq;
    in.delivered = s->delivered;
    in.dead_lettered = s->dead_lettered;
    in.attempts = s->attempts;
    in.next_attempt_at = s->next_attempt_us;
    int rc = orci_client_call(c, "ReportWebhookStatus", &in.base,
                              &orchestra__v1__report_webhook_status_reply__descriptor, &reply, err);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}
