/*
 * test_workflow_cli.c: loading and listing workflows through the `orchestra` CLI against a
 * real orchestrad: the example workflows, sample data, reloads, load-all, and refused
 * folders that must leave the database untouched.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support.h"

typedef struct fixture {
    orc_harness h;
    char src[512];    /* $ORC_SOURCE_DIR */
    char simple[700]; /* <src>/plugins/simple_workflow */
    char journalism[700];
    char plugins[600];
} fixture;

/* The daemon of the running test, whose log is printed when an expectation fails. */
static const orc_harness *current;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->src, sizeof f->src, "%s", orc_test_env("ORC_SOURCE_DIR"));
    snprintf(f->plugins, sizeof f->plugins, "%s/plugins", f->src);
    snprintf(f->simple, sizeof f->simple, "%s/simple_workflow", f->plugins);
    snprintf(f->journalism, sizeof f->journalism, "%s/journalism_workflow", f->plugins);
    *state = f;
    current = &f->h;
    if (orc_harness_start(&f->h, NULL) != 0) {
        orc_harness_cleanup(&f->h);
        free(f);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int status = f->h.pid != 0 ? orc_harness_stop(&f->h) : 0;
    current = NULL;
    orc_harness_cleanup(&f->h);
    free(f);
    return status == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------- */

typedef struct run {
    int code;
    char *out;
    char *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static void run_print(const char *what, const run *r)
{
    fprintf(stderr, "%s: exit %d\n-- stdout --\n%s\n-- stderr --\n%s\n", what, r->code,
            r->out != NULL ? r->out : "", r->err != NULL ? r->err : "");
}

/* cli runs the CLI with the dev key; the arguments end with NULL. */
#define cli(f, r, ...)                                                                             \
    assert_int_equal(                                                                              \
        orc_harness_cli(&(f)->h, NULL, &(r)->code, &(r)->out, &(r)->err, __VA_ARGS__, NULL), 0)

/* expect_code checks the exit status of r, printing its output when it differs. */
static void expect_code(const char *what, const run *r, int code)
{
    if (r->code != code) {
        run_print(what, r);
        orc_harness_print_log(current);
    }
    assert_int_equal(r->code, code);
}

static json_t *parse_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL)
        fprintf(stderr, "not one JSON document (%s at line %d): %s\n", jerr.text, jerr.line, text);
    assert_non_null(v);
    return v;
}

static json_t *load_json_file(const char *path)
{
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (v == NULL)
        fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
    assert_non_null(v);
    return v;
}

static void assert_json_equal(json_t *got, json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(1));
        fprintf(stderr, "JSON differs\n-- got --\n%s\n-- want --\n%s\n", g, w);
        free(g);
        free(w);
        fail();
    }
}

/* assert_contains checks that text contains needle. */
static void assert_contains(const char *text, const char *needle)
{
    if (text == NULL || strstr(text, needle) == NULL) {
        fprintf(stderr, "expected to find \"%s\" in:\n%s\n", needle, text ? text : "(null)");
        fail();
    }
}

/*
 * expected_entry builds the workflow_types entry of the workflow folder dir from the
 * folder's own files: {"name": <workflow name>, "versions": {"v1": {"name",
 * "description"}}}, and returns the workflow's slug in *slug (malloc'd).
 */
static json_t *expected_entry(const char *dir, char **slug)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/workflow.json", dir);
    json_t *wf = load_json_file(path);
    snprintf(path, sizeof path, "%s/v1/version.json", dir);
    json_t *ver = load_json_file(path);
    const char *wslug = json_string_value(json_object_get(wf, "slug"));
    const char *vslug = json_string_value(json_object_get(ver, "slug"));
    assert_non_null(wslug);
    assert_non_null(vslug);
    json_t *v = json_pack("{s:O, s:{s:{s:O, s:O}}}", "name", json_object_get(wf, "name"),
                          "versions", vslug, "name", json_object_get(ver, "name"), "description",
                          json_object_get(ver, "description"));
    assert_non_null(v);
    *slug = strdup(wslug);
    json_decref(wf);
    json_decref(ver);
    return v;
}

/* expected_types builds the workflow_types document of the two example workflows. */
static json_t *expected_types(const fixture *f)
{
    json_t *workflows = json_object();
    const char *dirs[] = {f->simple, f->journalism};
    for (size_t i = 0; i < 2; i++) {
        char *slug = NULL;
        json_t *e = expected_entry(dirs[i], &slug);
        json_object_set_new(workflows, slug, e);
        free(slug);
    }
    return json_pack("{s:o}", "workflows", workflows);
}

static json_t *list_workflows(fixture *f)
{
    run r = {0};
    cli(f, &r, "--json", "workflow", "list");
    expect_code("workflow list", &r, 0);
    json_t *v = parse_json(r.out);
    run_free(&r);
    return v;
}

static void load_ok(fixture *f, const char *dir, const char *workflow)
{
    run r = {0};
    cli(f, &r, "--json", "workflow", "load", dir, "v1");
    expect_code("workflow load", &r, 0);
    json_t *got = parse_json(r.out);
    json_t *want = json_pack("{s:s, s:s}", "workflow", workflow, "version", "v1");
    assert_json_equal(got, want);
    json_decref(got);
    json_decref(want);
    run_free(&r);
}

static void load_examples(fixture *f)
{
    load_ok(f, f->simple, "simple_workflow");
    load_ok(f, f->journalism, "journalism");
}

/* dump_workflow_tables reads the workflow tables straight from the database. */
static char *dump_workflow_tables(const fixture *f)
{
    static const char *tables[] = {
        "workflows", "workflow_versions",  "certifications",       "certification_requirements",
        "steps",     "step_creation_deps", "step_submission_deps", "step_certifications",
    };
    char *all = NULL;
    size_t all_len = 0;
    FILE *mem = open_memstream(&all, &all_len);
    assert_non_null(mem);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1, 2", tables[i]);
        char *rows = orc_harness_sql(&f->h, sql);
        assert_non_null(rows);
        fprintf(mem, "[%s]\n%s", tables[i], rows);
        free(rows);
    }
    fclose(mem);
    return all;
}

/* snapshot is the observable workflow state: the listing and the tables. */
typedef struct snapshot {
    json_t *list;
    char *tables;
} snapshot;

static snapshot take_snapshot(fixture *f)
{
    snapshot s = {list_workflows(f), dump_workflow_tables(f)};
    return s;
}

static void assert_unchanged(fixture *f, snapshot *before)
{
    snapshot after = take_snapshot(f);
    assert_json_equal(after.list, before->list);
    if (strcmp(after.tables, before->tables) != 0) {
        fprintf(stderr, "tables changed\n-- before --\n%s\n-- after --\n%s\n", before->tables,
                after.tables);
        fail();
    }
    json_decref(after.list);
    free(after.tables);
    json_decref(before->list);
    free(before->tables);
}

/* write_workflow writes a workflow folder <h.dir>/<name> with these files' texts. */
static void write_workflow(fixture *f, const char *name, const char *workflow_json,
                           const char *version_json, char *dir, size_t dir_size)
{
    char path[1400];
    snprintf(dir, dir_size, "%s/%s", f->h.dir, name);
    snprintf(path, sizeof path, "%s/workflow.json", dir);
    assert_int_equal(orc_test_write_file(path, workflow_json), 0);
    snprintf(path, sizeof path, "%s/v1/version.json", dir);
    assert_int_equal(orc_test_write_file(path, version_json), 0);
}

/* refused_load loads dir v1 (with --force when force) and expects exit 1 and message. */
static void refused_load(fixture *f, const char *dir, bool force, const char *message)
{
    run r = {0};
    if (force)
        cli(f, &r, "workflow", "load", dir, "v1", "--force");
    else
        cli(f, &r, "workflow", "load", dir, "v1");
    expect_code("refused workflow load", &r, 1);
    assert_contains(r.err, message);
    run_free(&r);
}

static const char *const TEST_WORKFLOW =
    "{\"slug\": \"wf_test\", \"name\": \"Test\", \"description\": \"A test workflow.\",\n"
    " \"certifications\": [{\"slug\": \"cert_a\", \"name\": \"A\", \"description\": \"a\"}]}\n";

/* ---- tests ----------------------------------------------------------------------------- */

static void test_cli_loads_examples_and_lists_workflow_types(void **state)
{
    fixture *f = *state;
    load_examples(f);
    json_t *got = list_workflows(f);
    json_t *want = expected_types(f);
    assert_json_equal(got, want);
    json_decref(got);
    json_decref(want);
}

static void test_cli_sample_data_lists_the_six_journalism_users(void **state)
{
    fixture *f = *state;
    load_examples(f);
    run r = {0};
    cli(f, &r, "--json", "workflow", "sample-data", "journalism/v1");
    expect_code("workflow sample-data", &r, 0);
    json_t *got = parse_json(r.out);
    json_t *users = json_object_get(got, "users");
    assert_true(json_is_array(users));
    static const char *const want[] = {
        "journalism-editor",         "journalism-reporter-1",     "journalism-reporter-2",
        "journalism-photographer-1", "journalism-photographer-2", "journalism-copy-editor",
    };
    assert_int_equal(json_array_size(users), 6);
    for (size_t i = 0; i < 6; i++) {
        bool found = false;
        for (size_t j = 0; j < json_array_size(users); j++)
            found |= json_is_string(json_array_get(users, j)) &&
                     strcmp(json_string_value(json_array_get(users, j)), want[i]) == 0;
        if (!found)
            run_print("sample-data", &r);
        assert_true(found);
    }
    json_decref(got);
    run_free(&r);
}

static void test_cli_sample_data_bad_argument_is_a_usage_error(void **state)
{
    fixture *f = *state;
    run r = {0};
    cli(f, &r, "workflow", "sample-data", "journalism");
    expect_code("sample-data journalism", &r, 2);
    assert_true(strlen(r.err) > 0);
    run_free(&r);
    cli(f, &r, "workflow", "sample-data", "journalism/v1/extra");
    expect_code("sample-data journalism/v1/extra", &r, 2);
    run_free(&r);
}

static void test_cli_reload_without_force_is_refused(void **state)
{
    fixture *f = *state;
    load_examples(f);
    snapshot before = take_snapshot(f);
    refused_load(f, f->simple, false, "Version v1 already exists");
    assert_unchanged(f, &before);
    /* With --force the same version reloads. */
    run r = {0};
    cli(f, &r, "workflow", "load", f->simple, "v1", "--force");
    expect_code("forced reload", &r, 0);
    run_free(&r);
}

static void test_cli_options_take_equals_and_any_position(void **state)
{
    fixture *f = *state;
    load_examples(f);
    /* getopt_long: --name=value, options before or after operands, -pVALUE, "--" ending. */
    run r = {0};
    cli(f, &r, "--json", "workflow", "load", "--force", f->simple, "v1");
    expect_code("--force before the operands", &r, 0);
    run_free(&r);
    cli(f, &r, "project", "create", "--workflow=simple_workflow", "--version=v1",
        "--description=equals", "--priority=3", "--data={\"url\":\"http://x/\"}", "--json");
    expect_code("--name=value", &r, 0);
    assert_non_null(strstr(r.out, "\"project_id\""));
    run_free(&r);
    cli(f, &r, "project", "create", "--workflow", "simple_workflow", "--version", "v1",
        "--description", "after", "--priority", "-4");
    expect_code("a negative option value", &r, 0);
    run_free(&r);
    cli(f, &r, "project", "info", "--", "1");
    expect_code("-- before an operand", &r, 0);
    run_free(&r);
    cli(f, &r, "project", "create", "--workflow");
    expect_code("a value missing", &r, 2);
    assert_non_null(strstr(r.err, "option --workflow needs a value"));
    run_free(&r);
    cli(f, &r, "workflow", "list", "--no-such-option=1");
    expect_code("an unknown option", &r, 2);
    assert_non_null(strstr(r.err, "unknown option --no-such-option=1"));
    run_free(&r);
}

/* has_ref tells whether the load-all JSON list holds {"workflow":w,"version":"v1"}. */
static bool has_ref(json_t *list, const char *workflow)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        const char *w = json_string_value(json_object_get(e, "workflow"));
        const char *v = json_string_value(json_object_get(e, "version"));
        if (w != NULL && v != NULL && strcmp(w, workflow) == 0 && strcmp(v, "v1") == 0)
            return true;
    }
    return false;
}

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_cli_load_all_loads_both_and_reports_each_refusal(void **state)
{
    fixture *f = *state;
    run r = {0};
    cli(f, &r, "--json", "workflow", "load-all", f->plugins);
    expect_code("load-all (fresh)", &r, 0);
    json_t *got = parse_json(r.out);
    assert_true(json_is_array(got));
    assert_true(has_ref(got, "simple_workflow"));
    assert_true(has_ref(got, "journalism"));
    json_decref(got);
    run_free(&r);

    json_t *list = list_workflows(f);
    json_t *want = expected_types(f);
    assert_json_equal(list, want);
    json_decref(list);
    json_decref(want);

    /* Again with --force: both reload. */
    cli(f, &r, "--json", "workflow", "load-all", "--force", f->plugins);
    expect_code("load-all --force", &r, 0);
    got = parse_json(r.out);
    assert_true(has_ref(got, "simple_workflow"));
    assert_true(has_ref(got, "journalism"));
    json_decref(got);
    run_free(&r);

    /* Without --force each version is refused on its own, and the command says so. */
    snapshot before = take_snapshot(f);
    cli(f, &r, "workflow", "load-all", f->plugins);
    expect_code("load-all without --force", &r, 1);
    assert_true(count_occurrences(r.err, "Version v1 already exists") >= 2);
    assert_contains(r.err, "simple_workflow");
    assert_contains(r.err, "journalism");
    run_free(&r);
    assert_unchanged(f, &before);
}

static void test_cli_refuses_dependency_cycle_and_changes_nothing(void **state)
{
    fixture *f = *state;
    load_examples(f);
    char dir[1400];
    write_workflow(
        f, "cycle", TEST_WORKFLOW,
        "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"cyclic\", \"steps\": [\n"
        " {\"slug\": \"a\", \"name\": \"A\", \"description\": \"a\", \"creation_depends_on\": "
        "[\"c\"]},\n"
        " {\"slug\": \"b\", \"name\": \"B\", \"description\": \"b\", \"creation_depends_on\": "
        "[\"a\"]},\n"
        " {\"slug\": \"c\", \"name\": \"C\", \"description\": \"c\", \"creation_depends_on\": "
        "[\"b\"]}\n"
        "]}\n",
        dir, sizeof dir);
    snapshot before = take_snapshot(f);
    refused_load(f, dir, false, "cycle");
    assert_unchanged(f, &before);
}

static void test_cli_refuses_unknown_certification_and_changes_nothing(void **state)
{
    fixture *f = *state;
    load_examples(f);
    char dir[1400];
    write_workflow(
        f, "unknown_cert", TEST_WORKFLOW,
        "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"bad cert\", \"steps\": [\n"
        " {\"slug\": \"a\", \"name\": \"A\", \"description\": \"a\"},\n"
        " {\"slug\": \"b\", \"name\": \"B\", \"description\": \"b\", \"creation_depends_on\": "
        "[\"a\"], \"required_certifications\": [\"cert_a\", \"no_such_cert\"]}\n"
        "]}\n",
        dir, sizeof dir);
    snapshot before = take_snapshot(f);
    refused_load(f, dir, false, "b.required_certifications contains a non-existent slug.");
    assert_unchanged(f, &before);
}

static void test_cli_refuses_certification_requiring_unknown_one(void **state)
{
    fixture *f = *state;
    load_examples(f);
    char dir[1400];
    write_workflow(f, "cert_requires",
                   "{\"slug\": \"wf_test\", \"name\": \"Test\", \"description\": \"t\",\n"
                   " \"certifications\": [{\"slug\": \"cert_a\", \"name\": \"A\", "
                   "\"description\": \"a\", \"required_certifications\": [\"ghost\"]}]}\n",
                   "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"d\", \"steps\": [\n"
                   " {\"slug\": \"a\", \"name\": \"A\", \"description\": \"a\"}]}\n",
                   dir, sizeof dir);
    snapshot before = take_snapshot(f);
    refused_load(f, dir, false, "Certification cert_a requires non-existent certification.");
    assert_unchanged(f, &before);
}

static const char *const TOPOLOGY_V1 =
    "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"three steps\", \"steps\": [\n"
    " {\"slug\": \"a\", \"name\": \"A\", \"description\": \"a\"},\n"
    " {\"slug\": \"b\", \"name\": \"B\", \"description\": \"b\", \"creation_depends_on\": "
    "[\"a\"]},\n"
    " {\"slug\": \"c\", \"name\": \"C\", \"description\": \"c\", \"creation_depends_on\": "
    "[\"a\"]}\n"
    "]}\n";

static void test_cli_forced_reload_refuses_changed_topology(void **state)
{
    fixture *f = *state;
    load_examples(f);
    char dir[1400], path[1500];
    write_workflow(f, "topology", TEST_WORKFLOW, TOPOLOGY_V1, dir, sizeof dir);
    run r = {0};
    cli(f, &r, "workflow", "load", dir, "v1");
    expect_code("first load", &r, 0);
    run_free(&r);

    /* c now also depends on b: a dependency added on a forced reload. */
    snprintf(path, sizeof path, "%s/v1/version.json", dir);
    assert_int_equal(
        orc_test_write_file(
            path,
            "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"three steps\", \"steps\": [\n"
            " {\"slug\": \"a\", \"name\": \"A\", \"description\": \"a\"},\n"
            " {\"slug\": \"b\", \"name\": \"B\", \"description\": \"b\", \"creation_depends_on\": "
            "[\"a\"]},\n"
            " {\"slug\": \"c\", \"name\": \"C\", \"description\": \"c\", \"creation_depends_on\": "
            "[\"a\", \"b\"]}\n"
            "]}\n"),
        0);
    snapshot before = take_snapshot(f);
    refused_load(f, dir, true, "Even with --force, cannot change the topology of a workflow.");
    assert_unchanged(f, &before);

    /* A step removed on a forced reload is refused as well. */
    assert_int_equal(
        orc_test_write_file(
            path,
            "{\"slug\": \"v1\", \"name\": \"V1\", \"description\": \"two steps\", \"steps\": [\n"
            " {\"slug\": \"a\", \"name\": \"A\", \"description\": \"a\"},\n"
            " {\"slug\": \"b\", \"name\": \"B\", \"description\": \"b\", \"creation_depends_on\": "
            "[\"a\"]}\n"
            "]}\n"),
        0);
    before = take_snapshot(f);
    refused_load(f, dir, true, "Even with --force, cannot change the steps of a workflow.");
    assert_unchanged(f, &before);
}

static void test_cli_missing_folder_is_refused(void **state)
{
    fixture *f = *state;
    char dir[1400];
    snprintf(dir, sizeof dir, "%s/no_such_folder", f->h.dir);
    refused_load(f, dir, false, "Workflow directory does not exist.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_loads_examples_and_lists_workflow_types, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_sample_data_lists_the_six_journalism_users, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_sample_data_bad_argument_is_a_usage_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_reload_without_force_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_options_take_equals_and_any_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_load_all_loads_both_and_reports_each_refusal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_refuses_dependency_cycle_and_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_refuses_unknown_certification_and_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_refuses_certification_requiring_unknown_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_forced_reload_refuses_changed_topology, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_missing_folder_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("workflow_cli", tests, NULL, NULL);
}
