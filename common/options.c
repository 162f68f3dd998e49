/*
 * options.c: settings from a config file and the command line (see options.h).
 */
#define _GNU_SOURCE /* getopt_long */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "vec.h"

#define OPTS_MAX 64
#define OPTS_LINE_MAX 4096
enum { OPTS_HELP = 1000, OPTS_VERSION, OPTS_CONFIG, OPTS_FIRST = 2000 };

/*
 * The strings read from config files. Settings point into them, and after a reload (SIGHUP)
 * another thread may still hold the previous value, so none is ever freed: they are kept
 * here for the process, one copy per distinct value, which a file read again reuses.
 * Main thread only, as the rest of this file.
 */
static char **opts_copies;
static size_t opts_n_copies, opts_cap_copies;

/* opts_keep returns the kept copy of value, making it when new; NULL when out of memory. */
static const char *opts_keep(const char *value)
{
    for (size_t i = 0; i < opts_n_copies; i++)
        if (strcmp(opts_copies[i], value) == 0)
            return opts_copies[i];
    if (!orci_grow(&opts_copies, &opts_cap_copies, opts_n_copies + 1, sizeof *opts_copies))
        return NULL;
    char *copy = strdup(value);
    if (copy)
        opts_copies[opts_n_copies++] = copy;
    return copy;
}

/* opts_bool reads a config file's flag value. */
static int opts_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

/* opts_add appends value to a list; the first value of the command line drops the file's. */
static int opts_add(const orci_opts_spec *s, orci_opt_list *l, const char *value, bool copy)
{
    if (!copy && !l->from_command_line) {
        l->n = 0;
        l->from_command_line = true;
    }
    const char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items || (copy && !(value = opts_keep(value)))) {
        if (items)
            l->items = items;
        fprintf(stderr, "%s: out of memory\n", s->program);
        return -1;
    }
    l->items = items;
    l->items[l->n++] = value;
    return 0;
}

/*
 * opts_set stores value into o's destination (value NULL: a flag given on the command line).
 * where names the source for messages ("--workers", "/etc/x.conf:3"). 0, or -1 after saying
 * why. Strings from a file are copied (copy true) and kept for the process (opts_keep).
 */
static int opts_set(const orci_opts_spec *s, const orci_opt *o, const char *value,
                    const char *where, bool copy)
{
    long long v;
    char *end;
    switch (o->kind) {
    case ORCI_OPT_FLAG:
        if (!value)
            return *(bool *)o->dest = true, 0;
        if (opts_bool(value, (bool *)o->dest) == 0)
            return 0;
        fprintf(stderr, "%s: %s: %s wants true or false, not \"%s\"\n", s->program, where, o->name,
                value);
        return -1;
    case ORCI_OPT_STRING:
        if (copy && !(value = opts_keep(value))) {
            fprintf(stderr, "%s: out of memory\n", s->program);
            return -1;
        }
        *(const char **)o->dest = value;
        return 0;
    case ORCI_OPT_LIST:
        return opts_add(s, (orci_opt_list *)o->dest, value, copy);
    case ORCI_OPT_LEVEL:
        if ((*(int *)o->dest = orci_log_parse_level(value)) >= 0)
            return 0;
        fprintf(stderr, "%s: %s: unknown log level %s (debug, info, warn, error)\n", s->program,
                where, value);
        return -1;
    case ORCI_OPT_INT:
        errno = 0;
        v = strtoll(value, &end, 10);
        if (!errno && end != value && *end == '\0' && v >= o->min && v <= o->max)
            return *(long long *)o->dest = v, 0;
        fprintf(stderr, "%s: %s: bad %s %s (%lld to %lld%s%s)\n", s->program, where, o->name, value,
                o->min, o->max, o->unit ? " " : "", o->unit ? o->unit : "");
        return -1;
    }
    return -1;
}

static const orci_opt *opts_find(const orci_opts_spec *s, const char *name)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (strcmp(s->opts[i].name, name) == 0)
            return &s->opts[i];
    return NULL;
}

/* opts_trim strips blanks around s in place and returns where it now starts. */
static char *opts_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* opts_line applies one line of a config file. */
static int opts_line(const orci_opts_spec *s, char *line, const char *where)
{
    char *text = opts_trim(line);
    if (!*text || *text == '#')
        return 0;
    char *eq = strchr(text, '=');
    if (!eq) {
        fprintf(stderr, "%s: %s: want `name = value`\n", s->program, where);
        return -1;
    }
    *eq = '\0';
    char *name = opts_trim(text), *value = opts_trim(eq + 1);
    const orci_opt *o = opts_find(s, name);
    if (!o) {
        fprintf(stderr, "%s: %s: unknown setting %s\n", s->program, where, name);
        return -1;
    }
    if (!*value && o->kind != ORCI_OPT_STRING) {
        fprintf(stderr, "%s: %s: %s needs a value\n", s->program, where, name);
        return -1;
    }
    return opts_set(s, o, value, where, true);
}

int orci_opts_read_file(const orci_opts_spec *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read the config file %s: %s\n", s->program, path,
                strerror(errno));
        return -1;
    }
    char line[OPTS_LINE_MAX], where[PATH_MAX + 32];
    int rc = 0;
    for (int n = 1; rc == 0 && fgets(line, sizeof line, f); n++) {
        snprintf(where, sizeof where, "%s:%d", path, n);
        if (!strchr(line, '\n') && !feof(f)) {
            fprintf(stderr, "%s: %s: line longer than %d bytes\n", s->program, where,
                    OPTS_LINE_MAX - 2);
            rc = -1;
        } else {
            rc = opts_line(s, line, where);
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "%s: cannot read the config file %s\n", s->program, path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* opts_config_arg finds --config FILE / --config=FILE in argv (NULL: none; "" when the value
 * is missing, which getopt reports later). */
static const char *opts_config_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0)
            return i + 1 < argc ? argv[i + 1] : "";
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

/* opts_longopts builds getopt_long's table: the settings, then --help, --version, --config. */
static void opts_longopts(const orci_opts_spec *s, struct option *lo)
{
    size_t n = 0;
    for (; n < s->n_opts; n++)
        lo[n] = (struct option){s->opts[n].name,
                                s->opts[n].kind == ORCI_OPT_FLAG ? no_argument : required_argument,
                                NULL, OPTS_FIRST + (int)n};
    lo[n++] = (struct option){"help", no_argument, NULL, OPTS_HELP};
    lo[n++] = (struct option){"version", no_argument, NULL, OPTS_VERSION};
    lo[n++] = (struct option){"config", required_argument, NULL, OPTS_CONFIG};
    lo[n] = (struct option){NULL, 0, NULL, 0};
}

/* opts_usage_error says what was wrong and points at --help; returns 2. */
static int opts_usage_error(const orci_opts_spec *s, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s %s\nTry '%s --help'.\n", s->program, what, arg, s->program);
    return 2;
}

/* opts_command_line applies argv; -1 to go on, else the exit status. */
static int opts_command_line(const orci_opts_spec *s, int argc, char **argv)
{
    struct option lo[OPTS_MAX + 4];
    opts_longopts(s, lo);
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        const char *arg = argv[optind - 1];
        if (c == 'h' || c == OPTS_HELP) {
            s->usage(stdout);
            return 0;
        }
        if (c == OPTS_VERSION) {
            printf("%s %s\n", s->program, s->version);
            return 0;
        }
        if (c == ':')
            return opts_usage_error(s, "a value is missing after", arg);
        if (c == OPTS_CONFIG)
            continue; /* read before the command line */
        if (c == '?' || c < OPTS_FIRST)
            return opts_usage_error(s, "unknown option", arg);
        const orci_opt *o = &s->opts[c - OPTS_FIRST];
        char where[80];
        snprintf(where, sizeof where, "--%s", o->name);
        if (opts_set(s, o, o->kind == ORCI_OPT_FLAG ? NULL : optarg, where, false) != 0)
            return 2;
    }
    if (optind < argc)
        return opts_usage_error(s, "unexpected argument", argv[optind]);
    return -1;
}

int orci_opts_parse(const orci_opts_spec *s, int argc, char **argv, char *config,
                    size_t config_size)
{
    if (config && config_size)
        config[0] = '\0';
    if (s->n_opts > OPTS_MAX) {
        fprintf(stderr, "%s: too many settings\n", s->program);
        return 2;
    }
    const char *path = opts_config_arg(argc, argv);
    if (path && !*path)
        return opts_usage_error(s, "a value is missing after", "--config");
    if (!path && s->default_config && access(s->default_config, F_OK) == 0)
        path = s->default_config;
    if (path) {
        if (orci_opts_read_file(s, path) != 0)
            return 2;
        if (config && config_size)
            snprintf(config, config_size, "%s", path);
    }
    return opts_command_line(s, argc, argv);
}
