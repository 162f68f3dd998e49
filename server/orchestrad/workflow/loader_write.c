/*
 * loader_write.c: writing a validated plan (loader_plan.c) on the writer thread: the
 * comparison with a stored version (--force), then the workflow, its certifications, the
 * version, its steps and their dependencies; load-all's writing. Every check runs before the
 * first write.
 */
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "workflow/loader.h"
#include "workflow/loader_internal.h"
#include "workflow/sampledata.h"

/* ------------------------------------------------------------------------------------- */
/* applying */

static int lookup_id(orci_db *db, const char *sql, int64_t a, const char *b, int64_t *id,
                     bool *found, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, a);
    orci_bind_text(st, 2, b);
    return orci_db_one_id(db, st, id, found, err);
}

/* lookup_slug finds the id of the workflow with this slug. */
static int lookup_slug(orci_db *db, const char *slug, int64_t *id, bool *found, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, "SELECT id FROM workflows WHERE slug = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, slug);
    return orci_db_one_id(db, st, id, found, err);
}

static const char FORCE_STEPS_MSG[] =
    "Even with --force, cannot change the steps of a workflow. Drop and recreate the "
    "database to reset, or create a new version for your workflow.";
static const char FORCE_TOPOLOGY_MSG[] =
    "Even with --force, cannot change the topology of a workflow. Drop and recreate the "
    "database to reset, or create a new version for your workflow.";

/* check_same_steps refuses a forced reload that would change the set of step slugs. */
static int check_same_steps(orci_db *db, const orci_load_plan *p, const slug_ix *six,
                            int64_t version_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, "SELECT slug FROM steps WHERE workflow_version_id = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, version_id);
    size_t stored = 0;
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        stored++;
        if (orci_ldi_ix_find(six, p->n_steps, orci_col_text(st, 0)) < 0) {
            orci_stmt_reset(st);
            return orc_error_set(err, ORC_FAILED_PRECONDITION, "%s", FORCE_STEPS_MSG);
        }
    }
    if (r < 0)
        return orci_db_code(err);
    if (stored != p->n_steps)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "%s", FORCE_STEPS_MSG);
    return ORC_OK;
}

/* check_same_edges refuses a forced reload that would change one dependency relation. */
static int check_same_edges(orci_db *db, const orci_load_plan *p, const slug_ix *six,
                            int64_t version_id, bool creation, orc_error *err)
{
    const char *sql = creation ? "SELECT s.slug, d.slug FROM step_creation_deps e "
                                 "JOIN steps s ON s.id = e.step_id "
                                 "JOIN steps d ON d.id = e.depends_on_id "
                                 "WHERE s.workflow_version_id = ?1"
                               : "SELECT s.slug, d.slug FROM step_submission_deps e "
                                 "JOIN steps s ON s.id = e.step_id "
                                 "JOIN steps d ON d.id = e.depends_on_id "
                                 "WHERE s.workflow_version_id = ?1";
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, version_id);
    size_t stored = 0, planned = 0;
    for (size_t i = 0; i < p->n_steps; i++)
        planned +=
            creation ? p->steps[i].n_creation_depends_on : p->steps[i].n_submission_depends_on;
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        stored++;
        long k = orci_ldi_ix_find(six, p->n_steps, orci_col_text(st, 0));
        bool same = false;
        if (k >= 0) {
            const orci_load_step *s = &p->steps[k];
            same = creation ? orci_ldi_strv_has(s->creation_depends_on, s->n_creation_depends_on,
                                                orci_col_text(st, 1))
                            : orci_ldi_strv_has(s->submission_depends_on,
                                                s->n_submission_depends_on, orci_col_text(st, 1));
        }
        if (!same) {
            orci_stmt_reset(st);
            return orc_error_set(err, ORC_FAILED_PRECONDITION, "%s", FORCE_TOPOLOGY_MSG);
        }
    }
    if (r < 0)
        return orci_db_code(err);
    if (stored != planned)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "%s", FORCE_TOPOLOGY_MSG);
    return ORC_OK;
}

static int write_workflow(orci_db *db, const orci_load_plan *p, int64_t now_us,
                          int64_t *workflow_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "INSERT INTO workflows (slug, name, description, code_directory, "
        "sample_data_load_function, sample_data, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (slug) DO UPDATE SET name = excluded.name, "
        "description = excluded.description, code_directory = excluded.code_directory, "
        "sample_data_load_function = excluded.sample_data_load_function, "
        "sample_data = excluded.sample_data",
        err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, p->workflow_slug);
    orci_bind_text(st, 2, p->workflow_name);
    orci_bind_text(st, 3, p->workflow_description);
    orci_bind_text(st, 4, p->code_directory);
    orci_bind_text(st, 5, p->sample_data_load_function);
    orci_bind_text(st, 6, p->sample_data);
    orci_bind_int(st, 7, now_us);
    int rc = orci_db_step(db, st, err);
    if (rc != ORC_OK)
        return rc;
    bool found;
    rc = lookup_slug(db, p->workflow_slug, workflow_id, &found, err);
    if (rc == ORC_OK && !found)
        rc = orc_error_set(err, ORC_INTERNAL, "workflow %s vanished while loading",
                           p->workflow_slug);
    return rc;
}

static int write_certs(orci_db *db, const orci_load_plan *p, int64_t workflow_id, int64_t now_us,
                       int64_t *cert_ids, const slug_ix *cix, orc_error *err)
{
    int rc;
    for (size_t i = 0; i < p->n_certs; i++) {
        const orci_load_cert *c = &p->certs[i];
        orci_stmt *st = orci_db_stmt(
            db,
            "INSERT INTO certifications (workflow_id, slug, name, description, created_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (workflow_id, slug) DO UPDATE SET "
            "name = excluded.name, description = excluded.description",
            err);
        if (!st)
            return orci_db_code(err);
        orci_bind_int(st, 1, workflow_id);
        orci_bind_text(st, 2, c->slug);
        orci_bind_text(st, 3, c->name);
        orci_bind_text(st, 4, c->description);
        orci_bind_int(st, 5, now_us);
        if ((rc = orci_db_step(db, st, err)) != ORC_OK)
            return rc;
        bool found;
        rc = lookup_id(db, "SELECT id FROM certifications WHERE workflow_id = ?1 AND slug = ?2",
                       workflow_id, c->slug, &cert_ids[i], &found, err);
        if (rc != ORC_OK)
            return rc;
        if (!found)
            return orc_error_set(err, ORC_INTERNAL, "certification %s vanished while loading",
                                 c->slug);
    }
    /* Reset the prerequisite links of the certifications of this file. */
    for (size_t i = 0; i < p->n_certs; i++) {
        orci_stmt *st = orci_db_stmt(
            db, "DELETE FROM certification_requirements WHERE certification_id = ?1", err);
        if (!st)
            return orci_db_code(err);
        orci_bind_int(st, 1, cert_ids[i]);
        if ((rc = orci_db_step(db, st, err)) != ORC_OK)
            return rc;
        for (size_t j = 0; j < p->certs[i].n_required; j++) {
            long k = orci_ldi_ix_find(cix, p->n_certs, p->certs[i].required[j]);
            if (k < 0)
                return orc_error_set(err, ORC_INTERNAL, "unplanned certification requirement");
            st = orci_db_stmt(db,
                              "INSERT INTO certification_requirements "
                              "(certification_id, required_id) VALUES (?1, ?2)",
                              err);
            if (!st)
                return orci_db_code(err);
            orci_bind_int(st, 1, cert_ids[i]);
            orci_bind_int(st, 2, cert_ids[k]);
            if ((rc = orci_db_step(db, st, err)) != ORC_OK)
                return rc;
        }
    }
    return ORC_OK;
}

static void bind_step_fields(orci_stmt *st, const orci_load_step *s, size_t position)
{
    orci_bind_text(st, 3, s->name);
    orci_bind_text(st, 4, s->description);
    orci_bind_int(st, 5, s->is_human ? 1 : 0);
    orci_bind_text(st, 6, s->execution_function);
    orci_bind_text(st, 7, s->assignment_policy);
    orci_bind_text(st, 8, s->review_policy);
    orci_bind_text(st, 9, s->user_interface);
    orci_bind_text(st, 10, s->retry_policy);
    orci_bind_int(st, 11, (int64_t)position);
    orci_bind_text(st, 13, s->creation_policy);
    orci_bind_int(st, 14, s->completion_ends_project ? 1 : 0);
}

static int write_step(orci_db *db, const orci_load_step *s, size_t position, int64_t version_id,
                      bool existing, int64_t now_us, int64_t *step_id, orc_error *err)
{
    int rc;
    orci_stmt *st;
    if (existing) {
        st = orci_db_stmt(db,
                          "UPDATE steps SET name = ?3, description = ?4, is_human = ?5, "
                          "execution_function = ?6, assignment_policy = ?7, "
                          "review_policy = ?8, user_interface = ?9, retry_policy = ?10, "
                          "position = ?11, creation_policy = ?13, "
                          "completion_ends_project = ?14 "
                          "WHERE workflow_version_id = ?1 AND slug = ?2",
                          err);
        if (!st)
            return orci_db_code(err);
        orci_bind_int(st, 1, version_id);
        orci_bind_text(st, 2, s->slug);
        bind_step_fields(st, s, position);
        if ((rc = orci_db_step(db, st, err)) != ORC_OK)
            return rc;
        bool found;
        rc = lookup_id(db, "SELECT id FROM steps WHERE workflow_version_id = ?1 AND slug = ?2",
                       version_id, s->slug, step_id, &found, err);
        if (rc == ORC_OK && !found)
            rc = orc_error_set(err, ORC_INTERNAL, "step %s vanished while loading", s->slug);
        return rc;
    }
    st = orci_db_stmt(db,
                      "INSERT INTO steps (workflow_version_id, slug, name, description, "
                      "is_human, execution_function, assignment_policy, review_policy, "
                      "user_interface, retry_policy, position, created_at, creation_policy, "
                      "completion_ends_project) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                      " RETURNING id",
                      err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, version_id);
    orci_bind_text(st, 2, s->slug);
    bind_step_fields(st, s, position);
    orci_bind_int(st, 12, now_us);
    return orci_db_insert(db, st, step_id, err);
}

static int write_step_certs(orci_db *db, const orci_load_plan *p, const orci_load_step *s,
                            int64_t step_id, const int64_t *cert_ids, const slug_ix *cix,
                            orc_error *err)
{
    int rc;
    orci_stmt *st = orci_db_stmt(db, "DELETE FROM step_certifications WHERE step_id = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, step_id);
    if ((rc = orci_db_step(db, st, err)) != ORC_OK)
        return rc;
    for (size_t j = 0; j < s->n_required_certifications; j++) {
        long k = orci_ldi_ix_find(cix, p->n_certs, s->required_certifications[j]);
        if (k < 0)
            return orc_error_set(err, ORC_INTERNAL, "unplanned step certification");
        st = orci_db_stmt(
            db, "INSERT INTO step_certifications (step_id, certification_id) VALUES (?1, ?2)", err);
        if (!st)
            return orci_db_code(err);
        orci_bind_int(st, 1, step_id);
        orci_bind_int(st, 2, cert_ids[k]);
        if ((rc = orci_db_step(db, st, err)) != ORC_OK)
            return rc;
    }
    return ORC_OK;
}

static int write_deps(orci_db *db, const orci_load_plan *p, const int64_t *step_ids,
                      const slug_ix *six, orc_error *err)
{
    int rc;
    for (size_t i = 0; i < p->n_steps; i++) {
        const orci_load_step *s = &p->steps[i];
        for (size_t k = 0; k < orci_ldi_n_deps(s); k++) {
            bool creation = k < s->n_creation_depends_on;
            long d = orci_ldi_ix_find(six, p->n_steps, orci_ldi_dep_at(s, k));
            if (d < 0)
                return orc_error_set(err, ORC_INTERNAL, "unplanned step dependency");
            orci_stmt *st = orci_db_stmt(db,
                                         creation ? "INSERT INTO step_creation_deps (step_id, "
                                                    "depends_on_id) VALUES (?1, ?2)"
                                                  : "INSERT INTO step_submission_deps (step_id, "
                                                    "depends_on_id) VALUES (?1, ?2)",
                                         err);
            if (!st)
                return orci_db_code(err);
            orci_bind_int(st, 1, step_ids[i]);
            orci_bind_int(st, 2, step_ids[d]);
            if ((rc = orci_db_step(db, st, err)) != ORC_OK)
                return rc;
        }
    }
    return ORC_OK;
}

/* check_directory refuses a code directory another workflow already uses. */
static int check_directory(orci_db *db, const orci_load_plan *p, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db, "SELECT slug FROM workflows WHERE code_directory = ?1 AND slug <> ?2", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, p->code_directory);
    orci_bind_text(st, 2, p->workflow_slug);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return ORC_OK;
    int rc = orc_error_set(err, ORC_ALREADY_EXISTS,
                           "Workflow directory %s is already used by workflow %s",
                           p->code_directory, orci_col_text(st, 0));
    orci_stmt_reset(st);
    return rc;
}

/*
 * check_stored compares the plan with what is stored, before anything is written: the
 * workflow's and version's ids (0 when new), and for a version that exists, --force and the
 * same steps and dependencies.
 */
static int check_stored(orci_db *db, const orci_load_plan *p, const slug_ix *six, bool force,
                        int64_t *workflow_id, int64_t *version_id, orc_error *err)
{
    bool have_workflow = false, have_version = false;
    *workflow_id = *version_id = 0;
    int rc = lookup_slug(db, p->workflow_slug, workflow_id, &have_workflow, err);
    if (rc == ORC_OK && have_workflow)
        rc = lookup_id(db, "SELECT id FROM workflow_versions WHERE workflow_id = ?1 AND slug = ?2",
                       *workflow_id, p->version_slug, version_id, &have_version, err);
    if (rc != ORC_OK)
        return rc;
    if (have_version && !force)
        return orc_error_set(err, ORC_ALREADY_EXISTS, "Version %s already exists", p->version_slug);
    if (have_version && ((rc = check_same_steps(db, p, six, *version_id, err)) != ORC_OK ||
                         (rc = check_same_edges(db, p, six, *version_id, true, err)) != ORC_OK ||
                         (rc = check_same_edges(db, p, six, *version_id, false, err)) != ORC_OK))
        return rc;
    return check_directory(db, p, err);
}

/* write_version updates the stored version (version_id > 0) or inserts it (*version_id). */
static int write_version(orci_db *db, const orci_load_plan *p, int64_t workflow_id, int64_t now_us,
                         int64_t *version_id, orc_error *err)
{
    bool update = *version_id > 0;
    orci_stmt *st =
        update ? orci_db_stmt(db,
                              "UPDATE workflow_versions SET name = ?2, description = ?3, "
                              "abort_completion_function = ?6 WHERE id = ?1",
                              err)
               : orci_db_stmt(db,
                              "INSERT INTO workflow_versions (workflow_id, name, description, "
                              "slug, created_at, abort_completion_function) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                              err);
    if (!st)
        return orci_db_code(err);
    if (update) {
        orci_bind_int(st, 1, *version_id);
    } else {
        orci_bind_int(st, 1, workflow_id);
        orci_bind_text(st, 4, p->version_slug);
        orci_bind_int(st, 5, now_us);
    }
    orci_bind_text(st, 2, p->version_name);
    orci_bind_text(st, 3, p->version_description);
    orci_bind_text(st, 6, p->abort_completion_function);
    return update ? orci_db_step(db, st, err) : orci_db_insert(db, st, version_id, err);
}

int orci_loader_apply(orci_db *db, const orci_load_plan *p, bool force, int64_t now_us,
                      orc_error *err)
{
    int rc = ORC_OK;
    slug_ix *six = orci_ldi_steps_index(p);
    slug_ix *cix = orci_ldi_certs_index(p);
    int64_t *cert_ids = calloc(p->n_certs ? p->n_certs : 1, sizeof *cert_ids);
    int64_t *step_ids = calloc(p->n_steps ? p->n_steps : 1, sizeof *step_ids);
    int64_t workflow_id = 0, version_id = 0;
    if (!six || !cix || !cert_ids || !step_ids) {
        rc = orci_ldi_oom(err);
        goto out;
    }
    /* 1. Compare with the stored state; nothing is written before all of it passed. */
    if ((rc = check_stored(db, p, six, force, &workflow_id, &version_id, err)) != ORC_OK)
        goto out;
    bool have_version = version_id > 0;
    /* 2. Write. */
    if ((rc = write_workflow(db, p, now_us, &workflow_id, err)) != ORC_OK ||
        (rc = write_certs(db, p, workflow_id, now_us, cert_ids, cix, err)) != ORC_OK ||
        (rc = write_version(db, p, workflow_id, now_us, &version_id, err)) != ORC_OK)
        goto out;
    for (size_t i = 0; i < p->n_steps; i++) {
        rc = write_step(db, &p->steps[i], i, version_id, have_version, now_us, &step_ids[i], err);
        if (rc != ORC_OK)
            goto out;
        rc = write_step_certs(db, p, &p->steps[i], step_ids[i], cert_ids, cix, err);
        if (rc != ORC_OK)
            goto out;
    }
    /* A forced reload has the same dependencies (checked above): only new versions add. */
    if (!have_version)
        rc = write_deps(db, p, step_ids, six, err);
out:
    free(six);
    free(cix);
    free(cert_ids);
    free(step_ids);
    return rc;
}

int orci_loader_apply_all(orci_db *db, orci_load_all *all, bool force, int64_t now_us,
                          orc_error *err)
{
    int rc;
    for (size_t i = 0; i < all->n_items; i++) {
        orci_load_item *it = &all->items[i];
        if (!it->plan)
            continue;
        if ((rc = orci_db_exec(db, "SAVEPOINT orci_load_version", err)) != ORC_OK)
            return rc;
        orc_error e = {0};
        if (orci_loader_apply(db, it->plan, force, now_us, &e) != ORC_OK) {
            orci_ldi_item_fail(it, &e);
            if ((rc = orci_db_exec(db, "ROLLBACK TO orci_load_version", err)) != ORC_OK)
                return rc;
        } else {
            it->status = ORC_OK;
            it->message[0] = '\0';
        }
        if ((rc = orci_db_exec(db, "RELEASE orci_load_version", err)) != ORC_OK)
            return rc;
    }
    return ORC_OK;
}
