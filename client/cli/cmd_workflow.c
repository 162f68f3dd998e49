/*
 * cmd_workflow.c: `orchestra workflow load|load-all|sample-data|list`, the upstream
 * loadworkflow, loadallworkflows, loadworkflowsampledata and workflow_types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The upstream wording of a loader failure. */
#define LOAD_ERROR_PREFIX "An error occurred while loading the workflow: "

static int cmd_load(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool force = false;
    const orci_cli_opt opts[] = {{.name = "--force", .flag = &force}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 2, 2, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    orc_workflow_ref *ref = NULL;
    int rc = orc_workflow_load(c, argv[0], argv[1], force, &ref, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, LOAD_ERROR_PREFIX);
    if (g->json)
        r = orci_cli_print_json(
            json_pack("{s:s, s:s}", "workflow", ref->workflow, "version", ref->version));
    else
        printf("Loaded workflow %s version %s\n", ref->workflow, ref->version);
    orc_workflow_ref_free(ref);
    return g->json ? r : ORCI_CLI_EXIT_OK;
}

/* load_all_print reports the outcomes; returns the exit status. */
static int load_all_print(const orci_cli_globals *g, orc_load_result *const *res, size_t n)
{
    bool failed = false;
    json_t *list = g->json ? json_array() : NULL;
    if (g->json && !list)
        return orci_cli_print_json(NULL);
    for (size_t i = 0; i < n; i++) {
        const orc_load_result *r = res[i];
        if (r->status != ORC_OK)
            failed = true;
        if (g->json) {
            json_t *o = json_pack("{s:s, s:s}", "workflow", r->workflow, "version", r->version);
            if (o && r->status != ORC_OK)
                json_object_set_new(o, "error", json_string(r->message));
            if (!o || json_array_append_new(list, o) != 0) {
                json_decref(list);
                return orci_cli_print_json(NULL);
            }
            continue;
        }
        /* On a terminal this reads as upstream's "Loading ..." then the error; a failed
         * version goes whole to stderr so that stderr alone says what failed. */
        FILE *f = r->status == ORC_OK ? stdout : stderr;
        fflush(stdout);
        if (r->workflow[0])
            fprintf(f, "Loading %s %s from %s\n", r->workflow, r->version, r->app);
        else
            fprintf(f, "Loading workflows from %s\n", r->app);
        if (r->status != ORC_OK)
            fprintf(stderr, LOAD_ERROR_PREFIX "%s\n", r->message);
    }
    if (g->json) {
        int rc = orci_cli_print_json(list);
        if (rc != ORCI_CLI_EXIT_OK)
            return rc;
    }
    return failed ? ORCI_CLI_EXIT_REFUSED : ORCI_CLI_EXIT_OK;
}

static int cmd_load_all(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool force = false;
    const orci_cli_opt opts[] = {{.name = "--force", .flag = &force}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 1, -1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    orc_load_result **res = NULL;
    size_t n = 0;
    int rc =
        orc_workflow_load_all(c, (const char *const *)argv, (size_t)n_pos, force, &res, &n, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, LOAD_ERROR_PREFIX);
    r = load_all_print(g, res, n);
    orc_load_results_free(res, n);
    return r;
}

static int cmd_sample_data(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    /* Exactly two non-empty parts around one '/'. */
    char *arg = argv[0];
    char *slash = strchr(arg, '/');
    if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/'))
        return orci_cli_usage_error(
            cmd, "Please specify the workflow and version as <workflow_slug>/<version_slug>");
    *slash = '\0';
    const char *workflow = arg, *version = slash + 1;

    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    char **users = NULL;
    size_t n = 0;
    int rc = orc_workflow_sample_data(c, workflow, version, &users, &n, &err);
    orc_client_destroy(c);
    if (rc != ORC_OK)
        return orci_cli_fail(&err, NULL);
    r = ORCI_CLI_EXIT_OK;
    if (g->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
            if (json_array_append_new(list, json_string(users[i])) != 0) {
                json_decref(list);
                list = NULL;
            }
        r = orci_cli_print_json(list ? json_pack("{s:o}", "users", list) : NULL);
    } else {
        printf("Successfully loaded sample data for %s\n", version);
    }
    for (size_t i = 0; i < n; i++)
        orc_free(users[i]);
    orc_free(users);
    return r;
}

/* list_print_text prints one line per workflow and one per version. */
static int list_print_text(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    json_t *wfs = doc ? json_object_get(doc, "workflows") : NULL;
    if (!json_is_object(wfs)) {
        json_decref(doc);
        fputs("orchestra: malformed workflow listing\n", stderr);
        return ORCI_CLI_EXIT_REFUSED;
    }
    if (json_object_size(wfs) == 0)
        printf("No workflows loaded.\n");
    const char *slug;
    json_t *wf;
    json_object_foreach(wfs, slug, wf)
    {
        const char *wname = json_string_value(json_object_get(wf, "name"));
        printf("%s  %s\n", slug, wname ? wname : "");
        const char *vslug;
        json_t *v;
        json_object_foreach(json_object_get(wf, "versions"), vslug, v)
        {
            const char *name = json_string_value(json_object_get(v, "name"));
            const char *desc = json_string_value(json_object_get(v, "description"));
            printf("  %s/%s  %s%s%s\n", slug, vslug, name ? name : "", desc && desc[0] ? ": " : "",
                   desc && desc[0] ? desc : "");
        }
    }
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_workflow_types_json(c, &text, &err);
    return orci_cli_done_document(g, c, false, rc, &err, text, list_print_text);
}

const orci_cli_command orci_cli_workflow_commands[] = {
    {
        .group = "workflow",
        .name = "load",
        .run = cmd_load,
        .usage = "DIR VERSION [--force]",
        .summary = "Load one version of the workflow folder DIR",
        .help = "DIR holds workflow.json, one sub-folder per version (version.json) and\n"
                "optionally sample_data.json. --force replaces a version already loaded.\n"
                "--json prints {\"workflow\":slug,\"version\":slug}.\n",
    },
    {
        .group = "workflow",
        .name = "load-all",
        .run = cmd_load_all,
        .usage = "DIR... [--force]",
        .summary = "Load every version of every workflow folder",
        .help = "Each DIR is a workflow folder or a folder of workflow folders. Prints\n"
                "\"Loading <workflow> <version> from <app>\" per version: on stdout when it\n"
                "loaded, on stderr followed by the error when it did not. Exits 1 when any\n"
                "version failed. --json prints a list of {\"workflow\",\"version\"}, with\n"
                "\"error\" on the failed ones.\n",
    },
    {
        .group = "workflow",
        .name = "sample-data",
        .run = cmd_sample_data,
        .usage = "SLUG/VERSION",
        .summary = "Load the sample data of a loaded workflow version",
        .help = "--json prints {\"users\":[...]}, the usernames created or updated.\n",
    },
    {
        .group = "workflow",
        .name = "list",
        .run = cmd_list,
        .usage = "",
        .summary = "List the loaded workflows and versions",
        .help = "--json prints the workflow_types document:\n"
                "{\"workflows\":{\"<slug>\":{\"name\":..,\"versions\":{\"<vslug>\":"
                "{\"name\":..,\"description\":..}}}}}\n",
    },
    {0},
};
