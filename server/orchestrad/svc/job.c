/*
 * svc_job.c: the job handlers (jobs.h): LeaseJob, Heartbeat, CompleteJob and FailJob for
 * executors; RetryJob and ListJobs for admins.
 *
 * CompleteJob and FailJob may carry `next`, a LeaseJobRequest: after the report is recorded
 * the executor's next due job is leased in the same write job (one transaction, one stored
 * reply holding the job, so a resend of the request gets the same job and lease). That call
 * never parks; no job due means a reply without `next`.
 *
 * LeaseJob is a long poll. Its prepare step probes for work on the worker thread's reader
 * connection and asks to be parked (orci_call.park) when there is none, so an idle poll never
 * reaches the writer; the apply step leases for real and parks too when another executor
 * was faster. rpc.c keeps parked requests and runs them again from scratch when work may have
 * arrived, when a job falls due, and finally at the poll's deadline with final_poll set,
 * when an empty reply answers it.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/jobs.h"
#include "domain/lifecycle.h"
#include "proto/orchestra.pb-c.h"
#include "svc/job_hooks.h"
#include "svc/services.h"

#define SVC_JOB_MAX_WAIT_MS 30000

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

static orci_lc job_lc(const orci_call *c, orci_db *wdb)
{
    orci_lc lc = {.db = wdb, .now_us = c->now_us, .rng = c->srv->rng};
    return lc;
}

/* empty_reply allocates a reply with no fields set (desc's init fills the defaults). */
static int empty_reply(const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                       orc_error *err)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (!m)
        return oom(err);
    desc->message_init(m);
    *out = m;
    return ORC_OK;
}

static int require_job(int64_t job_id, const char *token, orc_error *err)
{
    if (job_id <= 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "job_id must be a positive id");
    if (!token || token[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "lease_token is required");
    return ORC_OK;
}

/*
 * job_message moves a leased job into a new Job message (*out, malloc'd like the reply that
 * will own it); job is left empty. On failure job is finied.
 */
static int job_message(orci_job *job, Orchestra__V1__Job **out, orc_error *err)
{
    Orchestra__V1__Job *j = malloc(sizeof *j);
    if (!j) {
        orci_job_fini(job);
        return oom(err);
    }
    orchestra__v1__job__init(j);
    /* The strings move into the message, which the dispatcher frees with the reply. */
    j->job_id = job->job_id;
    j->lease_token = job->lease_token;
    j->project_id = job->project_id;
    j->task_id = job->task_id;
    j->workflow = job->workflow;
    j->step = job->step;
    j->function = job->function;
    j->execution_function = job->execution_function;
    j->project_data = job->project_data;
    j->prerequisites = job->prerequisites;
    j->attempt = job->attempt;
    j->lease_expires_at = job->lease_expires_at;
    if (job->kind != ORCI_JOB_KIND_STEP) {
        /* Hook jobs (jobs_hooks.c) say what they are; a step's Job stays as it always was. */
        j->context = job->context;
        job->context = NULL;
        if (!(j->kind = strdup(orci_job_kind_name(job->kind)))) {
            j->kind = (char *)protobuf_c_empty_string;
            protobuf_c_message_free_unpacked(&j->base, NULL);
            memset(job, 0, sizeof *job);
            return oom(err);
        }
    }
    memset(job, 0, sizeof *job);
    *out = j;
    return ORC_OK;
}

/* ---- LeaseJob ----------------------------------------------------------------------- */

static int lease_params(const Orchestra__V1__LeaseJobRequest *req, orci_lease_params *p,
                        orc_error *err)
{
    *p = (orci_lease_params){.executor_id = req->executor_id,
                             .functions = (const char *const *)req->functions,
                             .n_functions = req->n_functions,
                             .packages = (const char *const *)req->python_packages,
                             .n_packages = req->n_python_packages,
                             .lease_ms = req->lease_ms};
    if (req->wait_ms < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "wait_ms must not be negative");
    return orci_lease_params_check(p, err);
}

/* lease_park asks the dispatcher to park the call when the poll may still wait. */
static bool lease_park(orci_call *c, const Orchestra__V1__LeaseJobRequest *req, int64_t wake_us)
{
    if (c->final_poll || req->wait_ms <= 0)
        return false;
    int64_t wait_ms = req->wait_ms > SVC_JOB_MAX_WAIT_MS ? SVC_JOB_MAX_WAIT_MS : req->wait_ms;
    c->park = true;
    c->park_deadline_us = c->now_us + wait_ms * 1000;
    c->park_wake_us = wake_us;
    return true;
}

int orci_svc_lease_job_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                               orc_error *err)
{
    const Orchestra__V1__LeaseJobRequest *req = (const Orchestra__V1__LeaseJobRequest *)in;
    *plan = NULL;
    orci_lease_params p;
    int rc = lease_params(req, &p, err);
    if (rc != ORC_OK)
        return rc;
    if (c->final_poll || req->wait_ms <= 0)
        return ORC_OK;
    bool available = false;
    int64_t next_due = 0;
    rc = orci_jobs_available(c->rdb, c->now_us, &p, &available, &next_due, err);
    if (rc != ORC_OK)
        return rc;
    if (!available)
        lease_park(c, req, next_due);
    return ORC_OK;
}

int orci_svc_lease_job_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                             ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__LeaseJobRequest *req = (const Orchestra__V1__LeaseJobRequest *)in;
    *out = NULL;
    orci_lease_params p;
    int rc = lease_params(req, &p, err);
    if (rc != ORC_OK)
        return rc;
    p.unacked = c->rerun; /* a poll that waited: its executor may have gone meanwhile */
    orci_lc lc = job_lc(c, wdb);
    orci_job job;
    bool found = false;
    int64_t next_due = 0;
    rc = orci_jobs_lease(&lc, &orci_svc_job_ops, &p, &job, &found, &next_due, err);
    if (rc != ORC_OK)
        return rc;
    if (!found) {
        if (lease_park(c, req, next_due))
            return ORC_OK;
        return empty_reply(&orchestra__v1__lease_job_reply__descriptor, out, err);
    }
    Orchestra__V1__LeaseJobReply *r = malloc(sizeof *r);
    if (!r) {
        orci_job_fini(&job);
        return oom(err);
    }
    orchestra__v1__lease_job_reply__init(r);
    if ((rc = job_message(&job, &r->job, err)) != ORC_OK) {
        free(r);
        return rc;
    }
    r->job->ack_required = p.unacked;
    *out = &r->base;
    return ORC_OK;
}

/* ---- reports ------------------------------------------------------------------------- */

int orci_svc_heartbeat_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                             ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__HeartbeatRequest *req = (const Orchestra__V1__HeartbeatRequest *)in;
    *out = NULL;
    int rc = require_job(req->job_id, req->lease_token, err);
    if (rc != ORC_OK)
        return rc;
    orci_lc lc = job_lc(c, wdb);
    int64_t expires_at = 0;
    bool cancelled = false;
    rc = orci_jobs_heartbeat(&lc, req->job_id, req->lease_token, req->lease_ms, &expires_at,
                             &cancelled, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__HeartbeatReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__heartbeat_reply__init(r);
    r->lease_expires_at = expires_at;
    r->cancelled = cancelled;
    *out = &r->base;
    return ORC_OK;
}

/*
 * next_params validates the `next` of a report: the checks of LeaseJob (wait_ms is ignored:
 * the next job is leased only when it is due at once). Done before the report is recorded,
 * so that a bad `next` refuses the whole call and changes nothing.
 */
static int next_params(const Orchestra__V1__LeaseJobRequest *next, orci_lease_params *p,
                       orc_error *err)
{
    *p = (orci_lease_params){.executor_id = next->executor_id,
                             .functions = (const char *const *)next->functions,
                             .n_functions = next->n_functions,
                             .packages = (const char *const *)next->python_packages,
                             .n_packages = next->n_python_packages,
                             .lease_ms = next->lease_ms};
    return orci_lease_params_check(p, err);
}

/*
 * lease_next leases the executor's next job in the report's transaction (jobs.h,
 * orci_jobs_lease_next) into *slot; the slot stays NULL when none was due. It never parks:
 * an executor that gets no job long-polls LeaseJob.
 */
static int lease_next(orci_lc *lc, const orci_jobs_mark *mark, const orci_lease_params *p,
                      Orchestra__V1__Job **slot, orc_error *err)
{
    orci_job job;
    bool found = false;
    int rc = orci_jobs_lease_next(lc, &orci_svc_job_ops, mark, p, &job, &found, err);
    if (rc != ORC_OK || !found)
        return rc;
    return job_message(&job, slot, err);
}

int orci_svc_complete_job_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                                ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__CompleteJobRequest *req = (const Orchestra__V1__CompleteJobRequest *)in;
    *out = NULL;
    int rc = require_job(req->job_id, req->lease_token, err);
    orci_lease_params p;
    if (rc == ORC_OK && req->next)
        rc = next_params(req->next, &p, err);
    if (rc != ORC_OK)
        return rc;
    orci_lc lc = job_lc(c, wdb);
    orci_jobs_mark mark;
    if (req->next && (rc = orci_jobs_mark_take(&lc, &mark, err)) != ORC_OK)
        return rc;
    rc =
        orci_jobs_complete(&lc, &orci_svc_job_ops, req->job_id, req->lease_token, req->output, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__CompleteJobReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__complete_job_reply__init(r);
    if (req->next && (rc = lease_next(&lc, &mark, &p, &r->next, err)) != ORC_OK) {
        free(r);
        return rc;
    }
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_fail_job_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                            ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__FailJobRequest *req = (const Orchestra__V1__FailJobRequest *)in;
    *out = NULL;
    int rc = require_job(req->job_id, req->lease_token, err);
    orci_lease_params p;
    if (rc == ORC_OK && req->next)
        rc = next_params(req->next, &p, err);
    if (rc != ORC_OK)
        return rc;
    orci_lc lc = job_lc(c, wdb);
    orci_jobs_mark mark;
    if (req->next && (rc = orci_jobs_mark_take(&lc, &mark, err)) != ORC_OK)
        return rc;
    bool will_retry = false;
    int64_t next_at = 0;
    rc = orci_jobs_fail(&lc, &orci_svc_job_ops, req->job_id, req->lease_token, req->error,
                        req->retryable, &will_retry, &next_at, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__FailJobReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__fail_job_reply__init(r);
    r->will_retry = will_retry;
    r->next_attempt_at = next_at;
    if (req->next && (rc = lease_next(&lc, &mark, &p, &r->next, err)) != ORC_OK) {
        free(r);
        return rc;
    }
    *out = &r->base;
    return ORC_OK;
}

/* ---- admin --------------------------------------------------------------------------- */

int orci_svc_retry_job_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                             ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__RetryJobRequest *req = (const Orchestra__V1__RetryJobRequest *)in;
    *out = NULL;
    if (req->task_id < 0 || req->job_id < 0 || (req->task_id > 0) == (req->job_id > 0))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "task_id or job_id (not both) must be a positive id");
    orci_lc lc = job_lc(c, wdb);
    int rc = req->task_id > 0 ? orci_jobs_retry(&lc, req->task_id, err)
                              : orci_jobs_retry_job(&lc, req->job_id, err);
    if (rc != ORC_OK)
        return rc;
    return empty_reply(&orchestra__v1__retry_job_reply__descriptor, out, err);
}

int orci_svc_list_jobs(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                       orc_error *err)
{
    const Orchestra__V1__ListJobsRequest *req = (const Orchestra__V1__ListJobsRequest *)in;
    *out = NULL;
    if (req->project_id < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "project_id must not be negative");
    orci_job_info *v = NULL;
    size_t n = 0;
    int rc = orci_jobs_list(c->rdb, req->project_id, &v, &n, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__ListJobsReply *r = malloc(sizeof *r);
    if (!r) {
        orci_job_infos_free(v, n);
        return oom(err);
    }
    orchestra__v1__list_jobs_reply__init(r);
    if (n > 0) {
        r->jobs = calloc(n, sizeof *r->jobs);
        if (!r->jobs)
            goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        Orchestra__V1__JobInfo *e = malloc(sizeof *e);
        if (!e)
            goto fail;
        orchestra__v1__job_info__init(e);
        r->jobs[r->n_jobs++] = e;
        e->job_id = v[i].job_id;
        e->project_id = v[i].project_id;
        e->task_id = v[i].task_id;
        e->attempts = v[i].attempts;
        e->max_attempts = v[i].max_attempts;
        e->next_attempt_at = v[i].next_attempt_at;
        /* Strings move into the reply. */
        e->step = v[i].step;
        e->function = v[i].function;
        e->last_error = v[i].last_error;
        e->executor_id = v[i].executor_id;
        v[i].step = v[i].function = v[i].last_error = v[i].executor_id = NULL;
        e->status = strdup(orci_job_status_name(v[i].status));
        if (!e->status) {
            e->status = (char *)protobuf_c_empty_string;
            goto fail;
        }
        e->kind = strdup(orci_job_kind_name(v[i].kind));
        if (!e->kind) {
            e->kind = (char *)protobuf_c_empty_string;
            goto fail;
        }
    }
    orci_job_infos_free(v, n);
    *out = &r->base;
    return ORC_OK;
fail:
    orci_job_infos_free(v, n);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return oom(err);
}
