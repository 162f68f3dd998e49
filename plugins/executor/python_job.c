/*
 * python_job.c: a job in the worker's Python runner (python_job.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "python_job.h"

static bool pyjob_is_step(const orci_job_spec *spec)
{
    return !spec->kind || !spec->kind[0] || strcmp(spec->kind, "step") == 0;
}

bool orci_python_job_wanted(const orci_job_spec *spec)
{
    if (!pyjob_is_step(spec))
        return true; /* hooks are Python functions; without Python they fail below */
    /* The package first: a C plugin's step whose package is no Python one costs no lookup
     * more than before there was Python. Then a C plugin of the same name wins: the C port
     * of a step keeps running it. */
    if (!spec->python || !orci_python_takes(spec->python, spec->function))
        return false;
    return !orci_plugin_set_find(spec->plugins, spec->function, NULL);
}

static void pyjob_fail(orci_job_outcome *out, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pyjob_fail(orci_job_outcome *out, bool retryable, const char *fmt, ...)
{
    va_list ap;
    out->ok = false;
    out->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
}

/* pyjob_error keeps the end of a long error (a traceback's exception line is last), cut at a
 * UTF-8 character boundary. */
static void pyjob_error(orci_job_outcome *out, bool retryable, const char *msg)
{
    size_t n = strlen(msg), room = sizeof out->error - 4;
    if (n <= sizeof out->error - 1) {
        pyjob_fail(out, retryable, "%s", msg);
        return;
    }
    const char *tail = msg + n - room;
    while (*tail && ((unsigned char)*tail & 0xC0) == 0x80)
        tail++;
    pyjob_fail(out, retryable, "...%s", tail);
}

/* pyjob_object parses a JSON object text for the call ("" or NULL: {}). */
static json_t *pyjob_object(const char *text, const char *what, orc_error *err)
{
    if (!text || !text[0])
        text = "{}";
    return orci_json_parse_object(text, strlen(text), what, err);
}

/* pyjob_call builds the call's JSON text (malloc'd); NULL with err set. */
static char *pyjob_call(const orci_job_spec *spec, orc_error *err)
{
    json_t *fn = pyjob_object(spec->execution_function, "execution_function", err);
    json_t *pd = fn ? pyjob_object(spec->project_data, "project_data", err) : NULL;
    json_t *pr = pd ? pyjob_object(spec->prerequisites, "prerequisites", err) : NULL;
    json_t *ctx = pr ? pyjob_object(spec->context, "context", err) : NULL;
    char *text = NULL;
    if (ctx) {
        json_t *call = json_pack("{s:s, s:o, s:o, s:o, s:o}", "kind",
                                 pyjob_is_step(spec) ? "step" : spec->kind, "function", fn,
                                 "project_data", pd, "prerequisites", pr, "context", ctx);
        fn = pd = pr = ctx = NULL; /* stolen, even on failure */
        if (!call || !(text = orci_json_dump(call)))
            orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        json_decref(call);
    }
    json_decref(fn);
    json_decref(pd);
    json_decref(pr);
    json_decref(ctx);
    return text;
}

/* pyjob_reply reads a runner's reply into the outcome. */
static void pyjob_reply(const orci_child_result *r, orci_job_outcome *out)
{
    orc_error e = {0};
    json_t *reply = orci_json_parse_object(r->output, r->output_len, "function result", &e);
    const char *status = json_string_value(json_object_get(reply, "status"));
    json_t *output = json_object_get(reply, "output");
    if (status && strcmp(status, "ok") == 0 && json_is_object(output)) {
        if ((out->output = orci_json_dump(output)))
            out->ok = true;
        else
            pyjob_fail(out, true, "out of memory");
    } else if (status && strcmp(status, "fail") == 0) {
        const char *msg = json_string_value(json_object_get(reply, "error"));
        pyjob_error(out, json_is_true(json_object_get(reply, "retryable")),
                    msg && msg[0] ? msg : "function failed");
    } else {
        pyjob_fail(out, true, "function gave no result%s%s", reply ? "" : ": ",
                   reply ? "" : e.message);
    }
    json_decref(reply);
}

void orci_python_job_run(const orci_job_spec *spec, size_t max, orci_job_outcome *out)
{
    orc_error e = {0};
    memset(out, 0, sizeof *out);
    if (!spec->python || !spec->runner) {
        pyjob_fail(out, false,
                   "this executor runs no Python functions (started with "
                   "--no-python, or without python3)");
        return;
    }
    char *input = pyjob_call(spec, &e);
    if (!input) {
        pyjob_fail(out, false, "%s", e.message);
        return;
    }
    orci_host_call call = {.function = spec->function,
                           .input = input,
                           .input_len = strlen(input),
                           .timeout_ms = spec->timeout_ms,
                           .output_max = max,
                           .tick_ms = spec->tick_ms,
                           .tick = spec->tick,
                           .tick_arg = spec->tick_arg};
    orci_child_result r = {0};
    if (orci_pyrunner_run(spec->runner, &call, &r, &e) != ORC_OK) {
        pyjob_fail(out, true, "%s", e.message);
    } else if (r.outcome == ORCI_CHILD_REPLIED) {
        pyjob_reply(&r, out);
    } else {
        char line[256];
        orci_child_describe(&r, "function", spec->timeout_ms, max, line, sizeof line);
        out->stopped = r.outcome == ORCI_CHILD_STOPPED;
        if (r.over_memory)
            pyjob_fail(out, true, "function exceeded the memory limit of %d MB (%s)",
                       orci_pyrunner_memory_mb(spec->runner), line + strlen("function "));
        else
            pyjob_fail(out, r.outcome != ORCI_CHILD_OUTPUT_LIMIT, "%s", line);
    }
    orci_child_result_fini(&r);
    free(input);
}
