/*
 * handout.c: request-new-task (spec 3.4 get_new_task_assignment), as a walk over the hand-out
 * queue of schema/0005_handout_queue.sql. Writer thread (it assigns).
 *
 * Upstream takes every task in the wanted status, sorts them and tries assign_task on each in
 * turn. Here the cost follows the answer instead of the backlog. The human steps with open
 * work of that status are few; those the worker is certified for in this role each get a
 * cursor over their queue rows in pick-up order (index handout_queue_walk). The walk merges
 * the cursors (k heads, take the smallest) and tries to assign the heads in that order,
 * stopping at the first success. Nothing proportional to the backlog is held in memory, and
 * nothing is sorted. Tasks of other than Active projects and of machine steps are never in
 * the queue; tasks the worker already holds an assignment on are passed over by the cursor
 * query itself.
 *
 * The answers are upstream's (with the pick-up order fixed, README "Differences"): a task
 * of a step the worker is not certified for is exactly the candidate that assign_task would
 * refuse on certification, so "No worker certificates" is whether one such task exists, an
 * EXISTS probe per uncertified step that stops at the first row.
 */
#include <stdlib.h>

#include "store/db.h"
#include "store/dbutil.h"
#include "domain/lifecycle.h"
#include "domain/lifecycle_internal.h"
#include "vec.h"

/* One step the worker may take and the head of its queue: the next task in pick-up order. */
typedef struct walk_cursor {
    int64_t step_id;
    int64_t rank; /* ~priority of the head's project: ascending rank is priority descending */
    int64_t start;
    int64_t task_id;
    bool live; /* false once the step has no task left for this worker */
} walk_cursor;

/* The human steps with open work of the wanted status, split by the worker's certification. */
typedef struct walk_steps {
    walk_cursor *certified;
    size_t n_certified, cap_certified;
    int64_t *uncertified;
    size_t n_uncertified, cap_uncertified;
} walk_steps;

static void walk_steps_fini(walk_steps *ws)
{
    free(ws->certified);
    free(ws->uncertified);
}

/*
 * returned_block is the returned-task block (spec 3.1): the worker holds a Processing
 * assignment on a task in Post-review Processing. The partial index
 * task_assignments_worker_open keeps this to the worker's open assignments.
 */
static int returned_block(orci_db *db, int64_t worker_id, bool *blocked, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT EXISTS (SELECT 1 FROM task_assignments a JOIN tasks t ON t.id = a.task_id"
        " WHERE a.worker_id = ?1 AND a.is_deleted = 0 AND a.status = 0 AND t.status = 4)",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, worker_id);
    int64_t any = 0;
    bool found = false;
    int code = orci_db_one_id(db, st, &any, &found, err);
    *blocked = any != 0;
    return code;
}

/* steps_add files one step under certified (with a cursor not yet fetched) or not. */
static int steps_add(walk_steps *ws, int64_t step_id, bool certified, orc_error *err)
{
    if (certified) {
        if (!orci_grow(&ws->certified, &ws->cap_certified, ws->n_certified + 1,
                       sizeof *ws->certified))
            return orc_error_set(err, ORC_INTERNAL, "out of memory");
        ws->certified[ws->n_certified++] = (walk_cursor){.step_id = step_id};
    } else {
        if (!orci_grow(&ws->uncertified, &ws->cap_uncertified, ws->n_uncertified + 1,
                       sizeof *ws->uncertified))
            return orc_error_set(err, ORC_INTERNAL, "out of memory");
        ws->uncertified[ws->n_uncertified++] = step_id;
    }
    return ORC_OK;
}

/*
 * steps_load reads the human steps that have queue rows in status and tells for each whether
 * the worker is certified for it in role: every certification the step requires held as a
 * REAL certification with exactly this role, compared as counts as orci_lci_certified does
 * (spec 3.1). This reads the steps, not the tasks: one queue seek per human step (a scalar
 * subquery with LIMIT 1: PostgreSQL planned the EXISTS form as a hash semi-join over the whole
 * queue, 38 ms at 24k queued tasks against 0.3 ms; SQLite's plan is the same for both).
 */
static int steps_load(orci_db *db, int64_t worker_id, int role, int status, walk_steps *ws,
                      orc_error *err)
{
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT s.id, (SELECT count(*) FROM step_certifications sc WHERE sc.step_id = s.id) ="
        " (SELECT count(*) FROM step_certifications sc JOIN worker_certifications wc"
        "  ON wc.certification_id = sc.certification_id WHERE sc.step_id = s.id"
        "  AND wc.worker_id = ?1 AND wc.role = ?2 AND wc.task_class = 1)"
        " FROM steps s WHERE s.is_human = 1"
        " AND (SELECT q.step_id FROM handout_queue q WHERE q.step_id = s.id AND q.status = ?3"
        " LIMIT 1) IS NOT NULL ORDER BY s.id",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, worker_id);
    orci_bind_int(st, 2, role);
    orci_bind_int(st, 3, status);
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0)
            return orci_lci_db_err(err);
        if (r == 0)
            return ORC_OK;
        int code = steps_add(ws, orci_col_int(st, 0), orci_col_int(st, 1) != 0, err);
        if (code != ORC_OK) {
            orci_stmt_reset(st);
            return code;
        }
    }
}

/*
 * cursor_fetch moves a cursor to the first queue row of its step in status that comes after
 * its head (after nothing when first) and that the worker holds no live assignment on; live
 * turns false when there is none. Each call is one index seek plus the rows it passes over,
 * and the statement is reset before returning, so no read cursor stays open while the walk
 * assigns. The unary + keeps the planner off the worker index (the worker's whole history)
 * and on task_assignments_task_counter (the task's few assignments).
 */
static int cursor_fetch(orci_db *db, walk_cursor *c, int status, int64_t worker_id, bool first,
                        orc_error *err)
{
    orci_stmt *st;
    if (first) {
        st = orci_db_stmt(db,
                          "SELECT q.rank, q.project_start, q.task_id FROM handout_queue q"
                          " WHERE q.step_id = ?1 AND q.status = ?2"
                          " AND NOT EXISTS (SELECT 1 FROM task_assignments a"
                          "  WHERE a.task_id = q.task_id AND +a.worker_id = ?3"
                          "  AND a.is_deleted = 0)"
                          " ORDER BY q.rank, q.project_start, q.task_id LIMIT 1",
                          err);
    } else {
        st = orci_db_stmt(db,
                          "SELECT q.rank, q.project_start, q.task_id FROM handout_queue q"
                          " WHERE q.step_id = ?1 AND q.status = ?2"
                          " AND (q.rank, q.project_start, q.task_id) > (?4, ?5, ?6)"
                          " AND NOT EXISTS (SELECT 1 FROM task_assignments a"
                          "  WHERE a.task_id = q.task_id AND +a.worker_id = ?3"
                          "  AND a.is_deleted = 0)"
                          " ORDER BY q.rank, q.project_start, q.task_id LIMIT 1",
                          err);
    }
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, c->step_id);
    orci_bind_int(st, 2, status);
    orci_bind_int(st, 3, worker_id);
    if (!first) {
        orci_bind_int(st, 4, c->rank);
        orci_bind_int(st, 5, c->start);
        orci_bind_int(st, 6, c->task_id);
    }
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return orci_lci_db_err(err);
    c->live = r == 1;
    if (c->live) {
        c->rank = orci_col_int(st, 0);
        c->start = orci_col_int(st, 1);
        c->task_id = orci_col_int(st, 2);
        orci_stmt_reset(st);
    }
    return ORC_OK;
}

/* cursor_before: a's head comes before b's in pick-up order. */
static bool cursor_before(const walk_cursor *a, const walk_cursor *b)
{
    if (a->rank != b->rank)
        return a->rank < b->rank;
    if (a->start != b->start)
        return a->start < b->start;
    return a->task_id < b->task_id;
}

/* walk_min is the live cursor whose head comes first, NULL when every step is exhausted. */
static walk_cursor *walk_min(walk_steps *ws)
{
    walk_cursor *best = NULL;
    for (size_t i = 0; i < ws->n_certified; i++) {
        walk_cursor *c = &ws->certified[i];
        if (c->live && (best == NULL || cursor_before(c, best)))
            best = c;
    }
    return best;
}

/*
 * uncertified_work tells whether some step the worker is not certified for has a queue row
 * in status that the worker holds no assignment on: the candidate upstream would have
 * refused on certification. One seek per such step, stopping at the first row that counts.
 */
static int uncertified_work(orci_db *db, const walk_steps *ws, int status, int64_t worker_id,
                            bool *any, orc_error *err)
{
    *any = false;
    for (size_t i = 0; i < ws->n_uncertified && !*any; i++) {
        walk_cursor probe = {.step_id = ws->uncertified[i]};
        int code = cursor_fetch(db, &probe, status, worker_id, true, err);
        if (code != ORC_OK)
            return code;
        *any = probe.live;
    }
    return ORC_OK;
}

/*
 * walk_assign tries the heads in pick-up order until one is assigned (*assigned, with its
 * task and assignment). A refusal that eligibility explains moves that cursor on (and a
 * certification refusal is remembered in *cert_failed); any other error ends the walk.
 */
static int walk_assign(orci_lc *lc, walk_steps *ws, int status, int64_t worker_id, bool *assigned,
                       int64_t *task_id, int64_t *assignment_id, bool *cert_failed, orc_error *err)
{
    *assigned = false;
    for (size_t i = 0; i < ws->n_certified; i++) {
        int code = cursor_fetch(lc->db, &ws->certified[i], status, worker_id, true, err);
        if (code != ORC_OK)
            return code;
    }
    for (walk_cursor *c = walk_min(ws); c != NULL; c = walk_min(ws)) {
        orc_error why = {0};
        int64_t aid = 0;
        /* A refusal writes nothing (orci_lci_assign_core checks before its first write),
         * so the queue is as the cursors left it and the walk goes on from the head. */
        int code = orci_lci_assign_core(lc, worker_id, c->task_id, &aid, &why);
        if (code == ORC_OK) {
            *assigned = true;
            *task_id = c->task_id;
            *assignment_id = aid;
            return ORC_OK;
        }
        if (!orci_lci_expected_error(code))
            return orc_error_set(err, (orc_code)code, "%s", why.message);
        if (code == ORC_PERMISSION_DENIED)
            *cert_failed = true;
        if ((code = cursor_fetch(lc->db, c, status, worker_id, false, err)) != ORC_OK)
            return code;
    }
    return ORC_OK;
}

int orci_lc_new_task(orci_lc *lc, int64_t worker_id, int role, int64_t *task_id,
                     int64_t *assignment_id, orc_error *err)
{
    if (role != ORCI_ROLE_ENTRY_LEVEL && role != ORCI_ROLE_REVIEWER)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "No such task type");
    int code = orci_lci_worker_exists(lc->db, worker_id, err);
    if (code != ORC_OK)
        return code;
    /* The returned-task block (spec 3.1): feedback from a reviewer comes first. */
    bool blocked = false;
    if ((code = returned_block(lc->db, worker_id, &blocked, err)) != ORC_OK)
        return code;
    if (blocked)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "Worker has pending reviewer feedback that must be addressed.");

    int status =
        role == ORCI_ROLE_ENTRY_LEVEL ? ORCI_TASK_AWAITING_PROCESSING : ORCI_TASK_PENDING_REVIEW;
    walk_steps ws = {0};
    bool assigned = false, cert_failed = false;
    int64_t tid = 0, aid = 0;
    if ((code = steps_load(lc->db, worker_id, role, status, &ws, err)) != ORC_OK)
        goto out;
    if ((code = walk_assign(lc, &ws, status, worker_id, &assigned, &tid, &aid, &cert_failed,
                            err)) != ORC_OK)
        goto out;
    if (assigned) {
        if ((code = orci_lc_check_changed(lc->db, tid, err)) != ORC_OK)
            goto out;
        if (task_id != NULL)
            *task_id = tid;
        if (assignment_id != NULL)
            *assignment_id = aid;
        goto out;
    }
    if (!cert_failed &&
        (code = uncertified_work(lc->db, &ws, status, worker_id, &cert_failed, err)) != ORC_OK)
        goto out;
    if (cert_failed)
        code = orc_error_set(err, ORC_PERMISSION_DENIED, "No worker certificates");
    else
        code = orc_error_set(err, ORC_NOT_FOUND, "No task");
out:
    walk_steps_fini(&ws);
    return code;
}
