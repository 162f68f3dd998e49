/*
 * sampledata_python.c: upstream's sample_data_load_function, run as it was written. The
 * function is Python, so an executor runs it (a sample-data job, domain/jobs_hooks.c) with
 * the runner's compatibility package, whose Django-like models record what the function
 * creates; the record comes back as the job's output and is written here, in the
 * transaction that records the answer: all of it or, when a check fails, nothing (upstream
 * ran the function inside transaction.atomic()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/model.h"
#include "workflow/sampledata.h"

#define RECORDED_USERNAME_MAX 150
#define RECORDED_TEXT_MAX 254

int orci_sample_data_function(orci_db *db, const char *workflow_slug, const char *version_slug,
                              int64_t *version_id, char **spec, orc_error *err)
{
    *spec = NULL;
    *version_id = 0;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT v.id, w.sample_data IS NULL, w.sample_data_load_function"
                                 " FROM workflows w LEFT JOIN workflow_versions v"
                                 " ON v.workflow_id = w.id AND v.slug = ?2 WHERE w.slug = ?1",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, workflow_slug ? workflow_slug : "");
    orci_bind_text(st, 2, version_slug ? version_slug : "");
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "Workflow %s is not loaded", workflow_slug);
    bool has_version = !orci_col_is_null(st, 0);
    *version_id = orci_col_int(st, 0);
    bool declarative = orci_col_int(st, 1) == 0;
    json_t *fn = json_loads(orci_col_text(st, 2), 0, NULL);
    orci_stmt_reset(st);
    int rc = ORC_OK;
    if (!has_version)
        rc = orc_error_set(err, ORC_NOT_FOUND, "Workflow %s has no version %s", workflow_slug,
                           version_slug);
    else if (!declarative && json_object_size(fn) > 0 && !(*spec = orci_json_dump(fn)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    json_decref(fn);
    return rc;
}

/* ---- the record --------------------------------------------------------------------------- */

/* One user of the record, borrowed from the parsed document. */
typedef struct rec_user {
    const char *username;
    json_t *fields; /* object */
    bool worker, admin_set, admin;
    json_t *certs; /* array, may be empty */
} rec_user;

/* rec_field_ok checks one of a user's fields. */
static const char *rec_field_ok(const char *key, const json_t *v)
{
    static const char *const texts[] = {"first_name", "last_name", "email"};
    static const char *const flags[] = {"is_staff", "is_active", "is_superuser"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(key, texts[i]) == 0)
            return json_is_string(v) && orci_utf8_chars(json_string_value(v)) <= RECORDED_TEXT_MAX
                       ? NULL
                       : "must be a string of at most 254 characters";
        if (strcmp(key, flags[i]) == 0)
            return json_is_boolean(v) ? NULL : "must be true or false";
    }
    if (strcmp(key, "password") == 0)
        return json_is_string(v) && (json_string_length(v) == 0 ||
                                     orci_password_hash_valid(json_string_value(v)))
                   ? NULL
                   : "must be a password hash (set_password) or \"\"";
    return "is not a field this loader knows";
}

/* rec_cert_ok checks a certification entry: role and task class names, a known slug. */
static const char *rec_cert_ok(orci_db *db, int64_t workflow_id, const json_t *c, int *role,
                               int *task_class, int64_t *cert_id, orc_error *err, int *rc)
{
    const char *slug = json_string_value(json_object_get(c, "certification"));
    const char *r = json_string_value(json_object_get(c, "role"));
    const char *tc = json_string_value(json_object_get(c, "task_class"));
    *rc = ORC_OK;
    if (!json_is_object(c) || !slug || !r || !tc || json_object_size(c) != 3)
        return "must be {\"certification\", \"role\", \"task_class\"}";
    if (strcmp(r, "entry_level") != 0 && strcmp(r, "reviewer") != 0)
        return "role must be entry_level or reviewer";
    if (strcmp(tc, "real") != 0 && strcmp(tc, "training") != 0)
        return "task_class must be real or training";
    *role = strcmp(r, "reviewer") == 0 ? ORCI_ROLE_REVIEWER : ORCI_ROLE_ENTRY_LEVEL;
    *task_class = strcmp(tc, "real") == 0 ? ORCI_TASK_CLASS_REAL : ORCI_TASK_CLASS_TRAINING;
    orci_stmt *st =
        orci_db_stmt(db, "SELECT id FROM certifications WHERE workflow_id = ?1 AND slug = ?2", err);
    if (!st) {
        *rc = orci_db_code(err);
        return NULL;
    }
    orci_bind_int(st, 1, workflow_id);
    orci_bind_text(st, 2, slug);
    bool found = false;
    if ((*rc = orci_db_one_id(db, st, cert_id, &found, err)) != ORC_OK)
        return NULL;
    return found ? NULL : "names no certification of this workflow";
}

/* rec_parse_user reads users[i] into *u; a malformed one is ORC_INVALID_ARGUMENT. */
static int rec_parse_user(const json_t *ju, size_t i, rec_user *u, orc_error *err)
{
    memset(u, 0, sizeof *u);
    u->username = json_string_value(json_object_get(ju, "username"));
    if (!json_is_object(ju) || !u->username || !u->username[0] ||
        orci_utf8_chars(u->username) > RECORDED_USERNAME_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "sample data: user %zu has no username of 1 to 150 characters", i + 1);
    u->fields = json_object_get(ju, "fields");
    json_t *worker = json_object_get(ju, "worker");
    json_t *admin = json_object_get(ju, "project_admin");
    u->certs = json_object_get(ju, "certifications");
    if ((u->fields && !json_is_object(u->fields)) || (worker && !json_is_boolean(worker)) ||
        (admin && !json_is_boolean(admin)) || (u->certs && !json_is_array(u->certs)))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "sample data: user %s: \"fields\" must be an object, \"worker\" and "
                             "\"project_admin\" booleans, \"certifications\" a list",
                             u->username);
    u->worker = json_is_true(worker);
    u->admin_set = admin != NULL;
    u->admin = json_is_true(admin);
    const char *key;
    json_t *v;
    json_object_foreach(u->fields, key, v)
    {
        const char *why = rec_field_ok(key, v);
        if (why)
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "sample data: user %s: %.60s %s",
                                 u->username, key, why);
    }
    return ORC_OK;
}

/* rec_user_state reads whether username exists and is a worker (*worker_id, 0: none). */
static int rec_user_state(orci_db *db, const char *username, bool *exists, int64_t *worker_id,
                          orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT u.id, COALESCE(w.id, 0) FROM users u LEFT JOIN workers"
                                 " w ON w.user_id = u.id WHERE u.username = ?1",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, username);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    *exists = r == 1;
    *worker_id = r == 1 ? orci_col_int(st, 1) : 0;
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

/* rec_has_entry: whether certs (of the record) or the stored rows give worker_id the
 * entry-level row of cert_id and task_class (upstream's reviewer save rule). */
static int rec_has_entry(orci_db *db, const json_t *certs, int64_t worker_id, const char *slug,
                         const char *task_class, int64_t cert_id, int tc, bool *has, orc_error *err)
{
    *has = false;
    size_t j;
    json_t *c;
    json_array_foreach(certs, j, c)
    {
        const char *s = json_string_value(json_object_get(c, "certification"));
        const char *r = json_string_value(json_object_get(c, "role"));
        const char *t = json_string_value(json_object_get(c, "task_class"));
        if (s && r && t && strcmp(s, slug) == 0 && strcmp(r, "entry_level") == 0 &&
            strcmp(t, task_class) == 0)
            return *has = true, ORC_OK;
    }
    if (worker_id == 0)
        return ORC_OK;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT id FROM worker_certifications WHERE certification_id ="
                                 " ?1 AND worker_id = ?2 AND task_class = ?3 AND role = 0",
                                 err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, cert_id);
    orci_bind_int(st, 2, worker_id);
    orci_bind_int(st, 3, tc);
    int64_t id = 0;
    return orci_db_one_id(db, st, &id, has, err);
}

/* rec_check_certs checks a user's certifications before anything is written. */
static int rec_check_certs(orci_db *db, int64_t workflow_id, const rec_user *u, orc_error *err)
{
    bool exists = false;
    int64_t worker_id = 0;
    int rc = rec_user_state(db, u->username, &exists, &worker_id, err);
    if (rc != ORC_OK || json_array_size(u->certs) == 0)
        return rc;
    if (!u->worker && worker_id == 0)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "sample data: user %s holds certifications but is no worker",
                             u->username);
    size_t j;
    json_t *c;
    json_array_foreach(u->certs, j, c)
    {
        int role = 0, tc = 0;
        int64_t cert_id = 0;
        const char *why = rec_cert_ok(db, workflow_id, c, &role, &tc, &cert_id, err, &rc);
        if (rc != ORC_OK)
            return rc;
        if (why)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "sample data: user %s: certification %zu %s", u->username, j + 1,
                                 why);
        if (role != ORCI_ROLE_REVIEWER)
            continue;
        const char *slug = json_string_value(json_object_get(c, "certification"));
        bool has = false;
        if ((rc = rec_has_entry(db, u->certs, worker_id, slug,
                                json_string_value(json_object_get(c, "task_class")), cert_id, tc,
                                &has, err)) != ORC_OK)
            return rc;
        if (!has)
            return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "Worker %s cannot be a reviewer for %s (%s tasks) without the "
                                 "entry-level certification of the same task class.",
                                 u->username, slug,
                                 json_string_value(json_object_get(c, "task_class")));
    }
    return ORC_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* rec_write_user upserts the user, changing only the fields given; *user_id gets it. */
static int rec_write_user(orci_db *db, const rec_user *u, int64_t now_us, int64_t *user_id,
                          orc_error *err)
{
    json_t *f = u->fields;
    json_t *staff = json_object_get(f, "is_staff"), *active = json_object_get(f, "is_active");
    json_t *super = json_object_get(f, "is_superuser");
    orci_stmt *st = orci_db_stmt(
        db,
        "INSERT INTO users (username, password, first_name, last_name, email, is_staff, is_active,"
        " is_superuser, created_at) VALUES (?1, COALESCE(?2, ''), COALESCE(?3, ''),"
        " COALESCE(?4, ''), COALESCE(?5, ''), COALESCE(?6, 0), COALESCE(?7, 1), COALESCE(?8, 0),"
        " ?9) ON CONFLICT (username) DO UPDATE SET password = COALESCE(?2, users.password),"
        " first_name = COALESCE(?3, users.first_name),"
        " last_name = COALESCE(?4, users.last_name), email = COALESCE(?5, users.email),"
        " is_staff = COALESCE(?6, users.is_staff), is_active = COALESCE(?7, users.is_active),"
        " is_superuser = COALESCE(?8, users.is_superuser)",
        err);
    if (!st)
        return orci_db_code(err);
    static const char *const texts[] = {"password", "first_name", "last_name", "email"};
    orci_bind_text(st, 1, u->username);
    for (int i = 0; i < 4; i++) {
        const char *v = json_string_value(json_object_get(f, texts[i]));
        if (v)
            orci_bind_text(st, 2 + i, v);
        else
            orci_bind_null(st, 2 + i);
    }
    json_t *flags[] = {staff, active, super};
    for (int i = 0; i < 3; i++) {
        if (flags[i])
            orci_bind_int(st, 6 + i, json_is_true(flags[i]));
        else
            orci_bind_null(st, 6 + i);
    }
    orci_bind_int(st, 9, now_us);
    int rc = orci_db_step(db, st, err);
    if (rc != ORC_OK)
        return rc;
    st = orci_db_stmt(db, "SELECT id FROM users WHERE username = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_text(st, 1, u->username);
    bool found = false;
    rc = orci_db_one_id(db, st, user_id, &found, err);
    if (rc != ORC_OK || !u->admin_set)
        return rc;
    st = orci_db_stmt(db, "UPDATE users SET project_admin = ?2 WHERE id = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, *user_id);
    orci_bind_int(st, 2, u->admin);
    return orci_db_step(db, st, err);
}

/* rec_write_certs grants a user's certifications, entry-level rows first. */
static int rec_write_certs(orci_db *db, int64_t workflow_id, const rec_user *u, int64_t worker_id,
                           int64_t now_us, orc_error *err)
{
    orci_sample_user su = {.username = (char *)u->username};
    for (int want = ORCI_ROLE_ENTRY_LEVEL; want <= ORCI_ROLE_REVIEWER; want++) {
        size_t j;
        json_t *c;
        json_array_foreach(u->certs, j, c)
        {
            const char *role = json_string_value(json_object_get(c, "role"));
            int r = strcmp(role, "reviewer") == 0 ? ORCI_ROLE_REVIEWER : ORCI_ROLE_ENTRY_LEVEL;
            if (r != want)
                continue;
            orci_sample_cert sc = {
                .certification = (char *)json_string_value(json_object_get(c, "certification")),
                .role = r,
                .task_class =
                    strcmp(json_string_value(json_object_get(c, "task_class")), "real") == 0
                        ? ORCI_TASK_CLASS_REAL
                        : ORCI_TASK_CLASS_TRAINING};
            int rc = orci_sample_add_cert(db, &su, &sc, workflow_id, worker_id, now_us, err);
            if (rc != ORC_OK)
                return rc;
        }
    }
    return ORC_OK;
}

/* rec_workflow reads the workflow of version_id. */
static int rec_workflow(orci_db *db, int64_t version_id, int64_t *workflow_id, orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(db, "SELECT workflow_id FROM workflow_versions WHERE id = ?1", err);
    if (!st)
        return orci_db_code(err);
    orci_bind_int(st, 1, version_id);
    bool found = false;
    int rc = orci_db_one_id(db, st, workflow_id, &found, err);
    if (rc == ORC_OK && !found)
        rc = orc_error_set(err, ORC_NOT_FOUND, "No workflow version for given id");
    return rc;
}

/* rec_names copies the users' names for the caller (usernames may be NULL: none wanted). */
static int rec_names(const rec_user *users, size_t n, char ***usernames, size_t *count,
                     orc_error *err)
{
    if (!usernames)
        return ORC_OK;
    char **names = calloc(n ? n : 1, sizeof *names);
    for (size_t i = 0; names && i < n; i++) {
        if (!(names[i] = strdup(users[i].username))) {
            for (size_t k = 0; k < i; k++)
                free(names[k]);
            free(names);
            names = NULL;
        }
    }
    if (!names)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    *usernames = names;
    *count = n;
    return ORC_OK;
}

int orci_sample_data_apply_recorded(orci_db *db, int64_t version_id, const char *doc,
                                    int64_t now_us, char ***usernames, size_t *n, orc_error *err)
{
    int64_t workflow_id = 0;
    rec_user *users = NULL;
    json_t *root =
        orci_json_parse_object(doc ? doc : "", doc ? strlen(doc) : 0, "sample data", err);
    if (!root)
        return orci_db_code(err);
    json_t *list = json_object_get(root, "users");
    size_t count = json_array_size(list);
    int rc = rec_workflow(db, version_id, &workflow_id, err);
    if (rc == ORC_OK && (!json_is_array(list) || json_object_size(root) != 1))
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "sample data: want {\"users\": [...]}");
    if (rc == ORC_OK && !(users = calloc(count ? count : 1, sizeof *users)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    /* Every check first: a refused record writes nothing. */
    for (size_t i = 0; rc == ORC_OK && i < count; i++) {
        if ((rc = rec_parse_user(json_array_get(list, i), i, &users[i], err)) != ORC_OK)
            break;
        for (size_t k = 0; rc == ORC_OK && k < i; k++)
            if (strcmp(users[k].username, users[i].username) == 0)
                rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                                   "sample data: user %s is listed twice", users[i].username);
        if (rc == ORC_OK)
            rc = rec_check_certs(db, workflow_id, &users[i], err);
    }
    for (size_t i = 0; rc == ORC_OK && i < count; i++) {
        int64_t user_id = 0, worker_id = 0;
        bool exists = false;
        if ((rc = rec_write_user(db, &users[i], now_us, &user_id, err)) != ORC_OK ||
            (rc = rec_user_state(db, users[i].username, &exists, &worker_id, err)) != ORC_OK)
            break;
        if (users[i].worker && worker_id == 0 &&
            (rc = orci_sample_ensure_worker(db, user_id, now_us, &worker_id, err)) != ORC_OK)
            break;
        rc = rec_write_certs(db, workflow_id, &users[i], worker_id, now_us, err);
    }
    if (rc == ORC_OK)
        rc = rec_names(users, count, usernames, n, err);
    free(users);
    json_decref(root);
    return rc;
}
