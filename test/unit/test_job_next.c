/*
 * test_job_next.c: CompleteJob and FailJob with `next` (the executor's report and the lease
 * of its next job in one call and one transaction), driven through orci_dispatch with
 * executor-signed envelopes on a temporary store: the job the completion creates is the one
 * handed out, with the events LeaseJob appends; a replayed request (same request id) gets
 * the same job and lease and changes nothing; a lease that fails rolls the report back with
 * it; a lost lease leases nothing; FailJob with next; `next` never parks and keeps to its
 * functions; the job signal is not bumped for a job leased in the transaction that made it.
 */
/* cmocka needs these headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "domain/jobs.h"
#include "svc_fixture.h"

#define EXEC_KEY "exec-key"

/* chain/v1: fetch (m.fetch, one retry a minute later) -> parse (m.parse) -> store (command). */
static const char CHAIN_WORKFLOW[] =
    "{\"slug\":\"chain\",\"name\":\"Chain\",\"description\":\"Machines.\",\"certifications\":[]}";
static const char CHAIN_VERSION[] =
    "{\"slug\":\"v1\",\"name\":\"V1\",\"description\":\"Three machine steps.\",\"steps\":["
    "{\"slug\":\"fetch\",\"name\":\"Fetch\",\"description\":\"d\",\"is_human\":false,"
    "\"execution_function\":{\"module\":\"m\",\"name\":\"fetch\"},"
    "\"retry_policy\":{\"max_attempts\":2,\"initial_delay_ms\":60000,\"max_delay_ms\":60000}},"
    "{\"slug\":\"parse\",\"name\":\"Parse\",\"description\":\"d\",\"is_human\":false,"
    "\"execution_function\":{\"module\":\"m\",\"name\":\"parse\"},"
    "\"creation_depends_on\":[\"fetch\"]},"
    "{\"slug\":\"store\",\"name\":\"Store\",\"description\":\"d\",\"is_human\":false,"
    "\"execution_function\":{\"command\":[\"store.sh\"]},\"creation_depends_on\":[\"parse\"]}]}";
/* fan/v1: root (m.fetch) -> left (m.parse) and right (m.parse). */
static const char FAN_WORKFLOW[] =
    "{\"slug\":\"fan\",\"name\":\"Fan\",\"description\":\"Machines.\",\"certifications\":[]}";
static const char FAN_VERSION[] =
    "{\"slug\":\"v1\",\"name\":\"V1\",\"description\":\"A fan-out.\",\"steps\":["
    "{\"slug\":\"root\",\"name\":\"Root\",\"description\":\"d\",\"is_human\":false,"
    "\"execution_function\":{\"module\":\"m\",\"name\":\"fetch\"}},"
    "{\"slug\":\"left\",\"name\":\"Left\",\"description\":\"d\",\"is_human\":false,"
    "\"execution_function\":{\"module\":\"m\",\"name\":\"parse\"},"
    "\"creation_depends_on\":[\"root\"]},"
    "{\"slug\":\"right\",\"name\":\"Right\",\"description\":\"d\",\"is_human\":false,"
    "\"execution_function\":{\"module\":\"m\",\"name\":\"parse\"},"
    "\"creation_depends_on\":[\"root\"]}]}";

static int exec_key_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    return orci_keys_ensure(db, "exec", ORCI_SCOPE_EXECUTOR, EXEC_KEY, SF_SECRET, SF_T0_US, err);
}

static void load(sf *f, const char *app, const char *workflow_json, const char *version_json)
{
    Orchestra__V1__WorkflowBundle b;
    Orchestra__V1__VersionFile vf;
    Orchestra__V1__VersionFile *vfs[1] = {&vf};
    orchestra__v1__workflow_bundle__init(&b);
    orchestra__v1__version_file__init(&vf);
    char code_dir[64];
    snprintf(code_dir, sizeof code_dir, "/apps/%s", app);
    b.app = (char *)app;
    b.code_directory = code_dir;
    b.workflow_json = (char *)workflow_json;
    vf.dir = "v1";
    vf.json = (char *)version_json;
    b.versions = vfs;
    b.n_versions = 1;
    orci_load_plan *p = NULL;
    orc_error err = {0};
    if (orci_loader_plan(&b, "v1", &p, &err) != ORC_OK)
        fail_msg("plan: %s", err.message);
    sf_load_job j = {p, f->tc.now_us};
    int rc = orci_store_write(f->srv.store, sf_load_fn, &j, &err);
    orci_load_plan_free(p);
    if (rc != ORC_OK)
        fail_msg("load: %s", err.message);
}

static int setup(void **state)
{
    sf_setup(state);
    sf *f = *state;
    orc_error err = {0};
    if (orci_store_write(f->srv.store, exec_key_fn, NULL, &err) != ORC_OK)
        fail_msg("exec key: %s", err.message);
    load(f, "chain", CHAIN_WORKFLOW, CHAIN_VERSION);
    load(f, "fan", FAN_WORKFLOW, FAN_VERSION);
    return 0;
}

static int teardown(void **state)
{
    return sf_teardown(state);
}

/* ---- projects ------------------------------------------------------------------------- */

typedef struct project_job {
    const char *workflow;
    int64_t now_us;
    int64_t id;
} project_job;

static int project_fn(orci_db *db, void *arg, orc_error *err)
{
    project_job *j = arg;
    orci_lc lc = {.db = db, .now_us = j->now_us};
    orci_project_params p = {.workflow_slug = j->workflow,
                             .version_slug = "v1",
                             .description = "machines",
                             .priority = 1,
                             .task_class = ORCI_TASK_CLASS_REAL,
                             .project_data = "{\"url\":\"http://example.org/\"}"};
    return orci_lc_create_project(&lc, &p, &j->id, err);
}

static int64_t project(sf *f, const char *workflow)
{
    project_job j = {workflow, f->tc.now_us, 0};
    orc_error err = {0};
    if (orci_store_write(f->srv.store, project_fn, &j, &err) != ORC_OK)
        fail_msg("project: %s", err.message);
    return j.id;
}

/* ---- executor calls ------------------------------------------------------------------- */

/* exec_envelope packs a request signed with the executor key. */
static uint8_t *exec_envelope(sf *f, const char *method, const ProtobufCMessage *body,
                              const char *rid, size_t *len)
{
    Orchestra__V1__Request r;
    Orchestra__V1__Auth a;
    orchestra__v1__request__init(&r);
    orchestra__v1__auth__init(&a);
    size_t body_len;
    uint8_t *b = sf_pack(body, &body_len);
    uint8_t mac[ORCI_SHA256_LEN];
    r.method = (char *)method;
    r.request_id = (char *)rid;
    r.body.data = b;
    r.body.len = body_len;
    a.key_id = EXEC_KEY;
    a.timestamp = f->tc.now_us / SF_SECOND;
    orci_sign_request(SF_SECRET, strlen(SF_SECRET), method, rid, a.timestamp, b, body_len, mac);
    a.signature.data = mac;
    a.signature.len = sizeof mac;
    r.auth = &a;
    uint8_t *req = sf_pack(&r.base, len);
    free(b);
    return req;
}

/*
 * exec_call dispatches method as the executor with request id rid (NULL: a fresh one), as
 * the first run of a request (final_poll false: a handler could park it). *raw (may be
 * NULL) gets the reply bytes (caller frees). Returns the unpacked Reply.
 */
static Orchestra__V1__Reply *exec_call(sf *f, const char *method, const ProtobufCMessage *body,
                                       const char *rid, uint8_t **raw, size_t *raw_len)
{
    char fresh[32];
    if (!rid) {
        snprintf(fresh, sizeof fresh, "exec-rid-%u", ++f->next_rid);
        rid = fresh;
    }
    size_t len;
    uint8_t *req = exec_envelope(f, method, body, rid, &len);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    orci_dispatch_info info;
    assert_int_equal(
        orci_dispatch_poll(&f->srv, f->rdb, req, len, false, &info, &reply, &reply_len), ORC_OK);
    free(req);
    /* A report never parks, whatever its next's wait_ms. */
    assert_false(info.parked);
    assert_non_null(reply);
    Orchestra__V1__Reply *out = orchestra__v1__reply__unpack(NULL, reply_len, reply);
    assert_non_null(out);
    if (raw) {
        *raw = reply;
        *raw_len = reply_len;
    } else {
        free(reply);
    }
    return out;
}

static const char *const FETCH_FNS[] = {"m.fetch"};
static const char *const ALL_FNS[] = {"m.fetch", "m.parse", "command"};

/* want fills a LeaseJobRequest for executor over functions (n names). */
static Orchestra__V1__LeaseJobRequest *want(Orchestra__V1__LeaseJobRequest *w, const char *executor,
                                            const char *const *functions, size_t n)
{
    orchestra__v1__lease_job_request__init(w);
    w->executor_id = (char *)executor;
    w->functions = (char **)functions;
    w->n_functions = n;
    w->lease_ms = 20000;
    return w;
}

/* lease_job leases a job with LeaseJob (no waiting); NULL when none (caller frees). */
static Orchestra__V1__Job *lease_job(sf *f, const char *executor, const char *const *functions,
                                     size_t n)
{
    Orchestra__V1__LeaseJobRequest w;
    Orchestra__V1__Reply *r =
        exec_call(f, "LeaseJob", &want(&w, executor, functions, n)->base, NULL, NULL, NULL);
    if ((int)r->status != ORC_OK)
        fail_msg("LeaseJob: %s", r->message);
    Orchestra__V1__LeaseJobReply *lr =
        orchestra__v1__lease_job_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(lr);
    orchestra__v1__reply__free_unpacked(r, NULL);
    Orchestra__V1__Job *j = lr->job;
    lr->job = NULL;
    orchestra__v1__lease_job_reply__free_unpacked(lr, NULL);
    return j;
}

/* complete_req fills a CompleteJobRequest for job with output and next (NULL: none). */
static Orchestra__V1__CompleteJobRequest *complete_req(Orchestra__V1__CompleteJobRequest *q,
                                                       const Orchestra__V1__Job *job,
                                                       const char *output,
                                                       Orchestra__V1__LeaseJobRequest *next)
{
    orchestra__v1__complete_job_request__init(q);
    q->job_id = job->job_id;
    q->lease_token = job->lease_token;
    q->output = (char *)output;
    q->next = next;
    return q;
}

/* next_of unpacks a CompleteJob reply (which must be OK) and returns its next job or NULL. */
static Orchestra__V1__Job *next_of(Orchestra__V1__Reply *r)
{
    if ((int)r->status != ORC_OK)
        fail_msg("CompleteJob: %s", r->message);
    Orchestra__V1__CompleteJobReply *c =
        orchestra__v1__complete_job_reply__unpack(NULL, r->body.len, r->body.data);
    assert_non_null(c);
    orchestra__v1__reply__free_unpacked(r, NULL);
    Orchestra__V1__Job *j = c->next;
    c->next = NULL;
    orchestra__v1__complete_job_reply__free_unpacked(c, NULL);
    return j;
}

static void job_free(Orchestra__V1__Job *j)
{
    if (j)
        orchestra__v1__job__free_unpacked(j, NULL);
}

/* ---- reading rows --------------------------------------------------------------------- */

static int64_t task_of(sf *f, int64_t project_id, const char *step)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb,
                                    "SELECT t.id FROM tasks t JOIN steps s ON s.id = t.step_id"
                                    " WHERE t.project_id = ?1 AND s.slug = ?2",
                                    &err);
    assert_non_null(st);
    orci_bind_int(st, 1, project_id);
    orci_bind_text(st, 2, step);
    int r = orci_db_row(f->rdb, st, &err);
    assert_true(r >= 0);
    int64_t id = r == 1 ? sqlite3_column_int64(st, 0) : -1;
    if (r == 1)
        sqlite3_reset(st);
    return id;
}

#define JOB_STATUS(f, task) sf_int(f, "SELECT status FROM jobs WHERE task_id = ?1", task, 0)
#define JOB_ATTEMPTS(f, task) sf_int(f, "SELECT attempts FROM jobs WHERE task_id = ?1", task, 0)
#define TASK_STATUS(f, task) sf_int(f, "SELECT status FROM tasks WHERE id = ?1", task, 0)
#define SIGNAL(f) sf_int(f, "SELECT seq FROM job_signal WHERE id = 1", 0, 0)
#define COUNT(f, table) sf_int(f, "SELECT count(*) FROM " table, 0, 0)

/* events_since lists the types of the events after seq, comma-separated (caller frees). */
static char *events_since(sf *f, int64_t seq)
{
    orc_error err = {0};
    sqlite3_stmt *st =
        orci_db_stmt(f->rdb,
                     "SELECT group_concat(type, ',') FROM (SELECT type FROM events WHERE seq > ?1"
                     " ORDER BY seq)",
                     &err);
    assert_non_null(st);
    orci_bind_int(st, 1, seq);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    char *out = strdup(orci_col_text(st, 0));
    sqlite3_reset(st);
    assert_non_null(out);
    return out;
}

/* payloads_since lists the payloads of the events after seq, '|'-separated (caller frees). */
static char *payloads_since(sf *f, int64_t seq)
{
    orc_error err = {0};
    sqlite3_stmt *st = orci_db_stmt(f->rdb,
                                    "SELECT group_concat(payload, '|') FROM (SELECT payload"
                                    " FROM events WHERE seq > ?1 ORDER BY seq)",
                                    &err);
    assert_non_null(st);
    orci_bind_int(st, 1, seq);
    assert_int_equal(orci_db_row(f->rdb, st, &err), 1);
    char *out = strdup(orci_col_text(st, 0));
    sqlite3_reset(st);
    assert_non_null(out);
    return out;
}

static int64_t last_seq(sf *f)
{
    return sf_int(f, "SELECT coalesce(max(seq), 0) FROM events", 0, 0);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_complete_with_next_hands_out_the_job_it_created(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "chain");
    Orchestra__V1__Job *fetch = lease_job(f, "exec-1", ALL_FNS, 3);
    assert_non_null(fetch);
    assert_int_equal(fetch->task_id, task_of(f, p, "fetch"));
    int64_t signal = SIGNAL(f);
    int64_t seq = last_seq(f);
    int64_t replies = COUNT(f, "rpc_replies");

    sf_advance(f, 1);
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    Orchestra__V1__Job *parse = next_of(exec_call(
        f, "CompleteJob",
        &complete_req(&q, fetch, "{\"page\":\"<html/>\"}", want(&w, "exec-1", ALL_FNS, 3))->base,
        NULL, NULL, NULL));

    /* The report is recorded... */
    int64_t fetch_task = task_of(f, p, "fetch");
    assert_int_equal(TASK_STATUS(f, fetch_task), ORCI_TASK_COMPLETE);
    assert_int_equal(JOB_STATUS(f, fetch_task), ORCI_JOB_COMPLETED);
    /* ...and the job it created is the one handed out, leased as LeaseJob leases. */
    assert_non_null(parse);
    int64_t parse_task = task_of(f, p, "parse");
    assert_int_equal(parse->task_id, parse_task);
    assert_int_equal(parse->project_id, p);
    assert_string_equal(parse->step, "parse");
    assert_string_equal(parse->function, "m.parse");
    assert_string_equal(parse->workflow, "chain");
    assert_int_equal(parse->attempt, 1);
    assert_int_equal(parse->lease_expires_at, f->tc.now_us + 20000 * 1000LL);
    assert_true(strlen(parse->lease_token) >= 40);
    assert_string_not_equal(parse->lease_token, fetch->lease_token);
    char expected[200];
    snprintf(expected, sizeof expected, "{\"url\":\"http://example.org/\",\"project_id\":%lld}",
             (long long)p);
    assert_string_equal(parse->project_data, expected);
    assert_string_equal(parse->prerequisites, "{\"fetch\":{\"page\":\"<html/>\"}}");
    assert_int_equal(TASK_STATUS(f, parse_task), ORCI_TASK_PROCESSING);
    assert_int_equal(JOB_STATUS(f, parse_task), ORCI_JOB_LEASED);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM jobs WHERE lease_owner = 'exec-1'", 0, 0), 2);
    /* One stored reply, and every event of both halves, in order. */
    assert_int_equal(COUNT(f, "rpc_replies"), replies + 1);
    char *types = events_since(f, seq);
    assert_string_equal(types, "job.completed,assignment.submitted,task.status_changed,"
                               "task.created,assignment.created,task.status_changed,job.leased");
    free(types);
    /* With the payloads the separate calls gave them. */
    char *payloads = payloads_since(f, seq);
    char want_payloads[512];
    snprintf(
        want_payloads, sizeof want_payloads,
        "{\"job_id\":%lld}|{\"assignment_id\":%lld,\"counter\":0}|{}|{}|"
        "{\"assignment_id\":%lld,\"counter\":0}|{}|"
        "{\"executor\":\"exec-1\",\"job_id\":%lld}",
        (long long)fetch->job_id,
        (long long)sf_int(f, "SELECT id FROM task_assignments WHERE task_id = ?1", fetch_task, 0),
        (long long)sf_int(f, "SELECT id FROM task_assignments WHERE task_id = ?1", parse_task, 0),
        (long long)parse->job_id);
    assert_string_equal(payloads, want_payloads);
    free(payloads);
    /* Nobody else could have taken that job: parked polls are not woken for it. */
    assert_int_equal(SIGNAL(f), signal);

    /* The last step: no job is due any more, so the reply has none. */
    sf_advance(f, 1);
    Orchestra__V1__Job *store = next_of(exec_call(
        f, "CompleteJob", &complete_req(&q, parse, "{}", want(&w, "exec-1", ALL_FNS, 3))->base,
        NULL, NULL, NULL));
    assert_non_null(store);
    assert_string_equal(store->function, "command");
    sf_advance(f, 1);
    Orchestra__V1__Job *none = next_of(exec_call(
        f, "CompleteJob", &complete_req(&q, store, "{}", want(&w, "exec-1", ALL_FNS, 3))->base,
        NULL, NULL, NULL));
    assert_null(none);
    assert_int_equal(sf_int(f, "SELECT status FROM projects WHERE id = ?1", p, 0),
                     ORCI_PROJECT_COMPLETED);
    job_free(fetch);
    job_free(parse);
    job_free(store);
}

static void test_complete_with_next_replayed_gets_the_same_job_and_changes_nothing(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "chain");
    Orchestra__V1__Job *fetch = lease_job(f, "exec-1", FETCH_FNS, 1);
    assert_non_null(fetch);
    const char *const fns[] = {"m.parse"};
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    complete_req(&q, fetch, "{\"page\":1}", want(&w, "exec-1", fns, 1));
    uint8_t *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    Orchestra__V1__Job *parse =
        next_of(exec_call(f, "CompleteJob", &q.base, "same-rid", &first, &first_len));
    assert_non_null(parse);
    int64_t seq = last_seq(f);
    int64_t signal = SIGNAL(f);
    int64_t parse_task = task_of(f, p, "parse");

    /* The REQ socket resends the same request (same id) a little later. */
    sf_advance(f, 2);
    Orchestra__V1__Job *again =
        next_of(exec_call(f, "CompleteJob", &q.base, "same-rid", &second, &second_len));
    assert_non_null(again);
    assert_int_equal(again->job_id, parse->job_id);
    assert_string_equal(again->lease_token, parse->lease_token);
    assert_int_equal(again->lease_expires_at, parse->lease_expires_at);
    assert_int_equal(second_len, first_len);
    assert_memory_equal(second, first, first_len);
    /* Nothing changed: no event, no second attempt, no other lease. */
    assert_int_equal(last_seq(f), seq);
    assert_int_equal(SIGNAL(f), signal);
    assert_int_equal(JOB_ATTEMPTS(f, parse_task), 1);
    assert_int_equal(JOB_STATUS(f, parse_task), ORCI_JOB_LEASED);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM tasks WHERE project_id = ?1", p, 0), 2);
    /* And the lease it got is the live one: its report counts. */
    sf_advance(f, 1);
    Orchestra__V1__Job *none = next_of(
        exec_call(f, "CompleteJob", &complete_req(&q, again, "{}", NULL)->base, NULL, NULL, NULL));
    assert_null(none);
    assert_int_equal(TASK_STATUS(f, parse_task), ORCI_TASK_COMPLETE);
    free(first);
    free(second);
    job_free(fetch);
    job_free(parse);
    job_free(again);
}

/* Test-only trigger: a lease to executor "doomed" fails inside the write job. */
static int doom_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    return orci_db_exec(db,
                        "CREATE TRIGGER doom BEFORE UPDATE OF lease_owner ON jobs"
                        " WHEN NEW.lease_owner = 'doomed'"
                        " BEGIN SELECT RAISE(ABORT, 'lease refused by the test'); END",
                        err);
}

static void test_report_and_next_commit_together_or_not_at_all(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "chain");
    Orchestra__V1__Job *fetch = lease_job(f, "exec-1", FETCH_FNS, 1);
    assert_non_null(fetch);
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, doom_fn, NULL, &err), ORC_OK);
    int64_t fetch_task = task_of(f, p, "fetch");
    int64_t seq = last_seq(f);

    /* The lease of the next job fails after the report was recorded: both are undone. */
    sf_advance(f, 1);
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    Orchestra__V1__Reply *r = exec_call(
        f, "CompleteJob", &complete_req(&q, fetch, "{}", want(&w, "doomed", ALL_FNS, 3))->base,
        NULL, NULL, NULL);
    sf_expect(r, ORC_FAILED_PRECONDITION, "lease refused by the test");
    assert_int_equal(TASK_STATUS(f, fetch_task), ORCI_TASK_PROCESSING);
    assert_int_equal(JOB_STATUS(f, fetch_task), ORCI_JOB_LEASED);
    assert_int_equal(task_of(f, p, "parse"), -1);
    assert_int_equal(last_seq(f), seq);

    /* The same report with a good next goes through, with its next job. */
    sf_advance(f, 1);
    Orchestra__V1__Job *parse = next_of(exec_call(
        f, "CompleteJob", &complete_req(&q, fetch, "{}", want(&w, "exec-1", ALL_FNS, 3))->base,
        NULL, NULL, NULL));
    assert_non_null(parse);
    assert_int_equal(TASK_STATUS(f, fetch_task), ORCI_TASK_COMPLETE);
    assert_int_equal(parse->task_id, task_of(f, p, "parse"));
    job_free(fetch);
    job_free(parse);
}

static void test_lost_lease_report_leases_nothing(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "chain");
    Orchestra__V1__Job *first = lease_job(f, "exec-1", FETCH_FNS, 1);
    assert_non_null(first);
    assert_int_equal(first->project_id, p);
    /* exec-1's lease runs out; exec-2 takes the job over. */
    f->tc.now_us = first->lease_expires_at;
    Orchestra__V1__Job *second = lease_job(f, "exec-2", FETCH_FNS, 1);
    assert_non_null(second);
    assert_int_equal(second->job_id, first->job_id);
    /* Another project's job is due when exec-1 reports. */
    int64_t other = project(f, "chain");
    int64_t other_fetch = task_of(f, other, "fetch");
    assert_int_equal(JOB_STATUS(f, other_fetch), ORCI_JOB_QUEUED);
    int64_t seq = last_seq(f);

    /* exec-1's late report is refused and gets no next job, although one is due. */
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    Orchestra__V1__Reply *r = exec_call(
        f, "CompleteJob", &complete_req(&q, first, "{}", want(&w, "exec-1", FETCH_FNS, 1))->base,
        NULL, NULL, NULL);
    assert_int_equal(r->status, ORC_FAILED_PRECONDITION);
    assert_string_equal(r->message, "lease lost");
    Orchestra__V1__CompleteJobReply *c =
        orchestra__v1__complete_job_reply__unpack(NULL, r->body.len, r->body.data);
    assert_true(c == NULL || c->next == NULL);
    if (c)
        orchestra__v1__complete_job_reply__free_unpacked(c, NULL);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_int_equal(JOB_STATUS(f, other_fetch), ORCI_JOB_QUEUED);
    assert_int_equal(last_seq(f), seq);
    assert_int_equal(sf_int(f, "SELECT count(*) FROM jobs WHERE lease_owner = 'exec-1'", 0, 0), 0);
    job_free(first);
    job_free(second);
}

static void test_fail_with_next(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "chain");
    int64_t other = project(f, "chain");
    Orchestra__V1__Job *job = lease_job(f, "exec-1", FETCH_FNS, 1);
    assert_non_null(job);
    assert_int_equal(job->project_id, p);

    /* A retryable failure: re-queued after the backoff (60 s with the test's jitter of 0.5);
     * the next due job is the other project's. */
    sf_advance(f, 1);
    Orchestra__V1__FailJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    orchestra__v1__fail_job_request__init(&q);
    q.job_id = job->job_id;
    q.lease_token = job->lease_token;
    q.error = "HTTP 503";
    q.retryable = true;
    q.next = want(&w, "exec-1", FETCH_FNS, 1);
    int64_t signal = SIGNAL(f);
    Orchestra__V1__Reply *r = exec_call(f, "FailJob", &q.base, NULL, NULL, NULL);
    assert_int_equal(r->status, ORC_OK);
    Orchestra__V1__FailJobReply *fr =
        orchestra__v1__fail_job_reply__unpack(NULL, r->body.len, r->body.data);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_non_null(fr);
    assert_true(fr->will_retry);
    assert_int_equal(fr->next_attempt_at, f->tc.now_us + 30 * SF_SECOND);
    assert_non_null(fr->next);
    assert_int_equal(fr->next->project_id, other);
    assert_int_equal(fr->next->task_id, task_of(f, other, "fetch"));
    assert_int_equal(JOB_STATUS(f, task_of(f, p, "fetch")), ORCI_JOB_QUEUED);
    assert_int_equal(JOB_STATUS(f, task_of(f, other, "fetch")), ORCI_JOB_LEASED);
    /* The re-queued job will fall due: parked polls must learn when. */
    assert_true(SIGNAL(f) > signal);
    Orchestra__V1__Job *second = fr->next;
    fr->next = NULL;
    orchestra__v1__fail_job_reply__free_unpacked(fr, NULL);

    /* A final failure with nothing else due: the job fails, no next job. */
    sf_advance(f, 1);
    orchestra__v1__fail_job_request__init(&q);
    q.job_id = second->job_id;
    q.lease_token = second->lease_token;
    q.error = "URL was not provided.";
    q.retryable = false;
    q.next = want(&w, "exec-1", FETCH_FNS, 1);
    r = exec_call(f, "FailJob", &q.base, NULL, NULL, NULL);
    assert_int_equal(r->status, ORC_OK);
    fr = orchestra__v1__fail_job_reply__unpack(NULL, r->body.len, r->body.data);
    orchestra__v1__reply__free_unpacked(r, NULL);
    assert_non_null(fr);
    assert_false(fr->will_retry);
    assert_null(fr->next);
    orchestra__v1__fail_job_reply__free_unpacked(fr, NULL);
    assert_int_equal(JOB_STATUS(f, task_of(f, other, "fetch")), ORCI_JOB_FAILED);

    /* The first job falls due again: a report of another job may hand it out. */
    Orchestra__V1__Job *third = lease_job(f, "exec-1", ALL_FNS, 3);
    assert_null(third);
    f->tc.now_us += 60 * SF_SECOND;
    third = lease_job(f, "exec-1", ALL_FNS, 3);
    assert_non_null(third);
    assert_int_equal(third->job_id, job->job_id);
    assert_int_equal(third->attempt, 2);
    job_free(job);
    job_free(second);
    job_free(third);
}

static void test_next_never_parks_and_keeps_to_its_functions(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "chain");
    Orchestra__V1__Job *fetch = lease_job(f, "exec-1", FETCH_FNS, 1);
    assert_non_null(fetch);
    int64_t signal = SIGNAL(f);

    /* The executor provides m.fetch and command only: parse is queued, not leased, and the
     * call answers at once however long next asked to wait. */
    const char *const fns[] = {"m.fetch", "command"};
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    want(&w, "exec-1", fns, 2);
    w.wait_ms = 30000;
    sf_advance(f, 1);
    Orchestra__V1__Job *none = next_of(
        exec_call(f, "CompleteJob", &complete_req(&q, fetch, "{}", &w)->base, NULL, NULL, NULL));
    assert_null(none);
    int64_t parse_task = task_of(f, p, "parse");
    assert_true(parse_task > 0);
    assert_int_equal(JOB_STATUS(f, parse_task), ORCI_JOB_QUEUED);
    assert_int_equal(TASK_STATUS(f, parse_task), ORCI_TASK_AWAITING_PROCESSING);
    /* The new job is there for others: the signal says so. */
    assert_true(SIGNAL(f) > signal);
    Orchestra__V1__Job *parse = lease_job(f, "exec-2", ALL_FNS, 3);
    assert_non_null(parse);
    assert_int_equal(parse->task_id, parse_task);

    /* A bad next refuses the whole call: the report is not recorded. */
    Orchestra__V1__LeaseJobRequest bad;
    want(&bad, "", fns, 2);
    sf_advance(f, 1);
    Orchestra__V1__Reply *r =
        exec_call(f, "CompleteJob", &complete_req(&q, parse, "{}", &bad)->base, NULL, NULL, NULL);
    sf_expect(r, ORC_INVALID_ARGUMENT, "executor_id");
    assert_int_equal(TASK_STATUS(f, parse_task), ORCI_TASK_PROCESSING);
    assert_int_equal(JOB_STATUS(f, parse_task), ORCI_JOB_LEASED);
    job_free(fetch);
    job_free(parse);
}

static void test_fan_out_keeps_the_signal_for_the_job_left_queued(void **state)
{
    sf *f = *state;
    int64_t p = project(f, "fan");
    Orchestra__V1__Job *root = lease_job(f, "exec-1", ALL_FNS, 3);
    assert_non_null(root);
    int64_t signal = SIGNAL(f);
    sf_advance(f, 1);
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    Orchestra__V1__Job *left = next_of(exec_call(
        f, "CompleteJob", &complete_req(&q, root, "{}", want(&w, "exec-1", ALL_FNS, 3))->base, NULL,
        NULL, NULL));
    assert_non_null(left);
    assert_string_equal(left->step, "left");
    /* Two jobs were created and one was taken: the other one is work for the others. */
    assert_true(SIGNAL(f) > signal);
    assert_int_equal(JOB_STATUS(f, task_of(f, p, "right")), ORCI_JOB_QUEUED);
    job_free(root);
    job_free(left);
}

static int count_signal_writes_fn(orci_db *db, void *arg, orc_error *err)
{
    (void)arg;
    return orci_db_exec(db,
                        "CREATE TABLE signal_writes (n INTEGER NOT NULL);"
                        " INSERT INTO signal_writes VALUES (0);"
                        " CREATE TRIGGER signal_written AFTER UPDATE ON job_signal"
                        " BEGIN UPDATE signal_writes SET n = n + 1; END;",
                        err);
}

/* A report that is handed the one job its completion created leaves job_signal alone: the
 * creation's bump is deferred to the end of the write job and taken back there, where it
 * used to be written and then undone (an UPDATE, its undo and a page of the step's commit).
 * The fan-out test above keeps the bump that other executors need. */
static void test_handed_over_step_never_writes_the_signal(void **state)
{
    sf *f = *state;
    orc_error err = {0};
    assert_int_equal(orci_store_write(f->srv.store, count_signal_writes_fn, NULL, &err), ORC_OK);
    int64_t p = project(f, "chain");
    Orchestra__V1__Job *fetch = lease_job(f, "exec-1", ALL_FNS, 3);
    assert_non_null(fetch);
    int64_t signal = SIGNAL(f);
    int64_t writes = sf_int(f, "SELECT n FROM signal_writes", 0, 0);
    sf_advance(f, 1);
    Orchestra__V1__CompleteJobRequest q;
    Orchestra__V1__LeaseJobRequest w;
    Orchestra__V1__Job *parse = next_of(exec_call(
        f, "CompleteJob",
        &complete_req(&q, fetch, "{\"page\":\"x\"}", want(&w, "exec-1", ALL_FNS, 3))->base, NULL,
        NULL, NULL));
    assert_non_null(parse);
    assert_int_equal(parse->task_id, task_of(f, p, "parse"));
    assert_int_equal(SIGNAL(f), signal);
    assert_int_equal(sf_int(f, "SELECT n FROM signal_writes", 0, 0), writes);
    /* Without a handed-over job the bump is written: the job waits for any executor. */
    sf_advance(f, 1);
    Orchestra__V1__Job *none = next_of(
        exec_call(f, "CompleteJob", &complete_req(&q, parse, "{}", NULL)->base, NULL, NULL, NULL));
    assert_null(none);
    assert_int_equal(SIGNAL(f), signal + 1);
    assert_int_equal(sf_int(f, "SELECT n FROM signal_writes", 0, 0), writes + 1);
    job_free(fetch);
    job_free(parse);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_complete_with_next_hands_out_the_job_it_created, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_complete_with_next_replayed_gets_the_same_job_and_changes_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_report_and_next_commit_together_or_not_at_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_lease_report_leases_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_with_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_never_parks_and_keeps_to_its_functions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fan_out_keeps_the_signal_for_the_job_left_queued,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_handed_over_step_never_writes_the_signal, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("job_next", tests, NULL, NULL);
}
