/*
 * calls_notify.c: the typed calls of client.h for notifications: workers' e-mail preferences
 * (GetNotificationSettings, SetNotificationSettings) and webhooks (CreateWebhook,
 * ListWebhooks, DeleteWebhook, RedeliverWebhook, ReportWebhookStatus).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
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

/*
 * settings_new is the reply as one block (orci_block_new): the struct, its email_on flags
 * right after it, then its strings. Kinds the client does not know are ignored. NULL when
 * out of memory.
 */
static orc_notification_settings *settings_new(const Orchestra__V1__NotificationSettings *s)
{
    /* The flags are bools (alignment 1) placed between the struct and the strings. */
    const size_t head = sizeof(orc_notification_settings) + ORC_NOTIFY_KINDS;
    const size_t offs[] = {
        offsetof(orc_notification_settings, username),
        offsetof(orc_notification_settings, email),
        offsetof(orc_notification_settings, first_name),
        offsetof(orc_notification_settings, last_name),
    };
    const char *const strs[] = {s->username, s->email, s->first_name, s->last_name};
    orc_notification_settings *out = orci_block_new(head, 4, offs, strs);
    if (!out)
        return NULL;
    bool *on = (bool *)(out + 1);
    for (int k = 0; k < ORC_NOTIFY_KINDS; k++)
        on[k] = true;
    for (size_t i = 0; i < s->n_preferences; i++) {
        int k = orc_notify_kind_parse(s->preferences[i]->kind);
        if (k >= 0)
            on[k] = s->preferences[i]->email;
    }
    out->email_on = on;
    out->n_kinds = ORC_NOTIFY_KINDS;
    return out;
}

void orc_notification_settings_free(orc_notification_settings *s)
{
    free(s); /* one block (settings_new) */
}

/* settings_out hands the reply to the caller in *out (NULL: not wanted) and frees the reply. */
static int settings_out(ProtobufCMessage *reply, orc_notification_settings **out, orc_error *err)
{
    int rc = ORC_OK;
    if (out && !(*out = settings_new((const Orchestra__V1__NotificationSettings *)reply)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

int orc_notification_settings_get(orc_client *c, const char *username,
                                  orc_notification_settings **out, orc_error *err)
{
    Orchestra__V1__GetNotificationSettingsRequest in =
        ORCHESTRA__V1__GET_NOTIFICATION_SETTINGS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the settings");
    *out = NULL;
    in.username = (char *)(username ? username : "");
    int rc = orci_client_call(c, "GetNotificationSettings", &in.base,
                              &orchestra__v1__notification_settings__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    return settings_out(reply, out, err);
}

int orc_notification_settings_set(orc_client *c, const char *username, const bool *change,
                                  const bool *email_on, size_t n_kinds,
                                  orc_notification_settings **out, orc_error *err)
{
    Orchestra__V1__SetNotificationSettingsRequest in =
        ORCHESTRA__V1__SET_NOTIFICATION_SETTINGS_REQUEST__INIT;
    Orchestra__V1__NotificationPreference prefs[ORC_NOTIFY_KINDS];
    Orchestra__V1__NotificationPreference *list[ORC_NOTIFY_KINDS];
    ProtobufCMessage *reply = NULL;
    if (out)
        *out = NULL;
    if (!change || !email_on)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no preferences given");
    if (n_kinds > ORC_NOTIFY_KINDS)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%zu kinds of e-mail given; this library knows %d", n_kinds,
                             ORC_NOTIFY_KINDS);
    in.username = (char *)(username ? username : "");
    for (size_t k = 0; k < n_kinds; k++) {
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
    return settings_out(reply, out, err);
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
        orc_webhook *w = l->webhooks[i];
        if (w && w->secret)
            memset(w->secret, 0, strlen(w->secret));
        free(w); /* one block with its strings (webhook_new) */
    }
    free(l->webhooks);
    free(l);
}

/* webhook_new is m as one block (orci_block_new); NULL when out of memory. */
static orc_webhook *webhook_new(const Orchestra__V1__Webhook *m)
{
    const size_t offs[] = {offsetof(orc_webhook, url), offsetof(orc_webhook, topic_prefix),
                           offsetof(orc_webhook, secret), offsetof(orc_webhook, state),
                           offsetof(orc_webhook, last_error)};
    const char *const strs[] = {m->url, m->topic_prefix, m->secret, m->state, m->last_error};
    orc_webhook *w = orci_block_new(sizeof *w, 5, offs, strs);
    if (!w)
        return NULL;
    w->id = m->id;
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
    return w;
}

int orc_webhooks_list(orc_client *c, bool include_secrets, orc_webhook_list **out_list,
                      orc_error *err)
{
    Orchestra__V1__ListWebhooksRequest in = ORCHESTRA__V1__LIST_WEBHOOKS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!out_list)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the webhooks");
    *out_list = NULL;
    in.include_secrets = include_secrets;
    int rc = orci_client_call(c, "ListWebhooks", &in.base,
                              &orchestra__v1__list_webhooks_reply__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListWebhooksReply *r = (const Orchestra__V1__ListWebhooksReply *)reply;
    orc_webhook_list *out = calloc(1, sizeof *out);
    if (!out || !(out->webhooks = calloc(r->n_webhooks ? r->n_webhooks : 1, sizeof(orc_webhook *))))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_webhooks; i++) {
        if (!(out->webhooks[out->n_webhooks++] = webhook_new(r->webhooks[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    if (rc != ORC_OK)
        orc_webhook_list_free(out);
    else
        *out_list = out;
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

int orc_webhook_report(orc_client *c, const orc_webhook_status *status, orc_error *err)
{
    Orchestra__V1__ReportWebhookStatusRequest in =
        ORCHESTRA__V1__REPORT_WEBHOOK_STATUS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    orc_webhook_status copy;
    const orc_webhook_status *s = &copy;
    if (!status)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no status given");
    int rc = orci_struct_in(&copy, sizeof copy, status, sizeof copy, "orc_webhook_status", err);
    if (rc != ORC_OK)
        return rc;
    in.id = s->id;
    in.state = (char *)(s->state ? s->state : "");
    in.last_error = (char *)(s->last_error ? s->last_error : "");
    in.delivered_seq = s->delivered_seq;
    in.delivered = s->delivered;
    in.dead_lettered = s->dead_lettered;
    in.attempts = s->attempts;
    in.next_attempt_at = s->next_attempt_us;
    rc = orci_client_call(c, "ReportWebhookStatus", &in.base,
                          &orchestra__v1__report_webhook_status_reply__descriptor, &reply, err);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}
