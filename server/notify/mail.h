/*
 * mail.h: upstream's six e-mails (spec 3.7) rendered from a notification event (smtp.h sends
 * them).
 *
 * Who gets which: the coordinator already names the worker on each notification event
 * (`notification.<kind>` on the worker's topic, one event per recipient); the notifier adds
 * the worker's address and preference (GetNotificationSettings) and this text:
 *
 *   kind                 subject                                        to
 *   assigned             You've been assigned to a new task!            the worker who took it
 *   under_review         Your task is under review!                     the submitter
 *   returned             Your task has been returned                    the worker it went back to
 *   ready_for_rereview   A task is ready for re-review!                 the reviewer
 *   complete             Task complete!                                 every worker on the task
 *   ended                A task you were working on has been ended      every worker on the task
 *
 * The body is upstream's message, then upstream's task information: "Project: <version slug>
 * | <description>", "Task: <step slug>" and the task's link in the web app (<app-url>
 * /orchestra/app/task/<id>). As upstream, "assigned" goes out only when the task entered
 * Processing (a reviewer taking a task gets no e-mail; the event is still on the feed).
 *
 * Pure functions, any thread.
 */
#ifndef ORCI_NOTIFY_MAIL_H
#define ORCI_NOTIFY_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/client.h"

/* orci_mail_kind is the kind (0..ORC_NOTIFY_KINDS-1) of a "notification.<kind>" type, or -1. */
int orci_mail_kind(const char *event_type);

/* orci_mail_subject is upstream's subject line of kind; NULL when out of range. */
const char *orci_mail_subject(int kind);

/*
 * orci_mail_wanted tells whether ev is an e-mail upstream would send: a notification of a
 * known kind, and for "assigned" only when the task entered Processing (its task_status).
 */
bool orci_mail_wanted(const orc_event *ev);

/*
 * orci_mail_address_ok tells whether addr is safe as one SMTP recipient and header value:
 * local@domain in printable ASCII, no blanks, no <>,;"\ or control characters.
 */
bool orci_mail_address_ok(const char *addr);

/* orci_mail_recipient is who a message goes to (borrowed strings). */
typedef struct orci_mail_recipient {
    const char *username;
    const char *email;
} orci_mail_recipient;

/*
 * orci_mail_render writes the whole message for ev to `to` (headers and a quoted-printable
 * UTF-8 body, CRLF line ends) dated now_us, from `from`, linking to app_url, into *out
 * (malloc'd, *len bytes). ORC_INVALID_ARGUMENT when ev is not a known notification.
 */
int orci_mail_render(const orc_event *ev, const orci_mail_recipient *to, const char *from,
                     const char *app_url, int64_t now_us, char **out, size_t *len, orc_error *err);

/* orci_mail_body writes only the body's text (before encoding), malloc'd; NULL: see above. */
char *orci_mail_body(const orc_event *ev, const orci_mail_recipient *to, const char *app_url);

#endif
