/*
 * app.c: the app's pages and files.
 *
 *   /orchestra/app/, /orchestra/app/task/<id>, /orchestra/app/timecard, /orchestra/app/settings,
 *   /orchestra/app/project/<id>   the app shell (one page; its script routes by the URL), for
 *                                  a live session only: otherwise a 302 to the sign-in page;
 *                                  project pages for project admins only (403 otherwise)
 *   /orchestra/app/task/<id>/interface.js   the task's step interface module (TaskInterface)
 *   /orchestra/static/<file>       the embedded files (assets.h), revalidated by ETag
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "proto/orchestra.pb-c.h"
#include "web.h"
#include "webrpc.h"
#include "websession.h"

#define APP "/orchestra/app/"
#define STATIC "/orchestra/static/"
#define HTML "text/html; charset=utf-8"

static void not_found(orci_web_response *res)
{
    orci_web_text(res, 404, HTML,
                  "<!doctype html><title>Not found</title><h1>Not found</h1>"
                  "<p><a href=\"" APP "\">Back to the dashboard</a></p>");
}

static void serve_asset(const orci_web_request *req, orci_web_response *res, const char *path)
{
    const orci_asset *a = orci_asset_find(path);
    if (!a) {
        not_found(res);
        return;
    }
    const char *inm = req->header(req->header_arg, "if-none-match");
    orci_web_header_add(res, "ETag", a->etag);
    orci_web_header_add(res, "Cache-Control", "no-cache");
    if (inm && strcmp(inm, a->etag) == 0) {
        orci_web_text(res, 304, a->content_type, "");
        return;
    }
    res->status = 200;
    res->content_type = a->content_type;
    res->body = (char *)a->data;
    res->body_len = a->len;
    res->body_static = true;
}

/* id_route reads "<prefix><id>[/]" (and "<prefix><id>/<tail>" when tail): the id, or 0. */
static long long id_route(const char *path, const char *prefix, const char *tail)
{
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl) != 0)
        return 0;
    char *end = NULL;
    long long id = strtoll(path + pl, &end, 10);
    if (id <= 0 || end == path + pl || path[pl] == '+' || path[pl] == '-')
        return 0;
    if (tail)
        return strcmp(end, tail) == 0 ? id : 0;
    return (*end == '\0' || strcmp(end, "/") == 0) ? id : 0;
}

/* whoami asks who holds the session: ORC_OK with *admin, or the RPC's code. */
static int whoami(orci_web_config *cfg, const char *token, bool *admin)
{
    Orchestra__V1__WhoAmIRequest in = ORCHESTRA__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(cfg->client, token, "WhoAmI", &in.base,
                                 &orchestra__v1__who_am_ireply__descriptor, &out, &err);
    if (rc == ORC_OK)
        *admin = ((const Orchestra__V1__WhoAmIReply *)out)->project_admin;
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

static void interface_module(orci_web_config *cfg, const orci_web_request *req,
                             orci_web_response *res, const char *token, long long task)
{
    Orchestra__V1__TaskInterfaceRequest in = ORCHESTRA__V1__TASK_INTERFACE_REQUEST__INIT;
    in.task_id = task;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(cfg->client, token, "TaskInterface", &in.base,
                                 &orchestra__v1__task_interface_reply__descriptor, &out, &err);
    if (rc == ORC_UNAUTHENTICATED)
        orci_web_to_login(req, res, true);
    else if (rc == ORC_NOT_FOUND)
        orci_web_text(res, 404, "text/plain; charset=utf-8", err.message);
    else if (rc == ORC_PERMISSION_DENIED)
        orci_web_text(res, 403, "text/plain; charset=utf-8", err.message);
    else if (rc != ORC_OK)
        orci_web_text(res, 503, "text/plain; charset=utf-8", "The coordinator is unavailable");
    else
        orci_web_text(res, 200, "text/javascript; charset=utf-8",
                      ((const Orchestra__V1__TaskInterfaceReply *)out)->source);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
}

/* app_page serves the shell for a route of the app, to a live session. */
static void app_page(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res,
                     const char *token, bool admin_only)
{
    bool admin = false;
    int rc = whoami(cfg, token, &admin);
    if (rc == ORC_UNAUTHENTICATED)
        orci_web_to_login(req, res, true);
    else if (rc != ORC_OK)
        orci_web_text(res, 503, HTML,
                      "<!doctype html><title>Unavailable</title>"
                      "<h1>The coordinator is unavailable</h1>");
    else if (admin_only && !admin)
        orci_web_text(res, 403, HTML,
                      "<!doctype html><title>Forbidden</title><h1>Forbidden (403)</h1>"
                      "<p>You do not have permission to perform this action.</p>"
                      "<p><a href=\"" APP "\">Back to the dashboard</a></p>");
    else
        serve_asset(req, res, "templates/app.html");
}

void orci_web_app(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    const char *p = req->path;
    if (strncmp(p, STATIC, strlen(STATIC)) == 0) {
        char path[300];
        const char *rest = p + strlen(STATIC);
        if (strstr(rest, "..") ||
            snprintf(path, sizeof path, "static/%s", rest) >= (int)sizeof path)
            not_found(res);
        else
            serve_asset(req, res, path);
        return;
    }
    if (strcmp(p, "/orchestra/app") == 0) {
        orci_web_redirect(res, APP);
        return;
    }
    long long task = id_route(p, APP "task/", NULL);
    long long module = id_route(p, APP "task/", "/interface.js");
    long long project = id_route(p, APP "project/", NULL);
    bool timecard = strcmp(p, APP "timecard") == 0 || strcmp(p, APP "timecard/") == 0;
    bool settings = strcmp(p, APP "settings") == 0 || strcmp(p, APP "settings/") == 0;
    if (!task && !module && !project && !timecard && !settings && strcmp(p, APP) != 0) {
        not_found(res);
        return;
    }
    char token[ORCI_COOKIE_VALUE_MAX];
    if (!orci_web_cookie(req, ORCI_SESSION_COOKIE, token, sizeof token))
        orci_web_to_login(req, res, false);
    else if (module)
        interface_module(cfg, req, res, token, module);
    else
        app_page(cfg, req, res, token, project > 0);
}
