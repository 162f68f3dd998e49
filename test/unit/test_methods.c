/*
 * test_methods.c: the method table agrees with the generated service descriptor, each
 * entry's scopes make sense, and scope names parse and format.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "rpc/auth.h"
#include "rpc/dispatch.h"
#include "proto/orchestra.pb-c.h"
#include "svc/server.h"

static void test_methods_check_passes(void **state)
{
    (void)state;
    orc_error err = {0};
    int rc = orci_methods_check(&err);
    if (rc != ORC_OK)
        fail_msg("orci_methods_check: %s", err.message);
    assert_int_equal(orci_methods_count, orchestra__v1__orchestra__descriptor.n_methods);
}

static void test_methods_every_service_method_is_found_by_name(void **state)
{
    (void)state;
    const ProtobufCServiceDescriptor *sd = &orchestra__v1__orchestra__descriptor;
    for (unsigned i = 0; i < sd->n_methods; i++) {
        const orci_method *m = orci_method_find(sd->methods[i].name);
        assert_non_null(m);
        assert_string_equal(m->name, sd->methods[i].name);
    }
    assert_null(orci_method_find("health"));
    assert_null(orci_method_find(""));
    assert_null(orci_method_find(NULL));
}

static void test_methods_scopes_are_sane(void **state)
{
    (void)state;
    for (size_t i = 0; i < orci_methods_count; i++) {
        const orci_method *m = &orci_methods[i];
        /* Only known scope bits; a public mutating method never stores replies (Login). */
        assert_int_equal(m->scopes & ~(unsigned)(ORCI_SCOPE_ALL_KEYS | ORCI_SCOPE_WORKER), 0);
        if (m->mutating && m->scopes == 0)
            assert_true(m->no_stored_reply);
    }
    assert_int_equal(orci_method_find("Health")->scopes, 0);
    assert_int_equal(orci_method_find("ServerInfo")->scopes, 0);
    assert_false(orci_method_find("Health")->mutating);
    assert_int_equal(orci_method_find("LoadWorkflow")->scopes, ORCI_SCOPE_ADMIN);
    assert_true(orci_method_find("LoadWorkflow")->mutating);
    assert_int_equal(orci_method_find("LoadAllWorkflows")->scopes, ORCI_SCOPE_ADMIN);
    assert_int_equal(orci_method_find("LoadSampleData")->scopes, ORCI_SCOPE_ADMIN);
    assert_true(orci_method_find("LoadSampleData")->mutating);
    assert_int_equal(orci_method_find("ListWorkflows")->scopes,
                     ORCI_SCOPE_PROJECT | ORCI_SCOPE_ADMIN);
    assert_false(orci_method_find("ListWorkflows")->mutating);
    const orci_method *login = orci_method_find("Login");
    assert_int_equal(login->scopes, 0);
    assert_true(login->no_stored_reply && login->commit_on_error);
    assert_int_equal(orci_method_find("Dashboard")->scopes, ORCI_SCOPE_WORKER);
    assert_int_equal(orci_method_find("EndProject")->scopes, ORCI_SCOPE_ADMIN);
}

static void test_scope_check_explains_refusals(void **state)
{
    (void)state;
    orci_principal anon;
    memset(&anon, 0, sizeof anon);
    orci_principal exec = anon;
    exec.scopes = ORCI_SCOPE_EXECUTOR;
    strcpy(exec.name, "key:e");
    orci_principal admin = exec;
    admin.scopes = ORCI_SCOPE_ADMIN;
    orc_error err = {0};
    const orci_method *health = orci_method_find("Health");
    const orci_method *load = orci_method_find("LoadWorkflow");

    assert_int_equal(orci_scope_check(health, &anon, &err), ORC_OK);
    assert_int_equal(orci_scope_check(load, &anon, &err), ORC_UNAUTHENTICATED);
    assert_string_equal(err.message, "credentials required for LoadWorkflow");
    assert_int_equal(orci_scope_check(load, &exec, &err), ORC_PERMISSION_DENIED);
    assert_string_equal(err.message, "LoadWorkflow requires the admin scope");
    assert_int_equal(orci_scope_check(load, &admin, &err), ORC_OK);
}

static void test_scopes_parse_and_format_round_trip(void **state)
{
    (void)state;
    char text[64];
    for (unsigned bits = 0; bits <= ORCI_SCOPE_ALL_KEYS; bits++) {
        orci_scopes_format(bits, text, sizeof text);
        assert_int_equal(orci_scopes_parse(text), (int)bits);
    }
    assert_int_equal(orci_scopes_parse("project,admin,executor,notify"), ORCI_SCOPE_ALL_KEYS);
    assert_int_equal(orci_scopes_parse("notify"), ORCI_SCOPE_NOTIFY);
    assert_int_equal(orci_scopes_parse("admin"), ORCI_SCOPE_ADMIN);
    assert_int_equal(orci_scopes_parse("executor, project"),
                     ORCI_SCOPE_EXECUTOR | ORCI_SCOPE_PROJECT);
    orci_scopes_format(ORCI_SCOPE_ADMIN | ORCI_SCOPE_EXECUTOR, text, sizeof text);
    assert_string_equal(text, "admin,executor");
    orci_scopes_format(0, text, sizeof text);
    assert_string_equal(text, "");
}

static void test_scopes_parse_refuses_unknown_names(void **state)
{
    (void)state;
    assert_int_equal(orci_scopes_parse("root"), -1);
    assert_int_equal(orci_scopes_parse("admin,root"), -1);
    assert_int_equal(orci_scopes_parse("Admin"), -1);
    assert_int_equal(orci_scopes_parse("admin,,project"), -1);
    assert_int_equal(orci_scopes_parse("admin,"), -1);
    /* worker comes with a session, never with a key */
    assert_int_equal(orci_scopes_parse("worker"), -1);
    assert_int_equal(orci_scopes_parse(NULL), -1);
}

static void test_scopes_format_never_truncates_a_name(void **state)
{
    (void)state;
    char small[12];
    orci_scopes_format(ORCI_SCOPE_ALL_KEYS, small, sizeof small);
    assert_string_equal(small, "project");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods_check_passes),
        cmocka_unit_test(test_methods_every_service_method_is_found_by_name),
        cmocka_unit_test(test_methods_scopes_are_sane),
        cmocka_unit_test(test_scope_check_explains_refusals),
        cmocka_unit_test(test_scopes_parse_and_format_round_trip),
        cmocka_unit_test(test_scopes_parse_refuses_unknown_names),
        cmocka_unit_test(test_scopes_format_never_truncates_a_name),
    };
    return cmocka_run_group_tests_name("methods", tests, NULL, NULL);
}
