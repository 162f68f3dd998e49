/*
 * cmd_notify.c: what orchestra-notify delivers, set from the command line: `orchestra webhook
 * create|list|delete|redeliver` (admin key) and `orchestra worker notifications`, a worker's
 * e-mail preferences (their own with the saved session, anyone's with an admin key).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cli.h"

/* time_or_null is a JSON time for us, null when 0. */
static json_t *time_or_null(int64_t us)
{
    if (us <= 0)
        return json_null();
    char when[40];
    orci_time_format_digits(us, 0, when, sizeof when);
    return json_string(when);
}

/* ---- webhook create ----------------------------------------------------------------------- */

static int cmd_create(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *topic = "", *secret = NULL;
    bool secret_stdin = false;
    const orci_cli_opt opts[] = {
        {.name = "--topic", .value = &topic},
        {.name = "--secret", .value = &secret},
        {.name = "--secret-stdin", .flag = &secret_stdin},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    if ((secret != NULL) == secret_stdin)
        return orci_cli_usage_error(cmd, "give the secret with --secret S or --secret-stdin");
    char *from_stdin = NULL;
    if (secret_stdin && (r = orci_cli_read_password(cmd, false, &from_stdin)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK) {
        orci_cli_free_secret(from_stdin);
        return r;
    }
    orc_error err;
    int64_t id = 0, start = 0;
    int rc =
        orc_webhook_create(c, argv[0], topic, from_stdin ? from_stdin : secret, &id, &start, &err);
    orci_cli_free_secret(from_stdin);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:I}", "id", (json_int_t)id));
    printf("Created webhook %" PRId64 ": events after seq %" PRId64 " %s%s%s go to %s\n", id, start,
           topic[0] ? "with a topic starting with \"" : "of every topic", topic,
           topic[0] ? "\"" : "", argv[0]);
    return ORCI_CLI_EXIT_OK;
}

/* ---- webhook list ---------------------------------------------------------------------------- */

static json_t *webhook_json(const orc_webhook *w)
{
    return json_pack(
        "{s:I, s:s, s:s, s:o, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I}", "id",
        (json_int_t)w->id, "url", w->url, "topic_prefix", w->topic_prefix, "created",
        time_or_null(w->created_at_us), "start_seq", (json_int_t)w->start_seq, "state",
        w->state[0] ? w->state : "unreported", "last_error", w->last_error, "delivered_seq",
        (json_int_t)w->delivered_seq, "delivered", (json_int_t)w->delivered, "dead_lettered",
        (json_int_t)w->dead_lettered, "attempts", (json_int_t)w->attempts, "next_attempt",
        time_or_null(w->next_attempt_us), "reported", time_or_null(w->status_at_us),
        "redeliver_generation", (json_int_t)w->redeliver_generation, "redeliver_since",
        (json_int_t)w->redeliver_since);
}

static int print_webhooks(const orci_cli_globals *g, const orc_webhook_list *l)
{
    if (g->json) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < l->n_webhooks; i++)
            if (json_array_append_new(a, webhook_json(l->webhooks[i])) != 0) {
                json_decref(a);
                a = NULL;
            }
        return orci_cli_print_json(a ? json_pack("{s:o}", "webhooks", a) : NULL);
    }
    if (l->n_webhooks == 0) {
        printf("No webhooks.\n");
        return ORCI_CLI_EXIT_OK;
    }
    printf("%-4s %-14s %9s %9s %6s  %-20s %s\n", "ID", "STATE", "DELIVERED", "UP_TO_SEQ", "DEAD",
           "TOPIC", "URL");
    for (size_t i = 0; i < l->n_webhooks; i++) {
        const orc_webhook *w = l->webhooks[i];
        printf("%-4" PRId64 " %-14s %9" PRId64 " %9" PRId64 " %6" PRId64 "  %-20s %s\n", w->id,
               w->state[0] ? w->state : "unreported", w->delivered, w->delivered_seq,
               w->dead_lettered, w->topic_prefix[0] ? w->topic_prefix : "(all)", w->url);
        if (w->last_error[0])
            printf("     last error: %s\n", w->last_error);
    }
    return ORCI_CLI_EXIT_OK;
}

static int cmd_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    orc_webhook_list *l = NULL;
    int rc = orc_webhooks_list(c, false, &l, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    r = print_webhooks(g, l);
    orc_webhook_list_free(l);
    return r;
}

/* ---- webhook delete, redeliver -----------------------------------------------------------------
 */

static int cmd_delete(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int n_pos;
    int64_t id = 0;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "ID", argv[0], &id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_webhook_delete(c, id, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_object());
    printf("Deleted webhook %" PRId64 "\n", id);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_redeliver(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *since_text = NULL;
    const orci_cli_opt opts[] = {{.name = "--since", .value = &since_text}};
    int n_pos;
    int64_t id = 0, since = -1;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "ID", argv[0], &id)) != ORCI_CLI_CONTINUE)
        return r;
    if (since_text) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(since_text, &end, 10);
        if (errno != 0 || end == since_text || *end != '\0' || v < 0)
            return orci_cli_usage_error(cmd, "--since needs a sequence number >= 0, not %s",
                                        since_text);
        since = (int64_t)v;
    }
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int64_t gen = 0;
    int rc = orc_webhook_redeliver(c, id, since, &gen, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(
            json_pack("{s:I, s:I}", "id", (json_int_t)id, "generation", (json_int_t)gen));
    if (since >= 0)
        printf("Webhook %" PRId64 ": every matching event after seq %" PRId64 " goes out again\n",
               id, since);
    else
        printf("Webhook %" PRId64 ": its dead-lettered events go out again\n", id);
    return ORCI_CLI_EXIT_OK;
}

/* ---- worker notifications ----------------------------------------------------------------------
 */

/*
 * parse_kinds marks the kinds named in text ("complete,ended" or "all") in set; -1 with the
 * unknown name in bad otherwise.
 */
static int parse_kinds(const char *text, bool set[ORC_NOTIFY_KINDS], char *bad, size_t bad_size)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (strcmp(t, "all") == 0) {
            for (int k = 0; k < ORC_NOTIFY_KINDS; k++)
                set[k] = true;
            continue;
        }
        int k = orc_notify_kind_parse(t);
        if (k < 0) {
            snprintf(bad, bad_size, "%s", t);
            return -1;
        }
        set[k] = true;
    }
    return 0;
}

static int print_settings(const orci_cli_globals *g, const orc_notification_settings *s)
{
    if (g->json) {
        json_t *n = json_object();
        for (size_t k = 0; n && k < s->n_kinds; k++)
            json_object_set_new(n, orc_notify_kind_name((int)k), json_boolean(s->email_on[k]));
        return orci_cli_print_json(n ? json_pack("{s:s, s:s, s:o}", "username", s->username,
                                                 "email", s->email, "notifications", n)
                                     : NULL);
    }
    printf("E-mail notifications of %s (%s):\n", s->username,
           s->email[0] ? s->email : "no address: none can be sent");
    for (size_t k = 0; k < s->n_kinds; k++)
        printf("  %-20s %s\n", orc_notify_kind_name((int)k), s->email_on[k] ? "on" : "off");
    return ORCI_CLI_EXIT_OK;
}

static int cmd_notifications(orci_cli_globals *g, const orci_cli_command *cmd, int argc,
                             char **argv)
{
    const char *on_text = NULL, *off_text = NULL;
    const orci_cli_opt opts[] = {{.name = "--on", .value = &on_text},
                                 {.name = "--off", .value = &off_text}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 2, 0, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    bool on[ORC_NOTIFY_KINDS] = {false}, off[ORC_NOTIFY_KINDS] = {false};
    bool change[ORC_NOTIFY_KINDS] = {false}, email_on[ORC_NOTIFY_KINDS] = {false};
    char bad[64] = "";
    if ((on_text && parse_kinds(on_text, on, bad, sizeof bad) != 0) ||
        (off_text && parse_kinds(off_text, off, bad, sizeof bad) != 0))
        return orci_cli_usage_error(cmd, "unknown notification kind %s", bad);
    bool any = false;
    for (int k = 0; k < ORC_NOTIFY_KINDS; k++) {
        if (on[k] && off[k])
            return orci_cli_usage_error(cmd, "%s is both --on and --off", orc_notify_kind_name(k));
        change[k] = on[k] || off[k];
        email_on[k] = on[k];
        any = any || change[k];
    }
    /* A name means an admin acting on anyone (API key); none, the worker's own session. */
    const char *username = n_pos == 1 ? argv[0] : NULL;
    orc_client *c = NULL;
    r = username ? orci_cli_connect(g, &c) : orci_cli_connect_worker(g, &c);
    if (r != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    orc_notification_settings *s = NULL;
    int rc = any ? orc_notification_settings_set(c, username, change, email_on, ORC_NOTIFY_KINDS,
                                                 &s, &err)
                 : orc_notification_settings_get(c, username, &s, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return username ? orci_cli_fail(&err, NULL) : orci_cli_fail_worker(&err);
    r = print_settings(g, s);
    orc_notification_settings_free(s);
    return r;
}

const orci_cli_command orci_cli_notify_commands[] = {
    {
        .group = "webhook",
        .name = "create",
        .run = cmd_create,
        .usage = "URL --topic PREFIX (--secret S | --secret-stdin)",
        .summary = "Send the events of a topic to URL, signed (admin)",
        .help = "orchestra-notify POSTs each event committed from now on having a topic that\n"
                "starts with PREFIX (\"\" or no --topic: every event) to URL, as the JSON object\n"
                "`orchestra events --json` prints, with the headers Orchestra-Event-Seq: <seq>\n"
                "and Orchestra-Signature: t=<unix>,v1=<hex HMAC-SHA256 of S over \"<t>.<body>\">.\n"
                "--secret-stdin reads S from the first line of stdin (kept out of ps).\n"
                "--json prints {\"id\":N}.\n",
    },
    {
        .group = "webhook",
        .name = "list",
        .run = cmd_list,
        .usage = "",
        .summary = "List the webhooks with their delivery state (admin)",
        .help =
            "The state is what orchestra-notify last reported: active, retrying (the event\n"
            "at delivered_seq+1 failed `attempts` times; the next try is at next_attempt),\n"
            "dead-lettered (events given up on: `webhook redeliver ID` sends them again),\n"
            "or unreported. --json prints {\"webhooks\":[{\"id\",\"url\",\"topic_prefix\",\n"
            "\"created\",\"start_seq\",\"state\",\"last_error\",\"delivered_seq\",\"delivered\",\n"
            "\"dead_lettered\",\"attempts\",\"next_attempt\",\"reported\",...}]}.\n",
    },
    {
        .group = "webhook",
        .name = "delete",
        .run = cmd_delete,
        .usage = "ID",
        .summary = "Stop delivering to a webhook (admin)",
        .help = "--json prints {}.\n",
    },
    {
        .group = "webhook",
        .name = "redeliver",
        .run = cmd_redeliver,
        .usage = "ID [--since SEQ]",
        .summary = "Send a webhook's dead-lettered events again, or every event after SEQ (admin)",
        .help = "Without --since the events given up on (dead-lettered) are sent again; with\n"
                "--since SEQ every matching event after SEQ is sent again, in order, and\n"
                "delivery goes on from there. --json prints {\"id\":N,\"generation\":G}.\n",
    },
    {
        .group = "worker",
        .name = "notifications",
        .run = cmd_notifications,
        .usage = "[USERNAME] [--on KINDS] [--off KINDS]",
        .summary = "Show or choose which e-mails a worker gets",
        .help = "KINDS is a comma-separated list of assigned, under_review, returned,\n"
                "ready_for_rereview, complete, ended, or all (upstream's six e-mails).\n"
                "Without USERNAME: your own settings, with the session `orchestra login` saved;\n"
                "with USERNAME: that worker's, with an admin key. --json prints\n"
                "{\"username\":...,\"email\":...,\"notifications\":{\"assigned\":true,...}}.\n",
    },
    {0},
};
