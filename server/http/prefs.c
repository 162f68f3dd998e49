/*
 * prefs.c: the settings page's endpoint (prefs.h).
 */
#include "prefs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proto/orchestra.pb-c.h"
#include "webrpc.h"

/* Upstream's subject of each kind, shown beside its switch (as the e-mails say it). */
static const struct {
    const char *kind, *subject;
} KINDS[] = {
    {"assigned", "You've been assigned to a new task!"},
    {"under_review", "Your task is under review!"},
    {"returned", "Your task has been returned"},
    {"ready_for_rereview", "A task is ready for re-review!"},
    {"complete", "Task complete!"},
    {"ended", "A task you were working on has been ended"},
};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

/* prefs_fail answers a refused or failed RPC as interface.c does. */
static void prefs_fail(const orci_web_request *req, orci_web_response *res, int rc,
                       const orc_error *err)
{
    if (rc == ORC_UNAUTHENTICATED)
        orci_web_to_login(req, res, true);
    else if (rc == ORC_UNAVAILABLE || rc == ORC_DEADLINE_EXCEEDED)
        orci_web_error(res, 503, "The coordinator is unavailable");
    else if (rc == ORC_INTERNAL || rc == ORC_UNKNOWN || !err->message[0])
        orci_web_error(res, 500, "An error occurred");
    else
        orci_web_error(res, 400, err->message);
}

/* prefs_answer renders the settings the coordinator sent. */
static void prefs_answer(orci_web_response *res, const Orchestra__V1__NotificationSettings *s)
{
    json_t *list = json_array();
    for (size_t k = 0; list && k < N_KINDS; k++) {
        bool on = true;
        for (size_t i = 0; i < s->n_preferences; i++)
            if (strcmp(s->preferences[i]->kind, KINDS[k].kind) == 0)
                on = s->preferences[i]->email;
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "kind", KINDS[k].kind, "subject",
                                              KINDS[k].subject, "email", on));
    }
    json_t *v = list ? json_pack("{s:s, s:s, s:o}", "username", s->username, "email", s->email,
                                 "notifications", list)
                     : NULL;
    orci_web_json_text(res, 200, v ? orci_json_dump(v) : NULL);
    json_decref(v);
}

/*
 * prefs_read fills in (kinds, emails: room for N_KINDS) from the POST body's
 * "notifications" object; false with a message when it is not that shape.
 */
static bool prefs_read(json_t *body, Orchestra__V1__NotificationPreference *prefs,
                       Orchestra__V1__NotificationPreference **list, size_t *n, const char **why)
{
    json_t *map = json_object_get(body, "notifications");
    *n = 0;
    if (!json_is_object(map)) {
        *why = "notifications must be an object of kind: true or false";
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v)
    {
        size_t k = 0;
        while (k < N_KINDS && strcmp(KINDS[k].kind, key) != 0)
            k++;
        if (k == N_KINDS || !json_is_boolean(v)) {
            *why = k == N_KINDS ? "unknown notification kind" : "each kind takes true or false";
            return false;
        }
        orchestra__v1__notification_preference__init(&prefs[*n]);
        prefs[*n].kind = (char *)KINDS[k].kind;
        prefs[*n].email = json_is_true(v);
        list[*n] = &prefs[*n];
        (*n)++;
    }
    return true;
}

void orci_web_prefs(orci_web_config *cfg, const orci_web_request *req, const char *token,
                    json_t *body, orci_web_response *res)
{
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc;
    if (strcmp(req->method, "POST") == 0) {
        Orchestra__V1__NotificationPreference prefs[N_KINDS];
        Orchestra__V1__NotificationPreference *list[N_KINDS];
        Orchestra__V1__SetNotificationSettingsRequest in =
            ORCHESTRA__V1__SET_NOTIFICATION_SETTINGS_REQUEST__INIT;
        const char *why = NULL;
        if (!prefs_read(body, prefs, list, &in.n_preferences, &why)) {
            orci_web_error(res, 400, why);
            return;
        }
        in.preferences = list;
        rc = orci_web_call_token(cfg->client, token, "SetNotificationSettings", &in.base,
                                 &orchestra__v1__notification_settings__descriptor, &out, &err);
    } else if (strcmp(req->method, "GET") == 0) {
        Orchestra__V1__GetNotificationSettingsRequest in =
            ORCHESTRA__V1__GET_NOTIFICATION_SETTINGS_REQUEST__INIT;
        rc = orci_web_call_token(cfg->client, token, "GetNotificationSettings", &in.base,
                                 &orchestra__v1__notification_settings__descriptor, &out, &err);
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "Method \"%.100s\" not allowed.", req->method);
        orci_web_detail(res, 405, msg);
        return;
    }
    if (rc != ORC_OK) {
        prefs_fail(req, res, rc, &err);
        return;
    }
    prefs_answer(res, (const Orchestra__V1__NotificationSettings *)out);
    protobuf_c_message_free_unpacked(out, NULL);
}
