/*
 * svc_task.c: the calling worker's own tasks (Dashboard, NewTask, TaskInfo, SaveTask,
 * SubmitTask), spec section 5.
 *
 * Every handler acts for the worker of the session (c->who->worker_id); a session user
 * without a worker row is refused. Read-only views run on the RPC worker thread with its
 * reader; transitions run on the writer inside the request's transaction (lifecycle.h).
 * Replies are malloc'd (the dispatcher frees them with
 * protobuf_c_message_free_unpacked(out, NULL)).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "domain/lifecycle.h"
#include "store/db.h"
#include "store/model.h"
#include "proto/orchestra.pb-c.h"
#include "svc/services.h"
#include "domain/views.h"

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

/* task_worker gives the caller's worker id, or PERMISSION_DENIED for a non-worker. */
static int task_worker(const orci_call *c, int64_t *worker_id, orc_error *err)
{
    *worker_id = c->who ? c->who->worker_id : 0;
    if (*worker_id <= 0)
        return orc_error_set(err, ORC_PERMISSION_DENIED, "User is not a worker.");
    return ORC_OK;
}

static orci_lc task_lc(const orci_call *c, orci_db *wdb)
{
    orci_lc lc = {.db = wdb, .now_us = c->now_us, .rng = c->srv->rng};
    return lc;
}

/* task_check_object refuses data that is not JSON object text. */
static int task_check_object(const char *data, orc_error *err)
{
    json_t *v = orci_json_parse_object(data, strlen(data), "task data", err);
    if (!v)
        return err && err->code ? err->code : ORC_INVALID_ARGUMENT;
    json_decref(v);
    return ORC_OK;
}

/*
 * reply_json builds the reply of desc, a message whose one field is the string "json", and
 * sets *out. It takes ownership of json (malloc'd) whatever happens. The field is found by
 * its descriptor, as protobuf-c itself does, so that one function serves every such reply.
 */
static int reply_json(const ProtobufCMessageDescriptor *desc, char *json, ProtobufCMessage **out,
                      orc_error *err)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(desc, "json");
    if (!f || f->type != PROTOBUF_C_TYPE_STRING) {
        free(json);
        return orc_error_set(err, ORC_INTERNAL, "%s has no json field", desc->name);
    }
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (!m) {
        free(json);
        return oom(err);
    }
    desc->message_init(m);
    memcpy((char *)m + f->offset, &json, sizeof json);
    *out = m;
    return ORC_OK;
}

/* ---- Dashboard ------------------------------------------------------------------------ */

int orci_svc_dashboard(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                       orc_error *err)
{
    (void)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    char *json = NULL;
    rc = orci_view_dashboard(c->rdb, worker_id, &json, err);
    if (rc != ORC_OK)
        return rc;
    return reply_json(&orchestra__v1__dashboard_reply__descriptor, json, out, err);
}

/* ---- NewTask -------------------------------------------------------------------------- */

/*
 * new_task_json renders new_task_assignment (spec 5): {"id","assignment_id","step": step slug,
 * "project": version slug, "detail": project short_description}. *json is malloc'd.
 */
static int new_task_json(orci_db *wdb, int64_t task_id, int64_t assignment_id, char **json,
                         orc_error *err)
{
    orci_stmt *st = orci_db_stmt(wdb,
                                 "SELECT s.slug, v.slug, p.short_description FROM tasks t"
                                 " JOIN steps s ON s.id = t.step_id"
                                 " JOIN projects p ON p.id = t.project_id"
                                 " JOIN workflow_versions v ON v.id = p.workflow_version_id"
                                 " WHERE t.id = ?1",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int r = orci_db_row(wdb, st, err);
    if (r < 0)
        return err && err->code ? err->code : ORC_INTERNAL;
    if (r == 0)
        return orc_error_set(err, ORC_INTERNAL, "task %lld vanished after assignment",
                             (long long)task_id);
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)task_id, "assignment_id",
                          (json_int_t)assignment_id, "step", orci_col_text(st, 0), "project",
                          orci_col_text(st, 1), "detail", orci_col_text(st, 2));
    orci_stmt_reset(st);
    if (!o)
        return oom(err);
    *json = orci_json_dump(o);
    json_decref(o);
    return *json ? ORC_OK : oom(err);
}

int orci_svc_new_task_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                            ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__NewTaskRequest *req = (const Orchestra__V1__NewTaskRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    int role = orci_role_parse(req->role);
    if (role < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "No such task type");
    orci_lc lc = task_lc(c, wdb);
    int64_t task_id = 0, assignment_id = 0;
    rc = orci_lc_new_task(&lc, worker_id, role, &task_id, &assignment_id, err);
    if (rc != ORC_OK)
        return rc;
    char *json = NULL;
    rc = new_task_json(wdb, task_id, assignment_id, &json, err);
    if (rc != ORC_OK)
        return rc;
    return reply_json(&orchestra__v1__new_task_reply__descriptor, json, out, err);
}

/* ---- TaskInfo ------------------------------------------------------------------------- */

int orci_svc_task_info(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                       orc_error *err)
{
    const Orchestra__V1__TaskInfoRequest *req = (const Orchestra__V1__TaskInfoRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    char *json = NULL;
    rc = orci_view_task_assignment(c->rdb, worker_id, req->task_id, &json, err);
    if (rc != ORC_OK)
        return rc;
    return reply_json(&orchestra__v1__task_info_reply__descriptor, json, out, err);
}

/* ---- SaveTask / SubmitTask ------------------------------------------------------------ */

int orci_svc_save_task_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                             ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__SaveTaskRequest *req = (const Orchestra__V1__SaveTaskRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    if ((rc = task_check_object(req->data, err)) != ORC_OK)
        return rc;
    orci_lc lc = task_lc(c, wdb);
    if ((rc = orci_lc_save(&lc, worker_id, req->task_id, req->data, err)) != ORC_OK)
        return rc;
    Orchestra__V1__SaveTaskReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__save_task_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}

/*
 * current_data reads the in-progress data of the worker's assignment on task_id into *data
 * (malloc'd); NULL when the worker has none (orci_lc_submit then says why).
 */
static int current_data(orci_db *wdb, int64_t worker_id, int64_t task_id, char **data,
                        orc_error *err)
{
    *data = NULL;
    orci_stmt *st = orci_db_stmt(wdb,
                                 "SELECT in_progress_task_data FROM task_assignments"
                                 " WHERE task_id = ?1 AND worker_id = ?2 AND is_deleted = 0"
                                 " ORDER BY assignment_counter DESC LIMIT 1",
                                 err);
    if (!st)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    orci_bind_int(st, 2, worker_id);
    int r = orci_db_row(wdb, st, err);
    if (r < 0)
        return err && err->code ? err->code : ORC_INTERNAL;
    if (r == 0)
        return ORC_OK;
    *data = strdup(orci_col_text(st, 0));
    orci_stmt_reset(st);
    return *data ? ORC_OK : oom(err);
}

int orci_svc_submit_task_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                               ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__SubmitTaskRequest *req = (const Orchestra__V1__SubmitTaskRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    int iteration_status;
    if (strcmp(req->command, "submit") == 0 || strcmp(req->command, "accept") == 0)
        iteration_status = ORCI_ITERATION_REQUESTED_REVIEW;
    else if (strcmp(req->command, "reject") == 0)
        iteration_status = ORCI_ITERATION_PROVIDED_REVIEW;
    else
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Illegal command");

    char *kept = NULL;
    const char *data = req->data;
    if (data[0] == '\0') {
        /* No data: submit what the worker last saved. */
        if ((rc = current_data(wdb, worker_id, req->task_id, &kept, err)) != ORC_OK)
            return rc;
        data = kept;
    } else if ((rc = task_check_object(data, err)) != ORC_OK) {
        return rc;
    }
    orci_lc lc = task_lc(c, wdb);
    rc = orci_lc_submit(&lc, worker_id, req->task_id, data, iteration_status, err);
    free(kept);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__SubmitTaskReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__submit_task_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}
