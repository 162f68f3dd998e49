/*
 * interface.c: upstream's worker JSON endpoints under /orchestra/api/interface/ (spec 5),
 * plus the few the app adds (whoami/, task_details/, timecard/, notification_preferences/ in
 * prefs.c), each one RPC with the worker's session token.
 *
 * Shapes, status codes and messages are upstream's: application errors are 400
 * {"error":400,"message":...} with the coordinator's message verbatim, an anonymous or
 * expired session gets a 302 to the sign-in page, time entries of another worker 403 and
 * missing ones 404 (DRF's {"detail":...}). Where this differs from upstream on purpose:
 *  - new_task_assignment changes state although it is a GET, so it needs the CSRF header too
 *    (upstream's Angular front end sends it on every request, so it still works);
 *  - a worker with returned work asking for a new task gets 400 with the message instead of
 *    upstream's uncaught 500;
 *  - an unknown task id answers "Task matching query does not exist." with 400, as upstream.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "prefs.h"
#include "proto/orchestra.pb-c.h"
#include "web.h"
#include "webrpc.h"
#include "websession.h"

#define API "/orchestra/api/interface/"
#define MSG_ERROR "An error occurred"
#define MSG_CSRF "CSRF Failed: CSRF token missing or incorrect."
#define MSG_NO_PERMISSION "You do not have permission to perform this action."
#define QUERY_VALUE_MAX 64

/* api is one request to an endpoint. */
typedef struct api {
    orci_web_config *cfg;
    const orci_web_request *req;
    orci_web_response *res;
    char token[ORCI_COOKIE_VALUE_MAX];
    json_t *body; /* the JSON body (an object), or NULL for GET */
} api;

/* api_fail answers a refused or failed RPC the upstream way. */
static void api_fail(api *a, int rc, const orc_error *err)
{
    if (rc == ORC_UNAUTHENTICATED)
        orci_web_to_login(a->req, a->res, true);
    else if (rc == ORC_UNAVAILABLE || rc == ORC_DEADLINE_EXCEEDED)
        orci_web_error(a->res, 503, "The coordinator is unavailable");
    else if (rc == ORC_INTERNAL || rc == ORC_UNKNOWN || !err->message[0])
        orci_web_error(a->res, 500, MSG_ERROR);
    else
        orci_web_error(a->res, 400, err->message);
}

/* api_json_call makes an RPC whose reply is JSON text and answers it with status. */
static void api_json_call(api *a, const char *method, const ProtobufCMessage *in,
                          const ProtobufCMessageDescriptor *out_desc, int status)
{
    char *json = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_json(a->cfg->client, a->token, method, in, out_desc, &json, &err);
    if (rc != ORC_OK)
        api_fail(a, rc, &err);
    else
        orci_web_json_text(a->res, status, json);
}

/* api_empty_call makes an RPC with no reply body and answers `answer` (JSON text). */
static void api_empty_call(api *a, const char *method, const ProtobufCMessage *in,
                           const ProtobufCMessageDescriptor *out_desc, int status,
                           const char *answer)
{
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(a->cfg->client, a->token, method, in, out_desc, &out, &err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    if (rc != ORC_OK)
        api_fail(a, rc, &err);
    else
        orci_web_text(a->res, status, "application/json", answer);
}

/* api_id reads an id given as a JSON integer or a decimal string; false otherwise. */
static bool api_id(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = n;
    return true;
}

/* api_task_id reads body.task_id or answers upstream's 400; false when answered. */
static bool api_task_id(api *a, int64_t *id)
{
    if (api_id(json_object_get(a->body, "task_id"), id))
        return true;
    orci_web_error(a->res, 400, "No task for given id");
    return false;
}

/* api_data_text dumps body[key] (an object, default {}) into malloc'd text; NULL: answered. */
static char *api_data_text(api *a, const char *key)
{
    json_t *d = json_object_get(a->body, key);
    if (d && !json_is_object(d)) {
        orci_web_error(a->res, 400, "task_data must be a JSON object");
        return NULL;
    }
    char *text = d ? orci_json_dump(d) : strdup("{}");
    if (!text)
        orci_web_error(a->res, 500, MSG_ERROR);
    return text;
}

/* ---- tasks ------------------------------------------------------------------------------ */

static void ep_dashboard(api *a)
{
    Orchestra__V1__DashboardRequest in = ORCHESTRA__V1__DASHBOARD_REQUEST__INIT;
    api_json_call(a, "Dashboard", &in.base, &orchestra__v1__dashboard_reply__descriptor, 200);
}

static void ep_dashboard_details(api *a)
{
    Orchestra__V1__DashboardDetailsRequest in = ORCHESTRA__V1__DASHBOARD_DETAILS_REQUEST__INIT;
    json_t *ids = json_object_get(a->body, "assignment_ids");
    size_t n = json_array_size(ids);
    if (!json_is_array(ids) || n > 500) {
        orci_web_error(a->res, 400, "assignment_ids must be a list of at most 500 ids");
        return;
    }
    int64_t *v = calloc(n + 1, sizeof *v);
    if (!v) {
        orci_web_error(a->res, 500, MSG_ERROR);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t id = 0;
        if (api_id(json_array_get(ids, i), &id) && id > 0)
            v[in.n_assignment_ids++] = id;
    }
    in.assignment_ids = v;
    api_json_call(a, "DashboardDetails", &in.base,
                  &orchestra__v1__dashboard_details_reply__descriptor, 200);
    free(v);
}

static void ep_new_task(api *a, const char *type)
{
    Orchestra__V1__NewTaskRequest in = ORCHESTRA__V1__NEW_TASK_REQUEST__INIT;
    in.role = (char *)type;
    api_json_call(a, "NewTask", &in.base, &orchestra__v1__new_task_reply__descriptor, 200);
}

static void ep_task_info(api *a)
{
    Orchestra__V1__TaskInfoRequest in = ORCHESTRA__V1__TASK_INFO_REQUEST__INIT;
    if (!api_task_id(a, &in.task_id))
        return;
    char *json = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_json(a->cfg->client, a->token, "TaskInfo", &in.base,
                                &orchestra__v1__task_info_reply__descriptor, &json, &err);
    if (rc == ORC_NOT_FOUND)
        orci_web_error(a->res, 400, "Task matching query does not exist.");
    else if (rc != ORC_OK)
        api_fail(a, rc, &err);
    else
        orci_web_json_text(a->res, 200, json);
}

static void ep_task_details(api *a)
{
    Orchestra__V1__TaskDetailsRequest in = ORCHESTRA__V1__TASK_DETAILS_REQUEST__INIT;
    if (api_task_id(a, &in.task_id))
        api_json_call(a, "TaskDetails", &in.base, &orchestra__v1__task_details_reply__descriptor,
                      200);
}

static void ep_save(api *a)
{
    Orchestra__V1__SaveTaskRequest in = ORCHESTRA__V1__SAVE_TASK_REQUEST__INIT;
    if (!api_task_id(a, &in.task_id) || !(in.data = api_data_text(a, "task_data")))
        return;
    api_empty_call(a, "SaveTask", &in.base, &orchestra__v1__save_task_reply__descriptor, 200, "{}");
    free(in.data);
}

static void ep_submit(api *a)
{
    Orchestra__V1__SubmitTaskRequest in = ORCHESTRA__V1__SUBMIT_TASK_REQUEST__INIT;
    const char *command = json_string_value(json_object_get(a->body, "command_type"));
    if (!command) {
        orci_web_error(a->res, 400, "Illegal command");
        return;
    }
    if (!api_task_id(a, &in.task_id) || !(in.data = api_data_text(a, "task_data")))
        return;
    in.command = (char *)command;
    api_empty_call(a, "SubmitTask", &in.base, &orchestra__v1__submit_task_reply__descriptor, 200,
                   "{}");
    free(in.data);
}

static void ep_whoami(api *a)
{
    Orchestra__V1__WhoAmIRequest in = ORCHESTRA__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(a->cfg->client, a->token, "WhoAmI", &in.base,
                                 &orchestra__v1__who_am_ireply__descriptor, &out, &err);
    if (rc != ORC_OK) {
        api_fail(a, rc, &err);
        return;
    }
    const Orchestra__V1__WhoAmIReply *w = (const Orchestra__V1__WhoAmIReply *)out;
    json_t *v =
        json_pack("{s:s, s:s, s:s, s:b, s:I}", "username", w->username, "first_name", w->first_name,
                  "last_name", w->last_name, "is_project_admin", w->project_admin,
                  "session_expires_at", (json_int_t)(w->expires_at / 1000000));
    protobuf_c_message_free_unpacked(out, NULL);
    orci_web_json_text(a->res, 200, v ? orci_json_dump(v) : NULL);
    json_decref(v);
}

/* ---- time tracking ---------------------------------------------------------------------- */

static void ep_timer(api *a, const char *action)
{
    if (strcmp(action, "") == 0) {
        Orchestra__V1__TimerStatusRequest in = ORCHESTRA__V1__TIMER_STATUS_REQUEST__INIT;
        api_json_call(a, "TimerStatus", &in.base, &orchestra__v1__time_reply__descriptor, 200);
    } else if (strcmp(action, "start") == 0) {
        Orchestra__V1__TimerStartRequest in = ORCHESTRA__V1__TIMER_START_REQUEST__INIT;
        json_t *asg = json_object_get(a->body, "assignment");
        if (asg && !json_is_null(asg) && !api_id(asg, &in.assignment_id)) {
            orci_web_error(a->res, 400, "Worker is not assigned to this task id.");
            return;
        }
        const char *d = json_string_value(json_object_get(a->body, "description"));
        in.description = (char *)(d ? d : "");
        api_json_call(a, "TimerStart", &in.base, &orchestra__v1__time_reply__descriptor, 200);
    } else if (strcmp(action, "stop") == 0) {
        Orchestra__V1__TimerStopRequest in = ORCHESTRA__V1__TIMER_STOP_REQUEST__INIT;
        api_json_call(a, "TimerStop", &in.base, &orchestra__v1__time_reply__descriptor, 200);
    } else {
        Orchestra__V1__TimerUpdateRequest in = ORCHESTRA__V1__TIMER_UPDATE_REQUEST__INIT;
        json_t *d = json_object_get(a->body, "description");
        json_t *asg = json_object_get(a->body, "assignment");
        if (d && (json_is_string(d) || json_is_null(d))) {
            in.set_description = true;
            in.description = (char *)(json_is_string(d) ? json_string_value(d) : "");
        }
        if (asg && json_is_null(asg))
            in.detach = true;
        else if (asg && !api_id(asg, &in.assignment_id)) {
            orci_web_error(a->res, 400, "Worker is not assigned to this task id.");
            return;
        }
        api_empty_call(a, "TimerUpdate", &in.base, &orchestra__v1__time_reply__descriptor, 200,
                       "null");
    }
}

/* query_value reads a query parameter into out ("" when absent). */
static const char *query_value(const api *a, const char *name, char *out, size_t size)
{
    const char *q = a->req->query;
    if (!orci_form_get(q, strlen(q), name, out, size))
        out[0] = '\0';
    return out;
}

static void ep_timecard(api *a)
{
    char from[QUERY_VALUE_MAX], to[QUERY_VALUE_MAX];
    Orchestra__V1__TimecardRequest in = ORCHESTRA__V1__TIMECARD_REQUEST__INIT;
    in.from = (char *)query_value(a, "from", from, sizeof from);
    in.to = (char *)query_value(a, "to", to, sizeof to);
    api_json_call(a, "Timecard", &in.base, &orchestra__v1__time_reply__descriptor, 200);
}

/* entry_fail answers a refused time entry call with DRF's codes for ownership. */
static void entry_fail(api *a, int rc, const orc_error *err)
{
    if (rc == ORC_PERMISSION_DENIED)
        orci_web_detail(a->res, 403, MSG_NO_PERMISSION);
    else if (rc == ORC_NOT_FOUND)
        orci_web_detail(a->res, 404, "Not found.");
    else
        api_fail(a, rc, err);
}

/* entries_list answers GET time_entries/ (the entries array), or one entry when id > 0. */
static void entries_list(api *a, int64_t id)
{
    char min[QUERY_VALUE_MAX], max[QUERY_VALUE_MAX], asg[QUERY_VALUE_MAX];
    Orchestra__V1__TimeEntryListRequest in = ORCHESTRA__V1__TIME_ENTRY_LIST_REQUEST__INIT;
    if (id <= 0) {
        in.min_date = (char *)query_value(a, "min_date", min, sizeof min);
        in.max_date = (char *)query_value(a, "max_date", max, sizeof max);
        in.assignment_id = strtoll(query_value(a, "assignment", asg, sizeof asg), NULL, 10);
    }
    char *json = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_json(a->cfg->client, a->token, "TimeEntryList", &in.base,
                                &orchestra__v1__time_reply__descriptor, &json, &err);
    if (rc != ORC_OK) {
        api_fail(a, rc, &err);
        return;
    }
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    if (!doc) {
        orci_web_error(a->res, 500, MSG_ERROR);
        return;
    }
    json_t *entries = json_object_get(doc, "entries"), *found = NULL, *e;
    size_t i;
    json_array_foreach(entries, i, e)
    {
        if (json_integer_value(json_object_get(e, "id")) == id)
            found = e;
    }
    if (id > 0 && !found)
        orci_web_detail(a->res, 404, "Not found.");
    else
        orci_web_json_text(a->res, 200, orci_json_dump(id > 0 ? found : entries));
    json_decref(doc);
}

static void entries_create(api *a)
{
    Orchestra__V1__TimeEntryCreateRequest in = ORCHESTRA__V1__TIME_ENTRY_CREATE_REQUEST__INIT;
    const char *date = json_string_value(json_object_get(a->body, "date"));
    const char *worked = json_string_value(json_object_get(a->body, "time_worked"));
    if (!date || !worked) {
        json_t *v = json_pack("{s:[s]}", !date ? "date" : "time_worked", "This field is required.");
        orci_web_json_text(a->res, 400, v ? orci_json_dump(v) : NULL);
        json_decref(v);
        return;
    }
    in.date = (char *)date;
    in.time_worked = (char *)worked;
    const char *d = json_string_value(json_object_get(a->body, "description"));
    in.description = (char *)(d ? d : "");
    json_t *asg = json_object_get(a->body, "assignment");
    if (asg && !json_is_null(asg) && !api_id(asg, &in.assignment_id)) {
        orci_web_error(a->res, 400, "Worker is not assigned to this task id.");
        return;
    }
    api_json_call(a, "TimeEntryCreate", &in.base, &orchestra__v1__time_reply__descriptor, 201);
}

/* entry_change answers PUT and PATCH time_entries/<id>/: the fields given change. */
static void entry_change(api *a, int64_t id)
{
    Orchestra__V1__TimeEntryEditRequest in = ORCHESTRA__V1__TIME_ENTRY_EDIT_REQUEST__INIT;
    in.id = id;
    const char *date = json_string_value(json_object_get(a->body, "date"));
    const char *worked = json_string_value(json_object_get(a->body, "time_worked"));
    in.date = (char *)(date ? date : "");
    in.time_worked = (char *)(worked ? worked : "");
    json_t *d = json_object_get(a->body, "description");
    if (d && (json_is_string(d) || json_is_null(d))) {
        in.set_description = true;
        in.description = (char *)(json_is_string(d) ? json_string_value(d) : "");
    }
    json_t *asg = json_object_get(a->body, "assignment");
    if (asg && json_is_null(asg))
        in.detach = true;
    else if (asg && !api_id(asg, &in.assignment_id)) {
        orci_web_error(a->res, 400, "Worker is not assigned to this task id.");
        return;
    }
    char *json = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_json(a->cfg->client, a->token, "TimeEntryEdit", &in.base,
                                &orchestra__v1__time_reply__descriptor, &json, &err);
    if (rc != ORC_OK)
        entry_fail(a, rc, &err);
    else
        orci_web_json_text(a->res, 200, json);
}

static void entry_delete(api *a, int64_t id)
{
    Orchestra__V1__TimeEntryDeleteRequest in = ORCHESTRA__V1__TIME_ENTRY_DELETE_REQUEST__INIT;
    in.id = id;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(a->cfg->client, a->token, "TimeEntryDelete", &in.base,
                                 &orchestra__v1__time_entry_delete_reply__descriptor, &out, &err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    if (rc != ORC_OK)
        entry_fail(a, rc, &err);
    else
        orci_web_text(a->res, 204, "application/json", "");
}

static void ep_time_entries(api *a, const char *rest)
{
    const char *m = a->req->method;
    if (rest[0] == '\0') {
        if (strcmp(m, "POST") == 0)
            entries_create(a);
        else
            entries_list(a, 0);
        return;
    }
    char *end = NULL;
    long long id = strtoll(rest, &end, 10);
    if (id <= 0 || !end || (strcmp(end, "/") != 0 && *end != '\0')) {
        orci_web_detail(a->res, 404, "Not found.");
        return;
    }
    if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0)
        entry_change(a, id);
    else if (strcmp(m, "DELETE") == 0)
        entry_delete(a, id);
    else
        entries_list(a, id);
}

/* ---- routing ---------------------------------------------------------------------------- */

/* route picks the endpoint for rest (the path after API); false when none matches. */
static bool route(api *a, const char *rest)
{
    static const char new_task[] = "new_task_assignment/";
    if (strcmp(rest, "dashboard_tasks/") == 0)
        ep_dashboard(a);
    else if (strcmp(rest, "dashboard_details/") == 0)
        ep_dashboard_details(a);
    else if (strncmp(rest, new_task, sizeof new_task - 1) == 0) {
        char type[32];
        snprintf(type, sizeof type, "%.*s", (int)strcspn(rest + sizeof new_task - 1, "/"),
                 rest + sizeof new_task - 1);
        if (strcmp(type, "entry_level") != 0 && strcmp(type, "reviewer") != 0)
            orci_web_error(a->res, 400, "No such task type");
        else
            ep_new_task(a, type);
    } else if (strcmp(rest, "task_assignment_information/") == 0)
        ep_task_info(a);
    else if (strcmp(rest, "task_details/") == 0)
        ep_task_details(a);
    else if (strcmp(rest, "save_task_assignment/") == 0)
        ep_save(a);
    else if (strcmp(rest, "submit_task_assignment/") == 0)
        ep_submit(a);
    else if (strcmp(rest, "whoami/") == 0)
        ep_whoami(a);
    else if (strcmp(rest, "timer/") == 0)
        ep_timer(a, "");
    else if (strcmp(rest, "timer/start/") == 0 || strcmp(rest, "timer/stop/") == 0 ||
             strcmp(rest, "timer/update/") == 0)
        ep_timer(a, strcmp(rest, "timer/start/") == 0  ? "start"
                    : strcmp(rest, "timer/stop/") == 0 ? "stop"
                                                       : "update");
    else if (strcmp(rest, "timecard/") == 0)
        ep_timecard(a);
    else if (strncmp(rest, "time_entries/", 13) == 0)
        ep_time_entries(a, rest + 13);
    else if (strcmp(rest, "notification_preferences/") == 0)
        orci_web_prefs(a->cfg, a->req, a->token, a->body, a->res); /* prefs.h */
    else
        return false;
    return true;
}

/* POST-only endpoints (upstream's @api_view(['POST'])); time entries and new tasks vary. */
static bool post_only(const char *rest)
{
    static const char *const posts[] = {"task_assignment_information/",
                                        "task_details/",
                                        "save_task_assignment/",
                                        "dashboard_details/",
                                        "submit_task_assignment/",
                                        "timer/start/",
                                        "timer/stop/",
                                        "timer/update/"};
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++)
        if (strcmp(rest, posts[i]) == 0)
            return true;
    return false;
}

void orci_web_interface(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    api a = {.cfg = cfg, .req = req, .res = res};
    const char *rest = req->path + strlen(API);
    if (!orci_web_cookie(req, ORCI_SESSION_COOKIE, a.token, sizeof a.token)) {
        orci_web_to_login(req, res, false);
        return;
    }
    bool post = strcmp(req->method, "POST") == 0;
    if (post_only(rest) && !post) {
        char msg[160];
        snprintf(msg, sizeof msg, "Method \"%.100s\" not allowed.", req->method);
        orci_web_detail(res, 405, msg);
        return;
    }
    /* Taking a new task changes state although upstream made it a GET. */
    bool changes = orci_web_unsafe(req) || strncmp(rest, "new_task_assignment/", 20) == 0;
    if (changes && !orci_web_csrf_ok(req, false)) {
        orci_web_detail(res, 403, MSG_CSRF);
        return;
    }
    if (req->body_len > 0) {
        orc_error err;
        orc_error_clear(&err);
        a.body = orci_json_parse_object(req->body, req->body_len, "request body", &err);
        if (!a.body) {
            orci_web_error(res, 400, err.message);
            return;
        }
    }
    if (!route(&a, rest))
        orci_web_detail(res, 404, "Not found.");
    json_decref(a.body);
}
