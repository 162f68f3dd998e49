/*
 * sampledata.c: parsing and loading sample_data.json (format in plugins/README.md).
 *
 * Upstream ran a Python function (sample_data_load_function) inside a transaction; the
 * function of both example apps created users, workers and worker certifications. We load
 * the same objects from a declarative file that the loader stored with the workflow.
 */
#include "workflow/sampledata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "json.h"
#include "store/model.h"
#include "vec.h"

#define USERNAME_MAX 150

static int oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory while reading sample data");
}

static const char *task_class_word(int task_class)
{
    return task_class == ORCI_TASK_CLASS_REAL ? "real" : "training";
}

void orci_sample_data_free(orci_sample_data *sd)
{
    if (!sd)
        return;
    for (size_t i = 0; i < sd->n_users; i++) {
        orci_sample_user *u = &sd->users[i];
        free(u->username);
        free(u->password);
        free(u->first_name);
        free(u->last_name);
        free(u->email);
        for (size_t j = 0; j < u->n_certs; j++)
            free(u->certs[j].certification);
        free(u->certs);
    }
    free(sd->users);
    free(sd);
}

/* only_keys refuses keys of obj outside the NULL-terminated list `allowed`. */
static int only_keys(const json_t *obj, const char *const *allowed, const char *ctx, orc_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: unknown key \"%s\"", ctx, key);
    }
    return ORC_OK;
}

/* opt_string copies obj[key] (a string, or dflt when absent) into *out. */
static int opt_string(const json_t *obj, const char *key, const char *dflt, const char *ctx,
                      char **out, orc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_string(v))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"%s\" must be a string", ctx, key);
    *out = strdup(v ? json_string_value(v) : dflt);
    return *out ? ORC_OK : oom(err);
}

static int opt_bool(const json_t *obj, const char *key, bool dflt, const char *ctx, bool *out,
                    orc_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_boolean(v))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"%s\" must be true or false", ctx,
                             key);
    *out = v ? json_is_true(v) : dflt;
    return ORC_OK;
}

static int parse_cert(const json_t *jc, const char *ctx, const char *const *cert_slugs,
                      size_t n_cert_slugs, orci_sample_cert *c, orc_error *err)
{
    static const char *const keys[] = {"certification", "role", "task_class", NULL};
    if (!json_is_object(jc))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not an object", ctx);
    int rc = only_keys(jc, keys, ctx, err);
    if (rc != ORC_OK)
        return rc;
    json_t *slug = json_object_get(jc, "certification");
    if (!json_is_string(slug))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"certification\" must be a certification slug", ctx);
    if (cert_slugs) {
        bool known = false;
        for (size_t i = 0; i < n_cert_slugs && !known; i++)
            known = strcmp(cert_slugs[i], json_string_value(slug)) == 0;
        if (!known)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "%s: certification \"%s\" is not defined in workflow.json", ctx,
                                 json_string_value(slug));
    }
    json_t *role = json_object_get(jc, "role");
    const char *r = json_is_string(role) ? json_string_value(role) : "";
    if (strcmp(r, "entry_level") == 0)
        c->role = ORCI_ROLE_ENTRY_LEVEL;
    else if (strcmp(r, "reviewer") == 0)
        c->role = ORCI_ROLE_REVIEWER;
    else
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"role\" must be \"entry_level\" or \"reviewer\"", ctx);
    json_t *tc = json_object_get(jc, "task_class");
    const char *t = tc == NULL ? "real" : json_is_string(tc) ? json_string_value(tc) : "";
    if (strcmp(t, "real") == 0)
        c->task_class = ORCI_TASK_CLASS_REAL;
    else if (strcmp(t, "training") == 0)
        c->task_class = ORCI_TASK_CLASS_TRAINING;
    else
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"task_class\" must be \"real\" or \"training\"", ctx);
    c->certification = strdup(json_string_value(slug));
    return c->certification ? ORC_OK : oom(err);
}

static int parse_user(const json_t *ju, size_t idx, const char *const *cert_slugs,
                      size_t n_cert_slugs, orci_sample_user *u, orc_error *err)
{
    static const char *const keys[] = {"username",  "password",       "first_name",
                                       "last_name", "email",          "is_staff",
                                       "worker",    "certifications", NULL};
    char ctx[256];
    snprintf(ctx, sizeof ctx, "sample_data.json: user %zu", idx + 1);
    if (!json_is_object(ju))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not an object", ctx);
    json_t *name = json_object_get(ju, "username");
    if (!json_is_string(name) || json_string_length(name) == 0 ||
        orci_utf8_chars(json_string_value(name)) > USERNAME_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"username\" must be a string of 1 to %d characters", ctx,
                             USERNAME_MAX);
    snprintf(ctx, sizeof ctx, "sample_data.json: user \"%.150s\"", json_string_value(name));
    int rc = only_keys(ju, keys, ctx, err);
    if (rc != ORC_OK)
        return rc;
    u->username = strdup(json_string_value(name));
    if (!u->username)
        return oom(err);

    json_t *pw = json_object_get(ju, "password");
    if (!json_is_string(pw))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"password\" is missing", ctx);
    if (!orci_password_hash_valid(json_string_value(pw)))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"password\" must be a password hash "
                             "\"pbkdf2-sha256$<iterations>$<salt>$<hash>\"; plain-text "
                             "passwords are refused",
                             ctx);
    u->password = strdup(json_string_value(pw));
    if (!u->password)
        return oom(err);
    if ((rc = opt_string(ju, "first_name", "", ctx, &u->first_name, err)) != ORC_OK ||
        (rc = opt_string(ju, "last_name", "", ctx, &u->last_name, err)) != ORC_OK ||
        (rc = opt_string(ju, "email", "", ctx, &u->email, err)) != ORC_OK ||
        (rc = opt_bool(ju, "is_staff", false, ctx, &u->is_staff, err)) != ORC_OK ||
        (rc = opt_bool(ju, "worker", true, ctx, &u->worker, err)) != ORC_OK)
        return rc;

    json_t *certs = json_object_get(ju, "certifications");
    if (!certs)
        return ORC_OK;
    if (!json_is_array(certs))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s: \"certifications\" must be a list",
                             ctx);
    size_t n = json_array_size(certs);
    if (n > 0 && !u->worker)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: only a worker (\"worker\": true) can hold certifications", ctx);
    if (n == 0)
        return ORC_OK;
    u->certs = calloc(n, sizeof *u->certs);
    if (!u->certs)
        return oom(err);
    for (size_t j = 0; j < n; j++) {
        char cctx[320];
        snprintf(cctx, sizeof cctx, "%s: certification %zu", ctx, j + 1);
        rc = parse_cert(json_array_get(certs, j), cctx, cert_slugs, n_cert_slugs,
                        &u->certs[u->n_certs], err);
        if (rc != ORC_OK)
            return rc;
        u->n_certs++;
    }
    return ORC_OK;
}

int orci_sample_data_parse(const char *text, size_t len, const char *const *cert_slugs,
                           size_t n_cert_slugs, orci_sample_data **out, orc_error *err)
{
    static const char *const keys[] = {"users", NULL};
    int rc = ORC_OK;
    *out = NULL;
    orci_sample_data *sd = calloc(1, sizeof *sd);
    if (!sd)
        return oom(err);
    json_t *root =
        orci_json_parse_object(text ? text : "", text ? len : 0, "sample_data.json", err);
    if (!root) {
        rc = orci_db_code(err);
        goto out;
    }
    if ((rc = only_keys(root, keys, "sample_data.json", err)) != ORC_OK)
        goto out;
    json_t *users = json_object_get(root, "users");
    if (!json_is_array(users)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "sample_data.json: \"users\" must be a list of users");
        goto out;
    }
    size_t n = json_array_size(users);
    if (n > 0 && !(sd->users = calloc(n, sizeof *sd->users))) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        orci_sample_user *u = &sd->users[sd->n_users++];
        rc = parse_user(json_array_get(users, i), i, cert_slugs, n_cert_slugs, u, err);
        if (rc != ORC_OK)
            goto out;
        for (size_t k = 0; k < i; k++)
            if (strcmp(sd->users[k].username, u->username) == 0) {
                rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                                   "sample_data.json: user \"%s\" is listed twice", u->username);
                goto out;
            }
    }
out:
    json_decref(root);
    if (rc == ORC_OK)
        *out = sd;
    else
        orci_sample_data_free(sd);
    return rc;
}

/* ------------------------------------------------------------------------------------- */
/* loading */

static int upsert_user(orci_db *db, const orci_sample_user *u, int64_t now_us, int64_t *user_id,
                       orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "INSERT INTO users (username, password, first_name, last_name, email, is_staff, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (username) DO UPDATE SET "
        "password = excluded.password, first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, is_staff = excluded.is_staff",
        err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, u->username);
    orci_bind_text(st, 2, u->password);
    orci_bind_text(st, 3, u->first_name);
    orci_bind_text(st, 4, u->last_name);
    orci_bind_text(st, 5, u->email);
    orci_bind_int(st, 6, u->is_staff ? 1 : 0);
    orci_bind_int(st, 7, now_us);
    int rc = orci_db_step(db, st, err);
    if (rc != ORC_OK)
        return rc;
    st = orci_db_stmt(db, "SELECT id FROM users WHERE username = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, u->username);
    bool found;
    rc = orci_db_one_id(db, st, user_id, &found, err);
    if (rc == ORC_OK && !found)
        rc = orc_error_set(err, ORC_INTERNAL, "user %s vanished while loading", u->username);
    return rc;
}

int orci_sample_ensure_worker(orci_db *db, int64_t user_id, int64_t now_us, int64_t *worker_id,
                              orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "INSERT INTO workers (user_id, start_datetime) "
                                 "VALUES (?1, ?2) ON CONFLICT (user_id) DO NOTHING",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, user_id);
    orci_bind_int(st, 2, now_us);
    int rc = orci_db_step(db, st, err);
    if (rc != ORC_OK)
        return rc;
    st = orci_db_stmt(db, "SELECT id FROM workers WHERE user_id = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, user_id);
    bool found;
    rc = orci_db_one_id(db, st, worker_id, &found, err);
    if (rc == ORC_OK && !found)
        rc = orc_error_set(err, ORC_INTERNAL, "worker of user %lld vanished while loading",
                           (long long)user_id);
    return rc;
}

int orci_sample_add_cert(orci_db *db, const orci_sample_user *u, const orci_sample_cert *c,
                         int64_t workflow_id, int64_t worker_id, int64_t now_us, orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(db, "SELECT id FROM certifications WHERE workflow_id = ?1 AND slug = ?2", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, workflow_id);
    orci_bind_text(st, 2, c->certification);
    int64_t cert_id;
    bool found;
    int rc = orci_db_one_id(db, st, &cert_id, &found, err);
    if (rc != ORC_OK)
        return rc;
    if (!found)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Certification %s is not loaded for this workflow", c->certification);
    if (c->role == ORCI_ROLE_REVIEWER) {
        /* Upstream's save rule: a reviewer row needs the entry-level row first. */
        st = orci_db_stmt(db,
                          "SELECT id FROM worker_certifications WHERE certification_id = ?1 "
                          "AND worker_id = ?2 AND task_class = ?3 AND role = 0",
                          err);
        if (!st)
            return orci_db_code(err);
        orci_bind_int(st, 1, cert_id);
        orci_bind_int(st, 2, worker_id);
        orci_bind_int(st, 3, c->task_class);
        int64_t entry_id;
        if ((rc = orci_db_one_id(db, st, &entry_id, &found, err)) != ORC_OK)
            return rc;
        if (!found)
            return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "Worker %s cannot be a reviewer for %s (%s tasks) without "
                                 "the entry-level certification of the same task class.",
                                 u->username, c->certification, task_class_word(c->task_class));
    }
    st = orci_db_stmt(db,
                      "INSERT INTO worker_certifications (certification_id, worker_id, "
                      "task_class, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5) "
                      "ON CONFLICT (certification_id, worker_id, task_class, role) DO NOTHING",
                      err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, cert_id);
    orci_bind_int(st, 2, worker_id);
    orci_bind_int(st, 3, c->task_class);
    orci_bind_int(st, 4, c->role);
    orci_bind_int(st, 5, now_us);
    return orci_db_step(db, st, err);
}

/* load_context reads the workflow's id, its sample data text (malloc'd) and cert slugs. */
static int load_context(orci_db *db, const char *workflow_slug, const char *version_slug,
                        int64_t *workflow_id, char **text, char ***slugs, size_t *n_slugs,
                        orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, "SELECT id, sample_data FROM workflows WHERE slug = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, workflow_slug);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "Workflow %s is not loaded", workflow_slug);
    *workflow_id = orci_col_int(st, 0);
    bool has_data = !orci_col_is_null(st, 1);
    *text = has_data ? strdup(orci_col_text(st, 1)) : NULL;
    orci_stmt_reset(st);
    if (has_data && !*text)
        return oom(err);

    st = orci_db_stmt(db, "SELECT id FROM workflow_versions WHERE workflow_id = ?1 AND slug = ?2",
                      err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, *workflow_id);
    orci_bind_text(st, 2, version_slug);
    int64_t version_id;
    bool found;
    int rc = orci_db_one_id(db, st, &version_id, &found, err);
    if (rc != ORC_OK)
        return rc;
    if (!found)
        return orc_error_set(err, ORC_NOT_FOUND, "Workflow %s has no version %s", workflow_slug,
                             version_slug);
    if (!has_data)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Workflow %s has no sample data",
                             workflow_slug);

    st = orci_db_stmt(db, "SELECT slug FROM certifications WHERE workflow_id = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, *workflow_id);
    size_t cap = 0;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (!orci_grow(slugs, &cap, *n_slugs + 1, sizeof **slugs)) {
            orci_stmt_reset(st);
            return oom(err);
        }
        char *s = strdup(orci_col_text(st, 0));
        if (!s) {
            orci_stmt_reset(st);
            return oom(err);
        }
        (*slugs)[(*n_slugs)++] = s;
    }
    return r < 0 ? orci_db_code(err) : ORC_OK;
}

int orci_sample_data_load(orci_db *db, const char *workflow_slug, const char *version_slug,
                          int64_t now_us, char ***usernames, size_t *n_usernames, orc_error *err)
{
    int rc;
    int64_t workflow_id = 0;
    char *text = NULL;
    char **slugs = NULL, **names = NULL;
    size_t n_slugs = 0, n_names = 0;
    orci_sample_data *sd = NULL;

    *usernames = NULL;
    *n_usernames = 0;
    rc = load_context(db, workflow_slug ? workflow_slug : "", version_slug ? version_slug : "",
                      &workflow_id, &text, &slugs, &n_slugs, err);
    if (rc != ORC_OK)
        goto out;
    rc = orci_sample_data_parse(text, strlen(text), (const char *const *)slugs, n_slugs, &sd, err);
    if (rc != ORC_OK)
        goto out;
    names = calloc(sd->n_users ? sd->n_users : 1, sizeof *names);
    if (!names) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < sd->n_users; i++) {
        const orci_sample_user *u = &sd->users[i];
        int64_t user_id, worker_id = 0;
        if ((rc = upsert_user(db, u, now_us, &user_id, err)) != ORC_OK)
            goto out;
        if (u->worker &&
            (rc = orci_sample_ensure_worker(db, user_id, now_us, &worker_id, err)) != ORC_OK)
            goto out;
        /* Entry-level rows first, so that a reviewer row finds its entry-level row. */
        for (int role = ORCI_ROLE_ENTRY_LEVEL; role <= ORCI_ROLE_REVIEWER; role++)
            for (size_t j = 0; j < u->n_certs; j++) {
                if (u->certs[j].role != role)
                    continue;
                rc = orci_sample_add_cert(db, u, &u->certs[j], workflow_id, worker_id, now_us, err);
                if (rc != ORC_OK)
                    goto out;
            }
        if (!(names[n_names] = strdup(u->username))) {
            rc = oom(err);
            goto out;
        }
        n_names++;
    }
    *usernames = names;
    *n_usernames = n_names;
    names = NULL;
out:
    if (names) {
        for (size_t i = 0; i < n_names; i++)
            free(names[i]);
        free(names);
    }
    for (size_t i = 0; i < n_slugs; i++)
        free(slugs[i]);
    free(slugs);
    free(text);
    orci_sample_data_free(sd);
    return rc;
}
