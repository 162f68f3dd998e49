/*
 * fuzz_exec_reply.c: what the executor reads from a plugin host (plugins/executor/host.h),
 * the byte stream a host writes back after a call. One real job runs per input through
 * orci_job_run (job.h): the executor's host handling (host.c), the pipe pump and its frame
 * detection with the output cap (proc.c), the frame kinds, the host's replacement, and the
 * reading of the reply ({"status":"ok","output":..} or a failure). The host is a stand-in
 * (fuzz_stub.h) that answers each call with the bytes given in it; the job's outcome must be
 * a JSON object or a failure with a message.
 *
 * Input: a mode byte, then the rest. Below 200 the rest is the payload of an 'R' frame whose
 * header the harness writes (a fuzzed reply in a well-formed frame: the host is kept, and
 * inputs run fast); below 215 an 'L' frame, below 225 an 'M' frame (payload ignored by the
 * executor), below 240 a frame of the kind given by the next byte; from 240 the rest is sent
 * as it is, header included (cut frames, lengths past the cap, trailing bytes). A host is
 * replaced after anything but an 'R' frame. The hosts are threads of this process behind the
 * executor's own pipes, pids and kills (fuzz_host_thread.c): a process start per replaced
 * host, a fork of this large sanitized process, made the target some 50 times slower.
 * ORC_FUZZ_HOST_PROCESS=1 makes each host a real fuzz_host_stub process again.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "host.h"
#include "job.h"
#include "log.h"
#include "plugin_set.h"
#include "proc.h"

/* The cap on a reply, small enough that a fuzzed length passes it now and then. */
#define EXEC_OUTPUT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct exec_fixture {
    orc_plugin_host services;
    orci_plugin_set *plugins; /* fuzz_plugin.so: the function the job names must exist */
    orci_host *host;
} exec_fixture;

static exec_fixture *exec_get(void)
{
    static exec_fixture fx;
    static const char *const no_plugins[1] = {NULL};
    if (fx.host)
        return &fx;
    orci_log_init("fuzz", ORCI_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* a host that exits without reading must not kill us */
    orc_error err;
    orc_error_clear(&err);
    orci_plugin_host_init(&fx.services, "/nonexistent-storage");
    orci_host_opts ho = {.self_exe = ORC_FUZZ_HOST_STUB,
                         .plugin_paths = no_plugins,
                         .n_plugins = 0,
                         .storage_root = "/nonexistent-storage",
                         .log_level = "error",
                         .memory_mb = 0};
    if (orci_plugin_set_new(&fx.services, &fx.plugins, &err) != ORC_OK ||
        orci_plugin_set_load(fx.plugins, ORC_FUZZ_PLUGIN, &err) != ORC_OK ||
        orci_host_new(&ho, &fx.host, &err) != ORC_OK) {
        fprintf(stderr, "fuzz_exec_reply: %s\n", err.message);
        abort();
    }
    return &fx;
}

/* exec_reply_bytes makes the bytes the stub sends back from the input (see the top). */
static uint8_t *exec_reply_bytes(const uint8_t *data, size_t size, size_t *len)
{
    if (size == 0)
        return NULL;
    uint8_t mode = data[0];
    data++;
    size--;
    if (mode >= 240) {
        uint8_t *raw = malloc(size ? size : 1);
        if (raw && size)
            memcpy(raw, data, size);
        *len = size;
        return raw;
    }
    uint8_t kind = mode < 200 ? 'R' : mode < 215 ? 'L' : mode < 225 ? 'M' : 0;
    if (kind == 0) {
        if (size == 0)
            return NULL;
        kind = data[0];
        data++;
        size--;
    }
    uint8_t *f = malloc(ORCI_FRAME_HEADER + size);
    if (!f)
        return NULL;
    f[0] = (uint8_t)(size >> 24);
    f[1] = (uint8_t)(size >> 16);
    f[2] = (uint8_t)(size >> 8);
    f[3] = (uint8_t)size;
    f[4] = kind;
    if (size)
        memcpy(f + ORCI_FRAME_HEADER, data, size);
    *len = ORCI_FRAME_HEADER + size;
    return f;
}

/* exec_project_data puts bytes as hex in {"reply":"..."}, the job's project data. */
static char *exec_project_data(const uint8_t *bytes, size_t n)
{
    static const char prefix[] = "{\"reply\":\"";
    char *pd = malloc(sizeof prefix + 2 * n + 2);
    if (!pd)
        return NULL;
    char *p = pd + sizeof prefix - 1;
    memcpy(pd, prefix, sizeof prefix - 1);
    for (size_t i = 0; i < n; i++, p += 2)
        snprintf(p, 3, "%02x", bytes[i]);
    memcpy(p, "\"}", 3);
    return pd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exec_fixture *fx = exec_get();
    size_t n = 0;
    uint8_t *bytes = exec_reply_bytes(data, size, &n);
    char *pd = bytes ? exec_project_data(bytes, n) : NULL;
    free(bytes);
    if (!pd)
        return 0;
    orci_job_spec spec = {.function = "fuzz.echo",
                          .project_data = pd,
                          .prerequisites = "{}",
                          .plugins = fx->plugins,
                          .host = fx->host,
                          .timeout_ms = 10000,
                          .output_max = EXEC_OUTPUT_MAX};
    orci_job_outcome out;
    orci_job_run(&spec, &out);
    if (out.ok) {
        json_t *o = out.output ? json_loads(out.output, 0, NULL) : NULL;
        if (!json_is_object(o))
            abort();
        json_decref(o);
    } else if (!out.error[0]) {
        abort();
    }
    orci_job_outcome_fini(&out);
    free(pd);
    return 0;
}
