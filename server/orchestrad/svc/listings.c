/*
 * listings.c: the listings for the CLI and scripts (ListProjects, ListWorkers, ListTasks,
 * ListCertifications, ListKeys): read-only queries on the worker thread's reader connection,
 * paged by id (a page after `after_id`, `limit` rows, `next_after_id` for the next one), so a
 * listing never holds more than one page in memory whatever the table's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/orchestra.pb-c.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/model.h"
#include "svc/listings.h"
#include "vec.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000

static int list_oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the listing");
}

/* page_of reads a page request: after_id and a limit in [1, LIST_MAX_LIMIT]. */
static int page_of(const Orchestra__V1__PageRequest *p, int64_t *after, int64_t *limit,
                   orc_error *err)
{
    *after = p ? p->after_id : 0;
    *limit = p && p->limit ? p->limit : LIST_DEFAULT_LIMIT;
    if (*after < 0 || *limit < 0 || *limit > LIST_MAX_LIMIT)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "page: after_id must not be negative and limit lie in 0..%d",
                             LIST_MAX_LIMIT);
    return ORC_OK;
}

/* text copies a column's text (never NULL; "" for SQL NULL); NULL when out of memory. */
static char *text(orci_stmt *st, int col)
{
    return strdup(orci_col_text(st, col));
}

/* status_code maps a status label to its number with label_of (-1: unknown, -2: ""). */
static int status_code(const char *label, const char *(*label_of)(int), int max)
{
    if (!label || !label[0])
        return -2;
    for (int s = 0; s <= max; s++)
        if (strcmp(label_of(s), label) == 0)
            return s;
    return -1;
}

/* ---- projects ------------------------------------------------------------------------- */

static Orchestra__V1__ProjectSummary *project_row(orci_stmt *st)
{
    Orchestra__V1__ProjectSummary *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    orchestra__v1__project_summary__init(p);
    p->id = orci_col_int(st, 0);
    p->workflow = text(st, 1);
    p->version = text(st, 2);
    p->description = text(st, 3);
    p->priority = orci_col_int(st, 4);
    p->status = strdup(orci_project_status_label((int)orci_col_int(st, 5)));
    p->task_class = strdup(orci_task_class_name((int)orci_col_int(st, 6)));
    p->start = orci_col_int(st, 7);
    if (!p->workflow || !p->version || !p->description || !p->status || !p->task_class) {
        protobuf_c_message_free_unpacked(&p->base, NULL);
        return NULL;
    }
    return p;
}

int orci_svc_list_projects(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                           orc_error *err)
{
    const Orchestra__V1__ListProjectsRequest *req = (const Orchestra__V1__ListProjectsRequest *)in;
    *out = NULL;
    int64_t after, limit;
    int rc = page_of(req->page, &after, &limit, err);
    if (rc != ORC_OK)
        return rc;
    int status = status_code(req->status, orci_project_status_label, 4);
    if (status == -1)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "unknown status %s: Active, Paused, Aborted or Completed",
                             req->status);
    orci_stmt *st = orci_db_stmt(
        c->rdb,
        "SELECT p.id, w.slug, v.slug, p.short_description, p.priority, p.status, p.task_class,"
        " p.start_datetime FROM projects p JOIN workflow_versions v ON v.id = p.workflow_version_id"
        " JOIN workflows w ON w.id = v.workflow_id WHERE p.id > ?1 AND (?2 < 0 OR p.status = ?2)"
        " AND (?3 = '' OR w.slug = ?3) ORDER BY p.id LIMIT ?4",
        err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, after);
    orci_bind_int(st, 2, status);
    orci_bind_text(st, 3, req->workflow);
    orci_bind_int(st, 4, limit);
    Orchestra__V1__ListProjectsReply *r = malloc(sizeof *r);
    if (!r) {
        orci_stmt_reset(st);
        return list_oom(err);
    }
    orchestra__v1__list_projects_reply__init(r);
    size_t cap = 0;
    int row;
    while ((row = orci_db_row(c->rdb, st, err)) == 1) {
        Orchestra__V1__ProjectSummary *p = NULL;
        if (!orci_grow(&r->projects, &cap, r->n_projects + 1, sizeof *r->projects) ||
            !(p = project_row(st))) {
            orci_stmt_reset(st);
            row = -2;
            break;
        }
        r->projects[r->n_projects++] = p;
    }
    if (row < 0) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return row == -2 ? list_oom(err) : orci_db_code(err);
    }
    if ((int64_t)r->n_projects == limit)
        r->next_after_id = r->projects[r->n_projects - 1]->id;
    *out = &r->base;
    return ORC_OK;
}

/* ---- workers --------------------------------------------------------------------------- */

/* worker_certifications fills w->certifications ("workflow/cert role class"). */
static int worker_certifications(orci_db *db, Orchestra__V1__WorkerSummary *w, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT f.slug || '/' || c.slug, wc.role, wc.task_class"
                                 " FROM worker_certifications wc"
                                 " JOIN certifications c ON c.id = wc.certification_id"
                                 " JOIN workflows f ON f.id = c.workflow_id"
                                 " WHERE wc.worker_id = ?1 ORDER BY 1, 2, 3",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, w->id);
    size_t cap = 0;
    int row;
    while ((row = orci_db_row(db, st, err)) == 1) {
        size_t n = strlen(orci_col_text(st, 0)) + 32;
        char *s = malloc(n);
        if (!s || !orci_grow(&w->certifications, &cap, w->n_certifications + 1,
                             sizeof *w->certifications)) {
            free(s);
            orci_stmt_reset(st);
            return list_oom(err);
        }
        snprintf(s, n, "%s %s %s", orci_col_text(st, 0), orci_role_name((int)orci_col_int(st, 1)),
                 orci_task_class_name((int)orci_col_int(st, 2)));
        w->certifications[w->n_certifications++] = s;
    }
    return row < 0 ? orci_db_code(err) : ORC_OK;
}

static Orchestra__V1__WorkerSummary *worker_row(orci_stmt *st)
{
    Orchestra__V1__WorkerSummary *w = malloc(sizeof *w);
    if (!w)
        return NULL;
    orchestra__v1__worker_summary__init(w);
    w->id = orci_col_int(st, 0);
    w->username = text(st, 1);
    w->first_name = text(st, 2);
    w->last_name = text(st, 3);
    w->email = text(st, 4);
    w->is_admin = orci_col_int(st, 5) != 0;
    w->has_password = orci_col_int(st, 6) != 0;
    if (!w->username || !w->first_name || !w->last_name || !w->email) {
        protobuf_c_message_free_unpacked(&w->base, NULL);
        return NULL;
    }
    return w;
}

int orci_svc_list_workers(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                          orc_error *err)
{
    const Orchestra__V1__ListWorkersRequest *req = (const Orchestra__V1__ListWorkersRequest *)in;
    *out = NULL;
    int64_t after, limit;
    int rc = page_of(req->page, &after, &limit, err);
    if (rc != ORC_OK)
        return rc;
    orci_stmt *st = orci_db_stmt(c->rdb,
                                 "SELECT w.id, u.username, u.first_name, u.last_name, u.email,"
                                 " u.project_admin, u.password <> '' FROM workers w"
                                 " JOIN users u ON u.id = w.user_id WHERE w.id > ?1"
                                 " ORDER BY w.id LIMIT ?2",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, after);
    orci_bind_int(st, 2, limit);
    Orchestra__V1__ListWorkersReply *r = malloc(sizeof *r);
    if (!r) {
        orci_stmt_reset(st);
        return list_oom(err);
    }
    orchestra__v1__list_workers_reply__init(r);
    size_t cap = 0;
    int row;
    while ((row = orci_db_row(c->rdb, st, err)) == 1) {
        Orchestra__V1__WorkerSummary *w = NULL;
        if (!orci_grow(&r->workers, &cap, r->n_workers + 1, sizeof *r->workers) ||
            !(w = worker_row(st))) {
            orci_stmt_reset(st);
            row = -2;
            break;
        }
        r->workers[r->n_workers++] = w;
    }
    /* Certifications per worker, once the page's rows are read (one statement at a time). */
    for (size_t i = 0; row == 0 && rc == ORC_OK && i < r->n_workers; i++)
        rc = worker_certifications(c->rdb, r->workers[i], err);
    if (row < 0 || rc != ORC_OK) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return row == -2 ? list_oom(err) : rc != ORC_OK ? rc : orci_db_code(err);
    }
    if ((int64_t)r->n_workers == limit)
        r->next_after_id = r->workers[r->n_workers - 1]->id;
    *out = &r->base;
    return ORC_OK;
}

/* ---- tasks ------------------------------------------------------------------------------ */

static Orchestra__V1__TaskSummary *task_row(orci_stmt *st)
{
    Orchestra__V1__TaskSummary *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    orchestra__v1__task_summary__init(t);
    t->id = orci_col_int(st, 0);
    t->project_id = orci_col_int(st, 1);
    t->step = text(st, 2);
    t->is_human = orci_col_int(st, 3) != 0;
    t->status = strdup(orci_task_status_label((int)orci_col_int(st, 4)));
    t->start = orci_col_int(st, 5);
    t->worker = text(st, 6);
    if (!t->step || !t->status || !t->worker) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return NULL;
    }
    return t;
}

int orci_svc_list_tasks(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                        orc_error *err)
{
    const Orchestra__V1__ListTasksRequest *req = (const Orchestra__V1__ListTasksRequest *)in;
    *out = NULL;
    int64_t after, limit;
    int rc = page_of(req->page, &after, &limit, err);
    if (rc != ORC_OK)
        return rc;
    if (req->project_id < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "project_id must not be negative");
    int status = status_code(req->status, orci_task_status_label, 6);
    if (status == -1)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "unknown task status %s", req->status);
    /* The worker of the task's latest live assignment, if any. */
    orci_stmt *st = orci_db_stmt(
        c->rdb,
        "SELECT t.id, t.project_id, s.slug, s.is_human, t.status, t.start_datetime,"
        " COALESCE((SELECT u.username FROM task_assignments a JOIN workers w ON w.id = a.worker_id"
        "  JOIN users u ON u.id = w.user_id WHERE a.task_id = t.id AND a.is_deleted = 0"
        "  ORDER BY a.assignment_counter DESC LIMIT 1), '')"
        " FROM tasks t JOIN steps s ON s.id = t.step_id WHERE t.id > ?1"
        " AND (?2 = 0 OR t.project_id = ?2) AND (?3 < 0 OR t.status = ?3) ORDER BY t.id LIMIT ?4",
        err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, after);
    orci_bind_int(st, 2, req->project_id);
    orci_bind_int(st, 3, status);
    orci_bind_int(st, 4, limit);
    Orchestra__V1__ListTasksReply *r = malloc(sizeof *r);
    if (!r) {
        orci_stmt_reset(st);
        return list_oom(err);
    }
    orchestra__v1__list_tasks_reply__init(r);
    size_t cap = 0;
    int row;
    while ((row = orci_db_row(c->rdb, st, err)) == 1) {
        Orchestra__V1__TaskSummary *t = NULL;
        if (!orci_grow(&r->tasks, &cap, r->n_tasks + 1, sizeof *r->tasks) || !(t = task_row(st))) {
            orci_stmt_reset(st);
            row = -2;
            break;
        }
        r->tasks[r->n_tasks++] = t;
    }
    if (row < 0) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return row == -2 ? list_oom(err) : orci_db_code(err);
    }
    if ((int64_t)r->n_tasks == limit)
        r->next_after_id = r->tasks[r->n_tasks - 1]->id;
    *out = &r->base;
    return ORC_OK;
}

/* ---- certifications -------------------------------------------------------------------- */

/* cert_required fills c->required with the slugs of the certifications it requires. */
static int cert_required(orci_db *db, Orchestra__V1__CertificationSummary *cs, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT c.slug FROM certification_requirements r"
                                 " JOIN certifications c ON c.id = r.required_id"
                                 " WHERE r.certification_id = ?1 ORDER BY c.slug",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, cs->id);
    size_t cap = 0;
    int row;
    while ((row = orci_db_row(db, st, err)) == 1) {
        char *slug = text(st, 0);
        if (!slug || !orci_grow(&cs->required, &cap, cs->n_required + 1, sizeof *cs->required)) {
            free(slug);
            orci_stmt_reset(st);
            return list_oom(err);
        }
        cs->required[cs->n_required++] = slug;
    }
    return row < 0 ? orci_db_code(err) : ORC_OK;
}

static Orchestra__V1__CertificationSummary *cert_row(orci_stmt *st)
{
    Orchestra__V1__CertificationSummary *cs = malloc(sizeof *cs);
    if (!cs)
        return NULL;
    orchestra__v1__certification_summary__init(cs);
    cs->id = orci_col_int(st, 0);
    cs->workflow = text(st, 1);
    cs->slug = text(st, 2);
    cs->name = text(st, 3);
    cs->description = text(st, 4);
    if (!cs->workflow || !cs->slug || !cs->name || !cs->description) {
        protobuf_c_message_free_unpacked(&cs->base, NULL);
        return NULL;
    }
    return cs;
}

int orci_svc_list_certifications(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                                 orc_error *err)
{
    const Orchestra__V1__ListCertificationsRequest *req =
        (const Orchestra__V1__ListCertificationsRequest *)in;
    *out = NULL;
    orci_stmt *st = orci_db_stmt(c->rdb,
                                 "SELECT c.id, w.slug, c.slug, c.name, c.description"
                                 " FROM certifications c JOIN workflows w ON w.id = c.workflow_id"
                                 " WHERE ?1 = '' OR w.slug = ?1 ORDER BY w.slug, c.slug",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, req->workflow);
    Orchestra__V1__ListCertificationsReply *r = malloc(sizeof *r);
    if (!r) {
        orci_stmt_reset(st);
        return list_oom(err);
    }
    orchestra__v1__list_certifications_reply__init(r);
    size_t cap = 0;
    int row, rc = ORC_OK;
    while ((row = orci_db_row(c->rdb, st, err)) == 1) {
        Orchestra__V1__CertificationSummary *cs = NULL;
        if (!orci_grow(&r->certifications, &cap, r->n_certifications + 1,
                       sizeof *r->certifications) ||
            !(cs = cert_row(st))) {
            orci_stmt_reset(st);
            row = -2;
            break;
        }
        r->certifications[r->n_certifications++] = cs;
    }
    for (size_t i = 0; row == 0 && rc == ORC_OK && i < r->n_certifications; i++)
        rc = cert_required(c->rdb, r->certifications[i], err);
    if (row < 0 || rc != ORC_OK) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return row == -2 ? list_oom(err) : rc != ORC_OK ? rc : orci_db_code(err);
    }
    *out = &r->base;
    return ORC_OK;
}

/* ---- API keys ---------------------------------------------------------------------------- */

/* key_scopes fills k->scopes with the names of the scope bits. */
static bool key_scopes(Orchestra__V1__KeySummary *k, unsigned bits)
{
    unsigned bit;
    size_t n = 0;
    while (orci_key_scope(n, &bit) != NULL)
        n++;
    k->scopes = calloc(n, sizeof *k->scopes);
    if (!k->scopes)
        return false;
    const char *name;
    for (size_t i = 0; (name = orci_key_scope(i, &bit)) != NULL; i++)
        if ((bits & bit) && !(k->scopes[k->n_scopes++] = strdup(name)))
            return false;
    return true;
}

int orci_svc_list_keys(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                       orc_error *err)
{
    (void)in;
    *out = NULL;
    /* Never the secrets: only what identifies a key and what it may do. */
    orci_stmt *st = orci_db_stmt(c->rdb,
                                 "SELECT key_id, name, scopes, created_at, COALESCE(revoked_at, "
                                 "0) FROM api_keys ORDER BY id",
                                 err);
    if (!st)
        return orci_db_code(err);
    Orchestra__V1__ListKeysReply *r = malloc(sizeof *r);
    if (!r) {
        orci_stmt_reset(st);
        return list_oom(err);
    }
    orchestra__v1__list_keys_reply__init(r);
    size_t cap = 0;
    int row;
    while ((row = orci_db_row(c->rdb, st, err)) == 1) {
        Orchestra__V1__KeySummary *k = malloc(sizeof *k);
        if (k)
            orchestra__v1__key_summary__init(k);
        if (!k || !orci_grow(&r->keys, &cap, r->n_keys + 1, sizeof *r->keys)) {
            free(k);
            orci_stmt_reset(st);
            row = -2;
            break;
        }
        r->keys[r->n_keys++] = k;
        k->created_at = orci_col_int(st, 3);
        k->revoked_at = orci_col_int(st, 4);
        if (!(k->key_id = text(st, 0)) || !(k->name = text(st, 1)) ||
            !key_scopes(k, (unsigned)orci_col_int(st, 2))) {
            orci_stmt_reset(st);
            row = -2;
            break;
        }
    }
    if (row < 0) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return row == -2 ? list_oom(err) : orci_db_code(err);
    }
    *out = &r->base;
    return ORC_OK;
}
