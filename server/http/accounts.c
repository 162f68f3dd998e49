/*
 * accounts.c: the account pages under /orchestra/accounts/ (upstream's Django auth views):
 * login/ (sign-in), logout/ (sign-out), password_change/ and password_change/done/. They are
 * plain HTML forms (they work without JavaScript), filled in from embedded templates, and
 * protected against CSRF as Django does it (a csrfmiddlewaretoken field that must match the
 * csrftoken cookie). Checking the password, limiting failed attempts and changing it are
 * the coordinator's (Login, Logout, ChangePassword); the shim sets and clears cookies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assets.h"
#include "buf.h"
#include "proto/orchestra.pb-c.h"
#include "web.h"
#include "webrpc.h"
#include "websession.h"

#define ACC "/orchestra/accounts/"
#define FIELD_MAX 1100
#define CSRF_COOKIE_AGE_S (365LL * 24 * 3600)
#define MSG_BAD_LOGIN                                                                              \
    "Please enter a correct username and password. Note that both fields may be case-sensitive."
#define MSG_CSRF_PAGE "CSRF verification failed. Request aborted."

/* A value put into a template: escaped unless raw (HTML built here from escaped parts). */
typedef struct tvar {
    const char *name;
    const char *value;
    bool raw;
} tvar;

/* The largest page render makes: templates are ours, the values at most a few KiB. */
#define RENDER_MAX ((size_t)1 << 20)

/* render fills the template's {{name}} marks; unknown marks become "". NULL when out of memory. */
static char *render(const char *tmpl, const tvar *vars, size_t n)
{
    orci_buf b = {.max = RENDER_MAX};
    bool ok = true;
    const char *p = tmpl;
    for (;;) {
        const char *open = strstr(p, "{{"), *close = open ? strstr(open + 2, "}}") : NULL;
        if (!open || !close) {
            ok = ok && orci_buf_adds(&b, p);
            break;
        }
        ok = ok && orci_buf_add(&b, p, (size_t)(open - p));
        size_t nl = (size_t)(close - open - 2);
        for (size_t i = 0; i < n; i++) {
            if (strlen(vars[i].name) != nl || memcmp(vars[i].name, open + 2, nl) != 0)
                continue;
            char *esc = vars[i].raw ? NULL : orci_html_escape(vars[i].value);
            const char *v = vars[i].raw ? vars[i].value : esc;
            ok = ok && v != NULL && orci_buf_adds(&b, v);
            free(esc);
        }
        p = close + 2;
    }
    if (!ok) {
        orci_buf_fini(&b);
        return NULL;
    }
    return orci_buf_take(&b, NULL);
}

/* csrf_for_page returns the csrftoken to put in a form, setting the cookie when new. */
static bool csrf_for_page(const orci_web_request *req, orci_web_response *res,
                          char token[ORCI_COOKIE_VALUE_MAX])
{
    if (orci_web_cookie(req, ORCI_CSRF_COOKIE, token, ORCI_COOKIE_VALUE_MAX) &&
        orci_csrf_ok(token, token))
        return true;
    return orci_csrf_new(token) &&
           orci_web_set_cookie(req, res, ORCI_CSRF_COOKIE, token, CSRF_COOKIE_AGE_S, false);
}

/* page answers the template `name` with vars, plus the form's CSRF token and an error. */
static void page(const orci_web_request *req, orci_web_response *res, const char *name,
                 const char *error, tvar *extra, size_t n_extra)
{
    char path[96], token[ORCI_COOKIE_VALUE_MAX];
    snprintf(path, sizeof path, "templates/%s", name);
    const orci_asset *t = orci_asset_find(path);
    if (!t || !csrf_for_page(req, res, token)) {
        orci_web_error(res, 500, "An error occurred");
        return;
    }
    char *err_html = NULL, *esc = error ? orci_html_escape(error) : NULL;
    if (esc && (err_html = malloc(strlen(esc) + 64)) != NULL)
        sprintf(err_html, "<p class=\"form-error\" role=\"alert\">%s</p>", esc);
    tvar vars[8] = {{"csrf_token", token, false}, {"error", err_html ? err_html : "", true}};
    size_t n = 2;
    for (size_t i = 0; i < n_extra && n < 8; i++)
        vars[n++] = extra[i];
    char *html = render((const char *)t->data, vars, n);
    free(esc);
    free(err_html);
    orci_web_take(res, 200, "text/html; charset=utf-8", html);
}

/* field reads a form field (empty when absent). */
static const char *field(const orci_web_request *req, const char *name, char *out)
{
    if (!orci_form_get(req->body, req->body_len, name, out, FIELD_MAX))
        out[0] = '\0';
    return out;
}

static void csrf_refused(orci_web_response *res)
{
    orci_web_text(
        res, 403, "text/html; charset=utf-8",
        "<!doctype html><title>403 Forbidden</title><h1>Forbidden (403)</h1><p>" MSG_CSRF_PAGE
        "</p>");
}

/* ---- sign-in ---------------------------------------------------------------------------- */

static void login_post(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    char user[FIELD_MAX], pw[FIELD_MAX], next[FIELD_MAX];
    const char *to = orci_safe_next(field(req, "next", next));
    tvar extra[] = {{"next", to, false}, {"username", field(req, "username", user), false}};
    Orchestra__V1__LoginRequest in = ORCHESTRA__V1__LOGIN_REQUEST__INIT;
    in.username = user;
    in.password = (char *)field(req, "password", pw);
    in.client_address = (char *)(req->client_address ? req->client_address : "");
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    orc_creds none = {0};
    int rc = orci_web_call(cfg->client, &none, "Login", &in.base,
                           &orchestra__v1__login_reply__descriptor, &out, &err);
    explicit_bzero(pw, sizeof pw);
    if (rc != ORC_OK) {
        const char *msg = rc == ORC_UNAUTHENTICATED      ? MSG_BAD_LOGIN
                          : rc == ORC_UNAVAILABLE        ? "The server is unavailable; try again."
                          : rc == ORC_RESOURCE_EXHAUSTED ? err.message
                                                         : "Sign-in failed; try again.";
        page(req, res, "login.html", msg, extra, 2);
        return;
    }
    const Orchestra__V1__LoginReply *l = (const Orchestra__V1__LoginReply *)out;
    int64_t age = l->expires_at / 1000000 - (int64_t)time(NULL);
    char csrf[ORCI_CSRF_TOKEN_LEN + 1];
    orci_web_redirect(res, to);
    /* A new CSRF token with the new session, as Django rotates it at sign-in. */
    if (!orci_web_set_cookie(req, res, ORCI_SESSION_COOKIE, l->token, age > 0 ? age : 1, true) ||
        !orci_csrf_new(csrf) ||
        !orci_web_set_cookie(req, res, ORCI_CSRF_COOKIE, csrf, CSRF_COOKIE_AGE_S, false))
        orci_web_error(res, 500, "An error occurred");
    protobuf_c_message_free_unpacked(out, NULL);
}

static void login(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    if (strcmp(req->method, "POST") == 0) {
        if (!orci_web_csrf_ok(req, true))
            csrf_refused(res);
        else
            login_post(cfg, req, res);
        return;
    }
    char next[FIELD_MAX];
    const char *q = req->query;
    if (!orci_form_get(q, strlen(q), "next", next, sizeof next))
        next[0] = '\0';
    tvar extra[] = {{"next", orci_safe_next(next), false}, {"username", "", false}};
    page(req, res, "login.html", NULL, extra, 2);
}

/* ---- sign-out ------------------------------------------------------------------------- */

static void logout(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    char token[ORCI_COOKIE_VALUE_MAX];
    bool has = orci_web_cookie(req, ORCI_SESSION_COOKIE, token, sizeof token);
    if (strcmp(req->method, "POST") != 0) {
        page(req, res, "logout.html", NULL, NULL, 0);
        return;
    }
    if (!orci_web_csrf_ok(req, true)) {
        csrf_refused(res);
        return;
    }
    if (has) {
        Orchestra__V1__LogoutRequest in = ORCHESTRA__V1__LOGOUT_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        orc_error err;
        orc_error_clear(&err);
        /* An expired or unknown session is signed out all the same. */
        orci_web_call_token(cfg->client, token, "Logout", &in.base,
                            &orchestra__v1__logout_reply__descriptor, &out, &err);
        if (out)
            protobuf_c_message_free_unpacked(out, NULL);
    }
    orci_web_redirect(res, ACC "login/");
    orci_web_set_cookie(req, res, ORCI_SESSION_COOKIE, "", 0, true);
}

/* ---- password change -------------------------------------------------------------------- */

static void password_post(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res,
                          const char *token)
{
    char old_pw[FIELD_MAX], pw1[FIELD_MAX], pw2[FIELD_MAX];
    field(req, "old_password", old_pw);
    field(req, "new_password1", pw1);
    field(req, "new_password2", pw2);
    if (strcmp(pw1, pw2) != 0) {
        page(req, res, "password_change.html", "The two password fields didn\u2019t match.", NULL,
             0);
        goto out;
    }
    Orchestra__V1__ChangePasswordRequest in = ORCHESTRA__V1__CHANGE_PASSWORD_REQUEST__INIT;
    in.old_password = old_pw;
    in.new_password = pw1;
    ProtobufCMessage *reply = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(cfg->client, token, "ChangePassword", &in.base,
                                 &orchestra__v1__change_password_reply__descriptor, &reply, &err);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    if (rc == ORC_UNAUTHENTICATED)
        orci_web_to_login(req, res, true);
    else if (rc != ORC_OK)
        page(req, res, "password_change.html",
             err.message[0] ? err.message : "The password could not be changed.", NULL, 0);
    else
        orci_web_redirect(res, ACC "password_change/done/");
out:
    explicit_bzero(old_pw, sizeof old_pw);
    explicit_bzero(pw1, sizeof pw1);
    explicit_bzero(pw2, sizeof pw2);
}

static void password_change(orci_web_config *cfg, const orci_web_request *req,
                            orci_web_response *res, bool done)
{
    char token[ORCI_COOKIE_VALUE_MAX];
    if (!orci_web_cookie(req, ORCI_SESSION_COOKIE, token, sizeof token)) {
        orci_web_to_login(req, res, false);
        return;
    }
    if (strcmp(req->method, "POST") == 0 && !done) {
        if (!orci_web_csrf_ok(req, true))
            csrf_refused(res);
        else
            password_post(cfg, req, res, token);
        return;
    }
    /* The page itself needs a live session too. */
    Orchestra__V1__WhoAmIRequest in = ORCHESTRA__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *out = NULL;
    orc_error err;
    orc_error_clear(&err);
    int rc = orci_web_call_token(cfg->client, token, "WhoAmI", &in.base,
                                 &orchestra__v1__who_am_ireply__descriptor, &out, &err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    if (rc == ORC_UNAUTHENTICATED)
        orci_web_to_login(req, res, true);
    else if (rc != ORC_OK)
        orci_web_error(res, 503, "The coordinator is unavailable");
    else
        page(req, res, done ? "password_change_done.html" : "password_change.html", NULL, NULL, 0);
}

void orci_web_accounts(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    const char *p = req->path;
    if (strcmp(p, ACC "login/") == 0 || strcmp(p, ACC "login") == 0)
        login(cfg, req, res);
    else if (strcmp(p, ACC "logout/") == 0 || strcmp(p, ACC "logout") == 0)
        logout(cfg, req, res);
    else if (strcmp(p, ACC "password_change/") == 0)
        password_change(cfg, req, res, false);
    else if (strcmp(p, ACC "password_change/done/") == 0)
        password_change(cfg, req, res, true);
    else if (strcmp(p, "/orchestra/accounts") == 0 || strcmp(p, ACC) == 0)
        orci_web_redirect(res, ACC "login/");
    else
        orci_web_text(res, 404, "text/html; charset=utf-8",
                      "<!doctype html><title>Not found</title><h1>Not found</h1>");
}
