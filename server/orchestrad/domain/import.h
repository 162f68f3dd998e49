/*
 * import.h: importing an upstream database (`orchestra import`, issue 16): the JSON that
 * upstream's `manage.py dumpdata orchestra auth.User` writes, Django's fixture format, a
 * list of {"model": "orchestra.project", "pk": 3, "fields": {...}}.
 *
 * Two phases, like the workflow loader: orci_import_parse reads and checks every record
 * on its own (types, enums, lengths; any thread, no database), then orci_import_apply
 * writes them on the writer thread inside the caller's transaction, resolving foreign keys
 * and checking what needs the database; the caller rolls back on any error, so a fixture
 * imports whole or not at all. Every error names its record: "orchestra.task pk 12: ...".
 *
 * What is imported, in this order: auth.user, orchestra.workflow, certification,
 * workflowversion, step, worker, workercertification, project, task, taskassignment,
 * iteration, timeentry. Other models of the dump (pay rates, communication preferences,
 * todos, StaffBot's...) are counted as skipped; auth.group is skipped too, but read to make
 * the members of upstream's project_admins group project admins. Ids are kept where the id is free
 * in our table; statuses, timestamps, JSON data and soft-deletions are kept as they are. Users get
 * no password (upstream's hashes are not carried over): they cannot log in until an admin sets one.
 *
 * Idempotence: each record imported is remembered in imported_records (model, upstream pk
 * -> our row), and a record found there is not written again. Before creating a workflow,
 * version, certification, step, user, worker or worker certification, the import looks
 * for the same one by its natural key (slug within its parent, username, ...) and adopts
 * it: workflows loaded from their folders first keep their definition, and the import only
 * maps upstream's ids onto them. A step of the fixture missing from a version already here
 * is an error.
 */
#ifndef ORCI_IMPORT_H
#define ORCI_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "domain/context.h"
#include "orchestra/error.h"

/* The most a fixture may hold: its text, and its records. */
#define ORCI_IMPORT_MAX_BYTES (16u * 1024 * 1024)
#define ORCI_IMPORT_MAX_RECORDS 1000000

/* The models imported, in import order. */
#define ORCI_IMPORT_N_MODELS 12

typedef struct orci_import_plan orci_import_plan;

/*
 * orci_import_parse checks the fixture text (len bytes) and returns its plan in *out
 * (release with orci_import_plan_free). Errors are ORC_INVALID_ARGUMENT naming the record
 * ("orchestra.project pk 3: field \"status\": 1 is not one of 0, 2, 3, 4"), or
 * ORC_RESOURCE_EXHAUSTED past the limits above.
 */
int orci_import_parse(const char *text, size_t len, orci_import_plan **out, orc_error *err);

/* orci_import_plan_free releases a plan; NULL allowed. */
void orci_import_plan_free(orci_import_plan *p);

/* One model's outcome. */
typedef struct orci_import_count {
    const char *model; /* static for imported models; malloc'd for skipped ones */
    int64_t created;   /* rows this import created */
    int64_t existing;  /* records imported before, or matched to rows already here */
} orci_import_count;

/* What orci_import_apply did. Strings malloc'd; orci_import_result_fini frees them. */
typedef struct orci_import_result {
    orci_import_count counts[ORCI_IMPORT_N_MODELS]; /* every imported model, in order */
    orci_import_count *skipped; /* models not imported: created = their records */
    size_t n_skipped;
    char **users_without_password; /* usernames of the fixture's users who have none */
    size_t n_users_without_password;
    char **warnings;
    size_t n_warnings;
} orci_import_result;

/*
 * orci_import_apply writes plan p with lc (writer thread, inside the caller's transaction:
 * roll it back on error) and fills *res (always: release with orci_import_result_fini).
 * Beyond the rows, it queues the jobs of machine tasks left open in Active and Paused
 * projects (a machine assignment that had Failed upstream gets a failed job, for an admin
 * to retry), appends a project.imported event per project created, and checks the
 * invariants of spec 3.2 on every task created: a violation refuses the import for a task
 * still open, and is a warning for a Complete or Aborted one (the lifecycle never moves
 * those again).
 */
int orci_import_apply(orci_lc *lc, const orci_import_plan *p, orci_import_result *res,
                      orc_error *err);

/* orci_import_result_fini frees what *res holds; NULL allowed. */
void orci_import_result_fini(orci_import_result *res);

#endif
