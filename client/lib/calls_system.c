/*
 * calls_system.c: the typed system calls of client.h (Health, ServerInfo).
 */
#include <stdio.h>
#include <string.h>

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

int orc_server_info_get(orc_client *c, orc_server_info *info, orc_error *err)
{
    Orchestra__V1__ServerInfoRequest in = ORCHESTRA__V1__SERVER_INFO_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    if (!info)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the server info");
    memset(info, 0, sizeof *info);
    int rc = orci_client_call(c, "ServerInfo", &in.base,
                              &orchestra__v1__server_info_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ServerInfoReply *r = (const Orchestra__V1__ServerInfoReply *)out;
    snprintf(info->version, sizeof info->version, "%s", r->version);
    info->schema_version = r->schema_version;
    info->started_at_us = r->started_at;
    info->now_us = r->now;
    info->auth_window_seconds = r->auth_window_seconds;
    info->dev_mode = r->dev_mode;
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}
