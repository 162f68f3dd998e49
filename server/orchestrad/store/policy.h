/*
 * policy.h: upstream HEAD's creation policies (spec 2 and 8): a step's
 * "creation_policy" {"policy_function": {"path": "pkg.mod.fn", "kwargs": {...}}} names the
 * function that decides whether the step's task is created once its creation dependencies
 * are Complete. Upstream ships one, orchestra.creation_policies.always_create, which is
 * also the default ({} or no key).
 *
 * The built-ins are a table of C functions here, shared by the loader and the lifecycle
 * (which runs them). Any other path names a Python function: the coordinator never runs
 * user code, so the lifecycle asks an executor (a creation-policy job, domain/jobs.h) and
 * creates the task when the answer comes. Pure functions; any thread.
 */
#ifndef ORCI_POLICY_H
#define ORCI_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "orchestra/error.h"

/* Upstream's default creation policy. */
#define ORCI_POLICY_ALWAYS_CREATE "orchestra.creation_policies.always_create"

/*
 * orci_creation_fn is a built-in policy: whether to create the task, from the step's
 * prerequisites (spec 3.6), the project's data and the policy's kwargs (all borrowed; the
 * first two may be NULL for a policy that does not read them).
 */
typedef bool (*orci_creation_fn)(const json_t *prerequisites, const json_t *project_data,
                                 const json_t *kwargs);

/* A validated creation policy: its built-in (NULL for a Python function: python is set)
 * and its kwargs (borrowed from the parsed JSON). */
typedef struct orci_creation_policy {
    const char *path;
    orci_creation_fn fn;
    const json_t *kwargs; /* a JSON object, or NULL for none */
    bool python;          /* path is a Python function, run by an executor */
} orci_creation_policy;

/*
 * orci_creation_policy_parse validates a creation_policy object (NULL or {} is the default)
 * into *out; what names it in messages (e.g. "review.creation_policy"). Errors
 * (ORC_INVALID_ARGUMENT): a malformed policy, or a path that is not a dotted Python name
 * ("pkg.mod.fn", each part an identifier). *out borrows from policy: keep policy alive while
 * using it.
 */
int orci_creation_policy_parse(const json_t *policy, const char *what, orci_creation_policy *out,
                               orc_error *err);

/*
 * orci_creation_policy_decide parses the stored policy text and runs a built-in: *create
 * tells whether the task is to be created. Errors as orci_creation_policy_parse, plus
 * ORC_INVALID_ARGUMENT for text that is not a JSON object and ORC_FAILED_PRECONDITION for a
 * Python policy (which only an executor can run).
 */
int orci_creation_policy_decide(const char *policy_text, const char *what, bool *create,
                                orc_error *err);

#endif
