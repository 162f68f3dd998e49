/*
 * harness.h: real orchestrad processes for the integration tests.
 *
 * orc_harness_start makes a temporary folder, picks free loopback ports, spawns
 * $ORC_ORCHESTRAD on a fresh database in that folder (stdout and stderr go to
 * <dir>/orchestrad.log) and waits until Health answers through the client library.
 * orc_harness_cli runs $ORC_CLI against it, orc_harness_orchestrad_admin runs the daemon's
 * offline commands (`keys ...`) on the same database, orc_harness_client opens a client.
 *
 * Every wait is bounded. Functions returning int give 0 (or an exit status) on success and
 * -1 on failure after printing why to stderr, so tests write
 *     assert_int_equal(orc_harness_start(&h, NULL), 0);
 * Call them from the test's main thread only (they fork; cmocka asserts are not used).
 * Include after cmocka's required headers.
 */
#ifndef ORC_TEST_HARNESS_H
#define ORC_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "orchestra/client.h"

/* The example key seeded by `orchestrad --dev`. */
#define ORC_TEST_DEV_KEY "orchestra-user"
#define ORC_TEST_DEV_SECRET "CHANGEME"

/* Bounds of the harness's waits. */
#define ORC_HARNESS_START_TIMEOUT_MS 15000
#define ORC_HARNESS_STOP_TIMEOUT_MS 15000
#define ORC_HARNESS_CMD_TIMEOUT_MS 60000

#define ORC_HARNESS_MAX_ARGS 16

/*
 * orc_harness_opts changes how the daemon is started; zero what you do not set (a NULL
 * opts means all defaults). Strings are copied by orc_harness_start.
 */
typedef struct orc_harness_opts {
    /* "tcp" (default), "ipc" (ipc://<dir>/rpc.sock) or "tls+tcp" (needs tls_cert/key; the
     * event feed is then tls+tcp:// too, tcp:// otherwise). */
    const char *rpc_scheme;
    const char *tls_cert; /* PEM certificate and key: --tls-cert / --tls-key */
    const char *tls_key;
    const char *tls_ca_file; /* CA the harness's clients and CLI runs trust */
    /* More orchestrad arguments, NULL-terminated (e.g. "--max-message", "65536"). */
    const char *extra_args[ORC_HARNESS_MAX_ARGS];
} orc_harness_opts;

/* orc_harness is one daemon and its folder. Zero it before the first start. */
typedef struct orc_harness {
    char dir[256];       /* the temporary folder */
    char db_path[320];   /* <dir>/orchestra.db, or a postgresql:// URL (ORC_TEST_STORE) */
    char pg_db[64];      /* the PostgreSQL database made for this harness, "" on SQLite */
    char log_path[320];  /* <dir>/orchestrad.log (all runs appended) */
    char rpc_url[400];   /* what clients dial */
    char events_url[64]; /* the PUB endpoint */
    char tls_ca_file[256];
    pid_t pid;    /* the running daemon, 0 when none */
    char *scheme; /* owned copies of the options */
    char *tls_cert;
    char *tls_key;
    char *extra_args[ORC_HARNESS_MAX_ARGS];
} orc_harness;

/*
 * orc_harness_start creates the folder and ports and starts the daemon (`--dev --db ...
 * --rpc ... --events ... --log-level debug` plus opts), then waits up to 15 s for Health.
 * If the daemon exits first its log is printed. 0 on success; either way release with
 * orc_harness_cleanup (the folder, log included, is kept until then). ORC_TEST_LOGS=1 in
 * the environment prints the log at every stop.
 */
int orc_harness_start(orc_harness *h, const orc_harness_opts *opts);

/*
 * orc_harness_stop sends SIGTERM and waits up to 15 s (then SIGKILL). Returns the exit
 * status (0 for a clean stop, 128+signal when killed by one) or -1 when it had to be
 * killed; anything but 0 prints the daemon's log.
 */
int orc_harness_stop(orc_harness *h);

/* orc_harness_relaunch starts a stopped daemon again on the same database and ports. */
int orc_harness_relaunch(orc_harness *h);

/* orc_harness_restart stops the daemon (it must exit 0) and relaunches it. 0 on success. */
int orc_harness_restart(orc_harness *h);

/*
 * orc_harness_cleanup kills a daemon still running (printing its log), removes the folder
 * and frees what the harness holds. NULL and a never-started harness are allowed.
 */
void orc_harness_cleanup(orc_harness *h);

/*
 * The store. ORC_TEST_STORE=postgres in the environment (CTest sets it for the tests labelled
 * postgres) makes orc_harness_start create a database of its own in the shared test cluster
 * (pg_cluster.h) instead of <dir>/orchestra.db; orc_harness_cleanup drops it.
 */
bool orc_test_store_pg(void);
int orc_harness_store_setup(orc_harness *h);
void orc_harness_store_cleanup(orc_harness *h);

/*
 * orc_harness_sql runs one query on the harness's database (read-only on SQLite), whichever
 * store it is, and returns its rows as text (malloc'd): one line per row, columns separated
 * by '|', NULL as "" and booleans as 1 or 0. NULL after printing why on failure.
 */
char *orc_harness_sql(const orc_harness *h, const char *sql);

/* orc_harness_read_log returns the daemon's log so far (malloc'd; NULL if unreadable). */
char *orc_harness_read_log(const orc_harness *h);

/* orc_harness_print_log copies the daemon's log to stderr, framed. */
void orc_harness_print_log(const orc_harness *h);

/*
 * orc_harness_client opens a client on the daemon with these credentials (key NULL: none)
 * and the harness's CA; *out is released with orc_client_destroy. Returns an orc_code.
 */
int orc_harness_client(const orc_harness *h, const char *key, const char *secret, orc_client **out);

/* orc_harness_client_dev is orc_harness_client with the --dev key. */
int orc_harness_client_dev(const orc_harness *h, orc_client **out);

/* orc_harness_client_timeout is orc_harness_client with a per-call timeout (ms). */
int orc_harness_client_timeout(const orc_harness *h, const char *key, const char *secret,
                               int timeout_ms, orc_client **out);

/*
 * orc_harness_cli runs `$ORC_CLI --rpc <url> arg...` (NULL-terminated) with the --dev
 * key in ORCHESTRA_API_KEY/ORCHESTRA_API_SECRET (every other ORCHESTRA_* variable removed),
 * stdin_text on stdin (NULL: empty), and waits up to 60 s. *exit_code receives its exit
 * status; *out and *err (malloc'd, NUL-terminated, never NULL on success) its output.
 * Returns 0 when the program ran to its end, -1 otherwise (timeout: it is killed).
 */
int orc_harness_cli(const orc_harness *h, const char *stdin_text, int *exit_code, char **out,
                    char **err, const char *arg, ...) __attribute__((sentinel));

/* orc_harness_cli_as is orc_harness_cli with other credentials (key NULL: none at all). */
int orc_harness_cli_as(const orc_harness *h, const char *key, const char *secret,
                       const char *stdin_text, int *exit_code, char **out, char **err,
                       const char *arg, ...) __attribute__((sentinel));

/* orc_harness_cli_argv is orc_harness_cli_as with the arguments in a NULL-terminated array. */
int orc_harness_cli_argv(const orc_harness *h, const char *key, const char *secret,
                         const char *stdin_text, int *exit_code, char **out, char **err,
                         const char *const *args);

/*
 * orc_harness_call is one CLI run for orc_harness_cli_many: credentials (key NULL: none),
 * more environment variables as "K=V" strings (NULL-terminated; NULL: none; they may set
 * ORCHESTRA_* variables, e.g. ORCHESTRA_SESSION=<file> for a worker's own session), the
 * text on stdin (NULL: empty) and the arguments after `--rpc <url>` (NULL-terminated).
 * Every pointer is borrowed for the duration of the call.
 */
typedef struct orc_harness_call {
    const char *key;
    const char *secret;
    const char *const *env;
    const char *stdin_text;
    const char *const *args;
} orc_harness_call;

/* orc_test_result is the outcome of one program: as orc_test_run's outputs. */
typedef struct orc_test_result {
    int exit_code;
    char *out; /* malloc'd; release with orc_test_result_free */
    char *err;
} orc_test_result;

/* orc_test_result_free frees the outputs of r (NULL allowed). */
void orc_test_result_free(orc_test_result *r);

/*
 * orc_harness_cli_many runs n CLI programs concurrently: every one is started (forked and
 * exec'd) before any is read or waited for, so they race for real. results[i] receives
 * calls[i]'s exit status and output. Waits up to 60 s in all; returns 0 when every program
 * ran to its end, -1 otherwise (those still running are killed).
 */
int orc_harness_cli_many(const orc_harness *h, size_t n, const orc_harness_call *calls,
                         orc_test_result *results);

/* orc_harness_cli_env is orc_harness_cli_argv with more environment variables (see
 * orc_harness_call). */
int orc_harness_cli_env(const orc_harness *h, const char *key, const char *secret,
                        const char *const *env, const char *stdin_text, int *exit_code, char **out,
                        char **err, const char *const *args);

/*
 * orc_harness_orchestrad_admin runs `$ORC_ORCHESTRAD arg... --db <db>` (e.g. "keys",
 * "create", "viewer", "--scopes", "project", NULL) while the daemon runs, capturing its
 * output as orc_harness_cli does.
 */
int orc_harness_orchestrad_admin(const orc_harness *h, int *exit_code, char **out, char **err,
                                 const char *arg, ...) __attribute__((sentinel));

/*
 * orc_harness_create_key runs `orchestrad keys create name --scopes scopes` and extracts
 * the key id and secret it prints into the buffers. 0 on success.
 */
int orc_harness_create_key(const orc_harness *h, const char *name, const char *scopes, char *key_id,
                           size_t key_id_size, char *secret, size_t secret_size);

/*
 * orc_test_run runs argv[0] (a path) with argv, the environment env (NULL-terminated
 * "K=V" strings; NULL: this process's), stdin_text on stdin, for at most timeout_ms,
 * capturing stdout and stderr whole through pipes. *exit_code: the exit status, 128+signal
 * when a signal ended it. 0 when it ran to its end, -1 on a spawn failure or timeout.
 */
int orc_test_run(const char *const *argv, const char *const *env, const char *stdin_text,
                 int timeout_ms, int *exit_code, char **out, char **err);

/* orc_test_cmd is one program for orc_test_run_many (argv[0] a path; env NULL: ours). */
typedef struct orc_test_cmd {
    const char *const *argv;
    const char *const *env;
    const char *stdin_text;
} orc_test_cmd;

/*
 * orc_test_run_many is orc_test_run for n programs at once: all are started before any is
 * waited for, timeout_ms bounds them all together. results[i] gets cmds[i]'s outcome (its
 * outputs are allocated even on failure, NULL only when out of memory). 0 when all ran to their
 * end, -1 on a spawn failure or timeout (the ones left are killed).
 */
int orc_test_run_many(size_t n, const orc_test_cmd *cmds, int timeout_ms, orc_test_result *results);

/*
 * orc_test_raw_request sends the bytes req (len) on a fresh nng REQ socket dialed to url
 * and waits at most timeout_ms for one reply: 0 with *reply (malloc'd, the caller frees)
 * and *reply_len, or the nng error number (NNG_ETIMEDOUT when no reply came).
 */
int orc_test_raw_request(const char *url, const void *req, size_t len, int timeout_ms, void **reply,
                         size_t *reply_len);

/*
 * orc_test_small_workflow writes a minimal valid workflow folder <parent>/<slug> (one
 * version v1 with two steps, "first" and "second" depending on it) and puts its path in
 * out. 0 on success.
 */
int orc_test_small_workflow(const char *parent, const char *slug, char *out, size_t out_size);

/*
 * orc_test_free_port returns a loopback TCP port free right now and reserved for this process
 * against every other test run in parallel (a lock file held until exit), or -1.
 */
int orc_test_free_port(void);

/* orc_test_env returns $name or aborts the process with a message when unset. */
const char *orc_test_env(const char *name);

#endif
