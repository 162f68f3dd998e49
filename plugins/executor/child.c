/*
 * child.c: fork + exec with stdin/stdout pipes, a deadline, an output cap and a tick.
 *
 * Between fork and exec the child only calls async-signal-safe functions: the parent is
 * multi-threaded (nng, other jobs) and the child inherits none of those threads.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"

/* The longest single wait in the loop: how often an exited child is noticed while a
 * grandchild still holds its stdout open. */
#define CHILD_POLL_MAX_MS 50

typedef struct child_io {
    int in_w;  /* our end of the child's stdin, -1 once closed */
    int out_r; /* our end of the child's stdout, -1 once closed */
    const char *input;
    size_t input_len, input_off;
    char *buf;
    size_t len, cap, max;
    bool over;
} child_io;

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* child_exec runs in the child: wire the pipes and exec. Never returns. */
static void child_exec(const char *const *argv, int in_r, int out_w, int err_w)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    if (dup2(in_r, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0) {
        int e = errno;
        ssize_t w = write(err_w, &e, sizeof e);
        (void)w;
        _exit(127);
    }
    /* execvp's interface takes char *const[]; it does not modify the strings. */
    char *const *args;
    memcpy(&args, &argv, sizeof args);
    execvp(argv[0], args);
    int e = errno;
    ssize_t w = write(err_w, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* io_read drains what the child wrote; marks over when past the cap. */
static void io_read(child_io *io)
{
    for (;;) {
        if (io->len + 4096 + 1 > io->cap) {
            size_t ncap = io->cap ? io->cap * 2 : 8192;
            if (ncap > io->max + 4096 + 1)
                ncap = io->max + 4096 + 1;
            if (ncap <= io->cap) {
                io->over = true;
                return;
            }
            char *nb = realloc(io->buf, ncap);
            if (!nb) {
                io->over = true;
                return;
            }
            io->buf = nb;
            io->cap = ncap;
        }
        ssize_t n = read(io->out_r, io->buf + io->len, io->cap - io->len - 1);
        if (n > 0) {
            io->len += (size_t)n;
            if (io->len > io->max) {
                io->over = true;
                return;
            }
            continue;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
            close_fd(&io->out_r);
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}

/* io_write feeds the child's stdin; closes it when done or when the child stopped reading. */
static void io_write(child_io *io)
{
    while (io->in_w >= 0 && io->input_off < io->input_len) {
        ssize_t n = write(io->in_w, io->input + io->input_off, io->input_len - io->input_off);
        if (n > 0) {
            io->input_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            close_fd(&io->in_w); /* EPIPE: the child does not want it */
        }
    }
    close_fd(&io->in_w);
}

static void kill_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

int orci_child_run(const orci_child_spec *spec, orci_child_result *res, orc_error *err)
{
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
    child_io io = {.in_w = -1, .out_r = -1, .input = spec->input, .input_len = spec->input_len};
    int rc = ORC_OK;
    memset(res, 0, sizeof *res);
    io.max = spec->output_max;
    if (!spec->argv || !spec->argv[0] || spec->timeout_ms <= 0 || spec->output_max == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "bad child specification");

    if (pipe2(in_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 ||
        pipe2(err_p, O_CLOEXEC) != 0) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot make pipes: %s", strerror(errno));
        goto out;
    }
    int64_t start = orci_monotonic_ms();
    pid_t pid = fork();
    if (pid < 0) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_exec(spec->argv, in_p[0], out_p[1], err_p[1]);
    /* Also in the parent, so a kill of the group cannot race the child's own setpgid. */
    setpgid(pid, pid);
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
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        rc = orc_error_set(err, ORC_NOT_FOUND, "cannot run %s: %s", spec->argv[0],
                           strerror(exec_errno));
        goto out;
    }

    io.in_w = in_p[1];
    in_p[1] = -1;
    io.out_r = out_p[0];
    out_p[0] = -1;
    fcntl(io.in_w, F_SETFL, fcntl(io.in_w, F_GETFL) | O_NONBLOCK);
    fcntl(io.out_r, F_SETFL, fcntl(io.out_r, F_GETFL) | O_NONBLOCK);
    if (!spec->input || spec->input_len == 0)
        close_fd(&io.in_w);

    int64_t deadline = start + spec->timeout_ms;
    int64_t next_tick = spec->tick && spec->tick_ms > 0 ? start + spec->tick_ms : INT64_MAX;
    int status = 0;
    bool exited = false, killed = false;
    res->outcome = ORCI_CHILD_EXITED;
    for (;;) {
        int64_t now = orci_monotonic_ms();
        if (!exited) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                exited = true;
        }
        if (exited) {
            if (io.out_r >= 0)
                io_read(&io);
            if (io.over) {
                res->outcome = ORCI_CHILD_OUTPUT_LIMIT;
            }
            break;
        }
        if (now >= deadline) {
            res->outcome = ORCI_CHILD_TIMED_OUT;
            killed = true;
            break;
        }
        if (now >= next_tick) {
            if (!spec->tick(spec->tick_arg)) {
                res->outcome = ORCI_CHILD_STOPPED;
                killed = true;
                break;
            }
            now = orci_monotonic_ms();
            next_tick = now + spec->tick_ms;
        }
        struct pollfd pfd[2];
        nfds_t n = 0;
        if (io.out_r >= 0)
            pfd[n++] = (struct pollfd){.fd = io.out_r, .events = POLLIN};
        if (io.in_w >= 0)
            pfd[n++] = (struct pollfd){.fd = io.in_w, .events = POLLOUT};
        int64_t wait = deadline - now;
        if (next_tick - now < wait)
            wait = next_tick - now;
        if (wait > CHILD_POLL_MAX_MS)
            wait = CHILD_POLL_MAX_MS;
        if (wait < 0)
            wait = 0;
        if (n == 0) {
            struct timespec ts = {0, (long)wait * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (poll(pfd, n, (int)wait) < 0 && errno != EINTR) {
            rc = orc_error_set(err, ORC_INTERNAL, "poll: %s", strerror(errno));
            killed = true;
            break;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == io.out_r)
                io_read(&io);
            else if (pfd[i].fd == io.in_w)
                io_write(&io);
        }
        if (io.over) {
            res->outcome = ORCI_CHILD_OUTPUT_LIMIT;
            killed = true;
            break;
        }
    }
    kill_group(pid); /* stragglers in the group, or the child itself when killed */
    if (!exited) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    res->elapsed_ms = orci_monotonic_ms() - start;
    if (!killed && res->outcome == ORCI_CHILD_EXITED) {
        if (WIFSIGNALED(status)) {
            res->outcome = ORCI_CHILD_SIGNALED;
            res->signal = WTERMSIG(status);
        } else {
            res->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        }
    }
    if (res->outcome == ORCI_CHILD_EXITED || res->outcome == ORCI_CHILD_SIGNALED) {
        if (!io.buf && !(io.buf = malloc(1))) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
        io.buf[io.len] = '\0';
        res->output = io.buf;
        res->output_len = io.len;
        io.buf = NULL;
    }

out:
    close_fd(&io.in_w);
    close_fd(&io.out_r);
    for (int i = 0; i < 2; i++) {
        close_fd(&in_p[i]);
        close_fd(&out_p[i]);
        close_fd(&err_p[i]);
    }
    free(io.buf);
    return rc;
}

void orci_child_result_fini(orci_child_result *res)
{
    if (!res)
        return;
    free(res->output);
    res->output = NULL;
    res->output_len = 0;
}

void orci_child_describe(const orci_child_result *res, const char *what, int64_t timeout_ms,
                         size_t output_max, char *out, size_t out_size)
{
    switch (res->outcome) {
    case ORCI_CHILD_EXITED:
        snprintf(out, out_size, "%s exited with status %d", what, res->exit_status);
        break;
    case ORCI_CHILD_SIGNALED:
        snprintf(out, out_size, "%s crashed: signal %d", what, res->signal);
        break;
    case ORCI_CHILD_TIMED_OUT:
        snprintf(out, out_size, "%s timed out after %lld s", what,
                 (long long)((timeout_ms + 999) / 1000));
        break;
    case ORCI_CHILD_OUTPUT_LIMIT:
        snprintf(out, out_size, "%s output exceeds %zu bytes", what, output_max);
        break;
    case ORCI_CHILD_STOPPED:
        snprintf(out, out_size, "%s stopped", what);
        break;
    }
}
