/*
 * keys.h: API keys (key id + secret + scopes) in the api_keys table.
 *
 * The secret is kept recoverable because both signature schemes compute an HMAC with it;
 * it never leaves orchestrad except once, when `orchestrad keys create` prints it.
 * Functions take the connection they run on: reads on a reader, writes inside a write job.
 */
#ifndef ORCI_KEYS_H
#define ORCI_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

typedef struct orci_key {
    int64_t id;
    char key_id[128];
    char name[128];
    char secret[128];
    unsigned scopes;
    int64_t created_at;
    int64_t revoked_at; /* 0 when active */
} orci_key;

/*
 * orci_keys_create inserts a key. key_id and secret may be NULL for fresh random ones
 * ("ok_" + 24 hex digits; 32 random bytes base64url). A duplicate key_id gives
 * ORC_ALREADY_EXISTS. *out receives the row, secret included.
 */
int orci_keys_create(orci_db *db, const char *name, unsigned scopes, const char *key_id,
                     const char *secret, int64_t now_us, orci_key *out, orc_error *err);

/*
 * orci_keys_ensure creates key_id with that secret and scopes if absent, or updates an
 * existing one to them (and un-revokes it). Used by --dev.
 */
int orci_keys_ensure(orci_db *db, const char *name, unsigned scopes, const char *key_id,
                     const char *secret, int64_t now_us, orc_error *err);

/* orci_keys_lookup finds an active (not revoked) key: ORC_OK, or ORC_NOT_FOUND. */
int orci_keys_lookup(orci_db *db, const char *key_id, orci_key *out, orc_error *err);

/*
 * orci_keys_list calls fn for every key (secrets blanked), oldest first, including
 * revoked ones.
 */
int orci_keys_list(orci_db *db, void (*fn)(const orci_key *k, void *arg), void *arg,
                   orc_error *err);

/* orci_keys_revoke marks a key revoked: ORC_OK, or ORC_NOT_FOUND when unknown/revoked. */
int orci_keys_revoke(orci_db *db, const char *key_id, int64_t now_us, orc_error *err);

#endif
