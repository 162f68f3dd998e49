/*
 * job_hooks.c: the machine ops of the job handlers (job_hooks.h).
 */
#include "svc/job_hooks.h"

#include <stdlib.h>

#include "domain/lifecycle.h"
#include "workflow/sampledata.h"

/*
 * svc_hook_answer applies a sample-data load's answer (the users its function made, in the
 * transaction that records it) and hands every other answer to the lifecycle. A record the
 * checks refuse (a reviewer certification without its entry-level one, as upstream's model
 * refused it) wrote nothing: the job fails with that message, for the caller to show.
 */
static int svc_hook_answer(orci_lc *lc, const orci_hook_answer *a, orc_error *err)
{
    if (a->kind != ORCI_JOB_KIND_SAMPLE)
        return orci_lc_hook_answer(lc, a, err);
    orc_error why = {0};
    int code = orci_sample_data_apply_recorded(lc->db, a->version_id, a->output, lc->now_us, NULL,
                                               NULL, &why);
    if (code == ORC_INVALID_ARGUMENT || code == ORC_FAILED_PRECONDITION)
        return orci_jobs_fail_answer(lc, a->job_id, why.message, err);
    if (code != ORC_OK)
        return orc_error_set(err, (orc_code)code, "%s", why.message);
    return ORC_OK;
}

/* The lifecycle's own ops, forwarded: a static initializer cannot copy another table's
 * members. */
static int svc_start(orci_lc *lc, int64_t task_id, bool *startable, orc_error *err)
{
    return orci_lc_machine_ops.start(lc, task_id, startable, err);
}

static int svc_complete(orci_lc *lc, int64_t task_id, const char *output, orc_error *err)
{
    return orci_lc_machine_ops.complete(lc, task_id, output, err);
}

static int svc_fail(orci_lc *lc, int64_t task_id, orc_error *err)
{
    return orci_lc_machine_ops.fail(lc, task_id, err);
}

const orci_machine_ops orci_svc_job_ops = {
    .start = svc_start,
    .complete = svc_complete,
    .fail = svc_fail,
    .answer = svc_hook_answer,
};
