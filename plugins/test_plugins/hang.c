/*
 * hang.c: a test plugin whose function never returns, to check that a job is killed at its
 * deadline and failed as retryable.
 */
#include <time.h>

#include "orchestra/plugin.h"

static int hang_sleep(const orc_plugin_host *host, const char *project_data,
                      const char *prerequisites, char **output, char **error)
{
    (void)host;
    (void)project_data;
    (void)prerequisites;
    (void)output;
    (void)error;
    static volatile int forever = 1;
    while (forever) {
        struct timespec ts = {3600, 0};
        nanosleep(&ts, NULL);
    }
    return ORC_PLUGIN_FAIL;
}

static const orc_plugin_function hang_functions[] = {
    {.name = "test_plugins.hang.sleep", .fn = hang_sleep},
};

static const orc_plugin_descriptor hang_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "test_hang",
    .n_functions = 1,
    .functions = hang_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &hang_descriptor;
}
