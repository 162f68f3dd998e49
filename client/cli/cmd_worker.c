/*
 * cmd_worker.c: `orchestra worker add|certify|admin`, the worker administration upstream does
 * in the Django admin.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_add(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool from_stdin = false;
    const char *first = NULL, *last = NULL, *email = NULL;
    const orci_cli_opt opts[] = {
        {.name = "--password-stdin", .flag = &from_stdin},
        {.name = "--first-name", .value = &first},
        {.name = "--last-name", .value = &last},
        {.name = "--email", .value = &email},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    /* A password on the command line would show in ps and in the shell's history. */
    if (!from_stdin)
        return orci_cli_usage_error(cmd, "--password-stdin is required (the password is read "
                                         "from the first line of stdin)");
    const char *username = argv[0];
    char *password = NULL;
    if ((r = orci_cli_read_password(cmd, false, &password)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK) {
        orci_cli_free_secret(password);
        return r;
    }
    orc_worker_params p = {
        .username = username,
        .password = password,
        .first_name = first,
        .last_name = last,
        .email = email,
    };
    orc_error err;
    int64_t id = 0;
    int rc = orc_worker_add(c, &p, &id, &err);
    orci_cli_free_secret(password);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(
            json_pack("{s:I, s:s}", "id", (json_int_t)id, "username", username));
    printf("Added worker %s (id %" PRId64 ")\n", username, id);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_certify(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool revoke = false;
    const char *role = NULL, *task_class = "real";
    const orci_cli_opt opts[] = {
        {.name = "--role", .value = &role},
        {.name = "--task-class", .value = &task_class},
        {.name = "--revoke", .flag = &revoke},
    };
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 2, 2, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    if (!role)
        return orci_cli_usage_error(cmd, "--role entry_level|reviewer is required");
    if (strcmp(role, "entry_level") != 0 && strcmp(role, "reviewer") != 0)
        return orci_cli_usage_error(cmd, "--role must be entry_level or reviewer, not \"%s\"",
                                    role);
    if (strcmp(task_class, "real") != 0 && strcmp(task_class, "training") != 0)
        return orci_cli_usage_error(cmd, "--task-class must be real or training, not \"%s\"",
                                    task_class);
    /* Exactly two non-empty parts around one '/'. */
    char *arg = argv[1];
    char *slash = strchr(arg, '/');
    if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/'))
        return orci_cli_usage_error(
            cmd, "Please specify the certification as <workflow_slug>/<certification_slug>");
    *slash = '\0';
    const char *username = argv[0], *workflow = arg, *cert = slash + 1;

    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_worker_certify(c, username, workflow, cert, role, task_class, revoke, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_object());
    if (revoke)
        printf("Revoked %s's %s certification %s/%s (%s)\n", username, role, workflow, cert,
               task_class);
    else
        printf("Certified %s as %s for %s/%s (%s)\n", username, role, workflow, cert, task_class);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_admin(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool revoke = false;
    const orci_cli_opt opts[] = {{.name = "--revoke", .flag = &revoke}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_worker_set_admin(c, argv[0], !revoke, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(
            json_pack("{s:s, s:b}", "username", argv[0], "project_admin", !revoke));
    printf("%s %s a project admin\n", argv[0], revoke ? "is no longer" : "is now");
    return ORCI_CLI_EXIT_OK;
}

const orci_cli_command orci_cli_worker_commands[] = {
    {
        .group = "worker",
        .name = "create",
        .run = cmd_add,
        .usage = "USERNAME --password-stdin [--first-name F --last-name L --email E]",
        .summary = "Add a worker (admin)",
        .help = "The password is the first line of stdin, e.g.\n"
                "  printf '%s\\n' \"$PW\" | orchestra worker add alice --password-stdin\n"
                "--json prints {\"id\":N,\"username\":...}.\n",
    },
    {
        .group = "worker",
        .name = "certify",
        .run = cmd_certify,
        .usage = "USERNAME WORKFLOW/CERT --role entry_level|reviewer "
                 "[--task-class real|training] [--revoke]",
        .summary = "Grant (or --revoke) a worker certification (admin)",
        .help = "--task-class defaults to real; only real certifications make a worker\n"
                "eligible for tasks. --json prints {}.\n",
    },
    {
        .group = "worker",
        .name = "admin",
        .run = cmd_admin,
        .usage = "USERNAME [--revoke]",
        .summary = "Make a worker a project admin, or --revoke it (admin)",
        .help = "A project admin manages projects in the web app (/orchestra/app/project/ID):\n"
                "reassign, complete and skip, end, revert. --json prints\n"
                "{\"username\":...,\"project_admin\":b}.\n",
    },
    {0},
};
