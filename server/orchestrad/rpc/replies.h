/*
 * replies.h: stored answers to mutating requests (the idempotency table rpc_replies).
 *
 * The dispatcher looks a (principal, request_id) up before running a mutating method and
 * again inside the write transaction (two copies of one request may race), and stores the
 * reply in the same transaction as the change. Replies are pruned only once a replay of
 * their request would be refused by the timestamp window anyway.
 */
#ifndef ORCI_REPLIES_H
#define ORCI_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

typedef struct orci_stored_reply {
    int status;
    char message[ORC_ERROR_MESSAGE_MAX];
    char *details; /* malloc'd, "" when none */
    uint8_t *body; /* malloc'd, may be NULL when body_len is 0 */
    size_t body_len;
} orci_stored_reply;

/*
 * orci_reply_get looks a stored reply up: ORC_OK with *out filled (release with
 * orci_stored_reply_fini), ORC_NOT_FOUND when none, or an error.
 */
int orci_reply_get(orci_db *db, const char *principal, const char *request_id,
                   orci_stored_reply *out, orc_error *err);

/* orci_reply_put stores a reply (inside the write job of the change it answers). */
int orci_reply_put(orci_db *db, const char *principal, const char *request_id, const char *method,
                   int status, const char *message, const char *details, const void *body,
                   size_t body_len, int64_t now_us, orc_error *err);

/* orci_replies_prune deletes the replies created before cutoff_us, oldest first, up to the
 * first one that is not (a reply stored after a newer one waits for it); *deleted gets the
 * count. */
int orci_replies_prune(orci_db *db, int64_t cutoff_us, int64_t *deleted, orc_error *err);

/* orci_stored_reply_fini frees what orci_reply_get allocated; NULL allowed. */
void orci_stored_reply_fini(orci_stored_reply *r);

#endif
