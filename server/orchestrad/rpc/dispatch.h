/*
 * dispatch.h: one RPC request, bytes in, bytes out.
 *
 * orci_dispatch decodes the Request envelope, finds the method (orci_methods and the
 * generated service descriptor), authenticates the caller (auth.h), checks the scope,
 * decodes and validates the body, runs the handler (read-only methods on the calling
 * thread with its reader connection; mutating methods through the store's writer with
 * idempotent stored replies, see server.h) and encodes the Reply envelope.
 *
 * Threads: any RPC worker thread (never an nng callback: it blocks on the database); the
 * done callback of orci_dispatch_start may run on the store's writer thread.
 */
#ifndef ORCI_DISPATCH_H
#define ORCI_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "svc/server.h"

/* Limits on the envelope's strings (bytes). */
#define ORCI_REQUEST_ID_MAX 128
#define ORCI_METHOD_NAME_MAX 128

/*
 * orci_dispatch answers one request: msg/len are the received bytes (borrowed), rdb the
 * calling thread's reader connection. On ORC_OK *reply holds the packed
 * Orchestra__V1__Reply (malloc'd, the caller frees it) and *reply_len its size, whatever
 * the reply's status. Any input, however malformed, gets a reply; only a failure to
 * allocate the reply itself returns an error (ORC_RESOURCE_EXHAUSTED, *reply NULL).
 */
int orci_dispatch(orci_server *srv, orci_db *rdb, const void *msg, size_t len, uint8_t **reply,
                  size_t *reply_len);

/* What orci_dispatch_poll tells its caller besides the reply. */
typedef struct orci_dispatch_info {
    bool wrote;               /* a mutating handler's changes were committed */
    int64_t job_seq;          /* wrote: the job signal (jobs.h) as the change left it */
    bool parked;              /* no reply: the request waits (a long poll, see below) */
    int64_t park_deadline_ms; /* parked: ms from now until the poll must be answered */
    int64_t park_wake_ms;     /* parked: ms from now until work may be due; -1 unknown */
} orci_dispatch_info;

/*
 * orci_dispatch_poll is orci_dispatch for a server that parks long polls. With final_poll
 * false a handler with nothing to answer yet (LeaseJob finding no job) may park the request:
 * then info->parked is set, *reply stays NULL, nothing was changed or stored, and the caller
 * keeps the request bytes and runs them again from scratch later: when work may have
 * arrived, at park_wake_ms, and at the latest at park_deadline_ms with final_poll true, when
 * it gets its reply. info may be NULL; orci_dispatch is final_poll true.
 */
int orci_dispatch_poll(orci_server *srv, orci_db *rdb, const void *msg, size_t len, bool final_poll,
                       orci_dispatch_info *info, uint8_t **reply, size_t *reply_len);

/*
 * orci_dispatch_done_fn receives the outcome of orci_dispatch_start: rc and reply as
 * orci_dispatch_poll returns them (reply malloc'd, now the callee's; NULL when parked or
 * rc is not ORC_OK) and info (borrowed for the call). It must not block: it may run on the
 * store's writer thread.
 */
typedef void (*orci_dispatch_done_fn)(void *arg, int rc, const orci_dispatch_info *info,
                                      uint8_t *reply, size_t reply_len);

/*
 * orci_dispatch_start is orci_dispatch_poll without the wait. Everything before the write
 * (decoding, auth, prepare steps, read-only handlers) runs on the calling thread with rdb;
 * a read-only request, a refusal or a parked poll calls done before returning. A mutating
 * request is handed to the store's writer, which calls done on its own thread right after
 * the commit: the calling thread is free at once, and no thread is woken just to send the
 * reply. msg is borrowed until done is called; rdb only until orci_dispatch_start returns.
 * rerun says that the same request parked before (so no reply of it is stored): the
 * stored-reply lookup before a prepare step is skipped (the write job still looks). lone
 * says that no other request is being served: a write then runs on the calling thread when
 * the writer is idle (orci_store_write_async_lone), done included, instead of waking it.
 */
void orci_dispatch_start(orci_server *srv, orci_db *rdb, const void *msg, size_t len,
                         bool final_poll, bool rerun, bool lone, orci_dispatch_done_fn done,
                         void *done_arg);

/*
 * orci_methods_check verifies that every method of the service descriptor has exactly one
 * table entry and the other way round, and that each entry's handlers fit its kind
 * (read-only: run only; mutating: apply, optional prepare/plan_free, never public).
 * ORC_INTERNAL with the first inconsistency in err. Defined in methods.c.
 */
int orci_methods_check(orc_error *err);

#endif
