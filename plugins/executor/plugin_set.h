/*
 * plugin_set.h: the plugins an executor has loaded, and their functions by name.
 *
 * Loading dlopens a shared object (RTLD_NOW | RTLD_LOCAL), calls its orc_plugin_entry with
 * the host table and checks the descriptor (orchestra/plugin.h). A plugin that fails a
 * check is unloaded and refused with one message; the others stay usable. Build the set on
 * one thread; once built, lookups may run on any number of threads.
 */
#ifndef ORCI_PLUGIN_SET_H
#define ORCI_PLUGIN_SET_H

#include <stddef.h>

#include "orchestra/error.h"
#include "orchestra/plugin.h"

typedef struct orci_plugin_set orci_plugin_set;

/*
 * orci_plugin_set_new makes an empty set whose plugins receive host (borrowed: it must
 * outlive the set). Release with orci_plugin_set_destroy.
 */
int orci_plugin_set_new(const orc_plugin_host *host, orci_plugin_set **out, orc_error *err);

/* orci_plugin_set_destroy unloads every plugin; NULL is allowed. */
void orci_plugin_set_destroy(orci_plugin_set *s);

/*
 * orci_plugin_set_load loads the plugin at path. A refused plugin returns
 * ORC_FAILED_PRECONDITION with a one-line reason in err that starts with
 * "plugin <file>: ", e.g. "plugin bad.so: ABI version 99, this executor speaks 1", and
 * leaves the set as it was.
 */
int orci_plugin_set_load(orci_plugin_set *s, const char *path, orc_error *err);

/*
 * orci_plugin_set_load_dir loads every *.so file in dir, in name order, logging one warning
 * line per refused plugin. *n_loaded and *n_refused (either may be NULL) count the
 * outcomes. Fails only when dir cannot be read.
 */
int orci_plugin_set_load_dir(orci_plugin_set *s, const char *dir, size_t *n_loaded,
                             size_t *n_refused, orc_error *err);

/* orci_plugin_set_count returns the number of functions of all loaded plugins. */
size_t orci_plugin_set_count(const orci_plugin_set *s);

/* orci_plugin_set_function_name returns the name of function i (owned by the set). */
const char *orci_plugin_set_function_name(const orci_plugin_set *s, size_t i);

/* orci_plugin_set_plugins returns the number of loaded plugins. */
size_t orci_plugin_set_plugins(const orci_plugin_set *s);

/* orci_plugin_set_plugin_path returns the file of plugin i, as loaded (owned by the set). */
const char *orci_plugin_set_plugin_path(const orci_plugin_set *s, size_t i);

/*
 * orci_plugin_set_find returns the function called name, or NULL. When path is not NULL,
 * *path is set to the file of the plugin that provides it (owned by the set).
 */
orc_plugin_fn orci_plugin_set_find(const orci_plugin_set *s, const char *name, const char **path);

#endif
