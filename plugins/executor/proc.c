/*
 * proc.c: fork + exec with stdin/stdout pipes, watched by a pidfd in one poll() with the
 * pipes, a deadline and a tick. Where pidfd_open is missing (kernels before 5.3, seccomp
 * profiles that predate it, valgrind), a thread that waits for the exit writes to a pipe
 * instead, which poll() watches the same way.
 *
 * Between fork and exec the child only calls async-signal-safe functions: the executor is
 * multi-threaded (nng, other jobs) and the child inherits none of those threads.
 */
#define _GNU_SOURCE /* pipe2, pidfd_open */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* proc_exec runs in the child: die with the parent, wire the pipes and exec. Never returns. */
static void proc_exec(const char *const *argv, pid_t parent, int in_r, int out_w, int err_w)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    /* The parent may have died between fork and prctl: then nobody would send the signal. */
    int e = 0;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        e = errno;
    else if (getppid() != parent)
        _exit(127);
    if (e == 0 && (dup2(in_r, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0))
        e = errno;
    if (e == 0) {
        /* execvp's interface takes char *const[]; it does not modify the strings. */
        char *const *args;
        memcpy(&args, &argv, sizeof args);
        execvp(argv[0], args);
        e = errno;
    }
    ssize_t w = write(err_w, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* proc_reap waits for an exited (or killed) process; blocking. */
static void proc_reap(orci_proc *p)
{
    if (p->pid <= 0 || p->reaped)
        return;
    int st = 0;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    p->status = st;
    p->reaped = true;
}

static void proc_kill_group(const orci_proc *p)
{
    if (p->pid > 0 && !p->reaped) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
    }
}

/* proc_watcher is the thread behind a watch pipe: it waits for the exit (without reaping,
 * so the pid and its group stay reserved) and says so. */
typedef struct proc_watch_arg {
    pid_t pid;
    int fd;
} proc_watch_arg;

static void *proc_watcher(void *arg)
{
    proc_watch_arg *a = arg;
    siginfo_t si;
    while (waitid(P_PID, (id_t)a->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    ssize_t w = write(a->fd, "x", 1); /* EPIPE when nobody watches any more: fine */
    (void)w;
    close(a->fd);
    free(a);
    return NULL;
}

/* proc_watch gives p its exit_fd: a pidfd, or a pipe written by a watcher thread. */
static int proc_watch(orci_proc *p, orc_error *err)
{
    if ((p->exit_fd = pidfd_open(p->pid, 0)) >= 0)
        return ORC_OK;
    if (errno != ENOSYS && errno != EPERM)
        return orc_error_set(err, ORC_INTERNAL, "cannot watch process %d: pidfd_open: %s",
                             (int)p->pid, strerror(errno));
    int fds[2];
    proc_watch_arg *a = malloc(sizeof *a);
    if (!a || pipe2(fds, O_CLOEXEC) != 0) {
        free(a);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot watch process %d", (int)p->pid);
    }
    *a = (proc_watch_arg){.pid = p->pid, .fd = fds[1]};
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, proc_watcher, a);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        close(fds[0]);
        close(fds[1]);
        free(a);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot watch process %d: %s",
                             (int)p->pid, strerror(rc));
    }
    p->exit_fd = fds[0];
    return ORC_OK;
}

int orci_proc_spawn(const char *const *argv, orci_proc *p, orc_error *err)
{
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    int rc = ORC_OK;
    *p = (orci_proc)ORCI_PROC_INIT;
    if (pipe2(in_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 ||
        pipe2(err_p, O_CLOEXEC) != 0) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot make pipes: %s", strerror(errno));
        goto out;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        proc_exec(argv, parent, in_p[0], out_p[1], err_p[1]);
    /* Also in the parent, so a kill of the group cannot race the child's own setpgid. */
    setpgid(pid, pid);
    p->pid = pid;
    close_fd(&in_p[0]);
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);

    /* The exec either succeeds (the error pipe closes on exec) or reports its errno. */
    int exec_errno = 0;
    ssize_t got;
    do {
        got = read(err_p[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof exec_errno) {
        rc = orc_error_set(err, ORC_NOT_FOUND, "cannot run %s: %s", argv[0], strerror(exec_errno));
        goto out;
    }
    if ((rc = proc_watch(p, err)) != ORC_OK)
        goto out;
    p->in_w = in_p[1];
    in_p[1] = -1;
    p->out_r = out_p[0];
    out_p[0] = -1;
    fcntl(p->in_w, F_SETFL, fcntl(p->in_w, F_GETFL) | O_NONBLOCK);
    fcntl(p->out_r, F_SETFL, fcntl(p->out_r, F_GETFL) | O_NONBLOCK);

out:
    for (int i = 0; i < 2; i++) {
        close_fd(&in_p[i]);
        close_fd(&out_p[i]);
        close_fd(&err_p[i]);
    }
    if (rc != ORC_OK)
        orci_proc_kill(p);
    return rc;
}

/* pump_room makes room for one more read; false (and over) when past the cap. */
static bool pump_room(orci_pump *io, size_t limit)
{
    if (io->len + 4096 + 1 <= io->cap)
        return true;
    size_t ncap = io->cap ? io->cap * 2 : 8192;
    if (ncap > limit + 4096 + 1)
        ncap = limit + 4096 + 1;
    if (ncap <= io->cap) {
        io->over = true;
        return false;
    }
    char *nb = realloc(io->buf, ncap);
    if (!nb) {
        io->over = true;
        return false;
    }
    io->buf = nb;
    io->cap = ncap;
    return true;
}

/* frame_want is how many more bytes the frame being read needs (0: it is whole). */
static size_t frame_want(orci_pump *io)
{
    if (io->len < ORCI_FRAME_HEADER)
        return ORCI_FRAME_HEADER - io->len;
    const unsigned char *h = (const unsigned char *)io->buf;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
    if (n > io->max) {
        io->over = true;
        return 0;
    }
    return ORCI_FRAME_HEADER + n - io->len;
}

/*
 * pump_read drains what the process wrote (a frame reads no further than its end); marks
 * over when past the cap; closes out_r at the end of the stream.
 */
static void pump_read(orci_proc *p, orci_pump *io)
{
    size_t limit = io->mode == ORCI_PUMP_UNTIL_FRAME ? io->max + ORCI_FRAME_HEADER : io->max;
    while (p->out_r >= 0 && !io->over) {
        size_t want = SIZE_MAX;
        if (io->mode == ORCI_PUMP_UNTIL_FRAME && (want = frame_want(io)) == 0)
            return;
        if (!pump_room(io, limit))
            return;
        size_t room = io->cap - io->len - 1;
        ssize_t n = read(p->out_r, io->buf + io->len, want < room ? want : room);
        if (n > 0) {
            io->len += (size_t)n;
            io->buf[io->len] = '\0';
            if (io->len > limit)
                io->over = true;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            close_fd(&p->out_r);
        }
    }
}

/* pump_write feeds the process's stdin; closes it when the process stopped reading, or when
 * done and io asks for it. */
static void pump_write(orci_proc *p, orci_pump *io)
{
    while (p->in_w >= 0 && io->input_off < io->input_len) {
        ssize_t n = write(p->in_w, io->input + io->input_off, io->input_len - io->input_off);
        if (n > 0) {
            io->input_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            close_fd(&p->in_w); /* EPIPE: it does not want it */
        }
    }
    if (io->close_input)
        close_fd(&p->in_w);
}

/* pump_exited handles the end of the process: kill what is left of its group, read what it
 * wrote, reap it. */
static void pump_exited(orci_proc *p, orci_pump *io)
{
    proc_kill_group(p); /* it is a zombie: its pid, the group's id, is not reused yet */
    pump_read(p, io);
    proc_reap(p);
    close_fd(&p->exit_fd);
}

/* pump_done says whether io's condition holds. */
static bool pump_done(orci_pump *io)
{
    return io->mode == ORCI_PUMP_UNTIL_FRAME && !io->over && frame_want(io) == 0;
}

orci_pump_end orci_proc_pump(orci_proc *p, orci_pump *io, const orci_pump_clock *clk,
                             orc_error *err)
{
    int64_t now = orci_monotonic_ms();
    int64_t next_tick = clk->tick && clk->tick_ms > 0 ? now + clk->tick_ms : INT64_MAX;
    pump_write(p, io);
    for (;;) {
        if (io->over)
            return ORCI_PUMP_OVER;
        if (pump_done(io))
            return ORCI_PUMP_FRAME;
        if (p->reaped || p->exit_fd < 0)
            return ORCI_PUMP_EXITED;
        now = orci_monotonic_ms();
        if (now >= clk->deadline)
            return ORCI_PUMP_TIMED_OUT;
        if (now >= next_tick) {
            if (!clk->tick(clk->tick_arg))
                return ORCI_PUMP_STOPPED;
            now = orci_monotonic_ms();
            next_tick = now + clk->tick_ms;
        }
        struct pollfd pfd[3];
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = p->exit_fd, .events = POLLIN};
        if (p->out_r >= 0)
            pfd[n++] = (struct pollfd){.fd = p->out_r, .events = POLLIN};
        if (p->in_w >= 0 && io->input_off < io->input_len)
            pfd[n++] = (struct pollfd){.fd = p->in_w, .events = POLLOUT};
        int64_t wait = (next_tick < clk->deadline ? next_tick : clk->deadline) - now;
        if (poll(pfd, n, wait > INT32_MAX ? INT32_MAX : (int)wait) < 0) {
            if (errno == EINTR)
                continue;
            orc_error_set(err, ORC_INTERNAL, "poll: %s", strerror(errno));
            return ORCI_PUMP_FAILED;
        }
        for (nfds_t i = 1; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == p->out_r)
                pump_read(p, io);
            else if (pfd[i].fd == p->in_w)
                pump_write(p, io);
        }
        if (pfd[0].revents && !pump_done(io))
            pump_exited(p, io);
    }
}

void orci_pump_fini(orci_pump *io)
{
    if (!io)
        return;
    free(io->buf);
    io->buf = NULL;
    io->len = io->cap = 0;
}

bool orci_proc_frame(const orci_pump *io, char *kind, const char **payload, size_t *len)
{
    if (!io->buf || io->len < ORCI_FRAME_HEADER)
        return false;
    const unsigned char *h = (const unsigned char *)io->buf;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
    if (io->len < ORCI_FRAME_HEADER + n)
        return false;
    *kind = (char)h[4];
    *payload = io->buf + ORCI_FRAME_HEADER;
    *len = n;
    return true;
}

bool orci_proc_wait_exit(orci_proc *p, int ms)
{
    if (p->pid <= 0 || p->reaped)
        return true;
    if (p->exit_fd < 0)
        return false;
    int64_t deadline = orci_monotonic_ms() + ms;
    for (;;) {
        int64_t left = deadline - orci_monotonic_ms();
        struct pollfd pfd = {.fd = p->exit_fd, .events = POLLIN};
        int r = poll(&pfd, 1, left < 0 ? 0 : (int)left);
        if (r > 0) {
            proc_kill_group(p);
            proc_reap(p);
            close_fd(&p->exit_fd);
            return true;
        }
        if ((r < 0 && errno != EINTR) || left <= 0)
            return false;
    }
}

void orci_proc_kill(orci_proc *p)
{
    proc_kill_group(p);
    proc_reap(p);
    close_fd(&p->exit_fd);
    close_fd(&p->in_w);
    close_fd(&p->out_r);
    p->pid = 0;
}
