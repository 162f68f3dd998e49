/* test_loader.c: workflow loading (validation, defaults, --force rules, load-all). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "workflow/loader.h"
#include "svc/services.h"
#include "store/store.h"
#include "support.h"

#define NOW 1700000000000000LL

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
    orci_db *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("loader", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->r, &err), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_db_close(f->r);
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* q copies JSON written with single quotes (easier to read in C) into real JSON. */
static char *q(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static Orchestra__V1__WorkflowBundle *bundle_new(const char *app, const char *workflow_json)
{
    Orchestra__V1__WorkflowBundle *b = malloc(sizeof *b);
    assert_non_null(b);
    orchestra__v1__workflow_bundle__init(b);
    b->app = strdup(app);
    char dir[128];
    snprintf(dir, sizeof dir, "/apps/%s", app);
    b->code_directory = strdup(dir);
    b->workflow_json = q(workflow_json);
    return b;
}

static void bundle_add_version(Orchestra__V1__WorkflowBundle *b, const char *dir,
                               const char *version_json)
{
    b->versions = realloc(b->versions, (b->n_versions + 1) * sizeof *b->versions);
    assert_non_null(b->versions);
    Orchestra__V1__VersionFile *vf = malloc(sizeof *vf);
    assert_non_null(vf);
    orchestra__v1__version_file__init(vf);
    vf->dir = strdup(dir);
    vf->json = q(version_json);
    b->versions[b->n_versions++] = vf;
}

typedef struct apply_job {
    const orci_load_plan *plan;
    bool force;
} apply_job;

static int apply_fn(orci_db *db, void *arg, orc_error *err)
{
    apply_job *j = arg;
    return orci_loader_apply(db, j->plan, j->force, NOW, err);
}

/* load plans and applies version of b through the store's writer. */
static int load(fixture *f, const Orchestra__V1__WorkflowBundle *b, const char *version, bool force,
                orc_error *err)
{
    orci_load_plan *p = NULL;
    orc_error_clear(err);
    int rc = orci_loader_plan(b, version, &p, err);
    if (rc == ORC_OK) {
        apply_job j = {p, force};
        rc = orci_store_write(f->s, apply_fn, &j, err);
    }
    orci_load_plan_free(p);
    return rc;
}

/* Plans only (the static checks). */
static int plan_only(const Orchestra__V1__WorkflowBundle *b, const char *version, orc_error *err)
{
    orci_load_plan *p = NULL;
    orc_error_clear(err);
    int rc = orci_loader_plan(b, version, &p, err);
    orci_load_plan_free(p);
    return rc;
}

/* ---- reading the database back --------------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static void buf_add(buf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
}

static int dump_row(void *arg, int n, char **vals, char **cols)
{
    buf *b = arg;
    for (int i = 0; i < n; i++) {
        buf_add(b, cols[i]);
        buf_add(b, "=");
        buf_add(b, vals[i] ? vals[i] : "NULL");
        buf_add(b, "|");
    }
    buf_add(b, "\n");
    return 0;
}

/* dump returns every row of the workflow tables (malloc'd text). */
static char *dump(fixture *f)
{
    static const char *const queries[] = {
        "SELECT * FROM workflows ORDER BY id",
        "SELECT * FROM workflow_versions ORDER BY id",
        "SELECT * FROM certifications ORDER BY id",
        "SELECT * FROM certification_requirements ORDER BY 1, 2",
        "SELECT * FROM steps ORDER BY id",
        "SELECT * FROM step_creation_deps ORDER BY 1, 2",
        "SELECT * FROM step_submission_deps ORDER BY 1, 2",
        "SELECT * FROM step_certifications ORDER BY 1, 2",
    };
    buf b = {0};
    buf_add(&b, "");
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        buf_add(&b, queries[i]);
        buf_add(&b, "\n");
        char *msg = NULL;
        int rc = sqlite3_exec(orci_db_handle(f->r), queries[i], dump_row, &b, &msg);
        if (rc != SQLITE_OK)
            fail_msg("%s: %s", queries[i], msg ? msg : "?");
    }
    return b.s;
}

/* text_of returns the first column of the first row of sql (malloc'd) or NULL. */
static char *text_of(fixture *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(orci_db_handle(f->r), sql, -1, &st, NULL), SQLITE_OK);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static long long count_of(fixture *f, const char *sql)
{
    char *t = text_of(f, sql);
    assert_non_null(t);
    long long v = atoll(t);
    free(t);
    return v;
}

static void assert_text(fixture *f, const char *sql, const char *want)
{
    char *got = text_of(f, sql);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* ---- fixtures of workflow text -------------------------------------------------------- */

static const char WF[] = "{'slug':'news','name':'News','description':'Write news.',"
                         " 'certifications':["
                         "  {'slug':'editor','name':'Editor','description':'Edits'},"
                         "  {'slug':'writer','name':'Writer','description':'Writes',"
                         "   'required_certifications':['editor']}]}";

/* plan -> write (human, both certs) -> publish (machine) */
static const char V1[] =
    "{'slug':'v1','name':'Version 1','description':'First.','steps':["
    " {'slug':'plan','name':'Plan','description':'Plan it',"
    "  'required_certifications':['editor']},"
    " {'slug':'write','name':'Write','description':'Write it',"
    "  'creation_depends_on':['plan'],'submission_depends_on':['plan'],"
    "  'required_certifications':['writer','editor'],"
    "  'review_policy':{'policy':'no_review'}},"
    " {'slug':'publish','name':'Publish','description':'Publish it','is_human':false,"
    "  'creation_depends_on':['write'],"
    "  'execution_function':{'module':'news.v1.publish','name':'run'},"
    "  'retry_policy':{'max_attempts':3,'initial_delay_ms':10,'max_delay_ms':100}}]}";

/* expect_plan_error builds a bundle of WF + version text and checks the planning error. */
static void expect_plan_error(const char *wf, const char *version_json, const char *version,
                              int code, const char *message)
{
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", wf);
    if (version_json)
        bundle_add_version(b, "v1", version_json);
    orc_error err;
    assert_int_equal(plan_only(b, version, &err), code);
    assert_string_equal(err.message, message);
    orci_bundle_free(b);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_loader_loads_version_with_defaults(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    orc_error err;
    assert_int_equal(load(f, b, "v1", false, &err), ORC_OK);

    assert_text(f,
                "SELECT name || '/' || code_directory || '/' || sample_data_load_function "
                "|| '/' || ifnull(sample_data, 'none') FROM workflows WHERE slug = 'news'",
                "News//apps/news/{}/none");
    assert_text(f, "SELECT name FROM workflow_versions WHERE slug = 'v1'", "Version 1");
    /* Defaults of a human step. */
    assert_text(f,
                "SELECT is_human || review_policy || assignment_policy || "
                "execution_function || user_interface || retry_policy || position "
                "FROM steps WHERE slug = 'plan'",
                "1{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}"
                "{\"policy\":\"anyone_certified\"}{}{}{}0");
    /* Defaults of a machine step, with the given function and retry policy. */
    assert_text(f,
                "SELECT is_human || review_policy || assignment_policy || "
                "execution_function || retry_policy || position "
                "FROM steps WHERE slug = 'publish'",
                "0{}{}{\"module\":\"news.v1.publish\",\"name\":\"run\"}"
                "{\"max_attempts\":3,\"initial_delay_ms\":10,\"max_delay_ms\":100}2");
    assert_text(f, "SELECT review_policy FROM steps WHERE slug = 'write'",
                "{\"policy\":\"no_review\"}");
    assert_int_equal(count_of(f, "SELECT count(*) FROM step_creation_deps"), 2);
    assert_int_equal(count_of(f, "SELECT count(*) FROM step_submission_deps"), 1);
    assert_int_equal(count_of(f, "SELECT count(*) FROM step_certifications"), 3);
    assert_text(f,
                "SELECT group_concat(slug) FROM (SELECT c.slug FROM step_certifications sc "
                "JOIN certifications c ON c.id = sc.certification_id "
                "JOIN steps s ON s.id = sc.step_id WHERE s.slug = 'write' ORDER BY c.slug)",
                "editor,writer");
    assert_text(f,
                "SELECT c.slug || '>' || r.slug FROM certification_requirements cr "
                "JOIN certifications c ON c.id = cr.certification_id "
                "JOIN certifications r ON r.id = cr.required_id",
                "writer>editor");
    orci_bundle_free(b);
}

static void test_loader_refuses_missing_versions(void **state)
{
    (void)state;
    expect_plan_error(WF, NULL, "v1", ORC_INVALID_ARGUMENT,
                      "Workflow directory /apps/news does not contain any versions");
}

static void test_loader_refuses_invalid_version(void **state)
{
    (void)state;
    expect_plan_error(WF, V1, "v2", ORC_INVALID_ARGUMENT, "Invalid version requested: v2");
    /* Two folders declaring the same slug: upstream refuses that slug too. */
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "a", V1);
    bundle_add_version(b, "b", V1);
    orc_error err;
    assert_int_equal(plan_only(b, "v1", &err), ORC_INVALID_ARGUMENT);
    assert_string_equal(err.message, "Invalid version requested: v1");
    orci_bundle_free(b);
}

static void test_loader_refuses_unknown_certification_requirement(void **state)
{
    (void)state;
    expect_plan_error("{'slug':'news','name':'N','description':'D','certifications':["
                      " {'slug':'editor','name':'E','description':'d',"
                      "  'required_certifications':['boss']}]}",
                      V1, "v1", ORC_INVALID_ARGUMENT,
                      "Certification editor requires non-existent certification.");
}

static void test_loader_refuses_unknown_slugs_in_steps(void **state)
{
    (void)state;
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a',"
                      "  'required_certifications':['nobody']}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.required_certifications contains a non-existent slug.");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a',"
                      "  'creation_depends_on':['ghost']}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.creation_depends_on contains a non-existent slug.");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a'},"
                      " {'slug':'b','name':'B','description':'b',"
                      "  'submission_depends_on':['a','ghost']}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "b.submission_depends_on contains a non-existent slug.");
}

static void test_loader_refuses_missing_keys(void **state)
{
    (void)state;
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a'},"
                      " {'slug':'b','name':'B','description':'b'},"
                      " {'name':'C','description':'c'}]}",
                      "v1", ORC_INVALID_ARGUMENT, "version.json (v1): step 3 is missing \"slug\"");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A'}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "version.json (v1): step 1 is missing \"description\"");
    expect_plan_error(WF, "{'slug':'v1','name':'V','description':'D'}", "v1", ORC_INVALID_ARGUMENT,
                      "version.json (v1) is missing \"steps\"");
    expect_plan_error("{'slug':'news','description':'D','certifications':[]}", V1, "v1",
                      ORC_INVALID_ARGUMENT, "workflow.json is missing \"name\"");
    expect_plan_error("{'slug':'news','name':'N','description':'D'}", V1, "v1",
                      ORC_INVALID_ARGUMENT, "workflow.json is missing \"certifications\"");
    expect_plan_error("{'slug':'news','name':'N','description':'D','certifications':["
                      " {'slug':'editor','name':'E'}]}",
                      V1, "v1", ORC_INVALID_ARGUMENT,
                      "workflow.json: certification 1 is missing \"description\"");
    expect_plan_error("{'slug':7,'name':'N','description':'D','certifications':[]}", V1, "v1",
                      ORC_INVALID_ARGUMENT, "workflow.json: \"slug\" must be a string");
}

static void test_loader_refuses_wrong_types(void **state)
{
    (void)state;
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','is_human':'yes'}]}",
                      "v1", ORC_INVALID_ARGUMENT, "a.is_human must be true or false");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','creation_depends_on':'b'}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.creation_depends_on must be a list of strings");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','required_certifications':[1]}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.required_certifications must be a list of strings");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','review_policy':[]}]}",
                      "v1", ORC_INVALID_ARGUMENT, "a.review_policy must be a JSON object");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','user_interface':'x'}]}",
                      "v1", ORC_INVALID_ARGUMENT, "a.user_interface must be a JSON object");
    expect_plan_error(WF, "{'slug':'v1','name':'V','description':'D','steps':{}}", "v1",
                      ORC_INVALID_ARGUMENT, "version.json (v1): \"steps\" must be a list");
    expect_plan_error(WF, "{'slug':'v1','name':'V','description':'D','steps':[3]}", "v1",
                      ORC_INVALID_ARGUMENT, "version.json (v1): step 1 is not an object");
}

static void test_loader_refuses_long_and_duplicate_slugs(void **state)
{
    (void)state;
    char slug[202];
    memset(slug, 'x', 201);
    slug[201] = '\0';
    char version[600];
    snprintf(version, sizeof version,
             "{'slug':'v1','name':'V','description':'D','steps':["
             " {'slug':'%s','name':'A','description':'a'}]}",
             slug);
    expect_plan_error(WF, version, "v1", ORC_INVALID_ARGUMENT,
                      "version.json (v1): step 1: \"slug\" is longer than 200 characters");
    /* 200 characters are fine. */
    slug[200] = '\0';
    snprintf(version, sizeof version,
             "{'slug':'v1','name':'V','description':'D','steps':["
             " {'slug':'%s','name':'A','description':'a'}]}",
             slug);
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", version);
    orc_error err;
    assert_int_equal(plan_only(b, "v1", &err), ORC_OK);
    orci_bundle_free(b);

    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a'},"
                      " {'slug':'a','name':'A2','description':'a'}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "version.json (v1): step slug \"a\" is used twice");
    expect_plan_error("{'slug':'news','name':'N','description':'D','certifications':["
                      " {'slug':'editor','name':'E','description':'d'},"
                      " {'slug':'editor','name':'E2','description':'d'}]}",
                      V1, "v1", ORC_INVALID_ARGUMENT,
                      "workflow.json: certification slug \"editor\" is used twice");
}

static void test_loader_refuses_slugs_outside_the_rule(void **state)
{
    (void)state;
    /* A slug names folders and URLs: "../x/y" must never get in (upstream's SlugField). */
    expect_plan_error("{'slug':'../x/y','name':'N','description':'D','certifications':[]}", V1,
                      "v1", ORC_INVALID_ARGUMENT,
                      "workflow.json: slug \"../x/y\" may only contain letters, digits, - and _");
    expect_plan_error(WF, "{'slug':'v1/..','name':'V','description':'D','steps':[]}", "v1/..",
                      ORC_INVALID_ARGUMENT,
                      "version.json (v1): slug \"v1/..\" may only contain letters, digits, - "
                      "and _");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a b','name':'A','description':'a'}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "version.json (v1): step 1: slug \"a b\" may only contain letters, digits, "
                      "- and _");
    expect_plan_error("{'slug':'news','name':'N','description':'D','certifications':["
                      " {'slug':'ed\u00e9','name':'E','description':'d'}]}",
                      V1, "v1", ORC_INVALID_ARGUMENT,
                      "workflow.json: certification 1: slug \"ed\u00e9\" may only contain "
                      "letters, digits, - and _");
}

static void test_loader_refuses_cycles(void **state)
{
    (void)state;
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','creation_depends_on':['b']},"
                      " {'slug':'b','name':'B','description':'b','submission_depends_on':['a']}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "Workflow version v1 has a dependency cycle: a -> b -> a");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a'},"
                      " {'slug':'b','name':'B','description':'b','creation_depends_on':['b']}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "Workflow version v1 has a dependency cycle: b -> b");
    /* A longer cycle behind an acyclic prefix names only the cycle. */
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'s','name':'S','description':'s','creation_depends_on':['x']},"
                      " {'slug':'x','name':'X','description':'x','creation_depends_on':['y']},"
                      " {'slug':'y','name':'Y','description':'y','creation_depends_on':['z']},"
                      " {'slug':'z','name':'Z','description':'z','creation_depends_on':['x']}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "Workflow version v1 has a dependency cycle: x -> y -> z -> x");
}

static void test_loader_refuses_invalid_policies(void **state)
{
    (void)state;
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a',"
                      "  'review_policy':{'policy':'sampled_review','rate':2,'max_reviews':1}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.review_policy is invalid: \"rate\" must be a number between 0 and 1");
    expect_plan_error(
        WF,
        "{'slug':'v1','name':'V','description':'D','steps':["
        " {'slug':'a','name':'A','description':'a',"
        "  'review_policy':{'policy':'sampled_review','rate':0.5,'max_reviews':-1}}]}",
        "v1", ORC_INVALID_ARGUMENT,
        "a.review_policy is invalid: \"max_reviews\" must be an integer of at least 0");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a','review_policy':{}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.review_policy is invalid: \"policy\" must be \"no_review\" or "
                      "\"sampled_review\"");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a',"
                      "  'assignment_policy':{'policy':'whoever'}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.assignment_policy is invalid: \"policy\" must be \"anyone_certified\", "
                      "\"previously_completed_steps\" or \"specified_worker\"");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'m','name':'M','description':'m','is_human':false,"
                      "  'execution_function':{'module':'x','name':'y'}},"
                      " {'slug':'a','name':'A','description':'a','creation_depends_on':['m'],"
                      "  'assignment_policy':{'policy':'previously_completed_steps',"
                      "  'steps':['m']}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.assignment_policy is invalid: \"steps\" must list human steps of this "
                      "version");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'a','name':'A','description':'a',"
                      "  'assignment_policy':{'policy':'specified_worker'}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "a.assignment_policy is invalid: \"username\" must be a non-empty string");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'m','name':'M','description':'m','is_human':false,"
                      "  'execution_function':{'module':'x','name':'y'},"
                      "  'assignment_policy':{'policy':'anyone_certified'}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "Machine step should not have assignment policy.");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'m','name':'M','description':'m','is_human':false}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "m.execution_function is invalid: a machine step needs {\"module\": "
                      "\"...\", \"name\": \"...\"}, {\"path\": \"package.module.function\", "
                      "\"kwargs\": {...}} (kwargs optional) or {\"command\": [\"program\", ...]}");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'m','name':'M','description':'m','is_human':false,"
                      "  'execution_function':{'command':[]}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "m.execution_function is invalid: a machine step needs {\"module\": "
                      "\"...\", \"name\": \"...\"}, {\"path\": \"package.module.function\", "
                      "\"kwargs\": {...}} (kwargs optional) or {\"command\": [\"program\", ...]}");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'m','name':'M','description':'m','is_human':false,"
                      "  'execution_function':{'command':['/bin/true']},"
                      "  'retry_policy':{'initial_delay_ms':50,'max_delay_ms':10}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "m.retry_policy is invalid: \"max_delay_ms\" must be an integer from "
                      "\"initial_delay_ms\" to 86400000");
    expect_plan_error(WF,
                      "{'slug':'v1','name':'V','description':'D','steps':["
                      " {'slug':'m','name':'M','description':'m','is_human':false,"
                      "  'execution_function':{'command':['/bin/true']},"
                      "  'retry_policy':{'max_attempts':0}}]}",
                      "v1", ORC_INVALID_ARGUMENT,
                      "m.retry_policy is invalid: \"max_attempts\" must be an integer from 1 to "
                      "1000");
    expect_plan_error(
        WF,
        "{'slug':'v1','name':'V','description':'D','steps':["
        " {'slug':'a','name':'A','description':'a','retry_policy':{'max_attempts':2}}]}",
        "v1", ORC_INVALID_ARGUMENT, "a.retry_policy is invalid: only machine steps are retried");
}

static void test_loader_refuses_plaintext_sample_password(void **state)
{
    (void)state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    b->sample_data_json = q("{'users':[{'username':'demo','password':'demo'}]}");
    orc_error err;
    assert_int_equal(plan_only(b, "v1", &err), ORC_INVALID_ARGUMENT);
    assert_string_equal(err.message,
                        "sample_data.json: user \"demo\": \"password\" must be a password hash "
                        "\"pbkdf2-sha256$<iterations>$<salt>$<hash>\"; plain-text passwords "
                        "are refused");
    orci_bundle_free(b);
}

static void test_loader_refuses_reload_without_force(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    orc_error err;
    assert_int_equal(load(f, b, "v1", false, &err), ORC_OK);
    char *before = dump(f);
    assert_non_null(strstr(before, "slug=news|"));
    assert_non_null(strstr(before, "slug=publish|"));
    assert_int_equal(load(f, b, "v1", false, &err), ORC_ALREADY_EXISTS);
    assert_string_equal(err.message, "Version v1 already exists");
    char *after = dump(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    orci_bundle_free(b);
}

static void test_loader_force_with_same_steps_updates(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    orc_error err;
    assert_int_equal(load(f, b, "v1", false, &err), ORC_OK);
    orci_bundle_free(b);

    /* Same steps and dependencies; new names, a new certification list and policy. */
    b = bundle_new("news", "{'slug':'news','name':'News 2','description':'Write news.',"
                           " 'certifications':["
                           "  {'slug':'editor','name':'Chief Editor','description':'Edits'},"
                           "  {'slug':'writer','name':'Writer','description':'Writes'}]}");
    bundle_add_version(
        b, "v1",
        "{'slug':'v1','name':'Version 1b','description':'First.','steps':["
        " {'slug':'plan','name':'Planning','description':'Plan it',"
        "  'required_certifications':[]},"
        " {'slug':'write','name':'Write','description':'Write it',"
        "  'creation_depends_on':['plan'],'submission_depends_on':['plan'],"
        "  'required_certifications':['writer']},"
        " {'slug':'publish','name':'Publish','description':'Publish it','is_human':false,"
        "  'creation_depends_on':['write'],"
        "  'execution_function':{'command':['/bin/publish']}}]}");
    assert_int_equal(load(f, b, "v1", true, &err), ORC_OK);
    assert_text(f, "SELECT name FROM workflows", "News 2");
    assert_text(f, "SELECT name FROM workflow_versions", "Version 1b");
    assert_text(f, "SELECT name FROM certifications WHERE slug = 'editor'", "Chief Editor");
    assert_int_equal(count_of(f, "SELECT count(*) FROM certification_requirements"), 0);
    assert_text(f, "SELECT name FROM steps WHERE slug = 'plan'", "Planning");
    assert_text(f, "SELECT review_policy FROM steps WHERE slug = 'write'",
                "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}");
    assert_text(f, "SELECT execution_function FROM steps WHERE slug = 'publish'",
                "{\"command\":[\"/bin/publish\"]}");
    assert_text(f,
                "SELECT group_concat(c.slug) FROM step_certifications sc "
                "JOIN certifications c ON c.id = sc.certification_id",
                "writer");
    assert_int_equal(count_of(f, "SELECT count(*) FROM steps"), 3);
    assert_int_equal(count_of(f, "SELECT count(*) FROM step_creation_deps"), 2);
    assert_int_equal(count_of(f, "SELECT count(*) FROM workflow_versions"), 1);
    orci_bundle_free(b);
}

static void test_loader_force_refuses_changed_steps(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    orc_error err;
    assert_int_equal(load(f, b, "v1", false, &err), ORC_OK);
    orci_bundle_free(b);
    char *before = dump(f);

    /* One step fewer. */
    b = bundle_new("news", "{'slug':'news','name':'Renamed','description':'x',"
                           "'certifications':[]}");
    bundle_add_version(b, "v1",
                       "{'slug':'v1','name':'V','description':'D','steps':["
                       " {'slug':'plan','name':'Plan','description':'Plan it'},"
                       " {'slug':'write','name':'Write','description':'Write it',"
                       "  'creation_depends_on':['plan'],'submission_depends_on':['plan']}]}");
    assert_int_equal(load(f, b, "v1", true, &err), ORC_FAILED_PRECONDITION);
    assert_string_equal(err.message,
                        "Even with --force, cannot change the steps of a workflow. Drop and "
                        "recreate the database to reset, or create a new version for your "
                        "workflow.");
    orci_bundle_free(b);

    /* Same count, one slug renamed. */
    b = bundle_new("news", WF);
    bundle_add_version(b, "v1",
                       "{'slug':'v1','name':'V','description':'D','steps':["
                       " {'slug':'plan','name':'Plan','description':'Plan it'},"
                       " {'slug':'write','name':'Write','description':'Write it',"
                       "  'creation_depends_on':['plan'],'submission_depends_on':['plan']},"
                       " {'slug':'ship','name':'Ship','description':'Ship it','is_human':false,"
                       "  'creation_depends_on':['write'],"
                       "  'execution_function':{'module':'m','name':'n'}}]}");
    assert_int_equal(load(f, b, "v1", true, &err), ORC_FAILED_PRECONDITION);
    assert_non_null(strstr(err.message, "cannot change the steps of a workflow"));
    char *after = dump(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    orci_bundle_free(b);
}

static void test_loader_force_refuses_changed_topology(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    orc_error err;
    assert_int_equal(load(f, b, "v1", false, &err), ORC_OK);
    orci_bundle_free(b);
    char *before = dump(f);

    static const char *const variants[] = {
        /* a submission dependency removed */
        "{'slug':'v1','name':'V','description':'D','steps':["
        " {'slug':'plan','name':'Plan','description':'Plan it'},"
        " {'slug':'write','name':'Write','description':'Write it',"
        "  'creation_depends_on':['plan']},"
        " {'slug':'publish','name':'Publish','description':'P','is_human':false,"
        "  'creation_depends_on':['write'],'execution_function':{'module':'m','name':'n'}}]}",
        /* a creation dependency added */
        "{'slug':'v1','name':'V','description':'D','steps':["
        " {'slug':'plan','name':'Plan','description':'Plan it'},"
        " {'slug':'write','name':'Write','description':'Write it',"
        "  'creation_depends_on':['plan'],'submission_depends_on':['plan']},"
        " {'slug':'publish','name':'Publish','description':'P','is_human':false,"
        "  'creation_depends_on':['write','plan'],"
        "  'execution_function':{'module':'m','name':'n'}}]}",
        /* a creation dependency moved to another step */
        "{'slug':'v1','name':'V','description':'D','steps':["
        " {'slug':'plan','name':'Plan','description':'Plan it'},"
        " {'slug':'write','name':'Write','description':'Write it',"
        "  'creation_depends_on':['plan'],'submission_depends_on':['plan']},"
        " {'slug':'publish','name':'Publish','description':'P','is_human':false,"
        "  'creation_depends_on':['plan'],'execution_function':{'module':'m','name':'n'}}]}",
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        b = bundle_new("news", WF);
        bundle_add_version(b, "v1", variants[i]);
        assert_int_equal(load(f, b, "v1", true, &err), ORC_FAILED_PRECONDITION);
        assert_string_equal(err.message,
                            "Even with --force, cannot change the topology of a workflow. Drop "
                            "and recreate the database to reset, or create a new version for "
                            "your workflow.");
        orci_bundle_free(b);
    }
    char *after = dump(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_loader_refuses_shared_code_directory(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    orc_error err;
    assert_int_equal(load(f, b, "v1", false, &err), ORC_OK);
    orci_bundle_free(b);
    char *before = dump(f);
    b = bundle_new("news", "{'slug':'other','name':'O','description':'o','certifications':[]}");
    bundle_add_version(b, "v1", "{'slug':'v1','name':'V','description':'D','steps':[]}");
    assert_int_equal(load(f, b, "v1", false, &err), ORC_ALREADY_EXISTS);
    assert_string_equal(err.message,
                        "Workflow directory /apps/news is already used by workflow news");
    char *after = dump(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    orci_bundle_free(b);
}

/* ---- load-all -------------------------------------------------------------------------- */

typedef struct all_job {
    orci_load_all *all;
    bool force;
} all_job;

static int apply_all_fn(orci_db *db, void *arg, orc_error *err)
{
    all_job *j = arg;
    return orci_loader_apply_all(db, j->all, j->force, NOW, err);
}

static void test_loader_all_refuses_duplicate_workflow(void **state)
{
    (void)state;
    Orchestra__V1__WorkflowBundle *b[2] = {bundle_new("news_a", WF), bundle_new("news_b", WF)};
    bundle_add_version(b[0], "v1", V1);
    bundle_add_version(b[1], "v1", V1);
    orci_load_all *all = NULL;
    orc_error err = {0};
    assert_int_equal(orci_loader_plan_all(b, 2, &all, &err), ORC_INVALID_ARGUMENT);
    assert_null(all);
    assert_string_equal(err.message, "Workflow news present in multiple apps: news_a, news_b");
    orci_bundle_free(b[0]);
    orci_bundle_free(b[1]);
}

static void test_loader_all_loads_good_versions_and_reports_bad_ones(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b[3] = {bundle_new("news", WF),
                                           bundle_new("other", "{'slug':'other','name':'O',"
                                                               "'description':'o',"
                                                               "'certifications':[]}"),
                                           bundle_new("broken", "{'slug':")};
    bundle_add_version(b[0], "v1", V1);
    bundle_add_version(b[0], "v2",
                       "{'slug':'v2','name':'V2','description':'D','steps':["
                       " {'slug':'a','name':'A','description':'a','creation_depends_on':['a']}]}");
    bundle_add_version(b[1], "v1", "{'slug':'v1','name':'O1','description':'o','steps':[]}");
    bundle_add_version(b[1], "v2", "{'slug':'v2','name':'O2','description':'o','steps':[]}");

    /* other/v1 exists already: without force it is refused in its savepoint. */
    orc_error err;
    assert_int_equal(load(f, b[1], "v1", false, &err), ORC_OK);

    orci_load_all *all = NULL;
    assert_int_equal(orci_loader_plan_all(b, 3, &all, &err), ORC_OK);
    all_job j = {all, false};
    assert_int_equal(orci_store_write(f->s, apply_all_fn, &j, &err), ORC_OK);
    assert_int_equal(all->n_items, 5);

    assert_string_equal(all->items[0].app, "news");
    assert_string_equal(all->items[0].workflow, "news");
    assert_string_equal(all->items[0].version, "v1");
    assert_int_equal(all->items[0].status, ORC_OK);

    assert_string_equal(all->items[1].version, "v2");
    assert_int_equal(all->items[1].status, ORC_INVALID_ARGUMENT);
    assert_string_equal(all->items[1].message,
                        "Workflow version v2 has a dependency cycle: a -> a");

    assert_string_equal(all->items[2].workflow, "other");
    assert_string_equal(all->items[2].version, "v1");
    assert_int_equal(all->items[2].status, ORC_ALREADY_EXISTS);
    assert_string_equal(all->items[2].message, "Version v1 already exists");

    assert_string_equal(all->items[3].version, "v2");
    assert_int_equal(all->items[3].status, ORC_OK);

    assert_string_equal(all->items[4].app, "broken");
    assert_int_equal(all->items[4].status, ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(all->items[4].message, "workflow.json"));

    assert_text(f,
                "SELECT group_concat(x, ' ') FROM (SELECT w.slug || '/' || v.slug AS x "
                "FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
                "ORDER BY w.slug, v.slug)",
                "news/v1 other/v1 other/v2");
    assert_text(f, "SELECT name FROM workflow_versions WHERE slug = 'v1' AND name LIKE 'O%'", "O1");
    orci_load_all_free(all);
    for (int i = 0; i < 3; i++)
        orci_bundle_free(b[i]);
}

/* ---- the example workflows ------------------------------------------------------------- */

static void test_loader_loads_example_workflows(void **state)
{
    fixture *f = *state;
    const char *src = getenv("ORC_SOURCE_DIR");
    assert_non_null(src);
    static const char *const apps[] = {"simple_workflow", "journalism_workflow"};
    for (size_t i = 0; i < 2; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/plugins/%s", src, apps[i]);
        Orchestra__V1__WorkflowBundle *b = NULL;
        orc_error err = {0};
        assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_OK);
        if (load(f, b, "v1", false, &err) != ORC_OK)
            fail_msg("%s: %s", apps[i], err.message);
        orci_bundle_free(b);
    }
    assert_text(f,
                "SELECT group_concat(x, ',') FROM (SELECT slug || ':' || name AS x "
                "FROM workflows ORDER BY slug)",
                "journalism:Journalism Workflow,simple_workflow:Simple Workflow");
    assert_text(f,
                "SELECT group_concat(slug, ',') FROM (SELECT s.slug FROM steps s "
                "JOIN workflow_versions v ON v.id = s.workflow_version_id "
                "JOIN workflows w ON w.id = v.workflow_id "
                "WHERE w.slug = 'journalism' ORDER BY s.position)",
                "document_creation,article_planning,reporting,photography,photo_adjustment,"
                "copy_editing");
    assert_text(f,
                "SELECT group_concat(slug, ',') FROM (SELECT d.slug FROM step_creation_deps e "
                "JOIN steps s ON s.id = e.step_id JOIN steps d ON d.id = e.depends_on_id "
                "WHERE s.slug = 'copy_editing' ORDER BY d.slug)",
                "photo_adjustment,reporting");
    assert_text(f, "SELECT execution_function FROM steps WHERE slug = 'crawl'",
                "{\"module\":\"simple_workflow.v1.crawl\",\"name\":\"crawl_page\"}");
    assert_text(f, "SELECT review_policy FROM steps WHERE slug = 'reporting'",
                "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}");
    assert_int_equal(count_of(f, "SELECT count(*) FROM certifications"), 4);
    assert_int_equal(count_of(f, "SELECT count(*) FROM workflows WHERE sample_data IS NULL"), 0);
}

/* ---- the RPC handlers (svc_workflow.c) ------------------------------------------------- */

typedef struct svc_job {
    orci_call *c;
    const ProtobufCMessage *in;
    void *plan;
    int (*apply)(orci_call *c, orci_db *wdb, const ProtobufCMessage *in, void *plan,
                 ProtobufCMessage **out, orc_error *err);
    ProtobufCMessage *out;
} svc_job;

static int svc_fn(orci_db *db, void *arg, orc_error *err)
{
    svc_job *j = arg;
    return j->apply(j->c, db, j->in, j->plan, &j->out, err);
}

static void test_loader_services_load_list_and_sample(void **state)
{
    fixture *f = *state;
    orci_call c = {.rdb = f->r, .now_us = NOW};
    orc_error err = {0};

    Orchestra__V1__WorkflowBundle *b = bundle_new("news", WF);
    bundle_add_version(b, "v1", V1);
    Orchestra__V1__LoadWorkflowRequest req = ORCHESTRA__V1__LOAD_WORKFLOW_REQUEST__INIT;
    req.bundle = b;
    req.version = "v1";
    svc_job j = {.c = &c, .in = &req.base, .apply = orci_svc_load_workflow_apply};
    assert_int_equal(orci_svc_load_workflow_prepare(&c, &req.base, &j.plan, &err), ORC_OK);
    assert_int_equal(orci_store_write(f->s, svc_fn, &j, &err), ORC_OK);
    Orchestra__V1__LoadWorkflowReply *lr = (Orchestra__V1__LoadWorkflowReply *)j.out;
    assert_string_equal(lr->workflow, "news");
    assert_string_equal(lr->version, "v1");
    protobuf_c_message_free_unpacked(j.out, NULL);
    orci_svc_load_plan_free(j.plan);

    /* A refused version plans fine but the apply reports the error. */
    j.out = NULL;
    assert_int_equal(orci_svc_load_workflow_prepare(&c, &req.base, &j.plan, &err), ORC_OK);
    assert_int_equal(orci_store_write(f->s, svc_fn, &j, &err), ORC_ALREADY_EXISTS);
    assert_null(j.out);
    orci_svc_load_plan_free(j.plan);

    /* Load-all answers OK with one result per version. */
    const char *src = getenv("ORC_SOURCE_DIR");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins/journalism_workflow", src);
    Orchestra__V1__WorkflowBundle *jb = NULL;
    assert_int_equal(orci_bundle_read(dir, &jb, &err), ORC_OK);
    Orchestra__V1__WorkflowBundle *bundles[] = {b, jb};
    Orchestra__V1__LoadAllWorkflowsRequest all = ORCHESTRA__V1__LOAD_ALL_WORKFLOWS_REQUEST__INIT;
    all.bundles = bundles;
    all.n_bundles = 2;
    svc_job ja = {.c = &c, .in = &all.base, .apply = orci_svc_load_all_apply};
    assert_int_equal(orci_svc_load_all_prepare(&c, &all.base, &ja.plan, &err), ORC_OK);
    assert_int_equal(orci_store_write(f->s, svc_fn, &ja, &err), ORC_OK);
    Orchestra__V1__LoadAllWorkflowsReply *ar = (Orchestra__V1__LoadAllWorkflowsReply *)ja.out;
    assert_int_equal(ar->n_results, 2);
    assert_string_equal(ar->results[0]->workflow, "news");
    assert_int_equal(ar->results[0]->status, ORC_ALREADY_EXISTS);
    assert_string_equal(ar->results[0]->message, "Version v1 already exists");
    assert_string_equal(ar->results[1]->app, "journalism_workflow");
    assert_string_equal(ar->results[1]->workflow, "journalism");
    assert_string_equal(ar->results[1]->version, "v1");
    assert_int_equal(ar->results[1]->status, ORC_OK);
    protobuf_c_message_free_unpacked(ja.out, NULL);
    orci_svc_load_plan_free(ja.plan);

    Orchestra__V1__LoadSampleDataRequest sreq = ORCHESTRA__V1__LOAD_SAMPLE_DATA_REQUEST__INIT;
    sreq.workflow = "journalism";
    sreq.version = "v1";
    svc_job js = {.c = &c, .in = &sreq.base, .apply = orci_svc_load_sample_data_apply};
    assert_int_equal(orci_store_write(f->s, svc_fn, &js, &err), ORC_OK);
    Orchestra__V1__LoadSampleDataReply *sr = (Orchestra__V1__LoadSampleDataReply *)js.out;
    assert_int_equal(sr->n_users, 6);
    assert_string_equal(sr->users[1], "journalism-reporter-1");
    protobuf_c_message_free_unpacked(js.out, NULL);

    Orchestra__V1__ListWorkflowsRequest lreq = ORCHESTRA__V1__LIST_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    assert_int_equal(orci_svc_list_workflows(&c, &lreq.base, &out, &err), ORC_OK);
    Orchestra__V1__ListWorkflowsReply *list = (Orchestra__V1__ListWorkflowsReply *)out;
    assert_int_equal(list->n_workflows, 2);
    assert_string_equal(list->workflows[0]->slug, "journalism");
    assert_string_equal(list->workflows[0]->name, "Journalism Workflow");
    assert_int_equal(list->workflows[0]->n_versions, 1);
    assert_string_equal(list->workflows[0]->versions[0]->name, "Journalism Workflow Version 1");
    assert_string_equal(list->workflows[1]->slug, "news");
    assert_string_equal(list->workflows[1]->versions[0]->slug, "v1");
    protobuf_c_message_free_unpacked(out, NULL);

    orci_bundle_free(jb);
    orci_bundle_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loader_loads_version_with_defaults, setup, teardown),
        cmocka_unit_test(test_loader_refuses_missing_versions),
        cmocka_unit_test(test_loader_refuses_invalid_version),
        cmocka_unit_test(test_loader_refuses_unknown_certification_requirement),
        cmocka_unit_test(test_loader_refuses_unknown_slugs_in_steps),
        cmocka_unit_test(test_loader_refuses_missing_keys),
        cmocka_unit_test(test_loader_refuses_wrong_types),
        cmocka_unit_test(test_loader_refuses_long_and_duplicate_slugs),
        cmocka_unit_test(test_loader_refuses_slugs_outside_the_rule),
        cmocka_unit_test(test_loader_refuses_cycles),
        cmocka_unit_test(test_loader_refuses_invalid_policies),
        cmocka_unit_test(test_loader_refuses_plaintext_sample_password),
        cmocka_unit_test_setup_teardown(test_loader_refuses_reload_without_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_force_with_same_steps_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_force_refuses_changed_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_force_refuses_changed_topology, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_loader_refuses_shared_code_directory, setup, teardown),
        cmocka_unit_test(test_loader_all_refuses_duplicate_workflow),
        cmocka_unit_test_setup_teardown(test_loader_all_loads_good_versions_and_reports_bad_ones,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_loads_example_workflows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loader_services_load_list_and_sample, setup, teardown),
    };
    return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
