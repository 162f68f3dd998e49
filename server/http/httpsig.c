/*
 * httpsig.c: Authorization parsing, signing strings, Date and Digest checks (httpsig.h).
 */
#include "httpsig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "clock.h"
#include "crypto.h"

/* sig_name_ok tells whether a headers= name uses only the upstream alphabet [()a-z0-9-]. */
static bool sig_name_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c == '(' || c == ')' || c == '-' || isdigit(c) || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

/* sig_set_headers splits a headers= value on whitespace into p->headers (lower-cased). */
static int sig_set_headers(orci_httpsig_params *p, const char *v, size_t len, orc_error *err)
{
    p->n_headers = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && v[i] != ' ' && v[i] != '\t')
            i++;
        size_t n = i - start;
        if (n == 0)
            break;
        char name[ORCI_HTTPSIG_NAME_MAX];
        if (n >= sizeof name || p->n_headers == ORCI_HTTPSIG_MAX_HEADERS)
            return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature headers");
        for (size_t k = 0; k < n; k++)
            name[k] = (char)tolower((unsigned char)v[start + k]);
        name[n] = '\0';
        if (!sig_name_ok(name, n))
            return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature headers");
        memcpy(p->headers[p->n_headers++], name, n + 1);
    }
    if (p->n_headers == 0)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature headers");
    return ORC_OK;
}

int orci_httpsig_parse(const char *authorization, orci_httpsig_params *out, orc_error *err)
{
    memset(out, 0, sizeof *out);
    const char *s = authorization ? authorization : "";
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncasecmp(s, "Signature", 9) != 0 || (s[9] != ' ' && s[9] != '\t'))
        return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
    s += 9;
    bool have_sig = false, have_headers = false;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (*s == '\0')
            break;
        const char *key = s;
        while (*s && *s != '=' && *s != ',' && *s != ' ')
            s++;
        size_t key_len = (size_t)(s - key);
        if (*s != '=' || s[1] != '"' || key_len == 0)
            return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
        s += 2;
        const char *val = s;
        const char *end = strchr(val, '"');
        if (!end)
            return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
        size_t val_len = (size_t)(end - val);
        s = end + 1;
        if (key_len == 9 && strncasecmp(key, "signature", 9) == 0) {
            if (have_sig || val_len == 0 || val_len >= sizeof out->signature)
                return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
            memcpy(out->signature, val, val_len);
            out->signature[val_len] = '\0';
            have_sig = true;
        } else if (key_len == 7 && strncasecmp(key, "headers", 7) == 0) {
            if (have_headers)
                return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature headers");
            int rc = sig_set_headers(out, val, val_len, err);
            if (rc != ORC_OK)
                return rc;
            have_headers = true;
        }
        if (*s != '\0' && *s != ',' && *s != ' ' && *s != '\t')
            return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
    }
    if (!have_sig)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
    if (!have_headers) {
        snprintf(out->headers[0], sizeof out->headers[0], "date");
        out->n_headers = 1;
    }
    return ORC_OK;
}

/* The signing string is capped at ORCI_HTTPSIG_STRING_MAX bytes with its NUL. */
static int sig_append(orci_buf *b, const char *s, size_t n)
{
    return orci_buf_add(b, s, n) ? 0 : -1;
}

static int sig_append_str(orci_buf *b, const char *s)
{
    return orci_buf_adds(b, s) ? 0 : -1;
}

int orci_httpsig_signing_string(const orci_httpsig_params *p, const char *method,
                                const char *target, orci_httpsig_header_fn get, void *arg,
                                char **out, orc_error *err)
{
    orci_buf b = {.max = ORCI_HTTPSIG_STRING_MAX - 1};
    int rc = ORC_OK;
    *out = NULL;
    for (size_t i = 0; i < p->n_headers; i++) {
        const char *name = p->headers[i];
        if (i > 0 && sig_append(&b, "\n", 1) != 0)
            goto too_long;
        if (strcmp(name, "(request-target)") == 0) {
            if (sig_append_str(&b, "(request-target): ") != 0)
                goto too_long;
            for (const char *m = method ? method : ""; *m; m++) {
                char c = (char)tolower((unsigned char)*m);
                if (sig_append(&b, &c, 1) != 0)
                    goto too_long;
            }
            if (sig_append(&b, " ", 1) != 0 || sig_append_str(&b, target ? target : "") != 0)
                goto too_long;
            continue;
        }
        const char *v = get ? get(arg, name) : NULL;
        if (!v) {
            rc = orc_error_set(err, ORC_UNAUTHENTICATED, "missing signed header %s", name);
            goto fail;
        }
        if (sig_append_str(&b, name) != 0 || sig_append(&b, ": ", 2) != 0 ||
            sig_append_str(&b, v) != 0)
            goto too_long;
    }
    if ((*out = orci_buf_take(&b, NULL)) == NULL)
        goto too_long;
    return ORC_OK;
too_long:
    rc = orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature headers");
fail:
    orci_buf_fini(&b);
    return rc;
}

int orci_httpsig_parse_date(const char *text, int64_t *out)
{
    return orci_parse_http_date(text, out);
}

bool orci_httpsig_digest_ok(const char *digest, const void *body, size_t body_len)
{
    if (!digest)
        return false;
    uint8_t sum[ORCI_SHA256_LEN];
    char ours[4 * ((ORCI_SHA256_LEN + 2) / 3) + 1];
    orci_sha256(body_len ? body : "", body_len, sum);
    size_t n = orci_base64_encode(sum, sizeof sum, ours, sizeof ours);
    const char *s = digest;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len > 8 && strncasecmp(s, "SHA-256=", 8) == 0 && orci_ct_equal(ours, n, s + 8, len - 8))
            return true;
        if (!end)
            break;
        s = end + 1;
    }
    return false;
}
