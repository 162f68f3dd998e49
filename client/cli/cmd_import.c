/*
 * cmd_import.c: what a team switching from upstream Orchestra runs: `orchestra import FILE`
 * (an upstream database, as `manage.py dumpdata orchestra auth.User` writes it) and
 * `orchestra worker password USERNAME --password-stdin` (the password the workers it
 * brought need before they can log in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "files.h"

/* The coordinator's default --max-message: a larger request needs a larger one. */
#define DEFAULT_MAX_MESSAGE (4u * 1024 * 1024)
/* An import may write many rows: a longer wait than a call's default, unless --timeout. */
#define IMPORT_TIMEOUT_MS 600000

/* print_counts prints one line per model of the report's "counts". */
static void print_counts(const json_t *counts)
{
    const char *model;
    json_t *c;
    json_object_foreach((json_t *)counts, model, c)
    {
        json_int_t created = json_integer_value(json_object_get(c, "created"));
        json_int_t existing = json_integer_value(json_object_get(c, "existing"));
        if (created == 0 && existing == 0)
            continue;
        printf("  %-31s %" JSON_INTEGER_FORMAT " created, %" JSON_INTEGER_FORMAT " already here\n",
               model, created, existing);
    }
}

/* import_print_text renders the report for people: counts, skipped models, warnings, and
 * the users who need a password (with the command that sets one). */
static int import_print_text(const char *file, const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "import report");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    printf("Imported %s:\n", file);
    print_counts(json_object_get(doc, "counts"));
    const char *model;
    json_t *v;
    json_object_foreach(json_object_get(doc, "skipped"), model, v)
    {
        printf("  %-31s %" JSON_INTEGER_FORMAT " skipped (not imported)\n", model,
               json_integer_value(v));
    }
    size_t i;
    json_array_foreach(json_object_get(doc, "warnings"), i, v)
    {
        printf("warning: %s\n", json_string_value(v));
    }
    json_t *users = json_object_get(doc, "users_without_password");
    if (json_array_size(users) > 0) {
        printf("These users have no password yet and cannot log in until one is set with\n"
               "`orchestra worker password USERNAME --password-stdin`:\n");
        json_array_foreach(users, i, v)
        {
            printf("  %s\n", json_string_value(v));
        }
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_import(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    const char *file = argv[0];
    char *text = NULL;
    size_t len = 0;
    orc_error err;
    if (orci_read_file(file, ORC_IMPORT_MAX_BYTES, &text, &len, &err) != ORC_OK)
        return orci_cli_usage_error(cmd, "%s", err.message);
    if (g->timeout_ms == 0)
        g->timeout_ms = IMPORT_TIMEOUT_MS;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK) {
        free(text);
        return r;
    }
    char *report = NULL;
    int rc = orc_import_fixture(c, text, len, &report, &err);
    orc_client_destroy(c);
    free(text);
    if (rc != ORC_OK) {
        if (rc == ORC_UNAVAILABLE && len > DEFAULT_MAX_MESSAGE && !g->json)
            fprintf(stderr,
                    "orchestra: the fixture is %zu bytes; orchestrad refuses requests larger than "
                    "its --max-message (default %u bytes)\n",
                    len, DEFAULT_MAX_MESSAGE);
        return orci_cli_fail(&err, "The import failed, nothing was imported: ");
    }
    r = g->json ? orci_cli_print_document(report) : import_print_text(file, report);
    orc_free(report);
    return r;
}

static int cmd_password(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool from_stdin = false;
    const orci_cli_opt opts[] = {{.name = "--password-stdin", .flag = &from_stdin}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, sizeof opts / sizeof opts[0], 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    /* A password on the command line would show in ps and in the shell's history. */
    if (!from_stdin)
        return orci_cli_usage_error(cmd, "--password-stdin is required (the password is read "
                                         "from the first line of stdin)");
    char *password = NULL;
    if ((r = orci_cli_read_password(cmd, false, &password)) != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK) {
        orci_cli_free_secret(password);
        return r;
    }
    orc_error err;
    int rc = orc_worker_set_password(c, argv[0], password, &err);
    orci_cli_free_secret(password);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:s}", "username", argv[0]));
    printf("Set the password of %s (their sessions are signed out)\n", argv[0]);
    return ORCI_CLI_EXIT_OK;
}

const orci_cli_command orci_cli_import_commands[] = {
    {
        .name = "import",
        .run = cmd_import,
        .usage = "FILE",
        .summary = "Import an upstream database (manage.py dumpdata orchestra auth.User)",
        .help =
            "FILE is the JSON upstream's `manage.py dumpdata orchestra auth.User` writes (at\n"
            "most 16 MiB). Workflows, versions, steps, certifications, users and workers,\n"
            "their certifications, projects, tasks, assignments, iterations and time\n"
            "entries are imported in one transaction: on any error nothing is imported and\n"
            "the message names the record (\"orchestra.task pk 12: ...\"). Ids are kept where\n"
            "they are free; statuses and times as they were. Load the workflow folders\n"
            "first: the import then adopts them by slug. A second import of the same file\n"
            "changes nothing. Users come without a password (listed at the end).\n"
            "--json prints {\"counts\":{\"<model>\":{\"created\":N,\"existing\":N}},\n"
            "\"skipped\":{\"<model>\":N},\"users_without_password\":[...],\"warnings\":[...]}.\n",
    },
    {
        .group = "worker",
        .name = "password",
        .run = cmd_password,
        .usage = "USERNAME --password-stdin",
        .summary = "Set a worker's password, e.g. of an imported worker (admin)",
        .help = "Reads the password from the first line of stdin. The worker's sessions are\n"
                "signed out. --json prints {\"username\":...}.\n",
    },
    {0},
};
