/*
 * fuzz_host_thread.c: fuzz_exec_reply.c's plugin hosts as threads of the fuzz process instead
 * of processes. Most inputs make the executor replace its host, and under AddressSanitizer a
 * fork of the fuzz process (hundreds of MB mapped) then the stub's exec cost about 20 ms, so
 * the target ran some 50 inputs a second. The link wraps three calls (--wrap, see
 * CMakeLists.txt):
 *  - orci_proc_spawn (proc.c, called by host.c) makes the pipes a spawn makes, non-blocking on
 *    the executor's side as there, and starts a thread that serves them with fuzz_stub_serve,
 *    under a made-up pid above any real one (PID_MAX_LIMIT is 2^22); its exit_fd, the pidfd's
 *    stand-in, becomes readable once the thread has closed its ends, as a process's does once
 *    it has exited;
 *  - kill of that pid or its group is the thread's SIGKILL (it stops at once, even in the
 *    middle of a read or a write);
 *  - waitpid of it joins the thread and gives its status in waitpid's encoding.
 * Everything else goes to the real calls, and a made-up pid never reaches the kernel. So the
 * executor's host.c and proc.c run as they are (the pump, the frame detection and cap, the
 * kill, reap and replacement of a host, the wait for a dying one), only the fork + exec of
 * orci_proc_spawn is not. ORC_FUZZ_HOST_PROCESS=1 starts real fuzz_host_stub processes again.
 */
#define _GNU_SOURCE /* pipe2, W_EXITCODE */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz_stub.h"
#include "proc.h"

/* Made-up pids start here, far above PID_MAX_LIMIT (4194304). */
#define HOST_THREAD_PID_BASE 0x30000000
/* One host at a time in fuzz_exec_reply.c; a few slots spare. */
#define HOST_THREAD_SLOTS 4

typedef struct host_thread {
    pid_t pid; /* 0: a free slot */
    pthread_t thread;
    int in_r, out_w;    /* the host's ends of its stdin and stdout; the thread closes them */
    int exit_w;         /* the write end of the exit pipe; the thread writes and closes it */
    int stop_r, stop_w; /* kill writes to stop_w: the thread's SIGKILL */
    int status;         /* set by the thread before it writes exit_w; read after the join */
} host_thread;

/* Only the fuzz thread spawns, kills and waits: the table needs no lock. */
static host_thread host_threads[HOST_THREAD_SLOTS];
static pid_t host_thread_next = HOST_THREAD_PID_BASE;

int __real_orci_proc_spawn(const char *const *argv, orci_proc *p, orc_error *err);
int __wrap_orci_proc_spawn(const char *const *argv, orci_proc *p, orc_error *err);
int __real_kill(pid_t pid, int sig);
int __wrap_kill(pid_t pid, int sig);
pid_t __real_waitpid(pid_t pid, int *status, int options);
pid_t __wrap_waitpid(pid_t pid, int *status, int options);

static void *host_thread_main(void *arg)
{
    host_thread *t = arg;
    int rc = fuzz_stub_serve(t->in_r, t->out_w, t->stop_r);
    /* As a process's exit: its descriptors close first, then its pidfd becomes readable. */
    close(t->in_r);
    close(t->out_w);
    t->status = rc < 0 ? SIGKILL : W_EXITCODE(rc, 0);
    ssize_t w = write(t->exit_w, "x", 1); /* EPIPE when the executor stopped watching: fine */
    (void)w;
    close(t->exit_w);
    return NULL;
}

static bool host_thread_fake(pid_t pid)
{
    return pid >= HOST_THREAD_PID_BASE || (pid < 0 && pid <= -HOST_THREAD_PID_BASE);
}

/* host_thread_find is the running thread host of pid (or of the group -pid), or NULL. */
static host_thread *host_thread_find(pid_t pid)
{
    if (!host_thread_fake(pid))
        return NULL;
    pid_t want = pid < 0 ? -pid : pid;
    for (size_t i = 0; i < HOST_THREAD_SLOTS; i++)
        if (host_threads[i].pid == want)
            return &host_threads[i];
    return NULL;
}

static void host_thread_close(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int __wrap_orci_proc_spawn(const char *const *argv, orci_proc *p, orc_error *err)
{
    const char *real = getenv("ORC_FUZZ_HOST_PROCESS");
    if (real && real[0] && strcmp(real, "0") != 0)
        return __real_orci_proc_spawn(argv, p, err);
    *p = (orci_proc)ORCI_PROC_INIT;
    host_thread *t = NULL;
    for (size_t i = 0; i < HOST_THREAD_SLOTS && !t; i++)
        if (host_threads[i].pid == 0)
            t = &host_threads[i];
    if (!t)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "no free host thread for %s", argv[0]);
    /* in, out, exit, stop: [0] read end, [1] write end, as pipe2 fills them. */
    int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    for (size_t i = 0; i < 4; i++) {
        if (pipe2(fds + 2 * i, O_CLOEXEC | O_NONBLOCK) != 0) {
            int e = errno;
            host_thread_close(fds, 8);
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot make pipes: %s", strerror(e));
        }
    }
    *t = (host_thread){.pid = host_thread_next,
                       .in_r = fds[0],
                       .out_w = fds[3],
                       .exit_w = fds[5],
                       .stop_r = fds[6],
                       .stop_w = fds[7]};
    int rc = pthread_create(&t->thread, NULL, host_thread_main, t);
    if (rc != 0) {
        host_thread_close(fds, 8);
        t->pid = 0;
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot start a host thread: %s",
                             strerror(rc));
    }
    p->pid = t->pid;
    p->in_w = fds[1];
    p->out_r = fds[2];
    p->exit_fd = fds[4];
    host_thread_next = host_thread_next == INT32_MAX ? HOST_THREAD_PID_BASE : host_thread_next + 1;
    return ORC_OK;
}

int __wrap_kill(pid_t pid, int sig)
{
    host_thread *t = host_thread_find(pid);
    if (!t && host_thread_fake(pid)) {
        errno = ESRCH; /* a thread host already reaped */
        return -1;
    }
    if (!t)
        return __real_kill(pid, sig);
    if (sig != 0) {
        /* An ended thread never reads it: like a signal to a zombie, it does nothing. */
        ssize_t w = write(t->stop_w, "k", 1);
        (void)w;
    }
    return 0;
}

pid_t __wrap_waitpid(pid_t pid, int *status, int options)
{
    host_thread *t = pid > 0 ? host_thread_find(pid) : NULL;
    if (!t && pid > 0 && host_thread_fake(pid)) {
        errno = ECHILD;
        return -1;
    }
    if (!t)
        return __real_waitpid(pid, status, options);
    if (options != 0) {
        errno = EINVAL; /* proc.c only ever blocks; nothing else is made up */
        return -1;
    }
    pthread_join(t->thread, NULL);
    if (status)
        *status = t->status;
    close(t->stop_r);
    close(t->stop_w);
    t->pid = 0;
    return pid;
}
