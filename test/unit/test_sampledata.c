/* test_sampledata.c: declarative sample data (sample_data.json) and LoadSampleData. */
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
#include "crypto.h"
#include "workflow/loader.h"
#include "workflow/sampledata.h"
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
    orc_test_tmpdir("sampledata", f->dir, sizeof f->dir);
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

typedef struct apply_job {
    const orci_load_plan *plan;
} apply_job;

static int apply_fn(orci_db *db, void *arg, orc_error *err)
{
    apply_job *j = arg;
    return orci_loader_apply(db, j->plan, false, NOW, err);
}

static void load_bundle(fixture *f, const Orchestra__V1__WorkflowBundle *b)
{
    orci_load_plan *p = NULL;
    orc_error err = {0};
    if (orci_loader_plan(b, "v1", &p, &err) != ORC_OK)
        fail_msg("plan: %s", err.message);
    apply_job j = {p};
    if (orci_store_write(f->s, apply_fn, &j, &err) != ORC_OK)
        fail_msg("apply: %s", err.message);
    orci_load_plan_free(p);
}

static void load_example(fixture *f, const char *app)
{
    const char *src = getenv("ORC_SOURCE_DIR");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins/%s", src, app);
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err = {0};
    assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_OK);
    load_bundle(f, b);
    orci_bundle_free(b);
}

typedef struct sample_job {
    const char *workflow;
    const char *version;
    char **names;
    size_t n;
} sample_job;

static int sample_fn(orci_db *db, void *arg, orc_error *err)
{
    sample_job *j = arg;
    return orci_sample_data_load(db, j->workflow, j->version, NOW, &j->names, &j->n, err);
}

static int load_sample(fixture *f, const char *workflow, const char *version, sample_job *j,
                       orc_error *err)
{
    memset(j, 0, sizeof *j);
    j->workflow = workflow;
    j->version = version;
    orc_error_clear(err);
    return orci_store_write(f->s, sample_fn, j, err);
}

static void sample_job_fini(sample_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->names[i]);
    free(j->names);
    j->names = NULL;
    j->n = 0;
}

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

static void assert_text(fixture *f, const char *sql, const char *want)
{
    char *got = text_of(f, sql);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* The worker certifications as "user:cert:role:class" lines, sorted. */
static const char CERTS_SQL[] =
    "SELECT group_concat(x, ' ') FROM (SELECT u.username || ':' || c.slug || ':' || wc.role "
    "|| ':' || wc.task_class AS x FROM worker_certifications wc "
    "JOIN workers w ON w.id = wc.worker_id JOIN users u ON u.id = w.user_id "
    "JOIN certifications c ON c.id = wc.certification_id ORDER BY x)";

static const char JOURNALISM_CERTS[] =
    "journalism-copy-editor:copy_editor:0:1 journalism-editor:editor:0:1 "
    "journalism-photographer-1:photographer:0:1 journalism-photographer-2:photographer:0:1 "
    "journalism-photographer-2:photographer:1:1 journalism-reporter-1:reporter:0:1 "
    "journalism-reporter-2:reporter:0:1 journalism-reporter-2:reporter:1:1";

static void test_sampledata_loads_journalism_users(void **state)
{
    fixture *f = *state;
    load_example(f, "journalism_workflow");
    sample_job j;
    orc_error err;
    if (load_sample(f, "journalism", "v1", &j, &err) != ORC_OK)
        fail_msg("%s", err.message);
    assert_int_equal(j.n, 6);
    assert_string_equal(j.names[0], "journalism-editor");
    assert_string_equal(j.names[5], "journalism-copy-editor");
    sample_job_fini(&j);

    assert_text(f, "SELECT count(*) FROM users", "6");
    assert_text(f, "SELECT count(*) FROM workers", "6");
    assert_text(f, "SELECT count(*) FROM users WHERE email = 'noreply@example.org'", "6");
    assert_text(f,
                "SELECT first_name || ' ' || last_name FROM users "
                "WHERE username = 'journalism-reporter-2'",
                "Journalism Reporter 2");
    assert_text(f, CERTS_SQL, JOURNALISM_CERTS);
}

static void test_sampledata_reload_is_idempotent(void **state)
{
    fixture *f = *state;
    load_example(f, "journalism_workflow");
    sample_job j;
    orc_error err;
    assert_int_equal(load_sample(f, "journalism", "v1", &j, &err), ORC_OK);
    sample_job_fini(&j);
    char *workers = text_of(f, "SELECT group_concat(id || '@' || start_datetime) FROM workers");
    assert_int_equal(load_sample(f, "journalism", "v1", &j, &err), ORC_OK);
    assert_int_equal(j.n, 6);
    sample_job_fini(&j);
    assert_text(f, "SELECT count(*) FROM users", "6");
    assert_text(f, "SELECT group_concat(id || '@' || start_datetime) FROM workers", workers);
    assert_text(f, CERTS_SQL, JOURNALISM_CERTS);
    free(workers);
}

static void test_sampledata_passwords_verify(void **state)
{
    fixture *f = *state;
    load_example(f, "journalism_workflow");
    load_example(f, "simple_workflow");
    sample_job j;
    orc_error err;
    assert_int_equal(load_sample(f, "journalism", "v1", &j, &err), ORC_OK);
    sample_job_fini(&j);
    assert_int_equal(load_sample(f, "simple_workflow", "v1", &j, &err), ORC_OK);
    assert_int_equal(j.n, 1);
    assert_string_equal(j.names[0], "demo");
    sample_job_fini(&j);

    static const char *const pairs[][2] = {
        {"demo", "demo"},
        {"journalism-editor", "editor"},
        {"journalism-reporter-1", "reporter"},
        {"journalism-reporter-2", "reporter"},
        {"journalism-photographer-1", "photographer"},
        {"journalism-photographer-2", "photographer"},
        {"journalism-copy-editor", "copy-editor"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT password FROM users WHERE username = '%s'", pairs[i][0]);
        char *hash = text_of(f, sql);
        assert_non_null(hash);
        assert_int_equal(orci_password_verify(pairs[i][1], hash), 1);
        assert_int_equal(orci_password_verify("wrong", hash), 0);
        free(hash);
    }
    assert_text(f,
                "SELECT first_name || ' ' || last_name || ' ' || email FROM users "
                "WHERE username = 'demo'",
                "Demo User noreply@example.org");
    assert_text(f,
                "SELECT count(*) FROM workers w JOIN users u ON u.id = w.user_id "
                "WHERE u.username = 'demo'",
                "1");
}

/* A bundle with one certification and the given sample users (JSON with ' for "). */
static Orchestra__V1__WorkflowBundle *bundle_with_users(const char *users_json)
{
    Orchestra__V1__WorkflowBundle *b = malloc(sizeof *b);
    assert_non_null(b);
    orchestra__v1__workflow_bundle__init(b);
    b->app = strdup("tiny");
    b->code_directory = strdup("/apps/tiny");
    b->workflow_json = strdup("{\"slug\":\"tiny\",\"name\":\"Tiny\",\"description\":\"t\","
                              "\"certifications\":[{\"slug\":\"cert\",\"name\":\"C\","
                              "\"description\":\"c\"}]}");
    b->versions = malloc(sizeof *b->versions);
    assert_non_null(b->versions);
    Orchestra__V1__VersionFile *vf = malloc(sizeof *vf);
    assert_non_null(vf);
    orchestra__v1__version_file__init(vf);
    vf->dir = strdup("v1");
    vf->json = strdup("{\"slug\":\"v1\",\"name\":\"V\",\"description\":\"d\",\"steps\":[]}");
    b->versions[0] = vf;
    b->n_versions = 1;
    if (users_json) {
        char hash[ORCI_PASSWORD_HASH_MAX];
        assert_int_equal(orci_password_hash("pw", 1000, hash, sizeof hash), 0);
        size_t cap = strlen(users_json) + 64 + strlen(hash) * 8;
        char *text = malloc(cap);
        assert_non_null(text);
        size_t at = 0;
        for (const char *p = users_json; *p; p++) {
            if (*p == '#') { /* '#' stands for the password hash */
                at += (size_t)snprintf(text + at, cap - at, "%s", hash);
                continue;
            }
            text[at++] = *p == '\'' ? '"' : *p;
        }
        text[at] = '\0';
        b->sample_data_json = text;
    }
    return b;
}

static void test_sampledata_refuses_reviewer_without_entry_level(void **state)
{
    fixture *f = *state;
    Orchestra__V1__WorkflowBundle *b = bundle_with_users(
        "{'users':[{'username':'rev','password':'#','certifications':["
        " {'certification':'cert','role':'reviewer'},"
        " {'certification':'cert','role':'entry_level','task_class':'training'}]}]}");
    load_bundle(f, b);
    orci_bundle_free(b);
    sample_job j;
    orc_error err;
    assert_int_equal(load_sample(f, "tiny", "v1", &j, &err), ORC_FAILED_PRECONDITION);
    assert_string_equal(err.message,
                        "Worker rev cannot be a reviewer for cert (real tasks) without the "
                        "entry-level certification of the same task class.");
    /* The whole load rolled back. */
    assert_text(f, "SELECT count(*) FROM users", "0");
    assert_text(f, "SELECT count(*) FROM worker_certifications", "0");
}

static void test_sampledata_reviewer_after_entry_in_file_order_is_fine(void **state)
{
    fixture *f = *state;
    /* The reviewer row comes first in the file; entry-level rows are written first. */
    Orchestra__V1__WorkflowBundle *b = bundle_with_users(
        "{'users':[{'username':'rev','password':'#','first_name':'R','is_staff':true,"
        " 'certifications':["
        " {'certification':'cert','role':'reviewer','task_class':'training'},"
        " {'certification':'cert','role':'entry_level','task_class':'training'}]}]}");
    load_bundle(f, b);
    orci_bundle_free(b);
    sample_job j;
    orc_error err;
    assert_int_equal(load_sample(f, "tiny", "v1", &j, &err), ORC_OK);
    sample_job_fini(&j);
    assert_text(f, CERTS_SQL, "rev:cert:0:0 rev:cert:1:0");
    assert_text(f, "SELECT first_name || is_staff FROM users", "R1");
}

static void test_sampledata_refuses_unknown_workflow_version_or_no_data(void **state)
{
    fixture *f = *state;
    sample_job j;
    orc_error err;
    assert_int_equal(load_sample(f, "tiny", "v1", &j, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "Workflow tiny is not loaded");

    Orchestra__V1__WorkflowBundle *b = bundle_with_users(NULL);
    load_bundle(f, b);
    orci_bundle_free(b);
    assert_int_equal(load_sample(f, "tiny", "v2", &j, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "Workflow tiny has no version v2");
    assert_int_equal(load_sample(f, "tiny", "v1", &j, &err), ORC_FAILED_PRECONDITION);
    assert_string_equal(err.message, "Workflow tiny has no sample data");
}

static void test_sampledata_parse_refuses_bad_files(void **state)
{
    (void)state;
    static const char *const cert_slugs[] = {"cert"};
    static const struct {
        const char *json;
        const char *message;
    } cases[] = {
        {"{\"people\":[]}", "sample_data.json: unknown key \"people\""},
        {"{\"users\":{}}", "sample_data.json: \"users\" must be a list of users"},
        {"{\"users\":[{\"password\":\"x\"}]}",
         "sample_data.json: user 1: \"username\" must be a string of 1 to 150 characters"},
        {"{\"users\":[{\"username\":\"a\",\"password\":\"secret\"}]}",
         "sample_data.json: user \"a\": \"password\" must be a password hash "
         "\"pbkdf2-sha256$<iterations>$<salt>$<hash>\"; plain-text passwords are refused"},
        {"{\"users\":[{\"username\":\"a\",\"pasword\":\"x\"}]}",
         "sample_data.json: user \"a\": unknown key \"pasword\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        orci_sample_data *sd = NULL;
        orc_error err = {0};
        assert_int_equal(
            orci_sample_data_parse(cases[i].json, strlen(cases[i].json), cert_slugs, 1, &sd, &err),
            ORC_INVALID_ARGUMENT);
        assert_null(sd);
        assert_string_equal(err.message, cases[i].message);
    }

    char hash[ORCI_PASSWORD_HASH_MAX];
    assert_int_equal(orci_password_hash("pw", 1000, hash, sizeof hash), 0);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"users\":[{\"username\":\"a\",\"password\":\"%s\",\"certifications\":"
             "[{\"certification\":\"nope\",\"role\":\"reviewer\"}]}]}",
             hash);
    orci_sample_data *sd = NULL;
    orc_error err = {0};
    assert_int_equal(orci_sample_data_parse(text, strlen(text), cert_slugs, 1, &sd, &err),
                     ORC_INVALID_ARGUMENT);
    assert_string_equal(err.message, "sample_data.json: user \"a\": certification 1: "
                                     "certification \"nope\" is not defined in workflow.json");
    snprintf(text, sizeof text,
             "{\"users\":[{\"username\":\"a\",\"password\":\"%s\",\"certifications\":"
             "[{\"certification\":\"cert\",\"role\":\"boss\"}]}]}",
             hash);
    assert_int_equal(orci_sample_data_parse(text, strlen(text), cert_slugs, 1, &sd, &err),
                     ORC_INVALID_ARGUMENT);
    assert_string_equal(err.message, "sample_data.json: user \"a\": certification 1: \"role\" "
                                     "must be \"entry_level\" or \"reviewer\"");
    snprintf(text, sizeof text,
             "{\"users\":[{\"username\":\"a\",\"password\":\"%s\"},"
             "{\"username\":\"a\",\"password\":\"%s\"}]}",
             hash, hash);
    assert_int_equal(orci_sample_data_parse(text, strlen(text), cert_slugs, 1, &sd, &err),
                     ORC_INVALID_ARGUMENT);
    assert_string_equal(err.message, "sample_data.json: user \"a\" is listed twice");

    snprintf(text, sizeof text,
             "{\"users\":[{\"username\":\"a\",\"password\":\"%s\",\"certifications\":"
             "[{\"certification\":\"cert\",\"role\":\"reviewer\",\"task_class\":\"training\"}]}]}",
             hash);
    assert_int_equal(orci_sample_data_parse(text, strlen(text), cert_slugs, 1, &sd, &err), ORC_OK);
    assert_int_equal(sd->n_users, 1);
    assert_true(sd->users[0].worker);
    assert_false(sd->users[0].is_staff);
    assert_int_equal(sd->users[0].n_certs, 1);
    assert_int_equal(sd->users[0].certs[0].role, 1);
    assert_int_equal(sd->users[0].certs[0].task_class, 0);
    orci_sample_data_free(sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sampledata_loads_journalism_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampledata_reload_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampledata_passwords_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampledata_refuses_reviewer_without_entry_level, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sampledata_reviewer_after_entry_in_file_order_is_fine,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampledata_refuses_unknown_workflow_version_or_no_data,
                                        setup, teardown),
        cmocka_unit_test(test_sampledata_parse_refuses_bad_files),
    };
    return cmocka_run_group_tests_name("sampledata", tests, NULL, NULL);
}
