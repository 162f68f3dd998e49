/*
 * svc_worker.c: worker administration (AddWorker, CertifyWorker, admin scope) and worker
 * sessions (Login, public; Logout, session token).
 *
 * Passwords are hashed (AddWorker) and verified (Login) in the prepare step, on the RPC
 * worker thread, because PBKDF2 is slow on purpose; the apply step on the writer thread only
 * writes rows. Plans are malloc'd structs of fixed arrays (no pointers inside), freed by
 * orci_svc_worker_plan_free. Replies are malloc'd (the dispatcher frees them with
 * protobuf_c_message_free_unpacked(out, NULL)).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "store/db.h"
#include "store/model.h"
#include "proto/orchestra.pb-c.h"
#include "svc/services.h"
#include "domain/workers.h"

#define USERNAME_MAX 150
#define NAME_MAX_LEN 150
#define EMAIL_MAX_LEN 254
#define PASSWORD_MAX_LEN 1024
#define SESSION_TTL_DEFAULT_S (12LL * 3600)
#define SESSION_TOKEN_SIZE 128

#define MSG_BAD_LOGIN "Invalid username or password."

/* Both plans start with their kind, so the one free function can wipe either. */
enum { PLAN_ADD_WORKER = 1, PLAN_LOGIN = 2 };

typedef struct add_worker_plan {
    int kind;
    char username[USERNAME_MAX + 1];
    char first_name[NAME_MAX_LEN + 1];
    char last_name[NAME_MAX_LEN + 1];
    char email[EMAIL_MAX_LEN + 1];
    char password_hash[ORCI_PASSWORD_HASH_MAX];
} add_worker_plan;

typedef struct login_plan {
    int kind;
    bool limited;  /* the rate limit refused the name: no password was checked */
    bool verified; /* the password matched the user's stored hash */
    int64_t user_id;
    char username[USERNAME_MAX + 1];
} login_plan;

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

/* username_valid applies the rule of workers.h: 1..150 of letters, digits and @.+-_ */
static bool username_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > USERNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '@' || ch == '.' || ch == '+' || ch == '-' ||
                  ch == '_';
        if (!ok)
            return false;
    }
    return true;
}

static unsigned pbkdf2_iterations(const orci_call *c)
{
    unsigned it = c->srv->settings.pbkdf2_iterations;
    return it ? it : ORCI_PBKDF2_DEFAULT_ITERATIONS;
}

void orci_svc_worker_plan_free(void *plan)
{
    if (!plan)
        return;
    int kind;
    memcpy(&kind, plan, sizeof kind);
    explicit_bzero(plan, kind == PLAN_ADD_WORKER ? sizeof(add_worker_plan) : sizeof(login_plan));
    free(plan);
}

/* ---- AddWorker ------------------------------------------------------------------------ */

int orci_svc_add_worker_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                orc_error *err)
{
    const Orchestra__V1__AddWorkerRequest *req = (const Orchestra__V1__AddWorkerRequest *)in;
    *plan = NULL;
    if (!username_valid(req->username))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Invalid username: use 1 to 150 letters, digits and @/./+/-/_");
    size_t pw_len = strlen(req->password);
    if (pw_len == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "A password is required.");
    if (pw_len > PASSWORD_MAX_LEN)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Password is longer than %d bytes.",
                             PASSWORD_MAX_LEN);
    if (strlen(req->first_name) > NAME_MAX_LEN || strlen(req->last_name) > NAME_MAX_LEN)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Names are limited to %d bytes.",
                             NAME_MAX_LEN);
    if (strlen(req->email) > EMAIL_MAX_LEN)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Email is longer than %d bytes.",
                             EMAIL_MAX_LEN);

    add_worker_plan *p = calloc(1, sizeof *p);
    if (!p)
        return oom(err);
    p->kind = PLAN_ADD_WORKER;
    snprintf(p->username, sizeof p->username, "%s", req->username);
    snprintf(p->first_name, sizeof p->first_name, "%s", req->first_name);
    snprintf(p->last_name, sizeof p->last_name, "%s", req->last_name);
    snprintf(p->email, sizeof p->email, "%s", req->email);
    /* The plaintext stays in the request (owned by the dispatcher); no copy is made here. */
    if (orci_password_hash(req->password, pbkdf2_iterations(c), p->password_hash,
                           sizeof p->password_hash) != 0) {
        orci_svc_worker_plan_free(p);
        return orc_error_set(err, ORC_INTERNAL, "cannot hash the password");
    }
    *plan = p;
    return ORC_OK;
}

int orci_svc_add_worker_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                              ProtobufCMessage **out, orc_error *err)
{
    (void)in;
    const add_worker_plan *p = plan;
    *out = NULL;
    if (!p || p->kind != PLAN_ADD_WORKER)
        return orc_error_set(err, ORC_INTERNAL, "AddWorker has no plan");
    orci_user_params up = {.username = p->username,
                           .password_hash = p->password_hash,
                           .first_name = p->first_name,
                           .last_name = p->last_name,
                           .email = p->email};
    int64_t worker_id = 0;
    int rc = orci_workers_add(wdb, &up, c->now_us, NULL, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__AddWorkerReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__add_worker_reply__init(r);
    r->id = worker_id;
    r->username = strdup(p->username);
    if (!r->username) {
        free(r);
        return oom(err);
    }
    *out = &r->base;
    return ORC_OK;
}

/* ---- CertifyWorker -------------------------------------------------------------------- */

int orci_svc_certify_worker_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                  void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__CertifyWorkerRequest *req =
        (const Orchestra__V1__CertifyWorkerRequest *)in;
    *out = NULL;
    if (req->username[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "username is required");
    if (req->workflow[0] == '\0' || req->certification[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "a certification is required (workflow and certification slugs)");
    int role = orci_role_parse(req->role);
    if (role < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Unknown role \"%.64s\": use entry_level or reviewer", req->role);
    int task_class =
        req->task_class[0] ? orci_task_class_parse(req->task_class) : ORCI_TASK_CLASS_REAL;
    if (task_class < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Unknown task class \"%.64s\": use real or training", req->task_class);
    int rc = orci_workers_certify(wdb, req->username, req->workflow, req->certification, role,
                                  task_class, !req->revoke, c->now_us, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__CertifyWorkerReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__certify_worker_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}

/* ---- Login / Logout ------------------------------------------------------------------- */

/*
 * login_dummy_verify runs one verification of the same cost as a real one against a hash no
 * password matches, so that an unknown user takes as long as a wrong password.
 */
static void login_dummy_verify(const orci_call *c, const char *password)
{
    char dummy[ORCI_PASSWORD_HASH_MAX];
    /* 16-byte salt "saltsaltsaltsalt", an all-zero 32-byte hash. */
    snprintf(
        dummy, sizeof dummy,
        "pbkdf2-sha256$%u$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        pbkdf2_iterations(c));
    (void)orci_password_verify(password, dummy);
}

int orci_svc_login_prepare(orci_call *c, const ProtobufCMessage *in, void **plan, orc_error *err)
{
    const Orchestra__V1__LoginRequest *req = (const Orchestra__V1__LoginRequest *)in;
    *plan = NULL;
    size_t name_len = strlen(req->username), pw_len = strlen(req->password);
    /* Refused from the input alone (no user can match): nothing is looked up or recorded. */
    if (name_len == 0 || name_len > USERNAME_MAX || pw_len == 0 || pw_len > PASSWORD_MAX_LEN)
        return orc_error_set(err, ORC_UNAUTHENTICATED, MSG_BAD_LOGIN);

    login_plan *p = calloc(1, sizeof *p);
    if (!p)
        return oom(err);
    p->kind = PLAN_LOGIN;
    snprintf(p->username, sizeof p->username, "%s", req->username);

    orc_error lerr;
    orc_error_clear(&lerr);
    int rc =
        orci_workers_login_allowed_from(c->rdb, p->username, req->client_address, c->now_us, &lerr);
    if (rc == ORC_RESOURCE_EXHAUSTED) {
        p->limited = true; /* refused in apply; no password is checked for a limited name */
        *plan = p;
        return ORC_OK;
    }
    if (rc != ORC_OK) {
        orci_svc_worker_plan_free(p);
        *err = lerr;
        return rc;
    }

    char hash[ORCI_PASSWORD_HASH_MAX];
    orc_error_clear(&lerr);
    rc = orci_workers_password_hash(c->rdb, p->username, &p->user_id, hash, sizeof hash, &lerr);
    if (rc != ORC_OK && rc != ORC_NOT_FOUND) {
        orci_svc_worker_plan_free(p);
        *err = lerr;
        return rc;
    }
    if (rc == ORC_NOT_FOUND || hash[0] == '\0') {
        login_dummy_verify(c, req->password);
        p->verified = false;
    } else {
        p->verified = orci_password_verify(req->password, hash) == 1;
    }
    explicit_bzero(hash, sizeof hash);
    *plan = p;
    return ORC_OK;
}

/* login_user_active tells whether user_id exists and is active (on the writer). */
static int login_user_active(orci_db *wdb, int64_t user_id, bool *active, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(wdb, "SELECT is_active FROM users WHERE id = ?1", err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, user_id);
    int r = orci_db_row(wdb, st, err);
    if (r < 0)
        return err && err->code ? err->code : ORC_INTERNAL;
    *active = r == 1 && orci_col_int(st, 0) == 1;
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

int orci_svc_login_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                         ProtobufCMessage **out, orc_error *err)
{
    const Orchestra__V1__LoginRequest *req = (const Orchestra__V1__LoginRequest *)in;
    const login_plan *p = plan;
    *out = NULL;
    if (!p || p->kind != PLAN_LOGIN)
        return orc_error_set(err, ORC_INTERNAL, "Login has no plan");
    /* The limit is checked again here: failures may have been recorded since prepare. */
    int rc = p->limited ? ORC_RESOURCE_EXHAUSTED
                        : orci_workers_login_allowed_from(wdb, p->username, req->client_address,
                                                          c->now_us, err);
    if (rc == ORC_RESOURCE_EXHAUSTED)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED,
                             "Too many failed login attempts; try again later.");
    if (rc != ORC_OK)
        return rc;

    bool active = false;
    if (p->verified && (rc = login_user_active(wdb, p->user_id, &active, err)) != ORC_OK)
        return rc;
    if (!p->verified || !active) {
        /* The method commits on error, so this failure counts toward the limit. */
        rc = orci_workers_login_failed_from(wdb, p->username, req->client_address, c->now_us, err);
        if (rc != ORC_OK)
            return rc;
        return orc_error_set(err, ORC_UNAUTHENTICATED, MSG_BAD_LOGIN);
    }

    int64_t ttl_s =
        c->srv->settings.session_ttl_s > 0 ? c->srv->settings.session_ttl_s : SESSION_TTL_DEFAULT_S;
    int64_t ttl_us = ttl_s > INT64_MAX / 1000000 ? INT64_MAX : ttl_s * 1000000;
    char token[SESSION_TOKEN_SIZE];
    rc = orci_workers_session_create(wdb, p->user_id, c->now_us, ttl_us, token, sizeof token, err);
    if (rc != ORC_OK)
        return rc;

    Orchestra__V1__LoginReply *r = malloc(sizeof *r);
    if (!r) {
        explicit_bzero(token, sizeof token);
        return oom(err);
    }
    orchestra__v1__login_reply__init(r);
    r->token = strdup(token);
    r->username = strdup(p->username);
    r->expires_at = ttl_us > INT64_MAX - c->now_us ? INT64_MAX : c->now_us + ttl_us;
    explicit_bzero(token, sizeof token);
    if (!r->token || !r->username) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return oom(err);
    }
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_logout_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                          ProtobufCMessage **out, orc_error *err)
{
    (void)in;
    (void)plan;
    *out = NULL;
    if (!c->token || c->token[0] == '\0')
        return orc_error_set(err, ORC_UNAUTHENTICATED, "Logout needs a session token");
    int rc = orci_workers_session_revoke(wdb, c->token, c->now_us, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__LogoutReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__logout_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}
