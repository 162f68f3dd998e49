/*
 * job.h: running one machine-step job in a child process and reading its result.
 *
 * A plugin function runs in the executor binary re-executed as
 *   <self> --run-plugin PLUGIN_PATH FUNCTION STORAGE_ROOT LOG_LEVEL
 * (orci_job_child_main), which dlopens that one plugin, calls the function and prints
 * {"status":"ok","output":{..}} or {"status":"fail","retryable":b,"error":".."} on stdout.
 * Re-executing, rather than calling the function in a plain fork, gives the function a
 * clean process: the executor's nng threads do not exist in a forked child, and a plugin
 * that uses nng itself (crawl_page's HTTP client) needs a working nng.
 * An external command (execution_function {"command":[...]}) runs as is, without a shell.
 * Both get {"project_data":{..},"prerequisites":{..}} on stdin.
 *
 * Any thread may call orci_job_run (see child.h for what the process must do first).
 */
#ifndef ORCI_JOB_H
#define ORCI_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "child.h"
#include "orchestra/error.h"
#include "orchestra/plugin.h"
#include "plugin_set.h"

/* The argv[1] that makes the executor binary run one plugin function. */
#define ORCI_JOB_CHILD_FLAG "--run-plugin"
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
    const char *self_exe;           /* the executor binary, for --run-plugin */
    const char *storage_root;
    const char *log_level; /* for the child's log */
    int64_t timeout_ms;
    size_t output_max; /* 0: ORCI_JOB_IO_MAX */
    int tick_ms;
    orci_child_tick_fn tick;
    void *tick_arg;
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
 * orci_job_child_main is the whole child process for argv[1] == ORCI_JOB_CHILD_FLAG.
 * Returns the process's exit status.
 */
int orci_job_child_main(int argc, char **argv);

/*
 * orci_plugin_host_init fills *host with the executor's services: the log, malloc/free,
 * random bits from the system, and storage_root (borrowed: must outlive host).
 */
void orci_plugin_host_init(orc_plugin_host *host, const char *storage_root);

#endif
