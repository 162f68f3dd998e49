/*
 * calls_workflow.c: the typed workflow calls of client.h (LoadWorkflow, LoadAllWorkflows,
 * LoadSampleData, ListWorkflows as upstream's JSON document or as structs). Folders are read
 * here with bundle.c; the server validates everything it is sent.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "block.h"
#include "bundle.h"
#include "call.h"
#include "json.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

void orc_workflow_ref_free(orc_workflow_ref *ref)
{
    free(ref); /* one block with its strings (orci_block_new) */
}

int orc_workflow_load(orc_client *c, const char *dir, const char *version, bool force,
                      orc_workflow_ref **ref, orc_error *err)
{
    Orchestra__V1__LoadWorkflowRequest in = ORCHESTRA__V1__LOAD_WORKFLOW_REQUEST__INIT;
    Orchestra__V1__WorkflowBundle *bundle = NULL;
    ProtobufCMessage *out = NULL;

    if (ref)
        *ref = NULL;
    if (!version || !version[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a version slug is required");
    int rc = orci_bundle_read(dir, &bundle, err);
    if (rc != ORC_OK)
        return rc;
    in.bundle = bundle;
    in.version = (char *)version;
    in.force = force;
    rc = orci_client_call(c, "LoadWorkflow", &in.base,
                          &orchestra__v1__load_workflow_reply__descriptor, &out, err);
    if (rc == ORC_OK && ref) {
        const Orchestra__V1__LoadWorkflowReply *r = (const Orchestra__V1__LoadWorkflowReply *)out;
        const size_t offs[] = {offsetof(orc_workflow_ref, workflow),
                               offsetof(orc_workflow_ref, version)};
        const char *const strs[] = {r->workflow, r->version};
        if (!(*ref = orci_block_new(sizeof **ref, 2, offs, strs)))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    orci_bundle_free(bundle);
    return rc;
}

/* base_name copies the last component of dir (trailing slashes ignored) into out. */
static void base_name(const char *dir, char *out, size_t out_size)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(out, out_size, "%.*s", (int)(end - start), dir + start);
}

/* result_new is one outcome (one block: orci_block_new); NULL when out of memory. */
static orc_load_result *result_new(const char *app, const char *workflow, const char *version,
                                   orc_code status, const char *message)
{
    const size_t offs[] = {offsetof(orc_load_result, app), offsetof(orc_load_result, workflow),
                           offsetof(orc_load_result, version), offsetof(orc_load_result, message)};
    if (status != ORC_OK && (!message || !message[0]))
        message = orc_code_default_message(status);
    const char *const strs[] = {app, workflow, version, message};
    orc_load_result *r = orci_block_new(sizeof *r, 4, offs, strs);
    if (r)
        r->status = status;
    return r;
}

/* result_from_wire is one server outcome as a result; NULL when out of memory. */
static orc_load_result *result_from_wire(const Orchestra__V1__LoadResult *w)
{
    int status = (int)w->status;
    orc_code code =
        status >= ORC_OK && status <= ORC_UNAUTHENTICATED ? (orc_code)status : ORC_UNKNOWN;
    return result_new(w->app, w->workflow, w->version, code, w->message);
}

void orc_load_results_free(orc_load_result **results, size_t n)
{
    if (!results)
        return;
    for (size_t i = 0; i < n; i++)
        free(results[i]); /* one block each */
    free(results);
}

/*
 * load_all_merge lists the outcomes in folder order: a folder that could not be read gives
 * its read error; a folder that was sent gives the server's outcomes for its app. Outcomes
 * the server reported for no folder we know come last.
 */
static int load_all_merge(char **dirs, size_t n_dirs, Orchestra__V1__WorkflowBundle **bundles,
                          const orc_error *read_errs,
                          const Orchestra__V1__LoadAllWorkflowsReply *reply,
                          orc_load_result ***results, size_t *n_results, orc_error *err)
{
    size_t n_wire = reply ? reply->n_results : 0;
    size_t cap = n_dirs + n_wire;
    orc_load_result **res = calloc(cap ? cap : 1, sizeof *res);
    bool *used = calloc(n_wire ? n_wire : 1, sizeof *used);
    size_t n = 0;
    if (!res || !used) {
        free(res);
        free(used);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    bool oom = false;
    for (size_t i = 0; i < n_dirs && !oom; i++) {
        if (!bundles[i]) {
            char app[256];
            base_name(dirs[i], app, sizeof app);
            oom = !(res[n++] = result_new(app, "", "", read_errs[i].code, read_errs[i].message));
            continue;
        }
        for (size_t j = 0; j < n_wire && !oom; j++) {
            if (used[j] || strcmp(reply->results[j]->app, bundles[i]->app) != 0)
                continue;
            used[j] = true;
            oom = !(res[n++] = result_from_wire(reply->results[j]));
        }
    }
    for (size_t j = 0; j < n_wire && !oom; j++)
        if (!used[j])
            oom = !(res[n++] = result_from_wire(reply->results[j]));
    free(used);
    if (oom) {
        orc_load_results_free(res, n);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    *results = res;
    *n_results = n;
    return ORC_OK;
}

int orc_workflow_load_all(orc_client *c, const char *const *dirs, size_t n_dirs, bool force,
                          orc_load_result ***results, size_t *n_results, orc_error *err)
{
    Orchestra__V1__LoadAllWorkflowsRequest in = ORCHESTRA__V1__LOAD_ALL_WORKFLOWS_REQUEST__INIT;
    char **found = NULL;
    size_t n_found = 0;
    Orchestra__V1__WorkflowBundle **bundles = NULL;
    Orchestra__V1__WorkflowBundle **sent = NULL;
    orc_error *read_errs = NULL;
    ProtobufCMessage *out = NULL;
    int rc;

    if (!results || !n_results)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the results");
    *results = NULL;
    *n_results = 0;
    rc = orci_bundle_scan(dirs, n_dirs, &found, &n_found, err);
    if (rc != ORC_OK)
        return rc;
    bundles = calloc(n_found ? n_found : 1, sizeof *bundles);
    sent = calloc(n_found ? n_found : 1, sizeof *sent);
    read_errs = calloc(n_found ? n_found : 1, sizeof *read_errs);
    if (!bundles || !sent || !read_errs) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    size_t n_sent = 0;
    for (size_t i = 0; i < n_found; i++) {
        if (orci_bundle_read(found[i], &bundles[i], &read_errs[i]) == ORC_OK)
            sent[n_sent++] = bundles[i];
    }
    if (n_sent > 0) {
        in.bundles = sent;
        in.n_bundles = n_sent;
        in.force = force;
        rc = orci_client_call(c, "LoadAllWorkflows", &in.base,
                              &orchestra__v1__load_all_workflows_reply__descriptor, &out, err);
        if (rc != ORC_OK)
            goto out;
    }
    rc = load_all_merge(found, n_found, bundles, read_errs,
                        (const Orchestra__V1__LoadAllWorkflowsReply *)out, results, n_results, err);
    if (rc == ORC_OK)
        orc_error_clear(err);

out:
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);
    for (size_t i = 0; i < n_found; i++) {
        if (bundles)
            orci_bundle_free(bundles[i]);
        free(found[i]);
    }
    free(found);
    free(bundles);
    free(sent);
    free(read_errs);
    return rc;
}

/* How long a Python load function's job may wait for an executor before the call gives up,
 * and how often its state is asked for (growing to the maximum). */
#define SAMPLE_QUEUED_MAX_MS 60000
#define SAMPLE_POLL_MIN_MS 100
#define SAMPLE_POLL_MAX_MS 1000

/*
 * sample_wait follows a Python load function's job (the reply *out names it) until it ends:
 * *out becomes the final reply. A job still queued after SAMPLE_QUEUED_MAX_MS (no executor
 * takes its package) is ORC_DEADLINE_EXCEEDED; it stays queued and loads when one does.
 */
static int sample_wait(orc_client *c, Orchestra__V1__LoadSampleDataRequest *in,
                       ProtobufCMessage **out, orc_error *err)
{
    int64_t job = ((Orchestra__V1__LoadSampleDataReply *)*out)->job_id;
    long waited_queued = 0, step = SAMPLE_POLL_MIN_MS;
    in->job_id = job;
    for (;;) {
        const Orchestra__V1__LoadSampleDataReply *r = (Orchestra__V1__LoadSampleDataReply *)*out;
        if (r->job_id == 0)
            return ORC_OK;
        bool queued = r->job_status && strcmp(r->job_status, "queued") == 0;
        if (queued && waited_queued >= SAMPLE_QUEUED_MAX_MS)
            return orc_error_set(err, ORC_DEADLINE_EXCEEDED,
                                 "the sample-data job %lld is still queued after %d s: no executor "
                                 "runs Python functions of this workflow's package (start one "
                                 "with --python-path); it loads when one does",
                                 (long long)job, SAMPLE_QUEUED_MAX_MS / 1000);
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        waited_queued = queued ? waited_queued + step : 0;
        step = step * 2 > SAMPLE_POLL_MAX_MS ? SAMPLE_POLL_MAX_MS : step * 2;
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
        int rc = orci_client_call(c, "LoadSampleData", &in->base,
                                  &orchestra__v1__load_sample_data_reply__descriptor, out, err);
        if (rc != ORC_OK)
            return rc;
    }
}

int orc_workflow_sample_data(orc_client *c, const char *workflow, const char *version,
                             char ***users, size_t *n_users, orc_error *err)
{
    Orchestra__V1__LoadSampleDataRequest in = ORCHESTRA__V1__LOAD_SAMPLE_DATA_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!users || !n_users)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the users");
    *users = NULL;
    *n_users = 0;
    if (!workflow || !version)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "a workflow and a version are required");
    in.workflow = (char *)workflow;
    in.version = (char *)version;
    int rc = orci_client_call(c, "LoadSampleData", &in.base,
                              &orchestra__v1__load_sample_data_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    /* A Python load function (upstream's sample_data_load_function) runs on an executor. */
    if ((rc = sample_wait(c, &in, &out, err)) != ORC_OK)
        goto out;
    const Orchestra__V1__LoadSampleDataReply *r = (const Orchestra__V1__LoadSampleDataReply *)out;
    char **v = calloc(r->n_users ? r->n_users : 1, sizeof *v);
    if (!v) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_users; i++) {
        v[i] = strdup(r->users[i]);
        if (!v[i]) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
    }
    *users = v;
    *n_users = r->n_users;

out:
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

/* types_document builds the upstream workflow_types JSON from the server's listing. */
static json_t *types_document(const Orchestra__V1__ListWorkflowsReply *r)
{
    json_t *doc = json_object();
    json_t *wfs = json_object();
    if (!doc || !wfs || json_object_set_new(doc, "workflows", wfs) != 0) {
        json_decref(doc);
        return NULL;
    }
    for (size_t i = 0; i < r->n_workflows; i++) {
        const Orchestra__V1__WorkflowInfo *w = r->workflows[i];
        json_t *versions = json_object();
        json_t *wf = json_pack("{s:s, s:o}", "name", w->name, "versions", versions);
        if (!wf || json_object_set_new(wfs, w->slug, wf) != 0)
            goto fail;
        for (size_t j = 0; j < w->n_versions; j++) {
            const Orchestra__V1__WorkflowVersionInfo *v = w->versions[j];
            json_t *vj = json_pack("{s:s, s:s}", "name", v->name, "description", v->description);
            if (!vj || json_object_set_new(versions, v->slug, vj) != 0)
                goto fail;
        }
    }
    return doc;
fail:
    json_decref(doc);
    return NULL;
}

int orc_workflow_types_json(orc_client *c, char **json, orc_error *err)
{
    Orchestra__V1__ListWorkflowsRequest in = ORCHESTRA__V1__LIST_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;

    if (!json)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the document");
    *json = NULL;
    int rc = orci_client_call(c, "ListWorkflows", &in.base,
                              &orchestra__v1__list_workflows_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    /* Slugs and names come from the server: jansson refuses invalid UTF-8, reported below. */
    json_t *doc = types_document((const Orchestra__V1__ListWorkflowsReply *)out);
    protobuf_c_message_free_unpacked(out, NULL);
    if (!doc)
        return orc_error_set(err, ORC_INTERNAL, "cannot build the workflow_types document");
    *json = orci_json_dump(doc);
    json_decref(doc);
    if (!*json)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    return ORC_OK;
}

/* ---- the workflows as structs ------------------------------------------------------------ */

static void workflow_info_free(orc_workflow_info *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_versions; i++)
        free(w->versions[i]); /* one block each (orci_block_new) */
    free(w->versions);
    free(w);
}

/* workflow_info_new is w as a struct: one block, its versions one block each. */
static orc_workflow_info *workflow_info_new(const Orchestra__V1__WorkflowInfo *w)
{
    const size_t offs[] = {offsetof(orc_workflow_info, slug), offsetof(orc_workflow_info, name),
                           offsetof(orc_workflow_info, description)};
    const char *const strs[] = {w->slug, w->name, w->description};
    orc_workflow_info *o = orci_block_new(sizeof *o, 3, offs, strs);
    if (!o || !(o->versions = calloc(w->n_versions ? w->n_versions : 1, sizeof *o->versions))) {
        free(o);
        return NULL;
    }
    const size_t voffs[] = {offsetof(orc_workflow_version_info, slug),
                            offsetof(orc_workflow_version_info, name),
                            offsetof(orc_workflow_version_info, description)};
    for (size_t i = 0; i < w->n_versions; i++) {
        const Orchestra__V1__WorkflowVersionInfo *v = w->versions[i];
        const char *const vstrs[] = {v->slug, v->name, v->description};
        if (!(o->versions[o->n_versions] =
                  orci_block_new(sizeof(orc_workflow_version_info), 3, voffs, vstrs))) {
            workflow_info_free(o);
            return NULL;
        }
        o->n_versions++;
    }
    return o;
}

void orc_workflow_list_free(orc_workflow_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_workflows; i++)
        workflow_info_free(l->workflows[i]);
    free(l->workflows);
    free(l);
}

int orc_workflows_list(orc_client *c, orc_workflow_list **out, orc_error *err)
{
    Orchestra__V1__ListWorkflowsRequest in = ORCHESTRA__V1__LIST_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the workflows");
    *out = NULL;
    int rc = orci_client_call(c, "ListWorkflows", &in.base,
                              &orchestra__v1__list_workflows_reply__descriptor, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListWorkflowsReply *r = (const Orchestra__V1__ListWorkflowsReply *)reply;
    orc_workflow_list *l = calloc(1, sizeof *l);
    if (!l || !(l->workflows = calloc(r->n_workflows ? r->n_workflows : 1, sizeof *l->workflows)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_workflows; i++)
        if (!(l->workflows[l->n_workflows++] = workflow_info_new(r->workflows[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        *out = l;
    else
        orc_workflow_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}
