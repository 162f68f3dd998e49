/*
 * sampledata.h: a workflow's declarative sample data (sample_data.json; format in
 * plugins/README.md), our stand-in for upstream's sample_data_load_function.
 *
 * orci_sample_data_parse is pure (any thread): the loader calls it to refuse a bad file
 * before anything is written. orci_sample_data_load runs on the writer thread inside a
 * transaction.
 */
#ifndef ORCI_SAMPLEDATA_H
#define ORCI_SAMPLEDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "store/store.h"

typedef struct orci_sample_cert {
    char *certification; /* certification slug of the workflow */
    int role;            /* orci_role */
    int task_class;      /* orci_task_class */
} orci_sample_cert;

typedef struct orci_sample_user {
    char *username;
    char *password; /* an encoded hash (common/crypto.h), never plain text */
    char *first_name;
    char *last_name;
    char *email;
    bool is_staff;
    bool worker;
    orci_sample_cert *certs;
    size_t n_certs;
} orci_sample_user;

typedef struct orci_sample_data {
    orci_sample_user *users;
    size_t n_users;
} orci_sample_data;

/*
 * orci_sample_data_parse parses and validates sample_data.json text (len bytes). When
 * cert_slugs is not NULL, every certification named must be one of them. Errors are
 * ORC_INVALID_ARGUMENT with messages starting "sample_data.json". Release *out with
 * orci_sample_data_free.
 */
int orci_sample_data_parse(const char *text, size_t len, const char *const *cert_slugs,
                           size_t n_cert_slugs, orci_sample_data **out, orc_error *err);

/* orci_sample_data_free releases parsed sample data; NULL allowed. */
void orci_sample_data_free(orci_sample_data *sd);

/*
 * orci_sample_data_load loads the stored sample data of workflow_slug (whose version
 * version_slug must be loaded) with db (the writer's connection): users upserted by
 * username, a workers row for each worker, and their certifications (entry-level first; a
 * reviewer row needs an entry-level row of the same worker, certification and task class).
 * *usernames (malloc'd array of malloc'd strings, *n_usernames long) lists the users in file
 * order. Errors: ORC_NOT_FOUND when the workflow or version is not loaded,
 * ORC_FAILED_PRECONDITION when the workflow has no sample data or a reviewer row lacks its
 * entry-level row.
 */
int orci_sample_data_load(orci_db *db, const char *workflow_slug, const char *version_slug,
                          int64_t now_us, char ***usernames, size_t *n_usernames, orc_error *err);

/*
 * orci_sample_ensure_worker makes sure user_id has a workers row (*worker_id), and
 * orci_sample_add_cert grants worker_id certification c of workflow_id (a reviewer row needs
 * the entry-level row: ORC_FAILED_PRECONDITION naming u). With db the writer's connection.
 */
int orci_sample_ensure_worker(orci_db *db, int64_t user_id, int64_t now_us, int64_t *worker_id,
                              orc_error *err);
int orci_sample_add_cert(orci_db *db, const orci_sample_user *u, const orci_sample_cert *c,
                         int64_t workflow_id, int64_t worker_id, int64_t now_us, orc_error *err);

/* ---- Python load functions (sampledata_python.c) ------------------------------------------ */

/*
 * orci_sample_data_function finds how workflow_slug's sample data loads: *spec (malloc'd) is
 * its sample_data_load_function when it has no sample_data.json but has a function (upstream's
 * way: an executor runs it, domain/jobs_hooks.c), NULL when the declarative path applies
 * (orci_sample_data_load says what is missing). *version_id is the version. ORC_NOT_FOUND
 * for a workflow or version that is not loaded.
 */
int orci_sample_data_function(orci_db *db, const char *workflow_slug, const char *version_slug,
                              int64_t *version_id, char **spec, orc_error *err);

/*
 * orci_sample_data_apply_recorded writes what a Python load function made, as the runner's
 * compatibility package recorded it (plugins/README.md "Python sample data"):
 *   {"users": [{"username": u, "fields": {"password": hash or "", "first_name", "last_name",
 *     "email", "is_staff", "is_active", "is_superuser"}, "worker": b, "project_admin": b,
 *     "certifications": [{"certification", "role", "task_class"}]}]}
 * Only the fields given change (a new user gets the defaults and no usable password). Every
 * check (the document, the certifications of the version's workflow, a reviewer row's
 * entry-level row) comes before anything is written: ORC_INVALID_ARGUMENT or
 * ORC_FAILED_PRECONDITION then change nothing. *usernames / *n (both may be NULL) list the
 * users as orci_sample_data_load does.
 */
int orci_sample_data_apply_recorded(orci_db *db, int64_t version_id, const char *doc,
                                    int64_t now_us, char ***usernames, size_t *n, orc_error *err);

#endif
