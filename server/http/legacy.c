/*
 * legacy.c: routing, authentication checks and the RPC translation of the legacy JSON API
 * (legacy.h). Response bodies and messages are upstream's (spec 4.1-4.3), DOC's and, beside
 * them, upstream HEAD's client endpoints (spec 4.3 HEAD and 4.4: project_information with
 * project_ids, assign_worker_to_task, message_project_team).
 *
 * Every endpoint but status needs the coordinator to verify the request's signature, so an
 * endpoint that has no RPC of its own (project_details_url) or that refuses a request
 * before making one (missing parameter, bad JSON, wrong method: upstream checks all of
 * those after authentication) first sends a read-only probe: GetProjectInformation of
 * project INT64_MAX, which never exists. NOT_FOUND then means "authenticated, with project scope".
 */
#include "legacy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "orchestra/call.h"
#include "json.h"
#include "observe.h"
#include "proto/orchestra.pb-c.h"

#define MSG_UNAUTHENTICATED "Authentication credentials were not provided."
#define MSG_NO_PERMISSION "You do not have permission to perform this action."
#define MSG_ERROR "An error occurred"
#define API_PREFIX "/orchestra/api/project/"

/* legacy_auth is what the shim forwards to the coordinator for one request. */
typedef struct legacy_auth {
    const char *key_id;   /* X-Api-Key, borrowed from the request */
    char *signing_string; /* owned */
    orci_httpsig_params params;
} legacy_auth;

/* ---- responses ------------------------------------------------------------------------ */

void orci_http_response_fini(orci_http_response *res)
{
    if (!res)
        return;
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

static void res_static(orci_http_response *res, int status, const char *ctype, const char *text)
{
    orci_http_response_fini(res);
    res->status = status;
    res->content_type = ctype;
    res->body = strdup(text);
    res->body_len = res->body ? strlen(res->body) : 0;
}

/* res_json fills res with doc (a reference it takes). */
static void res_json(orci_http_response *res, int status, json_t *doc)
{
    char *text = orci_json_dump(doc);
    json_decref(doc);
    if (!text) {
        res_static(res, 500, "application/json", "{\"error\":500,\"message\":\"" MSG_ERROR "\"}");
        return;
    }
    orci_http_response_fini(res);
    res->status = status;
    res->content_type = "application/json";
    res->body = text;
    res->body_len = strlen(text);
}

void orci_http_error_json(orci_http_response *res, int status, const char *msg)
{
    res_json(res, status, json_pack("{s:i, s:s}", "error", status, "message", msg));
}

/*
 * legacy_error500 is upstream's generic 500 with what went wrong after its text (upstream
 * itself says why only in DEBUG mode): "An error occurred: priority must be an integer".
 */
static void legacy_error500(orci_http_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void legacy_error500(orci_http_response *res, const char *fmt, ...)
{
    char why[ORC_ERROR_MESSAGE_MAX], msg[ORC_ERROR_MESSAGE_MAX + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", MSG_ERROR, why);
    orci_http_error_json(res, 500, msg);
}

void orci_http_detail_json(orci_http_response *res, int status, const char *msg)
{
    res_json(res, status, json_pack("{s:s}", "detail", msg));
}

/* ---- the coordinator ------------------------------------------------------------------ */

/*
 * legacy_rpc sends method with input `in`, signed by the request's HTTP signature a, under
 * the HTTP request's own request id, fresh for each HTTP request (orci_http_rpc, observe.h;
 * the legacy scheme has no replay protection to offer: see README).
 * On ORC_OK *out (free with protobuf_c_message_free_unpacked) holds the reply body.
 */
static int legacy_rpc(const orci_http_config *cfg, const legacy_auth *a, const char *method,
                      const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                      ProtobufCMessage **out, orc_error *err)
{
    *out = NULL;
    size_t body_len = protobuf_c_message_get_packed_size(in);
    uint8_t *body = malloc(body_len ? body_len : 1);
    if (!body)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    body_len = protobuf_c_message_pack(in, body);
    orc_creds creds = {.http_key_id = a->key_id,
                       .http_signing_string = a->signing_string,
                       .http_signature = a->params.signature};
    void *reply = NULL;
    size_t reply_len = 0;
    int rc = orci_http_rpc(cfg->client, method, &creds, body, body_len, &reply, &reply_len, err);
    free(body);
    if (rc != ORC_OK)
        return rc;
    *out = protobuf_c_message_unpack(out_desc, NULL, reply_len, reply_len ? reply : (void *)"");
    orc_free(reply);
    return *out ? ORC_OK : orc_error_set(err, ORC_INTERNAL, "undecodable reply body");
}

/* legacy_failure answers a refused or failed RPC that has no endpoint-specific meaning. */
static void legacy_failure(orci_http_response *res, int rc, const orc_error *err)
{
    if (rc == ORC_UNAUTHENTICATED)
        orci_http_detail_json(res, 403, err->message[0] ? err->message : MSG_UNAUTHENTICATED);
    else if (rc == ORC_PERMISSION_DENIED)
        orci_http_detail_json(res, 403, MSG_NO_PERMISSION);
    else if (rc == ORC_UNAVAILABLE || rc == ORC_DEADLINE_EXCEEDED)
        orci_http_error_json(res, 503, "The coordinator is unavailable");
    else if (rc == ORC_INTERNAL || rc == ORC_UNKNOWN || !err->message[0])
        orci_http_error_json(res, 500, MSG_ERROR); /* the coordinator's log says more */
    else
        legacy_error500(res, "%s", err->message);
}

/* legacy_probe has the coordinator verify the signature: 0 when it holds, else -1 (res set). */
static int legacy_probe(const orci_http_config *cfg, const legacy_auth *a, orci_http_response *res)
{
    Orchestra__V1__GetProjectInformationRequest in =
        ORCHESTRA__V1__GET_PROJECT_INFORMATION_REQUEST__INIT;
    in.project_id = INT64_MAX;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "GetProjectInformation", &in.base,
                        &orchestra__v1__get_project_information_reply__descriptor, &out, &err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    if (rc == ORC_OK || rc == ORC_NOT_FOUND)
        return 0;
    legacy_failure(res, rc, &err);
    return -1;
}

/* ---- authentication (the shim's share) ------------------------------------------------ */

/* legacy_ascii tells whether the signing string is printable ASCII lines (httpsig's rule). */
static bool legacy_ascii(const char *s)
{
    for (; *s; s++)
        if ((*s < 0x20 || *s > 0x7e) && *s != '\n')
            return false;
    return true;
}

/*
 * legacy_authenticate does the checks that need the request itself and fills a; the
 * signature is verified later by the coordinator. Returns 0, or -1 with res set to 403.
 */
static int legacy_authenticate(const orci_http_config *cfg, const orci_http_request *req,
                               int64_t now_s, legacy_auth *a, orci_http_response *res)
{
    orc_error err;
    orc_error_clear(&err);
    a->key_id = req->header(req->header_arg, "x-api-key");
    if (!a->key_id || !a->key_id[0]) {
        orci_http_detail_json(res, 403, MSG_UNAUTHENTICATED);
        return -1;
    }
    const char *authz = req->header(req->header_arg, "authorization");
    if (!authz || !authz[0]) {
        orci_http_detail_json(res, 403, "No signature provided");
        return -1;
    }
    if (orci_httpsig_parse(authz, &a->params, &err) != ORC_OK ||
        orci_httpsig_signing_string(&a->params, req->method, req->target, req->header,
                                    req->header_arg, &a->signing_string, &err) != ORC_OK) {
        orci_http_detail_json(res, 403, err.message);
        return -1;
    }
    /* Keys are ASCII; anything else could not name one (and is no valid UTF-8 to forward). */
    for (const char *k = a->key_id; *k; k++) {
        if (*k < 0x21 || *k > 0x7e) {
            orci_http_detail_json(res, 403, "Unable to find API key");
            return -1;
        }
    }
    if (!legacy_ascii(a->signing_string) || !legacy_ascii(a->params.signature)) {
        orci_http_detail_json(res, 403, "Bad signature");
        return -1;
    }
    /* A tightening of upstream, which never looks at the date: see README. */
    const char *date = req->header(req->header_arg, "date");
    int64_t when = 0;
    if (!date) {
        orci_http_detail_json(res, 403, "A Date header is required");
        return -1;
    }
    if (orci_httpsig_parse_date(date, &when) != 0) {
        orci_http_detail_json(res, 403, "The Date header is not an HTTP date");
        return -1;
    }
    if (when > now_s + cfg->date_window_s || when < now_s - cfg->date_window_s) {
        char msg[96];
        snprintf(msg, sizeof msg, "The Date header is more than %" PRId64 " s from the server time",
                 cfg->date_window_s);
        orci_http_detail_json(res, 403, msg);
        return -1;
    }
    for (size_t i = 0; i < a->params.n_headers; i++) {
        if (strcmp(a->params.headers[i], "digest") == 0 &&
            !orci_httpsig_digest_ok(req->header(req->header_arg, "digest"), req->body,
                                    req->body_len)) {
            orci_http_detail_json(res, 403, "The Digest header does not match the body");
            return -1;
        }
    }
    return 0;
}

/* ---- endpoints ------------------------------------------------------------------------ */

/* legacy_int reads an id given as a JSON integer or a decimal string; 0 or -1. */
static int legacy_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = n;
    return 0;
}

static void ep_create_project(const orci_http_config *cfg, const orci_http_request *req,
                              const legacy_auth *a, json_t *body, orci_http_response *res)
{
    (void)req;
    static const char *const required[] = {"workflow_slug", "workflow_version_slug",
                                           "description",   "priority",
                                           "task_class",    "project_data"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!json_object_get(body, required[i])) {
            if (legacy_probe(cfg, a, res) == 0)
                orci_http_error_json(res, 400, "One of the parameters is missing");
            return;
        }
    }
    json_t *wf = json_object_get(body, "workflow_slug");
    json_t *ver = json_object_get(body, "workflow_version_slug");
    json_t *desc = json_object_get(body, "description");
    json_t *prio = json_object_get(body, "priority");
    json_t *tc = json_object_get(body, "task_class");
    json_t *pd = json_object_get(body, "project_data");
    const char *bad = !json_is_string(wf)      ? "workflow_slug must be a string"
                      : !json_is_string(ver)   ? "workflow_version_slug must be a string"
                      : !json_is_string(desc)  ? "description must be a string"
                      : !json_is_integer(prio) ? "priority must be an integer"
                      : !json_is_object(pd)    ? "project_data must be a JSON object"
                                               : NULL;
    if (bad) {
        if (legacy_probe(cfg, a, res) == 0)
            legacy_error500(res, "%s", bad);
        return;
    }
    char *data = orci_json_dump(pd);
    if (!data) {
        orci_http_error_json(res, 500, MSG_ERROR);
        return;
    }
    Orchestra__V1__CreateProjectRequest in = ORCHESTRA__V1__CREATE_PROJECT_REQUEST__INIT;
    in.workflow = (char *)json_string_value(wf);
    in.version = (char *)json_string_value(ver);
    in.description = (char *)json_string_value(desc);
    in.priority = json_integer_value(prio);
    in.task_class =
        (char *)(json_is_string(tc) && strcmp(json_string_value(tc), "real") == 0 ? "real"
                                                                                  : "training");
    in.project_data = data;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "CreateProject", &in.base,
                        &orchestra__v1__create_project_reply__descriptor, &out, &err);
    free(data);
    if (rc != ORC_OK) {
        legacy_failure(res, rc, &err);
        return;
    }
    json_int_t id = ((const Orchestra__V1__CreateProjectReply *)out)->project_id;
    protobuf_c_message_free_unpacked(out, NULL);
    res_json(res, 200, json_pack("{s:I}", "project_id", id));
}

/* legacy_doc_shape drops what our document adds to DOC's (spec 4.3): project.status and
 * assignments' recorded_work_time. */
static void legacy_doc_shape(json_t *doc)
{
    json_object_del(json_object_get(doc, "project"), "status");
    const char *step;
    json_t *task;
    json_object_foreach(json_object_get(doc, "tasks"), step, task)
    {
        size_t i;
        json_t *asg;
        json_array_foreach(json_object_get(task, "assignments"), i, asg)
        {
            json_object_del(asg, "recorded_work_time");
        }
    }
}

/*
 * head_project_ids reads upstream HEAD's "project_ids" (a list of ids, each a JSON integer
 * or a decimal string, as Django's id__in takes them) into *ids (malloc'd). -1 when it is
 * not such a list.
 */
static int head_project_ids(const json_t *list, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if (!json_is_array(list))
        return -1;
    *ids = calloc(json_array_size(list) + 1, sizeof **ids);
    if (!*ids)
        return -1;
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (legacy_int(json_array_get(list, i), &(*ids)[i]) != 0) {
            free(*ids);
            *ids = NULL;
            return -1;
        }
    }
    *n = json_array_size(list);
    return 0;
}

/*
 * ep_projects_information is upstream HEAD's form of project_information: {"project_ids":
 * [...]} answered {"<id>": {project, steps, tasks}} in HEAD's shape, unknown ids left out.
 * The coordinator renders it (GetProjectInformation with project_ids).
 */
static void ep_projects_information(const orci_http_config *cfg, const legacy_auth *a,
                                    const json_t *list, orci_http_response *res)
{
    int64_t *ids = NULL;
    size_t n = 0;
    bool bad = head_project_ids(list, &ids, &n) != 0;
    if (bad || n == 0) {
        free(ids);
        /* Authenticated first, as upstream; an empty list has no project to show. */
        if (legacy_probe(cfg, a, res) == 0) {
            if (!bad)
                res_json(res, 200, json_object());
            else
                legacy_error500(res, "project_ids must be a list of project ids");
        }
        return;
    }
    Orchestra__V1__GetProjectInformationRequest in =
        ORCHESTRA__V1__GET_PROJECT_INFORMATION_REQUEST__INIT;
    in.project_ids = ids;
    in.n_project_ids = n;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "GetProjectInformation", &in.base,
                        &orchestra__v1__get_project_information_reply__descriptor, &out, &err);
    free(ids);
    if (rc == ORC_INVALID_ARGUMENT) {
        orci_http_error_json(res, 400, err.message);
        return;
    }
    if (rc != ORC_OK) {
        legacy_failure(res, rc, &err);
        return;
    }
    const char *text = ((const Orchestra__V1__GetProjectInformationReply *)out)->json;
    json_t *doc = orci_json_parse_object(text, strlen(text), "project_information", &err);
    protobuf_c_message_free_unpacked(out, NULL);
    if (!doc) {
        orci_http_error_json(res, 500, MSG_ERROR);
        return;
    }
    res_json(res, 200, doc);
}

static void ep_project_information(const orci_http_config *cfg, const orci_http_request *req,
                                   const legacy_auth *a, json_t *body, orci_http_response *res)
{
    (void)req;
    /* Upstream HEAD's client sends "project_ids"; DOC's "project_id". Both are served. */
    json_t *list = json_object_get(body, "project_ids");
    if (list) {
        ep_projects_information(cfg, a, list, res);
        return;
    }
    json_t *v = json_object_get(body, "project_id");
    int64_t id = 0;
    if (!v || legacy_int(v, &id) != 0) {
        if (legacy_probe(cfg, a, res) == 0) {
            if (!v)
                orci_http_error_json(res, 400, "project_id is required");
            else
                legacy_error500(res, "project_id must be an integer");
        }
        return;
    }
    Orchestra__V1__GetProjectInformationRequest in =
        ORCHESTRA__V1__GET_PROJECT_INFORMATION_REQUEST__INIT;
    in.project_id = id;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "GetProjectInformation", &in.base,
                        &orchestra__v1__get_project_information_reply__descriptor, &out, &err);
    /* Ids below 1 are refused as invalid by the RPC; upstream finds no such project. */
    if (rc == ORC_NOT_FOUND || (rc == ORC_INVALID_ARGUMENT && id <= 0)) {
        orci_http_error_json(res, 400, "No project for given id");
        return;
    }
    if (rc != ORC_OK) {
        legacy_failure(res, rc, &err);
        return;
    }
    const char *text = ((const Orchestra__V1__GetProjectInformationReply *)out)->json;
    json_t *doc = orci_json_parse_object(text, strlen(text), "project_information", &err);
    protobuf_c_message_free_unpacked(out, NULL);
    if (!doc) {
        orci_http_error_json(res, 500, MSG_ERROR);
        return;
    }
    legacy_doc_shape(doc);
    res_json(res, 200, doc);
}

static void ep_workflow_types(const orci_http_config *cfg, const orci_http_request *req,
                              const legacy_auth *a, json_t *body, orci_http_response *res)
{
    (void)req;
    (void)body;
    Orchestra__V1__ListWorkflowsRequest in = ORCHESTRA__V1__LIST_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "ListWorkflows", &in.base,
                        &orchestra__v1__list_workflows_reply__descriptor, &out, &err);
    if (rc != ORC_OK) {
        legacy_failure(res, rc, &err);
        return;
    }
    const Orchestra__V1__ListWorkflowsReply *r = (const Orchestra__V1__ListWorkflowsReply *)out;
    json_t *doc = json_object();
    json_t *wfs = json_object();
    if (!doc || !wfs || json_object_set_new(doc, "workflows", wfs) != 0)
        goto fail;
    for (size_t i = 0; i < r->n_workflows; i++) {
        const Orchestra__V1__WorkflowInfo *w = r->workflows[i];
        json_t *versions = json_object();
        json_t *wj = json_pack("{s:s, s:o}", "name", w->name, "versions", versions);
        if (!wj || json_object_set_new(wfs, w->slug, wj) != 0)
            goto fail;
        for (size_t j = 0; j < w->n_versions; j++) {
            const Orchestra__V1__WorkflowVersionInfo *v = w->versions[j];
            json_t *vj = json_pack("{s:s, s:s}", "name", v->name, "description", v->description);
            if (!vj || json_object_set_new(versions, v->slug, vj) != 0)
                goto fail;
        }
    }
    protobuf_c_message_free_unpacked(out, NULL);
    res_json(res, 200, doc);
    return;
fail:
    if (!doc)
        json_decref(wfs);
    json_decref(doc);
    protobuf_c_message_free_unpacked(out, NULL);
    orci_http_error_json(res, 500, MSG_ERROR);
}

static void ep_project_details_url(const orci_http_config *cfg, const orci_http_request *req,
                                   const legacy_auth *a, json_t *body, orci_http_response *res)
{
    if (legacy_probe(cfg, a, res) != 0)
        return;
    json_t *v = json_object_get(body, "project_id");
    if (!v) {
        orci_http_error_json(res, 400, "project_id parameter is missing");
        return;
    }
    /* Rendered like Python's str(): an integer in decimal, a string as is. */
    char *id = json_is_string(v) ? strdup(json_string_value(v)) : orci_json_dump(v);
    const char *host = req->header(req->header_arg, "host");
    json_t *url = id ? json_sprintf("%s://%s/orchestra/app/project/%s", req->tls ? "https" : "http",
                                    host ? host : "", id)
                     : NULL;
    free(id);
    if (!url) {
        orci_http_error_json(res, 500, MSG_ERROR);
        return;
    }
    json_t *doc = json_object();
    if (!doc || json_object_set_new(doc, "project_details_url", url) != 0) {
        json_decref(doc);
        orci_http_error_json(res, 500, MSG_ERROR);
        return;
    }
    res_json(res, 200, doc);
}

/*
 * ep_assign_worker_to_task is upstream HEAD's assign_worker_to_task: {worker_id, task_id}
 * answered 200 {"success": bool, "errors": {...}} whatever the lifecycle said; the
 * coordinator decides under which of upstream's keys a refusal goes. Ids that are missing
 * or not numbers go as 0, which the coordinator refuses as unknown (upstream's "error").
 */
static void ep_assign_worker_to_task(const orci_http_config *cfg, const orci_http_request *req,
                                     const legacy_auth *a, json_t *body, orci_http_response *res)
{
    (void)req;
    Orchestra__V1__AssignWorkerToTaskRequest in =
        ORCHESTRA__V1__ASSIGN_WORKER_TO_TASK_REQUEST__INIT;
    if (legacy_int(json_object_get(body, "worker_id"), &in.worker_id) != 0)
        in.worker_id = 0;
    if (legacy_int(json_object_get(body, "task_id"), &in.task_id) != 0)
        in.task_id = 0;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "AssignWorkerToTask", &in.base,
                        &orchestra__v1__assign_worker_to_task_reply__descriptor, &out, &err);
    if (rc != ORC_OK) {
        legacy_failure(res, rc, &err);
        return;
    }
    const Orchestra__V1__AssignWorkerToTaskReply *r =
        (const Orchestra__V1__AssignWorkerToTaskReply *)out;
    json_t *errors = json_object();
    if (errors && !r->success)
        json_object_set_new(errors, r->error_kind[0] ? r->error_kind : "error",
                            json_string(r->error_message));
    json_t *doc = errors ? json_pack("{s:b, s:o}", "success", r->success, "errors", errors) : NULL;
    protobuf_c_message_free_unpacked(out, NULL);
    if (!doc) {
        orci_http_error_json(res, 500, MSG_ERROR);
        return;
    }
    res_json(res, 200, doc);
}

/*
 * ep_message_project_team is upstream HEAD's message_project_team ({message, project_id}).
 * Upstream posts to the project's Slack group and answers 400 for a project without one;
 * there is no Slack here, so the coordinator refuses every project with a message saying
 * that no team channel is configured, and this is its 400.
 */
static void ep_message_project_team(const orci_http_config *cfg, const orci_http_request *req,
                                    const legacy_auth *a, json_t *body, orci_http_response *res)
{
    (void)req;
    json_t *message = json_object_get(body, "message");
    json_t *v = json_object_get(body, "project_id");
    int64_t id = 0;
    if (!message || !v || legacy_int(v, &id) != 0) {
        if (legacy_probe(cfg, a, res) == 0) {
            if (!message || !v)
                orci_http_error_json(res, 400,
                                     "An object with `message` and `project_id` attributes "
                                     "should be supplied");
            else
                legacy_error500(res, "project_id must be an integer");
        }
        return;
    }
    Orchestra__V1__MessageProjectTeamRequest in = ORCHESTRA__V1__MESSAGE_PROJECT_TEAM_REQUEST__INIT;
    in.project_id = id;
    in.message = (char *)(json_is_string(message) ? json_string_value(message) : "");
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = legacy_rpc(cfg, a, "MessageProjectTeam", &in.base,
                        &orchestra__v1__message_project_team_reply__descriptor, &out, &err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    if (rc == ORC_OK)
        res_json(res, 200, json_pack("{s:b}", "success", 1));
    else if (rc == ORC_NOT_FOUND || rc == ORC_FAILED_PRECONDITION)
        orci_http_error_json(res, 400, err.message);
    else
        legacy_failure(res, rc, &err);
}

typedef void (*legacy_endpoint_fn)(const orci_http_config *cfg, const orci_http_request *req,
                                   const legacy_auth *a, json_t *body, orci_http_response *res);

static const struct {
    const char *name;
    const char *method;
    legacy_endpoint_fn fn;
} legacy_endpoints[] = {
    {"create_project", "POST", ep_create_project},
    {"project_information", "POST", ep_project_information},
    {"workflow_types", "GET", ep_workflow_types},
    {"project_details_url", "POST", ep_project_details_url},
    /* upstream HEAD's client endpoints (spec 4.4) */
    {"assign_worker_to_task", "POST", ep_assign_worker_to_task},
    {"message_project_team", "POST", ep_message_project_team},
};

/* legacy_path_is compares path with want, ignoring one trailing slash on path. */
static bool legacy_path_is(const char *path, size_t len, const char *want)
{
    if (len > 0 && path[len - 1] == '/')
        len--;
    return strlen(want) == len && memcmp(path, want, len) == 0;
}

void orci_http_handle(const orci_http_config *cfg, const orci_http_request *req, int64_t now_s,
                      orci_http_response *res)
{
    memset(res, 0, sizeof *res);
    const char *path = req->path ? req->path : "";
    size_t len = strlen(path);
    if (legacy_path_is(path, len, "/orchestra/api/status") ||
        legacy_path_is(path, len, "/orchestra/status")) {
        res_static(res, 200, "text/plain; charset=utf-8", "OK");
        return;
    }
    size_t k = sizeof legacy_endpoints / sizeof legacy_endpoints[0];
    if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0) {
        const char *rest = path + strlen(API_PREFIX);
        for (k = 0; k < sizeof legacy_endpoints / sizeof legacy_endpoints[0]; k++)
            if (legacy_path_is(rest, strlen(rest), legacy_endpoints[k].name))
                break;
    }
    if (k == sizeof legacy_endpoints / sizeof legacy_endpoints[0]) {
        orci_http_detail_json(res, 404, "Not found.");
        return;
    }

    legacy_auth a;
    memset(&a, 0, sizeof a);
    json_t *body = NULL;
    if (legacy_authenticate(cfg, req, now_s, &a, res) != 0)
        goto done;
    const char *want = legacy_endpoints[k].method;
    const char *method = req->method ? req->method : "";
    bool head_ok = strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0;
    if (strcmp(method, want) != 0 && !head_ok) {
        if (legacy_probe(cfg, &a, res) == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "Method \"%.100s\" not allowed.", method);
            orci_http_detail_json(res, 405, msg);
        }
        goto done;
    }
    if (req->body_len == 0) {
        body = json_object();
    } else {
        orc_error err;
        orc_error_clear(&err);
        body = orci_json_parse_object(req->body, req->body_len, "request body", &err);
        if (!body) {
            /* Upstream answers unparseable bodies with its generic 500. */
            if (legacy_probe(cfg, &a, res) == 0)
                legacy_error500(res, "%s", err.message);
            goto done;
        }
    }
    if (!body) {
        orci_http_error_json(res, 500, MSG_ERROR);
        goto done;
    }
    legacy_endpoints[k].fn(cfg, req, &a, body, res);
done:
    json_decref(body);
    free(a.signing_string);
    if (!res->body)
        res_static(res, 500, "application/json", "{\"error\":500,\"message\":\"" MSG_ERROR "\"}");
}
