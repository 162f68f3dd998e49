/*
 * websession.c: cookies, CSRF and form helpers of the web app (websession.h).
 */
#include "websession.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"

#define APP_HOME "/orchestra/app/"
#define NEXT_MAX 2000

/* cookie_char tells whether c may appear in a cookie value (RFC 6265 cookie-octet). */
static bool cookie_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool cookie_value_ok(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!cookie_char((unsigned char)v[i]))
            return false;
    return true;
}

bool orci_cookie_get(const char *header, const char *name, char *out, size_t out_size)
{
    if (!header || !name || !out || out_size == 0)
        return false;
    size_t nl = strlen(name);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq + 1;
            size_t vl = len - nl - 1;
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            /* The first cookie of that name wins: the most specific path comes first. */
            if (vl >= out_size || !cookie_value_ok(v, vl))
                return false;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

bool orci_set_cookie(const char *name, const char *value, const orci_set_cookie_opts *o, char *out,
                     size_t out_size)
{
    const char *v = value ? value : "";
    if (!name || !o || !out || (o->max_age_s != 0 && !cookie_value_ok(v, strlen(v))))
        return false;
    char age[48] = "";
    if (o->max_age_s >= 0)
        snprintf(age, sizeof age, "; Max-Age=%lld", (long long)o->max_age_s);
    int n = snprintf(out, out_size, "%s=%s; Path=/%s%s%s; SameSite=Strict", name,
                     o->max_age_s == 0 ? "" : v, age, o->http_only ? "; HttpOnly" : "",
                     o->secure ? "; Secure" : "");
    return n > 0 && (size_t)n < out_size;
}

bool orci_csrf_new(char out[ORCI_CSRF_TOKEN_LEN + 1])
{
    return orci_random_token(32, out, ORCI_CSRF_TOKEN_LEN + 1) == 0 &&
           strlen(out) == ORCI_CSRF_TOKEN_LEN;
}

/* csrf_well_formed: exactly a token of ours (base64url, the right length). */
static bool csrf_well_formed(const char *t)
{
    if (!t || strlen(t) != ORCI_CSRF_TOKEN_LEN)
        return false;
    for (const char *c = t; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return false;
    return true;
}

bool orci_csrf_ok(const char *cookie_value, const char *presented)
{
    if (!csrf_well_formed(cookie_value) || !csrf_well_formed(presented))
        return false;
    return orci_ct_equal(cookie_value, ORCI_CSRF_TOKEN_LEN, presented, ORCI_CSRF_TOKEN_LEN);
}

/* same_origin tells whether url starts with "<scheme>://<host>" followed by '/' or its end. */
static bool same_origin(const char *url, const char *host, bool tls, bool exact)
{
    const char *scheme = tls ? "https://" : "http://";
    size_t sl = strlen(scheme), hl = strlen(host);
    if (strncasecmp(url, scheme, sl) != 0 || strncasecmp(url + sl, host, hl) != 0)
        return false;
    char next = url[sl + hl];
    return exact ? next == '\0' : (next == '\0' || next == '/');
}

bool orci_origin_ok(const char *origin, const char *referer, const char *host, bool tls)
{
    if (!host || !host[0])
        return false;
    if (origin && origin[0])
        return same_origin(origin, host, tls, true);
    if (tls)
        return referer && same_origin(referer, host, tls, false);
    return true;
}

const char *orci_safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strlen(next) > NEXT_MAX)
        return APP_HOME;
    for (const unsigned char *c = (const unsigned char *)next; *c; c++)
        if (*c < 0x20 || *c == 0x7f || *c == '\\')
            return APP_HOME;
    return next;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* form_decode decodes n bytes of a form value into out; false on a bad escape or overflow. */
static bool form_decode(const char *s, size_t n, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= out_size)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

bool orci_form_get(const char *text, size_t len, const char *name, char *out, size_t out_size)
{
    if (!text || !name || !out || out_size == 0)
        return false;
    size_t nl = strlen(name);
    size_t i = 0;
    while (i < len) {
        const char *p = text + i;
        const char *amp = memchr(p, '&', len - i);
        size_t pl = amp ? (size_t)(amp - p) : len - i;
        const char *eq = memchr(p, '=', pl);
        size_t kl = eq ? (size_t)(eq - p) : pl;
        if (kl == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq ? eq + 1 : p + pl;
            return form_decode(v, pl - kl - (eq ? 1 : 0), out, out_size);
        }
        i += pl + 1;
    }
    return false;
}

char *orci_html_escape(const char *text)
{
    const char *t = text ? text : "";
    size_t n = 0;
    for (const char *c = t; *c; c++)
        n += (*c == '&') ? 5 : (*c == '<' || *c == '>') ? 4 : (*c == '"' || *c == '\'') ? 5 : 1;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *c = t; *c; c++) {
        const char *rep = *c == '&'    ? "&amp;"
                          : *c == '<'  ? "&lt;"
                          : *c == '>'  ? "&gt;"
                          : *c == '"'  ? "&#34;"
                          : *c == '\'' ? "&#39;"
                                       : NULL;
        if (rep) {
            size_t rl = strlen(rep);
            memcpy(o, rep, rl);
            o += rl;
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

char *orci_url_escape(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *t = text ? text : "";
    char *out = malloc(strlen(t) * 3 + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *c = (const unsigned char *)t; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~' || *c == '/') {
            *o++ = (char)*c;
        } else {
            *o++ = '%';
            *o++ = hex[*c >> 4];
            *o++ = hex[*c & 15];
        }
    }
    *o = '\0';
    return out;
}
