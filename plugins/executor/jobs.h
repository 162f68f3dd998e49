/*
 * jobs.h: the executor's side of the job RPCs (LeaseJob, Heartbeat, CompleteJob, FailJob).
 *
 * Thin typed calls over orci_client_call; any thread, on a shared orc_client.
 */
#ifndef ORCI_JOBS_H
#define ORCI_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/client.h"
#include "proto/orchestra.pb-c.h"

/*
 * orci_jobs_want is what the executor asks jobs for (borrowed for the call): its exact
 * function names (C plugins, "command") and the top-level Python packages it imports. A
 * report may ask for the next job in the same call: the coordinator commits the report and
 * the new lease together and answers with the job when one is due at once.
 */
typedef struct orci_jobs_want {
    const char *executor_id;
    const char *const *functions;
    size_t n_functions;
    int lease_ms;
    const char *const *packages;
    size_t n_packages;
} orci_jobs_want;

/*
 * orci_jobs_lease long-polls for a job that want matches, parking at most wait_ms. On
 * ORC_OK, *job is the leased job (release with orci_jobs_free) or NULL when none came. The
 * client's timeout must exceed wait_ms.
 */
int orci_jobs_lease(orc_client *c, const orci_jobs_want *want, int wait_ms,
                    Orchestra__V1__Job **job, orc_error *err);

/* orci_jobs_free releases a job from orci_jobs_lease; NULL is allowed. */
void orci_jobs_free(Orchestra__V1__Job *job);

/* orci_jobs_heartbeat extends the lease; *cancelled says the project was ended. */
int orci_jobs_heartbeat(orc_client *c, const Orchestra__V1__Job *job, int lease_ms, bool *cancelled,
                        orc_error *err);

/*
 * orci_jobs_complete reports the job's output (a JSON object's text). With want (NULL: no
 * next job), *next gets the next leased job or NULL when none was due (release with
 * orci_jobs_free); next may be NULL only when want is.
 */
int orci_jobs_complete(orc_client *c, const Orchestra__V1__Job *job, const char *output,
                       const orci_jobs_want *want, Orchestra__V1__Job **next, orc_error *err);

/*
 * orci_jobs_fail reports a failure; *will_retry (NULL allowed) says whether it is retried.
 * want and next as in orci_jobs_complete.
 */
int orci_jobs_fail(orc_client *c, const Orchestra__V1__Job *job, const char *error, bool retryable,
                   bool *will_retry, const orci_jobs_want *want, Orchestra__V1__Job **next,
                   orc_error *err);

#endif
