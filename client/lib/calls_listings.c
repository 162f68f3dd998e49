/*
 * calls_listings.c: the listing calls of client.h (ListProjects, ListWorkers, ListTasks,
 * ListCertifications, ListKeys), each one page as a JSON document. Times are RFC 3339 UTC.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "call.h"
#include "json.h"
#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

static json_t *strings_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* finish dumps {key: items, "next_after_id": next} into *json (items is taken). */
static int finish(const char *key, json_t *items, int64_t next, char **json, orc_error *err)
{
    json_t *doc =
        items ? json_pack("{s:o,s:I}", key, items, "next_after_id", (json_int_t)next) : NULL;
    *json = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return *json ? ORC_OK : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
}

/* page_init fills a page request from a filter. */
static Orchestra__V1__PageRequest *page_init(const orc_list_filter *f,
                                             Orchestra__V1__PageRequest *p)
{
    orchestra__v1__page_request__init(p);
    p->after_id = f ? f->after_id : 0;
    p->limit = f ? f->limit : 0;
    return p;
}

int orc_project_list_json(orc_client *c, const orc_list_filter *f, char **json, orc_error *err)
{
    Orchestra__V1__ListProjectsRequest in = ORCHESTRA__V1__LIST_PROJECTS_REQUEST__INIT;
    Orchestra__V1__PageRequest page;
    ProtobufCMessage *out = NULL;
    *json = NULL;
    in.page = page_init(f, &page);
    in.status = (char *)(f && f->status ? f->status : "");
    in.workflow = (char *)(f && f->workflow ? f->workflow : "");
    int rc = orci_client_call(c, "ListProjects", &in.base,
                              &orchestra__v1__list_projects_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListProjectsReply *r = (const Orchestra__V1__ListProjectsReply *)out;
    json_t *items = json_array();
    for (size_t i = 0; items && i < r->n_projects; i++) {
        const Orchestra__V1__ProjectSummary *p = r->projects[i];
        json_t *o =
            json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "id", (json_int_t)p->id, "workflow",
                      p->workflow, "version", p->version, "description", p->description, "priority",
                      (json_int_t)p->priority, "status", p->status, "task_class", p->task_class,
                      "start", orci_json_time(p->start));
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    rc = finish("projects", items, r->next_after_id, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_worker_list_json(orc_client *c, const orc_list_filter *f, char **json, orc_error *err)
{
    Orchestra__V1__ListWorkersRequest in = ORCHESTRA__V1__LIST_WORKERS_REQUEST__INIT;
    Orchestra__V1__PageRequest page;
    ProtobufCMessage *out = NULL;
    *json = NULL;
    in.page = page_init(f, &page);
    int rc = orci_client_call(c, "ListWorkers", &in.base,
                              &orchestra__v1__list_workers_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListWorkersReply *r = (const Orchestra__V1__ListWorkersReply *)out;
    json_t *items = json_array();
    for (size_t i = 0; items && i < r->n_workers; i++) {
        const Orchestra__V1__WorkerSummary *w = r->workers[i];
        json_t *o =
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:b,s:o}", "id", (json_int_t)w->id, "username",
                      w->username, "first_name", w->first_name, "last_name", w->last_name, "email",
                      w->email, "is_admin", w->is_admin, "has_password", w->has_password,
                      "certifications", strings_json(w->certifications, w->n_certifications));
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    rc = finish("workers", items, r->next_after_id, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_task_list_json(orc_client *c, const orc_list_filter *f, char **json, orc_error *err)
{
    Orchestra__V1__ListTasksRequest in = ORCHESTRA__V1__LIST_TASKS_REQUEST__INIT;
    Orchestra__V1__PageRequest page;
    ProtobufCMessage *out = NULL;
    *json = NULL;
    in.page = page_init(f, &page);
    in.project_id = f ? f->project_id : 0;
    in.status = (char *)(f && f->status ? f->status : "");
    int rc = orci_client_call(c, "ListTasks", &in.base,
                              &orchestra__v1__list_tasks_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListTasksReply *r = (const Orchestra__V1__ListTasksReply *)out;
    json_t *items = json_array();
    for (size_t i = 0; items && i < r->n_tasks; i++) {
        const Orchestra__V1__TaskSummary *t = r->tasks[i];
        json_t *o = json_pack("{s:I,s:I,s:s,s:b,s:s,s:o,s:s?}", "id", (json_int_t)t->id,
                              "project_id", (json_int_t)t->project_id, "step", t->step, "is_human",
                              t->is_human, "status", t->status, "start", orci_json_time(t->start),
                              "worker", t->worker[0] ? t->worker : NULL);
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    rc = finish("tasks", items, r->next_after_id, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_certification_list_json(orc_client *c, const char *workflow, char **json, orc_error *err)
{
    Orchestra__V1__ListCertificationsRequest in = ORCHESTRA__V1__LIST_CERTIFICATIONS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    *json = NULL;
    in.workflow = (char *)(workflow ? workflow : "");
    int rc = orci_client_call(c, "ListCertifications", &in.base,
                              &orchestra__v1__list_certifications_reply__descriptor, &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListCertificationsReply *r =
        (const Orchestra__V1__ListCertificationsReply *)out;
    json_t *items = json_array();
    for (size_t i = 0; items && i < r->n_certifications; i++) {
        const Orchestra__V1__CertificationSummary *cs = r->certifications[i];
        json_t *o =
            json_pack("{s:I,s:s,s:s,s:s,s:s,s:o}", "id", (json_int_t)cs->id, "workflow",
                      cs->workflow, "slug", cs->slug, "name", cs->name, "description",
                      cs->description, "required", strings_json(cs->required, cs->n_required));
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    rc = finish("certifications", items, 0, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

int orc_key_list_json(orc_client *c, char **json, orc_error *err)
{
    Orchestra__V1__ListKeysRequest in = ORCHESTRA__V1__LIST_KEYS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    *json = NULL;
    int rc = orci_client_call(c, "ListKeys", &in.base, &orchestra__v1__list_keys_reply__descriptor,
                              &out, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListKeysReply *r = (const Orchestra__V1__ListKeysReply *)out;
    json_t *items = json_array();
    for (size_t i = 0; items && i < r->n_keys; i++) {
        const Orchestra__V1__KeySummary *k = r->keys[i];
        json_t *o =
            json_pack("{s:s,s:s,s:o,s:o,s:o}", "key_id", k->key_id, "name", k->name, "scopes",
                      strings_json(k->scopes, k->n_scopes), "created",
                      orci_json_time(k->created_at), "revoked", orci_json_time(k->revoked_at));
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    rc = finish("keys", items, 0, json, err);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}
