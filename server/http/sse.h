/*
 * sse.h: the live dashboard's event relay. GET /orchestra/api/interface/events/ answers a
 * Server-Sent Events stream of the signed-in worker's own events (the coordinator's topic
 * worker.<username>.): each is `id: <seq>`, `event: change` and a small JSON with the
 * event's seq, type, task and statuses, and the page reloads what it shows. A comment line
 * every 15 s keeps proxies from closing the stream; `event: expired` says the session ended.
 *
 * The relay reads the feed through an orc_subscription (client.h), which turns the lossy
 * PUB/SUB feed into gap-free, in-order delivery by reading holes back with ListEvents: with
 * the worker's own token, so the coordinator only lets it read that worker's topic. Each
 * stream has its own orc_client (the token) and subscription; streams are capped
 * (orci_web_config.max_streams) because each holds a connection thread. A reconnecting
 * EventSource sends Last-Event-ID and resumes after it.
 *
 * Threads: one stream is read by its connection's thread only.
 */
#ifndef ORCI_SSE_H
#define ORCI_SSE_H

#include <stddef.h>
#include <sys/types.h>

#include "web.h"

/* Seconds between keep-alive comments. */
#define ORCI_SSE_PING_S 15

/*
 * orci_sse_read blocks until the stream has something to send and copies up to max bytes of
 * it into buf: the byte count, or -1 when the stream ends (the session ended, the client
 * went away, the server is stopping). Whatever did not fit is sent by the next call.
 */
ssize_t orci_sse_read(orci_sse *s, char *buf, size_t max);

/* orci_sse_free ends the stream and releases it (and its place under the cap); NULL allowed. */
void orci_sse_free(orci_sse *s);

/*
 * orci_sse_format writes one event of the stream into out ("id: ..\nevent: change\ndata:
 * {..}\n\n"): the byte count, or 0 when it does not fit. Exposed for the unit test.
 */
size_t orci_sse_format(const orc_event *ev, char *out, size_t out_size);

#endif
