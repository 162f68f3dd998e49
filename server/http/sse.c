/*
 * sse.c: the worker's event stream (sse.h).
 */
#define _GNU_SOURCE /* POLLRDHUP: the browser closed its side */
#include "sse.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "daemon.h"
#include "json.h"
#include "log.h"
#include "proto/orchestra.pb-c.h"
#include "webrpc.h"
#include "websession.h"

#define SSE_WAIT_MS 1000
#define SSE_BUF 2048
#define SSE_RPC_TIMEOUT_MS 10000

struct orci_sse {
    orci_web_config *cfg;
    orc_client *client;
    orc_subscription *sub;
    char topic[224]; /* worker.<username>. */
    int fd;          /* the connection, polled for a hang-up; -1: unknown */
    char buf[SSE_BUF];
    size_t len, off; /* what is left to send: buf[off..len) */
    bool ended;      /* send what is buffered, then end */
    time_t last_sent;
};

size_t orci_sse_format(const orc_event *ev, char *out, size_t out_size)
{
    json_t *d =
        json_pack("{s:I, s:s, s:I, s:I, s:s, s:s}", "seq", (json_int_t)ev->seq, "type", ev->type,
                  "task_id", (json_int_t)ev->task_id, "project_id", (json_int_t)ev->project_id,
                  "old_status", ev->old_status, "new_status", ev->new_status);
    char *text = d ? orci_json_dump(d) : NULL;
    json_decref(d);
    if (!text)
        return 0;
    int n =
        snprintf(out, out_size, "id: %lld\nevent: change\ndata: %s\n\n", (long long)ev->seq, text);
    free(text);
    return n > 0 && (size_t)n < out_size ? (size_t)n : 0;
}

/* put queues text for sending. */
static void put(orci_sse *s, const char *text)
{
    size_t n = strlen(text);
    if (s->len + n <= sizeof s->buf) {
        memcpy(s->buf + s->len, text, n);
        s->len += n;
    }
}

/* peer_gone tells whether the browser closed the connection. */
static bool peer_gone(const orci_sse *s)
{
    if (s->fd < 0)
        return false;
    struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* fill waits for the next thing to send (an event, a ping, the end) into s->buf. */
static void fill(orci_sse *s)
{
    while (s->len == 0 && !s->ended) {
        if (orci_daemon_stopping() || peer_gone(s)) {
            s->ended = true;
            return;
        }
        orc_event *ev = NULL;
        orc_error err;
        orc_error_clear(&err);
        int rc = orc_subscription_next(s->sub, SSE_WAIT_MS, &ev, &err);
        if (rc == ORC_OK) {
            /* worker.al. also prefixes worker.al.b.'s topic: only our own topic counts. */
            if (strcmp(ev->topic, s->topic) == 0)
                s->len = orci_sse_format(ev, s->buf, sizeof s->buf);
            orc_event_free(ev);
        } else if (rc == ORC_UNAUTHENTICATED || rc == ORC_PERMISSION_DENIED) {
            put(s, "event: expired\ndata: {}\n\n");
            s->ended = true;
        } else if (rc == ORC_OUT_OF_RANGE) {
            /* Events were pruned under us: the page reloads what it shows, then resumes. */
            put(s, "event: reset\ndata: {}\n\n");
            s->ended = true;
        } else if (time(NULL) - s->last_sent >= ORCI_SSE_PING_S) {
            put(s, ": ping\n\n");
        }
    }
}

ssize_t orci_sse_read(orci_sse *s, char *buf, size_t max)
{
    if (s->off == s->len) {
        s->off = s->len = 0;
        fill(s);
        if (s->len == 0)
            return -1;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    s->last_sent = time(NULL);
    return (ssize_t)n;
}

void orci_sse_free(orci_sse *s)
{
    if (!s)
        return;
    orc_subscription_destroy(s->sub);
    orc_client_destroy(s->client);
    atomic_fetch_sub(&s->cfg->streams, 1);
    free(s);
}

/* start_seq is where the stream starts: after Last-Event-ID when it is still kept, else now. */
static int start_seq(orci_sse *s, const char *last_id, int64_t *after, orc_error *err)
{
    orc_event_page *page = NULL;
    long long want = last_id ? strtoll(last_id, NULL, 10) : -1;
    if (want >= 0) {
        int rc = orc_events_list(s->client, want, s->topic, 1, &page, err);
        orc_event_page_free(page);
        page = NULL;
        if (rc == ORC_OK) {
            *after = want;
            return ORC_OK;
        }
        if (rc != ORC_OUT_OF_RANGE)
            return rc;
        put(s, "event: reset\ndata: {}\n\n"); /* too old: reload, then carry on from now */
    }
    int rc = orc_events_list(s->client, INT64_MAX - 1, s->topic, 1, &page, err);
    *after = page ? page->last_seq : 0;
    orc_event_page_free(page);
    return rc;
}

/* sse_open starts a stream for the worker of token (username known). */
static int sse_open(orci_web_config *cfg, const char *token, const char *username,
                    const char *last_id, int fd, orci_sse **out, orc_error *err)
{
    orci_sse *s = calloc(1, sizeof *s);
    if (!s)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    atomic_fetch_add(&cfg->streams, 1);
    s->cfg = cfg;
    s->fd = fd;
    s->last_sent = time(NULL);
    snprintf(s->topic, sizeof s->topic, "worker.%s.", username);
    orc_client_opts co = {.rpc_url = cfg->rpc_url,
                          .token = token,
                          .tls_ca_file = cfg->tls_ca,
                          .timeout_ms = SSE_RPC_TIMEOUT_MS};
    int64_t after = 0;
    int rc = orc_client_new(&co, &s->client, err);
    if (rc == ORC_OK)
        rc = start_seq(s, last_id, &after, err);
    if (rc == ORC_OK) {
        orc_subscribe_opts so = {.events_url = cfg->events_url,
                                 .topic_prefix = s->topic,
                                 .after_seq = after,
                                 .tls_ca_file = cfg->tls_ca};
        rc = orc_subscription_new(&so, s->client, &s->sub, err);
    }
    if (rc != ORC_OK) {
        orci_sse_free(s);
        return rc;
    }
    put(s, "retry: 5000\n: connected\n\n");
    *out = s;
    return ORC_OK;
}

/* username_of asks the coordinator whose session token is. */
static int username_of(orci_web_config *cfg, const char *token, char *out, size_t size,
                       orc_error *err)
{
    Orchestra__V1__WhoAmIRequest in = ORCHESTRA__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = orci_web_call_token(cfg->client, token, "WhoAmI", &in.base,
                                 &orchestra__v1__who_am_ireply__descriptor, &reply, err);
    if (rc == ORC_OK)
        snprintf(out, size, "%s", ((const Orchestra__V1__WhoAmIReply *)reply)->username);
    if (reply)
        protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

void orci_web_events(orci_web_config *cfg, const orci_web_request *req, orci_web_response *res)
{
    char token[ORCI_COOKIE_VALUE_MAX], username[160] = "";
    if (!orci_web_cookie(req, ORCI_SESSION_COOKIE, token, sizeof token)) {
        orci_web_to_login(req, res, false);
        return;
    }
    if (atomic_load(&cfg->streams) >= cfg->max_streams) {
        /* The page falls back to reloading every 30 s while it cannot have a stream. */
        orci_web_error(res, 503, "Too many event streams are open");
        orci_web_header_add(res, "Retry-After", "30");
        return;
    }
    orc_error err;
    orc_error_clear(&err);
    int rc = username_of(cfg, token, username, sizeof username, &err);
    orci_sse *s = NULL;
    if (rc == ORC_OK)
        rc = sse_open(cfg, token, username, req->header(req->header_arg, "last-event-id"),
                      req->connection_fd, &s, &err);
    if (rc == ORC_UNAUTHENTICATED) {
        orci_web_to_login(req, res, true);
    } else if (rc != ORC_OK) {
        orci_warn("event stream for %s: %s", username, err.message);
        orci_web_error(res, 503, "The event feed is unavailable");
    } else {
        res->status = 200;
        res->content_type = "text/event-stream";
        res->stream = s;
        orci_web_header_add(res, "Cache-Control", "no-cache");
        orci_web_header_add(res, "X-Accel-Buffering", "no");
    }
}
