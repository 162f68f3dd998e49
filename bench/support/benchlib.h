/*
 * benchlib.h: what the benchmarks share: clocks, latency samples and percentiles, scratch
 * folders, child processes (orchestrad, orchestra-executor, orchestra-http) started from
 * the binaries named in the environment, their memory and CPU, and the physical baselines
 * (one nng REQ/REP round trip, one synchronous=FULL SQLite commit) that figures are
 * divided by so that runs on different machines compare.
 *
 * Functions returning int give 0 on success and -1 on failure after printing why to
 * stderr. Processes are started with fork + exec only (nothing else runs in the child), so
 * they may be started after nng's threads exist. Call the process functions from one
 * thread; the sample and clock functions from any.
 */
#ifndef ORC_BENCHLIB_H
#define ORC_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "orchestra/client.h"

/* The example key seeded by `orchestrad --dev` (every scope). */
#define BL_DEV_KEY "orchestra-user"
#define BL_DEV_SECRET "CHANGEME"

/* bl_mono_us is CLOCK_MONOTONIC in microseconds. */
int64_t bl_mono_us(void);

/* bl_real_us is CLOCK_REALTIME in microseconds: the clock orchestrad stamps events with. */
int64_t bl_real_us(void);

/* bl_sleep_us sleeps us microseconds (nothing when us <= 0). */
void bl_sleep_us(int64_t us);

/* bl_free_port returns a loopback TCP port free right now, or -1. */
int bl_free_port(void);

/* ---- latency samples -------------------------------------------------------------------- */

/* bl_samples is a growable array of values (microseconds, usually). Zero it to start. */
typedef struct bl_samples {
    int64_t *v;
    size_t n;
    size_t cap;
} bl_samples;

/* bl_samples_push appends v; 0, or -1 when out of memory (the sample is lost). */
int bl_samples_push(bl_samples *s, int64_t v);

/* bl_samples_append appends every value of from to into. 0 or -1. */
int bl_samples_append(bl_samples *into, const bl_samples *from);

/* bl_percentile sorts s and returns its p-th percentile (nearest rank); 0 when empty. */
int64_t bl_percentile(bl_samples *s, double p);

/* bl_samples_free releases the values; s may be reused (zeroed). */
void bl_samples_free(bl_samples *s);

/* ---- files and paths ---------------------------------------------------------------------- */

/*
 * bl_path returns $env_name when set and not empty, else dflt (a path compiled in by
 * bench/CMakeLists.txt). Never NULL when dflt is not.
 */
const char *bl_path(const char *env_name, const char *dflt);

/* bl_tmpdir makes a fresh folder /tmp/orc-bench-<tag>-XXXXXX and puts its path in out. */
int bl_tmpdir(const char *tag, char *out, size_t out_size);

/* bl_rmtree removes dir and everything in it (errors are printed, not returned). */
void bl_rmtree(const char *dir);

/* bl_file_contains tells whether the file at path contains needle (false if unreadable). */
bool bl_file_contains(const char *path, const char *needle);

/* ---- processes ------------------------------------------------------------------------------ */

/*
 * bl_spawn starts argv[0] (a path) with argv, this process's environment minus every
 * ORCHESTRA_* variable plus env_extra ("K=V" strings, NULL-terminated; NULL: none),
 * stdin from /dev/null and stdout and stderr appended to log_path. The child gets SIGKILL
 * when this process dies. Returns its pid, or -1.
 */
pid_t bl_spawn(const char *const *argv, const char *const *env_extra, const char *log_path);

/* bl_alive tells whether the child pid is still running (it is reaped when it is not). */
bool bl_alive(pid_t pid);

/*
 * bl_stop sends SIGTERM to the child pid and waits up to timeout_ms, then SIGKILL. Returns
 * its exit status (128+signal when a signal ended it), or -1 when it had to be killed.
 */
int bl_stop(pid_t pid, int timeout_ms);

/*
 * bl_wait_log waits up to timeout_ms for a line containing needle in log_path, while the
 * child pid runs. 0 when seen; -1 when pid exited or time ran out (the log is printed).
 */
int bl_wait_log(const char *log_path, const char *needle, pid_t pid, int timeout_ms);

/* bl_print_log copies the file at path to stderr, framed. */
void bl_print_log(const char *path);

/* bl_mem is what /proc/<pid>/status says of a process's memory, in KiB (-1: unknown). */
typedef struct bl_mem {
    long rss_kib; /* VmRSS: resident now */
    long hwm_kib; /* VmHWM: the peak of VmRSS */
} bl_mem;

/* bl_proc_mem reads the memory of process pid. */
bl_mem bl_proc_mem(pid_t pid);

/*
 * bl_proc_cpu_us returns the CPU time (user + system) of process pid so far, plus that of
 * its children it has waited for, in microseconds; -1 when unreadable.
 */
int64_t bl_proc_cpu_us(pid_t pid);

/*
 * bl_tree_cpu_us is bl_proc_cpu_us of pid plus that of every descendant still running
 * (an executor's job processes or plugin hosts, whether they are reaped yet or not).
 */
int64_t bl_tree_cpu_us(pid_t pid);

/*
 * bl_proc_switches returns the context switches (voluntary + involuntary) of every thread of
 * process pid so far (its /proc/<pid>/task/<tid>/status); -1 when unreadable. Threads that
 * have ended are not counted.
 */
int64_t bl_proc_switches(pid_t pid);

/* bl_tree_switches is bl_proc_switches of pid plus that of every descendant still running. */
int64_t bl_tree_switches(pid_t pid);

/* ---- orchestrad ------------------------------------------------------------------------------ */

/* bl_daemon is one orchestrad on a scratch database. Zero it before bl_daemon_start. */
typedef struct bl_daemon {
    char db[320];     /* the file, or a PostgreSQL URL (bl_pg_enabled) */
    char pg_name[64]; /* the PostgreSQL database made for it, "" on SQLite */
    char log[320];
    char rpc_url[64];
    char events_url[64];
    pid_t pid;
} bl_daemon;

/*
 * PostgreSQL (issue 19): with ORC_BENCH_PG_HOST (a server's socket folder or host) and
 * ORC_BENCH_PG_PORT set, bl_daemon_start runs orchestrad on a new database of that server
 * (user postgres, C collation), dropped by bl_daemon_stop; bench/stores.sh sets them.
 * bl_pg_create makes such a database: its URL in url and its name in name; 0 on success,
 * -1 after printing why. bl_pg_drop drops it (closing its sessions).
 */
bool bl_pg_enabled(void);
int bl_pg_create(const char *prefix, char *url, size_t url_size, char *name, size_t name_size);
void bl_pg_drop(const char *name);

#define BL_MAX_EXTRA_ARGS 8

/*
 * bl_daemon_start starts `binary --dev --db <dir>/orchestra.db --rpc tcp://127.0.0.1:<free>
 * --events tcp://127.0.0.1:<free> --log-level warn` plus extra (NULL-terminated, at most
 * BL_MAX_EXTRA_ARGS; NULL: none), logging to <dir>/orchestrad.log, and waits up to 15 s
 * until it answers Health.
 */
int bl_daemon_start(bl_daemon *d, const char *binary, const char *dir, const char *const *extra);

/* bl_daemon_stop stops it (SIGTERM); 0 when it exited 0, else its log is printed. */
int bl_daemon_stop(bl_daemon *d);

/*
 * bl_client opens a client on rpc_url with the --dev key (key NULL: no key, e.g. for a
 * worker) and the per-call timeout timeout_ms (0: the library's), waiting up to 10 s
 * for Health. *out is released with orc_client_destroy.
 */
int bl_client(const char *rpc_url, const char *key, int timeout_ms, orc_client **out);

/*
 * bl_workflow_load loads version v1 of the workflow folder <workflows>/<name>, where
 * workflows is $ORC_BENCH_WORKFLOWS or bench/workflows of the source tree.
 */
int bl_workflow_load(orc_client *c, const char *name);

/* ---- physical baselines -----------------------------------------------------------------------
 */

/* bl_echo is a REP server with contexts that sends every request back, like orchestrad's
 * REP socket minus all the work. */
typedef struct bl_echo bl_echo;

/* bl_echo_start listens on url with n contexts (requests served at once). NULL on failure. */
bl_echo *bl_echo_start(const char *url, int n);

/* bl_echo_stop closes the server and frees it; NULL is allowed. */
void bl_echo_stop(bl_echo *e);

/*
 * bl_echo_round_trips makes n sequential round trips of a size-byte message over one REQ
 * socket dialed to url, appending each one's duration (us) to out. Returns the number of
 * failed round trips, or -1 when it could not connect.
 */
int bl_echo_round_trips(const char *url, int n, size_t size, bl_samples *out);

/*
 * bl_commit_samples makes n single-row INSERT transactions into a fresh SQLite file in dir
 * with journal_mode=WAL and synchronous=FULL, as orchestrad's database, appending each
 * commit's duration (us) to out. As in a database that has been running, the WAL they write
 * is one a checkpoint has emptied (n unmeasured commits and a checkpoint come first). The
 * file is removed afterwards.
 */
int bl_commit_samples(const char *dir, int n, bl_samples *out);

/*
 * bl_physical_baseline measures both in a scratch folder next to the database (dir) with a
 * private echo server on a free tcp loopback port: *rr_p50_us the round trip p50 over
 * rounds round trips of 128 bytes, *commit_p50_us the commit p50 over commits commits.
 */
int bl_physical_baseline(const char *dir, int rounds, int commits, int64_t *rr_p50_us,
                         int64_t *commit_p50_us);

#endif
