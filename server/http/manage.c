/*
 * manage.c: upstream's project management endpoints (spec 5) under
 * /orchestra/api/interface/project_management/: project_information, assign_task,
 * reassign_assignment, complete_and_skip_task, create_subsequent_tasks, end_project and
 * revert_task, all POST with a JSON body, each one RPC (ManagedProjectInformation,
 * ManageProject).
 *
 * Callers are either a signed-in worker (session cookie and CSRF header; the coordinator
 * lets project admins through, and others get upstream's 302 to the sign-in page) or a
 * program with an admin API key signing the request as the legacy API does (X-Api-Key and
 * Authorization: Signature, spec 4.1, with the Date and Digest checks of legacy.c; refusals
 * are 403 {"detail":...}). edit_slack_membership answers 400: there is no Slack here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "httpsig.h"
#include "json.h"
#include "proto/orchestra.pb-c.h"
#include "web.h"
#include "webrpc.h"
#include "websession.h"

#define MSG_CSRF "CSRF Failed: CSRF token missing or incorrect."
#define MSG_NO_PERMISSION "You do not have permission to perform this action."

/* pm is one request: its credentials and body. */
typedef struct pm {
    orci_web_config *cfg;
    const orci_web_request *req;
    orci_web_response *res;
    bool signed_call; /* an API key's HTTP signature, else a session */
    char token[ORCI_COOKIE_VALUE_MAX];
    orc_creds creds;
    orci_httpsig_params params;
    char *signing_string;
    json_t *body;
} pm;

/* pm_signature fills p's forwarded HTTP signature; false with the 403 answered. */
static bool pm_signature(pm *p, const char *key)
{
    const orci_web_request *req = p->req;
    orc_error err;
    orc_error_clear(&err);
    const char *authz = req->header(req->header_arg, "authorization");
    const char *date = req->header(req->header_arg, "date");
    int64_t when = 0, now = (int64_t)time(NULL);
    const char *why = NULL;
    if (!authz || !authz[0])
        why = "No signature provided";
    else if (orci_httpsig_parse(authz, &p->params, &err) != ORC_OK ||
             orci_httpsig_signing_string(&p->params, req->method, req->target, req->header,
                                         req->header_arg, &p->signing_string, &err) != ORC_OK)
        why = err.message;
    else if (!date || orci_httpsig_parse_date(date, &when) != 0)
        why = "A Date header is required";
    else if (when > now + p->cfg->date_window_s || when < now - p->cfg->date_window_s)
        why = "The Date header is too far from the server time";
    for (size_t i = 0; !why && i < p->params.n_headers; i++)
        if (strcmp(p->params.headers[i], "digest") == 0 &&
            !orci_httpsig_digest_ok(req->header(req->header_arg, "digest"), req->body,
                                    req->body_len))
            why = "The Digest header does not match the body";
    if (why) {
        orci_web_detail(p->res, 403, why);
        return false;
    }
    p->creds.http_key_id = key;
    p->creds.http_signing_string = p->signing_string;
    p->creds.http_signature = p->params.signature;
    return true;
}

/* pm_credentials sets up p's credentials; false with the refusal answered. */
static bool pm_credentials(pm *p)
{
    memset(&p->creds, 0, sizeof p->creds);
    const char *key = p->req->header(p->req->header_arg, "x-api-key");
    if (key && key[0]) {
        p->signed_call = true;
        return pm_signature(p, key);
    }
    if (!orci_web_cookie(p->req, ORCI_SESSION_COOKIE, p->token, sizeof p->token)) {
        orci_web_to_login(p->req, p->res, false);
        return false;
    }
    if (!orci_web_csrf_ok(p->req, false)) {
        orci_web_detail(p->res, 403, MSG_CSRF);
        return false;
    }
    p->creds.token = p->token;
    return true;
}

/* pm_fail answers a refused RPC: sessions without the right go to sign-in, as upstream. */
static void pm_fail(pm *p, int rc, const orc_error *err)
{
    if (rc == ORC_UNAUTHENTICATED || rc == ORC_PERMISSION_DENIED) {
        if (p->signed_call)
            orci_web_detail(p->res, 403,
                            rc == ORC_PERMISSION_DENIED ? MSG_NO_PERMISSION : err->message);
        else
            orci_web_to_login(p->req, p->res, rc == ORC_UNAUTHENTICATED);
    } else if (rc == ORC_UNAVAILABLE || rc == ORC_DEADLINE_EXCEEDED) {
        orci_web_error(p->res, 503, "The coordinator is unavailable");
    } else if (rc == ORC_INTERNAL || rc == ORC_UNKNOWN || !err->message[0]) {
        orci_web_error(p->res, 500, "An error occurred");
    } else {
        orci_web_error(p->res, 400, err->message);
    }
}

/* pm_id reads body[key] as an id (integer or decimal string); 0 when absent or not one. */
static int64_t pm_id(const pm *p, const char *key)
{
    json_t *v = json_object_get(p->body, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    return errno || end == s || *end ? 0 : n;
}

static void pm_information(pm *p)
{
    Orchestra__V1__ManagedProjectInformationRequest in =
        ORCHESTRA__V1__MANAGED_PROJECT_INFORMATION_REQUEST__INIT;
    if ((in.project_id = pm_id(p, "project_id")) <= 0) {
        orci_web_error(p->res, 400, "project_id is required");
        return;
    }
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc =
        orci_web_call(p->cfg->client, &p->creds, "ManagedProjectInformation", &in.base,
                      &orchestra__v1__managed_project_information_reply__descriptor, &out, &err);
    if (rc == ORC_NOT_FOUND)
        orci_web_error(p->res, 400, "No project for given id");
    else if (rc != ORC_OK)
        pm_fail(p, rc, &err);
    else
        orci_web_text(p->res, 200, "application/json",
                      ((const Orchestra__V1__ManagedProjectInformationReply *)out)->json);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
}

static void pm_operation(pm *p, const char *op)
{
    Orchestra__V1__ManageProjectRequest in = ORCHESTRA__V1__MANAGE_PROJECT_REQUEST__INIT;
    in.operation = (char *)op;
    in.project_id = pm_id(p, "project_id");
    in.task_id = pm_id(p, "task_id");
    in.assignment_id = pm_id(p, "assignment_id");
    in.iteration_id = pm_id(p, "iteration_id");
    const char *user = json_string_value(json_object_get(p->body, "worker_username"));
    in.username = (char *)(user ? user : "");
    in.revert_before = json_is_true(json_object_get(p->body, "revert_before"));
    in.commit = json_is_true(json_object_get(p->body, "commit"));
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call(p->cfg->client, &p->creds, "ManageProject", &in.base,
                           &orchestra__v1__manage_project_reply__descriptor, &out, &err);
    if (rc != ORC_OK)
        pm_fail(p, rc, &err);
    else if (strcmp(op, "revert_task") == 0) /* the audit; the others answer null */
        orci_web_text(p->res, 200, "application/json",
                      ((const Orchestra__V1__ManageProjectReply *)out)->json);
    else
        orci_web_text(p->res, 200, "application/json", "null");
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
}

void orci_web_manage(orci_web_config *cfg, const orci_web_request *req, const char *endpoint,
                     orci_web_response *res)
{
    static const char *const ops[] = {
        "assign_task", "reassign_assignment", "complete_and_skip_task", "create_subsequent_tasks",
        "end_project", "revert_task"};
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(endpoint, "/"), endpoint);
    pm p = {.cfg = cfg, .req = req, .res = res};
    if (!pm_credentials(&p))
        goto out;
    if (strcmp(req->method, "POST") != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "Method \"%.100s\" not allowed.", req->method);
        orci_web_detail(res, 405, msg);
        goto out;
    }
    orc_error err;
    orc_error_clear(&err);
    p.body = req->body_len ? orci_json_parse_object(req->body, req->body_len, "request body", &err)
                           : json_object();
    if (!p.body) {
        orci_web_error(res, 400, err.message);
        goto out;
    }
    if (strcmp(name, "project_information") == 0) {
        pm_information(&p);
        goto out;
    }
    if (strcmp(name, "edit_slack_membership") == 0) {
        orci_web_error(res, 400, "Slack is not configured on this server");
        goto out;
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(name, ops[i]) == 0) {
            pm_operation(&p, ops[i]);
            goto out;
        }
    }
    orci_web_detail(res, 404, "Not found.");
out:
    json_decref(p.body);
    free(p.signing_string);
}
