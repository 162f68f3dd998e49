/*
 * cmd_task.c: `orchestra task ...`: the project management commands on tasks (assign,
 * reassign, skip, revert; admin, key-signed) and the worker's own task commands (new,
 * show, save, submit, accept, return; the worker session), spec sections 3.4 and 5.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* pretty_print prints a JSON document the server sent (what names it) indented, for
 * people. */
static int pretty_print(const char *text, const char *what)
{
    json_t *doc = orci_cli_parse_document(text, what);
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    char *pretty = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!pretty)
        return orci_cli_print_json(NULL);
    printf("%s\n", pretty);
    free(pretty);
    return ORCI_CLI_EXIT_OK;
}

/* ---- project management (admin) ---------------------------------------------------------- */

static int cmd_assign(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t task_id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 2, "TASK", &task_id, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int64_t assignment_id = 0;
    int rc = orc_task_assign(c, task_id, argv[1], &assignment_id, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:I}", "assignment_id", (json_int_t)assignment_id));
    printf("Assigned task %" PRId64 " to %s (assignment %" PRId64 ")\n", task_id, argv[1],
           assignment_id);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_reassign(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t assignment_id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 2, "ASSIGNMENT", &assignment_id, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int rc = orc_assignment_reassign(c, assignment_id, argv[1], &err);
    return orci_cli_done(g, c, false, rc, &err, "Reassigned assignment %" PRId64 " to %s",
                         assignment_id, argv[1]);
}

static int cmd_skip(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t task_id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 1, "TASK", &task_id, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int rc = orc_task_skip(c, task_id, &err);
    return orci_cli_done(g, c, false, rc, &err, "Task %" PRId64 " completed and skipped", task_id);
}

static int cmd_revert(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool before = false, commit = false;
    const orci_cli_opt opts[] = {
        {.name = "--before", .flag = &before},
        {.name = "--commit", .flag = &commit},
    };
    int n_pos;
    int64_t task_id, iteration_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 2, 2, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "TASK", argv[0], &task_id)) != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "ITERATION", argv[1], &iteration_id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *audit = NULL;
    int rc = orc_task_revert(c, task_id, iteration_id, before, commit, &audit, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json) {
        r = orci_cli_print_document(audit);
        orc_free(audit);
        return r;
    }
    r = pretty_print(audit, "revert audit");
    orc_free(audit);
    if (r == ORCI_CLI_EXIT_OK) {
        if (commit)
            printf("Applied: task %" PRId64 " reverted %s iteration %" PRId64 "\n", task_id,
                   before ? "to before" : "to", iteration_id);
        else
            printf("Dry run: nothing changed (add --commit to apply)\n");
    }
    return r;
}

/* ---- the worker's own tasks (session) ------------------------------------------------------ */

/* str_or returns the string member key of o, or dflt. */
static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : dflt;
}

/* new_print_text prints the task just handed out on one line. */
static int new_print_text(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "new task");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    printf("New task #%" JSON_INTEGER_FORMAT " (assignment %" JSON_INTEGER_FORMAT
           "): %s - %s: %s\n",
           json_integer_value(json_object_get(doc, "id")),
           json_integer_value(json_object_get(doc, "assignment_id")), str_or(doc, "step", ""),
           str_or(doc, "project", ""), str_or(doc, "detail", ""));
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_new(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    const char *role = argv[0];
    if (strcmp(role, "entry_level") != 0 && strcmp(role, "reviewer") != 0)
        return orci_cli_usage_error(cmd, "the task type is entry_level or reviewer, not \"%s\"",
                                    role);
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_task_new_json(c, role, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, new_print_text);
}

static int print_task_info(const char *text)
{
    return pretty_print(text, "task information");
}

static int cmd_show(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t task_id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 1, "TASK", &task_id, true, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_task_info_json(c, task_id, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, print_task_info);
}

static int cmd_save(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *data = NULL;
    const orci_cli_opt opts[] = {{.name = "--data", .value = &data}};
    int n_pos;
    int64_t task_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "TASK", argv[0], &task_id)) != ORCI_CLI_CONTINUE)
        return r;
    if (!data)
        return orci_cli_usage_error(cmd, "--data JSON is required");
    if ((r = orci_cli_check_json_object(cmd, "--data", data)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_task_save(c, task_id, data, &err);
    return orci_cli_done(g, c, true, rc, &err, "Saved task %" PRId64, task_id);
}

/*
 * cmd_submit runs submit, accept and return (the command's name): the upstream submit
 * commands "submit", "accept" and "reject". --data is optional for accept only, which then
 * keeps the data the reviewer last saved.
 */
static int cmd_submit(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *data = NULL;
    const orci_cli_opt opts[] = {{.name = "--data", .value = &data}};
    int n_pos;
    int64_t task_id;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE ||
        (r = orci_cli_parse_id(cmd, "TASK", argv[0], &task_id)) != ORCI_CLI_CONTINUE)
        return r;
    const char *command, *done;
    if (strcmp(cmd->name, "accept") == 0) {
        command = "accept";
        done = "Accepted";
    } else if (strcmp(cmd->name, "return") == 0) {
        command = "reject";
        done = "Returned";
    } else {
        command = "submit";
        done = "Submitted";
    }
    if (!data && strcmp(command, "accept") != 0)
        return orci_cli_usage_error(cmd, "--data JSON is required");
    if (data && (r = orci_cli_check_json_object(cmd, "--data", data)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_worker(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_task_submit(c, task_id, data, command, &err);
    return orci_cli_done(g, c, true, rc, &err, "%s task %" PRId64, done, task_id);
}

const orci_cli_command orci_cli_task_commands[] = {
    {
        .group = "task",
        .name = "assign",
        .run = cmd_assign,
        .usage = "TASK USER",
        .summary = "Assign a task to a worker, or replace its current worker (admin)",
        .help = "--json prints {\"assignment_id\":N}.\n",
    },
    {
        .group = "task",
        .name = "reassign",
        .run = cmd_reassign,
        .usage = "ASSIGNMENT USER",
        .summary = "Hand an assignment, its data and history, to another worker (admin)",
        .help = "--json prints {}.\n",
    },
    {
        .group = "task",
        .name = "skip",
        .run = cmd_skip,
        .usage = "TASK",
        .summary = "Complete a task on the spot and move the project on (admin)",
        .help = "--json prints {}.\n",
    },
    {
        .group = "task",
        .name = "revert",
        .run = cmd_revert,
        .usage = "TASK ITERATION [--before] [--commit]",
        .summary = "Revert a task to one of its iterations (admin)",
        .help = "Prints the audit of what the revert does. Without --commit it is a dry run\n"
                "and nothing changes. --before reverts to just before the iteration (only the\n"
                "first iteration of its assignment). --json prints the audit only.\n",
    },
    {
        .group = "task",
        .name = "new",
        .run = cmd_new,
        .usage = "entry_level|reviewer",
        .summary = "Take a new task (worker session)",
        .help = "--json prints {\"id\",\"assignment_id\",\"step\",\"project\",\"detail\"}.\n",
    },
    {
        .group = "task",
        .name = "show",
        .run = cmd_show,
        .usage = "TASK",
        .summary = "Show your assignment on a task (worker session)",
        .help = "Prints the task_assignment_information document (indented; one line with\n"
                "--json): the task's data and status, your assignment's status, the step,\n"
                "the project and the prerequisites.\n",
    },
    {
        .group = "task",
        .name = "save",
        .run = cmd_save,
        .usage = "TASK --data JSON",
        .summary = "Save your work in progress on a task (worker session)",
        .help = "--data is a JSON object. --json prints {}.\n",
    },
    {
        .group = "task",
        .name = "submit",
        .run = cmd_submit,
        .usage = "TASK --data JSON",
        .summary = "Submit your work on a task (worker session)",
        .help = "--data is a JSON object. --json prints {}.\n",
    },
    {
        .group = "task",
        .name = "accept",
        .run = cmd_submit,
        .usage = "TASK [--data JSON]",
        .summary = "Accept the work you are reviewing (worker session)",
        .help = "Without --data the data you last saved is submitted. --json prints {}.\n",
    },
    {
        .group = "task",
        .name = "return",
        .run = cmd_submit,
        .usage = "TASK --data JSON",
        .summary = "Return the work you are reviewing to the level below (worker session)",
        .help = "--data is a JSON object (the work with your review). --json prints {}.\n",
    },
    {0},
};
