/*
 * dispatch.c: from request bytes to reply bytes (see dispatch.h).
 *
 * Long polls. A handler that has nothing to answer yet (LeaseJob with no job) sets
 * call.park in its prepare or apply step. The dispatcher then answers nothing: an apply's
 * changes are rolled back to its savepoint and no reply is stored, so the request can run
 * again from scratch later, with the same request id, as if it had just arrived. The caller
 * (rpc.c) keeps the request bytes and decides when to run it again; its last run has
 * final_poll set, when handlers must answer.
 *
 * The outcome of a request is kept as an orci_stored_reply (status, message, details,
 * body) whether it comes from a handler or from the idempotency table, and the Reply
 * envelope is always built from those fields plus the echoed request id. A repeated
 * mutating request is therefore answered byte for byte like the first one.
 */
#include "dispatch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "replies.h"

#define DISPATCH_KEY_ID_MAX 127
#define DISPATCH_TOKEN_MAX 512
/* Deeper messages than this are refused rather than walked. */
#define DISPATCH_DEPTH_MAX 64

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* dispatch_utf8_prefix returns the length of the longest valid UTF-8 prefix of s[0..len). */
static size_t dispatch_utf8_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c == 0xE0) {
            n = 2;
            lo = 0xA0;
        } else if (c == 0xED) {
            n = 2;
            hi = 0x9F; /* no surrogates */
        } else if (c >= 0xE1 && c <= 0xEF) {
            n = 2;
        } else if (c == 0xF0) {
            n = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            n = 3;
        } else if (c == 0xF4) {
            n = 3;
            hi = 0x8F;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += n + 1;
    }
    return i;
}

static bool dispatch_utf8_valid(const char *s)
{
    size_t len = strlen(s);
    return dispatch_utf8_prefix((const unsigned char *)s, len) == len;
}

/*
 * dispatch_check_strings refuses a message holding a string field (at any depth, repeated
 * or not, map entries included) that is not valid UTF-8: protobuf-c does not check.
 */
static int dispatch_check_strings(const ProtobufCMessage *m, int depth, orc_error *err)
{
    if (depth > DISPATCH_DEPTH_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "message nested too deeply");
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, base + f->quantifier_offset, sizeof which);
            if (which != f->id)
                continue;
        }
        size_t n = 1;
        const void *const *items;
        const void *single;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            memcpy(&n, base + f->quantifier_offset, sizeof n);
            const void *arr;
            memcpy(&arr, base + f->offset, sizeof arr);
            items = arr;
            if (!items)
                continue;
        } else {
            memcpy(&single, base + f->offset, sizeof single);
            items = &single;
        }
        for (size_t k = 0; k < n; k++) {
            if (!items[k])
                continue;
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                if (!dispatch_utf8_valid(items[k]))
                    return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                         "field %s.%s is not valid UTF-8", d->short_name, f->name);
            } else {
                int rc = dispatch_check_strings(items[k], depth + 1, err);
                if (rc != ORC_OK)
                    return rc;
            }
        }
    }
    return ORC_OK;
}

/* ---- outcomes ------------------------------------------------------------------------- */

static void outcome_fini(orci_stored_reply *o)
{
    free(o->details);
    free(o->body);
    memset(o, 0, sizeof *o);
}

/* outcome_error sets o to an error from err (or the code's default message). */
static void outcome_error(orci_stored_reply *o, int code, const orc_error *err)
{
    outcome_fini(o);
    if (code <= ORC_OK || code > ORC_UNAUTHENTICATED)
        code = ORC_UNKNOWN;
    o->status = code;
    const char *msg = err && err->message[0] ? err->message : orc_code_default_message(code);
    snprintf(o->message, sizeof o->message, "%s", msg);
    /* A message cut at the buffer size may end inside a character: cut it before. */
    o->message[dispatch_utf8_prefix((const unsigned char *)o->message, strlen(o->message))] = '\0';
}

/*
 * outcome_from_handler turns a handler's result into o: the packed output message on
 * success, the handler's error otherwise. It always frees out.
 */
static void outcome_from_handler(orci_stored_reply *o, const char *method, int rc,
                                 const orc_error *herr, ProtobufCMessage *out,
                                 const ProtobufCMessageDescriptor *want)
{
    outcome_fini(o);
    if (rc != ORC_OK) {
        outcome_error(o, rc, herr);
    } else if (!out || out->descriptor != want) {
        orc_error e;
        orc_error_set(&e, ORC_INTERNAL, "handler for %s returned no %s", method, want->short_name);
        orci_error("%s", e.message);
        outcome_error(o, ORC_INTERNAL, &e);
    } else {
        size_t n = protobuf_c_message_get_packed_size(out);
        o->body = malloc(n ? n : 1);
        if (!o->body) {
            outcome_error(o, ORC_RESOURCE_EXHAUSTED, NULL);
        } else {
            o->body_len = protobuf_c_message_pack(out, o->body);
            o->status = ORC_OK;
        }
    }
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
}

/* outcome_take moves a stored reply into o. */
static void outcome_take(orci_stored_reply *o, orci_stored_reply *from)
{
    outcome_fini(o);
    *o = *from;
    memset(from, 0, sizeof *from);
}

static bool dispatch_transient(int code)
{
    return code == ORC_INTERNAL || code == ORC_UNAVAILABLE || code == ORC_RESOURCE_EXHAUSTED ||
           code == ORC_DEADLINE_EXCEEDED || code == ORC_ABORTED;
}

/* ---- mutating methods ----------------------------------------------------------------- */

typedef struct dispatch_job {
    const orci_method *m;
    orci_call *call;
    const ProtobufCMessage *in;
    const ProtobufCMessageDescriptor *output;
    void *plan;
    orci_stored_reply out;
    bool parked;  /* apply asked to park: nothing kept, no outcome */
    bool applied; /* apply ran and its changes were kept */
} dispatch_job;

/*
 * dispatch_write_job runs on the writer thread: answer from a stored reply committed by a
 * concurrent duplicate, or apply the change in its own savepoint and store the reply with
 * it. Returns an error only when the database fails, which rolls everything back.
 */
static int dispatch_write_job(orci_db *db, void *arg, orc_error *err)
{
    dispatch_job *j = arg;
    orci_call *c = j->call;
    orci_stored_reply stored;
    memset(&stored, 0, sizeof stored);
    outcome_fini(&j->out);

    int rc;
    if (!j->m->no_stored_reply) {
        rc = orci_reply_get(db, c->who->name, c->request_id, &stored, err);
        if (rc == ORC_OK) {
            outcome_take(&j->out, &stored);
            return ORC_OK;
        }
        orci_stored_reply_fini(&stored);
        if (rc != ORC_NOT_FOUND)
            return rc;
        orc_error_clear(err);
    }

    rc = orci_db_exec(db, "SAVEPOINT inner", err);
    if (rc != ORC_OK)
        return rc;
    ProtobufCMessage *out = NULL;
    orc_error herr;
    orc_error_clear(&herr);
    int st = j->m->apply(c, db, j->in, j->plan, &out, &herr);
    if (c->park && st == ORC_OK) {
        /* No work yet: undo whatever apply did and keep no reply. */
        if (out)
            protobuf_c_message_free_unpacked(out, NULL);
        j->parked = true;
        rc = orci_db_exec(db, "ROLLBACK TO inner", err);
        if (rc == ORC_OK)
            rc = orci_db_exec(db, "RELEASE inner", err);
        return rc;
    }
    c->park = false;
    outcome_from_handler(&j->out, j->m->name, st, &herr, out, j->output);
    if (j->out.status != ORC_OK && !j->m->commit_on_error) {
        rc = orci_db_exec(db, "ROLLBACK TO inner", err);
        if (rc != ORC_OK)
            goto fail;
    }
    if (!j->m->no_stored_reply && !dispatch_transient(j->out.status)) {
        rc = orci_reply_put(db, c->who->name, c->request_id, j->m->name, j->out.status,
                            j->out.status == ORC_OK ? "" : j->out.message,
                            j->out.details ? j->out.details : "", j->out.body, j->out.body_len,
                            c->now_us, err);
        if (rc != ORC_OK) {
            orci_db_exec(db, "ROLLBACK TO inner", NULL);
            goto fail;
        }
    }
    rc = orci_db_exec(db, "RELEASE inner", err);
    if (rc != ORC_OK)
        goto fail;
    j->applied = true;
    return ORC_OK;
fail:
    outcome_fini(&j->out);
    return rc;
}

/*
 * dispatch_mutating runs a mutating method into o, or sets *parked (o untouched) when the
 * handler asked to park. *wrote tells whether a change of the handler's was committed.
 */
static void dispatch_mutating(const orci_method *m, orci_call *c, const ProtobufCMessage *in,
                              const ProtobufCMethodDescriptor *md, orci_stored_reply *o,
                              bool *parked, bool *wrote)
{
    orc_error err;
    orc_error_clear(&err);
    if (c->who->name[0] == '\0' && !m->no_stored_reply) {
        orc_error_set(&err, ORC_UNAUTHENTICATED, "credentials required for %s", m->name);
        outcome_error(o, err.code, &err);
        return;
    }
    if (c->request_id[0] == '\0') {
        orc_error_set(&err, ORC_INVALID_ARGUMENT, "request_id is required for %s", m->name);
        outcome_error(o, err.code, &err);
        return;
    }

    /*
     * A repeated request is answered from its stored reply by the write job, which must look
     * anyway (a copy may commit while this one waits for the writer). Looking here as well
     * only pays when it saves a prepare step: slow work, or a long poll that would park
     * although its answer is stored. Without one, it was a second lookup on every request.
     */
    orci_stored_reply stored;
    memset(&stored, 0, sizeof stored);
    int rc = ORC_NOT_FOUND;
    if (!m->no_stored_reply && m->prepare)
        rc = orci_reply_get(c->rdb, c->who->name, c->request_id, &stored, &err);
    if (rc == ORC_OK) {
        outcome_take(o, &stored);
        return;
    }
    orci_stored_reply_fini(&stored);
    if (rc != ORC_NOT_FOUND) {
        outcome_error(o, rc, &err);
        return;
    }
    orc_error_clear(&err);

    dispatch_job job = {.m = m, .call = c, .in = in, .output = md->output};
    if (m->prepare) {
        rc = m->prepare(c, in, &job.plan, &err);
        if (rc != ORC_OK) {
            c->park = false;
            outcome_error(o, rc, &err);
            goto out;
        }
        if (c->park) {
            /* Nothing to do yet (a long poll): the writer is not bothered. */
            *parked = true;
            goto out;
        }
    }
    rc = orci_store_write(c->srv->store, dispatch_write_job, &job, &err);
    if (rc != ORC_OK) {
        outcome_fini(&job.out);
        orci_error("%s: store write failed: %s", m->name, err.message);
        outcome_error(o, rc, &err);
        goto out;
    }
    if (job.parked) {
        *parked = true;
        goto out;
    }
    *wrote = job.applied;
    outcome_take(o, &job.out);
out:
    if (job.plan && m->plan_free)
        m->plan_free(job.plan);
}

/* ---- the request ---------------------------------------------------------------------- */

/* dispatch_check_envelope validates the envelope's strings. */
static int dispatch_check_envelope(const Orchestra__V1__Request *req, orc_error *err)
{
    int rc = dispatch_check_strings(&req->base, 0, err);
    if (rc != ORC_OK)
        return rc;
    if (strlen(req->request_id) > ORCI_REQUEST_ID_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "request_id is longer than %d bytes",
                             ORCI_REQUEST_ID_MAX);
    if (req->method[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "method is required");
    if (strlen(req->method) > ORCI_METHOD_NAME_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "method is longer than %d bytes",
                             ORCI_METHOD_NAME_MAX);
    if (req->auth && strlen(req->auth->key_id) > DISPATCH_KEY_ID_MAX)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "unknown or revoked API key");
    if (req->auth && strlen(req->auth->token) > DISPATCH_TOKEN_MAX)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "invalid or expired session token");
    return ORC_OK;
}

/* dispatch_pack encodes the Reply envelope of outcome o. */
static int dispatch_pack(const orci_stored_reply *o, const char *request_id, uint8_t **reply,
                         size_t *reply_len)
{
    Orchestra__V1__Reply r;
    orchestra__v1__reply__init(&r);
    r.status = (Orchestra__V1__Code)o->status;
    r.message = (char *)(o->status == ORC_OK ? "" : o->message);
    r.details = o->details ? o->details : "";
    r.body.data = o->body;
    r.body.len = o->body ? o->body_len : 0;
    r.request_id = (char *)request_id;
    size_t n = orchestra__v1__reply__get_packed_size(&r);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ORC_RESOURCE_EXHAUSTED;
    *reply_len = orchestra__v1__reply__pack(&r, buf);
    *reply = buf;
    return ORC_OK;
}

int orci_dispatch(orci_server *srv, orci_db *rdb, const void *msg, size_t len, uint8_t **reply,
                  size_t *reply_len)
{
    return orci_dispatch_poll(srv, rdb, msg, len, true, NULL, reply, reply_len);
}

int orci_dispatch_poll(orci_server *srv, orci_db *rdb, const void *msg, size_t len, bool final_poll,
                       orci_dispatch_info *info, uint8_t **reply, size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    orci_dispatch_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    bool parked = false;
    int64_t now_us = orci_clock_now(srv->clock);
    orc_error err;
    orc_error_clear(&err);
    orci_stored_reply o;
    memset(&o, 0, sizeof o);
    const char *request_id = "";
    const char *method = "";
    ProtobufCMessage *in = NULL;
    orci_principal who;
    memset(&who, 0, sizeof who);
    int rc;

    Orchestra__V1__Request *req =
        orchestra__v1__request__unpack(NULL, len, len ? msg : (const uint8_t *)"");
    if (!req) {
        orc_error_set(&err, ORC_INVALID_ARGUMENT, "malformed request envelope");
        goto refuse;
    }
    rc = dispatch_check_envelope(req, &err);
    if (rc != ORC_OK)
        goto refuse;
    request_id = req->request_id;
    method = req->method;

    const orci_method *m = orci_method_find(method);
    const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(
        &orchestra__v1__orchestra__descriptor, method);
    if (!m || !md) {
        orc_error_set(&err, ORC_UNIMPLEMENTED, "unknown method %s", method);
        goto refuse;
    }
    const uint8_t *body = req->body.data ? req->body.data : (const uint8_t *)"";
    rc = orci_auth_check(srv, rdb, req->auth, method, request_id, body, req->body.len, now_us, &who,
                         &err);
    if (rc != ORC_OK)
        goto refuse;
    rc = orci_scope_check(m, &who, &err);
    if (rc != ORC_OK)
        goto refuse;
    in = protobuf_c_message_unpack(md->input, NULL, req->body.len, body);
    if (!in) {
        orc_error_set(&err, ORC_INVALID_ARGUMENT, "malformed body for %s", method);
        goto refuse;
    }
    rc = dispatch_check_strings(in, 0, &err);
    if (rc != ORC_OK)
        goto refuse;

    orci_call call = {.srv = srv,
                      .rdb = rdb,
                      .who = &who,
                      .method = method,
                      .request_id = request_id,
                      .token = req->auth ? req->auth->token : "",
                      .now_us = now_us,
                      .final_poll = final_poll};
    if (m->mutating) {
        dispatch_mutating(m, &call, in, md, &o, &parked, &info->wrote);
        if (parked) {
            info->parked = true;
            info->park_deadline_ms = (call.park_deadline_us - now_us + 999) / 1000;
            if (info->park_deadline_ms < 0)
                info->park_deadline_ms = 0;
            info->park_wake_ms = -1;
            if (call.park_wake_us > 0)
                info->park_wake_ms =
                    call.park_wake_us <= now_us ? 0 : (call.park_wake_us - now_us + 999) / 1000;
            orci_debug("%s request=%s principal=%s -> parked for up to %lld ms", method, request_id,
                       who.name[0] ? who.name : "-", (long long)info->park_deadline_ms);
            rc = ORC_OK;
            goto done;
        }
    } else {
        ProtobufCMessage *out = NULL;
        orc_error herr;
        orc_error_clear(&herr);
        rc = m->run(&call, in, &out, &herr);
        outcome_from_handler(&o, method, rc, &herr, out, md->output);
    }
    goto reply;

refuse:
    outcome_error(&o, err.code, &err);
reply:
    if (o.status == ORC_INTERNAL)
        orci_error("%s (request %s): %s", method, request_id, o.message);
    else
        orci_debug("%s request=%s principal=%s -> %s%s%s", method[0] ? method : "?", request_id,
                   who.name[0] ? who.name : "-", orc_code_name(o.status), o.status ? ": " : "",
                   o.status ? o.message : "");
    rc = dispatch_pack(&o, request_id, reply, reply_len);
done:
    outcome_fini(&o);
    if (in)
        protobuf_c_message_free_unpacked(in, NULL);
    if (req)
        orchestra__v1__request__free_unpacked(req, NULL);
    return rc;
}
