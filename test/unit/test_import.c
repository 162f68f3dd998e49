/*
 * test_import.c: importing an upstream database (domain/import.h) with the hand-written
 * fixture test/integration/data/upstream_dump.json (every model, every status, DOC and HEAD
 * field names, JSON fields as objects and as strings): every record round-trips into its
 * row with its id, statuses, times and data; a second import changes nothing; a broken
 * record (at parse time or when written) names itself and leaves nothing behind; rows
 * already here are adopted by their natural key; Django's text forms are read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "domain/import.h"
#include "domain/jobs.h"
#include "lifecycle_fixture.h"
#include "store/model.h"

/* 2016-05-03T10:15:00.500Z and other instants of the fixture, in us. */
#define T_0503_101500_5 1462270500500000LL
#define T_0402_090000_25 1459587600250000LL
#define T_0501_080000 1462089600000000LL

/* ---- running an import --------------------------------------------------------------- */

static char *fixture_text(void)
{
    const char *src = getenv("ORC_SOURCE_DIR");
    assert_non_null(src);
    char path[512];
    snprintf(path, sizeof path, "%s/test/integration/data/upstream_dump.json", src);
    char *text = orc_test_read_file(path, NULL);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    return text;
}

typedef struct import_job {
    const orci_import_plan *plan;
    orci_import_result *res;
} import_job;

static int import_op(orci_lc *lc, void *arg, orc_error *err)
{
    import_job *j = arg;
    return orci_import_apply(lc, j->plan, j->res, err);
}

/* import_text imports text as the RPC does: parsed, then written in one write job. */
static int import_text(fx *f, const char *text, orci_import_result *res)
{
    orci_import_plan *plan = NULL;
    memset(res, 0, sizeof *res);
    orc_error_clear(&f->err);
    int code = orci_import_parse(text, strlen(text), &plan, &f->err);
    if (code != ORC_OK)
        return code;
    import_job j = {plan, res};
    code = fx_run(f, import_op, &j);
    orci_import_plan_free(plan);
    return code;
}

/* mutated returns the fixture with fields[key] of (model, pk) replaced by value (stolen). */
static char *mutated(const char *model, int64_t pk, const char *key, json_t *value)
{
    char *text = fixture_text();
    json_error_t jerr;
    json_t *list = json_loads(text, 0, &jerr);
    free(text);
    assert_non_null(list);
    size_t i;
    json_t *rec;
    bool found = false;
    json_array_foreach(list, i, rec)
    {
        if (strcmp(json_string_value(json_object_get(rec, "model")), model) == 0 &&
            json_integer_value(json_object_get(rec, "pk")) == pk) {
            json_object_set(json_object_get(rec, "fields"), key, value);
            found = true;
        }
    }
    json_decref(value);
    assert_true(found);
    char *out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return out;
}

/* fingerprint renders every row of the tables an import writes (and what it must not). */
static char *fingerprint(fx *f)
{
    static const char *const tables[] = {
        "SELECT * FROM users ORDER BY id",
        "SELECT * FROM workers ORDER BY id",
        "SELECT * FROM workflows ORDER BY id",
        "SELECT * FROM workflow_versions ORDER BY id",
        "SELECT * FROM certifications ORDER BY id",
        "SELECT * FROM certification_requirements ORDER BY 1, 2",
        "SELECT * FROM steps ORDER BY id",
        "SELECT * FROM step_creation_deps ORDER BY 1, 2",
        "SELECT * FROM step_submission_deps ORDER BY 1, 2",
        "SELECT * FROM step_certifications ORDER BY 1, 2",
        "SELECT * FROM worker_certifications ORDER BY id",
        "SELECT * FROM projects ORDER BY id",
        "SELECT * FROM tasks ORDER BY id",
        "SELECT * FROM task_assignments ORDER BY id",
        "SELECT * FROM iterations ORDER BY id",
        "SELECT * FROM time_entries ORDER BY id",
        "SELECT * FROM jobs ORDER BY id",
        "SELECT * FROM events ORDER BY seq",
        "SELECT * FROM imported_records ORDER BY 1, 2",
        "SELECT * FROM handout_queue ORDER BY 1",
        "SELECT * FROM job_signal",
    };
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        orc_error err = {0};
        sqlite3_stmt *st = orci_db_stmt(f->rdb, tables[t], &err);
        assert_non_null(st);
        int r;
        while ((r = orci_db_row(f->rdb, st, &err)) == 1) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const char *v = orci_col_text(st, c);
                size_t need = len + strlen(v) + 8;
                if (need > cap) {
                    cap = need * 2;
                    out = realloc(out, cap);
                    assert_non_null(out);
                }
                len += (size_t)sprintf(out + len, "%s|", v);
            }
            out[len++] = '\n';
            out[len] = '\0';
        }
        assert_int_equal(r, 0);
    }
    return out;
}

static int64_t count_of(const orci_import_result *res, const char *model, bool created)
{
    for (size_t i = 0; i < ORCI_IMPORT_N_MODELS; i++)
        if (strcmp(res->counts[i].model, model) == 0)
            return created ? res->counts[i].created : res->counts[i].existing;
    fail_msg("no count for %s", model);
    return -1;
}

static void assert_text(fx *f, const char *sql, int64_t id, const char *want)
{
    char *got = fx_text(f, sql, id);
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s [%lld]: got '%s', want '%s'", sql, (long long)id, got ? got : "(no row)",
                 want);
    free(got);
}

/* ---- every model round-trips -------------------------------------------------------------- */

static void check_people(fx *f)
{
    assert_text(f, "SELECT username FROM users WHERE id = ?1", 2, "ann");
    assert_text(f, "SELECT first_name || ' ' || last_name || ' ' || email FROM users WHERE id = ?1",
                2, "Ann Writer ann@example.org");
    assert_int_equal(fx_int(f, "SELECT created_at FROM users WHERE id = ?1", 2, 0, 0),
                     T_0402_090000_25);
    /* Upstream's hashes are not carried over: nobody can log in yet. */
    assert_int_equal(fx_int(f, "SELECT count(*) FROM users WHERE password != ''", 0, 0, 0), 0);
    assert_int_equal(
        fx_int(f, "SELECT is_superuser + 2 * is_staff + 4 * project_admin FROM users WHERE id = ?1",
               1, 0, 0),
        7); /* admin is in upstream's project_admins group */
    assert_int_equal(fx_int(f, "SELECT project_admin FROM users WHERE id = ?1", 3, 0, 0), 0);
    assert_int_equal(fx_int(f, "SELECT is_active FROM users WHERE id = ?1", 5, 0, 0), 0);
    assert_int_equal(fx_int(f, "SELECT user_id FROM workers WHERE id = ?1", 2, 0, 0), 2);
    assert_text(f,
                "SELECT slack_username || ',' || slack_user_id || ',' || phone FROM workers"
                " WHERE id = ?1",
                2, "ann,U0ANN,+14155550100");
    assert_int_equal(fx_int(f, "SELECT slack_user_id IS NULL FROM workers WHERE id = ?1", 3, 0, 0),
                     1);
    /* Both roles and both task classes. */
    assert_int_equal(fx_int(f,
                            "SELECT certification_id * 1000 + worker_id * 100 + task_class * 10"
                            " + role FROM worker_certifications WHERE id = ?1",
                            3, 0, 0),
                     1311);
    assert_int_equal(
        fx_int(f, "SELECT task_class FROM worker_certifications WHERE id = ?1", 7, 0, 0), 0);
}

static void check_workflows(fx *f)
{
    assert_text(f, "SELECT slug || ' ' || code_directory FROM workflows WHERE id = ?1", 1,
                "simple_workflow /srv/orchestra/simple_workflow");
    /* django-jsonfield's strings hold JSON: stored as the JSON they hold. */
    assert_text(f, "SELECT sample_data_load_function FROM workflows WHERE id = ?1", 1,
                "{\"module\":\"simple_workflow.load_sample_data\",\"name\":\"load\"}");
    assert_text(f, "SELECT abort_completion_function FROM workflow_versions WHERE id = ?1", 2,
                "{\"path\":\"review_flow.hooks.cleanup\",\"kwargs\":{\"notify\":true}}");
    assert_text(f, "SELECT abort_completion_function FROM workflow_versions WHERE id = ?1", 1,
                "{}");
    assert_int_equal(fx_int(f,
                            "SELECT required_id FROM certification_requirements"
                            " WHERE certification_id = ?1",
                            2, 0, 0),
                     1);
    assert_text(f, "SELECT execution_function FROM steps WHERE id = ?1", 3,
                "{\"module\":\"review_flow.v1.collect\",\"name\":\"collect\"}");
    assert_int_equal(fx_int(f, "SELECT completion_ends_project FROM steps WHERE id = ?1", 5, 0, 0),
                     1);
    assert_text(f, "SELECT creation_policy FROM steps WHERE id = ?1", 7,
                "{\"policy_function\":{\"path\":\"review_flow.policies.only_when_needed\","
                "\"kwargs\":{\"min\":2}}}");
    assert_int_equal(
        fx_int(f, "SELECT depends_on_id FROM step_creation_deps WHERE step_id = ?1", 5, 0, 0), 4);
    assert_int_equal(
        fx_int(f, "SELECT depends_on_id FROM step_submission_deps WHERE step_id = ?1", 5, 0, 0), 3);
    assert_int_equal(fx_int(f,
                            "SELECT certification_id FROM step_certifications"
                            " WHERE step_id = ?1",
                            5, 0, 0),
                     2);
    assert_int_equal(fx_int(f, "SELECT is_human FROM steps WHERE id = ?1", 1, 0, 0), 0);
}

static void check_projects(fx *f)
{
    /* Every project status, and both names of the scratchpad URL (DOC's and HEAD's). */
    assert_text(f,
                "SELECT group_concat(status, '') FROM (SELECT status FROM projects"
                " ORDER BY id)",
                0, "003420000");
    assert_text(f, "SELECT team_messages_url FROM projects WHERE id = ?1", 2,
                "https://docs.example.com/2");
    assert_text(f, "SELECT team_messages_url FROM projects WHERE id = ?1", 7,
                "https://docs.example.com/7");
    assert_text(f, "SELECT slack_group_id FROM projects WHERE id = ?1", 2, "G02");
    assert_text(f, "SELECT project_data FROM projects WHERE id = ?1", 1,
                "{\"url\":\"http://example.com/\"}");
    assert_int_equal(fx_int(f, "SELECT task_class FROM projects WHERE id = ?1", 3, 0, 0), 0);
    /* Every task status. */
    assert_text(f, "SELECT group_concat(status, '') FROM (SELECT status FROM tasks ORDER BY id)", 0,
                "51541555665205355");
    assert_int_equal(fx_int(f, "SELECT start_datetime FROM projects WHERE id = ?1", 1, 0, 0),
                     T_0501_080000 + 86400000000LL);
}

static void check_work(fx *f)
{
    /* Every assignment status, machine assignments without a worker, a soft-deleted level. */
    assert_text(f,
                "SELECT group_concat(status, '') FROM (SELECT status FROM task_assignments"
                " ORDER BY id)",
                0, "10101211111011110011");
    assert_int_equal(
        fx_int(f, "SELECT worker_id IS NULL FROM task_assignments WHERE id = ?1", 1, 0, 0), 1);
    assert_int_equal(fx_int(f,
                            "SELECT is_deleted * 10 + assignment_counter FROM task_assignments"
                            " WHERE id = ?1",
                            18, 0, 0),
                     12);
    assert_text(f, "SELECT in_progress_task_data FROM task_assignments WHERE id = ?1", 4,
                "{\"text\":\"draft\",\"note\":\"fix the intro\"}");
    /* Every iteration status; an open one; a time with milliseconds. */
    assert_int_equal(fx_int(f, "SELECT status FROM iterations WHERE id = ?1", 5, 0, 0),
                     ORCI_ITERATION_PROVIDED_REVIEW);
    assert_int_equal(fx_int(f, "SELECT end_datetime FROM iterations WHERE id = ?1", 5, 0, 0),
                     T_0503_101500_5);
    assert_int_equal(fx_int(f, "SELECT start_datetime FROM iterations WHERE id = ?1", 6, 0, 0),
                     T_0503_101500_5);
    assert_int_equal(fx_int(f, "SELECT end_datetime FROM iterations WHERE id = ?1", 6, 0, 0), -1);
    assert_int_equal(fx_int(f, "SELECT is_deleted FROM iterations WHERE id = ?1", 19, 0, 0), 1);
    /* Time entries: durations in Django's forms, a missing worker, a soft deletion. */
    assert_int_equal(fx_int(f, "SELECT time_worked_us FROM time_entries WHERE id = ?1", 2, 0, 0),
                     900500000);
    assert_int_equal(fx_int(f, "SELECT time_worked_us FROM time_entries WHERE id = ?1", 3, 0, 0),
                     93600000000LL);
    assert_text(f, "SELECT date || ' ' || description FROM time_entries WHERE id = ?1", 1,
                "2016-05-02 rated");
    assert_int_equal(fx_int(f, "SELECT worker_id IS NULL FROM time_entries WHERE id = ?1", 4, 0, 0),
                     1);
    assert_int_equal(fx_int(f, "SELECT is_deleted FROM time_entries WHERE id = ?1", 3, 0, 0), 1);
    assert_int_equal(fx_int(f, "SELECT timer_stop_time FROM time_entries WHERE id = ?1", 2, 0, 0),
                     T_0503_101500_5);
}

static void check_result(const orci_import_result *res)
{
    static const struct {
        const char *model;
        int64_t n;
    } want[] = {
        {"auth.user", 5},
        {"orchestra.workflow", 2},
        {"orchestra.certification", 2},
        {"orchestra.workflowversion", 3},
        {"orchestra.step", 8},
        {"orchestra.worker", 5},
        {"orchestra.workercertification", 7},
        {"orchestra.project", 9},
        {"orchestra.task", 17},
        {"orchestra.taskassignment", 20},
        {"orchestra.iteration", 21},
        {"orchestra.timeentry", 4},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(count_of(res, want[i].model, true), want[i].n);
        assert_int_equal(count_of(res, want[i].model, false), 0);
    }
    assert_int_equal(res->n_skipped, 4); /* groups, the timer, a pay rate, a preference */
    assert_int_equal(res->n_users_without_password, 5);
    assert_string_equal(res->users_without_password[1], "ann");
    /* The Python creation policy (step pk 7) and the HEAD-style machine step (pk 8) run on
     * executors now: only the project completed before upstream had a Completed status is
     * worth a warning. */
    assert_int_equal(res->n_warnings, 1);
    assert_non_null(strstr(res->warnings[0], "orchestra.project pk 9: every task is Complete"));
}

static void test_import_round_trips_every_model(void **state)
{
    fx *f = *state;
    char *text = fixture_text();
    orci_import_result res;
    FX_OK(f, import_text(f, text, &res));
    free(text);
    check_result(&res);
    orci_import_result_fini(&res);
    check_people(f);
    check_workflows(f);
    check_projects(f);
    check_work(f);
    /* Open machine tasks got their jobs: the one that had failed upstream waits for a retry,
     * the one never run is due; the paused project's job too, the others have none. */
    assert_int_equal(fx_int(f, "SELECT count(*) FROM jobs", 0, 0, 0), 2);
    assert_int_equal(fx_int(f, "SELECT status FROM jobs WHERE task_id = ?1", 5, 0, 0),
                     ORCI_JOB_FAILED);
    assert_int_equal(fx_int(f, "SELECT status FROM jobs WHERE task_id = ?1", 13, 0, 0),
                     ORCI_JOB_QUEUED);
    /* One project.imported event per project, on the project's topic. */
    assert_int_equal(
        fx_int(f, "SELECT count(*) FROM events WHERE type = 'project.imported'", 0, 0, 0), 9);
    /* The hand-out queue sees the imported human tasks waiting for a reviewer. */
    assert_int_equal(fx_int(f, "SELECT status FROM handout_queue WHERE task_id = ?1", 12, 0, 0),
                     ORCI_TASK_PENDING_REVIEW);
}

static void test_import_twice_changes_nothing(void **state)
{
    fx *f = *state;
    char *text = fixture_text();
    orci_import_result res;
    FX_OK(f, import_text(f, text, &res));
    orci_import_result_fini(&res);
    char *before = fingerprint(f);
    FX_OK(f, import_text(f, text, &res));
    free(text);
    char *after = fingerprint(f);
    assert_string_equal(before, after);
    assert_int_equal(count_of(&res, "orchestra.project", true), 0);
    assert_int_equal(count_of(&res, "orchestra.project", false), 9);
    assert_int_equal(count_of(&res, "orchestra.iteration", false), 21);
    assert_int_equal(res.n_warnings, 0);
    assert_int_equal(res.n_users_without_password, 5); /* still without one */
    orci_import_result_fini(&res);
    free(before);
    free(after);
}

/* expect_refused imports text and checks the message and that nothing was written. */
static void expect_refused(fx *f, char *text, int code, const char *message)
{
    char *empty = fingerprint(f);
    orci_import_result res;
    FX_EXPECT(f, import_text(f, text, &res), code, message);
    orci_import_result_fini(&res);
    free(text);
    char *after = fingerprint(f);
    assert_string_equal(empty, after);
    free(empty);
    free(after);
}

static void test_import_broken_record_names_itself_and_leaves_nothing(void **state)
{
    fx *f = *state;
    /* Found while reading the records. */
    expect_refused(f, mutated("orchestra.task", 12, "status", json_integer(9)),
                   ORC_INVALID_ARGUMENT,
                   "orchestra.task pk 12: field \"status\": 9 is not one of 0, 1, 2, 3, 4, 5, 6");
    expect_refused(f, mutated("orchestra.iteration", 4, "end_datetime", json_string("yesterday")),
                   ORC_INVALID_ARGUMENT,
                   "orchestra.iteration pk 4: field \"end_datetime\": is not a datetime "
                   "(YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])");
    /* Found while writing, after many rows were written: all of them roll back. */
    expect_refused(f, mutated("orchestra.task", 12, "project", json_integer(99)),
                   ORC_FAILED_PRECONDITION,
                   "orchestra.task pk 12: field \"project\": orchestra.project pk 99 is neither "
                   "in the fixture nor imported before");
    expect_refused(f, mutated("orchestra.task", 12, "step", json_integer(2)),
                   ORC_FAILED_PRECONDITION,
                   "orchestra.task pk 12: its step (orchestra.step pk 2) is not a step of its "
                   "project's workflow version (orchestra.project pk 6)");
    /* An open task whose rows break the lifecycle's rules. */
    expect_refused(
        f, mutated("orchestra.iteration", 2, "end_datetime", json_string("2016-05-02T09:30:00Z")),
        ORC_FAILED_PRECONDITION,
        "orchestra.task pk 2: its assignments and iterations break the lifecycle's "
        "rules (spec 3.2): task 2: open iteration 2 has an end or submitted data");
    /* The database's own rules name the record too. */
    expect_refused(f,
                   mutated("orchestra.taskassignment", 17, "assignment_counter", json_integer(0)),
                   ORC_ALREADY_EXISTS,
                   "orchestra.taskassignment pk 17: UNIQUE constraint failed: "
                   "task_assignments.task_id, task_assignments.assignment_counter");
    expect_refused(f, strdup("{\"model\": \"auth.user\"}"), ORC_INVALID_ARGUMENT,
                   "the fixture must be a JSON list of records, as `manage.py dumpdata` writes it");
}

/* with_copy returns the fixture with a copy of record (model, pk) under pk copy_pk. */
static char *with_copy(const char *model, int64_t pk, int64_t copy_pk)
{
    char *text = fixture_text();
    json_t *list = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(list);
    size_t i;
    json_t *rec, *copy = NULL;
    json_array_foreach(list, i, rec)
    {
        if (strcmp(json_string_value(json_object_get(rec, "model")), model) == 0 &&
            json_integer_value(json_object_get(rec, "pk")) == pk)
            copy = json_deep_copy(rec);
    }
    assert_non_null(copy);
    json_object_set_new(copy, "pk", json_integer(copy_pk));
    json_array_append_new(list, copy);
    char *out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return out;
}

/* A later dump that adds an iteration to a task imported before must not break the task
 * (found by fuzz_rpc_body: the rows were kept, and ending the project then failed). */
static void test_import_refuses_rows_that_break_a_task_imported_before(void **state)
{
    fx *f = *state;
    char *text = fixture_text();
    orci_import_result res;
    FX_OK(f, import_text(f, text, &res));
    orci_import_result_fini(&res);
    free(text);
    expect_refused(f, with_copy("orchestra.iteration", 2, 900), ORC_FAILED_PRECONDITION,
                   "orchestra.iteration pk 900: it adds to task 2, imported before, rows that "
                   "break the lifecycle's rules (spec 3.2): task 2: iteration 2 is Processing "
                   "but not the last");
    /* The same for a finished task: the lifecycle checks it again when its project ends. */
    expect_refused(f, with_copy("orchestra.iteration", 8, 901), ORC_FAILED_PRECONDITION,
                   "orchestra.iteration pk 901: it adds to task 6, imported before, rows that "
                   "break the lifecycle's rules (spec 3.2): task 6: iteration 901 belongs to "
                   "counter 0, expected 1");
}

static int end_project_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_lc_end_project(lc, *(int64_t *)arg, err);
}

static int complete_and_skip_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_lc_complete_and_skip(lc, *(int64_t *)arg, err);
}

/* A finished task kept as is, though its rows break the rules, does not stop its project, and
 * a change of its rows is refused with what is wrong with them. */
static void test_import_a_broken_finished_task_does_not_stop_its_project(void **state)
{
    fx *f = *state;
    char *text = with_copy("orchestra.iteration", 8, 901); /* two walks of counter 0 */
    orci_import_result res;
    FX_OK(f, import_text(f, text, &res));
    free(text);
    bool kept = false;
    for (size_t i = 0; i < res.n_warnings; i++)
        kept = kept || strstr(res.warnings[i], "orchestra.task pk 6: kept as is, though") != NULL;
    assert_true(kept);
    orci_import_result_fini(&res);
    /* Completing and skipping it changes nothing of it, so its rows are not looked at. */
    int64_t task = 6;
    FX_OK(f, fx_run(f, complete_and_skip_op, &task));
    /* Reverting it would change its rows: refused, naming the fault it came with (the check
     * after the change used to answer INTERNAL, as for a fault of the transition's own). */
    int64_t last = fx_int(f,
                          "SELECT max(i.id) FROM iterations i JOIN task_assignments a"
                          " ON a.id = i.assignment_id WHERE a.task_id = ?1",
                          task, 0, 0);
    FX_EXPECT(f, fx_revert(f, task, last, false, true), ORC_FAILED_PRECONDITION,
              "Task 6 cannot change: its stored rows already break the lifecycle's rules "
              "(spec 3.2; `orchestrad check` lists such tasks): task 6: iteration 901 belongs "
              "to counter 0, expected 1");
    assert_int_equal(fx_task_status(f, task), ORCI_TASK_COMPLETE);
    int64_t project = fx_int(f, "SELECT project_id FROM tasks WHERE id = 6", 0, 0, 0);
    FX_OK(f, fx_run(f, end_project_op, &project));
    assert_int_equal(
        fx_int(f, "SELECT count(*) FROM tasks WHERE project_id = ?1 AND status = 6", project, 0, 0),
        3);
}

/* ---- rows already here ----------------------------------------------------------------------- */

/* loaded_simple_workflow inserts simple_workflow/v1 as the loader would, with other ids. */
static void loaded_simple_workflow(fx *f, bool with_rate)
{
    fx_exec(f, (fx_sql){.sql = "INSERT INTO workflows (id, slug, name, description,"
                               " code_directory, created_at) VALUES (40, 'simple_workflow',"
                               " 'Simple Workflow', '', '/opt/plugins/simple_workflow', 0)"});
    fx_exec(f, (fx_sql){.sql = "INSERT INTO workflow_versions (id, workflow_id, slug, name,"
                               " description, created_at) VALUES (41, 40, 'v1', 'V1', '', 0)"});
    fx_exec(f, (fx_sql){.sql = "INSERT INTO steps (id, workflow_version_id, slug, name,"
                               " description, is_human, execution_function, position, created_at)"
                               " VALUES (42, 41, 'crawl', 'Crawl', '', 0, '{\"module\":"
                               "\"simple_workflow.v1.crawl\",\"name\":\"crawl_page\"}', 0, 0)"});
    if (with_rate)
        fx_exec(f, (fx_sql){.sql = "INSERT INTO steps (id, workflow_version_id, slug, name,"
                                   " description, is_human, review_policy, position, created_at)"
                                   " VALUES (43, 41, 'rate', 'Rate', '', 1,"
                                   " '{\"policy\":\"no_review\"}', 1, 0)"});
}

static void test_import_adopts_loaded_workflows_and_existing_users(void **state)
{
    fx *f = *state;
    loaded_simple_workflow(f, true);
    /* ann exists with a password; id 2 is someone else's. */
    fx_exec(f, (fx_sql){.sql = "INSERT INTO users (id, username, password, created_at) VALUES"
                               " (2, 'someone', '', 0), (60, 'ann', 'pbkdf2-sha256$1$x$y', 0)"});
    char *text = fixture_text();
    orci_import_result res;
    FX_OK(f, import_text(f, text, &res));
    free(text);
    assert_int_equal(count_of(&res, "orchestra.workflow", false), 1);
    assert_int_equal(count_of(&res, "orchestra.workflowversion", false), 1);
    assert_int_equal(count_of(&res, "orchestra.step", false), 2);
    assert_int_equal(count_of(&res, "auth.user", false), 1);
    /* ann keeps her password and is not listed; the others are. */
    assert_int_equal(res.n_users_without_password, 4);
    for (size_t i = 0; i < res.n_users_without_password; i++)
        assert_string_not_equal(res.users_without_password[i], "ann");
    orci_import_result_fini(&res);
    assert_text(f, "SELECT password FROM users WHERE id = ?1", 60, "pbkdf2-sha256$1$x$y");
    /* The loaded definition is kept and the projects point at it. */
    assert_text(f, "SELECT code_directory FROM workflows WHERE id = ?1", 40,
                "/opt/plugins/simple_workflow");
    assert_int_equal(fx_int(f, "SELECT step_id FROM tasks WHERE id = ?1", 2, 0, 0), 43);
    assert_int_equal(fx_int(f, "SELECT workflow_version_id FROM projects WHERE id = ?1", 9, 0, 0),
                     41);
    /* Ann's worker refers to her existing user; her old pk went to nobody. */
    assert_int_equal(fx_int(f, "SELECT user_id FROM workers WHERE id = ?1", 2, 0, 0), 60);
    assert_int_equal(fx_int(f, "SELECT count(*) FROM workers WHERE user_id = ?1", 2, 0, 0), 0);
}

static void test_import_refuses_a_step_missing_from_a_loaded_version(void **state)
{
    fx *f = *state;
    loaded_simple_workflow(f, false);
    char *text = fixture_text();
    expect_refused(f, text, ORC_FAILED_PRECONDITION,
                   "orchestra.step pk 2: workflow version simple_workflow/v1 is already here "
                   "without a step \"rate\": load the version the fixture was made with, or "
                   "import into a database without this one");
}

static void test_import_keeps_ids_only_where_free(void **state)
{
    fx *f = *state;
    /* Project 3's id is taken: it gets another, and its task follows it. */
    loaded_simple_workflow(f, true);
    fx_exec(f, (fx_sql){.sql = "INSERT INTO projects (id, start_datetime, status,"
                               " workflow_version_id, short_description, priority, task_class)"
                               " VALUES (3, 0, 2, 41, 'ours', 0, 1)"});
    char *text = fixture_text();
    orci_import_result res;
    FX_OK(f, import_text(f, text, &res));
    free(text);
    orci_import_result_fini(&res);
    assert_text(f, "SELECT short_description FROM projects WHERE id = ?1", 3, "ours");
    int64_t moved = fx_int(f,
                           "SELECT row_id FROM imported_records WHERE model = 'orchestra.project'"
                           " AND source_pk = ?1",
                           3, 0, 0);
    assert_true(moved > 9);
    assert_text(f, "SELECT short_description FROM projects WHERE id = ?1", moved,
                "Paused after a failed machine step");
    assert_int_equal(fx_int(f, "SELECT project_id FROM tasks WHERE id = ?1", 5, 0, 0), moved);
    assert_int_equal(fx_int(f, "SELECT project_id FROM tasks WHERE id = ?1", 6, 0, 0), 4);
}

/* ---- Django's text forms ------------------------------------------------------------------- */

/* one_user imports a fixture of one user with the given date_joined text. */
static int one_user(fx *f, const char *joined)
{
    char text[512];
    snprintf(text, sizeof text,
             "[{\"model\": \"auth.user\", \"pk\": 7, \"fields\": {\"username\": \"u%s\","
             " \"date_joined\": \"%s\"}}]",
             joined[10] == 'T' ? "t" : "s", joined);
    orci_import_result res;
    int code = import_text(f, text, &res);
    orci_import_result_fini(&res);
    return code;
}

static void test_import_reads_django_datetimes(void **state)
{
    fx *f = *state;
    /* "+HH:MM" offsets, a naive time taken as UTC, fractions cut at microseconds. */
    FX_OK(f, one_user(f, "2016-05-01T10:00:00.1234567+02:00"));
    assert_int_equal(fx_int(f, "SELECT created_at FROM users WHERE id = 7", 0, 0, 0),
                     T_0501_080000 + 123456);
    fx_exec(f, (fx_sql){.sql = "DELETE FROM imported_records"});
    fx_exec(f, (fx_sql){.sql = "DELETE FROM users"});
    FX_OK(f, one_user(f, "2016-05-01 08:00:00"));
    assert_int_equal(fx_int(f, "SELECT created_at FROM users WHERE id = 7", 0, 0, 0),
                     T_0501_080000);
    FX_EXPECT(f, one_user(f, "2016-05-01T25:00:00Z"), ORC_INVALID_ARGUMENT,
              "auth.user pk 7: field \"date_joined\": is not a datetime "
              "(YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])");
    FX_EXPECT(f, one_user(f, "2016-02-30T10:00:00Z"), ORC_INVALID_ARGUMENT, NULL);
}

static void test_import_refuses_malformed_fixtures(void **state)
{
    fx *f = *state;
    orci_import_result res;
    FX_EXPECT(f,
              import_text(f,
                          "[{\"model\": \"auth.user\", \"pk\": 1, \"fields\": {\"username\":"
                          " \"a\"}}, {\"model\": \"auth.user\", \"pk\": 1, \"fields\":"
                          " {\"username\": \"b\"}}]",
                          &res),
              ORC_INVALID_ARGUMENT, "auth.user pk 1: appears twice in the fixture");
    FX_EXPECT(f,
              import_text(f,
                          "[{\"model\": \"orchestra.worker\", \"pk\": 1, \"fields\": {\"user\":"
                          " [\"ann\"]}}]",
                          &res),
              ORC_INVALID_ARGUMENT,
              "orchestra.worker pk 1: field \"user\": must be the integer pk of a record "
              "(natural keys are not read)");
    FX_EXPECT(
        f, import_text(f, "[{\"model\": \"auth.user\", \"pk\": \"1\", \"fields\": {}}]", &res),
        ORC_INVALID_ARGUMENT, "record 1 of the fixture (auth.user): \"pk\" must be an integer");
    FX_EXPECT(f,
              import_text(f,
                          "[{\"model\": \"orchestra.project\", \"pk\": 1, \"fields\":"
                          " {\"workflow_version\": 1, \"priority\": 1, \"task_class\": 1,"
                          " \"project_data\": \"[1, 2]\"}}]",
                          &res),
              ORC_INVALID_ARGUMENT,
              "orchestra.project pk 1: field \"project_data\": must be a JSON object");
    /* Models that are not imported are only counted. */
    FX_OK(f, import_text(f, "[{\"model\": \"orchestra.Todo\", \"pk\": 1, \"fields\": {}}]", &res));
    assert_int_equal(res.n_skipped, 1);
    assert_string_equal(res.skipped[0].model, "orchestra.todo");
    orci_import_result_fini(&res);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_import_round_trips_every_model),
        T(test_import_twice_changes_nothing),
        T(test_import_broken_record_names_itself_and_leaves_nothing),
        T(test_import_refuses_rows_that_break_a_task_imported_before),
        T(test_import_a_broken_finished_task_does_not_stop_its_project),
        T(test_import_adopts_loaded_workflows_and_existing_users),
        T(test_import_refuses_a_step_missing_from_a_loaded_version),
        T(test_import_keeps_ids_only_where_free),
        T(test_import_reads_django_datetimes),
        T(test_import_refuses_malformed_fixtures),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
