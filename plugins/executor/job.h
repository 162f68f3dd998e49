/*
 * job.h: running one machine-step job outside the executor's process and reading its result.
 *
 * A plugin function runs in a long-lived plugin host (host.h): the executor binary
 * re-executed once, not forked per job, because a forked child of the multi-threaded
 * executor has no nng threads (only the forking thread survives a fork) while a re-exec
 * gives a clean process, and one host serves many jobs so a step does not pay a fork + exec
 * each. The host answers {"status":"ok","output":{..}} or
 * {"status":"fail","retryable":b,"error":".."}.
 * An external command (execution_function {"command":[...]}) runs as is, without a shell,
 * in a process of its own per job (child.h).
 * Both get {"project_data":{..},"prerequisites":{..}}: the host in its call, the command on
 * stdin.
 *
 * Any thread may call orci_job_run, each with its own host (see child.h for what the process
 * must do first).
 */
#ifndef ORCI_JOB_H
#define ORCI_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "child.h"
#include "host.h"
#include "orchestra/error.h"
#include "orchestra/plugin.h"
#include "plugin_set.h"
#include "python_runner.h"
#include "python_setup.h"

/* The most bytes a job's stdin, and a function's or command's stdout, may hold. */
#define ORCI_JOB_IO_MAX (8u << 20)

/* orci_job_spec describes one job to run; everything is borrowed for the call. */
typedef struct orci_job_spec {
    const char *function;           /* "module.name", or "command" */
    const char *execution_function; /* the step's execution_function JSON (for "command") */
    const char *project_data;       /* JSON object text */
    const char *prerequisites;      /* JSON object text ("" or NULL: {}) */
    const orci_plugin_set *plugins; /* where "module.name" is found */
    bool allow_commands;            /* run "command" jobs at all */
    orci_host *host;                /* where plugin functions run (NULL: they fail) */
    int64_t timeout_ms;
    size_t output_max; /* 0: ORCI_JOB_IO_MAX */
    int tick_ms;
    orci_child_tick_fn tick;
    void *tick_arg;
    /* Python (python_job.h): the job's kind ("" or "step" for a machine step), the context
     * of a hook job, the executor's Python set-up (NULL: Python is off) and the worker's
     * runner. A step runs in Python when no C plugin provides its function and its package
     * is the executor's; every other kind always does. */
    const char *kind;
    const char *context;
    const orci_python *python;
    orci_pyrunner *runner;
} orci_job_spec;

/* orci_job_outcome is how a job went. Release with orci_job_outcome_fini. */
typedef struct orci_job_outcome {
    bool ok;        /* output holds the result, a JSON object's text */
    char *output;   /* owned by the outcome */
    bool retryable; /* when !ok: whether a retry may help */
    bool stopped;   /* when !ok: the tick stopped it */
    char error[ORC_ERROR_MESSAGE_MAX];
} orci_job_outcome;

/* orci_job_run runs the job and fills *out; it does not fail (a failure is an outcome). */
void orci_job_run(const orci_job_spec *spec, orci_job_outcome *out);

/* orci_job_outcome_fini releases out's memory; NULL is allowed. */
void orci_job_outcome_fini(orci_job_outcome *out);

/*
 * orci_plugin_host_init fills *host with the executor's services: the log, malloc/free,
 * random bits from the system, and storage_root (borrowed: must outlive host).
 */
void orci_plugin_host_init(orc_plugin_host *host, const char *storage_root);

#endif
