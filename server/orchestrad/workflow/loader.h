/*
 * loader.h: loading workflow folders (the upstream workflow.json / version.json format,
 * spec section 2) into the store.
 *
 * Loading has two phases so that everything is validated before anything is written:
 *
 *  1. orci_loader_plan parses and statically validates a WorkflowBundle for one version
 *     and produces an orci_load_plan. Pure: no database, any thread (it runs on an RPC
 *     worker thread).
 *  2. orci_loader_apply compares the plan with the database (existing version, --force
 *     rules) and only then writes. It runs on the writer thread, inside the caller's
 *     transaction or savepoint; on error the caller rolls back (it may have written).
 *
 * Load-all (orci_loader_plan_all / orci_loader_apply_all) plans every version of many
 * bundles and applies each inside its own SAVEPOINT, so one refused version does not stop
 * the others.
 */
#ifndef ORCI_LOADER_H
#define ORCI_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "proto/orchestra.pb-c.h"
#include "store/store.h"

/* Longest slug or name (characters), as upstream's max_length=200. */
#define ORCI_SLUG_MAX 200

typedef struct orci_load_cert {
    char *slug;
    char *name;
    char *description;
    char **required; /* slugs of certifications of the same workflow */
    size_t n_required;
} orci_load_cert;

typedef struct orci_load_step {
    char *slug;
    char *name;
    char *description;
    bool is_human;
    char **creation_depends_on; /* step slugs, duplicates removed */
    size_t n_creation_depends_on;
    char **submission_depends_on;
    size_t n_submission_depends_on;
    char **required_certifications; /* certification slugs */
    size_t n_required_certifications;
    /* Compact JSON texts, defaults applied. */
    char *review_policy;
    char *assignment_policy;
    char *execution_function;
    char *user_interface;
    char *retry_policy;
    /* Upstream HEAD (loader_head.c): "{}" or the validated policy; the step ends the project. */
    char *creation_policy;
    bool completion_ends_project;
} orci_load_step;

/* orci_load_plan is one validated version of one workflow, ready to write. Owns all. */
typedef struct orci_load_plan {
    char *app;
    char *workflow_slug;
    char *workflow_name;
    char *workflow_description;
    char *code_directory;
    char *sample_data_load_function; /* JSON text, "{}" when absent */
    char *sample_data;               /* JSON text of sample_data.json, or NULL */
    orci_load_cert *certs;
    size_t n_certs;
    char *version_slug;
    char *version_name;
    char *version_description;
    orci_load_step *steps; /* in version.json order (the position) */
    size_t n_steps;
    char *abort_completion_function; /* HEAD (loader_head.c): JSON text, "{}" when absent */
} orci_load_plan;

/*
 * orci_loader_plan validates bundle b for version_slug and returns a new plan in *out
 * (release with orci_load_plan_free). Errors are ORC_INVALID_ARGUMENT with the upstream
 * messages (spec section 2) or ours for what upstream did not check.
 */
int orci_loader_plan(const Orchestra__V1__WorkflowBundle *b, const char *version_slug,
                     orci_load_plan **out, orc_error *err);

/* orci_load_plan_free releases a plan; NULL allowed. */
void orci_load_plan_free(orci_load_plan *p);

/*
 * orci_loader_apply writes plan p with db (the writer's connection, inside a transaction).
 * Every comparison with the stored state happens before the first write. Errors:
 * ORC_ALREADY_EXISTS "Version <slug> already exists" without force; ORC_FAILED_PRECONDITION
 * when force would change the steps or the topology; store errors otherwise.
 */
int orci_loader_apply(orci_db *db, const orci_load_plan *p, bool force, int64_t now_us,
                      orc_error *err);

/* One version of a load-all request: its plan, or the reason it cannot load. */
typedef struct orci_load_item {
    char *app;
    char *workflow;       /* "" when workflow.json could not be read */
    char *version;        /* the version slug, or the folder name when unknown */
    orci_load_plan *plan; /* NULL when refused while planning */
    int status;           /* ORC_OK, or the code that refused it */
    char message[ORC_ERROR_MESSAGE_MAX];
} orci_load_item;

typedef struct orci_load_all {
    orci_load_item *items; /* bundle order, then version folder order */
    size_t n_items;
} orci_load_all;

/*
 * orci_loader_plan_all plans every version of every bundle. The whole request is refused
 * (ORC_INVALID_ARGUMENT "Workflow <slug> present in multiple apps: <app1>, <app2>") when two
 * bundles declare the same workflow slug; otherwise each version gets an item, planned or
 * refused on its own. Release *out with orci_load_all_free.
 */
int orci_loader_plan_all(Orchestra__V1__WorkflowBundle *const *bundles, size_t n_bundles,
                         orci_load_all **out, orc_error *err);

/* orci_load_all_free releases what orci_loader_plan_all made; NULL allowed. */
void orci_load_all_free(orci_load_all *all);

/*
 * orci_loader_apply_all applies each planned item inside its own SAVEPOINT; a refused item
 * is rolled back and its status and message recorded in the item. Returns ORC_OK unless the
 * savepoint commands themselves fail.
 */
int orci_loader_apply_all(orci_db *db, orci_load_all *all, bool force, int64_t now_us,
                          orc_error *err);

#endif
