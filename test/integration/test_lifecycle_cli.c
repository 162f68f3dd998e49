/*
 * test_lifecycle_cli.c: the human task lifecycle (spec sections 3 and 5) driven through the
 * `orchestra` CLI against a real orchestrad: two review levels with returns (upstream's
 * test_dashboard scenario), certification and ownership refusals, workers racing for the
 * last task, and the management commands (pause, resume, end, reassign, revert), plus
 * logging in and out.
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
#include <sys/stat.h>
#include <unistd.h>

#include "cli_flow.h"
#include "harness.h"
#include "support.h"

typedef struct fixture {
    orc_harness h;
    char review_dir[700]; /* the review_chain workflow folder */
    char open_dir[700];   /* the open_wf workflow folder (two steps, no certificates) */
} fixture;

/* One human step that needs the writer certificate, reviewed by up to two reviewers. */
static const char *const REVIEW_WORKFLOW =
    "{\"slug\": \"review_chain\", \"name\": \"Review chain\",\n"
    " \"description\": \"One step, two review levels.\",\n"
    " \"certifications\": [{\"slug\": \"writer\", \"name\": \"Writer\",\n"
    "                      \"description\": \"Writes drafts\"}]}\n";
static const char *const REVIEW_VERSION =
    "{\"slug\": \"v1\", \"name\": \"Review chain v1\", \"description\": \"Draft and review.\",\n"
    " \"steps\": [{\"slug\": \"draft\", \"name\": \"Draft\", \"description\": \"Write it.\",\n"
    "   \"is_human\": true, \"required_certifications\": [\"writer\"],\n"
    "   \"review_policy\": {\"policy\": \"sampled_review\", \"rate\": 1, \"max_reviews\": 2}}]}\n";

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

static void load_review_workflow(fixture *f)
{
    orc_flow_write_workflow(f->h.dir, "review_chain", REVIEW_WORKFLOW, REVIEW_VERSION,
                            f->review_dir, sizeof f->review_dir);
    orc_flow_load_workflow(&f->h, f->review_dir, "v1");
}

static void load_open_workflow(fixture *f)
{
    assert_int_equal(orc_test_small_workflow(f->h.dir, "open_wf", f->open_dir, sizeof f->open_dir),
                     0);
    orc_flow_load_workflow(&f->h, f->open_dir, "v1");
}

/* new_worker adds, optionally certifies (role "entry_level", "reviewer" or NULL) and logs
 * in a worker. A reviewer gets the entry-level certificate first, as the save rule wants. */
static void new_worker(fixture *f, orc_flow_worker *w, const char *username, const char *cert,
                       const char *role)
{
    orc_flow_worker_init(w, &f->h, username, "pw-for-tests");
    orc_flow_add_worker(&f->h, w);
    if (role != NULL) {
        orc_flow_certify(&f->h, username, cert, "entry_level");
        if (strcmp(role, "reviewer") == 0)
            orc_flow_certify(&f->h, username, cert, "reviewer");
    }
    orc_flow_login(&f->h, w);
}

static void id_text(int64_t id, char *out, size_t size)
{
    snprintf(out, size, "%" PRId64, id);
}

/* admin_ok runs an admin command (arguments NULL-terminated) and expects success. */
#define admin_ok(f, ...)                                                                           \
    do {                                                                                           \
        orc_flow_run r_;                                                                           \
        orc_flow_admin(&(f)->h, &r_, NULL, __VA_ARGS__, NULL);                                     \
        orc_flow_expect_ok(&r_);                                                                   \
        orc_flow_run_free(&r_);                                                                    \
    } while (0)

/* admin_refused runs an admin command and expects exit 1 with message. */
#define admin_refused(f, message, ...)                                                             \
    do {                                                                                           \
        orc_flow_run r_;                                                                           \
        orc_flow_admin(&(f)->h, &r_, NULL, __VA_ARGS__, NULL);                                     \
        orc_flow_expect_refused(&r_, message);                                                     \
        orc_flow_run_free(&r_);                                                                    \
    } while (0)

/* assignments returns tasks.<step>.assignments of the project (borrowed from *info, which
 * the caller releases). */
static json_t *assignments(fixture *f, int64_t project, const char *step, json_t **info)
{
    *info = orc_flow_project_info(&f->h, project);
    json_t *a = json_object_get(orc_flow_task(*info, step), "assignments");
    if (!json_is_array(a))
        orc_flow_fail_json(&f->h, "no assignments array", *info);
    return a;
}

/* expect_iterations asserts how many iterations each assignment of the step's task has. */
static void expect_iterations(fixture *f, int64_t project, const char *step, const size_t *counts,
                              size_t n)
{
    json_t *info;
    json_t *list = assignments(f, project, step, &info);
    bool ok = json_array_size(list) == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_array_size(json_object_get(json_array_get(list, i), "iterations")) == counts[i];
    if (!ok)
        orc_flow_fail_json(&f->h, "unexpected iteration counts", info);
    json_decref(info);
}

/* assignment_worker returns the username of the assignment with this counter (static copy). */
static const char *assignment_worker(fixture *f, int64_t project, const char *step, size_t counter)
{
    static char name[64];
    json_t *info;
    json_t *a = json_array_get(assignments(f, project, step, &info), counter);
    const char *s = json_string_value(json_object_get(json_object_get(a, "worker"), "username"));
    snprintf(name, sizeof name, "%s", s != NULL ? s : "");
    json_decref(info);
    return name;
}

static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    return v;
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- a) two review levels -------------------------------------------------------------- */

/* The two-level review scenario: a writer, two reviewers, one task. */
typedef struct review_run {
    fixture *f;
    orc_flow_worker w, r1, r2;
    int64_t p, t;
} review_run;

/* reviewerStatus follows the certificates; the writer submits, reviewer 1 returns it */
static void review_start(review_run *x)
{
    orc_harness *h = &x->f->h;
    /* reviewerStatus follows the certificates. */
    json_t *d = orc_flow_dashboard(h, &x->w);
    if (!json_is_false(json_object_get(d, "reviewerStatus")))
        orc_flow_fail_json(h, "the writer has no reviewer certificate", d);
    json_decref(d);
    d = orc_flow_dashboard(h, &x->r1);
    if (!json_is_true(json_object_get(d, "reviewerStatus")))
        orc_flow_fail_json(h, "reviewer-1 has a reviewer certificate", d);
    json_decref(d);

    /* The writer takes the task and submits: review is needed. */
    orc_flow_task_new_refused(h, &x->r1, "reviewer", "No task");
    x->t = orc_flow_task_new(h, &x->w, "entry_level", NULL);
    assert_int_equal(x->t, orc_flow_task_id(h, x->p, "draft"));
    orc_flow_expect_task(h, x->p, "draft", "Processing", "Processing");
    orc_flow_expect_dashboard(h, &x->w, x->t, "in_progress", 0);
    orc_flow_task_cmd(h, &x->w, "submit", x->t, "{\"text\":\"first draft\"}");
    orc_flow_expect_task(h, x->p, "draft", "Pending Review", "Submitted");
    orc_flow_expect_dashboard(h, &x->w, x->t, "pending_review", 0);

    /* Reviewer 1 takes it and returns it: the writer's assignment reopens. */
    assert_int_equal(orc_flow_task_new(h, &x->r1, "reviewer", NULL), x->t);
    orc_flow_expect_task(h, x->p, "draft", "Reviewing", "Submitted,Processing");
    orc_flow_expect_dashboard(h, &x->r1, x->t, "in_progress", 0);
    orc_flow_task_new_refused(h, &x->r2, "reviewer", "No task");
    orc_flow_task_cmd(h, &x->r1, "return", x->t,
                      "{\"text\":\"first draft\",\"note\":\"too short\"}");
    orc_flow_expect_task(h, x->p, "draft", "Post-review Processing", "Processing,Submitted");
    orc_flow_expect_dashboard(h, &x->w, x->t, "returned", 1);
    orc_flow_expect_dashboard(h, &x->r1, x->t, "pending_processing", 0);
    orc_flow_task_new_refused(h, &x->w, "entry_level",
                              "Worker has pending reviewer feedback that must be addressed.");
    /* The reviewer cannot reject further down than one level, nor submit now. */
    orc_flow_task_cmd_refused(h, &x->r1, "return", x->t, "{}", "Worker is not allowed to submit");
}

/* the writer's task show carries the returned data */
static void review_show_returned(review_run *x)
{
    orc_harness *h = &x->f->h;
    /* The writer's task show carries the returned data. */
    char tid[32];
    id_text(x->t, tid, sizeof tid);
    orc_flow_run r;
    orc_flow_as(h, &x->w, &r, "task", "show", tid, NULL);
    orc_flow_expect_ok(&r);
    json_t *shown = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *want = parse("{\"text\":\"first draft\",\"note\":\"too short\"}");
    if (!json_equal(json_object_get(json_object_get(shown, "task"), "data"), want) ||
        !json_is_false(json_object_get(shown, "is_read_only")) ||
        !json_is_false(json_object_get(shown, "is_reviewer")))
        orc_flow_fail_json(h, "the returned task as the writer sees it", shown);
    json_decref(want);
    json_decref(shown);
}

/* the writer resubmits; reviewer 1 accepts into the second level; reviewer 2 returns it one level
 * down */
static void review_second_level(review_run *x)
{
    orc_harness *h = &x->f->h;
    /* The writer resubmits: back to reviewer 1, who accepts into the second review level. */
    orc_flow_task_cmd(h, &x->w, "submit", x->t, "{\"text\":\"second draft\"}");
    orc_flow_expect_task(h, x->p, "draft", "Reviewing", "Submitted,Processing");
    orc_flow_expect_dashboard(h, &x->w, x->t, "pending_review", 0);
    orc_flow_expect_dashboard(h, &x->r1, x->t, "in_progress", 0);
    orc_flow_task_cmd(h, &x->r1, "accept", x->t, "{\"text\":\"second draft\",\"ok\":1}");
    orc_flow_expect_task(h, x->p, "draft", "Pending Review", "Submitted,Submitted");
    orc_flow_task_cmd_refused(h, &x->r1, "submit", x->t, "{\"again\":true}",
                              "Worker is not allowed to submit");
    /* Tasks a worker already holds a seat on are no candidates for that worker. */
    orc_flow_task_new_refused(h, &x->w, "reviewer", "No task");
    orc_flow_task_new_refused(h, &x->r1, "reviewer", "No task");
    orc_flow_expect_dashboard(h, &x->r1, x->t, "pending_review", 0);

    /* Reviewer 2 takes the second level and returns it to reviewer 1 (one level down). */
    assert_int_equal(orc_flow_task_new(h, &x->r2, "reviewer", NULL), x->t);
    orc_flow_expect_task(h, x->p, "draft", "Reviewing", "Submitted,Submitted,Processing");
    orc_flow_task_cmd(h, &x->r2, "return", x->t,
                      "{\"text\":\"second draft\",\"note\":\"cite it\"}");
    orc_flow_expect_task(h, x->p, "draft", "Post-review Processing",
                         "Submitted,Processing,Submitted");
    /* Spec 5: reviewer 1 is Processing on a Post-review task (returned); the writer is
     * Submitted with no lower level Processing (pending_review); reviewer 2 is Submitted
     * with a lower level Processing (pending_processing). */
    orc_flow_expect_dashboard(h, &x->r1, x->t, "returned", 1);
    orc_flow_expect_dashboard(h, &x->w, x->t, "pending_review", 0);
    orc_flow_expect_dashboard(h, &x->r2, x->t, "pending_processing", 0);
    orc_flow_task_cmd_refused(h, &x->w, "submit", x->t, "{}", "Worker is not allowed to submit");
    orc_flow_task_new_refused(h, &x->r1, "entry_level",
                              "Worker has pending reviewer feedback that must be addressed.");
}

/* reviewer 1 fixes; reviewer 2 accepts: Complete, with every iteration counted */
static void review_complete(review_run *x)
{
    orc_harness *h = &x->f->h;
    json_t *want = NULL;
    /* Reviewer 1 fixes and resubmits: reviewer 2 again, who accepts: Complete. */
    orc_flow_task_cmd(h, &x->r1, "submit", x->t, "{\"text\":\"third draft\"}");
    orc_flow_expect_task(h, x->p, "draft", "Reviewing", "Submitted,Submitted,Processing");
    orc_flow_expect_dashboard(h, &x->r1, x->t, "pending_review", 0);
    orc_flow_expect_dashboard(h, &x->r2, x->t, "in_progress", 0);
    orc_flow_task_cmd(h, &x->r2, "accept", x->t, "{\"text\":\"third draft\",\"final\":true}");
    orc_flow_expect_task(h, x->p, "draft", "Complete", "Submitted,Submitted,Submitted");
    orc_flow_expect_project_status(h, x->p, "Completed");
    orc_flow_task_cmd_refused(h, &x->r2, "accept", x->t, "{}", "Task already completed");
    orc_flow_task_cmd_refused(h, &x->w, "submit", x->t, "{}", "Task already completed");
    orc_flow_expect_dashboard(h, &x->w, x->t, "complete", 0);
    orc_flow_expect_dashboard(h, &x->r1, x->t, "complete", 0);
    orc_flow_expect_dashboard(h, &x->r2, x->t, "complete", 0);

    /* Writer: submit, resubmit. Reviewer 1: review, review after the fix, fix after
     * reviewer 2's return. Reviewer 2: review, review again. */
    const size_t counts[] = {2, 3, 2};
    expect_iterations(x->f, x->p, "draft", counts, 3);
    json_t *info = orc_flow_project_info(h, x->p);
    want = parse("{\"text\":\"third draft\",\"final\":true}");
    if (!json_equal(json_object_get(orc_flow_task(info, "draft"), "latest_data"), want))
        orc_flow_fail_json(h, "latest_data should be reviewer 2's accepted data", info);
    json_decref(want);
    json_decref(info);
    orc_flow_expect_consistent(h);
}

static void test_lifecycle_two_review_levels_follow_the_upstream_dashboard_scenario(void **state)
{
    review_run x = {.f = *state};
    orc_harness *h = &x.f->h;
    load_review_workflow(x.f);
    new_worker(x.f, &x.w, "writer", "review_chain/writer", "entry_level");
    new_worker(x.f, &x.r1, "reviewer-1", "review_chain/writer", "reviewer");
    new_worker(x.f, &x.r2, "reviewer-2", "review_chain/writer", "reviewer");
    x.p = orc_flow_create_project(h, "review_chain", "v1", "Two review levels", NULL);
    orc_flow_expect_task(h, x.p, "draft", "Awaiting Processing", "");
    review_start(&x);
    review_show_returned(&x);
    review_second_level(&x);
    review_complete(&x);
}

/* ---- b) certification ------------------------------------------------------------------ */

static void test_lifecycle_uncertified_worker_is_refused_directly_and_through_task_new(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_review_workflow(f);
    orc_flow_worker outsider, writer;
    new_worker(f, &outsider, "outsider", NULL, NULL);
    new_worker(f, &writer, "writer", "review_chain/writer", "entry_level");
    int64_t p = orc_flow_create_project(h, "review_chain", "v1", "Certification", NULL);
    int64_t t = orc_flow_task_id(h, p, "draft");
    char tid[32];
    id_text(t, tid, sizeof tid);

    admin_refused(f, "Worker not certified for this task.", "task", "assign", tid, "outsider");
    orc_flow_task_new_refused(h, &outsider, "entry_level", "No worker certificates");
    /* A training certificate grants nothing. */
    admin_ok(f, "worker", "certify", "outsider", "review_chain/writer", "--role", "entry_level",
             "--task-class", "training");
    admin_refused(f, "Worker not certified for this task.", "task", "assign", tid, "outsider");
    orc_flow_task_new_refused(h, &outsider, "entry_level", "No worker certificates");
    orc_flow_expect_task(h, p, "draft", "Awaiting Processing", "");

    /* The certified writer is assigned directly by an admin. */
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "task", "assign", tid, "writer", NULL);
    orc_flow_expect_ok(&r);
    json_t *v = orc_flow_json(&r);
    if (!json_is_integer(json_object_get(v, "assignment_id")))
        orc_flow_fail_json(h, "task assign: expected {\"assignment_id\":N}", v);
    json_decref(v);
    orc_flow_run_free(&r);
    orc_flow_expect_task(h, p, "draft", "Processing", "Processing");
    orc_flow_expect_dashboard(h, &writer, t, "in_progress", 0);
    orc_flow_task_cmd(h, &writer, "submit", t, "{\"text\":\"draft\"}");
    orc_flow_expect_task(h, p, "draft", "Pending Review", "Submitted");

    /* Reviewing needs the reviewer certificate, directly or through task new. */
    orc_flow_task_new_refused(h, &outsider, "reviewer", "No worker certificates");
    admin_refused(f, "Worker not certified for this task.", "task", "assign", tid, "outsider");
    admin_ok(f, "worker", "certify", "outsider", "review_chain/writer", "--role", "entry_level");
    orc_flow_task_new_refused(h, &outsider, "reviewer", "No worker certificates");
    admin_ok(f, "worker", "certify", "outsider", "review_chain/writer", "--role", "reviewer");
    assert_int_equal(orc_flow_task_new(h, &outsider, "reviewer", NULL), t);
    orc_flow_expect_task(h, p, "draft", "Reviewing", "Submitted,Processing");
    orc_flow_expect_consistent(h);
}

/* ---- c) ownership ---------------------------------------------------------------------- */

static void test_lifecycle_worker_cannot_read_or_change_another_workers_task(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_open_workflow(f);
    orc_flow_worker a, b;
    new_worker(f, &a, "alice", NULL, NULL);
    new_worker(f, &b, "bob", NULL, NULL);
    int64_t p = orc_flow_create_project(h, "open_wf", "v1", "Ownership", NULL);
    int64_t t = orc_flow_task_new(h, &a, "entry_level", NULL);
    orc_flow_task_cmd(h, &a, "save", t, "{\"mine\":\"alice\"}");

    char tid[32];
    id_text(t, tid, sizeof tid);
    orc_flow_run r;
    orc_flow_as(h, &b, &r, "task", "show", tid, NULL);
    orc_flow_expect_refused(&r, "Worker is not associated with task");
    orc_flow_run_free(&r);
    orc_flow_task_cmd_refused(h, &b, "save", t, "{\"mine\":\"bob\"}",
                              "Worker is not associated with task");
    orc_flow_task_cmd_refused(h, &b, "submit", t, "{\"mine\":\"bob\"}",
                              "Worker is not associated with task");
    orc_flow_task_cmd_refused(h, &b, "accept", t, "{\"mine\":\"bob\"}",
                              "Worker is not associated with task");
    orc_flow_task_cmd_refused(h, &b, "return", t, "{\"mine\":\"bob\"}",
                              "Worker is not associated with task");
    orc_flow_expect_dashboard(h, &b, t, NULL, 0);

    /* Alice's work is untouched. */
    orc_flow_expect_task(h, p, "first", "Processing", "Processing");
    json_t *info;
    json_t *list = assignments(f, p, "first", &info);
    json_t *want = parse("{\"mine\":\"alice\"}");
    if (!json_equal(json_object_get(json_array_get(list, 0), "in_progress_task_data"), want))
        orc_flow_fail_json(h, "alice's saved data changed", info);
    json_decref(want);
    json_decref(info);
    orc_flow_task_cmd(h, &a, "submit", t, "{\"mine\":\"alice\"}");
    orc_flow_expect_task(h, p, "first", "Complete", "Submitted");
}

/* ---- d) racing for the last task ------------------------------------------------------- */

static void test_lifecycle_two_workers_racing_for_the_last_task_one_wins(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_open_workflow(f);
    orc_flow_worker ws[2];
    new_worker(f, &ws[0], "racer-a", NULL, NULL);
    new_worker(f, &ws[1], "racer-b", NULL, NULL);
    const char *const args[] = {"--json", "task", "new", "entry_level", NULL};
    int wins[2] = {0, 0};
    for (int round = 0; round < 5; round++) {
        int64_t p = orc_flow_create_project(h, "open_wf", "v1", "Race", NULL);
        int64_t t = orc_flow_task_id(h, p, "first");
        orc_harness_call calls[2];
        const char *envs[2][2];
        for (int i = 0; i < 2; i++) {
            envs[i][0] = ws[i].session_env;
            envs[i][1] = NULL;
            calls[i] = (orc_harness_call){.env = envs[i], .args = args};
        }
        orc_test_result res[2];
        assert_int_equal(orc_harness_cli_many(h, 2, calls, res), 0);
        int winner = -1;
        for (int i = 0; i < 2; i++) {
            bool won = res[i].exit_code == 0;
            bool lost = res[i].exit_code == 1 && strstr(res[i].err, "No task") != NULL;
            if (won) {
                json_t *v = json_loads(res[i].out, 0, NULL);
                won = v != NULL && json_integer_value(json_object_get(v, "id")) == t;
                json_decref(v);
            }
            if (won && winner < 0)
                winner = i;
            else if (!lost || won) {
                fprintf(stderr, "round %d, %s: exit %d\n-- stdout --\n%s\n-- stderr --\n%s\n",
                        round, ws[i].username, res[i].exit_code, res[i].out, res[i].err);
                orc_harness_print_log(h);
                fail_msg("each round exactly one worker gets task %" PRId64
                         " and the other \"No task\"",
                         t);
            }
        }
        for (int i = 0; i < 2; i++)
            orc_test_result_free(&res[i]);
        assert_true(winner >= 0);
        wins[winner]++;
        orc_flow_expect_task(h, p, "first", "Processing", "Processing");
        assert_string_equal(assignment_worker(f, p, "first", 0), ws[winner].username);
        orc_flow_expect_dashboard(h, &ws[winner], t, "in_progress", 0);
        orc_flow_expect_dashboard(h, &ws[1 - winner], t, NULL, 0);
    }
    assert_int_equal(wins[0] + wins[1], 5);
    orc_flow_expect_consistent(h);
}

/* ---- e) management --------------------------------------------------------------------- */

static void test_lifecycle_paused_project_hands_out_nothing_until_resumed(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_open_workflow(f);
    orc_flow_worker a;
    new_worker(f, &a, "alice", NULL, NULL);
    int64_t p = orc_flow_create_project(h, "open_wf", "v1", "Pause", NULL);
    char pid[32];
    id_text(p, pid, sizeof pid);

    admin_ok(f, "project", "pause", pid);
    orc_flow_expect_project_status(h, p, "Paused");
    orc_flow_task_new_refused(h, &a, "entry_level", "No task");
    orc_flow_expect_task(h, p, "first", "Awaiting Processing", "");
    admin_ok(f, "project", "resume", pid);
    orc_flow_expect_project_status(h, p, "Active");
    int64_t t = orc_flow_task_new(h, &a, "entry_level", NULL);
    assert_int_equal(t, orc_flow_task_id(h, p, "first"));
    orc_flow_expect_task(h, p, "first", "Processing", "Processing");

    /* Work held on a paused project cannot move either. */
    admin_ok(f, "project", "pause", pid);
    orc_flow_task_cmd_refused(h, &a, "submit", t, "{\"done\":true}", "Project is paused.");
    orc_flow_expect_task(h, p, "first", "Processing", "Processing");
    admin_ok(f, "project", "resume", pid);
    orc_flow_task_cmd(h, &a, "submit", t, "{\"done\":true}");
    orc_flow_expect_task(h, p, "first", "Complete", "Submitted");
    orc_flow_expect_task(h, p, "second", "Awaiting Processing", "");
    orc_flow_expect_consistent(h);
}

static void test_lifecycle_end_project_aborts_every_task(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_open_workflow(f);
    orc_flow_worker a;
    new_worker(f, &a, "alice", NULL, NULL);
    int64_t p = orc_flow_create_project(h, "open_wf", "v1", "End", NULL);
    int64_t first = orc_flow_task_new(h, &a, "entry_level", NULL);
    orc_flow_task_cmd(h, &a, "submit", first, "{\"step\":1}");
    int64_t second = orc_flow_task_new(h, &a, "entry_level", NULL);
    orc_flow_expect_task(h, p, "first", "Complete", "Submitted");
    orc_flow_expect_task(h, p, "second", "Processing", "Processing");

    char pid[32];
    id_text(p, pid, sizeof pid);
    admin_ok(f, "project", "end", pid);
    orc_flow_expect_project_status(h, p, "Aborted");
    /* Complete tasks are aborted too; assignments are left as they were. */
    orc_flow_expect_task(h, p, "first", "Aborted", "Submitted");
    orc_flow_expect_task(h, p, "second", "Aborted", "Processing");
    orc_flow_expect_dashboard(h, &a, first, NULL, 0);
    orc_flow_expect_dashboard(h, &a, second, NULL, 0);
    orc_flow_task_new_refused(h, &a, "entry_level", "No task");
    orc_flow_task_cmd_refused(h, &a, "submit", second, "{\"step\":2}",
                              "Task not in submittable state.");

    /* An aborted task cannot be reverted. */
    json_t *info;
    json_t *list = assignments(f, p, "second", &info);
    json_t *it = json_object_get(
        json_array_get(json_object_get(json_array_get(list, 0), "iterations"), 0), "id");
    if (!json_is_integer(it))
        orc_flow_fail_json(h, "no iteration on the second task", info);
    char tid[32], iid[32];
    id_text(second, tid, sizeof tid);
    id_text(json_integer_value(it), iid, sizeof iid);
    json_decref(info);
    admin_refused(f, "Cannot revert aborted task.", "task", "revert", tid, iid, "--commit");
    orc_flow_expect_consistent(h);
}

static void test_lifecycle_reassign_hands_the_assignment_to_another_worker(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_review_workflow(f);
    orc_flow_worker a, b, outsider;
    new_worker(f, &a, "alice", "review_chain/writer", "entry_level");
    new_worker(f, &b, "bob", "review_chain/writer", "entry_level");
    new_worker(f, &outsider, "outsider", NULL, NULL);
    int64_t p = orc_flow_create_project(h, "review_chain", "v1", "Reassign", NULL);
    int64_t assignment = 0;
    int64_t t = orc_flow_task_new(h, &a, "entry_level", &assignment);
    orc_flow_task_cmd(h, &a, "save", t, "{\"half\":\"done\"}");
    char aid[32], tid[32];
    id_text(assignment, aid, sizeof aid);
    id_text(t, tid, sizeof tid);

    admin_refused(f, "Worker not certified for this assignment.", "task", "reassign", aid,
                  "outsider");
    admin_refused(f, "Worker already assigned to this task.", "task", "reassign", aid, "alice");
    admin_ok(f, "task", "reassign", aid, "bob");
    orc_flow_expect_task(h, p, "draft", "Processing", "Processing");
    assert_string_equal(assignment_worker(f, p, "draft", 0), "bob");
    orc_flow_expect_dashboard(h, &b, t, "in_progress", 0);
    orc_flow_expect_dashboard(h, &a, t, NULL, 0);

    /* Bob continues from Alice's saved data; Alice has no say any more. */
    orc_flow_run r;
    orc_flow_as(h, &b, &r, "task", "show", tid, NULL);
    orc_flow_expect_ok(&r);
    json_t *shown = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *want = parse("{\"half\":\"done\"}");
    if (!json_equal(json_object_get(json_object_get(shown, "task"), "data"), want))
        orc_flow_fail_json(h, "bob should see alice's saved data", shown);
    json_decref(want);
    json_decref(shown);
    orc_flow_task_cmd_refused(h, &a, "submit", t, "{}", "Worker is not associated with task");
    orc_flow_task_cmd(h, &b, "submit", t, "{\"all\":\"done\"}");
    orc_flow_expect_task(h, p, "draft", "Pending Review", "Submitted");
    orc_flow_expect_dashboard(h, &b, t, "pending_review", 0);
    orc_flow_expect_consistent(h);
}

static void test_lifecycle_revert_dry_run_changes_nothing_and_commit_reopens(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    load_review_workflow(f);
    orc_flow_worker w, r1;
    new_worker(f, &w, "writer", "review_chain/writer", "entry_level");
    new_worker(f, &r1, "reviewer-1", "review_chain/writer", "reviewer");
    int64_t p = orc_flow_create_project(h, "review_chain", "v1", "Revert", NULL);
    int64_t t = orc_flow_task_new(h, &w, "entry_level", NULL);
    orc_flow_task_cmd(h, &w, "submit", t, "{\"text\":\"v1\"}");
    orc_flow_task_new(h, &r1, "reviewer", NULL);
    orc_flow_task_cmd(h, &r1, "return", t, "{\"text\":\"v1\",\"note\":\"redo\"}");
    orc_flow_expect_task(h, p, "draft", "Post-review Processing", "Processing,Submitted");
    const size_t before_counts[] = {2, 1};
    expect_iterations(f, p, "draft", before_counts, 2);

    /* Revert to the writer's first iteration. */
    json_t *before;
    json_t *list = assignments(f, p, "draft", &before);
    json_t *it = json_object_get(
        json_array_get(json_object_get(json_array_get(list, 0), "iterations"), 0), "id");
    if (!json_is_integer(it))
        orc_flow_fail_json(h, "no first iteration", before);
    char tid[32], iid[32];
    id_text(t, tid, sizeof tid);
    id_text(json_integer_value(it), iid, sizeof iid);

    /* Dry run: the audit says what would happen; nothing changes. */
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "task", "revert", tid, iid, NULL);
    orc_flow_expect_ok(&r);
    json_t *audit = orc_flow_json(&r);
    orc_flow_run_free(&r);
    json_t *changes = json_object_get(audit, "assignments");
    if (json_integer_value(json_object_get(audit, "reverted_status")) != 1 ||
        !json_is_object(json_object_get(audit, "task")) || json_array_size(changes) != 2)
        orc_flow_fail_json(h,
                           "dry-run audit: expected reverted_status 1 (Processing) and two "
                           "assignments",
                           audit);
    /* The writer's assignment changes (its iteration is reverted), the reviewer's goes. */
    bool reverted = false, deleted = false;
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        json_int_t change = json_integer_value(json_object_get(c, "change"));
        reverted |= change == 1;
        deleted |= change == 2;
    }
    if (!reverted || !deleted)
        orc_flow_fail_json(h, "dry-run audit: expected one changed and one deleted assignment",
                           audit);
    json_decref(audit);
    json_t *after = orc_flow_project_info(h, p);
    if (!json_equal(before, after)) {
        orc_flow_fail_json(h, "before the dry run", before);
    }
    json_decref(after);
    json_decref(before);

    /* Commit: one iteration left, reopened: the task is Processing again. */
    orc_flow_admin(h, &r, NULL, "task", "revert", tid, iid, "--commit", NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    orc_flow_expect_task(h, p, "draft", "Processing", "Processing");
    json_t *info;
    list = assignments(f, p, "draft", &info);
    json_t *iters = json_object_get(json_array_get(list, 0), "iterations");
    json_t *only = json_array_get(iters, 0);
    const char *st = json_string_value(json_object_get(only, "status"));
    json_t *empty = json_object();
    if (json_array_size(iters) != 1 || st == NULL || strcmp(st, "Processing") != 0 ||
        !json_is_null(json_object_get(only, "end_datetime")) ||
        !json_equal(json_object_get(only, "submitted_data"), empty))
        orc_flow_fail_json(h, "after the commit: one open Processing iteration", info);
    json_decref(empty);
    json_decref(info);
    orc_flow_expect_dashboard(h, &w, t, "in_progress", 0);
    orc_flow_expect_dashboard(h, &r1, t, NULL, 0);
    orc_flow_expect_consistent(h);

    /* The work goes on: the writer submits and reviewer 1 can review again. */
    orc_flow_task_cmd(h, &w, "submit", t, "{\"text\":\"v2\"}");
    orc_flow_expect_task(h, p, "draft", "Pending Review", "Submitted");
    assert_int_equal(orc_flow_task_new(h, &r1, "reviewer", NULL), t);
    orc_flow_expect_task(h, p, "draft", "Reviewing", "Submitted,Processing");
    orc_flow_expect_consistent(h);
}

static void test_lifecycle_login_with_wrong_password_creates_no_session(void **state)
{
    fixture *f = *state;
    orc_harness *h = &f->h;
    orc_flow_worker a, wrong, ghost;
    orc_flow_worker_init(&a, h, "alice", "right-password");
    orc_flow_add_worker(h, &a);
    orc_flow_worker_init(&wrong, h, "alice", "wrong-password");
    orc_flow_worker_init(&ghost, h, "nobody", "whatever");

    const char *env[] = {wrong.session_env, NULL};
    const char *args[] = {"--json", "login", "alice", "--password-stdin", NULL};
    orc_flow_run r = {.h = h};
    snprintf(r.what, sizeof r.what, "login alice --password-stdin (wrong password)");
    assert_int_equal(
        orc_harness_cli_env(h, NULL, NULL, env, "wrong-password\n", &r.code, &r.out, &r.err, args),
        0);
    assert_int_equal(r.code, 1);
    assert_true(strlen(r.err) > 0);
    orc_flow_run_free(&r);
    assert_false(file_exists(wrong.session_path));
    orc_flow_as(h, &wrong, &r, "dashboard", NULL);
    assert_int_equal(r.code, 1);
    orc_flow_run_free(&r);

    /* An unknown user is refused the same way. */
    const char *genv[] = {ghost.session_env, NULL};
    const char *gargs[] = {"--json", "login", "nobody", "--password-stdin", NULL};
    assert_int_equal(
        orc_harness_cli_env(h, NULL, NULL, genv, "whatever\n", &r.code, &r.out, &r.err, gargs), 0);
    assert_int_equal(r.code, 1);
    orc_flow_run_free(&r);
    assert_false(file_exists(ghost.session_path));

    /* The right password saves a private session that holds no password. */
    orc_flow_login(h, &a);
    struct stat sb;
    assert_int_equal(stat(a.session_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *saved = orc_test_read_file(a.session_path, NULL);
    assert_non_null(saved);
    assert_null(strstr(saved, "right-password"));
    json_t *d = orc_flow_dashboard(h, &a);
    json_decref(d);

    /* A wrong password later leaves the existing session alone. */
    const char *aenv[] = {a.session_env, NULL};
    assert_int_equal(
        orc_harness_cli_env(h, NULL, NULL, aenv, "wrong-password\n", &r.code, &r.out, &r.err, args),
        0);
    assert_int_equal(r.code, 1);
    orc_flow_run_free(&r);
    char *still = orc_test_read_file(a.session_path, NULL);
    assert_non_null(still);
    assert_string_equal(still, saved);
    free(still);

    /* Logout removes the file and ends the session on the server: the old token is dead. */
    orc_flow_as(h, &a, &r, "logout", NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    assert_false(file_exists(a.session_path));
    orc_flow_as(h, &a, &r, "dashboard", NULL);
    assert_int_equal(r.code, 1);
    orc_flow_run_free(&r);
    assert_int_equal(orc_test_write_file(a.session_path, saved), 0);
    orc_flow_as(h, &a, &r, "dashboard", NULL);
    if (r.code != 1) {
        fprintf(stderr, "a token used after logout must be refused\n");
        orc_flow_expect_refused(&r, "");
    }
    orc_flow_run_free(&r);
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_lifecycle_two_review_levels_follow_the_upstream_dashboard_scenario, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_lifecycle_uncertified_worker_is_refused_directly_and_through_task_new, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_lifecycle_worker_cannot_read_or_change_another_workers_task, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_lifecycle_two_workers_racing_for_the_last_task_one_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_lifecycle_paused_project_hands_out_nothing_until_resumed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_end_project_aborts_every_task, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_lifecycle_reassign_hands_the_assignment_to_another_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_lifecycle_revert_dry_run_changes_nothing_and_commit_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_login_with_wrong_password_creates_no_session,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("lifecycle_cli", tests, NULL, NULL);
}
