/*
 * crawl.c: the simple_workflow plugin, simple_workflow.v1.crawl.crawl_page (spec 6).
 *
 * crawl_page fetches project_data.url with libcurl (http:// and https://, verified against
 * the system's CA store), follows up to 5 redirects as the upstream requests library does,
 * and returns one of the page's images at random. Runs in an executor's plugin host
 * process, one job at a time, so it may block.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "html_images.h"
#include "orchestra/plugin.h"

#define CRAWL_USER_AGENT "Mozilla/5.0 (compatible; OrchestraBot/1.0; noreply@example.org)"
#define CRAWL_TIMEOUT_MS 30000
#define CRAWL_MAX_REDIRECTS 5

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

/* The most bytes of a page read; a larger page is cut there (its images may be missed). */
#define CRAWL_PAGE_MAX (8u << 20)

/* crawl_page_body is one fetched page, after redirects. */
typedef struct crawl_page_body {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *final_url; /* where the redirects led */
} crawl_page_body;

static size_t crawl_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    crawl_page_body *page = arg;
    size_t n = size * nmemb;
    if (page->len + n > CRAWL_PAGE_MAX)
        n = CRAWL_PAGE_MAX - page->len; /* keep what fits, stop reading */
    char *nb = realloc(page->body, page->len + n + 1);
    if (!nb)
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    memcpy(nb + page->len, data, n);
    page->body = nb;
    page->len += n;
    page->body[page->len] = '\0';
    return n == size * nmemb ? n : 0;
}

/*
 * crawl_get GETs url_text with libcurl: redirects followed (at most CRAWL_MAX_REDIRECTS,
 * as the requests library upstream uses), http and https only, https verified against the
 * system's CA store, CRAWL_TIMEOUT_MS for the whole transfer. Returns 0, or -1 with why.
 */
static int crawl_get(const char *url_text, crawl_page_body *page, char *why, size_t why_size)
{
    memset(page, 0, sizeof *page);
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, why_size, "cannot start an HTTP client");
        return -1;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url_text);
    curl_easy_setopt(h, CURLOPT_USERAGENT, CRAWL_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)CRAWL_MAX_REDIRECTS);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CRAWL_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, crawl_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, page);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_WRITE_ERROR && page->len == CRAWL_PAGE_MAX)
        rc = CURLE_OK; /* the page was cut at the cap: scan what came */
    if (rc == CURLE_OK) {
        char *final = NULL;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &page->status);
        curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &final);
        page->final_url = strdup(final ? final : url_text);
        if (!page->final_url)
            rc = CURLE_OUT_OF_MEMORY;
    }
    if (rc != CURLE_OK)
        snprintf(why, why_size, "cannot fetch %s: %s", url_text,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
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
    crawl_page_body page = {0};
    char why[512] = "";
    int rc;
    if (!url || !url[0]) {
        rc = crawl_error(host, output, "URL was not provided.");
        goto out;
    }
    host->log(host, ORC_PLUGIN_LOG_INFO, "crawl_page: GET %s", url);
    if (crawl_get(url, &page, why, sizeof why) != 0) {
        rc = crawl_set_text(host, error, why, ORC_PLUGIN_FAIL);
        goto out;
    }
    /* A non-2xx page counts as one without images (upstream). */
    if (page.status >= 200 && page.status < 300 && page.body &&
        orci_html_images(page.body, page.len, page.final_url, &images, &n_images) != 0) {
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
    free(page.final_url);
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
