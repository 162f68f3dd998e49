/*
 * cmd_list.c: the listings: `project list`, `worker list`, `task list`, `certification list`,
 * `key list` (admin; project list also with a project key). Every page is fetched (or at
 * most --limit rows); --json prints one document {"<kind>":[...]}, people get a table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A listing: its JSON key, how to fetch a page, and how to print one row for people. */
typedef struct listing {
    const char *key; /* "projects" */
    int (*page)(orc_client *c, const orc_list_filter *f, char **json, orc_error *err);
    const char *header;
    void (*row)(const json_t *o);
} listing;

static const char *s_of(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

static long long i_of(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void project_row(const json_t *o)
{
    printf("%-6lld %-10s %-20s %-8s %-8lld %-27s %s\n", i_of(o, "id"), s_of(o, "status"),
           s_of(o, "workflow"), s_of(o, "version"), i_of(o, "priority"), s_of(o, "start"),
           s_of(o, "description"));
}

static void worker_row(const json_t *o)
{
    const json_t *certs = json_object_get(o, "certifications");
    printf("%-6lld %-24s %-5s %-8s %zu certification%s\n", i_of(o, "id"), s_of(o, "username"),
           json_is_true(json_object_get(o, "is_admin")) ? "admin" : "-",
           json_is_true(json_object_get(o, "has_password")) ? "password" : "none",
           json_array_size(certs), json_array_size(certs) == 1 ? "" : "s");
}

static void task_row(const json_t *o)
{
    printf("%-6lld %-8lld %-20s %-8s %-24s %s\n", i_of(o, "id"), i_of(o, "project_id"),
           s_of(o, "step"), json_is_true(json_object_get(o, "is_human")) ? "human" : "machine",
           s_of(o, "status"), s_of(o, "worker"));
}

/* list_all fetches every page (or max rows when max > 0) into one array; NULL after saying
 * why (*code the exit status). */
static json_t *list_all(const orci_cli_globals *g, const listing *l, orc_list_filter f, long max,
                        int *code)
{
    orc_client *c = NULL;
    if ((*code = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return NULL;
    json_t *all = json_array();
    for (;;) {
        char *text = NULL;
        orc_error err;
        if (max > 0 && (long)json_array_size(all) + (f.limit ? f.limit : 100) > max)
            f.limit = (int)(max - (long)json_array_size(all));
        int rc = l->page(c, &f, &text, &err);
        if (rc != ORC_OK) {
            *code = orci_cli_fail(&err, NULL);
            json_decref(all);
            all = NULL;
            break;
        }
        json_t *doc = orci_cli_parse_document(text, l->key);
        orc_free(text);
        json_array_extend(all, json_object_get(doc, l->key));
        f.after_id = (int64_t)json_integer_value(json_object_get(doc, "next_after_id"));
        json_decref(doc);
        if (f.after_id == 0 || (max > 0 && (long)json_array_size(all) >= max))
            break;
    }
    orc_client_destroy(c);
    return all;
}

/* list_print prints the rows: one JSON document, or a table. */
static int list_print(const orci_cli_globals *g, const listing *l, json_t *rows)
{
    if (g->json)
        return orci_cli_print_json(json_pack("{s:o}", l->key, rows));
    if (json_array_size(rows) == 0)
        printf("no %s\n", l->key);
    else
        printf("%s\n", l->header);
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o) l->row(o);
    json_decref(rows);
    return ORCI_CLI_EXIT_OK;
}

/* list_run parses --limit and the given filter options, then lists. */
static int list_run(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                    const listing *l, orci_cli_opt *extra, size_t n_extra, orc_list_filter *f,
                    const char **project)
{
    const char *limit = NULL;
    orci_cli_opt opts[8];
    size_t n = 0;
    opts[n++] = (orci_cli_opt){.name = "--limit", .value = &limit};
    for (size_t i = 0; i < n_extra && n < 8; i++)
        opts[n++] = extra[i];
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, n, 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    int64_t max = 0;
    if (limit && (r = orci_cli_parse_id(cmd, "--limit", limit, &max)) != ORCI_CLI_CONTINUE)
        return r;
    if (project && *project &&
        (r = orci_cli_parse_id(cmd, "--project", *project, &f->project_id)) != ORCI_CLI_CONTINUE)
        return r;
    json_t *rows = list_all(g, l, *f, (long)max, &r);
    return rows ? list_print(g, l, rows) : r;
}

static int cmd_project_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    static const listing l = {"projects", orc_project_list_json,
                              "ID     STATUS     WORKFLOW             VERSION  PRIORITY START"
                              "                       DESCRIPTION",
                              project_row};
    orc_list_filter f = {0};
    orci_cli_opt extra[] = {{.name = "--status", .value = &f.status},
                            {.name = "--workflow", .value = &f.workflow}};
    return list_run(g, cmd, argc, argv, &l, extra, 2, &f, NULL);
}

static int cmd_worker_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    static const listing l = {"workers", orc_worker_list_json,
                              "ID     USERNAME                 ADMIN LOGIN    CERTIFICATIONS",
                              worker_row};
    orc_list_filter f = {0};
    return list_run(g, cmd, argc, argv, &l, NULL, 0, &f, NULL);
}

static int cmd_task_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    static const listing l = {"tasks", orc_task_list_json,
                              "ID     PROJECT  STEP                 KIND     STATUS"
                              "                   WORKER",
                              task_row};
    orc_list_filter f = {0};
    const char *project = NULL;
    orci_cli_opt extra[] = {{.name = "--project", .value = &project},
                            {.name = "-p", .value = &project},
                            {.name = "--status", .value = &f.status}};
    return list_run(g, cmd, argc, argv, &l, extra, 3, &f, &project);
}

/* print_one_list prints a listing fetched in one call (certifications, keys). */
static int print_one_list(const orci_cli_globals *g, const char *key, int rc, char *text,
                          const orc_error *err)
{
    if (rc != ORC_OK)
        return orci_cli_fail(err, NULL);
    json_t *doc = orci_cli_parse_document(text, key);
    orc_free(text);
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *rows = json_incref(json_object_get(doc, key));
    json_decref(doc);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:o}", key, rows));
    size_t i;
    json_t *o;
    if (json_array_size(rows) == 0)
        printf("no %s\n", key);
    json_array_foreach(rows, i, o)
    {
        if (strcmp(key, "keys") == 0) {
            char *scopes = json_dumps(json_object_get(o, "scopes"), JSON_COMPACT);
            printf("%-28s %-20s %-32s %s%s\n", s_of(o, "key_id"), s_of(o, "name"),
                   scopes ? scopes : "", s_of(o, "created"),
                   json_is_null(json_object_get(o, "revoked")) ? "" : " (revoked)");
            free(scopes);
        } else {
            printf("%-24s %-20s %s\n", s_of(o, "workflow"), s_of(o, "slug"), s_of(o, "name"));
        }
    }
    json_decref(rows);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_certification_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc,
                                  char **argv)
{
    const char *workflow = NULL;
    orci_cli_opt opts[] = {{.name = "--workflow", .value = &workflow}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_client *c = NULL;
    if ((r = orci_cli_connect(g, &c)) != ORCI_CLI_EXIT_OK)
        return r;
    char *text = NULL;
    orc_error err;
    int rc = orc_certification_list_json(c, workflow, &text, &err);
    orc_client_destroy(c);
    return print_one_list(g, "certifications", rc, text, &err);
}

static int cmd_key_list(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, false, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    char *text = NULL;
    orc_error err;
    int rc = orc_key_list_json(c, &text, &err);
    orc_client_destroy(c);
    return print_one_list(g, "keys", rc, text, &err);
}

const orci_cli_command orci_cli_list_commands[] = {
    {.group = "project",
     .name = "list",
     .run = cmd_project_list,
     .usage = "[--status S] [--workflow W] [--limit N]",
     .summary = "List projects, by id (project or admin key)",
     .help = "--status Active|Paused|Aborted|Completed and --workflow SLUG filter; --limit N\n"
             "stops after N. --json prints {\"projects\":[{\"id\",\"workflow\",\"version\","
             "\"description\",\n\"priority\",\"status\",\"task_class\",\"start\"}]}.\n"},
    {.group = "worker",
     .name = "list",
     .run = cmd_worker_list,
     .usage = "[--limit N]",
     .summary = "List workers and their certifications (admin)",
     .help = "--json prints {\"workers\":[{\"id\",\"username\",\"first_name\",\"last_name\","
             "\"email\",\"is_admin\",\n\"has_password\",\"certifications\":[\"workflow/cert role "
             "class\"]}]}.\n"},
    {.group = "task",
     .name = "list",
     .run = cmd_task_list,
     .usage = "[-p ID] [--status S] [--limit N]",
     .summary = "List tasks, of every project or of one (admin)",
     .help = "--json prints {\"tasks\":[{\"id\",\"project_id\",\"step\",\"is_human\",\"status\","
             "\"start\",\"worker\"}]}\n(worker: the latest assignment's, when there is one).\n"},
    {.group = "certification",
     .name = "list",
     .run = cmd_certification_list,
     .usage = "[--workflow W]",
     .summary = "List the certifications of the loaded workflows (admin)",
     .help = "--json prints {\"certifications\":[{\"id\",\"workflow\",\"slug\",\"name\","
             "\"description\",\"required\"}]}.\n"},
    {.group = "key",
     .name = "list",
     .run = cmd_key_list,
     .usage = "",
     .summary = "List the API keys, never their secrets (admin)",
     .help = "--json prints {\"keys\":[{\"key_id\",\"name\",\"scopes\",\"created\","
             "\"revoked\"}]}.\n"},
    {0},
};
