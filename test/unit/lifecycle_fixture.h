/*
 * lifecycle_fixture.h: the fixture shared by the test_lifecycle*.c programs: a temporary
 * store, a controlled clock and a scripted random source, row builders that insert a
 * workflow with SQL (independent of the loader), one wrapper per lifecycle transition
 * (each runs inside orci_store_write) and readers on a separate connection.
 * Include after cmocka's required headers. Everything is static: each test program gets
 * its own copy.
 */
#ifndef ORC_TEST_LIFECYCLE_FIXTURE_H
#define ORC_TEST_LIFECYCLE_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lifecycle.h"
#include "store/store.h"
#include "support.h"

/* 2015-10-12T00:00:00Z, the upstream fixtures' date. */
#define FX_EPOCH_US 1444608000000000LL
#define FX_SECOND 1000000LL
#define FX_MAX_SCRIPT 64

typedef struct fx {
    char dir[256];
    orci_store *store;
    orci_db *rdb; /* reader connection for assertions */
    int64_t now;  /* each transition runs one second after the previous one */
    double script[FX_MAX_SCRIPT];
    size_t n_script, next_script;
    size_t rng_calls;
    orci_rng rng;
    orc_error err; /* error of the last transition */
    int64_t workflow_id, version_id;
    int position;
    int64_t last_id, last_task;
    char *audit;
} fx;

/* The scripted random source: the queued values in order, then 0.0. */
static inline double fx_uniform(void *arg)
{
    fx *f = arg;
    f->rng_calls++;
    if (f->next_script < f->n_script)
        return f->script[f->next_script++];
    return 0.0;
}

static inline void fx_script(fx *f, double v)
{
    assert_true(f->n_script < FX_MAX_SCRIPT);
    f->script[f->n_script++] = v;
}

static inline int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    orc_test_tmpdir("lifecycle", f->dir, sizeof f->dir);
    char path[400];
    snprintf(path, sizeof path, "%s/orchestra.db", f->dir);
    orci_store_opts opts = {.path = path};
    orc_error err = {0};
    if (orci_store_open(&opts, &f->store, &err) != ORC_OK)
        fail_msg("store: %s", err.message);
    if (orci_db_open_reader(f->store, &f->rdb, &err) != ORC_OK)
        fail_msg("reader: %s", err.message);
    f->now = FX_EPOCH_US;
    f->rng = (orci_rng){fx_uniform, f};
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx *f = *state;
    if (f == NULL)
        return 0;
    orci_db_close(f->rdb);
    orci_store_close(f->store);
    orc_test_rmtree(f->dir);
    free(f->audit);
    free(f);
    return 0;
}

/* ---- running transitions ------------------------------------------------------------ */

typedef int (*fx_op)(orci_lc *lc, void *arg, orc_error *err);

typedef struct fx_call {
    fx *f;
    fx_op op;
    void *arg;
} fx_call;

static inline int fx_job(orci_db *db, void *arg, orc_error *err)
{
    fx_call *c = arg;
    orci_lc lc = {.db = db, .now_us = c->f->now, .rng = &c->f->rng};
    return c->op(&lc, c->arg, err);
}

/* fx_run advances the clock one second and runs op in a write job. */
static inline int fx_run(fx *f, fx_op op, void *arg)
{
    f->now += FX_SECOND;
    orc_error_clear(&f->err);
    fx_call c = {f, op, arg};
    return orci_store_write(f->store, fx_job, &c, &f->err);
}

/* Assertions on a transition's code and message. */
#define FX_EXPECT(f, expr, code, msg)                                                              \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        const char *m_ = (msg);                                                                    \
        if (rc_ != (int)(code) || (m_ != NULL && strcmp((f)->err.message, m_) != 0))               \
            fail_msg("%s: expected %s '%s', got %s '%s'", #expr, orc_code_name(code),              \
                     m_ != NULL ? m_ : "", orc_code_name(rc_), (f)->err.message);                  \
    } while (0)
#define FX_OK(f, expr) FX_EXPECT(f, expr, ORC_OK, NULL)

/* ---- SQL for building rows (test-only: fixed SQL literals with bindings) ------------- */

typedef struct fx_sql {
    const char *sql;
    int64_t i[6];
    int ni;
    const char *s[4];
    int ns;
    int64_t id;
} fx_sql;

static inline int fx_sql_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_sql *q = arg;
    sqlite3_stmt *st = orci_db_stmt(lc->db, q->sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    for (int k = 0; k < q->ni; k++)
        orci_bind_int(st, k + 1, q->i[k]);
    for (int k = 0; k < q->ns; k++)
        orci_bind_text(st, q->ni + k + 1, q->s[k]);
    int code = orci_db_step(lc->db, st, err);
    q->id = orci_db_last_id(lc->db);
    return code;
}

/* fx_exec runs one write statement (no clock tick) and returns the last insert id. */
static inline int64_t fx_exec(fx *f, fx_sql q)
{
    orc_error_clear(&f->err);
    fx_call c = {f, fx_sql_op, &q};
    if (orci_store_write(f->store, fx_job, &c, &f->err) != ORC_OK)
        fail_msg("%s: %s", q.sql, f->err.message);
    return q.id;
}

/* fx_int reads one integer with up to three int64 parameters; -1 when there is no row. */
static inline int64_t fx_int(fx *f, const char *sql, int64_t a, int64_t b, int64_t c)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb, sql, &err);
    if (st == NULL)
        fail_msg("%s: %s", sql, err.message);
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1)
        orci_bind_int(st, 1, a);
    if (n >= 2)
        orci_bind_int(st, 2, b);
    if (n >= 3)
        orci_bind_int(st, 3, c);
    int r = orci_db_row(f->rdb, st, &err);
    if (r < 0)
        fail_msg("%s: %s", sql, err.message);
    if (r == 0)
        return -1;
    int64_t v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

/* fx_text reads one text value (malloc'd) with one int64 parameter; NULL without a row. */
static inline char *fx_text(fx *f, const char *sql, int64_t a)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb, sql, &err);
    if (st == NULL)
        fail_msg("%s: %s", sql, err.message);
    orci_bind_int(st, 1, a);
    int r = orci_db_row(f->rdb, st, &err);
    if (r <= 0)
        return NULL;
    char *v = strdup(orci_col_text(st, 0));
    sqlite3_reset(st);
    return v;
}

/* ---- builders ----------------------------------------------------------------------- */

/* fx_workflow inserts workflow "w" with version "v1". */
static inline void fx_workflow(fx *f)
{
    f->workflow_id = fx_exec(f, (fx_sql){.sql = "INSERT INTO workflows (slug, name, description,"
                                                " code_directory, created_at)"
                                                " VALUES ('w', 'Workflow', '', 'w', ?1)",
                                         .i = {f->now},
                                         .ni = 1});
    f->version_id =
        fx_exec(f, (fx_sql){.sql = "INSERT INTO workflow_versions (workflow_id, slug, name,"
                                   " description, created_at) VALUES (?1, 'v1', 'Version 1', '',"
                                   " ?2)",
                            .i = {f->workflow_id, f->now},
                            .ni = 2});
}

static inline int64_t fx_cert(fx *f, const char *slug)
{
    return fx_exec(f, (fx_sql){.sql = "INSERT INTO certifications (workflow_id, slug, name,"
                                      " description, created_at) VALUES (?1, ?3, ?3, '', ?2)",
                               .i = {f->workflow_id, f->now},
                               .ni = 2,
                               .s = {slug},
                               .ns = 1});
}

/* fx_step adds a step in version order; NULL policies mean the loader's defaults. */
static inline int64_t fx_step(fx *f, const char *slug, bool human, const char *review,
                              const char *assignment)
{
    if (review == NULL)
        review = human ? "{\"policy\":\"sampled_review\",\"rate\":1,\"max_reviews\":1}" : "{}";
    if (assignment == NULL)
        assignment = human ? "{\"policy\":\"anyone_certified\"}" : "{}";
    return fx_exec(
        f, (fx_sql){.sql = "INSERT INTO steps (workflow_version_id, slug, name, description,"
                           " is_human, review_policy, assignment_policy, position, created_at)"
                           " VALUES (?1, ?5, ?5, '', ?2, ?6, ?7, ?3, ?4)",
                    .i = {f->version_id, human ? 1 : 0, f->position++, f->now},
                    .ni = 4,
                    .s = {slug, review, assignment},
                    .ns = 3});
}

static inline void fx_step_cert(fx *f, int64_t step, int64_t cert)
{
    fx_exec(f, (fx_sql){.sql = "INSERT INTO step_certifications (step_id, certification_id)"
                               " VALUES (?1, ?2)",
                        .i = {step, cert},
                        .ni = 2});
}

static inline void fx_creation_dep(fx *f, int64_t step, int64_t dep)
{
    fx_exec(f, (fx_sql){.sql = "INSERT INTO step_creation_deps (step_id, depends_on_id)"
                               " VALUES (?1, ?2)",
                        .i = {step, dep},
                        .ni = 2});
}

static inline void fx_submission_dep(fx *f, int64_t step, int64_t dep)
{
    fx_exec(f, (fx_sql){.sql = "INSERT INTO step_submission_deps (step_id, depends_on_id)"
                               " VALUES (?1, ?2)",
                        .i = {step, dep},
                        .ni = 2});
}

static inline int64_t fx_worker(fx *f, const char *username)
{
    int64_t user = fx_exec(f, (fx_sql){.sql = "INSERT INTO users (username, first_name,"
                                              " last_name, created_at) VALUES (?2, ?2, 'L', ?1)",
                                       .i = {f->now},
                                       .ni = 1,
                                       .s = {username},
                                       .ns = 1});
    return fx_exec(f, (fx_sql){.sql = "INSERT INTO workers (user_id, start_datetime)"
                                      " VALUES (?1, ?2)",
                               .i = {user, f->now},
                               .ni = 2});
}

static inline void fx_certify(fx *f, int64_t worker, int64_t cert, int role, int task_class)
{
    fx_exec(f, (fx_sql){.sql = "INSERT INTO worker_certifications (certification_id,"
                               " worker_id, task_class, role, created_at)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                        .i = {cert, worker, task_class, role, f->now},
                        .ni = 5});
}

/* fx_certified_worker makes a worker with REAL entry-level (and reviewer) rows for cert. */
static inline int64_t fx_certified_worker(fx *f, const char *username, int64_t cert, bool reviewer)
{
    int64_t w = fx_worker(f, username);
    fx_certify(f, w, cert, ORCI_ROLE_ENTRY_LEVEL, ORCI_TASK_CLASS_REAL);
    if (reviewer)
        fx_certify(f, w, cert, ORCI_ROLE_REVIEWER, ORCI_TASK_CLASS_REAL);
    return w;
}

/* ---- transitions -------------------------------------------------------------------- */

typedef struct fx_args {
    int64_t a, b, c;
    int i;
    bool x, y;
    const char *s;
    int64_t out1, out2;
    char *text;
} fx_args;

static inline int fx_create_project_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    orci_project_params pp = {.workflow_slug = "w",
                              .version_slug = "v1",
                              .description = "a project",
                              .priority = p->a,
                              .task_class = ORCI_TASK_CLASS_REAL,
                              .project_data = p->s};
    return orci_lc_create_project(lc, &pp, &p->out1, err);
}

/* fx_create_project creates a project of w/v1; *id gets its id on success. */
static inline int fx_create_project(fx *f, int64_t priority, const char *data, int64_t *id)
{
    fx_args p = {.a = priority, .s = data};
    int code = fx_run(f, fx_create_project_op, &p);
    if (id != NULL)
        *id = p.out1;
    return code;
}

/* fx_project creates a project and fails the test if that is refused. */
static inline int64_t fx_project(fx *f, int64_t priority)
{
    int64_t id = 0;
    FX_OK(f, fx_create_project(f, priority, NULL, &id));
    return id;
}

static inline int fx_subsequent_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_lc_create_subsequent_tasks(lc, ((fx_args *)arg)->a, err);
}

static inline int fx_create_subsequent(fx *f, int64_t project)
{
    fx_args p = {.a = project};
    return fx_run(f, fx_subsequent_op, &p);
}

static inline int fx_assign_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_assign_task(lc, p->a, p->b, &p->out1, err);
}

static inline int fx_assign(fx *f, int64_t worker, int64_t task)
{
    fx_args p = {.a = worker, .b = task};
    int code = fx_run(f, fx_assign_op, &p);
    f->last_id = p.out1;
    return code;
}

static inline int fx_new_task_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_new_task(lc, p->a, p->i, &p->out1, &p->out2, err);
}

/* fx_new_task: f->last_task and f->last_id get the task and assignment. */
static inline int fx_new_task(fx *f, int64_t worker, int role)
{
    fx_args p = {.a = worker, .i = role};
    int code = fx_run(f, fx_new_task_op, &p);
    f->last_task = p.out1;
    f->last_id = p.out2;
    return code;
}

static inline int fx_save_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_save(lc, p->a, p->b, p->s, err);
}

static inline int fx_save(fx *f, int64_t worker, int64_t task, const char *data)
{
    fx_args p = {.a = worker, .b = task, .s = data};
    return fx_run(f, fx_save_op, &p);
}

static inline int fx_submit_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_submit(lc, p->a, p->b, p->s, p->i, err);
}

static inline int fx_submit(fx *f, int64_t worker, int64_t task, const char *data, int status)
{
    fx_args p = {.a = worker, .b = task, .s = data, .i = status};
    return fx_run(f, fx_submit_op, &p);
}

#define FX_ACCEPT ORCI_ITERATION_REQUESTED_REVIEW
#define FX_REJECT ORCI_ITERATION_PROVIDED_REVIEW

static inline int fx_end_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_lc_end_project(lc, ((fx_args *)arg)->a, err);
}

static inline int fx_end_project(fx *f, int64_t project)
{
    fx_args p = {.a = project};
    return fx_run(f, fx_end_op, &p);
}

static inline int fx_set_status_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_set_project_status(lc, p->a, p->i, err);
}

static inline int fx_set_project_status(fx *f, int64_t project, int status)
{
    fx_args p = {.a = project, .i = status};
    return fx_run(f, fx_set_status_op, &p);
}

static inline int fx_reassign_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_reassign(lc, p->a, p->b, err);
}

static inline int fx_reassign(fx *f, int64_t assignment, int64_t worker)
{
    fx_args p = {.a = assignment, .b = worker};
    return fx_run(f, fx_reassign_op, &p);
}

static inline int fx_skip_op(orci_lc *lc, void *arg, orc_error *err)
{
    return orci_lc_complete_and_skip(lc, ((fx_args *)arg)->a, err);
}

static inline int fx_complete_and_skip(fx *f, int64_t task)
{
    fx_args p = {.a = task};
    return fx_run(f, fx_skip_op, &p);
}

static inline int fx_revert_op(orci_lc *lc, void *arg, orc_error *err)
{
    fx_args *p = arg;
    return orci_lc_revert(lc, p->a, p->b, p->x, p->y, &p->text, err);
}

/* fx_revert: f->audit gets the audit JSON text (freed by the next call or teardown). */
static inline int fx_revert(fx *f, int64_t task, int64_t iteration, bool before, bool commit)
{
    fx_args p = {.a = task, .b = iteration, .x = before, .y = commit};
    int code = fx_run(f, fx_revert_op, &p);
    free(f->audit);
    f->audit = p.text;
    return code;
}

/* ---- readers ------------------------------------------------------------------------ */

static inline int64_t fx_task_of(fx *f, int64_t project, int64_t step)
{
    return fx_int(f, "SELECT id FROM tasks WHERE project_id = ?1 AND step_id = ?2", project, step,
                  0);
}

static inline int fx_task_status(fx *f, int64_t task)
{
    return (int)fx_int(f, "SELECT status FROM tasks WHERE id = ?1", task, 0, 0);
}

static inline int fx_project_status(fx *f, int64_t project)
{
    return (int)fx_int(f, "SELECT status FROM projects WHERE id = ?1", project, 0, 0);
}

static inline int64_t fx_count_tasks(fx *f, int64_t project)
{
    return fx_int(f, "SELECT count(*) FROM tasks WHERE project_id = ?1", project, 0, 0);
}

static inline int64_t fx_count_assignments(fx *f, int64_t task)
{
    return fx_int(f, "SELECT count(*) FROM task_assignments WHERE task_id = ?1 AND is_deleted = 0",
                  task, 0, 0);
}

/* fx_assignment_status: the status of the live assignment at counter, -1 when none. */
static inline int fx_assignment_status(fx *f, int64_t task, int counter)
{
    return (int)fx_int(f,
                       "SELECT status FROM task_assignments WHERE task_id = ?1"
                       " AND assignment_counter = ?2 AND is_deleted = 0",
                       task, counter, 0);
}

static inline int64_t fx_assignment_worker(fx *f, int64_t task, int counter)
{
    return fx_int(f,
                  "SELECT worker_id FROM task_assignments WHERE task_id = ?1"
                  " AND assignment_counter = ?2 AND is_deleted = 0",
                  task, counter, 0);
}

static inline int64_t fx_assignment_id(fx *f, int64_t task, int counter)
{
    return fx_int(f,
                  "SELECT id FROM task_assignments WHERE task_id = ?1"
                  " AND assignment_counter = ?2 AND is_deleted = 0",
                  task, counter, 0);
}

/* fx_assignment_data: the in-progress data at counter (malloc'd). */
static inline char *fx_assignment_data(fx *f, int64_t task, int counter)
{
    int64_t id = fx_assignment_id(f, task, counter);
    return fx_text(f, "SELECT in_progress_task_data FROM task_assignments WHERE id = ?1", id);
}

static inline int64_t fx_count_iterations(fx *f, int64_t task)
{
    return fx_int(f,
                  "SELECT count(*) FROM iterations i JOIN task_assignments a"
                  " ON a.id = i.assignment_id WHERE a.task_id = ?1 AND a.is_deleted = 0"
                  " AND i.is_deleted = 0",
                  task, 0, 0);
}

/* fx_check asserts the invariants of a task and prints the violation otherwise. */
#define FX_CHECK(f, task)                                                                          \
    do {                                                                                           \
        orc_error e_ = {0};                                                                        \
        if (orci_lc_check_task((f)->rdb, (task), &e_) != ORC_OK)                                   \
            fail_msg("invariants of task %lld: %s", (long long)(task), e_.message);                \
    } while (0)

/* fx_assert_json_equal compares a stored JSON text with the expected one, structurally. */
static inline void fx_assert_json_equal(const char *got, const char *expected)
{
    json_t *a = json_loads(got != NULL ? got : "null", JSON_DECODE_ANY, NULL);
    json_t *b = json_loads(expected, JSON_DECODE_ANY, NULL);
    assert_non_null(a);
    assert_non_null(b);
    if (!json_equal(a, b))
        fail_msg("JSON differs: got %s, expected %s", got, expected);
    json_decref(a);
    json_decref(b);
}

#endif
