/*
 * graph.c: the step graphs of workflow versions, cached by revision (graph.h).
 */
#include "domain/graph.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "vec.h"

typedef struct orci_graph_key {
    int64_t id;
    size_t index;
} orci_graph_key;

/* The cache: the newest graph read of each version, in no order (versions are few). */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static orci_graph **cache;
static size_t cache_n, cache_cap;
static _Atomic uint64_t cache_reads;

static int graph_oom(orc_error *err)
{
    return orc_error_set(err, ORC_INTERNAL, "out of memory");
}

static void graph_free(orci_graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        orci_graph_step *s = &g->v[i];
        free(s->slug);
        free(s->name);
        free(s->description);
        free(s->assignment_policy);
        free(s->creation_policy);
        free(s->execution_function);
        free(s->function);
        free(s->retry_policy);
        free(s->deps);
        free(s->dependents);
    }
    free(g->v);
    free(g->by_id);
    free(g->workflow_slug);
    free(g);
}

void orci_graph_release(orci_graph *g)
{
    if (g != NULL && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        graph_free(g);
}

static void graph_hold(orci_graph *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

static int cmp_key(const void *a, const void *b)
{
    int64_t x = ((const orci_graph_key *)a)->id, y = ((const orci_graph_key *)b)->id;
    return x < y ? -1 : x > y;
}

size_t orci_graph_index(const orci_graph *g, int64_t step_id)
{
    if (g == NULL || g->by_id == NULL)
        return SIZE_MAX;
    orci_graph_key key = {.id = step_id};
    const orci_graph_key *k = bsearch(&key, g->by_id, g->n, sizeof key, cmp_key);
    return k != NULL ? k->index : SIZE_MAX;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static bool append_index(size_t **arr, size_t *n, size_t value)
{
    size_t *grown = realloc(*arr, (*n + 1) * sizeof **arr);
    if (grown == NULL)
        return false;
    grown[(*n)++] = value;
    *arr = grown;
    return true;
}

/* read_rev reads a version's revision and its workflow's slug (slug NULL: not wanted). */
static int read_rev(orci_db *db, int64_t version_id, int64_t *rev, char **slug, orc_error *err)
{
    orci_stmt *st =
        slug == NULL
            ? orci_db_stmt(db, "SELECT graph_rev FROM workflow_versions WHERE id = ?1", err)
            : orci_db_stmt(db,
                           "SELECT v.graph_rev, w.slug FROM workflow_versions v"
                           " JOIN workflows w ON w.id = v.workflow_id WHERE v.id = ?1",
                           err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, version_id);
    int code = orci_db_first_row(db, st, "No workflow version for given id", err);
    if (code != ORC_OK)
        return code;
    *rev = orci_col_int(st, 0);
    if (slug != NULL && (*slug = strdup(orci_col_text(st, 1))) == NULL)
        code = graph_oom(err);
    orci_stmt_reset(st);
    return code;
}

char *orci_graph_function_name(const char *spec)
{
    json_t *ef = json_loads(spec != NULL ? spec : "{}", 0, NULL);
    const char *module = json_string_value(json_object_get(ef, "module"));
    const char *name = json_string_value(json_object_get(ef, "name"));
    const char *path = json_string_value(json_object_get(ef, "path"));
    char *out = NULL;
    if (json_is_array(json_object_get(ef, "command"))) {
        out = strdup("command");
    } else if (module != NULL && name != NULL && module[0] != '\0' && name[0] != '\0') {
        size_t n = strlen(module) + strlen(name) + 2;
        out = malloc(n);
        if (out != NULL)
            snprintf(out, n, "%s.%s", module, name);
    } else {
        out = strdup(path != NULL ? path : "");
    }
    json_decref(ef);
    return out;
}

/* read_step fills s from the current row of read_steps' query. */
static bool read_step(orci_stmt *st, orci_graph_step *s)
{
    memset(s, 0, sizeof *s);
    s->id = orci_col_int(st, 0);
    s->is_human = orci_col_int(st, 2) != 0;
    s->completion_ends_project = orci_col_int(st, 3) != 0;
    s->slug = strdup(orci_col_text(st, 1));
    s->assignment_policy = strdup(orci_col_text(st, 4));
    s->creation_policy = strdup(orci_col_text(st, 5));
    s->execution_function = strdup(orci_col_text(st, 6));
    s->retry_policy = strdup(orci_col_text(st, 7));
    s->name = strdup(orci_col_text(st, 8));
    s->description = strdup(orci_col_text(st, 9));
    if (s->execution_function != NULL)
        s->function = orci_graph_function_name(s->execution_function);
    return s->slug != NULL && s->assignment_policy != NULL && s->creation_policy != NULL &&
           s->execution_function != NULL && s->retry_policy != NULL && s->function != NULL &&
           s->name != NULL && s->description != NULL;
}

static int read_steps(orci_db *db, orci_graph *g, orc_error *err)
{
    size_t cap = 0;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT id, slug, is_human, completion_ends_project,"
                                 " assignment_policy, creation_policy, execution_function,"
                                 " retry_policy, name, description FROM steps"
                                 " WHERE workflow_version_id = ?1"
                                 " ORDER BY position, id",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, g->version_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (!orci_grow(&g->v, &cap, g->n + 1, sizeof *g->v)) {
            orci_stmt_reset(st);
            return graph_oom(err);
        }
        if (!read_step(st, &g->v[g->n++])) {
            orci_stmt_reset(st);
            return graph_oom(err);
        }
    }
    if (r < 0)
        return orci_db_code(err);
    if ((g->by_id = malloc((g->n + 1) * sizeof *g->by_id)) == NULL)
        return graph_oom(err);
    for (size_t i = 0; i < g->n; i++)
        g->by_id[i] = (orci_graph_key){.id = g->v[i].id, .index = i};
    qsort(g->by_id, g->n, sizeof *g->by_id, cmp_key);
    return ORC_OK;
}

static int read_deps(orci_db *db, orci_graph *g, orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(db,
                     "SELECT d.step_id, d.depends_on_id FROM step_creation_deps d"
                     " JOIN steps s ON s.id = d.step_id WHERE s.workflow_version_id = ?1",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, g->version_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        size_t from = orci_graph_index(g, orci_col_int(st, 0));
        size_t to = orci_graph_index(g, orci_col_int(st, 1));
        if (from == SIZE_MAX || to == SIZE_MAX)
            continue; /* a dependency outside the version: the loader never writes one */
        if (!append_index(&g->v[from].deps, &g->v[from].ndeps, to) ||
            !append_index(&g->v[to].dependents, &g->v[to].ndependents, from)) {
            orci_stmt_reset(st);
            return graph_oom(err);
        }
    }
    if (r < 0)
        return orci_db_code(err);
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].ndeps > 1)
            qsort(g->v[i].deps, g->v[i].ndeps, sizeof(size_t), cmp_size);
        if (g->v[i].ndependents > 1)
            qsort(g->v[i].dependents, g->v[i].ndependents, sizeof(size_t), cmp_size);
    }
    return ORC_OK;
}

/*
 * graph_read reads a version's graph in one savepoint, so that its revision, steps and
 * dependencies come from one snapshot also on a reader outside a transaction.
 */
static int graph_read(orci_db *db, int64_t version_id, orci_graph **out, orc_error *err)
{
    *out = NULL;
    orci_graph *g = calloc(1, sizeof *g);
    if (g == NULL)
        return graph_oom(err);
    g->version_id = version_id;
    g->refs = 1;
    int code = orci_db_exec(db, "SAVEPOINT orci_graph", err);
    if (code != ORC_OK) {
        free(g);
        return code;
    }
    if ((code = read_rev(db, version_id, &g->rev, &g->workflow_slug, err)) == ORC_OK &&
        (code = read_steps(db, g, err)) == ORC_OK)
        code = read_deps(db, g, err);
    orc_error ignored = {0};
    if (orci_db_exec(db, "RELEASE orci_graph", &ignored) != ORC_OK)
        orci_db_exec(db, "ROLLBACK TO orci_graph", &ignored);
    if (code != ORC_OK) {
        graph_free(g);
        return code;
    }
    atomic_fetch_add_explicit(&cache_reads, 1, memory_order_relaxed);
    *out = g;
    return ORC_OK;
}

/* cache_find returns the cached graph of version_id at rev with a reference, or NULL. */
static orci_graph *cache_find(int64_t version_id, int64_t rev)
{
    orci_graph *found = NULL;
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < cache_n; i++)
        if (cache[i]->version_id == version_id && cache[i]->rev == rev) {
            found = cache[i];
            graph_hold(found);
            break;
        }
    pthread_mutex_unlock(&cache_mu);
    return found;
}

/* cache_put keeps g (the cache takes its own reference) in place of the version's older one. */
static void cache_put(orci_graph *g)
{
    orci_graph *old = NULL;
    pthread_mutex_lock(&cache_mu);
    size_t i = 0;
    while (i < cache_n && cache[i]->version_id != g->version_id)
        i++;
    if (i < cache_n) {
        old = cache[i];
        cache[i] = g;
        graph_hold(g);
    } else if (orci_grow(&cache, &cache_cap, cache_n + 1, sizeof *cache)) {
        cache[cache_n++] = g;
        graph_hold(g);
    } /* else: out of memory, the graph is just not cached */
    pthread_mutex_unlock(&cache_mu);
    orci_graph_release(old);
}

int orci_graph_get(orci_db *db, int64_t version_id, orci_graph **out, orc_error *err)
{
    *out = NULL;
    int64_t rev = 0;
    int code = read_rev(db, version_id, &rev, NULL, err);
    if (code != ORC_OK)
        return code;
    if ((*out = cache_find(version_id, rev)) != NULL)
        return ORC_OK;
    orci_graph *g = NULL;
    if ((code = graph_read(db, version_id, &g, err)) != ORC_OK)
        return code;
    cache_put(g);
    *out = g;
    return ORC_OK;
}

int orci_graph_ancestors(const orci_graph *g, size_t start, size_t *out, size_t *nout,
                         orc_error *err)
{
    bool *seen = calloc(g->n + 1, sizeof *seen);
    /* Each step is pushed at most once per edge into it: at most edges + 1 entries. */
    size_t edges = 0;
    for (size_t i = 0; i < g->n; i++)
        edges += g->v[i].ndeps;
    size_t *stack = malloc((edges + 1) * sizeof *stack);
    if (seen == NULL || stack == NULL) {
        free(seen);
        free(stack);
        return graph_oom(err);
    }
    size_t top = 0;
    *nout = 0;
    seen[start] = true;
    for (size_t k = g->v[start].ndeps; k > 0; k--)
        stack[top++] = g->v[start].deps[k - 1];
    while (top > 0) {
        size_t s = stack[--top];
        if (seen[s])
            continue;
        seen[s] = true;
        out[(*nout)++] = s;
        for (size_t k = g->v[s].ndeps; k > 0; k--)
            if (!seen[g->v[s].deps[k - 1]])
                stack[top++] = g->v[s].deps[k - 1];
    }
    free(seen);
    free(stack);
    return ORC_OK;
}

void orci_lc_task_ctx_put(orci_lc *lc, int64_t task_id, int64_t project_id, const orci_graph *g,
                          size_t step_index)
{
    orci_event_task *t = &lc->task_memo[lc->task_memo_next++ % ORCI_LC_TASK_MEMO];
    t->task_id = task_id;
    t->project_id = project_id;
    snprintf(t->step, sizeof t->step, "%s", g->v[step_index].slug);
    snprintf(t->workflow, sizeof t->workflow, "%s", g->workflow_slug);
}

int orci_lc_task_ctx(orci_lc *lc, int64_t task_id, const orci_event_task **out, orc_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < ORCI_LC_TASK_MEMO; i++)
        if (task_id > 0 && lc->task_memo[i].task_id == task_id) {
            *out = &lc->task_memo[i];
            return ORC_OK;
        }
    orci_stmt *st =
        orci_db_stmt(lc->db,
                     "SELECT t.project_id, t.step_id, s.workflow_version_id FROM tasks t"
                     " JOIN steps s ON s.id = t.step_id WHERE t.id = ?1",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int code = orci_db_first_row(lc->db, st, "no such task", err);
    if (code != ORC_OK)
        return code;
    int64_t project_id = orci_col_int(st, 0);
    int64_t step_id = orci_col_int(st, 1);
    int64_t version_id = orci_col_int(st, 2);
    orci_stmt_reset(st);
    orci_graph *g = NULL;
    if ((code = orci_graph_get(lc->db, version_id, &g, err)) != ORC_OK)
        return code;
    size_t k = orci_graph_index(g, step_id);
    if (k == SIZE_MAX) {
        orci_graph_release(g);
        return orc_error_set(err, ORC_INTERNAL, "task %lld: its step is not in its version",
                             (long long)task_id);
    }
    unsigned slot = lc->task_memo_next % ORCI_LC_TASK_MEMO;
    orci_lc_task_ctx_put(lc, task_id, project_id, g, k);
    orci_graph_release(g);
    *out = &lc->task_memo[slot];
    return ORC_OK;
}

void orci_graph_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    orci_graph **old = cache;
    size_t n = cache_n;
    cache = NULL;
    cache_n = cache_cap = 0;
    pthread_mutex_unlock(&cache_mu);
    for (size_t i = 0; i < n; i++)
        orci_graph_release(old[i]);
    free(old);
}

uint64_t orci_graph_cache_reads(void)
{
    return atomic_load_explicit(&cache_reads, memory_order_relaxed);
}
