/*
 * jobs.c: the job RPCs of the executor.
 */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "jobs.h"

/* want_fill fills a LeaseJobRequest from want. */
static void want_fill(const orci_jobs_want *want, Orchestra__V1__LeaseJobRequest *req)
{
    req->executor_id = (char *)want->executor_id;
    req->n_functions = want->n_functions;
    req->functions = (char **)want->functions;
    req->lease_ms = want->lease_ms;
    req->n_python_packages = want->n_packages;
    req->python_packages = (char **)want->packages;
}

int orci_jobs_lease(orc_client *c, const orci_jobs_want *want, int wait_ms,
                    Orchestra__V1__Job **job, orc_error *err)
{
    Orchestra__V1__LeaseJobRequest in = ORCHESTRA__V1__LEASE_JOB_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    *job = NULL;
    want_fill(want, &in);
    in.wait_ms = wait_ms;
    int rc = orci_client_call(c, "LeaseJob", &in.base, &orchestra__v1__lease_job_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__LeaseJobReply *r = (Orchestra__V1__LeaseJobReply *)out;
    /* Detach the job from the reply: protobuf-c allocates every sub-message on its own. */
    *job = r->job;
    r->job = NULL;
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

void orci_jobs_free(Orchestra__V1__Job *job)
{
    if (job)
        orchestra__v1__job__free_unpacked(job, NULL);
}

int orci_jobs_heartbeat(orc_client *c, const Orchestra__V1__Job *job, int lease_ms, bool *cancelled,
                        orc_error *err)
{
    Orchestra__V1__HeartbeatRequest in = ORCHESTRA__V1__HEARTBEAT_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    *cancelled = false;
    in.job_id = job->job_id;
    in.lease_token = job->lease_token;
    in.lease_ms = lease_ms;
    int rc = orci_client_call(c, "Heartbeat", &in.base, &orchestra__v1__heartbeat_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    *cancelled = ((Orchestra__V1__HeartbeatReply *)out)->cancelled;
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}

/* want_init fills a LeaseJobRequest for a report's next job; NULL when none is wanted. */
static Orchestra__V1__LeaseJobRequest *want_init(const orci_jobs_want *want,
                                                 Orchestra__V1__LeaseJobRequest *req)
{
    if (!want)
        return NULL;
    orchestra__v1__lease_job_request__init(req);
    want_fill(want, req);
    return req;
}

/* take_next detaches *slot (a reply's next job) into *next. */
static void take_next(Orchestra__V1__Job **slot, Orchestra__V1__Job **next)
{
    if (next) {
        *next = *slot;
        *slot = NULL;
    }
}

int orci_jobs_complete(orc_client *c, const Orchestra__V1__Job *job, const char *output,
                       const orci_jobs_want *want, Orchestra__V1__Job **next, orc_error *err)
{
    Orchestra__V1__CompleteJobRequest in = ORCHESTRA__V1__COMPLETE_JOB_REQUEST__INIT;
    Orchestra__V1__LeaseJobRequest lease;
    ProtobufCMessage *out = NULL;
    if (next)
        *next = NULL;
    in.job_id = job->job_id;
    in.lease_token = job->lease_token;
    in.output = (char *)output;
    in.next = want_init(want, &lease);
    int rc = orci_client_call(c, "CompleteJob", &in.base,
                              &orchestra__v1__complete_job_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    take_next(&((Orchestra__V1__CompleteJobReply *)out)->next, next);
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}

int orci_jobs_fail(orc_client *c, const Orchestra__V1__Job *job, const char *error, bool retryable,
                   bool *will_retry, const orci_jobs_want *want, Orchestra__V1__Job **next,
                   orc_error *err)
{
    Orchestra__V1__FailJobRequest in = ORCHESTRA__V1__FAIL_JOB_REQUEST__INIT;
    Orchestra__V1__LeaseJobRequest lease;
    ProtobufCMessage *out = NULL;
    if (will_retry)
        *will_retry = false;
    if (next)
        *next = NULL;
    in.job_id = job->job_id;
    in.lease_token = job->lease_token;
    in.error = (char *)error;
    in.retryable = retryable;
    in.next = want_init(want, &lease);
    int rc = orci_client_call(c, "FailJob", &in.base, &orchestra__v1__fail_job_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__FailJobReply *r = (Orchestra__V1__FailJobReply *)out;
    if (will_retry)
        *will_retry = r->will_retry;
    take_next(&r->next, next);
    protobuf_c_message_free_unpacked(out, NULL);
    return ORC_OK;
}
