/*
 * bundle.c: reading workflow folders into WorkflowBundle messages.
 *
 * Only files are read here; the JSON is parsed and validated by the server (loader.c).
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

/* A growable list of malloc'd strings. */
typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_push(strlist *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
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
