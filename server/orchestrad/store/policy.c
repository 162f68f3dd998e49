/*
 * policy.c: the built-in creation policies and their validation (policy.h).
 */
#include "store/policy.h"

#include <string.h>

#include "json.h"

/* upstream's always_create: the task is always created, whatever the data says. */
static bool always_create(const json_t *prerequisites, const json_t *project_data,
                          const json_t *kwargs)
{
    (void)prerequisites;
    (void)project_data;
    (void)kwargs;
    return true;
}

static const struct {
    const char *path;
    orci_creation_fn fn;
} builtins[] = {
    {ORCI_POLICY_ALWAYS_CREATE, always_create},
};

/* policy_dotted_name: two or more identifiers joined by dots, as a module path and name. */
static bool policy_dotted_name(const char *s)
{
    int parts = 0;
    for (const char *p = s;; p++) {
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
            return false;
        while (*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
               (*p >= '0' && *p <= '9'))
            p++;
        parts++;
        if (*p == '\0')
            return parts >= 2;
        if (*p != '.')
            return false;
    }
}

int orci_creation_policy_parse(const json_t *policy, const char *what, orci_creation_policy *out,
                               orc_error *err)
{
    *out = (orci_creation_policy){.path = ORCI_POLICY_ALWAYS_CREATE, .fn = always_create};
    if (policy == NULL || (json_is_object(policy) && json_object_size(policy) == 0))
        return ORC_OK;
    if (!json_is_object(policy))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "%s must be a JSON object", what);
    json_t *fn = json_object_get(policy, "policy_function");
    if (json_object_size(policy) != 1 || !json_is_object(fn))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s must be {\"policy_function\": {\"path\": \"...\", "
                             "\"kwargs\": {...}}}",
                             what);
    json_t *path = json_object_get(fn, "path");
    json_t *kwargs = json_object_get(fn, "kwargs");
    size_t keys = json_object_size(fn);
    if (!json_is_string(path) || json_string_length(path) == 0 ||
        (kwargs != NULL && !json_is_object(kwargs)) || keys != (kwargs != NULL ? 2u : 1u))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"policy_function\" must have a \"path\" (a non-empty string) "
                             "and optional \"kwargs\" (an object), nothing else",
                             what);
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (strcmp(builtins[i].path, json_string_value(path)) == 0) {
            *out = (orci_creation_policy){
                .path = builtins[i].path, .fn = builtins[i].fn, .kwargs = kwargs};
            return ORC_OK;
        }
    }
    if (!policy_dotted_name(json_string_value(path)))
        return orc_error_set(err, ORC_INVALID_ARGUMENT,
                             "%s: \"path\" must name a Python function, \"package.module."
                             "function\" (%.300s is not one)",
                             what, json_string_value(path));
    *out =
        (orci_creation_policy){.path = json_string_value(path), .kwargs = kwargs, .python = true};
    return ORC_OK;
}

int orci_creation_policy_decide(const char *policy_text, const char *what, bool *create,
                                orc_error *err)
{
    *create = false;
    const char *text = policy_text != NULL && policy_text[0] != '\0' ? policy_text : "{}";
    json_t *policy = orci_json_parse_object(text, strlen(text), what, err);
    if (policy == NULL)
        return err->code != ORC_OK ? (int)err->code : ORC_INVALID_ARGUMENT;
    orci_creation_policy p;
    int code = orci_creation_policy_parse(policy, what, &p, err);
    /* The built-ins read neither the prerequisites nor the project's data yet. */
    if (code == ORC_OK && p.python)
        code = orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "%s: %.300s is a Python function: an executor decides", what, p.path);
    else if (code == ORC_OK)
        *create = p.fn(NULL, NULL, p.kwargs);
    json_decref(policy);
    return code;
}
