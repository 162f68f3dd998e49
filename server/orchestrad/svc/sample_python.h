/*
 * sample_python.h: LoadSampleData for a workflow whose sample data is upstream's Python
 * sample_data_load_function (no sample_data.json): it runs as a job on an executor
 * (domain/jobs_hooks.c), which the caller follows by job id (orchestra.proto,
 * LoadSampleDataRequest.job_id). Writer thread, inside LoadSampleData's write job.
 */
#ifndef ORCI_SVC_SAMPLE_PYTHON_H
#define ORCI_SVC_SAMPLE_PYTHON_H

#include <stdbool.h>

#include "proto/orchestra.pb-c.h"
#include "svc/services.h"

/*
 * orci_svc_sample_python answers req when it is about a Python load function (*handled
 * true, *out the reply): a request with job_id gets that job's state (running: job_id and
 * job_status; completed: the users; failed: FAILED_PRECONDITION with its error), one without
 * queues the job when the workflow has a function and no sample_data.json. *handled false:
 * the declarative path applies.
 */
int orci_svc_sample_python(orci_call *c, orci_db *wdb,
                           const Orchestra__V1__LoadSampleDataRequest *req, ProtobufCMessage **out,
                           bool *handled, orc_error *err);

#endif
