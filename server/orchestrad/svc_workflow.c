/*
 * svc_workflow.c: the workflow RPC handlers (load, load-all, sample data, list).
 */
#include <stdlib.h>

#include "services.h"

int orci_svc_load_workflow_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                   orc_error *err)
{
    (void)c;
    (void)in;
    *plan = NULL;
    return orc_error_set(err, ORC_UNIMPLEMENTED, "LoadWorkflow is not available yet");
}

int orci_svc_load_workflow_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                                 ProtobufCMessage **out, orc_error *err)
{
    (void)c;
    (void)wdb;
    (void)in;
    (void)plan;
    *out = NULL;
    return orc_error_set(err, ORC_UNIMPLEMENTED, "LoadWorkflow is not available yet");
}

int orci_svc_load_all_prepare(orci_call *c, const ProtobufCMessage *in, void **plan, orc_error *err)
{
    (void)c;
    (void)in;
    *plan = NULL;
    return orc_error_set(err, ORC_UNIMPLEMENTED, "LoadAllWorkflows is not available yet");
}

int orci_svc_load_all_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                            ProtobufCMessage **out, orc_error *err)
{
    (void)c;
    (void)wdb;
    (void)in;
    (void)plan;
    *out = NULL;
    return orc_error_set(err, ORC_UNIMPLEMENTED, "LoadAllWorkflows is not available yet");
}

void orci_svc_load_plan_free(void *plan)
{
    free(plan);
}

int orci_svc_load_sample_data_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                    void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)c;
    (void)wdb;
    (void)in;
    (void)plan;
    *out = NULL;
    return orc_error_set(err, ORC_UNIMPLEMENTED, "LoadSampleData is not available yet");
}

int orci_svc_list_workflows(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                            orc_error *err)
{
    (void)c;
    (void)in;
    *out = NULL;
    return orc_error_set(err, ORC_UNIMPLEMENTED, "ListWorkflows is not available yet");
}
