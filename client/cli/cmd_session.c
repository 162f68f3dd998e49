/*
 * cmd_session.c: `orchestra login`, `orchestra logout` and `orchestra dashboard`: the
 * worker's session (kept in the file of session.h) and the upstream dashboard_tasks.
 * Also the connection helper every worker command uses.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "session.h"

/* The hint printed when the worker is not, or no longer, logged in. */
#define LOGIN_HINT "run 'orchestra login USERNAME' (or set ORCHESTRA_TOKEN)"

/* env_or_null reads an environment variable, treating an empty value as unset. */
static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

/*
 * worker_connect opens the client for a worker command. When the token comes from the
 * session file, *session holds it (release with orci_session_fini) and path (path_size
 * bytes) the file's path; otherwise *session stays zeroed.
 */
static int worker_connect(const orci_cli_globals *g, orc_client **out, orci_session *session,
                          char *path, size_t path_size)
{
    orc_client_opts opts;
    orc_error err;

    memset(session, 0, sizeof *session);
    *out = NULL;
    orc_client_opts_from_env(&opts);
    opts.api_key = NULL; /* the call runs as the worker, not as the key's owner */
    opts.api_secret = NULL;
    if (!opts.token) {
        int rc = orci_session_path(path, path_size, &err);
        if (rc == ORC_OK)
            rc = orci_session_load(path, session, &err);
        if (rc == ORC_NOT_FOUND) {
            return orci_cli_error(ORC_UNAUTHENTICATED, ORCI_CLI_EXIT_REFUSED, "not logged in: %s",
                                  LOGIN_HINT);
        }
        if (rc != ORC_OK)
            return orci_cli_error(rc, ORCI_CLI_EXIT_REFUSED, "%s", err.message);
        opts.token = session->token;
        if (!opts.rpc_url)
            opts.rpc_url = session->rpc;
    }
    int r = orci_cli_connect_opts(g, &opts, out);
    if (r != ORCI_CLI_EXIT_OK)
        orci_session_fini(session);
    return r;
}

int orci_cli_connect_worker(const orci_cli_globals *g, orc_client **out)
{
    orci_session session;
    char path[4096];
    int r = worker_connect(g, out, &session, path, sizeof path);
    orci_session_fini(&session);
    return r;
}

int orci_cli_fail_worker(const orc_error *err)
{
    int r = orci_cli_fail(err, NULL);
    if (err->code == ORC_UNAUTHENTICATED && !orci_cli_json_errors())
        fprintf(stderr, "orchestra: %s\n", LOGIN_HINT);
    return r;
}

/* effective_rpc is the URL a connection made now talks to, for the session file. */
static const char *effective_rpc(const orci_cli_globals *g)
{
    if (g->rpc_url)
        return g->rpc_url;
    const char *env = env_or_null("ORCHESTRA_RPC");
    return env ? env : ORC_DEFAULT_RPC_URL;
}

static int cmd_login(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    bool from_stdin = false;
    const orci_cli_opt opts[] = {{.name = "--password-stdin", .flag = &from_stdin}};
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, opts, 1, 1, 1, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    const char *username = argv[0];
    char path[4096];
    orc_error err;
    if (orci_session_path(path, sizeof path, &err) != ORC_OK)
        return orci_cli_error(err.code, ORCI_CLI_EXIT_USAGE, "%s", err.message);
    char *password = NULL;
    if ((r = orci_cli_read_password(cmd, !from_stdin, &password)) != ORCI_CLI_CONTINUE)
        return r;

    /* Login is public: no key, and no stale token that would make the server refuse. */
    orc_client_opts copts;
    orc_client_opts_from_env(&copts);
    copts.api_key = NULL;
    copts.api_secret = NULL;
    copts.token = NULL;
    orc_client *c = NULL;
    if ((r = orci_cli_connect_opts(g, &copts, &c)) != ORCI_CLI_EXIT_OK) {
        orci_cli_free_secret(password);
        return r;
    }
    char *token = NULL;
    int64_t expires_us = 0;
    int rc = orc_login(c, username, password, &token, &expires_us, &err);
    orci_cli_free_secret(password);
    if (rc != ORC_OK) {
        orc_client_destroy(c);
        return orci_cli_fail(&err, NULL);
    }
    char expires[40];
    orci_time_format(expires_us, expires, sizeof expires);
    orci_session s = {
        .rpc = (char *)effective_rpc(g),
        .username = (char *)username,
        .token = token,
        .expires_at = expires_us > 0 ? expires : NULL,
    };
    rc = orci_session_save(path, &s, &err);
    orci_cli_free_secret(token);
    if (rc != ORC_OK) {
        /* Do not leave a live session nobody can find. */
        orc_error ignored;
        orc_logout(c, &ignored);
        orc_client_destroy(c);
        return orci_cli_error(err.code, ORCI_CLI_EXIT_REFUSED, "%s", err.message);
    }
    orc_client_destroy(c);
    if (g->json)
        return orci_cli_print_json(json_pack("{s:s}", "username", username));
    printf("Logged in as %s (session saved in %s", username, path);
    if (expires_us > 0)
        printf(", valid until %s", expires);
    printf(")\n");
    return ORCI_CLI_EXIT_OK;
}

static int cmd_logout(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    int n_pos;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, 0, 0, &n_pos);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orci_session session;
    char path[4096];
    orc_client *c = NULL;
    if ((r = worker_connect(g, &c, &session, path, sizeof path)) != ORCI_CLI_EXIT_OK)
        return r;
    orc_error err;
    int rc = orc_logout(c, &err);
    orc_client_destroy(c);
    bool from_file = session.token != NULL;
    orci_session_fini(&session);
    /* A session the server no longer knows (expired, revoked) is over all the same. */
    if (rc != ORC_OK && rc != ORC_UNAUTHENTICATED)
        return orci_cli_fail(&err, NULL);
    if (from_file) {
        orc_error rm_err;
        int rm = orci_session_remove(path, &rm_err);
        if (rm != ORC_OK && rm != ORC_NOT_FOUND)
            return orci_cli_error(rm, ORCI_CLI_EXIT_REFUSED, "%s", rm_err.message);
    }
    if (g->json)
        return orci_cli_print_json(json_object());
    if (rc == ORC_UNAUTHENTICATED)
        printf("Logged out (the session had already ended)\n");
    else
        printf("Logged out\n");
    return ORCI_CLI_EXIT_OK;
}

/* The dashboard lists in upstream's order, with their titles. */
static const struct {
    const char *key;
    const char *title;
} dashboard_lists[] = {
    {"in_progress", "In progress"},
    {"returned", "Returned from reviewer"},
    {"pending_review", "Pending review"},
    {"pending_processing", "Pending update"},
    {"complete", "Complete"},
};

/* text_or_empty returns the string member key of o, or "". */
static const char *text_or_empty(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* dashboard_print_text prints the five lists, one line per task, and the two flags. */
static int dashboard_print_text(const char *text)
{
    json_t *doc = orci_cli_parse_document(text, "dashboard");
    if (!doc)
        return ORCI_CLI_EXIT_REFUSED;
    json_t *tasks = json_object_get(doc, "tasks");
    for (size_t i = 0; i < sizeof dashboard_lists / sizeof dashboard_lists[0]; i++) {
        json_t *list = json_object_get(tasks, dashboard_lists[i].key);
        printf("%s (%zu)%s\n", dashboard_lists[i].title, json_array_size(list),
               json_array_size(list) ? ":" : "");
        size_t k;
        json_t *t;
        json_array_foreach(list, k, t)
        {
            printf("  #%" JSON_INTEGER_FORMAT " %s - %s: %s\n",
                   json_integer_value(json_object_get(t, "id")), text_or_empty(t, "step"),
                   text_or_empty(t, "project"), text_or_empty(t, "detail"));
        }
    }
    printf("preventNew: %s\nreviewerStatus: %s\n",
           json_is_true(json_object_get(doc, "preventNew")) ? "true" : "false",
           json_is_true(json_object_get(doc, "reviewerStatus")) ? "true" : "false");
    json_decref(doc);
    return ORCI_CLI_EXIT_OK;
}

static int cmd_dashboard(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv)
{
    orc_client *c = NULL;
    int r = orci_cli_open(g, cmd, argc, argv, 0, NULL, NULL, true, &c);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    orc_error err;
    char *text = NULL;
    int rc = orc_dashboard_json(c, &text, &err);
    return orci_cli_done_document(g, c, true, rc, &err, text, dashboard_print_text);
}

const orci_cli_command orci_cli_session_commands[] = {
    {
        .name = "login",
        .run = cmd_login,
        .usage = "USERNAME [--password-stdin]",
        .summary = "Log in as a worker and save the session",
        .help = "Asks for the password without echo when stdin is a terminal; with\n"
                "--password-stdin (or without a terminal) reads it from the first line of\n"
                "stdin. The session is saved in $ORCHESTRA_SESSION, else\n"
                "$XDG_CONFIG_HOME/orchestra/session, else ~/.config/orchestra/session\n"
                "(mode 0600), and used by the worker commands (dashboard, task new|show|\n"
                "save|submit|accept|return) unless ORCHESTRA_TOKEN is set.\n"
                "--json prints {\"username\":...}.\n",
    },
    {
        .name = "logout",
        .run = cmd_logout,
        .usage = "",
        .summary = "End the worker session and delete the saved session",
        .help = "Revokes the session on the server (ORCHESTRA_TOKEN's, else the saved one)\n"
                "and deletes the session file it came from. --json prints {}.\n",
    },
    {
        .name = "dashboard",
        .run = cmd_dashboard,
        .usage = "",
        .summary = "Show the worker's tasks (in progress, returned, pending, complete)",
        .help = "Prints one line per task: #<task id> <step> - <project>: <detail>, then the\n"
                "preventNew and reviewerStatus flags. --json prints the dashboard_tasks\n"
                "document: {\"tasks\":{\"in_progress\":[],\"returned\":[],\"pending_review\":[],\n"
                "\"pending_processing\":[],\"complete\":[]},\"preventNew\":b,"
                "\"reviewerStatus\":b}\n",
    },
    {0},
};
