/*
 * webhook.c: the signed POST of webhook.h.
 */
#include "webhook.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "crypto.h"

/* The answer's body is read and dropped; past this much the connection is not worth keeping. */
#define WEBHOOK_MAX_ANSWER (64 * 1024)

struct orci_webhook_client {
    CURL *curl;
    char *url;
    char *ca_file;
    int timeout_ms;
    const atomic_bool *stop;
    size_t answer_bytes;
};

bool orci_webhook_signature(const char *secret, int64_t t, const char *body, size_t len,
                            char out[ORCI_WEBHOOK_SIGNATURE_MAX])
{
    char stamp[24];
    int n = snprintf(stamp, sizeof stamp, "%" PRId64 ".", t);
    size_t total = (size_t)n + len;
    char *msg = malloc(total ? total : 1);
    if (!msg)
        return false;
    memcpy(msg, stamp, (size_t)n);
    if (len)
        memcpy(msg + n, body, len);
    uint8_t mac[ORCI_SHA256_LEN];
    orci_hmac_sha256(secret, strlen(secret), msg, total, mac);
    free(msg);
    char hex[2 * ORCI_SHA256_LEN + 1];
    orci_hex_encode(mac, sizeof mac, hex);
    snprintf(out, ORCI_WEBHOOK_SIGNATURE_MAX, "t=%" PRId64 ",v1=%s", t, hex);
    return true;
}

static size_t webhook_drop(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    orci_webhook_client *w = arg;
    w->answer_bytes += size * n;
    /* A huge answer ends the transfer (an error here; the status is known already). */
    return w->answer_bytes > WEBHOOK_MAX_ANSWER ? 0 : size * n;
}

/* webhook_progress ends a transfer when the daemon stops (libcurl polls it about once a
 * second, and at each read or write). */
static int webhook_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    const orci_webhook_client *w = arg;
    return w->stop && atomic_load(w->stop) ? 1 : 0;
}

int orci_webhook_client_new(const orci_webhook_opts *o, orci_webhook_client **out, orc_error *err)
{
    *out = NULL;
    orci_webhook_client *w = calloc(1, sizeof *w);
    if (!w)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    w->url = strdup(o->url ? o->url : "");
    w->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    w->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    w->stop = o->stop;
    w->curl = curl_easy_init();
    if (!w->url || (o->ca_file && !w->ca_file) || !w->curl) {
        orci_webhook_client_free(w);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot make an HTTP client");
    }
    *out = w;
    return ORC_OK;
}

void orci_webhook_client_free(orci_webhook_client *w)
{
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    free(w->url);
    free(w->ca_file);
    free(w);
}

/* webhook_setup sets the options of one POST on the client's handle. */
static void webhook_setup(orci_webhook_client *w, struct curl_slist *headers, const char *body,
                          size_t len, char *errbuf)
{
    CURL *c = w->curl;
    curl_easy_reset(c); /* keeps the connection cache, drops the last request's options */
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "orchestra-notify/" ORC_VERSION);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (w->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, w->ca_file);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, webhook_drop);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, webhook_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

orci_sent orci_webhook_post(orci_webhook_client *w, const char *secret, int64_t seq,
                            const char *body, size_t len, int64_t now_s, int *status, char *why,
                            size_t why_size)
{
    *status = 0;
    why[0] = '\0';
    char sig[ORCI_WEBHOOK_SIGNATURE_MAX], h_sig[ORCI_WEBHOOK_SIGNATURE_MAX + 32], h_seq[64];
    if (!orci_webhook_signature(secret, now_s, body, len, sig)) {
        snprintf(why, why_size, "out of memory signing the delivery");
        return ORCI_SENT_RETRY;
    }
    snprintf(h_sig, sizeof h_sig, "Orchestra-Signature: %s", sig);
    snprintf(h_seq, sizeof h_seq, "Orchestra-Event-Seq: %" PRId64, seq);
    struct curl_slist *headers = NULL, *h;
    /* No "Expect: 100-continue": it costs a round trip (or a second) per larger event. */
    const char *lines[] = {"Content-Type: application/json", h_seq, h_sig, "Expect:"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!(h = curl_slist_append(headers, lines[i]))) {
            curl_slist_free_all(headers);
            snprintf(why, why_size, "out of memory building the request");
            return ORCI_SENT_RETRY;
        }
        headers = h;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    w->answer_bytes = 0;
    webhook_setup(w, headers, body, len, errbuf);
    CURLcode rc = curl_easy_perform(w->curl);
    long code = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    *status = (int)code;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return ORCI_SENT_ABORTED;
    if (code >= 200 && code < 300 && (rc == CURLE_OK || rc == CURLE_WRITE_ERROR))
        return ORCI_SENT_OK;
    if (code > 0)
        snprintf(why, why_size, "HTTP %ld", code);
    else
        snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return ORCI_SENT_RETRY;
}
