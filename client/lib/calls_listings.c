/*
 * calls_listings.c: the listing calls of client.h (ListProjects, ListWorkers, ListTasks,
 * ListCertifications, ListKeys), each one page as a JSON document (times RFC 3339 UTC) and as
 * structs (orc_projects_list, orc_tasks_list, orc_workers_list, orc_certifications_list,
 * orc_keys_list).
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

/*
 * page_init reads the program's filter f_in (NULL: none; a growable struct: block.h) into
 * *copy, points *f at it (NULL when none), and fills a page request from it.
 */
static int page_init(const orc_list_filter *f_in, orc_list_filter *copy, const orc_list_filter **f,
                     Orchestra__V1__PageRequest *p, orc_error *err)
{
    orchestra__v1__page_request__init(p);
    int rc = orci_struct_in(copy, sizeof *copy, f_in, sizeof *copy, "orc_list_filter", err);
    *f = f_in ? copy : NULL;
    p->after_id = copy->after_id;
    p->limit = copy->limit;
    return rc;
}

/* projects_call asks ListProjects for the page f_in selects; *out: the reply. */
static int projects_call(orc_client *c, const orc_list_filter *f_in, ProtobufCMessage **out,
                         orc_error *err)
{
    Orchestra__V1__ListProjectsRequest in = ORCHESTRA__V1__LIST_PROJECTS_REQUEST__INIT;
    Orchestra__V1__PageRequest page;
    orc_list_filter copy;
    const orc_list_filter *f = NULL;
    int rc = page_init(f_in, &copy, &f, &page, err);
    if (rc != ORC_OK)
        return rc;
    in.page = &page;
    in.status = (char *)(f && f->status ? f->status : "");
    in.workflow = (char *)(f && f->workflow ? f->workflow : "");
    return orci_client_call(c, "ListProjects", &in.base,
                            &orchestra__v1__list_projects_reply__descriptor, out, err);
}

int orc_project_list_json(orc_client *c, const orc_list_filter *f_in, char **json, orc_error *err)
{
    ProtobufCMessage *out = NULL;
    *json = NULL;
    int rc = projects_call(c, f_in, &out, err);
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

/* workers_call asks ListWorkers for the page f_in selects; *out: the reply. */
static int workers_call(orc_client *c, const orc_list_filter *f_in, ProtobufCMessage **out,
                        orc_error *err)
{
    Orchestra__V1__ListWorkersRequest in = ORCHESTRA__V1__LIST_WORKERS_REQUEST__INIT;
    Orchestra__V1__PageRequest page;
    orc_list_filter copy;
    const orc_list_filter *f = NULL;
    int rc = page_init(f_in, &copy, &f, &page, err);
    if (rc != ORC_OK)
        return rc;
    in.page = &page;
    return orci_client_call(c, "ListWorkers", &in.base,
                            &orchestra__v1__list_workers_reply__descriptor, out, err);
}

int orc_worker_list_json(orc_client *c, const orc_list_filter *f_in, char **json, orc_error *err)
{
    ProtobufCMessage *out = NULL;
    *json = NULL;
    int rc = workers_call(c, f_in, &out, err);
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

/* tasks_call asks ListTasks for the page f_in selects; *out: the reply. */
static int tasks_call(orc_client *c, const orc_list_filter *f_in, ProtobufCMessage **out,
                      orc_error *err)
{
    Orchestra__V1__ListTasksRequest in = ORCHESTRA__V1__LIST_TASKS_REQUEST__INIT;
    Orchestra__V1__PageRequest page;
    orc_list_filter copy;
    const orc_list_filter *f = NULL;
    int rc = page_init(f_in, &copy, &f, &page, err);
    if (rc != ORC_OK)
        return rc;
    in.page = &page;
    in.project_id = f ? f->project_id : 0;
    in.status = (char *)(f && f->status ? f->status : "");
    return orci_client_call(c, "ListTasks", &in.base, &orchestra__v1__list_tasks_reply__descriptor,
                            out, err);
}

int orc_task_list_json(orc_client *c, const orc_list_filter *f_in, char **json, orc_error *err)
{
    ProtobufCMessage *out = NULL;
    *json = NULL;
    int rc = tasks_call(c, f_in, &out, err);
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

/* certifications_call asks ListCertifications for workflow's (NULL: all); *out: the reply. */
static int certifications_call(orc_client *c, const char *workflow, ProtobufCMessage **out,
                               orc_error *err)
{
    Orchestra__V1__ListCertificationsRequest in = ORCHESTRA__V1__LIST_CERTIFICATIONS_REQUEST__INIT;
    in.workflow = (char *)(workflow ? workflow : "");
    return orci_client_call(c, "ListCertifications", &in.base,
                            &orchestra__v1__list_certifications_reply__descriptor, out, err);
}

int orc_certification_list_json(orc_client *c, const char *workflow, char **json, orc_error *err)
{
    ProtobufCMessage *out = NULL;
    *json = NULL;
    int rc = certifications_call(c, workflow, &out, err);
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

/* ---- the typed listings ----------------------------------------------------------------- */

static orc_project_summary *project_new(const Orchestra__V1__ProjectSummary *p)
{
    const size_t offs[] = {
        offsetof(orc_project_summary, workflow),    offsetof(orc_project_summary, version),
        offsetof(orc_project_summary, description), offsetof(orc_project_summary, status),
        offsetof(orc_project_summary, task_class),
    };
    const char *const strs[] = {p->workflow, p->version, p->description, p->status, p->task_class};
    orc_project_summary *o = orci_block_new(sizeof *o, 5, offs, strs);
    if (o) {
        o->id = p->id;
        o->priority = p->priority;
        o->start_us = p->start;
    }
    return o;
}

void orc_project_list_free(orc_project_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_projects; i++)
        free(l->projects[i]); /* one block each (orci_block_new) */
    free(l->projects);
    free(l);
}

int orc_projects_list(orc_client *c, const orc_list_filter *f, orc_project_list **out,
                      orc_error *err)
{
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the projects");
    *out = NULL;
    int rc = projects_call(c, f, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListProjectsReply *r = (const Orchestra__V1__ListProjectsReply *)reply;
    orc_project_list *l = calloc(1, sizeof *l);
    if (!l || !(l->projects = calloc(r->n_projects ? r->n_projects : 1, sizeof *l->projects)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_projects; i++)
        if (!(l->projects[l->n_projects++] = project_new(r->projects[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK) {
        l->next_after_id = r->next_after_id;
        *out = l;
    } else
        orc_project_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

static orc_task_summary *task_new(const Orchestra__V1__TaskSummary *t)
{
    const size_t offs[] = {offsetof(orc_task_summary, step), offsetof(orc_task_summary, status),
                           offsetof(orc_task_summary, worker)};
    const char *const strs[] = {t->step, t->status, t->worker};
    orc_task_summary *o = orci_block_new(sizeof *o, 3, offs, strs);
    if (o) {
        o->id = t->id;
        o->project_id = t->project_id;
        o->is_human = t->is_human;
        o->start_us = t->start;
    }
    return o;
}

void orc_task_list_free(orc_task_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_tasks; i++)
        free(l->tasks[i]); /* one block each (orci_block_new) */
    free(l->tasks);
    free(l);
}

int orc_tasks_list(orc_client *c, const orc_list_filter *f, orc_task_list **out, orc_error *err)
{
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the tasks");
    *out = NULL;
    int rc = tasks_call(c, f, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListTasksReply *r = (const Orchestra__V1__ListTasksReply *)reply;
    orc_task_list *l = calloc(1, sizeof *l);
    if (!l || !(l->tasks = calloc(r->n_tasks ? r->n_tasks : 1, sizeof *l->tasks)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_tasks; i++)
        if (!(l->tasks[l->n_tasks++] = task_new(r->tasks[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK) {
        l->next_after_id = r->next_after_id;
        *out = l;
    } else
        orc_task_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

static orc_worker_summary *worker_new(const Orchestra__V1__WorkerSummary *w)
{
    const size_t offs[] = {
        offsetof(orc_worker_summary, username),
        offsetof(orc_worker_summary, first_name),
        offsetof(orc_worker_summary, last_name),
        offsetof(orc_worker_summary, email),
    };
    const char *const strs[] = {w->username, w->first_name, w->last_name, w->email};
    const orci_block_strv certs = {.off = offsetof(orc_worker_summary, certifications),
                                   .v = w->certifications,
                                   .n = w->n_certifications};
    orc_worker_summary *o = orci_block_new_v(sizeof *o, 4, offs, strs, 1, &certs);
    if (o) {
        o->id = w->id;
        o->is_admin = w->is_admin;
        o->has_password = w->has_password;
        o->n_certifications = w->n_certifications;
    }
    return o;
}

void orc_worker_list_free(orc_worker_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_workers; i++)
        free(l->workers[i]); /* one block each (orci_block_new_v) */
    free(l->workers);
    free(l);
}

int orc_workers_list(orc_client *c, const orc_list_filter *f, orc_worker_list **out, orc_error *err)
{
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the workers");
    *out = NULL;
    int rc = workers_call(c, f, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListWorkersReply *r = (const Orchestra__V1__ListWorkersReply *)reply;
    orc_worker_list *l = calloc(1, sizeof *l);
    if (!l || !(l->workers = calloc(r->n_workers ? r->n_workers : 1, sizeof *l->workers)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_workers; i++)
        if (!(l->workers[l->n_workers++] = worker_new(r->workers[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK) {
        l->next_after_id = r->next_after_id;
        *out = l;
    } else
        orc_worker_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

static orc_certification_info *certification_new(const Orchestra__V1__CertificationSummary *cs)
{
    const size_t offs[] = {
        offsetof(orc_certification_info, workflow),
        offsetof(orc_certification_info, slug),
        offsetof(orc_certification_info, name),
        offsetof(orc_certification_info, description),
    };
    const char *const strs[] = {cs->workflow, cs->slug, cs->name, cs->description};
    const orci_block_strv req = {
        .off = offsetof(orc_certification_info, required), .v = cs->required, .n = cs->n_required};
    orc_certification_info *o = orci_block_new_v(sizeof *o, 4, offs, strs, 1, &req);
    if (o) {
        o->id = cs->id;
        o->n_required = cs->n_required;
    }
    return o;
}

void orc_certification_list_free(orc_certification_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_certifications; i++)
        free(l->certifications[i]); /* one block each (orci_block_new_v) */
    free(l->certifications);
    free(l);
}

int orc_certifications_list(orc_client *c, const char *workflow, orc_certification_list **out,
                            orc_error *err)
{
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the certifications");
    *out = NULL;
    int rc = certifications_call(c, workflow, &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListCertificationsReply *r =
        (const Orchestra__V1__ListCertificationsReply *)reply;
    orc_certification_list *l = calloc(1, sizeof *l);
    size_t n = r->n_certifications;
    if (!l || !(l->certifications = calloc(n ? n : 1, sizeof *l->certifications)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < n; i++)
        if (!(l->certifications[l->n_certifications++] = certification_new(r->certifications[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        *out = l;
    else
        orc_certification_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

static orc_key_info *key_new(const Orchestra__V1__KeySummary *k)
{
    const size_t offs[] = {offsetof(orc_key_info, key_id), offsetof(orc_key_info, name)};
    const char *const strs[] = {k->key_id, k->name};
    const orci_block_strv scopes = {
        .off = offsetof(orc_key_info, scopes), .v = k->scopes, .n = k->n_scopes};
    orc_key_info *o = orci_block_new_v(sizeof *o, 2, offs, strs, 1, &scopes);
    if (o) {
        o->n_scopes = k->n_scopes;
        o->created_us = k->created_at;
        o->revoked_us = k->revoked_at;
    }
    return o;
}

void orc_key_list_free(orc_key_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_keys; i++)
        free(l->keys[i]); /* one block each (orci_block_new_v) */
    free(l->keys);
    free(l);
}

int orc_keys_list(orc_client *c, orc_key_list **out, orc_error *err)
{
    Orchestra__V1__ListKeysRequest in = ORCHESTRA__V1__LIST_KEYS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    if (!out)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no place for the keys");
    *out = NULL;
    int rc = orci_client_call(c, "ListKeys", &in.base, &orchestra__v1__list_keys_reply__descriptor,
                              &reply, err);
    if (rc != ORC_OK)
        return rc;
    const Orchestra__V1__ListKeysReply *r = (const Orchestra__V1__ListKeysReply *)reply;
    orc_key_list *l = calloc(1, sizeof *l);
    if (!l || !(l->keys = calloc(r->n_keys ? r->n_keys : 1, sizeof *l->keys)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == ORC_OK && i < r->n_keys; i++)
        if (!(l->keys[l->n_keys++] = key_new(r->keys[i])))
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == ORC_OK)
        *out = l;
    else
        orc_key_list_free(l);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}
