/*
 * test_notify_mail.c: the notifier's e-mails (server/notify/mail.c): upstream's six subjects
 * and first paragraphs by event type, upstream's task information with the task's link, the
 * headers, the quoted-printable body (long lines cut, non-ASCII escaped, CRLF line ends),
 * "assigned" only for a task entering Processing, and addresses that could inject a header or
 * a recipient refused.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"

/* event builds a notification event (strings point at literals; never freed). */
static orc_event event(const char *type, const char *payload)
{
    orc_event ev = {.seq = 42,
                    .type = (char *)type,
                    .time_us = 0,
                    .topic = "worker.alice.",
                    .project_id = 7,
                    .task_id = 19,
                    .step = "write",
                    .workflow = "notes",
                    .worker = "alice",
                    .old_status = "",
                    .new_status = "Processing",
                    .payload = (char *)payload};
    return ev;
}

#define PAYLOAD(status)                                                                            \
    "{\"message\":\"x\",\"project_description\":\"First notes\",\"version\":\"v1\","               \
    "\"task_status\":\"" status "\"}"

static const orci_mail_recipient ALICE = {.username = "alice", .email = "alice@example.com"};

static void test_each_kind_has_upstreams_subject_and_paragraph(void **state)
{
    (void)state;
    static const struct {
        const char *type, *subject, *first;
    } cases[] = {
        {"notification.assigned", "You've been assigned to a new task!",
         "You've been assigned to a new task. We can't wait to see the great things you'll do!"},
        {"notification.under_review", "Your task is under review!",
         "Thanks for all your hard work, alice! The following task was randomly selected for "
         "review by another expert; you should hear back soon!"},
        {"notification.returned", "Your task has been returned",
         "Your reviewer sent back your task for a bit more polish. Check out the feedback as "
         "soon as you can!"},
        {"notification.ready_for_rereview", "A task is ready for re-review!",
         "A task has been updated and is ready for re-review!"},
        {"notification.complete", "Task complete!",
         "Congratulations! The task you worked on is complete."},
        {"notification.ended", "A task you were working on has been ended",
         "Unfortunately, the task you were working on has been ended. Please reach out to us if "
         "you think this has been done in error."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        orc_event ev = event(cases[i].type, PAYLOAD("Processing"));
        int kind = orci_mail_kind(ev.type);
        assert_true(kind >= 0);
        assert_string_equal(orci_mail_subject(kind), cases[i].subject);
        char *body = orci_mail_body(&ev, &ALICE, "https://app.example.com/");
        assert_non_null(body);
        char want[1024];
        snprintf(want, sizeof want,
                 "%s\n\nProject: v1 | First notes\nTask: write\n\n"
                 "View task: https://app.example.com/orchestra/app/task/19\n",
                 cases[i].first);
        assert_string_equal(body, want);
        free(body);
    }
    assert_int_equal(orci_mail_kind("notification.slack"), -1);
    assert_int_equal(orci_mail_kind("task.status_changed"), -1);
    assert_null(orci_mail_subject(6));
}

static void test_assigned_is_mailed_only_when_the_task_entered_processing(void **state)
{
    (void)state;
    orc_event ev = event("notification.assigned", PAYLOAD("Processing"));
    assert_true(orci_mail_wanted(&ev));
    ev = event("notification.assigned", PAYLOAD("Reviewing"));
    assert_false(orci_mail_wanted(&ev));
    ev = event("notification.ready_for_rereview", PAYLOAD("Reviewing"));
    assert_true(orci_mail_wanted(&ev));
    ev = event("task.status_changed", PAYLOAD("Processing"));
    assert_false(orci_mail_wanted(&ev));
}

static void test_the_message_has_headers_and_a_quoted_printable_body(void **state)
{
    (void)state;
    /* A long description with non-ASCII text and '=' signs. */
    char payload[2048], desc[600];
    memset(desc, 'a', 300);
    strcpy(desc + 300, " caf\xc3\xa9 = 2 ");
    snprintf(payload, sizeof payload,
             "{\"project_description\":\"%s\",\"version\":\"v1\",\"task_status\":\"Complete\"}",
             desc);
    orc_event ev = event("notification.complete", payload);
    char *msg = NULL;
    size_t len = 0;
    orc_error err = {0};
    assert_int_equal(orci_mail_render(&ev, &ALICE, "noreply@orchestra.example",
                                      "http://127.0.0.1:8000", 1700000000000000LL, &msg, &len,
                                      &err),
                     ORC_OK);
    assert_int_equal(strlen(msg), len);
    assert_non_null(strstr(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
    assert_non_null(strstr(msg, "From: noreply@orchestra.example\r\n"));
    assert_non_null(strstr(msg, "To: alice@example.com\r\n"));
    assert_non_null(strstr(msg, "Subject: Task complete!\r\n"));
    assert_non_null(strstr(msg, "Message-ID: <orchestra-notify.42@orchestra.example>\r\n"));
    assert_non_null(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n"));
    assert_non_null(strstr(msg, "X-Orchestra-Event-Seq: 42\r\n\r\n"));
    assert_non_null(strstr(msg, "caf=C3=A9 =3D 2"));
    /* every line fits SMTP's limit, every line ends with CRLF, no bare LF */
    const char *body = strstr(msg, "\r\n\r\n") + 4;
    size_t col = 0;
    for (const char *p = body; *p; p++) {
        if (*p == '\n') {
            assert_true(p > body && p[-1] == '\r');
            col = 0;
            continue;
        }
        assert_true(++col <= 77);
        assert_true((unsigned char)*p < 0x80);
    }
    free(msg);
}

static void test_addresses_that_could_inject_are_refused(void **state)
{
    (void)state;
    assert_true(orci_mail_address_ok("alice@example.com"));
    assert_true(orci_mail_address_ok("a.b+tag@sub.example.org"));
    assert_false(orci_mail_address_ok(""));
    assert_false(orci_mail_address_ok("alice"));
    assert_false(orci_mail_address_ok("@example.com"));
    assert_false(orci_mail_address_ok("alice@"));
    assert_false(orci_mail_address_ok("alice@example.com\r\nBcc: all@example.com"));
    assert_false(orci_mail_address_ok("alice@example.com>,<bob@example.com"));
    assert_false(orci_mail_address_ok("a b@example.com"));
    assert_false(orci_mail_address_ok("a@b@example.com"));
    orc_event ev = event("notification.ended", PAYLOAD("Aborted"));
    orci_mail_recipient bad = {.username = "eve", .email = "eve@example.com\nBcc: x@y.z"};
    char *msg = NULL;
    size_t len = 0;
    orc_error err = {0};
    assert_int_equal(orci_mail_render(&ev, &bad, "noreply@x.example", "", 0, &msg, &len, &err),
                     ORC_INVALID_ARGUMENT);
    assert_null(msg);
    ev = event("task.created", "{}");
    assert_int_equal(orci_mail_render(&ev, &ALICE, "noreply@x.example", "", 0, &msg, &len, &err),
                     ORC_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_kind_has_upstreams_subject_and_paragraph),
        cmocka_unit_test(test_assigned_is_mailed_only_when_the_task_entered_processing),
        cmocka_unit_test(test_the_message_has_headers_and_a_quoted_printable_body),
        cmocka_unit_test(test_addresses_that_could_inject_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
