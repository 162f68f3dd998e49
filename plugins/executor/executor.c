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
#include "orchestra/jobs.h"
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
    orc_job_offer want;        /* what a report asks for: the next job of these functions */
    const char **plugin_paths; /* for the plugin hosts */
    int wait_ms, lease_ms, grace_ms;
    atomic_int busy; /* workers holding a job */
} executor;

/* worker is one worker thread and its plugin host and Python runner (so a job always finds
 * them idle). */
typedef struct worker {
    executor *ex;
    orci_host *host;
    orci_pyrunner *runner; /* NULL without Python */
} worker;

/* job_watch is the state of one running job, seen by its tick. */
typedef struct job_watch {
    executor *ex;
    const orc_job *job;
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
    int rc = orc_job_heartbeat(ex->client, w->job, ex->lease_ms, &cancelled, &e);
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

/*
 * executor_want is what a report asks for: the next job, unless the executor is stopping
 * (a job leased now would only be failed back).
 */
static const orc_job_offer *executor_want(const executor *ex)
{
    return atomic_load(ex->stop) ? NULL : &ex->want;
}

/* executor_report reports the outcome; *next gets the job the coordinator handed over with
 * its reply (NULL: none). */
static void executor_report(executor *ex, const orc_job *job, const job_watch *w,
                            orci_job_outcome *out, int64_t elapsed_ms, orc_job **next)
{
    orc_error e = {0};
    int rc;
    *next = NULL;
    if (out->ok) {
        rc = orc_job_complete(ex->client, job, out->output, executor_want(ex), next, &e);
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
    rc = orc_job_fail(ex->client, job, error, retryable, &will_retry, executor_want(ex), next, &e);
    if (rc == ORC_OK)
        orci_warn("job %lld (%s, project %lld, attempt %d) failed: %s%s", (long long)job->job_id,
                  job->function, (long long)job->project_id, job->attempt, error,
                  will_retry ? " (will retry)" : "");
    else
        orci_warn("job %lld: FailJob refused (%s: %s)", (long long)job->job_id, orc_code_name(rc),
                  e.message);
}

/* executor_run_job runs one job on the worker's host and reports it; *next as in
 * executor_report. */
static void executor_run_job(worker *wk, const orc_job *job, orc_job **next)
{
    executor *ex = wk->ex;
    const orci_executor_opts *o = ex->opts;
    job_watch w = {.ex = ex, .job = job, .next_heartbeat = orci_monotonic_ms() + ex->lease_ms / 3};
    orci_job_spec spec = {.function = job->function,
                          .execution_function = job->execution_function,
                          .project_data = job->project_data,
                          .prerequisites = job->prerequisites,
                          .plugins = o->plugins,
                          .allow_commands = o->allow_commands,
                          .host = wk->host,
                          .timeout_ms = o->job_timeout_ms,
                          .tick_ms = EXECUTOR_TICK_MS,
                          .tick = job_tick,
                          .tick_arg = &w,
                          .kind = job->kind,
                          .context = job->context,
                          .python = o->python,
                          .runner = wk->runner};
    orci_job_outcome out = {0};
    int64_t start = orci_monotonic_ms();
    if (job->ack_required) {
        /* A lease from a poll that waited: acknowledge it before running it (proto Job). A
         * project ended or a lease lost meanwhile is reported as the tick's would be. */
        w.next_heartbeat = 0;
        if (!job_tick(&w)) {
            snprintf(out.error, sizeof out.error, "executor shutting down");
            out.stopped = true;
            executor_report(ex, job, &w, &out, 0, next);
            return;
        }
    }
    orci_info("job %lld: running %s for project %lld (step %s, attempt %d)", (long long)job->job_id,
              job->function, (long long)job->project_id, job->step, job->attempt);
    orci_job_run(&spec, &out);
    executor_report(ex, job, &w, &out, orci_monotonic_ms() - start, next);
    orci_job_outcome_fini(&out);
}

/*
 * executor_serve runs job (owned) and then every job a report hands over, without a
 * LeaseJob in between, until a report brings none. The caller counted the worker busy
 * before it read the stop flag; it stays busy while it holds any job, so the main thread
 * keeps the client open until a job that arrives after stop has been failed back.
 */
static void executor_serve(worker *wk, orc_job *job)
{
    executor *ex = wk->ex;
    while (job) {
        orc_job *next = NULL;
        if (atomic_load(ex->stop)) {
            orc_error e = {0};
            orc_job_fail(ex->client, job, "executor shutting down", true, NULL, NULL, NULL, &e);
            orc_job_free(job);
            break;
        }
        executor_run_job(wk, job, &next);
        if (next)
            orci_debug("job %lld: handed over with the report of job %lld", (long long)next->job_id,
                       (long long)job->job_id);
        orc_job_free(job);
        job = next;
    }
    atomic_fetch_sub(&ex->busy, 1);
}

static void *executor_worker(void *arg)
{
    worker *wk = arg;
    executor *ex = wk->ex;
    int backoff = EXECUTOR_BACKOFF_MIN_MS;
    int last_rc = ORC_OK;
    while (!atomic_load(ex->stop)) {
        orc_job *job = NULL;
        orc_error e = {0};
        int rc = orc_job_lease(ex->client, &ex->want, ex->wait_ms, &job, &e);
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
        executor_serve(wk, job);
    }
    /* The host dies with the thread that started it (PDEATHSIG): stop it cleanly first. */
    orci_host_destroy(wk->host);
    wk->host = NULL;
    orci_pyrunner_destroy(wk->runner);
    wk->runner = NULL;
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
    free(ex->plugin_paths);
    free(ex);
}

/* executor_new fills an executor from opts: the functions to lease, what reports ask for, the
 * plugins for the hosts. */
static int executor_new(const orci_executor_opts *opts, atomic_bool *stop, executor **out,
                        orc_error *err)
{
    executor *ex = calloc(1, sizeof *ex);
    *out = ex;
    if (!ex)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    ex->opts = opts;
    ex->stop = stop;
    ex->wait_ms = opts->wait_ms ? opts->wait_ms : ORCI_EXECUTOR_WAIT_MS;
    ex->lease_ms = opts->lease_ms ? opts->lease_ms : ORCI_EXECUTOR_LEASE_MS;
    ex->grace_ms = opts->grace_ms ? opts->grace_ms : ORCI_EXECUTOR_GRACE_MS;
    size_t n = orci_plugin_set_count(opts->plugins);
    size_t np = orci_plugin_set_plugins(opts->plugins);
    ex->functions = calloc(n + 1, sizeof *ex->functions);
    ex->plugin_paths = calloc(np + 1, sizeof *ex->plugin_paths);
    if (!ex->functions || !ex->plugin_paths)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++)
        ex->functions[ex->n_functions++] = orci_plugin_set_function_name(opts->plugins, i);
    if (opts->allow_commands)
        ex->functions[ex->n_functions++] = "command";
    for (size_t i = 0; i < np; i++)
        ex->plugin_paths[i] = orci_plugin_set_plugin_path(opts->plugins, i);
    const orci_python *py = opts->python;
    if (ex->n_functions == 0 && (!py || py->n_packages == 0))
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "no functions to serve: no plugin loaded, no --allow-commands and "
                             "no Python package");
    ex->want = (orc_job_offer){.size = sizeof ex->want, /* it sets the Python packages */
                               .executor_id = opts->executor_id,
                               .functions = ex->functions,
                               .n_functions = ex->n_functions,
                               .lease_ms = ex->lease_ms,
                               .python_packages = py ? (const char *const *)py->packages : NULL,
                               .n_python_packages = py ? py->n_packages : 0};
    return ORC_OK;
}

/* executor_workers_new gives each of n workers its plugin host (started at its first job). */
static int executor_workers_new(executor *ex, worker *workers, int n, orc_error *err)
{
    const orci_executor_opts *o = ex->opts;
    orci_host_opts ho = {.self_exe = o->self_exe,
                         .plugin_paths = ex->plugin_paths,
                         .n_plugins = orci_plugin_set_plugins(o->plugins),
                         .storage_root = o->storage_root,
                         .log_level = o->log_level,
                         .memory_mb = o->job_memory_mb};
    const orci_python *py = o->python;
    orci_pyrunner_opts po = {.interpreter = py ? py->interpreter : NULL,
                             .script = py ? py->script : NULL,
                             .paths = py ? (const char *const *)py->paths : NULL,
                             .n_paths = py ? py->n_paths : 0,
                             .memory_mb = o->job_memory_mb};
    for (int i = 0; i < n; i++) {
        workers[i].ex = ex;
        int rc = orci_host_new(&ho, &workers[i].host, err);
        if (rc == ORC_OK && py)
            rc = orci_pyrunner_new(&po, &workers[i].runner, err);
        if (rc != ORC_OK)
            return rc;
    }
    return ORC_OK;
}

int orci_executor_run(const orci_executor_opts *opts, atomic_bool *stop, orc_error *err)
{
    int n = opts->concurrency > 0 ? opts->concurrency : 1;
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    worker *workers = calloc((size_t)n, sizeof *workers);
    executor *ex = NULL;
    int started = 0, rc;
    if (!threads || !workers) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    if ((rc = executor_new(opts, stop, &ex, err)) != ORC_OK ||
        (rc = executor_workers_new(ex, workers, n, err)) != ORC_OK)
        goto out;
    if ((rc = executor_connect(ex, err)) != ORC_OK) {
        if (rc == ORC_CANCELLED)
            rc = ORC_OK;
        goto out;
    }
    orci_info("serving %zu functions and %zu Python packages with %d workers as %s",
              ex->n_functions, ex->want.n_python_packages, n, opts->executor_id);
    for (; started < n; started++) {
        if (pthread_create(&threads[started], NULL, executor_worker, &workers[started]) != 0) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "cannot start worker threads");
            atomic_store(stop, true);
            break;
        }
    }
    /* Wait for stop, then for the running jobs (bounded by the grace period; they still
     * need the client to report), then close the client: the polls parked in LeaseJob
     * return at once and every worker leaves, stopping its plugin host. */
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
    for (int i = 0; workers && i < n; i++) {
        orci_host_destroy(workers[i].host); /* never started: no process */
        orci_pyrunner_destroy(workers[i].runner);
    }
    executor_free(ex);
    free(workers);
    free(threads);
    return rc;
}
