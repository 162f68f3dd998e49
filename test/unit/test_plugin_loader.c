/*
 * test_plugin_loader.c: loading plugins (plugins/executor/plugin_set.c): the example
 * plugins load and name their upstream functions; a bad plugin is refused with one clear
 * message while the others keep working.
 */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "job.h"
#include "log.h"
#include "plugin_set.h"

static orc_plugin_host test_host;

static int setup(void **state)
{
    (void)state;
    orci_plugin_host_init(&test_host, "/tmp");
    return 0;
}

static orci_plugin_set *new_set(void)
{
    orci_plugin_set *s = NULL;
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_new(&test_host, &s, &e), ORC_OK);
    return s;
}

static void test_loader_loads_the_example_plugins(void **state)
{
    (void)state;
    orci_plugin_set *s = new_set();
    size_t loaded = 0, refused = 0;
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load_dir(s, ORC_PLUGIN_DIR, &loaded, &refused, &e), ORC_OK);
    assert_int_equal(loaded, 2);
    assert_int_equal(refused, 0);
    assert_int_equal(orci_plugin_set_count(s), 3);
    const char *path = NULL;
    assert_non_null(orci_plugin_set_find(s, "simple_workflow.v1.crawl.crawl_page", &path));
    assert_non_null(strstr(path, "libsimple_workflow.so"));
    assert_non_null(
        orci_plugin_set_find(s, "journalism_workflow.v1.documents.create_documents", &path));
    assert_non_null(strstr(path, "libjournalism_workflow.so"));
    assert_non_null(
        orci_plugin_set_find(s, "journalism_workflow.v1.adjust_photos.autoadjust_photos", NULL));
    orci_plugin_set_destroy(s);
}

static void test_loader_refuses_bad_abi_with_message(void **state)
{
    (void)state;
    orci_plugin_set *s = new_set();
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load(s, ORC_TEST_PLUGIN_DIR "/test_plugin_bad_abi.so", &e),
                     ORC_FAILED_PRECONDITION);
    assert_string_equal(e.message, "plugin test_plugin_bad_abi.so: ABI version 99, this "
                                   "executor speaks 1");
    assert_int_equal(orci_plugin_set_count(s), 0);
    assert_null(orci_plugin_set_find(s, "test_plugins.bad_abi.noop", NULL));
    orci_plugin_set_destroy(s);
}

/* so_files counts the *.so files of dir. */
static size_t so_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0)
            n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_loader_dir_refuses_one_and_keeps_the_others(void **state)
{
    (void)state;
    orci_plugin_set *s = new_set();
    size_t loaded = 0, refused = 0;
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load_dir(s, ORC_TEST_PLUGIN_DIR, &loaded, &refused, &e),
                     ORC_OK);
    /* Every test plugin of the folder loads but the bad-ABI one. */
    assert_int_equal(loaded + refused, so_files(ORC_TEST_PLUGIN_DIR));
    assert_true(loaded >= 3);
    assert_int_equal(refused, 1);
    assert_non_null(orci_plugin_set_find(s, "test_plugins.crash.segv", NULL));
    assert_non_null(orci_plugin_set_find(s, "test_plugins.hang.sleep", NULL));
    assert_non_null(orci_plugin_set_find(s, "test_plugins.flaky.flaky", NULL));
    assert_null(orci_plugin_set_find(s, "test_plugins.bad_abi.noop", NULL));
    orci_plugin_set_destroy(s);
}

static void test_loader_function_lookup_calls_the_plugin(void **state)
{
    (void)state;
    orci_plugin_set *s = new_set();
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load(s, ORC_TEST_PLUGIN_DIR "/test_plugin_flaky.so", &e),
                     ORC_OK);
    orc_plugin_fn fn = orci_plugin_set_find(s, "test_plugins.flaky.echo", NULL);
    assert_non_null(fn);
    char *out = NULL, *err = NULL;
    assert_int_equal(fn(&test_host, "{\"a\":1}", "{}", &out, &err), ORC_PLUGIN_OK);
    assert_string_equal(out, "{\"project_data\":{\"a\":1},\"prerequisites\":{}}");
    test_host.free(out);
    assert_null(orci_plugin_set_find(s, "test_plugins.flaky.nope", NULL));
    assert_null(orci_plugin_set_find(s, "command", NULL));
    orci_plugin_set_destroy(s);
}

static void test_loader_refuses_duplicate_function(void **state)
{
    (void)state;
    orci_plugin_set *s = new_set();
    orc_error e = {0};
    const char *p = ORC_TEST_PLUGIN_DIR "/test_plugin_flaky.so";
    assert_int_equal(orci_plugin_set_load(s, p, &e), ORC_OK);
    assert_int_equal(orci_plugin_set_load(s, p, &e), ORC_FAILED_PRECONDITION);
    assert_string_equal(e.message, "plugin test_plugin_flaky.so: function "
                                   "test_plugins.flaky.flaky is already provided by "
                                   "test_plugin_flaky.so");
    assert_int_equal(orci_plugin_set_count(s), 4);
    orci_plugin_set_destroy(s);
}

static void test_loader_refuses_a_file_that_is_not_a_library(void **state)
{
    (void)state;
    char path[] = "/tmp/orc_test_notlib_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
    close(fd);
    orci_plugin_set *s = new_set();
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load(s, path, &e), ORC_FAILED_PRECONDITION);
    assert_non_null(strstr(e.message, ": cannot load: "));
    orci_plugin_set_destroy(s);
    unlink(path);
}

static void test_loader_refuses_a_library_without_entry(void **state)
{
    (void)state;
    /* jansson is a real shared library with no orc_plugin_entry. */
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "json_object");
    assert_non_null(sym);
    assert_true(dladdr(sym, &info) != 0);
    orci_plugin_set *s = new_set();
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load(s, info.dli_fname, &e), ORC_FAILED_PRECONDITION);
    assert_non_null(strstr(e.message, ": no orc_plugin_entry symbol"));
    orci_plugin_set_destroy(s);
}

static void test_loader_missing_folder_fails(void **state)
{
    (void)state;
    orci_plugin_set *s = new_set();
    orc_error e = {0};
    assert_int_equal(orci_plugin_set_load_dir(s, "/nonexistent/plugins", NULL, NULL, &e),
                     ORC_NOT_FOUND);
    assert_string_equal(e.message, "cannot read the plugin folder /nonexistent/plugins");
    orci_plugin_set_destroy(s);
}

int main(void)
{
    orci_log_init("test_plugin_loader", ORCI_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader_loads_the_example_plugins),
        cmocka_unit_test(test_loader_refuses_bad_abi_with_message),
        cmocka_unit_test(test_loader_dir_refuses_one_and_keeps_the_others),
        cmocka_unit_test(test_loader_function_lookup_calls_the_plugin),
        cmocka_unit_test(test_loader_refuses_duplicate_function),
        cmocka_unit_test(test_loader_refuses_a_file_that_is_not_a_library),
        cmocka_unit_test(test_loader_refuses_a_library_without_entry),
        cmocka_unit_test(test_loader_missing_folder_fails),
    };
    return cmocka_run_group_tests_name("plugin_loader", tests, setup, NULL);
}
