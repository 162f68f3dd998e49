/*
 * lifecycle_create.c: projects and task creation (spec 3.4 create_subsequent_tasks), the
 * assignment policies applied to new tasks, and project completion. Split from lifecycle.c;
 * the shared internals are in lifecycle_internal.h.
 */
#include "domain/lifecycle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "store/events.h"
#include "store/policy.h"
#include "domain/graph.h"
#include "domain/jobs.h"
#include "json.h"
#include "domain/lifecycle_internal.h"
#include "log.h"
#include "vec.h"

#define MSG_POLICY "Assignment policy incorrectly specified."

/* ---- task creation and assignment policies ------------------------------------------ */

/* find_worker_by_username looks a worker up; *found false when there is none. */
static int find_worker_by_username(orci_db *db, const char *username, int64_t *worker_id,
                                   bool *found, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db, "SELECT w.id FROM workers w JOIN users u ON u.id = w.user_id WHERE u.username = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, username);
    return orci_db_one_id(db, st, worker_id, found, err);
}

/*
 * try_preassign tries assign_core and treats an eligibility refusal as "stays in the pool"
 * (spec 3.4 _preassign_workers). *done tells whether the task was assigned.
 */
static int try_preassign(orci_lc *lc, int64_t worker_id, int64_t task_id, bool *done,
                         orc_error *err)
{
    orc_error why = {0};
    int code = orci_lci_assign_core(lc, worker_id, task_id, NULL, &why);
    *done = code == ORC_OK;
    if (code == ORC_OK)
        return ORC_OK;
    if (orci_lci_expected_error(code)) {
        orci_debug("task %lld: pre-assignment to worker %lld refused: %s", (long long)task_id,
                   (long long)worker_id, why.message);
        return ORC_OK;
    }
    return orc_error_set(err, (orc_code)code, "%s", why.message);
}

/* policy_previous_steps applies previously_completed_steps with the slugs in steps. */
static int policy_previous_steps(orci_lc *lc, int64_t project_id, int64_t task_id, json_t *steps,
                                 orc_error *err)
{
    size_t n = json_array_size(steps);
    int64_t *step_ids = calloc(n + 1, sizeof *step_ids);
    if (step_ids == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    int code = ORC_OK;
    /* Every listed step must be a human step of the version before anything is tried. */
    for (size_t i = 0; i < n; i++) {
        const char *slug = json_string_value(json_array_get(steps, i));
        if (slug == NULL) {
            code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
            goto out;
        }
        orci_stmt *st = orci_db_stmt(
            lc->db,
            "SELECT s.id, s.is_human FROM steps s JOIN projects p"
            " ON p.workflow_version_id = s.workflow_version_id WHERE p.id = ?1 AND s.slug = ?2",
            err);
        if (st == NULL) {
            code = ORC_INTERNAL;
            goto out;
        }
        orci_bind_int(st, 1, project_id);
        orci_bind_text(st, 2, slug);
        int r = orci_db_row(lc->db, st, err);
        if (r < 0) {
            code = orci_lci_db_err(err);
            goto out;
        }
        if (r == 0) {
            code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
            goto out;
        }
        step_ids[i] = orci_col_int(st, 0);
        bool human = orci_col_int(st, 1) != 0;
        orci_stmt_reset(st);
        if (!human) {
            code = orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "Machine step should not be member of assignment policy");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        orci_stmt *st = orci_db_stmt(
            lc->db,
            "SELECT a.worker_id FROM tasks t JOIN task_assignments a ON a.task_id = t.id"
            " WHERE t.project_id = ?1 AND t.step_id = ?2 AND a.assignment_counter = 0"
            " AND a.is_deleted = 0 AND a.worker_id IS NOT NULL",
            err);
        if (st == NULL) {
            code = ORC_INTERNAL;
            goto out;
        }
        orci_bind_int(st, 1, project_id);
        orci_bind_int(st, 2, step_ids[i]);
        int64_t worker_id = 0;
        bool found = false, done = false;
        if ((code = orci_db_one_id(lc->db, st, &worker_id, &found, err)) != ORC_OK)
            goto out;
        if (!found)
            continue;
        if ((code = try_preassign(lc, worker_id, task_id, &done, err)) != ORC_OK || done)
            goto out;
    }
out:
    free(step_ids);
    return code;
}

/* preassign applies a new task's assignment policy (spec 3.4 _preassign_workers). */
static int preassign(orci_lc *lc, int64_t project_id, int64_t task_id, bool is_human,
                     const char *policy_text, orc_error *err)
{
    json_t *policy = json_loads(policy_text, 0, NULL);
    int code = ORC_OK;
    if (!json_is_object(policy)) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
        goto out;
    }
    if (!is_human) {
        if (json_object_size(policy) > 0)
            code = orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "Machine step should not have assignment policy.");
        goto out;
    }
    const char *name = json_string_value(json_object_get(policy, "policy"));
    if (name == NULL) {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
    } else if (strcmp(name, "anyone_certified") == 0) {
        code = ORC_OK;
    } else if (strcmp(name, "previously_completed_steps") == 0) {
        json_t *steps = json_object_get(policy, "steps");
        if (!json_is_array(steps))
            code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
        else
            code = policy_previous_steps(lc, project_id, task_id, steps, err);
    } else if (strcmp(name, "specified_worker") == 0) {
        const char *username = json_string_value(json_object_get(policy, "username"));
        int64_t worker_id = 0;
        bool found = false, done = false;
        if (username == NULL) {
            code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
        } else if ((code = find_worker_by_username(lc->db, username, &worker_id, &found, err)) ==
                       ORC_OK &&
                   found) {
            code = try_preassign(lc, worker_id, task_id, &done, err);
        } else if (code == ORC_OK) {
            orci_warn("task %lld: specified worker %s does not exist; the task stays in the pool",
                      (long long)task_id, username);
        }
    } else {
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_POLICY);
    }
out:
    json_decref(policy);
    return code;
}

/*
 * project_ending tells whether a Complete task of the project belongs to a step with
 * completion_ends_project (upstream HEAD): the project is then done, whatever else is open.
 */
static int project_ending(orci_lc *lc, int64_t project_id, bool *ending, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT 1 FROM tasks t JOIN steps s ON s.id = t.step_id"
                                 " WHERE t.project_id = ?1 AND t.status = 5"
                                 " AND s.completion_ends_project = 1 LIMIT 1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int64_t one = 0;
    return orci_db_one_id(lc->db, st, &one, ending, err);
}

int orci_lci_complete_if_done(orci_lc *lc, int64_t project_id, orc_error *err)
{
    int status = 0;
    int code = orci_lci_project_status(lc->db, project_id, &status, err);
    if (code != ORC_OK || status != ORCI_PROJECT_ACTIVE)
        return code;
    bool ending = false;
    if ((code = project_ending(lc, project_id, &ending, err)) != ORC_OK)
        return code;
    /*
     * Upstream HEAD's rule: no task left that is not Complete. A step without a task counts
     * only through its dependencies: this runs when create_subsequent created nothing, so
     * such a step waits for a task that is not Complete, or its creation policy (or one of
     * a dependency's) declined it and it never comes.
     */
    if (!ending) {
        /* A Python creation policy not answered yet (its job queued, running or failed)
         * may still create a task: it counts as open. One statement: this runs at the end
         * of every project. */
        orci_stmt *st = orci_db_stmt(
            lc->db,
            "SELECT (SELECT count(*) FROM tasks WHERE project_id = ?1 AND status != 5) +"
            " (SELECT count(*) FROM jobs WHERE project_id = ?1 AND kind = 1"
            " AND status IN (0, 1, 3))",
            err);
        if (st == NULL)
            return ORC_INTERNAL;
        orci_bind_int(st, 1, project_id);
        int64_t open = 0;
        bool found = false;
        if ((code = orci_db_one_id(lc->db, st, &open, &found, err)) != ORC_OK)
            return code;
        if (open > 0)
            return ORC_OK;
    } else if ((code = orci_jobs_cancel_policies(lc, project_id, err)) != ORC_OK) {
        /* A completion_ends_project step ended it: what still asks is asked no more. */
        return code;
    }
    return orci_lci_set_project_status(lc, project_id, ORCI_PROJECT_COMPLETED, err);
}

/* A step ready for its task. */
typedef struct ready_step {
    int64_t id;
    bool is_human;
    char *policy;          /* assignment policy */
    char *creation_policy; /* upstream HEAD's, "{}" for the default */
    char *slug;
    /* The version's graph when the strings are borrowed from it (create_subsequent), and the
     * step's place in it; NULL when they are the caller's (policy_ready). */
    const orci_graph *g;
    size_t index;
} ready_step;

/*
 * ask_policy asks an executor whether to create the step's task (a Python creation policy,
 * jobs.h): unless a question is pending, it is asked (again: upstream ran the policy at
 * every create_subsequent_tasks, so a declined or failed one is asked anew). *asking tells
 * whether an answer is awaited.
 */
static int ask_policy(orci_lc *lc, int64_t project_id, const ready_step *s,
                      const orci_creation_policy *p, bool *asking, orc_error *err)
{
    orci_policy_state state;
    int code = orci_jobs_policy_state(lc->db, project_id, s->id, &state, err);
    if (code != ORC_OK)
        return code;
    *asking = true;
    if (state == ORCI_POLICY_PENDING)
        return ORC_OK;
    /* "O" adds a reference to the policy's kwargs; "{}" makes an empty one (a json_object()
     * passed to "O" had two references, and leaked). */
    json_t *spec = p->kwargs != NULL ? json_pack("{s:s, s:O}", "path", p->path, "kwargs", p->kwargs)
                                     : json_pack("{s:s, s:{}}", "path", p->path, "kwargs");
    char *text = spec != NULL ? orci_json_dump(spec) : NULL;
    json_decref(spec);
    if (text == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    code = orci_jobs_ask_policy(lc, project_id, s->id, text, err);
    free(text);
    return code;
}

/*
 * create_wanted runs the step's creation policy (store/policy.h): a built-in here, a Python
 * one by asking an executor (*create false and *asking true until it answers). A policy
 * that does not parse (an imported database's) refuses the transition, as upstream's
 * CreationPolicyError did, rather than silently creating or skipping the task.
 */
static int create_wanted(orci_lc *lc, int64_t project_id, const ready_step *s, bool *create,
                         bool *asking, orc_error *err)
{
    *asking = false;
    if (strcmp(s->creation_policy, "{}") == 0) {
        *create = true; /* the default, always_create, without parsing */
        return ORC_OK;
    }
    char what[300];
    snprintf(what, sizeof what, "%.200s.creation_policy", s->slug);
    orc_error why = {0};
    json_t *policy = json_loads(s->creation_policy, 0, NULL);
    orci_creation_policy p;
    int code = ORC_OK;
    *create = false;
    if (orci_creation_policy_parse(policy, what, &p, &why) != ORC_OK)
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, "%s", why.message);
    else if (p.python)
        code = ask_policy(lc, project_id, s, &p, asking, err);
    else
        *create = p.fn(NULL, NULL, p.kwargs);
    json_decref(policy);
    return code;
}

/* create_task creates the project's task of a ready step and applies its assignment policy. */
static int create_task(orci_lc *lc, int64_t project_id, const ready_step *s, orc_error *err)
{
    int64_t task_id = 0;
    int code = orci_lci_next_id(lc->db, "SELECT coalesce(max(id), 0) + 1 FROM tasks WHERE id > 0",
                                &task_id, err);
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "INSERT INTO tasks (id, start_datetime, step_id, project_id,"
                                 " status) VALUES (?4, ?1, ?2, ?3, 0)",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, lc->now_us);
    orci_bind_int(st, 2, s->id);
    orci_bind_int(st, 3, project_id);
    orci_bind_int(st, 4, task_id);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
        return code;
    const char *created = orci_task_status_label(ORCI_TASK_AWAITING_PROCESSING);
    if (s->g != NULL) {
        /* The new task's context is known: its events and job need no lookup. */
        orci_lc_task_ctx_put(lc, task_id, project_id, s->g, s->index);
        const orci_event_task *ctx = NULL;
        if ((code = orci_lc_task_ctx(lc, task_id, &ctx, err)) == ORC_OK)
            code = orci_events_task_event_known(lc->db, lc->now_us, "task.created", ctx, NULL,
                                                created, NULL, err);
    } else {
        code = orci_events_task_event(lc->db, lc->now_us, "task.created", task_id, 0, NULL, created,
                                      NULL, err);
    }
    if (code != ORC_OK ||
        (code = preassign(lc, project_id, task_id, s->is_human, s->policy, err)) != ORC_OK)
        return code;
    /* A machine task is scheduled at once: it becomes a job for the executors. */
    if (s->is_human)
        return ORC_OK;
    if (s->g != NULL)
        return orci_jobs_create_known(lc, task_id, project_id, s->g->v[s->index].function,
                                      s->g->v[s->index].retry_policy, err);
    return orci_jobs_create(lc, task_id, err);
}

/*
 * project_state reads what create_subsequent needs of a project: its status and version, and
 * its tasks' statuses by step index of g (-1: no task). *g is the version's graph (the
 * caller releases it), NULL for an aborted project (nothing else is read then).
 */
static int project_state(orci_lc *lc, int64_t project_id, int *status, orci_graph **g,
                         int **task_status, orc_error *err)
{
    *g = NULL;
    *task_status = NULL;
    orci_stmt *st =
        orci_db_stmt(lc->db, "SELECT status, workflow_version_id FROM projects WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int code = orci_db_first_row(lc->db, st, "No project for given id", err);
    if (code != ORC_OK)
        return code;
    *status = (int)orci_col_int(st, 0);
    int64_t version_id = orci_col_int(st, 1);
    orci_stmt_reset(st);
    if (*status == ORCI_PROJECT_ABORTED)
        return ORC_OK;
    if ((code = orci_graph_get(lc->db, version_id, g, err)) != ORC_OK)
        return code;
    int *ts = malloc(((*g)->n + 1) * sizeof *ts);
    if (ts == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    for (size_t i = 0; i < (*g)->n; i++)
        ts[i] = -1;
    *task_status = ts;
    if ((st = orci_db_stmt(lc->db, "SELECT step_id, status FROM tasks WHERE project_id = ?1",
                           err)) == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int r;
    while ((r = orci_db_row(lc->db, st, err)) == 1) {
        size_t k = orci_graph_index(*g, orci_col_int(st, 0));
        if (k != SIZE_MAX)
            ts[k] = (int)orci_col_int(st, 1);
    }
    return r < 0 ? orci_lci_db_err(err) : ORC_OK;
}

/* step_ready: the step at index k has no task and each creation dependency a Complete one. */
static bool step_ready(const orci_graph *g, const int *task_status, size_t k)
{
    if (task_status[k] != -1)
        return false;
    for (size_t d = 0; d < g->v[k].ndeps; d++)
        if (task_status[g->v[k].deps[d]] != ORCI_TASK_COMPLETE)
            return false;
    return true;
}

int orci_lci_create_subsequent(orci_lc *lc, int64_t project_id, orc_error *err)
{
    int status = 0;
    orci_graph *g = NULL;
    int *task_status = NULL;
    ready_step *steps = NULL;
    /* The version's steps and dependencies come from its cached graph (graph.h); the
     * project's tasks are one query. */
    int code = project_state(lc, project_id, &status, &g, &task_status, err);
    /* An aborted project's tasks are all Aborted; nothing new starts there. */
    if (code != ORC_OK || g == NULL)
        goto out;
    /* Upstream HEAD: a Complete step with completion_ends_project ends the project; what
     * would come after it is not started (upstream created those tasks in the project it
     * completed, where nobody picks them up). */
    for (size_t k = 0; k < g->n; k++)
        if (g->v[k].completion_ends_project && task_status[k] == ORCI_TASK_COMPLETE) {
            code = orci_lci_complete_if_done(lc, project_id, err);
            goto out;
        }
    /* Steps in version order with no task yet whose creation dependencies are Complete,
     * collected before any task is created (as the query that read them was). */
    size_t n = 0;
    if ((steps = calloc(g->n + 1, sizeof *steps)) == NULL) {
        code = orc_error_set(err, ORC_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < g->n; k++)
        if (step_ready(g, task_status, k))
            steps[n++] = (ready_step){.id = g->v[k].id,
                                      .is_human = g->v[k].is_human,
                                      .policy = g->v[k].assignment_policy,
                                      .creation_policy = g->v[k].creation_policy,
                                      .slug = g->v[k].slug,
                                      .g = g,
                                      .index = k};
    size_t created = 0;
    for (size_t i = 0; i < n; i++) {
        bool create = false, asking = false;
        if ((code = create_wanted(lc, project_id, &steps[i], &create, &asking, err)) != ORC_OK)
            goto out;
        created += asking; /* an answer will come, and decide (orci_lc_hook_answer) */
        if (!create)
            continue; /* declined: asked again at the next completion, as upstream */
        created++;
        if ((code = create_task(lc, project_id, &steps[i], err)) != ORC_OK)
            goto out;
    }
    /* A task just created is not Complete: only a project that got none may be done. */
    code = created == 0 ? orci_lci_complete_if_done(lc, project_id, err) : ORC_OK;
out:
    free(steps);
    free(task_status);
    orci_graph_release(g);
    return code;
}

/*
 * policy_ready loads step_id into *s when the project has no task of it and every creation
 * dependency is Complete (*ready false otherwise: a revert or an admin changed the project
 * while the policy was asked). The caller frees s's strings.
 */
static int policy_ready(orci_lc *lc, int64_t project_id, int64_t step_id, ready_step *s,
                        bool *ready, orc_error *err)
{
    memset(s, 0, sizeof *s);
    orci_stmt *st = orci_db_stmt(
        lc->db,
        "SELECT s.id, s.is_human, s.assignment_policy, s.creation_policy, s.slug FROM steps s"
        " WHERE s.id = ?2 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = ?1"
        " AND t.step_id = s.id) AND NOT EXISTS (SELECT 1 FROM step_creation_deps d"
        " WHERE d.step_id = s.id AND NOT EXISTS (SELECT 1 FROM tasks t2 WHERE"
        " t2.project_id = ?1 AND t2.step_id = d.depends_on_id AND t2.status = 5))",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    orci_bind_int(st, 2, step_id);
    int r = orci_db_row(lc->db, st, err);
    if (r < 0)
        return orci_lci_db_err(err);
    *ready = r == 1;
    if (r == 0)
        return ORC_OK;
    s->id = orci_col_int(st, 0);
    s->is_human = orci_col_int(st, 1) != 0;
    s->policy = strdup(orci_col_text(st, 2));
    s->creation_policy = strdup(orci_col_text(st, 3));
    s->slug = strdup(orci_col_text(st, 4));
    orci_stmt_reset(st);
    if (s->policy == NULL || s->creation_policy == NULL || s->slug == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    return ORC_OK;
}

/*
 * policy_answer acts on a Python creation policy's answer ({"create": b}), in the
 * transaction that records it: the step's task is created (and, a machine step, queued) when
 * the policy said so and the step is still ready; otherwise the project may now be done. An
 * ended or completed project takes no new task.
 */
static int policy_answer(orci_lc *lc, const orci_hook_answer *a, orc_error *err)
{
    int status = 0;
    int code = orci_lci_project_status(lc->db, a->project_id, &status, err);
    if (code != ORC_OK || status == ORCI_PROJECT_ABORTED || status == ORCI_PROJECT_COMPLETED)
        return code;
    json_t *out = json_loads(a->output != NULL ? a->output : "{}", 0, NULL);
    bool create = json_is_true(json_object_get(out, "create"));
    json_decref(out);
    ready_step s;
    bool ready = false;
    if (create && (code = policy_ready(lc, a->project_id, a->step_id, &s, &ready, err)) == ORC_OK)
        code = ready ? create_task(lc, a->project_id, &s, err)
                     : orci_lci_complete_if_done(lc, a->project_id, err);
    else if (!create)
        code = orci_lci_complete_if_done(lc, a->project_id, err);
    if (create) {
        free(s.policy);
        free(s.creation_policy);
        free(s.slug);
    }
    if (code != ORC_OK)
        return code;
    return orci_lci_check_project(lc->db, a->project_id, err);
}

int orci_lc_hook_answer(orci_lc *lc, const orci_hook_answer *a, orc_error *err)
{
    switch (a->kind) {
    case ORCI_JOB_KIND_POLICY:
        return policy_answer(lc, a, err);
    case ORCI_JOB_KIND_ABORT:
        /* Upstream ignored what the hook returned; its job's events say that it ran. */
        return ORC_OK;
    default:
        return orc_error_set(err, ORC_INTERNAL, "job %lld: a %s answer is not the lifecycle's",
                             (long long)a->job_id, orci_job_kind_name(a->kind));
    }
}

int orci_lc_create_subsequent_tasks(orci_lc *lc, int64_t project_id, orc_error *err)
{
    int code = orci_lci_create_subsequent(lc, project_id, err);
    if (code != ORC_OK)
        return code;
    return orci_lci_check_project(lc->db, project_id, err);
}

/* ---- projects ----------------------------------------------------------------------- */

/* project_created_event appends project.created with the project's parameters. */
static int project_created_event(orci_lc *lc, int64_t project_id, const orci_project_params *p,
                                 orc_error *err)
{
    json_t *payload =
        json_pack("{s:s, s:s, s:I, s:s}", "version", p->version_slug, "description",
                  p->description != NULL ? p->description : "", "priority", (json_int_t)p->priority,
                  "task_class", orci_task_class_name(p->task_class));
    if (payload == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    orci_event_rec e = {.type = "project.created",
                        .time_us = lc->now_us,
                        .new_status = orci_project_status_label(ORCI_PROJECT_ACTIVE),
                        .payload = payload};
    int code = orci_events_project_context(lc->db, project_id, &e, err);
    if (code == ORC_OK)
        code = orci_events_append(lc->db, &e, NULL, err);
    json_decref(payload);
    return code;
}

int orci_lc_create_project(orci_lc *lc, const orci_project_params *p, int64_t *project_id,
                           orc_error *err)
{
    if (p == NULL || p->workflow_slug == NULL || p->version_slug == NULL)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "A workflow slug and a version slug are required.");
    if (p->task_class != ORCI_TASK_CLASS_REAL && p->task_class != ORCI_TASK_CLASS_TRAINING)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Invalid task class.");
    char *data = orci_lci_normalize_object(p->project_data, "project_data", err);
    if (data == NULL)
        return orci_lci_db_err(err);
    int code = ORC_OK;
    orci_stmt *st = orci_db_stmt(lc->db, "SELECT id FROM workflows WHERE slug = ?1", err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_text(st, 1, p->workflow_slug);
    int64_t workflow_id = 0, version_id = 0;
    bool found = false;
    if ((code = orci_db_one_id(lc->db, st, &workflow_id, &found, err)) != ORC_OK)
        goto out;
    if (!found) {
        code = orc_error_set(err, ORC_NOT_FOUND, "Workflow %s not found", p->workflow_slug);
        goto out;
    }
    st = orci_db_stmt(lc->db,
                      "SELECT id FROM workflow_versions WHERE workflow_id = ?1 AND slug = ?2", err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, workflow_id);
    orci_bind_text(st, 2, p->version_slug);
    if ((code = orci_db_one_id(lc->db, st, &version_id, &found, err)) != ORC_OK)
        goto out;
    if (!found) {
        code = orc_error_set(err, ORC_NOT_FOUND, "Version %s of workflow %s not found",
                             p->version_slug, p->workflow_slug);
        goto out;
    }
    st = orci_db_stmt(lc->db,
                      "INSERT INTO projects (start_datetime, status, workflow_version_id,"
                      " short_description, priority, project_data, task_class)"
                      " VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                      err);
    if (st == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    orci_bind_int(st, 1, lc->now_us);
    orci_bind_int(st, 2, version_id);
    orci_bind_text(st, 3, p->description != NULL ? p->description : "");
    orci_bind_int(st, 4, p->priority);
    orci_bind_text(st, 5, data);
    orci_bind_int(st, 6, p->task_class);
    int64_t id = 0;
    if ((code = orci_db_insert(lc->db, st, &id, err)) != ORC_OK)
        goto out;
    if ((code = project_created_event(lc, id, p, err)) != ORC_OK)
        goto out;
    if ((code = orci_lci_create_subsequent(lc, id, err)) != ORC_OK)
        goto out;
    if ((code = orci_lci_check_project(lc->db, id, err)) != ORC_OK)
        goto out;
    if (project_id != NULL)
        *project_id = id;
out:
    free(data);
    return code;
}
