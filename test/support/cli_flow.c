/* cli_flow.c: the task lifecycle driven through the CLI, for the integration tests. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_flow.h"
#include "support.h"

#define MAX_FLOW_ARGS 32

static const char *const DASHBOARD_LISTS[] = {"in_progress", "returned", "pending_review",
                                              "pending_processing", "complete"};

void orc_flow_run_free(orc_flow_run *r)
{
    if (r == NULL)
        return;
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static void print_run(const orc_flow_run *r)
{
    fprintf(stderr, "$ orchestra %s\nexit %d\n-- stdout --\n%s\n-- stderr --\n%s\n", r->what,
            r->code, r->out != NULL ? r->out : "", r->err != NULL ? r->err : "");
}

static void print_log(const orc_harness *h)
{
    if (h != NULL && h->log_path[0] != '\0')
        orc_harness_print_log(h);
}

/*
 * run_cli runs `orchestra --json args...` (args NULL-terminated) with key (NULL: none) and
 * env into r. The run itself must finish (no timeout).
 */
static void run_cli(const orc_harness *h, const char *key, const char *secret,
                    const char *const *env, const char *stdin_text, const char *const *args,
                    orc_flow_run *r)
{
    const char *argv[MAX_FLOW_ARGS + 2];
    size_t n = 0, len = 0;
    memset(r, 0, sizeof *r);
    r->h = h;
    argv[n++] = "--json";
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < MAX_FLOW_ARGS);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    for (size_t i = 0; i < n && len + 1 < sizeof r->what; i++) {
        int k = snprintf(r->what + len, sizeof r->what - len, "%s%s", i ? " " : "", argv[i]);
        if (k < 0)
            break;
        len += (size_t)k;
        if (len >= sizeof r->what)
            len = sizeof r->what - 1;
    }
    int rc = orc_harness_cli_env(h, key, secret, env, stdin_text, &r->code, &r->out, &r->err, argv);
    if (rc != 0) {
        print_run(r);
        print_log(h);
    }
    assert_int_equal(rc, 0);
}

/* collect gathers a NULL-terminated variadic list (at most MAX_FLOW_ARGS) into args. */
static void collect(const char **args, const char *first, va_list ap)
{
    size_t n = 0;
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
        assert_true(n < MAX_FLOW_ARGS);
        args[n++] = a;
    }
    args[n] = NULL;
}

void orc_flow_admin(const orc_harness *h, orc_flow_run *r, const char *stdin_text, const char *arg,
                    ...)
{
    const char *args[MAX_FLOW_ARGS + 1];
    va_list ap;
    va_start(ap, arg);
    collect(args, arg, ap);
    va_end(ap);
    run_cli(h, ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, NULL, stdin_text, args, r);
}

void orc_flow_as(const orc_harness *h, const orc_flow_worker *w, orc_flow_run *r, const char *arg,
                 ...)
{
    const char *args[MAX_FLOW_ARGS + 1];
    va_list ap;
    va_start(ap, arg);
    collect(args, arg, ap);
    va_end(ap);
    const char *env[] = {w->session_env, NULL};
    run_cli(h, NULL, NULL, env, NULL, args, r);
}

void orc_flow_expect_ok(const orc_flow_run *r)
{
    if (r->code != 0) {
        print_run(r);
        print_log(r->h);
    }
    assert_int_equal(r->code, 0);
}

void orc_flow_expect_refused(const orc_flow_run *r, const char *message)
{
    if (r->code != 1 || r->err == NULL || strstr(r->err, message) == NULL) {
        fprintf(stderr, "expected exit 1 and \"%s\" on stderr\n", message);
        print_run(r);
        print_log(r->h);
        fail();
    }
}

json_t *orc_flow_json(const orc_flow_run *r)
{
    json_error_t jerr;
    json_t *v = json_loads(r->out != NULL ? r->out : "", JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        fprintf(stderr, "stdout is not one JSON document (%s)\n", jerr.text);
        print_run(r);
        fail();
    }
    return v;
}

void orc_flow_fail_json(const orc_harness *h, const char *what, json_t *v)
{
    char *text = v != NULL ? json_dumps(v, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    fprintf(stderr, "%s\n%s\n", what, text != NULL ? text : "(null)");
    free(text);
    print_log(h);
    fail();
}

void orc_flow_worker_init(orc_flow_worker *w, const orc_harness *h, const char *username,
                          const char *password)
{
    memset(w, 0, sizeof *w);
    snprintf(w->username, sizeof w->username, "%s", username);
    snprintf(w->password, sizeof w->password, "%s", password);
    snprintf(w->session_path, sizeof w->session_path, "%s/%s.session", h->dir, username);
    snprintf(w->session_env, sizeof w->session_env, "ORCHESTRA_SESSION=%s", w->session_path);
}

void orc_flow_add_worker(const orc_harness *h, const orc_flow_worker *w)
{
    orc_flow_run r;
    char line[80];
    snprintf(line, sizeof line, "%s\n", w->password);
    orc_flow_admin(h, &r, line, "worker", "add", w->username, "--password-stdin", "--first-name",
                   w->username, NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    const char *name = json_string_value(json_object_get(v, "username"));
    if (name == NULL || strcmp(name, w->username) != 0 ||
        !json_is_integer(json_object_get(v, "id")))
        orc_flow_fail_json(h, "worker add: unexpected output", v);
    json_decref(v);
    orc_flow_run_free(&r);
}

void orc_flow_certify(const orc_harness *h, const char *username, const char *cert,
                      const char *role)
{
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "worker", "certify", username, cert, "--role", role, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
}

void orc_flow_login(const orc_harness *h, const orc_flow_worker *w)
{
    orc_flow_run r;
    char line[80];
    snprintf(line, sizeof line, "%s\n", w->password);
    const char *env[] = {w->session_env, NULL};
    const char *args[] = {"login", w->username, "--password-stdin", NULL};
    run_cli(h, NULL, NULL, env, line, args, &r);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    const char *name = json_string_value(json_object_get(v, "username"));
    if (name == NULL || strcmp(name, w->username) != 0)
        orc_flow_fail_json(h, "login: unexpected output", v);
    json_decref(v);
    orc_flow_run_free(&r);
}

void orc_flow_load_workflow(const orc_harness *h, const char *dir, const char *version)
{
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "workflow", "load", dir, version, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
}

void orc_flow_write_workflow(const char *parent, const char *name, const char *workflow_json,
                             const char *version_json, char *dir, size_t dir_size)
{
    char path[1400];
    int n = snprintf(dir, dir_size, "%s/%s", parent, name);
    assert_true(n > 0 && (size_t)n < dir_size);
    snprintf(path, sizeof path, "%s/workflow.json", dir);
    assert_int_equal(orc_test_write_file(path, workflow_json), 0);
    snprintf(path, sizeof path, "%s/v1/version.json", dir);
    assert_int_equal(orc_test_write_file(path, version_json), 0);
}

int64_t orc_flow_create_project(const orc_harness *h, const char *workflow, const char *version,
                                const char *description, const char *data)
{
    orc_flow_run r;
    if (data != NULL)
        orc_flow_admin(h, &r, NULL, "project", "create", "--workflow", workflow, "--version",
                       version, "--description", description, "--priority", "10", "--task-class",
                       "real", "--data", data, NULL);
    else
        orc_flow_admin(h, &r, NULL, "project", "create", "--workflow", workflow, "--version",
                       version, "--description", description, "--priority", "10", "--task-class",
                       "real", NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    json_t *id = json_object_get(v, "project_id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0)
        orc_flow_fail_json(h, "project create: no project_id", v);
    int64_t project_id = json_integer_value(id);
    json_decref(v);
    orc_flow_run_free(&r);
    return project_id;
}

json_t *orc_flow_project_info(const orc_harness *h, int64_t project_id)
{
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, project_id);
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "project", "info", id, NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    orc_flow_run_free(&r);
    if (!json_is_object(json_object_get(v, "project")) ||
        !json_is_object(json_object_get(v, "tasks")))
        orc_flow_fail_json(h, "project info: not a project_information document", v);
    return v;
}

json_t *orc_flow_task(json_t *info, const char *step)
{
    return json_object_get(json_object_get(info, "tasks"), step);
}

int64_t orc_flow_task_id(const orc_harness *h, int64_t project_id, const char *step)
{
    json_t *info = orc_flow_project_info(h, project_id);
    json_t *id = json_object_get(orc_flow_task(info, step), "id");
    if (!json_is_integer(id)) {
        char what[300];
        snprintf(what, sizeof what, "project %" PRId64 " has no task of step %s", project_id, step);
        orc_flow_fail_json(h, what, info);
    }
    int64_t task_id = json_integer_value(id);
    json_decref(info);
    return task_id;
}

/* assignment_statuses writes the task's assignments' statuses, comma-separated, into out. */
static void assignment_statuses(json_t *task, char *out, size_t out_size)
{
    size_t len = 0, i;
    json_t *a;
    out[0] = '\0';
    json_array_foreach(json_object_get(task, "assignments"), i, a)
    {
        const char *s = json_string_value(json_object_get(a, "status"));
        int k = snprintf(out + len, out_size - len, "%s%s", i ? "," : "", s ? s : "?");
        if (k < 0 || (size_t)k >= out_size - len)
            return;
        len += (size_t)k;
    }
}

void orc_flow_expect_task(const orc_harness *h, int64_t project_id, const char *step,
                          const char *status, const char *assignments)
{
    json_t *info = orc_flow_project_info(h, project_id);
    json_t *task = orc_flow_task(info, step);
    const char *got = json_string_value(json_object_get(task, "status"));
    char statuses[512];
    assignment_statuses(task, statuses, sizeof statuses);
    if (got == NULL || strcmp(got, status) != 0 ||
        (assignments != NULL && strcmp(statuses, assignments) != 0)) {
        char what[700];
        snprintf(what, sizeof what,
                 "project %" PRId64 " step %s: expected task \"%s\" with assignments \"%s\", "
                 "got \"%s\" with \"%s\"",
                 project_id, step, status, assignments != NULL ? assignments : "(any)",
                 got != NULL ? got : "(no task)", statuses);
        orc_flow_fail_json(h, what, info);
    }
    json_decref(info);
}

void orc_flow_expect_no_task(const orc_harness *h, int64_t project_id, const char *step)
{
    json_t *info = orc_flow_project_info(h, project_id);
    if (orc_flow_task(info, step) != NULL) {
        char what[300];
        snprintf(what, sizeof what, "project %" PRId64 " should have no task of step %s yet",
                 project_id, step);
        orc_flow_fail_json(h, what, info);
    }
    json_decref(info);
}

void orc_flow_expect_project_status(const orc_harness *h, int64_t project_id, const char *status)
{
    json_t *info = orc_flow_project_info(h, project_id);
    const char *got =
        json_string_value(json_object_get(json_object_get(info, "project"), "status"));
    if (got == NULL || strcmp(got, status) != 0) {
        char what[300];
        snprintf(what, sizeof what, "project %" PRId64 ": expected status \"%s\", got \"%s\"",
                 project_id, status, got != NULL ? got : "(none)");
        orc_flow_fail_json(h, what, info);
    }
    json_decref(info);
}

int64_t orc_flow_task_new(const orc_harness *h, const orc_flow_worker *w, const char *role,
                          int64_t *assignment_id)
{
    orc_flow_run r;
    orc_flow_as(h, w, &r, "task", "new", role, NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    json_t *id = json_object_get(v, "id"), *aid = json_object_get(v, "assignment_id");
    if (!json_is_integer(id) || !json_is_integer(aid) ||
        !json_is_string(json_object_get(v, "step")) ||
        !json_is_string(json_object_get(v, "project")) || json_object_get(v, "detail") == NULL)
        orc_flow_fail_json(h, "task new: expected {id, assignment_id, step, project, detail}", v);
    int64_t task_id = json_integer_value(id);
    if (assignment_id != NULL)
        *assignment_id = json_integer_value(aid);
    json_decref(v);
    orc_flow_run_free(&r);
    return task_id;
}

void orc_flow_task_new_refused(const orc_harness *h, const orc_flow_worker *w, const char *role,
                               const char *message)
{
    orc_flow_run r;
    orc_flow_as(h, w, &r, "task", "new", role, NULL);
    orc_flow_expect_refused(&r, message);
    orc_flow_run_free(&r);
}

/* task_cmd runs `task VERB TASK [--data data]` as w into r. */
static void task_cmd(const orc_harness *h, const orc_flow_worker *w, const char *verb,
                     int64_t task_id, const char *data, orc_flow_run *r)
{
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, task_id);
    if (data != NULL)
        orc_flow_as(h, w, r, "task", verb, id, "--data", data, NULL);
    else
        orc_flow_as(h, w, r, "task", verb, id, NULL);
}

void orc_flow_task_cmd(const orc_harness *h, const orc_flow_worker *w, const char *verb,
                       int64_t task_id, const char *data)
{
    orc_flow_run r;
    task_cmd(h, w, verb, task_id, data, &r);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    if (!json_is_object(v) || json_object_size(v) != 0)
        orc_flow_fail_json(h, "expected {} on stdout", v);
    json_decref(v);
    orc_flow_run_free(&r);
}

void orc_flow_task_cmd_refused(const orc_harness *h, const orc_flow_worker *w, const char *verb,
                               int64_t task_id, const char *data, const char *message)
{
    orc_flow_run r;
    task_cmd(h, w, verb, task_id, data, &r);
    orc_flow_expect_refused(&r, message);
    orc_flow_run_free(&r);
}

json_t *orc_flow_dashboard(const orc_harness *h, const orc_flow_worker *w)
{
    orc_flow_run r;
    orc_flow_as(h, w, &r, "dashboard", NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *tasks = json_object_get(v, "tasks");
    bool ok = json_is_object(tasks) && json_is_boolean(json_object_get(v, "preventNew")) &&
              json_is_boolean(json_object_get(v, "reviewerStatus"));
    for (size_t i = 0; ok && i < sizeof DASHBOARD_LISTS / sizeof DASHBOARD_LISTS[0]; i++)
        ok = json_is_array(json_object_get(tasks, DASHBOARD_LISTS[i]));
    if (!ok)
        orc_flow_fail_json(h, "dashboard: unexpected shape", v);
    return v;
}

const char *orc_flow_dashboard_list(const orc_harness *h, json_t *dashboard, int64_t task_id)
{
    const char *found = NULL;
    json_t *tasks = json_object_get(dashboard, "tasks");
    for (size_t i = 0; i < sizeof DASHBOARD_LISTS / sizeof DASHBOARD_LISTS[0]; i++) {
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(tasks, DASHBOARD_LISTS[i]), k, e)
        {
            if (json_integer_value(json_object_get(e, "id")) != task_id)
                continue;
            if (found != NULL)
                orc_flow_fail_json(h, "dashboard lists a task twice", dashboard);
            found = DASHBOARD_LISTS[i];
        }
    }
    return found;
}

void orc_flow_expect_dashboard(const orc_harness *h, const orc_flow_worker *w, int64_t task_id,
                               const char *list, int prevent_new)
{
    json_t *d = orc_flow_dashboard(h, w);
    const char *got = orc_flow_dashboard_list(h, d, task_id);
    bool same = list == NULL ? got == NULL : got != NULL && strcmp(got, list) == 0;
    bool prevent = json_is_true(json_object_get(d, "preventNew"));
    if (!same || (prevent_new >= 0 && prevent != (prevent_new != 0))) {
        char what[400];
        snprintf(what, sizeof what,
                 "dashboard of %s: expected task %" PRId64 " under %s (preventNew %s), got %s",
                 w->username, task_id, list != NULL ? list : "no list",
                 prevent_new < 0 ? "any"
                 : prevent_new   ? "true"
                                 : "false",
                 got != NULL ? got : "no list");
        orc_flow_fail_json(h, what, d);
    }
    json_decref(d);
}

void orc_flow_expect_consistent(const orc_harness *h)
{
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "check", NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    json_t *violations = json_object_get(v, "violations");
    if (!json_is_array(violations) || json_array_size(violations) != 0)
        orc_flow_fail_json(h, "orchestra check: violations", v);
    json_decref(v);
    orc_flow_run_free(&r);

    orc_flow_run d;
    memset(&d, 0, sizeof d);
    d.h = h;
    snprintf(d.what, sizeof d.what, "(orchestrad) check --db %s", h->db_path);
    assert_int_equal(orc_harness_orchestrad_admin(h, &d.code, &d.out, &d.err, "check", NULL), 0);
    orc_flow_expect_ok(&d);
    orc_flow_run_free(&d);
}
