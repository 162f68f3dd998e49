/*
 * options.h: a daemon's settings, declared once as a table and read from its command line
 * (getopt_long: "--name value", "--name=value") and from a config file (--config FILE).
 *
 * The config file holds one setting per line, `name = value`, where name is the long option
 * without its dashes ("db = /var/lib/orchestra/orchestra.db", "dev = true"); blank lines and
 * lines starting with '#' are ignored; the value is the rest of the line with surrounding
 * blanks removed (no quoting: a value may contain spaces). The file is read first and the
 * command line afterwards, so a flag wins over the file. A file named by --config must exist;
 * the default file (the spec's default_config, e.g. /etc/orchestra/orchestrad.conf when
 * installed) is read only when it exists.
 *
 * Main thread only, before other threads start.
 */
#ifndef ORCI_OPTIONS_H
#define ORCI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum orci_opt_kind {
    ORCI_OPT_STRING, /* dest: const char ** (strings from the file live for the process) */
    ORCI_OPT_FLAG,   /* dest: bool *; no value on the command line, true/false in a file */
    ORCI_OPT_INT,    /* dest: long long *, within [min, max] */
    ORCI_OPT_LEVEL,  /* dest: int *, a log level name (debug, info, warn, error) */
    ORCI_OPT_LIST,   /* dest: orci_opt_list *; repeatable, each one adds a value */
} orci_opt_kind;

/*
 * orci_opt_list holds the values of a repeatable setting, in order. The command line's
 * values replace the file's (as a flag wins over the file), they do not add to them. The
 * caller frees the array (free(items)); the strings are argv's or kept for the process.
 */
typedef struct orci_opt_list {
    const char **items;
    size_t n;
    bool from_command_line;
} orci_opt_list;

/* orci_opt is one setting: --name on the command line, `name = value` in the file. */
typedef struct orci_opt {
    const char *name;
    orci_opt_kind kind;
    void *dest;
    long long min, max; /* ORCI_OPT_INT */
    const char *unit;   /* ORCI_OPT_INT, for messages ("seconds"); NULL: none */
} orci_opt;

/* orci_opts_spec describes a program's settings. Everything is borrowed. */
typedef struct orci_opts_spec {
    const char *program;  /* "orchestrad", for messages */
    const char *version;  /* printed by --version */
    const orci_opt *opts; /* the settings (--help, --version, --config are added) */
    size_t n_opts;
    void (*usage)(FILE *f);     /* --help and usage errors */
    const char *default_config; /* read when it exists and no --config is given; NULL: none */
} orci_opts_spec;

/*
 * orci_opts_parse reads the config file, then argv (argv[0] the program), into the
 * settings' destinations, and writes the path of the file it read into config (""
 * when none; config may be NULL). Positional arguments are refused. Returns -1 to go on,
 * or the exit status after printing: 0 for --help and --version, 2 for a usage error (a
 * message naming the flag, or the file and line, on stderr).
 */
int orci_opts_parse(const orci_opts_spec *spec, int argc, char **argv, char *config,
                    size_t config_size);

/*
 * orci_opts_read_file applies the settings of one config file (as orci_opts_parse does),
 * for a reload on SIGHUP. Returns 0, or -1 after printing what was wrong (settings before
 * the bad line are applied).
 */
int orci_opts_read_file(const orci_opts_spec *spec, const char *path);

#endif
