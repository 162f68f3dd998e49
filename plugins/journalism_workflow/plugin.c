/*
 * plugin.c: the journalism_workflow plugin's descriptor and entry point.
 */
#include "journalism.h"

static const orc_plugin_function jw_functions[] = {
    {.name = "journalism_workflow.v1.documents.create_documents", .fn = orci_jw_create_documents},
    {.name = "journalism_workflow.v1.adjust_photos.autoadjust_photos",
     .fn = orci_jw_autoadjust_photos},
};

static const orc_plugin_descriptor jw_descriptor = {
    .abi_version = ORC_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(orc_plugin_descriptor),
    .name = "journalism_workflow",
    .n_functions = sizeof jw_functions / sizeof jw_functions[0],
    .functions = jw_functions,
};

const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host)
{
    (void)host;
    return &jw_descriptor;
}
