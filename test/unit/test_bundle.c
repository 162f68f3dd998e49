/* test_bundle.c: reading workflow folders into bundles (client/lib/bundle.c). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "support.h"

static const char *source_dir(void)
{
    const char *src = getenv("ORC_SOURCE_DIR");
    assert_non_null(src);
    return src;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void make_dir(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void test_bundle_reads_simple_workflow(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/plugins/simple_workflow/", source_dir());
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err = {0};
    assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_OK);
    assert_non_null(b);
    assert_string_equal(b->app, "simple_workflow");
    /* The trailing slash is dropped so that one folder has one code_directory. */
    dir[strlen(dir) - 1] = '\0';
    assert_string_equal(b->code_directory, dir);
    assert_non_null(strstr(b->workflow_json, "\"slug\": \"simple_workflow\""));
    assert_int_equal(b->n_versions, 1);
    assert_string_equal(b->versions[0]->dir, "v1");
    assert_non_null(strstr(b->versions[0]->json, "\"crawl_page\""));
    assert_non_null(strstr(b->sample_data_json, "\"demo\""));
    orci_bundle_free(b);
}

static void test_bundle_refuses_missing_directory(void **state)
{
    (void)state;
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err = {0};
    assert_int_equal(orci_bundle_read("/nonexistent/orchestra/app", &b, &err),
                     ORC_INVALID_ARGUMENT);
    assert_null(b);
    assert_string_equal(err.message, "Workflow directory does not exist.");
}

static void test_bundle_refuses_missing_manifest(void **state)
{
    (void)state;
    char dir[256];
    orc_test_tmpdir("bundle", dir, sizeof dir);
    make_dir(dir, "v1");
    write_file(dir, "v1/version.json", "{}");
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err = {0};
    assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_INVALID_ARGUMENT);
    assert_null(b);
    assert_string_equal(err.message, "No \"workflow.json\" manifest file found.");
    orc_test_rmtree(dir);
}

static void test_bundle_lists_versions_sorted_and_skips_other_folders(void **state)
{
    (void)state;
    char dir[256];
    orc_test_tmpdir("bundle", dir, sizeof dir);
    write_file(dir, "workflow.json", "{\"slug\":\"x\"}");
    make_dir(dir, "v2");
    make_dir(dir, "v1");
    make_dir(dir, "static");
    write_file(dir, "v2/version.json", "{\"slug\":\"second\"}");
    write_file(dir, "v1/version.json", "{\"slug\":\"first\"}");
    write_file(dir, "static/app.js", "x");
    write_file(dir, "version.json", "{}");
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err = {0};
    assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_OK);
    assert_int_equal(b->n_versions, 2);
    assert_string_equal(b->versions[0]->dir, "v1");
    assert_string_equal(b->versions[0]->json, "{\"slug\":\"first\"}");
    assert_string_equal(b->versions[1]->dir, "v2");
    assert_string_equal(b->sample_data_json, "");
    orci_bundle_free(b);
    orc_test_rmtree(dir);
}

static void test_bundle_refuses_oversized_file(void **state)
{
    (void)state;
    char dir[256], path[512];
    orc_test_tmpdir("bundle", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/workflow.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)ORCI_BUNDLE_FILE_MAX, SEEK_SET), 0);
    assert_int_equal(fputc(' ', fp), ' ');
    assert_int_equal(fclose(fp), 0);
    Orchestra__V1__WorkflowBundle *b = NULL;
    orc_error err = {0};
    assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_INVALID_ARGUMENT);
    assert_null(b);
    assert_non_null(strstr(err.message, "is larger than"));
    orc_test_rmtree(dir);
}

static void test_bundle_scan_finds_both_examples(void **state)
{
    (void)state;
    char root[1024];
    snprintf(root, sizeof root, "%s/plugins", source_dir());
    const char *roots[] = {root};
    char **dirs = NULL;
    size_t n = 0;
    orc_error err = {0};
    assert_int_equal(orci_bundle_scan(roots, 1, &dirs, &n, &err), ORC_OK);
    assert_int_equal(n, 2);
    char want[1100];
    snprintf(want, sizeof want, "%s/journalism_workflow", root);
    assert_string_equal(dirs[0], want);
    snprintf(want, sizeof want, "%s/simple_workflow", root);
    assert_string_equal(dirs[1], want);
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);

    /* A workflow folder given directly is taken as is. */
    roots[0] = want;
    assert_int_equal(orci_bundle_scan(roots, 1, &dirs, &n, &err), ORC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(dirs[0], want);
    free(dirs[0]);
    free(dirs);

    roots[0] = "/nonexistent/orchestra";
    assert_int_equal(orci_bundle_scan(roots, 1, &dirs, &n, &err), ORC_INVALID_ARGUMENT);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_reads_simple_workflow),
        cmocka_unit_test(test_bundle_refuses_missing_directory),
        cmocka_unit_test(test_bundle_refuses_missing_manifest),
        cmocka_unit_test(test_bundle_lists_versions_sorted_and_skips_other_folders),
        cmocka_unit_test(test_bundle_refuses_oversized_file),
        cmocka_unit_test(test_bundle_scan_finds_both_examples),
    };
    return cmocka_run_group_tests_name("bundle", tests, NULL, NULL);
}
