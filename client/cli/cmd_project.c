/*
 * cmd_project.c: `orchestra project create|info|end|pause|resume` (upstream create_project,
 * project_information, end_project, set_project_status) and `orchestra check` (the
 * lifecycle invariant check over every task).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cmd_create(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *workflow = NULL, *version = NULL, *description = NULL, *priority = NULL;
    const char *task_class = "real", *data = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--workflow", .value = &workflow},
        {.name = "--version", .value = &version},
        {.name = "--description", .value = &description},
        {.name = "--priority", .value = &priority},
        {.name = "--task-class", .value = &task_class},
        {.name = "--data", .value = &data},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    if (!workflow || !version || !description || !priority)
        return orci_cli_usage_error(cmd, "--workflow, --version, --description and --priority "
                                         "are required");
    char *end;
    errno = 0;
    long long prio = strtoll(priority, &end, 10);
    if (errno || end == priority || *end)
        return orci_cli_usage_error(cmd, "--priority must be an integer, not \"%s\"", priority);
    if (strcmp(task_class, "real") != 0 && strcmp(task_class, "training") != 0)
        return orci_cli_usage_error(cmd, "--task-class must be real or training, not \"%s\"",
                                    task_class);
    if (data && (r = orci_cli_check_json_object(cmd, "--data", data)) != ORCI_CLI_CONTINUE)
        return r;

    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_project_params p = {
        .workflow = workflow,
        .version = version,
        .description = description,
        .priority = (int64_t)prio,
        .task_class = task_class,
        .project_data = data,
    };
    orc_error err;
    int64_t id = 0;
    int rc = orc_project_create(c, &p, &id, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:I}", "project_id", (json_int_t)id));
    printf("Created project %" PRId64 "\n", id);
    return ORCI_CLI_EXIT_OK;
}

/* str_or returns the string member key of o, or dflt. */
static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : dflt;
}

/* print_assignments appends the task's assignments to the current line:
 * " - alice (Submitted), bob (Processing)". */
static void print_assignments(const json_t *task)
{
    json_t *list = json_object_get(task, "assignments");
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        const char *who = str_or(json_object_get(a, "worker"), "username", "machine");
        printf("%s%s (%s)", i == 0 ? " - " : ", ", who, str_or(a, "status", "?"));
    }
}

/* info_print_text prints the project line, then one line per step in the document's order
 * with its task's status and assignments. */
static int info_print_text(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "project information");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *p = json_object_get(doc, "project");
    json_t *tasks = json_object_get(doc, "tasks");
    printf("Project %" JSON_INTEGER_FORMAT " %s/%s [%s] priority %" JSON_INTEGER_FORMAT
           ", %s: %s\n",
           json_integer_value(json_object_get(p, "id")), str_or(p, "workflow_slug", "?"),
           str_or(p, "workflow_version_slug", "?"), str_or(p, "status", "?"),
           json_integer_value(json_object_get(p, "priority")),
           json_integer_value(json_object_get(p, "task_class")) == 1 ? "real" : "training",
           str_or(p, "short_description", ""));
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(doc, "steps"), i, step)
    {
        const char *slug = str_or(step, "slug", "?");
        json_t *task = json_object_get(tasks, slug);
        if (!task) {
            printf("  %s: no task yet\n", slug);
            continue;
        }
        printf("  %s: task %" JSON_INTEGER_FORMAT " %s", slug,
               json_integer_value(json_object_get(task, "id")), str_or(task, "status", "?"));
        print_assignments(task);
        printf("\n");
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_info(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 1, "ID", &id, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_project_info_json(c, id, &text, &err);
    return orci_cli_done_document(g, c, false, rc, &err, text, info_print_text);
}

/* project_change runs end, pause or resume (the command's name) on the project ID. */
static int project_change(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 1, "ID", &id, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int rc;
    const char *done;
    if (strcmp(cmd->name, "end") == 0) {
        rc = orc_project_end(c, id, &err);
        done = "ended";
    } else if (strcmp(cmd->name, "pause") == 0) {
        rc = orc_project_pause(c, id, &err);
        done = "paused";
    } else {
        rc = orc_project_resume(c, id, &err);
        done = "resumed";
    }
    return orci_cli_done(g, c, false, rc, &err, "Project %" PRId64 " %s", id, done);
}

/* check_print_text prints one line per violation, or "no violations". */
static int check_print_text(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "consistency report");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *list = json_object_get(doc, "violations");
    if (json_array_size(list) == 0)
        printf("no violations\n");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        printf("task %" JSON_INTEGER_FORMAT ": %s\n",
               json_integer_value(json_object_get(v, "task_id")), str_or(v, "message", ""));
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_check(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    size_t n = 0;
    int rc = orc_check_consistency_json(c, &text, &n, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    r = g->json ? orci_cli_print_document(text) : check_print_text(text);
    orc_free(text);
    if (r != ORCI_CLI_EXIT_OK)
        return r;
    return n > 0 ? ORCI_CLI_EXIT_REFUSED : ORCI_CLI_EXIT_OK;
}

const orci_cli_command orci_cli_project_commands[] = {
    {
        .group = "project",
        .name = "create",
        .run = cmd_create,
        .usage = "--workflow S --version V --description D --priority N "
                 "[--task-class real|training] [--data JSON]",
        .summary = "Create a project of a loaded workflow version",
        .help = "--task-class defaults to real. --data is the project_data JSON object handed\n"
                "to every step (default {}). --json prints {\"project_id\":N}.\n",
    },
    {
        .group = "project",
        .name = "show",
        .run = cmd_info,
        .usage = "ID",
        .summary = "Show a project, its steps, tasks and assignments",
        .help = "Prints the project line with its status, then one line per step with its\n"
                "task's status and the assignments' workers and statuses. --json prints the\n"
                "project_information document (spec 4.3) with the project's \"status\".\n",
    },
    {
        .group = "project",
        .name = "end",
        .run = project_change,
        .usage = "ID",
        .summary = "End a project: it and every one of its tasks become Aborted",
        .help = "--json prints {}.\n",
    },
    {
        .group = "project",
        .name = "pause",
        .run = project_change,
        .usage = "ID",
        .summary = "Pause a project",
        .help = "--json prints {}.\n",
    },
    {
        .group = "project",
        .name = "resume",
        .run = project_change,
        .usage = "ID",
        .summary = "Resume a paused project",
        .help = "--json prints {}.\n",
    },
    {
        .name = "check",
        .run = cmd_check,
        .usage = "",
        .summary = "Check the lifecycle invariants of every task (admin)",
        .help = "Prints one line per violation (\"task N: message\") or \"no violations\", and\n"
                "exits 1 when there are violations. --json prints\n"
                "{\"violations\":[{\"task_id\":N,\"message\":\"...\"}]}.\n",
    },
    {0},
};
