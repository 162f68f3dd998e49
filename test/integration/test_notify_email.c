/*
 * test_notify_email.c: orchestra-notify's e-mail against a real orchestrad and an SMTP sink on
 * loopback. A review round trip sends upstream's six e-mails (spec 3.7) to the right workers
 * with upstream's subjects and bodies and the task's link; a worker who opted out (set with
 * their own session through the CLI) gets none; a refused recipient (550) is counted and does
 * not hold up the next message; a sink that is down (connection refused) and then answers 451
 * delays the first message, which arrives once.
 */
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
#include "harness.h"
#include "notify_harness.h"
#include "support.h"

#define APP_URL "http://app.example:8000/"
#define MAIL_WAIT_MS 60000

static const char WORKFLOW_JSON[] =
    "{\"slug\": \"notes\", \"name\": \"Notes\", \"description\": \"Notes to write.\",\n"
    " \"certifications\": [{\"slug\": \"writer\", \"name\": \"Writer\",\n"
    "                       \"description\": \"Writes notes.\"}]}\n";
static const char VERSION_JSON[] =
    "{\"slug\": \"v1\", \"name\": \"Notes v1\", \"description\": \"One reviewed step.\",\n"
    " \"steps\": [{\"slug\": \"write\", \"name\": \"Write\", \"description\": \"Write it.\",\n"
    "   \"required_certifications\": [\"writer\"],\n"
    "   \"review_policy\": {\"policy\": \"sampled_review\", \"rate\": 1, \"max_reviews\": 1}}]}\n";

/* add_worker adds w with an e-mail address and certifies it (as a reviewer too when asked). */
static void add_worker(const orc_harness *h, orc_flow_worker *w, const char *name, bool reviewer)
{
    char pw[64], email[96], line[80];
    snprintf(pw, sizeof pw, "pw-%s-123", name);
    snprintf(email, sizeof email, "%s@example.com", name);
    orc_flow_worker_init(w, h, name, pw);
    snprintf(line, sizeof line, "%s\n", pw);
    orc_flow_run r;
    orc_flow_admin(h, &r, line, "worker", "add", name, "--password-stdin", "--email", email, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    orc_flow_certify(h, name, "notes/writer", "entry_level");
    if (reviewer)
        orc_flow_certify(h, name, "notes/writer", "reviewer");
    orc_flow_login(h, w);
}

/* expected is one e-mail the sink must have got, in this order. */
typedef struct expected {
    const char *to;
    const char *subject;
    int64_t task_id;
} expected;

/* check_mail asserts that record m is e (recipient, subject, the task's link, the footer). */
static void check_mail(json_t *m, const expected *e, size_t i)
{
    const char *to = json_string_value(json_array_get(json_object_get(m, "to"), 0));
    const char *subject = json_string_value(json_object_get(m, "subject"));
    const char *body = json_string_value(json_object_get(m, "body"));
    char want_to[96], link[160];
    snprintf(want_to, sizeof want_to, "%s@example.com", e->to);
    snprintf(link, sizeof link, "View task: http://app.example:8000/orchestra/app/task/%" PRId64,
             e->task_id);
    if (!to || !subject || !body || strcmp(to, want_to) != 0 || strcmp(subject, e->subject) != 0 ||
        !strstr(body, link) || !strstr(body, "Project: v1 | ") || !strstr(body, "Task: write") ||
        strcmp(json_string_value(json_object_get(m, "from")), "orchestra@notes.example") != 0) {
        char *dump = json_dumps(m, 0);
        fail_msg("e-mail %zu: want \"%s\" to %s linking %s; got %s", i, e->subject, want_to, link,
                 dump);
    }
}

/* the review round trip of project 1 (spec 3.7's first five e-mails and its silent pick-up) */
static int64_t review_round(const orc_harness *h, orc_flow_worker *alice, orc_flow_worker *bob)
{
    orc_flow_create_project(h, "notes", "v1", "First notes", NULL);
    int64_t t1 = orc_flow_task_new(h, alice, "entry_level", NULL);     /* assigned: alice */
    orc_flow_task_cmd(h, alice, "submit", t1, "{\"text\":\"draft\"}"); /* under review */
    orc_flow_task_new(h, bob, "reviewer", NULL); /* Reviewing: no e-mail (upstream) */
    orc_flow_task_cmd(h, bob, "return", t1, "{\"text\":\"more\"}");     /* returned: alice */
    orc_flow_task_cmd(h, alice, "submit", t1, "{\"text\":\"better\"}"); /* re-review: bob */
    orc_flow_task_cmd(h, bob, "accept", t1, NULL);                      /* complete: both */
    return t1;
}

/* end_project ends project id through the CLI. */
static void end_project(const orc_harness *h, int64_t id)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, id);
    orc_flow_run r;
    orc_flow_admin(h, &r, NULL, "project", "end", text, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
}

static void test_the_six_emails_go_to_the_right_workers(void **state)
{
    (void)state;
    orc_harness h = {0};
    assert_int_equal(orc_harness_start(&h, NULL), 0);
    char dir[600];
    orc_flow_write_workflow(h.dir, "notes", WORKFLOW_JSON, VERSION_JSON, dir, sizeof dir);
    orc_flow_load_workflow(&h, dir, "v1");
    orc_flow_worker alice, bob, carol, erin;
    add_worker(&h, &alice, "alice", false);
    add_worker(&h, &bob, "bob", true);
    add_worker(&h, &carol, "carol", false);
    add_worker(&h, &erin, "erin", false);
    /* carol opts out of every e-mail with her own session */
    orc_flow_run r;
    orc_flow_as(&h, &carol, &r, "worker", "notifications", "--off", "all", NULL);
    orc_flow_expect_ok(&r);
    json_t *prefs = orc_flow_json(&r);
    assert_true(json_is_false(json_object_get(json_object_get(prefs, "notifications"), "ended")));
    json_decref(prefs);
    orc_flow_run_free(&r);

    /* The sink is not up yet: the first message meets a refused connection, then a 451. */
    int port = orc_test_free_port();
    char smtp[64], port_text[16];
    snprintf(smtp, sizeof smtp, "smtp://127.0.0.1:%d", port);
    snprintf(port_text, sizeof port_text, "%d", port);
    orc_notify_proc n = {0}, sink = {0};
    const char *args[] = {"--smtp",
                          smtp,
                          "--smtp-from",
                          "orchestra@notes.example",
                          "--app-url",
                          APP_URL,
                          "--email-start",
                          "0",
                          "--retry-min",
                          "200",
                          NULL};
    assert_int_equal(
        orc_notify_start(&h, "notify", ORC_TEST_DEV_KEY, ORC_TEST_DEV_SECRET, "state", args, &n),
        0);
    int64_t t1 = review_round(&h, &alice, &bob);
    assert_int_equal(orc_notify_wait_log(&n, "attempt 1 failed", MAIL_WAIT_MS), 0);
    const char *fail_once[] = {"--fail-first", "1", "--reject", "erin@example.com", NULL};
    assert_int_equal(orc_notify_sink_start(&h, "sink", port, fail_once, &sink), 0);

    int64_t p2 = orc_flow_create_project(&h, "notes", "v1", "Carol's notes", NULL);
    orc_flow_task_new(&h, &carol, "entry_level", NULL); /* opted out: nothing */
    end_project(&h, p2);                                /* ended: carol opted out */
    orc_flow_create_project(&h, "notes", "v1", "Erin's notes", NULL);
    orc_flow_task_new(&h, &erin, "entry_level", NULL); /* refused by the server: 550 */
    int64_t p4 = orc_flow_create_project(&h, "notes", "v1", "Last notes", NULL);
    int64_t t4 = orc_flow_task_new(&h, &alice, "entry_level", NULL);
    end_project(&h, p4);

    const expected want[] = {
        {"alice", "You've been assigned to a new task!", t1},
        {"alice", "Your task is under review!", t1},
        {"alice", "Your task has been returned", t1},
        {"bob", "A task is ready for re-review!", t1},
        {"alice", "Task complete!", t1},
        {"bob", "Task complete!", t1},
        {"alice", "You've been assigned to a new task!", t4},
        {"alice", "A task you were working on has been ended", t4},
    };
    size_t n_want = sizeof want / sizeof want[0];
    json_t *mails = orc_notify_wait_records(&sink, n_want, MAIL_WAIT_MS, &n);
    assert_non_null(mails);
    /* The last one is the newest event: everything before it was handled, in order. */
    assert_int_equal(json_array_size(mails), n_want);
    int64_t last_seq = 0;
    for (size_t i = 0; i < n_want; i++) {
        json_t *m = json_array_get(mails, i);
        check_mail(m, &want[i], i);
        int64_t seq = json_integer_value(json_object_get(m, "seq"));
        assert_true(seq > last_seq);
        last_seq = seq;
    }
    const char *under_review = json_string_value(json_object_get(json_array_get(mails, 1), "body"));
    assert_non_null(strstr(under_review, "Thanks for all your hard work, alice! The following "
                                         "task was randomly selected for review"));
    assert_non_null(strstr(under_review, "Project: v1 | First notes\nTask: write\n"));
    json_decref(mails);
    assert_true(orc_notify_log_has(&n, "refused for good: SMTP 550"));
    assert_true(orc_notify_log_has(&n, "SMTP 451"));
    assert_int_equal(orc_notify_stop(&n), 0);
    orc_notify_kill(&sink);
    orc_harness_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_six_emails_go_to_the_right_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
