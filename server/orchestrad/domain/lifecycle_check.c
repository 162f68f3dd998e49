/*
 * lifecycle_check.c: the invariants of spec 3.2 (upstream's verify_iterations helper) and
 * the uniqueness and project rules, checked per task after every transition and over the
 * whole database on demand.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "domain/lifecycle.h"
#include "domain/lifecycle_internal.h"
#include "store/db.h"

static const orci_lci_assignment *find_assignment(const orci_lci_assignment *as, size_t n,
                                                  int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (as[i].id == id)
            return &as[i];
    return NULL;
}

/* check_assignments: counters 0..n-1, workers per step kind, one seat per worker, at most
 * one Processing assignment. */
static int check_assignments(const orci_lci_task *t, const orci_lci_assignment *as, size_t n,
                             orc_error *err)
{
    int processing = 0;
    for (size_t i = 0; i < n; i++) {
        if (as[i].counter != (int)i)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: assignment counters are not 0..%zu (found %d at "
                                 "position %zu)",
                                 (long long)t->id, n - 1, as[i].counter, i);
        if (t->is_human && as[i].worker_id == 0)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: assignment %lld of a human step has no worker",
                                 (long long)t->id, (long long)as[i].id);
        if (!t->is_human && as[i].worker_id != 0)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: assignment %lld of a machine step has a worker",
                                 (long long)t->id, (long long)as[i].id);
        for (size_t j = 0; j < i; j++)
            if (as[i].worker_id != 0 && as[j].worker_id == as[i].worker_id)
                return orc_error_set(err, ORC_INTERNAL,
                                     "task %lld: worker %lld holds two assignments",
                                     (long long)t->id, (long long)as[i].worker_id);
        if (as[i].status == ORCI_ASSIGNMENT_PROCESSING)
            processing++;
        if (as[i].status == ORCI_ASSIGNMENT_FAILED && t->is_human)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: assignment %lld of a human step is Failed",
                                 (long long)t->id, (long long)as[i].id);
    }
    if (processing > 1)
        return orc_error_set(err, ORC_INTERNAL, "task %lld: %d assignments are Processing",
                             (long long)t->id, processing);
    return ORC_OK;
}

/* check_walk: iterations walk the counters, only the last may be Processing, contiguity. */
static int check_walk(const orci_lci_task *t, const orci_lci_assignment *as, size_t n,
                      const orci_lci_iteration *it, size_t m, orc_error *err)
{
    int expected = 0;
    for (size_t i = 0; i < m; i++) {
        const orci_lci_assignment *a = find_assignment(as, n, it[i].assignment_id);
        if (a == NULL)
            return orc_error_set(err, ORC_INTERNAL, "task %lld: iteration %lld has no assignment",
                                 (long long)t->id, (long long)it[i].id);
        if (a->counter != expected)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: iteration %lld belongs to counter %d, expected %d",
                                 (long long)t->id, (long long)it[i].id, a->counter, expected);
        bool last = i + 1 == m;
        if (it[i].status == ORCI_ITERATION_PROCESSING) {
            if (!last)
                return orc_error_set(err, ORC_INTERNAL,
                                     "task %lld: iteration %lld is Processing but not the last",
                                     (long long)t->id, (long long)it[i].id);
            if (it[i].end_us != -1 || !it[i].submitted_empty)
                return orc_error_set(err, ORC_INTERNAL,
                                     "task %lld: open iteration %lld has an end or submitted data",
                                     (long long)t->id, (long long)it[i].id);
        } else if (it[i].end_us == -1) {
            return orc_error_set(err, ORC_INTERNAL, "task %lld: closed iteration %lld has no end",
                                 (long long)t->id, (long long)it[i].id);
        }
        /* The first iteration of an assignment starts with it; the others start when the
         * previous iteration of the task ended. */
        bool first_of_assignment = true;
        for (size_t j = 0; j < i; j++)
            if (it[j].assignment_id == it[i].assignment_id)
                first_of_assignment = false;
        if (first_of_assignment) {
            if (it[i].start_us != a->start_us)
                return orc_error_set(err, ORC_INTERNAL,
                                     "task %lld: iteration %lld does not start with its assignment",
                                     (long long)t->id, (long long)it[i].id);
        } else if (it[i].start_us != it[i - 1].end_us) {
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: iteration %lld does not start when the previous "
                                 "one ended",
                                 (long long)t->id, (long long)it[i].id);
        }
        if (it[i].status == ORCI_ITERATION_REQUESTED_REVIEW)
            expected = a->counter + 1;
        else if (it[i].status == ORCI_ITERATION_PROVIDED_REVIEW)
            expected = a->counter - 1;
    }
    /* Every assignment has at least one iteration. */
    for (size_t k = 0; k < n; k++) {
        bool seen = false;
        for (size_t i = 0; i < m && !seen; i++)
            seen = it[i].assignment_id == as[k].id;
        if (!seen)
            return orc_error_set(err, ORC_INTERNAL, "task %lld: assignment %lld has no iteration",
                                 (long long)t->id, (long long)as[k].id);
    }
    return ORC_OK;
}

/* check_status: the task status against the final iteration and the assignments. */
static int check_status(const orci_lci_task *t, const orci_lci_assignment *as, size_t n,
                        const orci_lci_iteration *it, size_t m, orc_error *err)
{
    const char *label = orci_task_status_label(t->status);
    if (t->status == ORCI_TASK_ABORTED)
        return ORC_OK; /* end_project leaves assignments and iterations as they were */
    const orci_lci_assignment *holder = NULL;
    for (size_t i = 0; i < n; i++)
        if (as[i].status == ORCI_ASSIGNMENT_PROCESSING)
            holder = &as[i];
    if (m == 0) {
        if (t->status != ORCI_TASK_AWAITING_PROCESSING && t->status != ORCI_TASK_COMPLETE)
            return orc_error_set(err, ORC_INTERNAL, "task %lld: %s with no iteration",
                                 (long long)t->id, label);
        return ORC_OK;
    }
    const orci_lci_iteration *last = &it[m - 1];
    const orci_lci_assignment *owner = find_assignment(as, n, last->assignment_id);
    switch (t->status) {
    case ORCI_TASK_AWAITING_PROCESSING:
        return orc_error_set(err, ORC_INTERNAL, "task %lld: Awaiting Processing with iterations",
                             (long long)t->id);
    case ORCI_TASK_PROCESSING:
    case ORCI_TASK_REVIEWING:
    case ORCI_TASK_POST_REVIEW_PROCESSING: {
        if (last->status != ORCI_ITERATION_PROCESSING)
            return orc_error_set(err, ORC_INTERNAL, "task %lld: %s but the last iteration is %s",
                                 (long long)t->id, label,
                                 orci_iteration_status_label(last->status));
        /* A machine run that failed keeps its task Processing with a Failed assignment. */
        bool machine_failed = !t->is_human && owner != NULL &&
                              owner->status == ORCI_ASSIGNMENT_FAILED && holder == NULL;
        if (!machine_failed && (holder == NULL || holder != owner))
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: the open iteration's assignment is not the "
                                 "Processing one",
                                 (long long)t->id);
        /* The status follows from the iteration before: none -> Processing, a request
         * for review -> Reviewing, a returned review -> Post-review Processing. */
        int derived = m == 1 ? ORCI_TASK_PROCESSING
                      : it[m - 2].status == ORCI_ITERATION_REQUESTED_REVIEW
                          ? ORCI_TASK_REVIEWING
                          : ORCI_TASK_POST_REVIEW_PROCESSING;
        if (derived != t->status)
            return orc_error_set(err, ORC_INTERNAL, "task %lld: %s but its iterations say %s",
                                 (long long)t->id, label, orci_task_status_label(derived));
        return ORC_OK;
    }
    case ORCI_TASK_PENDING_REVIEW:
        if (last->status != ORCI_ITERATION_REQUESTED_REVIEW)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: Pending Review but the last iteration is %s",
                                 (long long)t->id, orci_iteration_status_label(last->status));
        if (holder != NULL)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: Pending Review with a Processing assignment",
                                 (long long)t->id);
        if (owner == NULL || owner->counter + 1 != (int)n)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: Pending Review but the highest level did not submit",
                                 (long long)t->id);
        return ORC_OK;
    case ORCI_TASK_COMPLETE:
        /* complete_and_skip leaves iterations alone, so an open one may remain. */
        if (last->status == ORCI_ITERATION_PROVIDED_REVIEW)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: Complete but the last iteration is a returned "
                                 "review",
                                 (long long)t->id);
        if (holder != NULL)
            return orc_error_set(err, ORC_INTERNAL,
                                 "task %lld: Complete with a Processing assignment",
                                 (long long)t->id);
        return ORC_OK;
    default:
        return orc_error_set(err, ORC_INTERNAL, "task %lld: unknown status %d", (long long)t->id,
                             t->status);
    }
}

/*
 * check_task loads a task's rows and checks them; *violated tells a broken rule (reported
 * in err) from a failure to read the rows.
 */
static int check_task(orci_db *db, int64_t task_id, bool *violated, orc_error *err)
{
    orci_lci_task t;
    orci_lci_assignment *as = NULL;
    orci_lci_iteration *it = NULL;
    size_t n = 0, m = 0;
    *violated = false;
    int code = orci_lci_load_task(db, task_id, "No task for given id", &t, err);
    if (code != ORC_OK)
        return code;
    if ((code = orci_lci_load_assignments(db, task_id, &as, &n, err)) != ORC_OK)
        goto out;
    if ((code = orci_lci_load_iterations(db, task_id, &it, &m, err)) != ORC_OK)
        goto out;
    *violated = true;
    if ((code = check_assignments(&t, as, n, err)) != ORC_OK)
        goto out;
    if ((code = check_walk(&t, as, n, it, m, err)) != ORC_OK)
        goto out;
    code = check_status(&t, as, n, it, m, err);
out:
    if (code == ORC_OK)
        *violated = false;
    free(it);
    free(as);
    return code;
}

int orci_lc_check_task(orci_db *db, int64_t task_id, orc_error *err)
{
    bool violated = false;
    return check_task(db, task_id, &violated, err);
}

/*
 * Telling an old fault from a new one costs a reader connection and a second check, so
 * only a check that failed pays it: the committed rows are read by a reader of the same
 * store, which does not see the writer's open transaction.
 */
int orci_lc_check_changed(orci_db *db, int64_t task_id, orc_error *err)
{
    bool violated = false;
    int code = check_task(db, task_id, &violated, err);
    if (code == ORC_OK || !violated)
        return code;
    orci_db *peer = NULL;
    orc_error before = {0};
    if (orci_db_open_peer(db, &peer, &before) != ORC_OK)
        return code;
    bool was = false;
    int rc = check_task(peer, task_id, &was, &before);
    orci_db_close(peer);
    if (rc == ORC_OK || !was)
        return code;
    return orc_error_set(err, ORC_FAILED_PRECONDITION,
                         "Task %lld cannot change: its stored rows already break the "
                         "lifecycle's rules (spec 3.2; `orchestrad check` lists such tasks): %s",
                         (long long)task_id, before.message);
}

int orci_lci_check_project(orci_db *db, int64_t project_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db, "SELECT id FROM tasks WHERE project_id = ?1 AND status NOT IN (5, 6) ORDER BY id", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    int64_t *ids = NULL;
    size_t n = 0;
    int code = orci_lci_load_ids(db, st, &ids, &n, err);
    for (size_t i = 0; i < n && code == ORC_OK; i++)
        code = orci_lc_check_changed(db, ids[i], err);
    free(ids);
    return code;
}

/* A project-level rule: the SQL returns (task id or 0, message) rows for violations. */
static int check_rule(orci_db *db, orci_stmt *st,
                      void (*report)(int64_t task_id, const char *msg, void *arg), void *arg,
                      int64_t *violations, orc_error *err)
{
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0)
            return orci_lci_db_err(err);
        if (r == 0)
            return ORC_OK;
        (*violations)++;
        if (report != NULL)
            report(orci_col_int(st, 0), orci_col_text(st, 1), arg);
    }
}

/* The condition that a project was not completed by a completion_ends_project step. */
#define ENDED_BY_STEP                                                                              \
    " AND NOT EXISTS (SELECT 1 FROM tasks e JOIN steps es ON es.id = e.step_id"                    \
    " WHERE e.project_id = p.id AND e.status = 5 AND es.completion_ends_project = 1)"

int orci_lc_check_all(orci_db *db, void (*report)(int64_t task_id, const char *msg, void *arg),
                      void *arg, int64_t *violations, orc_error *err)
{
    int64_t count = 0;
    int64_t *ids = NULL;
    size_t n = 0;
    orci_stmt *st = orci_db_stmt(db, "SELECT id FROM tasks ORDER BY id", err);
    if (st == NULL)
        return ORC_INTERNAL;
    int code = orci_lci_load_ids(db, st, &ids, &n, err);
    if (code != ORC_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        orc_error why = {0};
        bool violated = false;
        int rc = check_task(db, ids[i], &violated, &why);
        if (rc == ORC_OK)
            continue;
        if (!violated) {
            /* A store failure, not a violation: stop. */
            code = orc_error_set(err, (orc_code)rc, "%s", why.message);
            goto out;
        }
        count++;
        if (report != NULL)
            report(ids[i], why.message, arg);
    }

    static const char *const rules[] = {
        "SELECT min(t.id), 'project ' || t.project_id || ': ' || count(*) ||"
        " ' tasks for step ' || t.step_id FROM tasks t GROUP BY t.project_id, t.step_id"
        " HAVING count(*) > 1",
        "SELECT t.id, 'task ' || t.id || ': its step is not of its project''s version'"
        " FROM tasks t JOIN projects p ON p.id = t.project_id JOIN steps s ON s.id = t.step_id"
        " WHERE s.workflow_version_id != p.workflow_version_id",
        "SELECT t.id, 'task ' || t.id || ': not Aborted in aborted project ' || p.id"
        " FROM tasks t JOIN projects p ON p.id = t.project_id"
        " WHERE p.status = 2 AND t.status != 6",
        "SELECT t.id, 'task ' || t.id || ': Aborted in project ' || p.id || ' which is not'"
        " FROM tasks t JOIN projects p ON p.id = t.project_id"
        " WHERE p.status IN (0, 3) AND t.status = 6",
        /* A project that a completion_ends_project step ended (upstream HEAD) may leave
         * tasks open and steps without one; so may a creation policy that declined. */
        "SELECT t.id, 'task ' || t.id || ': not Complete in completed project ' || p.id"
        " FROM tasks t JOIN projects p ON p.id = t.project_id"
        " WHERE p.status = 4 AND t.status != 5" ENDED_BY_STEP,
        "SELECT 0, 'project ' || p.id || ': completed with a step that has no task'"
        " FROM projects p WHERE p.status = 4 AND EXISTS (SELECT 1 FROM steps s"
        " WHERE s.workflow_version_id = p.workflow_version_id AND NOT EXISTS"
        " (SELECT 1 FROM tasks t WHERE t.project_id = p.id AND t.step_id = s.id))"
        " AND NOT EXISTS (SELECT 1 FROM steps c WHERE c.workflow_version_id ="
        " p.workflow_version_id AND c.creation_policy != '{}')" ENDED_BY_STEP,
        "SELECT 0, 'project ' || p.id || ': every task is Complete but it is still Active'"
        " FROM projects p WHERE p.status = 0 AND NOT EXISTS (SELECT 1 FROM tasks t"
        " WHERE t.project_id = p.id AND t.status != 5) AND NOT EXISTS (SELECT 1 FROM steps s"
        " WHERE s.workflow_version_id = p.workflow_version_id AND NOT EXISTS"
        " (SELECT 1 FROM tasks t WHERE t.project_id = p.id AND t.step_id = s.id))",
    };
    /* orci_db_stmt caches by text; these are string literals that live forever. */
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        st = orci_db_stmt(db, rules[r], err);
        if (st == NULL) {
            code = ORC_INTERNAL;
            goto out;
        }
        if ((code = check_rule(db, st, report, arg, &count, err)) != ORC_OK)
            goto out;
    }
out:
    free(ids);
    if (violations != NULL)
        *violations = count;
    return code;
}
