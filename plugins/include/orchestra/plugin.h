/*
 * orchestra/plugin.h: the binary interface between orchestra-executor and a plugin that
 * provides machine-step functions (the redis-modules pattern).
 *
 * A plugin is a shared object that exports exactly one symbol, orc_plugin_entry. It never
 * links against orchestrad, liborchestra or the executor: everything it needs from the host
 * comes through the orc_plugin_host table passed to it. Build it with
 * -fvisibility=hidden and mark the entry with ORC_PLUGIN_EXPORT.
 *
 * Life of a plugin:
 *  1. The executor dlopens every *.so of its --plugins folder (RTLD_NOW | RTLD_LOCAL), looks
 *     up orc_plugin_entry and calls it once with the host table. The entry returns a pointer
 *     to a static descriptor (or NULL to refuse to load). The executor checks abi_version
 *     (must equal its ORC_PLUGIN_ABI_VERSION), struct_size (at least the size of the
 *     version-1 descriptor) and each function name, and refuses a bad plugin with one log
 *     line while it keeps serving the others. The entry must do nothing but return the
 *     descriptor: no threads, no I/O, no global state that a function relies on.
 *  2. The executor advertises every function name to the coordinator and leases jobs for
 *     them.
 *  3. Jobs run in plugin host processes (the executor binary re-executed, which dlopens
 *     the plugins again and calls the entries again), one call at a time, many calls per
 *     host: a function may crash, block or call exit without harming the executor (its host
 *     is replaced). A function that runs past its deadline (--job-timeout, 300 s by
 *     default) is killed with SIGKILL, and a host has a memory limit (--job-memory). So a
 *     function needs no thread safety and may use blocking I/O, but must not rely on state
 *     kept between calls in memory (keep it under storage_root) and must not leak.
 *
 * Function names are the upstream Python names, "module.name", as a machine step's
 * execution_function {"module": "simple_workflow.v1.crawl", "name": "crawl_page"} names
 * "simple_workflow.v1.crawl.crawl_page". "command" is reserved for external commands.
 *
 * Compatibility rules: ORC_PLUGIN_ABI_VERSION changes whenever a field's meaning or
 * position changes; fields are only ever appended, and struct_size tells the reader how
 * many are present, so a host reads only what the plugin filled in and a plugin reads only
 * what the host (orc_plugin_host.struct_size) provides.
 */
#ifndef ORCHESTRA_PLUGIN_H
#define ORCHESTRA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ORC_PLUGIN_ABI_VERSION is the version of this interface; a plugin reports the one it was
 * built with in orc_plugin_descriptor.abi_version. */
#define ORC_PLUGIN_ABI_VERSION 1u

/* ORC_PLUGIN_ENTRY_SYMBOL is the name the executor looks up with dlsym. */
#define ORC_PLUGIN_ENTRY_SYMBOL "orc_plugin_entry"

/* ORC_PLUGIN_NAME_MAX bounds a function name ("module.name"), terminator excluded. */
#define ORC_PLUGIN_NAME_MAX 255

/* ORC_PLUGIN_EXPORT marks the entry symbol visible in a -fvisibility=hidden build. */
#define ORC_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Log levels for orc_plugin_host.log. */
enum orc_plugin_log_level {
    ORC_PLUGIN_LOG_DEBUG = 0,
    ORC_PLUGIN_LOG_INFO = 1,
    ORC_PLUGIN_LOG_WARN = 2,
    ORC_PLUGIN_LOG_ERROR = 3,
};

/*
 * orc_plugin_status is what a function returns.
 *  - ORC_PLUGIN_OK: *output holds the text of a JSON object, the step's result (what the
 *    upstream Python function returned). An "error" the upstream function reports inside
 *    its result, like crawl_page's {"status":"error",...}, is still ORC_PLUGIN_OK.
 *  - ORC_PLUGIN_FAIL: the function failed (the upstream function raised). *error may hold
 *    a message. The coordinator retries the job as the step's retry_policy allows.
 *  - ORC_PLUGIN_FAIL_PERMANENT: the function failed in a way a retry cannot fix (bad
 *    input). The job is failed at once, without retries.
 */
typedef enum orc_plugin_status {
    ORC_PLUGIN_OK = 0,
    ORC_PLUGIN_FAIL = 1,
    ORC_PLUGIN_FAIL_PERMANENT = 2,
} orc_plugin_status;

/*
 * orc_plugin_host is the table of host services. The host owns it; it stays valid and
 * unchanged for as long as the plugin is loaded. Read a field only when struct_size covers
 * it (offsetof(orc_plugin_host, field) < host->struct_size).
 */
typedef struct orc_plugin_host {
    /* abi_version: the host's ORC_PLUGIN_ABI_VERSION. */
    uint32_t abi_version;
    /* struct_size: sizeof(orc_plugin_host) in the host. */
    uint32_t struct_size;
    /* log writes one line to the executor's log (stderr) at the given level; printf-style
     * format, no trailing newline needed. */
    void (*log)(const struct orc_plugin_host *host, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* storage_root: an absolute path to a folder the function may create files in (the
     * executor's --storage). Results that point at files use file:// URLs under it. */
    const char *storage_root;
    /* alloc allocates n bytes for *output and *error (NULL when out of memory). */
    void *(*alloc)(size_t n);
    /* free releases memory from alloc (NULL allowed). */
    void (*free)(void *p);
    /* random returns 64 random bits from the host's random source (a fixed sequence in
     * tests), for choices like crawl_page's random image. */
    uint64_t (*random)(const struct orc_plugin_host *host);
    /* host_data is for the host's own use; plugins leave it alone. */
    void *host_data;
} orc_plugin_host;

/*
 * orc_plugin_fn is a machine-step function.
 *  - project_data: the text of the project's data, a JSON object with "project_id" added
 *    (borrowed for the call);
 *  - prerequisites: the text of the flat prerequisites dict (spec 3.6): a JSON object that
 *    maps every ancestor step slug to its task's latest data (borrowed);
 *  - output: on ORC_PLUGIN_OK, set it to the text of a JSON object allocated with
 *    host->alloc (the host frees it);
 *  - error: on a failure, optionally set it to a message allocated with host->alloc.
 * Returns an orc_plugin_status. Output that is not a JSON object fails the job.
 */
typedef int (*orc_plugin_fn)(const orc_plugin_host *host, const char *project_data,
                             const char *prerequisites, char **output, char **error);

/* orc_plugin_function names one function of a plugin. */
typedef struct orc_plugin_function {
    /* name: "module.name", 1 to ORC_PLUGIN_NAME_MAX printable ASCII characters but ':',
     * unique across all the plugins of one executor (a duplicate is refused). */
    const char *name;
    /* fn: the function. */
    orc_plugin_fn fn;
} orc_plugin_function;

/*
 * orc_plugin_descriptor is what orc_plugin_entry returns: static, constant data owned by
 * the plugin that stays valid while it is loaded.
 */
typedef struct orc_plugin_descriptor {
    /* abi_version: ORC_PLUGIN_ABI_VERSION as the plugin was built. */
    uint32_t abi_version;
    /* struct_size: sizeof(orc_plugin_descriptor) as the plugin was built. */
    uint32_t struct_size;
    /* name: the plugin's name for log lines, e.g. "simple_workflow". */
    const char *name;
    /* n_functions: the number of entries in functions (at least 1). */
    size_t n_functions;
    /* functions: the functions the plugin provides. */
    const orc_plugin_function *functions;
} orc_plugin_descriptor;

/* orc_plugin_entry_fn is the type of the entry symbol. */
typedef const orc_plugin_descriptor *(*orc_plugin_entry_fn)(const orc_plugin_host *host);

/*
 * orc_plugin_entry is the one symbol a plugin exports. It is given the host table and
 * returns the plugin's descriptor, or NULL to refuse to load (for example when
 * host->abi_version is one the plugin does not support).
 */
ORC_PLUGIN_EXPORT const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *host);

#ifdef __cplusplus
}
#endif
#endif
