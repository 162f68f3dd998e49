/*
 * jobs_internal.h: what jobs.c and jobs_hooks.c share (jobs.h is the interface). Writer
 * thread, inside a write job, as jobs.h says.
 */
#ifndef ORCI_JOBS_INTERNAL_H
#define ORCI_JOBS_INTERNAL_H

#include <jansson.h>

#include "domain/jobs.h"

/* orci_jobi_ref names a job and what it is about (ids 0 where the kind has none). */
typedef struct orci_jobi_ref {
    int64_t id;
    int kind;
    int64_t task_id, project_id, step_id, version_id;
} orci_jobi_ref;

/*
 * orci_jobi_hook_event appends a job event about a hook job: on its project's topics (and
 * its step's, for a creation policy), or its workflow's for a sample-data load. payload is
 * borrowed; "kind" is added to it.
 */
int orci_jobi_hook_event(orci_lc *lc, const char *type, const orci_jobi_ref *r,
                         const char *old_status, const char *new_status, json_t *payload,
                         orc_error *err);

/*
 * orci_jobi_describe_hook fills *job (every field but the lease token) for a hook job just
 * leased: its function and spec, and what the function is called with (plugins/README.md).
 */
int orci_jobi_describe_hook(orci_lc *lc, const orci_jobi_ref *r, orci_job *job, orc_error *err);

#endif
