/*
 * child.c: one program in its own process (proc.h) with its input on stdin, its stdout
 * collected up to a cap, a deadline and a tick; the whole group killed when it ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "child.h"
#include "clock.h"
#include "proc.h"

int orci_child_run(const orci_child_spec *spec, orci_child_result *res, orc_error *err)
{
    orci_proc p = ORCI_PROC_INIT;
    orci_pump io = {.mode = ORCI_PUMP_UNTIL_EXIT,
                    .input = spec->input,
                    .input_len = spec->input ? spec->input_len : 0,
                    .close_input = true,
                    .max = spec->output_max};
    memset(res, 0, sizeof *res);
    if (!spec->argv || !spec->argv[0] || spec->timeout_ms <= 0 || spec->output_max == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "bad child specification");

    int64_t start = orci_monotonic_ms();
    int rc = orci_proc_spawn(spec->argv, &p, err);
    if (rc != ORC_OK)
        return rc;
    orci_pump_clock clk = {.deadline = start + spec->timeout_ms,
                           .tick_ms = spec->tick_ms,
                           .tick = spec->tick,
                           .tick_arg = spec->tick_arg};
    switch (orci_proc_pump(&p, &io, &clk, err)) {
    case ORCI_PUMP_EXITED:
    case ORCI_PUMP_FRAME: /* not asked for */
        res->outcome = ORCI_CHILD_EXITED;
        break;
    case ORCI_PUMP_TIMED_OUT:
        res->outcome = ORCI_CHILD_TIMED_OUT;
        break;
    case ORCI_PUMP_STOPPED:
        res->outcome = ORCI_CHILD_STOPPED;
        break;
    case ORCI_PUMP_OVER:
        res->outcome = ORCI_CHILD_OUTPUT_LIMIT;
        break;
    case ORCI_PUMP_FAILED:
        rc = err->code;
        break;
    }
    /* An exit that came with too much output is still over the cap. */
    if (res->outcome == ORCI_CHILD_EXITED && io.over)
        res->outcome = ORCI_CHILD_OUTPUT_LIMIT;
    orci_proc_kill(&p); /* stragglers in the group, or the child itself when not ended */
    res->elapsed_ms = orci_monotonic_ms() - start;
    if (rc != ORC_OK)
        goto out;
    if (res->outcome == ORCI_CHILD_EXITED) {
        if (WIFSIGNALED(p.status)) {
            res->outcome = ORCI_CHILD_SIGNALED;
            res->signal = WTERMSIG(p.status);
        } else {
            res->exit_status = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 0;
        }
        if (!io.buf && !(io.buf = calloc(1, 1))) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
        res->output = io.buf;
        res->output_len = io.len;
        io.buf = NULL;
    }
out:
    orci_pump_fini(&io);
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
    case ORCI_CHILD_REPLIED:
        snprintf(out, out_size, "%s replied", what);
        break;
    }
}
