/*
 * python_runner.c: Python runners (python_runner.h) are plugin hosts (host.c) started as
 * python3 running the runner script: the frames, deadlines, caps and replacement rules are
 * the hosts'; only the argv differs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "python_runner.h"

/* interpreter, script, --memory-mb MB, the terminator; two arguments per path. */
#define PYRUNNER_FIXED_ARGS 5

struct orci_pyrunner {
    orci_host *host;
    const char **argv; /* owned; the strings are the options' but for memory */
    char memory[16];
    int memory_mb;
};

int orci_pyrunner_new(const orci_pyrunner_opts *opts, orci_pyrunner **out, orc_error *err)
{
    *out = NULL;
    if (!opts->interpreter || !opts->script || opts->memory_mb < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "bad Python runner options");
    orci_pyrunner *r = calloc(1, sizeof *r);
    if (r)
        r->argv = calloc(2 * opts->n_paths + PYRUNNER_FIXED_ARGS, sizeof *r->argv);
    if (!r || !r->argv) {
        orci_pyrunner_destroy(r);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    size_t n = 0;
    snprintf(r->memory, sizeof r->memory, "%d", opts->memory_mb);
    r->memory_mb = opts->memory_mb;
    r->argv[n++] = opts->interpreter;
    r->argv[n++] = opts->script;
    r->argv[n++] = "--memory-mb";
    r->argv[n++] = r->memory;
    for (size_t i = 0; i < opts->n_paths; i++) {
        r->argv[n++] = "--path";
        r->argv[n++] = opts->paths[i];
    }
    r->argv[n] = NULL;
    /* The runner limits its own memory (the script reads --memory-mb); the host code only
     * needs the number for its messages. */
    orci_host_opts ho = {.argv = r->argv, .what = "python runner", .memory_mb = opts->memory_mb};
    int rc = orci_host_new(&ho, &r->host, err);
    if (rc != ORC_OK) {
        orci_pyrunner_destroy(r);
        return rc;
    }
    *out = r;
    return ORC_OK;
}

void orci_pyrunner_destroy(orci_pyrunner *r)
{
    if (!r)
        return;
    orci_host_destroy(r->host);
    free(r->argv);
    free(r);
}

int orci_pyrunner_run(orci_pyrunner *r, const orci_host_call *call, orci_child_result *res,
                      orc_error *err)
{
    return orci_host_run(r->host, call, res, err);
}

pid_t orci_pyrunner_pid(const orci_pyrunner *r)
{
    return r ? orci_host_pid(r->host) : 0;
}

int orci_pyrunner_memory_mb(const orci_pyrunner *r)
{
    return r ? r->memory_mb : 0;
}
