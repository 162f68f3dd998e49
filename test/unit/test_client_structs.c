/*
 * test_client_structs.c: liborchestra's structs that grow (client.h, "Structs that grow";
 * client/lib/block.h): a struct passed in is read as far as the size the program set (0: the
 * first layout), a newer program's unknown field that is set is refused rather than ignored;
 * a struct handed out is one block whose strings live in it.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "orchestra/client.h"
#include "orchestra/jobs.h"

/* A program's struct as a later release might declare it: one more field at the end. */
typedef struct newer_filter {
    orc_list_filter known;
    int64_t added_later;
} newer_filter;

static void test_size_zero_reads_the_first_layout(void **state)
{
    (void)state;
    orc_list_filter in = {.after_id = 7, .limit = 20, .status = "Active", .project_id = 3};
    orc_list_filter out;
    memset(&out, 0xab, sizeof out);
    orc_error err;
    assert_int_equal(orci_struct_in(&out, sizeof out, &in, sizeof out, "f", &err), ORC_OK);
    assert_int_equal(out.after_id, 7);
    assert_int_equal(out.limit, 20);
    assert_string_equal(out.status, "Active");
    assert_null(out.workflow);
    assert_int_equal(out.project_id, 3);
}

static void test_an_older_program_leaves_the_later_fields_zero(void **state)
{
    (void)state;
    /* The program knew the fields up to limit only. */
    orc_list_filter in = {.size = offsetof(orc_list_filter, status), .after_id = 5, .limit = 9};
    in.status = "garbage the program never set";
    orc_list_filter out;
    orc_error err;
    assert_int_equal(orci_struct_in(&out, sizeof out, &in, sizeof out, "f", &err), ORC_OK);
    assert_int_equal(out.after_id, 5);
    assert_int_equal(out.limit, 9);
    assert_null(out.status); /* beyond the program's size: not read */
    assert_int_equal(out.project_id, 0);
}

static void test_a_newer_program_is_read_or_refused(void **state)
{
    (void)state;
    newer_filter in;
    memset(&in, 0, sizeof in);
    in.known.size = sizeof in;
    in.known.limit = 4;
    orc_list_filter out;
    orc_error err;
    /* Its new field left zero: what this library knows is read. */
    assert_int_equal(orci_struct_in(&out, sizeof out, &in, 0, "orc_list_filter", &err), ORC_OK);
    assert_int_equal(out.limit, 4);
    /* Set: refused, never ignored. */
    in.added_later = 1;
    assert_int_equal(orci_struct_in(&out, sizeof out, &in, 0, "orc_list_filter", &err),
                     ORC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "orc_list_filter"));
    /* A size smaller than the size field itself is nonsense. */
    orc_list_filter tiny = {.size = 3};
    assert_int_equal(orci_struct_in(&out, sizeof out, &tiny, 0, "f", &err), ORC_INVALID_ARGUMENT);
}

static void test_null_is_all_zero(void **state)
{
    (void)state;
    orc_job_offer out;
    memset(&out, 0xff, sizeof out);
    assert_int_equal(orci_struct_in(&out, sizeof out, NULL, sizeof out, "o", NULL), ORC_OK);
    assert_null(out.executor_id);
    assert_int_equal(out.n_functions, 0);
}

/* Through the public API: a newer program's options with a set unknown field are refused. */
static void test_orc_client_new_refuses_an_unknown_option(void **state)
{
    (void)state;
    struct {
        orc_client_opts known;
        const char *added_later;
    } opts;
    memset(&opts, 0, sizeof opts);
    opts.known.size = sizeof opts;
    opts.known.rpc_url = "inproc://test_client_structs";
    opts.added_later = "x";
    orc_client *c = NULL;
    orc_error err;
    assert_int_equal(orc_client_new(&opts.known, &c, &err), ORC_INVALID_ARGUMENT);
    assert_null(c);
    assert_non_null(strstr(err.message, "orc_client_opts"));
}

/* orc_client_opts_from_env writes no byte past the program's struct, and says its size. */
static void test_options_from_the_environment_stay_within_the_program_struct(void **state)
{
    (void)state;
    setenv("ORCHESTRA_RPC", "tcp://127.0.0.1:7999", 1);
    unsigned char buf[sizeof(orc_client_opts) + 16];
    memset(buf, 0xaa, sizeof buf);
    orc_client_opts *o = (orc_client_opts *)(void *)buf;
    orc_client_opts_from_env(o);
    assert_int_equal(o->size, sizeof(orc_client_opts));
    assert_string_equal(o->rpc_url, "tcp://127.0.0.1:7999");
    assert_int_equal(o->timeout_ms, 0);
    for (size_t i = sizeof(orc_client_opts); i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xaa);
    /* A size too small for the fields it fills: nothing is written. */
    memset(buf, 0xaa, sizeof buf);
    orc_client_opts_env(o, sizeof(size_t));
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xaa);
    unsetenv("ORCHESTRA_RPC");
}

static void test_a_block_holds_its_strings(void **state)
{
    (void)state;
    const size_t offs[] = {offsetof(orc_workflow_ref, workflow),
                           offsetof(orc_workflow_ref, version)};
    const char *const strs[] = {"journalism", NULL};
    orc_workflow_ref *r = orci_block_new(sizeof *r, 2, offs, strs);
    assert_non_null(r);
    assert_string_equal(r->workflow, "journalism");
    assert_string_equal(r->version, ""); /* NULL is copied as "" */
    /* The strings lie after the struct, inside the one allocation. */
    assert_true(r->workflow >= (char *)(r + 1));
    assert_true(r->version > r->workflow);
    orc_workflow_ref_free(r); /* one free (ASan would see a leak otherwise) */
    orc_workflow_ref_free(NULL);
    orc_server_info_free(NULL);
    orc_notification_settings_free(NULL);
    orc_load_results_free(NULL, 3);
    orc_webhook_list_free(NULL);
    orc_event_page_free(NULL);
}

static void test_a_block_holds_its_string_arrays(void **state)
{
    (void)state;
    char *const scopes[] = {"project", "executor", NULL};
    const orci_block_strv arrays[] = {
        {.off = offsetof(orc_key_info, scopes), .v = scopes, .n = 3},
    };
    const size_t offs[] = {offsetof(orc_key_info, key_id), offsetof(orc_key_info, name)};
    const char *const strs[] = {"k1", "a name"};
    orc_key_info *k = orci_block_new_v(sizeof *k, 2, offs, strs, 1, arrays);
    assert_non_null(k);
    assert_string_equal(k->key_id, "k1");
    assert_string_equal(k->name, "a name");
    assert_string_equal(k->scopes[0], "project");
    assert_string_equal(k->scopes[1], "executor");
    assert_string_equal(k->scopes[2], ""); /* NULL is copied as "" */
    /* The pointer array is aligned and inside the block, after the struct. */
    assert_int_equal((uintptr_t)k->scopes % _Alignof(char *), 0);
    assert_true((char *)k->scopes >= (char *)(k + 1));
    assert_true(k->scopes[0] > (char *)(k->scopes + 3));
    free(k);
    /* An empty array: a valid (unused) pointer, nothing to read. */
    const orci_block_strv none = {.off = offsetof(orc_key_info, scopes), .v = NULL, .n = 0};
    k = orci_block_new_v(sizeof *k, 2, offs, strs, 1, &none);
    assert_non_null(k);
    assert_string_equal(k->name, "a name");
    free(k);
    /* An odd head (the struct and flags) still aligns the arrays that follow. */
    char *one[] = {"x"};
    const orci_block_strv odd = {.off = 0, .v = one, .n = 1};
    char **at = orci_block_new_v(sizeof(char *) + 3, 0, NULL, NULL, 1, &odd);
    assert_non_null(at);
    assert_int_equal((uintptr_t)at[0] % _Alignof(char *), 0);
    assert_string_equal(((char **)at[0])[0], "x");
    free(at);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_zero_reads_the_first_layout),
        cmocka_unit_test(test_an_older_program_leaves_the_later_fields_zero),
        cmocka_unit_test(test_a_newer_program_is_read_or_refused),
        cmocka_unit_test(test_null_is_all_zero),
        cmocka_unit_test(test_orc_client_new_refuses_an_unknown_option),
        cmocka_unit_test(test_options_from_the_environment_stay_within_the_program_struct),
        cmocka_unit_test(test_a_block_holds_its_strings),
        cmocka_unit_test(test_a_block_holds_its_string_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
