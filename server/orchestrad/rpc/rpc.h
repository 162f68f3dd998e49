/*
 * rpc.h: orchestrad's RPC server, a REP socket served by a pool of nng contexts.
 *
 * Each context waits for one request; its aio callback (on nng's threads) only moves the
 * request to a work queue. A fixed set of worker threads, each with its own reader
 * connection, starts each request (orci_dispatch_start), so a slow request holds one worker
 * and never an nng thread. A read-only request is answered by its worker; a mutating one is
 * handed to the store's writer, which sends the reply itself right after the commit (the
 * worker is free at once, and no thread is woken only to send). A maintenance thread prunes
 * old stored replies every minute.
 *
 * Threads: orci_rpc_start and orci_rpc_stop from the main thread.
 */
#ifndef ORCI_RPC_H
#define ORCI_RPC_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>

#include "orchestra/error.h"
#include "svc/server.h"

#define ORCI_RPC_DEFAULT_MAX_MESSAGE ((size_t)4 << 20)
#define ORCI_RPC_DEFAULT_CONTEXTS 64
#define ORCI_RPC_DEFAULT_WORKERS 8

typedef struct orci_rpc_opts {
    const char *url;           /* tcp://, ipc:// or tls+tcp:// */
    const char *tls_cert_file; /* PEM certificate (chain), for tls+tcp:// */
    const char *tls_key_file;  /* PEM private key, for tls+tcp:// */
    size_t max_message;        /* NNG_OPT_RECVMAXSZ; 0: 4 MiB */
    int contexts;              /* requests in flight; 0: 64 */
    int workers;               /* worker threads; 0: 8 */
} orci_rpc_opts;

typedef struct orci_rpc orci_rpc;

/*
 * orci_rpc_start listens on opts->url and starts serving requests with srv (borrowed: it
 * must outlive the server, as must its store). A listen failure (address in use, bad URL,
 * unreadable TLS files) is reported in err. Release with orci_rpc_stop.
 */
int orci_rpc_start(orci_server *srv, const orci_rpc_opts *opts, orci_rpc **out, orc_error *err);

/*
 * orci_rpc_stop stops taking requests, lets the queued and running ones finish and their
 * replies go out (waiting at most 10 s for sends to peers that stopped reading), then
 * joins the threads, closes the socket and frees everything. NULL allowed.
 */
void orci_rpc_stop(orci_rpc *r);

/*
 * orci_rpc_stop_within is orci_rpc_stop for a process about to exit: every request is still
 * answered, but the final close of the socket gets at most timeout_ms. nng 1.5.2 can block
 * forever in nng_close while a peer keeps a connection busy (fixed in later nng releases);
 * after the timeout the socket is left to the process exit. Returns whether the close
 * finished.
 */
bool orci_rpc_stop_within(orci_rpc *r, int timeout_ms);

/*
 * orci_listen starts a listener for url on sock; for tls+tcp:// it loads cert_file and
 * key_file (PEM) into a server TLS configuration first. Used for the RPC socket and the
 * event feed. ORC_INVALID_ARGUMENT for a bad URL or TLS files, ORC_UNAVAILABLE when the
 * address cannot be bound.
 */
int orci_listen(nng_socket sock, const char *url, const char *cert_file, const char *key_file,
                orc_error *err);

#endif
