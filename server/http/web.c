/*
 * web.c: the web app's dispatcher and the response helpers its files share (web.h).
 */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "json.h"
#include "websession.h"

#define P_APP "/orchestra/app"
#define P_STATIC "/orchestra/static/"
#define P_ACCOUNTS "/orchestra/accounts/"
#define P_API "/orchestra/api/interface/"
#define P_EVENTS P_API "events/"
#define P_MANAGE P_API "project_management/"
#define MSG_ERROR "An error occurred"

/* Everything the app loads comes from this server; step modules included. Images may come
 * from anywhere (the rate step shows the image the crawler found on the web). */
#define CSP                                                                                        \
    "default-src 'self'; img-src 'self' data: http: https:; style-src 'self'; "                    \
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "                  \
    "frame-ancestors 'none'; form-action 'self'"

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool orci_web_path(const char *path)
{
    if (!path)
        return false;
    return strcmp(path, P_APP) == 0 || starts_with(path, P_APP "/") ||
           starts_with(path, P_STATIC) || starts_with(path, P_ACCOUNTS) ||
           strcmp(path, "/orchestra/accounts") == 0 || starts_with(path, P_API);
}

void orci_web_response_fini(orci_web_response *res)
{
    if (!res)
        return;
    if (!res->body_static)
        free(res->body);
    res->body = NULL;
    res->body_len = 0;
    res->body_static = false;
    for (size_t i = 0; i < res->n_headers; i++)
        free(res->headers[i].value);
    res->n_headers = 0;
}

bool orci_web_header_add(orci_web_response *res, const char *name, const char *value)
{
    if (res->n_headers == ORCI_WEB_MAX_HEADERS)
        return false;
    char *v = strdup(value ? value : "");
    if (!v)
        return false;
    res->headers[res->n_headers].name = name;
    res->headers[res->n_headers].value = v;
    res->n_headers++;
    return true;
}

/* set_body replaces the body with text (taken). */
static void set_body(orci_web_response *res, int status, const char *ctype, char *text)
{
    if (!res->body_static)
        free(res->body);
    res->body_static = false;
    if (!text) {
        res->status = 500;
        res->content_type = "application/json";
        res->body = strdup("{\"error\":500,\"message\":\"" MSG_ERROR "\"}");
        res->body_len = res->body ? strlen(res->body) : 0;
        return;
    }
    res->status = status;
    res->content_type = ctype;
    res->body = text;
    res->body_len = strlen(text);
}

void orci_web_take(orci_web_response *res, int status, const char *ctype, char *text)
{
    set_body(res, status, ctype, text);
}

void orci_web_text(orci_web_response *res, int status, const char *ctype, const char *text)
{
    set_body(res, status, ctype, strdup(text ? text : ""));
}

void orci_web_json_text(orci_web_response *res, int status, char *text)
{
    set_body(res, status, "application/json", text);
}

void orci_web_error(orci_web_response *res, int status, const char *msg)
{
    json_t *v = json_pack("{s:i, s:s}", "error", status, "message", msg ? msg : MSG_ERROR);
    char *text = v ? orci_json_dump(v) : NULL;
    json_decref(v);
    orci_web_json_text(res, status, text);
}

void orci_web_detail(orci_web_response *res, int status, const char *msg)
{
    json_t *v = json_pack("{s:s}", "detail", msg ? msg : "");
    char *text = v ? orci_json_dump(v) : NULL;
    json_decref(v);
    orci_web_json_text(res, status, text);
}

void orci_web_redirect(orci_web_response *res, const char *location)
{
    orci_web_text(res, 302, "text/plain; charset=utf-8", "");
    if (!orci_web_header_add(res, "Location", location))
        orci_web_error(res, 500, MSG_ERROR);
}

bool orci_web_cookie(const orci_web_request *req, const char *name, char *out, size_t out_size)
{
    const char *h = req->header(req->header_arg, "cookie");
    return orci_cookie_get(h, name, out, out_size);
}

bool orci_web_set_cookie(const orci_web_request *req, orci_web_response *res, const char *name,
                         const char *value, int64_t max_age_s, bool http_only)
{
    char line[ORCI_SET_COOKIE_MAX];
    orci_set_cookie_opts o = {.max_age_s = max_age_s, .http_only = http_only, .secure = req->tls};
    return orci_set_cookie(name, value, &o, line, sizeof line) &&
           orci_web_header_add(res, "Set-Cookie", line);
}

void orci_web_to_login(const orci_web_request *req, orci_web_response *res, bool had_session)
{
    size_t n = strlen(req->path) + strlen(req->query) + 2;
    char *here = malloc(n);
    char *next = NULL, *loc = NULL;
    if (here) {
        snprintf(here, n, "%s%s%s", req->path, req->query[0] ? "?" : "", req->query);
        next = orci_url_escape(here);
    }
    if (next && (loc = malloc(strlen(next) + 64)) != NULL)
        sprintf(loc, "%s?next=%s", P_ACCOUNTS "login/", next);
    if (loc)
        orci_web_redirect(res, loc);
    else
        orci_web_error(res, 500, MSG_ERROR);
    if (had_session)
        orci_web_set_cookie(req, res, ORCI_SESSION_COOKIE, "", 0, true);
    free(here);
    free(next);
    free(loc);
}

bool orci_web_unsafe(const orci_web_request *req)
{
    const char *m = req->method;
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0;
}

bool orci_web_csrf_ok(const orci_web_request *req, bool form_ok)
{
    if (!orci_origin_ok(req->header(req->header_arg, "origin"),
                        req->header(req->header_arg, "referer"),
                        req->header(req->header_arg, "host"), req->tls))
        return false;
    char cookie[ORCI_COOKIE_VALUE_MAX];
    if (!orci_web_cookie(req, ORCI_CSRF_COOKIE, cookie, sizeof cookie))
        return false;
    const char *header = req->header(req->header_arg, ORCI_CSRF_HEADER);
    if (header)
        return orci_csrf_ok(cookie, header);
    char field[ORCI_COOKIE_VALUE_MAX];
    return form_ok &&
           orci_form_get(req->body, req->body_len, ORCI_CSRF_FIELD, field, sizeof field) &&
           orci_csrf_ok(cookie, field);
}

/* secure_headers adds what every answer of the app carries. */
static void secure_headers(orci_web_response *res)
{
    orci_web_header_add(res, "X-Content-Type-Options", "nosniff");
    orci_web_header_add(res, "X-Frame-Options", "DENY");
    orci_web_header_add(res, "Referrer-Policy", "same-origin");
    orci_web_header_add(res, "Content-Security-Policy", CSP);
    bool cached = false;
    for (size_t i = 0; i < res->n_headers; i++)
        cached = cached || strcasecmp(res->headers[i].name, "Cache-Control") == 0;
    if (!cached)
        orci_web_header_add(res, "Cache-Control", "no-store");
}

void orci_web_handle(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    memset(res, 0, sizeof *res);
    const char *p = req->path;
    if (starts_with(p, P_ACCOUNTS) || strcmp(p, "/orchestra/accounts") == 0)
        orci_web_accounts(cfg, req, res);
    else if (starts_with(p, P_EVENTS))
        orci_web_events(cfg, req, res);
    else if (starts_with(p, P_MANAGE))
        orci_web_manage(cfg, req, p + strlen(P_MANAGE), res);
    else if (starts_with(p, P_API))
        orci_web_interface(cfg, req, res);
    else
        orci_web_app(cfg, req, res);
    if (!res->body && !res->stream)
        orci_web_error(res, 500, MSG_ERROR);
    secure_headers(res);
}
