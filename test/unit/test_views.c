/*
 * test_views.c: the read-side documents (project_information, dashboard, task assignment
 * information, prerequisites) over fixture rows inserted with SQL into a temporary store.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "support.h"
#include "domain/views.h"

/* 2016-04-28T20:00:00Z in microseconds. */
#define T0 INT64_C(1461873600000000)
#define SEC INT64_C(1000000)

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
    orci_db *rdb;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("views", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->rdb, &err), ORC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_db_close(f->rdb);
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- fixture rows ------------------------------------------------------------------- */

static int exec_job(orci_db *db, void *arg, orc_error *err)
{
    return orci_db_exec(db, arg, err);
}

/* sql runs fixture SQL (one or more statements) in a write job. */
static void sql(fixture *f, const char *text)
{
    orc_error err = {0};
    int rc = orci_store_write(f->s, exec_job, (void *)text, &err);
    if (rc != ORC_OK)
        print_error("fixture SQL failed: %s\n%s\n", err.message, text);
    assert_int_equal(rc, ORC_OK);
}

static void sqlf(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sqlf(fixture *f, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    sql(f, buf);
}

/* Three users/workers (alice 11, bob 12, carol 13, dave 14) and workflow wf / version v1. */
static void base_rows(fixture *f)
{
    sql(f, "INSERT INTO users (id, username, first_name, last_name, created_at) VALUES"
           " (1, 'alice', 'Alice', 'Anders', 0), (2, 'bob', 'Bob', 'Brown', 0),"
           " (3, 'carol', 'Carol', 'Chen', 0), (4, 'dave', 'Dave', 'Diaz', 0);"
           "INSERT INTO workers (id, user_id, start_datetime) VALUES"
           " (11, 1, 0), (12, 2, 0), (13, 3, 0), (14, 4, 0);"
           "INSERT INTO workflows (id, slug, name, description, code_directory, created_at)"
           " VALUES (1, 'wf', 'Workflow One', 'd', '/wf', 0);"
           "INSERT INTO workflow_versions (id, workflow_id, slug, name, description, created_at)"
           " VALUES (1, 1, 'v1', 'Version One', 'd', 0);");
}

static void add_project(fixture *f, int id, int version, int priority, int64_t start,
                        const char *desc)
{
    sqlf(f,
         "INSERT INTO projects (id, start_datetime, workflow_version_id, short_description,"
         " priority, project_data, task_class) VALUES (%d, %lld, %d, '%s', %d, '{}', 1)",
         id, (long long)start, version, desc, priority);
}

static void add_task(fixture *f, int id, int project, int step, int status)
{
    sqlf(f,
         "INSERT INTO tasks (id, start_datetime, step_id, project_id, status)"
         " VALUES (%d, %lld, %d, %d, %d)",
         id, (long long)T0, step, project, status);
}

/* add_assignment: worker 0 means a machine assignment (NULL worker). */
static void add_assignment(fixture *f, int id, int task, int worker, int status, int counter,
                           const char *data, int deleted)
{
    char worker_text[32];
    if (worker == 0)
        snprintf(worker_text, sizeof worker_text, "NULL");
    else
        snprintf(worker_text, sizeof worker_text, "%d", worker);
    sqlf(f,
         "INSERT INTO task_assignments (id, created_at, is_deleted, start_datetime, worker_id,"
         " task_id, status, assignment_counter, in_progress_task_data)"
         " VALUES (%d, 0, %d, %lld, %s, %d, %d, %d, '%s')",
         id, deleted, (long long)T0, worker_text, task, status, counter, data);
}

/* ---- helpers ------------------------------------------------------------------------ */

static void assert_json_text(const char *actual, const char *expected)
{
    if (strcmp(actual, expected) != 0)
        print_error("actual:   %s\nexpected: %s\n", actual, expected);
    assert_string_equal(actual, expected);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL)
        print_error("bad JSON (%s): %s\n", jerr.text, text);
    assert_non_null(v);
    return v;
}

static json_t *project_info(fixture *f, int64_t project_id)
{
    char *text = NULL;
    orc_error err = {0};
    int rc = orci_view_project_information(f->rdb, project_id, &text, &err);
    if (rc != ORC_OK)
        print_error("project_information: %s\n", err.message);
    assert_int_equal(rc, ORC_OK);
    json_t *v = parse(text);
    free(text);
    return v;
}

/* step_order writes the "steps" slugs of a project_information, comma-separated. */
static void step_order(fixture *f, int64_t project_id, char *out, size_t size)
{
    json_t *v = project_info(f, project_id);
    json_t *steps = json_object_get(v, "steps");
    assert_true(json_is_array(steps));
    out[0] = '\0';
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *slug = json_string_value(json_object_get(s, "slug"));
        assert_non_null(slug);
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i > 0 ? "," : "", slug);
    }
    json_decref(v);
}

/* ---- project_information ------------------------------------------------------------ */

static void test_project_information_full_shape(void **state)
{
    fixture *f = *state;
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES (1, 1, 'crawl', 'Crawl', 'Crawl a page', 0, 0, 0),"
           " (2, 1, 'rate', 'Rate', 'Rate the image', 1, 1, 0),"
           " (3, 1, 'publish', 'Publish', 'Publish it', 1, 2, 0);"
           "INSERT INTO step_creation_deps (step_id, depends_on_id) VALUES (2, 1), (3, 2);"
           "INSERT INTO projects (id, start_datetime, status, workflow_version_id,"
           " short_description, priority, project_data, task_class) VALUES"
           " (1, 1461873600000000, 0, 1, 'Demo', 5, '{\"url\":\"http://x\",\"n\":[1,2]}', 1);"
           "INSERT INTO tasks (id, start_datetime, step_id, project_id, status) VALUES"
           " (1, 1461873601000000, 1, 1, 5), (2, 1461873603000000, 2, 1, 3);"
           "INSERT INTO task_assignments (id, created_at, is_deleted, start_datetime, worker_id,"
           " task_id, status, assignment_counter, in_progress_task_data) VALUES"
           " (1, 0, 0, 1461873601000000, NULL, 1, 1, 0, '{\"image\":\"a.png\"}'),"
           " (2, 0, 0, 1461873603000000, 11, 2, 1, 0, '{\"rating\":3}'),"
           " (3, 0, 0, 1461873604000000, 12, 2, 0, 1, '{\"rating\":4}'),"
           " (4, 0, 1, 1461873605000000, 13, 2, 1, 2, '{\"gone\":true}');"
           "INSERT INTO iterations (id, created_at, is_deleted, start_datetime, end_datetime,"
           " assignment_id, status, submitted_data) VALUES"
           " (1, 0, 0, 1461873601000000, 1461873602000000, 1, 1, '{\"image\":\"a.png\"}'),"
           " (2, 0, 0, 1461873603000000, 1461873604000000, 2, 1, '{\"rating\":3}'),"
           " (3, 0, 0, 1461873604000000, NULL, 3, 0, '{}'),"
           " (4, 0, 1, 1461873603000000, 1461873603500000, 2, 0, '{}');"
           "INSERT INTO time_entries (id, created_at, is_deleted, date, time_worked_us, worker_id,"
           " assignment_id) VALUES (1, 0, 0, '2016-04-28', 90000000, 11, 2),"
           " (2, 0, 0, '2016-04-28', 30500000, 11, 2),"
           " (3, 0, 1, '2016-04-28', 1000000000, 11, 2);");

    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_project_information(f->rdb, 1, &text, &err), ORC_OK);
    /* The exact text: values, key order, labels, times, null worker of the machine
     * assignment, summed work time, deleted rows left out, "publish" has no task. */
    const char *expected =
        "{\"project\":{\"id\":1,\"workflow_slug\":\"wf\",\"workflow_version_slug\":\"v1\","
        "\"short_description\":\"Demo\",\"start_datetime\":\"2016-04-28T20:00:00.000000Z\","
        "\"priority\":5,\"project_data\":{\"url\":\"http://x\",\"n\":[1,2]},"
        "\"team_messages_url\":null,\"task_class\":1,\"status\":\"Active\"},"
        "\"steps\":[{\"slug\":\"crawl\",\"description\":\"Crawl a page\",\"is_human\":false},"
        "{\"slug\":\"rate\",\"description\":\"Rate the image\",\"is_human\":true},"
        "{\"slug\":\"publish\",\"description\":\"Publish it\",\"is_human\":true}],"
        "\"tasks\":{"
        "\"crawl\":{\"id\":1,\"step_slug\":\"crawl\",\"project\":1,\"status\":\"Complete\","
        "\"start_datetime\":\"2016-04-28T20:00:01.000000Z\",\"latest_data\":{\"image\":\"a.png\"},"
        "\"assignments\":[{\"id\":1,\"start_datetime\":\"2016-04-28T20:00:01.000000Z\","
        "\"worker\":{\"id\":null,\"username\":null,\"first_name\":null,\"last_name\":null},"
        "\"task\":1,\"status\":\"Submitted\",\"in_progress_task_data\":{\"image\":\"a.png\"},"
        "\"recorded_work_time\":null,\"iterations\":[{\"id\":1,"
        "\"start_datetime\":\"2016-04-28T20:00:01.000000Z\","
        "\"end_datetime\":\"2016-04-28T20:00:02.000000Z\",\"status\":\"Requested Review\","
        "\"assignment\":1,\"submitted_data\":{\"image\":\"a.png\"}}]}]},"
        "\"rate\":{\"id\":2,\"step_slug\":\"rate\",\"project\":1,\"status\":\"Reviewing\","
        "\"start_datetime\":\"2016-04-28T20:00:03.000000Z\",\"latest_data\":{\"rating\":4},"
        "\"assignments\":[{\"id\":2,\"start_datetime\":\"2016-04-28T20:00:03.000000Z\","
        "\"worker\":{\"id\":11,\"username\":\"alice\",\"first_name\":\"Alice\","
        "\"last_name\":\"Anders\"},\"task\":2,\"status\":\"Submitted\","
        "\"in_progress_task_data\":{\"rating\":3},\"recorded_work_time\":120.5,"
        "\"iterations\":[{\"id\":2,\"start_datetime\":\"2016-04-28T20:00:03.000000Z\","
        "\"end_datetime\":\"2016-04-28T20:00:04.000000Z\",\"status\":\"Requested Review\","
        "\"assignment\":2,\"submitted_data\":{\"rating\":3}}]},"
        "{\"id\":3,\"start_datetime\":\"2016-04-28T20:00:04.000000Z\","
        "\"worker\":{\"id\":12,\"username\":\"bob\",\"first_name\":\"Bob\","
        "\"last_name\":\"Brown\"},\"task\":2,\"status\":\"Processing\","
        "\"in_progress_task_data\":{\"rating\":4},\"recorded_work_time\":null,"
        "\"iterations\":[{\"id\":3,\"start_datetime\":\"2016-04-28T20:00:04.000000Z\","
        "\"end_datetime\":null,\"status\":\"Processing\",\"assignment\":3,"
        "\"submitted_data\":{}}]}]}}}";
    assert_json_text(text, expected);
    /* And structurally equal (independent of the text comparison above). */
    json_t *a = parse(text), *e = parse(expected);
    assert_true(json_equal(a, e));
    json_decref(a);
    json_decref(e);
    free(text);
}

static void test_project_information_unknown_project_is_not_found(void **state)
{
    fixture *f = *state;
    base_rows(f);
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_project_information(f->rdb, 42, &text, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "No project for given id");
    assert_null(text);
}

/*
 * An 8-step DAG whose step ids are not in version order (positions give the order):
 * s1, s3 roots; s2<-s1; s4<-s3,s6; s5<-s4; s6<-s2; s7<-s5,s6; s8<-s7. Breadth-first from
 * the roots, a step being enqueued as soon as any one dependency is emitted: s4 comes
 * before its own dependency s6 (the upstream quirk).
 */
static void test_project_information_steps_breadth_first_any_dependency(void **state)
{
    fixture *f = *state;
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES"
           " (18, 1, 's1', 'S1', 'd1', 1, 0, 0), (11, 1, 's2', 'S2', 'd2', 1, 1, 0),"
           " (17, 1, 's3', 'S3', 'd3', 1, 2, 0), (12, 1, 's4', 'S4', 'd4', 1, 3, 0),"
           " (16, 1, 's5', 'S5', 'd5', 1, 4, 0), (13, 1, 's6', 'S6', 'd6', 1, 5, 0),"
           " (15, 1, 's7', 'S7', 'd7', 1, 6, 0), (14, 1, 's8', 'S8', 'd8', 1, 7, 0);"
           "INSERT INTO step_creation_deps (step_id, depends_on_id) VALUES"
           " (11, 18), (12, 17), (12, 13), (16, 12), (13, 11), (15, 16), (15, 13), (14, 15);");
    add_project(f, 1, 1, 0, T0, "dag");
    char order[256];
    step_order(f, 1, order, sizeof order);
    assert_string_equal(order, "s1,s3,s2,s4,s6,s5,s7,s8");
    /* no task yet: "tasks" is an empty object */
    json_t *v = project_info(f, 1);
    assert_int_equal(json_object_size(json_object_get(v, "tasks")), 0);
    json_decref(v);
}

/* Dependents are enqueued in version order, whatever their ids, slugs or row order. */
static void test_project_information_steps_dependents_in_version_order(void **state)
{
    fixture *f = *state;
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES"
           " (9, 1, 'root', 'R', 'd', 0, 0, 0), (6, 1, 'p', 'P', 'd', 1, 1, 0),"
           " (8, 1, 'n', 'N', 'd', 1, 2, 0), (7, 1, 'o', 'O', 'd', 1, 3, 0);"
           "INSERT INTO step_creation_deps (step_id, depends_on_id) VALUES"
           " (6, 9), (7, 9), (8, 9);");
    add_project(f, 1, 1, 0, T0, "fan");
    char order[256];
    step_order(f, 1, order, sizeof order);
    /* neither step id order (p,o,n) nor slug order (n,o,p) */
    assert_string_equal(order, "root,p,n,o");
}

/* Steps that no root reaches (a cycle) still appear, at the end, in version order. */
static void test_project_information_unreached_steps_appended(void **state)
{
    fixture *f = *state;
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES"
           " (1, 1, 'x', 'X', 'd', 1, 0, 0), (2, 1, 'y', 'Y', 'd', 1, 1, 0),"
           " (3, 1, 'z', 'Z', 'd', 1, 2, 0), (4, 1, 'w', 'W', 'd', 1, 3, 0);"
           "INSERT INTO step_creation_deps (step_id, depends_on_id) VALUES"
           " (2, 3), (3, 2), (4, 1);");
    add_project(f, 1, 1, 0, T0, "cycle");
    char order[256];
    step_order(f, 1, order, sizeof order);
    assert_string_equal(order, "x,w,y,z");
}

static void test_project_information_latest_data_rules(void **state)
{
    fixture *f = *state;
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES (1, 1, 'a', 'A', 'd', 1, 0, 0),"
           " (2, 1, 'b', 'B', 'd', 1, 1, 0), (3, 1, 'c', 'C', 'd', 1, 2, 0);");
    add_project(f, 1, 1, 0, T0, "latest");
    add_task(f, 1, 1, 1, 0); /* no assignment: latest_data null */
    add_task(f, 2, 1, 2, 4); /* post-review: the Processing counter 0 wins */
    add_assignment(f, 1, 2, 11, 0, 0, "{\"d\":\"fix\"}", 0);
    add_assignment(f, 2, 2, 12, 1, 1, "{\"d\":\"review\"}", 0);
    add_task(f, 3, 1, 3, 2); /* all submitted: the highest live counter wins */
    add_assignment(f, 3, 3, 11, 1, 0, "{\"d\":\"x\"}", 0);
    add_assignment(f, 4, 3, 12, 1, 1, "{\"d\":\"y\"}", 0);
    add_assignment(f, 5, 3, 13, 1, 2, "{\"d\":\"deleted\"}", 1);
    /* iterations of assignment 1 come by start time, not id */
    sql(f, "INSERT INTO iterations (id, created_at, start_datetime, end_datetime,"
           " assignment_id, status) VALUES"
           " (10, 0, 1461873600000000, 1461873601000000, 1, 1),"
           " (9, 0, 1461873601000000, 1461873602000000, 2, 2),"
           " (8, 0, 1461873602000000, NULL, 1, 0);");

    json_t *v = project_info(f, 1);
    json_t *tasks = json_object_get(v, "tasks");
    json_t *a = json_object_get(tasks, "a");
    assert_true(json_is_null(json_object_get(a, "latest_data")));
    assert_int_equal(json_array_size(json_object_get(a, "assignments")), 0);
    json_t *b = json_object_get(tasks, "b");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "latest_data"), "d")),
                        "fix");
    assert_string_equal(json_string_value(json_object_get(b, "status")), "Post-review Processing");
    json_t *its =
        json_object_get(json_array_get(json_object_get(b, "assignments"), 0), "iterations");
    assert_int_equal(json_array_size(its), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(its, 0), "id")), 10);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(its, 1), "id")), 8);
    json_t *c = json_object_get(tasks, "c");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "latest_data"), "d")),
                        "y");
    assert_int_equal(json_array_size(json_object_get(c, "assignments")), 2);
    json_decref(v);
}

/* ---- dashboard ---------------------------------------------------------------------- */

typedef struct complete_row {
    int priority;
    int64_t start;
    char desc[16];
} complete_row;

static int cmp_complete(const void *a, const void *b)
{
    const complete_row *x = a, *y = b;
    if (x->priority != y->priority)
        return y->priority - x->priority;
    return x->start < y->start ? 1 : x->start > y->start ? -1 : 0;
}

/* details lists the "detail" fields of one dashboard list, comma-separated. */
static void details(json_t *dash, const char *list, char *out, size_t size)
{
    json_t *arr = json_object_get(json_object_get(dash, "tasks"), list);
    assert_true(json_is_array(arr));
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i > 0 ? "," : "",
                 json_string_value(json_object_get(e, "detail")));
    }
}

static json_t *dashboard(fixture *f, int64_t worker_id)
{
    char *text = NULL;
    orc_error err = {0};
    int rc = orci_view_dashboard(f->rdb, worker_id, &text, &err);
    if (rc != ORC_OK)
        print_error("dashboard: %s\n", err.message);
    assert_int_equal(rc, ORC_OK);
    json_t *v = parse(text);
    free(text);
    return v;
}

static complete_row complete_rows[22];

static void dashboard_rows(fixture *f)
{
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES (1, 1, 'rate', 'Rate', 'd', 1, 0, 0);"
           "INSERT INTO certifications (id, workflow_id, slug, name, description, created_at)"
           " VALUES (1, 1, 'cert', 'Cert', 'd', 0);"
           "INSERT INTO worker_certifications (certification_id, worker_id, task_class, role,"
           " created_at) VALUES (1, 11, 1, 0, 0), (1, 11, 1, 1, 0),"
           " (1, 12, 0, 0, 0), (1, 12, 0, 1, 0), (1, 13, 1, 0, 0);");
    /* in_progress: alice Processing on Processing tasks */
    add_project(f, 1, 1, 1, T0 + SEC, "P1");
    add_task(f, 1, 1, 1, 1);
    add_assignment(f, 1, 1, 11, 0, 0, "{}", 0);
    add_project(f, 2, 1, 5, T0 + 2 * SEC, "P2");
    add_task(f, 2, 2, 1, 1);
    add_assignment(f, 2, 2, 11, 0, 0, "{}", 0);
    add_project(f, 3, 1, 5, T0 + SEC, "P3");
    add_task(f, 3, 3, 1, 1);
    add_assignment(f, 3, 3, 11, 0, 0, "{}", 0);
    /* returned: alice Processing on a Post-review task; bob waits above her */
    add_project(f, 4, 1, 3, T0, "P4");
    add_task(f, 4, 4, 1, 4);
    add_assignment(f, 4, 4, 11, 0, 0, "{}", 0);
    add_assignment(f, 5, 4, 12, 1, 1, "{}", 0);
    /* pending_review: alice Submitted, waiting for a reviewer */
    add_project(f, 5, 1, 2, T0, "P5");
    add_task(f, 5, 5, 1, 2);
    add_assignment(f, 6, 5, 11, 1, 0, "{}", 0);
    /* pending_processing: alice reviewer Submitted, carol below her Processing */
    add_project(f, 6, 1, 2, T0, "P6");
    add_task(f, 6, 6, 1, 4);
    add_assignment(f, 7, 6, 13, 0, 0, "{}", 0);
    add_assignment(f, 8, 6, 11, 1, 1, "{}", 0);
    /* pending_review: alice Submitted under bob's Processing review (nothing below her) */
    add_project(f, 7, 1, 9, T0, "P7");
    add_task(f, 7, 7, 1, 3);
    add_assignment(f, 9, 7, 11, 1, 0, "{}", 0);
    add_assignment(f, 10, 7, 12, 0, 1, "{}", 0);
    /* excluded: an Aborted task, and a deleted assignment */
    add_project(f, 8, 1, 9, T0, "P8");
    add_task(f, 8, 8, 1, 6);
    add_assignment(f, 11, 8, 11, 0, 0, "{}", 0);
    add_project(f, 9, 1, 9, T0, "P9");
    add_task(f, 9, 9, 1, 1);
    add_assignment(f, 12, 9, 11, 0, 0, "{}", 1);
    add_assignment(f, 13, 9, 13, 0, 0, "{}", 0);
    /* complete: 22 Complete tasks, only 20 listed */
    for (int i = 0; i < 22; i++) {
        complete_row *r = &complete_rows[i];
        r->priority = (i * 7) % 3;
        r->start = T0 + (int64_t)((i * 5) % 22) * SEC;
        snprintf(r->desc, sizeof r->desc, "C%d", i);
        add_project(f, 100 + i, 1, r->priority, r->start, r->desc);
        add_task(f, 100 + i, 100 + i, 1, 5);
        add_assignment(f, 100 + i, 100 + i, 11, 1, 0, "{}", 0);
    }
}

static void test_dashboard_lists_and_order(void **state)
{
    fixture *f = *state;
    dashboard_rows(f);
    json_t *d = dashboard(f, 11);
    char got[1024];
    details(d, "in_progress", got, sizeof got);
    assert_string_equal(got, "P3,P2,P1"); /* priority desc, then start asc */
    details(d, "returned", got, sizeof got);
    assert_string_equal(got, "P4");
    details(d, "pending_review", got, sizeof got);
    assert_string_equal(got, "P7,P5");
    details(d, "pending_processing", got, sizeof got);
    assert_string_equal(got, "P6");

    /* complete: priority desc, then start desc, capped at 20 */
    complete_row sorted[22];
    memcpy(sorted, complete_rows, sizeof sorted);
    qsort(sorted, 22, sizeof sorted[0], cmp_complete);
    char want[1024] = "";
    for (int i = 0; i < 20; i++) {
        size_t len = strlen(want);
        snprintf(want + len, sizeof want - len, "%s%s", i > 0 ? "," : "", sorted[i].desc);
    }
    details(d, "complete", got, sizeof got);
    assert_string_equal(got, want);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "tasks"), "complete")), 20);

    /* one entry in full: task id, assignment id, step name, version name, description */
    json_t *e = json_array_get(json_object_get(json_object_get(d, "tasks"), "in_progress"), 0);
    char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_json_text(text, "{\"id\":3,\"assignment_id\":3,\"step\":\"Rate\","
                           "\"project\":\"Version One\",\"detail\":\"P3\"}");
    free(text);
    assert_true(json_is_true(json_object_get(d, "preventNew")));
    assert_true(json_is_true(json_object_get(d, "reviewerStatus")));
    json_decref(d);
}

static void test_dashboard_flags_of_other_workers(void **state)
{
    fixture *f = *state;
    dashboard_rows(f);
    /* bob: reviewer only for training tasks, Processing only on a Reviewing task */
    json_t *d = dashboard(f, 12);
    assert_true(json_is_false(json_object_get(d, "preventNew")));
    assert_true(json_is_false(json_object_get(d, "reviewerStatus")));
    char got[256];
    details(d, "in_progress", got, sizeof got);
    assert_string_equal(got, "P7");
    details(d, "pending_processing", got, sizeof got);
    assert_string_equal(got, "P4");
    json_decref(d);
    /* carol: entry-level only, Processing on a returned task */
    d = dashboard(f, 13);
    assert_true(json_is_true(json_object_get(d, "preventNew")));
    assert_true(json_is_false(json_object_get(d, "reviewerStatus")));
    details(d, "returned", got, sizeof got);
    assert_string_equal(got, "P6");
    details(d, "in_progress", got, sizeof got);
    assert_string_equal(got, "P9");
    json_decref(d);
}

static void test_dashboard_empty_worker_exact_text(void **state)
{
    fixture *f = *state;
    dashboard_rows(f);
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_dashboard(f->rdb, 14, &text, &err), ORC_OK);
    assert_json_text(text, "{\"tasks\":{\"in_progress\":[],\"returned\":[],"
                           "\"pending_review\":[],\"pending_processing\":[],\"complete\":[]},"
                           "\"preventNew\":false,\"reviewerStatus\":false}");
    free(text);
}

/* ---- task assignment information and prerequisites ---------------------------------- */

/* Steps A; B<-A; C<-B; D<-A; E<-C,D. All ancestors of E Complete; E Reviewing. */
static void chain_rows(fixture *f)
{
    base_rows(f);
    sql(f, "INSERT INTO steps (id, workflow_version_id, slug, name, description, is_human,"
           " position, created_at) VALUES (1, 1, 'A', 'Step A', 'd', 1, 0, 0),"
           " (2, 1, 'B', 'Step B', 'd', 1, 1, 0), (3, 1, 'C', 'Step C', 'd', 1, 2, 0),"
           " (4, 1, 'D', 'Step D', 'd', 1, 3, 0), (5, 1, 'E', 'Step E', 'd', 1, 4, 0);"
           "INSERT INTO step_creation_deps (step_id, depends_on_id) VALUES"
           " (2, 1), (3, 2), (4, 1), (5, 3), (5, 4);"
           "INSERT INTO projects (id, start_datetime, workflow_version_id, short_description,"
           " priority, project_data, task_class) VALUES"
           " (1, 1461873600000000, 1, 'Demo', 1, '{\"k\":\"v\"}', 1);");
    add_task(f, 1, 1, 1, 5);
    add_task(f, 2, 1, 2, 5);
    add_task(f, 3, 1, 3, 5);
    add_task(f, 4, 1, 4, 5); /* completed with no assignment (skipped): {} */
    add_task(f, 5, 1, 5, 3);
    add_assignment(f, 1, 1, 11, 1, 0, "{\"v\":\"a0\"}", 0);
    add_assignment(f, 2, 1, 12, 1, 1, "{\"v\":\"a1\"}", 0);
    add_assignment(f, 3, 1, 13, 1, 2, "{\"v\":\"gone\"}", 1);
    add_assignment(f, 4, 2, 11, 1, 0, "{\"v\":\"b\"}", 0);
    add_assignment(f, 5, 3, 12, 1, 0, "{\"v\":\"c\"}", 0);
    add_assignment(f, 6, 5, 11, 1, 0, "{\"draft\":1}", 0);
    add_assignment(f, 7, 5, 12, 0, 1, "{\"draft\":2}", 0);
}

static void test_task_assignment_information_full_shape(void **state)
{
    fixture *f = *state;
    chain_rows(f);
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_task_assignment(f->rdb, 11, 5, &text, &err), ORC_OK);
    assert_json_text(
        text, "{\"assignment_id\":6,\"task\":{\"data\":{\"draft\":1},\"status\":\"Reviewing\"},"
              "\"worker\":{\"username\":\"alice\",\"first_name\":\"Alice\","
              "\"last_name\":\"Anders\"},\"status\":\"Submitted\",\"is_reviewer\":false,"
              "\"is_read_only\":true,\"workflow\":{\"slug\":\"wf\",\"name\":\"Workflow One\"},"
              "\"workflow_version\":{\"slug\":\"v1\",\"name\":\"Version One\"},"
              "\"step\":{\"slug\":\"E\",\"name\":\"Step E\"},\"task_id\":5,"
              "\"project\":{\"id\":1,\"details\":\"Demo\",\"team_messages_url\":null,"
              "\"project_data\":{\"k\":\"v\"}},"
              "\"prerequisites\":{\"C\":{\"v\":\"c\"},\"B\":{\"v\":\"b\"},"
              "\"A\":{\"v\":\"a1\"},\"D\":{}}}");
    free(text);
}

static void test_task_assignment_information_reviewer_flags(void **state)
{
    fixture *f = *state;
    chain_rows(f);
    char *text = NULL;
    orc_error err = {0};
    /* bob reviews E: highest counter, Processing */
    assert_int_equal(orci_view_task_assignment(f->rdb, 12, 5, &text, &err), ORC_OK);
    json_t *v = parse(text);
    free(text);
    assert_true(json_is_true(json_object_get(v, "is_reviewer")));
    assert_true(json_is_false(json_object_get(v, "is_read_only")));
    assert_string_equal(json_string_value(json_object_get(v, "status")), "Processing");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(v, "task"), "data"), "draft")),
                     2);
    json_decref(v);
    /* bob on A: counter 1 is the highest live one (counter 2 is deleted) */
    assert_int_equal(orci_view_task_assignment(f->rdb, 12, 1, &text, &err), ORC_OK);
    v = parse(text);
    free(text);
    assert_true(json_is_true(json_object_get(v, "is_reviewer")));
    assert_true(json_is_true(json_object_get(v, "is_read_only")));
    assert_int_equal(json_object_size(json_object_get(v, "prerequisites")), 0);
    json_decref(v);
    /* alice on A: counter 0 is never a reviewer */
    assert_int_equal(orci_view_task_assignment(f->rdb, 11, 1, &text, &err), ORC_OK);
    v = parse(text);
    free(text);
    assert_true(json_is_false(json_object_get(v, "is_reviewer")));
    json_decref(v);
}

static void test_task_assignment_information_refuses_other_worker_and_unknown_task(void **state)
{
    fixture *f = *state;
    chain_rows(f);
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_task_assignment(f->rdb, 13, 5, &text, &err), ORC_PERMISSION_DENIED);
    assert_string_equal(err.message, "Worker is not associated with task");
    assert_null(text);
    /* carol's deleted assignment on A does not associate her either */
    assert_int_equal(orci_view_task_assignment(f->rdb, 13, 1, &text, &err), ORC_PERMISSION_DENIED);
    assert_int_equal(orci_view_task_assignment(f->rdb, 11, 99, &text, &err), ORC_NOT_FOUND);
    assert_string_equal(err.message, "No task for given id");
    assert_null(text);
}

static void test_prerequisites_closure_and_incomplete_ancestor(void **state)
{
    fixture *f = *state;
    chain_rows(f);
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_prerequisites(f->rdb, 5, &text, &err), ORC_OK);
    assert_json_text(text, "{\"C\":{\"v\":\"c\"},\"B\":{\"v\":\"b\"},\"A\":{\"v\":\"a1\"},"
                           "\"D\":{}}");
    free(text);
    text = NULL;
    assert_int_equal(orci_view_prerequisites(f->rdb, 3, &text, &err), ORC_OK);
    assert_json_text(text, "{\"B\":{\"v\":\"b\"},\"A\":{\"v\":\"a1\"}}");
    free(text);
    text = NULL;
    assert_int_equal(orci_view_prerequisites(f->rdb, 99, &text, &err), ORC_NOT_FOUND);

    /* an ancestor two levels up that is no longer Complete */
    sql(f, "UPDATE tasks SET status = 1 WHERE id = 2");
    assert_int_equal(orci_view_prerequisites(f->rdb, 5, &text, &err), ORC_FAILED_PRECONDITION);
    assert_string_equal(err.message, "Task dependencies are not complete.");
    assert_null(text);
    assert_int_equal(orci_view_task_assignment(f->rdb, 11, 5, &text, &err),
                     ORC_FAILED_PRECONDITION);
    assert_null(text);
}

static void test_prerequisites_missing_ancestor_task(void **state)
{
    fixture *f = *state;
    chain_rows(f);
    add_project(f, 2, 1, 1, T0, "other");
    add_task(f, 6, 2, 3, 1); /* C of project 2, whose A and B tasks do not exist */
    char *text = NULL;
    orc_error err = {0};
    assert_int_equal(orci_view_prerequisites(f->rdb, 6, &text, &err), ORC_FAILED_PRECONDITION);
    assert_string_equal(err.message, "Task dependencies are not complete.");
    assert_null(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_project_information_full_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_information_unknown_project_is_not_found,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_information_steps_breadth_first_any_dependency,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_information_steps_dependents_in_version_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_project_information_unreached_steps_appended, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_project_information_latest_data_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_lists_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_flags_of_other_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_empty_worker_exact_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_assignment_information_full_shape, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_task_assignment_information_reviewer_flags, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_task_assignment_information_refuses_other_worker_and_unknown_task, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_prerequisites_closure_and_incomplete_ancestor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prerequisites_missing_ancestor_task, setup, teardown),
    };
    return cmocka_run_group_tests_name("views", tests, NULL, NULL);
}
