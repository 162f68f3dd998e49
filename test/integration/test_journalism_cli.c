/*
 * test_journalism_cli.c: the journalism workflow's human steps (spec section 6) driven end to
 * end through the `orchestra` CLI by its six sample workers against a real orchestrad. No
 * executor runs, so the two machine steps stay Awaiting Processing until an admin skips them.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_flow.h"
#include "harness.h"
#include "support.h"

enum { EDITOR, REPORTER_1, REPORTER_2, PHOTOGRAPHER_1, PHOTOGRAPHER_2, COPY_EDITOR, N_WORKERS };

/* The sample users and their passwords (spec section 6). */
static const char *const USERS[N_WORKERS][2] = {
    {"journalism-editor", "editor"},
    {"journalism-reporter-1", "reporter"},
    {"journalism-reporter-2", "reporter"},
    {"journalism-photographer-1", "photographer"},
    {"journalism-photographer-2", "photographer"},
    {"journalism-copy-editor", "copy-editor"},
};

typedef struct fixture {
    orc_harness h;
    orc_flow_worker w[N_WORKERS];
    int64_t project;
    int64_t photography; /* the photography task, once taken */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (orc_harness_start(&f->h, NULL) != 0) {
        orc_harness_cleanup(&f->h);
        free(f);
        return -1;
    }
    for (int i = 0; i < N_WORKERS; i++)
        orc_flow_worker_init(&f->w[i], &f->h, USERS[i][0], USERS[i][1]);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int status = f->h.pid != 0 ? orc_harness_stop(&f->h) : 0;
    orc_harness_cleanup(&f->h);
    free(f);
    return status == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* load_journalism loads the example workflow and its sample workers and logs them all in. */
static void load_journalism(fixture *f)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/plugins/journalism_workflow", orc_test_env("ORC_SOURCE_DIR"));
    orc_flow_load_workflow(&f->h, dir, "v1");
    orc_flow_run r;
    orc_flow_admin(&f->h, &r, NULL, "workflow", "sample-data", "journalism/v1", NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    for (int i = 0; i < N_WORKERS; i++)
        orc_flow_login(&f->h, &f->w[i]);
}

static void skip_task(fixture *f, int64_t task_id)
{
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, task_id);
    orc_flow_run r;
    orc_flow_admin(&f->h, &r, NULL, "task", "skip", id, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
}

/* expect_new_task asserts that `task new` as w hands out the project's task of step. */
static int64_t expect_new_task(fixture *f, int who, const char *role, const char *step)
{
    int64_t want = orc_flow_task_id(&f->h, f->project, step);
    orc_flow_run r;
    orc_flow_as(&f->h, &f->w[who], &r, "task", "new", role, NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    const char *got_step = json_string_value(json_object_get(v, "step"));
    const char *got_version = json_string_value(json_object_get(v, "project"));
    if (json_integer_value(json_object_get(v, "id")) != want || got_step == NULL ||
        strcmp(got_step, step) != 0 || got_version == NULL || strcmp(got_version, "v1") != 0 ||
        !json_is_integer(json_object_get(v, "assignment_id"))) {
        char what[300];
        snprintf(what, sizeof what, "task new %s as %s: expected task %" PRId64 " (%s, v1)", role,
                 USERS[who][0], want, step);
        orc_flow_fail_json(&f->h, what, v);
    }
    json_decref(v);
    orc_flow_run_free(&r);
    return want;
}

/* worker_of asserts the username of the assignment with this counter on the step's task. */
static void expect_worker(fixture *f, const char *step, size_t counter, int who)
{
    json_t *info = orc_flow_project_info(&f->h, f->project);
    json_t *a = json_array_get(json_object_get(orc_flow_task(info, step), "assignments"), counter);
    const char *name = json_string_value(json_object_get(json_object_get(a, "worker"), "username"));
    if (name == NULL || strcmp(name, USERS[who][0]) != 0) {
        char what[300];
        snprintf(what, sizeof what, "%s: assignment %zu should belong to %s", step, counter,
                 USERS[who][0]);
        orc_flow_fail_json(&f->h, what, info);
    }
    json_decref(info);
}

/* show_task returns `task show TASK` as w (new reference). */
static json_t *show_task(fixture *f, int who, int64_t task_id)
{
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, task_id);
    orc_flow_run r;
    orc_flow_as(&f->h, &f->w[who], &r, "task", "show", id, NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    orc_flow_run_free(&r);
    return v;
}

static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    return v;
}

/* expect_json_member asserts that member key of o equals the JSON text want. */
static void expect_json_member(fixture *f, json_t *o, const char *key, const char *want_text,
                               const char *what)
{
    json_t *want = parse(want_text);
    if (!json_equal(json_object_get(o, key), want)) {
        fprintf(stderr, "%s: member %s should be %s\n", what, key, want_text);
        orc_flow_fail_json(&f->h, what, o);
    }
    json_decref(want);
}

static const char *const PLAN =
    "{\"who\":\"the mayor\",\"what\":\"opens a bridge\",\"when\":\"Monday\","
    "\"where\":\"the river\",\"notes\":\"bring a camera\"}";
static const char *const REPORT = "{\"draft\":\"The mayor opened the bridge.\"}";
static const char *const REPORT_REVIEWED =
    "{\"draft\":\"The mayor opened the new bridge on Monday.\",\"review\":\"tightened\"}";
static const char *const PHOTOS = "{\"photos\":[\"raw/1.jpg\",\"raw/2.jpg\"]}";
static const char *const ARTICLE =
    "{\"headline\":\"Mayor opens bridge\",\"photos\":[{\"src\":\"processed/1.jpg\","
    "\"caption\":\"The ribbon\"},{\"src\":\"processed/2.jpg\",\"caption\":\"The crowd\"}]}";

/* ---- tests ----------------------------------------------------------------------------- */

/* jcli_start: the project, its machine step skipped by an admin; a reporter is no editor */
static void jcli_start(fixture *f)
{
    orc_harness *h = &f->h;
    load_journalism(f);
    f->project =
        orc_flow_create_project(h, "journalism", "v1", "A test run of our journalism workflow",
                                "{\"article_draft_template\":\"template-doc\"}");
    orc_flow_expect_project_status(h, f->project, "Active");

    /* Only the machine step exists, and no human is ever handed it. */
    orc_flow_expect_task(h, f->project, "document_creation", "Awaiting Processing", "");
    orc_flow_expect_no_task(h, f->project, "article_planning");
    orc_flow_task_new_refused(h, &f->w[EDITOR], "entry_level", "No task");
    orc_flow_task_new_refused(h, &f->w[COPY_EDITOR], "entry_level", "No task");
    orc_flow_expect_task(h, f->project, "document_creation", "Awaiting Processing", "");

    skip_task(f, orc_flow_task_id(h, f->project, "document_creation"));
    orc_flow_expect_task(h, f->project, "document_creation", "Complete", NULL);
    orc_flow_expect_task(h, f->project, "article_planning", "Awaiting Processing", "");

    /* A reporter is not certified as an editor. */
    orc_flow_task_new_refused(h, &f->w[REPORTER_1], "entry_level", "No worker certificates");
}

/* jcli_editor: the editor plans the article: no review */
static void jcli_editor(fixture *f)
{
    orc_harness *h = &f->h;
    /* The editor plans the article: no review. */
    int64_t planning = expect_new_task(f, EDITOR, "entry_level", "article_planning");
    orc_flow_expect_task(h, f->project, "article_planning", "Processing", "Processing");
    expect_worker(f, "article_planning", 0, EDITOR);
    orc_flow_expect_dashboard(h, &f->w[EDITOR], planning, "in_progress", 0);
    orc_flow_task_cmd(h, &f->w[EDITOR], "save", planning, "{\"who\":\"the mayor\"}");
    json_t *shown = show_task(f, EDITOR, planning);
    expect_json_member(f, json_object_get(shown, "task"), "data", "{\"who\":\"the mayor\"}",
                       "task show after save");
    json_decref(shown);
    orc_flow_expect_task(h, f->project, "article_planning", "Processing", "Processing");
    orc_flow_task_cmd(h, &f->w[EDITOR], "submit", planning, PLAN);
    orc_flow_expect_task(h, f->project, "article_planning", "Complete", "Submitted");
    orc_flow_expect_dashboard(h, &f->w[EDITOR], planning, "complete", 0);
    orc_flow_expect_task(h, f->project, "reporting", "Awaiting Processing", "");
    orc_flow_expect_task(h, f->project, "photography", "Awaiting Processing", "");
    orc_flow_expect_no_task(h, f->project, "photo_adjustment");
    orc_flow_expect_no_task(h, f->project, "copy_editing");
}

/* jcli_reporting: the first reporter and photographer take their steps; nobody reviews their own
 * work; the second reporter accepts */
static void jcli_reporting(fixture *f)
{
    orc_harness *h = &f->h;
    /* The first reporter and the first photographer take their steps in parallel. */
    int64_t reporting = expect_new_task(f, REPORTER_1, "entry_level", "reporting");
    f->photography = expect_new_task(f, PHOTOGRAPHER_1, "entry_level", "photography");
    orc_flow_expect_task(h, f->project, "reporting", "Processing", "Processing");
    orc_flow_expect_task(h, f->project, "photography", "Processing", "Processing");
    json_t *shown = show_task(f, REPORTER_1, reporting);
    expect_json_member(f, json_object_get(shown, "prerequisites"), "article_planning", PLAN,
                       "reporting prerequisites");
    json_decref(shown);

    orc_flow_task_cmd(h, &f->w[REPORTER_1], "save", reporting, REPORT);
    orc_flow_task_cmd(h, &f->w[REPORTER_1], "submit", reporting, REPORT);
    orc_flow_expect_task(h, f->project, "reporting", "Pending Review", "Submitted");
    orc_flow_expect_dashboard(h, &f->w[REPORTER_1], reporting, "pending_review", 0);
    /* Resubmitting without the task back is refused. */
    orc_flow_task_cmd_refused(h, &f->w[REPORTER_1], "submit", reporting, REPORT,
                              "Worker is not allowed to submit");

    /* Nobody reviews their own work: the task is no candidate for its own worker, and a
     * direct assignment is refused, for the missing reviewer certificate first and, once
     * certified, for the seat already held. */
    orc_flow_task_new_refused(h, &f->w[REPORTER_1], "reviewer", "No task");
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, reporting);
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "task", "assign", id, USERS[REPORTER_1][0], NULL);
    orc_flow_expect_refused(&r, "Worker not certified for this task.");
    orc_flow_run_free(&r);
    orc_flow_certify(h, USERS[REPORTER_1][0], "journalism/reporter", "reviewer");
    orc_flow_admin(h, &r, NULL, "task", "assign", id, USERS[REPORTER_1][0], NULL);
    orc_flow_expect_refused(&r, "Worker already assigned to this task.");
    orc_flow_run_free(&r);
    orc_flow_task_new_refused(h, &f->w[REPORTER_1], "reviewer", "No task");
    orc_flow_expect_task(h, f->project, "reporting", "Pending Review", "Submitted");

    /* The second reporter reviews and accepts. */
    expect_new_task(f, REPORTER_2, "reviewer", "reporting");
    orc_flow_expect_task(h, f->project, "reporting", "Reviewing", "Submitted,Processing");
    expect_worker(f, "reporting", 1, REPORTER_2);
    shown = show_task(f, REPORTER_2, reporting);
    expect_json_member(f, json_object_get(shown, "task"), "data", REPORT,
                       "the reviewer starts from the submitted work");
    if (!json_is_true(json_object_get(shown, "is_reviewer")))
        orc_flow_fail_json(h, "the reviewer's task show: is_reviewer should be true", shown);
    json_decref(shown);
    orc_flow_task_cmd(h, &f->w[REPORTER_2], "accept", reporting, REPORT_REVIEWED);
    orc_flow_expect_task(h, f->project, "reporting", "Complete", "Submitted,Submitted");
    orc_flow_expect_dashboard(h, &f->w[REPORTER_1], reporting, "complete", 0);
    orc_flow_expect_dashboard(h, &f->w[REPORTER_2], reporting, "complete", 0);
    orc_flow_expect_no_task(h, f->project, "copy_editing");
}

/* jcli_photos: the photos, reviewed by the second photographer, then the machine step skipped */
static void jcli_photos(fixture *f)
{
    orc_harness *h = &f->h;
    int64_t photography = f->photography;
    /* The same for the photos, reviewed by the second photographer. */
    orc_flow_task_cmd(h, &f->w[PHOTOGRAPHER_1], "submit", photography, PHOTOS);
    orc_flow_expect_task(h, f->project, "photography", "Pending Review", "Submitted");
    orc_flow_task_new_refused(h, &f->w[PHOTOGRAPHER_1], "reviewer", "No task");
    orc_flow_task_new_refused(h, &f->w[REPORTER_2], "reviewer", "No worker certificates");
    expect_new_task(f, PHOTOGRAPHER_2, "reviewer", "photography");
    orc_flow_expect_task(h, f->project, "photography", "Reviewing", "Submitted,Processing");
    orc_flow_task_cmd(h, &f->w[PHOTOGRAPHER_2], "accept", photography, NULL);
    orc_flow_expect_task(h, f->project, "photography", "Complete", "Submitted,Submitted");
    expect_worker(f, "photography", 0, PHOTOGRAPHER_1);
    expect_worker(f, "photography", 1, PHOTOGRAPHER_2);

    /* Photo adjustment is a machine step: the copy editor waits until it is done. */
    orc_flow_expect_task(h, f->project, "photo_adjustment", "Awaiting Processing", "");
    orc_flow_expect_no_task(h, f->project, "copy_editing");
    orc_flow_task_new_refused(h, &f->w[COPY_EDITOR], "entry_level", "No task");
    skip_task(f, orc_flow_task_id(h, f->project, "photo_adjustment"));
    orc_flow_expect_task(h, f->project, "photo_adjustment", "Complete", NULL);
    orc_flow_expect_task(h, f->project, "copy_editing", "Awaiting Processing", "");
    orc_flow_expect_project_status(h, f->project, "Active");
}

/* jcli_copy: the copy editor sees every earlier step and finishes; the project is Completed */
static void jcli_copy(fixture *f)
{
    orc_harness *h = &f->h;
    /* The copy editor sees every earlier step's final data and finishes the article. */
    int64_t copy = expect_new_task(f, COPY_EDITOR, "entry_level", "copy_editing");
    json_t *shown = show_task(f, COPY_EDITOR, copy);
    json_t *prereq = json_object_get(shown, "prerequisites");
    expect_json_member(f, prereq, "article_planning", PLAN, "copy_editing prerequisites");
    expect_json_member(f, prereq, "reporting", REPORT_REVIEWED, "copy_editing prerequisites");
    expect_json_member(f, prereq, "photography", PHOTOS, "copy_editing prerequisites");
    expect_json_member(f, prereq, "photo_adjustment", "{}", "copy_editing prerequisites");
    expect_json_member(f, prereq, "document_creation", "{}", "copy_editing prerequisites");
    json_decref(shown);
    orc_flow_task_cmd(h, &f->w[COPY_EDITOR], "submit", copy, ARTICLE);
    orc_flow_expect_task(h, f->project, "copy_editing", "Complete", "Submitted");

    /* Every task is Complete, so the project is Completed, with the article as the final
     * data of copy_editing. */
    orc_flow_expect_project_status(h, f->project, "Completed");
    json_t *info = orc_flow_project_info(h, f->project);
    static const char *const steps[] = {"document_creation", "article_planning", "reporting",
                                        "photography",       "photo_adjustment", "copy_editing"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *s = json_string_value(json_object_get(orc_flow_task(info, steps[i]), "status"));
        if (s == NULL || strcmp(s, "Complete") != 0)
            orc_flow_fail_json(h, "every task should be Complete", info);
    }
    expect_json_member(f, orc_flow_task(info, "copy_editing"), "latest_data", ARTICLE,
                       "the final article");
    json_decref(info);
    orc_flow_task_new_refused(h, &f->w[EDITOR], "entry_level", "No task");
    orc_flow_expect_consistent(h);
}

static void test_journalism_sample_workers_complete_a_project_through_the_cli(void **state)
{
    fixture *f = *state;
    jcli_start(f);
    jcli_editor(f);
    jcli_reporting(f);
    jcli_photos(f);
    jcli_copy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_journalism_sample_workers_complete_a_project_through_the_cli, setup, teardown),
    };
    return cmocka_run_group_tests_name("journalism_cli", tests, NULL, NULL);
}
