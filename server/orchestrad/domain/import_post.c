/*
 * import_post.c: what follows the rows of an import (import.h): the many-to-many links of
 * the certifications and steps it created, the invariants of spec 3.2 on its tasks, the
 * jobs of machine tasks left open, one event per project, the warnings and the users who
 * need a password; and orci_import_apply, which runs the whole import.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/import_internal.h"
#include "domain/jobs.h"
#include "domain/lifecycle.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/events.h"
#include "store/model.h"
#include "store/policy.h"
#include "vec.h"

#define MSG_FAILED_UPSTREAM                                                                        \
    "failed before the import (upstream); retry it with `orchestra job retry`"

/* ---- results --------------------------------------------------------------------------- */

/* push_text appends a malloc'd copy of text to a growing list of strings. */
static int push_text(char ***list, size_t *n, const char *text, orc_error *err)
{
    size_t cap = *n; /* the list grows one by one: warnings are few */
    if (!orci_grow(list, &cap, *n + 1, sizeof **list))
        return orci_imp_oom(err);
    (*list)[*n] = strdup(text);
    if ((*list)[*n] == NULL)
        return orci_imp_oom(err);
    (*n)++;
    return ORC_OK;
}

int orci_imp_warn(imp_ctx *c, int model, int64_t pk, orc_error *err, const char *fmt, ...)
{
    char why[ORC_ERROR_MESSAGE_MAX], line[ORC_ERROR_MESSAGE_MAX + 96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s pk %lld: %s", orci_imp_models[model].name, (long long)pk, why);
    return push_text(&c->res->warnings, &c->res->n_warnings, line, err);
}

void orci_import_result_fini(orci_import_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->n_skipped; i++)
        free((char *)res->skipped[i].model);
    free(res->skipped);
    for (size_t i = 0; i < res->n_users_without_password; i++)
        free(res->users_without_password[i]);
    free(res->users_without_password);
    for (size_t i = 0; i < res->n_warnings; i++)
        free(res->warnings[i]);
    free(res->warnings);
    memset(res, 0, sizeof *res);
}

/* ---- links ------------------------------------------------------------------------------ */

/* link inserts (a, b) with sql unless it is there already. */
static int link(imp_ctx *c, const char *sql, int64_t a, int64_t b, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(c->lc->db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, a);
    orci_bind_int(st, 2, b);
    return orci_db_step(c->lc->db, st, err);
}

/* cert_links: the required certifications of the certifications created. */
static int cert_links(imp_ctx *c, orc_error *err)
{
    for (size_t i = 0; i < c->p->n[IM_CERT]; i++) {
        const imp_rec *r = &c->p->recs[IM_CERT][i];
        const imp_val *req = &r->v[C_REQUIRED];
        for (size_t k = 0; k < req->n && c->created[IM_CERT][i]; k++) {
            int64_t row = 0;
            int code = orci_imp_resolve(c, IM_CERT, r, "required_certifications", IM_CERT,
                                        req->ids[k], &row, err);
            if (code == ORC_OK)
                code = link(c,
                            "INSERT INTO certification_requirements"
                            " (certification_id, required_id) VALUES (?1, ?2)"
                            " ON CONFLICT DO NOTHING",
                            c->rows[IM_CERT][i], row, err);
            if (code != ORC_OK)
                return code;
        }
    }
    return ORC_OK;
}

/* step_dep links a created step to a step it depends on, which must be of its version. */
static int step_dep(imp_ctx *c, size_t i, const char *field, int64_t pk, const char *sql,
                    orc_error *err)
{
    const imp_rec *r = &c->p->recs[IM_STEP][i];
    int64_t row = 0;
    int code = orci_imp_resolve(c, IM_STEP, r, field, IM_STEP, pk, &row, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "SELECT (SELECT workflow_version_id FROM steps WHERE id = ?1)"
                                 " = (SELECT workflow_version_id FROM steps WHERE id = ?2)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, c->rows[IM_STEP][i]);
    orci_bind_int(st, 2, row);
    int64_t same = 0;
    bool found = false;
    if ((code = orci_db_one_id(c->lc->db, st, &same, &found, err)) != ORC_OK)
        return code;
    if (!same)
        return orci_imp_fail(err, ORC_FAILED_PRECONDITION, IM_STEP, r->pk,
                             "field \"%s\": orchestra.step pk %lld is a step of another workflow "
                             "version",
                             field, (long long)pk);
    return link(c, sql, c->rows[IM_STEP][i], row, err);
}

/* step_links: the dependencies and certifications of the steps created. */
static int step_links(imp_ctx *c, orc_error *err)
{
    int code = ORC_OK;
    for (size_t i = 0; i < c->p->n[IM_STEP] && code == ORC_OK; i++) {
        if (!c->created[IM_STEP][i])
            continue;
        const imp_rec *r = &c->p->recs[IM_STEP][i];
        const imp_val *cd = &r->v[S_CREATION_DEPS], *sd = &r->v[S_SUBMISSION_DEPS];
        const imp_val *certs = &r->v[S_CERTS];
        for (size_t k = 0; k < cd->n && code == ORC_OK; k++)
            code = step_dep(c, i, "creation_depends_on", cd->ids[k],
                            "INSERT INTO step_creation_deps (step_id, depends_on_id)"
                            " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                            err);
        for (size_t k = 0; k < sd->n && code == ORC_OK; k++)
            code = step_dep(c, i, "submission_depends_on", sd->ids[k],
                            "INSERT INTO step_submission_deps (step_id, depends_on_id)"
                            " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                            err);
        for (size_t k = 0; k < certs->n && code == ORC_OK; k++) {
            int64_t row = 0;
            code = orci_imp_resolve(c, IM_STEP, r, "required_certifications", IM_CERT,
                                    certs->ids[k], &row, err);
            if (code == ORC_OK)
                code = link(c,
                            "INSERT INTO step_certifications (step_id, certification_id)"
                            " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                            c->rows[IM_STEP][i], row, err);
        }
    }
    return code;
}

/* ---- tasks: invariants and jobs ------------------------------------------------------------ */

/* What the checks and the jobs need to know of a task. */
typedef struct task_facts {
    bool is_human;
    int status, project_status;
    int machine_status; /* the live counter-0 assignment's status; -1 when none */
} task_facts;

static int task_facts_read(imp_ctx *c, int64_t task, task_facts *f, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "SELECT s.is_human, t.status, p.status, coalesce((SELECT a.status FROM task_assignments a"
        " WHERE a.task_id = t.id AND a.assignment_counter = 0 AND a.is_deleted = 0), -1)"
        " FROM tasks t JOIN steps s ON s.id = t.step_id JOIN projects p ON p.id = t.project_id"
        " WHERE t.id = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task);
    int code = orci_db_first_row(c->lc->db, st, "task vanished", err);
    if (code != ORC_OK)
        return code;
    f->is_human = orci_col_int(st, 0) != 0;
    f->status = (int)orci_col_int(st, 1);
    f->project_status = (int)orci_col_int(st, 2);
    f->machine_status = (int)orci_col_int(st, 3);
    orci_stmt_reset(st);
    return ORC_OK;
}

/*
 * task_job queues the job of an open machine task in an Active or Paused project, as the
 * lifecycle does when it creates one; a machine assignment that had Failed gets a failed
 * job, so that the step is retried only when an admin says so (as upstream: nothing retried
 * it there either).
 */
static int task_job(imp_ctx *c, int64_t task, const task_facts *f, orc_error *err)
{
    bool open = f->status != ORCI_TASK_COMPLETE && f->status != ORCI_TASK_ABORTED;
    bool running =
        f->project_status == ORCI_PROJECT_ACTIVE || f->project_status == ORCI_PROJECT_PAUSED;
    if (f->is_human || !open || !running)
        return ORC_OK;
    int code = orci_jobs_create(c->lc, task, err);
    if (code != ORC_OK || f->machine_status != ORCI_ASSIGNMENT_FAILED)
        return code;
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "UPDATE jobs SET status = ?2, attempts = max_attempts,"
                                 " last_error = ?3 WHERE task_id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task);
    orci_bind_int(st, 2, ORCI_JOB_FAILED);
    orci_bind_text(st, 3, MSG_FAILED_UPSTREAM);
    return orci_db_step(c->lc->db, st, err);
}

/*
 * tasks_check runs the invariants of spec 3.2 on every task created, then queues their
 * jobs. A violation refuses the import when the task is still open (the lifecycle would
 * trip over it at its next transition) and is only a warning for a Complete or Aborted task.
 */
static int tasks_check(imp_ctx *c, orc_error *err)
{
    for (size_t i = 0; i < c->p->n[IM_TASK]; i++) {
        if (!c->created[IM_TASK][i])
            continue;
        int64_t task = c->rows[IM_TASK][i], pk = c->p->recs[IM_TASK][i].pk;
        task_facts f;
        int code = task_facts_read(c, task, &f, err);
        if (code != ORC_OK)
            return code;
        orc_error why = {0};
        if (orci_lc_check_task(c->lc->db, task, &why) != ORC_OK) {
            if (why.code != ORC_INTERNAL)
                return orc_error_set(err, why.code, "%s", why.message);
            if (f.status != ORCI_TASK_COMPLETE && f.status != ORCI_TASK_ABORTED)
                return orci_imp_fail(err, ORC_FAILED_PRECONDITION, IM_TASK, pk,
                                     "its assignments and iterations break the lifecycle's "
                                     "rules (spec 3.2): %s",
                                     why.message);
            if ((code = orci_imp_warn(c, IM_TASK, pk, err, "kept as is, though %s", why.message)) !=
                ORC_OK)
                return code;
        }
        if ((code = task_job(c, task, &f, err)) != ORC_OK)
            return code;
    }
    return ORC_OK;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* created_tasks gives the sorted row ids of the tasks this import created (NULL when none). */
static int created_tasks(const imp_ctx *c, int64_t **ids, size_t *n, orc_error *err)
{
    *ids = NULL;
    *n = 0;
    size_t total = c->p->n[IM_TASK];
    if (total == 0)
        return ORC_OK;
    if (!(*ids = malloc(total * sizeof **ids)))
        return orci_imp_oom(err);
    for (size_t i = 0; i < total; i++)
        if (c->created[IM_TASK][i])
            (*ids)[(*n)++] = c->rows[IM_TASK][i];
    qsort(*ids, *n, sizeof **ids, cmp_id);
    return ORC_OK;
}

/*
 * touched_check runs the invariants on each task imported before to which this import adds
 * assignments (model IM_ASSIGNMENT) or iterations (IM_ITERATION): existing rows are never
 * changed, so added ones (a later dump of a task that went on upstream) can leave two open
 * iterations or walk the counters out of order. Such an import is refused whatever the task's
 * status: the lifecycle checks a finished task again when its project ends.
 */
static int touched_check(imp_ctx *c, int model, const int64_t *created, size_t n_created,
                         orc_error *err)
{
    const char *sql = model == IM_ASSIGNMENT
                          ? "SELECT task_id FROM task_assignments WHERE id = ?1"
                          : "SELECT a.task_id FROM iterations i"
                            " JOIN task_assignments a ON a.id = i.assignment_id WHERE i.id = ?1";
    int64_t last = 0;
    for (size_t i = 0; i < c->p->n[model]; i++) {
        if (!c->created[model][i])
            continue;
        orci_stmt *st = orci_db_stmt(c->lc->db, sql, err);
        if (st == NULL)
            return ORC_INTERNAL;
        orci_bind_int(st, 1, c->rows[model][i]);
        int64_t task = 0;
        bool found = false;
        int code = orci_db_one_id(c->lc->db, st, &task, &found, err);
        if (code != ORC_OK)
            return code;
        if (!found || task == last ||
            (n_created > 0 && bsearch(&task, created, n_created, sizeof task, cmp_id)))
            continue;
        last = task;
        orc_error why = {0};
        if (orci_lc_check_task(c->lc->db, task, &why) != ORC_OK)
            return orci_imp_fail(err, why.code == ORC_INTERNAL ? ORC_FAILED_PRECONDITION : why.code,
                                 model, c->p->recs[model][i].pk,
                                 "it adds to task %lld, imported before, rows that break the "
                                 "lifecycle's rules (spec 3.2): %s",
                                 (long long)task, why.message);
    }
    return ORC_OK;
}

/* touched_tasks_check is touched_check for the added assignments, then the iterations. */
static int touched_tasks_check(imp_ctx *c, orc_error *err)
{
    int64_t *created = NULL;
    size_t n = 0;
    int code = created_tasks(c, &created, &n, err);
    if (code == ORC_OK)
        code = touched_check(c, IM_ASSIGNMENT, created, n, err);
    if (code == ORC_OK)
        code = touched_check(c, IM_ITERATION, created, n, err);
    free(created);
    return code;
}

/* ---- projects: events and warnings ------------------------------------------------------- */

static int project_event(imp_ctx *c, size_t i, orc_error *err)
{
    int64_t project = c->rows[IM_PROJECT][i];
    const imp_rec *r = &c->p->recs[IM_PROJECT][i];
    json_t *payload = json_pack("{s:I, s:s}", "source_pk", (json_int_t)r->pk, "status",
                                orci_project_status_label((int)r->v[P_STATUS].i));
    if (payload == NULL)
        return orci_imp_oom(err);
    orci_event_rec e = {.type = "project.imported",
                        .time_us = c->lc->now_us,
                        .new_status = orci_project_status_label((int)r->v[P_STATUS].i),
                        .payload = payload};
    int code = orci_events_project_context(c->lc->db, project, &e, err);
    if (code == ORC_OK)
        code = orci_events_append(c->lc->db, &e, NULL, err);
    json_decref(payload);
    return code;
}

/* project_warn notes an Active project whose tasks are all Complete (upstream before HEAD
 * had no Completed status): it is kept Active, as it was. */
static int project_warn(imp_ctx *c, size_t i, orc_error *err)
{
    const imp_rec *r = &c->p->recs[IM_PROJECT][i];
    if (r->v[P_STATUS].i != ORCI_PROJECT_ACTIVE)
        return ORC_OK;
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "SELECT count(*) > 0 AND sum(CASE WHEN status != 5 THEN 1 ELSE 0 END) = 0 FROM tasks"
        " WHERE project_id = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, c->rows[IM_PROJECT][i]);
    int64_t done = 0;
    bool found = false;
    int code = orci_db_one_id(c->lc->db, st, &done, &found, err);
    if (code != ORC_OK || !done)
        return code;
    return orci_imp_warn(c, IM_PROJECT, r->pk, err,
                         "every task is Complete but the project is Active (upstream had no "
                         "Completed status before 1.0); kept Active");
}

/* step_warn notes what a step created by the import cannot do here yet. */
static int step_warn(imp_ctx *c, size_t i, orc_error *err)
{
    const imp_rec *r = &c->p->recs[IM_STEP][i];
    const char *slug = r->v[S_SLUG].s;
    int code = ORC_OK;
    json_t *policy = json_loads(r->v[S_CREATION_POLICY].s, 0, NULL);
    orci_creation_policy parsed;
    orc_error why = {0};
    if (orci_creation_policy_parse(policy, "creation_policy", &parsed, &why) != ORC_OK)
        code = orci_imp_warn(c, IM_STEP, r->pk, err,
                             "step %s: %s; creating its tasks is refused until then", slug,
                             why.message);
    json_decref(policy);
    json_t *fn = json_loads(r->v[S_EXEC].s, 0, NULL);
    bool runnable = json_object_get(fn, "command") != NULL ||
                    json_is_string(json_object_get(fn, "path")) ||
                    (json_is_string(json_object_get(fn, "module")) &&
                     json_is_string(json_object_get(fn, "name")));
    json_decref(fn);
    if (code == ORC_OK && r->v[S_HUMAN].i == 0 && !runnable)
        code = orci_imp_warn(c, IM_STEP, r->pk, err,
                             "machine step %s: its execution function %.300s is not "
                             "{\"module\", \"name\"}, {\"path\"} or {\"command\"}: no "
                             "executor runs it",
                             slug, r->v[S_EXEC].s);
    return code;
}

/* users_without_password lists the fixture's users who cannot log in. */
static int users_without_password(imp_ctx *c, orc_error *err)
{
    for (size_t i = 0; i < c->p->n[IM_USER]; i++) {
        orci_stmt *st = orci_db_stmt(
            c->lc->db, "SELECT username FROM users WHERE id = ?1 AND password = ''", err);
        if (st == NULL)
            return ORC_INTERNAL;
        orci_bind_int(st, 1, c->rows[IM_USER][i]);
        int got = orci_db_row(c->lc->db, st, err);
        if (got < 0)
            return orci_db_code(err);
        if (got == 0)
            continue;
        int code = push_text(&c->res->users_without_password, &c->res->n_users_without_password,
                             orci_col_text(st, 0), err);
        orci_stmt_reset(st);
        if (code != ORC_OK)
            return code;
    }
    return ORC_OK;
}

int orci_imp_post(imp_ctx *c, orc_error *err)
{
    int code = cert_links(c, err);
    if (code == ORC_OK)
        code = step_links(c, err);
    if (code == ORC_OK)
        code = tasks_check(c, err);
    if (code == ORC_OK)
        code = touched_tasks_check(c, err);
    for (size_t i = 0; i < c->p->n[IM_PROJECT] && code == ORC_OK; i++)
        if (c->created[IM_PROJECT][i] && (code = project_event(c, i, err)) == ORC_OK)
            code = project_warn(c, i, err);
    for (size_t i = 0; i < c->p->n[IM_STEP] && code == ORC_OK; i++)
        if (c->created[IM_STEP][i])
            code = step_warn(c, i, err);
    if (code == ORC_OK)
        code = users_without_password(c, err);
    return code;
}

/* ---- the whole import ------------------------------------------------------------------- */

static int copy_skipped(const orci_import_plan *p, orci_import_result *res, orc_error *err)
{
    if (p->n_skipped == 0)
        return ORC_OK;
    res->skipped = calloc(p->n_skipped, sizeof *res->skipped);
    if (res->skipped == NULL)
        return orci_imp_oom(err);
    for (size_t i = 0; i < p->n_skipped; i++) {
        res->skipped[i].model = strdup(p->skipped[i].model);
        res->skipped[i].created = p->skipped[i].count;
        if (res->skipped[i].model == NULL)
            return orci_imp_oom(err);
        res->n_skipped++;
    }
    return ORC_OK;
}

int orci_import_apply(orci_lc *lc, const orci_import_plan *p, orci_import_result *res,
                      orc_error *err)
{
    memset(res, 0, sizeof *res);
    imp_ctx c = {.lc = lc, .p = p, .res = res};
    int code = ORC_OK;
    for (int m = 0; m < ORCI_IMPORT_N_MODELS && code == ORC_OK; m++) {
        c.rows[m] = calloc(p->n[m] + 1, sizeof *c.rows[m]);
        c.created[m] = calloc(p->n[m] + 1, sizeof *c.created[m]);
        if (c.rows[m] == NULL || c.created[m] == NULL)
            code = orci_imp_oom(err);
    }
    if (code == ORC_OK)
        code = copy_skipped(p, res, err);
    if (code == ORC_OK)
        code = orci_imp_write_rows(&c, err);
    if (code == ORC_OK)
        code = orci_imp_post(&c, err);
    for (int m = 0; m < ORCI_IMPORT_N_MODELS; m++) {
        free(c.rows[m]);
        free(c.created[m]);
    }
    return code;
}
