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
 * own nng context. orc_client_destroy must not race with calls in flight; to stop threads
 * blocked in calls (a long poll), call orc_client_close first, join them, then destroy.
 *
 * Ownership: strings passed in are borrowed for the duration of the call. Anything
 * returned through an out-pointer belongs to the caller and is released with the free
 * function named next to the call.
 *
 * Errors: each call returns an orc_code (ORC_OK on success) and, when err is not NULL,
 * fills it with the code and the server's (or the library's) message. ORC_UNAVAILABLE
 * means the server could not be reached.
 *
 * Structs that grow: a later release of the library (same SONAME) may add fields to any
 * struct here, at its end, and old programs keep working:
 *  - a struct the library returns (orc_server_info, orc_workflow_ref, orc_load_result,
 *    orc_notification_settings, orc_webhook_list, orc_webhook, orc_event_page, orc_event,
 *    the typed listings and their items, orc_job) is allocated by the library and
 *    released with the free function named next to the call: never allocate, copy by
 *    value, or take the sizeof of one. Its strings are pointers it owns, never fixed
 *    arrays (no length is baked into a program);
 *  - a struct a program passes in (options, parameters, filters) starts with `size_t size`:
 *    leave it 0 (or set it to sizeof the struct) when the program uses the fields of this
 *    release; a program that uses a field added later sets it to sizeof the struct as it
 *    was compiled. The library reads the fields that size covers, and refuses
 *    (ORC_INVALID_ARGUMENT) a field it does not know that is set rather than ignore it.
 * orc_error (error.h) is the exception: embedded by value everywhere, its layout is frozen.
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
    size_t size;                 /* 0, or sizeof(orc_client_opts) (see "Structs that grow") */
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
 * environment and stay valid while it is unchanged. A macro: it hands the library the size
 * of *opts as the program was compiled (orc_client_opts_env), which the library zeroes and
 * stores in opts->size, and writes no field beyond, so that a library with a larger struct
 * never writes past an older program's.
 */
#define orc_client_opts_from_env(opts) orc_client_opts_env((opts), sizeof *(opts))

/* orc_client_opts_env is orc_client_opts_from_env with the size of *opts given. */
void orc_client_opts_env(orc_client_opts *opts, size_t size);

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

/*
 * orc_server_info is what the server says of itself. Allocated by the library (fields are
 * only appended); release with orc_server_info_free.
 */
typedef struct orc_server_info {
    char *version;
    int schema_version;
    int64_t started_at_us;
    int64_t now_us;
    int auth_window_seconds;
    bool dev_mode;
} orc_server_info;

/* orc_health asks whether the server is serving (needs no credentials). */
int orc_health(orc_client *c, orc_error *err);

/* orc_server_info_get returns in *out the server's version and clock. */
int orc_server_info_get(orc_client *c, orc_server_info **out, orc_error *err);

/* orc_server_info_free releases info; NULL is allowed. */
void orc_server_info_free(orc_server_info *info);

/* ---- workflows --------------------------------------------------------------------- */

/*
 * orc_workflow_ref names a loaded workflow version. Allocated by the library (fields are only
 * appended); release with orc_workflow_ref_free.
 */
typedef struct orc_workflow_ref {
    char *workflow;
    char *version;
} orc_workflow_ref;

/* orc_workflow_ref_free releases ref; NULL is allowed. */
void orc_workflow_ref_free(orc_workflow_ref *ref);

/*
 * orc_workflow_load reads the workflow folder dir (workflow.json, <version>/version.json,
 * sample_data.json) and asks the server to load version `version` of it (admin scope).
 * Errors carry the upstream loader messages, e.g. "Version v1 already exists". On success,
 * *out (NULL allowed when not wanted; release with orc_workflow_ref_free) names what loaded.
 */
int orc_workflow_load(orc_client *c, const char *dir, const char *version, bool force,
                      orc_workflow_ref **out, orc_error *err);

/*
 * orc_load_result is one version's outcome in orc_workflow_load_all. Allocated by the
 * library (fields are only appended); strings are never NULL ("" when unset).
 */
typedef struct orc_load_result {
    char *app;
    char *workflow;
    char *version;
    orc_code status;
    char *message;
} orc_load_result;

/*
 * orc_workflow_load_all loads every version of every workflow folder in dirs. Each entry of
 * dirs is either a workflow folder (it has workflow.json) or a folder whose immediate
 * sub-folders are scanned for workflow folders. The same workflow slug in two folders is
 * refused as a whole ("Workflow <slug> present in multiple apps: a, b"). Otherwise each
 * version loads on its own: *results (an array of *n_results outcomes; release with
 * orc_load_results_free) lists every outcome, and the call returns ORC_OK even when some
 * versions were refused.
 */
int orc_workflow_load_all(orc_client *c, const char *const *dirs, size_t n_dirs, bool force,
                          orc_load_result ***results, size_t *n_results, orc_error *err);

/* orc_load_results_free releases the n results and the array; NULL is allowed. */
void orc_load_results_free(orc_load_result **results, size_t n);

/*
 * orc_workflow_sample_data loads the sample data declared by a loaded workflow (admin
 * scope). *users (release each string and the array with orc_free) lists the usernames. A
 * workflow whose sample data is upstream's Python sample_data_load_function has it run by an
 * executor: the call waits for that job (ORC_DEADLINE_EXCEEDED when no executor took it
 * within a minute; ORC_FAILED_PRECONDITION with the function's error when it failed).
 */
int orc_workflow_sample_data(orc_client *c, const char *workflow, const char *version,
                             char ***users, size_t *n_users, orc_error *err);

/*
 * orc_workflow_types_json returns in *json (release with orc_free) the upstream
 * workflow_types document:
 * {"workflows":{"<slug>":{"name":..,"versions":{"<vslug>":{"name":..,"description":..}}}}}
 */
int orc_workflow_types_json(orc_client *c, char **json, orc_error *err);

/* orc_workflow_version_info is one version of a loaded workflow (orc_workflows_list). */
typedef struct orc_workflow_version_info {
    char *slug;
    char *name;
    char *description;
} orc_workflow_version_info;

/* orc_workflow_info is one loaded workflow with its versions. */
typedef struct orc_workflow_info {
    char *slug;
    char *name;
    char *description;
    orc_workflow_version_info **versions;
    size_t n_versions;
} orc_workflow_info;

typedef struct orc_workflow_list {
    orc_workflow_info **workflows;
    size_t n_workflows;
} orc_workflow_list;

/*
 * orc_workflows_list returns in *out what orc_workflow_types_json tells, as structs
 * (allocated by the library, fields only appended; release with orc_workflow_list_free,
 * NULL allowed), with the workflows' descriptions too.
 */
int orc_workflows_list(orc_client *c, orc_workflow_list **out, orc_error *err);
void orc_workflow_list_free(orc_workflow_list *l);

/* ---- projects ---------------------------------------------------------------------- */

/*
 * orc_project_params describes a project to create. Strings are borrowed for the call.
 * task_class is "real" or "training" (NULL: "real"); project_data is the text of a JSON
 * object handed to every step (NULL or "": {}).
 */
typedef struct orc_project_params {
    size_t size;             /* 0, or sizeof(orc_project_params) */
    const char *workflow;    /* workflow slug */
    const char *version;     /* version slug */
    const char *description; /* the project's short description */
    int64_t priority;
    const char *task_class;
    const char *project_data;
} orc_project_params;

/*
 * orc_project_create creates a project of a loaded workflow version (project or admin
 * scope) and returns its id in *project_id. Its first tasks exist when the call returns.
 */
int orc_project_create(orc_client *c, const orc_project_params *p, int64_t *project_id,
                       orc_error *err);

/*
 * orc_project_info_json returns in *json (release with orc_free) the upstream
 * project_information document (spec 4.3) with the project's "status" label:
 * {"project":{..,"status":"Active"},"steps":[..],"tasks":{"<step>":{..}}}. An unknown id
 * gives ORC_NOT_FOUND "No project for given id".
 */
int orc_project_info_json(orc_client *c, int64_t project_id, char **json, orc_error *err);

/* orc_project_end aborts a project and every one of its tasks (admin scope). */
int orc_project_end(orc_client *c, int64_t project_id, orc_error *err);

/* orc_project_pause sets a project's status to Paused (admin scope). */
int orc_project_pause(orc_client *c, int64_t project_id, orc_error *err);

/* orc_project_resume sets a paused project's status back to Active (admin scope). */
int orc_project_resume(orc_client *c, int64_t project_id, orc_error *err);

/* ---- workers (admin) ------------------------------------------------------------------ */

/*
 * orc_worker_params describes a worker to add. Strings are borrowed; the optional ones may
 * be NULL. The password travels over the authenticated channel and is hashed by the
 * server.
 */
typedef struct orc_worker_params {
    size_t size; /* 0, or sizeof(orc_worker_params) */
    const char *username;
    const char *password;
    const char *first_name;
    const char *last_name;
    const char *email;
} orc_worker_params;

/* orc_worker_add creates a worker (a user account) and returns its id in *worker_id. */
int orc_worker_add(orc_client *c, const orc_worker_params *p, int64_t *worker_id, orc_error *err);

/*
 * orc_worker_certify grants username (or, with revoke, takes away) the certification
 * `certification` of workflow `workflow` for role "entry_level" or "reviewer" and
 * task_class "real" or "training" (NULL: "real"). Only real certifications make a worker
 * eligible for tasks (spec 3.1).
 */
int orc_worker_certify(orc_client *c, const char *username, const char *workflow,
                       const char *certification, const char *role, const char *task_class,
                       bool revoke, orc_error *err);

/*
 * orc_worker_set_admin grants username the project admin role (or, with admin false, takes
 * it away): the worker may then manage projects from the web app (upstream's project_admins
 * group). Admin scope.
 */
int orc_worker_set_admin(orc_client *c, const char *username, bool admin, orc_error *err);

/*
 * orc_worker_set_password sets username's password (hashed by the coordinator) and signs the
 * worker out of every session: how workers imported from upstream, who come without one,
 * get to log in. Admin scope.
 */
int orc_worker_set_password(orc_client *c, const char *username, const char *password,
                            orc_error *err);

/* ---- coming from upstream --------------------------------------------------------------- */

/* The largest fixture orc_import_fixture sends (the coordinator's limit too). */
#define ORC_IMPORT_MAX_BYTES (16u * 1024 * 1024)

/*
 * orc_import_fixture imports an upstream database: fixture_json (len bytes, borrowed) is the
 * text `manage.py dumpdata orchestra auth.User` writes. All of it is imported in one
 * transaction, or nothing (the error names the record: "orchestra.task pk 12: ..."); a second
 * import of the same records changes nothing. On success *report (release with orc_free) is
 * a JSON document: {"counts":{"<model>":{"created":N,"existing":N},...},
 * "skipped":{"<model>":N,...},"users_without_password":[...],"warnings":[...]}. Admin scope.
 */
int orc_import_fixture(orc_client *c, const char *fixture_json, size_t len, char **report,
                       orc_error *err);

/* ---- worker sessions ------------------------------------------------------------------- */

/*
 * orc_login checks a worker's username and password and opens a session. On success the
 * session token (release with orc_free) is returned in *token when token is not NULL, its
 * expiry (us since the epoch) in *expires_at_us when not NULL, and the token is installed
 * on c for the calls that follow. A wrong username or password gives ORC_UNAUTHENTICATED.
 */
int orc_login(orc_client *c, const char *username, const char *password, char **token,
              int64_t *expires_at_us, orc_error *err);

/*
 * orc_logout revokes the session whose token is installed on c and clears it from c. A
 * token the server no longer knows gives ORC_UNAUTHENTICATED (and is cleared all the same).
 */
int orc_logout(orc_client *c, orc_error *err);

/* ---- the worker's own tasks (session token) --------------------------------------------- */

/*
 * orc_dashboard_json returns in *json (release with orc_free) the calling worker's
 * dashboard (spec 5):
 * {"tasks":{"in_progress":[],"returned":[],"pending_review":[],"pending_processing":[],
 *  "complete":[]},"preventNew":b,"reviewerStatus":b}; each entry is
 * {"id","assignment_id","step","project","detail"}.
 */
int orc_dashboard_json(orc_client *c, char **json, orc_error *err);

/*
 * orc_task_new_json asks for a new task for role "entry_level" or "reviewer" and returns
 * in *json (release with orc_free) {"id","assignment_id","step","project","detail"}.
 * Errors carry the upstream messages ("No task", "Worker not certified for this task.").
 */
int orc_task_new_json(orc_client *c, const char *role, char **json, orc_error *err);

/*
 * orc_task_info_json returns in *json (release with orc_free) the
 * task_assignment_information document of the worker's assignment on task_id.
 */
int orc_task_info_json(orc_client *c, int64_t task_id, char **json, orc_error *err);

/* orc_task_save stores data_json (a JSON object's text) as the worker's work in progress. */
int orc_task_save(orc_client *c, int64_t task_id, const char *data_json, orc_error *err);

/*
 * orc_task_submit submits the worker's assignment on task_id with data_json (NULL or "":
 * the data last saved). command is "submit" or "accept" (the work goes up for review or
 * completes) or "reject" (a reviewer sends it back down one level).
 */
int orc_task_submit(orc_client *c, int64_t task_id, const char *data_json, const char *command,
                    orc_error *err);

/* ---- time tracking (worker session) ------------------------------------------------------ */

/*
 * The worker's timer, time entries and timecard (spec section 5). Documents come back in
 * *json (release with orc_free). A timer is {"id","worker","assignment","start_time",
 * "stop_time","description"} (plus "time_worked" in Python timedelta text while it runs);
 * an entry is {"id","date","time_worked","description","assignment"} with time_worked
 * "HH:MM:SS" ("D HH:MM:SS" past a day, ".ffffff" when there is a sub-second part). Dates are
 * "YYYY-MM-DD"; durations given are "HH:MM[:SS[.ffffff]]". Optional strings may be NULL and
 * an assignment id 0 means none. An assignment that is not the worker's own is refused
 * with "Worker is not assigned to this task id.".
 */

/* orc_timer_start_json starts the timer (optionally attached and described); *json: the timer.
 * A running timer gives ORC_FAILED_PRECONDITION "Timer has already started". */
int orc_timer_start_json(orc_client *c, int64_t assignment_id, const char *description, char **json,
                         orc_error *err);

/* orc_timer_stop_json stops the timer; *json: the new entry, dated by the UTC date of the
 * start. A stopped timer gives ORC_FAILED_PRECONDITION "Timer not started". */
int orc_timer_stop_json(orc_client *c, char **json, orc_error *err);

/* orc_timer_status_json: *json is the timer. */
int orc_timer_status_json(orc_client *c, char **json, orc_error *err);

/* orc_timer_update attaches assignment_id (0: keep) or detaches, and sets description
 * (NULL: keep). */
int orc_timer_update(orc_client *c, int64_t assignment_id, bool detach, const char *description,
                     orc_error *err);

/* orc_time_entry_add_json adds an entry by hand; *json: the entry. */
int orc_time_entry_add_json(orc_client *c, const char *date, const char *time_worked,
                            const char *description, int64_t assignment_id, char **json,
                            orc_error *err);

/* orc_time_entry_list_json: *json is {"entries":[..]}, the worker's entries dated from..to
 * (inclusive; NULL: unbounded) and, when assignment_id > 0, of that assignment. */
int orc_time_entry_list_json(orc_client *c, const char *from, const char *to, int64_t assignment_id,
                             char **json, orc_error *err);

/* orc_time_entry_change lists what orc_time_entry_edit_json changes (NULL / 0: keep). */
typedef struct orc_time_entry_change {
    size_t size; /* 0, or sizeof(orc_time_entry_change) */
    const char *date;
    const char *time_worked;
    const char *description;
    int64_t assignment_id;
    bool detach; /* remove the assignment */
} orc_time_entry_change;

/* orc_time_entry_edit_json changes the worker's own entry id; *json: the entry. Another
 * worker's entry gives ORC_PERMISSION_DENIED, a missing or deleted one ORC_NOT_FOUND. */
int orc_time_entry_edit_json(orc_client *c, int64_t id, const orc_time_entry_change *ch,
                             char **json, orc_error *err);

/* orc_time_entry_delete deletes (softly) the worker's own entry id. */
int orc_time_entry_delete(orc_client *c, int64_t id, orc_error *err);

/*
 * orc_timecard_json: *json is the timecard of from..to (NULL: the current ISO week, Monday
 * to Sunday, UTC): {"days":[{"date","entries":[{...entry,"rounded":"HH:MM"}],
 * "total":"HH:MM"|null,"incomplete":bool}]}, every date of the range in order.
 */
int orc_timecard_json(orc_client *c, const char *from, const char *to, char **json, orc_error *err);

/* ---- project management (admin) --------------------------------------------------------- */

/*
 * orc_task_assign gives task_id to username (or, for a task already being worked on,
 * replaces its current worker) and returns the assignment id in *assignment_id.
 */
int orc_task_assign(orc_client *c, int64_t task_id, const char *username, int64_t *assignment_id,
                    orc_error *err);

/* orc_assignment_reassign hands an existing assignment, its data and history, to username. */
int orc_assignment_reassign(orc_client *c, int64_t assignment_id, const char *username,
                            orc_error *err);

/* orc_task_skip completes task_id on the spot and moves the project on. */
int orc_task_skip(orc_client *c, int64_t task_id, orc_error *err);

/*
 * orc_task_revert reverts task_id to iteration iteration_id (with before: to just before
 * it) and returns the audit in *audit_json (release with orc_free; NULL allowed when not
 * wanted). Without commit nothing changes: the audit says what would.
 */
int orc_task_revert(orc_client *c, int64_t task_id, int64_t iteration_id, bool before, bool commit,
                    char **audit_json, orc_error *err);

/*
 * orc_check_consistency_json checks the lifecycle invariants of every task and returns in
 * *json (release with orc_free) {"violations":[{"task_id":N,"message":".."}]}, with their
 * number in *n_violations when not NULL. Violations are not an error: the call returns
 * ORC_OK.
 */
int orc_check_consistency_json(orc_client *c, char **json, size_t *n_violations, orc_error *err);

/* orc_violation is one broken invariant of orc_check_consistency. */
typedef struct orc_violation {
    int64_t task_id;
    char *message;
} orc_violation;

typedef struct orc_violation_list {
    orc_violation **violations;
    size_t n_violations;
} orc_violation_list;

/*
 * orc_check_consistency is orc_check_consistency_json as a list in *out (release with
 * orc_violation_list_free; NULL allowed); an empty list when every invariant holds.
 */
int orc_check_consistency(orc_client *c, orc_violation_list **out, orc_error *err);
void orc_violation_list_free(orc_violation_list *l);

/* ---- listings ----------------------------------------------------------------------------- */

/*
 * orc_list_filter selects one page of a listing: rows with ids above after_id (0: from the
 * start), at most limit of them (0: 100, at most 1000), and the filters a listing takes
 * (NULL or 0: none). Strings are borrowed for the call.
 */
typedef struct orc_list_filter {
    size_t size; /* 0, or sizeof(orc_list_filter) */
    int64_t after_id;
    int limit;
    const char *status;   /* projects: Active|Paused|Aborted|Completed; tasks: a task status */
    const char *workflow; /* projects: a workflow slug */
    int64_t project_id;   /* tasks: one project's */
} orc_list_filter;

/*
 * The listings (admin scope; projects also with the project scope) return one page in *json
 * (release with orc_free): {"<kind>":[...],"next_after_id":N}, N the after_id of the next
 * page, 0 at the end. Times are RFC 3339 UTC strings (null when unset).
 *  - orc_project_list_json: {"projects":[{"id","workflow","version","description","priority",
 *    "status","task_class","start"}]};
 *  - orc_worker_list_json: {"workers":[{"id","username","first_name","last_name","email",
 *    "is_admin","has_password","certifications":["workflow/cert role class"]}]};
 *  - orc_task_list_json: {"tasks":[{"id","project_id","step","is_human","status","start",
 *    "worker"}]} (worker: the latest assignment's, null when none);
 *  - orc_certification_list_json (all at once; workflow NULL: every workflow):
 *    {"certifications":[{"id","workflow","slug","name","description","required":[slugs]}]};
 *  - orc_key_list_json (all at once, never a secret): {"keys":[{"key_id","name","scopes",
 *    "created","revoked"}]}.
 */
int orc_project_list_json(orc_client *c, const orc_list_filter *f, char **json, orc_error *err);
int orc_worker_list_json(orc_client *c, const orc_list_filter *f, char **json, orc_error *err);
int orc_task_list_json(orc_client *c, const orc_list_filter *f, char **json, orc_error *err);
int orc_certification_list_json(orc_client *c, const char *workflow, char **json, orc_error *err);
int orc_key_list_json(orc_client *c, char **json, orc_error *err);

/*
 * The typed listings: the same pages as structs (allocated by the library, fields only
 * appended; strings never NULL, "" when unset; times in us since the epoch, 0 when unset).
 * next_after_id is the after_id of the next page, 0 at the end. Release with the list's free
 * function (NULL allowed).
 */
typedef struct orc_project_summary {
    int64_t id;
    char *workflow; /* slug */
    char *version;  /* slug */
    char *description;
    int64_t priority;
    char *status;     /* "Active", "Paused", "Aborted", "Completed" */
    char *task_class; /* "real" or "training" */
    int64_t start_us;
} orc_project_summary;

typedef struct orc_project_list {
    orc_project_summary **projects;
    size_t n_projects;
    int64_t next_after_id;
} orc_project_list;

/* orc_projects_list is orc_project_list_json as an orc_project_list in *out. */
int orc_projects_list(orc_client *c, const orc_list_filter *f, orc_project_list **out,
                      orc_error *err);
void orc_project_list_free(orc_project_list *l);

typedef struct orc_task_summary {
    int64_t id;
    int64_t project_id;
    char *step; /* slug */
    bool is_human;
    char *status; /* the task status label */
    int64_t start_us;
    char *worker; /* the latest assignment's worker, "" when none */
} orc_task_summary;

typedef struct orc_task_list {
    orc_task_summary **tasks;
    size_t n_tasks;
    int64_t next_after_id;
} orc_task_list;

/* orc_tasks_list is orc_task_list_json as an orc_task_list in *out. */
int orc_tasks_list(orc_client *c, const orc_list_filter *f, orc_task_list **out, orc_error *err);
void orc_task_list_free(orc_task_list *l);

typedef struct orc_worker_summary {
    int64_t id;
    char *username;
    char *first_name;
    char *last_name;
    char *email;
    bool is_admin;
    bool has_password;
    char **certifications; /* "workflow/cert role class" each */
    size_t n_certifications;
} orc_worker_summary;

typedef struct orc_worker_list {
    orc_worker_summary **workers;
    size_t n_workers;
    int64_t next_after_id;
} orc_worker_list;

/* orc_workers_list is orc_worker_list_json as an orc_worker_list in *out. */
int orc_workers_list(orc_client *c, const orc_list_filter *f, orc_worker_list **out,
                     orc_error *err);
void orc_worker_list_free(orc_worker_list *l);

typedef struct orc_certification_info {
    int64_t id;
    char *workflow; /* slug */
    char *slug;
    char *name;
    char *description;
    char **required; /* the slugs of the certifications it requires */
    size_t n_required;
} orc_certification_info;

typedef struct orc_certification_list {
    orc_certification_info **certifications;
    size_t n_certifications;
} orc_certification_list;

/* orc_certifications_list is orc_certification_list_json as a list in *out (all at once). */
int orc_certifications_list(orc_client *c, const char *workflow, orc_certification_list **out,
                            orc_error *err);
void orc_certification_list_free(orc_certification_list *l);

/* orc_key_info is an API key as orc_key_list_json shows it (never its secret). */
typedef struct orc_key_info {
    char *key_id;
    char *name;
    char **scopes;
    size_t n_scopes;
    int64_t created_us;
    int64_t revoked_us; /* 0: not revoked */
} orc_key_info;

typedef struct orc_key_list {
    orc_key_info **keys;
    size_t n_keys;
} orc_key_list;

/* orc_keys_list is orc_key_list_json as an orc_key_list in *out (all at once). */
int orc_keys_list(orc_client *c, orc_key_list **out, orc_error *err);
void orc_key_list_free(orc_key_list *l);

/* ---- machine-step jobs (admin) ---------------------------------------------------------- */

/*
 * orc_job_list_json returns in *json (release with orc_free) the jobs of project_id (0:
 * every project), by id:
 * {"jobs":[{"job_id","project_id","task_id","step","function","status","attempts",
 *  "max_attempts","last_error","next_attempt_at","executor_id"}]}; status is "queued",
 * "leased", "completed", "failed" or "cancelled", next_attempt_at is RFC 3339 UTC (null: none).
 */
int orc_job_list_json(orc_client *c, int64_t project_id, char **json, orc_error *err);

/*
 * orc_job_info is one job of orc_jobs_list, the fields of orc_job_list_json (allocated by the
 * library, fields only appended; strings never NULL; next_attempt_us 0: none).
 */
typedef struct orc_job_info {
    int64_t job_id;
    int64_t project_id;
    int64_t task_id;
    char *step;
    char *function;
    char *status; /* "queued", "leased", "completed", "failed" or "cancelled" */
    int attempts;
    int max_attempts;
    char *last_error;
    int64_t next_attempt_us;
    char *executor_id;
} orc_job_info;

typedef struct orc_job_info_list {
    orc_job_info **jobs;
    size_t n_jobs;
} orc_job_info_list;

/* orc_jobs_list is orc_job_list_json as an orc_job_info_list in *out (release with
 * orc_job_info_list_free; NULL allowed). */
int orc_jobs_list(orc_client *c, int64_t project_id, orc_job_info_list **out, orc_error *err);
void orc_job_info_list_free(orc_job_info_list *l);

/*
 * orc_job_retry queues the failed machine task task_id again for a fresh round of
 * attempts (admin scope).
 */
int orc_job_retry(orc_client *c, int64_t task_id, orc_error *err);

/* ---- shutting a shared handle down ---------------------------------------------------------- */

/*
 * orc_client_close closes c's connection without freeing c: every call in flight in other
 * threads (a parked long poll included) returns ORC_UNAVAILABLE promptly, and every later
 * call fails the same way at once. It may race with calls in flight; that is its purpose.
 * The handle stays allocated until orc_client_destroy, which must come after every thread
 * has left its calls. Calling it twice, or on NULL, is harmless.
 */
void orc_client_close(orc_client *c);

/* ---- events ------------------------------------------------------------------------------ */

/*
 * Every committed change appends events with a global, gap-free sequence number (seq, from
 * 1). Each event carries topics ("project.<id>.", "worker.<username>.", "workflow.<slug>.",
 * "step.<slug>."); a topic prefix selects the events having at least one topic that starts
 * with it ("" selects all). History is read with orc_events_list; live delivery in order,
 * exactly once, goes through an orc_subscription.
 */

/*
 * orc_event is one event, allocated by the library (fields are only appended). Every string
 * is owned by the event, never NULL ("" when unset), and released with it by orc_event_free.
 */
typedef struct orc_event {
    int64_t seq;
    char *type;         /* "task.status_changed", "notification.assigned", ... */
    int64_t time_us;    /* time of the change (the request that made it), us since epoch */
    char *topic;        /* the first of the event's topics matching the filter */
    int64_t project_id; /* 0 when none */
    int64_t task_id;    /* 0 when none */
    char *step;
    char *workflow;
    char *worker; /* username, when a worker is concerned */
    char *old_status;
    char *new_status;
    char *payload; /* JSON object text with the event's other fields ("{}" when none) */
    /* Received live: an upper bound of the seq of the previous event on `topic`, as the
     * coordinator sent it with this copy; -1 when not known (orc_events_list, the first
     * event of a topic, a coordinator that does not send it). */
    int64_t topic_prev_seq;
} orc_event;

/* orc_event_free releases ev and its strings; NULL is allowed. */
void orc_event_free(orc_event *ev);

/*
 * orc_event_page is one answer of orc_events_list, allocated by the library (fields are only
 * appended).
 */
typedef struct orc_event_page {
    orc_event **events; /* in seq order; owned by the page */
    size_t n_events;
    int64_t last_seq;  /* the newest committed seq when the server answered */
    int64_t first_seq; /* the oldest seq the server still keeps */
} orc_event_page;

/* orc_event_page_free releases page and its events; NULL is allowed. */
void orc_event_page_free(orc_event_page *page);

/*
 * orc_events_list reads up to limit (0: the server's default, 1000; at most 10000) events
 * with seq > after_seq having a topic that starts with topic_prefix (NULL or "": all) into
 * *page (release with orc_event_page_free; NULL on error). Fewer than limit events means the
 * history up to page->last_seq has been read whole. A range the server no longer keeps (retention)
 * gives ORC_OUT_OF_RANGE.
 */
int orc_events_list(orc_client *c, int64_t after_seq, const char *topic_prefix, int limit,
                    orc_event_page **page, orc_error *err);

/*
 * orc_subscribe_opts configures orc_subscription_new; zero what you do not set. Strings are
 * copied.
 */
typedef struct orc_subscribe_opts {
    size_t size;              /* 0, or sizeof(orc_subscribe_opts) */
    const char *events_url;   /* NULL: $ORCHESTRA_EVENTS, else ORC_DEFAULT_EVENTS_URL */
    const char *topic_prefix; /* NULL or "": every event */
    int64_t after_seq;        /* resume point: deliver the events with seq > after_seq */
    const char *tls_ca_file;  /* PEM CA bundle for a tls+tcp:// events URL */
    int page_size;            /* events per ListEvents call; 0: 1000 */
    int idle_replay_ms;       /* re-read the history after this long without news; 0: 2000 */
} orc_subscribe_opts;

typedef struct orc_subscription orc_subscription;

/*
 * orc_subscription_new subscribes to the live feed (a SUB socket dialed to events_url, which
 * redials by itself) and reads the history through rpc (borrowed: it must outlive the
 * subscription; other threads may use it too). The feed is lossy by design; the
 * subscription makes up for it: events ahead of the next expected one are held back, a gap,
 * a reconnection, the catch-up from after_seq and a quiet spell are all resolved by
 * ListEvents, and duplicates (an event is published once per topic) are dropped.
 * *out is released with orc_subscription_destroy. One thread at a time may use it.
 */
int orc_subscription_new(const orc_subscribe_opts *opts, orc_client *rpc, orc_subscription **out,
                         orc_error *err);

/*
 * orc_subscription_next returns in *ev (release with orc_event_free) the next matching event
 * in seq order, each exactly once, waiting up to timeout_ms (< 0: without limit; 0: only
 * what is at hand). A history read may add up to the rpc client's call timeout. Returns
 * ORC_DEADLINE_EXCEEDED when nothing new came in time, ORC_UNAVAILABLE when the server could
 * not be reached meanwhile, ORC_OUT_OF_RANGE when events to deliver were pruned by the
 * server's retention, or the server's refusal of ListEvents. No error loses the position:
 * calling again carries on from the same place.
 */
int orc_subscription_next(orc_subscription *s, int timeout_ms, orc_event **ev, orc_error *err);

/*
 * orc_subscription_last_seq returns the seq of the last event delivered (after_seq before
 * the first): the point to store and resume from.
 */
int64_t orc_subscription_last_seq(const orc_subscription *s);

/*
 * orc_subscription_destroy ends the subscription and frees s; NULL is allowed. Its feed
 * connection is unsubscribed and kept for the next subscription to the same URL rather than
 * closed (client/README.md says why); it costs an idle connection, no memory per event.
 */
void orc_subscription_destroy(orc_subscription *s);

/*
 * orc_event_json renders ev as the JSON object `orchestra events --json` prints (and
 * orchestra-notify posts to webhooks): {"seq","type","topic","time":"...Z"}, then the set
 * columns (project_id, task_id, step, workflow, worker, old_status, new_status), then the
 * payload's fields (never overriding those before), on one line. *out (release with orc_free)
 * holds the text. ORC_INVALID_ARGUMENT when the event's text is not UTF-8.
 */
int orc_event_json(const orc_event *ev, char **out, orc_error *err);

/* ---- notifications (orchestra-notify) ---------------------------------------------------- */

/*
 * Upstream's six e-mails (spec 3.7), the kinds a worker may opt out of, named as the events
 * "notification.<kind>": assigned, under_review, returned, ready_for_rereview, complete, ended.
 */
#define ORC_NOTIFY_KINDS 6

/* orc_notify_kind_name is the name of kind (0 .. ORC_NOTIFY_KINDS-1); NULL otherwise. */
const char *orc_notify_kind_name(int kind);

/* orc_notify_kind_parse is the kind named name, or -1. */
int orc_notify_kind_parse(const char *name);

/*
 * orc_notification_settings is a worker's address and e-mail preferences, allocated by the
 * library (fields are only appended); release with orc_notification_settings_free.
 */
typedef struct orc_notification_settings {
    char *username;
    char *email; /* "" when the worker has none */
    char *first_name;
    char *last_name;
    /* email_on[k] for the kinds k < n_kinds this library knows (ORC_NOTIFY_KINDS when it was
     * built): false when the worker opted out of that kind of e-mail */
    const bool *email_on;
    size_t n_kinds;
} orc_notification_settings;

/* orc_notification_settings_free releases s; NULL is allowed. */
void orc_notification_settings_free(orc_notification_settings *s);

/*
 * orc_notification_settings_get returns username's settings in *out: a worker session reads
 * its own (username NULL or "" or its own name); an admin or notify key names anyone.
 */
int orc_notification_settings_get(orc_client *c, const char *username,
                                  orc_notification_settings **out, orc_error *err);

/*
 * orc_notification_settings_set changes the kinds k < n_kinds with change[k] set to
 * email_on[k] (the others stay; n_kinds above the kinds this library knows is
 * ORC_INVALID_ARGUMENT) for username (as orc_notification_settings_get picks it; an admin key
 * for anyone), and returns in *out (NULL allowed) the settings afterwards.
 */
int orc_notification_settings_set(orc_client *c, const char *username, const bool *change,
                                  const bool *email_on, size_t n_kinds,
                                  orc_notification_settings **out, orc_error *err);

/*
 * orc_webhook is one webhook: what was created (url, topic_prefix, the secret when it was
 * asked for, else "") and the delivery state orchestra-notify last reported. Allocated by the
 * library (fields are only appended); it and its strings are owned by the list it came in.
 */
typedef struct orc_webhook {
    int64_t id;
    char *url;
    char *topic_prefix;
    char *secret;
    int64_t created_at_us;
    int64_t start_seq;            /* deliveries begin after this seq */
    int64_t redeliver_generation; /* redeliveries asked for so far */
    int64_t redeliver_since;      /* the last one: -1 dead letters, else after this seq */
    char *state;                  /* "" until reported: "active", "retrying", ... */
    char *last_error;
    int64_t delivered_seq; /* every matching event up to here is done with */
    int64_t delivered;     /* deliveries accepted (2xx) */
    int64_t dead_lettered; /* events given up on and not redelivered since */
    int64_t attempts;      /* failed attempts of the event being retried */
    int64_t next_attempt_us;
    int64_t status_at_us; /* when the notifier reported; 0: never */
} orc_webhook;

/* orc_webhook_list holds the webhooks of orc_webhooks_list (allocated by the library). */
typedef struct orc_webhook_list {
    orc_webhook **webhooks;
    size_t n_webhooks;
} orc_webhook_list;

/*
 * orc_webhook_create adds a webhook (admin scope): every event committed from now on having a
 * topic that starts with topic_prefix ("" or NULL: every event) is POSTed to url, signed with
 * secret. *id and *start_seq (either may be NULL) receive its id and the seq it starts after.
 */
int orc_webhook_create(orc_client *c, const char *url, const char *topic_prefix, const char *secret,
                       int64_t *id, int64_t *start_seq, orc_error *err);

/*
 * orc_webhooks_list returns the live webhooks in id order in *out (release with
 * orc_webhook_list_free); with include_secrets (notify or admin scope) their secrets too.
 */
int orc_webhooks_list(orc_client *c, bool include_secrets, orc_webhook_list **out, orc_error *err);

/* orc_webhook_list_free releases l and its webhooks (secrets wiped); NULL is allowed. */
void orc_webhook_list_free(orc_webhook_list *l);

/* orc_webhook_delete removes webhook id (admin scope): nothing more is delivered to it. */
int orc_webhook_delete(orc_client *c, int64_t id, orc_error *err);

/*
 * orc_webhook_redeliver asks orchestra-notify to deliver again (admin scope): every matching
 * event after since (since >= 0), or the dead-lettered events (since < 0). *generation (may
 * be NULL) receives the request's number.
 */
int orc_webhook_redeliver(orc_client *c, int64_t id, int64_t since, int64_t *generation,
                          orc_error *err);

/*
 * orc_webhook_status is what orchestra-notify reports of one webhook (ReportWebhookStatus,
 * notify or admin scope); strings are borrowed.
 */
typedef struct orc_webhook_status {
    size_t size; /* 0, or sizeof(orc_webhook_status) */
    int64_t id;
    const char *state;
    const char *last_error;
    int64_t delivered_seq;
    int64_t delivered;
    int64_t dead_lettered;
    int64_t attempts;
    int64_t next_attempt_us;
} orc_webhook_status;

/* orc_webhook_report stores s on the coordinator, where orc_webhooks_list shows it. */
int orc_webhook_report(orc_client *c, const orc_webhook_status *s, orc_error *err);

#ifdef __cplusplus
}
#endif
#endif
