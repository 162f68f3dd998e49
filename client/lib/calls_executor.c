/*
 * calls_executor.c: the job protocol of orchestra/jobs.h (LeaseJob, Heartbeat, CompleteJob,
 * FailJob; executor scope).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "call.h"
#include "orchestra/jobs.h"
#include "proto/orchestra.pb-c.h"

void orc_job_free(orc_job *job)
{
    if (!job)
        return;
    free(job->lease_token);
    free(job->workflow);
    free(job->step);
    free(job->function);
    free(job->execution_function);
    free(job->project_data);
    free(job->prerequisites);
    free(job->kind);
    free(job->context);
    free(job);
}

/* job_from_wire copies a job of a reply into a new orc_job (NULL when out of memory). */
static orc_job *job_from_wire(const Orchestra__V1__Job *w)
{
    orc_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->job_id = w->job_id;
    j->project_id = w->project_id;
    j->task_id = w->task_id;
    j->attempt = w->attempt;
    j->lease_expires_at = w->lease_expires_at;
    j->lease_token = strdup(w->lease_token);
    j->workflow = strdup(w->workflow);
    j->step = strdup(w->step);
    j->function = strdup(w->function);
    j->execution_function = strdup(w->execution_function);
    j->project_data = strdup(w->project_data);
    j->prerequisites = strdup(w->prerequisites);
    j->kind = strdup(w->kind);
    j->context = strdup(w->context);
    j->ack_required = w->ack_required;
    if (!j->lease_token || !j->workflow || !j->step || !j->function || !j->execution_function ||
        !j->project_data || !j->prerequisites || !j->kind || !j->context) {
        orc_job_free(j);
        return NULL;
    }
    return j;
}

/* take_job sets *job from a reply's job (NULL: none); ORC_RESOURCE_EXHAUSTED when the copy
 * cannot be made (the lease then expires on the coordinator and the job is offered again). */
static int take_job(const Orchestra__V1__Job *w, orc_job **job, orc_error *err)
{
    *job = NULL;
    if (!w)
        return ORC_OK;
    *job = job_from_wire(w);
    return *job ? ORC_OK
                : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory copying job %lld",
                                (long long)w->job_id);
}

/*
 * offer_init fills *req from the program's offer (a growable struct: block.h); *out is req,
 * or NULL when there is no offer.
 */
static int offer_init(const orc_job_offer *offer_in, Orchestra__V1__LeaseJobRequest *req,
                      Orchestra__V1__LeaseJobRequest **out, orc_error *err)
{
    orc_job_offer offer;
    *out = NULL;
    int rc = orci_struct_in(&offer, sizeof offer, offer_in,
                            offsetof(orc_job_offer, python_packages), "orc_job_offer", err);
    if (rc != ORC_OK || !offer_in)
        return rc;
    orchestra__v1__lease_job_request__init(req);
    req->executor_id = (char *)(offer.executor_id ? offer.executor_id : "");
    req->n_functions = offer.n_functions;
    req->functions = (char **)offer.functions;
    req->lease_ms = offer.lease_ms;
    req->n_python_packages = offer.n_python_packages;
    req->python_packages = (char **)offer.python_packages;
    *out = req;
    return ORC_OK;
}

int orc_job_lease(orc_client *c, const orc_job_offer *offer, int wait_ms, orc_job **job,
                  orc_error *err)
{
    Orchestra__V1__LeaseJobRequest in, *req = NULL;
    ProtobufCMessage *out = NULL;
    if (!job || !offer)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "orc_job_lease needs an offer and a job");
    *job = NULL;
    int rc = offer_init(offer, &in, &req, err);
    if (rc != ORC_OK)
        return rc;
    in.wait_ms = wait_ms;
    rc = orci_client_call(c, "LeaseJob", &in.base, &orchestra__v1__lease_job_reply__descriptor,
                          &out, err);
    if (rc != ORC_OK)
        return rc;
    rc = take_job(((Orchestra__V1__LeaseJobReply *)out)->job, job, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_job_heartbeat(orc_client *c, const orc_job *job, int lease_ms, bool *cancelled,
                      orc_error *err)
{
    Orchestra__V1__HeartbeatRequest in = ORCHESTRA__V1__HEARTBEAT_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    if (cancelled)
        *cancelled = false;
    if (!job)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "orc_job_heartbeat needs a job");
    in.job_id = job->job_id;
    in.lease_token = job->lease_token;
    in.lease_ms = lease_ms;
    int rc = orci_client_call(c, "Heartbeat", &in.base, &orchestra__v1__heartbeat_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    if (cancelled)
        *cancelled = ((Orchestra__V1__HeartbeatReply *)out)->cancelled;
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}

int orc_job_complete(orc_client *c, const orc_job *job, const char *output,
                     const orc_job_offer *next, orc_job **next_job, orc_error *err)
{
    Orchestra__V1__CompleteJobRequest in = ORCHESTRA__V1__COMPLETE_JOB_REQUEST__INIT;
    Orchestra__V1__LeaseJobRequest lease;
    ProtobufCMessage *out = NULL;
    if (next_job)
        *next_job = NULL;
    if (!job || (next && !next_job))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "orc_job_complete needs a job");
    in.job_id = job->job_id;
    in.lease_token = job->lease_token;
    in.output = (char *)(output ? output : "");
    int rc = offer_init(next, &lease, &in.next, err);
    if (rc != ORC_OK)
        return rc;
    rc = orci_client_call(c, "CompleteJob", &in.base,
                          &orchestra__v1__complete_job_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    if (next_job)
        rc = take_job(((Orchestra__V1__CompleteJobReply *)out)->next, next_job, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_job_fail(orc_client *c, const orc_job *job, const char *error, bool retryable,
                 bool *will_retry, const orc_job_offer *next, orc_job **next_job, orc_error *err)
{
    Orchestra__V1__FailJobRequest in = ORCHESTRA__V1__FAIL_JOB_REQUEST__INIT;
    Orchestra__V1__LeaseJobRequest lease;
    ProtobufCMessage *out = NULL;
    if (will_retry)
        *will_retry = false;
    if (next_job)
        *next_job = NULL;
    if (!job || (next && !next_job))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "orc_job_fail needs a job");
    in.job_id = job->job_id;
    in.lease_token = job->lease_token;
    in.error = (char *)(error ? error : "");
    in.retryable = retryable;
    int rc = offer_init(next, &lease, &in.next, err);
    if (rc != ORC_OK)
        return rc;
    rc = orci_client_call(c, "FailJob", &in.base, &orchestra__v1__fail_job_reply__descriptor, &out,
                          err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__FailJobReply *r = (const Orchestra__V1__FailJobReply *)out;
    if (will_retry)
        *will_retry = r->will_retry;
    if (next_job)
        rc = take_job(r->next, next_job, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}
