/*
 * calls_task.c: the typed calls of client.h on the calling worker's own tasks (Dashboard,
 * NewTask, TaskInfo, SaveTask, SubmitTask; session token), spec section 5.
 */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

/* json_out copies a document the server sent into *json (the caller's, freed with
 * orc_free). */
static int json_out(const char *text, char **json, orc_error *err)
{
    *json = strdup(text ? text : "");
    if (!*json)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    return ORC_OK;
}

int orc_dashboard_json(orc_client *c, char **json, orc_error *err)
{
    Orchestra__V1__DashboardRequest in = ORCHESTRA__V1__DASHBOARD_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    int rc = orci_client_call(c, "Dashboard", &in.base, &orchestra__v1__dashboard_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    rc = json_out(((const Orchestra__V1__DashboardReply *)out)->json, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_task_new_json(orc_client *c, const char *role, char **json, orc_error *err)
{
    Orchestra__V1__NewTaskRequest in = ORCHESTRA__V1__NEW_TASK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    if (!role || !role[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a role is required");
    in.role = (char *)role;
    int rc = orci_client_call(c, "NewTask", &in.base, &orchestra__v1__new_task_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    rc = json_out(((const Orchestra__V1__NewTaskReply *)out)->json, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_task_info_json(orc_client *c, int64_t task_id, char **json, orc_error *err)
{
    Orchestra__V1__TaskInfoRequest in = ORCHESTRA__V1__TASK_INFO_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    in.task_id = task_id;
    int rc = orci_client_call(c, "TaskInfo", &in.base, &orchestra__v1__task_info_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    rc = json_out(((const Orchestra__V1__TaskInfoReply *)out)->json, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_task_save(orc_client *c, int64_t task_id, const char *data_json, orc_error *err)
{
    Orchestra__V1__SaveTaskRequest in = ORCHESTRA__V1__SAVE_TASK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!data_json || !data_json[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "task data (a JSON object) is required");
    in.task_id = task_id;
    in.data = (char *)data_json;
    int rc = orci_client_call(c, "SaveTask", &in.base, &orchestra__v1__save_task_reply__descriptor,
                              &out, err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_task_submit(orc_client *c, int64_t task_id, const char *data_json, const char *command,
                    orc_error *err)
{
    Orchestra__V1__SubmitTaskRequest in = ORCHESTRA__V1__SUBMIT_TASK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!command || !command[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a command is required");
    in.task_id = task_id;
    in.data = (char *)(data_json ? data_json : "");
    in.command = (char *)command;
    int rc = orci_client_call(c, "SubmitTask", &in.base,
                              &orchestra__v1__submit_task_reply__descriptor, &out, err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}
