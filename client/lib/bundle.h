/*
 * bundle.h: reading workflow folders into WorkflowBundle messages (client side).
 *
 * A workflow folder holds workflow.json, any number of sub-folders holding version.json,
 * and optionally sample_data.json. The server never reads the client's disk: the CLI reads
 * the folder and sends its text, and the server validates everything.
 */
#ifndef ORCI_BUNDLE_H
#define ORCI_BUNDLE_H

#include <stddef.h>

#include "orchestra/error.h"
#include "proto/orchestra.pb-c.h"

/* Largest file accepted in a workflow folder. */
#define ORCI_BUNDLE_FILE_MAX (4u << 20)

/*
 * orci_bundle_read reads the workflow folder dir into *out (free with
 * orci_bundle_free). Errors use the upstream loader messages:
 * "Workflow directory does not exist." and "No \"workflow.json\" manifest file found."
 * (ORC_INVALID_ARGUMENT). A folder with no version is returned as is: the server reports
 * "Workflow directory <dir> does not contain any versions".
 */
int orci_bundle_read(const char *dir, Orchestra__V1__WorkflowBundle **out, orc_error *err);

/* orci_bundle_free releases a bundle from orci_bundle_read; NULL allowed. */
void orci_bundle_free(Orchestra__V1__WorkflowBundle *b);

/*
 * orci_bundle_scan expands the folders given to load-all: each is a workflow folder itself
 * (it has workflow.json) or a folder whose immediate sub-folders with workflow.json are
 * workflow folders (sorted by name). *dirs (free each and the array) lists them.
 */
int orci_bundle_scan(const char *const *roots, size_t n_roots, char ***dirs, size_t *n_dirs,
                     orc_error *err);

#endif
