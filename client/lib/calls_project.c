/*
 * calls_project.c: the typed project calls of client.h: CreateProject and
 * GetProjectInformation (project or admin scope), and the project management calls
 * (EndProject, SetProjectStatus, AssignTask, ReassignAssignment, CompleteAndSkipTask,
 * RevertTask, CheckConsistency; admin scope).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "block.h"
#include "call.h"
#include "json.h"
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

/* call_empty makes a call whose reply carries nothing, and drops the reply. */
static int call_empty(orc_client *c, const char *method, const ProtobufCMessage *in,
                      const ProtobufCMessageDescriptor *out_desc, orc_error *err)
{
    ProtobufCMessage *out = NULL;
    int rc = orci_client_call(c, method, in, out_desc, &out, err);
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_project_create(orc_client *c, const orc_project_params *params, int64_t *project_id,
                       orc_error *err)
{
    Orchestra__V1__CreateProjectRequest in = ORCHESTRA__V1__CREATE_PROJECT_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    orc_project_params copy;

    if (project_id)
        *project_id = 0;
    int rc = orci_struct_in(&copy, sizeof copy, params, sizeof copy, "orc_project_params", err);
    if (rc != ORC_OK)
        return rc;
    const orc_project_params *p = params ? &copy : NULL;
    if (!p || !p->workflow || !p->workflow[0] || !p->version || !p->version[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a workflow and a version are required");
    in.workflow = (char *)p->workflow;
    in.version = (char *)p->version;
    in.description = (char *)(p->description ? p->description : "");
    in.priority = p->priority;
    in.task_class = (char *)(p->task_class ? p->task_class : "real");
    in.project_data = (char *)(p->project_data ? p->project_data : "");
    rc = orci_client_call(c, "CreateProject", &in.base,
                          &orchestra__v1__create_project_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    if (project_id)
        *project_id = ((const Orchestra__V1__CreateProjectReply *)out)->project_id;
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}

int orc_project_info_json(orc_client *c, int64_t project_id, char **json, orc_error *err)
{
    Orchestra__V1__GetProjectInformationRequest in =
        ORCHESTRA__V1__GET_PROJECT_INFORMATION_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    in.project_id = project_id;
    int rc = orci_client_call(c, "GetProjectInformation", &in.base,
                              &orchestra__v1__get_project_information_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    rc = json_out(((const Orchestra__V1__GetProjectInformationReply *)out)->json, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_project_end(orc_client *c, int64_t project_id, orc_error *err)
{
    Orchestra__V1__EndProjectRequest in = ORCHESTRA__V1__END_PROJECT_REQUEST__INIT;
    in.project_id = project_id;
    return call_empty(c, "EndProject", &in.base, &orchestra__v1__end_project_reply__descriptor,
                      err);
}

/* project_set_status sends SetProjectStatus with "Paused" or "Active". */
static int project_set_status(orc_client *c, int64_t project_id, const char *status, orc_error *err)
{
    Orchestra__V1__SetProjectStatusRequest in = ORCHESTRA__V1__SET_PROJECT_STATUS_REQUEST__INIT;
    in.project_id = project_id;
    in.status = (char *)status;
    return call_empty(c, "SetProjectStatus", &in.base,
                      &orchestra__v1__set_project_status_reply__descriptor, err);
}

int orc_project_pause(orc_client *c, int64_t project_id, orc_error *err)
{
    return project_set_status(c, project_id, "Paused", err);
}

int orc_project_resume(orc_client *c, int64_t project_id, orc_error *err)
{
    return project_set_status(c, project_id, "Active", err);
}

int orc_task_assign(orc_client *c, int64_t task_id, const char *username, int64_t *assignment_id,
                    orc_error *err)
{
    Orchestra__V1__AssignTaskRequest in = ORCHESTRA__V1__ASSIGN_TASK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (assignment_id)
        *assignment_id = 0;
    if (!username || !username[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username is required");
    in.task_id = task_id;
    in.username = (char *)username;
    int rc = orci_client_call(c, "AssignTask", &in.base,
                              &orchestra__v1__assign_task_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    if (assignment_id)
        *assignment_id = ((const Orchestra__V1__AssignTaskReply *)out)->assignment_id;
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}

int orc_assignment_reassign(orc_client *c, int64_t assignment_id, const char *username,
                            orc_error *err)
{
    Orchestra__V1__ReassignAssignmentRequest in = ORCHESTRA__V1__REASSIGN_ASSIGNMENT_REQUEST__INIT;
    if (!username || !username[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a username is required");
    in.assignment_id = assignment_id;
    in.username = (char *)username;
    return call_empty(c, "ReassignAssignment", &in.base,
                      &orchestra__v1__reassign_assignment_reply__descriptor, err);
}

int orc_task_skip(orc_client *c, int64_t task_id, orc_error *err)
{
    Orchestra__V1__CompleteAndSkipTaskRequest in =
        ORCHESTRA__V1__COMPLETE_AND_SKIP_TASK_REQUEST__INIT;
    in.task_id = task_id;
    return call_empty(c, "CompleteAndSkipTask", &in.base,
                      &orchestra__v1__complete_and_skip_task_reply__descriptor, err);
}

int orc_task_revert(orc_client *c, int64_t task_id, int64_t iteration_id, bool before, bool commit,
                    char **audit_json, orc_error *err)
{
    Orchestra__V1__RevertTaskRequest in = ORCHESTRA__V1__REVERT_TASK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (audit_json)
        *audit_json = NULL;
    in.task_id = task_id;
    in.iteration_id = iteration_id;
    in.revert_before = before;
    in.commit = commit;
    int rc = orci_client_call(c, "RevertTask", &in.base,
                              &orchestra__v1__revert_task_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    if (audit_json)
        rc = json_out(((const Orchestra__V1__RevertTaskReply *)out)->audit_json, audit_json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

/* violations_document builds {"violations":[{"task_id","message"}]} from the reply. */
static json_t *violations_document(const Orchestra__V1__CheckConsistencyReply *r)
{
    json_t *list = json_array();
    json_t *doc = json_pack("{s:o}", "violations", list);
    if (!doc)
        return NULL;
    for (size_t i = 0; i < r->n_violations; i++) {
        const Orchestra__V1__Violation *v = r->violations[i];
        json_t *o =
            json_pack("{s:I, s:s}", "task_id", (json_int_t)v->task_id, "message", v->message);
        if (!o || json_array_append_new(list, o) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

int orc_check_consistency_json(orc_client *c, char **json, size_t *n_violations, orc_error *err)
{
    Orchestra__V1__CheckConsistencyRequest in = ORCHESTRA__V1__CHECK_CONSISTENCY_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (n_violations)
        *n_violations = 0;
    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    int rc = orci_client_call(c, "CheckConsistency", &in.base,
                              &orchestra__v1__check_consistency_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__CheckConsistencyReply *r =
        (const Orchestra__V1__CheckConsistencyReply *)out;
    size_t n = r->n_violations;
    /* Messages come from the server: jansson refuses invalid UTF-8, reported below. */
    json_t *doc = violations_document(r);
    protobuf_c_message_free_unpacked(out, NULL);
    if (!doc)
        return orc_error_set(err, ORC_INTERNAL, "cannot build the violations document");
    *json = orci_json_dump(doc);
    json_decref(doc);
    if (!*json)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (n_violations)
        *n_violations = n;
    return ORC_OK;
}

static orc_violation *violation_new(const Orchestra__V1__Violation *v)
{
    const size_t offs[] = {offsetof(orc_violation, message)};
    const char *const strs[] = {v->message};
    orc_violation *o = orci_block_new(sizeof *o, 1, offs, strs);
    if (o)
        o->task_id = v->task_id;
    return o;
}

void orc_violation_list_free(orc_violation_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_violations; i++)
        free(l->violations[i]); /* one block each (orci_block_new) */
    free(l->violations);
    free(l);
}

int orc_check_consistency(orc_client *c, orc_violation_list **out, orc_error *err)
{
    Orchestra__V1__CheckConsistencyRequest in = ORCHESTRA__V1__CHECK_CONSISTENCY_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the violations");
    *out = NULL;
    int rc = orci_client_call(c, "CheckConsistency", &in.base,
                              &orchestra__v1__check_consistency_reply__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__CheckConsistencyReply *r =
        (const Orchestra__V1__CheckConsistencyReply *)reply;
    orc_violation_list *l = calloc(1, sizeof *l);
    if (!l ||
        !(l->violations = calloc(r->n_violations ? r->n_violations : 1, sizeof *l->violations)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_violations; i++)
        if (!(l->violations[l->n_violations++] = violation_new(r->violations[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        *out = l;
    else
        orc_violation_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}
