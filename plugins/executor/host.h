/*
 * host.h: long-lived plugin host processes, which run the plugin functions of machine steps.
 *
 * A host is the executor binary re-executed once as
 *   <self> --plugin-host STORAGE_ROOT LOG_LEVEL[:json] MEMORY_MB PLUGIN_PATH...
 * (orci_host_main): it dlopens the plugins, then serves many calls, one at a time, over its
 * stdin and stdout. Re-executing, rather than calling functions in a plain fork, gives the
 * functions a clean process: a forked child of the multi-threaded executor would have none
 * of its nng threads (only the forking one), and a plugin that uses nng itself
 * (crawl_page's HTTP client) needs a working nng. Keeping the process for many calls saves
 * the fork + exec + dlopen of each step (2-3 ms of wall time and CPU each).
 *
 * The protocol is frames (proc.h: a 4-byte big-endian length, a kind byte, the payload):
 *  - executor to host, 'J': "<function>\0<job input>" (the input as job.h builds it);
 *  - host to executor, 'R': the reply, {"status":"ok","output":{..}} or
 *    {"status":"fail","retryable":b,"error":".."}; 'L': the same, and the host exits right
 *    after (it came near its memory limit: the next call gets a fresh host); 'M' (empty):
 *    the host is crashing near its memory limit and dies right after.
 * The host moves the protocol off its stdin and stdout first (stdin then reads /dev/null,
 * stdout goes to stderr, the executor's log), so a function that prints cannot corrupt it.
 *
 * A host is replaced (its process group killed, the host reaped, a new one started for the
 * next call) when it crashes or exits, runs past a call's deadline, writes more than the
 * output cap, comes near its memory limit (RLIMIT_DATA, which the host sets on itself
 * before loading plugins), or when the tick asks to stop. A failure of one call is that
 * call's outcome only. Processes a function starts are killed when the call ends (the host
 * is their subreaper). A host runs in its own process group and dies with the thread that
 * started it (proc.h).
 *
 * One thread uses an orci_host at a time; the executor gives each worker thread its own,
 * so a job always finds its host idle and a host never outlives its worker.
 */
#ifndef ORCI_HOST_H
#define ORCI_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "child.h"
#include "orchestra/error.h"

/* The argv[1] that makes the executor binary a plugin host. */
#define ORCI_HOST_FLAG "--plugin-host"
/* How long a host that is told to stop (or says it will exit) gets before SIGKILL. */
#define ORCI_HOST_STOP_MS 2000
/* The default memory limit of a host (the executor's --job-memory). */
#define ORCI_HOST_DEFAULT_MEMORY_MB 1024

/* orci_host_opts describes the hosts to start; everything is borrowed and must outlive them. */
typedef struct orci_host_opts {
    const char *self_exe;            /* the executor binary */
    const char *const *plugin_paths; /* the plugins to load, in order */
    size_t n_plugins;
    const char *storage_root;
    const char *log_level; /* for the host's log lines */
    int memory_mb;         /* the host's RLIMIT_DATA in MiB; 0: no limit */
    /* Another program speaking the same frames instead of the executor binary (a Python
     * runner, python_runner.h): its argv (NULL-terminated), and what the log calls it. */
    const char *const *argv;
    const char *what; /* NULL: "plugin host" */
} orci_host_opts;

typedef struct orci_host orci_host;

/*
 * orci_host_new makes a host handle; its process starts at the first call. Release with
 * orci_host_destroy.
 */
int orci_host_new(const orci_host_opts *opts, orci_host **out, orc_error *err);

/*
 * orci_host_destroy stops the host's process (end of its input: it exits; SIGKILL after
 * ORCI_HOST_STOP_MS) and frees h; NULL is allowed.
 */
void orci_host_destroy(orci_host *h);

/* orci_host_call describes one call; everything is borrowed for the call. */
typedef struct orci_host_call {
    const char *function; /* "module.name" */
    const char *input;    /* the job input (JSON object text) */
    size_t input_len;
    int64_t timeout_ms; /* deadline, from the start of the call; > 0 */
    size_t output_max;  /* the most bytes of the reply; > 0 */
    int tick_ms;        /* 0: no tick */
    orci_child_tick_fn tick;
    void *tick_arg;
} orci_host_call;

/*
 * orci_host_run runs one call in the host, starting a host first when none runs. On ORC_OK,
 * res->outcome is ORCI_CHILD_REPLIED with the reply in res->output (the host may be kept),
 * or how the host ended (SIGNALED, EXITED: it died; TIMED_OUT, OUTPUT_LIMIT, STOPPED: it was
 * killed), and res->over_memory says the host came near its memory limit. Fails (and the
 * call did not run) when no host could be started: ORC_NOT_FOUND, ORC_RESOURCE_EXHAUSTED,
 * ORC_INTERNAL.
 */
int orci_host_run(orci_host *h, const orci_host_call *call, orci_child_result *res, orc_error *err);

/* orci_host_pid is the pid of the host's process, 0 when none runs. */
pid_t orci_host_pid(const orci_host *h);

/* orci_host_memory_mb is the memory limit the host runs with (0: none). */
int orci_host_memory_mb(const orci_host *h);

/*
 * orci_host_main is the whole host process for argv[1] == ORCI_HOST_FLAG. Returns the
 * process's exit status: 0 at the end of its input, 2 on bad arguments, 3 when the
 * protocol broke.
 */
int orci_host_main(int argc, char **argv);

#endif
