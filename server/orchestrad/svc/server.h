/*
 * server.h: the coordinator's context and the method table.
 *
 * orci_server holds what every handler needs (store, clock, settings); it is passed
 * explicitly, never global. Each RPC method is one orci_method entry (methods.c) naming
 * the scope it needs and its handlers:
 *
 *  - read-only methods: `run` executes on an RPC worker thread with that thread's reader
 *    connection and produces the reply;
 *  - mutating methods: `prepare` (optional) runs on the worker thread first and may do
 *    slow or blocking work (parsing, password hashing) producing a plan; `apply` then runs
 *    on the writer thread inside the transaction. The dispatcher stores the reply in the
 *    same transaction, keyed by (principal, request_id), so a repeated request gets the
 *    stored reply and changes nothing.
 *
 * Handlers allocate their reply message with malloc (protobuf-c's default allocator); the
 * dispatcher packs it and frees it with protobuf_c_message_free_unpacked(out, NULL).
 */
#ifndef ORCI_SERVER_H
#define ORCI_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "store/model.h"
#include "orchestra/error.h"
#include "store/store.h"

/* ORC_VERSION comes from the project version in CMakeLists.txt. */
#define ORCI_VERSION ORC_VERSION

/* Scopes of API keys (a bit set). A method's `scopes` lists the ones that grant it. */
enum {
    ORCI_SCOPE_PROJECT = 1u << 0,
    ORCI_SCOPE_ADMIN = 1u << 1,
    ORCI_SCOPE_EXECUTOR = 1u << 2,
    /* orchestra-notify: the event history, workers' addresses and preferences, webhooks. */
    ORCI_SCOPE_NOTIFY = 1u << 3,
    /* Not a key scope: granted to a caller holding a valid worker session token. Never
     * stored (keys hold key scopes only), so its bit may follow the key scopes'. */
    ORCI_SCOPE_WORKER = 1u << 4,
    ORCI_SCOPE_ALL_KEYS =
        ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN | ORCI_SCOPE_EXECUTOR | ORCI_SCOPE_NOTIFY,
};

/* orci_scopes_parse parses "project,admin,executor,notify" into bits; -1 on an unknown name. */
int orci_scopes_parse(const char *text);

/*
 * orci_key_scope names the i-th scope an API key may hold, in bit order, and sets *bit to its
 * bit; NULL past the last. The one list of scope names (parsing, formatting and listings).
 */
const char *orci_key_scope(size_t i, unsigned *bit);

/* orci_scopes_format writes the comma-separated names of bits into out. */
void orci_scopes_format(unsigned bits, char *out, size_t out_size);

typedef struct orci_settings {
    int auth_window_s; /* timestamp window, default 300 */
    bool dev;          /* --dev: seed the example key */
    unsigned pbkdf2_iterations;
    int64_t session_ttl_s; /* worker session lifetime, default 12 h */
    int events_keep_days;  /* event retention in days; 0 keeps every event */
} orci_settings;

typedef struct orci_server {
    orci_store *store;
    const orci_clock *clock;
    const orci_rng *rng; /* sampled review; NULL means orci_rng_system */
    orci_settings settings;
    int64_t started_at_us;
    /* API keys verified recently (rpc/keys.h), owned by the RPC server while it runs; NULL:
     * every signed request reads its key from the database. */
    struct orci_key_cache *key_cache;
    /* Request metrics (svc/observe.h), owned by main; NULL: metrics are off. */
    struct orci_server_metrics *metrics;
} orci_server;

/* orci_principal is who made a request, as established by auth.c. */
typedef struct orci_principal {
    unsigned scopes;   /* 0 for an unauthenticated caller */
    char key_id[128];  /* the API key, or "" */
    int64_t user_id;   /* the worker's user id when a session token was given, else 0 */
    int64_t worker_id; /* the worker row of that user, or 0 */
    char username[201];
    /* Idempotency scope: "key:<key_id>" or "user:<id>" or "" (anonymous). */
    char name[160];
} orci_principal;

/* orci_call is one request being served (what handlers may look at). */
typedef struct orci_call {
    orci_server *srv;
    orci_db *rdb; /* the worker thread's reader connection */
    const orci_principal *who;
    const char *method;
    const char *request_id;
    const char *token; /* the worker session token presented, or "" */
    int64_t now_us;    /* server time when the request arrived */
    /*
     * Long polls (LeaseJob; see dispatch.h). final_poll (in): the poll's deadline has passed
     * or the server is stopping, so answer now. park (out): set by a prepare or apply
     * handler that found no work yet and wants the request parked instead of answered, at
     * most until park_deadline_us (the poll's end) and, when park_wake_us > 0, re-run at
     * park_wake_us (when work may become due). A parked request's changes are rolled back
     * and no reply is stored.
     */
    bool final_poll;
    bool rerun; /* in: a parked poll run again (its caller may have gone while it waited) */
    bool park;
    int64_t park_deadline_us;
    int64_t park_wake_us;
} orci_call;

typedef struct orci_method {
    const char *name; /* as in the service (e.g. "LoadWorkflow") */
    unsigned scopes;  /* any of these grants the call; 0 means public */
    bool mutating;
    /*
     * Mutating methods only. no_stored_reply: the reply is never kept for replay (it holds a
     * secret, e.g. a session token); each call has its own effect. Required for public
     * mutating methods, whose callers have no principal to scope request ids by.
     * commit_on_error: apply's changes commit even when it answers an error (a failed login
     * is recorded for the rate limit).
     */
    bool no_stored_reply;
    bool commit_on_error;
    int (*run)(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out, orc_error *err);
    int (*prepare)(orci_call *c, const ProtobufCMessage *in, void **plan, orc_error *err);
    int (*apply)(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                 ProtobufCMessage **out, orc_error *err);
    void (*plan_free)(void *plan);
} orci_method;

/* orci_methods is the table of every method; orci_methods_count its length. */
extern const orci_method orci_methods[];
extern const size_t orci_methods_count;

/* orci_method_find looks a method up by name; NULL when unknown. */
const orci_method *orci_method_find(const char *name);

#endif
