/*
 * loader_head.c: the keys upstream HEAD added to version.json (spec 2), read into the plan
 * beside DOC's (loader_plan.c) and written with them (loader_write.c):
 *  - a step's "creation_policy": upstream's built-in always_create, or a Python function
 *    {"policy_function": {"path": "pkg.mod.fn", "kwargs": {...}}} that an executor runs
 *    when the step's dependencies are Complete (store/policy.h, domain/jobs_hooks.c);
 *  - a step's "completion_ends_project" (a boolean, default false);
 *  - a version's "abort_completion_function" {"path", "kwargs"}: a Python function that an
 *    executor runs when a project of the version is ended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store/policy.h"
#include "workflow/loader_internal.h"

int orci_ldi_plan_head_step(const json_t *js, orci_load_step *s, orc_error *err)
{
    char what[300];
    snprintf(what, sizeof what, "%.200s.creation_policy", s->slug);
    json_t *policy = json_object_get(js, "creation_policy");
    orci_creation_policy parsed;
    int rc = orci_creation_policy_parse(policy, what, &parsed, err);
    if (rc != ORC_OK)
        return rc;
    s->creation_policy = policy != NULL ? orci_json_dump(policy) : strdup("{}");
    if (s->creation_policy == NULL)
        return orci_ldi_oom(err);

    json_t *ends = json_object_get(js, "completion_ends_project");
    if (ends != NULL && !json_is_boolean(ends))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s.completion_ends_project must be true or false", s->slug);
    s->completion_ends_project = json_is_true(ends);
    return ORC_OK;
}

int orci_ldi_plan_head_version(const json_t *vj, const char *ctx, orci_load_plan *p, orc_error *err)
{
    json_t *fn = json_object_get(vj, "abort_completion_function");
    if (fn == NULL || (json_is_object(fn) && json_object_size(fn) == 0)) {
        p->abort_completion_function = strdup("{}");
        return p->abort_completion_function != NULL ? ORC_OK : orci_ldi_oom(err);
    }
    json_t *path = json_object_get(fn, "path");
    json_t *kwargs = json_object_get(fn, "kwargs");
    if (!json_is_object(fn) || !json_is_string(path) || json_string_length(path) == 0 ||
        (kwargs != NULL && !json_is_object(kwargs)) ||
        json_object_size(fn) != (kwargs != NULL ? 2u : 1u))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"abort_completion_function\" must be {\"path\": "
                             "\"pkg.module.function\", \"kwargs\": {...}} (kwargs optional)",
                             ctx);
    p->abort_completion_function = orci_json_dump(fn);
    return p->abort_completion_function != NULL ? ORC_OK : orci_ldi_oom(err);
}
