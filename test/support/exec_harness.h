/*
 * exec_harness.h: real orchestra-executor processes for the integration tests, next to the
 * orchestrad of a harness (harness.h), and the job RPCs the CLI does not offer (ListJobs,
 * RetryJob).
 *
 * The executor binary is $ORC_EXECUTOR when set, else $ORC_BUILD_DIR/plugins/orchestra-executor.
 * Its stdout and stderr go to <h->dir>/executor-<name>.log. Every wait is bounded. Functions
 * returning int give 0 on success and -1 on failure after printing why to stderr (logs
 * included). Call them from the test's main thread; include after cmocka's headers.
 */
#ifndef ORC_TEST_EXEC_HARNESS_H
#define ORC_TEST_EXEC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "harness.h"
#include "proto/orchestra.pb-c.h"

/* Bounds of the waits. */
#define ORC_EXEC_START_TIMEOUT_MS 15000
#define ORC_EXEC_STOP_TIMEOUT_MS 15000 /* the executor's 3 s grace and its 5 s stop budget */

/* orc_exec_opts configures one executor; strings are borrowed during orc_exec_start. */
typedef struct orc_exec_opts {
    const char *plugins_dir; /* required: --plugins */
    const char *storage;     /* --storage; NULL: <h->dir>/storage */
    int concurrency;         /* --concurrency; 0: the executor's default */
    int job_timeout_s;       /* --job-timeout; 0: the executor's default */
    int lease_s;             /* --lease; 0: the executor's default */
    int job_memory_mb;       /* --job-memory; 0: the executor's default */
    bool allow_commands;     /* --allow-commands */
    const char *key;         /* ORCHESTRA_API_KEY/SECRET; NULL: the --dev key */
    const char *secret;
    const char *const *args; /* more arguments (NULL-terminated; NULL: none), e.g. --python-path */
    const char *const *env;  /* more environment entries "NAME=value" (NULL-terminated) */
} orc_exec_opts;

/* orc_exec is one executor process. Zero it before orc_exec_start. */
typedef struct orc_exec {
    pid_t pid; /* 0 when not running */
    char name[64];
    char log_path[400];
    char storage[400];
} orc_exec;

/*
 * orc_exec_start spawns the executor against h's daemon and waits up to 15 s for its
 * "plugins loaded" log line. 0 on success; on failure its log is printed and nothing runs.
 */
int orc_exec_start(const orc_harness *h, const char *name, const orc_exec_opts *opts, orc_exec *ex);

/*
 * orc_exec_stop sends SIGTERM and waits up to 25 s (then SIGKILL). Returns the exit status
 * (0 for a clean stop) or -1 when it had to be killed; anything but 0 prints its log. A
 * stopped executor (pid 0) gives 0.
 */
int orc_exec_stop(orc_exec *ex);

/* orc_exec_kill ends the executor with SIGKILL at once and reaps it (nothing when stopped). */
void orc_exec_kill(orc_exec *ex);

/* orc_exec_read_log returns the executor's log so far (malloc'd; NULL if unreadable). */
char *orc_exec_read_log(const orc_exec *ex);

/* orc_exec_print_log copies the executor's log to stderr, framed. */
void orc_exec_print_log(const orc_exec *ex);

/* orc_exec_log_count counts the lines of the executor's log that contain needle. */
size_t orc_exec_log_count(const orc_exec *ex, const char *needle);

/*
 * orc_exec_plugin_dir makes the folder <h->dir>/<name> holding symbolic links to the given
 * plugin files (paths relative to $ORC_BUILD_DIR/plugins, e.g. "test_lib/test_plugin_flaky.so",
 * NULL-terminated) and puts its path in out. 0 on success.
 */
int orc_exec_plugin_dir(const orc_harness *h, const char *name, const char *const *files, char *out,
                        size_t out_size);

/* orc_exec_project_info returns the project's project_information (new reference), NULL on
 * failure (printed). */
json_t *orc_exec_project_info(const orc_harness *h, int64_t project_id);

/*
 * orc_exec_task_state writes "<task status>/<assignment statuses comma-separated>" of the
 * project's task of step into out ("-" when the task does not exist), e.g.
 * "Processing/Failed". 0 on success, -1 when project info failed.
 */
int orc_exec_task_state(const orc_harness *h, int64_t project_id, const char *step, char *out,
                        size_t out_size);

/*
 * orc_exec_wait_task polls the project until orc_exec_task_state of step equals want, for at
 * most timeout_ms. 0 when reached; -1 after printing the last state, the daemon's log and the
 * logs of the n executors in exs (may be NULL).
 */
int orc_exec_wait_task(const orc_harness *h, int64_t project_id, const char *step, const char *want,
                       int timeout_ms, orc_exec *const *exs, size_t n);

/*
 * orc_exec_list_jobs calls ListJobs (project 0: all) with the --dev key; the reply is
 * released with protobuf_c_message_free_unpacked(reply, NULL). NULL on failure (printed).
 */
Orchestra__V1__ListJobsReply *orc_exec_list_jobs(const orc_harness *h, int64_t project_id);

/* orc_exec_find_job returns the job of step in a ListJobs reply (borrowed), or NULL. */
const Orchestra__V1__JobInfo *orc_exec_find_job(const Orchestra__V1__ListJobsReply *jobs,
                                                int64_t project_id, const char *step);

/* orc_exec_retry_job calls RetryJob for the task with the --dev key; returns its orc_code. */
int orc_exec_retry_job(const orc_harness *h, int64_t task_id);

/*
 * orc_proc_info reads /proc/<pid>/stat: *ppid, *pgid (either may be NULL) and whether the
 * process is alive (it exists and is not a zombie). False when it is not.
 */
bool orc_proc_info(pid_t pid, pid_t *ppid, pid_t *pgid);

/*
 * orc_proc_find lists (into out, at most max) the live processes whose parent is ppid
 * (ppid > 0) or whose process group is pgid (pgid > 0); returns how many there are.
 */
size_t orc_proc_find(pid_t ppid, pid_t pgid, pid_t *out, size_t max);

#endif
