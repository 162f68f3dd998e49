/*
 * crawl.c: the simple_workflow plugin, simple_workflow.v1.crawl.crawl_page (spec 6).
 *
 * crawl_page fetches project_data.url with nng's HTTP client (http://, and https://
 * verified against Debian's CA bundle), follows up to 5 redirects as the upstream requests
 * library does, and returns one of the page's images at random. Runs in the executor's job
 * child process, so it may block.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "html_images.h"
#include "orchestra/plugin.h"

#define CRAWL_USER_AGENT "Mozilla/5.0 (compatible; OrchestraBot/1.0; noreply@example.org)"
#define CRAWL_TIMEOUT_MS 30000
#define CRAWL_MAX_REDIRECTS 5
#define CRAWL_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* crawl_set_text copies text into *out with the host's allocator; returns status. */
static int crawl_set_text(const orc_plugin_host *host, char **out, const char *text, int status)
{
    size_t n = strlen(text);
    char *p = host->alloc(n + 1);
    if (!p)
        return ORC_PLUGIN_FAIL;
    memcpy(p, text, n + 1);
    *out = p;
    return status;
}

/* crawl_set_json dumps v into *output (v is released). */
static int crawl_set_json(const orc_plugin_host *host, char **output, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return ORC_PLUGIN_FAIL;
    int rc = crawl_set_text(host, output, text, ORC_PLUGIN_OK);
    free(text);
    return rc;
}

static int crawl_error(const orc_plugin_host *host, char **output, const char *message)
{
    return crawl_set_json(
        host, output,
        json_pack("{s:s,s:n,s:s}", "status", "error", "image", "error_message", message));
}

/* crawl_page_body is one fetched page. */
typedef struct crawl_page_body {
    int status;
    char *body; /* NUL-terminated */
    size_t len;
    char *location; /* the Location header of a redirect, or NULL */
} crawl_page_body;

/* crawl_get performs one GET; returns 0 or an nng error, with why filled. */
static int crawl_get(const char *url_text, crawl_page_body *page, char *why, size_t why_size)
{
    nng_url *url = NULL;
    nng_http_client *cli = NULL;
    nng_http_req *req = NULL;
    nng_http_res *res = NULL;
    nng_aio *aio = NULL;
    nng_tls_config *tls = NULL;
    int rv;
    memset(page, 0, sizeof *page);
    if ((rv = nng_url_parse(&url, url_text)) != 0) {
        snprintf(why, why_size, "invalid URL %s", url_text);
        goto out;
    }
    bool https = strcmp(url->u_scheme, "https") == 0;
    if (!https && strcmp(url->u_scheme, "http") != 0) {
        snprintf(why, why_size, "unsupported URL scheme %s", url->u_scheme);
        rv = NNG_ENOTSUP;
        goto out;
    }
    if ((rv = nng_http_client_alloc(&cli, url)) != 0 || (rv = nng_http_req_alloc(&req, url)) != 0 ||
        (rv = nng_http_res_alloc(&res)) != 0 || (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
        snprintf(why, why_size, "%s", nng_strerror(rv));
        goto out;
    }
    if (https) {
        if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_CLIENT)) != 0 ||
            (rv = nng_tls_config_server_name(tls, url->u_hostname)) != 0 ||
            (rv = nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
            (rv = nng_tls_config_ca_file(tls, CRAWL_CA_FILE)) != 0 ||
            (rv = nng_http_client_set_tls(cli, tls)) != 0) {
            snprintf(why, why_size, "TLS set-up: %s", nng_strerror(rv));
            goto out;
        }
    }
    if ((rv = nng_http_req_set_header(req, "User-Agent", CRAWL_USER_AGENT)) != 0 ||
        (rv = nng_http_req_set_header(req, "Accept", "text/html,*/*")) != 0) {
        snprintf(why, why_size, "%s", nng_strerror(rv));
        goto out;
    }
    nng_aio_set_timeout(aio, CRAWL_TIMEOUT_MS);
    nng_http_client_transact(cli, req, res, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        snprintf(why, why_size, "cannot fetch %s: %s", url_text, nng_strerror(rv));
        goto out;
    }
    page->status = nng_http_res_get_status(res);
    void *data = NULL;
    size_t len = 0;
    nng_http_res_get_data(res, &data, &len);
    const char *loc = nng_http_res_get_header(res, "Location");
    page->body = malloc(len + 1);
    page->location = loc ? strdup(loc) : NULL;
    if (!page->body || (loc && !page->location)) {
        rv = NNG_ENOMEM;
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (len > 0)
        memcpy(page->body, data, len);
    page->body[len] = '\0';
    page->len = len;

out:
    if (rv != 0) {
        free(page->body);
        free(page->location);
        memset(page, 0, sizeof *page);
    }
    /* Not every nng free function accepts NULL. */
    if (aio)
        nng_aio_free(aio);
    if (res)
        nng_http_res_free(res);
    if (req)
        nng_http_req_free(req);
    if (cli)
        nng_http_client_free(cli);
    if (tls)
        nng_tls_config_free(tls);
    if (url)
        nng_url_free(url);
    return rv;
}

static bool crawl_is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int crawl_page(const orc_plugin_host *host, const char *project_data,
                      const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    json_error_t jerr;
    json_t *pd = json_loads(project_data, JSON_REJECT_DUPLICATES, &jerr);
    const char *url = json_string_value(json_object_get(pd, "url"));
    char **images = NULL;
    size_t n_images = 0;
    char *current = NULL;
    crawl_page_body page = {0};
    int rc;
    if (!url || !url[0]) {
        rc = crawl_error(host, output, "URL was not provided.");
        goto out;
    }
    char why[512] = "";
    if (!(current = strdup(url))) {
        rc = ORC_PLUGIN_FAIL;
        goto out;
    }
    for (int hop = 0;; hop++) {
        host->log(host, ORC_PLUGIN_LOG_INFO, "crawl_page: GET %s", current);
        if (crawl_get(current, &page, why, sizeof why) != 0) {
            rc = crawl_set_text(host, error, why, ORC_PLUGIN_FAIL);
            goto out;
        }
        if (!crawl_is_redirect(page.status) || !page.location || hop == CRAWL_MAX_REDIRECTS)
            break;
        char *next = orci_url_resolve(current, page.location);
        free(current);
        free(page.body);
        free(page.location);
        memset(&page, 0, sizeof page);
        if (!(current = next)) {
            rc = ORC_PLUGIN_FAIL;
            goto out;
        }
    }
    if (page.status >= 200 && page.status < 300 &&
        orci_html_images(page.body, page.len, current, &images, &n_images) != 0) {
        rc = ORC_PLUGIN_FAIL;
        goto out;
    }
    if (n_images == 0) {
        rc = crawl_error(host, output, "Unable to find images at the provided URL.");
        goto out;
    }
    const char *chosen = images[host->random(host) % n_images];
    rc = crawl_set_json(host, output, json_pack("{s:s,s:s}", "status", "success", "image", chosen));

out:
    orci_html_images_free(images, n_images);
    free(page.body);
    free(page.location);
    free(current);
    json_decref(pd);
    return rc;
}

static const orc_plugin_function crawl_functions[] = {
    {.name = "simple_workflow.v1.crawl.crawl_page", .fn = crawl_page},
};

static const orc_plugin_descriptor crawl_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "simple_workflow",
    .n_functions = sizeof crawl_functions / sizeof crawl_functions[0],
    .functions = crawl_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &crawl_descriptor;
}
