/*
 * webviews.c: the web app's read views (webviews.h), built with jansson like views.c.
 *
 * A step's interface module is stored inside its user_interface JSON as "module_source"
 * (the loader puts it there from the workflow bundle, workflow/interfaces.c); these views
 * are the only readers, and they never hand that text out with the rest of the object.
 */
#include "domain/webviews.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "domain/views.h"
#include "json.h"
#include "store/db.h"
#include "store/dbutil.h"
#include "store/model.h"

#define MODULE_SOURCE_KEY "module_source"

static int out_of_memory(orc_error *err)
{
    return orc_error_set(err, ORC_INTERNAL, "out of memory while rendering a view");
}

/* set consumes v into o[key]; false when either is NULL or on OOM. */
static bool set(json_t *o, const char *key, json_t *v)
{
    if (v == NULL || o == NULL) {
        json_decref(v);
        return false;
    }
    return json_object_set_new(o, key, v) == 0;
}

static json_t *time_or_null(orci_stmt *st, int col)
{
    if (orci_col_is_null(st, col))
        return json_null();
    char buf[40];
    orci_time_format(orci_col_int(st, col), buf, sizeof buf);
    return json_string(buf);
}

/* stored_json parses a JSON column the store validated on write. */
static json_t *stored_json(orci_stmt *st, int col, orc_error *err)
{
    json_error_t jerr;
    json_t *v = json_loads(orci_col_text(st, col), JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        orc_error_set(err, ORC_INTERNAL, "stored JSON is unreadable: %s", jerr.text);
    return v;
}

static int view_begin(orci_db *db, orc_error *err)
{
    return orci_db_exec(db, "SAVEPOINT orci_webview", err);
}

static void view_end(orci_db *db)
{
    orc_error ignored = {0};
    if (orci_db_exec(db, "RELEASE orci_webview", &ignored) != ORC_OK)
        orci_db_exec(db, "ROLLBACK TO orci_webview", &ignored);
}

/* Columns of the task's step query (task_step). */
enum { TS_SLUG, TS_NAME, TS_DESCRIPTION, TS_UI, TS_HOLDS };

/*
 * task_step steps the query of task_id's step for worker_id to its row (the caller resets
 * st): the access rules of task_assignment_information.
 */
static int task_step(orci_db *db, int64_t worker_id, int64_t task_id, orci_stmt **out,
                     orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT s.slug, s.name, s.description, s.user_interface,"
                                 " EXISTS (SELECT 1 FROM task_assignments a"
                                 "  WHERE a.task_id = t.id AND a.worker_id = ?2"
                                 "  AND a.is_deleted = 0)"
                                 " FROM tasks t JOIN steps s ON s.id = t.step_id"
                                 " WHERE t.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    orci_bind_int(st, 2, worker_id);
    int code = orci_db_first_row(db, st, "No task for given id", err);
    if (code != ORC_OK)
        return code;
    if (orci_col_int(st, TS_HOLDS) == 0) {
        orci_stmt_reset(st);
        return orc_error_set(err, ORC_PERMISSION_DENIED, "Worker is not associated with task");
    }
    *out = st;
    return ORC_OK;
}

/* history_entry renders one row of the history query. */
static json_t *history_entry(orci_stmt *st, orc_error *err)
{
    json_t *data = stored_json(st, 9, err);
    if (data == NULL)
        return NULL;
    json_t *worker = json_null();
    if (!orci_col_is_null(st, 3))
        worker = json_pack("{s:s, s:s, s:s}", "username", orci_col_text(st, 3), "first_name",
                           orci_col_text(st, 4), "last_name", orci_col_text(st, 5));
    json_t *o = json_object();
    bool ok = set(o, "id", json_integer(orci_col_int(st, 0)));
    ok = ok && set(o, "assignment", json_integer(orci_col_int(st, 1)));
    ok = ok && set(o, "counter", json_integer(orci_col_int(st, 2)));
    ok = set(o, "worker", worker) && ok;
    ok = ok && set(o, "status", json_string(orci_iteration_status_label((int)orci_col_int(st, 6))));
    ok = ok && set(o, "start_datetime", time_or_null(st, 7));
    ok = ok && set(o, "end_datetime", time_or_null(st, 8));
    ok = set(o, "submitted_data", data) && ok;
    if (!ok) {
        json_decref(o);
        out_of_memory(err);
        return NULL;
    }
    return o;
}

/* task_history renders every live iteration of task_id in start order. */
static json_t *task_history(orci_db *db, int64_t task_id, orc_error *err)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        out_of_memory(err);
        return NULL;
    }
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT i.id, a.id, a.assignment_counter, u.username, u.first_name, u.last_name,"
        " i.status, i.start_datetime, i.end_datetime, i.submitted_data"
        " FROM iterations i JOIN task_assignments a ON a.id = i.assignment_id"
        " LEFT JOIN workers w ON w.id = a.worker_id LEFT JOIN users u ON u.id = w.user_id"
        " WHERE a.task_id = ?1 AND a.is_deleted = 0 AND i.is_deleted = 0"
        " ORDER BY i.start_datetime, i.id",
        err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, task_id);
    int r;
    while ((r = orci_db_row(db, st, err)) == 1) {
        json_t *e = history_entry(st, err);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            orci_stmt_reset(st);
            if (e != NULL)
                out_of_memory(err);
            goto fail;
        }
    }
    if (r < 0)
        goto fail;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

int orci_view_task_details(orci_db *db, int64_t worker_id, int64_t task_id, char **json,
                           orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    json_t *root = NULL;
    orci_stmt *st = NULL;
    if ((code = task_step(db, worker_id, task_id, &st, err)) != ORC_OK)
        goto out;
    json_t *ui = stored_json(st, TS_UI, err);
    json_t *step =
        json_pack("{s:s, s:s, s:s}", "slug", orci_col_text(st, TS_SLUG), "name",
                  orci_col_text(st, TS_NAME), "description", orci_col_text(st, TS_DESCRIPTION));
    orci_stmt_reset(st);
    if (ui == NULL || !json_is_object(ui)) {
        json_decref(ui);
        json_decref(step);
        code = ui == NULL ? orci_db_code(err) : orc_error_set(err, ORC_INTERNAL, "bad interface");
        goto out;
    }
    bool has_module = json_is_string(json_object_get(ui, MODULE_SOURCE_KEY));
    json_object_del(ui, MODULE_SOURCE_KEY);
    root = json_object();
    bool ok = set(root, "step", step);
    ok = set(root, "user_interface", ui) && ok;
    ok = ok && set(root, "has_module", json_boolean(has_module));
    json_t *history = ok ? task_history(db, task_id, err) : NULL;
    if (history == NULL) {
        code = ok ? orci_db_code(err) : out_of_memory(err);
        goto out;
    }
    if (!set(root, "history", history)) {
        code = out_of_memory(err);
        goto out;
    }
    *json = orci_json_dump(root);
    code = *json != NULL ? ORC_OK : out_of_memory(err);
out:
    json_decref(root);
    view_end(db);
    return code;
}

int orci_view_task_interface(orci_db *db, int64_t worker_id, int64_t task_id, char **path,
                             char **source, orc_error *err)
{
    if (path == NULL || source == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *path = *source = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = NULL;
    if ((code = task_step(db, worker_id, task_id, &st, err)) != ORC_OK)
        goto out;
    json_t *ui = stored_json(st, TS_UI, err);
    orci_stmt_reset(st);
    if (ui == NULL) {
        code = orci_db_code(err);
        goto out;
    }
    const char *p = json_string_value(json_object_get(ui, "module"));
    const char *text = json_string_value(json_object_get(ui, MODULE_SOURCE_KEY));
    if (p == NULL || text == NULL) {
        code = orc_error_set(err, ORC_NOT_FOUND, "This step has no interface module");
    } else if ((*path = strdup(p)) == NULL || (*source = strdup(text)) == NULL) {
        free(*path);
        *path = NULL;
        code = out_of_memory(err);
    }
    json_decref(ui);
out:
    view_end(db);
    return code;
}

/* step_names adds each step's name to the steps of a project_information document. */
static int step_names(orci_db *db, int64_t project_id, json_t *steps, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db,
                                 "SELECT s.slug, s.name FROM steps s JOIN projects p"
                                 " ON p.workflow_version_id = s.workflow_version_id"
                                 " WHERE p.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    json_t *names = json_object();
    int r = 0;
    while (names != NULL && (r = orci_db_row(db, st, err)) == 1)
        if (json_object_set_new(names, orci_col_text(st, 0), json_string(orci_col_text(st, 1))))
            break;
    if (names == NULL || r == 1) {
        orci_stmt_reset(st);
        json_decref(names);
        return out_of_memory(err);
    }
    size_t i;
    json_t *step;
    json_array_foreach(steps, i, step)
    {
        json_t *name = json_object_get(names, json_string_value(json_object_get(step, "slug")));
        if (json_object_set_new(step, "name", name != NULL ? json_incref(name) : json_string("")) !=
            0) {
            json_decref(names);
            return out_of_memory(err);
        }
    }
    json_decref(names);
    return r < 0 ? orci_db_code(err) : ORC_OK;
}

/* open_iterations_end_now sets end_datetime = now on every iteration still open. */
static int open_iterations_end_now(json_t *tasks, int64_t now_us, orc_error *err)
{
    char now[40];
    orci_time_format(now_us, now, sizeof now);
    const char *slug;
    json_t *task;
    json_object_foreach(tasks, slug, task)
    {
        size_t i, j;
        json_t *a, *it;
        json_array_foreach(json_object_get(task, "assignments"), i, a)
        {
            json_array_foreach(json_object_get(a, "iterations"), j, it)
            {
                if (json_is_null(json_object_get(it, "end_datetime")) &&
                    json_object_set_new(it, "end_datetime", json_string(now)) != 0)
                    return out_of_memory(err);
            }
        }
    }
    return ORC_OK;
}

int orci_view_managed_project(orci_db *db, int64_t project_id, int64_t now_us, char **json,
                              orc_error *err)
{
    if (json == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    char *text = NULL;
    json_t *doc = NULL;
    if ((code = orci_view_project_information(db, project_id, &text, err)) != ORC_OK)
        goto out;
    doc = orci_json_parse_object(text, strlen(text), "project_information", err);
    if (doc == NULL) {
        code = orci_db_code(err);
        goto out;
    }
    if ((code = step_names(db, project_id, json_object_get(doc, "steps"), err)) != ORC_OK ||
        (code = open_iterations_end_now(json_object_get(doc, "tasks"), now_us, err)) != ORC_OK)
        goto out;
    *json = orci_json_dump(doc);
    code = *json != NULL ? ORC_OK : out_of_memory(err);
out:
    json_decref(doc);
    free(text);
    view_end(db);
    return code;
}

int orci_view_dashboard_details(orci_db *db, int64_t worker_id, const int64_t *ids, size_t n,
                                char **json, orc_error *err)
{
    if (json == NULL || (n > 0 && ids == NULL))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "no output given");
    *json = NULL;
    if (n > ORCI_DASHBOARD_DETAILS_MAX)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "at most %d assignments at once",
                             ORCI_DASHBOARD_DETAILS_MAX);
    int code = view_begin(db, err);
    if (code != ORC_OK)
        return code;
    json_t *root = json_object();
    orci_stmt *st =
        orci_db_stmt(db,
                     "SELECT w.name, a.start_datetime,"
                     " (SELECT MAX(MAX(i.start_datetime, COALESCE(i.end_datetime, 0)))"
                     "  FROM iterations i JOIN task_assignments b ON b.id = i.assignment_id"
                     "  WHERE b.task_id = a.task_id AND b.is_deleted = 0 AND i.is_deleted = 0)"
                     " FROM task_assignments a JOIN tasks t ON t.id = a.task_id"
                     " JOIN steps s ON s.id = t.step_id"
                     " JOIN workflow_versions v ON v.id = s.workflow_version_id"
                     " JOIN workflows w ON w.id = v.workflow_id"
                     " WHERE a.id = ?1 AND a.worker_id = ?2 AND a.is_deleted = 0",
                     err);
    code = root && st ? ORC_OK : st ? out_of_memory(err) : ORC_INTERNAL;
    for (size_t i = 0; i < n && code == ORC_OK; i++) {
        orci_bind_int(st, 1, ids[i]);
        orci_bind_int(st, 2, worker_id);
        int r = orci_db_row(db, st, err);
        if (r < 0) {
            code = orci_db_code(err);
            break;
        }
        if (r == 0)
            continue; /* not the worker's: left out */
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)ids[i]);
        json_t *card = json_object();
        bool ok = set(card, "workflow", json_string(orci_col_text(st, 0)));
        ok = ok && set(card, "assigned_at", time_or_null(st, 1));
        ok = ok && set(card, "changed_at", time_or_null(st, 2));
        orci_stmt_reset(st);
        if (!ok) {
            json_decref(card);
            code = out_of_memory(err);
        } else if (!set(root, key, card)) {
            code = out_of_memory(err);
        }
    }
    if (code == ORC_OK) {
        *json = orci_json_dump(root);
        code = *json != NULL ? ORC_OK : out_of_memory(err);
    }
    json_decref(root);
    view_end(db);
    return code;
}
