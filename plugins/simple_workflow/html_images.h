/*
 * html_images.h: finding the images of a web page, for crawl_page (spec 6).
 *
 * Pure functions with no I/O, so they are tested without a network. Any thread (libcurl's
 * URL API needs no global initialisation).
 */
#ifndef ORCI_HTML_IMAGES_H
#define ORCI_HTML_IMAGES_H

#include <stddef.h>

/*
 * orci_html_images parses len bytes of html as a browser does (HTML5) and collects the src
 * of every <img> whose file name ends in .jpg, .jpeg, .gif or .png (case-insensitive,
 * ignoring a ?query or #fragment), resolved against the page's <base href> if it has one,
 * else against base_url (the page's own URL). On success returns 0 with *urls (release with
 * orci_html_images_free) holding *n absolute URLs in page order; -1 when out of memory.
 */
int orci_html_images(const char *html, size_t len, const char *base_url, char ***urls, size_t *n);

/* orci_html_images_free releases what orci_html_images returned; NULL is allowed. */
void orci_html_images_free(char **urls, size_t n);

/*
 * orci_url_resolve resolves the reference ref against the absolute URL base as RFC 3986
 * section 5.2 does (libcurl's URL API; spaces and other bytes a URL cannot hold are
 * percent-encoded). Returns a new string (free it), or NULL when out of memory or when
 * either does not parse.
 */
char *orci_url_resolve(const char *base, const char *ref);

#endif
