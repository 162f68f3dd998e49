/*
 * sample_python.c: LoadSampleData through a Python load function's job (sample_python.h).
 */
#include "svc/sample_python.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "domain/jobs.h"
#include "workflow/sampledata.h"

static int sample_oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

static Orchestra__V1__LoadSampleDataReply *sample_reply(void)
{
    Orchestra__V1__LoadSampleDataReply *r = malloc(sizeof *r);
    if (r)
        orchestra__v1__load_sample_data_reply__init(r);
    return r;
}

/* sample_running answers a job that has not finished: its id and status. */
static int sample_running(int64_t job_id, int status, ProtobufCMessage **out, orc_error *err)
{
    Orchestra__V1__LoadSampleDataReply *r = sample_reply();
    if (!r)
        return sample_oom(err);
    r->job_id = job_id;
    if (!(r->job_status = strdup(orci_job_status_name(status)))) {
        r->job_status = (char *)protobuf_c_empty_string;
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return sample_oom(err);
    }
    *out = &r->base;
    return ORC_OK;
}

/* sample_done answers a completed job with the users its record named. */
static int sample_done(const char *output, ProtobufCMessage **out, orc_error *err)
{
    json_t *doc = json_loads(output ? output : "{}", 0, NULL);
    json_t *users = json_object_get(doc, "users");
    Orchestra__V1__LoadSampleDataReply *r = sample_reply();
    size_t n = json_array_size(users);
    if (r && n > 0 && !(r->users = calloc(n, sizeof *r->users))) {
        free(r);
        r = NULL;
    }
    for (size_t i = 0; r && i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(users, i), "username"));
        if (!(r->users[r->n_users] = strdup(name ? name : ""))) {
            protobuf_c_message_free_unpacked(&r->base, NULL);
            r = NULL;
            break;
        }
        r->n_users++;
    }
    json_decref(doc);
    if (!r)
        return sample_oom(err);
    *out = &r->base;
    return ORC_OK;
}

/* sample_follow answers a request for a job's state. */
static int sample_follow(orci_db *wdb, int64_t job_id, ProtobufCMessage **out, orc_error *err)
{
    orci_hook_info info;
    int rc = orci_jobs_hook_info(wdb, job_id, &info, err);
    if (rc != ORC_OK)
        return rc;
    if (info.kind != ORCI_JOB_KIND_SAMPLE)
        rc = orc_error_set(err, ORC_NOT_FOUND, "No sample-data job for given id");
    else if (info.status == ORCI_JOB_QUEUED || info.status == ORCI_JOB_LEASED)
        rc = sample_running(job_id, info.status, out, err);
    else if (info.status == ORCI_JOB_COMPLETED)
        rc = sample_done(info.output, out, err);
    else
        rc = orc_error_set(
            err, ORC_FAILED_PRECONDITION, "An error occurred while loading sample data: %s",
            info.last_error[0] ? info.last_error : orci_job_status_name(info.status));
    orci_hook_info_fini(&info);
    return rc;
}

int orci_svc_sample_python(orci_call *c, orci_db *wdb,
                           const Orchestra__V1__LoadSampleDataRequest *req, ProtobufCMessage **out,
                           bool *handled, orc_error *err)
{
    *handled = false;
    if (req->job_id < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "job_id must not be negative");
    if (req->job_id > 0) {
        *handled = true;
        return sample_follow(wdb, req->job_id, out, err);
    }
    int64_t version_id = 0, job_id = 0;
    char *spec = NULL;
    int rc = orci_sample_data_function(wdb, req->workflow, req->version, &version_id, &spec, err);
    if (rc != ORC_OK || !spec)
        return rc;
    *handled = true;
    orci_lc lc = {.db = wdb, .now_us = c->now_us, .rng = c->srv->rng};
    rc = orci_jobs_create_sample(&lc, version_id, spec, &job_id, err);
    free(spec);
    if (rc != ORC_OK)
        return rc;
    return sample_running(job_id, ORCI_JOB_QUEUED, out, err);
}
