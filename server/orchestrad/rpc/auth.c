/*
 * auth.c: request authentication (API key signatures, worker session tokens) and scopes.
 */
#include "rpc/auth.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "rpc/keys.h"
#include "sign.h"
#include "store/db.h"

/* Scope names in bit order; "worker" is shown in messages but is not a key scope. */
static const struct {
    const char *name;
    unsigned bit;
    bool key_scope;
} auth_scope_names[] = {
    {"project", ORCI_SCOPE_PROJECT, true},   {"admin", ORCI_SCOPE_ADMIN, true},
    {"executor", ORCI_SCOPE_EXECUTOR, true}, {"notify", ORCI_SCOPE_NOTIFY, true},
    {"worker", ORCI_SCOPE_WORKER, false},
};
#define AUTH_N_SCOPES (sizeof auth_scope_names / sizeof auth_scope_names[0])

const char *orci_key_scope(size_t i, unsigned *bit)
{
    /* The key scopes come first in auth_scope_names. */
    if (i >= AUTH_N_SCOPES || !auth_scope_names[i].key_scope)
        return NULL;
    *bit = auth_scope_names[i].bit;
    return auth_scope_names[i].name;
}

int orci_scopes_parse(const char *text)
{
    if (!text)
        return -1;
    unsigned bits = 0;
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t n = len;
        while (n > 0 && p[n - 1] == ' ')
            n--;
        bool known = false;
        for (size_t i = 0; i < AUTH_N_SCOPES; i++) {
            if (auth_scope_names[i].key_scope && strlen(auth_scope_names[i].name) == n &&
                memcmp(auth_scope_names[i].name, p, n) == 0) {
                bits |= auth_scope_names[i].bit;
                known = true;
                break;
            }
        }
        if (!known)
            return -1;
        if (!end)
            break;
        p = end + 1;
        while (*p == ' ')
            p++;
    }
    return (int)bits;
}

void orci_scopes_format(unsigned bits, char *out, size_t out_size)
{
    if (!out || out_size == 0)
        return;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < AUTH_N_SCOPES; i++) {
        if (!(bits & auth_scope_names[i].bit))
            continue;
        int n = snprintf(out + used, out_size - used, "%s%s", used ? "," : "",
                         auth_scope_names[i].name);
        if (n < 0 || (size_t)n >= out_size - used) {
            out[used] = '\0'; /* never leave a truncated name behind */
            return;
        }
        used += (size_t)n;
    }
}

/* auth_scopes_phrase writes "project or admin" for messages. */
static void auth_scopes_phrase(unsigned bits, char *out, size_t out_size)
{
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < AUTH_N_SCOPES; i++) {
        if (!(bits & auth_scope_names[i].bit))
            continue;
        int n = snprintf(out + used, out_size - used, "%s%s", used ? " or " : "",
                         auth_scope_names[i].name);
        if (n < 0 || (size_t)n >= out_size - used)
            return;
        used += (size_t)n;
    }
}

/* auth_session looks a worker session token up and fills the user part of out. */
static int auth_session(orci_db *rdb, const char *token, int64_t now_us, orci_principal *out,
                        orc_error *err)
{
    uint8_t hash[ORCI_SHA256_LEN];
    orci_sha256(token, strlen(token), hash);
    orci_stmt *st = orci_db_stmt(rdb,
                                 "SELECT u.id, u.username, COALESCE(w.id, 0)"
                                 " FROM sessions s JOIN users u ON u.id = s.user_id"
                                 " LEFT JOIN workers w ON w.user_id = u.id"
                                 " WHERE s.token_hash = ?1 AND s.revoked_at IS NULL"
                                 " AND s.expires_at > ?2 AND u.is_active = 1",
                                 err);
    if (!st)
        return err ? err->code : ORC_INTERNAL;
    orci_bind_blob(st, 1, hash, sizeof hash);
    orci_bind_int(st, 2, now_us);
    int r = orci_db_row(rdb, st, err);
    if (r < 0)
        return err ? err->code : ORC_INTERNAL;
    if (r == 0)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "invalid or expired session token");
    out->user_id = orci_col_int(st, 0);
    snprintf(out->username, sizeof out->username, "%s", orci_col_text(st, 1));
    out->worker_id = orci_col_int(st, 2);
    out->scopes |= ORCI_SCOPE_WORKER;
    /* Finish the statement so the reader does not hold its snapshot open. */
    while ((r = orci_db_row(rdb, st, err)) > 0) {
    }
    return r < 0 ? (err ? err->code : ORC_INTERNAL) : ORC_OK;
}

/*
 * auth_key_read reads key_id from the database (and keeps it in the cache, when there is
 * one): ORC_OK, or ORC_UNAUTHENTICATED when no such active key exists.
 */
static int auth_key_read(orci_server *srv, orci_db *rdb, const char *key_id, int64_t now_us,
                         orci_key *key, orc_error *err)
{
    int rc = orci_keys_lookup(rdb, key_id, key, err);
    if (rc == ORC_NOT_FOUND) {
        orci_key_cache_drop(srv->key_cache, key_id);
        return orc_error_set(err, ORC_UNAUTHENTICATED, "unknown or revoked API key");
    }
    if (rc == ORC_OK)
        orci_key_cache_put(srv->key_cache, key, now_us);
    return rc;
}

/*
 * auth_key verifies a key-signed request and fills the key part of out. With use_cache the
 * key may come from srv->key_cache: then proof says so and holds the secret, for the write
 * job to confirm. A cached key only ever accepts: a signature it refuses is checked again
 * against the key read from the database (its secret may have changed).
 */
static int auth_key(orci_server *srv, orci_db *rdb, const Orchestra__V1__Auth *auth,
                    const char *method, const char *request_id, const void *body, size_t body_len,
                    int64_t now_us, bool use_cache, orci_principal *out, orci_auth_proof *proof,
                    orc_error *err)
{
    if (strlen(auth->key_id) >= sizeof out->key_id)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "unknown or revoked API key");
    orci_key key;
    bool cached = use_cache && orci_key_cache_get(srv->key_cache, auth->key_id, now_us, &key);
    int rc = cached ? ORC_OK : auth_key_read(srv, rdb, auth->key_id, now_us, &key, err);
    if (rc != ORC_OK)
        return rc;
    uint8_t mac[ORCI_SHA256_LEN];
    int64_t window = srv->settings.auth_window_s;
    int64_t now_s = now_us / 1000000;
    if (auth->timestamp > now_s + window || auth->timestamp < now_s - window) {
        rc = orc_error_set(err, ORC_UNAUTHENTICATED,
                           "request timestamp is outside the allowed window of +-%" PRId64 " s",
                           window);
        goto out;
    }
    for (;;) {
        orci_sign_request(key.secret, strlen(key.secret), method, request_id, auth->timestamp,
                          body ? body : "", body_len, mac);
        if (auth->signature.data &&
            orci_ct_equal(mac, sizeof mac, auth->signature.data, auth->signature.len))
            break;
        if (!cached) {
            rc = orc_error_set(err, ORC_UNAUTHENTICATED, "bad request signature");
            goto out;
        }
        cached = false;
        if ((rc = auth_key_read(srv, rdb, auth->key_id, now_us, &key, err)) != ORC_OK)
            goto out;
    }
    out->scopes |= key.scopes & ORCI_SCOPE_ALL_KEYS;
    snprintf(out->key_id, sizeof out->key_id, "%s", key.key_id);
    snprintf(out->name, sizeof out->name, "key:%s", key.key_id);
    if (cached && proof) {
        proof->cached = true;
        memcpy(proof->secret, key.secret, sizeof proof->secret);
    }
    rc = ORC_OK;
out:
    explicit_bzero(key.secret, sizeof key.secret);
    explicit_bzero(mac, sizeof mac);
    return rc;
}

/*
 * auth_http verifies a legacy HTTP signature forwarded by orchestra-http: the key must
 * exist, and base64(HMAC-SHA256(secret, signing_string)) must equal the sent text. Ours is
 * re-encoded and compared as text (the client's is never decoded: the decoder is lenient).
 * Messages are the upstream ones (spec 4.1).
 */
static int auth_http(orci_db *rdb, const Orchestra__V1__HttpSignature *hs, orci_principal *out,
                     orc_error *err)
{
    if (!hs->key_id || !hs->key_id[0] || strlen(hs->key_id) >= sizeof out->key_id)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "Unable to find API key");
    orci_key key;
    int rc = orci_keys_lookup(rdb, hs->key_id, &key, err);
    if (rc == ORC_NOT_FOUND)
        return orc_error_set(err, ORC_UNAUTHENTICATED, "Unable to find API key");
    if (rc != ORC_OK)
        return rc;
    uint8_t mac[ORCI_SHA256_LEN];
    char ours[4 * ((ORCI_SHA256_LEN + 2) / 3) + 1];
    const char *msg = hs->signing_string ? hs->signing_string : "";
    orci_hmac_sha256(key.secret, strlen(key.secret), msg, strlen(msg), mac);
    size_t n = orci_base64_encode(mac, sizeof mac, ours, sizeof ours);
    const char *theirs = hs->signature ? hs->signature : "";
    if (!orci_ct_equal(ours, n, theirs, strlen(theirs))) {
        rc = orc_error_set(err, ORC_UNAUTHENTICATED, "Bad signature");
        goto out;
    }
    out->scopes |= key.scopes & ORCI_SCOPE_ALL_KEYS;
    snprintf(out->key_id, sizeof out->key_id, "%s", key.key_id);
    snprintf(out->name, sizeof out->name, "key:%s", key.key_id);
    rc = ORC_OK;
out:
    explicit_bzero(key.secret, sizeof key.secret);
    explicit_bzero(mac, sizeof mac);
    return rc;
}

int orci_auth_check(orci_server *srv, orci_db *rdb, const Orchestra__V1__Auth *auth,
                    const char *method, const char *request_id, const void *body, size_t body_len,
                    int64_t now_us, orci_principal *out, orc_error *err)
{
    return orci_auth_check_cached(srv, rdb, auth, method, request_id, body, body_len, now_us, false,
                                  out, NULL, err);
}

int orci_auth_check_cached(orci_server *srv, orci_db *rdb, const Orchestra__V1__Auth *auth,
                           const char *method, const char *request_id, const void *body,
                           size_t body_len, int64_t now_us, bool use_cache, orci_principal *out,
                           orci_auth_proof *proof, orc_error *err)
{
    memset(out, 0, sizeof *out);
    if (proof)
        orci_auth_proof_wipe(proof);
    if (!auth)
        return ORC_OK;
    bool has_key = auth->key_id && auth->key_id[0];
    bool has_token = auth->token && auth->token[0];
    int rc;
    if (auth->http_signature) {
        if (has_key) {
            rc = orc_error_set(err, ORC_UNAUTHENTICATED,
                               "an API key signature and an HTTP signature cannot be combined");
            goto fail;
        }
        rc = auth_http(rdb, auth->http_signature, out, err);
        if (rc != ORC_OK)
            goto fail;
    }
    if (has_key) {
        rc = auth_key(srv, rdb, auth, method ? method : "", request_id ? request_id : "", body,
                      body_len, now_us, use_cache && srv->key_cache != NULL, out, proof, err);
        if (rc != ORC_OK)
            goto fail;
    }
    if (has_token) {
        rc = auth_session(rdb, auth->token, now_us, out, err);
        if (rc != ORC_OK)
            goto fail;
        if (!has_key && !auth->http_signature)
            snprintf(out->name, sizeof out->name, "user:%" PRId64, out->user_id);
    }
    return ORC_OK;
fail:
    memset(out, 0, sizeof *out);
    if (proof)
        orci_auth_proof_wipe(proof);
    return rc;
}

void orci_auth_proof_wipe(orci_auth_proof *proof)
{
    if (proof)
        explicit_bzero(proof, sizeof *proof);
}

int orci_auth_confirm(orci_server *srv, orci_db *wdb, const orci_method *m, orci_principal *who,
                      const orci_auth_proof *proof, orc_error *err)
{
    if (!proof || !proof->cached)
        return ORC_OK;
    unsigned scopes = 0;
    int rc = orci_keys_confirm(wdb, who->key_id, proof->secret, &scopes, err);
    if (rc == ORC_NOT_FOUND) {
        orci_key_cache_drop(srv->key_cache, who->key_id);
        return orc_error_set(err, ORC_UNAUTHENTICATED, "unknown or revoked API key");
    }
    if (rc != ORC_OK)
        return rc;
    if ((scopes & ORCI_SCOPE_ALL_KEYS) != (who->scopes & ORCI_SCOPE_ALL_KEYS)) {
        /* Its scopes changed: decide with the current ones, and read the key afresh next. */
        orci_key_cache_drop(srv->key_cache, who->key_id);
        who->scopes =
            (who->scopes & ~(unsigned)ORCI_SCOPE_ALL_KEYS) | (scopes & ORCI_SCOPE_ALL_KEYS);
        return orci_scope_check(m, who, err);
    }
    return ORC_OK;
}

int orci_scope_check(const orci_method *m, const orci_principal *p, orc_error *err)
{
    if (m->scopes == 0)
        return ORC_OK;
    if (p->scopes == 0 && p->name[0] == '\0')
        return orc_error_set(err, ORC_UNAUTHENTICATED, "credentials required for %s", m->name);
    if (!(p->scopes & m->scopes)) {
        char names[96];
        auth_scopes_phrase(m->scopes, names, sizeof names);
        return orc_error_set(err, ORC_PERMISSION_DENIED, "%s requires the %s scope", m->name,
                             names);
    }
    return ORC_OK;
}
