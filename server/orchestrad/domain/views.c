/*
 * views.c: the read-only documents of the lifecycle (project_information, dashboard_tasks,
 * task_assignment_information and the flat prerequisites dict), built with jansson in the
 * upstream key order.
 *
 * Each view runs inside one SAVEPOINT so that all its queries read one snapshot: on a
 * reader connection that is a read transaction, on the writer it nests inside the job's.
 */
#include "domain/views.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "domain/graph.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "json.h"
#include "store/model.h"
#include "vec.h"

#define DASHBOARD_COMPLETE_MAX 20

/* ---- small helpers ------------------------------------------------------------------- */

/*
 * put sets o[key] = v and always consumes v's reference (like json_object_set_new, which
 * releases v on failure); false when o or v is NULL or on OOM. Values built inline in an
 * `ok = ok && put(...)` chain are never created once ok is false; values built beforehand
 * go through `ok = put(...) && ok` so they are consumed either way.
 */
static bool put(json_t *o, const char *key, json_t *v)
{
    if (v == NULL)
        return false;
    if (o == NULL) {
        json_decref(v);
        return false;
    }
    return json_object_set_new(o, key, v) == 0;
}

/* push appends v to a and always consumes v's reference. */
static bool push(json_t *a, json_t *v)
{
    if (v == NULL)
        return false;
    if (a == NULL) {
        json_decref(v);
        return false;
    }
    return json_array_append_new(a, v) == 0;
}

/*
 * built ends the building of o by a chain of put calls: o when every one succeeded (ok),
 * else NULL with o released, so that the result goes straight to push, put or return.
 */
static json_t *built(json_t *o, bool ok)
{
    if (ok)
        return o;
    json_decref(o);
    return NULL;
}

static json_t *json_time(int64_t us)
{
    char buf[40];
    orci_time_format(us, buf, sizeof buf);
    return json_string(buf);
}

/* col_time renders a nullable time column. */
static json_t *col_time(orci_stmt *st, int col)
{
    if (orci_col_is_null(st, col))
        return json_null();
    return json_time(orci_col_int(st, col));
}

/* col_text_or_null renders a nullable text column. */
static json_t *col_text_or_null(orci_stmt *st, int col)
{
    if (orci_col_is_null(st, col))
        return json_null();
    return json_string(orci_col_text(st, col));
}

/* col_json parses a stored JSON column; the store checked it with json_valid on write. */
static json_t *col_json(orci_stmt *st, int col, orc_error *err)
{
    json_error_t jerr;
    json_t *v = json_loads(orci_col_text(st, col), JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        orc_error_set(err, ORC_INTERNAL, "stored JSON is unreadable: %s", jerr.text);
    return v;
}

static int out_of_memory(orc_error *err)
{
    return orc_error_set(err, ORC_INTERNAL, "out of memory while rendering a view");
}

/* view_begin / view_end bracket one view in a savepoint (one consistent snapshot). */
static int view_begin(orci_db *db, orc_error *err)
{
    return orci_db_exec(db, "SAVEPOINT orci_view", err);
}

static void view_end(orci_db *db)
{
    orc_error ignored = {0};
    if (orci_db_exec(db, "RELEASE orci_view", &ignored) != ORC_OK)
        orci_db_exec(db, "ROLLBACK TO orci_view", &ignored);
}

/* finish dumps root into *json (caller frees) and releases root. */
static int finish(json_t *root, char **json, orc_error *err)
{
    *json = orci_json_dump(root);
    json_decref(root);
    if (*json == NULL)
        return out_of_memory(err);
    return ORC_OK;
}

/* ---- the step graph of a workflow version -------------------------------------------- */

/*
 * graph_bfs_order writes the upstream step order into order[g->n]: a queue seeded with the
 * steps that have no creation dependencies (version order); each emitted step enqueues, in
 * version order, every not yet enqueued step that depends on it, so a step comes as soon
 * as ANY of its dependencies has been emitted (not a strict topological sort, as
 * upstream). Steps never reached (only possible with a dependency cycle, which the loader
 * refuses) are appended in version order so that no step is lost.
 */
static int graph_bfs_order(const orci_graph *g, size_t *order, orc_error *err)
{
    bool *queued = calloc(g->n + 1, sizeof *queued);
    if (queued == NULL)
        return out_of_memory(err);
    size_t tail = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].ndeps == 0) {
            order[tail++] = i;
            queued[i] = true;
        }
    for (size_t head = 0; head < tail; head++) {
        const orci_graph_step *s = &g->v[order[head]];
        for (size_t k = 0; k < s->ndependents; k++) {
            size_t d = s->dependents[k];
            if (!queued[d]) {
                queued[d] = true;
                order[tail++] = d;
            }
        }
    }
    for (size_t i = 0; i < g->n; i++)
        if (!queued[i])
            order[tail++] = i;
    free(queued);
    return ORC_OK;
}

/* ---- prerequisites (spec 3.6) -------------------------------------------------------- */

/*
 * prerequisites_build returns the flat prerequisites dict of the task of step step_id in
 * project_id (version version_id): each ancestor step's slug mapped to the
 * in_progress_task_data of the highest-counter live assignment of its task ({} when that
 * Complete task has no assignment, e.g. after complete_and_skip_task).
 */
static json_t *prerequisites_build(orci_db *db, int64_t project_id, int64_t version_id,
                                   int64_t step_id, orc_error *err)
{
    orci_graph *g = NULL; /* the version's cached graph (graph.h) */
    json_t *result = NULL;
    size_t *anc = NULL;
    json_t **data = NULL; /* per step index: its task's data, for Complete ancestors */
    bool *want = NULL;    /* per step index: an ancestor */
    if (orci_graph_get(db, version_id, &g, err) != ORC_OK)
        return NULL;
    size_t start = orci_graph_index(g, step_id);
    if (start == SIZE_MAX) {
        orc_error_set(err, ORC_INTERNAL, "step %lld is not in its version", (long long)step_id);
        goto out;
    }
    anc = malloc((g->n + 1) * sizeof *anc);
    if (anc == NULL) {
        out_of_memory(err);
        goto out;
    }
    size_t nanc = 0;
    if (orci_graph_ancestors(g, start, anc, &nanc, err) != ORC_OK)
        goto out;
    /* Every ancestor's task and its latest live assignment's data in one query (a step has
     * at most one task per project), instead of two queries per ancestor. */
    data = calloc(g->n + 1, sizeof *data);
    want = calloc(g->n + 1, sizeof *want);
    if (data == NULL || want == NULL) {
        out_of_memory(err);
        goto out;
    }
    for (size_t i = 0; i < nanc; i++)
        want[anc[i]] = true;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT t.step_id, t.status, (SELECT a.in_progress_task_data"
                                 " FROM task_assignments a WHERE a.task_id = t.id"
                                 " AND a.is_deleted = 0 ORDER BY a.assignment_counter DESC"
                                 " LIMIT 1) FROM tasks t WHERE t.project_id = ?1",
                                 err);
    if (st == NULL)
        goto out;
    orci_bind_int(st, 1, project_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        size_t k = orci_graph_index(g, orci_col_int(st, 0));
        if (k == SIZE_MAX || !want[k] || orci_col_int(st, 1) != ORCI_TASK_COMPLETE)
            continue;
        /* A Complete task without an assignment (complete_and_skip_task) gives {}. */
        data[k] = orci_col_is_null(st, 2) ? json_object() : col_json(st, 2, err);
        if (data[k] == NULL) {
            orci_stmt_reset(st);
            goto out;
        }
    }
    if (r < 0)
        goto out;
    result = json_object();
    if (result == NULL) {
        out_of_memory(err);
        goto out;
    }
    for (size_t i = 0; i < nanc; i++) {
        const orci_graph_step *s = &g->v[anc[i]];
        if (data[anc[i]] == NULL) {
            orc_error_set(err, ORC_FAILED_PRECONDITION, "Task dependencies are not complete.");
            goto fail;
        }
        json_t *d = data[anc[i]];
        data[anc[i]] = NULL;
        if (!put(result, s->slug, d)) {
            out_of_memory(err);
            goto fail;
        }
    }
    goto out;
fail:
    json_decref(result);
    result = NULL;
out:
    if (data != NULL)
        for (size_t i = 0; i < g->n; i++)
            json_decref(data[i]);
    free(data);
    free(want);
    free(anc);
    orci_graph_release(g);
    return result;
}

int orci_view_prerequisites(orci_db *db, int64_t task_id, char **json, orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT t.project_id, s.workflow_version_id, t.step_id"
                                 " FROM tasks t JOIN steps s ON s.id = t.step_id"
                                 " WHERE t.id = ?1",
                                 err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, task_id);
    int r = orci_db_row(db, st, err);
    if (r <= 0) {
        code =
            r < 0 ? orci_db_code(err) : orc_error_set(err, ORC_NOT_FOUND, "No task for given id");
        goto out;
    }
    int64_t project_id = orci_col_int(st, 0);
    int64_t version_id = orci_col_int(st, 1);
    int64_t step_id = orci_col_int(st, 2);
    orci_stmt_reset(st);
    json_t *prereq = prerequisites_build(db, project_id, version_id, step_id, err);
    if (prereq == NULL) {
        code = orci_db_code(err);
        goto out;
    }
    code = finish(prereq, json, err);
out:
    view_end(db);
    return code;
}

int orci_view_prerequisites_in(orci_db *db, int64_t project_id, int64_t version_id, int64_t step_id,
                               char **json, orc_error *err)
{
    *json = NULL;
    json_t *prereq = prerequisites_build(db, project_id, version_id, step_id, err);
    return prereq != NULL ? finish(prereq, json, err) : orci_db_code(err);
}

int orci_view_step_prerequisites(orci_db *db, int64_t project_id, int64_t step_id, char **json,
                                 orc_error *err)
{
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(db, "SELECT workflow_version_id FROM steps WHERE id = ?1", err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, step_id);
    int r = orci_db_row(db, st, err);
    if (r <= 0) {
        code =
            r < 0 ? orci_db_code(err) : orc_error_set(err, ORC_NOT_FOUND, "No step for given id");
        goto out;
    }
    int64_t version_id = orci_col_int(st, 0);
    orci_stmt_reset(st);
    json_t *prereq = prerequisites_build(db, project_id, version_id, step_id, err);
    code = prereq != NULL ? finish(prereq, json, err) : orci_db_code(err);
out:
    view_end(db);
    return code;
}

/* ---- project_information (spec 4.3) -------------------------------------------------- */

/*
 * project_object renders the project part and returns its version id. head: upstream HEAD's
 * shape (team_messages_url renamed scratchpad_url, status as its number, slack_group_id).
 */
static json_t *project_object(orci_db *db, int64_t project_id, bool head, int64_t *version_id,
                              orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT p.id, w.slug, v.slug, p.short_description, p.start_datetime, p.priority,"
        " p.project_data, p.team_messages_url, p.task_class, p.status, v.id, p.slack_group_id"
        " FROM projects p JOIN workflow_versions v ON v.id = p.workflow_version_id"
        " JOIN workflows w ON w.id = v.workflow_id WHERE p.id = ?1",
        err);
    if (st == NULL)
        return NULL;
    orci_bind_int(st, 1, project_id);
    int r = orci_db_row(db, st, err);
    if (r <= 0) {
        if (r == 0)
            orc_error_set(err, ORC_NOT_FOUND, "No project for given id");
        return NULL;
    }
    json_t *data = col_json(st, 6, err);
    if (data == NULL) {
        orci_stmt_reset(st);
        return NULL;
    }
    json_t *p = json_object();
    bool ok = p != NULL;
    ok = ok && put(p, "id", json_integer(orci_col_int(st, 0)));
    ok = ok && put(p, "workflow_slug", json_string(orci_col_text(st, 1)));
    ok = ok && put(p, "workflow_version_slug", json_string(orci_col_text(st, 2)));
    ok = ok && put(p, "short_description", json_string(orci_col_text(st, 3)));
    ok = ok && put(p, "start_datetime", json_time(orci_col_int(st, 4)));
    ok = ok && put(p, "priority", json_integer(orci_col_int(st, 5)));
    ok = ok && put(p, "project_data", json_incref(data));
    ok = ok && put(p, head ? "scratchpad_url" : "team_messages_url", col_text_or_null(st, 7));
    ok = ok && put(p, "task_class", json_integer(orci_col_int(st, 8)));
    if (head) {
        ok = ok && put(p, "status", json_integer(orci_col_int(st, 9)));
        ok = ok && put(p, "slack_group_id", col_text_or_null(st, 11));
    } else {
        ok = ok &&
             put(p, "status", json_string(orci_project_status_label((int)orci_col_int(st, 9))));
    }
    *version_id = orci_col_int(st, 10);
    orci_stmt_reset(st);
    json_decref(data);
    if (!ok)
        out_of_memory(err);
    return built(p, ok);
}

/* steps_array renders the steps in upstream's order; head adds each step's id and name. */
static json_t *steps_array(const orci_graph *g, bool head, orc_error *err)
{
    size_t *order = malloc((g->n + 1) * sizeof *order);
    json_t *steps = json_array();
    if (order == NULL || steps == NULL)
        goto oom;
    if (graph_bfs_order(g, order, err) != ORC_OK)
        goto fail;
    for (size_t i = 0; i < g->n; i++) {
        const orci_graph_step *s = &g->v[order[i]];
        json_t *o = json_object();
        bool ok = o != NULL;
        if (head)
            ok = ok && put(o, "id", json_integer(s->id));
        ok = ok && put(o, "slug", json_string(s->slug));
        if (head)
            ok = ok && put(o, "name", json_string(s->name));
        ok = ok && put(o, "description", json_string(s->description));
        ok = ok && put(o, "is_human", json_boolean(s->is_human));
        if (!push(steps, built(o, ok)))
            goto oom;
    }
    free(order);
    return steps;
oom:
    out_of_memory(err);
fail:
    free(order);
    json_decref(steps);
    return NULL;
}

static json_t *iterations_array(orci_db *db, int64_t assignment_id, orc_error *err)
{
    json_t *its = json_array();
    if (its == NULL) {
        out_of_memory(err);
        return NULL;
    }
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT id, start_datetime, end_datetime, status,"
                                 " submitted_data FROM iterations"
                                 " WHERE assignment_id = ?1 AND is_deleted = 0"
                                 " ORDER BY start_datetime, id",
                                 err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, assignment_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        json_t *data = col_json(st, 4, err);
        if (data == NULL) {
            orci_stmt_reset(st);
            goto fail;
        }
        json_t *o = json_object();
        bool ok = o != NULL;
        ok = ok && put(o, "id", json_integer(orci_col_int(st, 0)));
        ok = ok && put(o, "start_datetime", json_time(orci_col_int(st, 1)));
        ok = ok && put(o, "end_datetime", col_time(st, 2));
        ok = ok &&
             put(o, "status", json_string(orci_iteration_status_label((int)orci_col_int(st, 3))));
        ok = ok && put(o, "assignment", json_integer(assignment_id));
        ok = put(o, "submitted_data", data) && ok;
        if (!push(its, built(o, ok))) {
            orci_stmt_reset(st);
            out_of_memory(err);
            goto fail;
        }
    }
    if (r < 0)
        goto fail;
    return its;
fail:
    json_decref(its);
    return NULL;
}

/*
 * worker_object renders {id, username, first_name, last_name}, all null for machines; head
 * adds slack_username and slack_user_id (the columns after last_name's).
 */
static json_t *worker_object(orci_stmt *st, int col_id, bool head)
{
    json_t *w = json_object();
    if (w == NULL)
        return NULL;
    bool machine = orci_col_is_null(st, col_id);
    bool ok = put(w, "id", machine ? json_null() : json_integer(orci_col_int(st, col_id)));
    ok = ok && put(w, "username", machine ? json_null() : col_text_or_null(st, col_id + 1));
    ok = ok && put(w, "first_name", machine ? json_null() : col_text_or_null(st, col_id + 2));
    ok = ok && put(w, "last_name", machine ? json_null() : col_text_or_null(st, col_id + 3));
    if (head) {
        ok = ok && put(w, "slack_username", machine ? json_null() : col_text_or_null(st, 9));
        ok = ok && put(w, "slack_user_id", machine ? json_null() : col_text_or_null(st, 10));
    }
    return built(w, ok);
}

/*
 * assignments_array renders a task's live assignments by counter and returns its
 * latest_data in *latest (new reference): the data of the Processing assignment, else of
 * the highest counter, else null.
 */
static json_t *assignments_array(orci_db *db, int64_t task_id, bool head, json_t **latest,
                                 orc_error *err)
{
    json_t *arr = json_array();
    json_t *processing = NULL, *last = NULL; /* borrowed from arr */
    *latest = NULL;
    if (arr == NULL) {
        out_of_memory(err);
        return NULL;
    }
    /* Machine assignments have no worker: the LEFT JOINs give NULL columns. */
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT a.id, a.start_datetime, a.status, a.in_progress_task_data, w.id, u.username,"
        " u.first_name, u.last_name,"
        " (SELECT SUM(e.time_worked_us) FROM time_entries e"
        "  WHERE e.assignment_id = a.id AND e.is_deleted = 0), w.slack_username, w.slack_user_id"
        " FROM task_assignments a LEFT JOIN workers w ON w.id = a.worker_id"
        " LEFT JOIN users u ON u.id = w.user_id"
        " WHERE a.task_id = ?1 AND a.is_deleted = 0 ORDER BY a.assignment_counter, a.id",
        err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, task_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        int64_t id = orci_col_int(st, 0);
        int status = (int)orci_col_int(st, 2);
        json_t *data = col_json(st, 3, err);
        if (data == NULL) {
            orci_stmt_reset(st);
            goto fail;
        }
        /* The iterations query is another statement: this one stays on its row. */
        json_t *its = iterations_array(db, id, err);
        if (its == NULL) {
            json_decref(data);
            orci_stmt_reset(st);
            goto fail;
        }
        json_t *o = json_object();
        bool ok = o != NULL;
        ok = ok && put(o, "id", json_integer(id));
        ok = ok && put(o, "start_datetime", json_time(orci_col_int(st, 1)));
        ok = ok && put(o, "worker", worker_object(st, 4, head));
        ok = ok && put(o, "task", json_integer(task_id));
        ok = ok && put(o, "status", json_string(orci_assignment_status_label(status)));
        ok = ok && put(o, "in_progress_task_data", json_incref(data));
        if (orci_col_is_null(st, 8))
            ok = ok && put(o, "recorded_work_time", json_null());
        else
            ok = ok && put(o, "recorded_work_time", json_real((double)orci_col_int(st, 8) / 1e6));
        ok = put(o, "iterations", its) && ok;
        if (!push(arr, built(o, ok))) {
            json_decref(data);
            orci_stmt_reset(st);
            out_of_memory(err);
            goto fail;
        }
        last = data;
        if (status == ORCI_ASSIGNMENT_PROCESSING && processing == NULL)
            processing = data;
        json_decref(data); /* o holds it */
    }
    if (r < 0)
        goto fail;
    if (processing != NULL)
        *latest = json_incref(processing);
    else if (last != NULL)
        *latest = json_incref(last);
    else
        *latest = json_null();
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static json_t *tasks_object(orci_db *db, int64_t project_id, bool head, orc_error *err)
{
    json_t *tasks = json_object();
    if (tasks == NULL) {
        out_of_memory(err);
        return NULL;
    }
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT t.id, s.slug, t.status, t.start_datetime"
                                 " FROM tasks t JOIN steps s ON s.id = t.step_id"
                                 " WHERE t.project_id = ?1 ORDER BY t.id",
                                 err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, project_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        int64_t id = orci_col_int(st, 0);
        json_t *latest = NULL;
        json_t *assignments = assignments_array(db, id, head, &latest, err);
        if (assignments == NULL) {
            orci_stmt_reset(st);
            goto fail;
        }
        json_t *o = json_object();
        bool ok = o != NULL;
        ok = ok && put(o, "id", json_integer(id));
        ok = ok && put(o, "step_slug", json_string(orci_col_text(st, 1)));
        ok = ok && put(o, "project", json_integer(project_id));
        ok = ok && put(o, "status", json_string(orci_task_status_label((int)orci_col_int(st, 2))));
        ok = ok && put(o, "start_datetime", json_time(orci_col_int(st, 3)));
        ok = put(o, "latest_data", latest) && ok;
        ok = put(o, "assignments", assignments) && ok;
        if (!put(tasks, orci_col_text(st, 1), built(o, ok))) {
            orci_stmt_reset(st);
            out_of_memory(err);
            goto fail;
        }
    }
    if (r < 0)
        goto fail;
    return tasks;
fail:
    json_decref(tasks);
    return NULL;
}

/*
 * project_document renders one project's {project, steps, tasks} into *out (new
 * reference), in DOC's shape plus our status label, or upstream HEAD's (head). Unknown id:
 * ORC_NOT_FOUND "No project for given id".
 */
static int project_document(orci_db *db, int64_t project_id, bool head, json_t **out,
                            orc_error *err)
{
    orci_graph *g = NULL; /* the version's cached graph (graph.h) */
    json_t *root = NULL, *steps = NULL, *tasks = NULL;
    int64_t version_id = 0;
    *out = NULL;
    json_t *project = project_object(db, project_id, head, &version_id, err);
    if (project == NULL)
        goto fail;
    if (orci_graph_get(db, version_id, &g, err) != ORC_OK)
        goto fail;
    if ((steps = steps_array(g, head, err)) == NULL ||
        (tasks = tasks_object(db, project_id, head, err)) == NULL)
        goto fail;
    root = json_object();
    bool ok = put(root, "project", project);
    ok = put(root, "steps", steps) && ok;
    ok = put(root, "tasks", tasks) && ok;
    project = steps = tasks = NULL; /* consumed */
    if (!ok) {
        json_decref(root);
        root = NULL;
        out_of_memory(err);
        goto fail;
    }
    orci_graph_release(g);
    *out = root;
    return ORC_OK;
fail:
    json_decref(project);
    json_decref(steps);
    json_decref(tasks);
    orci_graph_release(g);
    return orci_db_code(err);
}

int orci_view_project_information(orci_db *db, int64_t project_id, char **json, orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    json_t *root = NULL;
    code = project_document(db, project_id, false, &root, err);
    if (code == ORC_OK)
        code = finish(root, json, err);
    view_end(db);
    return code;
}

int orci_view_projects_information(orci_db *db, const int64_t *project_ids, size_t n, char **json,
                                   orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    json_t *root = json_object();
    if (root == NULL)
        code = out_of_memory(err);
    for (size_t i = 0; i < n && code == ORC_OK; i++) {
        json_t *doc = NULL;
        code = project_document(db, project_ids[i], true, &doc, err);
        if (code == ORC_NOT_FOUND) {
            orc_error_clear(err); /* upstream leaves unknown ids out */
            code = ORC_OK;
            continue;
        }
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)project_ids[i]);
        if (code == ORC_OK && !put(root, key, doc))
            code = out_of_memory(err);
    }
    if (code == ORC_OK)
        code = finish(root, json, err);
    else
        json_decref(root);
    view_end(db);
    return code;
}

/* ---- dashboard_tasks (spec 5) -------------------------------------------------------- */

/* Columns of DASHBOARD_SELECT, in order. */
enum { DB_TASK, DB_ASSIGNMENT, DB_STEP, DB_VERSION, DB_DETAIL, DB_A_STATUS, DB_T_STATUS, DB_LOWER };

#define DASHBOARD_SELECT                                                                           \
    "SELECT t.id, a.id, s.name, v.name, p.short_description, a.status, t.status,"                  \
    " EXISTS (SELECT 1 FROM task_assignments b WHERE b.task_id = a.task_id"                        \
    "  AND b.is_deleted = 0 AND b.assignment_counter < a.assignment_counter"                       \
    "  AND b.status = ?2)"                                                                         \
    " FROM task_assignments a JOIN tasks t ON t.id = a.task_id"                                    \
    " JOIN steps s ON s.id = t.step_id JOIN projects p ON p.id = t.project_id"                     \
    " JOIN workflow_versions v ON v.id = p.workflow_version_id"                                    \
    " WHERE a.worker_id = ?1 AND a.is_deleted = 0"

/* dashboard_entry renders {"id","assignment_id","step","project","detail"} of a row. */
static json_t *dashboard_entry(orci_stmt *st)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = ok && put(o, "id", json_integer(orci_col_int(st, DB_TASK)));
    ok = ok && put(o, "assignment_id", json_integer(orci_col_int(st, DB_ASSIGNMENT)));
    ok = ok && put(o, "step", json_string(orci_col_text(st, DB_STEP)));
    ok = ok && put(o, "project", json_string(orci_col_text(st, DB_VERSION)));
    ok = ok && put(o, "detail", json_string(orci_col_text(st, DB_DETAIL)));
    return built(o, ok);
}

/* dashboard_flag runs a query with one worker parameter that returns one 0/1 row. */
static int dashboard_flag(orci_db *db, orci_stmt *st, int64_t worker_id, bool *out, orc_error *err)
{
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, worker_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_db_code(err);
    *out = r == 1 && orci_col_int(st, 0) != 0;
    orci_stmt_reset(st);
    return ORC_OK;
}

/* The dashboard's lists (spec 5), in the order of the document. */
typedef struct dashboard_lists {
    json_t *in_progress, *returned, *pending_review, *pending_processing, *complete;
} dashboard_lists;

/* dashboard_active sorts the worker's active assignments into their lists: priority
 * descending, then project start ascending. */
static int dashboard_active(orci_db *db, int64_t worker_id, dashboard_lists *l, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 DASHBOARD_SELECT " AND t.status NOT IN (?3, ?4)"
                                                  " ORDER BY p.priority DESC,"
                                                  " p.start_datetime ASC, a.id ASC",
                                 err);
    if (st == NULL)
        return orci_db_code(err);
    orci_bind_int(st, 1, worker_id);
    orci_bind_int(st, 2, ORCI_ASSIGNMENT_PROCESSING);
    orci_bind_int(st, 3, ORCI_TASK_COMPLETE);
    orci_bind_int(st, 4, ORCI_TASK_ABORTED);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        int a_status = (int)orci_col_int(st, DB_A_STATUS);
        int t_status = (int)orci_col_int(st, DB_T_STATUS);
        json_t *list = NULL;
        if (a_status == ORCI_ASSIGNMENT_PROCESSING)
            list = t_status == ORCI_TASK_POST_REVIEW_PROCESSING ? l->returned : l->in_progress;
        else if (a_status == ORCI_ASSIGNMENT_SUBMITTED)
            list = orci_col_int(st, DB_LOWER) != 0 ? l->pending_processing : l->pending_review;
        if (list == NULL)
            continue; /* Failed: machine assignments only, never a worker's */
        if (!push(list, dashboard_entry(st))) {
            orci_stmt_reset(st);
            return out_of_memory(err);
        }
    }
    return r < 0 ? orci_db_code(err) : ORC_OK;
}

/* dashboard_complete lists the complete tasks: priority descending, then project start
 * descending, at most DASHBOARD_COMPLETE_MAX. */
static int dashboard_complete(orci_db *db, int64_t worker_id, json_t *complete, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 DASHBOARD_SELECT " AND t.status = ?3"
                                                  " ORDER BY p.priority DESC, p.start_datetime "
                                                  "DESC, a.id DESC LIMIT ?4",
                                 err);
    if (st == NULL)
        return orci_db_code(err);
    orci_bind_int(st, 1, worker_id);
    orci_bind_int(st, 2, ORCI_ASSIGNMENT_PROCESSING);
    orci_bind_int(st, 3, ORCI_TASK_COMPLETE);
    orci_bind_int(st, 4, DASHBOARD_COMPLETE_MAX);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        if (!push(complete, dashboard_entry(st))) {
            orci_stmt_reset(st);
            return out_of_memory(err);
        }
    }
    return r < 0 ? orci_db_code(err) : ORC_OK;
}

/* dashboard_flags reads preventNew (the returned-task block of spec 3.1) and reviewerStatus
 * (any REAL reviewer certification). */
static int dashboard_flags(orci_db *db, int64_t worker_id, bool *prevent_new, bool *reviewer,
                           orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT EXISTS (SELECT 1 FROM task_assignments a"
                                 " JOIN tasks t ON t.id = a.task_id WHERE a.worker_id = ?1"
                                 " AND a.is_deleted = 0 AND a.status = ?2 AND t.status = ?3)",
                                 err);
    if (st != NULL) {
        orci_bind_int(st, 2, ORCI_ASSIGNMENT_PROCESSING);
        orci_bind_int(st, 3, ORCI_TASK_POST_REVIEW_PROCESSING);
    }
    if (dashboard_flag(db, st, worker_id, prevent_new, err) != ORC_OK)
        return orci_db_code(err);
    st = orci_db_stmt(db,
                      "SELECT EXISTS (SELECT 1 FROM worker_certifications"
                      " WHERE worker_id = ?1 AND role = ?2 AND task_class = ?3)",
                      err);
    if (st != NULL) {
        orci_bind_int(st, 2, ORCI_ROLE_REVIEWER);
        orci_bind_int(st, 3, ORCI_TASK_CLASS_REAL);
    }
    if (dashboard_flag(db, st, worker_id, reviewer, err) != ORC_OK)
        return orci_db_code(err);
    return ORC_OK;
}

/* dashboard_doc assembles the document, taking the lists (NULL afterwards); NULL when out of
 * memory. */
static json_t *dashboard_doc(dashboard_lists *l, bool prevent_new, bool reviewer)
{
    json_t *tasks = json_object();
    bool ok = put(tasks, "in_progress", l->in_progress);
    ok = put(tasks, "returned", l->returned) && ok;
    ok = put(tasks, "pending_review", l->pending_review) && ok;
    ok = put(tasks, "pending_processing", l->pending_processing) && ok;
    ok = put(tasks, "complete", l->complete) && ok;
    *l = (dashboard_lists){0};
    json_t *root = json_object();
    ok = put(root, "tasks", tasks) && ok;
    ok = ok && put(root, "preventNew", json_boolean(prevent_new));
    ok = ok && put(root, "reviewerStatus", json_boolean(reviewer));
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int orci_view_dashboard(orci_db *db, int64_t worker_id, char **json, orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    dashboard_lists l = {json_array(), json_array(), json_array(), json_array(), json_array()};
    bool prevent_new = false, reviewer = false;
    json_t *root = NULL;
    if (!l.in_progress || !l.returned || !l.pending_review || !l.pending_processing || !l.complete)
        code = out_of_memory(err);
    if (code == ORC_OK)
        code = dashboard_active(db, worker_id, &l, err);
    if (code == ORC_OK)
        code = dashboard_complete(db, worker_id, l.complete, err);
    if (code == ORC_OK)
        code = dashboard_flags(db, worker_id, &prevent_new, &reviewer, err);
    if (code == ORC_OK && !(root = dashboard_doc(&l, prevent_new, reviewer)))
        code = out_of_memory(err);
    if (code == ORC_OK)
        code = finish(root, json, err);
    json_decref(l.in_progress);
    json_decref(l.returned);
    json_decref(l.pending_review);
    json_decref(l.pending_processing);
    json_decref(l.complete);
    view_end(db);
    return code;
}

/* ---- task_assignment_information (spec 5) ------------------------------------------- */

/* Columns of the task query of orci_view_task_assignment. */
enum {
    TA_T_STATUS,
    TA_PROJECT,
    TA_STEP_ID,
    TA_STEP_SLUG,
    TA_STEP_NAME,
    TA_VERSION_ID,
    TA_VERSION_SLUG,
    TA_VERSION_NAME,
    TA_WF_SLUG,
    TA_WF_NAME,
    TA_DETAILS,
    TA_URL,
    TA_PROJECT_DATA
};

/* slug_name renders {"slug","name"} from two columns. */
static json_t *slug_name(orci_stmt *st, int col_slug, int col_name)
{
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = ok && put(o, "slug", json_string(orci_col_text(st, col_slug)));
    ok = ok && put(o, "name", json_string(orci_col_text(st, col_name)));
    return built(o, ok);
}

/*
 * task_details renders the task part (workflow, workflow_version, step, task_id, project)
 * into root and returns the ids the prerequisites need.
 */
static int task_details(orci_db *db, int64_t task_id, json_t *root, int *task_status,
                        int64_t ids[3], orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT t.status, t.project_id, s.id, s.slug, s.name, v.id, v.slug, v.name, w.slug,"
        " w.name, p.short_description, p.team_messages_url, p.project_data"
        " FROM tasks t JOIN steps s ON s.id = t.step_id"
        " JOIN workflow_versions v ON v.id = s.workflow_version_id"
        " JOIN workflows w ON w.id = v.workflow_id JOIN projects p ON p.id = t.project_id"
        " WHERE t.id = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int code = orci_db_first_row(db, st, "No task for given id", err);
    if (code != ORC_OK)
        return code;
    json_t *data = col_json(st, TA_PROJECT_DATA, err);
    if (data == NULL) {
        orci_stmt_reset(st);
        return orci_db_code(err);
    }
    *task_status = (int)orci_col_int(st, TA_T_STATUS);
    ids[0] = orci_col_int(st, TA_PROJECT);
    ids[1] = orci_col_int(st, TA_VERSION_ID);
    ids[2] = orci_col_int(st, TA_STEP_ID);
    json_t *project = json_object();
    bool ok = project != NULL;
    ok = ok && put(project, "id", json_integer(ids[0]));
    ok = ok && put(project, "details", json_string(orci_col_text(st, TA_DETAILS)));
    ok = ok && put(project, "team_messages_url", col_text_or_null(st, TA_URL));
    ok = put(project, "project_data", data) && ok;
    ok = ok && put(root, "workflow", slug_name(st, TA_WF_SLUG, TA_WF_NAME));
    ok = ok && put(root, "workflow_version", slug_name(st, TA_VERSION_SLUG, TA_VERSION_NAME));
    ok = ok && put(root, "step", slug_name(st, TA_STEP_SLUG, TA_STEP_NAME));
    ok = ok && put(root, "task_id", json_integer(task_id));
    ok = put(root, "project", project) && ok;
    orci_stmt_reset(st);
    return ok ? ORC_OK : out_of_memory(err);
}

int orci_view_task_assignment(orci_db *db, int64_t worker_id, int64_t task_id, char **json,
                              orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    json_t *root = json_object(), *details = json_object();
    if (root == NULL || details == NULL)
        goto oom;
    int task_status = 0;
    int64_t ids[3] = {0, 0, 0};
    if ((code = task_details(db, task_id, details, &task_status, ids, err)) != ORC_OK)
        goto out;

    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT a.id, a.status, a.assignment_counter, a.in_progress_task_data, u.username,"
        " u.first_name, u.last_name,"
        " (SELECT MAX(b.assignment_counter) FROM task_assignments b"
        "  WHERE b.task_id = a.task_id AND b.is_deleted = 0)"
        " FROM task_assignments a JOIN workers w ON w.id = a.worker_id"
        " JOIN users u ON u.id = w.user_id"
        " WHERE a.task_id = ?1 AND a.worker_id = ?2 AND a.is_deleted = 0"
        " ORDER BY a.id LIMIT 1",
        err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, task_id);
    orci_bind_int(st, 2, worker_id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        goto fail;
    if (r == 0) {
        code = orc_error_set(err, ORC_PERMISSION_DENIED, "Worker is not associated with task");
        goto out;
    }
    json_t *data = col_json(st, 3, err);
    if (data == NULL) {
        orci_stmt_reset(st);
        goto fail;
    }
    int a_status = (int)orci_col_int(st, 1);
    int64_t counter = orci_col_int(st, 2);
    json_t *task = json_object();
    bool ok = put(task, "data", data);
    ok = ok && put(task, "status", json_string(orci_task_status_label(task_status)));
    json_t *worker = json_object();
    bool wok = worker != NULL;
    wok = wok && put(worker, "username", json_string(orci_col_text(st, 4)));
    wok = wok && put(worker, "first_name", json_string(orci_col_text(st, 5)));
    wok = wok && put(worker, "last_name", json_string(orci_col_text(st, 6)));
    if (!wok) {
        json_decref(worker);
        worker = NULL;
    }
    ok = put(root, "assignment_id", json_integer(orci_col_int(st, 0))) && ok;
    ok = put(root, "task", task) && ok;
    ok = put(root, "worker", worker) && ok;
    ok = ok && put(root, "status", json_string(orci_assignment_status_label(a_status)));
    ok =
        ok && put(root, "is_reviewer", json_boolean(counter > 0 && counter == orci_col_int(st, 7)));
    ok = ok && put(root, "is_read_only", json_boolean(a_status != ORCI_ASSIGNMENT_PROCESSING));
    orci_stmt_reset(st);
    if (!ok)
        goto oom;
    /* Then the task details, in upstream order (the assignment dict updated with them). */
    static const char *const detail_keys[] = {"workflow", "workflow_version", "step", "task_id",
                                              "project"};
    for (size_t i = 0; i < sizeof detail_keys / sizeof detail_keys[0]; i++) {
        json_t *value = json_object_get(details, detail_keys[i]);
        if (value == NULL || json_object_set(root, detail_keys[i], value) != 0)
            goto oom;
    }
    json_t *prereq = prerequisites_build(db, ids[0], ids[1], ids[2], err);
    if (prereq == NULL)
        goto fail;
    if (!put(root, "prerequisites", prereq))
        goto oom;
    code = finish(root, json, err);
    root = NULL;
    goto out;
oom:
    out_of_memory(err);
fail:
    code = orci_db_code(err);
out:
    json_decref(details);
    json_decref(root);
    view_end(db);
    return code;
}
