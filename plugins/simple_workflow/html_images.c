/*
 * html_images.c: a tolerant scan of HTML for image links, and RFC 3986 URL resolution.
 *
 * Not a full HTML parser: it finds tags the way a browser's tokenizer would for the cases
 * that matter here (attribute quoting, comments, raw-text elements) and ignores the rest.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "html_images.h"

/* ---- URL resolution -------------------------------------------------------------------- */

typedef struct span {
    const char *s;
    size_t n;
} span;

typedef struct url_parts {
    span scheme, authority, path, query, fragment;
    bool has_scheme, has_authority, has_query, has_fragment;
} url_parts;

static void url_split(const char *u, url_parts *p)
{
    memset(p, 0, sizeof *p);
    const char *c = u;
    if (isalpha((unsigned char)*c)) {
        const char *q = c + 1;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
            q++;
        if (*q == ':') {
            p->scheme = (span){u, (size_t)(q - u)};
            p->has_scheme = true;
            c = q + 1;
        }
    }
    if (c[0] == '/' && c[1] == '/') {
        c += 2;
        size_t n = strcspn(c, "/?#");
        p->authority = (span){c, n};
        p->has_authority = true;
        c += n;
    }
    size_t n = strcspn(c, "?#");
    p->path = (span){c, n};
    c += n;
    if (*c == '?') {
        n = strcspn(c + 1, "#");
        p->query = (span){c + 1, n};
        p->has_query = true;
        c += 1 + n;
    }
    if (*c == '#') {
        p->fragment = (span){c + 1, strlen(c + 1)};
        p->has_fragment = true;
    }
}

/* buf is a growing string. */
typedef struct buf {
    char *s;
    size_t n, cap;
    bool oom;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* remove_dots appends path (n bytes) to out with its dot segments removed (RFC 3986
 * 5.2.4). */
static void remove_dots(buf *out, const char *path, size_t n)
{
    char *in = malloc(n + 1);
    if (!in) {
        out->oom = true;
        return;
    }
    memcpy(in, path, n);
    in[n] = '\0';
    size_t start = out->n, i = 0;
    while (i < n) {
        const char *r = in + i;
        size_t left = n - i;
        if (strncmp(r, "../", 3) == 0) {
            i += 3;
        } else if (strncmp(r, "./", 2) == 0) {
            i += 2;
        } else if (strncmp(r, "/./", 3) == 0) {
            i += 2;
        } else if (left == 2 && strcmp(r, "/.") == 0) {
            i += 1;
            in[i] = '/';
        } else if (strncmp(r, "/../", 4) == 0 || (left == 3 && strcmp(r, "/..") == 0)) {
            i += left == 3 ? 2 : 3;
            in[i] = '/';
            while (out->n > start && out->s[out->n - 1] != '/')
                out->n--;
            if (out->n > start)
                out->n--;
            if (out->s)
                out->s[out->n] = '\0';
        } else if ((left == 1 && r[0] == '.') || (left == 2 && strcmp(r, "..") == 0)) {
            i = n;
        } else {
            size_t seg = 1 + strcspn(r + 1, "/");
            if (r[0] != '/')
                seg = strcspn(r, "/");
            buf_add(out, r, seg);
            i += seg;
        }
    }
    free(in);
}

char *orci_url_resolve(const char *base, const char *ref)
{
    url_parts b, r;
    buf out = {0};
    url_split(base, &b);
    url_split(ref, &r);
    const url_parts *auth_from = &b, *query_from = &r;

    span scheme = r.has_scheme ? r.scheme : b.scheme;
    bool has_scheme = r.has_scheme || b.has_scheme;
    if (has_scheme) {
        buf_add(&out, scheme.s, scheme.n);
        buf_add(&out, ":", 1);
    }
    if (r.has_scheme || r.has_authority)
        auth_from = &r;
    if (auth_from->has_authority) {
        buf_add(&out, "//", 2);
        buf_add(&out, auth_from->authority.s, auth_from->authority.n);
    }
    if (r.has_scheme || r.has_authority) {
        remove_dots(&out, r.path.s, r.path.n);
    } else if (r.path.n == 0) {
        buf_add(&out, b.path.s, b.path.n);
        if (!r.has_query)
            query_from = &b;
    } else if (r.path.s[0] == '/') {
        remove_dots(&out, r.path.s, r.path.n);
    } else {
        buf merged = {0};
        if (b.has_authority && b.path.n == 0) {
            buf_add(&merged, "/", 1);
        } else {
            size_t keep = b.path.n;
            while (keep > 0 && b.path.s[keep - 1] != '/')
                keep--;
            buf_add(&merged, b.path.s, keep);
        }
        buf_add(&merged, r.path.s, r.path.n);
        if (merged.oom)
            out.oom = true;
        else if (merged.s)
            remove_dots(&out, merged.s, merged.n);
        free(merged.s);
    }
    if (query_from->has_query) {
        buf_add(&out, "?", 1);
        buf_add(&out, query_from->query.s, query_from->query.n);
    }
    if (r.has_fragment) {
        buf_add(&out, "#", 1);
        buf_add(&out, r.fragment.s, r.fragment.n);
    }
    buf_add(&out, "", 0);
    if (out.oom) {
        free(out.s);
        return NULL;
    }
    return out.s;
}

/* ---- HTML scan --------------------------------------------------------------------------- */

static bool ci_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)s[i]) != prefix[i])
            return false;
    }
    return true;
}

/* ci_find returns the offset of needle (lowercase) in h[from..len), or len. */
static size_t ci_find(const char *h, size_t len, size_t from, const char *needle)
{
    for (size_t i = from; i < len; i++) {
        if (ci_prefix(h + i, len - i, needle))
            return i;
    }
    return len;
}

static bool name_end(const char *h, size_t len, size_t i)
{
    return i >= len || isspace((unsigned char)h[i]) || h[i] == '/' || h[i] == '>';
}

/* decode_refs appends s (n bytes) to out, decoding &amp; &lt; &gt; &quot; &#39; &#NN;
 * &#xHH; (ASCII only) and trimming surrounding whitespace. */
static void decode_refs(buf *out, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)s[0])) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    static const struct {
        const char *ref;
        char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < n;) {
        bool done = false;
        if (s[i] == '&') {
            for (size_t k = 0; k < sizeof named / sizeof named[0] && !done; k++) {
                size_t rl = strlen(named[k].ref);
                if (n - i >= rl && strncmp(s + i, named[k].ref, rl) == 0) {
                    buf_add(out, &named[k].c, 1);
                    i += rl;
                    done = true;
                }
            }
            if (!done && n - i > 3 && s[i + 1] == '#') {
                bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
                size_t j = i + (hex ? 3 : 2);
                unsigned long v = 0;
                size_t digits = 0;
                while (j < n && digits < 6 &&
                       (hex ? isxdigit((unsigned char)s[j]) : isdigit((unsigned char)s[j]))) {
                    char d = s[j];
                    v = v * (hex ? 16 : 10) +
                        (unsigned long)(isdigit((unsigned char)d)
                                            ? d - '0'
                                            : tolower((unsigned char)d) - 'a' + 10);
                    j++;
                    digits++;
                }
                if (digits > 0 && j < n && s[j] == ';' && v > 0x20 && v < 0x7f) {
                    char c = (char)v;
                    buf_add(out, &c, 1);
                    i = j + 1;
                    done = true;
                }
            }
        }
        if (!done) {
            buf_add(out, s + i, 1);
            i++;
        }
    }
    buf_add(out, "", 0);
}

/* is_image_name says whether src's path (before ? or #) ends in an image extension. */
static bool is_image_name(const char *src)
{
    size_t n = strcspn(src, "?#");
    static const char *const exts[] = {".jpg", ".jpeg", ".gif", ".png"};
    for (size_t k = 0; k < sizeof exts / sizeof exts[0]; k++) {
        size_t el = strlen(exts[k]);
        if (n >= el && ci_prefix(src + n - el, el, exts[k]))
            return true;
    }
    return false;
}

/* img_src finds the src attribute of the tag whose attributes start at i; returns the
 * offset just past the tag and sets *src and *src_n (NULL when there is none). */
static size_t img_src(const char *h, size_t len, size_t i, const char **src, size_t *src_n)
{
    *src = NULL;
    *src_n = 0;
    while (i < len) {
        while (i < len && (isspace((unsigned char)h[i]) || h[i] == '/'))
            i++;
        if (i >= len || h[i] == '>')
            break;
        size_t name = i;
        while (i < len && !isspace((unsigned char)h[i]) && h[i] != '=' && h[i] != '>' &&
               h[i] != '/')
            i++;
        size_t name_n = i - name;
        while (i < len && isspace((unsigned char)h[i]))
            i++;
        const char *val = NULL;
        size_t val_n = 0;
        if (i < len && h[i] == '=') {
            i++;
            while (i < len && isspace((unsigned char)h[i]))
                i++;
            if (i < len && (h[i] == '"' || h[i] == '\'')) {
                char q = h[i++];
                val = h + i;
                while (i < len && h[i] != q)
                    i++;
                val_n = (size_t)(h + i - val);
                if (i < len)
                    i++;
            } else {
                val = h + i;
                while (i < len && !isspace((unsigned char)h[i]) && h[i] != '>')
                    i++;
                val_n = (size_t)(h + i - val);
            }
        }
        if (!*src && val && name_n == 3 && ci_prefix(h + name, 3, "src")) {
            *src = val;
            *src_n = val_n;
        }
    }
    return i < len ? i + 1 : len;
}

static int images_add(char ***urls, size_t *n, size_t *cap, char *url)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **nu = realloc(*urls, nc * sizeof *nu);
        if (!nu)
            return -1;
        *urls = nu;
        *cap = nc;
    }
    (*urls)[(*n)++] = url;
    return 0;
}

int orci_html_images(const char *html, size_t len, const char *base_url, char ***urls, size_t *n)
{
    char **list = NULL;
    size_t count = 0, cap = 0, i = 0;
    *urls = NULL;
    *n = 0;
    while (i < len) {
        if (html[i] != '<') {
            i++;
            continue;
        }
        const char *t = html + i + 1;
        size_t left = len - i - 1;
        if (ci_prefix(t, left, "!--")) {
            size_t e = ci_find(html, len, i + 4, "-->");
            i = e < len ? e + 3 : len;
        } else if ((ci_prefix(t, left, "script") && name_end(html, len, i + 7)) ||
                   (ci_prefix(t, left, "style") && name_end(html, len, i + 6))) {
            const char *close = tolower((unsigned char)t[1]) == 'c' ? "</script" : "</style";
            i = ci_find(html, len, i + 1, close);
        } else if (ci_prefix(t, left, "img") && name_end(html, len, i + 4)) {
            const char *src;
            size_t src_n;
            i = img_src(html, len, i + 4, &src, &src_n);
            if (!src)
                continue;
            buf dec = {0};
            decode_refs(&dec, src, src_n);
            char *abs = NULL;
            if (dec.oom || (dec.s && is_image_name(dec.s) &&
                            (!(abs = orci_url_resolve(base_url, dec.s)) ||
                             images_add(&list, &count, &cap, abs) != 0))) {
                free(abs);
                free(dec.s);
                orci_html_images_free(list, count);
                return -1;
            }
            free(dec.s);
        } else {
            i++;
        }
    }
    *urls = list;
    *n = count;
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
