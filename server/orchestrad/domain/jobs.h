/*
 * jobs.h: machine steps as jobs, and their leases (DESIGN.md "Machine steps", spec 3.5).
 *
 * When a machine task is created the lifecycle queues its job (orci_jobs_create). An
 * executor leases the oldest due job whose function it provides; the lease starts the
 * machine assignment exactly as spec 3.5 step 2 (counter 0, no worker, Processing, with its
 * Iteration; the task becomes Processing). The executor heartbeats to extend the lease and
 * reports the output (CompleteJob: the assignment is Submitted with it, the iteration closed
 * Requested Review, the task Complete, the next tasks created) or a failure (FailJob).
 *
 * Reliability. A lease that expires counts as a failed attempt: the job is offered again at
 * once while attempts remain, except a lease answering a parked poll (unacked) that expires
 * before its first heartbeat: its executor may have stopped while it waited and never
 * received it, so the attempt is given back (at most three times per job).
 * A retryable failure re-queues the job after
 *   min(max_delay, initial_delay * 2^(attempt-1)) * (0.5 + u/2),   u from lc->rng in [0,1);
 * when attempts run out (or the failure is not retryable) the job is failed and the machine
 * assignment Failed, the task staying Processing. orci_jobs_retry re-queues a failed job
 * with its attempts reset; the next lease reopens the assignment (Failed -> Processing).
 * Reports are checked against the lease token: a report for a lease that expired or was
 * replaced is refused ("lease lost") and changes nothing; a repeated report of a lease that
 * already ended the same way is accepted and changes nothing. Ending a project cancels its
 * jobs; a heartbeat then says so.
 *
 * Retry policy: the step's retry_policy {max_attempts, initial_delay_ms, max_delay_ms}, each
 * key optional, defaults ORCI_JOB_DEFAULT_* (documented in plugins/README.md).
 *
 * Kinds. Besides machine steps, the Python functions upstream calls elsewhere run as jobs
 * (jobs_hooks.c), since the coordinator never runs user code: a step's creation policy, a
 * version's abort_completion_function and a workflow's sample_data_load_function. They have
 * no task; their answer reaches the lifecycle through orci_machine_ops.answer, in the
 * transaction that records it. They retry with the default policy.
 *
 * Matching. An executor names the functions it provides (exact names: C plugins, "command")
 * and, when it runs Python, the top-level packages it can import: a job is offered to it when
 * its function is one of the names, or its package (the function's first dotted component)
 * one of the packages. Hook jobs' function names carry their kind ("creation_policy:pkg.f"),
 * so only the package matches them. Without packages the lease query is the one it always
 * was. A job that no executor matches stays queued.
 *
 * Every function that changes state runs inside a write job with the writer's connection in
 * lc->db, takes the time from lc->now_us and keeps the invariants of spec 3.2 (checked with
 * orci_lc_check_changed on the task it touched). Functions taking an orci_db read on any
 * connection.
 */
#ifndef ORCI_JOBS_H
#define ORCI_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/context.h"
#include "orchestra/error.h"
#include "store/store.h"

/*
 * orci_machine_ops are the machine task's transitions a job drives (spec 3.5), supplied by
 * the lifecycle (orci_lc_machine_ops): the jobs keep only the lease bookkeeping and never
 * call into the lifecycle themselves, so the two do not depend on each other in a circle.
 *  - start: a job is being leased; its Awaiting Processing task gets its machine assignment
 *    and iteration and becomes Processing (a Failed assignment is reopened). *startable
 *    false: the task can no longer run (completed by an admin, aborted).
 *  - complete: the job returned output: the assignment is Submitted with it, the task
 *    Complete, the subsequent tasks created.
 *  - fail: the job failed for good: the machine assignment is Failed.
 *  - answer: a hook job (not a step) returned output: the lifecycle acts on it (jobs_hooks.c).
 */
typedef struct orci_hook_answer orci_hook_answer;
typedef struct orci_machine_ops {
    int (*start)(orci_lc *lc, int64_t task_id, bool *startable, orc_error *err);
    int (*complete)(orci_lc *lc, int64_t task_id, const char *output, orc_error *err);
    int (*fail)(orci_lc *lc, int64_t task_id, orc_error *err);
    int (*answer)(orci_lc *lc, const orci_hook_answer *a, orc_error *err);
} orci_machine_ops;

/* Job kinds (the jobs.kind column). */
enum {
    ORCI_JOB_KIND_STEP = 0,   /* a machine step: task_id */
    ORCI_JOB_KIND_POLICY = 1, /* a creation policy: project_id, step_id */
    ORCI_JOB_KIND_ABORT = 2,  /* an abort_completion_function: project_id */
    ORCI_JOB_KIND_SAMPLE = 3, /* a sample_data_load_function: workflow_version_id */
};

/* orci_job_kind_name: "step", "creation_policy", "abort_completion", "sample_data"; "" else. */
const char *orci_job_kind_name(int kind);

/* orci_hook_answer is what a hook job returned (borrowed for the call). */
struct orci_hook_answer {
    int kind;
    int64_t job_id;
    int64_t project_id; /* 0 for a sample-data load */
    int64_t step_id;    /* a creation policy's step */
    int64_t version_id; /* a sample-data load's version */
    const char *output; /* the job's output, a compact JSON object */
};

enum {
    ORCI_JOB_QUEUED = 0,
    ORCI_JOB_LEASED = 1,
    ORCI_JOB_COMPLETED = 2,
    ORCI_JOB_FAILED = 3,
    ORCI_JOB_CANCELLED = 4,
};

#define ORCI_JOB_DEFAULT_MAX_ATTEMPTS 3
#define ORCI_JOB_DEFAULT_INITIAL_DELAY_MS 1000
#define ORCI_JOB_DEFAULT_MAX_DELAY_MS 60000
/* Lease length: the executor's wish, clamped; 0 asks for the default. */
#define ORCI_JOB_DEFAULT_LEASE_MS 30000
#define ORCI_JOB_MIN_LEASE_MS 1000
#define ORCI_JOB_MAX_LEASE_MS 600000
/* Limits of a lease request. */
#define ORCI_JOB_MAX_FUNCTIONS 64
#define ORCI_JOB_MAX_PACKAGES 256
#define ORCI_JOB_MAX_NAME 256
/* Lease tokens: 32 random bytes, base64url. */
#define ORCI_JOB_TOKEN_SIZE 48

/* orci_job_status_name: "queued", "leased", ...; "" when unknown. */
const char *orci_job_status_name(int status);

/*
 * orci_jobs_create queues the job of machine task task_id, due now, with the step's
 * function ("module.name" for {"module", "name"}, the path of {"path", "kwargs"}, "command",
 * or "" when the step has no valid execution function: no executor provides that) and retry
 * policy. Called by the lifecycle when it creates a machine task.
 */
int orci_jobs_create(orci_lc *lc, int64_t task_id, orc_error *err);

/*
 * orci_jobs_create_known is orci_jobs_create for a caller that knows the task's project, its
 * step's function (orci_jobs_function_name) and retry policy (JSON text): the lifecycle,
 * from the version's cached step graph (graph.h).
 */
int orci_jobs_create_known(orci_lc *lc, int64_t task_id, int64_t project_id, const char *function,
                           const char *retry_policy, orc_error *err);

/*
 * orci_jobs_function_name derives the function a job runs from an execution function or
 * hook JSON text: "module.name" for {"module", "name"}, the path of {"path", ...}, "command"
 * for {"command": [...]}, "" otherwise (malloc'd; NULL when out of memory).
 */
char *orci_jobs_function_name(const char *spec);

/* orci_jobs_package is the first dotted component of a Python-runnable function name into
 * out ("" for "command", a name without a dot or one too long). */
void orci_jobs_package(const char *function, char *out, size_t out_size);

/* What an executor asks for. Strings are borrowed for the call. */
typedef struct orci_lease_params {
    const char *executor_id;
    const char *const *functions;
    size_t n_functions;
    const char *const *packages; /* top-level Python packages; may be empty */
    size_t n_packages;
    int64_t lease_ms; /* 0: ORCI_JOB_DEFAULT_LEASE_MS */
    /* The lease answers a poll that waited (parked) and whose executor may have gone since:
     * it counts as an attempt once the executor acknowledges it with a heartbeat. */
    bool unacked;
} orci_lease_params;

/* orci_lease_params_check validates a lease request (INVALID_ARGUMENT with why). */
int orci_lease_params_check(const orci_lease_params *p, orc_error *err);

/* A leased job. Every string is malloc'd; orci_job_fini frees them. */
typedef struct orci_job {
    int64_t job_id;
    char *lease_token; /* the secret proving the lease */
    int64_t project_id;
    int64_t task_id;
    char *workflow;
    char *step;
    char *function;
    char *execution_function; /* the step's JSON */
    char *project_data;       /* the project's data with "project_id" added */
    char *prerequisites;      /* the flat dict of spec 3.6 */
    int attempt;              /* 1 for the first try */
    int64_t lease_expires_at;
    int kind;      /* ORCI_JOB_KIND_* */
    char *context; /* hook jobs: what the function is called with (JSON); NULL for steps */
} orci_job;

/* orci_job_fini frees a job's strings and zeroes it; NULL allowed. */
void orci_job_fini(orci_job *job);

/*
 * orci_jobs_lease first settles expired leases (each one a failed attempt), then leases the
 * oldest due queued job of an Active project whose function is in p->functions: *found
 * tells whether one was leased into *job (the caller finis it). When none is found,
 * *next_due_us (if not NULL) gets the earliest time at which one of these functions may
 * become available (a queued job falling due or a lease expiring), 0 when nothing is
 * scheduled.
 */
int orci_jobs_lease(orci_lc *lc, const orci_machine_ops *m, const orci_lease_params *p,
                    orci_job *job, bool *found, int64_t *next_due_us, orc_error *err);

/*
 * What the write transaction looked like before a report that also leases the executor's
 * next job (CompleteJob / FailJob with `next`): see orci_jobs_lease_next.
 */
typedef struct orci_jobs_mark {
    int64_t signal;     /* the job signal */
    int64_t max_job_id; /* the newest job id (0: none) */
    int deferred;       /* bumps of the signal deferred and not written (orci_db_deferred) */
    int64_t runs;       /* times a deferred bump was written on the connection */
} orci_jobs_mark;

/* orci_jobs_mark_take records *mark before the report (writer thread, in the write job). */
int orci_jobs_mark_take(orci_lc *lc, orci_jobs_mark *mark, orc_error *err);

/*
 * orci_jobs_lease_next leases the executor's next due job right after its report, in the
 * same transaction: exactly orci_jobs_lease (expired leases settled first, the oldest due
 * job of the functions, the same lease token rules and events), except that it never waits
 * (*found false: none was due). When the job it leased is the one job the report created
 * and nothing else bumped the job signal since mark, the signal is set back to its value at
 * mark: the job is taken before anyone could see it, so waking every parked LeaseJob poll
 * for it would only make them look for work that is not there.
 */
int orci_jobs_lease_next(orci_lc *lc, const orci_machine_ops *m, const orci_jobs_mark *mark,
                         const orci_lease_params *p, orci_job *job, bool *found, orc_error *err);

/*
 * orci_jobs_available is the read-only probe of orci_jobs_lease (any connection): whether a
 * job matching p (functions and packages) is due or has an expired lease at now_us, and
 * else the earliest time one may be (*next_due_us, 0 when nothing is scheduled).
 */
int orci_jobs_available(orci_db *db, int64_t now_us, const orci_lease_params *p, bool *available,
                        int64_t *next_due_us, orc_error *err);

/*
 * orci_jobs_expire settles every lease expired at lc->now_us (re-queue or fail, as a failed
 * attempt). *settled (may be NULL) gets the count.
 */
int orci_jobs_expire(orci_lc *lc, const orci_machine_ops *m, int64_t *settled, orc_error *err);

/*
 * orci_jobs_heartbeat extends the current lease of job_id to now + lease_ms (0: default)
 * into *expires_at. A job cancelled while leased with this token answers ORC_OK with
 * *cancelled set. Anything else (unknown job, another or an expired lease, a job no longer
 * leased) is ORC_FAILED_PRECONDITION "lease lost".
 */
int orci_jobs_heartbeat(orci_lc *lc, int64_t job_id, const char *token, int64_t lease_ms,
                        int64_t *expires_at, bool *cancelled, orc_error *err);

/*
 * orci_jobs_complete records output (a JSON object) for the current lease: the machine
 * assignment is Submitted with it, the iteration closed Requested Review, the task Complete
 * and the subsequent tasks created. For a job cancelled with its project the output is only
 * stored and the task stays Aborted (spec 3.5). A repeat of the completing lease's report is
 * ORC_OK with no effect; a lost lease ORC_FAILED_PRECONDITION "lease lost".
 */
int orci_jobs_complete(orci_lc *lc, const orci_machine_ops *m, int64_t job_id, const char *token,
                       const char *output, orc_error *err);

/*
 * orci_jobs_fail records a failure of the current lease. *will_retry tells whether the job
 * was re-queued, due at *next_attempt_at; otherwise it failed (assignment Failed, task
 * Processing). A repeat of the report is ORC_OK with no effect; a lost lease
 * ORC_FAILED_PRECONDITION "lease lost".
 */
int orci_jobs_fail(orci_lc *lc, const orci_machine_ops *m, int64_t job_id, const char *token,
                   const char *error, bool retryable, bool *will_retry, int64_t *next_attempt_at,
                   orc_error *err);

/*
 * orci_jobs_retry (admin) re-queues the failed job of task_id, due now with its attempts
 * reset. ORC_NOT_FOUND "No job for this task"; ORC_FAILED_PRECONDITION when it is not failed
 * or its project is not Active.
 */
int orci_jobs_retry(orci_lc *lc, int64_t task_id, orc_error *err);

/* orci_jobs_retry_job is orci_jobs_retry by job id (hook jobs have no task): ORC_NOT_FOUND
 * "No job for given id" when there is none. */
int orci_jobs_retry_job(orci_lc *lc, int64_t job_id, orc_error *err);

/* ---- hook jobs (jobs_hooks.c) --------------------------------------------------------- */

/* What a creation policy's job has said so far (orci_jobs_policy_state). */
typedef enum orci_policy_state {
    ORCI_POLICY_NONE = 0,     /* never asked */
    ORCI_POLICY_PENDING = 1,  /* queued or running */
    ORCI_POLICY_DECLINED = 2, /* answered false */
    ORCI_POLICY_CREATE = 3,   /* answered true (the task exists or is being created) */
    ORCI_POLICY_FAILED = 4,   /* failed for good, or cancelled */
} orci_policy_state;

/* orci_jobs_policy_state reads the state of the policy job of (project_id, step_id). */
int orci_jobs_policy_state(orci_db *db, int64_t project_id, int64_t step_id,
                           orci_policy_state *state, orc_error *err);

/*
 * orci_jobs_ask_policy queues the creation-policy job of (project_id, step_id) with the
 * policy's function spec ({"path", "kwargs"}), due now: a new job, or the existing one
 * re-queued with its attempts reset when it had declined or failed (upstream asks again at
 * every create_subsequent_tasks). A pending one is left alone.
 */
int orci_jobs_ask_policy(orci_lc *lc, int64_t project_id, int64_t step_id, const char *spec,
                         orc_error *err);

/* orci_jobs_cancel_policies cancels the project's creation-policy jobs not answered yet
 * (the project was completed without them: a completion_ends_project step). A running one
 * may still report; its answer changes nothing. */
int orci_jobs_cancel_policies(orci_lc *lc, int64_t project_id, orc_error *err);

/* orci_jobs_create_abort queues the abort_completion_function job of an ended project. */
int orci_jobs_create_abort(orci_lc *lc, int64_t project_id, const char *spec, int64_t *job_id,
                           orc_error *err);

/* orci_jobs_create_sample queues a sample_data_load_function job for a workflow version. */
int orci_jobs_create_sample(orci_lc *lc, int64_t version_id, const char *spec, int64_t *job_id,
                            orc_error *err);

/* orci_jobs_fail_answer marks a hook job that has just completed failed after all, with
 * why: its answer could not be applied (and changed nothing). Not retried. */
int orci_jobs_fail_answer(orci_lc *lc, int64_t job_id, const char *why, orc_error *err);

/* A hook job's state, for its caller (orci_jobs_hook_info). Strings malloc'd. */
typedef struct orci_hook_info {
    int kind, status;
    int64_t version_id;
    char *output;     /* NULL until completed */
    char *last_error; /* "" when none */
} orci_hook_info;

/* orci_jobs_hook_info reads a hook job (ORC_NOT_FOUND "No job for given id"); release with
 * orci_hook_info_fini. */
int orci_jobs_hook_info(orci_db *db, int64_t job_id, orci_hook_info *info, orc_error *err);
void orci_hook_info_fini(orci_hook_info *info);

/*
 * orci_jobs_requeue queues the job of machine task task_id again, due now with its attempts
 * reset, after a revert took the task back from Complete: the step runs again and its result
 * completes the task anew. A job still queued or leased is left alone (it runs anyway); a
 * task without a job is ORC_OK.
 */
int orci_jobs_requeue(orci_lc *lc, int64_t task_id, orc_error *err);

/* orci_jobs_cancel_project cancels every job of the project that has not ended. */
int orci_jobs_cancel_project(orci_lc *lc, int64_t project_id, orc_error *err);

/*
 * orci_jobs_signal bumps the job signal: work may have become available. Called by every
 * transition that can make a job leasable (the jobs' own, and a project's resume).
 */
int orci_jobs_signal(orci_db *db, orc_error *err);

/* orci_jobs_signal_seq reads the job signal (any connection). */
int orci_jobs_signal_seq(orci_db *db, int64_t *seq, orc_error *err);

/* One row of the job listing (strings malloc'd; orci_job_infos_free). */
typedef struct orci_job_info {
    int64_t job_id, project_id, task_id;
    char *step, *function, *last_error, *executor_id;
    int status, kind;
    int attempts, max_attempts;
    int64_t next_attempt_at;
} orci_job_info;

/* orci_jobs_list lists the jobs of a project (0: all) by id into *out (caller frees). */
int orci_jobs_list(orci_db *db, int64_t project_id, orci_job_info **out, size_t *n, orc_error *err);

/* orci_job_infos_free frees a listing; NULL allowed. */
void orci_job_infos_free(orci_job_info *v, size_t n);

#endif
