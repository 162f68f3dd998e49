/*
 * host.c: the executor's side of a plugin host (host.h): start it, send it calls, read its
 * replies, replace it when a call goes wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "host.h"
#include "log.h"
#include "proc.h"

/* The fixed arguments before the plugin paths, and the terminator. */
#define HOST_FIXED_ARGS 6

struct orci_host {
    orci_host_opts opts;
    orci_proc proc; /* pid 0 when no host runs */
    unsigned calls; /* served by the current process, for the log */
};

int orci_host_new(const orci_host_opts *opts, orci_host **out, orc_error *err)
{
    *out = NULL;
    if ((!opts->self_exe && !opts->argv) || opts->memory_mb < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "bad plugin host options");
    orci_host *h = calloc(1, sizeof *h);
    if (!h)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    h->opts = *opts;
    h->proc = (orci_proc)ORCI_PROC_INIT;
    *out = h;
    return ORC_OK;
}

static const char *host_what(const orci_host *h)
{
    return h->opts.what ? h->opts.what : "plugin host";
}

/*
 * host_release ends the current process (given wait_ms to exit by itself after the end of
 * its input, then killed with its group) and logs why.
 */
static void host_release(orci_host *h, int wait_ms, orci_log_level level, const char *why)
{
    if (h->proc.pid <= 0)
        return;
    pid_t pid = h->proc.pid;
    if (wait_ms > 0) {
        if (h->proc.in_w >= 0) {
            close(h->proc.in_w); /* the end of its input: it exits by itself */
            h->proc.in_w = -1;
        }
        if (!orci_proc_wait_exit(&h->proc, wait_ms))
            orci_warn("%s %d did not exit within %d ms; killed", host_what(h), (int)pid, wait_ms);
    }
    orci_proc_kill(&h->proc);
    orci_log(level, "%s %d ended after %u calls: %s", host_what(h), (int)pid, h->calls, why);
    h->calls = 0;
}

void orci_host_destroy(orci_host *h)
{
    if (!h)
        return;
    host_release(h, ORCI_HOST_STOP_MS, ORCI_LOG_DEBUG, "its worker stops");
    free(h);
}

/* host_start spawns a host process when none runs, or when the last one died idle. */
static int host_start(orci_host *h, orc_error *err)
{
    if (h->proc.pid > 0 && !orci_proc_wait_exit(&h->proc, 0))
        return ORC_OK;
    if (h->proc.pid > 0)
        host_release(h, 0, ORCI_LOG_INFO, "it ended between calls");
    if (h->opts.argv) {
        int rc = orci_proc_spawn(h->opts.argv, &h->proc, err);
        if (rc == ORC_OK)
            orci_debug("%s %d started", host_what(h), (int)h->proc.pid);
        return rc;
    }
    char memory[16];
    size_t n = 0;
    const char **argv = calloc(h->opts.n_plugins + HOST_FIXED_ARGS, sizeof *argv);
    if (!argv)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    snprintf(memory, sizeof memory, "%d", h->opts.memory_mb);
    argv[n++] = h->opts.self_exe;
    argv[n++] = ORCI_HOST_FLAG;
    argv[n++] = h->opts.storage_root ? h->opts.storage_root : "";
    argv[n++] = h->opts.log_level ? h->opts.log_level : "info";
    argv[n++] = memory;
    for (size_t i = 0; i < h->opts.n_plugins; i++)
        argv[n++] = h->opts.plugin_paths[i];
    argv[n] = NULL;
    int rc = orci_proc_spawn(argv, &h->proc, err);
    free(argv);
    if (rc == ORC_OK)
        orci_debug("%s %d started", host_what(h), (int)h->proc.pid);
    return rc;
}

/* host_request builds the 'J' frame of a call (malloc'd). */
static char *host_request(const orci_host_call *call, size_t *len)
{
    size_t fn = strlen(call->function);
    size_t payload = fn + 1 + call->input_len;
    char *f = malloc(ORCI_FRAME_HEADER + payload);
    if (!f)
        return NULL;
    f[0] = (char)(payload >> 24 & 0xff);
    f[1] = (char)(payload >> 16 & 0xff);
    f[2] = (char)(payload >> 8 & 0xff);
    f[3] = (char)(payload & 0xff);
    f[4] = 'J';
    memcpy(f + ORCI_FRAME_HEADER, call->function, fn + 1);
    memcpy(f + ORCI_FRAME_HEADER + fn + 1, call->input, call->input_len);
    *len = ORCI_FRAME_HEADER + payload;
    return f;
}

/* host_died fills res from the status of a host that ended during a call. */
static void host_died(orci_host *h, orci_child_result *res)
{
    int st = h->proc.status;
    if (WIFSIGNALED(st)) {
        res->outcome = ORCI_CHILD_SIGNALED;
        res->signal = WTERMSIG(st);
    } else {
        res->outcome = ORCI_CHILD_EXITED;
        res->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    }
}

/*
 * host_take_frame handles the frame a call ended with: a reply (kept, or the host's last),
 * or the note of a host dying near its memory limit. Returns the reason to replace the host,
 * NULL to keep it.
 */
static const char *host_take_frame(orci_host *h, orci_pump *io, const orci_pump_clock *clk,
                                   orci_child_result *res)
{
    char kind = 0;
    const char *payload = NULL;
    size_t len = 0;
    orci_proc_frame(io, &kind, &payload, &len);
    if (kind == 'M') {
        /* It dies right after the note; the deadline still bounds the wait. */
        int64_t left = clk->deadline - orci_monotonic_ms();
        orci_proc_wait_exit(&h->proc, left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left);
        host_release(h, 0, ORCI_LOG_INFO, "it crashed near its memory limit");
        host_died(h, res);
        res->over_memory = true;
        return NULL;
    }
    res->outcome = ORCI_CHILD_REPLIED;
    memmove(io->buf, payload, len);
    io->buf[len] = '\0';
    io->len = len;
    if (kind == 'L') {
        res->over_memory = true;
        host_release(h, ORCI_HOST_STOP_MS, ORCI_LOG_INFO, "it came near its memory limit");
        return NULL; /* already released */
    }
    if (kind != 'R') {
        io->len = 0;
        io->buf[0] = '\0';
        return "it broke the protocol";
    }
    return NULL;
}

int orci_host_run(orci_host *h, const orci_host_call *call, orci_child_result *res, orc_error *err)
{
    memset(res, 0, sizeof *res);
    if (!call->function || !call->input || call->timeout_ms <= 0 || call->output_max == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "bad plugin call");
    int64_t start = orci_monotonic_ms();
    int rc = host_start(h, err);
    if (rc != ORC_OK)
        return rc;
    size_t req_len = 0;
    char *req = host_request(call, &req_len);
    if (!req)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    orci_pump io = {
        .mode = ORCI_PUMP_UNTIL_FRAME, .input = req, .input_len = req_len, .max = call->output_max};
    orci_pump_clock clk = {.deadline = start + call->timeout_ms,
                           .tick_ms = call->tick_ms,
                           .tick = call->tick,
                           .tick_arg = call->tick_arg};
    const char *replace = NULL;
    h->calls++;
    switch (orci_proc_pump(&h->proc, &io, &clk, err)) {
    case ORCI_PUMP_FRAME:
        replace = host_take_frame(h, &io, &clk, res);
        break;
    case ORCI_PUMP_EXITED:
        host_died(h, res);
        replace = "it ended during a call";
        break;
    case ORCI_PUMP_TIMED_OUT:
        res->outcome = ORCI_CHILD_TIMED_OUT;
        replace = "a call ran past its deadline";
        break;
    case ORCI_PUMP_STOPPED:
        res->outcome = ORCI_CHILD_STOPPED;
        replace = "its job was stopped";
        break;
    case ORCI_PUMP_OVER:
        res->outcome = ORCI_CHILD_OUTPUT_LIMIT;
        replace = "a reply was over the output cap";
        break;
    case ORCI_PUMP_FAILED:
        rc = err->code;
        replace = "watching it failed";
        break;
    }
    free(req);
    if (replace)
        host_release(h, 0, ORCI_LOG_INFO, replace);
    res->elapsed_ms = orci_monotonic_ms() - start;
    if (rc == ORC_OK && res->outcome == ORCI_CHILD_REPLIED) {
        res->output = io.buf;
        res->output_len = io.len;
        io.buf = NULL;
    }
    orci_pump_fini(&io);
    return rc;
}

pid_t orci_host_pid(const orci_host *h)
{
    return h && h->proc.pid > 0 ? h->proc.pid : 0;
}

int orci_host_memory_mb(const orci_host *h)
{
    return h ? h->opts.memory_mb : 0;
}
