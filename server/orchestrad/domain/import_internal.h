/*
 * import_internal.h: what the import's files share (import.h): the models and their fields
 * as tables (import_parse.c reads records with them), the parsed records, and the writer's
 * context (import_write.c writes the rows, import_post.c the links, checks, jobs and
 * events that follow). The direction is parse -> write -> post.
 */
#ifndef ORCI_IMPORT_INTERNAL_H
#define ORCI_IMPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/import.h"
#include "store/store.h"

/* The imported models, in import order (orci_imp_models[]). */
enum {
    IM_USER,
    IM_WORKFLOW,
    IM_CERT,
    IM_VERSION,
    IM_STEP,
    IM_WORKER,
    IM_WCERT,
    IM_PROJECT,
    IM_TASK,
    IM_ASSIGNMENT,
    IM_ITERATION,
    IM_TIMEENTRY,
};

/* How a field's JSON value is read. */
typedef enum imp_kind {
    IK_TEXT,      /* a string ("" when absent and not required) */
    IK_TEXT_NULL, /* a string or null */
    IK_JSON,      /* an object, or a string holding one (django-jsonfield); null is {} */
    IK_INT,       /* an integer, optionally one of `allowed` */
    IK_BOOL,
    IK_TIME,      /* a Django datetime; absent: the import's time */
    IK_TIME_NULL, /* a Django datetime or null */
    IK_DATE,      /* "YYYY-MM-DD", days since 1970-01-01 */
    IK_DURATION,  /* Django's "[D ]HH:MM:SS[.ffffff]", in us, not negative */
    IK_FK,        /* the pk of a record of model `target` */
    IK_FK_NULL,   /* the same, or null */
    IK_M2M,       /* a list of pks of model `target` */
} imp_kind;

typedef struct imp_field {
    const char *name;
    const char *alt; /* the field's other name (HEAD renamed one), or NULL */
    imp_kind kind;
    bool required;
    bool nonempty;      /* IK_TEXT: "" is refused (slugs, usernames) */
    int max_chars;      /* IK_TEXT*: longest allowed; 0: no limit */
    const int *allowed; /* IK_INT: the values allowed, or NULL for any */
    int n_allowed;
    int64_t dflt; /* IK_INT, IK_BOOL: the value when absent */
    int target;   /* IK_FK*, IK_M2M: IM_*, or -1 for auth.group */
} imp_field;

typedef struct imp_model {
    const char *name; /* as Django's dumpdata writes it: "orchestra.project" */
    const imp_field *fields;
    size_t n_fields;
} imp_model;

extern const imp_model orci_imp_models[ORCI_IMPORT_N_MODELS];

/* Field positions, in the order of each model's table in import_parse.c. */
enum { U_USERNAME, U_FIRST, U_LAST, U_EMAIL, U_ACTIVE, U_STAFF, U_SUPER, U_JOINED, U_GROUPS };
enum { WF_CREATED, WF_SLUG, WF_NAME, WF_DESC, WF_DIR, WF_SAMPLE };
enum { C_CREATED, C_SLUG, C_NAME, C_DESC, C_WORKFLOW, C_REQUIRED };
enum { V_CREATED, V_SLUG, V_NAME, V_DESC, V_WORKFLOW, V_ABORT };
enum {
    S_CREATED,
    S_SLUG,
    S_NAME,
    S_DESC,
    S_VERSION,
    S_CREATION_DEPS,
    S_SUBMISSION_DEPS,
    S_HUMAN,
    S_EXEC,
    S_CERTS,
    S_ASSIGNMENT,
    S_REVIEW,
    S_UI,
    S_CREATION_POLICY,
    S_ENDS
};
enum { W_USER, W_START, W_SLACK, W_SLACK_ID, W_PHONE };
enum { WC_CREATED, WC_CERT, WC_WORKER, WC_CLASS, WC_ROLE };
enum { P_START, P_STATUS, P_VERSION, P_DESC, P_PRIORITY, P_DATA, P_CLASS, P_URL, P_SLACK };
enum { T_START, T_STEP, T_PROJECT, T_STATUS };
enum { A_CREATED, A_DELETED, A_START, A_WORKER, A_TASK, A_STATUS, A_COUNTER, A_DATA };
enum { I_CREATED, I_DELETED, I_START, I_END, I_ASSIGNMENT, I_STATUS, I_DATA };
enum {
    E_CREATED,
    E_DELETED,
    E_DATE,
    E_WORKED,
    E_WORKER,
    E_ASSIGNMENT,
    E_DESC,
    E_TIMER_START,
    E_TIMER_STOP
};

/* One field's value. */
typedef struct imp_val {
    int64_t i;    /* integers, booleans, times (us), dates (days), durations (us), pks */
    char *s;      /* text; JSON as compact text */
    int64_t *ids; /* IK_M2M */
    size_t n;
    bool null; /* IK_*_NULL: null; IK_TIME: absent (the import's time) */
} imp_val;

/* One record: its pk and a value per field of its model. */
typedef struct imp_rec {
    int64_t pk;
    imp_val *v;
} imp_rec;

/* An upstream group: only project_admins matters (upstream's project admins). */
typedef struct imp_group {
    int64_t pk;
    char *name;
} imp_group;

/* A model of the dump that is not imported, and how many records it had. */
typedef struct imp_skipped {
    char *model;
    int64_t count;
} imp_skipped;

struct orci_import_plan {
    imp_rec *recs[ORCI_IMPORT_N_MODELS]; /* each sorted by pk */
    size_t n[ORCI_IMPORT_N_MODELS];
    imp_group *groups;
    size_t n_groups;
    imp_skipped *skipped;
    size_t n_skipped;
};

/* The writer's context: for every record, our row and whether this import created it. */
typedef struct imp_ctx {
    orci_lc *lc;
    const orci_import_plan *p;
    orci_import_result *res;
    int64_t *rows[ORCI_IMPORT_N_MODELS];
    bool *created[ORCI_IMPORT_N_MODELS];
} imp_ctx;

/* orci_imp_oom sets err to "out of memory" and returns its code. */
int orci_imp_oom(orc_error *err);

/* orci_imp_fail sets err to "<model> pk <pk>: <message>" and returns code. */
int orci_imp_fail(orc_error *err, int code, int model, int64_t pk, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* orci_imp_warn appends "<model> pk <pk>: <message>" to the result's warnings. */
int orci_imp_warn(imp_ctx *c, int model, int64_t pk, orc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* import_write.c: every record's row, model by model (import order), into c->rows. */
int orci_imp_write_rows(imp_ctx *c, orc_error *err);

/*
 * orci_imp_resolve finds our row for upstream's (target, pk), referenced by field `field`
 * of record r of model `model`: in the fixture or imported before. Unknown: an error
 * naming r.
 */
int orci_imp_resolve(imp_ctx *c, int model, const imp_rec *r, const char *field, int target,
                     int64_t pk, int64_t *row, orc_error *err);

/* import_post.c: the many-to-many links of created rows, then checks, jobs, events. */
int orci_imp_post(imp_ctx *c, orc_error *err);

#endif
