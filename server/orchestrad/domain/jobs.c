/*
 * jobs.c: the job and lease state machine (see jobs.h).
 *
 *   (created) --> queued --lease--> leased --complete--> completed
 *                   ^                 |  \--fail / expiry, attempts left--> queued (later)
 *                   |                 \----fail / expiry, none left--------> failed
 *                   \------------------------ retry (admin) <--------------- failed
 *   queued / leased / failed --end project--> cancelled
 *
 * The machine assignment follows: the first lease creates it (Processing), a failed job
 * marks it Failed, the lease after a retry reopens it, a completion submits it.
 */
#include "domain/jobs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "store/db.h"
#include "store/events.h"
#include "json.h"
#include "vec.h"
#include "store/dbutil.h"
#include "domain/graph.h"
#include "domain/views.h"
#include "domain/jobs_internal.h"

#define MSG_LEASE_LOST "lease lost"
#define MSG_NO_JOB "No job for given id"
#define JOBS_EXPIRE_BATCH 64
/* Unacknowledged lease expiries per job that give their attempt back (schema/0012). */
#define JOBS_FREE_EXPIRIES 3
/* Candidates skipped in one lease call (tasks no longer runnable) before giving up. */
#define JOBS_LEASE_TRIES 16
#define JOBS_ERROR_MAX 4096
#define JOBS_LIST_MAX 10000

const char *orci_job_kind_name(int kind)
{
    switch (kind) {
    case ORCI_JOB_KIND_STEP:
        return "step";
    case ORCI_JOB_KIND_POLICY:
        return "creation_policy";
    case ORCI_JOB_KIND_ABORT:
        return "abort_completion";
    case ORCI_JOB_KIND_SAMPLE:
        return "sample_data";
    default:
        return "";
    }
}

const char *orci_job_status_name(int status)
{
    switch (status) {
    case ORCI_JOB_QUEUED:
        return "queued";
    case ORCI_JOB_LEASED:
        return "leased";
    case ORCI_JOB_COMPLETED:
        return "completed";
    case ORCI_JOB_FAILED:
        return "failed";
    case ORCI_JOB_CANCELLED:
        return "cancelled";
    default:
        return "";
    }
}

void orci_job_fini(orci_job *job)
{
    if (job == NULL)
        return;
    if (job->lease_token != NULL)
        explicit_bzero(job->lease_token, strlen(job->lease_token));
    free(job->lease_token);
    free(job->workflow);
    free(job->step);
    free(job->function);
    free(job->execution_function);
    free(job->project_data);
    free(job->prerequisites);
    free(job->context);
    memset(job, 0, sizeof *job);
}

void orci_job_infos_free(orci_job_info *v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].step);
        free(v[i].function);
        free(v[i].last_error);
        free(v[i].executor_id);
    }
    free(v);
}

static const orci_rng *jobs_rng(const orci_lc *lc)
{
    return lc->rng != NULL ? lc->rng : &orci_rng_system;
}

static int jobs_db_err(const orc_error *err)
{
    return orci_db_code(err);
}

/* jobs_dup is strdup that reports a failure in err. */
static char *jobs_dup(const char *s, orc_error *err)
{
    char *out = strdup(s != NULL ? s : "");
    if (out == NULL)
        orc_error_set(err, ORC_INTERNAL, "out of memory");
    return out;
}

/* ---- the signal ---------------------------------------------------------------------- */

/* The bump is deferred to the end of the write job (orci_db_defer): a report that leases the
 * job its own completion created takes it back, and then writes nothing to job_signal. */
int orci_jobs_signal(orci_db *db, orc_error *err)
{
    return orci_db_defer(db, "UPDATE job_signal SET seq = seq + ?1 WHERE id = 1", err);
}

int orci_jobs_signal_seq(orci_db *db, int64_t *seq, orc_error *err)
{
    int code = orci_db_flush_deferred(db, err); /* a bump of this job counts */
    if (code != ORC_OK)
        return code;
    orci_stmt *st = orci_db_stmt(db, "SELECT seq FROM job_signal WHERE id = 1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    *seq = r == 1 ? orci_col_int(st, 0) : 0;
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

/* ---- rows ---------------------------------------------------------------------------- */

typedef struct job_row {
    int64_t id;
    int64_t task_id;
    int64_t project_id;
    int status;
    int attempts;
    int max_attempts;
    int64_t initial_delay_ms;
    int64_t max_delay_ms;
    int64_t next_attempt_at;
    int64_t lease_expires_at; /* 0 when NULL */
    bool has_output;
    bool has_token;
    uint8_t token_hash[ORCI_SHA256_LEN];
    int kind;
    int64_t step_id;    /* a creation policy's step; 0 otherwise */
    int64_t version_id; /* a sample-data load's version; 0 otherwise */
} job_row;

/* Columns NULL for some kinds (task_id, project_id, ...) read as 0. */
#define JOB_COLUMNS                                                                                \
    "id, task_id, project_id, status, attempts, max_attempts, initial_delay_ms, max_delay_ms,"     \
    " next_attempt_at, COALESCE(lease_expires_at, 0), output IS NOT NULL, lease_token_hash,"       \
    " kind, step_id, workflow_version_id"
#define JOB_NCOLUMNS 15

static void job_row_read(orci_stmt *st, job_row *j)
{
    memset(j, 0, sizeof *j);
    j->id = orci_col_int(st, 0);
    j->task_id = orci_col_int(st, 1);
    j->project_id = orci_col_int(st, 2);
    j->status = (int)orci_col_int(st, 3);
    j->attempts = (int)orci_col_int(st, 4);
    j->max_attempts = (int)orci_col_int(st, 5);
    j->initial_delay_ms = orci_col_int(st, 6);
    j->max_delay_ms = orci_col_int(st, 7);
    j->next_attempt_at = orci_col_int(st, 8);
    j->lease_expires_at = orci_col_int(st, 9);
    j->has_output = orci_col_int(st, 10) != 0;
    size_t hash_len = 0;
    const void *hash = orci_col_blob(st, 11, &hash_len);
    if (hash != NULL && hash_len == ORCI_SHA256_LEN) {
        memcpy(j->token_hash, hash, ORCI_SHA256_LEN);
        j->has_token = true;
    }
    j->kind = (int)orci_col_int(st, 12);
    j->step_id = orci_col_int(st, 13);
    j->version_id = orci_col_int(st, 14);
}

/* job_load reads a job by id (by_task false) or by task; *found false when none. */
static int job_load(orci_db *db, int64_t id, bool by_task, job_row *j, bool *found, orc_error *err)
{
    orci_stmt *st =
        by_task ? orci_db_stmt(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE task_id = ?1", err)
                : orci_db_stmt(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, id);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    *found = r == 1;
    if (r == 1) {
        job_row_read(st, j);
        orci_stmt_reset(st);
    }
    return ORC_OK;
}

static bool token_matches(const job_row *j, const char *token)
{
    if (!j->has_token || token == NULL || token[0] == '\0')
        return false;
    uint8_t h[ORCI_SHA256_LEN];
    orci_sha256(token, strlen(token), h);
    return orci_ct_equal(h, sizeof h, j->token_hash, sizeof j->token_hash);
}

/* task_status reads a task's status. */
static int task_status(orci_db *db, int64_t task_id, int *status, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, "SELECT status FROM tasks WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int code = orci_db_first_row(db, st, "No task for given id", err);
    if (code == ORC_OK) {
        *status = (int)orci_col_int(st, 0);
        orci_stmt_reset(st);
    }
    return code;
}

/* ---- creation ------------------------------------------------------------------------ */

char *orci_jobs_function_name(const char *spec)
{
    return orci_graph_function_name(spec);
}

void orci_jobs_package(const char *function, char *out, size_t out_size)
{
    const char *dot = strchr(function, '.');
    size_t n = dot != NULL ? (size_t)(dot - function) : 0;
    if (strcmp(function, "command") == 0 || n == 0 || n >= out_size)
        n = 0;
    memcpy(out, function, n);
    out[n] = '\0';
}

/* policy_int reads an integer key of the retry policy within [lo, hi], else dflt. */
static int64_t policy_int(json_t *policy, const char *key, int64_t dflt, int64_t lo, int64_t hi)
{
    json_t *v = json_object_get(policy, key);
    if (!json_is_integer(v))
        return dflt;
    json_int_t x = json_integer_value(v);
    return x < lo ? lo : x > hi ? hi : (int64_t)x;
}

int orci_jobs_create(orci_lc *lc, int64_t task_id, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT t.project_id, s.execution_function, s.retry_policy"
                                 " FROM tasks t JOIN steps s ON s.id = t.step_id"
                                 " WHERE t.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, task_id);
    int r = orci_db_row(lc->db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    if (r == 0)
        return orc_error_set(err, ORC_NOT_FOUND, "No task for given id");
    int64_t project_id = orci_col_int(st, 0);
    char *function = orci_jobs_function_name(orci_col_text(st, 1));
    char *policy = strdup(orci_col_text(st, 2));
    orci_stmt_reset(st);
    int code = function != NULL && policy != NULL
                   ? orci_jobs_create_known(lc, task_id, project_id, function, policy, err)
                   : orc_error_set(err, ORC_INTERNAL, "out of memory");
    free(function);
    free(policy);
    return code;
}

int orci_jobs_create_known(orci_lc *lc, int64_t task_id, int64_t project_id, const char *function,
                           const char *retry_policy, orc_error *err)
{
    json_t *policy = strcmp(retry_policy, "{}") == 0 ? NULL : json_loads(retry_policy, 0, NULL);
    char package[ORCI_JOB_MAX_NAME + 1];
    orci_jobs_package(function, package, sizeof package);
    /* The loader validated the policy; the clamps only keep a hand-edited row sane. */
    int64_t max_attempts =
        policy_int(policy, "max_attempts", ORCI_JOB_DEFAULT_MAX_ATTEMPTS, 1, 1000);
    int64_t initial =
        policy_int(policy, "initial_delay_ms", ORCI_JOB_DEFAULT_INITIAL_DELAY_MS, 0, 86400000);
    int64_t max_delay = policy_int(
        policy, "max_delay_ms",
        initial > ORCI_JOB_DEFAULT_MAX_DELAY_MS ? initial : ORCI_JOB_DEFAULT_MAX_DELAY_MS, initial,
        86400000);
    json_decref(policy);

    int code = ORC_INTERNAL;
    orci_stmt *st =
        orci_db_stmt(lc->db,
                     "INSERT INTO jobs (task_id, project_id, function, status, attempts,"
                     " max_attempts, initial_delay_ms, max_delay_ms, next_attempt_at,"
                     " created_at, updated_at, package)"
                     " VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6, ?7, ?7, ?7, ?8)",
                     err);
    if (st != NULL) {
        orci_bind_int(st, 1, task_id);
        orci_bind_int(st, 2, project_id);
        orci_bind_text(st, 3, function);
        orci_bind_int(st, 4, max_attempts);
        orci_bind_int(st, 5, initial);
        orci_bind_int(st, 6, max_delay);
        orci_bind_int(st, 7, lc->now_us);
        orci_bind_text(st, 8, package);
        code = orci_db_step(lc->db, st, err);
    }
    if (code != ORC_OK)
        return code;
    return orci_jobs_signal(lc->db, err);
}

/* ---- settling an attempt ------------------------------------------------------------- */

/* backoff_us is the delay before the retry of a job whose attempt number `attempt` failed. */
static int64_t backoff_us(const orci_lc *lc, const job_row *j, int attempt)
{
    int64_t delay = j->initial_delay_ms;
    for (int k = 1; k < attempt && delay < j->max_delay_ms; k++)
        delay *= 2;
    if (delay > j->max_delay_ms)
        delay = j->max_delay_ms;
    const orci_rng *rng = jobs_rng(lc);
    double u = rng->uniform(rng->arg);
    if (!(u >= 0.0) || u >= 1.0)
        u = 0.0;
    return (int64_t)((double)delay * 1000.0 * (0.5 + u / 2.0));
}

/* clip_error copies an error text cut to JOBS_ERROR_MAX bytes at a character boundary. */
static char *clip_error(const char *text, orc_error *err)
{
    char *out = jobs_dup(text, err);
    if (out != NULL && strlen(out) > JOBS_ERROR_MAX) {
        size_t n = JOBS_ERROR_MAX;
        while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--;
        out[n] = '\0';
    }
    return out;
}

/* job_ref is what an event or a hook needs to know of job j. */
static orci_jobi_ref job_ref(const job_row *j)
{
    return (orci_jobi_ref){.id = j->id,
                           .kind = j->kind,
                           .task_id = j->task_id,
                           .project_id = j->project_id,
                           .step_id = j->step_id,
                           .version_id = j->version_id};
}

/*
 * job_event appends a job event (type) about the job's task (a hook job: its project or
 * workflow, jobs_hooks.c) with the job's old and new status; payload (stolen, NULL: {}) gets
 * the job id.
 */
static int job_event(orci_lc *lc, const char *type, const orci_jobi_ref *r, int old, int status,
                     json_t *payload, orc_error *err)
{
    if (payload == NULL)
        payload = json_object();
    if (payload == NULL || json_object_set_new(payload, "job_id", json_integer(r->id)) != 0) {
        json_decref(payload);
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    }
    int code;
    if (r->kind == ORCI_JOB_KIND_STEP) {
        /* The task's context from the transition's memo (graph.h): its other events name it
         * too. */
        const orci_event_task *ctx = NULL;
        char *text = NULL;
        if ((code = orci_lc_task_ctx(lc, r->task_id, &ctx, err)) == ORC_OK) {
            if ((text = orci_json_dump(payload)) == NULL)
                code = orc_error_set(err, ORC_INTERNAL, "out of memory");
            else
                code = orci_events_task_event_known(lc->db, lc->now_us, type, ctx,
                                                    orci_job_status_name(old),
                                                    orci_job_status_name(status), text, err);
        }
        free(text);
    } else {
        code = orci_jobi_hook_event(lc, type, r, orci_job_status_name(old),
                                    orci_job_status_name(status), payload, err);
    }
    json_decref(payload);
    return code;
}

/*
 * settle_failure ends a failed attempt of a leased job: re-queued (due after the backoff,
 * or at once for an expired lease) while retryable and attempts remain, else failed with
 * its machine assignment Failed.
 */
static int settle_failure(orci_lc *lc, const orci_machine_ops *m, const job_row *j, bool retryable,
                          bool immediate, const char *error, bool *will_retry, int64_t *next_at,
                          orc_error *err)
{
    char *text = clip_error(error, err);
    if (text == NULL)
        return ORC_INTERNAL;
    int code = ORC_INTERNAL;
    bool retry = retryable && j->attempts < j->max_attempts;
    int64_t due = 0;
    orci_stmt *st;
    if (retry) {
        due = lc->now_us + (immediate ? 0 : backoff_us(lc, j, j->attempts));
        st = orci_db_stmt(
            lc->db,
            "UPDATE jobs SET status = 0, next_attempt_at = ?2, lease_expires_at = NULL,"
            " last_error = ?3, updated_at = ?4 WHERE id = ?1",
            err);
        if (st == NULL)
            goto out;
        orci_bind_int(st, 2, due);
    } else {
        st = orci_db_stmt(lc->db,
                          "UPDATE jobs SET status = 3, lease_expires_at = NULL, last_error = ?3,"
                          " updated_at = ?4 WHERE id = ?1",
                          err);
        if (st == NULL)
            goto out;
    }
    orci_bind_int(st, 1, j->id);
    orci_bind_text(st, 3, text);
    orci_bind_int(st, 4, lc->now_us);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
        goto out;
    orci_jobi_ref ref = job_ref(j);
    if ((code = job_event(lc, "job.failed", &ref, ORCI_JOB_LEASED,
                          retry ? ORCI_JOB_QUEUED : ORCI_JOB_FAILED,
                          json_pack("{s:s, s:b, s:i, s:I}", "error", text, "will_retry", retry,
                                    "attempts", j->attempts, "next_attempt_at", (json_int_t)due),
                          err)) != ORC_OK)
        goto out;
    if (retry) {
        code = orci_jobs_signal(lc->db, err);
    } else if (j->kind == ORCI_JOB_KIND_STEP) {
        /* The task shows it: its machine assignment is Failed, the task stays Processing. */
        int status = 0;
        if ((code = task_status(lc->db, j->task_id, &status, err)) == ORC_OK &&
            status == ORCI_TASK_PROCESSING)
            code = m->fail(lc, j->task_id, err);
    }
    if (code == ORC_OK) {
        if (will_retry != NULL)
            *will_retry = retry;
        if (next_at != NULL)
            *next_at = due;
    }
out:
    free(text);
    return code;
}

/*
 * refund_attempt gives back the attempt of an unacknowledged lease (orci_lease_params.unacked)
 * that expired before its executor showed it had received it (no heartbeat): the reply that
 * carried it may never have arrived, as when the executor stopped while its poll waited. Bounded
 * per job (JOBS_FREE_EXPIRIES), so that a job that kills its executor before the first heartbeat
 * still uses its attempts up. *refunded tells whether it did; j's attempts follow.
 */
static int refund_attempt(orci_lc *lc, job_row *j, bool *refunded, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "UPDATE jobs SET attempts = attempts - 1,"
                                 " free_expiries = free_expiries + 1"
                                 " WHERE id = ?1 AND lease_acked = 0 AND free_expiries < ?2"
                                 " AND attempts > 0 RETURNING attempts",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, j->id);
    orci_bind_int(st, 2, JOBS_FREE_EXPIRIES);
    int r = orci_db_row(lc->db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    *refunded = r == 1;
    if (r == 1) {
        j->attempts = (int)orci_col_int(st, 0);
        orci_stmt_reset(st);
    }
    return ORC_OK;
}

/* expire_batch settles up to limit expired leases; *count gets how many. */
static int expire_batch(orci_lc *lc, const orci_machine_ops *m, int limit, int *count,
                        orc_error *err)
{
    *count = 0;
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT " JOB_COLUMNS ", COALESCE(lease_owner, '') FROM jobs"
                                 " WHERE status = 1 AND lease_expires_at <= ?1"
                                 " ORDER BY lease_expires_at, id LIMIT ?2",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, lc->now_us);
    orci_bind_int(st, 2, limit);
    job_row rows[JOBS_EXPIRE_BATCH];
    char owners[JOBS_EXPIRE_BATCH][ORCI_JOB_MAX_NAME + 1];
    int n = 0;
    for (;;) {
        int r = orci_db_row(lc->db, st, err);
        if (r < 0)
            return jobs_db_err(err);
        if (r == 0)
            break;
        if (n < JOBS_EXPIRE_BATCH) {
            job_row_read(st, &rows[n]);
            snprintf(owners[n], sizeof owners[n], "%s", orci_col_text(st, JOB_NCOLUMNS));
            n++;
        }
    }
    for (int i = 0; i < n; i++) {
        bool refunded = false;
        int code = refund_attempt(lc, &rows[i], &refunded, err);
        if (code != ORC_OK)
            return code;
        char why[ORCI_JOB_MAX_NAME + 128];
        snprintf(why, sizeof why, "lease expired (executor %.200s)%s", owners[i],
                 refunded ? " before the executor acknowledged it: not counted as an attempt" : "");
        code = settle_failure(lc, m, &rows[i], true, true, why, NULL, NULL, err);
        if (code != ORC_OK)
            return code;
    }
    *count = n;
    return ORC_OK;
}

int orci_jobs_expire(orci_lc *lc, const orci_machine_ops *m, int64_t *settled, orc_error *err)
{
    int64_t total = 0;
    for (;;) {
        int n = 0;
        int code = expire_batch(lc, m, JOBS_EXPIRE_BATCH, &n, err);
        if (code != ORC_OK)
            return code;
        total += n;
        if (n < JOBS_EXPIRE_BATCH)
            break;
    }
    if (settled != NULL)
        *settled = total;
    return ORC_OK;
}

/* ---- leasing ------------------------------------------------------------------------- */

int orci_lease_params_check(const orci_lease_params *p, orc_error *err)
{
    if (p->executor_id == NULL || p->executor_id[0] == '\0' ||
        strlen(p->executor_id) > ORCI_JOB_MAX_NAME)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "executor_id is required (at most %d bytes)", ORCI_JOB_MAX_NAME);
    if (p->n_functions > ORCI_JOB_MAX_FUNCTIONS || p->n_packages > ORCI_JOB_MAX_PACKAGES ||
        p->n_functions + p->n_packages == 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "functions must list 1 to %d functions (or python_packages 1 to %d "
                             "packages)",
                             ORCI_JOB_MAX_FUNCTIONS, ORCI_JOB_MAX_PACKAGES);
    /* A ':' is what sets hook jobs' names apart (jobs.h): no exact name may have one. */
    for (size_t i = 0; i < p->n_functions; i++)
        if (p->functions[i] == NULL || p->functions[i][0] == '\0' ||
            strlen(p->functions[i]) > ORCI_JOB_MAX_NAME || strchr(p->functions[i], ':') != NULL)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "function names must be 1 to %d bytes, without ':'",
                                 ORCI_JOB_MAX_NAME);
    for (size_t i = 0; i < p->n_packages; i++)
        if (p->packages[i] == NULL || p->packages[i][0] == '\0' ||
            strlen(p->packages[i]) > ORCI_JOB_MAX_NAME || strpbrk(p->packages[i], ".:") != NULL)
            return orc_error_set(err, ORC_INVALID_ARGUMENT,
                                 "python_packages must be top-level package names of 1 to %d "
                                 "bytes, without '.' or ':'",
                                 ORCI_JOB_MAX_NAME);
    if (p->lease_ms < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "lease_ms must not be negative");
    return ORC_OK;
}

/* functions_json renders the list as a JSON array, bound to json_each in the queries. */
static char *functions_json(const char *const *functions, size_t n, orc_error *err)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, json_string(functions[i] != NULL ? functions[i] : "")) != 0) {
            json_decref(a);
            a = NULL;
        }
    char *out = a != NULL ? orci_json_dump(a) : NULL;
    json_decref(a);
    if (out == NULL)
        orc_error_set(err, ORC_INTERNAL, "out of memory");
    return out;
}

static int64_t lease_length_us(int64_t lease_ms)
{
    if (lease_ms == 0)
        lease_ms = ORCI_JOB_DEFAULT_LEASE_MS;
    if (lease_ms < ORCI_JOB_MIN_LEASE_MS)
        lease_ms = ORCI_JOB_MIN_LEASE_MS;
    if (lease_ms > ORCI_JOB_MAX_LEASE_MS)
        lease_ms = ORCI_JOB_MAX_LEASE_MS;
    return lease_ms * 1000;
}

/*
 * earliest reads the earliest time a job of these functions (fjson) or packages (pjson, NULL
 * when none) is or becomes available: a queued job of an Active project (an ended one's
 * abort hook, a sample-data load) falling due, or a lease expiring. *any false when none.
 */
static int earliest(orci_db *db, const char *fjson, const char *pjson, int64_t *at, bool *any,
                    orc_error *err)
{
    orci_stmt *st =
        pjson == NULL
            ? orci_db_stmt(db,
                           "SELECT min(t) FROM (SELECT min(j.next_attempt_at) AS t FROM jobs j"
                           " JOIN projects p ON p.id = j.project_id WHERE j.status = 0 AND"
                           " p.status = 0 AND j.function IN (SELECT value FROM json_each(?1))"
                           " UNION ALL SELECT min(lease_expires_at) FROM jobs WHERE status = 1"
                           " AND function IN (SELECT value FROM json_each(?1)))",
                           err)
            : orci_db_stmt(db,
                           "SELECT min(t) FROM (SELECT min(j.next_attempt_at) AS t FROM jobs j"
                           " LEFT JOIN projects p ON p.id = j.project_id WHERE j.status = 0 AND"
                           " (p.status = 0 OR j.kind >= 2) AND (j.function IN (SELECT value"
                           " FROM json_each(?1)) OR j.package IN (SELECT value FROM"
                           " json_each(?2))) UNION ALL SELECT min(lease_expires_at) FROM jobs"
                           " WHERE status = 1 AND (function IN (SELECT value FROM json_each(?1))"
                           " OR package IN (SELECT value FROM json_each(?2))))",
                           err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_text(st, 1, fjson);
    if (pjson != NULL)
        orci_bind_text(st, 2, pjson);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    *any = r == 1 && !orci_col_is_null(st, 0);
    *at = *any ? orci_col_int(st, 0) : 0;
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

/* lease_lists renders p's functions and packages for json_each (*pjson NULL when p has no
 * packages: the queries without them are the ones used before there were any). */
static int lease_lists(const orci_lease_params *p, char **fjson, char **pjson, orc_error *err)
{
    *pjson = NULL;
    if ((*fjson = functions_json(p->functions, p->n_functions, err)) == NULL)
        return ORC_INTERNAL;
    if (p->n_packages > 0 && (*pjson = functions_json(p->packages, p->n_packages, err)) == NULL) {
        free(*fjson);
        *fjson = NULL;
        return ORC_INTERNAL;
    }
    return ORC_OK;
}

int orci_jobs_available(orci_db *db, int64_t now_us, const orci_lease_params *p, bool *available,
                        int64_t *next_due_us, orc_error *err)
{
    *available = false;
    if (next_due_us != NULL)
        *next_due_us = 0;
    char *fjson = NULL, *pjson = NULL;
    int code = lease_lists(p, &fjson, &pjson, err);
    if (code != ORC_OK)
        return code;
    int64_t at = 0;
    bool any = false;
    code = earliest(db, fjson, pjson, &at, &any, err);
    free(fjson);
    free(pjson);
    if (code != ORC_OK || !any)
        return code;
    *available = at <= now_us;
    if (!*available && next_due_us != NULL)
        *next_due_us = at;
    return ORC_OK;
}

/*
 * with_project_id is the project's data with "project_id" added, as HEAD passes it (spec 3.5
 * step 3): malloc'd, NULL when out of memory. The column holds the data as orci_json_dump
 * wrote it (projects are created with it normalized), so when the text has no "project_id"
 * anywhere the key is spliced in before the closing brace: the very text that parsing,
 * adding the key and dumping again would give, without doing that for every job leased.
 * Anything else takes the long way.
 */
static char *with_project_id(const char *text, int64_t project_id)
{
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '{' && text[n - 1] == '}' && strstr(text, "\"project_id\"") == NULL) {
        char tail[48];
        int tn = snprintf(tail, sizeof tail, "%s\"project_id\":%lld}", n == 2 ? "" : ",",
                          (long long)project_id);
        char *out = malloc(n - 1 + (size_t)tn + 1);
        if (out != NULL) {
            memcpy(out, text, n - 1);
            memcpy(out + n - 1, tail, (size_t)tn + 1);
        }
        return out;
    }
    json_t *data = json_loads(text, 0, NULL);
    if (!json_is_object(data)) {
        json_decref(data);
        data = json_object();
    }
    char *out = NULL;
    if (data != NULL && json_object_set_new(data, "project_id", json_integer(project_id)) == 0)
        out = orci_json_dump(data);
    json_decref(data);
    return out;
}

/*
 * job_describe fills what the executor needs to run a leased job. The workflow's and step's
 * slugs and the execution function come from the version's cached graph (graph.h), the
 * prerequisites from the graph and one query of the project's tasks.
 */
static int job_describe(orci_lc *lc, int64_t job_id, orci_job *job, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "SELECT j.function, p.project_data, j.attempts, j.project_id,"
                                 " j.task_id, j.lease_expires_at, t.step_id, s.workflow_version_id"
                                 " FROM jobs j JOIN tasks t ON t.id = j.task_id"
                                 " JOIN steps s ON s.id = t.step_id"
                                 " JOIN projects p ON p.id = j.project_id WHERE j.id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    int r = orci_db_row(lc->db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    if (r == 0)
        return orc_error_set(err, ORC_INTERNAL, "job %lld vanished", (long long)job_id);
    job->job_id = job_id;
    job->function = jobs_dup(orci_col_text(st, 0), err);
    job->attempt = (int)orci_col_int(st, 2);
    job->project_id = orci_col_int(st, 3);
    job->task_id = orci_col_int(st, 4);
    job->lease_expires_at = orci_col_int(st, 5);
    job->project_data = with_project_id(orci_col_text(st, 1), job->project_id);
    job->kind = ORCI_JOB_KIND_STEP;
    int64_t step_id = orci_col_int(st, 6);
    int64_t version_id = orci_col_int(st, 7);
    orci_stmt_reset(st);
    if (job->function == NULL || job->project_data == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    orci_graph *g = NULL;
    int code = orci_graph_get(lc->db, version_id, &g, err);
    if (code != ORC_OK)
        return code;
    size_t k = orci_graph_index(g, step_id);
    if (k == SIZE_MAX) {
        code = orc_error_set(err, ORC_INTERNAL, "job %lld: its step is not in its version",
                             (long long)job_id);
    } else {
        job->workflow = jobs_dup(g->workflow_slug, err);
        job->step = jobs_dup(g->v[k].slug, err);
        job->execution_function = jobs_dup(g->v[k].execution_function, err);
        if (job->workflow == NULL || job->step == NULL || job->execution_function == NULL)
            code = ORC_INTERNAL;
    }
    orci_graph_release(g);
    if (code != ORC_OK)
        return code;
    return orci_view_prerequisites_in(lc->db, job->project_id, version_id, step_id,
                                      &job->prerequisites, err);
}

/* job_cancel_unrunnable cancels a queued job whose task can no longer run. */
static int job_cancel_unrunnable(orci_lc *lc, int64_t job_id, int task_status_now, orc_error *err)
{
    char why[96];
    snprintf(why, sizeof why, "task is %s", orci_task_status_label(task_status_now));
    orci_stmt *st = orci_db_stmt(
        lc->db, "UPDATE jobs SET status = 4, last_error = ?2, updated_at = ?3 WHERE id = ?1", err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    orci_bind_text(st, 2, why);
    orci_bind_int(st, 3, lc->now_us);
    return orci_db_step(lc->db, st, err);
}

/*
 * lease_token_set draws a lease token into token (its size token_size) and leases job_id with
 * it: leased, one more attempt, the token's hash, the owner and the lease's end.
 */
static int lease_token_set(orci_lc *lc, const orci_lease_params *p, int64_t job_id, char *token,
                           size_t token_size, orc_error *err)
{
    if (orci_random_token(32, token, token_size) != 0)
        return orc_error_set(err, ORC_UNAVAILABLE, "no randomness for a lease token");
    uint8_t hash[ORCI_SHA256_LEN];
    orci_sha256(token, strlen(token), hash);
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "UPDATE jobs SET status = 1, attempts = attempts + 1,"
                                 " lease_acked = ?6, lease_token_hash = ?2, lease_owner = ?3,"
                                 " lease_expires_at = ?4, output = NULL, updated_at = ?5"
                                 " WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    orci_bind_blob(st, 2, hash, sizeof hash);
    orci_bind_text(st, 3, p->executor_id);
    orci_bind_int(st, 4, lc->now_us + lease_length_us(p->lease_ms));
    orci_bind_int(st, 5, lc->now_us);
    orci_bind_int(st, 6, p->unacked ? 0 : 1);
    return orci_db_step(lc->db, st, err);
}

/*
 * lease_candidate reads the oldest due queued job matching the lists into *r (*any false when
 * none). Without packages it is the query there always was, which only ever finds machine
 * steps (hook jobs' names have a ':', which no exact name may have).
 */
static int lease_candidate(orci_lc *lc, const char *fjson, const char *pjson, orci_jobi_ref *r,
                           bool *any, orc_error *err)
{
    orci_stmt *st =
        pjson == NULL
            ? orci_db_stmt(lc->db,
                           "SELECT j.id, j.task_id FROM jobs j JOIN projects p ON p.id = "
                           "j.project_id"
                           " WHERE j.status = 0 AND j.next_attempt_at <= ?1 AND p.status = 0"
                           " AND j.function IN (SELECT value FROM json_each(?2))"
                           " ORDER BY j.next_attempt_at, j.id LIMIT 1",
                           err)
            : orci_db_stmt(lc->db,
                           "SELECT j.id, j.task_id, j.kind, j.project_id, j.step_id,"
                           " j.workflow_version_id FROM jobs j LEFT JOIN projects p"
                           " ON p.id = j.project_id WHERE j.status = 0 AND j.next_attempt_at <= ?1"
                           " AND (p.status = 0 OR j.kind >= 2)"
                           " AND (j.function IN (SELECT value FROM json_each(?2))"
                           " OR j.package IN (SELECT value FROM json_each(?3)))"
                           " ORDER BY j.next_attempt_at, j.id LIMIT 1",
                           err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, lc->now_us);
    orci_bind_text(st, 2, fjson);
    if (pjson != NULL)
        orci_bind_text(st, 3, pjson);
    int row = orci_db_row(lc->db, st, err);
    if (row < 0)
        return jobs_db_err(err);
    *any = row == 1;
    memset(r, 0, sizeof *r);
    if (row == 1) {
        r->id = orci_col_int(st, 0);
        r->task_id = orci_col_int(st, 1);
        if (pjson != NULL) {
            r->kind = (int)orci_col_int(st, 2);
            r->project_id = orci_col_int(st, 3);
            r->step_id = orci_col_int(st, 4);
            r->version_id = orci_col_int(st, 5);
        }
        orci_stmt_reset(st);
    }
    return ORC_OK;
}

/*
 * lease_take leases candidate r to p's executor into *job: a machine step's task is started
 * first (*taken false, the job cancelled, when the task can no longer run).
 */
static int lease_take(orci_lc *lc, const orci_machine_ops *m, const orci_lease_params *p,
                      const orci_jobi_ref *r, orci_job *job, bool *taken, orc_error *err)
{
    *taken = false;
    int code;
    if (r->kind == ORCI_JOB_KIND_STEP) {
        bool startable = false;
        if ((code = m->start(lc, r->task_id, &startable, err)) != ORC_OK)
            return code;
        if (!startable) {
            /* Completed by an admin (complete and skip) or aborted: nothing to run. */
            int status = 0;
            if ((code = task_status(lc->db, r->task_id, &status, err)) != ORC_OK)
                return code;
            return job_cancel_unrunnable(lc, r->id, status, err);
        }
    }
    char token[ORCI_JOB_TOKEN_SIZE];
    if ((code = lease_token_set(lc, p, r->id, token, sizeof token, err)) != ORC_OK)
        goto out;
    if ((code =
             job_event(lc, "job.leased", r, ORCI_JOB_QUEUED, ORCI_JOB_LEASED,
                       json_pack("{s:s}", "executor", p->executor_id != NULL ? p->executor_id : ""),
                       err)) != ORC_OK)
        goto out;
    code = r->kind == ORCI_JOB_KIND_STEP ? job_describe(lc, r->id, job, err)
                                         : orci_jobi_describe_hook(lc, r, job, err);
    if (code != ORC_OK)
        goto out;
    if ((job->lease_token = jobs_dup(token, err)) == NULL) {
        code = ORC_INTERNAL;
        goto out;
    }
    *taken = true;
out:
    explicit_bzero(token, sizeof token);
    return code;
}

int orci_jobs_lease(orci_lc *lc, const orci_machine_ops *m, const orci_lease_params *p,
                    orci_job *job, bool *found, int64_t *next_due_us, orc_error *err)
{
    memset(job, 0, sizeof *job);
    *found = false;
    if (next_due_us != NULL)
        *next_due_us = 0;
    int code = orci_lease_params_check(p, err);
    if (code != ORC_OK)
        return code;
    int expired = 0;
    if ((code = expire_batch(lc, m, JOBS_EXPIRE_BATCH, &expired, err)) != ORC_OK)
        return code;
    char *fjson = NULL, *pjson = NULL;
    if ((code = lease_lists(p, &fjson, &pjson, err)) != ORC_OK)
        return code;
    for (int attempt = 0; attempt < JOBS_LEASE_TRIES && !*found; attempt++) {
        orci_jobi_ref r;
        bool any = false;
        if ((code = lease_candidate(lc, fjson, pjson, &r, &any, err)) != ORC_OK)
            goto out;
        if (!any)
            break;
        if ((code = lease_take(lc, m, p, &r, job, found, err)) != ORC_OK)
            goto out;
    }
    if (!*found && next_due_us != NULL) {
        int64_t at = 0;
        bool any = false;
        if ((code = earliest(lc->db, fjson, pjson, &at, &any, err)) != ORC_OK)
            goto out;
        if (any && at > lc->now_us)
            *next_due_us = at;
        else if (any)
            *next_due_us = lc->now_us; /* more due than one call looks at */
    }
out:
    free(fjson);
    free(pjson);
    if (code != ORC_OK)
        orci_job_fini(job);
    return code;
}

/* ---- the next job, leased with a report ---------------------------------------------- */

/* read_one reads a single integer from fixed SQL (0 for NULL or no row). */
static int read_one(orci_db *db, const char *sql, int64_t *out, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (st == NULL)
        return ORC_INTERNAL;
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return jobs_db_err(err);
    *out = r == 1 ? orci_col_int(st, 0) : 0;
    if (r == 1)
        orci_stmt_reset(st);
    return ORC_OK;
}

int orci_jobs_mark_take(orci_lc *lc, orci_jobs_mark *mark, orc_error *err)
{
    int code = orci_jobs_signal_seq(lc->db, &mark->signal, err);
    if (code != ORC_OK)
        return code;
    mark->deferred = orci_db_deferred(lc->db, &mark->runs);
    /* "WHERE id > 0" (every id is) makes it a seek on the rowid: with the statistics PRAGMA
     * optimize leaves, SQLite 3.40 answered a bare max(id) by scanning the covering index
     * on task_id, every job ever made (12 ms at 100,000 jobs). */
    return read_one(lc->db, "SELECT coalesce(max(id), 0) FROM jobs WHERE id > 0", &mark->max_job_id,
                    err);
}

int orci_jobs_lease_next(orci_lc *lc, const orci_machine_ops *m, const orci_jobs_mark *mark,
                         const orci_lease_params *p, orci_job *job, bool *found, orc_error *err)
{
    int code = orci_jobs_lease(lc, m, p, job, found, NULL, err);
    if (code != ORC_OK || !*found || job->job_id <= mark->max_job_id)
        return code;
    /* The leased job was created by the report. If it is the only one created and its
     * creation is the only bump of the signal since the mark, no work became available. */
    int64_t signal = 0, created = 0;
    /* Bounded on both sides so that SQLite walks the rowid range of the jobs made since the
     * mark: a bare "id > ?1" count scanned the whole covering index on task_id (as max(id)
     * above did), so a step cost more as the history grew. */
    orci_stmt *st =
        orci_db_stmt(lc->db, "SELECT count(*) FROM jobs WHERE id > ?1 AND id <= ?2", err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, mark->max_job_id);
    orci_bind_int(st, 2, INT64_MAX);
    bool any = false;
    if ((code = orci_db_one_id(lc->db, st, &created, &any, err)) != ORC_OK)
        goto fail;
    if (created != 1)
        return ORC_OK;
    int64_t runs = 0;
    int deferred = orci_db_deferred(lc->db, &runs);
    if (runs == mark->runs) { /* every bump since the mark is still deferred */
        if (deferred == mark->deferred + 1)
            orci_db_undefer(lc->db); /* the creation's: never written */
        return ORC_OK;
    }
    if ((code = orci_jobs_signal_seq(lc->db, &signal, err)) != ORC_OK)
        goto fail;
    if (signal != mark->signal + 1)
        return ORC_OK;
    st = orci_db_stmt(lc->db, "UPDATE job_signal SET seq = ?1 WHERE id = 1", err);
    if (st == NULL)
        goto fail;
    orci_bind_int(st, 1, mark->signal);
    if ((code = orci_db_step(lc->db, st, err)) == ORC_OK)
        return ORC_OK;
fail:
    orci_job_fini(job);
    *found = false;
    return code != ORC_OK ? code : ORC_INTERNAL;
}

/* ---- reports ------------------------------------------------------------------------- */

/* lease_current: the job is leased and its lease has not expired at now. */
static bool lease_current(const orci_lc *lc, const job_row *j)
{
    return j->status == ORCI_JOB_LEASED && j->lease_expires_at > lc->now_us;
}

/* load_for_report loads a job for a report: unknown id NOT_FOUND, wrong token lease lost. */
static int load_for_report(orci_lc *lc, int64_t job_id, const char *token, job_row *j,
                           orc_error *err)
{
    bool found = false;
    int code = job_load(lc->db, job_id, false, j, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_NOT_FOUND, MSG_NO_JOB);
    if (!token_matches(j, token))
        return orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_LEASE_LOST);
    return ORC_OK;
}

int orci_jobs_heartbeat(orci_lc *lc, int64_t job_id, const char *token, int64_t lease_ms,
                        int64_t *expires_at, bool *cancelled, orc_error *err)
{
    *expires_at = 0;
    *cancelled = false;
    if (lease_ms < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "lease_ms must not be negative");
    job_row j;
    int code = load_for_report(lc, job_id, token, &j, err);
    if (code != ORC_OK)
        return code;
    if (j.status == ORCI_JOB_CANCELLED) {
        *cancelled = true;
        *expires_at = j.lease_expires_at;
        return ORC_OK;
    }
    if (!lease_current(lc, &j))
        return orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_LEASE_LOST);
    int64_t until = lc->now_us + lease_length_us(lease_ms);
    if (until < j.lease_expires_at)
        until = j.lease_expires_at; /* never shortens a lease */
    orci_stmt *st = orci_db_stmt(
        lc->db,
        "UPDATE jobs SET lease_expires_at = ?2, lease_acked = 1, updated_at = ?3 WHERE id = ?1",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    orci_bind_int(st, 2, until);
    orci_bind_int(st, 3, lc->now_us);
    if ((code = orci_db_step(lc->db, st, err)) != ORC_OK)
        return code;
    *expires_at = until;
    return ORC_OK;
}

/* record_output stores the output on the job and ends its lease with status. */
static int record_output(orci_lc *lc, int64_t job_id, int status, const char *output,
                         orc_error *err)
{
    orci_stmt *st =
        orci_db_stmt(lc->db,
                     "UPDATE jobs SET status = ?2, output = ?3, lease_expires_at = NULL,"
                     " updated_at = ?4 WHERE id = ?1",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, job_id);
    orci_bind_int(st, 2, status);
    orci_bind_text(st, 3, output);
    orci_bind_int(st, 4, lc->now_us);
    return orci_db_step(lc->db, st, err);
}

int orci_jobs_complete(orci_lc *lc, const orci_machine_ops *m, int64_t job_id, const char *token,
                       const char *output, orc_error *err)
{
    const char *text = output != NULL && output[0] != '\0' ? output : "{}";
    json_t *v = orci_json_parse_object(text, strlen(text), "output", err);
    if (v == NULL)
        return ORC_INVALID_ARGUMENT;
    char *data = orci_json_dump(v);
    json_decref(v);
    if (data == NULL)
        return orc_error_set(err, ORC_INTERNAL, "out of memory");
    job_row j;
    int code = load_for_report(lc, job_id, token, &j, err);
    if (code != ORC_OK)
        goto out;
    orci_jobi_ref ref = job_ref(&j);
    switch (j.status) {
    case ORCI_JOB_COMPLETED:
        /* The same lease reported twice: the first report counted. */
        code = ORC_OK;
        goto out;
    case ORCI_JOB_CANCELLED:
        /* Ended while it ran: the output is kept once, the task stays Aborted (spec 3.5). */
        if (j.has_output || j.lease_expires_at <= lc->now_us) {
            code = ORC_OK;
            goto out;
        }
        if ((code = record_output(lc, job_id, ORCI_JOB_CANCELLED, data, err)) != ORC_OK ||
            (code = job_event(lc, "job.completed", &ref, ORCI_JOB_CANCELLED, ORCI_JOB_CANCELLED,
                              NULL, err)) != ORC_OK)
            goto out;
        /* A hook's answer for an ended project changes nothing any more. */
        if (j.kind == ORCI_JOB_KIND_STEP)
            code = m->complete(lc, j.task_id, data, err);
        goto out;
    case ORCI_JOB_LEASED:
        if (!lease_current(lc, &j)) {
            code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_LEASE_LOST);
            goto out;
        }
        break;
    default:
        code = orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_LEASE_LOST);
        goto out;
    }
    if (j.kind != ORCI_JOB_KIND_STEP) {
        orci_hook_answer a = {.kind = j.kind,
                              .job_id = j.id,
                              .project_id = j.project_id,
                              .step_id = j.step_id,
                              .version_id = j.version_id,
                              .output = data};
        if ((code = record_output(lc, job_id, ORCI_JOB_COMPLETED, data, err)) == ORC_OK &&
            (code = job_event(lc, "job.completed", &ref, ORCI_JOB_LEASED, ORCI_JOB_COMPLETED, NULL,
                              err)) == ORC_OK)
            code = m->answer(lc, &a, err);
        goto out;
    }
    int status = 0;
    if ((code = task_status(lc->db, j.task_id, &status, err)) != ORC_OK)
        goto out;
    if (status != ORCI_TASK_PROCESSING) {
        /* Completed by an admin meanwhile: this run no longer counts. */
        if ((code = job_cancel_unrunnable(lc, job_id, status, err)) == ORC_OK)
            code = orc_error_set(err, ORC_FAILED_PRECONDITION, "Task assignment already completed");
        goto out;
    }
    if ((code = record_output(lc, job_id, ORCI_JOB_COMPLETED, data, err)) != ORC_OK ||
        (code = job_event(lc, "job.completed", &ref, ORCI_JOB_LEASED, ORCI_JOB_COMPLETED, NULL,
                          err)) != ORC_OK)
        goto out;
    code = m->complete(lc, j.task_id, data, err);
out:
    free(data);
    return code;
}

int orci_jobs_fail(orci_lc *lc, const orci_machine_ops *m, int64_t job_id, const char *token,
                   const char *error, bool retryable, bool *will_retry, int64_t *next_attempt_at,
                   orc_error *err)
{
    *will_retry = false;
    *next_attempt_at = 0;
    job_row j;
    int code = load_for_report(lc, job_id, token, &j, err);
    if (code != ORC_OK)
        return code;
    switch (j.status) {
    case ORCI_JOB_LEASED:
        if (!lease_current(lc, &j))
            return orc_error_set(err, ORC_FAILED_PRECONDITION, MSG_LEASE_LOST);
        return settle_failure(lc, m, &j, retryable, false,
                              error != NULL && error[0] != '\0' ? error : "failed", will_retry,
                              next_attempt_at, err);
    case ORCI_JOB_QUEUED:
        /* This lease's failure was already counted (a repeated report). */
        *will_retry = true;
        *next_attempt_at = j.next_attempt_at;
        return ORC_OK;
    case ORCI_JOB_FAILED:
    case ORCI_JOB_CANCELLED:
        return ORC_OK;
    default:
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "job already completed");
    }
}

/* job_requeue makes job j queued again, due now with no attempt made; reason goes in the
 * job.retried event. */
static int job_requeue(orci_lc *lc, const job_row *j, const char *reason, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(lc->db,
                                 "UPDATE jobs SET status = 0, attempts = 0, next_attempt_at = ?2,"
                                 " lease_token_hash = NULL, lease_expires_at = NULL, output = NULL,"
                                 " updated_at = ?2 WHERE id = ?1",
                                 err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, j->id);
    orci_bind_int(st, 2, lc->now_us);
    int code = orci_db_step(lc->db, st, err);
    orci_jobi_ref ref = job_ref(j);
    if (code == ORC_OK)
        code = job_event(lc, "job.retried", &ref, j->status, ORCI_JOB_QUEUED,
                         json_pack("{s:s}", "reason", reason), err);
    if (code != ORC_OK)
        return code;
    return orci_jobs_signal(lc->db, err);
}

int orci_jobs_requeue(orci_lc *lc, int64_t task_id, orc_error *err)
{
    job_row j;
    bool found = false;
    int code = job_load(lc->db, task_id, true, &j, &found, err);
    if (code != ORC_OK || !found || j.status == ORCI_JOB_QUEUED || j.status == ORCI_JOB_LEASED)
        return code;
    return job_requeue(lc, &j, "revert", err);
}

int orci_jobs_retry(orci_lc *lc, int64_t task_id, orc_error *err)
{
    job_row j;
    bool found = false;
    int code = job_load(lc->db, task_id, true, &j, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_NOT_FOUND, "No job for this task");
    if (j.status != ORCI_JOB_FAILED)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Job is %s, not failed",
                             orci_job_status_name(j.status));
    return job_requeue(lc, &j, "retry", err);
}

int orci_jobs_retry_job(orci_lc *lc, int64_t job_id, orc_error *err)
{
    job_row j;
    bool found = false;
    int code = job_load(lc->db, job_id, false, &j, &found, err);
    if (code != ORC_OK)
        return code;
    if (!found)
        return orc_error_set(err, ORC_NOT_FOUND, MSG_NO_JOB);
    if (j.status != ORCI_JOB_FAILED)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "Job is %s, not failed",
                             orci_job_status_name(j.status));
    return job_requeue(lc, &j, "retry", err);
}

int orci_jobs_cancel_project(orci_lc *lc, int64_t project_id, orc_error *err)
{
    /* A running job keeps its lease end so that its executor can still report once. The
     * project's abort hook (kind 2) runs because it was ended: it is never cancelled. The
     * project's machine steps' jobs (kind 0) are found through their tasks, its creation
     * policies' (kind 1) through jobs_policy (no index on jobs.project_id: migration 0019). */
    orci_stmt *st =
        orci_db_stmt(lc->db,
                     "UPDATE jobs SET status = 4, updated_at = ?2,"
                     " lease_expires_at = CASE WHEN status = 1 THEN lease_expires_at ELSE NULL END"
                     " WHERE status IN (0, 1, 3) AND (task_id IN (SELECT id FROM tasks"
                     " WHERE project_id = ?1) OR (kind = 1 AND project_id = ?1))",
                     err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    orci_bind_int(st, 2, lc->now_us);
    return orci_db_step(lc->db, st, err);
}

/* ---- listing ------------------------------------------------------------------------- */

int orci_jobs_list(orci_db *db, int64_t project_id, orci_job_info **out, size_t *n, orc_error *err)
{
    *out = NULL;
    *n = 0;
    orci_stmt *st = orci_db_stmt(
        db,
        "SELECT j.id, COALESCE(j.project_id, 0), COALESCE(j.task_id, 0), COALESCE(s.slug, ''),"
        " j.function, j.status, j.attempts, j.max_attempts, j.last_error, j.next_attempt_at,"
        " COALESCE(j.lease_owner, ''), j.kind FROM jobs j LEFT JOIN tasks t ON t.id = j.task_id"
        " LEFT JOIN steps s ON s.id = COALESCE(t.step_id, j.step_id)"
        " WHERE ?1 = 0 OR j.project_id = ?1 ORDER BY j.id LIMIT ?2",
        err);
    if (st == NULL)
        return ORC_INTERNAL;
    orci_bind_int(st, 1, project_id);
    orci_bind_int(st, 2, JOBS_LIST_MAX);
    orci_job_info *v = NULL;
    size_t cap = 0, count = 0;
    int code = ORC_OK;
    for (;;) {
        int r = orci_db_row(db, st, err);
        if (r < 0) {
            code = jobs_db_err(err);
            break;
        }
        if (r == 0)
            break;
        if (!orci_grow(&v, &cap, count + 1, sizeof *v)) {
            orci_stmt_reset(st);
            code = orc_error_set(err, ORC_INTERNAL, "out of memory");
            break;
        }
        orci_job_info *e = &v[count++];
        memset(e, 0, sizeof *e);
        e->job_id = orci_col_int(st, 0);
        e->project_id = orci_col_int(st, 1);
        e->task_id = orci_col_int(st, 2);
        e->step = strdup(orci_col_text(st, 3));
        e->function = strdup(orci_col_text(st, 4));
        e->status = (int)orci_col_int(st, 5);
        e->attempts = (int)orci_col_int(st, 6);
        e->max_attempts = (int)orci_col_int(st, 7);
        e->last_error = strdup(orci_col_text(st, 8));
        e->next_attempt_at = orci_col_int(st, 9);
        e->executor_id = strdup(orci_col_text(st, 10));
        e->kind = (int)orci_col_int(st, 11);
        if (!e->step || !e->function || !e->last_error || !e->executor_id) {
            orci_stmt_reset(st);
            code = orc_error_set(err, ORC_INTERNAL, "out of memory");
            break;
        }
    }
    if (code != ORC_OK) {
        orci_job_infos_free(v, count);
        return code;
    }
    *out = v;
    *n = count;
    return ORC_OK;
}
