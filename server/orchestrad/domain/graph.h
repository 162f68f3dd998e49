/*
 * graph.h: the step graph of a workflow version, read once and kept in memory.
 *
 * A machine step read the same rows of its version again and again: the steps and their
 * creation dependencies for the prerequisites of every leased job, the ready steps after
 * every completion, a step's function and retry policy for every job created, the step's
 * and workflow's slugs for every event. A version's steps change only through a forced
 * reload (same steps and dependencies, other attributes) or raw SQL; migration 0013's
 * triggers give the version a new random graph_rev whenever a row of its steps or creation
 * dependencies (or its workflow's slug) changes, in the same transaction. orci_graph_get
 * reads that one integer on the caller's connection and uses the cached graph only when it
 * was read at the same revision, so a cached graph is always what the connection's own
 * snapshot holds (a reload that rolls back leaves the old revision, and a graph read inside
 * it carries a revision that never comes back).
 *
 * Threads: any. The cache is shared by every connection; a graph is immutable and
 * reference-counted, so one replaced while a caller holds it stays valid until released.
 */
#ifndef ORCI_DOMAIN_GRAPH_H
#define ORCI_DOMAIN_GRAPH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/context.h"
#include "orchestra/error.h"
#include "store/store.h"

/* One step of a version. */
typedef struct orci_graph_step {
    int64_t id;
    char *slug;
    char *name, *description; /* as the version states them (project_information's steps) */
    bool is_human;
    bool completion_ends_project;
    char *assignment_policy;  /* JSON text */
    char *creation_policy;    /* JSON text, "{}" for the default */
    char *execution_function; /* JSON text */
    char *function;           /* the job's function name (orci_graph_function_name) */
    char *retry_policy;       /* JSON text */
    size_t *deps;             /* indexes of its creation dependencies, ascending */
    size_t ndeps;
    size_t *dependents; /* indexes of the steps that depend on it, ascending */
    size_t ndependents;
} orci_graph_step;

/* The steps of one version in version order (position, then id). */
typedef struct orci_graph {
    int64_t version_id;
    int64_t rev; /* workflow_versions.graph_rev it was read at */
    char *workflow_slug;
    orci_graph_step *v;
    size_t n;
    struct orci_graph_key *by_id; /* n entries sorted by id, for orci_graph_index */
    _Atomic int refs;             /* the cache holds one while it keeps the graph */
} orci_graph;

/*
 * orci_graph_get gives the graph of version_id as db's snapshot has it (a reference the
 * caller releases with orci_graph_release): the cached one when its revision matches, else
 * read now and cached. ORC_NOT_FOUND for an unknown version.
 */
int orci_graph_get(orci_db *db, int64_t version_id, orci_graph **out, orc_error *err);

/* orci_graph_release drops a reference (NULL: nothing). */
void orci_graph_release(orci_graph *g);

/* orci_graph_index is the index of step_id in g; SIZE_MAX when it is not one of g's steps. */
size_t orci_graph_index(const orci_graph *g, int64_t step_id);

/*
 * orci_graph_ancestors writes the transitive closure of the creation dependencies of the
 * step at index start into out (room for g->n entries; *nout of them), in depth-first
 * pre-order: direct dependencies in version order, each followed by its own ancestors.
 */
int orci_graph_ancestors(const orci_graph *g, size_t start, size_t *out, size_t *nout,
                         orc_error *err);

/*
 * orci_lc_task_ctx gives the event context of task_id (store/events.h): from lc's memo, else
 * read (the task's project, step and version; the slugs from the version's graph) and kept
 * there. *out points into lc, valid until the next orci_lc_task_ctx* call on it.
 */
int orci_lc_task_ctx(orci_lc *lc, int64_t task_id, const orci_event_task **out, orc_error *err);

/* orci_lc_task_ctx_put keeps a context the caller knows (a task it just created) in lc. */
void orci_lc_task_ctx_put(orci_lc *lc, int64_t task_id, int64_t project_id, const orci_graph *g,
                          size_t step_index);

/*
 * orci_graph_function_name derives the function a job runs from an execution function
 * (jobs.h, orci_jobs_function_name, which is this): malloc'd, NULL when out of memory.
 */
char *orci_graph_function_name(const char *spec);

/* orci_graph_cache_clear empties the cache (tests; graphs held stay valid). */
void orci_graph_cache_clear(void);

/* orci_graph_cache_reads counts the graphs read from the database so far (tests). */
uint64_t orci_graph_cache_reads(void);

#endif
