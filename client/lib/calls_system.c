/*
 * calls_system.c: the typed system calls of client.h (Health, ServerInfo).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "call.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

int orc_health(orc_client *c, orc_error *err)
{
    Orchestra__V1__HealthRequest in = ORCHESTRA__V1__HEALTH_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    int rc = orci_client_call(c, "Health", &in.base, &orchestra__v1__health_reply__descriptor, &out,
                              err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__HealthReply *r = (const Orchestra__V1__HealthReply *)out;
    if (strcmp(r->status, "SERVING") != 0)
        rc = orc_error_set(err, ORC_UNAVAILABLE, "orchestrad is not serving (status \"%s\")",
                           r->status);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_server_info_get(orc_client *c, orc_server_info **out_info, orc_error *err)
{
    Orchestra__V1__ServerInfoRequest in = ORCHESTRA__V1__SERVER_INFO_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    if (!out_info)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the server info");
    *out_info = NULL;
    int rc = orci_client_call(c, "ServerInfo", &in.base,
                              &orchestra__v1__server_info_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ServerInfoReply *r = (const Orchestra__V1__ServerInfoReply *)out;
    const size_t offs[] = {offsetof(orc_server_info, version)};
    const char *const strs[] = {r->version};
    orc_server_info *info = orci_block_new(sizeof *info, 1, offs, strs);
    if (!info) {
        protobuf_c_message_free_unpacked(out, NULL);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    info->schema_version = r->schema_version;
    info->started_at_us = r->started_at;
    info->now_us = r->now;
    info->auth_window_seconds = r->auth_window_seconds;
    info->dev_mode = r->dev_mode;
    protobuf_c_message_free_unpacked(out, NULL);
    *out_info = info;
    return ORC_OK;
}

void orc_server_info_free(orc_server_info *info)
{
    free(info); /* one block with its strings (orci_block_new) */
}
