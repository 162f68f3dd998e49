/*
 * svc/upstream.c: what a team switching from upstream Orchestra needs (issue 16; upstream.h):
 * upstream HEAD's assign_worker_to_task and message_project_team behind orchestra-http's
 * legacy endpoints, the import of an upstream database, and setting the password of the
 * workers it brought (they come without one). Replies are malloc'd (the dispatcher frees them
 * with protobuf_c_message_free_unpacked(out, NULL)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "domain/import.h"
#include "domain/lifecycle.h"
#include "domain/workers.h"
#include "proto/orchestra.pb-c.h"
#include "svc/upstream.h"
#include "store/db.h"

#define PASSWORD_MAX_LEN 1024

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory building the reply");
}

/* ---- AssignWorkerToTask ---------------------------------------------------------------- */

/*
 * The lifecycle's refusals that upstream raised as TaskAssignmentError (spec 3.1, 3.4);
 * upstream's view files them under "task_assignment_error". A certification refusal is
 * "worker_certification_error"; anything else (unknown worker or task, a machine task, a
 * project that is not Active) upstream caught as a plain exception: "error".
 */
static const char *const TASK_ASSIGNMENT_ERRORS[] = {
    "Status incompatible with new assignment",
    "Worker already assigned to this task.",
    "Task is in incorrect state",
};

static const char *error_kind(int code, const char *message)
{
    if (code == ORC_PERMISSION_DENIED)
        return "worker_certification_error";
    for (size_t i = 0; i < sizeof TASK_ASSIGNMENT_ERRORS / sizeof TASK_ASSIGNMENT_ERRORS[0]; i++)
        if (code == ORC_FAILED_PRECONDITION && strcmp(message, TASK_ASSIGNMENT_ERRORS[i]) == 0)
            return "task_assignment_error";
    return "error";
}

/* Codes a refusal may have; anything else (a store failure) fails the call itself. */
static bool is_refusal(int code)
{
    return code == ORC_PERMISSION_DENIED || code == ORC_FAILED_PRECONDITION ||
           code == ORC_NOT_FOUND || code == ORC_INVALID_ARGUMENT;
}

int orci_svc_assign_worker_to_task_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                         void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)plan;
    const Orchestra__V1__AssignWorkerToTaskRequest *req =
        (const Orchestra__V1__AssignWorkerToTaskRequest *)in;
    *out = NULL;
    orc_error why = {0};
    int64_t assignment_id = 0;
    int rc;
    if (req->worker_id <= 0) {
        rc = orc_error_set(&why, ORC_NOT_FOUND, "Worker matching query does not exist.");
    } else if (req->task_id <= 0) {
        rc = orc_error_set(&why, ORC_NOT_FOUND, "No task for given id");
    } else {
        /* A refusal answers OK, so its savepoint of the write job would commit: this one
         * takes back whatever the refused transition wrote before it refused. */
        if ((rc = orci_db_exec(wdb, "SAVEPOINT orci_assign_worker", err)) != ORC_OK)
            return rc;
        orci_lc lc = {.db = wdb, .now_us = c->now_us, .rng = c->srv->rng};
        rc = orci_lc_assign_task(&lc, req->worker_id, req->task_id, &assignment_id, &why);
        if (rc != ORC_OK && orci_db_exec(wdb, "ROLLBACK TO orci_assign_worker", err) != ORC_OK)
            return err->code;
        if (orci_db_exec(wdb, "RELEASE orci_assign_worker", err) != ORC_OK)
            return err->code;
    }
    if (rc != ORC_OK && !is_refusal(rc))
        return orc_error_set(err, (orc_code)rc, "%s", why.message);
    Orchestra__V1__AssignWorkerToTaskReply *r = malloc(sizeof *r);
    if (!r)
        return oom(err);
    orchestra__v1__assign_worker_to_task_reply__init(r);
    r->success = rc == ORC_OK;
    r->assignment_id = assignment_id;
    r->error_kind = strdup(rc == ORC_OK ? "" : error_kind(rc, why.message));
    r->error_message = strdup(rc == ORC_OK ? "" : why.message);
    *out = &r->base;
    if (!r->error_kind || !r->error_message)
        return oom(err); /* the dispatcher frees *out */
    return ORC_OK;
}

/* ---- MessageProjectTeam ---------------------------------------------------------------- */

int orci_svc_message_project_team(orci_call *c, const ProtobufCMessage *in, ProtobufCMessage **out,
                                  orc_error *err)
{
    const Orchestra__V1__MessageProjectTeamRequest *req =
        (const Orchestra__V1__MessageProjectTeamRequest *)in;
    *out = NULL;
    if (req->project_id <= 0)
        return orc_error_set(err, ORC_NOT_FOUND, "No project for given id");
    orci_stmt *st = orci_db_stmt(c->rdb, "SELECT id FROM projects WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, req->project_id);
    int got = orci_db_row(c->rdb, st, err);
    if (got < 0)
        return err->code;
    if (got == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "No project for given id");
    orci_stmt_reset(st);
    /* Upstream posts to the project's Slack group and refuses a project without one; this
     * coordinator has no Slack, so no project has a team channel. */
    return orc_error_set(err, ORC_FAILED_PRECONDITION,
                         "Project %lld has no team channel configured (this Orchestra has no "
                         "Slack integration); the message was not sent",
                         (long long)req->project_id);
}

/* ---- ImportFixture --------------------------------------------------------------------- */

int orci_svc_import_fixture_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                    orc_error *err)
{
    (void)c;
    const Orchestra__V1__ImportFixtureRequest *req =
        (const Orchestra__V1__ImportFixtureRequest *)in;
    *plan = NULL;
    const char *text = req->fixture_json ? req->fixture_json : "";
    orci_import_plan *p = NULL;
    int rc = orci_import_parse(text, strlen(text), &p, err);
    if (rc == ORC_OK)
        *plan = p;
    return rc;
}

void orci_svc_import_plan_free(void *plan)
{
    orci_import_plan_free(plan);
}

/* counts_out copies n counts into a reply's repeated ImportCount. */
static int counts_out(const orci_import_count *counts, size_t n, Orchestra__V1__ImportCount ***out,
                      size_t *n_out, orc_error *err)
{
    *out = calloc(n + 1, sizeof **out);
    if (*out == NULL)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        Orchestra__V1__ImportCount *ic = malloc(sizeof *ic);
        if (ic == NULL)
            return oom(err);
        orchestra__v1__import_count__init(ic);
        (*out)[(*n_out)++] = ic;
        ic->model = strdup(counts[i].model);
        ic->created = counts[i].created;
        ic->existing = counts[i].existing;
        if (ic->model == NULL)
            return oom(err);
    }
    return ORC_OK;
}

/* strings_out copies a list of strings into a reply's repeated string. */
static int strings_out(char *const *list, size_t n, char ***out, size_t *n_out, orc_error *err)
{
    *out = calloc(n + 1, sizeof **out);
    if (*out == NULL)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        if (((*out)[i] = strdup(list[i])) == NULL)
            return oom(err);
        (*n_out)++;
    }
    return ORC_OK;
}

int orci_svc_import_fixture_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                  void *plan, ProtobufCMessage **out, orc_error *err)
{
    (void)in;
    *out = NULL;
    if (plan == NULL)
        return orc_error_set(err, ORC_INTERNAL, "ImportFixture has no plan");
    orci_lc lc = {.db = wdb, .now_us = c->now_us, .rng = c->srv->rng};
    orci_import_result res;
    int rc = orci_import_apply(&lc, plan, &res, err);
    Orchestra__V1__ImportFixtureReply *r = NULL;
    if (rc != ORC_OK)
        goto out;
    if ((r = malloc(sizeof *r)) == NULL) {
        rc = oom(err);
        goto out;
    }
    orchestra__v1__import_fixture_reply__init(r);
    *out = &r->base; /* from here the dispatcher frees it, on error too */
    if ((rc = counts_out(res.counts, ORCI_IMPORT_N_MODELS, &r->counts, &r->n_counts, err)) !=
            ORC_OK ||
        (rc = counts_out(res.skipped, res.n_skipped, &r->skipped, &r->n_skipped, err)) != ORC_OK ||
        (rc = strings_out(res.users_without_password, res.n_users_without_password,
                          &r->users_without_password, &r->n_users_without_password, err)) != ORC_OK)
        goto out;
    rc = strings_out(res.warnings, res.n_warnings, &r->warnings, &r->n_warnings, err);
out:
    orci_import_result_fini(&res);
    return rc;
}

/* ---- SetWorkerPassword ----------------------------------------------------------------- */

typedef struct password_plan {
    char hash[ORCI_PASSWORD_HASH_MAX];
} password_plan;

void orci_svc_set_password_plan_free(void *plan)
{
    if (plan == NULL)
        return;
    explicit_bzero(plan, sizeof(password_plan));
    free(plan);
}

int orci_svc_set_worker_password_prepare(orci_call *c, const ProtobufCMessage *in, void **plan,
                                         orc_error *err)
{
    const Orchestra__V1__SetWorkerPasswordRequest *req =
        (const Orchestra__V1__SetWorkerPasswordRequest *)in;
    *plan = NULL;
    size_t len = strlen(req->password);
    if (req->username[0] == '\0')
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "username is required");
    if (len == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "A password is required.");
    if (len > PASSWORD_MAX_LEN)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Password is longer than %d bytes.",
                             PASSWORD_MAX_LEN);
    password_plan *p = calloc(1, sizeof *p);
    if (p == NULL)
        return oom(err);
    unsigned it = c->srv->settings.pbkdf2_iterations;
    if (orci_password_hash(req->password, it ? it : ORCI_PBKDF2_DEFAULT_ITERATIONS, p->hash,
                           sizeof p->hash) != 0) {
        orci_svc_set_password_plan_free(p);
        return orc_error_set(err, ORC_INTERNAL, "cannot hash the password");
    }
    *plan = p;
    return ORC_OK;
}

int orci_svc_set_worker_password_apply(orci_call *c, orci_db *wdb, const ProtobufCMessage *in,
                                       void *plan, ProtobufCMessage **out, orc_error *err)
{
    const Orchestra__V1__SetWorkerPasswordRequest *req =
        (const Orchestra__V1__SetWorkerPasswordRequest *)in;
    const password_plan *p = plan;
    *out = NULL;
    if (p == NULL)
        return orc_error_set(err, ORC_INTERNAL, "SetWorkerPassword has no plan");
    int64_t user_id = 0;
    int rc = orci_workers_find(wdb, req->username, &user_id, NULL, err);
    if (rc == ORC_NOT_FOUND)
        return orc_error_set(err, ORC_NOT_FOUND, "Worker %s not found", req->username);
    /* A new password signs the worker out everywhere (no session is kept). */
    if (rc != ORC_OK ||
        (rc = orci_workers_set_password(wdb, user_id, p->hash, NULL, c->now_us, err)) != ORC_OK)
        return rc;
    Orchestra__V1__SetWorkerPasswordReply *r = malloc(sizeof *r);
    if (r == NULL)
        return oom(err);
    orchestra__v1__set_worker_password_reply__init(r);
    *out = &r->base;
    return ORC_OK;
}
