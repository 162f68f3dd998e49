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
#include "rpc/dispatch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/auth.h"
#include "domain/jobs.h"
#include "log.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"
#include "rpc/replies.h"
#include "svc/observe.h"

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

/* ---- envelopes ------------------------------------------------------------------------ */

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

/* ---- one request in flight ------------------------------------------------------------ */

/*
 * A request being dispatched, from orci_dispatch_start until its reply goes to the caller's
 * done callback. A mutating request is finished by the writer thread right after its commit,
 * so it lives on the heap, and the caller's thread serves other requests meanwhile.
 */
typedef struct dispatch_req {
    orci_server *srv;
    orci_dispatch_done_fn done;
    void *done_arg;
    Orchestra__V1__Request *req; /* the envelope; method, request_id and token point into it */
    ProtobufCMessage *in;        /* the body */
    const orci_method *m;
    const ProtobufCMethodDescriptor *md;
    const char *method;
    const char *request_id;
    orci_principal who;
    orci_auth_proof proof; /* who's key came from the cache: the write job confirms it */
    bool rerun;            /* the request parked before: nothing of it is stored */
    bool lone;             /* no other request is being served (orci_dispatch_start) */
    orci_call call;
    void *plan;
    orci_stored_reply out; /* the outcome, whatever it is */
    bool parked;           /* a long poll parked: no reply */
    bool applied;          /* a handler's changes were committed */
    bool by_writer;        /* finished by the store after the write job (dispatch_written) */
    int64_t job_seq;       /* applied: the job signal after the change */
    int64_t start_ns;      /* monotonic, when the dispatch started: the request's duration */
} dispatch_req;

static int64_t dispatch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * dispatch_log_entry is what a request's log line says: copied out of the request before it
 * is freed, so that the line is written after the reply went (a write's reply is sent by
 * the writer thread: its log line then never holds a reply back).
 */
typedef struct dispatch_log_entry {
    orci_log_level level;
    char request_id[ORCI_REQUEST_ID_MAX + 48];
    char caller[400];
    char method[ORCI_METHOD_NAME_MAX + 1];
    int status;
    char error[ORC_ERROR_MESSAGE_MAX];
    double ms;
    long long parked_ms; /* > 0: the request parked for up to this long (no reply yet) */
} dispatch_log_entry;

/*
 * dispatch_log_take fills e for d's log line: INFO for mutating methods, DEBUG for reads
 * (and unknown methods); the caller is the API key's id or the worker's username, never a
 * credential. A request without a request id gets one made here from its start time and
 * address (unique among the requests in flight), so that its line can still be found.
 */
static void dispatch_log_take(const dispatch_req *d, int64_t end_ns, dispatch_log_entry *e)
{
    e->level = d->m && d->m->mutating ? ORCI_LOG_INFO : ORCI_LOG_DEBUG;
    if (d->request_id[0])
        snprintf(e->request_id, sizeof e->request_id, "%s", d->request_id);
    else
        snprintf(e->request_id, sizeof e->request_id, "srv-%llx.%llx",
                 (unsigned long long)d->start_ns, (unsigned long long)((uintptr_t)d & 0xffffff));
    const orci_principal *w = &d->who;
    if (w->key_id[0] && w->username[0])
        snprintf(e->caller, sizeof e->caller, "key:%s,worker:%s", w->key_id, w->username);
    else if (w->key_id[0])
        snprintf(e->caller, sizeof e->caller, "key:%s", w->key_id);
    else if (w->username[0])
        snprintf(e->caller, sizeof e->caller, "worker:%s", w->username);
    else
        snprintf(e->caller, sizeof e->caller, "-");
    snprintf(e->method, sizeof e->method, "%s", d->method[0] ? d->method : "-");
    e->status = d->out.status;
    snprintf(e->error, sizeof e->error, "%s", d->out.status != ORC_OK ? d->out.message : "");
    e->ms = (double)(end_ns - d->start_ns) / 1e6;
    e->parked_ms = 0;
}

static void dispatch_log_write(const dispatch_log_entry *e)
{
    if (e->parked_ms > 0) {
        orci_log_field f[] = {ORCI_LOG_STR("request_id", e->request_id),
                              ORCI_LOG_STR("caller", e->caller), ORCI_LOG_STR("method", e->method),
                              ORCI_LOG_INT("wait_ms", e->parked_ms)};
        orci_log_fields(ORCI_LOG_DEBUG, f, 4, "rpc parked");
        return;
    }
    orci_log_field f[] = {
        ORCI_LOG_STR("request_id", e->request_id), ORCI_LOG_STR("caller", e->caller),
        ORCI_LOG_STR("method", e->method),         ORCI_LOG_STR("code", orc_code_name(e->status)),
        ORCI_LOG_MS("duration_ms", e->ms),         ORCI_LOG_STR("error", e->error)};
    orci_log_fields(e->level, f, e->status != ORC_OK ? 6 : 5, "rpc");
}

/*
 * dispatch_finish hands the outcome to the caller (the reply packed, or "parked") and frees
 * the request. Runs on the caller's thread, or on the writer's after a write job.
 */
static void dispatch_finish(dispatch_req *d)
{
    orci_dispatch_info info;
    memset(&info, 0, sizeof info);
    info.wrote = d->applied;
    info.job_seq = d->job_seq;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int rc = ORC_OK;
    dispatch_log_entry entry;
    bool logged = false;
    if (d->parked) {
        orci_server_metrics_parked(d->srv->metrics, 1);
        const orci_call *c = &d->call;
        info.parked = true;
        info.park_deadline_ms = (c->park_deadline_us - c->now_us + 999) / 1000;
        if (info.park_deadline_ms < 0)
            info.park_deadline_ms = 0;
        info.park_wake_ms = -1;
        if (c->park_wake_us > 0)
            info.park_wake_ms =
                c->park_wake_us <= c->now_us ? 0 : (c->park_wake_us - c->now_us + 999) / 1000;
        logged = orci_log_enabled(ORCI_LOG_DEBUG);
        if (logged) {
            dispatch_log_take(d, dispatch_now_ns(), &entry);
            entry.parked_ms = info.park_deadline_ms > 0 ? info.park_deadline_ms : 1;
        }
    } else {
        const orci_stored_reply *o = &d->out;
        if (o->status == ORC_INTERNAL)
            orci_error("%s (request %s): %s", d->method, d->request_id, o->message);
        /* A reply made from reads waits until what they saw is on disk; the writer's
         * replies come after their own commit's sync (store.h). */
        if (!d->by_writer)
            orci_store_wait_durable(d->srv->store);
        int64_t end_ns = dispatch_now_ns();
        orci_server_metrics_request(d->srv->metrics, d->m, o->status,
                                    (double)(end_ns - d->start_ns) / 1e9);
        logged = orci_log_enabled(d->m && d->m->mutating ? ORCI_LOG_INFO : ORCI_LOG_DEBUG);
        if (logged)
            dispatch_log_take(d, end_ns, &entry);
        rc = dispatch_pack(o, d->request_id, &reply, &reply_len);
    }
    orci_dispatch_done_fn done = d->done;
    void *done_arg = d->done_arg;
    if (d->plan && d->m && d->m->plan_free)
        d->m->plan_free(d->plan);
    outcome_fini(&d->out);
    if (d->in)
        protobuf_c_message_free_unpacked(d->in, NULL);
    if (d->req)
        orchestra__v1__request__free_unpacked(d->req, NULL);
    orci_auth_proof_wipe(&d->proof);
    free(d);
    done(done_arg, rc, &info, reply, reply_len);
    if (logged)
        dispatch_log_write(&entry);
}

/* dispatch_refuse finishes d with an error outcome. */
static void dispatch_refuse(dispatch_req *d, int code, const orc_error *err)
{
    d->parked = false;
    outcome_error(&d->out, code, err);
    dispatch_finish(d);
}

/* ---- mutating methods ----------------------------------------------------------------- */

/*
 * dispatch_write_job runs on the writer thread: answer from a stored reply committed by a
 * concurrent duplicate, or apply the change in its own savepoint and store the reply with
 * it. Returns an error only when the database fails, which rolls everything back.
 */
static int dispatch_write_job(orci_db *db, void *arg, orc_error *err)
{
    dispatch_req *d = arg;
    orci_call *c = &d->call;
    const orci_method *m = d->m;
    orci_stored_reply stored;
    memset(&stored, 0, sizeof stored);
    outcome_fini(&d->out);

    /* A key verified with its cached copy is confirmed here, in the transaction of the
     * change, before anything else: a revoked key changes nothing, not even from a resend. */
    orc_error aerr;
    orc_error_clear(&aerr);
    int rc = orci_auth_confirm(d->srv, db, m, &d->who, &d->proof, &aerr);
    if (rc == ORC_UNAUTHENTICATED || rc == ORC_PERMISSION_DENIED) {
        outcome_error(&d->out, rc, &aerr);
        return ORC_OK;
    }
    if (rc != ORC_OK) {
        *err = aerr;
        return rc;
    }
    if (!m->no_stored_reply) {
        rc = orci_reply_get(db, c->who->name, c->request_id, &stored, err);
        if (rc == ORC_OK) {
            outcome_take(&d->out, &stored);
            return ORC_OK;
        }
        orci_stored_reply_fini(&stored);
        if (rc != ORC_NOT_FOUND)
            return rc;
        orc_error_clear(err);
    }

    /* The change runs in a savepoint of its own, which an error undoes while its reply is
     * kept; as the only job of its transaction (orci_db_bare) it runs without one, and asks
     * for a second run in one if it has to undo anything but everything. */
    bool bare = orci_db_bare(db), park = c->park;
    if (!bare && (rc = orci_db_exec(db, "SAVEPOINT orci_inner", err)) != ORC_OK)
        return rc;
    ProtobufCMessage *out = NULL;
    orc_error herr;
    orc_error_clear(&herr);
    int st = m->apply(c, db, d->in, d->plan, &out, &herr);
    if (c->park && st == ORC_OK) {
        /* No work yet: undo whatever apply did and keep no reply. */
        if (out)
            protobuf_c_message_free_unpacked(out, NULL);
        d->parked = true;
        if (bare) {
            orci_db_discard(db);
            return ORC_OK;
        }
        rc = orci_db_exec(db, "ROLLBACK TO orci_inner", err);
        if (rc == ORC_OK)
            rc = orci_db_exec(db, "RELEASE orci_inner", err);
        return rc;
    }
    c->park = false;
    outcome_from_handler(&d->out, m->name, st, &herr, out, d->md->output);
    if (d->out.status != ORC_OK && !m->commit_on_error) {
        if (bare) {
            outcome_fini(&d->out);
            c->park = park;
            return orci_db_again(db, err);
        }
        rc = orci_db_exec(db, "ROLLBACK TO orci_inner", err);
        if (rc != ORC_OK)
            goto fail;
    }
    if (!m->no_stored_reply && !dispatch_transient(d->out.status)) {
        rc = orci_reply_put(db, c->who->name, c->request_id, m->name, d->out.status,
                            d->out.status == ORC_OK ? "" : d->out.message,
                            d->out.details ? d->out.details : "", d->out.body, d->out.body_len,
                            c->now_us, err);
        if (rc != ORC_OK) {
            if (!bare)
                orci_db_exec(db, "ROLLBACK TO orci_inner", NULL);
            goto fail;
        }
    }
    if (!bare && (rc = orci_db_exec(db, "RELEASE orci_inner", err)) != ORC_OK)
        goto fail;
    /* The job signal as this change left it, for the RPC server's parked polls. */
    rc = orci_jobs_signal_seq(db, &d->job_seq, err);
    if (rc != ORC_OK)
        goto fail;
    d->applied = true;
    return ORC_OK;
fail:
    outcome_fini(&d->out);
    return rc;
}

/* dispatch_written is the write job's outcome, on the writer thread after the commit. */
static void dispatch_written(void *arg, int status, const orc_error *err)
{
    dispatch_req *d = arg;
    d->by_writer = true;
    if (status != ORC_OK) {
        outcome_fini(&d->out);
        d->applied = false;
        orci_error("%s: store write failed: %s", d->m->name, err ? err->message : "");
        dispatch_refuse(d, status, err);
        return;
    }
    dispatch_finish(d);
}

/*
 * dispatch_mutating runs a mutating method: the checks, the stored reply or the prepare
 * step on the calling thread, then the write job, which finishes the request on the writer
 * thread. A prepare step that asks to park finishes it at once.
 */
static void dispatch_mutating(dispatch_req *d)
{
    const orci_method *m = d->m;
    orci_call *c = &d->call;
    orc_error err;
    orc_error_clear(&err);
    if (c->who->name[0] == '\0' && !m->no_stored_reply) {
        orc_error_set(&err, ORC_UNAUTHENTICATED, "credentials required for %s", m->name);
        dispatch_refuse(d, err.code, &err);
        return;
    }
    if (c->request_id[0] == '\0') {
        orc_error_set(&err, ORC_INVALID_ARGUMENT, "request_id is required for %s", m->name);
        dispatch_refuse(d, err.code, &err);
        return;
    }

    /*
     * A repeated request is answered from its stored reply by the write job, which must look
     * anyway (a copy may commit while this one waits for the writer). Looking here as well
     * only pays when it saves a prepare step: slow work, or a long poll that would park
     * although its answer is stored. Without one, it was a second lookup on every request.
     * A parked poll run again looked at its first run, and parking stored nothing.
     */
    if (!m->no_stored_reply && m->prepare && !d->rerun) {
        orci_stored_reply stored;
        memset(&stored, 0, sizeof stored);
        int rc = orci_reply_get(c->rdb, c->who->name, c->request_id, &stored, &err);
        if (rc == ORC_OK) {
            outcome_take(&d->out, &stored);
            dispatch_finish(d);
            return;
        }
        orci_stored_reply_fini(&stored);
        if (rc != ORC_NOT_FOUND) {
            dispatch_refuse(d, rc, &err);
            return;
        }
        orc_error_clear(&err);
    }
    if (m->prepare) {
        int rc = m->prepare(c, d->in, &d->plan, &err);
        if (rc != ORC_OK) {
            c->park = false;
            dispatch_refuse(d, rc, &err);
            return;
        }
        if (c->park) {
            /* Nothing to do yet (a long poll): the writer is not bothered. */
            d->parked = true;
            dispatch_finish(d);
            return;
        }
    }
    /* From here on the request belongs to the writer; the caller's reader is not its own. */
    c->rdb = NULL;
    int rc = (d->lone ? orci_store_write_async_lone : orci_store_write_async)(
        c->srv->store, dispatch_write_job, d, dispatch_written, d, &err);
    if (rc != ORC_OK) {
        orci_error("%s: store write failed: %s", m->name, err.message);
        dispatch_refuse(d, rc, &err);
    }
}

/* ---- the request ---------------------------------------------------------------------- */

/*
 * dispatch_auth establishes who calls and checks the method's scope. Writes may verify an
 * API key with its cached copy (auth.h): their write job confirms it, so reads and the
 * rest read the key on rdb. A refusal by cached scopes is decided again on the database's.
 */
static int dispatch_auth(dispatch_req *d, orci_db *rdb, int64_t now_us, orc_error *err)
{
    const Orchestra__V1__Request *r = d->req;
    const uint8_t *body = r->body.data ? r->body.data : (const uint8_t *)"";
    bool cache = d->m->mutating;
    for (;;) {
        int rc = orci_auth_check_cached(d->srv, rdb, r->auth, d->method, d->request_id, body,
                                        r->body.len, now_us, cache, &d->who, &d->proof, err);
        if (rc != ORC_OK)
            return rc;
        rc = orci_scope_check(d->m, &d->who, err);
        if (rc == ORC_OK || !d->proof.cached)
            return rc;
        orc_error_clear(err);
        cache = false;
    }
}

void orci_dispatch_start(orci_server *srv, orci_db *rdb, const void *msg, size_t len,
                         bool final_poll, bool rerun, bool lone, orci_dispatch_done_fn done,
                         void *done_arg)
{
    dispatch_req *d = calloc(1, sizeof *d);
    if (!d) {
        orci_dispatch_info info;
        memset(&info, 0, sizeof info);
        done(done_arg, ORC_RESOURCE_EXHAUSTED, &info, NULL, 0);
        return;
    }
    d->srv = srv;
    d->done = done;
    d->done_arg = done_arg;
    d->rerun = rerun;
    d->lone = lone;
    d->method = "";
    d->request_id = "";
    d->start_ns = dispatch_now_ns();
    if (rerun) /* a parked poll runs again: it is no longer parked */
        orci_server_metrics_parked(srv->metrics, -1);
    int64_t now_us = orci_clock_now(srv->clock);
    orc_error err;
    orc_error_clear(&err);
    int rc;

    d->req = orchestra__v1__request__unpack(NULL, len, len ? msg : (const uint8_t *)"");
    if (!d->req) {
        orc_error_set(&err, ORC_INVALID_ARGUMENT, "malformed request envelope");
        goto refuse;
    }
    rc = dispatch_check_envelope(d->req, &err);
    if (rc != ORC_OK)
        goto refuse;
    d->request_id = d->req->request_id;
    d->method = d->req->method;

    d->m = orci_method_find(d->method);
    d->md = protobuf_c_service_descriptor_get_method_by_name(&orchestra__v1__orchestra__descriptor,
                                                             d->method);
    if (!d->m || !d->md) {
        orc_error_set(&err, ORC_UNIMPLEMENTED, "unknown method %s", d->method);
        goto refuse;
    }
    rc = dispatch_auth(d, rdb, now_us, &err);
    if (rc != ORC_OK)
        goto refuse;
    const uint8_t *body = d->req->body.data ? d->req->body.data : (const uint8_t *)"";
    d->in = protobuf_c_message_unpack(d->md->input, NULL, d->req->body.len, body);
    if (!d->in) {
        orc_error_set(&err, ORC_INVALID_ARGUMENT, "malformed body for %s", d->method);
        goto refuse;
    }
    rc = dispatch_check_strings(d->in, 0, &err);
    if (rc != ORC_OK)
        goto refuse;

    d->call = (orci_call){.srv = srv,
                          .rdb = rdb,
                          .who = &d->who,
                          .method = d->method,
                          .request_id = d->request_id,
                          .token = d->req->auth ? d->req->auth->token : "",
                          .now_us = now_us,
                          .final_poll = final_poll,
                          .rerun = rerun};
    if (d->m->mutating) {
        dispatch_mutating(d);
        return;
    }
    ProtobufCMessage *out = NULL;
    orc_error herr;
    orc_error_clear(&herr);
    rc = d->m->run(&d->call, d->in, &out, &herr);
    outcome_from_handler(&d->out, d->method, rc, &herr, out, d->md->output);
    dispatch_finish(d);
    return;
refuse:
    dispatch_refuse(d, err.code, &err);
}

/* dispatch_wait collects the outcome of orci_dispatch_start for orci_dispatch_poll. */
typedef struct dispatch_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int rc;
    orci_dispatch_info info;
    uint8_t *reply;
    size_t reply_len;
} dispatch_wait;

static void dispatch_wait_done(void *arg, int rc, const orci_dispatch_info *info, uint8_t *reply,
                               size_t reply_len)
{
    dispatch_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->info = *info;
    w->reply = reply;
    w->reply_len = reply_len;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int orci_dispatch(orci_server *srv, orci_db *rdb, const void *msg, size_t len, uint8_t **reply,
                  size_t *reply_len)
{
    return orci_dispatch_poll(srv, rdb, msg, len, true, NULL, reply, reply_len);
}

int orci_dispatch_poll(orci_server *srv, orci_db *rdb, const void *msg, size_t len, bool final_poll,
                       orci_dispatch_info *info, uint8_t **reply, size_t *reply_len)
{
    dispatch_wait w = {.done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    orci_dispatch_start(srv, rdb, msg, len, final_poll, false, false, dispatch_wait_done, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    if (info)
        *info = w.info;
    *reply = w.reply;
    *reply_len = w.reply_len;
    return w.rc;
}
