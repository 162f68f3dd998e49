/*
 * files.h: small file-system helpers shared by the daemons and tools.
 *
 * Any thread.
 */
#ifndef ORCI_FILES_H
#define ORCI_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include "orchestra/error.h"

/*
 * orci_make_parents creates the folders leading to path (not path itself) with mode when
 * missing. ORC_UNAVAILABLE "cannot create folder F: why" when one cannot be made.
 */
int orci_make_parents(const char *path, mode_t mode, orc_error *err);

/*
 * orci_read_file reads the whole regular file path, at most max bytes, into *out (malloc'd,
 * NUL-terminated; the caller frees it) and its length into *len (NULL allowed).
 * ORC_INVALID_ARGUMENT "cannot open F: why" / "F is not a regular file" / "F is larger than
 * N bytes"; ORC_RESOURCE_EXHAUSTED when out of memory.
 */
int orci_read_file(const char *path, size_t max, char **out, size_t *len, orc_error *err);

#endif
