/*
 * cmd_events.c: `orchestra events [--topic P] [--since SEQ] [--follow]`: the event history,
 * and with --follow the live feed, one line per event.
 *
 * Without --follow the history after SEQ is paged through ListEvents and the command exits.
 * With --follow an orc_subscription delivers the history and then the live events in seq
 * order, each once, until SIGINT or SIGTERM; the last seq printed is the point to resume
 * from with --since.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cli.h"

#define EVENTS_PAGE 1000
/* How often a --follow loop looks at the stop flag. */
#define EVENTS_POLL_MS 250

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* print_event prints one line for ev and flushes, so a reader of a pipe sees it at once. */
static int print_event(const orci_cli_globals *g, const orc_event *ev)
{
    if (g->json) {
        /* The same rendering orchestra-notify posts to webhooks (orc_event_json). */
        char *text = NULL;
        orc_error err;
        if (orc_event_json(ev, &text, &err) != ORC_OK) {
            fprintf(stderr, "orchestra: cannot render event %" PRId64 ": %s\n", ev->seq,
                    err.message);
            return ORCI_CLI_EXIT_REFUSED;
        }
        printf("%s\n", text);
        orc_free(text);
    } else {
        char when[40];
        orci_time_format(ev->time_us, when, sizeof when);
        printf("%" PRId64 " %s %s %s", ev->seq, when, ev->type, ev->topic);
        if (ev->project_id)
            printf(" project=%" PRId64, ev->project_id);
        if (ev->task_id)
            printf(" task=%" PRId64, ev->task_id);
        if (ev->step[0])
            printf(" step=%s", ev->step);
        if (ev->worker[0])
            printf(" worker=%s", ev->worker);
        if (ev->old_status[0] || ev->new_status[0])
            printf(" %s -> %s", ev->old_status, ev->new_status);
        if (strcmp(ev->payload, "{}") != 0)
            printf(" %s", ev->payload);
        printf("\n");
    }
    fflush(stdout);
    return ORCI_CLI_EXIT_OK;
}

/* history prints the events after since and returns when the history is read whole. */
static int history(const orci_cli_globals *g, orc_client *c, const char *topic, int64_t since)
{
    for (;;) {
        orc_event_page *page = NULL;
        orc_error err;
        int rc = orc_events_list(c, since, topic, EVENTS_PAGE, &page, &err);
        if (rc != ORC_OK)
            return orci_cli_fail(&err, NULL);
        int r = ORCI_CLI_EXIT_OK;
        for (size_t i = 0; i < page->n_events && r == ORCI_CLI_EXIT_OK; i++) {
            r = print_event(g, page->events[i]);
            since = page->events[i]->seq;
        }
        bool whole = page->n_events < EVENTS_PAGE;
        orc_event_page_free(page);
        if (r != ORCI_CLI_EXIT_OK || whole)
            return r;
    }
}

/* follow prints the events after since, then the live ones, until a stop signal. */
static int follow(const orci_cli_globals *g, orc_client *c, const char *topic, int64_t since,
                  const char *events_url)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    orc_subscribe_opts so = {
        .events_url = events_url,
        .topic_prefix = topic,
        .after_seq = since,
        .tls_ca_file = g->tls_ca ? g->tls_ca : getenv("ORCHESTRA_TLS_CA"),
    };
    orc_subscription *s = NULL;
    orc_error err;
    int rc = orc_subscription_new(&so, c, &s, &err);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    int r = ORCI_CLI_EXIT_OK;
    bool warned = false;
    while (!stop_requested && r == ORCI_CLI_EXIT_OK) {
        orc_event *ev = NULL;
        rc = orc_subscription_next(s, EVENTS_POLL_MS, &ev, &err);
        if (rc == ORC_OK) {
            warned = false;
            r = print_event(g, ev);
            orc_event_free(ev);
        } else if (rc == ORC_UNAVAILABLE) {
            /* The subscription keeps its place and retries: say so once and wait. */
            if (!warned)
                fprintf(stderr, "orchestra: %s (still trying)\n", err.message);
            warned = true;
        } else if (rc != ORC_DEADLINE_EXCEEDED) {
            r = orci_cli_fail(&err, NULL);
        }
    }
    orc_subscription_destroy(s);
    return r;
}

static int cmd_events(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *topic = NULL, *since_text = NULL, *events_url = NULL;
    bool follow_flag = false;
    const orci_cli_opt opts[] = {
        {.name = "--topic", .value = &topic},       {.name = "--since", .value = &since_text},
        {.name = "--follow", .flag = &follow_flag}, {.name = "-f", .flag = &follow_flag},
        {.name = "--events", .value = &events_url},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    int64_t since = 0;
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
    r = follow_flag ? follow(g, c, topic, since, events_url) : history(g, c, topic, since);
    orc_client_destroy(c);
    return r;
}

const orci_cli_command orci_cli_events_commands[] = {
    {
        .group = NULL,
        .name = "events",
        .run = cmd_events,
        .usage = "[--topic PREFIX] [--since SEQ] [--follow] [--events URL]",
        .summary = "Print the events after SEQ, one per line; --follow keeps printing live ones",
        .help = "--topic PREFIX keeps the events having a topic that starts with PREFIX\n"
                "(project.<id>., worker.<username>., workflow.<slug>., step.<slug>.).\n"
                "--since SEQ starts after sequence number SEQ (default 0: from the start).\n"
                "Without --follow the history is printed and the command exits. With --follow\n"
                "it goes on with the live events, in order and each once, until SIGINT or\n"
                "SIGTERM; --events URL is the feed (else $ORCHESTRA_EVENTS, "
                "else " ORC_DEFAULT_EVENTS_URL ").\n"
                "--json prints one object per line: {\"seq\":N,\"type\":..,\"topic\":..,\"time\":"
                "\"..Z\",\n...the event's fields and payload}.\n",
    },
    {0},
};
