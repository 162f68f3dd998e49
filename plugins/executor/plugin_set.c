/*
 * plugin_set.c: loading plugins with dlopen and checking their descriptors.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin_set.h"
#include "vec.h"

/* The descriptor as ABI version 1 defined it: the smallest struct_size accepted. */
#define PLUGIN_DESCRIPTOR_V1_SIZE (offsetof(orc_plugin_descriptor, functions) + sizeof(void *))
/* More functions than this in one plugin is taken as a corrupt descriptor. */
#define PLUGIN_MAX_FUNCTIONS 4096

typedef struct plugin {
    void *handle;
    char *path;
} plugin;

typedef struct entry {
    const char *name; /* owned by the plugin's descriptor */
    orc_plugin_fn fn;
    size_t plugin; /* index into plugins */
} entry;

struct orci_plugin_set {
    const orc_plugin_host *host;
    plugin *plugins;
    size_t n_plugins;
    entry *entries;
    size_t n_entries;
};

int orci_plugin_set_new(const orc_plugin_host *host, orci_plugin_set **out, orc_error *err)
{
    *out = NULL;
    orci_plugin_set *s = calloc(1, sizeof *s);
    if (!s)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    s->host = host;
    *out = s;
    return ORC_OK;
}

void orci_plugin_set_destroy(orci_plugin_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_plugins; i++) {
        dlclose(s->plugins[i].handle);
        free(s->plugins[i].path);
    }
    free(s->plugins);
    free(s->entries);
    free(s);
}

/* plugin_base_name returns the file name part of path, for messages. */
static const char *plugin_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* plugin_name_ok says whether name is 1..ORC_PLUGIN_NAME_MAX printable ASCII characters,
 * without ':' (the coordinator's hook jobs are named "kind:function": domain/jobs.h). */
static bool plugin_name_ok(const char *name)
{
    if (!name || !name[0])
        return false;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        if (n >= ORC_PLUGIN_NAME_MAX || *p <= ' ' || *p > '~' || *p == ':')
            return false;
    }
    return strcmp(name, "command") != 0;
}

static const entry *plugin_set_lookup(const orci_plugin_set *s, const char *name)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        if (strcmp(s->entries[i].name, name) == 0)
            return &s->entries[i];
    }
    return NULL;
}

/* plugin_check validates a descriptor against the set; fills err on refusal. */
static int plugin_check(const orci_plugin_set *s, const char *file, const orc_plugin_descriptor *d,
                        orc_error *err)
{
    if (!d)
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "plugin %s: its entry refused to load",
                             file);
    if (d->abi_version != ORC_PLUGIN_ABI_VERSION)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "plugin %s: ABI version %u, this executor speaks %u", file,
                             d->abi_version, ORC_PLUGIN_ABI_VERSION);
    if (d->struct_size < PLUGIN_DESCRIPTOR_V1_SIZE)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "plugin %s: descriptor struct_size %u is smaller than %zu", file,
                             d->struct_size, (size_t)PLUGIN_DESCRIPTOR_V1_SIZE);
    if (d->n_functions == 0 || d->n_functions > PLUGIN_MAX_FUNCTIONS || !d->functions)
        return orc_error_set(err, ORC_FAILED_PRECONDITION,
                             "plugin %s: descriptor lists %zu functions", file, d->n_functions);
    for (size_t i = 0; i < d->n_functions; i++) {
        const orc_plugin_function *f = &d->functions[i];
        if (!plugin_name_ok(f->name) || !f->fn)
            return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "plugin %s: function %zu has no valid name or no code", file, i);
        const entry *dup = plugin_set_lookup(s, f->name);
        for (size_t j = 0; !dup && j < i; j++) {
            if (strcmp(d->functions[j].name, f->name) == 0)
                return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                     "plugin %s: function %s is listed twice", file, f->name);
        }
        if (dup)
            return orc_error_set(err, ORC_FAILED_PRECONDITION,
                                 "plugin %s: function %s is already provided by %s", file, f->name,
                                 plugin_base_name(s->plugins[dup->plugin].path));
    }
    return ORC_OK;
}

int orci_plugin_set_load(orci_plugin_set *s, const char *path, orc_error *err)
{
    const char *file = plugin_base_name(path);
    int rc = ORC_OK;
    char *path_copy = NULL;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return orc_error_set(err, ORC_FAILED_PRECONDITION, "plugin %s: cannot load: %s", file,
                             why ? why : "unknown error");
    }
    orc_plugin_entry_fn entry_fn;
    void *sym = dlsym(handle, ORC_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        rc = orc_error_set(err, ORC_FAILED_PRECONDITION, "plugin %s: no %s symbol", file,
                           ORC_PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    /* POSIX guarantees a data pointer from dlsym converts to a function pointer. */
    memcpy(&entry_fn, &sym, sizeof entry_fn);
    const orc_plugin_descriptor *d = entry_fn(s->host);
    if ((rc = plugin_check(s, file, d, err)) != ORC_OK)
        goto fail;

    path_copy = strdup(path);
    plugin *np = realloc(s->plugins, (s->n_plugins + 1) * sizeof *np);
    if (np)
        s->plugins = np;
    entry *ne = realloc(s->entries, (s->n_entries + d->n_functions) * sizeof *ne);
    if (ne)
        s->entries = ne;
    if (!path_copy || !np || !ne) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "plugin %s: out of memory", file);
        goto fail;
    }
    for (size_t i = 0; i < d->n_functions; i++) {
        s->entries[s->n_entries++] =
            (entry){.name = d->functions[i].name, .fn = d->functions[i].fn, .plugin = s->n_plugins};
    }
    s->plugins[s->n_plugins++] = (plugin){.handle = handle, .path = path_copy};
    return ORC_OK;

fail:
    free(path_copy);
    dlclose(handle);
    return rc;
}

static int plugin_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* plugin_is_so says whether a directory entry name ends in ".so". */
static bool plugin_is_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

int orci_plugin_set_load_dir(orci_plugin_set *s, const char *dir, size_t *n_loaded,
                             size_t *n_refused, orc_error *err)
{
    size_t loaded = 0, refused = 0, n_names = 0, cap = 0;
    char **names = NULL;
    int rc = ORC_OK;
    DIR *d = opendir(dir);
    if (!d)
        return orc_error_set(err, ORC_NOT_FOUND, "cannot read the plugin folder %s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!plugin_is_so(de->d_name))
            continue;
        if (!orci_grow(&names, &cap, n_names + 1, sizeof *names)) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
        if (!(names[n_names] = strdup(de->d_name))) {
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
            goto out;
        }
        n_names++;
    }
    if (n_names > 0)
        qsort(names, n_names, sizeof *names, plugin_name_cmp);
    for (size_t i = 0; i < n_names; i++) {
        char path[4096];
        orc_error e = {0};
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (orci_plugin_set_load(s, path, &e) == ORC_OK) {
            loaded++;
        } else {
            orci_warn("%s; refused", e.message);
            refused++;
        }
    }

out:
    closedir(d);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    if (n_loaded)
        *n_loaded = loaded;
    if (n_refused)
        *n_refused = refused;
    return rc;
}

size_t orci_plugin_set_count(const orci_plugin_set *s)
{
    return s ? s->n_entries : 0;
}

const char *orci_plugin_set_function_name(const orci_plugin_set *s, size_t i)
{
    return s && i < s->n_entries ? s->entries[i].name : NULL;
}

size_t orci_plugin_set_plugins(const orci_plugin_set *s)
{
    return s ? s->n_plugins : 0;
}

const char *orci_plugin_set_plugin_path(const orci_plugin_set *s, size_t i)
{
    return s && i < s->n_plugins ? s->plugins[i].path : NULL;
}

orc_plugin_fn orci_plugin_set_find(const orci_plugin_set *s, const char *name, const char **path)
{
    const entry *e = s && name ? plugin_set_lookup(s, name) : NULL;
    if (path)
        *path = e ? s->plugins[e->plugin].path : NULL;
    return e ? e->fn : NULL;
}
