/*
 * job.c: one job, in the worker's plugin host or in a command's own process, and the host
 * services handed to plugins.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "job.h"
#include "json.h"
#include "log.h"
#include "python_job.h"

/* The most arguments an external command may have. */
#define JOB_MAX_ARGS 256

/* ---- host services --------------------------------------------------------------- */

static void host_log(const orc_plugin_host *host, int level, const char *fmt, ...)
{
    (void)host;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (level < ORC_PLUGIN_LOG_DEBUG)
        level = ORC_PLUGIN_LOG_DEBUG;
    if (level > ORC_PLUGIN_LOG_ERROR)
        level = ORC_PLUGIN_LOG_ERROR;
    orci_log((orci_log_level)level, "%s", line);
}

static void *host_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

static void host_free(void *p)
{
    free(p);
}

static uint64_t host_random(const orc_plugin_host *host)
{
    (void)host;
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
    }
    return v;
}

void orci_plugin_host_init(orc_plugin_host *host, const char *storage_root)
{
    memset(host, 0, sizeof *host);
    host->abi_version = ORC_PLUGIN_ABI_VERSION;
    host->struct_size = sizeof *host;
    host->log = host_log;
    host->storage_root = storage_root;
    host->alloc = host_alloc;
    host->free = host_free;
    host->random = host_random;
}

/* ---- outcomes ---------------------------------------------------------------------- */

static void job_fail(orci_job_outcome *out, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void job_fail(orci_job_outcome *out, bool retryable, const char *fmt, ...)
{
    va_list ap;
    out->ok = false;
    out->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
}

void orci_job_outcome_fini(orci_job_outcome *out)
{
    if (!out)
        return;
    free(out->output);
    out->output = NULL;
}

/*
 * job_input builds the child's stdin, {"project_data":..,"prerequisites":..}; NULL with
 * err set when either document is not a JSON object.
 */
static char *job_input(const char *project_data, const char *prerequisites, orc_error *err)
{
    json_t *pd = NULL, *pr = NULL, *doc = NULL;
    char *text = NULL;
    if (!project_data || !project_data[0])
        project_data = "{}";
    if (!prerequisites || !prerequisites[0])
        prerequisites = "{}";
    if (!(pd = orci_json_parse_object(project_data, strlen(project_data), "project_data", err)))
        goto out;
    if (!(pr = orci_json_parse_object(prerequisites, strlen(prerequisites), "prerequisites", err)))
        goto out;
    doc = json_pack("{s:O,s:O}", "project_data", pd, "prerequisites", pr);
    if (!doc || !(text = orci_json_dump(doc)))
        orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
out:
    json_decref(pd);
    json_decref(pr);
    json_decref(doc);
    return text;
}

/* job_command_argv parses {"command":["prog","arg",...]} into argv (strings borrowed from
 * *root, which the caller releases). */
static int job_command_argv(const char *execution_function, json_t **root, const char **argv,
                            orc_error *err)
{
    const char *ef = execution_function ? execution_function : "";
    *root = orci_json_parse_object(ef, strlen(ef), "execution_function", err);
    if (!*root)
        return err->code;
    json_t *cmd = json_object_get(*root, "command");
    size_t n = json_array_size(cmd);
    if (!json_is_array(cmd) || n == 0 || n >= JOB_MAX_ARGS)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "execution_function has no \"command\" list of 1 to %d strings",
                             JOB_MAX_ARGS - 1);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(cmd, i));
        if (!s || !s[0])
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "execution_function command argument %zu is not a string", i);
        argv[i] = s;
    }
    argv[n] = NULL;
    return ORC_OK;
}

/* job_take_object keeps text as the outcome when it is a JSON object. */
static void job_take_object(orci_job_outcome *out, const json_t *obj)
{
    if (!(out->output = orci_json_dump(obj))) {
        job_fail(out, true, "out of memory");
        return;
    }
    out->ok = true;
}

/* job_child_failure turns an abnormal child end into a failure. */
static void job_child_failure(orci_job_outcome *out, const orci_child_result *r, const char *what,
                              const orci_job_spec *spec, size_t max)
{
    char line[256];
    orci_child_describe(r, what, spec->timeout_ms, max, line, sizeof line);
    out->stopped = r->outcome == ORCI_CHILD_STOPPED;
    job_fail(out, r->outcome != ORCI_CHILD_OUTPUT_LIMIT, "%s", line);
}

static void job_run_command(const orci_job_spec *spec, const char *input, size_t max,
                            orci_job_outcome *out)
{
    const char *argv[JOB_MAX_ARGS];
    json_t *root = NULL;
    orc_error e = {0};
    orci_child_result r = {0};
    if (!spec->allow_commands) {
        job_fail(out, false, "external commands are not allowed on this executor");
        goto out;
    }
    if (job_command_argv(spec->execution_function, &root, argv, &e) != ORC_OK) {
        job_fail(out, false, "%s", e.message);
        goto out;
    }
    orci_child_spec cs = {.argv = argv,
                          .input = input,
                          .input_len = strlen(input),
                          .timeout_ms = spec->timeout_ms,
                          .output_max = max,
                          .tick_ms = spec->tick_ms,
                          .tick = spec->tick,
                          .tick_arg = spec->tick_arg};
    if (orci_child_run(&cs, &r, &e) != ORC_OK) {
        job_fail(out, true, "%s", e.message);
        goto out;
    }
    if (r.outcome != ORCI_CHILD_EXITED || r.exit_status != 0) {
        job_child_failure(out, &r, "command", spec, max);
        goto out;
    }
    /* A command that prints nothing (true, a script that only writes files) gave {}. */
    bool blank = true;
    for (size_t i = 0; blank && i < r.output_len; i++)
        blank =
            r.output[i] == ' ' || r.output[i] == '\t' || r.output[i] == '\n' || r.output[i] == '\r';
    json_t *obj = blank ? json_object()
                        : orci_json_parse_object(r.output, r.output_len, "command output", &e);
    if (blank && !obj) {
        job_fail(out, true, "out of memory");
        goto out;
    }
    if (!obj) {
        job_fail(out, false, "%s", e.message);
        goto out;
    }
    job_take_object(out, obj);
    json_decref(obj);
out:
    orci_child_result_fini(&r);
    json_decref(root);
}

/* job_read_plugin_reply interprets a plugin host's reply. */
static void job_read_plugin_reply(const orci_child_result *r, orci_job_outcome *out)
{
    orc_error e = {0};
    json_t *reply = orci_json_parse_object(r->output, r->output_len, "function result", &e);
    const char *status = json_string_value(json_object_get(reply, "status"));
    json_t *output = json_object_get(reply, "output");
    if (status && strcmp(status, "ok") == 0 && json_is_object(output)) {
        job_take_object(out, output);
    } else if (status && strcmp(status, "fail") == 0) {
        const char *msg = json_string_value(json_object_get(reply, "error"));
        job_fail(out, json_is_true(json_object_get(reply, "retryable")), "%s",
                 msg && msg[0] ? msg : "function failed");
    } else {
        job_fail(out, true, "function gave no result%s%s", reply ? "" : ": ",
                 reply ? "" : e.message);
    }
    json_decref(reply);
}

static void job_run_plugin(const orci_job_spec *spec, const char *input, size_t max,
                           orci_job_outcome *out)
{
    orc_error e = {0};
    orci_child_result r = {0};
    if (!orci_plugin_set_find(spec->plugins, spec->function, NULL)) {
        job_fail(out, false, "no plugin provides the function %s", spec->function);
        return;
    }
    if (!spec->host) {
        job_fail(out, true, "no plugin host to run %s", spec->function);
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
    if (orci_host_run(spec->host, &call, &r, &e) != ORC_OK) {
        job_fail(out, true, "%s", e.message);
        return;
    }
    if (r.outcome == ORCI_CHILD_REPLIED) {
        job_read_plugin_reply(&r, out);
    } else if (r.over_memory) {
        char line[256];
        orci_child_describe(&r, "function", spec->timeout_ms, max, line, sizeof line);
        job_fail(out, true, "function exceeded the memory limit of %d MB (%s)",
                 orci_host_memory_mb(spec->host), line + strlen("function "));
    } else {
        job_child_failure(out, &r, "function", spec, max);
    }
    orci_child_result_fini(&r);
}

void orci_job_run(const orci_job_spec *spec, orci_job_outcome *out)
{
    orc_error e = {0};
    memset(out, 0, sizeof *out);
    size_t max = spec->output_max ? spec->output_max : ORCI_JOB_IO_MAX;
    char *input = job_input(spec->project_data, spec->prerequisites, &e);
    if (!input) {
        job_fail(out, false, "%s", e.message);
        return;
    }
    if (strlen(input) > ORCI_JOB_IO_MAX)
        job_fail(out, false, "the job's input exceeds %u bytes", ORCI_JOB_IO_MAX);
    else if (orci_python_job_wanted(spec))
        orci_python_job_run(spec, max, out);
    else if (strcmp(spec->function, "command") == 0)
        job_run_command(spec, input, max, out);
    else
        job_run_plugin(spec, input, max, out);
    free(input);
}
