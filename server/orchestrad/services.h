/*
 * services.h: the handlers behind the method table (methods.c), one svc_*.c per area.
 * See server.h for when each kind of handler runs and what it may do.
 */
#ifndef ORCI_SERVICES_H
#define ORCI_SERVICES_H

#include "server.h"

/* svc_system.c */
int orci_svc_health(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                    orc_error *err);
int orci_svc_server_info(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                         orc_error *err);

/* svc_workflow.c */
int orci_svc_load_workflow_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                   orc_error *err);
int orci_svc_load_workflow_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                 void *plan, ProtobufCMessage **out, orc_error *err);
int orci_svc_load_all_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                              orc_error *err);
int orci_svc_load_all_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                            ProtobufCMessage **out, orc_error *err);
/* Frees a plan of either load method. */
void orci_svc_load_plan_free(void *plan);
int orci_svc_load_sample_data_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                    void *plan, ProtobufCMessage **out, orc_error *err);
int orci_svc_list_workflows(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                            orc_error *err);

#endif
