/*
 * cli_util.c: argument parsing, connection and output helpers shared by the commands.
 */
#include <errno.h>
#include <getopt.h>
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

/*
 * With --json, errors are one JSON document on stderr too (CONTRACT.md):
 * {"code":"NOT_FOUND","message":"..."}. Set once, when --json is read, for the whole run
 * (a short-lived process; every error path reads it).
 */
static bool cli_json_errors;

void orci_cli_error_doc(int code, const char *message)
{
    fflush(stdout);
    json_t *doc = json_pack("{s:s,s:s}", "code", orc_code_name(code), "message", message);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    fprintf(stderr, "%s\n", text ? text : "{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}");
    free(text);
    json_decref(doc);
}

bool orci_cli_json_errors(void)
{
    return cli_json_errors;
}

int orci_cli_error(int code, int exit_code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cli_json_errors)
        orci_cli_error_doc(code, msg);
    else
        fprintf(stderr, "orchestra: %s\n", msg);
    return exit_code;
}

int orci_cli_usage_error(const orci_cli_command *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cli_json_errors) {
        orci_cli_error_doc(ORC_INVALID_ARGUMENT, msg);
        return ORCI_CLI_EXIT_USAGE;
    }
    fprintf(stderr, "orchestra: %s\n", msg);
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
           "  --rpc URL[,URL...]  orchestrad address, or the coordinators of one database\n"
           "                 (else $ORCHESTRA_RPC, else %s)\n"
           "  --json         print exactly one JSON document on stdout\n"
           "  --tls-ca FILE  CA bundle for tls+tcp:// (else $ORCHESTRA_TLS_CA)\n"
           "  --timeout MS   per-call timeout in milliseconds (default 30000)\n"
           "Credentials: ORCHESTRA_API_KEY and ORCHESTRA_API_SECRET; worker commands use\n"
           "ORCHESTRA_TOKEN, else the session saved by `orchestra login`.\n",
           ORC_DEFAULT_RPC_URL);
}

/* The global options, as getopt_long sees them (codes CLI_GLOBAL + index). */
enum { CLI_GLOBAL = 2000, CLI_OWN = 1000, CLI_MAX_OPTS = 64 };
static const struct option cli_globals[] = {
    {"rpc", required_argument, NULL, CLI_GLOBAL + 0},
    {"tls-ca", required_argument, NULL, CLI_GLOBAL + 1},
    {"timeout", required_argument, NULL, CLI_GLOBAL + 2},
    {"json", no_argument, NULL, CLI_GLOBAL + 3},
};
#define CLI_N_GLOBALS (sizeof cli_globals / sizeof cli_globals[0])

int orci_cli_set_global(orci_cli_globals *g, const orci_cli_command *cmd, int code,
                        const char *value)
{
    switch (code - CLI_GLOBAL) {
    case 0:
        if (!value[0])
            return orci_cli_usage_error(cmd, "--rpc needs a URL");
        g->rpc_url = value;
        return 1;
    case 1:
        g->tls_ca = value;
        return 1;
    case 2: {
        char *end;
        errno = 0;
        long ms = strtol(value, &end, 10);
        if (errno || end == value || *end || ms <= 0 || ms > CLI_TIMEOUT_MAX_MS)
            return orci_cli_usage_error(
                cmd, "--timeout needs milliseconds between 1 and %ld, not \"%s\"",
                CLI_TIMEOUT_MAX_MS, value);
        g->timeout_ms = (int)ms;
        return 1;
    }
    case 3:
        g->json = true;
        cli_json_errors = true;
        return 1;
    default:
        return 0;
    }
}

size_t orci_cli_global_longopts(struct option *out, size_t room)
{
    size_t n = CLI_N_GLOBALS < room ? CLI_N_GLOBALS : room;
    memcpy(out, cli_globals, n * sizeof *out);
    return n;
}

/*
 * cli_getopt_table turns the command's options and the global ones into getopt_long's long
 * options (lo, NULL-terminated) and short ones (shorts: ":h" then "p:" for a "-p" taking a
 * value). Returns -1 when the table is too large (a programming error).
 */
static int cli_getopt_table(const orci_cli_opt *opts, size_t n_opts, struct option *lo,
                            char *shorts, size_t shorts_size)
{
    size_t n = 0, k = 0;
    shorts[k++] = ':'; /* report a missing value as ':' */
    shorts[k++] = 'h';
    for (size_t i = 0; i < n_opts; i++) {
        const char *name = opts[i].name;
        if (name[0] == '-' && name[1] == '-') {
            if (n + 1 >= CLI_MAX_OPTS)
                return -1;
            lo[n++] = (struct option){name + 2, opts[i].value ? required_argument : no_argument,
                                      NULL, CLI_OWN + (int)i};
        } else if (k + 3 < shorts_size) {
            shorts[k++] = name[1];
            if (opts[i].value)
                shorts[k++] = ':';
        } else {
            return -1;
        }
    }
    shorts[k] = '\0';
    if (n + CLI_N_GLOBALS + 2 > CLI_MAX_OPTS)
        return -1;
    n += orci_cli_global_longopts(lo + n, CLI_N_GLOBALS);
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){NULL, 0, NULL, 0};
    return 0;
}

/* cli_take sets the option the getopt code c stands for; same returns as
 * orci_cli_set_global (1 taken, 0 not an option of this table). */
static int cli_take(orci_cli_globals *g, const orci_cli_command *cmd, const orci_cli_opt *opts,
                    size_t n_opts, int c)
{
    const orci_cli_opt *o = NULL;
    if (c >= CLI_OWN && c < CLI_OWN + (int)n_opts)
        o = &opts[c - CLI_OWN];
    for (size_t i = 0; !o && c > 0 && c < 128 && i < n_opts; i++)
        if (opts[i].name[0] == '-' && opts[i].name[1] == c && opts[i].name[2] == '\0')
            o = &opts[i];
    if (!o)
        return orci_cli_set_global(g, cmd, c, optarg ? optarg : "");
    if (o->value)
        *o->value = optarg;
    else
        *o->flag = true;
    return 1;
}

int orci_cli_parse(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                   const orci_cli_opt *opts, size_t n_opts, int min_pos, int max_pos, int *n_pos)
{
    struct option lo[CLI_MAX_OPTS];
    char shorts[64];
    *n_pos = 0;
    if (cli_getopt_table(opts, n_opts, lo, shorts, sizeof shorts) != 0)
        return orci_cli_usage_error(cmd, "too many options");
    /* getopt_long wants a program name first, and permutes what it is given: a copy. */
    char **args = malloc(((size_t)argc + 2) * sizeof *args);
    if (!args)
        return orci_cli_usage_error(cmd, "out of memory");
    args[0] = (char *)"orchestra";
    memcpy(args + 1, argv, (size_t)argc * sizeof *args);
    args[argc + 1] = NULL;
    int rc = ORCI_CLI_CONTINUE, c;
    opterr = 0;
    optind = 0; /* start afresh (glibc), whatever an earlier parse left */
    while (rc == ORCI_CLI_CONTINUE && (c = getopt_long(argc + 1, args, shorts, lo, NULL)) != -1) {
        const char *bad = args[optind - 1];
        if (c == 'h') {
            orci_cli_print_help(cmd);
            rc = ORCI_CLI_EXIT_OK;
        } else if (c == ':') {
            rc = orci_cli_usage_error(cmd, "option %s needs a value", bad);
        } else if (c == '?') {
            rc = orci_cli_usage_error(cmd, "unknown option %s", bad);
        } else {
            int r = cli_take(g, cmd, opts, n_opts, c);
            if (r != 1)
                rc = r == 0 ? orci_cli_usage_error(cmd, "unknown option %s", bad) : r;
        }
    }
    int n = argc + 1 - optind;
    if (rc == ORCI_CLI_CONTINUE) {
        memcpy(argv, args + optind, (size_t)n * sizeof *argv);
        if (n < min_pos)
            rc = orci_cli_usage_error(cmd, "missing argument%s", min_pos - n > 1 ? "s" : "");
        else if (max_pos >= 0 && n > max_pos)
            rc = orci_cli_usage_error(cmd, "unexpected argument %s", argv[max_pos]);
        else
            *n_pos = n;
    }
    free(args);
    return rc;
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
    const char *msg = err->message[0] ? err->message : orc_code_default_message(err->code);
    if (cli_json_errors) {
        orci_cli_error_doc(err->code, msg);
        return orci_cli_exit_code(err->code);
    }
    /* Transport failures are not the server's words: never dress them as a refusal. */
    if (err->code == ORC_UNAVAILABLE || !prefix)
        prefix = "";
    fprintf(stderr, "%s%s\n", prefix, msg);
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
    if (cli_json_errors)
        orci_cli_error_doc(rc, err.message);
    else
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

int orci_cli_open(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                  int n_pos, const char *id_name, int64_t *id, bool worker, orc_client **c)
{
    int parsed;
    int r = orci_cli_parse(g, cmd, argc, argv, NULL, 0, n_pos, n_pos, &parsed);
    if (r != ORCI_CLI_CONTINUE)
        return r;
    if (id_name && (r = orci_cli_parse_id(cmd, id_name, argv[0], id)) != ORCI_CLI_CONTINUE)
        return r;
    r = worker ? orci_cli_connect_worker(g, c) : orci_cli_connect(g, c);
    return r == ORCI_CLI_EXIT_OK ? ORCI_CLI_CONTINUE : r;
}

/* done_failed closes c and prints a failed call's error; the exit status. */
static int done_failed(orc_client *c, bool worker, const orc_error *err)
{
    orc_client_destroy(c);
    return worker ? orci_cli_fail_worker(err) : orci_cli_fail(err, NULL);
}

int orci_cli_done(const orci_cli_globals *g, orc_client *c, bool worker, int rc,
                  const orc_error *err, const char *fmt, ...)
{
    if (rc != ORC_OK)
        return done_failed(c, worker, err);
    orc_client_destroy(c);
    if (g->json)
        return orci_cli_print_json(json_object());
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return ORCI_CLI_EXIT_OK;
}

int orci_cli_done_document(const orci_cli_globals *g, orc_client *c, bool worker, int rc,
                           const orc_error *err, char *text, int (*print)(const char *text))
{
    if (rc != ORC_OK) {
        orc_free(text);
        return done_failed(c, worker, err);
    }
    orc_client_destroy(c);
    int r = g->json ? orci_cli_print_document(text) : print(text);
    orc_free(text);
    return r;
}
