/*
 * bundle.c: reading workflow folders into WorkflowBundle messages.
 *
 * Only files are read here; the JSON is validated by the server (workflow/loader_plan.c).
 * The one thing read out of the JSON is the interface modules the steps name
 * (user_interface "module"): their files are read too, from inside the folder only.
 * Every string of the bundle is malloc'd so that protobuf_c_message_free_unpacked(b, NULL)
 * releases it.
 */
#include "bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "vec.h"

/* A growable list of malloc'd strings. */
typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_push(strlist *l, char *s)
{
    if (!orci_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v))
        return -1;
    l->v[l->n++] = s;
    return 0;
}

static void strlist_fini(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path_join returns "<dir>/<name>" (malloc'd), or NULL when out of memory. */
static char *path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + nl + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    size_t at = dl;
    if (!slash)
        p[at++] = '/';
    memcpy(p + at, name, nl + 1);
    return p;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * read_text reads the regular file at path into *out (malloc'd, NUL-terminated). Files over
 * ORCI_BUNDLE_FILE_MAX and files holding NUL bytes (they could not travel as a protobuf
 * string) are refused.
 */
static int read_text(const char *path, char **out, orc_error *err)
{
    int rc = ORC_OK;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot open %s: %s", path,
                             strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > ORCI_BUNDLE_FILE_MAX) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is larger than %u bytes", path,
                           (unsigned)ORCI_BUNDLE_FILE_MAX);
        goto out;
    }
    /* Read up to one byte past the limit: the file may grow between fstat and read. */
    size_t cap = (size_t)st.st_size + 1, len = 0;
    buf = malloc(cap + 1);
    if (!buf) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > ORCI_BUNDLE_FILE_MAX) {
                rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is larger than %u bytes", path,
                                   (unsigned)ORCI_BUNDLE_FILE_MAX);
                goto out;
            }
            size_t ncap = cap * 2 > ORCI_BUNDLE_FILE_MAX + 1 ? ORCI_BUNDLE_FILE_MAX + 1 : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", path);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot read %s: %s", path,
                               strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > ORCI_BUNDLE_FILE_MAX) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s is larger than %u bytes", path,
                           (unsigned)ORCI_BUNDLE_FILE_MAX);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "%s contains a NUL byte", path);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

/* sorted_subdirs lists the names of dir's immediate sub-folders holding `marker`. */
static int sorted_subdirs(const char *dir, const char *marker, strlist *names, orc_error *err)
{
    int rc = ORC_OK;
    DIR *d = opendir(dir);
    if (!d)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "cannot list %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *sub = path_join(dir, e->d_name);
        char *file = sub ? path_join(sub, marker) : NULL;
        bool keep = file && is_dir(sub) && is_file(file);
        free(file);
        free(sub);
        if (!keep)
            continue;
        char *name = strdup(e->d_name);
        if (!name || strlist_push(names, name) != 0) {
            free(name);
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory listing %s", dir);
            goto out;
        }
    }
    if (names->n > 1)
        qsort(names->v, names->n, sizeof names->v[0], cmp_str);
out:
    closedir(d);
    return rc;
}

/* trimmed_copy returns dir without trailing slashes (but "/" stays "/"). */
static char *trimmed_copy(const char *dir)
{
    char *s = strdup(dir);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static char *base_name_copy(const char *trimmed)
{
    const char *slash = strrchr(trimmed, '/');
    const char *b = slash && slash[1] ? slash + 1 : trimmed;
    return strdup(b);
}

/* ---- interface modules ------------------------------------------------------------- */

/*
 * module_path_ok is the server's rule for a module path (workflow/interfaces.c), checked here
 * too so that nothing outside the folder is ever opened: relative, no "." / ".." / empty
 * component, no backslash, a .js or .mjs file, at most 255 bytes.
 */
static bool module_path_ok(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || n > 255 || path[0] == '/' || strchr(path, '\\'))
        return false;
    if (!((n > 3 && strcmp(path + n - 3, ".js") == 0) ||
          (n > 4 && strcmp(path + n - 4, ".mjs") == 0)))
        return false;
    for (const char *c = path; *c;) {
        size_t len = strcspn(c, "/");
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += len;
        if (*c == '/')
            c++;
    }
    return true;
}

/* bundle_has_file tells whether b already carries path. */
static bool bundle_has_file(const Orchestra__V1__WorkflowBundle *b, const char *path)
{
    for (size_t i = 0; i < b->n_files; i++)
        if (strcmp(b->files[i]->path, path) == 0)
            return true;
    return false;
}

/*
 * read_module adds the file path (relative to dir, whose resolved form is root) to b. A file
 * that is missing is left out (the server names it); one that resolves outside the folder
 * (a symbolic link leaving it) is refused.
 */
static int read_module(const char *dir, const char *root, const char *path,
                       Orchestra__V1__WorkflowBundle *b, orc_error *err)
{
    char *full = path_join(dir, path);
    if (!full)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", dir);
    char *real = realpath(full, NULL);
    free(full);
    if (!real)
        return ORC_OK;
    size_t rl = strlen(root);
    int rc = ORC_OK;
    if (strncmp(real, root, rl) != 0 || real[rl] != '/') {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                           "interface module %s leaves the workflow folder %s", path, dir);
        goto out;
    }
    Orchestra__V1__WorkflowFile **files = realloc(b->files, (b->n_files + 1) * sizeof *b->files);
    if (!files) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", dir);
        goto out;
    }
    b->files = files;
    Orchestra__V1__WorkflowFile *f = malloc(sizeof *f);
    if (!f) {
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", dir);
        goto out;
    }
    orchestra__v1__workflow_file__init(f);
    b->files[b->n_files++] = f;
    f->text = NULL;
    f->path = strdup(path);
    if (!f->path)
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", dir);
    else
        rc = read_text(real, &f->text, err);
out:
    free(real);
    return rc;
}

/* version_modules reads the modules the steps of one version.json name. */
static int version_modules(const char *dir, const char *root, const Orchestra__V1__VersionFile *vf,
                           Orchestra__V1__WorkflowBundle *b, orc_error *err)
{
    /* A version.json that does not parse is the server's to report. */
    json_t *v = json_loads(vf->json ? vf->json : "", 0, NULL);
    size_t i;
    json_t *step;
    int rc = ORC_OK;
    json_array_foreach(json_object_get(v, "steps"), i, step)
    {
        json_t *module = json_object_get(json_object_get(step, "user_interface"), "module");
        if (!module)
            continue;
        const char *path = json_string_value(module);
        if (!module_path_ok(path)) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                               "%s/%s/version.json: step %zu: user_interface.module must be the "
                               "path of a .js file inside the workflow folder",
                               dir, vf->dir, i + 1);
            break;
        }
        if (!bundle_has_file(b, path) && (rc = read_module(dir, root, path, b, err)) != ORC_OK)
            break;
    }
    json_decref(v);
    return rc;
}

/* read_modules reads every interface module the versions of b name. */
static int read_modules(const char *dir, Orchestra__V1__WorkflowBundle *b, orc_error *err)
{
    char *root = realpath(dir, NULL);
    if (!root)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Workflow directory does not exist.");
    int rc = ORC_OK;
    for (size_t i = 0; i < b->n_versions && rc == ORC_OK; i++)
        rc = version_modules(dir, root, b->versions[i], b, err);
    free(root);
    return rc;
}

int orci_bundle_read(const char *dir, Orchestra__V1__WorkflowBundle **out, orc_error *err)
{
    int rc = ORC_OK;
    Orchestra__V1__WorkflowBundle *b = NULL;
    char *path = NULL;
    strlist names = {0};

    *out = NULL;
    if (!dir || !*dir || !is_dir(dir))
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "Workflow directory does not exist.");
    path = path_join(dir, "workflow.json");
    if (!path)
        goto oom;
    if (!is_file(path)) {
        rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "No \"workflow.json\" manifest file found.");
        goto out;
    }

    b = malloc(sizeof *b);
    if (!b)
        goto oom;
    orchestra__v1__workflow_bundle__init(b);
    b->code_directory = trimmed_copy(dir);
    if (!b->code_directory)
        goto oom;
    b->app = base_name_copy(b->code_directory);
    if (!b->app)
        goto oom;
    rc = read_text(path, &b->workflow_json, err);
    if (rc != ORC_OK)
        goto out;

    rc = sorted_subdirs(dir, "version.json", &names, err);
    if (rc != ORC_OK)
        goto out;
    if (names.n > 0) {
        b->versions = calloc(names.n, sizeof *b->versions);
        if (!b->versions)
            goto oom;
        for (size_t i = 0; i < names.n; i++) {
            Orchestra__V1__VersionFile *vf = malloc(sizeof *vf);
            if (!vf)
                goto oom;
            orchestra__v1__version_file__init(vf);
            b->versions[b->n_versions++] = vf;
            vf->dir = strdup(names.v[i]);
            if (!vf->dir)
                goto oom;
            char *sub = path_join(dir, names.v[i]);
            free(path);
            path = sub ? path_join(sub, "version.json") : NULL;
            free(sub);
            if (!path)
                goto oom;
            char *text = NULL;
            rc = read_text(path, &text, err);
            if (rc != ORC_OK)
                goto out;
            vf->json = text;
        }
    }

    rc = read_modules(dir, b, err);
    if (rc != ORC_OK)
        goto out;

    free(path);
    path = path_join(dir, "sample_data.json");
    if (!path)
        goto oom;
    if (access(path, F_OK) == 0) {
        char *text = NULL;
        rc = read_text(path, &text, err);
        if (rc != ORC_OK)
            goto out;
        b->sample_data_json = text;
    }
    *out = b;
    b = NULL;
    goto out;
oom:
    rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory reading %s", dir);
out:
    strlist_fini(&names);
    free(path);
    orci_bundle_free(b);
    return rc;
}

void orci_bundle_free(Orchestra__V1__WorkflowBundle *b)
{
    if (!b)
        return;
    /* A half-built bundle may hold NULL strings: give them the default back first, since
     * free_unpacked only skips the shared empty-string default. */
    if (!b->app)
        b->app = (char *)protobuf_c_empty_string;
    if (!b->code_directory)
        b->code_directory = (char *)protobuf_c_empty_string;
    if (!b->workflow_json)
        b->workflow_json = (char *)protobuf_c_empty_string;
    for (size_t i = 0; i < b->n_versions; i++) {
        if (!b->versions[i]->dir)
            b->versions[i]->dir = (char *)protobuf_c_empty_string;
        if (!b->versions[i]->json)
            b->versions[i]->json = (char *)protobuf_c_empty_string;
    }
    for (size_t i = 0; i < b->n_files; i++) {
        if (!b->files[i]->path)
            b->files[i]->path = (char *)protobuf_c_empty_string;
        if (!b->files[i]->text)
            b->files[i]->text = (char *)protobuf_c_empty_string;
    }
    protobuf_c_message_free_unpacked(&b->base, NULL);
}

int orci_bundle_scan(const char *const *roots, size_t n_roots, char ***dirs, size_t *n_dirs,
                     orc_error *err)
{
    int rc = ORC_OK;
    strlist found = {0};
    strlist names = {0};

    *dirs = NULL;
    *n_dirs = 0;
    for (size_t r = 0; r < n_roots; r++) {
        const char *root = roots[r];
        if (!root || !*root || !is_dir(root)) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT, "Workflow directory does not exist: %s",
                               root ? root : "");
            goto out;
        }
        char *manifest = path_join(root, "workflow.json");
        if (!manifest)
            goto oom;
        bool is_workflow = is_file(manifest);
        free(manifest);
        if (is_workflow) {
            char *copy = trimmed_copy(root);
            if (!copy || strlist_push(&found, copy) != 0) {
                free(copy);
                goto oom;
            }
            continue;
        }
        rc = sorted_subdirs(root, "workflow.json", &names, err);
        if (rc != ORC_OK)
            goto out;
        if (names.n == 0) {
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                               "No \"workflow.json\" manifest file found in %s or its "
                               "sub-folders.",
                               root);
            goto out;
        }
        for (size_t i = 0; i < names.n; i++) {
            char *p = path_join(root, names.v[i]);
            if (!p || strlist_push(&found, p) != 0) {
                free(p);
                goto oom;
            }
        }
        strlist_fini(&names);
    }
    *dirs = found.v;
    *n_dirs = found.n;
    found.v = NULL;
    found.n = 0;
    goto out;
oom:
    rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory scanning workflow folders");
out:
    strlist_fini(&names);
    strlist_fini(&found);
    return rc;
}
