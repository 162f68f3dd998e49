/* test_graph.c: the cache of workflow versions' step graphs (domain/graph.h): read once,
 * read again after a forced reload, a change in raw SQL or a new version, and never left
 * holding rows of a transaction that rolled back. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "domain/graph.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/store.h"
#include "support.h"
#include "workflow/loader.h"

#define NOW 1700000000000000LL

typedef struct fixture {
    char dir[256];
    char path[320];
    orci_store *s;
    orci_db *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("graph", f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = f->path};
    orc_error err = {0};
    assert_int_equal(orci_store_open(&opts, &f->s, &err), ORC_OK);
    assert_int_equal(orci_db_open_reader(f->s, &f->r, &err), ORC_OK);
    orci_graph_cache_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    orci_graph_cache_clear();
    orci_db_close(f->r);
    orci_store_close(f->s);
    orc_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* q copies JSON written with single quotes into real JSON. */
static char *q(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static const char WF[] = "{'slug':'news','name':'News','description':'Write news.',"
                         " 'certifications':[{'slug':'editor','name':'Editor','description':'E'}]}";

/* plan (human) -> write (machine) -> publish (machine, depends on both) */
static const char V1[] =
    "{'slug':'v1','name':'Version 1','description':'First.','steps':["
    " {'slug':'plan','name':'Plan','description':'Plan it','required_certifications':['editor']},"
    " {'slug':'write','name':'Write','description':'Write it','is_human':false,"
    "  'creation_depends_on':['plan'],"
    "  'execution_function':{'module':'news.v1.write','name':'run'}},"
    " {'slug':'publish','name':'Publish','description':'Publish it','is_human':false,"
    "  'creation_depends_on':['write','plan'],"
    "  'execution_function':{'module':'news.v1.publish','name':'run'}}]}";

/* V1 with publish running another function: what a forced reload may change. */
static const char V1_RELOADED[] =
    "{'slug':'v1','name':'Version 1','description':'First.','steps':["
    " {'slug':'plan','name':'Plan','description':'Plan it','required_certifications':['editor']},"
    " {'slug':'write','name':'Write','description':'Write it','is_human':false,"
    "  'creation_depends_on':['plan'],"
    "  'execution_function':{'module':'news.v1.write','name':'run'}},"
    " {'slug':'publish','name':'Publish','description':'Publish it','is_human':false,"
    "  'creation_depends_on':['write','plan'],"
    "  'execution_function':{'module':'news.v1.publish','name':'again'}}]}";

static const char V2[] = "{'slug':'v2','name':'Version 2','description':'Second.','steps':["
                         " {'slug':'only','name':'Only','description':'One step','is_human':false,"
                         "  'execution_function':{'module':'news.v2.only','name':'run'}}]}";

typedef struct apply_job {
    const orci_load_plan *plan;
    bool force;
} apply_job;

static int apply_fn(orci_db *db, void *arg, orc_error *err)
{
    apply_job *j = arg;
    return orci_loader_apply(db, j->plan, j->force, NOW, err);
}

/* load plans and applies version_json (as version) of WF through the writer. */
static void load(fixture *f, const char *version, const char *version_json, bool force)
{
    Orchestra__V1__WorkflowBundle *b = malloc(sizeof *b);
    assert_non_null(b);
    orchestra__v1__workflow_bundle__init(b);
    b->app = strdup("news");
    b->code_directory = strdup("/apps/news");
    b->workflow_json = q(WF);
    b->versions = malloc(sizeof *b->versions);
    assert_non_null(b->versions);
    Orchestra__V1__VersionFile *vf = malloc(sizeof *vf);
    assert_non_null(vf);
    orchestra__v1__version_file__init(vf);
    vf->dir = strdup(version);
    vf->json = q(version_json);
    b->versions[b->n_versions++] = vf;
    orci_load_plan *p = NULL;
    orc_error err = {0};
    assert_int_equal(orci_loader_plan(b, version, &p, &err), ORC_OK);
    apply_job j = {p, force};
    int rc = orci_store_write(f->s, apply_fn, &j, &err);
    if (rc != ORC_OK)
        fail_msg("load %s: %s", version, err.message);
    orci_load_plan_free(p);
    orci_bundle_free(b);
}

static int64_t version_id(fixture *f, const char *slug)
{
    orc_error err = {0};
    orci_stmt *st = orci_db_stmt(f->r, "SELECT id FROM workflow_versions WHERE slug = ?1", &err);
    assert_non_null(st);
    orci_bind_text(st, 1, slug);
    int64_t id = 0;
    bool found = false;
    assert_int_equal(orci_db_one_id(f->r, st, &id, &found, &err), ORC_OK);
    assert_true(found);
    return id;
}

/* step_of is the step of g with that slug (fails the test when none). */
static const orci_graph_step *step_of(const orci_graph *g, const char *slug)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->v[i].slug, slug) == 0)
            return &g->v[i];
    fail_msg("no step %s", slug);
    return NULL;
}

/* get reads version v's graph on the reader connection. */
static orci_graph *get(fixture *f, int64_t v)
{
    orci_graph *g = NULL;
    orc_error err = {0};
    assert_int_equal(orci_graph_get(f->r, v, &g, &err), ORC_OK);
    assert_non_null(g);
    return g;
}

static void test_graph_read_once_with_steps_and_dependencies(void **state)
{
    fixture *f = *state;
    load(f, "v1", V1, false);
    int64_t v = version_id(f, "v1");
    uint64_t reads = orci_graph_cache_reads();
    orci_graph *g = get(f, v);
    assert_int_equal(orci_graph_cache_reads(), reads + 1);
    assert_string_equal(g->workflow_slug, "news");
    assert_int_equal(g->n, 3);
    /* Version order, flags, function names, dependencies by index in version order. */
    assert_string_equal(g->v[0].slug, "plan");
    assert_true(g->v[0].is_human);
    assert_string_equal(g->v[1].slug, "write");
    assert_false(g->v[1].is_human);
    assert_string_equal(g->v[1].function, "news.v1.write.run");
    assert_int_equal(g->v[1].ndeps, 1);
    assert_int_equal(g->v[1].deps[0], 0);
    assert_int_equal(g->v[2].ndeps, 2);
    assert_int_equal(g->v[2].deps[0], 0);
    assert_int_equal(g->v[2].deps[1], 1);
    assert_int_equal(g->v[0].ndependents, 2);
    assert_int_equal(orci_graph_index(g, g->v[2].id), 2);
    assert_int_equal(orci_graph_index(g, -5), SIZE_MAX);
    size_t anc[3], n = 0;
    orc_error err = {0};
    assert_int_equal(orci_graph_ancestors(g, 2, anc, &n, &err), ORC_OK);
    assert_int_equal(n, 2);
    /* The second time: the same graph, nothing read but the revision. */
    orci_graph *again = get(f, v);
    assert_ptr_equal(again, g);
    assert_int_equal(orci_graph_cache_reads(), reads + 1);
    orci_graph_release(again);
    orci_graph_release(g);
    /* An unknown version. */
    orci_graph *none = NULL;
    assert_int_equal(orci_graph_get(f->r, v + 100, &none, &err), ORC_NOT_FOUND);
    assert_null(none);
}

static void test_graph_forced_reload_is_seen(void **state)
{
    fixture *f = *state;
    load(f, "v1", V1, false);
    int64_t v = version_id(f, "v1");
    orci_graph *before = get(f, v);
    assert_string_equal(step_of(before, "publish")->function, "news.v1.publish.run");
    load(f, "v1", V1_RELOADED, true);
    uint64_t reads = orci_graph_cache_reads();
    orci_graph *after = get(f, v);
    assert_int_equal(orci_graph_cache_reads(), reads + 1);
    assert_string_equal(step_of(after, "publish")->function, "news.v1.publish.again");
    assert_int_not_equal(after->rev, before->rev);
    /* The graph held from before stays valid (and unchanged) until released. */
    assert_string_equal(step_of(before, "publish")->function, "news.v1.publish.run");
    orci_graph_release(before);
    orci_graph_release(after);
}

static void test_graph_new_version_is_seen(void **state)
{
    fixture *f = *state;
    load(f, "v1", V1, false);
    orci_graph *g1 = get(f, version_id(f, "v1"));
    load(f, "v2", V2, false);
    orci_graph *g2 = get(f, version_id(f, "v2"));
    assert_int_equal(g2->n, 1);
    assert_string_equal(g2->v[0].function, "news.v2.only.run");
    /* v1's graph is still the cached one. */
    uint64_t reads = orci_graph_cache_reads();
    orci_graph *g1b = get(f, version_id(f, "v1"));
    assert_ptr_equal(g1b, g1);
    assert_int_equal(orci_graph_cache_reads(), reads);
    orci_graph_release(g1);
    orci_graph_release(g1b);
    orci_graph_release(g2);
}

/* A write job that changes a step in raw SQL, reads the graph inside its transaction, and
 * then fails (rolled back) or succeeds. */
typedef struct sql_job {
    int64_t version_id;
    bool fail;
    char seen[64];
} sql_job;

static int sql_fn(orci_db *db, void *arg, orc_error *err)
{
    sql_job *j = arg;
    int code = orci_db_exec(db,
                            "UPDATE steps SET execution_function ="
                            " '{\"module\":\"raw\",\"name\":\"sql\"}' WHERE slug = 'write'",
                            err);
    if (code != ORC_OK)
        return code;
    orci_graph *g = NULL;
    if ((code = orci_graph_get(db, j->version_id, &g, err)) != ORC_OK)
        return code;
    snprintf(j->seen, sizeof j->seen, "%s", step_of(g, "write")->function);
    orci_graph_release(g);
    return j->fail ? orc_error_set(err, ORC_ABORTED, "rolled back on purpose") : ORC_OK;
}

static void test_graph_raw_sql_and_rollback(void **state)
{
    fixture *f = *state;
    load(f, "v1", V1, false);
    int64_t v = version_id(f, "v1");
    orci_graph *g = get(f, v);
    orci_graph_release(g);
    /* Inside the transaction the change is seen; once rolled back, the old rows are. */
    sql_job j = {.version_id = v, .fail = true};
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->s, sql_fn, &j, &err), ORC_ABORTED);
    assert_string_equal(j.seen, "raw.sql");
    g = get(f, v);
    assert_string_equal(step_of(g, "write")->function, "news.v1.write.run");
    orci_graph_release(g);
    /* Committed, it is seen by the other connections too. */
    j.fail = false;
    assert_int_equal(orci_store_write(f->s, sql_fn, &j, &err), ORC_OK);
    g = get(f, v);
    assert_string_equal(step_of(g, "write")->function, "raw.sql");
    orci_graph_release(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_graph_read_once_with_steps_and_dependencies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_graph_forced_reload_is_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_new_version_is_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph_raw_sql_and_rollback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
