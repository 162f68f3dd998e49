/*
 * calls_webapp.c: the typed calls of client.h for what the experts' web app added to the
 * service: the project admin role (SetWorkerAdmin, admin scope).
 */
#include <stdbool.h>

#include "call.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

int orc_worker_set_admin(orc_client *c, const char *username, bool admin, orc_error *err)
{
    if (!username || !username[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username is required");
    Orchestra__V1__SetWorkerAdminRequest in = ORCHESTRA__V1__SET_WORKER_ADMIN_REQUEST__INIT;
    in.username = (char *)username;
    in.project_admin = admin;
    ProtobufCMessage *out = NULL;
    int rc = orci_client_call(c, "SetWorkerAdmin", &in.base,
                              &orchestra__v1__set_worker_admin_reply__descriptor, &out, err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}
