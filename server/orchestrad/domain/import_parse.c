/*
 * import_parse.c: reading an upstream fixture into records (import.h), with no database:
 * the models' fields as tables, Django's text forms of datetimes, dates and durations, and
 * JSON fields stored either as objects (Django's JSONField) or as strings holding one
 * (django-jsonfield, which upstream used). Every error names the record.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "domain/import_internal.h"
#include "domain/timetrack.h"
#include "json.h"
#include "store/dbutil.h"
#include "vec.h"

/* ---- the models ---------------------------------------------------------------------- */

static const int TWO[] = {0, 1};
static const int PROJECT_STATUSES[] = {0, 2, 3, 4};
static const int TASK_STATUSES[] = {0, 1, 2, 3, 4, 5, 6};
static const int THREE[] = {0, 1, 2};

/* One initializer per kind of field (kept on one line each: they read as a table). */
/* clang-format off */
#define TEXT(n, req, ne, max) \
    {.name = n, .kind = IK_TEXT, .required = req, .nonempty = ne, .max_chars = max}
#define TEXT_NULL(n, max) {.name = n, .kind = IK_TEXT_NULL, .max_chars = max}
#define JSON(n) {.name = n, .kind = IK_JSON}
#define BOOL(n, req, d) {.name = n, .kind = IK_BOOL, .required = req, .dflt = d}
#define TIME(n) {.name = n, .kind = IK_TIME}
#define FK(n, t) {.name = n, .kind = IK_FK, .required = true, .target = t}
#define M2M(n, t) {.name = n, .kind = IK_M2M, .target = t}
#define ENUM(n, req, d, v) \
    {.name = n, .kind = IK_INT, .required = req, .dflt = d, .allowed = v, \
     .n_allowed = (int)(sizeof v / sizeof v[0])}
/* clang-format on */

static const imp_field USER_FIELDS[] = {
    TEXT("username", true, true, 150),
    TEXT("first_name", false, false, 150),
    TEXT("last_name", false, false, 150),
    TEXT("email", false, false, 254),
    BOOL("is_active", false, 1),
    BOOL("is_staff", false, 0),
    BOOL("is_superuser", false, 0),
    TIME("date_joined"),
    M2M("groups", -1),
};
static const imp_field WORKFLOW_FIELDS[] = {
    TIME("created_at"),
    TEXT("slug", true, true, 200),
    TEXT("name", true, false, 200),
    TEXT("description", false, false, 0),
    TEXT("code_directory", true, false, 255),
    JSON("sample_data_load_function"),
};
static const imp_field CERT_FIELDS[] = {
    TIME("created_at"),
    TEXT("slug", true, true, 200),
    TEXT("name", true, false, 200),
    TEXT("description", false, false, 0),
    FK("workflow", IM_WORKFLOW),
    M2M("required_certifications", IM_CERT),
};
static const imp_field VERSION_FIELDS[] = {
    TIME("created_at"),
    TEXT("slug", true, true, 200),
    TEXT("name", true, false, 200),
    TEXT("description", false, false, 0),
    FK("workflow", IM_WORKFLOW),
    JSON("abort_completion_function"),
};
static const imp_field STEP_FIELDS[] = {
    TIME("created_at"),
    TEXT("slug", true, true, 200),
    TEXT("name", true, false, 200),
    TEXT("description", false, false, 0),
    FK("workflow_version", IM_VERSION),
    M2M("creation_depends_on", IM_STEP),
    M2M("submission_depends_on", IM_STEP),
    BOOL("is_human", true, 1),
    JSON("execution_function"),
    M2M("required_certifications", IM_CERT),
    JSON("assignment_policy"),
    JSON("review_policy"),
    JSON("user_interface"),
    JSON("creation_policy"),
    BOOL("completion_ends_project", false, 0),
};
static const imp_field WORKER_FIELDS[] = {
    FK("user", IM_USER),
    TIME("start_datetime"),
    TEXT_NULL("slack_username", 200),
    TEXT_NULL("slack_user_id", 200),
    TEXT_NULL("phone", 128),
};
static const imp_field WCERT_FIELDS[] = {
    TIME("created_at"),         FK("certification", IM_CERT),
    FK("worker", IM_WORKER),    ENUM("task_class", true, 0, TWO),
    ENUM("role", true, 0, TWO),
};
static const imp_field PROJECT_FIELDS[] = {
    TIME("start_datetime"),
    ENUM("status", false, 0, PROJECT_STATUSES),
    FK("workflow_version", IM_VERSION),
    TEXT("short_description", false, false, 0),
    {.name = "priority", .kind = IK_INT, .required = true},
    JSON("project_data"),
    ENUM("task_class", true, 0, TWO),
    {.name = "team_messages_url", .alt = "scratchpad_url", .kind = IK_TEXT_NULL},
    TEXT_NULL("slack_group_id", 200),
};
static const imp_field TASK_FIELDS[] = {
    TIME("start_datetime"),
    FK("step", IM_STEP),
    FK("project", IM_PROJECT),
    ENUM("status", true, 0, TASK_STATUSES),
};
static const imp_field ASSIGNMENT_FIELDS[] = {
    TIME("created_at"),
    BOOL("is_deleted", false, 0),
    TIME("start_datetime"),
    {.name = "worker", .kind = IK_FK_NULL, .target = IM_WORKER},
    FK("task", IM_TASK),
    ENUM("status", true, 0, THREE),
    {.name = "assignment_counter", .kind = IK_INT},
    JSON("in_progress_task_data"),
};
static const imp_field ITERATION_FIELDS[] = {
    TIME("created_at"),
    BOOL("is_deleted", false, 0),
    TIME("start_datetime"),
    {.name = "end_datetime", .kind = IK_TIME_NULL},
    FK("assignment", IM_ASSIGNMENT),
    ENUM("status", false, 0, THREE),
    JSON("submitted_data"),
};
static const imp_field TIMEENTRY_FIELDS[] = {
    TIME("created_at"),
    BOOL("is_deleted", false, 0),
    {.name = "date", .kind = IK_DATE, .required = true},
    {.name = "time_worked", .kind = IK_DURATION, .required = true},
    {.name = "worker", .kind = IK_FK_NULL, .target = IM_WORKER},
    {.name = "assignment", .kind = IK_FK_NULL, .target = IM_ASSIGNMENT},
    TEXT_NULL("description", 200),
    {.name = "timer_start_time", .kind = IK_TIME_NULL},
    {.name = "timer_stop_time", .kind = IK_TIME_NULL},
};

#define MODEL(n, f)                                                                                \
    {                                                                                              \
        n, f, sizeof f / sizeof f[0]                                                               \
    }
const imp_model orci_imp_models[ORCI_IMPORT_N_MODELS] = {
    MODEL("auth.user", USER_FIELDS),
    MODEL("orchestra.workflow", WORKFLOW_FIELDS),
    MODEL("orchestra.certification", CERT_FIELDS),
    MODEL("orchestra.workflowversion", VERSION_FIELDS),
    MODEL("orchestra.step", STEP_FIELDS),
    MODEL("orchestra.worker", WORKER_FIELDS),
    MODEL("orchestra.workercertification", WCERT_FIELDS),
    MODEL("orchestra.project", PROJECT_FIELDS),
    MODEL("orchestra.task", TASK_FIELDS),
    MODEL("orchestra.taskassignment", ASSIGNMENT_FIELDS),
    MODEL("orchestra.iteration", ITERATION_FIELDS),
    MODEL("orchestra.timeentry", TIMEENTRY_FIELDS),
};

/* ---- errors -------------------------------------------------------------------------- */

int orci_imp_oom(orc_error *err)
{
    return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory while importing");
}

int orci_imp_fail(orc_error *err, int code, int model, int64_t pk, const char *fmt, ...)
{
    char why[ORC_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return orc_error_set(err, (orc_code)code, "%s pk %lld: %s", orci_imp_models[model].name,
                         (long long)pk, why);
}

/* field_fail is orci_imp_fail for a field: "<model> pk <pk>: field \"<name>\": ...". */
static int field_fail(orc_error *err, int model, int64_t pk, const imp_field *f, const char *why)
{
    return orci_imp_fail(err, ORC_INVALID_ARGUMENT, model, pk, "field \"%s\": %s", f->name, why);
}

/* ---- Django's text forms --------------------------------------------------------------- */

/* digits reads exactly n decimal digits at *s, advancing it; -1 when they are not there. */
static int64_t digits(const char **s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return -1;
        v = v * 10 + (**s - '0');
    }
    return v;
}

/*
 * parse_time reads a datetime as Django serializes it, "YYYY-MM-DDTHH:MM:SS[.fraction]"
 * then "Z", "+HH:MM", "-HH:MM" or nothing (a naive time, taken as UTC), into us since the
 * epoch. A space may stand for the 'T'. 0, or -1 when text is anything else.
 */
static int parse_time(const char *text, int64_t *us)
{
    char date[11];
    if (strlen(text) < 19 || (text[10] != 'T' && text[10] != ' '))
        return -1;
    memcpy(date, text, 10);
    date[10] = '\0';
    int64_t days;
    if (orci_parse_date(date, &days) != 0)
        return -1;
    const char *s = text + 11;
    int64_t h = digits(&s, 2);
    if (*s++ != ':')
        return -1;
    int64_t m = digits(&s, 2);
    if (*s++ != ':')
        return -1;
    int64_t sec = digits(&s, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
        return -1;
    int64_t frac = 0;
    if (*s == '.') {
        s++;
        int n = 0;
        for (; isdigit((unsigned char)*s); s++, n++)
            if (n < 6)
                frac = frac * 10 + (*s - '0');
        if (n == 0)
            return -1;
        for (; n < 6; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1;
        int64_t oh = digits(&s, 2);
        if (*s == ':')
            s++;
        int64_t om = digits(&s, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    }
    if (*s != '\0')
        return -1;
    *us = ((days * 86400 + h * 3600 + m * 60 + sec) - offset) * 1000000 + frac;
    return 0;
}

/* ---- reading one field ------------------------------------------------------------------ */

/* read_text reads IK_TEXT and IK_TEXT_NULL. */
static int read_text(const json_t *j, const imp_field *f, int model, int64_t pk, imp_val *v,
                     orc_error *err)
{
    if (j == NULL || json_is_null(j)) {
        if (f->kind == IK_TEXT_NULL) {
            v->null = true;
            return ORC_OK;
        }
        if (f->required || j != NULL)
            return field_fail(err, model, pk, f, j ? "must be a string, not null" : "is missing");
        v->s = strdup("");
        return v->s ? ORC_OK : orci_imp_oom(err);
    }
    if (!json_is_string(j))
        return field_fail(err, model, pk, f, "must be a string");
    const char *s = json_string_value(j);
    if (f->nonempty && s[0] == '\0')
        return field_fail(err, model, pk, f, "must not be empty");
    if (f->max_chars > 0 && orci_utf8_chars(s) > (size_t)f->max_chars) {
        char why[64];
        snprintf(why, sizeof why, "is longer than %d characters", f->max_chars);
        return field_fail(err, model, pk, f, why);
    }
    v->s = strdup(s);
    return v->s ? ORC_OK : orci_imp_oom(err);
}

/* read_json reads IK_JSON: an object, a string holding one, or null (then {}). */
static int read_json(const json_t *j, const imp_field *f, int model, int64_t pk, imp_val *v,
                     orc_error *err)
{
    if (j == NULL || json_is_null(j)) {
        v->s = strdup("{}");
        return v->s ? ORC_OK : orci_imp_oom(err);
    }
    json_t *parsed = NULL;
    if (json_is_string(j)) {
        orc_error why = {0};
        const char *text = json_string_value(j);
        parsed = orci_json_parse(text, strlen(text), "the string", &why);
        if (parsed == NULL)
            return field_fail(err, model, pk, f, "is a string that is not JSON");
        j = parsed;
    }
    if (!json_is_object(j)) {
        json_decref(parsed);
        return field_fail(err, model, pk, f, "must be a JSON object");
    }
    v->s = orci_json_dump(j);
    json_decref(parsed);
    return v->s ? ORC_OK : orci_imp_oom(err);
}

/* read_int reads IK_INT and IK_BOOL. */
static int read_int(const json_t *j, const imp_field *f, int model, int64_t pk, imp_val *v,
                    orc_error *err)
{
    if (j == NULL) {
        if (f->required)
            return field_fail(err, model, pk, f, "is missing");
        v->i = f->dflt;
        return ORC_OK;
    }
    if (f->kind == IK_BOOL) {
        if (!json_is_boolean(j))
            return field_fail(err, model, pk, f, "must be true or false");
        v->i = json_is_true(j) ? 1 : 0;
        return ORC_OK;
    }
    if (!json_is_integer(j))
        return field_fail(err, model, pk, f, "must be an integer");
    v->i = json_integer_value(j);
    if (f->allowed == NULL)
        return ORC_OK;
    char list[64] = "";
    for (int k = 0; k < f->n_allowed; k++) {
        if (f->allowed[k] == v->i)
            return ORC_OK;
        size_t at = strlen(list);
        snprintf(list + at, sizeof list - at, "%s%d", k > 0 ? ", " : "", f->allowed[k]);
    }
    char why[128];
    snprintf(why, sizeof why, "%lld is not one of %s", (long long)v->i, list);
    return field_fail(err, model, pk, f, why);
}

/* read_when reads IK_TIME, IK_TIME_NULL, IK_DATE and IK_DURATION. */
static int read_when(const json_t *j, const imp_field *f, int model, int64_t pk, imp_val *v,
                     orc_error *err)
{
    if (j == NULL || json_is_null(j)) {
        if (f->kind == IK_TIME_NULL || (f->kind == IK_TIME && j == NULL)) {
            v->null = true;
            return ORC_OK;
        }
        return field_fail(err, model, pk, f, j ? "must not be null" : "is missing");
    }
    const char *s = json_string_value(j);
    if (s == NULL)
        return field_fail(err, model, pk, f, "must be a string");
    orc_error why = {0};
    if (f->kind == IK_DATE) {
        if (orci_tt_parse_date(s, &v->i, &why) != ORC_OK)
            return field_fail(err, model, pk, f, "is not a date (YYYY-MM-DD)");
    } else if (f->kind == IK_DURATION) {
        if (orci_tt_parse_duration(s, &v->i, &why) != ORC_OK)
            return field_fail(err, model, pk, f,
                              "is not a duration as Django writes it ([D ]HH:MM:SS[.ffffff])");
    } else if (parse_time(s, &v->i) != 0) {
        return field_fail(err, model, pk, f,
                          "is not a datetime (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])");
    }
    return ORC_OK;
}

/* read_ref reads IK_FK, IK_FK_NULL and IK_M2M. */
static int read_ref(const json_t *j, const imp_field *f, int model, int64_t pk, imp_val *v,
                    orc_error *err)
{
    if (f->kind != IK_M2M) {
        if (j == NULL || json_is_null(j)) {
            if (f->kind == IK_FK_NULL) {
                v->null = true;
                return ORC_OK;
            }
            return field_fail(err, model, pk, f, j ? "must not be null" : "is missing");
        }
        if (!json_is_integer(j))
            return field_fail(err, model, pk, f,
                              "must be the integer pk of a record (natural keys are not read)");
        v->i = json_integer_value(j);
        return ORC_OK;
    }
    if (j == NULL)
        return ORC_OK;
    if (!json_is_array(j))
        return field_fail(err, model, pk, f, "must be a list of pks");
    v->n = json_array_size(j);
    v->ids = calloc(v->n + 1, sizeof *v->ids);
    if (v->ids == NULL)
        return orci_imp_oom(err);
    for (size_t k = 0; k < v->n; k++) {
        json_t *e = json_array_get(j, k);
        if (!json_is_integer(e))
            return field_fail(err, model, pk, f, "must be a list of integer pks");
        v->ids[k] = json_integer_value(e);
    }
    return ORC_OK;
}

static int read_field(const json_t *fields, const imp_field *f, int model, int64_t pk, imp_val *v,
                      orc_error *err)
{
    json_t *j = json_object_get(fields, f->name);
    if (j == NULL && f->alt != NULL)
        j = json_object_get(fields, f->alt);
    switch (f->kind) {
    case IK_TEXT:
    case IK_TEXT_NULL:
        return read_text(j, f, model, pk, v, err);
    case IK_JSON:
        return read_json(j, f, model, pk, v, err);
    case IK_INT:
    case IK_BOOL:
        return read_int(j, f, model, pk, v, err);
    case IK_TIME:
    case IK_TIME_NULL:
    case IK_DATE:
    case IK_DURATION:
        return read_when(j, f, model, pk, v, err);
    case IK_FK:
    case IK_FK_NULL:
    case IK_M2M:
        return read_ref(j, f, model, pk, v, err);
    }
    return orc_error_set(err, ORC_INTERNAL, "unknown field kind");
}

/* ---- records ------------------------------------------------------------------------------ */

static void rec_fini(int model, imp_rec *r)
{
    if (r->v == NULL)
        return;
    for (size_t k = 0; k < orci_imp_models[model].n_fields; k++) {
        free(r->v[k].s);
        free(r->v[k].ids);
    }
    free(r->v);
}

void orci_import_plan_free(orci_import_plan *p)
{
    if (p == NULL)
        return;
    for (int m = 0; m < ORCI_IMPORT_N_MODELS; m++) {
        for (size_t i = 0; i < p->n[m]; i++)
            rec_fini(m, &p->recs[m][i]);
        free(p->recs[m]);
    }
    for (size_t i = 0; i < p->n_groups; i++)
        free(p->groups[i].name);
    free(p->groups);
    for (size_t i = 0; i < p->n_skipped; i++)
        free(p->skipped[i].model);
    free(p->skipped);
    free(p);
}

/* The capacities of the plan's growing arrays. */
typedef struct plan_caps {
    size_t recs[ORCI_IMPORT_N_MODELS];
    size_t groups, skipped;
} plan_caps;

/* add_skipped counts one record of a model that is not imported. */
static int add_skipped(orci_import_plan *p, plan_caps *caps, const char *model, orc_error *err)
{
    for (size_t i = 0; i < p->n_skipped; i++) {
        if (strcmp(p->skipped[i].model, model) == 0) {
            p->skipped[i].count++;
            return ORC_OK;
        }
    }
    if (!orci_grow(&p->skipped, &caps->skipped, p->n_skipped + 1, sizeof *p->skipped))
        return orci_imp_oom(err);
    imp_skipped *s = &p->skipped[p->n_skipped];
    s->model = strdup(model);
    s->count = 1;
    if (s->model == NULL)
        return orci_imp_oom(err);
    p->n_skipped++;
    return ORC_OK;
}

/* add_group keeps an auth.group record (its name), and counts it as skipped. */
static int add_group(orci_import_plan *p, plan_caps *caps, int64_t pk, const json_t *fields,
                     orc_error *err)
{
    const char *name = json_string_value(json_object_get(fields, "name"));
    if (!orci_grow(&p->groups, &caps->groups, p->n_groups + 1, sizeof *p->groups))
        return orci_imp_oom(err);
    p->groups[p->n_groups].pk = pk;
    p->groups[p->n_groups].name = strdup(name != NULL ? name : "");
    if (p->groups[p->n_groups++].name == NULL)
        return orci_imp_oom(err);
    return add_skipped(p, caps, "auth.group", err);
}

static int add_record(orci_import_plan *p, plan_caps *caps, int model, int64_t pk,
                      const json_t *fields, orc_error *err)
{
    if (!orci_grow(&p->recs[model], &caps->recs[model], p->n[model] + 1, sizeof(imp_rec)))
        return orci_imp_oom(err);
    imp_rec *r = &p->recs[model][p->n[model]];
    const imp_model *im = &orci_imp_models[model];
    r->pk = pk;
    r->v = calloc(im->n_fields, sizeof *r->v);
    if (r->v == NULL)
        return orci_imp_oom(err);
    p->n[model]++;
    for (size_t k = 0; k < im->n_fields; k++) {
        int code = read_field(fields, &im->fields[k], model, pk, &r->v[k], err);
        if (code != ORC_OK)
            return code;
    }
    return ORC_OK;
}

static int model_index(const char *name)
{
    for (int m = 0; m < ORCI_IMPORT_N_MODELS; m++)
        if (strcmp(orci_imp_models[m].name, name) == 0)
            return m;
    return -1;
}

/* add_item reads the i-th element of the fixture's list. */
static int add_item(orci_import_plan *p, plan_caps *caps, size_t i, const json_t *item,
                    orc_error *err)
{
    const char *model = json_string_value(json_object_get(item, "model"));
    json_t *pk = json_object_get(item, "pk");
    json_t *fields = json_object_get(item, "fields");
    if (!json_is_object(item) || model == NULL || !json_is_object(fields))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "record %zu of the fixture is not {\"model\", \"pk\", \"fields\"}",
                             i + 1);
    if (!json_is_integer(pk))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "record %zu of the fixture (%.100s): \"pk\" must be an integer", i + 1,
                             model);
    char lower[128];
    snprintf(lower, sizeof lower, "%s", model);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    int m = model_index(lower);
    if (m >= 0)
        return add_record(p, caps, m, json_integer_value(pk), fields, err);
    if (strcmp(lower, "auth.group") == 0)
        return add_group(p, caps, json_integer_value(pk), fields, err);
    return add_skipped(p, caps, lower, err);
}

static int cmp_rec(const void *a, const void *b)
{
    int64_t x = ((const imp_rec *)a)->pk, y = ((const imp_rec *)b)->pk;
    return x < y ? -1 : x > y;
}

/* sort_and_check orders each model's records by pk and refuses a pk given twice. */
static int sort_and_check(orci_import_plan *p, orc_error *err)
{
    for (int m = 0; m < ORCI_IMPORT_N_MODELS; m++) {
        if (p->n[m] > 1)
            qsort(p->recs[m], p->n[m], sizeof(imp_rec), cmp_rec);
        for (size_t i = 1; i < p->n[m]; i++)
            if (p->recs[m][i].pk == p->recs[m][i - 1].pk)
                return orci_imp_fail(err, ORC_INVALID_ARGUMENT, m, p->recs[m][i].pk,
                                     "appears twice in the fixture");
    }
    return ORC_OK;
}

int orci_import_parse(const char *text, size_t len, orci_import_plan **out, orc_error *err)
{
    *out = NULL;
    if (len > ORCI_IMPORT_MAX_BYTES)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED,
                             "the fixture is larger than %u bytes; split it (dumpdata can dump "
                             "a few models at a time) and import the parts in order",
                             (unsigned)ORCI_IMPORT_MAX_BYTES);
    json_t *root = orci_json_parse(text, len, "the fixture", err);
    if (root == NULL)
        return orci_db_code(err);
    int code = ORC_OK;
    orci_import_plan *p = calloc(1, sizeof *p);
    plan_caps caps = {0};
    if (p == NULL) {
        code = orci_imp_oom(err);
        goto out;
    }
    if (!json_is_array(root)) {
        code = orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "the fixture must be a JSON list of records, as `manage.py "
                             "dumpdata` writes it");
        goto out;
    }
    if (json_array_size(root) > ORCI_IMPORT_MAX_RECORDS) {
        code = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "the fixture has more than %d records",
                             ORCI_IMPORT_MAX_RECORDS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(root) && code == ORC_OK; i++)
        code = add_item(p, &caps, i, json_array_get(root, i), err);
    if (code == ORC_OK)
        code = sort_and_check(p, err);
out:
    json_decref(root);
    if (code != ORC_OK)
        orci_import_plan_free(p);
    else
        *out = p;
    return code;
}
