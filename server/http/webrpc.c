/*
 * webrpc.c: RPCs with a web request's own credentials (webrpc.h).
 */
#include "webrpc.h"

#include <stdlib.h>
#include <string.h>

#include "observe.h"

int orci_web_call(orc_client *c, const orc_creds *creds, const char *method,
                  const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                  ProtobufCMessage **out, orc_error *err)
{
    *out = NULL;
    size_t len = protobuf_c_message_get_packed_size(in);
    uint8_t *body = malloc(len ? len : 1);
    if (!body)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    len = protobuf_c_message_pack(in, body);
    void *reply = NULL;
    size_t reply_len = 0;
    int rc = orci_http_rpc(c, method, creds, body, len, &reply, &reply_len, err);
    free(body);
    if (rc != ORC_OK)
        return rc;
    *out = protobuf_c_message_unpack(out_desc, NULL, reply_len,
                                     reply_len ? reply : (const uint8_t *)"");
    orc_free(reply);
    return *out ? ORC_OK : orc_error_set(err, ORC_INTERNAL, "undecodable reply to %s", method);
}

int orci_web_call_token(orc_client *c, const char *token, const char *method,
                        const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                        ProtobufCMessage **out, orc_error *err)
{
    orc_creds creds = {.token = token && token[0] ? token : NULL};
    return orci_web_call(c, &creds, method, in, out_desc, out, err);
}

int orci_web_call_json(orc_client *c, const char *token, const char *method,
                       const ProtobufCMessage *in, const ProtobufCMessageDescriptor *out_desc,
                       char **json, orc_error *err)
{
    *json = NULL;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(out_desc, "json");
    if (!f || f->type != PROTOBUF_C_TYPE_STRING)
        return orc_error_set(err, ORC_INTERNAL, "%s has no json field", out_desc->name);
    ProtobufCMessage *out = NULL;
    int rc = orci_web_call_token(c, token, method, in, out_desc, &out, err);
    if (rc != ORC_OK)
        return rc;
    const char *text = *(const char *const *)((const char *)out + f->offset);
    *json = strdup(text ? text : "null");
    protobuf_c_message_free_unpacked(out, NULL);
    return *json ? ORC_OK : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
}
