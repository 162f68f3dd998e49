/*
 * bad_abi.c: a test plugin built for an ABI version the executor does not speak; it must
 * be refused with one log line while the other plugins load.
 */
#include "orchestra/plugin.h"

static int bad_abi_noop(const orc_plugin_host *host, const char *project_data,
                        const char *prerequisites, char **output, char **error)
{
    (void)host;
    (void)project_data;
    (void)prerequisites;
    (void)output;
    (void)error;
    return ORC_PLUGIN_FAIL;
}

static const orc_plugin_function bad_abi_functions[] = {
    {.name = "test_plugins.bad_abi.noop", .fn = bad_abi_noop},
};

static const orc_plugin_descriptor bad_abi_descriptor = {
    .abi_version = 99,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "test_bad_abi",
    .n_functions = 1,
    .functions = bad_abi_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &bad_abi_descriptor;
}
