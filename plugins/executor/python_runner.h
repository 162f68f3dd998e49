/*
 * python_runner.h: long-lived Python runner processes, which run upstream-style Python
 * functions (machine steps, creation policies, abort hooks, sample-data loads) for the
 * executor, as plugin hosts run C plugin functions (host.h).
 *
 * A runner is Debian's python3 running the runner script installed with the project
 * (plugins/python/orchestra_runner.py, share/orchestra/python/ when installed):
 *   <python3> <script> --memory-mb MB [--path DIR]...
 * with the executor's environment (PYTHONPATH included; the API credentials were removed
 * before). It imports the functions from its path (the compatibility package, the --path
 * folders, then PYTHONPATH and the system's) and keeps their modules imported, so a step pays
 * neither an interpreter start nor an import after the first. It speaks the plugin hosts'
 * frames (host.h): 'J' "<function>\0<call>" in, 'R' or 'L' (the reply, then it exits: near
 * its memory limit) out; the call is the JSON object python_job.h builds.
 *
 * Limits as a plugin host's: a runner is replaced (its process group killed, a new one
 * started for the next call) when it crashes or exits, runs past a call's deadline, writes
 * more than the output cap, comes within an eighth of its memory limit (RLIMIT_DATA, which
 * the runner sets on itself: an allocation past it raises MemoryError), or when the tick asks
 * to stop; it runs in its own process group, dies with the thread that started it
 * (PR_SET_PDEATHSIG), and kills what a function started when the call ends (a subreaper).
 *
 * A runner is a plugin host (host.h) started with another argv: everything above is the
 * hosts' code. One thread uses an orci_pyrunner at a time; the executor gives each worker
 * thread its own.
 */
#ifndef ORCI_PYTHON_RUNNER_H
#define ORCI_PYTHON_RUNNER_H

#include <stddef.h>
#include <sys/types.h>

#include "child.h"
#include "host.h"
#include "orchestra/error.h"

/* orci_pyrunner_opts describes the runners to start; everything is borrowed and must outlive
 * them. */
typedef struct orci_pyrunner_opts {
    const char *interpreter;  /* /usr/bin/python3 */
    const char *script;       /* the runner script */
    const char *const *paths; /* --python-path folders, in order */
    size_t n_paths;
    int memory_mb; /* the runner's RLIMIT_DATA in MiB; 0: no limit */
} orci_pyrunner_opts;

typedef struct orci_pyrunner orci_pyrunner;

/* orci_pyrunner_new makes a runner handle; its process starts at the first call. Release with
 * orci_pyrunner_destroy. */
int orci_pyrunner_new(const orci_pyrunner_opts *opts, orci_pyrunner **out, orc_error *err);

/* orci_pyrunner_destroy stops the runner's process (the end of its input; SIGKILL after
 * ORCI_HOST_STOP_MS) and frees r; NULL is allowed. */
void orci_pyrunner_destroy(orci_pyrunner *r);

/*
 * orci_pyrunner_run runs one call (host.h's orci_host_call: function, input, deadline, output
 * cap, tick) in the runner, starting one first when none runs. Outcomes as orci_host_run:
 * ORCI_CHILD_REPLIED with the reply in res->output, or how the runner ended, and
 * res->over_memory when it came near its limit. Fails (the call did not run) when no runner
 * could be started: ORC_NOT_FOUND (no interpreter), ORC_RESOURCE_EXHAUSTED, ORC_INTERNAL.
 */
int orci_pyrunner_run(orci_pyrunner *r, const orci_host_call *call, orci_child_result *res,
                      orc_error *err);

/* orci_pyrunner_pid is the pid of the runner's process, 0 when none runs. */
pid_t orci_pyrunner_pid(const orci_pyrunner *r);

/* orci_pyrunner_memory_mb is the memory limit the runner runs with (0: none). */
int orci_pyrunner_memory_mb(const orci_pyrunner *r);

#endif
