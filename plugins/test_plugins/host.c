/*
 * host.c: test plugin functions that look at the plugin host they run in.
 *  - test_plugins.host.pid returns {"pid": the host's pid};
 *  - test_plugins.host.hog allocates project_data.mb MiB in 1 MiB blocks, writing to each,
 *    and returns {"allocated_mb": N}; when an allocation fails it returns a retryable
 *    failure "allocation failed after N MiB", or with project_data.crash true writes
 *    through the NULL it got (a function that does not check), then frees what it took;
 *  - test_plugins.host.spawn starts a process that would sleep for 5 minutes and returns
 *    {"child": its pid} without waiting for it;
 *  - test_plugins.host.print writes a line on stdout, then returns {"printed": 1};
 *  - test_plugins.host.nap creates <storage_root>/nap-<project_id>.started, sleeps
 *    project_data.ms milliseconds, then returns {"slept_ms": ms};
 *  - test_plugins.host.hang_once hangs on the first call for a project (counted in
 *    <storage_root>/hang-once-<project_id>.count) and returns {"runs": N} on later calls.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "orchestra/plugin.h"

/* host_int reads the integer after "key": in a JSON text (a test helper, not a parser). */
static long host_int(const char *json, const char *key, long dflt)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return dflt;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    char *end;
    long v = strtol(p, &end, 10);
    return end == p ? dflt : v;
}

/* host_text puts "<prefix><v><suffix>" in *dst, allocated with host->alloc. */
static int host_text(const orc_plugin_host *host, char **dst, const char *prefix, long v,
                     const char *suffix)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s%ld%s", prefix, v, suffix);
    if (!(*dst = host->alloc(strlen(buf) + 1)))
        return ORC_PLUGIN_FAIL;
    strcpy(*dst, buf);
    return ORC_PLUGIN_OK;
}

static int host_pid(const orc_plugin_host *host, const char *project_data,
                    const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)prerequisites;
    (void)error;
    return host_text(host, output, "{\"pid\":", (long)getpid(), "}");
}

static int host_hog(const orc_plugin_host *host, const char *project_data,
                    const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    enum { BLOCK = 1 << 20 };
    long want = host_int(project_data, "mb", 0), got = 0;
    int rc = ORC_PLUGIN_OK;
    char **blocks = calloc((size_t)(want > 0 ? want : 1), sizeof *blocks);
    if (!blocks)
        return ORC_PLUGIN_FAIL;
    for (; got < want; got++) {
        char *b = malloc(BLOCK);
        if (!b && strstr(project_data, "\"crash\":true")) {
            volatile char *volatile nowhere = b;
            nowhere[0] = 1; /* what a function that does not check its malloc does */
        }
        if (!b) {
            host_text(host, error, "allocation failed after ", got, " MiB");
            rc = ORC_PLUGIN_FAIL;
            break;
        }
        memset(b, 1, BLOCK);
        blocks[got] = b;
    }
    for (long i = 0; i < got; i++)
        free(blocks[i]);
    free(blocks);
    return rc == ORC_PLUGIN_OK ? host_text(host, output, "{\"allocated_mb\":", got, "}") : rc;
}

static int host_spawn(const orc_plugin_host *host, const char *project_data,
                      const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)prerequisites;
    (void)error;
    pid_t pid = fork();
    if (pid < 0)
        return ORC_PLUGIN_FAIL;
    if (pid == 0) {
        struct timespec ts = {300, 0};
        nanosleep(&ts, NULL);
        _exit(0);
    }
    return host_text(host, output, "{\"child\":", (long)pid, "}");
}

static int host_print(const orc_plugin_host *host, const char *project_data,
                      const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)prerequisites;
    (void)error;
    printf("a plugin that prints on stdout\n");
    fflush(stdout);
    return host_text(host, output, "{\"printed\":", 1, "}");
}

static int host_nap(const orc_plugin_host *host, const char *project_data,
                    const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    (void)error;
    long ms = host_int(project_data, "ms", 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/nap-%ld.started", host->storage_root,
             host_int(project_data, "project_id", 0));
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return host_text(host, output, "{\"slept_ms\":", ms, "}");
}

static int host_hang_once(const orc_plugin_host *host, const char *project_data,
                          const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    char path[4096];
    long runs = 0;
    snprintf(path, sizeof path, "%s/hang-once-%ld.count", host->storage_root,
             host_int(project_data, "project_id", 0));
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &runs) != 1)
            runs = 0;
        fclose(f);
    }
    runs++;
    if (!(f = fopen(path, "w"))) {
        host_text(host, error, "cannot write the counter file at run ", runs, "");
        return ORC_PLUGIN_FAIL_PERMANENT;
    }
    fprintf(f, "%ld\n", runs);
    fclose(f);
    static volatile int forever = 1;
    while (runs == 1 && forever) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return host_text(host, output, "{\"runs\":", runs, "}");
}

static const orc_plugin_function host_functions[] = {
    {.name = "test_plugins.host.pid", .fn = host_pid},
    {.name = "test_plugins.host.hog", .fn = host_hog},
    {.name = "test_plugins.host.spawn", .fn = host_spawn},
    {.name = "test_plugins.host.print", .fn = host_print},
    {.name = "test_plugins.host.nap", .fn = host_nap},
    {.name = "test_plugins.host.hang_once", .fn = host_hang_once},
};

static const orc_plugin_descriptor host_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "test_host",
    .n_functions = sizeof host_functions / sizeof host_functions[0],
    .functions = host_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &host_descriptor;
}
