/*
 * journalism.h: the journalism_workflow plugin's functions and their shared helpers.
 *
 * Upstream kept the article and photos in Google Drive; here they live in a local storage
 * root (the executor's --storage), under <root>/project-<id>/, and are named by file://
 * URLs. Runs in the executor's job child process.
 */
#ifndef ORCI_JOURNALISM_H
#define ORCI_JOURNALISM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "orchestra/plugin.h"

/* journalism_workflow.v1.documents.create_documents */
int orci_jw_create_documents(const orc_plugin_host *host, const char *project_data,
                             const char *prerequisites, char **output, char **error);

/* journalism_workflow.v1.adjust_photos.autoadjust_photos */
int orci_jw_autoadjust_photos(const orc_plugin_host *host, const char *project_data,
                              const char *prerequisites, char **output, char **error);

/*
 * orci_jw_fail sets *error (host-allocated) to a printf-formatted message and returns
 * status.
 */
int orci_jw_fail(const orc_plugin_host *host, char **error, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* orci_jw_output dumps v (released) into *output; returns a status. */
int orci_jw_output(const orc_plugin_host *host, char **output, char **error, json_t *v);

/*
 * orci_jw_project_dir writes <storage_root>/project-<id> into out, reading the id from
 * project_data; returns false with *error set (and *status) when either is missing.
 */
bool orci_jw_project_dir(const orc_plugin_host *host, const json_t *project_data, char *out,
                         size_t out_size, char **error, int *status);

/* orci_jw_mkdirs creates path and its missing parents (mode 0755); 0 or -1 with errno. */
int orci_jw_mkdirs(const char *path);

/* orci_jw_file_url returns "file://" + path, percent-encoded (malloc'd; NULL when out of
 * memory). */
char *orci_jw_file_url(const char *path);

/*
 * orci_jw_url_path decodes a file:// URL into a path in out; false when url is not a
 * file:// URL or does not fit.
 */
bool orci_jw_url_path(const char *url, char *out, size_t out_size);

#endif
