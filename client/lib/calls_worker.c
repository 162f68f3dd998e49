/*
 * calls_worker.c: the typed worker calls of client.h: worker administration (AddWorker,
 * CertifyWorker; admin scope) and worker sessions (Login, public; Logout, session token).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "call.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

/* or_empty passes an optional string to a proto3 field, where "" means unset. */
static char *or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

int orc_worker_add(orc_client *c, const orc_worker_params *params, int64_t *worker_id,
                   orc_error *err)
{
    Orchestra__V1__AddWorkerRequest in = ORCHESTRA__V1__ADD_WORKER_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    orc_worker_params copy;

    if (worker_id)
        *worker_id = 0;
    int rc = orci_struct_in(&copy, sizeof copy, params, sizeof copy, "orc_worker_params", err);
    if (rc != ORC_OK)
        return rc;
    const orc_worker_params *p = params ? &copy : NULL;
    if (!p || !p->username || !p->username[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username is required");
    if (!p->password || !p->password[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a password is required");
    in.username = (char *)p->username;
    in.password = (char *)p->password;
    in.first_name = or_empty(p->first_name);
    in.last_name = or_empty(p->last_name);
    in.email = or_empty(p->email);
    rc = orci_client_call(c, "AddWorker", &in.base, &orchestra__v1__add_worker_reply__descriptor,
                          &out, err);
    if (rc != ORC_OK)
        return rc;
    if (worker_id)
        *worker_id = ((const Orchestra__V1__AddWorkerReply *)out)->id;
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}

int orc_worker_certify(orc_client *c, const char *username, const char *workflow,
                       const char *certification, const char *role, const char *task_class,
                       bool revoke, orc_error *err)
{
    Orchestra__V1__CertifyWorkerRequest in = ORCHESTRA__V1__CERTIFY_WORKER_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!username || !username[0] || !workflow || !workflow[0] || !certification ||
        !certification[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "a username, a workflow and a certification are required");
    if (!role || !role[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a role is required");
    in.username = (char *)username;
    in.workflow = (char *)workflow;
    in.certification = (char *)certification;
    in.role = (char *)role;
    in.task_class = (char *)(task_class ? task_class : "real");
    in.revoke = revoke;
    int rc = orci_client_call(c, "CertifyWorker", &in.base,
                              &orchestra__v1__certify_worker_reply__descriptor, &out, err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_login(orc_client *c, const char *username, const char *password, char **token,
              int64_t *expires_at_us, orc_error *err)
{
    Orchestra__V1__LoginRequest in = ORCHESTRA__V1__LOGIN_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    char *copy = NULL;

    if (token)
        *token = NULL;
    if (expires_at_us)
        *expires_at_us = 0;
    if (!username || !username[0] || !password)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username and a password are required");
    in.username = (char *)username;
    in.password = (char *)password;
    int rc =
        orci_client_call(c, "Login", &in.base, &orchestra__v1__login_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__LoginReply *r = (const Orchestra__V1__LoginReply *)out;
    if (!r->token[0]) {
        rc = orc_error_set(err, ORC_INTERNAL, "the server opened no session");
        goto out;
    }
    if (token && !(copy = strdup(r->token))) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    rc = orc_client_set_token(c, r->token);
    if (rc != ORC_OK) {
        free(copy);
        orc_error_set(err, rc, NULL);
        goto out;
    }
    if (token)
        *token = copy;
    if (expires_at_us)
        *expires_at_us = r->expires_at;

out:
    /* The reply holds the secret: wipe it before it goes back to the heap. */
    if (r->token[0])
        memset(r->token, 0, strlen(r->token));
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_logout(orc_client *c, orc_error *err)
{
    Orchestra__V1__LogoutRequest in = ORCHESTRA__V1__LOGOUT_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    int rc = orci_client_call(c, "Logout", &in.base, &orchestra__v1__logout_reply__descriptor, &out,
                              err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    /* Whatever the server said, this handle's session is over, unless it never left. */
    if (c && rc != ORC_UNAVAILABLE)
        orc_client_set_token(c, NULL);
    return rc;
}
