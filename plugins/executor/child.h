/*
 * child.h: run a program in a child process of its own, isolated from the executor (the
 * external commands of machine steps).
 *
 * The child gets `input` on its stdin and the executor's stderr; its stdout is collected up
 * to a cap. It runs in its own process group, and the whole group is killed with SIGKILL
 * when it passes its deadline, when its output grows past the cap, when the caller's tick
 * asks it to stop, and after the child itself exits (no process outlives its job). Its exit
 * is noticed at once (a pidfd, see proc.h), and it dies with the calling thread. A crash is
 * reported as the signal that ended it, never felt by the caller.
 *
 * Any thread may call orci_child_run, several at once: every descriptor it makes is
 * close-on-exec, so one job's pipes never leak into another's child. The process must
 * ignore SIGPIPE (a child that exits without reading its input must not kill the caller).
 */
#ifndef ORCI_CHILD_H
#define ORCI_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"

/* orci_child_outcome says how a child ended. */
typedef enum orci_child_outcome {
    ORCI_CHILD_EXITED = 0,       /* it exited by itself: see exit_status */
    ORCI_CHILD_SIGNALED = 1,     /* a signal ended it (a crash): see signal */
    ORCI_CHILD_TIMED_OUT = 2,    /* it ran past its deadline and was killed */
    ORCI_CHILD_OUTPUT_LIMIT = 3, /* it wrote more than output_max bytes and was killed */
    ORCI_CHILD_STOPPED = 4,      /* the tick asked to stop it, and it was killed */
    ORCI_CHILD_REPLIED = 5,      /* a plugin host answered and keeps serving (host.h) */
} orci_child_outcome;

/*
 * orci_child_tick_fn is called about every tick_ms while the child runs (on the calling
 * thread); returning false stops the child.
 */
typedef bool (*orci_child_tick_fn)(void *arg);

/* orci_child_spec describes one run. Everything is borrowed for the call. */
typedef struct orci_child_spec {
    const char *const *argv; /* NULL-terminated; argv[0] is searched in PATH without a '/' */
    const char *input;       /* bytes for the child's stdin (NULL: none) */
    size_t input_len;
    int64_t timeout_ms; /* deadline, from the start; > 0 */
    size_t output_max;  /* stdout cap in bytes; > 0 */
    int tick_ms;        /* 0: no tick */
    orci_child_tick_fn tick;
    void *tick_arg;
} orci_child_spec;

/* orci_child_result is what a run gave. Release with orci_child_result_fini. */
typedef struct orci_child_result {
    orci_child_outcome outcome;
    int exit_status; /* ORCI_CHILD_EXITED: the exit status */
    int signal;      /* ORCI_CHILD_SIGNALED: the signal number */
    char *output;    /* stdout (a host's reply), NUL-terminated (owned by the result) */
    size_t output_len;
    int64_t elapsed_ms;
    bool over_memory; /* a plugin host reached its memory limit (host.h) */
} orci_child_result;

/*
 * orci_child_run runs spec->argv and waits for it to end. Returns ORC_OK with the outcome
 * in *res (whatever the child did), ORC_NOT_FOUND when the program cannot be executed
 * ("cannot run <prog>: No such file or directory"), or ORC_INTERNAL /
 * ORC_RESOURCE_EXHAUSTED when no process could be made.
 */
int orci_child_run(const orci_child_spec *spec, orci_child_result *res, orc_error *err);

/* orci_child_result_fini releases res's memory; NULL is allowed. */
void orci_child_result_fini(orci_child_result *res);

/*
 * orci_child_describe writes a one-line account of a failed outcome into out ("function
 * crashed: signal 11", "timed out after 2 s", "exited with status 3", "output exceeds
 * 1048576 bytes", "stopped"). `what` starts the line ("function", "command").
 */
void orci_child_describe(const orci_child_result *res, const char *what, int64_t timeout_ms,
                         size_t output_max, char *out, size_t out_size);

#endif
