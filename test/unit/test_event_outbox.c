/*
 * test_event_outbox.c: the event outbox (events.h). Every kind of change appends its events with
 * consecutive seqs and the right fields and topics (lifecycle through the RPC handlers and
 * write jobs, jobs, certifications, time tracking); a rolled-back write job leaves no event
 * and no gap; ListEvents orders, filters, limits, restricts a worker to its own topic and
 * refuses a pruned range; the publisher sends "<topic>\0<Event>" once per topic after commit,
 * each copy with the previous seq of its topic (topic_prev_seq), bounded by retention;
 * migration 0006 derives from the columns exactly the topics that events had stored.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "store/events.h"
#include "domain/jobs.h"
#include "store/migrations.h"
#include "svc_fixture.h"

#define TOKEN_MAX 128

/* ---- reading events back -------------------------------------------------------------- */

typedef struct evlist {
    Orchestra__V1__Event **v;
    size_t n;
} evlist;

/* ev_read reads every event after after_seq from the fixture's reader connection. */
static evlist ev_read(sf *f, int64_t after_seq)
{
    evlist l = {0};
    orc_error err = {0};
    if (orci_events_list(f->rdb, after_seq, NULL, false, ORCI_EVENTS_MAX_LIMIT, &l.v, &l.n, &err) !=
        ORC_OK)
        fail_msg("list: %s", err.message);
    return l;
}

static void ev_free(evlist *l)
{
    orci_events_free(l->v, l->n);
    l->v = NULL;
    l->n = 0;
}

/* last_seq is the newest committed seq. */
static int64_t last_seq(sf *f)
{
    int64_t first = 0, last = 0;
    orc_error err = {0};
    if (orci_events_bounds(f->rdb, &first, &last, &err) != ORC_OK)
        fail_msg("bounds: %s", err.message);
    return last;
}

/* expect_types checks the types of l in order and that the seqs run on from first_seq. */
static void expect_types(const evlist *l, int64_t first_seq, const char *const *types, size_t n)
{
    for (size_t i = 0; i < l->n && i < n; i++) {
        if (strcmp(l->v[i]->type, types[i]) != 0)
            fail_msg("event %zu (seq %lld) is %s, want %s", i, (long long)l->v[i]->seq,
                     l->v[i]->type, types[i]);
        assert_int_equal(l->v[i]->seq, first_seq + (int64_t)i);
    }
    assert_int_equal(l->n, n);
}

/* expect_topics checks an event's topics in order (NULL-terminated list). */
static void expect_topics(const Orchestra__V1__Event *e, const char *const *topics)
{
    size_t n = 0;
    while (topics[n] != NULL)
        n++;
    if (e->n_topics != n)
        fail_msg("event %lld (%s) has %zu topics, want %zu", (long long)e->seq, e->type,
                 e->n_topics, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(e->topics[i], topics[i]);
}

/* expect_event checks the common fields of one event. */
static void expect_event(const Orchestra__V1__Event *e, const char *type, int64_t project,
                         int64_t task, const char *step, const char *worker, const char *old_st,
                         const char *new_st)
{
    assert_string_equal(e->type, type);
    assert_int_equal(e->project_id, project);
    assert_int_equal(e->task_id, task);
    assert_string_equal(e->step, step);
    assert_string_equal(e->worker, worker);
    assert_string_equal(e->old_status, old_st);
    assert_string_equal(e->new_status, new_st);
}

/* ---- driving the lifecycle through the RPC handlers ----------------------------------- */

static int64_t new_task(sf *f, const char *token, const char *role)
{
    Orchestra__V1__NewTaskRequest q;
    orchestra__v1__new_task_request__init(&q);
    q.role = (char *)role;
    Orchestra__V1__Reply *r = sf_call(f, SF_TOKEN(token), "NewTask", &q.base);
    if ((int)r->status != ORC_OK)
        fail_msg("NewTask: %s", r->message);
    Orchestra__V1__NewTaskReply *t =
        orchestra__v1__new_task_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(t);
    json_t *doc = json_loads(t->json, 0, NULL);
    assert_non_null(doc);
    int64_t id = (int64_t)json_integer_value(json_object_get(doc, "id"));
    json_decref(doc);
    orchestra__v1__new_task_reply__free_unpacked(t, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_true(id > 0);
    return id;
}

static void submit(sf *f, const char *token, int64_t task, const char *command)
{
    Orchestra__V1__SubmitTaskRequest q;
    orchestra__v1__submit_task_request__init(&q);
    q.task_id = task;
    q.data = "{\"x\":1}";
    q.command = (char *)command;
    sf_expect_ok(sf_call(f, SF_TOKEN(token), "SubmitTask", &q.base));
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void test_events_human_lifecycle_appends_every_change_with_consecutive_seqs(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    assert_int_equal(last_seq(f), 0);
    char alice[TOKEN_MAX], bob[TOKEN_MAX];
    sf_worker(f, "alice", false, alice, sizeof alice);
    sf_worker(f, "bob", true, bob, sizeof bob);
    int64_t p = sf_project(f, "A story", 5);
    int64_t t = new_task(f, alice, "entry_level");
    submit(f, alice, t, "submit");
    sf_advance(f, 1);
    assert_int_equal(new_task(f, bob, "reviewer"), t);
    submit(f, bob, t, "reject");
    submit(f, alice, t, "submit");
    submit(f, bob, t, "accept");

    evlist l = ev_read(f, 0);
    static const char *const types[] = {
        "worker.certified", "worker.certified", "worker.certified",
        /* the project and its first task */
        "project.created", "task.created",
        /* alice picks the task up */
        "task.status_changed", "assignment.created", "notification.assigned",
        /* and submits it for review */
        "assignment.submitted", "task.status_changed", "notification.under_review",
        /* bob reviews */
        "task.status_changed", "assignment.created", "notification.assigned",
        /* and returns it */
        "assignment.submitted", "task.status_changed", "assignment.returned",
        "notification.returned",
        /* alice resubmits */
        "assignment.submitted", "task.status_changed", "assignment.returned",
        "notification.ready_for_rereview",
        /* bob accepts: complete, both told, the next task created */
        "assignment.submitted", "task.status_changed", "notification.complete",
        "notification.complete", "task.created"};
    expect_types(&l, 1, types, sizeof types / sizeof types[0]);

    /* certification: the worker's and the workflow's topics */
    expect_event(l.v[0], "worker.certified", 0, 0, "", "alice", "", "");
    assert_string_equal(l.v[0]->workflow, "news");
    expect_topics(l.v[0], (const char *const[]){"worker.alice.", "workflow.news.", NULL});
    assert_non_null(strstr(l.v[0]->payload, "\"role\":\"entry_level\""));

    expect_event(l.v[3], "project.created", p, 0, "", "", "", "Active");
    char pt[64];
    snprintf(pt, sizeof pt, "project.%lld.", (long long)p);
    expect_topics(l.v[3], (const char *const[]){pt, "workflow.news.", NULL});
    assert_non_null(strstr(l.v[3]->payload, "\"description\":\"A story\""));
    assert_int_equal(l.v[3]->time, SF_T0_US);

    expect_event(l.v[4], "task.created", p, t, "plan", "", "", "Awaiting Processing");
    expect_topics(l.v[4], (const char *const[]){pt, "workflow.news.", "step.plan.", NULL});

    expect_event(l.v[5], "task.status_changed", p, t, "plan", "", "Awaiting Processing",
                 "Processing");
    expect_event(l.v[6], "assignment.created", p, t, "plan", "alice", "", "Processing");
    expect_topics(l.v[6],
                  (const char *const[]){pt, "worker.alice.", "workflow.news.", "step.plan.", NULL});
    /* a notification goes to the worker's topic only */
    expect_event(l.v[7], "notification.assigned", p, t, "plan", "alice", "", "Processing");
    expect_topics(l.v[7], (const char *const[]){"worker.alice.", NULL});
    assert_non_null(strstr(l.v[7]->payload, "You've been assigned to a new task!"));

    expect_event(l.v[8], "assignment.submitted", p, t, "plan", "alice", "Processing", "Submitted");
    expect_event(l.v[9], "task.status_changed", p, t, "plan", "", "Processing", "Pending Review");
    expect_event(l.v[10], "notification.under_review", p, t, "plan", "alice", "", "Pending Review");
    expect_event(l.v[11], "task.status_changed", p, t, "plan", "", "Pending Review", "Reviewing");
    assert_int_equal(l.v[11]->time, SF_T0_US + SF_SECOND);
    expect_event(l.v[13], "notification.assigned", p, t, "plan", "bob", "", "Reviewing");
    expect_event(l.v[14], "assignment.submitted", p, t, "plan", "bob", "Processing", "Submitted");
    expect_event(l.v[15], "task.status_changed", p, t, "plan", "", "Reviewing",
                 "Post-review Processing");
    expect_event(l.v[16], "assignment.returned", p, t, "plan", "alice", "Submitted", "Processing");
    expect_event(l.v[17], "notification.returned", p, t, "plan", "alice", "",
                 "Post-review Processing");
    assert_non_null(strstr(l.v[17]->payload, "Your task has been returned"));
    expect_event(l.v[20], "assignment.returned", p, t, "plan", "bob", "Submitted", "Processing");
    expect_event(l.v[21], "notification.ready_for_rereview", p, t, "plan", "bob", "", "Reviewing");
    expect_event(l.v[23], "task.status_changed", p, t, "plan", "", "Reviewing", "Complete");
    expect_event(l.v[24], "notification.complete", p, t, "plan", "alice", "", "Complete");
    expect_event(l.v[25], "notification.complete", p, t, "plan", "bob", "", "Complete");
    assert_string_equal(l.v[26]->step, "write");
    ev_free(&l);
}

static void test_events_end_project_and_reassign_reach_every_worker(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char alice[TOKEN_MAX], carol[TOKEN_MAX];
    sf_worker(f, "alice", false, alice, sizeof alice);
    sf_worker(f, "carol", false, carol, sizeof carol);
    int64_t p = sf_project(f, "Ended", 1);
    int64_t t = new_task(f, alice, "entry_level");
    int64_t aid = sf_int(f, "SELECT id FROM task_assignments WHERE task_id = ?1", t, 0);
    int64_t before = last_seq(f);

    Orchestra__V1__ReassignAssignmentRequest rq;
    orchestra__v1__reassign_assignment_request__init(&rq);
    rq.assignment_id = aid;
    rq.username = "carol";
    sf_expect_ok(sf_call(f, SF_ADMIN, "ReassignAssignment", &rq.base));
    Orchestra__V1__EndProjectRequest eq;
    orchestra__v1__end_project_request__init(&eq);
    eq.project_id = p;
    sf_expect_ok(sf_call(f, SF_ADMIN, "EndProject", &eq.base));

    evlist l = ev_read(f, before);
    static const char *const types[] = {"assignment.reassigned", "project.status_changed",
                                        "task.status_changed", "notification.ended"};
    expect_types(&l, before + 1, types, sizeof types / sizeof types[0]);
    char pt[64];
    snprintf(pt, sizeof pt, "project.%lld.", (long long)p);
    /* the new worker is the event's worker; both workers' feeds get it */
    expect_event(l.v[0], "assignment.reassigned", p, t, "plan", "carol", "", "");
    expect_topics(l.v[0], (const char *const[]){pt, "worker.carol.", "worker.alice.",
                                                "workflow.news.", "step.plan.", NULL});
    char payload[128];
    snprintf(payload, sizeof payload,
             "{\"assignment_id\":%lld,\"counter\":0,\"previous_worker\":\"alice\"}",
             (long long)aid);
    assert_string_equal(l.v[0]->payload, payload);
    expect_event(l.v[1], "project.status_changed", p, 0, "", "", "Active", "Aborted");
    expect_event(l.v[2], "task.status_changed", p, t, "plan", "", "Processing", "Aborted");
    expect_event(l.v[3], "notification.ended", p, t, "plan", "carol", "", "Aborted");
    assert_non_null(strstr(l.v[3]->payload, "A task you were working on has been ended"));
    ev_free(&l);
}

/* ---- machine steps ------------------------------------------------------------------ */

static const char MACH_WORKFLOW_JSON[] =
    "{\"slug\":\"mach\",\"name\":\"Mach\",\"description\":\"A machine step.\","
    "\"certifications\":[]}";
static const char MACH_VERSION_JSON[] =
    "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":\"Run.\",\"steps\":["
    "{\"slug\":\"run\",\"name\":\"Run\",\"description\":\"The machine step.\","
    "\"is_human\":false,\"execution_function\":{\"module\":\"m\",\"name\":\"run\"},"
    "\"retry_policy\":{\"max_attempts\":1}}]}";

static void load_machine_workflow(sf *f)
{
    Orchestra__V1__WorkflowBundle b;
    Orchestra__V1__VersionFile vf;
    Orchestra__V1__VersionFile *vfs[1] = {&vf};
    orchestra__v1__workflow_bundle__init(&b);
    orchestra__v1__version_file__init(&vf);
    b.app = "mach";
    b.code_directory = "/apps/mach";
    b.workflow_json = (char *)MACH_WORKFLOW_JSON;
    vf.dir = "v1";
    vf.json = (char *)MACH_VERSION_JSON;
    b.versions = vfs;
    b.n_versions = 1;
    orci_load_plan *plan = NULL;
    orc_error err = {0};
    if (orci_loader_plan(&b, "v1", &plan, &err) != ORC_OK)
        fail_msg("plan: %s", err.message);
    sf_load_job j = {plan, f->tc.now_us};
    int rc = orci_store_write(f->srv.store, sf_load_fn, &j, &err);
    orci_load_plan_free(plan);
    if (rc != ORC_OK)
        fail_msg("load: %s", err.message);
}

typedef struct job_op {
    sf *f;
    int what; /* 0 project, 1 lease, 2 fail, 3 retry, 4 complete */
    int64_t project_id, task_id;
    orci_job job;
    bool found;
} job_op;

static int job_fn(orci_db *db, void *arg, orc_error *err)
{
    job_op *o = arg;
    orci_lc lc = {.db = db, .now_us = o->f->tc.now_us, .rng = &o->f->rng};
    switch (o->what) {
    case 0: {
        orci_project_params p = {.workflow_slug = "mach",
                                 .version_slug = "v1",
                                 .description = "machine",
                                 .task_class = ORCI_TASK_CLASS_REAL};
        return orci_lc_create_project(&lc, &p, &o->project_id, err);
    }
    case 1: {
        const char *fns[1] = {"m.run"};
        orci_lease_params lp = {
            .executor_id = "exec-1", .functions = fns, .n_functions = 1, .lease_ms = 60000};
        int64_t next = 0;
        orci_job_fini(&o->job);
        return orci_jobs_lease(&lc, &orci_lc_machine_ops, &lp, &o->job, &o->found, &next, err);
    }
    case 2: {
        bool will_retry = false;
        int64_t next_at = 0;
        return orci_jobs_fail(&lc, &orci_lc_machine_ops, o->job.job_id, o->job.lease_token, "boom",
                              true, &will_retry, &next_at, err);
    }
    case 3:
        return orci_jobs_retry(&lc, o->task_id, err);
    default:
        return orci_jobs_complete(&lc, &orci_lc_machine_ops, o->job.job_id, o->job.lease_token,
                                  "{\"ok\":true}", err);
    }
}

static void run_job_op(job_op *o, int what)
{
    o->what = what;
    orc_error err = {0};
    if (orci_store_write(o->f->srv.store, job_fn, o, &err) != ORC_OK)
        fail_msg("job op %d: %s", what, err.message);
}

static void test_events_jobs_append_leased_failed_retried_completed(void **state)
{
    sf *f = *state;
    load_machine_workflow(f);
    job_op o = {.f = f};
    run_job_op(&o, 0);
    o.task_id = sf_int(f, "SELECT id FROM tasks WHERE project_id = ?1", o.project_id, 0);
    run_job_op(&o, 1);
    assert_true(o.found);
    run_job_op(&o, 2); /* one attempt allowed: the job fails */
    run_job_op(&o, 3);
    run_job_op(&o, 1);
    assert_true(o.found);
    run_job_op(&o, 4);
    orci_job_fini(&o.job);

    evlist l = ev_read(f, 0);
    static const char *const types[] = {
        "project.created", "task.created",
        /* lease: the machine assignment, the task Processing, the job leased */
        "assignment.created", "task.status_changed", "job.leased",
        /* failure: the job, then its assignment */
        "job.failed", "assignment.status_changed",
        /* the admin retry */
        "job.retried",
        /* the second lease reopens the assignment */
        "assignment.status_changed", "job.leased",
        /* completion; the only task done, the project is Completed */
        "job.completed", "assignment.submitted", "task.status_changed", "project.status_changed"};
    expect_types(&l, 1, types, sizeof types / sizeof types[0]);
    int64_t p = o.project_id, t = o.task_id;
    expect_event(l.v[2], "assignment.created", p, t, "run", "", "", "Processing");
    expect_event(l.v[4], "job.leased", p, t, "run", "", "queued", "leased");
    assert_string_equal(l.v[4]->workflow, "mach");
    assert_non_null(strstr(l.v[4]->payload, "\"executor\":\"exec-1\""));
    char pt[64];
    snprintf(pt, sizeof pt, "project.%lld.", (long long)p);
    expect_topics(l.v[4], (const char *const[]){pt, "workflow.mach.", "step.run.", NULL});
    expect_event(l.v[5], "job.failed", p, t, "run", "", "leased", "failed");
    assert_non_null(strstr(l.v[5]->payload, "\"will_retry\":false"));
    assert_non_null(strstr(l.v[5]->payload, "\"error\":\"boom\""));
    expect_event(l.v[6], "assignment.status_changed", p, t, "run", "", "Processing", "Failed");
    expect_event(l.v[7], "job.retried", p, t, "run", "", "failed", "queued");
    expect_event(l.v[8], "assignment.status_changed", p, t, "run", "", "Failed", "Processing");
    expect_event(l.v[10], "job.completed", p, t, "run", "", "leased", "completed");
    expect_event(l.v[12], "task.status_changed", p, t, "run", "", "Processing", "Complete");
    expect_event(l.v[13], "project.status_changed", p, 0, "", "", "Active", "Completed");
    ev_free(&l);
}

/* ---- time tracking ------------------------------------------------------------------ */

static void test_events_time_tracking_appends_timer_and_entry_events(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char alice[TOKEN_MAX];
    sf_worker(f, "alice", false, alice, sizeof alice);
    int64_t p = sf_project(f, "Timed", 1);
    int64_t t = new_task(f, alice, "entry_level");
    int64_t aid = sf_int(f, "SELECT id FROM task_assignments WHERE task_id = ?1", t, 0);
    int64_t before = last_seq(f);

    Orchestra__V1__TimerStartRequest sq;
    orchestra__v1__timer_start_request__init(&sq);
    sq.assignment_id = aid;
    sq.description = "research";
    sf_expect_ok(sf_call(f, SF_TOKEN(alice), "TimerStart", &sq.base));
    sf_advance(f, 90);
    Orchestra__V1__TimerStopRequest pq;
    orchestra__v1__timer_stop_request__init(&pq);
    sf_expect_ok(sf_call(f, SF_TOKEN(alice), "TimerStop", &pq.base));
    Orchestra__V1__TimeEntryCreateRequest cq;
    orchestra__v1__time_entry_create_request__init(&cq);
    cq.date = "2023-11-14";
    cq.time_worked = "01:30";
    cq.description = "by hand";
    sf_expect_ok(sf_call(f, SF_TOKEN(alice), "TimeEntryCreate", &cq.base));

    evlist l = ev_read(f, before);
    static const char *const types[] = {"timer.started", "time_entry.created", "timer.stopped",
                                        "time_entry.created"};
    expect_types(&l, before + 1, types, sizeof types / sizeof types[0]);
    /* attached to an assignment: the task's topics and the worker's */
    expect_event(l.v[0], "timer.started", p, t, "plan", "alice", "", "");
    assert_non_null(strstr(l.v[0]->payload, "\"description\":\"research\""));
    assert_non_null(strstr(l.v[1]->payload, "\"time_worked_us\":90000000"));
    assert_non_null(strstr(l.v[1]->payload, "\"from_timer\":true"));
    expect_event(l.v[2], "timer.stopped", p, t, "plan", "alice", "", "");
    /* a free entry concerns the worker only */
    expect_event(l.v[3], "time_entry.created", 0, 0, "", "alice", "", "");
    expect_topics(l.v[3], (const char *const[]){"worker.alice.", NULL});
    assert_non_null(strstr(l.v[3]->payload, "\"time_worked_us\":5400000000"));
    ev_free(&l);
}

/* ---- rollback ----------------------------------------------------------------------- */

typedef struct append_job {
    int64_t now_us;
    const char *type;
    bool fail;
    int64_t seq;
} append_job;

static int append_fn(orci_db *db, void *arg, orc_error *err)
{
    append_job *a = arg;
    orci_event_rec e = {.type = a->type, .time_us = a->now_us, .project_id = 7};
    int code = orci_events_append(db, &e, &a->seq, err);
    if (code == ORC_OK)
        code = orci_events_append(db, &e, &a->seq, err);
    if (code == ORC_OK && a->fail)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "changed my mind");
    return code;
}

static void test_events_of_a_rolled_back_job_never_appear_and_leave_no_gap(void **state)
{
    sf *f = *state;
    orc_error err = {0};
    append_job a = {.now_us = SF_T0_US, .type = "test.kept"};
    assert_int_equal(orci_store_write(f->srv.store, append_fn, &a, &err), ORC_OK);
    assert_int_equal(a.seq, 2);
    append_job b = {.now_us = SF_T0_US, .type = "test.rolled_back", .fail = true};
    assert_int_equal(orci_store_write(f->srv.store, append_fn, &b, &err), ORC_FAILED_PRECONDITION);
    assert_int_equal(b.seq, 4); /* it had taken 3 and 4 inside its savepoint */

    /* A failing lifecycle transition: its events (if any were appended) go with it. */
    char alice[TOKEN_MAX];
    sf_load_workflow(f);
    sf_worker(f, "alice", false, alice, sizeof alice);
    int64_t before = last_seq(f);
    Orchestra__V1__NewTaskRequest q;
    orchestra__v1__new_task_request__init(&q);
    q.role = "reviewer"; /* not certified as a reviewer, and nothing to review */
    Orchestra__V1__Reply *r = sf_call(f, SF_TOKEN(alice), "NewTask", &q.base);
    assert_int_not_equal((int)r->status, ORC_OK);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_int_equal(last_seq(f), before);

    append_job c = {.now_us = SF_T0_US, .type = "test.kept"};
    assert_int_equal(orci_store_write(f->srv.store, append_fn, &c, &err), ORC_OK);
    assert_int_equal(c.seq, before + 2);

    evlist l = ev_read(f, 0);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.v[i]->seq, (int64_t)i + 1); /* gap-free */
        assert_string_not_equal(l.v[i]->type, "test.rolled_back");
    }
    assert_int_equal(l.n, c.seq);
    ev_free(&l);
}

/* A job's events wait in memory until it ends: a savepoint rolled back inside the job takes
 * its events with it, a read inside the job sees the earlier ones, and more events than the
 * buffer holds keep their order and numbers. */
typedef struct buffered_job {
    int64_t seqs[16];
    int64_t bound; /* the newest seq orci_events_bounds saw inside the job */
} buffered_job;

static int buffered_fn(orci_db *db, void *arg, orc_error *err)
{
    buffered_job *j = arg;
    orci_event_rec e = {.time_us = SF_T0_US, .project_id = 7};
    char type[32];
    e.type = type;
    int n = 0, code = ORC_OK;
    for (int i = 0; i < 3 && code == ORC_OK; i++) {
        snprintf(type, sizeof type, "test.first%d", i);
        code = orci_events_append(db, &e, &j->seqs[n++], err);
    }
    int64_t undone = 0;
    if (code == ORC_OK && (code = orci_db_exec(db, "SAVEPOINT t", err)) == ORC_OK) {
        e.type = "test.undone";
        code = orci_events_append(db, &e, &undone, err);
        if (code == ORC_OK)
            code = orci_db_exec(db, "ROLLBACK TO t", err);
        if (code == ORC_OK)
            code = orci_db_exec(db, "RELEASE t", err);
        e.type = type;
    }
    int64_t first_kept = 0;
    if (code == ORC_OK)
        code = orci_events_bounds(db, &first_kept, &j->bound, err);
    for (int i = 0; i < 12 && code == ORC_OK; i++) {
        snprintf(type, sizeof type, "test.then%d", i);
        code = orci_events_append(db, &e, &j->seqs[n++], err);
    }
    return code;
}

static void test_events_of_a_job_are_written_at_its_end_in_order(void **state)
{
    sf *f = *state;
    orc_error err = {0};
    int64_t before = last_seq(f);
    buffered_job j = {{0}, 0};
    assert_int_equal(orci_store_write(f->srv.store, buffered_fn, &j, &err), ORC_OK);
    assert_int_equal(j.bound, before + 3);
    for (int i = 0; i < 15; i++)
        assert_int_equal(j.seqs[i], before + 1 + i); /* the undone one's number is reused */
    evlist l = ev_read(f, before);
    assert_int_equal(l.n, 15);
    for (size_t i = 0; i < l.n; i++) {
        char want[32];
        if (i < 3)
            snprintf(want, sizeof want, "test.first%zu", i);
        else
            snprintf(want, sizeof want, "test.then%zu", i - 3);
        assert_int_equal(l.v[i]->seq, before + 1 + (int64_t)i);
        assert_string_equal(l.v[i]->type, want);
    }
    ev_free(&l);
}

/* ---- ListEvents --------------------------------------------------------------------- */

static Orchestra__V1__ListEventsReply *list_events(sf *f, sf_who who, int64_t after,
                                                   const char *prefix, int limit, int want,
                                                   const char *want_msg)
{
    Orchestra__V1__ListEventsRequest q;
    orchestra__v1__list_events_request__init(&q);
    q.after_seq = after;
    q.topic_prefix = (char *)prefix;
    q.limit = limit;
    Orchestra__V1__Reply *r = sf_call(f, who, "ListEvents", &q.base);
    if ((int)r->status != want || (want_msg != NULL && strstr(r->message, want_msg) == NULL))
        fail_msg("ListEvents: got %s \"%s\", want %s \"%s\"", orc_code_name((int)r->status),
                 r->message, orc_code_name(want), want_msg != NULL ? want_msg : "");
    Orchestra__V1__ListEventsReply *l = NULL;
    if (want == ORC_OK) {
        l = orchestra__v1__list_events_reply__unpack(NULL, r->body.len, r->body.data);
        assert_non_null(l);
    }
    orchestra__v1__reply__free_unpacked(r, NULL);
    return l;
}

static void test_list_events_orders_filters_by_prefix_and_limits(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char alice[TOKEN_MAX];
    sf_worker(f, "alice", false, alice, sizeof alice);
    int64_t p1 = sf_project(f, "One", 1);
    int64_t p2 = sf_project(f, "Two", 2);
    new_task(f, alice, "entry_level"); /* the higher-priority project's task */
    int64_t last = last_seq(f);

    Orchestra__V1__ListEventsReply *l = list_events(f, SF_ADMIN, 0, "", 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, last);
    assert_int_equal(l->last_seq, last);
    assert_int_equal(l->first_seq, 1);
    for (size_t i = 0; i < l->n_events; i++)
        assert_int_equal(l->events[i]->seq, (int64_t)i + 1);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);

    /* after_seq and limit page through in order */
    l = list_events(f, SF_ADMIN, 2, "", 3, ORC_OK, NULL);
    assert_int_equal(l->n_events, 3);
    assert_int_equal(l->events[0]->seq, 3);
    assert_int_equal(l->events[2]->seq, 5);
    assert_int_equal(l->last_seq, last);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);

    /* a project's prefix: only its events */
    char pt[64];
    snprintf(pt, sizeof pt, "project.%lld.", (long long)p1);
    l = list_events(f, SF_ADMIN, 0, pt, 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, 2); /* created, and its task created */
    for (size_t i = 0; i < l->n_events; i++) {
        assert_int_equal(l->events[i]->project_id, p1);
        if (i > 0)
            assert_true(l->events[i]->seq > l->events[i - 1]->seq);
    }
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);
    snprintf(pt, sizeof pt, "project.%lld.", (long long)p2);
    l = list_events(f, SF_ADMIN, 0, pt, 0, ORC_OK, NULL);
    /* created, task created, Processing, assignment (the notification is the worker's) */
    assert_int_equal(l->n_events, 4);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);

    /* a broader prefix takes every project; a worker's topic its own events */
    l = list_events(f, SF_ADMIN, 0, "project.", 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, 6);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);
    l = list_events(f, SF_ADMIN, 0, "worker.alice.", 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, 3); /* certified, assignment created, notification */
    assert_string_equal(l->events[2]->type, "notification.assigned");
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);
    l = list_events(f, SF_ADMIN, 0, "step.write.", 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, 0);
    assert_int_equal(l->last_seq, last);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);

    /* A whole step or workflow topic is one topic (slugs have no dot): the same events as
     * the broader prefix has of it, after after_seq. */
    static const char *const heads[] = {"step.", "workflow."};
    for (size_t h = 0; h < 2; h++) {
        Orchestra__V1__ListEventsReply *all =
            list_events(f, SF_ADMIN, 0, heads[h], 0, ORC_OK, NULL);
        assert_true(all->n_events >= 2);
        const char *slug = h == 0 ? all->events[0]->step : all->events[0]->workflow;
        char topic[256];
        snprintf(topic, sizeof topic, "%s%s.", heads[h], slug);
        size_t want = 0;
        for (size_t i = 0; i < all->n_events; i++)
            want += strcmp(h == 0 ? all->events[i]->step : all->events[i]->workflow, slug) == 0;
        l = list_events(f, SF_ADMIN, 0, topic, 0, ORC_OK, NULL);
        assert_int_equal(l->n_events, want);
        orchestra__v1__list_events_reply__free_unpacked(l, NULL);
        l = list_events(f, SF_ADMIN, all->events[0]->seq, topic, 0, ORC_OK, NULL);
        assert_int_equal(l->n_events, want - 1);
        for (size_t i = 0; i < l->n_events; i++)
            assert_true(l->events[i]->seq > all->events[0]->seq);
        orchestra__v1__list_events_reply__free_unpacked(l, NULL);
        orchestra__v1__list_events_reply__free_unpacked(all, NULL);
    }

    list_events(f, SF_ADMIN, 0, "", ORCI_EVENTS_MAX_LIMIT + 1, ORC_INVALID_ARGUMENT, "limit");
    list_events(f, SF_ADMIN, -1, "", 0, ORC_INVALID_ARGUMENT, "after_seq");
}

static void test_list_events_worker_reads_only_its_own_topic(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char alice[TOKEN_MAX], al[TOKEN_MAX];
    sf_worker(f, "alice", false, alice, sizeof alice);
    sf_worker(f, "al", false, al, sizeof al);
    sf_project(f, "One", 1);
    new_task(f, alice, "entry_level");

    Orchestra__V1__ListEventsReply *l =
        list_events(f, SF_TOKEN(alice), 0, "worker.alice.", 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, 3);
    for (size_t i = 0; i < l->n_events; i++)
        assert_string_equal(l->events[i]->worker, "alice");
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);

    list_events(f, SF_TOKEN(alice), 0, "", 0, ORC_PERMISSION_DENIED, "worker.alice.");
    list_events(f, SF_TOKEN(alice), 0, "worker.al", 0, ORC_PERMISSION_DENIED, NULL);
    list_events(f, SF_TOKEN(al), 0, "worker.alice.", 0, ORC_PERMISSION_DENIED, NULL);
    list_events(f, SF_TOKEN(alice), 0, "project.", 0, ORC_PERMISSION_DENIED, NULL);
    l = list_events(f, SF_TOKEN(al), 0, "worker.al.", 0, ORC_OK, NULL);
    assert_int_equal(l->n_events, 1); /* its certification, none of alice's */
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);
    /* no credentials at all */
    list_events(f, SF_ANON, 0, "", 0, ORC_UNAUTHENTICATED, NULL);
}

typedef struct prune_job {
    int64_t cutoff;
    int64_t pruned;
} prune_job;

static int prune_fn(orci_db *db, void *arg, orc_error *err)
{
    prune_job *j = arg;
    return orci_events_prune(db, j->cutoff, &j->pruned, err);
}

static void test_list_events_in_a_pruned_range_is_out_of_range(void **state)
{
    sf *f = *state;
    orc_error err = {0};
    append_job a = {.now_us = SF_T0_US, .type = "test.old"};
    assert_int_equal(orci_store_write(f->srv.store, append_fn, &a, &err), ORC_OK); /* 1, 2 */
    append_job b = {.now_us = SF_T0_US + 10 * SF_SECOND, .type = "test.new"};
    assert_int_equal(orci_store_write(f->srv.store, append_fn, &b, &err), ORC_OK); /* 3, 4 */

    prune_job pj = {.cutoff = SF_T0_US + 5 * SF_SECOND};
    assert_int_equal(orci_store_write(f->srv.store, prune_fn, &pj, &err), ORC_OK);
    assert_int_equal(pj.pruned, 2);

    list_events(f, SF_ADMIN, 0, "", 0, ORC_OUT_OF_RANGE,
                "events up to seq 2 were pruned; the oldest kept is 3");
    list_events(f, SF_ADMIN, 1, "project.7.", 0, ORC_OUT_OF_RANGE, "oldest kept is 3");
    Orchestra__V1__ListEventsReply *l = list_events(f, SF_ADMIN, 2, "", 0, ORC_OK, NULL);
    assert_int_equal(l->first_seq, 3);
    assert_int_equal(l->last_seq, 4);
    assert_int_equal(l->n_events, 2);
    assert_int_equal(l->events[0]->seq, 3);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);

    /* pruning everything keeps the numbering going */
    pj = (prune_job){.cutoff = SF_T0_US + 3600 * SF_SECOND};
    assert_int_equal(orci_store_write(f->srv.store, prune_fn, &pj, &err), ORC_OK);
    assert_int_equal(pj.pruned, 2);
    l = list_events(f, SF_ADMIN, 4, "", 0, ORC_OK, NULL);
    assert_int_equal(l->first_seq, 5);
    assert_int_equal(l->last_seq, 4);
    assert_int_equal(l->n_events, 0);
    orchestra__v1__list_events_reply__free_unpacked(l, NULL);
    append_job c = {.now_us = SF_T0_US, .type = "test.after"};
    assert_int_equal(orci_store_write(f->srv.store, append_fn, &c, &err), ORC_OK);
    assert_int_equal(c.seq, 6);
    list_events(f, SF_ADMIN, 3, "", 0, ORC_OUT_OF_RANGE, "events up to seq 4 were pruned");
}

/* ---- the publisher ------------------------------------------------------------------ */

typedef struct pipe_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int added;
} pipe_wait;

static void on_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    (void)ev;
    pipe_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->added++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* sub_open dials a SUB socket to url with one subscription; returns once PUB has its pipe. */
static nng_socket sub_open(const char *url, const char *topic, pipe_wait *w)
{
    nng_socket sub;
    assert_int_equal(nng_sub0_open(&sub), 0);
    assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, topic, strlen(topic)), 0);
    assert_int_equal(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 10000), 0);
    assert_int_equal(nng_socket_set_int(sub, NNG_OPT_RECVBUF, 1024), 0);
    pthread_mutex_lock(&w->mu);
    int before = w->added;
    pthread_mutex_unlock(&w->mu);
    assert_int_equal(nng_dial(sub, url, NULL, 0), 0);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&w->mu);
    while (w->added == before)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &deadline) != 0)
            break;
    int added = w->added;
    pthread_mutex_unlock(&w->mu);
    assert_true(added > before);
    return sub;
}

/* recv_event receives one message and splits it into its topic and Event. */
static Orchestra__V1__Event *recv_event(nng_socket sub, char *topic, size_t topic_size)
{
    nng_msg *m = NULL;
    int rv = nng_recvmsg(sub, &m, 0);
    if (rv != 0)
        fail_msg("receive: %s", nng_strerror(rv));
    const uint8_t *body = nng_msg_body(m);
    size_t len = nng_msg_len(m);
    const uint8_t *nul = memchr(body, '\0', len);
    assert_non_null(nul);
    size_t tl = (size_t)(nul - body);
    assert_true(tl < topic_size);
    memcpy(topic, body, tl);
    topic[tl] = '\0';
    Orchestra__V1__Event *e = orchestra__v1__event__unpack(NULL, len - tl - 1, nul + 1);
    assert_non_null(e);
    /* Each copy is the event's usual encoding, byte for byte (the publisher packs once and
     * appends topic_prev_seq per copy). */
    size_t plen = orchestra__v1__event__get_packed_size(e);
    assert_int_equal(plen, len - tl - 1);
    uint8_t *again = malloc(plen ? plen : 1);
    assert_non_null(again);
    orchestra__v1__event__pack(e, again);
    assert_memory_equal(again, nul + 1, plen);
    free(again);
    nng_msg_free(m);
    return e;
}

static void test_publisher_sends_each_event_once_per_topic_after_commit(void **state)
{
    sf *f = *state;
    sf_load_workflow(f);
    char alice[TOKEN_MAX];
    sf_worker(f, "alice", false, alice, sizeof alice); /* history: never published */
    int64_t history = last_seq(f);

    char url[128];
    snprintf(url, sizeof url, "inproc://test-events-%d", (int)getpid());
    nng_socket pub;
    assert_int_equal(nng_pub0_open(&pub), 0);
    assert_int_equal(nng_socket_set_int(pub, NNG_OPT_SENDBUF, 8192), 0);
    pipe_wait w = {.added = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    assert_int_equal(nng_pipe_notify(pub, NNG_PIPE_EV_ADD_POST, on_pipe_added, &w), 0);
    assert_int_equal(nng_listen(pub, url, NULL, 0), 0);
    nng_socket all = sub_open(url, "", &w);
    nng_socket worker = sub_open(url, "worker.alice.", &w);

    orci_events_pub *publisher = NULL;
    orc_error err = {0};
    assert_int_equal(orci_events_pub_start(f->srv.store, pub, &publisher, &err), ORC_OK);

    int64_t p = sf_project(f, "Published", 1);
    int64_t t = new_task(f, alice, "entry_level");
    char pt[64];
    snprintf(pt, sizeof pt, "project.%lld.", (long long)p);

    /* Every event after the start, in seq order, once per topic. */
    evlist l = ev_read(f, history);
    assert_int_equal(l.n, 5); /* project, task, Processing, assignment, notification */
    char topic[ORCI_EVENT_TOPIC_MAX];
    for (size_t i = 0; i < l.n; i++) {
        for (size_t k = 0; k < l.v[i]->n_topics; k++) {
            Orchestra__V1__Event *e = recv_event(all, topic, sizeof topic);
            assert_int_equal(e->seq, l.v[i]->seq);
            assert_string_equal(topic, l.v[i]->topics[k]);
            assert_string_equal(e->type, l.v[i]->type);
            assert_int_equal(e->n_topics, l.v[i]->n_topics);
            orchestra__v1__event__free_unpacked(e, NULL);
        }
    }
    /* The worker's subscription: only messages whose topic is alice's. */
    Orchestra__V1__Event *e = recv_event(worker, topic, sizeof topic);
    assert_string_equal(topic, "worker.alice.");
    assert_string_equal(e->type, "assignment.created");
    assert_int_equal(e->task_id, t);
    orchestra__v1__event__free_unpacked(e, NULL);
    e = recv_event(worker, topic, sizeof topic);
    assert_string_equal(e->type, "notification.assigned");
    assert_int_equal(e->seq, l.v[4]->seq);
    orchestra__v1__event__free_unpacked(e, NULL);
    assert_int_equal(orci_events_pub_dropped(publisher), 0);

    /* Nothing else was sent: the history before the start stayed out. */
    nng_socket_set_ms(all, NNG_OPT_RECVTIMEO, 50);
    nng_msg *extra = NULL;
    assert_int_equal(nng_recvmsg(all, &extra, 0), NNG_ETIMEDOUT);
    ev_free(&l);

    /* After stop, commits are no longer published. */
    orci_events_pub_stop(publisher);
    sf_project(f, "Quiet", 1);
    assert_int_equal(nng_recvmsg(all, &extra, 0), NNG_ETIMEDOUT);

    nng_close(all);
    nng_close(worker);
    nng_close(pub);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    (void)pt;
}

/* one_event_job appends one event of project (0: none) concerning worker ("": none). */
typedef struct one_event_job {
    int64_t now_us;
    int64_t project;
    const char *worker;
    int64_t seq;
} one_event_job;

static int one_event_fn(orci_db *db, void *arg, orc_error *err)
{
    one_event_job *j = arg;
    orci_event_rec e = {.type = "test.event", .time_us = j->now_us, .project_id = j->project};
    snprintf(e.worker, sizeof e.worker, "%s", j->worker);
    return orci_events_append(db, &e, &j->seq, err);
}

static int64_t append_one(sf *f, int64_t now_us, int64_t project, const char *worker)
{
    one_event_job j = {.now_us = now_us, .project = project, .worker = worker};
    orc_error err = {0};
    if (orci_store_write(f->srv.store, one_event_fn, &j, &err) != ORC_OK)
        fail_msg("append: %s", err.message);
    return j.seq;
}

/* copy_want is one message the publisher must send: the copy of seq under topic. */
typedef struct copy_want {
    int64_t seq;
    const char *topic;
    int64_t topic_prev_seq;
} copy_want;

/* expect_copies receives n messages on sub and checks them against want, in order. */
static void expect_copies(nng_socket sub, const copy_want *want, size_t n)
{
    char topic[ORCI_EVENT_TOPIC_MAX];
    for (size_t i = 0; i < n; i++) {
        Orchestra__V1__Event *e = recv_event(sub, topic, sizeof topic);
        if (e->seq != want[i].seq || strcmp(topic, want[i].topic) != 0 ||
            e->topic_prev_seq != want[i].topic_prev_seq)
            fail_msg("copy %zu: seq %lld under %s with topic_prev_seq %lld, want %lld under %s"
                     " with %lld",
                     i, (long long)e->seq, topic, (long long)e->topic_prev_seq,
                     (long long)want[i].seq, want[i].topic, (long long)want[i].topic_prev_seq);
        orchestra__v1__event__free_unpacked(e, NULL);
    }
}

static void test_publisher_gives_each_copy_the_previous_seq_of_its_topic(void **state)
{
    sf *f = *state;
    const int64_t old = SF_T0_US, recent = SF_T0_US + 10 * SF_SECOND;
    int64_t h = append_one(f, old, 1, ""); /* history: published before the start, never sent */

    char url[128];
    snprintf(url, sizeof url, "inproc://test-events-prev-%d", (int)getpid());
    nng_socket pub;
    assert_int_equal(nng_pub0_open(&pub), 0);
    pipe_wait w = {.added = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    assert_int_equal(nng_pipe_notify(pub, NNG_PIPE_EV_ADD_POST, on_pipe_added, &w), 0);
    assert_int_equal(nng_listen(pub, url, NULL, 0), 0);
    nng_socket all = sub_open(url, "", &w);
    orci_events_pub *publisher = NULL;
    orc_error err = {0};
    assert_int_equal(orci_events_pub_start(f->srv.store, pub, &publisher, &err), ORC_OK);

    /* Two projects interleaved, one event also on a worker's topic, one on the worker's
     * only: each topic chains on its own, and the history before the start counts. */
    int64_t a = append_one(f, old, 1, "");
    int64_t c = append_one(f, old, 2, "");
    int64_t b = append_one(f, old, 1, "ann");
    int64_t d = append_one(f, old, 2, "");
    int64_t e = append_one(f, old, 0, "ann");
    int64_t g = append_one(f, recent, 1, "");
    const copy_want chains[] = {
        {a, "project.1.", h}, {c, "project.2.", 0},  {b, "project.1.", a}, {b, "worker.ann.", 0},
        {d, "project.2.", c}, {e, "worker.ann.", b}, {g, "project.1.", b},
    };
    expect_copies(all, chains, sizeof chains / sizeof chains[0]);

    /* The history never carries the field. */
    evlist l = ev_read(f, 0);
    assert_int_equal(l.n, g);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i]->topic_prev_seq, 0);
    ev_free(&l);
    Orchestra__V1__ListEventsReply *r = list_events(f, SF_ADMIN, 0, "project.1.", 0, ORC_OK, NULL);
    assert_int_equal(r->n_events, 4);
    for (size_t i = 0; i < r->n_events; i++)
        assert_int_equal(r->events[i]->topic_prev_seq, 0);
    orchestra__v1__list_events_reply__free_unpacked(r, NULL);

    /* Retention prunes everything before g: project 2's previous event (d) is gone, so its
     * next copy is bounded by the floor; project 1's previous (g) is kept and exact. */
    prune_job pj = {.cutoff = recent};
    assert_int_equal(orci_store_write(f->srv.store, prune_fn, &pj, &err), ORC_OK);
    int64_t first_kept = 0, last = 0;
    assert_int_equal(orci_events_bounds(f->rdb, &first_kept, &last, &err), ORC_OK);
    assert_int_equal(first_kept, g);
    int64_t x = append_one(f, recent, 2, "");
    int64_t y = append_one(f, recent, 1, "");
    const copy_want pruned[] = {{x, "project.2.", first_kept - 1}, {y, "project.1.", g}};
    expect_copies(all, pruned, sizeof pruned / sizeof pruned[0]);
    assert_true(first_kept - 1 >= d); /* an upper bound of the real previous event */
    assert_int_equal(orci_events_pub_dropped(publisher), 0);

    orci_events_pub_stop(publisher);
    nng_close(all);
    nng_close(pub);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

static void test_topics_trailing_dot_separates_project_ids(void **state)
{
    (void)state;
    orci_event_rec e = {.type = "x", .project_id = 1};
    char topics[ORCI_EVENT_TOPICS_MAX][ORCI_EVENT_TOPIC_MAX];
    assert_int_equal(orci_events_topics(&e, topics), 1);
    assert_string_equal(topics[0], "project.1.");
    /* "project.1." is not a prefix of project 12's topic */
    e.project_id = 12;
    orci_events_topics(&e, topics);
    assert_int_not_equal(strncmp(topics[0], "project.1.", strlen("project.1.")), 0);
    /* a notification keeps to the worker's topic */
    e.worker_only = true;
    snprintf(e.worker, sizeof e.worker, "ann");
    snprintf(e.step, sizeof e.step, "s");
    assert_int_equal(orci_events_topics(&e, topics), 1);
    assert_string_equal(topics[0], "worker.ann.");
}

/* ---- migration 0006: topics derived from the columns ---------------------------------- */

/* An event as 0004 stored it: its columns and its topics (JSON array and event_topics). */
typedef struct old_event {
    int64_t project_id;
    const char *step, *workflow, *worker;
    const char *topics[ORCI_EVENT_TOPICS_MAX + 1]; /* NULL-terminated */
} old_event;

static void raw_exec(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* old_database writes a database at schema 5 holding events in the 0004 layout. */
static void old_database(const char *path, const old_event *ev, size_t n)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    for (size_t i = 0; i < orci_migrations_count && orci_migrations[i].version <= 5; i++)
        raw_exec(h, orci_migrations[i].sql);
    raw_exec(h, "PRAGMA user_version = 5");
    for (size_t i = 0; i < n; i++) {
        json_t *arr = json_array();
        for (size_t k = 0; ev[i].topics[k]; k++)
            json_array_append_new(arr, json_string(ev[i].topics[k]));
        char *topics = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(h,
                                            "INSERT INTO events (seq, type, time, project_id, step,"
                                            " workflow, worker, topics) VALUES (?1, 'x', 1, ?2,"
                                            " ?3, ?4, ?5, ?6)",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(i + 1));
        sqlite3_bind_int64(st, 2, ev[i].project_id);
        sqlite3_bind_text(st, 3, ev[i].step, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, ev[i].workflow, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, ev[i].worker, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, topics, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        free(topics);
        for (size_t k = 0; ev[i].topics[k]; k++) {
            assert_int_equal(sqlite3_prepare_v2(h,
                                                "INSERT INTO event_topics (topic, seq)"
                                                " VALUES (?1, ?2)",
                                                -1, &st, NULL),
                             SQLITE_OK);
            sqlite3_bind_text(st, 1, ev[i].topics[k], -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)(i + 1));
            assert_int_equal(sqlite3_step(st), SQLITE_DONE);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
}

/* expect_seqs lists the events matching prefix (exact or not) and checks their seqs. */
static void expect_seqs(orci_db *db, const char *prefix, bool exact, const int64_t *want, size_t n)
{
    Orchestra__V1__Event **v = NULL;
    size_t got = 0;
    orc_error err = {0};
    if (orci_events_list(db, 0, prefix, exact, 100, &v, &got, &err) != ORC_OK)
        fail_msg("list %s: %s", prefix, err.message);
    if (got != n)
        fail_msg("prefix %s%s: %zu events, want %zu", prefix, exact ? " (exact)" : "", got, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i]->seq, want[i]);
    orci_events_free(v, got);
}

static void test_migration_0006_derives_the_topics_events_had(void **state)
{
    (void)state;
    static const old_event ev[] = {
        /* 1: a task event */
        {7, "crawl", "w", "", {"project.7.", "workflow.w.", "step.crawl.", NULL}},
        /* 2: a notification: the worker's topic only */
        {7, "crawl", "w", "ada", {"worker.ada.", NULL}},
        /* 3: a reassignment from ada to bob */
        {7,
         "crawl",
         "w",
         "bob",
         {"project.7.", "worker.bob.", "worker.ada.", "workflow.w.", "step.crawl.", NULL}},
        /* 4: a certification: no project, no step */
        {0, "", "w", "ada", {"worker.ada.", "workflow.w.", NULL}},
        /* 5: nothing concerned */
        {0, "", "", "", {NULL}},
        /* 6: a username with dots, notified */
        {12, "rate", "w", "al.b", {"worker.al.b.", NULL}},
        /* 7: a project whose id starts like 7's */
        {71, "crawl", "w", "", {"project.71.", "workflow.w.", "step.crawl.", NULL}},
    };
    size_t n = sizeof ev / sizeof ev[0];
    char dir[256], path[400];
    orc_test_tmpdir("migrate", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/orchestra.db", dir);
    old_database(path, ev, n);

    orci_store *store = NULL;
    orci_db *rdb = NULL;
    orci_store_opts opts = {.path = path};
    orc_error err = {0};
    if (orci_store_open(&opts, &store, &err) != ORC_OK)
        fail_msg("store: %s", err.message);
    assert_true(orci_store_schema_version(store) >= 6);
    assert_int_equal(orci_db_open_reader(store, &rdb, &err), ORC_OK);

    /* Every event has the topics it was stored with, in the same order. */
    Orchestra__V1__Event **v = NULL;
    size_t got = 0;
    assert_int_equal(orci_events_list(rdb, 0, NULL, false, 100, &v, &got, &err), ORC_OK);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        expect_topics(v[i], ev[i].topics);
    orci_events_free(v, got);

    /* And the indexes find them by topic, by prefix and exactly. */
    const int64_t project7[] = {1, 3};
    expect_seqs(rdb, "project.7.", false, project7, 2);
    const int64_t project7x[] = {1, 3, 7};
    expect_seqs(rdb, "project.7", false, project7x, 3);
    const int64_t ada[] = {2, 3, 4};
    expect_seqs(rdb, "worker.ada.", true, ada, 3);
    const int64_t al[] = {6};
    expect_seqs(rdb, "worker.al.", false, al, 1);
    expect_seqs(rdb, "worker.al.", true, NULL, 0);
    const int64_t workers[] = {2, 3, 4, 6};
    expect_seqs(rdb, "worker.", false, workers, 4);
    const int64_t w[] = {1, 3, 4, 7};
    expect_seqs(rdb, "workflow.w.", false, w, 4);
    const int64_t wo[] = {1, 2, 3, 4, 6, 7};
    expect_seqs(rdb, "w", false, wo, 6);
    const int64_t steps[] = {1, 3, 7};
    expect_seqs(rdb, "step.crawl.", true, steps, 3);
    expect_seqs(rdb, "\xff\xff", false, NULL, 0);

    orci_db_close(rdb);
    orci_store_close(store);
    orc_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_events_human_lifecycle_appends_every_change_with_consecutive_seqs, sf_setup,
            sf_teardown),
        cmocka_unit_test_setup_teardown(test_events_end_project_and_reassign_reach_every_worker,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_events_jobs_append_leased_failed_retried_completed,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_events_time_tracking_appends_timer_and_entry_events,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(
            test_events_of_a_rolled_back_job_never_appear_and_leave_no_gap, sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_events_of_a_job_are_written_at_its_end_in_order,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_list_events_orders_filters_by_prefix_and_limits,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_list_events_worker_reads_only_its_own_topic, sf_setup,
                                        sf_teardown),
        cmocka_unit_test_setup_teardown(test_list_events_in_a_pruned_range_is_out_of_range,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(test_publisher_sends_each_event_once_per_topic_after_commit,
                                        sf_setup, sf_teardown),
        cmocka_unit_test_setup_teardown(
            test_publisher_gives_each_copy_the_previous_seq_of_its_topic, sf_setup, sf_teardown),
        cmocka_unit_test(test_topics_trailing_dot_separates_project_ids),
        cmocka_unit_test(test_migration_0006_derives_the_topics_events_had),
    };
    return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
