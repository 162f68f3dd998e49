/*
 * job_hooks.h: what the job handlers (svc/job.c) hand the job functions as the machine ops:
 * the lifecycle's (orci_lc_machine_ops), with the answers of hook jobs routed to the layer
 * that acts on them. A creation policy's or abort hook's answer is the lifecycle's; a
 * sample-data load's is the workflow layer's (workflow/sampledata.h), which the lifecycle may
 * not call (domain/ and workflow/ are siblings). Writer thread, inside the report's write job.
 */
#ifndef ORCI_SVC_JOB_HOOKS_H
#define ORCI_SVC_JOB_HOOKS_H

#include "domain/jobs.h"

extern const orci_machine_ops orci_svc_job_ops;

#endif
