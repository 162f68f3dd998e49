/*
 * test_bundle_modules.c: the interface modules a workflow folder's steps name are read into
 * the bundle (client/lib/bundle.c), from inside the folder only.
 */
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
#include <unistd.h>

#include "bundle.h"
#include "support.h"

#define WORKFLOW "{\"slug\":\"w\",\"name\":\"W\",\"description\":\"d\",\"certifications\":[]}"

typedef struct folder {
    char root[512]; /* holds the workflow folder "wf" and an outside file */
    char dir[600];  /* root/wf */
} folder;

static void put(const char *dir, const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(orc_test_write_file(path, text), 0);
}

/* make_folder writes a workflow whose one step's user_interface is ui. */
static void make_folder(folder *f, const char *ui)
{
    orc_test_tmpdir("bundle-modules", f->root, sizeof f->root);
    snprintf(f->dir, sizeof f->dir, "%s/wf", f->root);
    put(f->dir, "workflow.json", WORKFLOW);
    char version[512];
    snprintf(version, sizeof version,
             "{\"slug\":\"v1\",\"name\":\"V\",\"description\":\"d\",\"steps\":[{\"slug\":\"s\","
             "\"name\":\"S\",\"description\":\"d\",\"user_interface\":%s}]}",
             ui);
    put(f->dir, "v1/version.json", version);
    put(f->root, "secret.js", "the outside world");
}

static int read_bundle(folder *f, Orchestra__V1__WorkflowBundle **b, orc_error *err)
{
    *b = NULL;
    return orci_bundle_read(f->dir, b, err);
}

static void test_bundle_carries_the_named_module(void **state)
{
    (void)state;
    folder f;
    make_folder(&f, "{\"module\":\"v1/ui/form.js\",\"angular_directive\":\"x\"}");
    put(f.dir, "v1/ui/form.js", "export default function mount() {}\n");
    put(f.dir, "v1/ui/unnamed.js", "not named, not sent");
    Orchestra__V1__WorkflowBundle *b;
    orc_error err = {0};
    assert_int_equal(read_bundle(&f, &b, &err), ORC_OK);
    assert_int_equal(b->n_files, 1);
    assert_string_equal(b->files[0]->path, "v1/ui/form.js");
    assert_string_equal(b->files[0]->text, "export default function mount() {}\n");
    orci_bundle_free(b);
    orc_test_rmtree(f.root);
}

static void test_bundle_leaves_a_missing_module_to_the_server(void **state)
{
    (void)state;
    folder f;
    make_folder(&f, "{\"module\":\"v1/missing.js\"}");
    Orchestra__V1__WorkflowBundle *b;
    orc_error err = {0};
    assert_int_equal(read_bundle(&f, &b, &err), ORC_OK);
    assert_int_equal(b->n_files, 0);
    orci_bundle_free(b);
    orc_test_rmtree(f.root);
}

static void test_bundle_refuses_paths_out_of_the_folder(void **state)
{
    (void)state;
    const char *bad[] = {"{\"module\":\"../secret.js\"}", "{\"module\":\"v1/../../secret.js\"}",
                         "{\"module\":\"/etc/passwd.js\"}", "{\"module\":\"v1/form.txt\"}",
                         "{\"module\":42}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        folder f;
        make_folder(&f, bad[i]);
        Orchestra__V1__WorkflowBundle *b;
        orc_error err = {0};
        assert_int_equal(read_bundle(&f, &b, &err), ORC_INVALID_ARGUMENT);
        assert_null(b);
        assert_non_null(strstr(err.message, "inside the workflow folder"));
        orc_test_rmtree(f.root);
    }
}

static void test_bundle_refuses_a_symlink_leaving_the_folder(void **state)
{
    (void)state;
    folder f;
    make_folder(&f, "{\"module\":\"v1/link.js\"}");
    char target[700], link[700];
    snprintf(target, sizeof target, "%s/secret.js", f.root);
    snprintf(link, sizeof link, "%s/v1/link.js", f.dir);
    assert_int_equal(symlink(target, link), 0);
    Orchestra__V1__WorkflowBundle *b;
    orc_error err = {0};
    assert_int_equal(read_bundle(&f, &b, &err), ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "leaves the workflow folder"));
    /* a link that stays inside is fine */
    assert_int_equal(unlink(link), 0);
    put(f.dir, "v1/real.js", "inside");
    assert_int_equal(symlink("real.js", link), 0);
    assert_int_equal(read_bundle(&f, &b, &err), ORC_OK);
    assert_int_equal(b->n_files, 1);
    assert_string_equal(b->files[0]->text, "inside");
    orci_bundle_free(b);
    orc_test_rmtree(f.root);
}

static void test_bundle_reads_the_example_interfaces(void **state)
{
    (void)state;
    const char *src = getenv("ORC_SOURCE_DIR");
    assert_non_null(src);
    const char *apps[] = {"simple_workflow", "journalism_workflow"};
    const size_t want[] = {1, 4};
    for (size_t i = 0; i < 2; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/plugins/%s", src, apps[i]);
        Orchestra__V1__WorkflowBundle *b = NULL;
        orc_error err = {0};
        assert_int_equal(orci_bundle_read(dir, &b, &err), ORC_OK);
        assert_int_equal(b->n_files, want[i]);
        for (size_t k = 0; k < b->n_files; k++)
            assert_non_null(strstr(b->files[k]->text, "export default"));
        orci_bundle_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_carries_the_named_module),
        cmocka_unit_test(test_bundle_leaves_a_missing_module_to_the_server),
        cmocka_unit_test(test_bundle_refuses_paths_out_of_the_folder),
        cmocka_unit_test(test_bundle_refuses_a_symlink_leaving_the_folder),
        cmocka_unit_test(test_bundle_reads_the_example_interfaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
