/*
 * test_websession.c: the web app's cookies, CSRF checks and form helpers
 * (server/http/websession.c), and the session and CSRF decisions of the shim's dispatcher
 * that need no coordinator (server/http/web.c).
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "sse.h"
#include "web.h"
#include "websession.h"

static void test_cookie_get_finds_the_named_cookie_only(void **state)
{
    (void)state;
    char v[64];
    assert_true(
        orci_cookie_get("a=1; sessionid=abc-DEF_12; csrftoken=xyz", "sessionid", v, sizeof v));
    assert_string_equal(v, "abc-DEF_12");
    assert_true(orci_cookie_get("csrftoken=xyz", "csrftoken", v, sizeof v));
    assert_string_equal(v, "xyz");
    /* a name that only ends like the wanted one, an empty value, an absent one */
    assert_false(orci_cookie_get("xsessionid=evil", "sessionid", v, sizeof v));
    assert_false(orci_cookie_get("sessionid=", "sessionid", v, sizeof v));
    assert_false(orci_cookie_get("other=1", "sessionid", v, sizeof v));
    assert_false(orci_cookie_get(NULL, "sessionid", v, sizeof v));
    /* too long for the buffer, or not a plain cookie value: refused, never cut */
    assert_false(orci_cookie_get("sessionid=0123456789", "sessionid", v, 8));
    assert_false(orci_cookie_get("sessionid=\"quoted\"", "sessionid", v, sizeof v));
    assert_false(orci_cookie_get("sessionid=a\\b", "sessionid", v, sizeof v));
}

static void test_set_cookie_attributes(void **state)
{
    (void)state;
    char line[ORCI_SET_COOKIE_MAX];
    orci_set_cookie_opts o = {.max_age_s = 3600, .http_only = true, .secure = false};
    assert_true(orci_set_cookie("sessionid", "tok", &o, line, sizeof line));
    assert_string_equal(line, "sessionid=tok; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict");
    o.secure = true;
    assert_true(orci_set_cookie("sessionid", "tok", &o, line, sizeof line));
    assert_non_null(strstr(line, "; Secure"));
    /* deleting: an empty value and Max-Age=0 */
    o = (orci_set_cookie_opts){.max_age_s = 0, .http_only = true};
    assert_true(orci_set_cookie("sessionid", "ignored", &o, line, sizeof line));
    assert_string_equal(line, "sessionid=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    /* a value that would break the header is refused */
    o.max_age_s = 10;
    assert_false(orci_set_cookie("sessionid", "a;b", &o, line, sizeof line));
    assert_false(orci_set_cookie("sessionid", "tok", &o, line, 10));
}

static void test_csrf_tokens_are_fresh_and_compared_exactly(void **state)
{
    (void)state;
    char a[ORCI_CSRF_TOKEN_LEN + 1], b[ORCI_CSRF_TOKEN_LEN + 1];
    assert_true(orci_csrf_new(a));
    assert_true(orci_csrf_new(b));
    assert_int_equal(strlen(a), ORCI_CSRF_TOKEN_LEN);
    assert_string_not_equal(a, b);
    assert_true(orci_csrf_ok(a, a));
    assert_false(orci_csrf_ok(a, b));
    assert_false(orci_csrf_ok(a, NULL));
    assert_false(orci_csrf_ok(NULL, a));
    assert_false(orci_csrf_ok("", ""));
    char shorter[ORCI_CSRF_TOKEN_LEN + 1];
    memcpy(shorter, a, sizeof shorter);
    shorter[ORCI_CSRF_TOKEN_LEN - 1] = '\0';
    assert_false(orci_csrf_ok(shorter, shorter)); /* not one of ours */
    char odd[ORCI_CSRF_TOKEN_LEN + 1];
    memset(odd, '!', ORCI_CSRF_TOKEN_LEN);
    odd[ORCI_CSRF_TOKEN_LEN] = '\0';
    assert_false(orci_csrf_ok(odd, odd));
}

static void test_origin_rules(void **state)
{
    (void)state;
    assert_true(orci_origin_ok("http://127.0.0.1:8000", NULL, "127.0.0.1:8000", false));
    assert_false(orci_origin_ok("http://127.0.0.1:9000", NULL, "127.0.0.1:8000", false));
    assert_false(orci_origin_ok("https://127.0.0.1:8000", NULL, "127.0.0.1:8000", false));
    assert_false(orci_origin_ok("http://127.0.0.1:8000.evil.com", NULL, "127.0.0.1:8000", false));
    assert_false(orci_origin_ok("null", NULL, "127.0.0.1:8000", false));
    /* no Origin: fine over http (the token still has to match); https needs a Referer */
    assert_true(orci_origin_ok(NULL, NULL, "h:1", false));
    assert_false(orci_origin_ok(NULL, NULL, "h:1", true));
    assert_true(orci_origin_ok(NULL, "https://h:1/orchestra/app/", "h:1", true));
    assert_false(orci_origin_ok(NULL, "https://h:12/orchestra/app/", "h:1", true));
    assert_false(orci_origin_ok("http://h:1", NULL, NULL, false));
}

static void test_safe_next_stays_on_this_server(void **state)
{
    (void)state;
    assert_string_equal(orci_safe_next("/orchestra/app/task/4"), "/orchestra/app/task/4");
    const char *bad[] = {NULL,
                         "",
                         "http://evil.com/",
                         "//evil.com/",
                         "/\\evil.com",
                         "/a\r\nSet-Cookie: x=1",
                         "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_string_equal(orci_safe_next(bad[i]), "/orchestra/app/");
}

static void test_form_fields_are_decoded(void **state)
{
    (void)state;
    const char *body = "username=ann+lee&password=p%40ss%3D1&next=%2Forchestra%2Fapp%2F&empty=";
    char v[64];
    assert_true(orci_form_get(body, strlen(body), "username", v, sizeof v));
    assert_string_equal(v, "ann lee");
    assert_true(orci_form_get(body, strlen(body), "password", v, sizeof v));
    assert_string_equal(v, "p@ss=1");
    assert_true(orci_form_get(body, strlen(body), "next", v, sizeof v));
    assert_string_equal(v, "/orchestra/app/");
    assert_true(orci_form_get(body, strlen(body), "empty", v, sizeof v));
    assert_string_equal(v, "");
    assert_false(orci_form_get(body, strlen(body), "user", v, sizeof v));
    assert_false(orci_form_get("a=%4", 4, "a", v, sizeof v));  /* cut escape */
    assert_false(orci_form_get("a=%zz", 5, "a", v, sizeof v)); /* bad escape */
    assert_false(orci_form_get("a=%00", 5, "a", v, sizeof v)); /* a NUL */
    assert_false(orci_form_get("a=123456", 8, "a", v, 4));     /* too long */
    /* only len bytes are read */
    assert_true(orci_form_get("a=12&b=3", 4, "a", v, sizeof v));
    assert_string_equal(v, "12");
    assert_false(orci_form_get("a=12&b=3", 4, "b", v, sizeof v));
}

static void test_html_and_url_escapes(void **state)
{
    (void)state;
    char *e = orci_html_escape("<a href=\"x\">'&'</a>");
    assert_string_equal(e, "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    free(e);
    e = orci_url_escape("/orchestra/app/task/3?x=1&y=a b");
    assert_string_equal(e, "/orchestra/app/task/3%3Fx%3D1%26y%3Da%20b");
    free(e);
}

/* ---- the dispatcher's decisions without a coordinator ----------------------------------- */

typedef struct fake_headers {
    const char *cookie, *origin, *referer, *host, *csrf, *if_none_match;
} fake_headers;

static const char *fake_header(void *arg, const char *name)
{
    const fake_headers *h = arg;
    if (strcasecmp(name, "cookie") == 0)
        return h->cookie;
    if (strcasecmp(name, "origin") == 0)
        return h->origin;
    if (strcasecmp(name, "referer") == 0)
        return h->referer;
    if (strcasecmp(name, "host") == 0)
        return h->host;
    if (strcasecmp(name, "x-csrftoken") == 0)
        return h->csrf;
    if (strcasecmp(name, "if-none-match") == 0)
        return h->if_none_match;
    return NULL;
}

static const char *response_header(const orci_web_response *res, const char *name)
{
    for (size_t i = 0; i < res->n_headers; i++)
        if (strcasecmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    return NULL;
}

static void handle(const char *method, const char *path, const char *query, fake_headers *h,
                   const char *body, orci_web_response *res)
{
    orci_web_config cfg = {.client = NULL, .max_streams = 1};
    orci_web_request req = {.method = method,
                            .path = path,
                            .query = query,
                            .target = path,
                            .header = fake_header,
                            .header_arg = h,
                            .body = body,
                            .body_len = body ? strlen(body) : 0,
                            .client_address = "127.0.0.1",
                            .connection_fd = -1};
    orci_web_handle(&cfg, &req, res);
}

static void test_anonymous_requests_go_to_sign_in(void **state)
{
    (void)state;
    fake_headers h = {.host = "127.0.0.1:8000"};
    const char *paths[] = {"/orchestra/app/",
                           "/orchestra/app/task/7",
                           "/orchestra/api/interface/dashboard_tasks/",
                           "/orchestra/api/interface/events/",
                           "/orchestra/api/interface/project_management/end_project/",
                           "/orchestra/accounts/password_change/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        orci_web_response res;
        handle("GET", paths[i], "", &h, NULL, &res);
        assert_int_equal(res.status, 302);
        const char *loc = response_header(&res, "Location");
        assert_non_null(loc);
        assert_true(strncmp(loc, "/orchestra/accounts/login/?next=", 32) == 0);
        assert_non_null(strstr(loc, paths[i]));
        assert_non_null(response_header(&res, "Content-Security-Policy"));
        orci_web_response_fini(&res);
    }
    orci_web_response res;
    handle("GET", "/orchestra/app/task/7", "x=1", &h, NULL, &res);
    assert_string_equal(response_header(&res, "Location"),
                        "/orchestra/accounts/login/?next=/orchestra/app/task/7%3Fx%3D1");
    orci_web_response_fini(&res);
}

static void test_state_changes_need_the_csrf_token(void **state)
{
    (void)state;
    char token[ORCI_CSRF_TOKEN_LEN + 1], cookie[200];
    assert_true(orci_csrf_new(token));
    snprintf(cookie, sizeof cookie, "sessionid=some-session; csrftoken=%s", token);
    fake_headers h = {.cookie = cookie, .host = "127.0.0.1:8000"};
    const char *posts[] = {"/orchestra/api/interface/save_task_assignment/",
                           "/orchestra/api/interface/timer/start/",
                           "/orchestra/api/interface/project_management/end_project/"};
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
        orci_web_response res;
        handle("POST", posts[i], "", &h, "{}", &res);
        assert_int_equal(res.status, 403);
        assert_non_null(strstr(res.body, "CSRF Failed: CSRF token missing or incorrect."));
        orci_web_response_fini(&res);
    }
    /* a wrong token, or the right one from another origin */
    char other[ORCI_CSRF_TOKEN_LEN + 1];
    assert_true(orci_csrf_new(other));
    h.csrf = other;
    orci_web_response res;
    handle("POST", posts[0], "", &h, "{}", &res);
    assert_int_equal(res.status, 403);
    orci_web_response_fini(&res);
    h.csrf = token;
    h.origin = "http://127.0.0.1:9999";
    handle("POST", posts[0], "", &h, "{}", &res);
    assert_int_equal(res.status, 403);
    orci_web_response_fini(&res);
    /* taking a new task is a GET that changes state: it needs the token too */
    h.csrf = NULL;
    h.origin = NULL;
    handle("GET", "/orchestra/api/interface/new_task_assignment/entry_level/", "", &h, NULL, &res);
    assert_int_equal(res.status, 403);
    orci_web_response_fini(&res);
    /* the sign-in form needs its token as well */
    fake_headers anon = {.host = "127.0.0.1:8000"};
    handle("POST", "/orchestra/accounts/login/", "", &anon, "username=a&password=b", &res);
    assert_int_equal(res.status, 403);
    assert_non_null(strstr(res.body, "CSRF verification failed"));
    orci_web_response_fini(&res);
}

static void test_login_page_sets_a_csrf_cookie_and_escapes_next(void **state)
{
    (void)state;
    fake_headers h = {.host = "127.0.0.1:8000"};
    orci_web_response res;
    handle("GET", "/orchestra/accounts/login/", "next=%2Forchestra%2Fapp%2F%22%3E%3Cb%3E", &h, NULL,
           &res);
    assert_int_equal(res.status, 200);
    const char *set = response_header(&res, "Set-Cookie");
    assert_non_null(set);
    assert_true(strncmp(set, "csrftoken=", 10) == 0);
    assert_null(strstr(set, "HttpOnly")); /* the page must read it */
    char token[ORCI_CSRF_TOKEN_LEN + 1];
    memcpy(token, set + 10, ORCI_CSRF_TOKEN_LEN);
    token[ORCI_CSRF_TOKEN_LEN] = '\0';
    assert_non_null(strstr(res.body, token)); /* the form carries the same token */
    assert_null(strstr(res.body, "\"><b>"));
    assert_non_null(strstr(res.body, "&#34;&gt;&lt;b&gt;"));
    orci_web_response_fini(&res);
}

static void test_static_files_are_embedded_with_etags(void **state)
{
    (void)state;
    assert_non_null(orci_asset_find("templates/app.html"));
    assert_non_null(orci_asset_find("static/js/main.js"));
    fake_headers h = {.host = "127.0.0.1:8000"};
    orci_web_response res;
    handle("GET", "/orchestra/static/app.css", "", &h, NULL, &res);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/css; charset=utf-8");
    const char *etag = response_header(&res, "ETag");
    assert_non_null(etag);
    char tag[64];
    snprintf(tag, sizeof tag, "%s", etag);
    orci_web_response_fini(&res);
    fake_headers again = {.host = "127.0.0.1:8000", .if_none_match = tag};
    handle("GET", "/orchestra/static/app.css", "", &again, NULL, &res);
    assert_int_equal(res.status, 304);
    orci_web_response_fini(&res);
    handle("GET", "/orchestra/static/../templates/app.html", "", &h, NULL, &res);
    assert_int_equal(res.status, 404);
    orci_web_response_fini(&res);
    handle("GET", "/orchestra/static/nope.js", "", &h, NULL, &res);
    assert_int_equal(res.status, 404);
    orci_web_response_fini(&res);
}

static void test_sse_event_format(void **state)
{
    (void)state;
    orc_event ev = {.seq = 42,
                    .type = "assignment.created",
                    .task_id = 7,
                    .project_id = 3,
                    .old_status = "",
                    .new_status = "Processing"};
    char out[512];
    size_t n = orci_sse_format(&ev, out, sizeof out);
    assert_true(n > 0);
    assert_string_equal(out, "id: 42\nevent: change\ndata: {\"seq\":42,\"type\":"
                             "\"assignment.created\",\"task_id\":7,\"project_id\":3,"
                             "\"old_status\":\"\",\"new_status\":\"Processing\"}\n\n");
    assert_int_equal(orci_sse_format(&ev, out, 20), 0); /* does not fit: nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_get_finds_the_named_cookie_only),
        cmocka_unit_test(test_set_cookie_attributes),
        cmocka_unit_test(test_csrf_tokens_are_fresh_and_compared_exactly),
        cmocka_unit_test(test_origin_rules),
        cmocka_unit_test(test_safe_next_stays_on_this_server),
        cmocka_unit_test(test_form_fields_are_decoded),
        cmocka_unit_test(test_html_and_url_escapes),
        cmocka_unit_test(test_anonymous_requests_go_to_sign_in),
        cmocka_unit_test(test_state_changes_need_the_csrf_token),
        cmocka_unit_test(test_login_page_sets_a_csrf_cookie_and_escapes_next),
        cmocka_unit_test(test_static_files_are_embedded_with_etags),
        cmocka_unit_test(test_sse_event_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
