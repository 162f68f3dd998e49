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
#include <stddef.h>
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

/*
 * orci_keys_confirm tells, inside a write job, whether key_id is still active with that
 * secret: ORC_OK with its current scopes in *scopes; ORC_NOT_FOUND when it is revoked or gone,
 * or its secret is another one now (a signature made with the old one no longer proves
 * anything). It reads the writer's own connection, inside the transaction of the change it
 * guards, so a revocation committed before is always seen.
 */
int orci_keys_confirm(orci_db *db, const char *key_id, const char *secret, unsigned *scopes,
                      orc_error *err);

/*
 * orci_key_cache: API keys read from the database recently, so that a signed write does not
 * start a read transaction for its key on the worker's connection (whose page cache every
 * commit of the writer empties: the key's pages were read again from the WAL each time).
 *
 * An entry read at time t serves lookups until t + ttl_us (by the callers' clock; an earlier
 * time than t counts as stale); after that the key is read again. What a cached entry
 * accepts is provisional: the write job confirms the key (orci_keys_confirm) before it
 * changes anything. It holds at most ORCI_KEY_CACHE_SLOTS keys (one slot per key id hash;
 * a collision replaces the older entry). Secrets are wiped when an entry is dropped.
 *
 * Threads: any (one mutex, held only to copy an entry).
 */
typedef struct orci_key_cache orci_key_cache;

#define ORCI_KEY_CACHE_SLOTS 256
/* How long a cached key serves without a database read: the bound on how long a revoked key
 * may still pass a prepare step (its write is refused at once). */
#define ORCI_KEY_CACHE_TTL_US 1000000

/* orci_key_cache_new makes an empty cache; release with orci_key_cache_destroy. */
int orci_key_cache_new(int64_t ttl_us, orci_key_cache **out, orc_error *err);

/* orci_key_cache_destroy wipes and frees the cache; NULL allowed. */
void orci_key_cache_destroy(orci_key_cache *kc);

/*
 * orci_key_cache_get copies the entry of key_id into *out (secret included) when one was
 * put less than ttl_us before now_us: true. False, *out untouched, when none is or it is
 * stale.
 */
bool orci_key_cache_get(orci_key_cache *kc, const char *key_id, int64_t now_us, orci_key *out);

/* orci_key_cache_put keeps a copy of k, an active key read from the database at now_us. */
void orci_key_cache_put(orci_key_cache *kc, const orci_key *k, int64_t now_us);

/* orci_key_cache_drop forgets key_id (revoked, or its secret or scopes changed). */
void orci_key_cache_drop(orci_key_cache *kc, const char *key_id);

#endif
