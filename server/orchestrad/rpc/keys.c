/* keys.c: the api_keys table, and the cache of keys read recently. */
#include "rpc/keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "store/db.h"

#define KEY_ID_RANDOM_BYTES 12 /* "ok_" + 24 hex digits */
#define SECRET_RANDOM_BYTES 32

#define KEY_COLUMNS "id, key_id, name, secret, scopes, created_at, revoked_at"

/* copy_text copies src into a fixed field; false when it does not fit. */
static bool copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* check_field refuses a missing, empty or over-long text field. */
static int check_field(const char *what, const char *s, size_t size, orc_error *err)
{
    if (s == NULL || s[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "API key %s is empty", what);
    if (strlen(s) >= size)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "API key %s is longer than %zu bytes", what,
                             size - 1);
    return ORC_OK;
}

/* read_key fills k from a row of KEY_COLUMNS (secret blanked unless with_secret). */
static int read_key(orci_stmt *st, bool with_secret, orci_key *k, orc_error *err)
{
    memset(k, 0, sizeof *k);
    k->id = orci_col_int(st, 0);
    k->scopes = (unsigned)orci_col_int(st, 4);
    k->created_at = orci_col_int(st, 5);
    k->revoked_at = orci_col_int(st, 6);
    if (!copy_text(k->key_id, sizeof k->key_id, orci_col_text(st, 1)) ||
        !copy_text(k->name, sizeof k->name, orci_col_text(st, 2)) ||
        (with_secret && !copy_text(k->secret, sizeof k->secret, orci_col_text(st, 3))))
        return orc_error_set(err, ORC_INTERNAL, "API key row %lld has an over-long field",
                             (long long)k->id);
    return ORC_OK;
}

int orci_keys_create(orci_db *db, const char *name, unsigned scopes, const char *key_id,
                     const char *secret, int64_t now_us, orci_key *out, orc_error *err)
{
    char id_buf[4 + 2 * KEY_ID_RANDOM_BYTES];
    char secret_buf[4 * SECRET_RANDOM_BYTES / 3 + 4];
    int code;
    if (name == NULL)
        name = "";
    if (strlen(name) >= sizeof out->name)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "API key name is longer than %zu bytes",
                             sizeof out->name - 1);
    if (key_id == NULL) {
        uint8_t raw[KEY_ID_RANDOM_BYTES];
        if (orci_random(raw, sizeof raw) != 0)
            return orc_error_set(err, ORC_INTERNAL, "random generator unavailable");
        memcpy(id_buf, "ok_", 3);
        orci_hex_encode(raw, sizeof raw, id_buf + 3);
        key_id = id_buf;
    }
    if (secret == NULL) {
        if (orci_random_token(SECRET_RANDOM_BYTES, secret_buf, sizeof secret_buf) != 0)
            return orc_error_set(err, ORC_INTERNAL, "random generator unavailable");
        secret = secret_buf;
    }
    if ((code = check_field("id", key_id, sizeof out->key_id, err)) != ORC_OK ||
        (code = check_field("secret", secret, sizeof out->secret, err)) != ORC_OK)
        return code;

    orci_stmt *st = orci_db_stmt(db,
                                 "INSERT INTO api_keys (key_id, name, secret, scopes, "
                                 "created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, key_id);
    orci_bind_text(st, 2, name);
    orci_bind_text(st, 3, secret);
    orci_bind_int(st, 4, scopes);
    orci_bind_int(st, 5, now_us);
    int64_t id = 0;
    code = orci_db_insert(db, st, &id, err);
    if (code == ORC_ALREADY_EXISTS)
        return orc_error_set(err, code, "API key %s already exists", key_id);
    if (code != ORC_OK)
        return code;
    if (out != NULL) {
        memset(out, 0, sizeof *out);
        out->id = id;
        out->scopes = scopes;
        out->created_at = now_us;
        copy_text(out->key_id, sizeof out->key_id, key_id);
        copy_text(out->name, sizeof out->name, name);
        copy_text(out->secret, sizeof out->secret, secret);
    }
    return ORC_OK;
}

int orci_keys_ensure(orci_db *db, const char *name, unsigned scopes, const char *key_id,
                     const char *secret, int64_t now_us, orc_error *err)
{
    orci_key k;
    int code;
    if (name == NULL)
        name = "";
    if (strlen(name) >= sizeof k.name)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "API key name is longer than %zu bytes",
                             sizeof k.name - 1);
    if ((code = check_field("id", key_id, sizeof k.key_id, err)) != ORC_OK ||
        (code = check_field("secret", secret, sizeof k.secret, err)) != ORC_OK)
        return code;
    orci_stmt *st =
        orci_db_stmt(db,
                     "INSERT INTO api_keys (key_id, name, secret, scopes, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key_id) DO UPDATE SET "
                     "name = excluded.name, secret = excluded.secret, scopes = excluded.scopes, "
                     "revoked_at = NULL",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, key_id);
    orci_bind_text(st, 2, name);
    orci_bind_text(st, 3, secret);
    orci_bind_int(st, 4, scopes);
    orci_bind_int(st, 5, now_us);
    return orci_db_step(db, st, err);
}

int orci_keys_lookup(orci_db *db, const char *key_id, orci_key *out, orc_error *err)
{
    if (key_id == NULL || out == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no API key id given");
    orci_stmt *st = orci_db_stmt(
        db, "SELECT " KEY_COLUMNS " FROM api_keys WHERE key_id = ?1 AND revoked_at IS NULL", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, key_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return err != NULL ? (int)err->code : ORC_INTERNAL;
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "API key %s not found", key_id);
    int code = read_key(st, true, out, err);
    orci_stmt_reset(st);
    return code;
}

int orci_keys_list(orci_db *db, void (*fn)(const orci_key *k, void *arg), void *arg, orc_error *err)
{
    if (fn == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no callback given");
    orci_stmt *st = orci_db_stmt(db, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY id", err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        orci_key k;
        int code = read_key(st, false, &k, err);
        if (code != ORC_OK) {
            orci_stmt_reset(st);
            return code;
        }
        fn(&k, arg);
    }
    if (r < 0)
        return err != NULL ? (int)err->code : ORC_INTERNAL;
    return ORC_OK;
}

int orci_keys_revoke(orci_db *db, const char *key_id, int64_t now_us, orc_error *err)
{
    if (key_id == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no API key id given");
    orci_stmt *st = orci_db_stmt(
        db, "UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 AND revoked_at IS NULL", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, key_id);
    orci_bind_int(st, 2, now_us);
    int code = orci_db_step(db, st, err);
    if (code != ORC_OK)
        return code;
    if (orci_db_changes(db) == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "API key %s not found", key_id);
    return ORC_OK;
}

int orci_keys_confirm(orci_db *db, const char *key_id, const char *secret, unsigned *scopes,
                      orc_error *err)
{
    if (key_id == NULL || secret == NULL || scopes == NULL)
        return orc_error_set(err, ORC_INTERNAL, "orci_keys_confirm: no key, secret or output");
    orci_stmt *st = orci_db_stmt(
        db, "SELECT secret, scopes FROM api_keys WHERE key_id = ?1 AND revoked_at IS NULL", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, key_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return err != NULL ? (int)err->code : ORC_INTERNAL;
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "API key %s not found", key_id);
    const char *now_secret = orci_col_text(st, 0);
    bool same = orci_ct_equal(now_secret, strlen(now_secret), secret, strlen(secret));
    *scopes = (unsigned)orci_col_int(st, 1);
    orci_stmt_reset(st);
    if (!same)
        return orc_error_set(err, ORC_NOT_FOUND, "API key %s has another secret now", key_id);
    return ORC_OK;
}

/* ---- the cache ------------------------------------------------------------------------ */

typedef struct key_slot {
    bool used;
    int64_t read_at; /* when the key was read from the database (the callers' clock) */
    orci_key key;
} key_slot;

struct orci_key_cache {
    pthread_mutex_t mu;
    int64_t ttl_us;
    key_slot slots[ORCI_KEY_CACHE_SLOTS];
};

static key_slot *key_cache_slot(orci_key_cache *kc, const char *key_id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = key_id; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ull;
    }
    return &kc->slots[h % ORCI_KEY_CACHE_SLOTS];
}

static void key_slot_wipe(key_slot *s)
{
    explicit_bzero(s, sizeof *s);
}

int orci_key_cache_new(int64_t ttl_us, orci_key_cache **out, orc_error *err)
{
    *out = NULL;
    orci_key_cache *kc = calloc(1, sizeof *kc);
    if (kc == NULL)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory for the key cache");
    if (pthread_mutex_init(&kc->mu, NULL) != 0) {
        free(kc);
        return orc_error_set(err, ORC_INTERNAL, "cannot create the key cache's mutex");
    }
    kc->ttl_us = ttl_us;
    *out = kc;
    return ORC_OK;
}

void orci_key_cache_destroy(orci_key_cache *kc)
{
    if (kc == NULL)
        return;
    pthread_mutex_destroy(&kc->mu);
    explicit_bzero(kc->slots, sizeof kc->slots);
    free(kc);
}

bool orci_key_cache_get(orci_key_cache *kc, const char *key_id, int64_t now_us, orci_key *out)
{
    if (kc == NULL || key_id == NULL || out == NULL)
        return false;
    bool hit = false;
    pthread_mutex_lock(&kc->mu);
    key_slot *s = key_cache_slot(kc, key_id);
    /* A clock that went back makes the entry stale rather than younger. */
    if (s->used && strcmp(s->key.key_id, key_id) == 0 && now_us >= s->read_at &&
        now_us - s->read_at < kc->ttl_us) {
        *out = s->key;
        hit = true;
    }
    pthread_mutex_unlock(&kc->mu);
    return hit;
}

void orci_key_cache_put(orci_key_cache *kc, const orci_key *k, int64_t now_us)
{
    if (kc == NULL || k == NULL || k->revoked_at != 0)
        return;
    pthread_mutex_lock(&kc->mu);
    key_slot *s = key_cache_slot(kc, k->key_id);
    key_slot_wipe(s);
    s->used = true;
    s->read_at = now_us;
    s->key = *k;
    pthread_mutex_unlock(&kc->mu);
}

void orci_key_cache_drop(orci_key_cache *kc, const char *key_id)
{
    if (kc == NULL || key_id == NULL)
        return;
    pthread_mutex_lock(&kc->mu);
    key_slot *s = key_cache_slot(kc, key_id);
    if (s->used && strcmp(s->key.key_id, key_id) == 0)
        key_slot_wipe(s);
    pthread_mutex_unlock(&kc->mu);
}
