/*
 * prefs.h: the settings page's endpoint, /orchestra/api/interface/notification_preferences/:
 * which of upstream's six e-mails (spec 3.7) the signed-in worker gets, read (GET) and set
 * (POST {"notifications": {"<kind>": true|false, ...}}, the kinds to change). Both answer
 * {"username", "email", "notifications": [{"kind", "subject", "email"}]} in upstream's order.
 * One RPC each (GetNotificationSettings, SetNotificationSettings) with the worker's token;
 * interface.c has checked the session cookie and, for a POST, the CSRF token.
 *
 * Threads: libmicrohttpd's connection threads, many at once.
 */
#ifndef ORCI_HTTP_PREFS_H
#define ORCI_HTTP_PREFS_H

#include <jansson.h>

#include "web.h"

/*
 * orci_web_prefs answers one request: token is the worker's session (borrowed), body the
 * parsed JSON body of a POST (borrowed; NULL for GET). Errors are upstream's 400
 * {"error":400,"message":...}; an expired session is sent to sign in (302).
 */
void orci_web_prefs(orci_web_config *cfg, const orci_web_request *req, const char *token,
                    json_t *body, orci_web_response *res);

#endif
