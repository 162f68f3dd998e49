/*
 * main.c: orchestra-http, the legacy JSON API (legacy.h) and the experts' web app (web.h) in
 * front of orchestrad.
 *
 *   orchestra-http [--listen HOST:PORT] [--rpc URL] [--events URL] [--tls-cert F --tls-key F]
 *                  [--rpc-tls-ca F] [--date-window SECONDS] [--max-body BYTES]
 *                  [--max-connections N] [--log-level L]
 *
 * HTTP is libmicrohttpd (one thread per connection, capped; see server/README.md for why),
 * the coordinator is reached through one shared orc_client. SIGTERM or SIGINT stop it (within
 * a bounded time), SIGHUP reopens the log file and reloads the TLS certificate (tls.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "daemon.h"
#include "legacy.h"
#include "log.h"
#include "metrics.h"
#include "observe.h"
#include "options.h"
#include "orchestra/client.h"
#include "sse.h"
#include "tls.h"
#include "web.h"

#define HTTP_DEFAULT_LISTEN "127.0.0.1:8000"
#define HTTP_MAX_HEADERS 64
#define HTTP_HEADER_MEMORY (32 * 1024)
#define HTTP_IDLE_TIMEOUT_S 30
#define HTTP_PER_IP_LIMIT 32

typedef struct http_app {
    orci_http_config cfg;
    orci_web_config web;
    size_t max_body;
    bool tls;
    orci_http_obs *obs; /* request ids, access log, metrics, health (observe.h) */
} http_app;

/* http_req is one request in flight (MHD's con_cls), created by the URI log callback. */
typedef struct http_req {
    char *target;  /* the raw request-target, owned */
    orci_buf body; /* capped at the app's max_body */
    bool started;
    int reject;          /* an HTTP status decided before the body was read, or 0 */
    orci_http_reqctx rc; /* its id and start, for the access log */
} http_req;

static void *http_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    http_app *app = cls;
    http_req *r = calloc(1, sizeof *r);
    if (r && !(r->target = strdup(uri ? uri : ""))) {
        free(r);
        r = NULL;
    }
    if (r)
        orci_http_obs_begin(app->obs, &r->rc);
    return r;
}

static void http_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    http_req *r = *con_cls;
    if (!r)
        return;
    orci_http_obs_forget(&r->rc);
    free(r->target);
    orci_buf_fini(&r->body);
    free(r);
    *con_cls = NULL;
}

static const char *http_header(void *arg, const char *name)
{
    return MHD_lookup_connection_value(arg, MHD_HEADER_KIND, name);
}

/* http_peer writes the connection's peer address (numeric) into out, and returns its fd. */
static int http_peer(struct MHD_Connection *conn, char *out, size_t size)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                               : sizeof(struct sockaddr_in);
        if (getnameinfo(ci->client_addr, len, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
            out[0] = '\0';
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/* http_access ends r: its access log line and metrics (observe.h). */
static void http_access(struct MHD_Connection *conn, http_req *r, const char *method, int status,
                        size_t bytes)
{
    char peer[NI_MAXHOST];
    http_peer(conn, peer, sizeof peer);
    size_t path_len = strcspn(r->target, "?");
    char path[1024];
    snprintf(path, sizeof path, "%.*s", (int)(path_len < sizeof path ? path_len : sizeof path - 1),
             r->target);
    orci_http_obs_end(&r->rc, peer, method, path, status, bytes);
}

/* http_send queues res (its body is taken) on conn, answering r. */
static enum MHD_Result http_send(struct MHD_Connection *conn, http_req *r, const char *method,
                                 orci_http_response *res, bool close)
{
    http_access(conn, r, method, res->status, res->body_len);
    struct MHD_Response *mr =
        MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (void *)"",
                                        res->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!mr) {
        orci_http_response_fini(res);
        return MHD_NO;
    }
    res->body = NULL;
    res->body_len = 0;
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                            res->content_type ? res->content_type : "application/json");
    MHD_add_response_header(mr, "X-Request-Id", r->rc.id);
    if (close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)res->status, mr);
    MHD_destroy_response(mr);
    return ok;
}

static enum MHD_Result http_reject(struct MHD_Connection *conn, http_req *r, const char *method,
                                   int status, const char *msg)
{
    orci_http_response res = {0};
    orci_http_detail_json(&res, status, msg);
    orci_info("%d %s (request %s)", status, msg, r->rc.id);
    return http_send(conn, r, method, &res, true);
}

/* http_lengths counts a request's Content-Length headers and whether their values differ. */
typedef struct http_lengths {
    int n;
    bool differ;
    const char *first;
} http_lengths;

static enum MHD_Result http_length_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    http_lengths *l = cls;
    if (!key || strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (l->n++ == 0)
        l->first = value;
    else if (!value || !l->first || strcmp(value, l->first) != 0)
        l->differ = true;
    return MHD_YES;
}

/*
 * http_check_head refuses what the head alone shows to be wrong (0: go on): too many
 * headers, chunked bodies, a Content-Length that is not one number or is repeated with
 * another value (request smuggling: a proxy in front may have read the other one), or a
 * body above the limit.
 */
static int http_check_head(struct MHD_Connection *conn, size_t max_body, const char **why)
{
    if (MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL) > HTTP_MAX_HEADERS)
        return *why = "Too many request headers", 431;
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return *why = "Chunked request bodies are not accepted; send Content-Length", 411;
    http_lengths l = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, http_length_cb, &l);
    if (l.differ)
        return *why = "Conflicting Content-Length headers", 400;
    if (l.n == 0)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(l.first ? l.first : "", &end, 10);
    if (errno != 0 || !l.first || end == l.first || *end != '\0' || l.first[0] == '-' ||
        l.first[0] == '+')
        return *why = "Bad Content-Length", 400;
    if (n > max_body)
        return *why = "Request body too large", 413;
    return 0;
}

/* ---- the web app (web.h) ---------------------------------------------------------------- */

static ssize_t http_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ssize_t n = orci_sse_read(cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void http_sse_free(void *cls)
{
    orci_sse_free(cls);
}

/* http_send_web queues a web answer (its body or stream is taken) on conn, answering r. */
static enum MHD_Result http_send_web(struct MHD_Connection *conn, http_req *r, const char *method,
                                     orci_web_response *res)
{
    /* An event stream's bytes are not known when it starts: its line says 0. */
    http_access(conn, r, method, res->status, res->stream ? 0 : res->body_len);
    struct MHD_Response *mr;
    if (res->stream) {
        mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, http_sse_read, res->stream,
                                               http_sse_free);
        if (!mr)
            orci_sse_free(res->stream);
        res->stream = NULL;
    } else {
        enum MHD_ResponseMemoryMode mode = !res->body         ? MHD_RESPMEM_PERSISTENT
                                           : res->body_static ? MHD_RESPMEM_PERSISTENT
                                                              : MHD_RESPMEM_MUST_FREE;
        mr = MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (void *)"",
                                             mode);
        if (mr)
            res->body = NULL; /* MHD owns it now */
    }
    if (!mr) {
        orci_web_response_fini(res);
        return MHD_NO;
    }
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                            res->content_type ? res->content_type : "application/json");
    MHD_add_response_header(mr, "X-Request-Id", r->rc.id);
    for (size_t i = 0; i < res->n_headers; i++)
        MHD_add_response_header(mr, res->headers[i].name, res->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)res->status, mr);
    MHD_destroy_response(mr);
    orci_web_response_fini(res);
    return ok;
}

static enum MHD_Result http_web(http_app *app, struct MHD_Connection *conn, http_req *r,
                                const char *url, const char *method)
{
    char peer[NI_MAXHOST];
    const char *q = strchr(r->target, '?');
    orci_web_request req = {.method = method,
                            .path = url,
                            .query = q ? q + 1 : "",
                            .target = r->target,
                            .header = http_header,
                            .header_arg = conn,
                            .body = r->body.p,
                            .body_len = r->body.len,
                            .client_address = peer,
                            .connection_fd = http_peer(conn, peer, sizeof peer),
                            .tls = app->tls};
    orci_web_response res;
    orci_web_handle(&app->web, &req, &res);
    return http_send_web(conn, r, method, &res);
}

/* http_observe answers the observation paths (observe.h) into *ok; false: not one. */
static bool http_observe(http_app *app, struct MHD_Connection *conn, http_req *r, const char *url,
                         const char *method, enum MHD_Result *ok)
{
    orci_http_response res = {0};
    char *body = NULL;
    if (!orci_http_obs_answer(app->obs, method, url, &res.status, &res.content_type, &body,
                              &res.body_len))
        return false;
    res.body = body;
    *ok = http_send(conn, r, method, &res, false);
    return true;
}

static enum MHD_Result http_request_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls)
{
    (void)version;
    http_app *app = cls;
    http_req *r = *con_cls;
    if (!r)
        return MHD_NO; /* out of memory: drop the connection */
    if (!r->started) {
        r->started = true;
        const char *why = NULL;
        int status = http_check_head(conn, app->max_body, &why);
        return status ? http_reject(conn, r, method, status, why) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->reject)
            return MHD_YES;
        r->body.max = app->max_body;
        if (orci_buf_over(&r->body, n))
            r->reject = 413;
        else if (!orci_buf_add(&r->body, upload_data, n))
            r->reject = 500;
        return MHD_YES;
    }
    if (r->reject == 413)
        return http_reject(conn, r, method, 413, "Request body too large");
    if (r->reject)
        return http_reject(conn, r, method, 500, "Out of memory");

    orci_http_obs_enter(&r->rc); /* the RPCs made from here on carry its request id */
    enum MHD_Result ok;
    if (http_observe(app, conn, r, url, method, &ok))
        return ok;
    if (orci_web_path(url))
        return http_web(app, conn, r, url, method);
    orci_http_request req = {.method = method,
                             .path = url,
                             .target = r->target,
                             .header = http_header,
                             .header_arg = conn,
                             .body = r->body.p,
                             .body_len = r->body.len,
                             .tls = app->tls};
    orci_http_response res;
    orci_http_handle(&app->cfg, &req, (int64_t)time(NULL), &res);
    return http_send(conn, r, method, &res, false);
}

/* http_resolve turns "HOST:PORT" into an address. Returns 0 or -1. */
static int http_resolve(const char *listen, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host || !colon[1])
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1]:8000 */
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai) != 0 || !ai)
        return -1;
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static void http_usage(FILE *f)
{
    fprintf(
        f, "usage: orchestra-http [--listen HOST:PORT] [--rpc URL] [--events URL]\n"
           "                      [--tls-cert F --tls-key F]\n"
           "                      [--rpc-tls-ca F] [--date-window SECONDS] [--max-body BYTES]\n"
           "                      [--max-connections N] [--log-level debug|info|warn|error]\n"
           "                      [--log-format text|json] [--log-file PATH] [--config FILE]\n"
           "\n"
           "Serves the legacy JSON API and the experts' web app in front of orchestrad.\n"
           "  --listen HOST:PORT     address to serve (default " HTTP_DEFAULT_LISTEN ")\n"
           "  --rpc URL[,URL...]     orchestrad's RPC endpoint, or the coordinators of one\n"
           "                         database (default $ORCHESTRA_RPC)\n"
           "  --events URL[,URL...]  orchestrad's event feed(s), for the web app's dashboard\n"
           "                         (default $ORCHESTRA_EVENTS, else " ORC_DEFAULT_EVENTS_URL ")\n"
           "  --tls-cert F --tls-key F  serve https with this PEM certificate and key\n"
           "  --rpc-tls-ca F         CA bundle for a tls+tcp:// coordinator\n"
           "  --date-window SECONDS  accepted age of a signed request's Date (default 300)\n"
           "  --max-body BYTES       largest request body (default 1048576)\n"
           "  --max-connections N    connections served at once (default 64)\n"
           "  --log-level LEVEL      debug, info (default), warn or error; each request logs\n"
           "                         a line (with its X-Request-Id): changes at info, reads at\n"
           "                         debug\n"
           "  --log-format FORMAT    text (default) or json (one object per line, for shippers)\n"
           "  --log-file PATH        append the log to PATH instead of stderr\n"
           "  --config FILE          read settings from FILE first, one `name = value` per line\n"
           "Also served: /metrics (Prometheus text), /livez (200 while serving HTTP), /readyz\n"
           "and /orchestra/status/ (200 only when the coordinator answers, else 503).\n"
           "SIGHUP reopens the log file and reloads the TLS certificate and key.\n");
}

/* The settings. */
typedef struct http_opts {
    const char *listen, *rpc, *events, *cert, *key, *ca, *log_file, *log_format;
    long long window, max_body, max_conn;
    int level;
} http_opts;

/* http_parse reads --config FILE and the flags into o: -1 to go on, or the exit status. */
static int http_parse(int argc, char **argv, http_opts *o)
{
    const orci_opt opts[] = {
        {"listen", ORCI_OPT_STRING, &o->listen, 0, 0, NULL},
        {"rpc", ORCI_OPT_STRING, &o->rpc, 0, 0, NULL},
        {"events", ORCI_OPT_STRING, &o->events, 0, 0, NULL},
        {"tls-cert", ORCI_OPT_STRING, &o->cert, 0, 0, NULL},
        {"tls-key", ORCI_OPT_STRING, &o->key, 0, 0, NULL},
        {"rpc-tls-ca", ORCI_OPT_STRING, &o->ca, 0, 0, NULL},
        {"date-window", ORCI_OPT_INT, &o->window, 0, 86400 * 365, "seconds"},
        {"max-body", ORCI_OPT_INT, &o->max_body, 0, 1LL << 30, "bytes"},
        {"max-connections", ORCI_OPT_INT, &o->max_conn, 1, 100000, NULL},
        {"log-level", ORCI_OPT_LEVEL, &o->level, 0, 0, NULL},
        {"log-file", ORCI_OPT_STRING, &o->log_file, 0, 0, NULL},
        {"log-format", ORCI_OPT_STRING, &o->log_format, 0, 0, NULL},
    };
    orci_opts_spec spec = {.program = "orchestra-http",
                           .version = ORC_VERSION,
                           .opts = opts,
                           .n_opts = sizeof opts / sizeof opts[0],
                           .usage = http_usage,
                           .default_config = ORC_SYSCONF_DIR "/orchestra-http.conf"};
    int st = orci_opts_parse(&spec, argc, argv, NULL, 0);
    if (st >= 0)
        return st;
    if ((!o->cert) != (!o->key)) {
        fprintf(stderr, "orchestra-http: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (orci_log_parse_format(o->log_format) < 0) {
        fprintf(stderr, "orchestra-http: bad --log-format %s: use text or json\n", o->log_format);
        return 2;
    }
    return -1;
}

/* http_mhd_log passes libmicrohttpd's own messages through the log (its format and level). */
static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    orci_warn("libmicrohttpd: %s", msg);
}

/* http_start starts libmicrohttpd on addr; NULL when it cannot listen. */
static struct MHD_Daemon *http_start(const http_opts *o, http_app *app,
                                     const struct sockaddr_storage *addr, orci_http_tls *tls)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | MHD_USE_DUAL_STACK;
    if (addr->ss_family != AF_INET6)
        flags &= ~(unsigned)MHD_USE_DUAL_STACK;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, tls ? orci_http_tls_install(tls) : NULL},
        {MHD_OPTION_END, 0, NULL}};
    return MHD_start_daemon(
        flags, 0, NULL, NULL, http_request_cb, app, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)o->max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_HEADER_MEMORY, MHD_OPTION_URI_LOG_CALLBACK,
        http_uri_cb, app, MHD_OPTION_NOTIFY_COMPLETED, http_completed_cb, NULL, MHD_OPTION_ARRAY,
        tls ? tls_opts : tls_opts + 1, MHD_OPTION_END);
}

/* http_serve waits for a stop; SIGHUP reopens the log and reloads the certificate. */
static void http_serve(orci_http_tls *tls)
{
    while (!orci_daemon_stopping()) {
        orci_daemon_wait(1000);
        if (!orci_daemon_take_reload())
            continue;
        if (orci_log_reopen() != 0)
            orci_warn("SIGHUP: cannot reopen the log file: %s", strerror(errno));
        orc_error err;
        orc_error_clear(&err);
        if (!tls)
            orci_info("SIGHUP: log file reopened");
        else if (orci_http_tls_reload(tls, &err) != ORC_OK)
            orci_warn("SIGHUP: keeping the current TLS certificate: %s", err.message);
        else
            orci_info("SIGHUP: log file reopened; TLS certificate reloaded for new connections");
    }
}

/* http_observer makes the metrics registry and the request observer (observe.h). */
static int http_observer(const http_opts *o, orci_metrics **metrics, orci_http_obs **obs,
                         orc_error *err)
{
    int rc = orci_metrics_new(metrics, err);
    if (rc == ORC_OK)
        rc = orci_metrics_add_process(*metrics, "orchestra-http", ORC_VERSION, err);
    orci_http_obs_opts oo = {.metrics = *metrics, .rpc_url = o->rpc, .tls_ca = o->ca};
    if (rc == ORC_OK)
        rc = orci_http_obs_new(&oo, obs, err);
    return rc;
}

static void http_stop_mhd(void *arg)
{
    MHD_stop_daemon(arg);
}

int main(int argc, char **argv)
{
    http_opts o = {.listen = HTTP_DEFAULT_LISTEN,
                   .window = 300,
                   .max_body = 1024 * 1024,
                   .max_conn = 64,
                   .level = ORCI_LOG_INFO,
                   .log_format = "text"};
    int st = http_parse(argc, argv, &o);
    if (st >= 0)
        return st;
    orci_log_init("orchestra-http", (orci_log_level)o.level);
    orci_log_set_format((orci_log_format)orci_log_parse_format(o.log_format));
    if (o.log_file && orci_log_open_file(o.log_file) != 0) {
        fprintf(stderr, "orchestra-http: cannot open the log file %s: %s\n", o.log_file,
                strerror(errno));
        return 1;
    }
    struct sockaddr_storage addr;
    if (http_resolve(o.listen, &addr) != 0) {
        orci_error("cannot resolve --listen %s (want HOST:PORT)", o.listen);
        return 2;
    }
    orc_error err;
    orc_error_clear(&err);
    orci_http_tls *tls = NULL;
    if (o.cert && orci_http_tls_new(o.cert, o.key, &tls, &err) != ORC_OK) {
        orci_error("%s", err.message);
        return 2;
    }
    if (orci_daemon_signals() != 0) {
        orci_error("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    orc_client *client = NULL;
    orci_metrics *metrics = NULL;
    orci_http_obs *obs = NULL;
    orc_client_opts copts;
    memset(&copts, 0, sizeof copts);
    copts.rpc_url = o.rpc;
    copts.tls_ca_file = o.ca;
    if (orc_client_new(&copts, &client, &err) != ORC_OK) {
        orci_error("cannot reach the coordinator: %s", err.message);
        goto out;
    }
    if (http_observer(&o, &metrics, &obs, &err) != ORC_OK) {
        orci_error("cannot set up the metrics and health checks: %s", err.message);
        goto out;
    }
    /* Event streams hold a connection each: half the connections stay for everything else. */
    http_app app = {.cfg = {.client = client, .date_window_s = o.window},
                    .web = {.client = client,
                            .rpc_url = o.rpc,
                            .events_url = o.events,
                            .tls_ca = o.ca,
                            .max_streams = (int)(o.max_conn / 2 > 0 ? o.max_conn / 2 : 1),
                            .date_window_s = o.window},
                    .max_body = (size_t)o.max_body,
                    .tls = tls != NULL,
                    .obs = obs};
    if (!(d = http_start(&o, &app, &addr, tls))) {
        orci_error("cannot listen on %s", o.listen);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    orci_info("listening on %s (port %u), coordinator %s", o.listen, info ? info->port : 0,
              o.rpc ? o.rpc : "(default)");
    http_serve(tls);
    orci_info("stopping");
    orci_daemon_watchdog(ORCI_DAEMON_STOP_BUDGET_MS);
    rc = 0;
out:
    /* Connection threads may sit in an RPC: the stop is bounded, then the process leaves. */
    if (d && !orci_run_within(http_stop_mhd, d, 3000)) {
        orci_warn("connections did not end within 3 s; exiting");
        orci_daemon_exit(rc);
    }
    orc_client_destroy(client);
    orci_http_obs_destroy(obs);
    orci_metrics_destroy(metrics);
    orci_http_tls_free(tls);
    return rc;
}
