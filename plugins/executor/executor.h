/*
 * executor.h: the executor's worker pool.
 *
 * N worker threads share one orc_client; each owns a plugin host (host.h), so at most N
 * hosts run, and with Python a Python runner (python_runner.h). A worker long-polls LeaseJob
 * for the functions of the loaded plugins (and "command" when allowed, and the packages of
 * its Python path), runs the job (job.h: a plugin function in its host, a command in
 * a process of its own), heartbeats every lease/3 while it runs, and reports CompleteJob or
 * FailJob asking for its next job in the same call: when the reply carries one, the worker
 * runs it at once, without a LeaseJob; when not (none was due, or a coordinator that does
 * not hand jobs over), it long-polls again. Once *stop is set, workers lease nothing more
 * and reports ask for no next job; a job that still arrives, leased or handed over, is
 * failed back as retryable. Running jobs get a grace period to finish and are then killed
 * and failed as retryable; then the shared client is closed (orc_client_close), which ends
 * the polls still parked in LeaseJob at once, every worker stops its host and is joined,
 * and orci_executor_run returns.
 */
#ifndef ORCI_EXECUTOR_H
#define ORCI_EXECUTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "orchestra/client.h"
#include "orchestra/error.h"
#include "plugin_set.h"
#include "python_setup.h"

#define ORCI_EXECUTOR_WAIT_MS 20000
#define ORCI_EXECUTOR_LEASE_MS 60000
/* The grace of running jobs at a stop: with the reports and the close, within the 5 s a
 * SIGTERM may take (daemon.h). */
#define ORCI_EXECUTOR_GRACE_MS 3000

/* orci_executor_opts configures orci_executor_run; everything is borrowed. */
typedef struct orci_executor_opts {
    orc_client_opts client; /* rpc_url, key, secret, tls_ca_file; timeout is set here */
    const orci_plugin_set *plugins;
    bool allow_commands;
    const char *storage_root;
    const char *self_exe; /* the executor binary, re-executed as the plugin hosts */
    const char *log_level;
    const char *executor_id;
    int concurrency;        /* worker threads (and plugin hosts), >= 1 */
    int64_t job_timeout_ms; /* per job */
    int job_memory_mb;      /* each plugin host's memory limit; 0: none */
    int wait_ms;            /* 0: ORCI_EXECUTOR_WAIT_MS */
    int lease_ms;           /* 0: ORCI_EXECUTOR_LEASE_MS */
    int grace_ms;           /* after stop; 0: ORCI_EXECUTOR_GRACE_MS */
    /* Python functions (python_setup.h); NULL: none. Each worker then owns a Python runner
     * too (started at its first Python job), with the hosts' memory limit. */
    const orci_python *python;
} orci_executor_opts;

/*
 * orci_executor_run serves jobs until *stop becomes true, then returns ORC_OK once no job
 * runs any more and every worker thread has ended. Fails only when it cannot start (no
 * client, no threads).
 */
int orci_executor_run(const orci_executor_opts *opts, atomic_bool *stop, orc_error *err);

#endif
