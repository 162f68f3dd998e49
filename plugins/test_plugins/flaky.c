/*
 * flaky.c: test plugin functions that succeed in predictable ways.
 *  - test_plugins.flaky.flaky fails (retryably) the first project_data.fail_times attempts
 *    (default 2) of a project, counting them in <storage_root>/flaky-<project_id>.count,
 *    then returns {"attempts": N};
 *  - test_plugins.flaky.echo returns {"project_data": .., "prerequisites": ..} as given;
 *  - test_plugins.flaky.big returns an object larger than project_data.size bytes;
 *  - test_plugins.flaky.quiet fails (retryably) with an empty error message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestra/plugin.h"

/* flaky_int reads the integer after "key": in a JSON text (a test helper, not a parser). */
static long flaky_int(const char *json, const char *key, long dflt)
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

static char *flaky_text(const orc_plugin_host *host, const char *s)
{
    char *p = host->alloc(strlen(s) + 1);
    if (p)
        strcpy(p, s);
    return p;
}

static int flaky_flaky(const orc_plugin_host *host, const char *project_data,
                       const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    char path[4096], buf[64];
    long fail_times = flaky_int(project_data, "fail_times", 2);
    snprintf(path, sizeof path, "%s/flaky-%ld.count", host->storage_root,
             flaky_int(project_data, "project_id", 0));
    long attempts = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &attempts) != 1)
            attempts = 0;
        fclose(f);
    }
    attempts++;
    if (!(f = fopen(path, "w"))) {
        *error = flaky_text(host, "cannot write the counter file");
        return ORC_PLUGIN_FAIL_PERMANENT;
    }
    fprintf(f, "%ld\n", attempts);
    fclose(f);
    if (attempts <= fail_times) {
        snprintf(buf, sizeof buf, "flaky failure %ld of %ld", attempts, fail_times);
        *error = flaky_text(host, buf);
        return ORC_PLUGIN_FAIL;
    }
    snprintf(buf, sizeof buf, "{\"attempts\":%ld}", attempts);
    *output = flaky_text(host, buf);
    return *output ? ORC_PLUGIN_OK : ORC_PLUGIN_FAIL;
}

static int flaky_echo(const orc_plugin_host *host, const char *project_data,
                      const char *prerequisites, char **output, char **error)
{
    (void)error;
    size_t n = strlen(project_data) + strlen(prerequisites) + 64;
    char *p = host->alloc(n);
    if (!p)
        return ORC_PLUGIN_FAIL;
    snprintf(p, n, "{\"project_data\":%s,\"prerequisites\":%s}", project_data, prerequisites);
    *output = p;
    return ORC_PLUGIN_OK;
}

static int flaky_big(const orc_plugin_host *host, const char *project_data,
                     const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    (void)error;
    long size = flaky_int(project_data, "size", 1 << 20);
    if (size < 0 || size > (64L << 20))
        return ORC_PLUGIN_FAIL_PERMANENT;
    char *p = host->alloc((size_t)size + 16);
    if (!p)
        return ORC_PLUGIN_FAIL;
    memcpy(p, "{\"x\":\"", 6);
    memset(p + 6, 'x', (size_t)size);
    memcpy(p + 6 + size, "\"}", 3);
    *output = p;
    return ORC_PLUGIN_OK;
}

static int flaky_quiet(const orc_plugin_host *host, const char *project_data,
                       const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)prerequisites;
    (void)output;
    *error = flaky_text(host, "");
    return ORC_PLUGIN_FAIL;
}

static const orc_plugin_function flaky_functions[] = {
    {.name = "test_plugins.flaky.flaky", .fn = flaky_flaky},
    {.name = "test_plugins.flaky.echo", .fn = flaky_echo},
    {.name = "test_plugins.flaky.big", .fn = flaky_big},
    {.name = "test_plugins.flaky.quiet", .fn = flaky_quiet},
};

static const orc_plugin_descriptor flaky_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "test_flaky",
    .n_functions = sizeof flaky_functions / sizeof flaky_functions[0],
    .functions = flaky_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &flaky_descriptor;
}
