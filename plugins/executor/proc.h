/*
 * proc.h: a child process of the executor, watched through a pidfd, with pipes to its stdin
 * and stdout. The building block of child.c (one process per command job) and host.c (the
 * long-lived plugin hosts).
 *
 * A spawned process runs in its own process group (its pid), with the signal mask and
 * SIGPIPE reset, and dies with the thread that spawned it (PR_SET_PDEATHSIG(SIGKILL); the
 * kernel ties the parent-death signal to the spawning thread, so spawn from a thread that
 * outlives the process). Its exit is seen by poll() on a pidfd (or, where there is none, a
 * pipe that a thread waiting for the exit writes to), in the same poll() as its pipes: no
 * sleep loop; the only timed wake-ups are the caller's tick and deadline.
 *
 * One thread owns an orci_proc at a time; any number of threads may each own their own (all
 * descriptors are close-on-exec, so one job's pipes never leak into another's process). The
 * executor must ignore SIGPIPE (a process that stops reading must not kill it).
 */
#ifndef ORCI_PROC_H
#define ORCI_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "orchestra/error.h"

/* orci_proc is one child process. Zero-initialise with ORCI_PROC_INIT. */
typedef struct orci_proc {
    pid_t pid;   /* 0 when none; also the id of its process group */
    int exit_fd; /* readable once it has exited (a pidfd); -1 when none */
    int in_w;    /* our end of its stdin; -1 once closed */
    int out_r;   /* our end of its stdout; -1 once closed */
    bool reaped; /* it has ended and been waited for: status holds how */
    int status;  /* the waitpid status once reaped */
} orci_proc;

#define ORCI_PROC_INIT                                                                             \
    {                                                                                              \
        .pid = 0, .exit_fd = -1, .in_w = -1, .out_r = -1                                           \
    }

/*
 * orci_proc_spawn forks and executes argv (argv[0] searched in PATH when it has no '/'),
 * with pipes on its stdin and stdout (non-blocking on our side) and our stderr. Returns
 * ORC_OK once the program runs, ORC_NOT_FOUND when it cannot be executed ("cannot run
 * <prog>: No such file or directory"), ORC_RESOURCE_EXHAUSTED or ORC_INTERNAL when no
 * process could be made or watched. On failure nothing is left running.
 */
int orci_proc_spawn(const char *const *argv, orci_proc *p, orc_error *err);

/* orci_pump_mode says when orci_proc_pump returns by itself. */
typedef enum orci_pump_mode {
    ORCI_PUMP_UNTIL_EXIT = 0,  /* when the process has exited (stdout read to the end) */
    ORCI_PUMP_UNTIL_FRAME = 1, /* when one whole frame (see below) has been read */
} orci_pump_mode;

/*
 * A frame, as plugin hosts speak: a 4-byte big-endian payload length, one kind byte, the
 * payload. ORCI_FRAME_HEADER is the size of the first two.
 */
#define ORCI_FRAME_HEADER 5

/*
 * orci_pump is the I/O of one orci_proc_pump call: bytes to write to the process's stdin
 * and a buffer (owned by the pump, freed with orci_pump_fini) for what it writes on stdout.
 */
typedef struct orci_pump {
    orci_pump_mode mode;
    const char *input; /* borrowed; written to stdin */
    size_t input_len, input_off;
    bool close_input; /* close stdin once input is written (UNTIL_EXIT children) */
    char *buf;        /* what was read; NUL-terminated when not NULL */
    size_t len, cap;
    size_t max; /* the most stdout bytes (UNTIL_EXIT) or payload bytes (UNTIL_FRAME) */
    bool over;  /* more than max came */
} orci_pump;

/* orci_pump_end is why orci_proc_pump returned. */
typedef enum orci_pump_end {
    ORCI_PUMP_EXITED = 0,    /* the process ended (p->reaped, p->status) */
    ORCI_PUMP_FRAME = 1,     /* a whole frame is in buf (UNTIL_FRAME) */
    ORCI_PUMP_TIMED_OUT = 2, /* the deadline passed */
    ORCI_PUMP_STOPPED = 3,   /* the tick returned false */
    ORCI_PUMP_OVER = 4,      /* more than max bytes came */
    ORCI_PUMP_FAILED = 5,    /* poll failed: err says why */
} orci_pump_end;

/* orci_pump_tick_fn is called about every tick_ms; returning false ends the pump. */
typedef bool (*orci_pump_tick_fn)(void *arg);

/* orci_pump_clock is the deadline and tick of one pump call. */
typedef struct orci_pump_clock {
    int64_t deadline; /* orci_monotonic_ms() time */
    int tick_ms;      /* 0: no tick */
    orci_pump_tick_fn tick;
    void *tick_arg;
} orci_pump_clock;

/*
 * orci_proc_pump writes io's input and reads into io's buffer until io->mode's condition,
 * the deadline, the tick, or the output cap. When the process exits, its whole group is
 * killed (nothing it started outlives it), what it wrote is read, and it is reaped. It
 * neither kills nor reaps the process on the other outcomes: orci_proc_kill does.
 */
orci_pump_end orci_proc_pump(orci_proc *p, orci_pump *io, const orci_pump_clock *clk,
                             orc_error *err);

/* orci_pump_fini releases io's buffer; NULL is allowed. */
void orci_pump_fini(orci_pump *io);

/*
 * orci_proc_frame reads the header of the frame at the start of io's buffer: its kind and
 * payload (borrowed). False when the buffer holds no whole frame.
 */
bool orci_proc_frame(const orci_pump *io, char *kind, const char **payload, size_t *len);

/*
 * orci_proc_wait_exit waits up to ms for the process to exit by itself (then kills its
 * group and reaps it, as orci_proc_pump does). True when it did; false when it still runs.
 */
bool orci_proc_wait_exit(orci_proc *p, int ms);

/*
 * orci_proc_kill kills the process's whole group with SIGKILL, reaps it (unless already
 * reaped) and closes every descriptor; p is then as ORCI_PROC_INIT but keeps reaped and
 * status. Safe on a never-spawned or already released p.
 */
void orci_proc_kill(orci_proc *p);

#endif
