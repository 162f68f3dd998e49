/*
 * cmd_time.c: time tracking for the worker session: `orchestra timer start|stop|status|
 * update`, `orchestra time list|add|edit|rm` and `orchestra timecard` (spec section 5,
 * seed 4.1). --json prints the server's documents as they are.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* str_or returns the string member key of o, or dflt (null and missing alike). */
static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && v[0] ? v : dflt;
}

/* parse_assignment parses an optional --assignment value into *id (0 when absent). */
static int parse_assignment(const orci_cli_command *cmd, const char *text, int64_t *id)
{
    *id = 0;
    if (!text)
        return ORCI_CLI_CONTINUE;
    return orci_cli_parse_id(cmd, "--assignment", text, id);
}

/* print_entry prints one entry on a line, with its rounded time when it has one. */
static void print_entry(const json_t *e, const char *indent)
{
    json_t *a = json_object_get(e, "assignment");
    char assignment[48] = "no assignment";
    if (json_is_integer(a))
        snprintf(assignment, sizeof assignment, "assignment %" JSON_INTEGER_FORMAT,
                 json_integer_value(a));
    const char *rounded = str_or(e, "rounded", NULL);
    printf("%s#%" JSON_INTEGER_FORMAT "  %s  %s%s%s  %s  %s\n", indent,
           json_integer_value(json_object_get(e, "id")), str_or(e, "date", "?"),
           str_or(e, "time_worked", "?"), rounded ? " -> " : "", rounded ? rounded : "", assignment,
           str_or(e, "description", "(no description)"));
}

/* print_timer prints a timer document for people. */
static int print_timer(const char *text)
{
    json_t *t = orci_cli_parse_document(text, "timer");
    if (!t)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *a = json_object_get(t, "assignment");
    const char *start = str_or(t, "start_time", NULL);
    if (start)
        printf("Timer running since %s (%s)\n", start, str_or(t, "time_worked", "just started"));
    else
        printf("Timer stopped\n");
    if (json_is_integer(a))
        printf("Assignment: %" JSON_INTEGER_FORMAT "\n", json_integer_value(a));
    printf("Description: %s\n", str_or(t, "description", "(none)"));
    json_decref(t);
    return ORCI_CLI_EXIT_OK;
}

/* print_entry_doc prints one entry document, after a heading. */
static int print_entry_doc(const char *text, const char *heading)
{
    json_t *e = orci_cli_parse_document(text, "time entry");
    if (!e)
        return ORCI_CLI_EXIT_REFUSED;
    printf("%s\n", heading);
    print_entry(e, "  ");
    json_decref(e);
    return ORCI_CLI_EXIT_OK;
}

/* ---- timer ---------------------------------------------------------------------------- */

static int cmd_timer_start(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *assignment = NULL, *description = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--assignment", .value = &assignment},
        {.name = "--description", .value = &description},
    };
    int n_pos;
    int64_t assignment_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = parse_assignment(cmd, assignment, &assignment_id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_timer_start_json(c, assignment_id, description, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_timer);
}

static int print_stopped(const char *text)
{
    return print_entry_doc(text, "Timer stopped; new time entry:");
}

static int cmd_timer_stop(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, true, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_timer_stop_json(c, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_stopped);
}

static int cmd_timer_status(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, true, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_timer_status_json(c, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_timer);
}

static int cmd_timer_update(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *assignment = NULL, *description = NULL;
    bool detach = false;
    const orci_cli_opt opts[] = {
        {.name = "--assignment", .value = &assignment},
        {.name = "--detach", .flag = &detach},
        {.name = "--description", .value = &description},
    };
    int n_pos;
    int64_t assignment_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = parse_assignment(cmd, assignment, &assignment_id)) != ORCI_CLI_CONTINUE)
        return r;
    if (detach && assignment)
        return orci_cli_usage_error(cmd, "--assignment and --detach exclude each other");
    if (!detach && !assignment && !description)
        return orci_cli_usage_error(cmd, "nothing to update");
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_timer_update(c, assignment_id, detach, description, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail_worker(&err);
    if (g->json)
        return orci_cli_print_json(json_object());
    printf("Timer updated\n");
    return ORCI_CLI_EXIT_OK;
}

/* ---- time entries --------------------------------------------------------------------- */

static int print_entries(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "time entries");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *list = json_object_get(doc, "entries");
    size_t i;
    json_t *e;
    if (json_array_size(list) == 0)
        printf("No time entries\n");
    json_array_foreach(list, i, e)
    {
        print_entry(e, "");
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_time_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *assignment = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--from", .value = &from},
        {.name = "--to", .value = &to},
        {.name = "--assignment", .value = &assignment},
    };
    int n_pos;
    int64_t assignment_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = parse_assignment(cmd, assignment, &assignment_id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_time_entry_list_json(c, from, to, assignment_id, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_entries);
}

static int print_added(const char *text)
{
    return print_entry_doc(text, "Time entry added:");
}

static int print_edited(const char *text)
{
    return print_entry_doc(text, "Time entry changed:");
}

static int cmd_time_add(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *assignment = NULL, *description = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--assignment", .value = &assignment},
        {.name = "--description", .value = &description},
    };
    int n_pos;
    int64_t assignment_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 2, 2, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = parse_assignment(cmd, assignment, &assignment_id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_time_entry_add_json(c, argv[0], argv[1], description, assignment_id, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_added);
}

static int cmd_time_edit(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *assignment = NULL;
    bool detach = false;
    orc_time_entry_change ch = {0};
    const orci_cli_opt opts[] = {
        {.name = "--date", .value = &ch.date},
        {.name = "--time", .value = &ch.time_worked},
        {.name = "--description", .value = &ch.description},
        {.name = "--assignment", .value = &assignment},
        {.name = "--detach", .flag = &detach},
    };
    int n_pos;
    int64_t id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "ID", argv[0], &id)) != ORCI_CLI_CONTINUE ||
        (r = parse_assignment(cmd, assignment, &ch.assignment_id)) != ORCI_CLI_CONTINUE)
        return r;
    if (detach && assignment)
        return orci_cli_usage_error(cmd, "--assignment and --detach exclude each other");
    ch.detach = detach;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_time_entry_edit_json(c, id, &ch, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_edited);
}

static int cmd_time_rm(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 1, "ID", &id, true, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int rc = orc_time_entry_delete(c, id, &err);
    return orci_cli_done(g, c, true, rc, &err, "Time entry %" PRId64 " deleted", id);
}

/* ---- timecard ------------------------------------------------------------------------- */

static int print_timecard(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "timecard");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    size_t i, j;
    json_t *day, *e;
    json_array_foreach(json_object_get(doc, "days"), i, day)
    {
        const char *total = str_or(day, "total", NULL);
        printf("%s  %s\n", str_or(day, "date", "?"),
               total ? total : "--:-- (an entry lacks a description or a task)");
        json_array_foreach(json_object_get(day, "entries"), j, e)
        {
            print_entry(e, "  ");
        }
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_timecard(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--from", .value = &from},
        {.name = "--to", .value = &to},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_timecard_json(c, from, to, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_timecard);
}

const orci_cli_command orci_cli_time_commands[] = {
    {
        .group = "timer",
        .name = "start",
        .run = cmd_timer_start,
        .usage = "[--assignment ID] [--description T]",
        .summary = "Start your timer (worker session)",
        .help =
            "--assignment attaches one of your own assignments. --json prints the timer:\n"
            "{\"id\",\"worker\",\"assignment\",\"start_time\",\"stop_time\",\"description\"}.\n",
    },
    {
        .group = "timer",
        .name = "stop",
        .run = cmd_timer_stop,
        .usage = "",
        .summary = "Stop your timer and record a time entry (worker session)",
        .help = "The entry is dated by the UTC date of the start. --json prints the entry:\n"
                "{\"id\",\"date\",\"time_worked\",\"description\",\"assignment\"}.\n",
    },
    {
        .group = "timer",
        .name = "status",
        .run = cmd_timer_status,
        .usage = "",
        .summary = "Show your timer (worker session)",
        .help = "--json prints the timer, with \"time_worked\" (e.g. \"0:05:03.123456\") while it\n"
                "runs.\n",
    },
    {
        .group = "timer",
        .name = "update",
        .run = cmd_timer_update,
        .usage = "[--assignment ID|--detach] [--description T]",
        .summary = "Change your timer's assignment or description (worker session)",
        .help = "--json prints {}.\n",
    },
    {
        .group = "time",
        .name = "list",
        .run = cmd_time_list,
        .usage = "[--from D --to D] [--assignment ID]",
        .summary = "List your time entries (worker session)",
        .help = "Dates are YYYY-MM-DD, inclusive. --json prints {\"entries\":[{\"id\",\"date\",\n"
                "\"time_worked\":\"HH:MM:SS\",\"description\",\"assignment\"}]}.\n",
    },
    {
        .group = "time",
        .name = "add",
        .run = cmd_time_add,
        .usage = "DATE HH:MM[:SS] [--description T] [--assignment ID]",
        .summary = "Add a time entry by hand (worker session)",
        .help = "--json prints the entry.\n",
    },
    {
        .group = "time",
        .name = "edit",
        .run = cmd_time_edit,
        .usage = "ID [--date D] [--time HH:MM[:SS]] [--description T] [--assignment ID|--detach]",
        .summary = "Change one of your time entries (worker session)",
        .help = "--time HH:MM stores the time with seconds 0. --json prints the entry.\n",
    },
    {
        .group = "time",
        .name = "delete",
        .run = cmd_time_rm,
        .usage = "ID",
        .summary = "Delete one of your time entries (worker session)",
        .help = "--json prints {}.\n",
    },
    {
        .name = "timecard",
        .run = cmd_timecard,
        .usage = "[--from D --to D]",
        .summary = "Your time entries by date, rounded up to the minute (worker session)",
        .help =
            "The default range is the current ISO week, Monday to Sunday (UTC). Each entry\n"
            "shows its time rounded up to the minute; a day's total is the sum of the\n"
            "rounded entries, withheld when an entry lacks a description or a task. An\n"
            "entry past a day shows only its hours, minutes and seconds rounded (days are\n"
            "ignored, as upstream). --json prints {\"days\":[{\"date\",\"entries\":[{...entry,\n"
            "\"rounded\":\"HH:MM\"}],\"total\":\"HH:MM\" or null,\"incomplete\":bool}]}.\n",
    },
    {0},
};
