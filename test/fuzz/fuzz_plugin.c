/*
 * fuzz_plugin.c: the plugin the executor fuzz targets load (fuzz_exec_host.c,
 * fuzz_exec_reply.c). Its functions cover every kind of answer a host turns into a reply,
 * and none touches anything outside its arguments:
 *  - fuzz.echo returns the project data (a JSON object) as its output;
 *  - fuzz.text returns the project data without its first character (usually not JSON);
 *  - fuzz.none returns success with no output;
 *  - fuzz.fail and fuzz.fail_permanent fail with the prerequisites as the message.
 */
#include <stdlib.h>
#include <string.h>

#include "orchestra/plugin.h"

static char *fuzz_copy(const orc_plugin_host *host, const char *text)
{
    size_t n = strlen(text);
    char *p = host->alloc(n + 1);
    if (p)
        memcpy(p, text, n + 1);
    return p;
}

static int fuzz_echo(const orc_plugin_host *host, const char *project_data,
                     const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    (void)error;
    *output = fuzz_copy(host, project_data);
    return *output ? ORC_PLUGIN_OK : ORC_PLUGIN_FAIL;
}

static int fuzz_text(const orc_plugin_host *host, const char *project_data,
                     const char *prerequisites, char **output, char **error)
{
    (void)prerequisites;
    (void)error;
    *output = fuzz_copy(host, project_data[0] ? project_data + 1 : project_data);
    return *output ? ORC_PLUGIN_OK : ORC_PLUGIN_FAIL;
}

static int fuzz_none(const orc_plugin_host *host, const char *project_data,
                     const char *prerequisites, char **output, char **error)
{
    (void)host;
    (void)project_data;
    (void)prerequisites;
    (void)output;
    (void)error;
    return ORC_PLUGIN_OK;
}

static int fuzz_fail(const orc_plugin_host *host, const char *project_data,
                     const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)output;
    *error = fuzz_copy(host, prerequisites);
    return ORC_PLUGIN_FAIL;
}

static int fuzz_fail_permanent(const orc_plugin_host *host, const char *project_data,
                               const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)output;
    *error = fuzz_copy(host, prerequisites);
    return ORC_PLUGIN_FAIL_PERMANENT;
}

static const orc_plugin_function fuzz_functions[] = {
    {.name = "fuzz.echo", .fn = fuzz_echo},
    {.name = "fuzz.text", .fn = fuzz_text},
    {.name = "fuzz.none", .fn = fuzz_none},
    {.name = "fuzz.fail", .fn = fuzz_fail},
    {.name = "fuzz.fail_permanent", .fn = fuzz_fail_permanent},
};

static const orc_plugin_descriptor fuzz_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "fuzz",
    .n_functions = sizeof fuzz_functions / sizeof fuzz_functions[0],
    .functions = fuzz_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &fuzz_descriptor;
}
