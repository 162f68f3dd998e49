/*
 * executor.c: worker threads that lease, run and report jobs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "executor.h"
#include "job.h"
#include "jobs.h"
#include "log.h"

/* How often a running job's tick looks at the stop flag. */
#define EXECUTOR_TICK_MS 250
/* Back-off after a failed LeaseJob, doubling up to the maximum. */
#define EXECUTOR_BACKOFF_MIN_MS 500
#define EXECUTOR_BACKOFF_MAX_MS 5000

typedef struct executor {
    const orci_executor_opts *opts;
    atomic_bool *stop;
    orc_client *client;
    const char **functions;
    size_t n_functions;
    int wait_ms, lease_ms, grace_ms;
    atomic_int busy; /* workers running a job */
} executor;

/* job_watch is the state of one running job, seen by its tick. */
typedef struct job_watch {
    executor *ex;
    const Orchestra__V1__Job *job;
    int64_t next_heartbeat;
    int64_t stop_deadline; /* 0 until stop is seen */
    bool cancelled;
    bool lease_lost;
    bool shutting_down;
} job_watch;

/* executor_sleep sleeps ms unless stop is set first. */
static void executor_sleep(executor *ex, int ms)
{
    while (ms > 0 && !atomic_load(ex->stop)) {
        int step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* job_tick runs on the worker thread while the child runs: heartbeats and the stop flag. */
static bool job_tick(void *arg)
{
    job_watch *w = arg;
    executor *ex = w->ex;
    int64_t now = orci_monotonic_ms();
    if (atomic_load(ex->stop)) {
        if (w->stop_deadline == 0)
            w->stop_deadline = now + ex->grace_ms;
        else if (now >= w->stop_deadline) {
            w->shutting_down = true;
            return false;
        }
    }
    if (now < w->next_heartbeat)
        return true;
    w->next_heartbeat = now + ex->lease_ms / 3;
    bool cancelled = false;
    orc_error e = {0};
    int rc = orci_jobs_heartbeat(ex->client, w->job, ex->lease_ms, &cancelled, &e);
    if (rc == ORC_OK && cancelled) {
        w->cancelled = true;
        return false;
    }
    if (rc == ORC_UNAVAILABLE || rc == ORC_DEADLINE_EXCEEDED || rc == ORC_OK)
        return true; /* the lease may outlive a short outage; keep working */
    orci_warn("job %lld: heartbeat refused (%s: %s); abandoning it", (long long)w->job->job_id,
              orc_code_name(rc), e.message);
    w->lease_lost = true;
    return false;
}

static void executor_report(executor *ex, const Orchestra__V1__Job *job, const job_watch *w,
                            orci_job_outcome *out, int64_t elapsed_ms)
{
    orc_error e = {0};
    int rc;
    if (out->ok) {
        rc = orci_jobs_complete(ex->client, job, out->output, NULL, NULL, &e);
        if (rc == ORC_OK)
            orci_info("job %lld (%s, project %lld, attempt %d) completed in %lld ms",
                      (long long)job->job_id, job->function, (long long)job->project_id,
                      job->attempt, (long long)elapsed_ms);
        else
            orci_warn("job %lld: CompleteJob refused (%s: %s)", (long long)job->job_id,
                      orc_code_name(rc), e.message);
        return;
    }
    if (w->cancelled) {
        orci_info("job %lld: its project was ended; stopped", (long long)job->job_id);
        return;
    }
    if (w->lease_lost)
        return;
    const char *error = out->error;
    bool retryable = out->retryable;
    if (w->shutting_down) {
        error = "executor shutting down";
        retryable = true;
    }
    bool will_retry = false;
    rc = orci_jobs_fail(ex->client, job, error, retryable, &will_retry, NULL, NULL, &e);
    if (rc == ORC_OK)
        orci_warn("job %lld (%s, project %lld, attempt %d) failed: %s%s", (long long)job->job_id,
                  job->function, (long long)job->project_id, job->attempt, error,
                  will_retry ? " (will retry)" : "");
    else
        orci_warn("job %lld: FailJob refused (%s: %s)", (long long)job->job_id, orc_code_name(rc),
                  e.message);
}

static void executor_run_job(executor *ex, const Orchestra__V1__Job *job)
{
    const orci_executor_opts *o = ex->opts;
    job_watch w = {.ex = ex, .job = job, .next_heartbeat = orci_monotonic_ms() + ex->lease_ms / 3};
    orci_job_spec spec = {.function = job->function,
                          .execution_function = job->execution_function,
                          .project_data = job->project_data,
                          .prerequisites = job->prerequisites,
                          .plugins = o->plugins,
                          .allow_commands = o->allow_commands,
                          .self_exe = o->self_exe,
                          .storage_root = o->storage_root,
                          .log_level = o->log_level,
                          .timeout_ms = o->job_timeout_ms,
                          .tick_ms = EXECUTOR_TICK_MS,
                          .tick = job_tick,
                          .tick_arg = &w};
    orci_job_outcome out;
    orci_info("job %lld: running %s for project %lld (step %s, attempt %d)", (long long)job->job_id,
              job->function, (long long)job->project_id, job->step, job->attempt);
    int64_t start = orci_monotonic_ms();
    orci_job_run(&spec, &out);
    executor_report(ex, job, &w, &out, orci_monotonic_ms() - start);
    orci_job_outcome_fini(&out);
}

static void *executor_worker(void *arg)
{
    executor *ex = arg;
    int backoff = EXECUTOR_BACKOFF_MIN_MS;
    int last_rc = ORC_OK;
    while (!atomic_load(ex->stop)) {
        Orchestra__V1__Job *job = NULL;
        orc_error e = {0};
        int rc = orci_jobs_lease(ex->client, ex->opts->executor_id, ex->functions, ex->n_functions,
                                 ex->wait_ms, ex->lease_ms, &job, &e);
        if (rc != ORC_OK) {
            if (atomic_load(ex->stop))
                break; /* orc_client_close ended the poll */
            if (rc != last_rc)
                orci_warn("LeaseJob failed (%s: %s); retrying", orc_code_name(rc), e.message);
            last_rc = rc;
            executor_sleep(ex, backoff);
            backoff = backoff * 2 > EXECUTOR_BACKOFF_MAX_MS ? EXECUTOR_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        if (last_rc != ORC_OK)
            orci_info("LeaseJob works again");
        last_rc = ORC_OK;
        backoff = EXECUTOR_BACKOFF_MIN_MS;
        if (!job)
            continue;
        /* busy goes up before stop is read, and the main thread sets stop before it reads
         * busy: either it waits for this job or this worker sees stop and hands the job
         * back while the client is still open. */
        atomic_fetch_add(&ex->busy, 1);
        if (atomic_load(ex->stop)) {
            orci_jobs_fail(ex->client, job, "executor shutting down", true, NULL, NULL, NULL, &e);
            atomic_fetch_sub(&ex->busy, 1);
            orci_jobs_free(job);
            break;
        }
        executor_run_job(ex, job);
        atomic_fetch_sub(&ex->busy, 1);
        orci_jobs_free(job);
    }
    return NULL;
}

/* executor_connect makes the shared client, retrying until it works or stop is set. */
static int executor_connect(executor *ex, orc_error *err)
{
    orc_client_opts co = ex->opts->client;
    co.timeout_ms = ex->wait_ms + 10000; /* the REQ resend time follows: above the poll */
    int backoff = EXECUTOR_BACKOFF_MIN_MS;
    bool warned = false;
    while (!atomic_load(ex->stop)) {
        orc_error e = {0};
        int rc = orc_client_new(&co, &ex->client, &e);
        if (rc == ORC_OK)
            return ORC_OK;
        if (rc != ORC_UNAVAILABLE)
            return orc_error_set(err, (orc_code)rc, "%s", e.message);
        if (!warned)
            orci_warn("cannot reach orchestrad yet (%s); retrying", e.message);
        warned = true;
        executor_sleep(ex, backoff);
        backoff = backoff * 2 > EXECUTOR_BACKOFF_MAX_MS ? EXECUTOR_BACKOFF_MAX_MS : backoff * 2;
    }
    return orc_error_set(err, ORC_CANCELLED, "stopped before connecting");
}

/* executor_free releases ex and what it owns; NULL is allowed. */
static void executor_free(executor *ex)
{
    if (!ex)
        return;
    orc_client_destroy(ex->client);
    free(ex->functions);
    free(ex);
}

int orci_executor_run(const orci_executor_opts *opts, atomic_bool *stop, orc_error *err)
{
    pthread_t *threads = NULL;
    int started = 0, rc = ORC_OK;
    executor *ex = calloc(1, sizeof *ex);
    if (!ex)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    ex->opts = opts;
    ex->stop = stop;
    ex->wait_ms = opts->wait_ms ? opts->wait_ms : ORCI_EXECUTOR_WAIT_MS;
    ex->lease_ms = opts->lease_ms ? opts->lease_ms : ORCI_EXECUTOR_LEASE_MS;
    ex->grace_ms = opts->grace_ms ? opts->grace_ms : ORCI_EXECUTOR_GRACE_MS;
    size_t n = orci_plugin_set_count(opts->plugins);
    ex->functions = calloc(n + 1, sizeof *ex->functions);
    threads = calloc((size_t)(opts->concurrency > 0 ? opts->concurrency : 1), sizeof *threads);
    if (!ex->functions || !threads) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ex->functions[ex->n_functions++] = orci_plugin_set_function_name(opts->plugins, i);
    if (opts->allow_commands)
        ex->functions[ex->n_functions++] = "command";
    if (ex->n_functions == 0) {
        rc = orc_error_set(err, ORC_FAILED_PRECONDITION,
                           "no functions to serve: no plugin loaded and no --allow-commands");
        goto out;
    }
    if ((rc = executor_connect(ex, err)) != ORC_OK) {
        if (rc == ORC_CANCELLED)
            rc = ORC_OK;
        goto out;
    }
    orci_info("serving %zu functions with %d workers as %s", ex->n_functions, opts->concurrency,
              opts->executor_id);
    for (; started < opts->concurrency; started++) {
        if (pthread_create(&threads[started], NULL, executor_worker, ex) != 0) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot start worker threads");
            atomic_store(stop, true);
            break;
        }
    }
    /* Wait for stop, then for the running jobs (bounded by the grace period; they still
     * need the client to report), then close the client: the polls parked in LeaseJob
     * return at once and every worker leaves. */
    while (!atomic_load(stop))
        executor_sleep(ex, 1000);
    while (atomic_load(&ex->busy) > 0) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    orc_client_close(ex->client);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);

out:
    executor_free(ex);
    free(threads);
    return rc;
}
