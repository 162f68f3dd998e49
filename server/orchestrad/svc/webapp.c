/*
 * svc_webapp.c: what the experts' web app (orchestra-http) asks beyond the worker methods of
 * svc_task.c and svc_time.c: the account (WhoAmI, ChangePassword), a task page's details
 * and its step's interface module (TaskDetails, TaskInterface), the project admin role
 * (SetWorkerAdmin, admin scope), and project management for admin keys and project admin
 * workers (ManagedProjectInformation, ManageProject).
 *
 * ChangePassword verifies and hashes in its prepare step (PBKDF2 is slow on purpose, never
 * on the writer); a wrong old password counts as a failed login (the method commits on
 * error), so a stolen session cannot be used to guess the password faster than the login
 * page allows. Replies are malloc'd (the dispatcher frees them).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "domain/lifecycle.h"
#include "domain/webviews.h"
#include "domain/workers.h"
#include "json.h"
#include "proto/orchestra.pb-c.h"
#include "svc/webapp.h"

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 1024
#define MSG_NO_PERMISSION "You do not have permission to perform this action."
#define MSG_OLD_PASSWORD "Your old password was entered incorrectly. Please enter it again."

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

/* own_worker gives the caller's user, or PERMISSION_DENIED for a caller without a session. */
static int own_user(const orci_call *c, orc_error *err)
{
    if (!c->who || c->who->user_id <= 0)
        return orc_error_set(err, ORC_PERMISSION_DENIED, "User is not a worker.");
    return ORC_OK;
}

/* json_reply builds the reply of desc (one string field "json") owning text. */
static int json_reply(const ProtobufCMessageDescriptor *desc, char *text, ProtobufCMessage **out,
                      orc_error *err)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(desc, "json");
    if (!text || !f || f->type != PROTOBUF_C_TYPE_STRING) {
        free(text);
        return text ? orc_error_set(err, ORC_INTERNAL, "%s has no json field", desc->name)
                    : oom(err);
    }
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (!m) {
        free(text);
        return oom(err);
    }
    desc->message_init(m);
    memcpy((char *)m + f->offset, &text, sizeof text);
    *out = m;
    return ORC_OK;
}

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

/* ---- WhoAmI --------------------------------------------------------------------------- */

int orci_svc_whoami(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                    orc_error *err)
{
    (void)in;
    *out = NULL;
    int rc = own_user(c, err);
    if (rc != ORC_OK)
        return rc;
    orci_worker_profile p;
    rc = orci_workers_profile(c->rdb, c->who->user_id, c->token && c->token[0] ? c->token : NULL,
                              &p, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__WhoAmIReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__who_am_ireply__init(r);
    r->username = strdup(p.username);
    r->first_name = strdup(p.first_name);
    r->last_name = strdup(p.last_name);
    r->project_admin = p.project_admin;
    r->expires_at = p.session_expires_at_us;
    if (!r->username || !r->first_name || !r->last_name) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return oom(err);
    }
    *out = &r->base;
    return ORC_OK;
}

/* ---- ChangePassword ------------------------------------------------------------------- */

typedef struct password_plan {
    bool limited;  /* the login rate limit refused: nothing was checked */
    bool verified; /* the old password matched */
    char hash[ORCI_PASSWORD_HASH_MAX];
} password_plan;

void orci_svc_password_plan_free(void *plan)
{
    if (!plan)
        return;
    explicit_bzero(plan, sizeof(password_plan));
    free(plan);
}

/* new_password_ok applies Django's default validators that need no word list. */
static int new_password_ok(const char *pw, const char *username, orc_error *err)
{
    size_t n = strlen(pw);
    if (n < PASSWORD_MIN_LEN)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "This password is too short. It must contain at least %d characters.",
                             PASSWORD_MIN_LEN);
    if (n > PASSWORD_MAX_LEN)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Password is longer than %d bytes.",
                             PASSWORD_MAX_LEN);
    if (strspn(pw, "0123456789") == n)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "This password is entirely numeric.");
    if (strcmp(pw, username) == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "The password is too similar to the username.");
    return ORC_OK;
}

static unsigned iterations(const orci_call *c)
{
    unsigned it = c->srv->settings.pbkdf2_iterations;
    return it ? it : ORCI_PBKDF2_DEFAULT_ITERATIONS;
}

int orci_svc_change_password_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                     orc_error *err)
{
    const Orchestra__V1__ChangePasswordRequest *req =
        (const Orchestra__V1__ChangePasswordRequest *)in;
    *plan = NULL;
    int rc = own_user(c, err);
    if (rc == ORC_OK)
        rc = new_password_ok(req->new_password, c->who->username, err);
    if (rc != ORC_OK)
        return rc;
    password_plan *p = calloc(1, sizeof *p);
    if (!p)
        return oom(err);
    *plan = p;
    orc_error lerr;
    orc_error_clear(&lerr);
    rc = orci_workers_login_allowed(c->rdb, c->who->username, c->now_us, &lerr);
    if (rc == ORC_RESOURCE_EXHAUSTED) {
        p->limited = true;
        return ORC_OK;
    }
    if (rc != ORC_OK) {
        *err = lerr;
        return rc;
    }
    char stored[ORCI_PASSWORD_HASH_MAX];
    rc = orci_workers_password_hash(c->rdb, c->who->username, NULL, stored, sizeof stored, err);
    if (rc != ORC_OK)
        return rc;
    p->verified = stored[0] && strlen(req->old_password) <= PASSWORD_MAX_LEN &&
                  orci_password_verify(req->old_password, stored) == 1;
    explicit_bzero(stored, sizeof stored);
    if (p->verified &&
        orci_password_hash(req->new_password, iterations(c), p->hash, sizeof p->hash) != 0)
        return orc_error_set(err, ORC_INTERNAL, "cannot hash the password");
    return ORC_OK;
}

int orci_svc_change_password_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                   void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)in;
    const password_plan *p = plan;
    *out = NULL;
    if (!p)
        return orc_error_set(err, ORC_INTERNAL, "ChangePassword has no plan");
    int rc = p->limited ? ORC_RESOURCE_EXHAUSTED
                        : orci_workers_login_allowed(wdb, c->who->username, c->now_us, err);
    if (rc == ORC_RESOURCE_EXHAUSTED)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED,
                             "Too many failed login attempts; try again later.");
    if (rc != ORC_OK)
        return rc;
    if (!p->verified) {
        /* Committed although the call fails (commit_on_error): it counts toward the limit. */
        rc = orci_workers_login_failed(wdb, c->who->username, c->now_us, err);
        return rc != ORC_OK ? rc : orc_error_set(err, ORC_INVALID_ARGUMENT, MSG_OLD_PASSWORD);
    }
    /* The method commits on error: a failure from here on must take its writes back. */
    if ((rc = orci_db_exec(wdb, "SAVEPOINT change_password", err)) != ORC_OK)
        return rc;
    rc = orci_workers_set_password(wdb, c->who->user_id, p->hash, c->token, c->now_us, err);
    if (rc != ORC_OK) {
        orci_db_exec(wdb, "ROLLBACK TO change_password", NULL);
        orci_db_exec(wdb, "RELEASE change_password", NULL);
        return rc;
    }
    if ((rc = orci_db_exec(wdb, "RELEASE change_password", err)) != ORC_OK)
        return rc;
    return empty_reply(&orchestra__v1__change_password_reply__descriptor, out, err);
}

/* ---- task pages ----------------------------------------------------------------------- */

/* task_worker gives the caller's worker id, or PERMISSION_DENIED for a non-worker. */
static int task_worker(const orci_call *c, int64_t *worker_id, orc_error *err)
{
    *worker_id = c->who ? c->who->worker_id : 0;
    if (*worker_id <= 0)
        return orc_error_set(err, ORC_PERMISSION_DENIED, "User is not a worker.");
    return ORC_OK;
}

int orci_svc_task_details(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                          orc_error *err)
{
    const Orchestra__V1__TaskDetailsRequest *req = (const Orchestra__V1__TaskDetailsRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    char *json = NULL;
    rc = orci_view_task_details(c->rdb, worker_id, req->task_id, &json, err);
    if (rc != ORC_OK)
        return rc;
    return json_reply(&orchestra__v1__task_details_reply__descriptor, json, out, err);
}

int orci_svc_task_interface(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                            orc_error *err)
{
    const Orchestra__V1__TaskInterfaceRequest *req =
        (const Orchestra__V1__TaskInterfaceRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    char *path = NULL, *source = NULL;
    rc = orci_view_task_interface(c->rdb, worker_id, req->task_id, &path, &source, err);
    if (rc != ORC_OK)
        return rc;
    Orchestra__V1__TaskInterfaceReply *r = malloc(sizeof *r);
    if (!r) {
        free(path);
        free(source);
        return oom(err);
    }
    orchestra__v1__task_interface_reply__init(r);
    r->path = path; /* the reply owns them now */
    r->source = source;
    *out = &r->base;
    return ORC_OK;
}

int orci_svc_dashboard_details(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                               orc_error *err)
{
    const Orchestra__V1__DashboardDetailsRequest *req =
        (const Orchestra__V1__DashboardDetailsRequest *)in;
    *out = NULL;
    int64_t worker_id;
    int rc = task_worker(c, &worker_id, err);
    if (rc != ORC_OK)
        return rc;
    char *json = NULL;
    rc = orci_view_dashboard_details(c->rdb, worker_id, req->assignment_ids, req->n_assignment_ids,
                                     &json, err);
    if (rc != ORC_OK)
        return rc;
    return json_reply(&orchestra__v1__dashboard_details_reply__descriptor, json, out, err);
}

/* ---- project admins ------------------------------------------------------------------- */

int orci_svc_set_worker_admin_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                    void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)c;
    (void)plan;
    const Orchestra__V1__SetWorkerAdminRequest *req =
        (const Orchestra__V1__SetWorkerAdminRequest *)in;
    *out = NULL;
    int rc = orci_workers_set_project_admin(wdb, req->username, req->project_admin, err);
    if (rc != ORC_OK)
        return rc;
    return empty_reply(&orchestra__v1__set_worker_admin_reply__descriptor, out, err);
}

/*
 * pm_allowed lets an admin key through, and a worker session whose user is a project admin
 * (upstream's project_admins group); others get upstream's permission message.
 */
static int pm_allowed(const orci_call *c, orci_db *db, orc_error *err)
{
    if (c->who && (c->who->scopes & ORCI_SCOPE_ADMIN))
        return ORC_OK;
    bool admin = false;
    if (c->who && c->who->user_id > 0) {
        int rc = orci_workers_is_project_admin(db, c->who->user_id, &admin, err);
        if (rc != ORC_OK)
            return rc;
    }
    return admin ? ORC_OK : orc_error_set(err, ORC_PERMISSION_DENIED, MSG_NO_PERMISSION);
}

static int require_id(int64_t id, const char *field, orc_error *err)
{
    if (id <= 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s must be a positive id", field);
    return ORC_OK;
}

int orci_svc_managed_project_information(orci_call *c, const ProtobufCMessage *in,
                                         ProtobufCMessage **out, orc_error *err)
{
    const Orchestra__V1__ManagedProjectInformationRequest *req =
        (const Orchestra__V1__ManagedProjectInformationRequest *)in;
    *out = NULL;
    int rc = pm_allowed(c, c->rdb, err);
    if (rc == ORC_OK)
        rc = require_id(req->project_id, "project_id", err);
    if (rc != ORC_OK)
        return rc;
    char *json = NULL;
    rc = orci_view_managed_project(c->rdb, req->project_id, c->now_us, &json, err);
    if (rc != ORC_OK)
        return rc;
    return json_reply(&orchestra__v1__managed_project_information_reply__descriptor, json, out,
                      err);
}

/* pm_worker resolves the username of a request to a worker id. */
static int pm_worker(orci_db *db, const char *username, int64_t *worker_id, orc_error *err)
{
    if (!username || !username[0])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "worker_username is required");
    return orci_workers_find(db, username, NULL, worker_id, err);
}

/* pm_run runs one operation of req; *json (malloc'd) is what the reply carries. */
static int pm_run(orci_lc *lc, const Orchestra__V1__ManageProjectRequest *req, char **json,
                  orc_error *err)
{
    const char *op = req->operation;
    int64_t worker_id = 0, assignment_id = 0;
    int rc;
    *json = NULL;
    if (strcmp(op, "assign_task") == 0) {
        if ((rc = require_id(req->task_id, "task_id", err)) != ORC_OK ||
            (rc = pm_worker(lc->db, req->username, &worker_id, err)) != ORC_OK ||
            (rc = orci_lc_assign_task(lc, worker_id, req->task_id, &assignment_id, err)) != ORC_OK)
            return rc;
        json_t *v = json_pack("{s:I}", "assignment_id", (json_int_t)assignment_id);
        *json = v ? orci_json_dump(v) : NULL;
        json_decref(v);
        return *json ? ORC_OK : oom(err);
    }
    if (strcmp(op, "reassign_assignment") == 0) {
        if ((rc = require_id(req->assignment_id, "assignment_id", err)) != ORC_OK ||
            (rc = pm_worker(lc->db, req->username, &worker_id, err)) != ORC_OK)
            return rc;
        rc = orci_lc_reassign(lc, req->assignment_id, worker_id, err);
    } else if (strcmp(op, "complete_and_skip_task") == 0) {
        if ((rc = require_id(req->task_id, "task_id", err)) != ORC_OK)
            return rc;
        rc = orci_lc_complete_and_skip(lc, req->task_id, err);
    } else if (strcmp(op, "create_subsequent_tasks") == 0) {
        if ((rc = require_id(req->project_id, "project_id", err)) != ORC_OK)
            return rc;
        rc = orci_lc_create_subsequent_tasks(lc, req->project_id, err);
    } else if (strcmp(op, "end_project") == 0) {
        if ((rc = require_id(req->project_id, "project_id", err)) != ORC_OK)
            return rc;
        rc = orci_lc_end_project(lc, req->project_id, err);
    } else if (strcmp(op, "revert_task") == 0) {
        if ((rc = require_id(req->task_id, "task_id", err)) != ORC_OK ||
            (rc = require_id(req->iteration_id, "iteration_id", err)) != ORC_OK)
            return rc;
        /* Without commit nothing is written: the audit says what would change. */
        return orci_lc_revert(lc, req->task_id, req->iteration_id, req->revert_before, req->commit,
                              json, err);
    } else {
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "Unknown project management operation \"%.64s\"", op);
    }
    if (rc != ORC_OK)
        return rc;
    *json = strdup("null");
    return *json ? ORC_OK : oom(err);
}

int orci_svc_manage_project_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                  void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__ManageProjectRequest *req =
        (const Orchestra__V1__ManageProjectRequest *)in;
    *out = NULL;
    int rc = pm_allowed(c, wdb, err);
    if (rc != ORC_OK)
        return rc;
    orci_lc lc = {.db = wdb, .now_us = c->now_us, .rng = c->srv->rng};
    char *json = NULL;
    rc = pm_run(&lc, req, &json, err);
    if (rc != ORC_OK) {
        free(json);
        return rc;
    }
    return json_reply(&orchestra__v1__manage_project_reply__descriptor, json, out, err);
}
