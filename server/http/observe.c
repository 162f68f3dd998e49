/*
 * observe.c: request ids, the access log, metrics and health of orchestra-http (observe.h).
 */
#include "observe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"

#define OBS_HEALTH_TIMEOUT_MS 2000
#define OBS_METRICS_MAX ((size_t)8 << 20)
#define OBS_TEXT "text/plain; charset=utf-8"

struct orci_http_obs {
    orci_metrics *metrics;
    orc_client *health; /* short timeout, no credentials: Health is public */
    orci_metric *requests, *durations, *rpcs, *rpc_durations;
};

/* The request this thread serves (observe.h: libmicrohttpd serves a connection per thread). */
static _Thread_local orci_http_reqctx *obs_current;

static int64_t obs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- routes ----------------------------------------------------------------------------- */

/*
 * Every path an endpoint serves, as a pattern: "{id}" stands for one path segment, a final
 * "{file}" for the rest of the path. The label is the pattern, so whatever fills a
 * placeholder adds no series.
 */
static const char *const obs_routes[] = {
    "/livez",
    "/readyz",
    "/metrics",
    "/orchestra/status/",
    "/orchestra/api/status/",
    "/orchestra/api/project/create_project/",
    "/orchestra/api/project/project_information/",
    "/orchestra/api/project/workflow_types/",
    "/orchestra/api/project/project_details_url/",
    "/orchestra/api/project/assign_worker_to_task/",
    "/orchestra/api/project/message_project_team/",
    "/orchestra/app/",
    "/orchestra/app/task/{id}/",
    "/orchestra/app/task/{id}/interface.js",
    "/orchestra/app/project/{id}/",
    "/orchestra/app/timecard/",
    "/orchestra/app/settings/",
    "/orchestra/static/{file}",
    "/orchestra/accounts/login/",
    "/orchestra/accounts/logout/",
    "/orchestra/accounts/password_change/",
    "/orchestra/accounts/password_change/done/",
    "/orchestra/api/interface/dashboard_tasks/",
    "/orchestra/api/interface/dashboard_details/",
    "/orchestra/api/interface/new_task_assignment/{id}/",
    "/orchestra/api/interface/task_assignment_information/",
    "/orchestra/api/interface/task_details/",
    "/orchestra/api/interface/save_task_assignment/",
    "/orchestra/api/interface/submit_task_assignment/",
    "/orchestra/api/interface/whoami/",
    "/orchestra/api/interface/timer/",
    "/orchestra/api/interface/timer/start/",
    "/orchestra/api/interface/timer/stop/",
    "/orchestra/api/interface/timer/update/",
    "/orchestra/api/interface/timecard/",
    "/orchestra/api/interface/time_entries/",
    "/orchestra/api/interface/time_entries/{id}/",
    "/orchestra/api/interface/notification_preferences/",
    "/orchestra/api/interface/events/",
    "/orchestra/api/interface/project_management/{id}/",
};

/* route_is matches path against one pattern; a trailing slash on either side is optional. */
static bool route_is(const char *pat, const char *path)
{
    for (;;) {
        if (strncmp(pat, "{file}", 6) == 0)
            return *path != '\0' && *path != '/';
        if (strncmp(pat, "{id}", 4) == 0) {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return false;
            pat += 4;
            path += n;
            continue;
        }
        if (*pat == '\0' || *path == '\0')
            return (*pat == '\0' || strcmp(pat, "/") == 0) &&
                   (*path == '\0' || strcmp(path, "/") == 0);
        if (*pat != *path)
            return false;
        pat++;
        path++;
    }
}

const char *orci_http_route(const char *path)
{
    if (!path || path[0] != '/')
        return "unmatched";
    for (size_t i = 0; i < sizeof obs_routes / sizeof obs_routes[0]; i++)
        if (route_is(obs_routes[i], path))
            return obs_routes[i];
    return "unmatched";
}

/* obs_method bounds the HTTP method label to the methods HTTP defines. */
static const char *obs_method(const char *m)
{
    static const char *const known[] = {"GET",    "HEAD",    "POST",  "PUT",    "PATCH",
                                        "DELETE", "OPTIONS", "TRACE", "CONNECT"};
    for (size_t i = 0; m && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "other";
}

/* ---- set-up ----------------------------------------------------------------------------- */

static int obs_families(orci_http_obs *o, orc_error *err)
{
    static const char *const req_labels[] = {"route", "method", "code"};
    static const char *const route_label[] = {"route"};
    static const char *const rpc_labels[] = {"method", "code"};
    const orci_metric_spec specs[] = {
        {.name = "orchestra_http_requests_total",
         .help = "HTTP requests answered, by route pattern, HTTP method and status code.",
         .type = ORCI_METRIC_COUNTER,
         .labels = req_labels,
         .n_labels = 3},
        {.name = "orchestra_http_request_duration_seconds",
         .help = "Time from a request's head to its answer, by route pattern, in seconds.",
         .type = ORCI_METRIC_HISTOGRAM,
         .labels = route_label,
         .n_labels = 1,
         .buckets = orci_metrics_duration_buckets,
         .n_buckets = orci_metrics_duration_buckets_count},
        {.name = "orchestra_http_rpc_calls_total",
         .help = "RPC calls to the coordinator, by method and status code (UNAVAILABLE: "
                 "not reached).",
         .type = ORCI_METRIC_COUNTER,
         .labels = rpc_labels,
         .n_labels = 2},
        {.name = "orchestra_http_rpc_duration_seconds",
         .help = "Time of an RPC call to the coordinator, by method, in seconds.",
         .type = ORCI_METRIC_HISTOGRAM,
         .labels = rpc_labels,
         .n_labels = 1,
         .buckets = orci_metrics_duration_buckets,
         .n_buckets = orci_metrics_duration_buckets_count},
    };
    orci_metric **dest[] = {&o->requests, &o->durations, &o->rpcs, &o->rpc_durations};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        int rc = orci_metrics_add(o->metrics, &specs[i], dest[i], err);
        if (rc != ORC_OK)
            return rc;
    }
    return ORC_OK;
}

int orci_http_obs_new(const orci_http_obs_opts *opts, orci_http_obs **out, orc_error *err)
{
    *out = NULL;
    orci_http_obs *o = calloc(1, sizeof *o);
    if (!o)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    o->metrics = opts->metrics;
    orc_client_opts co = {.rpc_url = opts->rpc_url,
                          .tls_ca_file = opts->tls_ca,
                          .timeout_ms = opts->health_timeout_ms > 0 ? opts->health_timeout_ms
                                                                    : OBS_HEALTH_TIMEOUT_MS};
    int rc = obs_families(o, err);
    if (rc == ORC_OK)
        rc = orc_client_new(&co, &o->health, err);
    if (rc != ORC_OK) {
        orci_http_obs_destroy(o);
        return rc;
    }
    *out = o;
    return ORC_OK;
}

void orci_http_obs_destroy(orci_http_obs *o)
{
    if (!o)
        return;
    orc_client_destroy(o->health);
    free(o);
}

/* ---- requests --------------------------------------------------------------------------- */

void orci_http_obs_begin(orci_http_obs *o, orci_http_reqctx *rc)
{
    memset(rc, 0, sizeof *rc);
    rc->obs = o;
    rc->start_ns = obs_now_ns();
    unsigned char rnd[ORCI_HTTP_REQUEST_ID_LEN / 2];
    if (orci_random(rnd, sizeof rnd) == 0) {
        orci_hex_encode(rnd, sizeof rnd, rc->id);
    } else {
        /* No entropy: the time still tells requests of this process apart. */
        snprintf(rc->id, sizeof rc->id, "t%023llx", (unsigned long long)rc->start_ns);
    }
}

void orci_http_obs_enter(orci_http_reqctx *rc)
{
    obs_current = rc;
}

void orci_http_obs_forget(orci_http_reqctx *rc)
{
    if (obs_current == rc)
        obs_current = NULL;
}

void orci_http_obs_end(orci_http_reqctx *rc, const char *client, const char *method,
                       const char *path, int status, size_t bytes)
{
    if (obs_current == rc)
        obs_current = NULL;
    double secs = (double)(obs_now_ns() - rc->start_ns) / 1e9;
    const char *route = orci_http_route(path);
    const char *m = obs_method(method);
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    if (rc->obs) {
        orci_counter_add(
            orci_metric_series(rc->obs->requests, (const char *const[]){route, m, code}), 1);
        orci_histogram_observe(orci_metric_series(rc->obs->durations, (const char *const[]){route}),
                               secs);
    }
    bool read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
    orci_log_level level = read ? ORCI_LOG_DEBUG : ORCI_LOG_INFO;
    if (!orci_log_enabled(level))
        return;
    orci_log_field f[] = {ORCI_LOG_STR("request_id", rc->id),
                          ORCI_LOG_STR("client", client && client[0] ? client : "-"),
                          ORCI_LOG_STR("method", method ? method : "-"),
                          ORCI_LOG_STR("route", route),
                          ORCI_LOG_STR("path", path ? path : ""),
                          ORCI_LOG_INT("status", status),
                          ORCI_LOG_INT("bytes", (long long)bytes),
                          ORCI_LOG_MS("duration_ms", secs * 1e3)};
    orci_log_fields(level, f, sizeof f / sizeof f[0], "http");
}

/* obs_rpc_done records one RPC call. */
static void obs_rpc_done(orci_http_obs *o, const char *method, int code, int64_t start_ns)
{
    if (!o || !o->metrics)
        return;
    double secs = (double)(obs_now_ns() - start_ns) / 1e9;
    orci_counter_add(
        orci_metric_series(o->rpcs, (const char *const[]){method, orc_code_name(code)}), 1);
    orci_histogram_observe(orci_metric_series(o->rpc_durations, (const char *const[]){method}),
                           secs);
}

int orci_http_rpc(orc_client *c, const char *method, const orc_creds *creds, const void *body,
                  size_t body_len, void **reply_body, size_t *reply_len, orc_error *err)
{
    orci_http_reqctx *rc = obs_current;
    char id[ORCI_HTTP_REQUEST_ID_LEN + 16] = "";
    if (rc) {
        if (rc->rpcs++ == 0)
            snprintf(id, sizeof id, "%s", rc->id);
        else
            snprintf(id, sizeof id, "%s-%d", rc->id, rc->rpcs);
    }
    int64_t t0 = obs_now_ns();
    int code = orc_call_id(c, method, id, creds, body, body_len, reply_body, reply_len, err);
    /* Only the names of the service's methods reach here (the shim's own code picks them). */
    obs_rpc_done(rc ? rc->obs : NULL, method, code, t0);
    return code;
}

/* ---- answers ---------------------------------------------------------------------------- */

/* obs_text answers a short static text (copied: the caller frees the body). */
static void obs_text(int code, const char *text, int *status, const char **ctype, char **body,
                     size_t *len)
{
    *status = code;
    *ctype = OBS_TEXT;
    *body = strdup(text);
    *len = *body ? strlen(text) : 0;
    if (!*body)
        *status = 500;
}

/* obs_ready asks the coordinator for Health: true when it answers SERVING in time. */
static bool obs_ready(orci_http_obs *o, char *why, size_t why_size)
{
    orc_error err;
    orc_error_clear(&err);
    int64_t t0 = obs_now_ns();
    int code = orc_health(o->health, &err);
    obs_rpc_done(o, "Health", code, t0);
    if (code != ORC_OK)
        snprintf(why, why_size, "the coordinator does not answer: %s", err.message);
    return code == ORC_OK;
}

/* obs_metrics renders the registry. */
static void obs_metrics(orci_http_obs *o, int *status, const char **ctype, char **body, size_t *len)
{
    orci_buf b = {.max = OBS_METRICS_MAX};
    orc_error err;
    orc_error_clear(&err);
    if (orci_metrics_render(o->metrics, &b, &err) != ORC_OK) {
        orci_buf_fini(&b);
        orci_warn("metrics: %s", err.message);
        obs_text(500, "cannot render the metrics\n", status, ctype, body, len);
        return;
    }
    *body = orci_buf_take(&b, len);
    *status = *body ? 200 : 500;
    *ctype = ORCI_METRICS_CONTENT_TYPE;
}

bool orci_http_obs_answer(orci_http_obs *o, const char *method, const char *path, int *status,
                          const char **ctype, char **body, size_t *len)
{
    if (!o)
        return false;
    const char *route = orci_http_route(path);
    bool status_page =
        strcmp(route, "/orchestra/status/") == 0 || strcmp(route, "/orchestra/api/status/") == 0;
    bool ours = status_page || strcmp(route, "/livez") == 0 || strcmp(route, "/readyz") == 0 ||
                (strcmp(route, "/metrics") == 0 && o->metrics);
    if (!ours)
        return false;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        obs_text(405, "Method not allowed.\n", status, ctype, body, len);
        return true;
    }
    if (strcmp(route, "/livez") == 0) {
        obs_text(200, "ok\n", status, ctype, body, len);
    } else if (strcmp(route, "/metrics") == 0) {
        obs_metrics(o, status, ctype, body, len);
    } else {
        char why[ORC_ERROR_MESSAGE_MAX + 64];
        if (obs_ready(o, why, sizeof why)) {
            /* Upstream's status endpoints answer "OK" (spec 4). */
            obs_text(200, status_page ? "OK" : "ready\n", status, ctype, body, len);
        } else {
            orci_warn("%s: not ready: %s", path, why);
            char text[sizeof why + 16];
            snprintf(text, sizeof text, "not ready: %s\n", why);
            obs_text(503, text, status, ctype, body, len);
        }
    }
    return true;
}
