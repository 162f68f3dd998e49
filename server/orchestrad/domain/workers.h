/*
 * workers.h: users, workers, certifications, passwords and sessions.
 *
 * Passwords are PBKDF2-HMAC-SHA256 (common/crypto.h); hashing and verifying are slow on
 * purpose, so they happen on RPC worker threads (in a method's prepare step), never on the
 * writer thread. Session tokens are 256-bit random, stored only as their SHA-256, with an
 * expiry, revocable by logout.
 */
#ifndef ORCI_WORKERS_H
#define ORCI_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

typedef struct orci_user_params {
    const char *username;
    const char *password_hash; /* already hashed; NULL or "" = cannot log in */
    const char *first_name, *last_name, *email;
    bool is_staff;
} orci_user_params;

/*
 * orci_workers_add creates a user and its worker row. An existing username is
 * ORC_ALREADY_EXISTS "User <name> already exists". Usernames: 1..150 characters of
 * letters, digits and @.+-_ (Django's rule). *user_id and *worker_id may be NULL.
 */
int orci_workers_add(orci_db *db, const orci_user_params *p, int64_t now_us, int64_t *user_id,
                     int64_t *worker_id, orc_error *err);

/* orci_workers_find looks a worker up by username: ORC_OK or ORC_NOT_FOUND. */
int orci_workers_find(orci_db *db, const char *username, int64_t *user_id, int64_t *worker_id,
                      orc_error *err);

/*
 * orci_workers_certify grants (grant=true) or revokes a worker certification
 * (workflow slug + certification slug, role, task class). Granting a reviewer role needs the
 * entry-level row of the same worker, certification and task class (upstream's save rule):
 * ORC_FAILED_PRECONDITION otherwise. Granting twice is a no-op; revoking a missing row is
 * ORC_NOT_FOUND.
 */
int orci_workers_certify(orci_db *db, const char *username, const char *workflow_slug,
                         const char *cert_slug, int role, int task_class, bool grant,
                         int64_t now_us, orc_error *err);

/* orci_workers_password_hash reads a user's stored hash into out (for login checks). */
int orci_workers_password_hash(orci_db *db, const char *username, int64_t *user_id, char *out,
                               size_t out_size, orc_error *err);

/*
 * Failed-login rate limit: at most ORCI_LOGIN_MAX_FAILURES failures per username within
 * ORCI_LOGIN_WINDOW_US; then logins for that name are refused with ORC_RESOURCE_EXHAUSTED
 * "Too many failed login attempts; try again later." until the window has passed.
 */
#define ORCI_LOGIN_MAX_FAILURES 5
#define ORCI_LOGIN_WINDOW_US (300LL * 1000000LL)

/*
 * The same limit applies per client address (the address a front end such as orchestra-http
 * saw the attempt come from): at most ORCI_LOGIN_MAX_FAILURES_PER_ADDRESS failures from one
 * address within the window, whatever the usernames tried. Both limits only slow guessing
 * down: a failure stops counting once it is older than the window, so nobody is locked out
 * for longer than that after the attempts stop.
 */
#define ORCI_LOGIN_MAX_FAILURES_PER_ADDRESS 20

/* orci_workers_login_allowed checks the rate limit for username at now_us. */
int orci_workers_login_allowed(orci_db *db, const char *username, int64_t now_us, orc_error *err);

/* orci_workers_login_failed records one failed attempt for username. */
int orci_workers_login_failed(orci_db *db, const char *username, int64_t now_us, orc_error *err);

/*
 * orci_workers_login_allowed_from checks both limits for username and address at now_us
 * (address NULL or "": unknown, only the username's limit applies).
 */
int orci_workers_login_allowed_from(orci_db *db, const char *username, const char *address,
                                    int64_t now_us, orc_error *err);

/* orci_workers_login_failed_from records one failed attempt for username from address. */
int orci_workers_login_failed_from(orci_db *db, const char *username, const char *address,
                                   int64_t now_us, orc_error *err);

/* Longest client address stored (an IPv6 text form fits; longer ones are cut). */
#define ORCI_LOGIN_ADDRESS_MAX 64

/*
 * orci_workers_session_create stores a new session for user_id valid for ttl_us and writes
 * the token (shown once) into token (at least 64 bytes). Clears the failure count.
 */
int orci_workers_session_create(orci_db *db, int64_t user_id, int64_t now_us, int64_t ttl_us,
                                char *token, size_t token_size, orc_error *err);

/* orci_workers_session_revoke revokes the session of token (logout): ORC_OK or NOT_FOUND. */
int orci_workers_session_revoke(orci_db *db, const char *token, int64_t now_us, orc_error *err);

/* ---- the web app: profile, project admins, password changes ---------------------------- */

/* orci_worker_profile is what a worker's own pages show of the account. */
typedef struct orci_worker_profile {
    char username[151];
    char first_name[151];
    char last_name[151];
    bool project_admin;
    int64_t session_expires_at_us; /* of the session asked about; 0 when not asked */
} orci_worker_profile;

/*
 * orci_workers_profile reads user_id's profile into *out and, when token is not NULL, the
 * expiry of that session. ORC_NOT_FOUND when the user (or the session) does not exist.
 */
int orci_workers_profile(orci_db *db, int64_t user_id, const char *token, orci_worker_profile *out,
                         orc_error *err);

/* orci_workers_is_project_admin tells whether user_id may manage projects (false: unknown). */
int orci_workers_is_project_admin(orci_db *db, int64_t user_id, bool *admin, orc_error *err);

/*
 * orci_workers_set_project_admin grants or takes away username's project admin role
 * (upstream's project_admins group). ORC_NOT_FOUND "Worker <name> not found".
 */
int orci_workers_set_project_admin(orci_db *db, const char *username, bool admin, orc_error *err);

/*
 * orci_workers_set_password stores a new password hash (already computed, off the writer)
 * for user_id and revokes every other live session of the user: a changed password signs
 * out the other browsers, and the session of keep_token (NULL: none) stays.
 */
int orci_workers_set_password(orci_db *db, int64_t user_id, const char *password_hash,
                              const char *keep_token, int64_t now_us, orc_error *err);

#endif
