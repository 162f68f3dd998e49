/*
 * svc_system.c: Health and ServerInfo, the public system methods.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/orchestra.pb-c.h"
#include "svc/services.h"

int orci_svc_health(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                    orc_error *err)
{
    (void)c;
    (void)in;
    Orchestra__V1__HealthReply *r = malloc(sizeof *r);
    if (!r)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    orchestra__v1__health_reply__init(r);
    r->status = strdup("SERVING");
    if (!r->status) {
        free(r);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_server_info(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                         orc_error *err)
{
    (void)in;
    Orchestra__V1__ServerInfoReply *r = malloc(sizeof *r);
    if (!r)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    orchestra__v1__server_info_reply__init(r);
    r->version = strdup(ORCI_VERSION);
    if (!r->version) {
        free(r);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    r->schema_version = orci_store_schema_version(c->srv->store);
    r->started_at = c->srv->started_at_us;
    r->now = orci_clock_now(c->srv->clock);
    r->auth_window_seconds = c->srv->settings.auth_window_s;
    r->dev_mode = c->srv->settings.dev;
    *out = &r->base;
    return ORC_OK;
}
