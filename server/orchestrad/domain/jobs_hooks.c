/*
 * jobs_hooks.c: the jobs that are not machine steps (jobs.h "Kinds"): upstream's creation
 * policies, abort_completion_function and sample_data_load_function, which are Python
 * functions, run on an executor as jobs since orchestrad never runs user code. Queuing them,
 * what a leased one is called with, and their events. What the answer does is the
 * lifecycle's (orci_machine_ops.answer).
 *
 * What the function is called with (the Job's fields; the runner calls it as upstream did):
 *  - creation_policy: project_data (the project's, without "project_id", as upstream passes
 *    project.project_data) and the step's prerequisites (spec 3.6); it returns a bool, which
 *    the executor reports as {"create": b};
 *  - abort_completion: context {"project": {...}}, the project as upstream's model showed it
 *    (id, status, short_description, priority, project_data, task_class, start_datetime,
 *    team_messages_url, workflow_version {slug, name, workflow {slug, name}});
 *  - sample_data: context {"workflow_version": {slug, name, description, workflow {slug,
 *    name, description}}, "certifications": [{slug, name, description}], "users":
 *    {username: {"worker": b}}}, what the compatibility package's models read (at most
 *    HOOKS_MAX_USERS users; "users_complete" says whether all are there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/jobs_internal.h"
#include "domain/views.h"
#include "json.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/events.h"

/* The most users a sample-data load is told about (its `created` answers for the others
 * are as for a new user). */
#define HOOKS_MAX_USERS 50000

static char *hooks_dup(const char *s, orc_error *err)
{
    char *out = strdup(s != NULL ? s : "");
    if (out == NULL)
        orc_error_set(err, ORC_INTERNAL, "out of memory");
    return out;
}

/* ---- queuing ------------------------------------------------------------------------- */

/* hooks_function names a hook job: "<kind>:<function>" (jobs.h: the ':' keeps it off the
 * exact-name matches), and its package. Returns NULL when out of memory. */
static char *hooks_function(int kind, const char *spec, char *package, size_t package_size)
{
    char *fn = orci_jobs_function_name(spec);
    if (fn == NULL)
        return NULL;
    orci_jobs_package(fn, package, package_size);
    size_t n = strlen(orci_job_kind_name(kind)) + 1 + strlen(fn) + 1;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s:%s", orci_job_kind_name(kind), fn);
    free(fn);
    return out;
}

/* hooks_insert queues a new hook job, due now, with the default retry policy. */
static int hooks_insert(orci_lc *lc, int kind, int64_t project_id, int64_t step_id,
                        int64_t version_id, const char *spec, int64_t *job_id, orc_error *err)
{
    char package[ORCI_JOB_MAX_NAME + 1];
    char *function = hooks_function(kind, spec, package, sizeof package);
    if (function == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    int code = ORC_INTERNAL;
    int64_t id = 0;
    orci_stmt *st = orci_db_stmt(
        lc->db,
        "INSERT INTO jobs (kind, project_id, step_id, workflow_version_id, function, package,"
        " spec, status, attempts, max_attempts, initial_delay_ms, max_delay_ms,"
        " next_attempt_at, created_at, updated_at) VALUES (?1, nullif(?2, 0), nullif(?3, 0),"
        " nullif(?4, 0), ?5, ?6, ?7, 0, 0, ?8, ?9, ?10, ?11, ?11, ?11) RETURNING id",
        err);
    if (st != NULL) {
        orci_bind_int(st, 1, kind);
        orci_bind_int(st, 2, project_id);
        orci_bind_int(st, 3, step_id);
        orci_bind_int(st, 4, version_id);
        orci_bind_text(st, 5, function);
        orci_bind_text(st, 6, package);
        orci_bind_text(st, 7, spec);
        orci_bind_int(st, 8, ORCI_JOB_DEFAULT_MAX_ATTEMPTS);
        orci_bind_int(st, 9, ORCI_JOB_DEFAULT_INITIAL_DELAY_MS);
        orci_bind_int(st, 10, ORCI_JOB_DEFAULT_MAX_DELAY_MS);
        orci_bind_int(st, 11, lc->now_us);
        code = orci_db_insert(lc->db, st, &id, err);
    }
    free(function);
    if (code != ORC_OK)
        return code;
    if (job_id != NULL)
        *job_id = id;
    orci_jobi_ref r = {.id = id,
                       .kind = kind,
                       .project_id = project_id,
                       .step_id = step_id,
                       .version_id = version_id};
    if ((code = orci_jobi_hook_event(lc, "job.created", &r, NULL, orci_job_status_name(0), NULL,
                                     err)) != ORC_OK)
        return code;
    return orci_jobs_signal(lc->db, err);
}

int orci_jobs_policy_state(orci_db *db, int64_t project_id, int64_t step_id,
                           orci_policy_state *state, orc_error *err)
{
    *state = ORCI_POLICY_NONE;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT status, output FROM jobs"
                                 " WHERE kind = 1 AND project_id = ?1 AND step_id = ?2",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    orci_bind_int(st, 2, step_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return ORC_OK;
    int status = (int)orci_col_int(st, 0);
    json_t *out = json_loads(orci_col_text(st, 1), 0, NULL);
    bool create = json_is_true(json_object_get(out, "create"));
    json_decref(out);
    orci_stmt_reset(st);
    switch (status) {
    case ORCI_JOB_QUEUED:
    case ORCI_JOB_LEASED:
        *state = ORCI_POLICY_PENDING;
        break;
    case ORCI_JOB_COMPLETED:
        *state = create ? ORCI_POLICY_CREATE : ORCI_POLICY_DECLINED;
        break;
    default:
        *state = ORCI_POLICY_FAILED;
        break;
    }
    return ORC_OK;
}

int orci_jobs_ask_policy(orci_lc *lc, int64_t project_id, int64_t step_id, const char *spec,
                         orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        lc->db, "SELECT id, status FROM jobs WHERE kind = 1 AND project_id = ?1 AND step_id = ?2",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    orci_bind_int(st, 2, step_id);
    int r = orci_db_row(lc->db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return hooks_insert(lc, ORCI_JOB_KIND_POLICY, project_id, step_id, 0, spec, NULL, err);
    int64_t id = orci_col_int(st, 0);
    int status = (int)orci_col_int(st, 1);
    orci_stmt_reset(st);
    if (status == ORCI_JOB_QUEUED || status == ORCI_JOB_LEASED)
        return ORC_OK;
    /* Asked again: the same row, its attempts reset and its spec as the step says now. */
    st = orci_db_stmt(lc->db,
                      "UPDATE jobs SET status = 0, attempts = 0, next_attempt_at = ?2, spec = ?3,"
                      " lease_token_hash = NULL, lease_expires_at = NULL, output = NULL,"
                      " last_error = '', updated_at = ?2 WHERE id = ?1",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    orci_bind_int(st, 2, lc->now_us);
    orci_bind_text(st, 3, spec);
    int code = orci_db_step(lc->db, st, err);
    orci_jobi_ref ref = {
        .id = id, .kind = ORCI_JOB_KIND_POLICY, .project_id = project_id, .step_id = step_id};
    if (code == ORC_OK)
        code = orci_jobi_hook_event(lc, "job.retried", &ref, orci_job_status_name(status),
                                    orci_job_status_name(ORCI_JOB_QUEUED), NULL, err);
    return code == ORC_OK ? orci_jobs_signal(lc->db, err) : code;
}

int orci_jobs_cancel_policies(orci_lc *lc, int64_t project_id, orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(lc->db,
                     "UPDATE jobs SET status = 4, updated_at = ?2,"
                     " lease_expires_at = CASE WHEN status = 1 THEN lease_expires_at ELSE NULL END"
                     " WHERE project_id = ?1 AND kind = 1 AND status IN (0, 1, 3)",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    orci_bind_int(st, 2, lc->now_us);
    return orci_db_step(lc->db, st, err);
}

int orci_jobs_create_abort(orci_lc *lc, int64_t project_id, const char *spec, int64_t *job_id,
                           orc_error *err)
{
    return hooks_insert(lc, ORCI_JOB_KIND_ABORT, project_id, 0, 0, spec, job_id, err);
}

int orci_jobs_create_sample(orci_lc *lc, int64_t version_id, const char *spec, int64_t *job_id,
                            orc_error *err)
{
    return hooks_insert(lc, ORCI_JOB_KIND_SAMPLE, 0, 0, version_id, spec, job_id, err);
}

int orci_jobs_fail_answer(orci_lc *lc, int64_t job_id, const char *why, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT kind, COALESCE(project_id, 0), COALESCE(step_id, 0),"
                                 " COALESCE(workflow_version_id, 0) FROM jobs WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    int code = orci_db_first_row(lc->db, st, "No job for given id", err);
    if (code != ORC_OK)
        return code;
    orci_jobi_ref r = {.id = job_id,
                       .kind = (int)orci_col_int(st, 0),
                       .project_id = orci_col_int(st, 1),
                       .step_id = orci_col_int(st, 2),
                       .version_id = orci_col_int(st, 3)};
    orci_stmt_reset(st);
    st = orci_db_stmt(lc->db,
                      "UPDATE jobs SET status = 3, output = NULL, last_error = ?2, updated_at = ?3"
                      " WHERE id = ?1",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    orci_bind_text(st, 2, why);
    orci_bind_int(st, 3, lc->now_us);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
        return code;
    json_t *payload = json_pack("{s:s, s:b}", "error", why, "will_retry", 0);
    if (payload == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    code = orci_jobi_hook_event(lc, "job.failed", &r, orci_job_status_name(ORCI_JOB_COMPLETED),
                                orci_job_status_name(ORCI_JOB_FAILED), payload, err);
    json_decref(payload);
    return code;
}

void orci_hook_info_fini(orci_hook_info *info)
{
    if (info == NULL)
        return;
    free(info->output);
    free(info->last_error);
    memset(info, 0, sizeof *info);
}

int orci_jobs_hook_info(orci_db *db, int64_t job_id, orci_hook_info *info, orc_error *err)
{
    memset(info, 0, sizeof *info);
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT kind, status, COALESCE(workflow_version_id, 0),"
                                 " output, last_error FROM jobs WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    int code = orci_db_first_row(db, st, "No job for given id", err);
    if (code != ORC_OK)
        return code;
    info->kind = (int)orci_col_int(st, 0);
    info->status = (int)orci_col_int(st, 1);
    info->version_id = orci_col_int(st, 2);
    bool has_output = !orci_col_is_null(st, 3);
    info->output = has_output ? strdup(orci_col_text(st, 3)) : NULL;
    info->last_error = strdup(orci_col_text(st, 4));
    orci_stmt_reset(st);
    if ((has_output && info->output == NULL) || info->last_error == NULL) {
        orci_hook_info_fini(info);
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    }
    return ORC_OK;
}

/* ---- events -------------------------------------------------------------------------- */

/* hooks_slug copies the one text column of a one-id query into out ("" when no row). */
static int hooks_slug(orci_db *db, const char *sql, int64_t id, char *out, size_t out_size,
                      orc_error *err)
{
    out[0] = '\0';
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 1) {
        snprintf(out, out_size, "%s", orci_col_text(st, 0));
        orci_stmt_reset(st);
    }
    return ORC_OK;
}

int orci_jobi_hook_event(orci_lc *lc, const char *type, const orci_jobi_ref *r,
                         const char *old_status, const char *new_status, json_t *payload,
                         orc_error *err)
{
    json_t *own = payload == NULL ? json_object() : NULL;
    json_t *p = payload != NULL ? payload : own;
    if (p == NULL ||
        json_object_set_new(p, "kind", json_string(orci_job_kind_name(r->kind))) != 0 ||
        json_object_set_new(p, "job_id", json_integer(r->id)) != 0) {
        json_decref(own);
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    }
    orci_event_rec e = {.type = type,
                        .time_us = lc->now_us,
                        .old_status = old_status,
                        .new_status = new_status,
                        .payload = p};
    int code = ORC_OK;
    if (r->project_id > 0)
        code = orci_events_project_context(lc->db, r->project_id, &e, err);
    if (code == ORC_OK && r->step_id > 0)
        code = hooks_slug(lc->db, "SELECT slug FROM steps WHERE id = ?1", r->step_id, e.step,
                          sizeof e.step, err);
    if (code == ORC_OK && r->version_id > 0)
        code = hooks_slug(lc->db,
                          "SELECT w.slug FROM workflow_versions v JOIN workflows w"
                          " ON w.id = v.workflow_id WHERE v.id = ?1",
                          r->version_id, e.workflow, sizeof e.workflow, err);
    if (code == ORC_OK)
        code = orci_events_append(lc->db, &e, NULL, err);
    json_decref(own);
    return code;
}

/* ---- what a leased hook job is called with -------------------------------------------- */

/* hooks_project renders an ended project as upstream's model showed it (abort hooks). */
static json_t *hooks_project(orci_db *db, int64_t project_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT p.id, p.status, p.short_description, p.priority, p.project_data, p.task_class,"
        " p.start_datetime, p.team_messages_url, v.slug, v.name, w.slug, w.name FROM projects p"
        " JOIN workflow_versions v ON v.id = p.workflow_version_id"
        " JOIN workflows w ON w.id = v.workflow_id WHERE p.id = ?1",
        err);
    if (st == NULL)
        return NULL;
    orci_bind_int(st, 1, project_id);
    if (orci_db_first_row(db, st, "No project for given id", err) != ORC_OK)
        return NULL;
    json_t *data = json_loads(orci_col_text(st, 4), 0, NULL);
    json_t *url = orci_col_is_null(st, 7) ? json_null() : json_string(orci_col_text(st, 7));
    json_t *o = json_pack(
        "{s:I, s:i, s:s, s:I, s:o, s:i, s:o, s:o, s:{s:s, s:s, s:{s:s, s:s}}}", "id",
        (json_int_t)orci_col_int(st, 0), "status", (int)orci_col_int(st, 1), "short_description",
        orci_col_text(st, 2), "priority", (json_int_t)orci_col_int(st, 3), "project_data",
        json_is_object(data) ? data : json_object(), "task_class", (int)orci_col_int(st, 5),
        "start_datetime", orci_json_time(orci_col_int(st, 6)), "team_messages_url",
        url != NULL ? url : json_null(), "workflow_version", "slug", orci_col_text(st, 8), "name",
        orci_col_text(st, 9), "workflow", "slug", orci_col_text(st, 10), "name",
        orci_col_text(st, 11));
    if (!json_is_object(data))
        json_decref(data);
    orci_stmt_reset(st);
    if (o == NULL)
        orc_error_set(err, ORC_INTERNAL, "out of memory");
    return o;
}

/* hooks_add_certifications adds the workflow's certifications to a sample-data context. */
static int hooks_add_certifications(orci_db *db, int64_t workflow_id, json_t *ctx, orc_error *err)
{
    json_t *certs = json_array();
    if (certs == NULL || json_object_set_new(ctx, "certifications", certs) != 0)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    orci_stmt *st = orci_db_stmt(
        db, "SELECT slug, name, description FROM certifications WHERE workflow_id = ?1 ORDER BY id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, workflow_id);
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0)
            return orci_db_code(err);
        if (r == 0)
            return ORC_OK;
        if (json_array_append_new(certs, json_pack("{s:s, s:s, s:s}", "slug", orci_col_text(st, 0),
                                                   "name", orci_col_text(st, 1), "description",
                                                   orci_col_text(st, 2))) != 0) {
            orci_stmt_reset(st);
            return orc_error_set(err, ORC_INTERNAL, "out of memory");
        }
    }
}

/* hooks_add_users adds the existing users (and whether each is a worker) to a sample-data
 * context, so that the load function's get_or_create calls answer as upstream's did. */
static int hooks_add_users(orci_db *db, json_t *ctx, orc_error *err)
{
    json_t *users = json_object();
    if (users == NULL || json_object_set_new(ctx, "users", users) != 0)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT u.username, EXISTS (SELECT 1 FROM workers w"
                                 " WHERE w.user_id = u.id) FROM users u ORDER BY u.id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    size_t n = 0;
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0)
            return orci_db_code(err);
        if (r == 0)
            break;
        if (n++ == HOOKS_MAX_USERS) {
            orci_stmt_reset(st);
            break;
        }
        if (json_object_set_new(users, orci_col_text(st, 0),
                                json_pack("{s:b}", "worker", (int)orci_col_int(st, 1))) != 0) {
            orci_stmt_reset(st);
            return orc_error_set(err, ORC_INTERNAL, "out of memory");
        }
    }
    if (json_object_set_new(ctx, "users_complete", json_boolean(n <= HOOKS_MAX_USERS)) != 0)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    return ORC_OK;
}

/* hooks_sample_context builds a sample-data load's context; *workflow gets the slug. */
static json_t *hooks_sample_context(orci_db *db, int64_t version_id, char **workflow,
                                    orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT v.slug, v.name, v.description, w.id, w.slug, w.name,"
                                 " w.description FROM workflow_versions v JOIN workflows w"
                                 " ON w.id = v.workflow_id WHERE v.id = ?1",
                                 err);
    if (st == NULL)
        return NULL;
    orci_bind_int(st, 1, version_id);
    if (orci_db_first_row(db, st, "No workflow version for given id", err) != ORC_OK)
        return NULL;
    int64_t workflow_id = orci_col_int(st, 3);
    json_t *ctx = json_pack("{s:{s:s, s:s, s:s, s:{s:s, s:s, s:s}}}", "workflow_version", "slug",
                            orci_col_text(st, 0), "name", orci_col_text(st, 1), "description",
                            orci_col_text(st, 2), "workflow", "slug", orci_col_text(st, 4), "name",
                            orci_col_text(st, 5), "description", orci_col_text(st, 6));
    *workflow = strdup(orci_col_text(st, 4));
    orci_stmt_reset(st);
    if (ctx == NULL || *workflow == NULL) {
        json_decref(ctx);
        orc_error_set(err, ORC_INTERNAL, "out of memory");
        return NULL;
    }
    if (hooks_add_certifications(db, workflow_id, ctx, err) != ORC_OK ||
        hooks_add_users(db, ctx, err) != ORC_OK) {
        json_decref(ctx);
        return NULL;
    }
    return ctx;
}

/* hooks_policy_inputs fills a creation policy's project data, prerequisites, workflow and
 * step slugs. */
static int hooks_policy_inputs(orci_db *db, const orci_jobi_ref *r, orci_job *job, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT p.project_data, w.slug, s.slug FROM projects p"
                                 " JOIN steps s ON s.id = ?2"
                                 " JOIN workflow_versions v ON v.id = s.workflow_version_id"
                                 " JOIN workflows w ON w.id = v.workflow_id WHERE p.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->project_id);
    orci_bind_int(st, 2, r->step_id);
    int code = orci_db_first_row(db, st, "No project for given id", err);
    if (code != ORC_OK)
        return code;
    job->project_data = hooks_dup(orci_col_text(st, 0), err);
    job->workflow = hooks_dup(orci_col_text(st, 1), err);
    job->step = hooks_dup(orci_col_text(st, 2), err);
    orci_stmt_reset(st);
    if (job->project_data == NULL || job->workflow == NULL || job->step == NULL)
        return ORC_INTERNAL;
    return orci_view_step_prerequisites(db, r->project_id, r->step_id, &job->prerequisites, err);
}

/* hooks_context fills what a hook of kind r->kind is called with, beyond its spec. */
static int hooks_context(orci_db *db, const orci_jobi_ref *r, orci_job *job, orc_error *err)
{
    json_t *ctx = NULL;
    if (r->kind == ORCI_JOB_KIND_POLICY) {
        int code = hooks_policy_inputs(db, r, job, err);
        if (code != ORC_OK)
            return code;
        ctx = json_object();
    } else if (r->kind == ORCI_JOB_KIND_ABORT) {
        json_t *project = hooks_project(db, r->project_id, err);
        ctx = project != NULL ? json_pack("{s:o}", "project", project) : NULL;
        if (project == NULL)
            return orci_db_code(err);
        const char *wf = json_string_value(json_object_get(
            json_object_get(json_object_get(project, "workflow_version"), "workflow"), "slug"));
        job->workflow = hooks_dup(wf, err);
    } else {
        ctx = hooks_sample_context(db, r->version_id, &job->workflow, err);
        if (ctx == NULL)
            return orci_db_code(err);
    }
    if (ctx == NULL || (job->context = orci_json_dump(ctx)) == NULL) {
        json_decref(ctx);
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    }
    json_decref(ctx);
    if (job->project_data == NULL)
        job->project_data = hooks_dup("{}", err);
    if (job->prerequisites == NULL)
        job->prerequisites = hooks_dup("{}", err);
    if (job->step == NULL)
        job->step = hooks_dup("", err);
    if (job->workflow == NULL)
        job->workflow = hooks_dup("", err);
    if (!job->project_data || !job->prerequisites || !job->step || !job->workflow)
        return ORC_INTERNAL;
    return ORC_OK;
}

int orci_jobi_describe_hook(orci_lc *lc, const orci_jobi_ref *r, orci_job *job, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        lc->db, "SELECT function, spec, attempts, lease_expires_at FROM jobs WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->id);
    int code = orci_db_first_row(lc->db, st, "No job for given id", err);
    if (code != ORC_OK)
        return code;
    job->job_id = r->id;
    job->kind = r->kind;
    job->project_id = r->project_id;
    job->function = hooks_dup(orci_col_text(st, 0), err);
    job->execution_function = hooks_dup(orci_col_text(st, 1), err);
    job->attempt = (int)orci_col_int(st, 2);
    job->lease_expires_at = orci_col_int(st, 3);
    orci_stmt_reset(st);
    if (job->function == NULL || job->execution_function == NULL)
        return ORC_INTERNAL;
    return hooks_context(lc->db, r, job, err);
}
