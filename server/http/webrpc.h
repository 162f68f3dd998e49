/*
 * webrpc.h: one RPC to orchestrad on behalf of one web request, with that request's own
 * credentials: the worker session token from its cookie, or a forwarded HTTP signature (the
 * project management API called with an admin key). The shim shares one orc_client between
 * its connection threads and a handle's own token cannot change while others call, so each
 * call names its credentials (orc_call, orchestra/call.h), under the web request's own
 * request id (orci_http_rpc, observe.h).
 *
 * Threads: any number at once on one client.
 */
#ifndef ORCI_WEBRPC_H
#define ORCI_WEBRPC_H

#include <protobuf-c/protobuf-c.h>

#include "orchestra/call.h"
#include "orchestra/client.h"

/*
 * orci_web_call sends method with body in (borrowed) and credentials creds (borrowed; every
 * field NULL: none) on c. On ORC_OK *out holds the reply body (free with
 * protobuf_c_message_free_unpacked(*out, NULL)); otherwise the coordinator's status and
 * message are in err (ORC_UNAVAILABLE when it could not be reached).
 */
int orci_web_call(orc_client *c, const orc_creds *creds, const char *method,
                  const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                  ProtobufCMessage **out, orc_error *err);

/* orci_web_call_token is orci_web_call with a worker session token (NULL or "": none). */
int orci_web_call_token(orc_client *c, const char *token, const char *method,
                        const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                        ProtobufCMessage **out, orc_error *err);

/*
 * orci_web_call_json is orci_web_call_token for methods whose reply is one JSON string
 * field named "json": *json (malloc'd) receives that text.
 */
int orci_web_call_json(orc_client *c, const char *token, const char *method,
                       const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                       char **json, orc_error *err);

#endif
