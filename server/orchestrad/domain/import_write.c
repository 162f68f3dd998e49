/*
 * import_write.c: the rows of an import (import.h), model by model in import order so that
 * every foreign key points at a row already written (or imported before). A record already
 * in imported_records is not written again; otherwise the models that have a natural key
 * adopt the row that has it, and the others get a new row, with upstream's id when our
 * table has no row of that id. Writer thread, inside the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/import_internal.h"
#include "domain/timetrack.h"
#include "store/db.h"
#include "store/dbutil.h"

/*
 * The id a new row gets: upstream's pk (?1) when our table has no row of that id, else one
 * above both our ids and every pk of the model in the fixture (?20, KEEP_ID_TOP), so that a
 * record moved aside does not take the id of a record that comes later.
 */
#define KEEP_ID_TOP 20 /* above every other parameter of the INSERTs below */
#define KEEP_ID(table)                                                                             \
    "(CASE WHEN ?1 > 0 AND NOT EXISTS (SELECT 1 FROM " table " WHERE id = ?1) THEN ?1"             \
    " ELSE (SELECT CASE WHEN coalesce(max(id), 0) > ?20 THEN coalesce(max(id), 0) ELSE ?20 END"    \
    " FROM " table ") + 1 END)"

/* ---- the record of what was imported ----------------------------------------------------- */

static int map_find(imp_ctx *c, int model, int64_t pk, int64_t *row, bool *found, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        c->lc->db, "SELECT row_id FROM imported_records WHERE model = ?1 AND source_pk = ?2", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, orci_imp_models[model].name);
    orci_bind_int(st, 2, pk);
    return orci_db_one_id(c->lc->db, st, row, found, err);
}

static int map_put(imp_ctx *c, int model, int64_t pk, int64_t row, bool created, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "INSERT INTO imported_records (model, source_pk, row_id,"
                                 " created, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, orci_imp_models[model].name);
    orci_bind_int(st, 2, pk);
    orci_bind_int(st, 3, row);
    orci_bind_int(st, 4, created ? 1 : 0);
    orci_bind_int(st, 5, c->lc->now_us);
    return orci_db_step(c->lc->db, st, err);
}

int orci_imp_resolve(imp_ctx *c, int model, const imp_rec *r, const char *field, int target,
                     int64_t pk, int64_t *row, orc_error *err)
{
    bool found = false;
    int code = map_find(c, target, pk, row, &found, err);
    if (code != ORC_OK || found)
        return code;
    return orci_imp_fail(err, ORC_FAILED_PRECONDITION, model, r->pk,
                         "field \"%s\": %s pk %lld is neither in the fixture nor imported before",
                         field, orci_imp_models[target].name, (long long)pk);
}

/* ---- small helpers ----------------------------------------------------------------------- */

/* when is a time value: the record's, or the import's time when the fixture had none. */
static int64_t when(const imp_ctx *c, const imp_val *v)
{
    return v->null ? c->lc->now_us : v->i;
}

/* bind_opt binds a nullable text value. */
static void bind_opt(orci_stmt *st, int idx, const imp_val *v)
{
    orci_bind_text(st, idx, v->null ? NULL : v->s);
}

/* bind_opt_time binds a nullable time value. */
static void bind_opt_time(orci_stmt *st, int idx, const imp_val *v)
{
    if (v->null)
        orci_bind_null(st, idx);
    else
        orci_bind_int(st, idx, v->i);
}

/* insert_row runs a bound INSERT ... RETURNING id for record r; a refusal names the record. */
static int insert_row(imp_ctx *c, int model, const imp_rec *r, orci_stmt *st, int64_t *row,
                      orc_error *err)
{
    /* The fixture's highest pk of the model: its records are sorted by pk. */
    const imp_rec *last = &c->p->recs[model][c->p->n[model] - 1];
    orci_bind_int(st, KEEP_ID_TOP, last->pk > 0 ? last->pk : 0);
    orc_error why = {0};
    int code = orci_db_insert(c->lc->db, st, row, &why);
    if (code != ORC_OK)
        return orci_imp_fail(err, code, model, r->pk, "%s", why.message);
    return ORC_OK;
}

/*
 * natural looks a row up by its natural key: the query reads ?1 (an id), ?2 (a text) or both;
 * binding a parameter the query does not use is harmless (the row API ignores it).
 */
static int natural(imp_ctx *c, const char *sql, int64_t a, const char *b, int64_t *row, bool *found,
                   orc_error *err)
{
    orci_stmt *st = orci_db_stmt(c->lc->db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, a);
    orci_bind_text(st, 2, b);
    return orci_db_one_id(c->lc->db, st, row, found, err);
}

/* in_admin_group tells whether a user's groups include upstream's project_admins. */
static bool in_admin_group(const imp_ctx *c, const imp_val *groups)
{
    for (size_t k = 0; k < groups->n; k++)
        for (size_t g = 0; g < c->p->n_groups; g++)
            if (c->p->groups[g].pk == groups->ids[k] &&
                strcmp(c->p->groups[g].name, "project_admins") == 0)
                return true;
    return false;
}

/* ---- one writer per model ------------------------------------------------------------------ */

typedef int (*writer_fn)(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err);

static int write_user(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int code = natural(c, "SELECT id FROM users WHERE username = ?2", 0, v[U_USERNAME].s, row,
                       &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    /* No password: upstream's hashes are not ours to carry over (import.h). */
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "INSERT INTO users (id, username, password, first_name, last_name, email, is_active,"
        " is_staff, is_superuser, created_at, project_admin) VALUES (" KEEP_ID(
            "users") ", ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_text(st, 2, v[U_USERNAME].s);
    orci_bind_text(st, 3, v[U_FIRST].s);
    orci_bind_text(st, 4, v[U_LAST].s);
    orci_bind_text(st, 5, v[U_EMAIL].s);
    orci_bind_int(st, 6, v[U_ACTIVE].i);
    orci_bind_int(st, 7, v[U_STAFF].i);
    orci_bind_int(st, 8, v[U_SUPER].i);
    orci_bind_int(st, 9, when(c, &v[U_JOINED]));
    orci_bind_int(st, 10, in_admin_group(c, &v[U_GROUPS]) ? 1 : 0);
    return insert_row(c, IM_USER, r, st, row, err);
}

static int write_workflow(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int code =
        natural(c, "SELECT id FROM workflows WHERE slug = ?2", 0, v[WF_SLUG].s, row, &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    orci_stmt *st =
        orci_db_stmt(c->lc->db,
                     "INSERT INTO workflows (id, slug, name, description, code_directory,"
                     " sample_data_load_function, created_at) VALUES (" KEEP_ID(
                         "workflows") ", ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_text(st, 2, v[WF_SLUG].s);
    orci_bind_text(st, 3, v[WF_NAME].s);
    orci_bind_text(st, 4, v[WF_DESC].s);
    orci_bind_text(st, 5, v[WF_DIR].s);
    orci_bind_text(st, 6, v[WF_SAMPLE].s);
    orci_bind_int(st, 7, when(c, &v[WF_CREATED]));
    return insert_row(c, IM_WORKFLOW, r, st, row, err);
}

static int write_cert(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int64_t wf = 0;
    int code = orci_imp_resolve(c, IM_CERT, r, "workflow", IM_WORKFLOW, v[C_WORKFLOW].i, &wf, err);
    if (code == ORC_OK)
        code = natural(c, "SELECT id FROM certifications WHERE workflow_id = ?1 AND slug = ?2", wf,
                       v[C_SLUG].s, row, &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "INSERT INTO certifications (id, workflow_id, slug, name,"
                                 " description, created_at) VALUES (" KEEP_ID(
                                     "certifications") ", ?2, ?3, ?4, ?5, ?6) RETURNING id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, wf);
    orci_bind_text(st, 3, v[C_SLUG].s);
    orci_bind_text(st, 4, v[C_NAME].s);
    orci_bind_text(st, 5, v[C_DESC].s);
    orci_bind_int(st, 6, when(c, &v[C_CREATED]));
    return insert_row(c, IM_CERT, r, st, row, err);
}

static int write_version(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int64_t wf = 0;
    int code =
        orci_imp_resolve(c, IM_VERSION, r, "workflow", IM_WORKFLOW, v[V_WORKFLOW].i, &wf, err);
    if (code == ORC_OK)
        code = natural(c, "SELECT id FROM workflow_versions WHERE workflow_id = ?1 AND slug = ?2",
                       wf, v[V_SLUG].s, row, &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "INSERT INTO workflow_versions (id, workflow_id, slug, name, description, created_at,"
        " abort_completion_function) VALUES (" KEEP_ID(
            "workflow_versions") ", ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, wf);
    orci_bind_text(st, 3, v[V_SLUG].s);
    orci_bind_text(st, 4, v[V_NAME].s);
    orci_bind_text(st, 5, v[V_DESC].s);
    orci_bind_int(st, 6, when(c, &v[V_CREATED]));
    orci_bind_text(st, 7, v[V_ABORT].s);
    return insert_row(c, IM_VERSION, r, st, row, err);
}

/* version_created tells whether this import created the version of upstream's pk. */
static bool version_created(const imp_ctx *c, int64_t pk)
{
    const imp_rec *v = c->p->recs[IM_VERSION];
    size_t lo = 0, hi = c->p->n[IM_VERSION];
    while (lo < hi) { /* the records are sorted by pk */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].pk == pk)
            return c->created[IM_VERSION][mid];
        if (v[mid].pk < pk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/*
 * step_in_loaded_version refuses a step missing from a version that was here before the
 * import with its steps (loaded from its folder, say): the two versions differ. A version
 * this import created gets its steps from the fixture.
 */
static int step_in_loaded_version(imp_ctx *c, const imp_rec *r, int64_t version, orc_error *err)
{
    if (version_created(c, r->v[S_VERSION].i))
        return ORC_OK;
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "SELECT w.slug, v.slug FROM workflow_versions v"
                                 " JOIN workflows w ON w.id = v.workflow_id WHERE v.id = ?1"
                                 " AND EXISTS (SELECT 1 FROM steps WHERE workflow_version_id"
                                 " = v.id)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, version);
    int got = orci_db_row(c->lc->db, st, err);
    if (got <= 0)
        return got < 0 ? orci_db_code(err) : ORC_OK;
    int code = orci_imp_fail(err, ORC_FAILED_PRECONDITION, IM_STEP, r->pk,
                             "workflow version %.200s/%.200s is already here without a step "
                             "\"%.200s\": load the version the fixture was made with, or import "
                             "into a database without this one",
                             orci_col_text(st, 0), orci_col_text(st, 1), r->v[S_SLUG].s);
    orci_stmt_reset(st);
    return code;
}

static int write_step(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int64_t ver = 0;
    int code =
        orci_imp_resolve(c, IM_STEP, r, "workflow_version", IM_VERSION, v[S_VERSION].i, &ver, err);
    if (code == ORC_OK)
        code = natural(c, "SELECT id FROM steps WHERE workflow_version_id = ?1 AND slug = ?2", ver,
                       v[S_SLUG].s, row, &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    if ((code = step_in_loaded_version(c, r, ver, err)) != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
        " execution_function, assignment_policy, review_policy, user_interface, position,"
        " created_at, creation_policy, completion_ends_project) VALUES (" KEEP_ID(
            "steps") ", ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?1, ?11, ?12, ?13) RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    /* Upstream orders steps by id: the pk is the position. */
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, ver);
    orci_bind_text(st, 3, v[S_SLUG].s);
    orci_bind_text(st, 4, v[S_NAME].s);
    orci_bind_text(st, 5, v[S_DESC].s);
    orci_bind_int(st, 6, v[S_HUMAN].i);
    orci_bind_text(st, 7, v[S_EXEC].s);
    orci_bind_text(st, 8, v[S_ASSIGNMENT].s);
    orci_bind_text(st, 9, v[S_REVIEW].s);
    orci_bind_text(st, 10, v[S_UI].s);
    orci_bind_int(st, 11, when(c, &v[S_CREATED]));
    orci_bind_text(st, 12, v[S_CREATION_POLICY].s);
    orci_bind_int(st, 13, v[S_ENDS].i);
    return insert_row(c, IM_STEP, r, st, row, err);
}

static int write_worker(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int64_t user = 0;
    int code = orci_imp_resolve(c, IM_WORKER, r, "user", IM_USER, v[W_USER].i, &user, err);
    if (code == ORC_OK)
        code =
            natural(c, "SELECT id FROM workers WHERE user_id = ?1", user, NULL, row, &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "INSERT INTO workers (id, user_id, start_datetime,"
                                 " slack_username, slack_user_id, phone) VALUES (" KEEP_ID(
                                     "workers") ", ?2, ?3, ?4, ?5, ?6) RETURNING id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, user);
    orci_bind_int(st, 3, when(c, &v[W_START]));
    bind_opt(st, 4, &v[W_SLACK]);
    bind_opt(st, 5, &v[W_SLACK_ID]);
    bind_opt(st, 6, &v[W_PHONE]);
    return insert_row(c, IM_WORKER, r, st, row, err);
}

static int write_wcert(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    bool found = false;
    int64_t cert = 0, worker = 0;
    int code = orci_imp_resolve(c, IM_WCERT, r, "certification", IM_CERT, v[WC_CERT].i, &cert, err);
    if (code == ORC_OK)
        code = orci_imp_resolve(c, IM_WCERT, r, "worker", IM_WORKER, v[WC_WORKER].i, &worker, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(c->lc->db,
                                 "SELECT id FROM worker_certifications WHERE"
                                 " certification_id = ?1 AND worker_id = ?2 AND task_class ="
                                 " ?3 AND role = ?4",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, cert);
    orci_bind_int(st, 2, worker);
    orci_bind_int(st, 3, v[WC_CLASS].i);
    orci_bind_int(st, 4, v[WC_ROLE].i);
    code = orci_db_one_id(c->lc->db, st, row, &found, err);
    *created = code == ORC_OK && !found;
    if (!*created)
        return code;
    st = orci_db_stmt(c->lc->db,
                      "INSERT INTO worker_certifications (id, certification_id, worker_id,"
                      " task_class, role, created_at) VALUES (" KEEP_ID(
                          "worker_certifications") ", ?2, ?3, ?4, ?5, ?6) RETURNING id",
                      err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, cert);
    orci_bind_int(st, 3, worker);
    orci_bind_int(st, 4, v[WC_CLASS].i);
    orci_bind_int(st, 5, v[WC_ROLE].i);
    orci_bind_int(st, 6, when(c, &v[WC_CREATED]));
    return insert_row(c, IM_WCERT, r, st, row, err);
}

static int write_project(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    int64_t ver = 0;
    *created = true;
    int code = orci_imp_resolve(c, IM_PROJECT, r, "workflow_version", IM_VERSION, v[P_VERSION].i,
                                &ver, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st =
        orci_db_stmt(c->lc->db,
                     "INSERT INTO projects (id, start_datetime, status, workflow_version_id,"
                     " short_description, priority, project_data, task_class, team_messages_url,"
                     " slack_group_id) VALUES (" KEEP_ID(
                         "projects") ", ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, when(c, &v[P_START]));
    orci_bind_int(st, 3, v[P_STATUS].i);
    orci_bind_int(st, 4, ver);
    orci_bind_text(st, 5, v[P_DESC].s);
    orci_bind_int(st, 6, v[P_PRIORITY].i);
    orci_bind_text(st, 7, v[P_DATA].s);
    orci_bind_int(st, 8, v[P_CLASS].i);
    bind_opt(st, 9, &v[P_URL]);
    bind_opt(st, 10, &v[P_SLACK]);
    return insert_row(c, IM_PROJECT, r, st, row, err);
}

/* same_version refuses a task whose step is not of its project's workflow version. */
static int same_version(imp_ctx *c, const imp_rec *r, int64_t step, int64_t project, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "SELECT (SELECT workflow_version_id FROM steps WHERE id = ?1)"
        " IS NOT DISTINCT FROM (SELECT workflow_version_id FROM projects WHERE id = ?2)",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, step);
    orci_bind_int(st, 2, project);
    int64_t same = 0;
    bool found = false;
    int code = orci_db_one_id(c->lc->db, st, &same, &found, err);
    if (code == ORC_OK && !same)
        code = orci_imp_fail(err, ORC_FAILED_PRECONDITION, IM_TASK, r->pk,
                             "its step (orchestra.step pk %lld) is not a step of its project's "
                             "workflow version (orchestra.project pk %lld)",
                             (long long)r->v[T_STEP].i, (long long)r->v[T_PROJECT].i);
    return code;
}

static int write_task(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created, orc_error *err)
{
    const imp_val *v = r->v;
    int64_t step = 0, project = 0;
    *created = true;
    int code = orci_imp_resolve(c, IM_TASK, r, "step", IM_STEP, v[T_STEP].i, &step, err);
    if (code == ORC_OK)
        code =
            orci_imp_resolve(c, IM_TASK, r, "project", IM_PROJECT, v[T_PROJECT].i, &project, err);
    if (code == ORC_OK)
        code = same_version(c, r, step, project, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st =
        orci_db_stmt(c->lc->db,
                     "INSERT INTO tasks (id, start_datetime, step_id, project_id,"
                     " status) VALUES (" KEEP_ID("tasks") ", ?2, ?3, ?4, ?5) RETURNING id",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, when(c, &v[T_START]));
    orci_bind_int(st, 3, step);
    orci_bind_int(st, 4, project);
    orci_bind_int(st, 5, v[T_STATUS].i);
    return insert_row(c, IM_TASK, r, st, row, err);
}

static int write_assignment(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created,
                            orc_error *err)
{
    const imp_val *v = r->v;
    int64_t task = 0, worker = 0;
    *created = true;
    int code = orci_imp_resolve(c, IM_ASSIGNMENT, r, "task", IM_TASK, v[A_TASK].i, &task, err);
    if (code == ORC_OK && !v[A_WORKER].null)
        code =
            orci_imp_resolve(c, IM_ASSIGNMENT, r, "worker", IM_WORKER, v[A_WORKER].i, &worker, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "INSERT INTO task_assignments (id, created_at, is_deleted, start_datetime, worker_id,"
        " task_id, status, assignment_counter, in_progress_task_data) VALUES (" KEEP_ID(
            "task_assignments") ", ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, when(c, &v[A_CREATED]));
    orci_bind_int(st, 3, v[A_DELETED].i);
    orci_bind_int(st, 4, when(c, &v[A_START]));
    if (worker > 0)
        orci_bind_int(st, 5, worker);
    else
        orci_bind_null(st, 5);
    orci_bind_int(st, 6, task);
    orci_bind_int(st, 7, v[A_STATUS].i);
    orci_bind_int(st, 8, v[A_COUNTER].i);
    orci_bind_text(st, 9, v[A_DATA].s);
    return insert_row(c, IM_ASSIGNMENT, r, st, row, err);
}

static int write_iteration(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created,
                           orc_error *err)
{
    const imp_val *v = r->v;
    int64_t assignment = 0;
    *created = true;
    int code = orci_imp_resolve(c, IM_ITERATION, r, "assignment", IM_ASSIGNMENT, v[I_ASSIGNMENT].i,
                                &assignment, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "INSERT INTO iterations (id, created_at, is_deleted, start_datetime, end_datetime,"
        " assignment_id, status, submitted_data) VALUES (" KEEP_ID(
            "iterations") ", ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, when(c, &v[I_CREATED]));
    orci_bind_int(st, 3, v[I_DELETED].i);
    orci_bind_int(st, 4, when(c, &v[I_START]));
    bind_opt_time(st, 5, &v[I_END]);
    orci_bind_int(st, 6, assignment);
    orci_bind_int(st, 7, v[I_STATUS].i);
    orci_bind_text(st, 8, v[I_DATA].s);
    return insert_row(c, IM_ITERATION, r, st, row, err);
}

static int write_timeentry(imp_ctx *c, const imp_rec *r, int64_t *row, bool *created,
                           orc_error *err)
{
    const imp_val *v = r->v;
    int64_t worker = 0, assignment = 0;
    *created = true;
    int code = ORC_OK;
    if (!v[E_WORKER].null)
        code =
            orci_imp_resolve(c, IM_TIMEENTRY, r, "worker", IM_WORKER, v[E_WORKER].i, &worker, err);
    if (code == ORC_OK && !v[E_ASSIGNMENT].null)
        code = orci_imp_resolve(c, IM_TIMEENTRY, r, "assignment", IM_ASSIGNMENT, v[E_ASSIGNMENT].i,
                                &assignment, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(
        c->lc->db,
        "INSERT INTO time_entries (id, created_at, is_deleted, date, time_worked_us, worker_id,"
        " assignment_id, description, timer_start_time, timer_stop_time) VALUES (" KEEP_ID(
            "time_entries") ", ?2, ?3, ?4, ?5, nullif(?6, 0), nullif(?7, 0), ?8, ?9, ?10) "
                            "RETURNING id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    char date[16];
    orci_tt_format_date(v[E_DATE].i, date, sizeof date);
    orci_bind_int(st, 1, r->pk);
    orci_bind_int(st, 2, when(c, &v[E_CREATED]));
    orci_bind_int(st, 3, v[E_DELETED].i);
    orci_bind_text(st, 4, date);
    orci_bind_int(st, 5, v[E_WORKED].i);
    orci_bind_int(st, 6, worker);
    orci_bind_int(st, 7, assignment);
    bind_opt(st, 8, &v[E_DESC]);
    bind_opt_time(st, 9, &v[E_TIMER_START]);
    bind_opt_time(st, 10, &v[E_TIMER_STOP]);
    return insert_row(c, IM_TIMEENTRY, r, st, row, err);
}

static const writer_fn writers[ORCI_IMPORT_N_MODELS] = {
    [IM_USER] = write_user,           [IM_WORKFLOW] = write_workflow,
    [IM_CERT] = write_cert,           [IM_VERSION] = write_version,
    [IM_STEP] = write_step,           [IM_WORKER] = write_worker,
    [IM_WCERT] = write_wcert,         [IM_PROJECT] = write_project,
    [IM_TASK] = write_task,           [IM_ASSIGNMENT] = write_assignment,
    [IM_ITERATION] = write_iteration, [IM_TIMEENTRY] = write_timeentry,
};

int orci_imp_write_rows(imp_ctx *c, orc_error *err)
{
    for (int m = 0; m < ORCI_IMPORT_N_MODELS; m++) {
        orci_import_count *count = &c->res->counts[m];
        count->model = orci_imp_models[m].name;
        for (size_t i = 0; i < c->p->n[m]; i++) {
            const imp_rec *r = &c->p->recs[m][i];
            bool found = false, created = false;
            int64_t row = 0;
            int code = map_find(c, m, r->pk, &row, &found, err);
            if (code == ORC_OK && !found) {
                if ((code = writers[m](c, r, &row, &created, err)) == ORC_OK)
                    code = map_put(c, m, r->pk, row, created, err);
            }
            if (code != ORC_OK)
                return code;
            c->rows[m][i] = row;
            c->created[m][i] = created;
            if (created)
                count->created++;
            else
                count->existing++;
        }
    }
    return ORC_OK;
}
