/*
 * interfaces.h: steps' interface modules (the web app's step forms).
 *
 * A human step's user_interface may name a JavaScript module of its workflow folder,
 * {"module": "v1/interface/rate.js", ...} (plugins/README.md has the module contract). The
 * client reads the file (client/lib/bundle.c, confined to the folder) and sends it in the
 * bundle; the loader checks the path and keeps the module's text with the step, inside the
 * stored user_interface as "module_source", so any orchestra-http can serve it by RPC
 * without the workflow's files. Pure: any thread (it runs while planning).
 */
#ifndef ORCI_INTERFACES_H
#define ORCI_INTERFACES_H

#include "orchestra/error.h"
#include "proto/orchestra.pb-c.h"
#include <stdbool.h>

/* Longest module path accepted, in bytes. */
#define ORCI_MODULE_PATH_MAX 255

/*
 * orci_module_path_valid tells whether path is a relative path inside a folder: no leading
 * '/', no "." or ".." or empty component, no backslash, a .js or .mjs name, at most
 * ORCI_MODULE_PATH_MAX bytes.
 */
bool orci_module_path_valid(const char *path);

/*
 * orci_interface_attach puts the text of the module that the user_interface JSON text
 * *user_interface (of step step_slug; malloc'd, replaced on success) names into it, as
 * "module_source", taking it from the bundle's files. Nothing changes without a "module".
 * Refused (ORC_INVALID_ARGUMENT): a "module" that is not a valid path, a module the bundle
 * does not carry, and a "module_source" written in version.json.
 */
int orci_interface_attach(const Orchestra__V1__WorkflowBundle *b, const char *step_slug,
                          char **user_interface, orc_error *err);

#endif
