/*
 * web.h: the experts' web app served by orchestra-http (spec section 5, issue 15):
 *
 *   /orchestra/app/ and its routes (task/<id>, timecard, project/<id>)   app.c
 *   /orchestra/static/...                                                 app.c (embedded)
 *   /orchestra/accounts/login/, logout/, password_change/                 accounts.c
 *   /orchestra/api/interface/... (upstream's JSON endpoints)               interface.c
 *   /orchestra/api/interface/project_management/...                       manage.c
 *   /orchestra/api/interface/events/ (Server-Sent Events)                 sse.c
 *
 * The shim holds no business logic: every action is one RPC to orchestrad with the
 * worker's session token from the `sessionid` cookie (webrpc.h), and the coordinator decides
 * who may do what. What the shim does itself is HTTP: cookies and CSRF (websession.h),
 * redirects to the sign-in page, upstream's status codes and error bodies, and files.
 *
 * Threads: orci_web_handle runs on libmicrohttpd's connection threads, many at once, with
 * one shared orci_web_config.
 */
#ifndef ORCI_WEB_H
#define ORCI_WEB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpsig.h"
#include "orchestra/client.h"

typedef struct orci_sse orci_sse;

typedef struct orci_web_config {
    orc_client *client;     /* borrowed, shared: RPCs carry each request's own credentials */
    const char *rpc_url;    /* for the event relay's own clients (NULL: the default) */
    const char *events_url; /* the coordinator's event feed (NULL: the default) */
    const char *tls_ca;     /* CA of a tls+tcp:// coordinator, or NULL */
    int max_streams;        /* event streams open at once (each holds a connection) */
    atomic_int streams;     /* open now */
    int64_t date_window_s;  /* HTTP signatures (project management with an API key) */
} orci_web_config;

/* orci_web_request is one HTTP request, all borrowed. */
typedef struct orci_web_request {
    const char *method;
    const char *path;   /* without the query */
    const char *query;  /* after '?', or "" */
    const char *target; /* the raw request-target (signatures) */
    orci_httpsig_header_fn header;
    void *header_arg;
    const char *body;
    size_t body_len;
    const char *client_address; /* the peer's IP address as text, or "" */
    int connection_fd;          /* the connection's socket (the event relay polls it), or -1 */
    bool tls;
} orci_web_request;

#define ORCI_WEB_MAX_HEADERS 10

typedef struct orci_web_header {
    const char *name; /* static */
    char *value;      /* owned */
} orci_web_header;

/*
 * orci_web_response is the answer. body is owned unless body_static (embedded files);
 * stream, when set, is an event stream the server sends instead of body (orci_sse_read) and
 * then frees (orci_sse_free).
 */
typedef struct orci_web_response {
    int status;
    const char *content_type; /* static */
    char *body;
    size_t body_len;
    bool body_static;
    orci_web_header headers[ORCI_WEB_MAX_HEADERS];
    size_t n_headers;
    orci_sse *stream;
} orci_web_response;

/* orci_web_path tells whether path belongs to the web app (else: the legacy API). */
bool orci_web_path(const char *path);

/* orci_web_handle answers req into *res (always filled; 500 when out of memory). */
void orci_web_handle(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res);

/* orci_web_response_fini frees what res owns (not a stream handed to the server). */
void orci_web_response_fini(orci_web_response *res);

/* ---- shared by the web files ---------------------------------------------------------- */

/* orci_web_header_add adds a header (value copied); false when full or out of memory. */
bool orci_web_header_add(orci_web_response *res, const char *name, const char *value);

/* orci_web_text sets a body (copied) with its content type. */
void orci_web_text(orci_web_response *res, int status, const char *ctype, const char *text);

/* orci_web_take sets a body from text (taken, malloc'd; NULL means out of memory: a 500). */
void orci_web_take(orci_web_response *res, int status, const char *ctype, char *text);

/* orci_web_json sets a JSON body from text (taken, malloc'd; NULL means out of memory). */
void orci_web_json_text(orci_web_response *res, int status, char *text);

/* orci_web_error sets upstream's application error body {"error":status,"message":msg}. */
void orci_web_error(orci_web_response *res, int status, const char *msg);

/* orci_web_detail sets DRF's body {"detail":msg}. */
void orci_web_detail(orci_web_response *res, int status, const char *msg);

/* orci_web_redirect answers 302 to location. */
void orci_web_redirect(orci_web_response *res, const char *location);

/*
 * orci_web_to_login answers 302 to the sign-in page with next= the request's path (and
 * query), clearing a session cookie that no longer works when had_session.
 */
void orci_web_to_login(const orci_web_request *req, orci_web_response *res, bool had_session);

/* orci_web_cookie reads cookie name of req into out (false: none). */
bool orci_web_cookie(const orci_web_request *req, const char *name, char *out, size_t out_size);

/* orci_web_set_cookie adds a Set-Cookie (see websession.h); false when it cannot. */
bool orci_web_set_cookie(const orci_web_request *req, orci_web_response *res, const char *name,
                         const char *value, int64_t max_age_s, bool http_only);

/*
 * orci_web_csrf_ok checks a state-changing request: the origin rules, and the CSRF token from
 * the X-CSRFToken header or else from the form field (form_ok: the body is a form).
 */
bool orci_web_csrf_ok(const orci_web_request *req, bool form_ok);

/* orci_web_unsafe tells whether req's method changes state (not GET, HEAD, OPTIONS). */
bool orci_web_unsafe(const orci_web_request *req);

/* Handlers of the web files, each called by orci_web_handle for its paths. */
void orci_web_app(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res);
void orci_web_accounts(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res);
void orci_web_interface(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res);
void orci_web_manage(orci_web_config *cfg, const orci_web_request *req, const char *endpoint,
                     orci_web_response *res);
void orci_web_events(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res);

#endif
