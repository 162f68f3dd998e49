/*
 * cli_util.c: argument parsing, connection and output helpers shared by the commands.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

/* The longest --timeout accepted: one day. */
#define CLI_TIMEOUT_MAX_MS 86400000L
/* The longest password accepted, in bytes. */
#define CLI_PASSWORD_MAX 1024

void orci_cli_print_usage_line(const orci_cli_command *cmd, FILE *f)
{
    if (!cmd) {
        fprintf(f, "usage: orchestra [--rpc URL] [--json] [--tls-ca FILE] [--timeout MS] "
                   "COMMAND [ARGS]\n"
                   "Try 'orchestra --help' for the list of commands.\n");
        return;
    }
    fprintf(f, "usage: orchestra %s%s%s%s%s\n", cmd->group ? cmd->group : "", cmd->group ? " " : "",
            cmd->name, cmd->usage && cmd->usage[0] ? " " : "", cmd->usage ? cmd->usage : "");
}

int orci_cli_usage_error(const orci_cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("orchestra: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    orci_cli_print_usage_line(cmd, stderr);
    return ORCI_CLI_EXIT_USAGE;
}

void orci_cli_print_help(const orci_cli_command *cmd)
{
    orci_cli_print_usage_line(cmd, stdout);
    printf("\n%s\n", cmd->summary);
    if (cmd->help)
        printf("\n%s", cmd->help);
    printf("\nGlobal options (before or after the command):\n"
           "  --rpc URL      orchestrad address (else $ORCHESTRA_RPC, else %s)\n"
           "  --json         print exactly one JSON document on stdout\n"
           "  --tls-ca FILE  CA bundle for tls+tcp:// (else $ORCHESTRA_TLS_CA)\n"
           "  --timeout MS   per-call timeout in milliseconds (default 30000)\n"
           "Credentials: ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET; worker commands use\n"
           "ORCHESTRA_TOKEN, else the session saved by `orchestra login`.\n",
           ORC_DEFAULT_RPC_URL);
}

/*
 * option_value returns the value of option `name` at argv[*i]: "--name=value" or
 * "--name value" (advancing *i). NULL when argv[*i] is not that option; *missing is set
 * when it is but the value is missing.
 */
static const char *option_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    *missing = false;
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int orci_cli_global_option(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                           int *i)
{
    static const char *const with_value[] = {"--rpc", "--tls-ca", "--timeout"};
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        g->json = true;
        return 1;
    }
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
        bool missing;
        const char *v = option_value(with_value[k], argc, argv, i, &missing);
        if (missing)
            return orci_cli_usage_error(cmd, "option %s needs a value", with_value[k]);
        if (!v)
            continue;
        if (k == 0) {
            if (!v[0])
                return orci_cli_usage_error(cmd, "--rpc needs a URL");
            g->rpc_url = v;
        } else if (k == 1) {
            g->tls_ca = v;
        } else {
            char *end;
            errno = 0;
            long ms = strtol(v, &end, 10);
            if (errno || end == v || *end || ms <= 0 || ms > CLI_TIMEOUT_MAX_MS)
                return orci_cli_usage_error(
                    cmd, "--timeout needs milliseconds between 1 and %ld, not \"%s\"",
                    CLI_TIMEOUT_MAX_MS, v);
            g->timeout_ms = (int)ms;
        }
        return 1;
    }
    return 0;
}

/* command_option consumes one of the command's own options at argv[*i]; same returns as
 * orci_cli_global_option. */
static int command_option(const orci_cli_command *cmd, const orci_cli_opt *opts, size_t n_opts,
                          int argc, char **argv, int *i)
{
    for (size_t k = 0; k < n_opts; k++) {
        const orci_cli_opt *o = &opts[k];
        if (!o->value) {
            if (strcmp(argv[*i], o->name) != 0)
                continue;
            *o->flag = true;
            return 1;
        }
        bool missing;
        const char *v = option_value(o->name, argc, argv, i, &missing);
        if (missing)
            return orci_cli_usage_error(cmd, "option %s needs a value", o->name);
        if (!v)
            continue;
        *o->value = v;
        return 1;
    }
    return 0;
}

int orci_cli_parse(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                   const orci_cli_opt *opts, size_t n_opts, int min_pos, int max_pos, int *n_pos)
{
    int n = 0;
    bool options_done = false;
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        /* "-" and negative numbers are operands. */
        bool operand = a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9');
        if (options_done || operand) {
            argv[n++] = a; /* n <= i: operands move towards the front */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            orci_cli_print_help(cmd);
            return ORCI_CLI_EXIT_OK;
        }
        int r = command_option(cmd, opts, n_opts, argc, argv, &i);
        if (r == 0)
            r = orci_cli_global_option(g, cmd, argc, argv, &i);
        if (r == 0)
            return orci_cli_usage_error(cmd, "unknown option %s", a);
        if (r != 1)
            return r;
    }
    if (n < min_pos)
        return orci_cli_usage_error(cmd, "missing argument%s", min_pos - n > 1 ? "s" : "");
    if (max_pos >= 0 && n > max_pos)
        return orci_cli_usage_error(cmd, "unexpected argument %s", argv[max_pos]);
    *n_pos = n;
    return ORCI_CLI_CONTINUE;
}

int orci_cli_exit_code(int code)
{
    if (code == ORC_OK)
        return ORCI_CLI_EXIT_OK;
    return code == ORC_UNAVAILABLE ? ORCI_CLI_EXIT_UNAVAILABLE : ORCI_CLI_EXIT_REFUSED;
}

int orci_cli_fail(const orc_error *err, const char *prefix)
{
    fflush(stdout);
    /* Transport failures are not the server's words: never dress them as a refusal. */
    if (err->code == ORC_UNAVAILABLE || !prefix)
        prefix = "";
    fprintf(stderr, "%s%s\n", prefix,
            err->message[0] ? err->message : orc_code_default_message(err->code));
    return orci_cli_exit_code(err->code);
}

int orci_cli_connect(const orci_cli_globals *g, orc_client **out)
{
    orc_client_opts opts;
    orc_client_opts_from_env(&opts);
    return orci_cli_connect_opts(g, &opts, out);
}

int orci_cli_connect_opts(const orci_cli_globals *g, orc_client_opts *opts, orc_client **out)
{
    orc_error err;
    if (g->rpc_url)
        opts->rpc_url = g->rpc_url;
    if (g->tls_ca)
        opts->tls_ca_file = g->tls_ca;
    opts->timeout_ms = g->timeout_ms;
    int rc = orc_client_new(opts, out, &err);
    if (rc == ORC_OK)
        return ORCI_CLI_EXIT_OK;
    fprintf(stderr, "orchestra: %s\n", err.message);
    if (rc == ORC_INVALID_ARGUMENT)
        return ORCI_CLI_EXIT_USAGE;
    return orci_cli_exit_code(rc);
}

int orci_cli_print_json(json_t *doc)
{
    if (!doc) {
        fputs("orchestra: out of memory\n", stderr);
        return ORCI_CLI_EXIT_REFUSED;
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(doc);
    if (!text) {
        fputs("orchestra: cannot encode the JSON output\n", stderr);
        return ORCI_CLI_EXIT_REFUSED;
    }
    printf("%s\n", text);
    free(text);
    return ORCI_CLI_EXIT_OK;
}

int orci_cli_parse_id(const orci_cli_command *cmd, const char *what, const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v <= 0)
        return orci_cli_usage_error(cmd, "%s must be a positive integer, not \"%s\"", what, text);
    *out = (int64_t)v;
    return ORCI_CLI_CONTINUE;
}

int orci_cli_check_json_object(const orci_cli_command *cmd, const char *opt, const char *text)
{
    orc_error err;
    json_t *doc = orci_json_parse_object(text, strlen(text), opt, &err);
    if (!doc)
        return orci_cli_usage_error(cmd, "%s needs a JSON object: %s", opt, err.message);
    json_decref(doc);
    return ORCI_CLI_CONTINUE;
}

void orci_cli_free_secret(char *s)
{
    if (!s)
        return;
    memset(s, 0, strlen(s));
    free(s);
}

/* read_line reads the first line of stdin into *out, without its line ending. -1 when
 * nothing could be read. */
static int read_line(char **out)
{
    char *line = NULL;
    size_t cap = 0;
    *out = NULL;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return -1;
    }
    size_t len = (size_t)n;
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    *out = line;
    return 0;
}

int orci_cli_read_password(const orci_cli_command *cmd, bool may_prompt, char **out)
{
    struct termios saved, quiet;
    bool prompt = may_prompt && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    *out = NULL;
    if (prompt) {
        fputs("Password: ", stderr);
        fflush(stderr);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) != 0)
            prompt = false; /* the echo could not be turned off: still read, as a pipe */
    }
    char *line;
    int r = read_line(&line);
    if (prompt) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        fputc('\n', stderr);
    }
    if (r != 0)
        return orci_cli_usage_error(cmd, "no password on standard input");
    if (!line[0]) {
        free(line);
        return orci_cli_usage_error(cmd, "the password is empty");
    }
    if (strlen(line) > CLI_PASSWORD_MAX) {
        orci_cli_free_secret(line);
        return orci_cli_usage_error(cmd, "the password is longer than %d bytes", CLI_PASSWORD_MAX);
    }
    *out = line;
    return ORCI_CLI_CONTINUE;
}

int orci_cli_print_document(const char *text)
{
    size_t n = strlen(text);
    /* The server's documents are compact: one line, as --json promises. */
    fputs(text, stdout);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', stdout);
    return ORCI_CLI_EXIT_OK;
}

json_t *orci_cli_parse_document(const char *text, const char *what)
{
    json_t *doc = json_loads(text, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        fflush(stdout);
        fprintf(stderr, "orchestra: malformed %s from the server\n", what);
        return NULL;
    }
    return doc;
}
