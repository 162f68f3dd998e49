/*
 * workers.c: users and workers, worker certifications, password hashes, the failed-login
 * rate limit and worker sessions.
 */
#include "domain/workers.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/events.h"
#include "store/model.h"

#define USERNAME_MAX 150
#define SESSION_TOKEN_BYTES 32

/* username_valid applies Django's rule: 1..150 of letters, digits and @.+-_ */
static bool username_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > USERNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '@' || c == '.' || c == '+' || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

int orci_workers_add(orci_db *db, const orci_user_params *p, int64_t now_us, int64_t *user_id,
                     int64_t *worker_id, orc_error *err)
{
    if (p == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no user given");
    if (!username_valid(p->username))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Invalid username: use 1 to 150 letters, digits and @/./+/-/_");
    const char *hash = p->password_hash != NULL ? p->password_hash : "";
    if (hash[0] != '\0' && !orci_password_hash_valid(hash))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "password hash of %s is malformed",
                             p->username);

    orci_stmt *st = orci_db_stmt(db, "SELECT 1 FROM users WHERE username = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, p->username);
    int64_t one = 0;
    bool exists = false;
    int code = orci_db_one_id(db, st, &one, &exists, err);
    if (code != ORC_OK)
        return code;
    if (exists)
        return orc_error_set(err, ORC_ALREADY_EXISTS, "User %s already exists", p->username);

    st = orci_db_stmt(db,
                      "INSERT INTO users (username, password, first_name, last_name, email,"
                      " is_staff, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, p->username);
    orci_bind_text(st, 2, hash);
    orci_bind_text(st, 3, p->first_name != NULL ? p->first_name : "");
    orci_bind_text(st, 4, p->last_name != NULL ? p->last_name : "");
    orci_bind_text(st, 5, p->email != NULL ? p->email : "");
    orci_bind_int(st, 6, p->is_staff ? 1 : 0);
    orci_bind_int(st, 7, now_us);
    int64_t uid = 0;
    code = orci_db_insert(db, st, &uid, err);
    if (code == ORC_ALREADY_EXISTS)
        return orc_error_set(err, code, "User %s already exists", p->username);
    if (code != ORC_OK)
        return code;

    st = orci_db_stmt(
        db, "INSERT INTO workers (user_id, start_datetime) VALUES (?1, ?2) RETURNING id", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, uid);
    orci_bind_int(st, 2, now_us);
    int64_t wid = 0;
    if ((code = orci_db_insert(db, st, &wid, err)) != ORC_OK)
        return code;
    if (user_id != NULL)
        *user_id = uid;
    if (worker_id != NULL)
        *worker_id = wid;
    return ORC_OK;
}

/*
 * user_row prepares sql, whose ?1 is username, and steps it to its row: ORC_NOT_FOUND
 * "Worker <name> not found" when there is none. On ORC_OK *out is left on the row and the
 * caller resets it.
 */
static int user_row(orci_db *db, const char *sql, const char *username, orci_stmt **out,
                    orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "Worker %s not found", username);
    *out = st;
    return ORC_OK;
}

int orci_workers_find(orci_db *db, const char *username, int64_t *user_id, int64_t *worker_id,
                      orc_error *err)
{
    if (username == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no username given");
    orci_stmt *st = NULL;
    int code = user_row(db,
                        "SELECT u.id, w.id FROM users u"
                        " JOIN workers w ON w.user_id = u.id WHERE u.username = ?1",
                        username, &st, err);
    if (code != ORC_OK)
        return code;
    if (user_id != NULL)
        *user_id = orci_col_int(st, 0);
    if (worker_id != NULL)
        *worker_id = orci_col_int(st, 1);
    orci_stmt_reset(st);
    return ORC_OK;
}

/* certification_find looks a certification up by workflow slug and its own slug. */
static int certification_find(orci_db *db, const char *workflow_slug, const char *cert_slug,
                              int64_t *id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT c.id FROM certifications c"
                                 " JOIN workflows w ON w.id = c.workflow_id"
                                 " WHERE w.slug = ?1 AND c.slug = ?2",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, workflow_slug);
    orci_bind_text(st, 2, cert_slug);
    bool found = false;
    int code = orci_db_one_id(db, st, id, &found, err);
    if (code == ORC_OK && !found)
        code = orc_error_set(err, ORC_NOT_FOUND, "Certification %s/%s not found", workflow_slug,
                             cert_slug);
    return code;
}

/*
 * cert_row_stmt prepares sql, whose ?1..?4 are worker, certification, role and task class
 * (one worker_certifications row), and binds them. NULL when preparing failed.
 */
static orci_stmt *cert_row_stmt(orci_db *db, const char *sql, int64_t worker_id, int64_t cert_id,
                                int role, int task_class, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return NULL;
    orci_bind_int(st, 1, worker_id);
    orci_bind_int(st, 2, cert_id);
    orci_bind_int(st, 3, role);
    orci_bind_int(st, 4, task_class);
    return st;
}

/* certification_held tells whether the worker holds (cert, role, task_class). */
static int certification_held(orci_db *db, int64_t worker_id, int64_t cert_id, int role,
                              int task_class, bool *held, orc_error *err)
{
    orci_stmt *st = cert_row_stmt(db,
                                  "SELECT 1 FROM worker_certifications WHERE worker_id = ?1"
                                  " AND certification_id = ?2 AND role = ?3"
                                  " AND task_class = ?4",
                                  worker_id, cert_id, role, task_class, err);
    if (st == NULL)
        return ORC_INTERNAL;
    int64_t one = 0;
    return orci_db_one_id(db, st, &one, held, err);
}

/* certification_event appends a certification change on the worker's and workflow's topics. */
static int certification_event(orci_db *db, const char *type, const char *username,
                               const char *workflow_slug, const char *cert_slug, int role,
                               int task_class, int64_t now_us, orc_error *err)
{
    json_t *payload =
        json_pack("{s:s, s:s, s:s}", "certification", cert_slug, "role", orci_role_name(role),
                  "task_class", orci_task_class_name(task_class));
    if (payload == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    orci_event_rec e = {.type = type, .time_us = now_us, .payload = payload};
    snprintf(e.worker, sizeof e.worker, "%s", username);
    snprintf(e.workflow, sizeof e.workflow, "%s", workflow_slug);
    int code = orci_events_append(db, &e, NULL, err);
    json_decref(payload);
    return code;
}

int orci_workers_certify(orci_db *db, const char *username, const char *workflow_slug,
                         const char *cert_slug, int role, int task_class, bool grant,
                         int64_t now_us, orc_error *err)
{
    if (workflow_slug == NULL || cert_slug == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no certification given");
    if (role != ORCI_ROLE_ENTRY_LEVEL && role != ORCI_ROLE_REVIEWER)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "unknown certification role %d", role);
    if (task_class != ORCI_TASK_CLASS_TRAINING && task_class != ORCI_TASK_CLASS_REAL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "unknown task class %d", task_class);
    int64_t worker_id = 0, cert_id = 0;
    int code = orci_workers_find(db, username, NULL, &worker_id, err);
    if (code != ORC_OK)
        return code;
    if ((code = certification_find(db, workflow_slug, cert_slug, &cert_id, err)) != ORC_OK)
        return code;

    bool held = false;
    if ((code = certification_held(db, worker_id, cert_id, role, task_class, &held, err)) != ORC_OK)
        return code;
    if (!grant) {
        if (!held)
            return orc_error_set(err, ORC_NOT_FOUND, "Worker %s has no %s %s certification %s/%s",
                                 username, orci_task_class_name(task_class), orci_role_name(role),
                                 workflow_slug, cert_slug);
        orci_stmt *st = cert_row_stmt(db,
                                      "DELETE FROM worker_certifications WHERE worker_id = ?1"
                                      " AND certification_id = ?2 AND role = ?3"
                                      " AND task_class = ?4",
                                      worker_id, cert_id, role, task_class, err);
        if (st == NULL)
            return ORC_INTERNAL;
        if ((code = orci_db_step(db, st, err)) != ORC_OK)
            return code;
        return certification_event(db, "worker.certification_revoked", username, workflow_slug,
                                   cert_slug, role, task_class, now_us, err);
    }
    if (held)
        return ORC_OK;
    if (role == ORCI_ROLE_REVIEWER) {
        /* Upstream's save rule: the entry-level row must exist first (checked only here, so
         * revoking the entry-level row later leaves the reviewer row in place). */
        bool entry = false;
        if ((code = certification_held(db, worker_id, cert_id, ORCI_ROLE_ENTRY_LEVEL, task_class,
                                       &entry, err)) != ORC_OK)
            return code;
        if (!entry)
            return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "Worker %s needs the %s entry_level certification %s/%s before "
                                 "the reviewer one",
                                 username, orci_task_class_name(task_class), workflow_slug,
                                 cert_slug);
    }
    orci_stmt *st = orci_db_stmt(db,
                                 "INSERT INTO worker_certifications (certification_id,"
                                 " worker_id, task_class, role, created_at)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, cert_id);
    orci_bind_int(st, 2, worker_id);
    orci_bind_int(st, 3, task_class);
    orci_bind_int(st, 4, role);
    orci_bind_int(st, 5, now_us);
    if ((code = orci_db_step(db, st, err)) != ORC_OK)
        return code;
    return certification_event(db, "worker.certified", username, workflow_slug, cert_slug, role,
                               task_class, now_us, err);
}

int orci_workers_password_hash(orci_db *db, const char *username, int64_t *user_id, char *out,
                               size_t out_size, orc_error *err)
{
    if (username == NULL || out == NULL || out_size == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no username or output given");
    out[0] = '\0';
    orci_stmt *st = NULL;
    int code =
        user_row(db, "SELECT id, password FROM users WHERE username = ?1", username, &st, err);
    if (code != ORC_OK)
        return code;
    const char *hash = orci_col_text(st, 1);
    size_t n = strlen(hash);
    if (n >= out_size)
        code = orc_error_set(err, ORC_INTERNAL, "password hash of %s is too long", username);
    else
        memcpy(out, hash, n + 1);
    if (user_id != NULL)
        *user_id = orci_col_int(st, 0);
    orci_stmt_reset(st);
    return code;
}

/* failures_since counts the failures recorded by sql (?1 the key, ?2 the window's start). */
static int failures_since(orci_db *db, const char *sql, const char *key, int64_t since,
                          int64_t *count, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, key);
    orci_bind_int(st, 2, since);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    *count = r == 1 ? orci_col_int(st, 0) : 0;
    orci_stmt_reset(st);
    return ORC_OK;
}

/* address_key cuts an address to what is stored ("" when unknown). */
static void address_key(const char *address, char out[ORCI_LOGIN_ADDRESS_MAX + 1])
{
    snprintf(out, ORCI_LOGIN_ADDRESS_MAX + 1, "%s", address != NULL ? address : "");
}

int orci_workers_login_allowed_from(orci_db *db, const char *username, const char *address,
                                    int64_t now_us, orc_error *err)
{
    if (username == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no username given");
    int64_t since = now_us - ORCI_LOGIN_WINDOW_US, by_name = 0, by_address = 0;
    int code = failures_since(db,
                              "SELECT count(*) FROM login_failures"
                              " WHERE username = ?1 AND failed_at > ?2",
                              username, since, &by_name, err);
    if (code != ORC_OK)
        return code;
    char addr[ORCI_LOGIN_ADDRESS_MAX + 1];
    address_key(address, addr);
    if (addr[0] != '\0' && (code = failures_since(db,
                                                  "SELECT count(*) FROM login_failures"
                                                  " WHERE client_address = ?1 AND failed_at > ?2",
                                                  addr, since, &by_address, err)) != ORC_OK)
        return code;
    if (by_name >= ORCI_LOGIN_MAX_FAILURES || by_address >= ORCI_LOGIN_MAX_FAILURES_PER_ADDRESS)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED,
                             "Too many failed login attempts; try again later.");
    return ORC_OK;
}

int orci_workers_login_allowed(orci_db *db, const char *username, int64_t now_us, orc_error *err)
{
    return orci_workers_login_allowed_from(db, username, NULL, now_us, err);
}

int orci_workers_login_failed_from(orci_db *db, const char *username, const char *address,
                                   int64_t now_us, orc_error *err)
{
    if (username == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no username given");
    char addr[ORCI_LOGIN_ADDRESS_MAX + 1];
    address_key(address, addr);
    /* Failures older than the window no longer count: drop them to keep the table small. */
    orci_stmt *st = orci_db_stmt(db,
                                 "DELETE FROM login_failures WHERE failed_at <= ?2"
                                 " AND (username = ?1 OR (client_address = ?3"
                                 " AND client_address <> ''))",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username);
    orci_bind_int(st, 2, now_us - ORCI_LOGIN_WINDOW_US);
    orci_bind_text(st, 3, addr);
    int code = orci_db_step(db, st, err);
    if (code != ORC_OK)
        return code;
    st = orci_db_stmt(db,
                      "INSERT INTO login_failures (username, failed_at, client_address)"
                      " VALUES (?1, ?2, ?3)",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username);
    orci_bind_int(st, 2, now_us);
    orci_bind_text(st, 3, addr);
    return orci_db_step(db, st, err);
}

int orci_workers_login_failed(orci_db *db, const char *username, int64_t now_us, orc_error *err)
{
    return orci_workers_login_failed_from(db, username, NULL, now_us, err);
}

int orci_workers_session_create(orci_db *db, int64_t user_id, int64_t now_us, int64_t ttl_us,
                                char *token, size_t token_size, orc_error *err)
{
    if (token == NULL || token_size < 4 * SESSION_TOKEN_BYTES / 3 + 3)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "session token buffer too small");
    if (ttl_us <= 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "session lifetime must be positive");
    token[0] = '\0';
    char fresh[4 * SESSION_TOKEN_BYTES / 3 + 4];
    if (orci_random_token(SESSION_TOKEN_BYTES, fresh, sizeof fresh) != 0)
        return orc_error_set(err, ORC_INTERNAL, "random generator unavailable");
    uint8_t hash[ORCI_SHA256_LEN];
    orci_sha256(fresh, strlen(fresh), hash);

    orci_stmt *st = orci_db_stmt(db, "SELECT username FROM users WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, user_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "User %lld not found", (long long)user_id);
    char username[USERNAME_MAX + 1];
    snprintf(username, sizeof username, "%s", orci_col_text(st, 0));
    orci_stmt_reset(st);

    st = orci_db_stmt(db,
                      "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
                      " VALUES (?1, ?2, ?3, ?4)",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_blob(st, 1, hash, sizeof hash);
    orci_bind_int(st, 2, user_id);
    orci_bind_int(st, 3, now_us);
    orci_bind_int(st, 4, ttl_us > INT64_MAX - now_us ? INT64_MAX : now_us + ttl_us);
    int code = orci_db_step(db, st, err);
    if (code != ORC_OK)
        return code;

    /* A successful login clears the failure count. */
    st = orci_db_stmt(db, "DELETE FROM login_failures WHERE username = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username);
    if ((code = orci_db_step(db, st, err)) != ORC_OK)
        return code;
    memcpy(token, fresh, strlen(fresh) + 1);
    return ORC_OK;
}

int orci_workers_session_revoke(orci_db *db, const char *token, int64_t now_us, orc_error *err)
{
    if (token == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no session token given");
    uint8_t hash[ORCI_SHA256_LEN];
    orci_sha256(token, strlen(token), hash);
    orci_stmt *st = orci_db_stmt(db,
                                 "UPDATE sessions SET revoked_at = ?2"
                                 " WHERE token_hash = ?1 AND revoked_at IS NULL",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_blob(st, 1, hash, sizeof hash);
    orci_bind_int(st, 2, now_us);
    int code = orci_db_step(db, st, err);
    if (code != ORC_OK)
        return code;
    if (orci_db_changes(db) == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "Session not found");
    return ORC_OK;
}

/* ---- the web app ------------------------------------------------------------------------ */

int orci_workers_profile(orci_db *db, int64_t user_id, const char *token, orci_worker_profile *out,
                         orc_error *err)
{
    if (out == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    memset(out, 0, sizeof *out);
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT username, first_name, last_name, project_admin"
                                 " FROM users WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, user_id);
    int code = orci_db_first_row(db, st, "User not found", err);
    if (code != ORC_OK)
        return code;
    snprintf(out->username, sizeof out->username, "%s", orci_col_text(st, 0));
    snprintf(out->first_name, sizeof out->first_name, "%s", orci_col_text(st, 1));
    snprintf(out->last_name, sizeof out->last_name, "%s", orci_col_text(st, 2));
    out->project_admin = orci_col_int(st, 3) != 0;
    orci_stmt_reset(st);
    if (token == NULL)
        return ORC_OK;
    uint8_t hash[ORCI_SHA256_LEN];
    orci_sha256(token, strlen(token), hash);
    st = orci_db_stmt(db, "SELECT expires_at FROM sessions WHERE token_hash = ?1 AND user_id = ?2",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_blob(st, 1, hash, sizeof hash);
    orci_bind_int(st, 2, user_id);
    if ((code = orci_db_first_row(db, st, "Session not found", err)) != ORC_OK)
        return code;
    out->session_expires_at_us = orci_col_int(st, 0);
    orci_stmt_reset(st);
    return ORC_OK;
}

int orci_workers_is_project_admin(orci_db *db, int64_t user_id, bool *admin, orc_error *err)
{
    *admin = false;
    orci_stmt *st = orci_db_stmt(
        db, "SELECT 1 FROM users WHERE id = ?1 AND project_admin = 1 AND is_active = 1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, user_id);
    int64_t one = 0;
    return orci_db_one_id(db, st, &one, admin, err);
}

int orci_workers_set_project_admin(orci_db *db, const char *username, bool admin, orc_error *err)
{
    if (username == NULL || username[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "username is required");
    int code = orci_workers_find(db, username, NULL, NULL, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st =
        orci_db_stmt(db, "UPDATE users SET project_admin = ?2 WHERE username = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username);
    orci_bind_int(st, 2, admin ? 1 : 0);
    return orci_db_step(db, st, err);
}

int orci_workers_set_password(orci_db *db, int64_t user_id, const char *password_hash,
                              const char *keep_token, int64_t now_us, orc_error *err)
{
    if (password_hash == NULL || !orci_password_hash_valid(password_hash))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "password hash is malformed");
    orci_stmt *st = orci_db_stmt(db, "UPDATE users SET password = ?2 WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, user_id);
    orci_bind_text(st, 2, password_hash);
    int code = orci_db_step(db, st, err);
    if (code != ORC_OK)
        return code;
    if (orci_db_changes(db) == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "User %lld not found", (long long)user_id);
    uint8_t hash[ORCI_SHA256_LEN];
    memset(hash, 0, sizeof hash);
    if (keep_token != NULL)
        orci_sha256(keep_token, strlen(keep_token), hash);
    st = orci_db_stmt(db,
                      "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1"
                      " AND revoked_at IS NULL AND token_hash <> ?3",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, user_id);
    orci_bind_int(st, 2, now_us);
    orci_bind_blob(st, 3, hash, sizeof hash);
    return orci_db_step(db, st, err);
}
