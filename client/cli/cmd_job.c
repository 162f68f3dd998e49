/*
 * cmd_job.c: `orchestra job list|retry`: the machine-step jobs behind a project's machine
 * tasks (admin scope).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* str_or returns the string member key of o, or dflt. */
static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : dflt;
}

/* int_of returns the integer member key of o (0 when missing). */
static long long int_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* list_print_text prints a table with one row per job, and its last error under it. */
static int list_print_text(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "job list");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *jobs = json_object_get(doc, "jobs");
    if (json_array_size(jobs) == 0) {
        printf("no jobs\n");
        json_decref(doc);
        return ORCI_CLI_EXIT_OK;
    }
    printf("%-6s %-8s %-6s %-16s %-10s %-8s %s\n", "JOB", "PROJECT", "TASK", "STEP", "STATUS",
           "ATTEMPTS", "FUNCTION");
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        char attempts[32];
        snprintf(attempts, sizeof attempts, "%lld/%lld", int_of(j, "attempts"),
                 int_of(j, "max_attempts"));
        printf("%-6lld %-8lld %-6lld %-16s %-10s %-8s %s\n", int_of(j, "job_id"),
               int_of(j, "project_id"), int_of(j, "task_id"), str_or(j, "step", "?"),
               str_or(j, "status", "?"), attempts, str_or(j, "function", "?"));
        const char *last_error = str_or(j, "last_error", "");
        if (last_error[0])
            printf("       last error: %s\n", last_error);
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    const char *project = NULL;
    const orci_cli_opt opts[] = {
        {.name = "-p", .value = &project},
        {.name = "--project", .value = &project},
    };
    int n_pos;
    int64_t project_id = 0;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    if (project && (r = orci_cli_parse_id(cmd, "-p", project, &project_id)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_job_list_json(c, project_id, &text, &err);
    return orci_cli_done_document(g, c, false, rc, &err, text, list_print_text);
}

static int cmd_retry(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int64_t task_id;
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 1, "TASK", &task_id, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    int rc = orc_job_retry(c, task_id, &err);
    return orci_cli_done(g, c, false, rc, &err, "Task %" PRId64 " queued for another run", task_id);
}

const orci_cli_command orci_cli_job_commands[] = {
    {
        .group = "job",
        .name = "list",
        .run = cmd_list,
        .usage = "[-p ID]",
        .summary = "List the machine-step jobs, of every project or of one (admin)",
        .help = "-p/--project ID keeps one project's jobs. Prints one row per job (id, project,\n"
                "task, step, status, attempts, function) and its last error. --json prints\n"
                "{\"jobs\":[{\"job_id\",\"project_id\",\"task_id\",\"step\",\"function\","
                "\"status\",\n\"attempts\",\"max_attempts\",\"last_error\",\"next_attempt_at\","
                "\"executor_id\"}]};\nstatus is queued, leased, completed, failed or cancelled.\n",
    },
    {
        .group = "job",
        .name = "retry",
        .run = cmd_retry,
        .usage = "TASK",
        .summary = "Run a failed machine task's job again (admin)",
        .help = "The job gets a fresh round of attempts. --json prints {}.\n",
    },
    {0},
};
