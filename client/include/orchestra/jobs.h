/*
 * orchestra/jobs.h: the job protocol, for programs that run machine steps (executors).
 *
 * A machine task of a project becomes a job. An executor offers the functions it can run
 * and leases a due job (orc_job_lease, a long poll), runs it, renews the lease while it runs
 * (orc_job_heartbeat) and reports the result (orc_job_complete or orc_job_fail). A report may
 * ask for the executor's next job in the same call and the same commit (`next`): in a chain
 * of machine steps the next step is usually due at once, so a step costs one round trip.
 * A lease that is not renewed expires and the job is offered again (a failed attempt); a
 * report for a lost lease is refused with ORC_FAILED_PRECONDITION "lease lost". Reports are
 * idempotent: a retried report (the library retries a request whose connection dropped)
 * has no second effect. The key needs the executor scope.
 *
 * A minimal executor is in the README ("Writing an executor"); orchestra-executor is the
 * full one (plugins, isolated host processes, commands).
 *
 * Thread safety: as client.h (any number of threads on one handle).
 */
#ifndef ORCHESTRA_JOBS_H
#define ORCHESTRA_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/client.h"
#include "orchestra/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * orc_job is one leased job. The library allocates it (orc_job_lease, a report's next job)
 * and frees it (orc_job_free); fields are only ever appended, so never allocate or copy
 * one yourself. Strings are NUL-terminated and owned by the job.
 */
typedef struct orc_job {
    int64_t job_id;
    char *lease_token; /* proves the lease in heartbeats and reports */
    int64_t project_id;
    int64_t task_id;
    char *workflow;           /* workflow slug */
    char *step;               /* step slug */
    char *function;           /* "module.name" (a plugin function), or "command" */
    char *execution_function; /* the step's execution_function, JSON text */
    char *project_data;       /* the project's data with "project_id" added, JSON object text */
    char *prerequisites;      /* the flat prerequisites dict (spec 3.6), JSON object text */
    int attempt;              /* 1 for the first try */
    int64_t lease_expires_at; /* microseconds since the epoch */
    /*
     * What to run (plugins/README.md "Python steps"): "" or "step" is a machine step;
     * "creation_policy", "abort_completion" and "sample_data" are a workflow's Python hooks,
     * whose function is execution_function and whose argument is context (JSON text; "" for
     * a step). An executor that only runs steps never leases the others (it offers no
     * python_packages).
     */
    char *kind;
    char *context;
    /* The lease answered a poll that waited: heartbeat once before running the job. An
     * unacknowledged lease that expires costs the job no attempt. */
    bool ack_required;
} orc_job;

/* orc_job_offer is what an executor can run. Borrowed for each call. */
typedef struct orc_job_offer {
    size_t size;                  /* 0, or sizeof(orc_job_offer) (client.h, "Structs that grow") */
    const char *executor_id;      /* a stable name for this executor ("host:pid") */
    const char *const *functions; /* the functions it runs ("module.name", "command") */
    size_t n_functions;
    int lease_ms; /* lease length asked for; 0: the coordinator's default */
    /* Added after the first layout: a program that sets them sets size to sizeof. The
     * top-level Python packages it imports: their steps and hooks are offered too. */
    const char *const *python_packages;
    size_t n_python_packages;
} orc_job_offer;

/*
 * orc_job_lease waits up to wait_ms (at most 30000) for a due job among the offered
 * functions and leases it: ORC_OK with *job the job, or NULL when none came in time. The
 * handle's timeout must exceed wait_ms (orc_client_opts.timeout_ms).
 */
int orc_job_lease(orc_client *c, const orc_job_offer *offer, int wait_ms, orc_job **job,
                  orc_error *err);

/*
 * orc_job_heartbeat renews the job's lease for lease_ms (0: the default). *cancelled
 * (NULL allowed) is set when the job's project was ended: stop working on it, and report
 * nothing. A lost lease is ORC_FAILED_PRECONDITION.
 */
int orc_job_heartbeat(orc_client *c, const orc_job *job, int lease_ms, bool *cancelled,
                      orc_error *err);

/*
 * orc_job_complete reports the job's output (the text of a JSON object, the step's result).
 * With next (NULL: no next job), the same call leases the executor's next due job into
 * *next_job (NULL when none was due; then long-poll orc_job_lease); next_job may be NULL only
 * when next is.
 */
int orc_job_complete(orc_client *c, const orc_job *job, const char *output,
                     const orc_job_offer *next, orc_job **next_job, orc_error *err);

/*
 * orc_job_fail reports a failure with a message. retryable: a retry may help (the
 * coordinator re-queues the job with backoff while the step's retry policy allows);
 * *will_retry (NULL allowed) says whether it did. next and next_job as in orc_job_complete.
 */
int orc_job_fail(orc_client *c, const orc_job *job, const char *error, bool retryable,
                 bool *will_retry, const orc_job_offer *next, orc_job **next_job, orc_error *err);

/* orc_job_free releases a job; NULL is allowed. */
void orc_job_free(orc_job *job);

#ifdef __cplusplus
}
#endif

#endif
