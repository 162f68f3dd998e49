/*
 * cli.h: the pieces shared by the `orchestra` command's files.
 *
 * The CLI holds no business logic: each command parses its arguments, makes one or a few
 * library calls and prints text or (with --json) exactly one JSON document on stdout.
 * Commands live in per-group tables (cmd_<group>.c); main.c lists the tables, parses the
 * global options and dispatches. Adding a command means adding a handler and a table row
 * in its group's file; adding a group means a new file and one line in main.c.
 *
 * Exit status (CONTRACT.md): 0 success, 1 the server refused, 2 usage error, 3 the server
 * cannot be reached. Single-threaded.
 */
#ifndef ORCI_CLI_H
#define ORCI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "orchestra/client.h"

#define ORCI_CLI_VERSION ORC_VERSION

enum {
    ORCI_CLI_EXIT_OK = 0,
    ORCI_CLI_EXIT_REFUSED = 1,
    ORCI_CLI_EXIT_USAGE = 2,
    ORCI_CLI_EXIT_UNAVAILABLE = 3,
    /* Returned by the parsing helpers when the command should go on. */
    ORCI_CLI_CONTINUE = -1,
};

/* orci_cli_globals holds the global options; strings point into argv. */
typedef struct orci_cli_globals {
    const char *rpc_url; /* NULL: $ORCHESTRA_RPC, else the default */
    const char *tls_ca;  /* NULL: $ORCHESTRA_TLS_CA */
    int timeout_ms;      /* 0: the library default */
    bool json;
} orci_cli_globals;

typedef struct orci_cli_command orci_cli_command;

/*
 * orci_cli_handler runs one command. argv[0..argc) are the words after the command's name
 * (options and operands, in any order). Returns the exit status.
 */
typedef int (*orci_cli_handler)(orci_cli_globals *g, const orci_cli_command *cmd, int argc,
                                char **argv);

struct orci_cli_command {
    const char *group; /* "workflow"; NULL for a top-level command */
    const char *name;  /* "load" */
    orci_cli_handler run;
    const char *usage;   /* what follows the name: "DIR VERSION [--force]" */
    const char *summary; /* one line for the command list */
    const char *help;    /* more lines for `--help` (options, output); may be NULL */
};

/* Command tables, each ended by an all-zero row. */
extern const orci_cli_command orci_cli_system_commands[];
extern const orci_cli_command orci_cli_workflow_commands[];
extern const orci_cli_command orci_cli_project_commands[];
extern const orci_cli_command orci_cli_worker_commands[];
extern const orci_cli_command orci_cli_task_commands[];
extern const orci_cli_command orci_cli_session_commands[];
extern const orci_cli_command orci_cli_job_commands[];
extern const orci_cli_command orci_cli_time_commands[];
extern const orci_cli_command orci_cli_demo_commands[];
extern const orci_cli_command orci_cli_events_commands[];
extern const orci_cli_command orci_cli_import_commands[];
extern const orci_cli_command orci_cli_list_commands[];
extern const orci_cli_command orci_cli_notify_commands[];

/* orci_cli_opt describes one command option: a flag (value NULL) or one taking a value. */
typedef struct orci_cli_opt {
    const char *name;   /* "--force" */
    bool *flag;         /* set to true when present (flags) */
    const char **value; /* receives the value (options with a value) */
} orci_cli_opt;

/*
 * orci_cli_global_longopts copies the global options (--rpc URL, --tls-ca FILE, --timeout MS,
 * --json) as getopt_long entries into out (room entries at most) and returns how many; each
 * entry's val is the code orci_cli_set_global takes.
 */
size_t orci_cli_global_longopts(struct option *out, size_t room);

/*
 * orci_cli_set_global sets the global option whose getopt code is code to value. Returns 1
 * when it was a global option, 0 when not, or ORCI_CLI_EXIT_USAGE after printing the problem
 * (cmd names the command for the usage line; NULL for the top level).
 */
int orci_cli_set_global(orci_cli_globals *g, const orci_cli_command *cmd, int code,
                        const char *value);

/*
 * orci_cli_parse parses a command's words with getopt_long: the options in opts (n_opts),
 * the global options and --help anywhere (before or after operands), "--" ending options;
 * "--name value", "--name=value", "-p value" and "-pvalue" all work. The operands are moved
 * to the front of argv and counted in *n_pos, which must lie in [min_pos, max_pos]
 * (max_pos < 0: no limit).
 * Returns ORCI_CLI_CONTINUE, ORCI_CLI_EXIT_OK after printing --help, or
 * ORCI_CLI_EXIT_USAGE after printing the problem and the usage line.
 */
int orci_cli_parse(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                   const orci_cli_opt *opts, size_t n_opts, int min_pos, int max_pos, int *n_pos);

/*
 * orci_cli_error_doc prints an error as one JSON document on stderr,
 * {"code":"<status name>","message":...} (the --json form of every error).
 */
void orci_cli_error_doc(int code, const char *message);

/*
 * orci_cli_error says what went wrong, "orchestra: <message>" on stderr (or, with --json,
 * the JSON document with code's name), and returns exit_code.
 */
int orci_cli_error(int code, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* orci_cli_json_errors says whether --json was given: errors are then JSON documents. */
bool orci_cli_json_errors(void);

/* orci_cli_usage_error prints "orchestra: <message>" and the command's usage line on stderr
 * and returns ORCI_CLI_EXIT_USAGE. cmd NULL: the top-level usage. */
int orci_cli_usage_error(const orci_cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* orci_cli_print_help prints the command's usage, summary and help on stdout. */
void orci_cli_print_help(const orci_cli_command *cmd);

/* orci_cli_print_usage_line prints "usage: orchestra [GROUP] NAME USAGE" on f. */
void orci_cli_print_usage_line(const orci_cli_command *cmd, FILE *f);

/*
 * orci_cli_connect opens the client for the global options and the ORCHESTRA_* variables
 * into *out (release with orc_client_destroy). Returns ORCI_CLI_EXIT_OK, or the exit status
 * after printing the error.
 */
int orci_cli_connect(const orci_cli_globals *g, orc_client **out);

/*
 * orci_cli_connect_opts is orci_cli_connect with the caller's options (borrowed): the
 * global options (--rpc, --tls-ca, --timeout) override them. Same returns.
 */
int orci_cli_connect_opts(const orci_cli_globals *g, orc_client_opts *opts, orc_client **out);

/*
 * orci_cli_connect_worker opens the client for a worker command: the token is
 * $ORCHESTRA_TOKEN, else the session saved by `orchestra login` (session.h), and the
 * server is --rpc, else $ORCHESTRA_RPC, else the session's, else the default. The API key
 * is not used, so the call runs as the worker. Returns ORCI_CLI_EXIT_OK, or the exit status
 * after printing the problem (not logged in: 1).
 */
int orci_cli_connect_worker(const orci_cli_globals *g, orc_client **out);

/* orci_cli_fail_worker is orci_cli_fail for worker commands: a refused session adds a hint
 * to log in again. */
int orci_cli_fail_worker(const orc_error *err);

/*
 * orci_cli_parse_id parses the operand `what` (e.g. "TASK") as a positive integer id into
 * *out. Returns ORCI_CLI_CONTINUE, or ORCI_CLI_EXIT_USAGE after printing the problem.
 */
int orci_cli_parse_id(const orci_cli_command *cmd, const char *what, const char *text,
                      int64_t *out);

/*
 * orci_cli_check_json_object checks that the value of option opt is the text of a JSON
 * object. Returns ORCI_CLI_CONTINUE, or ORCI_CLI_EXIT_USAGE after printing the problem.
 */
int orci_cli_check_json_object(const orci_cli_command *cmd, const char *opt, const char *text);

/*
 * orci_cli_read_password reads a password into *out (malloc'd; the caller wipes and frees
 * it). With may_prompt and a terminal on stdin it prompts on stderr without echo (termios);
 * otherwise it reads the first line of stdin, newline stripped. An empty or unreadable
 * password is a usage error. Returns ORCI_CLI_CONTINUE or the exit status after printing
 * the problem.
 */
int orci_cli_read_password(const orci_cli_command *cmd, bool may_prompt, char **out);

/* orci_cli_free_secret wipes and frees a NUL-terminated secret; NULL allowed. */
void orci_cli_free_secret(char *s);

/*
 * orci_cli_print_document prints a JSON document the server sent (text, borrowed) on
 * stdout as one line. Returns ORCI_CLI_EXIT_OK.
 */
int orci_cli_print_document(const char *text);

/*
 * orci_cli_parse_document parses a JSON document the server sent (text, borrowed) for a
 * text rendering; NULL (after printing "orchestra: malformed <what> from the server") when
 * it is not a JSON object.
 */
json_t *orci_cli_parse_document(const char *text, const char *what);

/* orci_cli_exit_code maps a failed call's code to an exit status (ORC_UNAVAILABLE -> 3,
 * anything else -> 1). */
int orci_cli_exit_code(int code);

/* orci_cli_fail prints err's message on stderr (prefix: NULL or e.g. "An error occurred
 * while loading the workflow: ") and returns orci_cli_exit_code(err->code). */
int orci_cli_fail(const orc_error *err, const char *prefix);

/*
 * orci_cli_open starts the common kind of command: no options, exactly n_pos operands, the
 * first read as an id named id_name (e.g. "TASK") into *id when id_name is not NULL, then the
 * client opened for an admin (the API key) or, with worker, for the worker's session.
 * Returns ORCI_CLI_CONTINUE with *c open, or the exit status after printing the problem.
 */
int orci_cli_open(orci_cli_globals *g, const orci_cli_command *cmd, int argc, char **argv,
                  int n_pos, const char *id_name, int64_t *id, bool worker, orc_client **c);

/*
 * orci_cli_done ends a command that prints no document: it closes c, prints err when rc
 * failed (as orci_cli_fail_worker when worker), else {} under --json or the line fmt on
 * stdout. Returns the exit status.
 */
int orci_cli_done(const orci_cli_globals *g, orc_client *c, bool worker, int rc,
                  const orc_error *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * orci_cli_done_document ends a command whose call returned a document (text, taken): it
 * closes c, prints err when rc failed (as orci_cli_done), else the document as it came under
 * --json or print(text) for people. Returns the exit status.
 */
int orci_cli_done_document(const orci_cli_globals *g, orc_client *c, bool worker, int rc,
                           const orc_error *err, char *text, int (*print)(const char *text));

/* orci_cli_print_json prints doc (the reference is stolen) as one line on stdout. Returns
 * ORCI_CLI_EXIT_OK, or ORCI_CLI_EXIT_REFUSED when it cannot be encoded (NULL doc: out of
 * memory). */
int orci_cli_print_json(json_t *doc);

#endif
