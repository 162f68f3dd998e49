/*
 * websession.h: the web app's cookies, CSRF checks and form and URL helpers, as Django does
 * them, so that upstream's own front end could talk to the shim.
 *
 *  - The session cookie `sessionid` holds the coordinator's worker session token itself
 *    (256 random bits, stored hashed by orchestrad): the shim keeps no session state, so any
 *    number of shims serve the same browsers. It is HttpOnly, SameSite=Strict, Path=/, and
 *    Secure under https; its Max-Age is the session's remaining life.
 *  - CSRF: a `csrftoken` cookie (readable by the page, SameSite=Strict) that every
 *    state-changing request echoes, in the `X-CSRFToken` header (JSON API) or in the
 *    `csrfmiddlewaretoken` form field (sign-in and account forms); the two must be equal. An
 *    Origin header, when sent, must name this server; under https a request without Origin
 *    needs a same-origin Referer (Django's rules).
 *
 * Pure functions: any thread.
 */
#ifndef ORCI_WEBSESSION_H
#define ORCI_WEBSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORCI_SESSION_COOKIE "sessionid"
#define ORCI_CSRF_COOKIE "csrftoken"
#define ORCI_CSRF_HEADER "x-csrftoken"
#define ORCI_CSRF_FIELD "csrfmiddlewaretoken"

/* Longest cookie value read (a session token is 43 characters, a CSRF token 43). */
#define ORCI_COOKIE_VALUE_MAX 256
/* Room for one Set-Cookie header value. */
#define ORCI_SET_COOKIE_MAX 512
/* Length of a CSRF token: 32 random bytes in base64url. */
#define ORCI_CSRF_TOKEN_LEN 43

/*
 * orci_cookie_get finds cookie `name` in a Cookie header ("a=1; b=2") and copies its value
 * into out. False when absent, empty, longer than out allows or not a plain cookie value
 * (only printable ASCII without space, '"', ',', ';' and '\\').
 */
bool orci_cookie_get(const char *header, const char *name, char *out, size_t out_size);

/* orci_set_cookie_opts describes one Set-Cookie. */
typedef struct orci_set_cookie_opts {
    int64_t max_age_s; /* < 0: a browser-session cookie; 0: delete it */
    bool http_only;
    bool secure;
} orci_set_cookie_opts;

/*
 * orci_set_cookie writes the Set-Cookie header value for name=value (Path=/,
 * SameSite=Strict, plus o's attributes) into out. False when it does not fit or value is not
 * a plain cookie value.
 */
bool orci_set_cookie(const char *name, const char *value, const orci_set_cookie_opts *o, char *out,
                     size_t out_size);

/* orci_csrf_new writes a fresh CSRF token (ORCI_CSRF_TOKEN_LEN characters) into out. */
bool orci_csrf_new(char out[ORCI_CSRF_TOKEN_LEN + 1]);

/*
 * orci_csrf_ok tells whether presented matches the csrftoken cookie's value (both present,
 * well formed, equal; compared in constant time).
 */
bool orci_csrf_ok(const char *cookie_value, const char *presented);

/*
 * orci_origin_ok applies Django's origin rules to a state-changing request: an Origin header
 * must be exactly "<scheme>://<host>" of this request (host as the Host header gave it); over
 * https a request without Origin needs a Referer on that same origin. NULL arguments are
 * absent headers.
 */
bool orci_origin_ok(const char *origin, const char *referer, const char *host, bool tls);

/*
 * orci_safe_next returns next when it is a path on this server ("/..." but not "//..." or
 * "/\\...", no control characters, at most 2000 bytes), else the app's home.
 */
const char *orci_safe_next(const char *next);

/*
 * orci_form_get finds field name in an application/x-www-form-urlencoded text (a form
 * body or a query string, len bytes) and writes its decoded value into out. False when
 * absent, badly encoded, holding a NUL or longer than out allows.
 */
bool orci_form_get(const char *text, size_t len, const char *name, char *out, size_t out_size);

/* orci_html_escape returns text with & < > " ' escaped (malloc'd; NULL when out of memory). */
char *orci_html_escape(const char *text);

/* orci_url_escape percent-encodes text for a query value (malloc'd; NULL when out of memory). */
char *orci_url_escape(const char *text);

#endif
