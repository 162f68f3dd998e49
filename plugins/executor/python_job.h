/*
 * python_job.h: one job run by the worker's Python runner (python_runner.h): the call it is
 * sent and how its reply becomes the job's outcome.
 *
 * The call is {"kind", "function", "project_data", "prerequisites", "context"}: kind as
 * orchestra.proto's Job.kind ("step" for a machine step), function the step's
 * execution_function or the hook's spec ({"path", "kwargs"} or {"module", "name"}). The
 * runner calls it as upstream did (plugins/README.md "Python steps") and answers like a
 * plugin host: {"status": "ok", "output": {...}} or {"status": "fail", "retryable": b,
 * "error": "..."}; a Python exception is a retryable failure whose error is the traceback's
 * last lines, a return value that is not a JSON object a failure for good.
 *
 * Any worker thread, with its own runner (job.h).
 */
#ifndef ORCI_PYTHON_JOB_H
#define ORCI_PYTHON_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"

/* orci_python_job_wanted says whether spec runs in Python (job.h: the routing rule). */
bool orci_python_job_wanted(const orci_job_spec *spec);

/* orci_python_job_run runs spec in its runner with an output cap of max bytes; it does not
 * fail (a failure is an outcome). */
void orci_python_job_run(const orci_job_spec *spec, size_t max, orci_job_outcome *out);

#endif
