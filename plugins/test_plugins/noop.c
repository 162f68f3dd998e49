/*
 * noop.c: a plugin function that does nothing, so that what a machine step costs around its
 * function (lease, child or host, report, commit, hand-off) can be measured alone
 * (bench/bench_chain.c).
 *  - test_plugins.noop.noop returns {} whatever it is given.
 */
#include <string.h>

#include "orchestra/plugin.h"

static int noop_noop(const orc_plugin_host *host, const char *project_data,
                     const char *prerequisites, char **output, char **error)
{
    (void)project_data;
    (void)prerequisites;
    (void)error;
    static const char result[] = "{}";
    char *p = host->alloc(sizeof result);
    if (p == NULL)
        return ORC_PLUGIN_FAIL;
    memcpy(p, result, sizeof result);
    *output = p;
    return ORC_PLUGIN_OK;
}

static const orc_plugin_function noop_functions[] = {
    {.name = "test_plugins.noop.noop", .fn = noop_noop},
};

static const orc_plugin_descriptor noop_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "test_noop",
    .n_functions = sizeof noop_functions / sizeof noop_functions[0],
    .functions = noop_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &noop_descriptor;
}
