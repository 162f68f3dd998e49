/*
 * html_images.c: the images of a web page (see html_images.h).
 *
 * The page is parsed by a real HTML5 parser (gumbo, the WHATWG tree-building algorithm), so
 * comments, <script>/<style> text, unquoted or oddly quoted attributes, character
 * references and broken markup are read the way a browser reads them. URLs are resolved by
 * libcurl's URL API (RFC 3986), against the page's <base href> when it has one.
 */
#include "html_images.h"

#include <curl/curl.h>
#include <gumbo.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The image file names upstream's crawl_page accepts (case-insensitive). */
static const char *const image_exts[] = {".jpg", ".jpeg", ".gif", ".png"};

char *orci_url_resolve(const char *base, const char *ref)
{
    CURLU *u = curl_url();
    char *out = NULL, *text = NULL;
    if (!u)
        return NULL;
    /* Setting a relative URL on a handle holding an absolute one resolves it (RFC 3986). */
    unsigned flags = CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE;
    if (curl_url_set(u, CURLUPART_URL, base, flags) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, ref, flags) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK)
        out = strdup(text);
    curl_free(text);
    curl_url_cleanup(u);
    return out;
}

/* is_image_name: the path of src (before ?query or #fragment) ends in an image extension. */
static bool is_image_name(const char *src, size_t len)
{
    size_t end = strcspn(src, "?#");
    if (end > len)
        end = len;
    for (size_t i = 0; i < sizeof image_exts / sizeof image_exts[0]; i++) {
        size_t n = strlen(image_exts[i]);
        if (end > n && strncasecmp(src + end - n, image_exts[i], n) == 0)
            return true;
    }
    return false;
}

/* trimmed gives s without the ASCII whitespace a browser strips from URL attributes. */
static const char *trimmed(const char *s, size_t *len)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                     s[n - 1] == '\f'))
        n--;
    *len = n;
    return s;
}

/* The walk's state: the images found, and the base every src resolves against. */
typedef struct walk {
    char **urls;
    size_t n, cap;
    const char *base;
    bool failed; /* out of memory */
} walk;

static void walk_add(walk *w, const char *src, size_t len)
{
    char *ref = strndup(src, len);
    char *url = ref ? orci_url_resolve(w->base, ref) : NULL;
    free(ref);
    if (!url)
        return; /* a reference that does not resolve is no image link */
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 8;
        char **nu = realloc(w->urls, ncap * sizeof *nu);
        if (!nu) {
            free(url);
            w->failed = true;
            return;
        }
        w->urls = nu;
        w->cap = ncap;
    }
    w->urls[w->n++] = url;
}

/* walk_node visits the elements under node in document order. */
static void walk_node(walk *w, const GumboNode *node)
{
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE)
        return;
    const GumboElement *el = &node->v.element;
    if (el->tag == GUMBO_TAG_IMG) {
        const GumboAttribute *src = gumbo_get_attribute(&el->attributes, "src");
        size_t len = 0;
        const char *s = src ? trimmed(src->value, &len) : NULL;
        if (s && len > 0 && is_image_name(s, len))
            walk_add(w, s, len);
    }
    for (unsigned i = 0; i < el->children.length && !w->failed; i++)
        walk_node(w, el->children.data[i]);
}

/* find_base returns the href of the document's first <base href>, or NULL. */
static const char *find_base(const GumboNode *node)
{
    if (node->type != GUMBO_NODE_ELEMENT)
        return NULL;
    const GumboElement *el = &node->v.element;
    if (el->tag == GUMBO_TAG_BASE) {
        const GumboAttribute *href = gumbo_get_attribute(&el->attributes, "href");
        if (href)
            return href->value;
    }
    for (unsigned i = 0; i < el->children.length; i++) {
        const char *b = find_base(el->children.data[i]);
        if (b)
            return b;
    }
    return NULL;
}

int orci_html_images(const char *html, size_t len, const char *base_url, char ***urls, size_t *n)
{
    *urls = NULL;
    *n = 0;
    GumboOutput *doc = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
    if (!doc)
        return -1;
    walk w = {.base = base_url};
    char *page_base = NULL;
    const char *href = find_base(doc->root);
    size_t href_len = 0;
    if (href && (href = trimmed(href, &href_len)) && href_len > 0) {
        char *ref = strndup(href, href_len);
        page_base = ref ? orci_url_resolve(base_url, ref) : NULL;
        free(ref);
        if (page_base)
            w.base = page_base;
    }
    walk_node(&w, doc->root);
    gumbo_destroy_output(&kGumboDefaultOptions, doc);
    free(page_base);
    if (w.failed) {
        orci_html_images_free(w.urls, w.n);
        return -1;
    }
    *urls = w.urls;
    *n = w.n;
    return 0;
}

void orci_html_images_free(char **urls, size_t n)
{
    if (!urls)
        return;
    for (size_t i = 0; i < n; i++)
        free(urls[i]);
    free(urls);
}
