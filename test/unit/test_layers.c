/*
 * test_layers.c: the coordinator's includes run one way, and no two of its modules include
 * each other in a circle.
 *
 * Layers (server/orchestrad/README.md): main.c -> rpc/ -> svc/ -> domain/ and workflow/ ->
 * store/ -> common. A file may include its own layer and any lower one, never a higher one;
 * domain/ and workflow/ are siblings that do not include each other; orchestra-http
 * (server/http/) includes no coordinator header at all (it holds no business logic). A
 * module is a folder plus a file name up to its first '_' (domain/lifecycle covers
 * lifecycle.c, lifecycle_create.c, lifecycle_internal.h...); an include from one module's
 * file of another module's header is an edge, and the edges must not close a circle.
 *
 * No coordinator file outside store/ knows which database it runs on (issue 19): none
 * includes sqlite3.h or libpq-fe.h or names their functions and types; they use store/db.h.
 *
 * The checker runs on every file under server/, and on made-up files that break each rule,
 * so that a checker that finds nothing cannot pass.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "support.h"

#define LAYERS_MAX_MODULES 256
#define LAYERS_NAME_MAX 128

/* The layers of server/orchestrad, lowest first; rank 0 is not a coordinator layer. */
static const struct {
    const char *prefix; /* path under server/orchestrad/ */
    int rank;
} layers[] = {{"store/", 1}, {"domain/", 2}, {"workflow/", 2},
              {"svc/", 3},   {"rpc/", 4},    {"main.c", 5}};

/* layer_of returns the rank and folder of a path under server/orchestrad/ (rank 0: none). */
static int layer_of(const char *rel, const char **folder)
{
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        if (strncmp(rel, layers[i].prefix, strlen(layers[i].prefix)) == 0) {
            *folder = layers[i].prefix;
            return layers[i].rank;
        }
    }
    *folder = "";
    return 0;
}

/* The include graph between modules, for the circle check. */
typedef struct graph {
    char names[LAYERS_MAX_MODULES][LAYERS_NAME_MAX];
    bool edge[LAYERS_MAX_MODULES][LAYERS_MAX_MODULES];
    size_t n;
} graph;

/* module_name writes the module of a path ("domain/lifecycle_create.c" -> "domain/lifecycle"). */
static void module_name(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t len = strcspn(base, "_.");
    snprintf(out, size, "%.*s%.*s", (int)(base - path), path, (int)len, base);
}

static size_t graph_node(graph *g, const char *path)
{
    char name[LAYERS_NAME_MAX];
    module_name(path, name, sizeof name);
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0)
            return i;
    assert_true(g->n < LAYERS_MAX_MODULES);
    snprintf(g->names[g->n], LAYERS_NAME_MAX, "%s", name);
    return g->n++;
}

/* database_words counts, in a coordinator file outside store/, what names SQLite or libpq. */
static int database_words(const char *rel, const char *text)
{
    static const char *const words[] = {"<sqlite3.h>", "<libpq-fe.h>", "sqlite3_", "sqlite3 *",
                                        "PGconn",      "PGresult",     "PQexec"};
    if (strncmp(rel, "orchestrad/", 11) != 0 || strncmp(rel + 11, "store/", 6) == 0)
        return 0;
    int bad = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strstr(text, words[i]) != NULL) {
            fprintf(stderr, "server/%s names %s: use store/db.h's row API\n", rel, words[i]);
            bad++;
        }
    }
    return bad;
}

/*
 * check_text checks the includes of one file's text. rel is the path under server/
 * ("orchestrad/store/store.c", "http/legacy.c"). Returns the number of layering violations,
 * each printed; adds the file's module edges to g.
 */
static int check_text(const char *rel, const char *text, graph *g)
{
    bool in_coordinator = strncmp(rel, "orchestrad/", 11) == 0;
    const char *from_folder;
    int from = in_coordinator ? layer_of(rel + 11, &from_folder) : 0;
    int bad = database_words(rel, text);
    for (const char *p = strstr(text, "#include \""); p; p = strstr(p + 1, "#include \"")) {
        char target[LAYERS_NAME_MAX];
        const char *start = p + strlen("#include \"");
        size_t len = strcspn(start, "\"\n");
        snprintf(target, sizeof target, "%.*s", (int)len, start);
        const char *to_folder;
        int to = layer_of(target, &to_folder);
        if (to == 0)
            continue; /* common/, the generated protobuf code, system headers */
        if (!in_coordinator) {
            fprintf(stderr, "server/%s includes the coordinator's %s\n", rel, target);
            bad++;
        } else if (to > from || (to == from && strcmp(to_folder, from_folder) != 0)) {
            fprintf(stderr, "server/%s (layer %s) includes %s of layer %s\n", rel, from_folder,
                    target, to_folder);
            bad++;
        }
        if (in_coordinator && from > 0) {
            size_t a = graph_node(g, rel + 11), b = graph_node(g, target);
            if (a != b)
                g->edge[a][b] = true;
        }
    }
    return bad;
}

/* find_circle returns whether g has a circle, printing one. */
static bool visit(const graph *g, size_t v, int *state, size_t *stack, size_t depth)
{
    state[v] = 1;
    stack[depth] = v;
    for (size_t w = 0; w < g->n; w++) {
        if (!g->edge[v][w])
            continue;
        if (state[w] == 1) {
            fprintf(stderr, "include circle:");
            for (size_t k = 0; k <= depth; k++)
                if (k > 0 || stack[k] == w)
                    fprintf(stderr, " %s ->", g->names[stack[k]]);
            fprintf(stderr, " %s\n", g->names[w]);
            return true;
        }
        if (state[w] == 0 && visit(g, w, state, stack, depth + 1))
            return true;
    }
    state[v] = 2;
    return false;
}

static bool find_circle(const graph *g)
{
    int state[LAYERS_MAX_MODULES] = {0};
    size_t stack[LAYERS_MAX_MODULES];
    for (size_t v = 0; v < g->n; v++)
        if (state[v] == 0 && visit(g, v, state, stack, 0))
            return true;
    return false;
}

/* check_tree checks every .c and .h under root/rel; returns the violations. */
static int check_tree(const char *root, const char *rel, graph *g, size_t *files)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", root, rel);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[512], path[1600];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(path, sizeof path, "%s/%s", root, sub);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        size_t n = strlen(e->d_name);
        if (S_ISDIR(st.st_mode)) {
            bad += check_tree(root, sub, g, files);
        } else if (n > 2 &&
                   (strcmp(e->d_name + n - 2, ".c") == 0 || strcmp(e->d_name + n - 2, ".h") == 0)) {
            char *text = orc_test_read_file(path, NULL);
            assert_non_null(text);
            bad += check_text(sub, text, g);
            free(text);
            (*files)++;
        }
    }
    closedir(d);
    return bad;
}

static void test_layers_server_includes_run_one_way_without_circles(void **state)
{
    (void)state;
    char root[1024];
    snprintf(root, sizeof root, "%s/server", orc_test_env("ORC_SOURCE_DIR"));
    graph *g = calloc(1, sizeof *g);
    assert_non_null(g);
    size_t files = 0;
    assert_int_equal(check_tree(root, "", g, &files), 0);
    assert_true(files > 40); /* the tree was really read */
    assert_true(g->n > 10);
    assert_false(find_circle(g));
    free(g);
}

static void test_layers_checker_finds_a_wrong_include(void **state)
{
    (void)state;
    graph *g = calloc(1, sizeof *g);
    assert_non_null(g);
    /* The store reaching up into the domain, and the domain into the RPC handlers. */
    assert_int_equal(check_text("orchestrad/store/store.c", "#include \"domain/lifecycle.h\"\n", g),
                     1);
    assert_int_equal(check_text("orchestrad/domain/jobs.c",
                                "#include \"store/store.h\"\n#include \"svc/server.h\"\n", g),
                     1);
    /* Siblings stay apart; the shim holds no coordinator code; downward is fine. */
    assert_int_equal(check_text("orchestrad/workflow/loader.c", "#include \"domain/jobs.h\"\n", g),
                     1);
    assert_int_equal(check_text("http/legacy.c", "#include \"store/store.h\"\n", g), 1);
    assert_int_equal(
        check_text("orchestrad/main.c", "#include \"rpc/rpc.h\"\n#include \"log.h\"\n", g), 0);
    /* Only store/ knows the database. */
    assert_int_equal(check_text("orchestrad/svc/job.c", "#include <sqlite3.h>\n", g), 1);
    assert_int_equal(check_text("orchestrad/domain/jobs.c", "x = sqlite3_changes(h);\n", g), 1);
    assert_int_equal(check_text("orchestrad/rpc/keys.c", "PGresult *r = PQexec(c, q);\n", g), 2);
    assert_int_equal(check_text("orchestrad/store/pg.c", "#include <libpq-fe.h>\n", g), 0);
    assert_int_equal(check_text("notify/state.c", "#include <sqlite3.h>\n", g), 0);
    free(g);
}

static void test_layers_checker_finds_a_circle(void **state)
{
    (void)state;
    graph *g = calloc(1, sizeof *g);
    assert_non_null(g);
    assert_int_equal(check_text("orchestrad/domain/jobs.c", "#include \"domain/lifecycle.h\"\n", g),
                     0);
    assert_false(find_circle(g));
    assert_int_equal(
        check_text("orchestrad/domain/lifecycle_create.c", "#include \"domain/jobs.h\"\n", g), 0);
    assert_true(find_circle(g));
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_server_includes_run_one_way_without_circles),
        cmocka_unit_test(test_layers_checker_finds_a_wrong_include),
        cmocka_unit_test(test_layers_checker_finds_a_circle),
    };
    return cmocka_run_group_tests_name("layers", tests, NULL, NULL);
}
