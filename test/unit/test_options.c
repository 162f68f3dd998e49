/*
 * test_options.c: daemon settings from a config file and the command line (options.h): the
 * file first, flags win; the file's syntax and its errors; the default file only when present;
 * the copies of a file's strings, one per value for the process.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "support.h"

typedef struct settings {
    const char *db, *name;
    long long workers;
    bool dev;
    int level;
} settings;

static void usage(FILE *f)
{
    fprintf(f, "usage: test\n");
}

static char dir[256];

/* parse runs orci_opts_parse over argv (NULL-terminated) with the default file dflt. */
static int parse(settings *s, const char *dflt, char *used, const char *const *argv)
{
    const orci_opt opts[] = {
        {"db", ORCI_OPT_STRING, &s->db, 0, 0, NULL},
        {"name", ORCI_OPT_STRING, &s->name, 0, 0, NULL},
        {"workers", ORCI_OPT_INT, &s->workers, 1, 256, NULL},
        {"dev", ORCI_OPT_FLAG, &s->dev, 0, 0, NULL},
        {"log-level", ORCI_OPT_LEVEL, &s->level, 0, 0, NULL},
    };
    orci_opts_spec spec = {.program = "test",
                           .version = "1",
                           .opts = opts,
                           .n_opts = sizeof opts / sizeof opts[0],
                           .usage = usage,
                           .default_config = dflt};
    int argc = 0;
    while (argv[argc])
        argc++;
    return orci_opts_parse(&spec, argc, (char **)argv, used, used ? PATH_MAX : 0);
}

static const char *file(const char *name, const char *text)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    assert_int_equal(orc_test_write_file(p, text), 0);
    return p;
}

static void test_options_file_first_then_flags_win(void **state)
{
    (void)state;
    const char *conf = file("a.conf", "# settings\n\n  db = /var/lib/x.db  \nworkers=3\n"
                                      "name = two words\ndev = yes\nlog-level = warn\n");
    settings s = {.workers = 8, .level = ORCI_LOG_INFO};
    char used[PATH_MAX];
    const char *argv[] = {"test", "--workers=5", "--config", conf, NULL};
    assert_int_equal(parse(&s, NULL, used, argv), -1);
    assert_string_equal(s.db, "/var/lib/x.db");
    assert_string_equal(s.name, "two words");
    assert_int_equal(s.workers, 5); /* the flag, though it came before --config */
    assert_true(s.dev);
    assert_int_equal(s.level, ORCI_LOG_WARN);
    assert_string_equal(used, conf);
}

static void test_options_default_file_only_when_it_exists(void **state)
{
    (void)state;
    settings s = {.workers = 8};
    char used[PATH_MAX], missing[600];
    snprintf(missing, sizeof missing, "%s/none.conf", dir);
    const char *plain[] = {"test", NULL};
    assert_int_equal(parse(&s, missing, used, plain), -1);
    assert_string_equal(used, "");
    assert_int_equal(s.workers, 8);
    const char *dflt = file("d.conf", "workers = 2\n");
    assert_int_equal(parse(&s, dflt, used, plain), -1);
    assert_int_equal(s.workers, 2);
    assert_string_equal(used, dflt);
    /* --config replaces the default file; a named file must exist. */
    const char *other = file("o.conf", "workers = 4\n");
    const char *named[] = {"test", "--config", other, NULL};
    s.workers = 8;
    assert_int_equal(parse(&s, dflt, used, named), -1);
    assert_int_equal(s.workers, 4);
    const char *absent[] = {"test", "--config", missing, NULL};
    assert_int_equal(parse(&s, dflt, used, absent), 2);
}

static void test_options_refuse_bad_files_and_flags(void **state)
{
    (void)state;
    static const char *const bad_files[] = {
        "workers = 0\n", "workers = many\n",   "nope = 1\n", "just words\n",
        "dev = maybe\n", "log-level = loud\n", "workers =\n"};
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        settings s = {0};
        const char *argv[] = {"test", "--config", file("bad.conf", bad_files[i]), NULL};
        assert_int_equal(parse(&s, NULL, NULL, argv), 2);
    }
    static const char *const bad_flags[][3] = {{"--workers", "257", NULL},
                                               {"--bogus", NULL, NULL},
                                               {"--workers", NULL, NULL},
                                               {"extra", NULL, NULL},
                                               {"--config", NULL, NULL}};
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        settings s = {0};
        const char *argv[] = {"test", bad_flags[i][0], bad_flags[i][1], NULL};
        assert_int_equal(parse(&s, NULL, NULL, argv), 2);
    }
    settings s = {0};
    const char *help[] = {"test", "--help", NULL};
    assert_int_equal(parse(&s, NULL, NULL, help), 0);
}

/*
 * A file read again (SIGHUP) gives a setting the copy it already had, rather than one more:
 * copies are kept by options.c for the process, one per distinct value.
 */
static void test_options_reread_keeps_one_copy_per_value(void **state)
{
    (void)state;
    settings s = {0};
    const orci_opt opts[] = {{"db", ORCI_OPT_STRING, &s.db, 0, 0, NULL},
                             {"name", ORCI_OPT_STRING, &s.name, 0, 0, NULL}};
    orci_opts_spec spec = {
        .program = "test", .version = "1", .opts = opts, .n_opts = 2, .usage = usage};
    const char *conf = file("r.conf", "db = /var/lib/r.db\nname = /var/lib/r.db\n");
    assert_int_equal(orci_opts_read_file(&spec, conf), 0);
    const char *first = s.db;
    assert_string_equal(first, "/var/lib/r.db");
    assert_ptr_equal(s.name, first); /* the same text, the same copy */
    assert_int_equal(orci_opts_read_file(&spec, conf), 0);
    assert_ptr_equal(s.db, first);
    file("r.conf", "db = /var/lib/other.db\n");
    assert_int_equal(orci_opts_read_file(&spec, conf), 0);
    assert_string_equal(s.db, "/var/lib/other.db");
    assert_string_equal(first, "/var/lib/r.db"); /* still valid: a thread may hold it */
}

static int setup(void **state)
{
    (void)state;
    orc_test_tmpdir("options", dir, sizeof dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    orc_test_rmtree(dir);
    return 0;
}

/* A repeatable setting (ORCI_OPT_LIST): every line of the file adds a value; the command
 * line's values replace the file's, in their order. */
static void test_options_lists_repeat_and_the_command_line_replaces_the_file(void **state)
{
    (void)state;
    orci_opt_list paths = {0};
    const orci_opt opts[] = {{"path", ORCI_OPT_LIST, &paths, 0, 0, NULL}};
    orci_opts_spec spec = {
        .program = "test", .version = "1", .opts = opts, .n_opts = 1, .usage = usage};
    const char *conf = file("l.conf", "path = /a\npath = /b c\n");
    const char *from_file[] = {"test", "--config", conf, NULL};
    assert_int_equal(orci_opts_parse(&spec, 3, (char **)from_file, NULL, 0), -1);
    assert_int_equal(paths.n, 2);
    assert_string_equal(paths.items[0], "/a");
    assert_string_equal(paths.items[1], "/b c");
    free(paths.items);
    paths = (orci_opt_list){0};
    const char *both[] = {"test", "--config", conf, "--path", "/x", "--path=/y", NULL};
    assert_int_equal(orci_opts_parse(&spec, 6, (char **)both, NULL, 0), -1);
    assert_int_equal(paths.n, 2);
    assert_string_equal(paths.items[0], "/x");
    assert_string_equal(paths.items[1], "/y");
    free(paths.items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_file_first_then_flags_win),
        cmocka_unit_test(test_options_default_file_only_when_it_exists),
        cmocka_unit_test(test_options_refuse_bad_files_and_flags),
        cmocka_unit_test(test_options_reread_keeps_one_copy_per_value),
        cmocka_unit_test(test_options_lists_repeat_and_the_command_line_replaces_the_file),
    };
    return cmocka_run_group_tests_name("options", tests, setup, teardown);
}
