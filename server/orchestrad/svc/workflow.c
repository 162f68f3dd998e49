/*
 * svc_workflow.c: the workflow RPC handlers (LoadWorkflow, LoadAllWorkflows,
 * LoadSampleData, ListWorkflows).
 *
 * Loads follow loader.h: prepare parses and validates on the RPC worker thread, apply
 * compares with the database and writes on the writer thread. Replies are malloc'd (the
 * dispatcher frees them with protobuf_c_message_free_unpacked(out, NULL)).
 */
#include <stdlib.h>
#include <string.h>

#include "workflow/loader.h"
#include "proto/orchestra.pb-c.h"
#include "workflow/sampledata.h"
#include "svc/sample_python.h"
#include "svc/services.h"
#include "vec.h"
#include "store/db.h"

/* The plan of either load method. */
typedef struct load_plan {
    orci_load_plan *one; /* LoadWorkflow */
    orci_load_all *all;  /* LoadAllWorkflows */
} load_plan;

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

void orci_svc_load_plan_free(void *plan)
{
    load_plan *lp = plan;
    if (!lp)
        return;
    orci_load_plan_free(lp->one);
    orci_load_all_free(lp->all);
    free(lp);
}

int orci_svc_load_workflow_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                   orc_error *err)
{
    (void)c;
    const Orchestra__V1__LoadWorkflowRequest *req = (const Orchestra__V1__LoadWorkflowRequest *)in;
    *plan = NULL;
    if (!req->bundle)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Workflow directory does not exist.");
    load_plan *lp = calloc(1, sizeof *lp);
    if (!lp)
        return oom(err);
    int rc = orci_loader_plan(req->bundle, req->version, &lp->one, err);
    if (rc != ORC_OK) {
        orci_svc_load_plan_free(lp);
        return rc;
    }
    *plan = lp;
    return ORC_OK;
}

int orci_svc_load_workflow_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                                 ProtobufCMessage **out, orc_error *err)
{
    const Orchestra__V1__LoadWorkflowRequest *req = (const Orchestra__V1__LoadWorkflowRequest *)in;
    load_plan *lp = plan;
    *out = NULL;
    if (!lp || !lp->one)
        return orc_error_set(err, ORC_INTERNAL, "LoadWorkflow has no plan");
    int rc = orci_loader_apply(wdb, lp->one, req->force, c->now_us, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__LoadWorkflowReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__load_workflow_reply__init(r);
    r->workflow = strdup(lp->one->workflow_slug);
    r->version = strdup(lp->one->version_slug);
    if (!r->workflow || !r->version) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return oom(err);
    }
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_load_all_prepare(orci_call *c, const ProtobufCMessage *in, void **plan, orc_error *err)
{
    (void)c;
    const Orchestra__V1__LoadAllWorkflowsRequest *req =
        (const Orchestra__V1__LoadAllWorkflowsRequest *)in;
    *plan = NULL;
    load_plan *lp = calloc(1, sizeof *lp);
    if (!lp)
        return oom(err);
    int rc = orci_loader_plan_all(req->bundles, req->n_bundles, &lp->all, err);
    if (rc != ORC_OK) {
        orci_svc_load_plan_free(lp);
        return rc;
    }
    *plan = lp;
    return ORC_OK;
}

int orci_svc_load_all_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                            ProtobufCMessage **out, orc_error *err)
{
    const Orchestra__V1__LoadAllWorkflowsRequest *req =
        (const Orchestra__V1__LoadAllWorkflowsRequest *)in;
    load_plan *lp = plan;
    *out = NULL;
    if (!lp || !lp->all)
        return orc_error_set(err, ORC_INTERNAL, "LoadAllWorkflows has no plan");
    /* Each version loads in its own savepoint: refusals are reported, not returned. */
    int rc = orci_loader_apply_all(wdb, lp->all, req->force, c->now_us, err);
    if (rc != ORC_OK)
        return rc;

    Orchestra__V1__LoadAllWorkflowsReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__load_all_workflows_reply__init(r);
    size_t n = lp->all->n_items;
    if (n > 0 && !(r->results = calloc(n, sizeof *r->results)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const orci_load_item *it = &lp->all->items[i];
        Orchestra__V1__LoadResult *res = malloc(sizeof *res);
        if (!res)
            goto fail;
        orchestra__v1__load_result__init(res);
        r->results[r->n_results++] = res;
        res->app = strdup(it->app);
        res->workflow = strdup(it->workflow);
        res->version = strdup(it->version);
        res->message = strdup(it->message);
        res->status = (Orchestra__V1__Code)it->status;
        if (!res->app || !res->workflow || !res->version || !res->message)
            goto fail;
    }
    *out = &r->base;
    return ORC_OK;
fail:
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return oom(err);
}

int orci_svc_load_sample_data_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                    void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__LoadSampleDataRequest *req =
        (const Orchestra__V1__LoadSampleDataRequest *)in;
    char **names = NULL;
    size_t n = 0;
    *out = NULL;
    bool python = false; /* upstream's sample_data_load_function: a job (sample_python.h) */
    int rc = orci_svc_sample_python(c, wdb, req, out, &python, err);
    if (rc != ORC_OK || python)
        return rc;
    rc = orci_sample_data_load(wdb, req->workflow, req->version, c->now_us, &names, &n, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__LoadSampleDataReply *r = malloc(sizeof *r);
    if (!r) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return oom(err);
    }
    orchestra__v1__load_sample_data_reply__init(r);
    if (n > 0) {
        r->users = names; /* the reply takes the array and its strings */
        r->n_users = n;
    } else {
        free(names);
    }
    *out = &r->base;
    return ORC_OK;
}

/* add_workflow appends a WorkflowInfo built from the current row's first three columns. */
static Orchestra__V1__WorkflowInfo *add_workflow(Orchestra__V1__ListWorkflowsReply *r, size_t *cap,
                                                 orci_stmt *st)
{
    if (!orci_grow(&r->workflows, cap, r->n_workflows + 1, sizeof *r->workflows))
        return NULL;
    Orchestra__V1__WorkflowInfo *w = malloc(sizeof *w);
    if (!w)
        return NULL;
    orchestra__v1__workflow_info__init(w);
    r->workflows[r->n_workflows++] = w;
    w->slug = strdup(orci_col_text(st, 0));
    w->name = strdup(orci_col_text(st, 1));
    w->description = strdup(orci_col_text(st, 2));
    return w->slug && w->name && w->description ? w : NULL;
}

static bool add_version(Orchestra__V1__WorkflowInfo *w, orci_stmt *st)
{
    Orchestra__V1__WorkflowVersionInfo **v = realloc(w->versions, (w->n_versions + 1) * sizeof *v);
    if (!v)
        return false;
    w->versions = v;
    Orchestra__V1__WorkflowVersionInfo *vi = malloc(sizeof *vi);
    if (!vi)
        return false;
    orchestra__v1__workflow_version_info__init(vi);
    w->versions[w->n_versions++] = vi;
    vi->slug = strdup(orci_col_text(st, 3));
    vi->name = strdup(orci_col_text(st, 4));
    vi->description = strdup(orci_col_text(st, 5));
    return vi->slug && vi->name && vi->description;
}

int orci_svc_list_workflows(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                            orc_error *err)
{
    (void)in;
    *out = NULL;
    orci_stmt *st =
        orci_db_stmt(c->rdb,
                     "SELECT w.slug, w.name, w.description, v.slug, v.name, v.description, v.id "
                     "FROM workflows w LEFT JOIN workflow_versions v ON v.workflow_id = w.id "
                     "ORDER BY w.slug, v.slug",
                     err);
    if (!st)
        return err && err->code ? (int)err->code : ORC_INTERNAL;
    Orchestra__V1__ListWorkflowsReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__list_workflows_reply__init(r);
    size_t cap = 0;
    int row, rc = ORC_OK;
    Orchestra__V1__WorkflowInfo *w = NULL;
    while ((row = orci_db_row(c->rdb, st, err)) == 1) {
        if (!w || strcmp(w->slug, orci_col_text(st, 0)) != 0) {
            if (!(w = add_workflow(r, &cap, st))) {
                rc = oom(err);
                break;
            }
        }
        if (!orci_col_is_null(st, 6) && !add_version(w, st)) {
            rc = oom(err);
            break;
        }
    }
    if (rc == ORC_OK && row < 0)
        rc = err && err->code ? (int)err->code : ORC_INTERNAL;
    if (rc != ORC_OK) {
        orci_stmt_reset(st);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return rc;
    }
    *out = &r->base;
    return ORC_OK;
}
