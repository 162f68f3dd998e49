/*
 * channels.c: the e-mail and webhook channels of channels.h.
 */
#include "channels.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mail.h"
#include "webhook.h"

/* ---- e-mail ------------------------------------------------------------------------------- */

typedef struct email_ctx {
    orc_client *rpc;
    char *from, *app_url;
    orci_smtp *smtp;
} email_ctx;

static bool email_wants(void *ctx, const orc_event *ev)
{
    (void)ctx;
    return orci_mail_wanted(ev);
}

static orci_sent email_deliver(void *arg, const orc_event *ev, char *why, size_t why_size)
{
    email_ctx *c = arg;
    int kind = orci_mail_kind(ev->type);
    orc_notification_settings *s = NULL;
    orc_error err;
    int rc = orc_notification_settings_get(c->rpc, ev->worker, &s, &err);
    if (rc == ORC_NOT_FOUND) {
        snprintf(why, why_size, "no worker %s any more", ev->worker);
        return ORCI_SENT_SKIP;
    }
    if (rc != ORC_OK) {
        snprintf(why, why_size, "the worker's address: %s", err.message);
        return ORCI_SENT_RETRY;
    }
    orci_sent r = ORCI_SENT_SKIP;
    char *msg = NULL;
    size_t len = 0;
    orci_mail_recipient to = {.username = s->username, .email = s->email};
    if (kind < 0 || (size_t)kind >= s->n_kinds)
        snprintf(why, why_size, "%s: no e-mail preference for %s", s->username, ev->type);
    else if (!s->email_on[kind])
        snprintf(why, why_size, "%s opted out of %s e-mails", s->username,
                 orc_notify_kind_name(kind));
    else if (!s->email[0])
        snprintf(why, why_size, "%s has no e-mail address", s->username);
    else if (orci_mail_render(ev, &to, c->from, c->app_url, orci_clock_now(&orci_clock_system),
                              &msg, &len, &err) != ORC_OK) {
        snprintf(why, why_size, "%s", err.message);
        r = ORCI_SENT_FAIL;
    } else
        r = orci_smtp_send(c->smtp, c->from, s->email, msg, len, why, why_size);
    free(msg);
    orc_notification_settings_free(s);
    return r;
}

static void email_free(void *arg)
{
    email_ctx *c = arg;
    if (!c)
        return;
    orci_smtp_free(c->smtp);
    free(c->from);
    free(c->app_url);
    free(c);
}

int orci_email_channel(const orci_email_config *cfg, atomic_bool *stop, orci_channel *out,
                       orc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!orci_mail_address_ok(cfg->from))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "not a usable sender address: %s",
                             cfg->from ? cfg->from : "(none)");
    email_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    c->rpc = cfg->rpc;
    c->from = strdup(cfg->from);
    c->app_url = strdup(cfg->app_url ? cfg->app_url : "");
    orci_smtp_opts so = cfg->smtp;
    so.stop = stop;
    int code = c->from && c->app_url ? orci_smtp_new(&so, &c->smtp, err)
                                     : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (code != ORC_OK) {
        email_free(c);
        return code;
    }
    *out = (orci_channel){
        .wants = email_wants, .deliver = email_deliver, .free = email_free, .ctx = c};
    return ORC_OK;
}

/* ---- webhooks -------------------------------------------------------------------------------- */

typedef struct hook_ctx {
    orci_webhook_client *http;
    char *secret;
} hook_ctx;

static orci_sent hook_deliver(void *arg, const orc_event *ev, char *why, size_t why_size)
{
    hook_ctx *c = arg;
    char *body = NULL;
    orc_error err;
    if (orc_event_json(ev, &body, &err) != ORC_OK) {
        snprintf(why, why_size, "%s", err.message);
        return ORCI_SENT_RETRY;
    }
    int status = 0;
    int64_t now_s = orci_clock_now(&orci_clock_system) / 1000000;
    orci_sent r = orci_webhook_post(c->http, c->secret, ev->seq, body, strlen(body), now_s, &status,
                                    why, why_size);
    orc_free(body);
    return r;
}

static void hook_free(void *arg)
{
    hook_ctx *c = arg;
    if (!c)
        return;
    orci_webhook_client_free(c->http);
    if (c->secret)
        memset(c->secret, 0, strlen(c->secret));
    free(c->secret);
    free(c);
}

int orci_hook_channel(const orci_hook_config *cfg, atomic_bool *stop, orci_channel *out,
                      orc_error *err)
{
    memset(out, 0, sizeof *out);
    hook_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    c->secret = strdup(cfg->secret ? cfg->secret : "");
    orci_webhook_opts wo = {
        .url = cfg->url, .ca_file = cfg->ca_file, .timeout_ms = cfg->timeout_ms, .stop = stop};
    int code = c->secret ? orci_webhook_client_new(&wo, &c->http, err)
                         : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (code != ORC_OK) {
        hook_free(c);
        return code;
    }
    *out = (orci_channel){.deliver = hook_deliver, .free = hook_free, .ctx = c};
    return ORC_OK;
}
