/*
 * interfaces.c: steps' interface modules, checked and kept with the step (interfaces.h).
 */
#include "workflow/interfaces.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"

#define SOURCE_KEY "module_source"

bool orci_module_path_valid(const char *path)
{
    if (path == NULL)
        return false;
    size_t n = strlen(path);
    if (n == 0 || n > ORCI_MODULE_PATH_MAX || path[0] == '/' || strchr(path, '\\'))
        return false;
    bool js =
        (n > 3 && strcmp(path + n - 3, ".js") == 0) || (n > 4 && strcmp(path + n - 4, ".mjs") == 0);
    if (!js)
        return false;
    for (const char *c = path; *c;) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += len;
        if (*c == '/')
            c++;
    }
    return true;
}

/* bundle_file finds path among the bundle's files (NULL: not carried). */
static const char *bundle_file(const Orchestra__V1__WorkflowBundle *b, const char *path)
{
    for (size_t i = 0; i < b->n_files; i++)
        if (b->files[i]->path && strcmp(b->files[i]->path, path) == 0)
            return b->files[i]->text ? b->files[i]->text : "";
    return NULL;
}

int orci_interface_attach(const Orchestra__V1__WorkflowBundle *b, const char *step_slug,
                          char **user_interface, orc_error *err)
{
    const char *text = *user_interface ? *user_interface : "{}";
    json_t *ui = orci_json_parse_object(text, strlen(text), "user_interface", err);
    if (!ui)
        return err && err->code ? err->code : ORC_INVALID_ARGUMENT;
    int rc = ORC_OK;
    json_t *module = json_object_get(ui, "module");
    if (json_object_get(ui, SOURCE_KEY)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "%.200s.user_interface: \"" SOURCE_KEY "\" is filled in by the "
                           "loader; name the file in \"module\"",
                           step_slug);
        goto out;
    }
    if (!module)
        goto out;
    const char *path = json_string_value(module);
    if (!orci_module_path_valid(path)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "%.200s.user_interface.module must be the path of a .js file inside "
                           "the workflow folder",
                           step_slug);
        goto out;
    }
    const char *source = bundle_file(b, path);
    if (!source) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "%.200s.user_interface.module names %.255s, which the workflow folder "
                           "does not hold",
                           step_slug, path);
        goto out;
    }
    char *dumped = NULL;
    if (json_object_set_new(ui, SOURCE_KEY, json_string(source)) != 0 ||
        !(dumped = orci_json_dump(ui))) {
        rc =
            orc_error_set(err, ORC_INVALID_ARGUMENT,
                          "%.200s.user_interface.module %.255s is not UTF-8 text", step_slug, path);
        goto out;
    }
    free(*user_interface);
    *user_interface = dumped;
out:
    json_decref(ui);
    return rc;
}
