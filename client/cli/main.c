/*
 * main.c: the `orchestra` command: global options, then dispatch to a command table.
 *
 *   orchestra [--rpc URL] [--json] [--tls-ca FILE] [--timeout MS] COMMAND [ARGS]
 *
 * A command is a top-level name (health) or a group and a name (workflow load).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* Every command table; a new group adds one line here. */
static const orci_cli_command *const tables[] = {
    orci_cli_workflow_commands, orci_cli_project_commands, orci_cli_worker_commands,
    orci_cli_task_commands,     orci_cli_session_commands, orci_cli_job_commands,
    orci_cli_demo_commands,     orci_cli_system_commands,  orci_cli_time_commands,
    orci_cli_events_commands,   orci_cli_import_commands,  orci_cli_list_commands,
    orci_cli_notify_commands,
};

#define N_TABLES (sizeof tables / sizeof tables[0])

/* The width of the command column in the lists; a longer command puts its summary on the
 * next line. */
#define HEAD_WIDTH 42

/* print_command_line prints one row of a command list on f. */
static void print_command_line(FILE *f, const char *head, const char *summary)
{
    if (strlen(head) > HEAD_WIDTH)
        fprintf(f, "  %s\n  %-*s %s\n", head, HEAD_WIDTH, "", summary);
    else
        fprintf(f, "  %-*s %s\n", HEAD_WIDTH, head, summary);
}

static void print_main_help(void)
{
    printf("usage: orchestra [--rpc URL] [--json] [--tls-ca FILE] [--timeout MS] COMMAND "
           "[ARGS]\n\n"
           "Talk to orchestrad, the Orchestra coordinator.\n\n"
           "Commands:\n");
    for (size_t t = 0; t < N_TABLES; t++) {
        for (const orci_cli_command *c = tables[t]; c->name; c++) {
            char head[256];
            snprintf(head, sizeof head, "%s%s%s %s", c->group ? c->group : "", c->group ? " " : "",
                     c->name, c->usage ? c->usage : "");
            print_command_line(stdout, head, c->summary);
        }
    }
    printf("\nGlobal options:\n"
           "  --rpc URL[,URL...]  orchestrad address, or the coordinators of one database\n"
           "                 (else $ORCHESTRA_RPC, else %s)\n"
           "  --json         print exactly one JSON document on stdout\n"
           "  --tls-ca FILE  CA bundle for tls+tcp:// (else $ORCHESTRA_TLS_CA)\n"
           "  --timeout MS   per-call timeout in milliseconds (default 30000)\n"
           "  --help         this text; COMMAND --help describes a command\n"
           "  --version      print the version\n\n"
           "Credentials: ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET sign calls with an API "
           "key;\nworker commands use ORCHESTRA_TOKEN, else the session saved by `orchestra "
           "login`.\n\n"
           "Old names still work: project info (show), worker add (create), time rm\n"
           "(delete), demo simple (example simple), journalism (example journalism).\n\n"
           "Exit status: 0 success, 1 the server refused, 2 usage error, 3 server unreachable.\n"
           "With --json, an error is one JSON document on stderr: {\"code\",\"message\"}.\n",
           ORC_DEFAULT_RPC_URL);
}

/*
 * Old names that keep working (CONTRACT.md: a renamed verb keeps its old name as an alias).
 * The verbs are list, show, create, delete across groups; the example workflows' helpers
 * live in the `example` group. A NULL group is a top-level command.
 */
static const struct {
    const char *group, *name;       /* the old name */
    const char *to_group, *to_name; /* the command it stands for */
} aliases[] = {
    {"project", "info", "project", "show"},
    {"worker", "add", "worker", "create"},
    {"time", "rm", "time", "delete"},
    {"demo", "simple", "example", "simple"},
    {NULL, "journalism", "example", "journalism"},
};

/* unalias maps an old command name to its current one (unchanged when it is not old). */
static void unalias(const char **group, const char **name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        bool same_group =
            aliases[i].group ? *group && strcmp(aliases[i].group, *group) == 0 : !*group;
        if (same_group && *name && strcmp(aliases[i].name, *name) == 0) {
            *group = aliases[i].to_group;
            *name = aliases[i].to_name;
            return;
        }
    }
}

static bool is_group(const char *name)
{
    for (size_t t = 0; t < N_TABLES; t++)
        for (const orci_cli_command *c = tables[t]; c->name; c++)
            if (c->group && strcmp(c->group, name) == 0)
                return true;
    return strcmp(name, "demo") == 0; /* the old group of `demo simple` */
}

static const orci_cli_command *find_command(const char *group, const char *name)
{
    unalias(&group, &name);
    for (size_t t = 0; t < N_TABLES; t++) {
        for (const orci_cli_command *c = tables[t]; c->name; c++) {
            bool same_group = group ? c->group && strcmp(c->group, group) == 0 : !c->group;
            if (same_group && strcmp(c->name, name) == 0)
                return c;
        }
    }
    return NULL;
}

/* print_group_help lists a group's commands on f. */
static void print_group_help(const char *group, FILE *f)
{
    fprintf(f, "usage: orchestra %s COMMAND [ARGS]\n\nCommands:\n", group);
    for (size_t t = 0; t < N_TABLES; t++) {
        for (const orci_cli_command *c = tables[t]; c->name; c++) {
            if (!c->group || strcmp(c->group, group) != 0)
                continue;
            char head[256];
            snprintf(head, sizeof head, "%s %s %s", c->group, c->name, c->usage ? c->usage : "");
            print_command_line(f, head, c->summary);
        }
    }
}

int main(int argc, char **argv)
{
    orci_cli_globals g = {0};
    json_object_seed(0);
    /* The global options come before the command word ('+': stop at the first operand). */
    struct option lo[8];
    size_t n = orci_cli_global_longopts(lo, 5);
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n++] = (struct option){"version", no_argument, NULL, 'V'};
    lo[n] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
        if (c == 'h') {
            print_main_help();
            return ORCI_CLI_EXIT_OK;
        }
        if (c == 'V') {
            printf("orchestra %s\n", ORCI_CLI_VERSION);
            return ORCI_CLI_EXIT_OK;
        }
        if (c == ':')
            return orci_cli_usage_error(NULL, "option %s needs a value", argv[optind - 1]);
        int r = c == '?' ? 0 : orci_cli_set_global(&g, NULL, c, optarg ? optarg : "");
        if (r == 0)
            return orci_cli_usage_error(NULL, "unknown option %s", argv[optind - 1]);
        if (r != 1)
            return r;
    }
    int i = optind;
    if (i >= argc)
        return orci_cli_usage_error(NULL, "missing command");

    const char *word = argv[i++];
    const orci_cli_command *cmd = NULL;
    if (is_group(word)) {
        if (i >= argc) {
            orci_cli_error(ORC_INVALID_ARGUMENT, ORCI_CLI_EXIT_USAGE, "missing %s command", word);
            if (!orci_cli_json_errors())
                print_group_help(word, stderr);
            return ORCI_CLI_EXIT_USAGE;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_group_help(word, stdout);
            return ORCI_CLI_EXIT_OK;
        }
        cmd = find_command(word, argv[i]);
        if (!cmd) {
            orci_cli_error(ORC_INVALID_ARGUMENT, ORCI_CLI_EXIT_USAGE, "unknown command %s %s", word,
                           argv[i]);
            if (!orci_cli_json_errors())
                print_group_help(word, stderr);
            return ORCI_CLI_EXIT_USAGE;
        }
        i++;
    } else {
        cmd = find_command(NULL, word);
        if (!cmd)
            return orci_cli_usage_error(NULL, "unknown command %s", word);
    }
    return cmd->run(&g, cmd, argc - i, argv + i);
}
