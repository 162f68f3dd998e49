/*
 * orchestra/client.h: the Orchestra client library.
 *
 * One orc_client is a connection to one orchestrad (REQ socket over tcp://, ipc:// or
 * tls+tcp://). Every call is synchronous and signs its request transparently:
 *  - with an API key (key id + secret) when one is configured, as HMAC-SHA256 over the
 *    method, request id, timestamp and body digest;
 *  - with a worker session token when one is configured.
 * Every mutating call carries a fresh request id; nng's automatic resend after a lost
 * connection reuses it, so a retry never has a second effect.
 *
 * Thread safety: an orc_client may be shared by any number of threads; each call uses its
 * own nng context. orc_client_destroy must not race with calls in flight.
 *
 * Ownership: strings passed in are borrowed for the duration of the call. Anything
 * returned through an out-pointer belongs to the caller and is released with the free
 * function named next to the call.
 *
 * Errors: each call returns an orc_code (ORC_OK on success) and, when err is not NULL,
 * fills it with the code and the server's (or the library's) message. ORC_UNAVAILABLE
 * means the server could not be reached.
 */
#ifndef ORCHESTRA_CLIENT_H
#define ORCHESTRA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORC_DEFAULT_RPC_URL "tcp://127.0.0.1:7400"
#define ORC_DEFAULT_EVENTS_URL "tcp://127.0.0.1:7401"

typedef struct orc_client orc_client;

/*
 * orc_client_opts configures orc_client_new. Zero every field you do not set (use
 * orc_client_opts_from_env to start from the environment). Strings are copied.
 */
typedef struct orc_client_opts {
    const char *rpc_url;         /* NULL: $ORCHESTRA_RPC, else ORC_DEFAULT_RPC_URL */
    const char *api_key;         /* key id, NULL: none */
    const char *api_secret;      /* the key's secret */
    const char *token;           /* worker session token, NULL: none */
    const char *tls_ca_file;     /* PEM CA bundle to verify a tls+tcp:// server */
    const char *tls_server_name; /* name to verify; NULL: the URL's host */
    int timeout_ms;              /* per call; 0: 30000 */
} orc_client_opts;

/*
 * orc_client_opts_from_env fills opts from ORCHESTRA_RPC, ORCHESTRA_API_KEY,
 * ORCHESTRA_API_SECRET, ORCHESTRA_TOKEN and ORCHESTRA_TLS_CA. The strings point into the
 * environment and stay valid while it is unchanged.
 */
void orc_client_opts_from_env(orc_client_opts *opts);

/*
 * orc_client_new connects to the server named in opts and returns the handle in *out
 * (release with orc_client_destroy). A server that refuses the connection gives
 * ORC_UNAVAILABLE; the handle also reconnects by itself when a server restarts.
 */
int orc_client_new(const orc_client_opts *opts, orc_client **out, orc_error *err);

/* orc_client_destroy closes the connection; NULL is allowed. */
void orc_client_destroy(orc_client *c);

/*
 * orc_client_set_token replaces the worker session token (NULL clears it). Not to be
 * called while other threads use the handle.
 */
int orc_client_set_token(orc_client *c, const char *token);

/* orc_free releases memory the library returned (strings, JSON text). NULL is allowed. */
void orc_free(void *p);

/* ---- system ---------------------------------------------------------------------- */

/* orc_server_info is what the server says of itself. */
typedef struct orc_server_info {
    char version[64];
    int schema_version;
    int64_t started_at_us;
    int64_t now_us;
    int auth_window_seconds;
    bool dev_mode;
} orc_server_info;

/* orc_health asks whether the server is serving (needs no credentials). */
int orc_health(orc_client *c, orc_error *err);

/* orc_server_info_get fills *out with the server's version and clock. */
int orc_server_info_get(orc_client *c, orc_server_info *out, orc_error *err);

/* ---- workflows --------------------------------------------------------------------- */

/* orc_workflow_ref names a loaded workflow version. */
typedef struct orc_workflow_ref {
    char workflow[201];
    char version[201];
} orc_workflow_ref;

/*
 * orc_workflow_load reads the workflow folder dir (workflow.json, <version>/version.json,
 * sample_data.json) and asks the server to load version `version` of it (admin scope).
 * Errors carry the upstream loader messages, e.g. "Version v1 already exists".
 */
int orc_workflow_load(orc_client *c, const char *dir, const char *version, bool force,
                      orc_workflow_ref *out, orc_error *err);

/* orc_load_result is one version's outcome in orc_workflow_load_all. */
typedef struct orc_load_result {
    char app[256];
    char workflow[201];
    char version[201];
    orc_code status;
    char message[ORC_ERROR_MESSAGE_MAX];
} orc_load_result;

/*
 * orc_workflow_load_all loads every version of every workflow folder in dirs. Each entry of
 * dirs is either a workflow folder (it has workflow.json) or a folder whose immediate
 * sub-folders are scanned for workflow folders. The same workflow slug in two folders is
 * refused as a whole ("Workflow <slug> present in multiple apps: a, b"). Otherwise each
 * version loads on its own: *results (release with orc_free) lists every outcome, and the
 * call returns ORC_OK even when some versions were refused.
 */
int orc_workflow_load_all(orc_client *c, const char *const *dirs, size_t n_dirs, bool force,
                          orc_load_result **results, size_t *n_results, orc_error *err);

/*
 * orc_workflow_sample_data loads the sample data declared by a loaded workflow (admin
 * scope). *users (release each string and the array with orc_free) lists the usernames.
 */
int orc_workflow_sample_data(orc_client *c, const char *workflow, const char *version,
                             char ***users, size_t *n_users, orc_error *err);

/*
 * orc_workflow_types_json returns in *json (release with orc_free) the upstream
 * workflow_types document:
 * {"workflows":{"<slug>":{"name":..,"versions":{"<vslug>":{"name":..,"description":..}}}}}
 */
int orc_workflow_types_json(orc_client *c, char **json, orc_error *err);

#ifdef __cplusplus
}
#endif
#endif
