/*
 * calls_job.c: the calls of client.h on machine-step jobs (ListJobs as JSON or as structs,
 * RetryJob; admin scope).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "block.h"
#include "call.h"
#include "json.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

/* job_json renders one JobInfo as the object orc_job_list_json documents; NULL when out of
 * memory. */
static json_t *job_json(const Orchestra__V1__JobInfo *j)
{
    return json_pack("{s:I,s:I,s:I,s:s,s:s,s:s,s:i,s:i,s:s,s:o,s:s}", "job_id",
                     (json_int_t)j->job_id, "project_id", (json_int_t)j->project_id, "task_id",
                     (json_int_t)j->task_id, "step", j->step, "function", j->function, "status",
                     j->status, "attempts", (int)j->attempts, "max_attempts", (int)j->max_attempts,
                     "last_error", j->last_error, "next_attempt_at",
                     orci_json_time(j->next_attempt_at), "executor_id", j->executor_id);
}

int orc_job_list_json(orc_client *c, int64_t project_id, char **json, orc_error *err)
{
    Orchestra__V1__ListJobsRequest in = ORCHESTRA__V1__LIST_JOBS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    json_t *doc = NULL;
    int rc;

    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    if (project_id < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "project_id must not be negative");
    in.project_id = project_id;
    rc = orci_client_call(c, "ListJobs", &in.base, &orchestra__v1__list_jobs_reply__descriptor,
                          &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListJobsReply *r = (const Orchestra__V1__ListJobsReply *)out;
    json_t *jobs = json_array();
    doc = json_pack("{s:o}", "jobs", jobs);
    if (!doc)
        goto oom;
    for (size_t i = 0; i < r->n_jobs; i++) {
        /* Strings from the wire are not checked for UTF-8; jansson refuses bad ones. */
        json_t *j = job_json(r->jobs[i]);
        if (!j || json_array_append_new(jobs, j) != 0) {
            rc = orc_error_set(err, ORC_INTERNAL, "malformed job %lld in the reply to ListJobs",
                               (long long)r->jobs[i]->job_id);
            goto out;
        }
    }
    *json = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!*json)
        goto oom;
    rc = ORC_OK;
    goto out;
oom:
    rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
out:
    json_decref(doc);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

static orc_job_info *job_info_new(const Orchestra__V1__JobInfo *j)
{
    const size_t offs[] = {offsetof(orc_job_info, step), offsetof(orc_job_info, function),
                           offsetof(orc_job_info, status), offsetof(orc_job_info, last_error),
                           offsetof(orc_job_info, executor_id)};
    const char *const strs[] = {j->step, j->function, j->status, j->last_error, j->executor_id};
    orc_job_info *o = orci_block_new(sizeof *o, 5, offs, strs);
    if (o) {
        o->job_id = j->job_id;
        o->project_id = j->project_id;
        o->task_id = j->task_id;
        o->attempts = (int)j->attempts;
        o->max_attempts = (int)j->max_attempts;
        o->next_attempt_us = j->next_attempt_at;
    }
    return o;
}

void orc_job_info_list_free(orc_job_info_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_jobs; i++)
        free(l->jobs[i]); /* one block each (orci_block_new) */
    free(l->jobs);
    free(l);
}

int orc_jobs_list(orc_client *c, int64_t project_id, orc_job_info_list **out, orc_error *err)
{
    Orchestra__V1__ListJobsRequest in = ORCHESTRA__V1__LIST_JOBS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the jobs");
    *out = NULL;
    if (project_id < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "project_id must not be negative");
    in.project_id = project_id;
    int rc = orci_client_call(c, "ListJobs", &in.base, &orchestra__v1__list_jobs_reply__descriptor,
                              &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListJobsReply *r = (const Orchestra__V1__ListJobsReply *)reply;
    orc_job_info_list *l = calloc(1, sizeof *l);
    if (!l || !(l->jobs = calloc(r->n_jobs ? r->n_jobs : 1, sizeof *l->jobs)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_jobs; i++)
        if (!(l->jobs[l->n_jobs++] = job_info_new(r->jobs[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        *out = l;
    else
        orc_job_info_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

int orc_job_retry(orc_client *c, int64_t task_id, orc_error *err)
{
    Orchestra__V1__RetryJobRequest in = ORCHESTRA__V1__RETRY_JOB_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    if (task_id <= 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "task_id must be a positive id");
    in.task_id = task_id;
    int rc = orci_client_call(c, "RetryJob", &in.base, &orchestra__v1__retry_job_reply__descriptor,
                              &out, err);
    if (rc == ORC_OK)
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}
