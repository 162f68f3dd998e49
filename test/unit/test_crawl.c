/*
 * test_crawl.c: simple_workflow.v1.crawl.crawl_page (spec 6): the HTML scan and URL
 * resolution as pure functions, then the plugin against a local nng HTTP server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "html_images.h"
#include "job.h"
#include "log.h"
#include "plugin_set.h"

/* ---- pure functions ---------------------------------------------------------------------- */

static void test_url_resolve_follows_rfc3986_examples(void **state)
{
    (void)state;
    /* RFC 3986 section 5.4: normal and abnormal examples, as libcurl 7.88's URL API
     * resolves them. Four differ from the RFC, none of which can name an image file (the
     * only references resolved): "g:h" does not parse (NULL), "//g" gains the root path
     * "/", and the empty and fragment-only references keep the base's directory but not its
     * last segment and query. */
    char *odd = orci_url_resolve("http://a/b/c/d;p?q", "g:h");
    assert_null(odd);
    static const char *const cases[][2] = {
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g/"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/#s"},
        {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"", "http://a/b/c/"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g#s/../x", "http://a/b/c/g#s/../x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = orci_url_resolve("http://a/b/c/d;p?q", cases[i][0]);
        assert_non_null(r);
        if (strcmp(r, cases[i][1]) != 0)
            fail_msg("resolve(\"%s\") = \"%s\", want \"%s\"", cases[i][0], r, cases[i][1]);
        free(r);
    }
    char *r = orci_url_resolve("http://example.org", "pic.png");
    assert_string_equal(r, "http://example.org/pic.png");
    free(r);
}

static void test_html_images_finds_image_links_in_page_order(void **state)
{
    (void)state;
    static const char html[] =
        "<html><head><style>img { x: '<img src=\"style.jpg\">' }</style>"
        "<script>var s = '<img src=\"script.jpg\">';</script></head><body>\n"
        "<img src=\"a.jpg\">\n"
        "<IMG ALT=\"b\" SRC='/pics/b.PNG'>\n"
        "<!-- <img src=\"commented.jpg\"> -->\n"
        "<img alt=x src=c.gif />\n"
        "<img src=\"vector.svg\"><img data-src=\"lazy.jpg\"><imgx src=\"not-img.jpg\">\n"
        "<img src=\" //cdn.example.org/d.jpeg?w=100 \">\n"
        "<img src=\"e.jpg&amp;f=1\"><img src=\"q.php?f=g.jpg\">\n"
        "<img src=\"../up/h.JpG#frag\">\n"
        "<img src=\"https://other.example.net/i.png\"></body></html>";
    char **urls = NULL;
    size_t n = 0;
    assert_int_equal(
        orci_html_images(html, strlen(html), "http://example.org/site/page.html", &urls, &n), 0);
    static const char *const want[] = {
        "http://example.org/site/a.jpg",    "http://example.org/pics/b.PNG",
        "http://example.org/site/c.gif",    "http://cdn.example.org/d.jpeg?w=100",
        "http://example.org/up/h.JpG#frag", "https://other.example.net/i.png",
    };
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(urls[i], want[i]);
    orci_html_images_free(urls, n);
}

static void test_html_images_reads_the_page_as_a_browser_does(void **state)
{
    (void)state;
    /* What a hand-made scanner gets wrong: a comment that does not end where "-->" is
     * looked for naively ("--!>" ends it in HTML5), <base href> moving every relative link,
     * srcset (not src), src inside another attribute's value, an attribute without quotes
     * holding a quote character, a title with ">" inside quotes, and a <textarea> whose
     * text is not markup. */
    static const char html[] = "<html><head><base href=\"https://cdn.example.net/media/\"></head>"
                               "<body><!-- <img src=\"c1.jpg\"> --!><img src=\"a.jpg\">"
                               "<img srcset=\"s-2x.jpg 2x\" src=\"b.png\">"
                               "<img srcset=\"only-srcset.jpg 1x\">"
                               "<img alt='src=\"fake.jpg\"' src=c.gif>"
                               "<img src=d'e.jpg title=\"x > y\">"
                               "<textarea><img src=\"text.jpg\"></textarea>"
                               "<IMG\nSRC\n=\n\"/root/f.jpeg\"></body></html>";
    char **urls = NULL;
    size_t n = 0;
    assert_int_equal(
        orci_html_images(html, strlen(html), "http://example.org/site/page.html", &urls, &n), 0);
    static const char *const want[] = {
        "https://cdn.example.net/media/a.jpg", "https://cdn.example.net/media/b.png",
        "https://cdn.example.net/media/c.gif", "https://cdn.example.net/media/d'e.jpg",
        "https://cdn.example.net/root/f.jpeg",
    };
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(urls[i], want[i]);
    orci_html_images_free(urls, n);
}

static void test_html_images_none_in_page_without_images(void **state)
{
    (void)state;
    static const char html[] = "<html><body><p>no pictures <img src=x.bmp> here</p><img";
    char **urls = NULL;
    size_t n = 7;
    assert_int_equal(orci_html_images(html, strlen(html), "http://h/", &urls, &n), 0);
    assert_int_equal(n, 0);
    orci_html_images_free(urls, n);
}

/* ---- the plugin against a local HTTP server ------------------------------------------------ */

typedef struct fixture {
    nng_http_server *server;
    char base[64];
    char user_agent[256];
    orc_plugin_host host;
    orci_plugin_set *plugins;
    orc_plugin_fn crawl;
} fixture;

static fixture *the_fixture;

static const char page_html[] = "<html><body><h1>Photos</h1>"
                                "<img src=\"img/a.jpg\"><img src=\"/b.PNG\">"
                                "<img src=\"http://other.example.org/c.gif\"></body></html>";

static void serve(nng_aio *aio, const char *body, int status)
{
    nng_http_res *res = NULL;
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_http_res_set_status(res, (uint16_t)status);
    nng_http_res_set_header(res, "Content-Type", "text/html");
    nng_http_res_copy_data(res, body, strlen(body));
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

static void page_cb(nng_aio *aio)
{
    nng_http_req *req = nng_aio_get_input(aio, 0);
    const char *ua = nng_http_req_get_header(req, "User-Agent");
    snprintf(the_fixture->user_agent, sizeof the_fixture->user_agent, "%s", ua ? ua : "");
    serve(aio, page_html, 200);
}

static void plain_cb(nng_aio *aio)
{
    serve(aio, "<html><body><p>Nothing to see.</p></body></html>", 200);
}

static void gone_cb(nng_aio *aio)
{
    serve(aio, page_html, 404); /* images in the body, but a 404 counts as none */
}

/* fixed_random makes the "random" choice predictable: always the second image. */
static uint64_t fixed_random(const orc_plugin_host *host)
{
    (void)host;
    return 1;
}

static int add_handler(nng_http_server *s, const char *path, void (*cb)(nng_aio *))
{
    nng_http_handler *h;
    if (nng_http_handler_alloc(&h, path, cb) != 0)
        return -1;
    return nng_http_server_add_handler(s, h) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    nng_url *url = NULL;
    nng_http_handler *redirect;
    nng_sockaddr sa;
    orc_error e = {0};
    if (!f)
        return -1;
    the_fixture = f;
    if (nng_url_parse(&url, "http://127.0.0.1:0") != 0 ||
        nng_http_server_hold(&f->server, url) != 0)
        return -1;
    nng_url_free(url);
    if (add_handler(f->server, "/site/page.html", page_cb) != 0 ||
        add_handler(f->server, "/plain", plain_cb) != 0 ||
        add_handler(f->server, "/gone", gone_cb) != 0 ||
        nng_http_handler_alloc_redirect(&redirect, "/moved", 302, "/site/page.html") != 0 ||
        nng_http_server_add_handler(f->server, redirect) != 0 ||
        nng_http_server_start(f->server) != 0 || nng_http_server_get_addr(f->server, &sa) != 0)
        return -1;
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", ntohs(sa.s_in.sa_port));

    orci_plugin_host_init(&f->host, "/tmp");
    f->host.random = fixed_random;
    if (orci_plugin_set_new(&f->host, &f->plugins, &e) != ORC_OK ||
        orci_plugin_set_load(f->plugins, ORC_PLUGIN_DIR "/libsimple_workflow.so", &e) != ORC_OK)
        return -1;
    f->crawl = orci_plugin_set_find(f->plugins, "simple_workflow.v1.crawl.crawl_page", NULL);
    *state = f;
    return f->crawl ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nng_http_server_stop(f->server);
    nng_http_server_release(f->server);
    orci_plugin_set_destroy(f->plugins);
    free(f);
    return 0;
}

/* crawl calls crawl_page for url (NULL: no url) and returns the parsed output. */
static json_t *crawl(fixture *f, const char *url, int want_status)
{
    char pd[512];
    char *out = NULL, *err = NULL;
    if (url)
        snprintf(pd, sizeof pd, "{\"project_id\":1,\"url\":\"%s\"}", url);
    else
        snprintf(pd, sizeof pd, "{\"project_id\":1}");
    int rc = f->crawl(&f->host, pd, "{}", &out, &err);
    assert_int_equal(rc, want_status);
    json_t *v = NULL;
    if (rc == ORC_PLUGIN_OK) {
        assert_non_null(out);
        v = json_loads(out, 0, NULL);
        assert_non_null(v);
    } else {
        assert_non_null(err);
        v = json_string(err);
    }
    f->host.free(out);
    f->host.free(err);
    return v;
}

static void test_crawl_page_returns_one_image_of_the_page(void **state)
{
    fixture *f = *state;
    char url[128], want[128];
    snprintf(url, sizeof url, "%s/site/page.html", f->base);
    snprintf(want, sizeof want, "%s/b.PNG", f->base);
    json_t *v = crawl(f, url, ORC_PLUGIN_OK);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "success");
    assert_string_equal(json_string_value(json_object_get(v, "image")), want);
    assert_int_equal(json_object_size(v), 2);
    assert_string_equal(f->user_agent,
                        "Mozilla/5.0 (compatible; OrchestraBot/1.0; noreply@example.org)");
    json_decref(v);
}

static void test_crawl_page_follows_a_redirect(void **state)
{
    fixture *f = *state;
    char url[128], want[128];
    snprintf(url, sizeof url, "%s/moved", f->base);
    snprintf(want, sizeof want, "%s/b.PNG", f->base);
    json_t *v = crawl(f, url, ORC_PLUGIN_OK);
    assert_string_equal(json_string_value(json_object_get(v, "image")), want);
    json_decref(v);
}

static void assert_no_images(json_t *v)
{
    assert_string_equal(json_string_value(json_object_get(v, "status")), "error");
    assert_true(json_is_null(json_object_get(v, "image")));
    assert_string_equal(json_string_value(json_object_get(v, "error_message")),
                        "Unable to find images at the provided URL.");
    json_decref(v);
}

static void test_crawl_page_404_means_no_images(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof url, "%s/gone", f->base);
    assert_no_images(crawl(f, url, ORC_PLUGIN_OK));
    snprintf(url, sizeof url, "%s/no-such-page", f->base);
    assert_no_images(crawl(f, url, ORC_PLUGIN_OK));
}

static void test_crawl_page_without_images_is_an_error_result(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof url, "%s/plain", f->base);
    assert_no_images(crawl(f, url, ORC_PLUGIN_OK));
}

static void test_crawl_page_without_url_is_an_error_result(void **state)
{
    fixture *f = *state;
    json_t *v = crawl(f, NULL, ORC_PLUGIN_OK);
    assert_string_equal(json_string_value(json_object_get(v, "status")), "error");
    assert_true(json_is_null(json_object_get(v, "image")));
    assert_string_equal(json_string_value(json_object_get(v, "error_message")),
                        "URL was not provided.");
    json_decref(v);
    v = crawl(f, "", ORC_PLUGIN_OK);
    assert_string_equal(json_string_value(json_object_get(v, "error_message")),
                        "URL was not provided.");
    json_decref(v);
}

static void test_crawl_page_unreachable_server_fails_the_job(void **state)
{
    fixture *f = *state;
    /* Port 1 on loopback: nothing listens there; like upstream, the function fails. */
    json_t *v = crawl(f, "http://127.0.0.1:1/", ORC_PLUGIN_FAIL);
    assert_non_null(strstr(json_string_value(v), "cannot fetch http://127.0.0.1:1/"));
    json_decref(v);
    v = crawl(f, "ftp://example.org/x", ORC_PLUGIN_FAIL);
    assert_non_null(strstr(json_string_value(v), "cannot fetch ftp://example.org/x: "));
    assert_non_null(strstr(json_string_value(v), "ftp"));
    json_decref(v);
}

int main(void)
{
    orci_log_init("test_crawl", ORCI_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_resolve_follows_rfc3986_examples),
        cmocka_unit_test(test_html_images_finds_image_links_in_page_order),
        cmocka_unit_test(test_html_images_reads_the_page_as_a_browser_does),
        cmocka_unit_test(test_html_images_none_in_page_without_images),
        cmocka_unit_test(test_crawl_page_returns_one_image_of_the_page),
        cmocka_unit_test(test_crawl_page_follows_a_redirect),
        cmocka_unit_test(test_crawl_page_404_means_no_images),
        cmocka_unit_test(test_crawl_page_without_images_is_an_error_result),
        cmocka_unit_test(test_crawl_page_without_url_is_an_error_result),
        cmocka_unit_test(test_crawl_page_unreachable_server_fails_the_job),
    };
    return cmocka_run_group_tests_name("crawl", tests, setup, teardown);
}
