/*
 * test_http_observe.c: orchestra-http's route patterns (server/http/observe.h), the label of
 * its request metrics and access log: every path an endpoint serves maps to its pattern, ids
 * never reach a label, and a path no endpoint serves is "unmatched".
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include "observe.h"

static void test_routes_name_patterns_not_paths(void **state)
{
    (void)state;
    static const struct {
        const char *path, *route;
    } cases[] = {
        {"/livez", "/livez"},
        {"/metrics", "/metrics"},
        {"/orchestra/status", "/orchestra/status/"},
        {"/orchestra/api/status/", "/orchestra/api/status/"},
        {"/orchestra/api/project/create_project/", "/orchestra/api/project/create_project/"},
        {"/orchestra/api/project/workflow_types", "/orchestra/api/project/workflow_types/"},
        {"/orchestra/app", "/orchestra/app/"},
        {"/orchestra/app/", "/orchestra/app/"},
        {"/orchestra/app/task/42/", "/orchestra/app/task/{id}/"},
        {"/orchestra/app/task/42", "/orchestra/app/task/{id}/"},
        {"/orchestra/app/task/42/interface.js", "/orchestra/app/task/{id}/interface.js"},
        {"/orchestra/app/project/7/", "/orchestra/app/project/{id}/"},
        {"/orchestra/static/css/app.css", "/orchestra/static/{file}"},
        {"/orchestra/accounts/login/", "/orchestra/accounts/login/"},
        {"/orchestra/accounts/password_change/done/", "/orchestra/accounts/password_change/done/"},
        {"/orchestra/api/interface/new_task_assignment/entry_level/",
         "/orchestra/api/interface/new_task_assignment/{id}/"},
        {"/orchestra/api/interface/time_entries/", "/orchestra/api/interface/time_entries/"},
        {"/orchestra/api/interface/time_entries/12/",
         "/orchestra/api/interface/time_entries/{id}/"},
        {"/orchestra/api/interface/project_management/end_project/",
         "/orchestra/api/interface/project_management/{id}/"},
        {"/orchestra/api/interface/events/", "/orchestra/api/interface/events/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(orci_http_route(cases[i].path), cases[i].route) != 0)
            fail_msg("%s: %s, not %s", cases[i].path, orci_http_route(cases[i].path),
                     cases[i].route);
}

static void test_routes_unmatched_for_paths_nobody_serves(void **state)
{
    (void)state;
    static const char *const paths[] = {"",
                                        "livez",
                                        "/",
                                        "/nope/123",
                                        "/orchestra/app/task/",
                                        "/orchestra/app/task//",
                                        "/orchestra/app/task/1/2/3",
                                        "/orchestra/static/",
                                        "/orchestra/api/project/drop_tables/",
                                        "/metrics/x",
                                        "/orchestra/app/timecardx"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (strcmp(orci_http_route(paths[i]), "unmatched") != 0)
            fail_msg("%s: %s", paths[i], orci_http_route(paths[i]));
    assert_string_equal(orci_http_route(NULL), "unmatched");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_name_patterns_not_paths),
        cmocka_unit_test(test_routes_unmatched_for_paths_nobody_serves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
