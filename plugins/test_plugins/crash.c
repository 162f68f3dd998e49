/*
 * crash.c: a test plugin whose function dies of SIGSEGV, to check that a crash fails the
 * job ("function crashed: signal 11") and never the executor.
 */
#include <signal.h>

#include "orchestra/plugin.h"

static int crash_segv(const orc_plugin_host *host, const char *project_data,
                      const char *prerequisites, char **output, char **error)
{
    (void)host;
    (void)project_data;
    (void)prerequisites;
    (void)output;
    (void)error;
    /* The default action, not whatever handler the process has: a sanitizer build's SEGV
     * handler would report and exit(1) instead, and the job would not die of a signal. */
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return ORC_PLUGIN_FAIL;
}

static const orc_plugin_function crash_functions[] = {
    {.name = "test_plugins.crash.segv", .fn = crash_segv},
};

static const orc_plugin_descriptor crash_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "test_crash",
    .n_functions = 1,
    .functions = crash_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &crash_descriptor;
}
