/*
 * svc_time.c: time tracking methods (TimerStart, TimerStop, TimerStatus, TimerUpdate,
 * TimeEntryCreate, TimeEntryList, TimeEntryEdit, TimeEntryDelete, Timecard), spec section 5.
 *
 * Every handler acts for the worker of the session (c->who->worker_id) at the request's
 * time (c->now_us); the rules live in timetrack.c. Status, list and timecard read on the
 * RPC worker thread; the others write on the writer inside the request's transaction.
 * Replies are malloc'd (the dispatcher frees them with protobuf_c_message_free_unpacked).
 */
#include <stdlib.h>
#include <string.h>

#include "proto/orchestra.pb-c.h"
#include "svc/services.h"
#include "domain/timetrack.h"

/* time_tt gives the caller's orci_tt on db, or PERMISSION_DENIED for a non-worker. */
static int time_tt(const orci_call *c, orci_db *db, orci_tt *t, orc_error *err)
{
    t->db = db;
    t->worker_id = c->who ? c->who->worker_id : 0;
    t->now_us = c->now_us;
    if (t->worker_id <= 0)
        return orc_error_set(err, ORC_PERMISSION_DENIED, "User is not a worker.");
    return ORC_OK;
}

/* given maps "" (proto3's unset string) to NULL. */
static const char *given(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* reply_json wraps json (ownership taken whatever happens) in a TimeReply. */
static int reply_json(int rc, char *json, ProtobufCMessage **out, orc_error *err)
{
    if (rc != ORC_OK) {
        free(json);
        return rc;
    }
    Orchestra__V1__TimeReply *r = malloc(sizeof *r);
    if (!r) {
        free(json);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
    }
    orchestra__v1__time_reply__init(r);
    r->json = json;
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_timer_start_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                               ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__TimerStartRequest *req = (const Orchestra__V1__TimerStartRequest *)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, wdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_timer_start(&t, req->assignment_id, given(req->description), &json, err);
    return reply_json(rc, json, out, err);
}

int orci_svc_timer_stop_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                              ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    (void)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, wdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_timer_stop(&t, &json, err);
    return reply_json(rc, json, out, err);
}

int orci_svc_timer_status(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                          orc_error *err)
{
    (void)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, c->rdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_timer_status(&t, &json, err);
    return reply_json(rc, json, out, err);
}

int orci_svc_timer_update_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                                ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__TimerUpdateRequest *req = (const Orchestra__V1__TimerUpdateRequest *)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, wdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_timer_update(&t, req->assignment_id, req->detach,
                                  req->set_description ? req->description : NULL, &json, err);
    return reply_json(rc, json, out, err);
}

int orci_svc_time_entry_create_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                     void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__TimeEntryCreateRequest *req =
        (const Orchestra__V1__TimeEntryCreateRequest *)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, wdb, &t, err);
    if (rc == ORC_OK) {
        orci_tt_fields f = {.date = given(req->date),
                            .time_worked = given(req->time_worked),
                            .description = given(req->description),
                            .assignment_id = req->assignment_id};
        rc = orci_tt_entry_create(&t, &f, NULL, &json, err);
    }
    return reply_json(rc, json, out, err);
}

int orci_svc_time_entry_list(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                             orc_error *err)
{
    const Orchestra__V1__TimeEntryListRequest *req =
        (const Orchestra__V1__TimeEntryListRequest *)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, c->rdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_entry_list(&t, given(req->min_date), given(req->max_date), req->assignment_id,
                                &json, err);
    return reply_json(rc, json, out, err);
}

int orci_svc_time_entry_edit_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                   void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__TimeEntryEditRequest *req =
        (const Orchestra__V1__TimeEntryEditRequest *)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, wdb, &t, err);
    if (rc == ORC_OK) {
        orci_tt_fields f = {.date = given(req->date),
                            .time_worked = given(req->time_worked),
                            .description = req->set_description ? req->description : NULL,
                            .assignment_id = req->assignment_id,
                            .detach = req->detach};
        rc = orci_tt_entry_edit(&t, req->id, &f, &json, err);
    }
    return reply_json(rc, json, out, err);
}

int orci_svc_time_entry_delete_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                     void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__TimeEntryDeleteRequest *req =
        (const Orchestra__V1__TimeEntryDeleteRequest *)in;
    *out = NULL;
    orci_tt t;
    int rc = time_tt(c, wdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_entry_delete(&t, req->id, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__TimeEntryDeleteReply *r = malloc(sizeof *r);
    if (!r)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
    orchestra__v1__time_entry_delete_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_timecard(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                      orc_error *err)
{
    const Orchestra__V1__TimecardRequest *req = (const Orchestra__V1__TimecardRequest *)in;
    *out = NULL;
    orci_tt t;
    char *json = NULL;
    int rc = time_tt(c, c->rdb, &t, err);
    if (rc == ORC_OK)
        rc = orci_tt_timecard(&t, given(req->from), given(req->to), &json, err);
    return reply_json(rc, json, out, err);
}
