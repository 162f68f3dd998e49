/*
 * smtp.c: the SMTP sender of smtp.h.
 */
#include "smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct orci_smtp {
    CURL *curl;
    char *url, *user, *password, *ca_file;
    orci_smtp_tls tls;
    int timeout_ms;
    const atomic_bool *stop;
    /* the message being uploaded */
    const char *data;
    size_t len, off;
};

int orci_smtp_new(const orci_smtp_opts *o, orci_smtp **out, orc_error *err)
{
    *out = NULL;
    if (!o->url || (strncmp(o->url, "smtp://", 7) != 0 && strncmp(o->url, "smtps://", 8) != 0))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "the SMTP server is smtp://HOST:PORT or smtps://HOST:PORT");
    orci_smtp *s = calloc(1, sizeof *s);
    if (!s)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    s->url = strdup(o->url);
    s->user = o->user ? strdup(o->user) : NULL;
    s->password = o->password ? strdup(o->password) : NULL;
    s->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    s->tls = o->tls;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    s->stop = o->stop;
    s->curl = curl_easy_init();
    if (!s->url || (o->user && !s->user) || (o->password && !s->password) ||
        (o->ca_file && !s->ca_file) || !s->curl) {
        orci_smtp_free(s);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot make an SMTP client");
    }
    *out = s;
    return ORC_OK;
}

void orci_smtp_free(orci_smtp *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->url);
    free(s->user);
    if (s->password)
        memset(s->password, 0, strlen(s->password));
    free(s->password);
    free(s->ca_file);
    free(s);
}

static size_t smtp_read(char *buf, size_t size, size_t n, void *arg)
{
    orci_smtp *s = arg;
    size_t room = size * n, left = s->len - s->off;
    size_t k = left < room ? left : room;
    memcpy(buf, s->data + s->off, k);
    s->off += k;
    return k;
}

static int smtp_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    const orci_smtp *s = arg;
    return s->stop && atomic_load(s->stop) ? 1 : 0;
}

/* smtp_setup sets one transaction's options on the handle. */
static void smtp_setup(orci_smtp *s, const char *from, struct curl_slist *rcpt, char *errbuf)
{
    CURL *c = s->curl;
    curl_easy_reset(c); /* keeps the connection for the next message */
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, smtp_read);
    curl_easy_setopt(c, CURLOPT_READDATA, s);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->len);
    if (s->user)
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
    if (s->password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     s->tls == ORCI_SMTP_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                     : s->tls == ORCI_SMTP_TLS_TRY    ? (long)CURLUSESSL_TRY
                                                      : (long)CURLUSESSL_NONE);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, smtp_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

orci_sent orci_smtp_send(orci_smtp *s, const char *from, const char *to, const char *message,
                         size_t len, char *why, size_t why_size)
{
    why[0] = '\0';
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    if (!rcpt) {
        snprintf(why, why_size, "out of memory");
        return ORCI_SENT_RETRY;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    s->data = message;
    s->len = len;
    s->off = 0;
    smtp_setup(s, from, rcpt, errbuf);
    CURLcode rc = curl_easy_perform(s->curl);
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(rcpt);
    s->data = NULL;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return ORCI_SENT_ABORTED;
    /* libcurl succeeds only once the server accepted the data (250, or another 2xx). */
    if (rc == CURLE_OK)
        return ORCI_SENT_OK;
    /* The last reply's code tells: 5xx is the server's final word (unknown mailbox, policy,
     * AUTH refused); 4xx, no answer at all (refused, lost, timed out) may pass. */
    if (code > 0)
        snprintf(why, why_size, "SMTP %ld: %s", code, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else
        snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return code >= 500 && code < 600 ? ORCI_SENT_FAIL : ORCI_SENT_RETRY;
}
