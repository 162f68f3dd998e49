/*
 * mail.c: the e-mails of mail.h.
 */
#include "mail.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"

/* Upstream's subjects and first paragraphs (orchestra/utils/notifications.py), by kind; the
 * worker's username goes between under_review's two parts. */
static const struct {
    const char *subject;
    const char *message;
} MAILS[ORC_NOTIFY_KINDS] = {
    {"You've been assigned to a new task!",
     "You've been assigned to a new task. We can't wait to see the great things you'll do!"},
    {"Your task is under review!", "Thanks for all your hard work, "},
    {"Your task has been returned",
     "Your reviewer sent back your task for a bit more polish. Check out the feedback as soon as "
     "you can!"},
    {"A task is ready for re-review!", "A task has been updated and is ready for re-review!"},
    {"Task complete!", "Congratulations! The task you worked on is complete."},
    {"A task you were working on has been ended",
     "Unfortunately, the task you were working on has been ended. Please reach out to us if you "
     "think this has been done in error."},
};

static const char UNDER_REVIEW_END[] = "! The following task was randomly selected for review by "
                                       "another expert; you should hear back soon!";

#define MAIL_MAX (1024 * 1024)

int orci_mail_kind(const char *event_type)
{
    static const char prefix[] = "notification.";
    if (!event_type || strncmp(event_type, prefix, sizeof prefix - 1) != 0)
        return -1;
    return orc_notify_kind_parse(event_type + sizeof prefix - 1);
}

const char *orci_mail_subject(int kind)
{
    return kind >= 0 && kind < ORC_NOTIFY_KINDS ? MAILS[kind].subject : NULL;
}

/* payload_str copies the payload's string field key into out ("" when missing). */
static void payload_str(const orc_event *ev, const char *key, char *out, size_t size)
{
    out[0] = '\0';
    json_t *p = json_loads(ev->payload ? ev->payload : "{}", 0, NULL);
    const char *v = json_string_value(json_object_get(p, key));
    if (v)
        snprintf(out, size, "%s", v);
    json_decref(p);
}

bool orci_mail_wanted(const orc_event *ev)
{
    int kind = orci_mail_kind(ev->type);
    if (kind < 0)
        return false;
    if (strcmp(orc_notify_kind_name(kind), "assigned") != 0)
        return true;
    /* Upstream mails "assigned" when the task enters Processing; a reviewer picking a task up
     * (Reviewing) gets nothing. */
    char status[64];
    payload_str(ev, "task_status", status, sizeof status);
    return strcmp(status, "Processing") == 0;
}

bool orci_mail_address_ok(const char *addr)
{
    if (!addr)
        return false;
    const char *at = strchr(addr, '@');
    size_t n = strlen(addr);
    if (!at || at == addr || !at[1] || strchr(at + 1, '@') || n > 254)
        return false;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("<>,;\"\\()[]", *p))
            return false;
    return true;
}

/* add_line appends a formatted line (a header) and CRLF; false when over the cap. */
static bool add_fmt(orci_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool add_fmt(orci_buf *b, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < sizeof line && orci_buf_add(b, line, (size_t)n);
}

char *orci_mail_body(const orc_event *ev, const orci_mail_recipient *to, const char *app_url)
{
    int kind = orci_mail_kind(ev->type);
    if (kind < 0)
        return NULL;
    char first[1024], version[256], description[4096], base[2048];
    bool named = strcmp(orc_notify_kind_name(kind), "under_review") == 0;
    snprintf(first, sizeof first, "%s%s%s", MAILS[kind].message,
             named ? (to->username ? to->username : "") : "", named ? UNDER_REVIEW_END : "");
    payload_str(ev, "version", version, sizeof version);
    payload_str(ev, "project_description", description, sizeof description);
    snprintf(base, sizeof base, "%s", app_url ? app_url : "");
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        base[--bl] = '\0';
    orci_buf b = {.max = MAIL_MAX};
    /* Upstream's task information: project, task, then the link (the task's page here). */
    if (!add_fmt(&b,
                 "%s\n\nProject: %s | %s\nTask: %s\n\nView task: %s/orchestra/app/task/%" PRId64
                 "\n",
                 first, version, description, ev->step, base, ev->task_id)) {
        orci_buf_fini(&b);
        return NULL;
    }
    return orci_buf_take(&b, NULL);
}

/*
 * qp_encode appends text as quoted-printable (RFC 2045): "\n" becomes a CRLF line end, lines
 * are cut at 76 characters with soft breaks, '=' and bytes outside printable ASCII are
 * escaped, and so are blanks before a line end. Any UTF-8 survives every mail relay.
 */
static bool qp_encode(orci_buf *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            if (!orci_buf_add(b, "\r\n", 2))
                return false;
            col = 0;
            continue;
        }
        char enc[3];
        size_t n = 1;
        bool blank_at_end = (*p == ' ' || *p == '\t') && (p[1] == '\n' || p[1] == '\0');
        if ((*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !blank_at_end)) {
            enc[0] = (char)*p;
        } else {
            enc[0] = '=';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            n = 3;
        }
        if (col + n > 75) {
            if (!orci_buf_add(b, "=\r\n", 3))
                return false;
            col = 0;
        }
        if (!orci_buf_add(b, enc, n))
            return false;
        col += n;
    }
    return true;
}

/* mail_headers appends the headers of the message to b. */
static bool mail_headers(orci_buf *b, const orc_event *ev, const char *to, const char *from,
                         int kind, int64_t now_us)
{
    time_t t = (time_t)(now_us / 1000000);
    struct tm tm;
    char date[64];
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *domain = strchr(from, '@');
    return add_fmt(b, "Date: %s\r\n", date) && add_fmt(b, "From: %s\r\n", from) &&
           add_fmt(b, "To: %s\r\n", to) && add_fmt(b, "Subject: %s\r\n", MAILS[kind].subject) &&
           /* One event is one message to one worker: its seq makes the id unique, and the
            * same on a repeat, so a mail client can tell a repeat apart. */
           add_fmt(b, "Message-ID: <orchestra-notify.%" PRId64 "@%s>\r\n", ev->seq,
                   domain ? domain + 1 : "localhost") &&
           add_fmt(b, "MIME-Version: 1.0\r\n") &&
           add_fmt(b, "Content-Type: text/plain; charset=utf-8\r\n") &&
           add_fmt(b, "Content-Transfer-Encoding: quoted-printable\r\n") &&
           add_fmt(b, "Auto-Submitted: auto-generated\r\n") &&
           add_fmt(b, "X-Orchestra-Event-Seq: %" PRId64 "\r\n\r\n", ev->seq);
}

int orci_mail_render(const orc_event *ev, const orci_mail_recipient *to, const char *from,
                     const char *app_url, int64_t now_us, char **out, size_t *len, orc_error *err)
{
    *out = NULL;
    *len = 0;
    int kind = orci_mail_kind(ev->type);
    if (kind < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not an e-mail notification",
                             ev->type);
    if (!orci_mail_address_ok(to->email) || !orci_mail_address_ok(from))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "not a usable e-mail address: %.254s",
                             orci_mail_address_ok(from) ? to->email : from);
    char *body = orci_mail_body(ev, to, app_url);
    orci_buf b = {.max = MAIL_MAX};
    bool ok = body && mail_headers(&b, ev, to->email, from, kind, now_us) && qp_encode(&b, body);
    free(body);
    if (!ok) {
        orci_buf_fini(&b);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED,
                             "the message of event %" PRId64 " does not fit", ev->seq);
    }
    *out = orci_buf_take(&b, len);
    return *out ? ORC_OK : orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
}
