/*
 * svc_events.c: ListEvents, the history of the event feed (events.h). Project, admin and
 * notify keys read every topic; a worker session reads its own topic "worker.<username>." only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/events.h"
#include "proto/orchestra.pb-c.h"
#include "svc/observe.h"
#include "svc/services.h"

int orci_svc_list_events(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                         orc_error *err)
{
    const Orchestra__V1__ListEventsRequest *req = (const Orchestra__V1__ListEventsRequest *)in;
    *out = NULL;
    if (req->after_seq < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "after_seq must not be negative");
    if (req->limit < 0 || req->limit > ORCI_EVENTS_MAX_LIMIT)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "limit must be 0 to %d",
                             ORCI_EVENTS_MAX_LIMIT);
    const char *prefix = req->topic_prefix != NULL ? req->topic_prefix : "";
    bool exact = false;
    if ((c->who->scopes & (ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN | ORCI_SCOPE_NOTIFY)) == 0) {
        /* A worker: its own topic, matched exactly (a username may contain dots, so a
         * prefix match could reach another worker's topic). */
        char own[ORCI_EVENT_TOPIC_MAX];
        snprintf(own, sizeof own, "worker.%s.", c->who->username);
        if (c->who->username[0] == '\0' || strcmp(prefix, own) != 0)
            return orc_error_set(err, ORC_PERMISSION_DENIED,
                                 "a worker may only read its own topic \"%s\"", own);
        exact = true;
    }
    Orchestra__V1__Event **evs = NULL;
    size_t n = 0;
    /* The events and the bounds come from one read snapshot: a last_seq read later could
     * count events committed after the list was taken, and a subscriber would then treat
     * them as settled and skip them. */
    int rc = orci_db_read_begin(c->rdb, err);
    if (rc != ORC_OK)
        return rc;
    int64_t first = 0, last = 0;
    rc = orci_events_list(c->rdb, req->after_seq, prefix, exact, req->limit, &evs, &n, err);
    if (rc == ORC_OK && (rc = orci_events_bounds(c->rdb, &first, &last, err)) != ORC_OK)
        orci_events_free(evs, n);
    orci_db_read_end(c->rdb);
    if (rc != ORC_OK)
        return rc;
    if (req->after_seq < first - 1) {
        orci_events_free(evs, n);
        return orc_error_set(err, ORC_OUT_OF_RANGE,
                             "events up to seq %lld were pruned; the oldest kept is %lld",
                             (long long)(first - 1), (long long)first);
    }
    if (n > 0 && evs[n - 1]->seq > last)
        last = evs[n - 1]->seq;
    orci_server_metrics_list_lag(c->srv->metrics, last - req->after_seq);
    Orchestra__V1__ListEventsReply *r = malloc(sizeof *r);
    if (r == NULL) {
        orci_events_free(evs, n);
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    }
    orchestra__v1__list_events_reply__init(r);
    r->first_seq = first;
    r->last_seq = last;
    if (n > 0) {
        r->events = evs; /* the array and its events move into the reply */
        r->n_events = n;
    } else {
        free(evs);
    }
    *out = &r->base;
    return ORC_OK;
}
