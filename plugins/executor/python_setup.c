/*
 * python_setup.c: the interpreter, the runner script and the packages an executor advertises
 * (python_setup.h).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "python_setup.h"

#ifndef ORC_PYTHON_DATADIR
#define ORC_PYTHON_DATADIR "share/orchestra/python"
#endif

/* is_identifier: a Python identifier in ASCII (what a package folder or module is named). */
static bool is_identifier(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

void orci_python_destroy(orci_python *py)
{
    if (!py)
        return;
    free(py->interpreter);
    free(py->script);
    for (size_t i = 0; i < py->n_paths; i++)
        free(py->paths[i]);
    free(py->paths);
    for (size_t i = 0; i < py->n_packages; i++)
        free(py->packages[i]);
    free(py->packages);
    free(py);
}

/* add_package adds name (n bytes) once; -1 when out of memory. Past the cap it warns once. */
static int add_package(orci_python *py, const char *name, size_t n)
{
    for (size_t i = 0; i < py->n_packages; i++)
        if (strlen(py->packages[i]) == n && memcmp(py->packages[i], name, n) == 0)
            return 0;
    if (py->n_packages == ORCI_PYTHON_MAX_PACKAGES) {
        if (py->dropped++ == 0)
            orci_warn("python: more than %d top-level packages; %.*s and later ones are not "
                      "taken",
                      ORCI_PYTHON_MAX_PACKAGES, (int)n, name);
        return 0;
    }
    char *copy = strndup(name, n);
    if (!copy)
        return -1;
    py->packages[py->n_packages++] = copy;
    return 0;
}

/* scan_folder adds the packages (folders with __init__.py) and modules (NAME.py) of dir.
 * A folder that cannot be read adds nothing (PYTHONPATH may name one that is gone). */
static int scan_folder(orci_python *py, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        char path[PATH_MAX];
        struct stat st;
        if (n > 3 && strcmp(name + n - 3, ".py") == 0 && is_identifier(name, n - 3)) {
            rc = add_package(py, name, n - 3);
        } else if (is_identifier(name, n) &&
                   snprintf(path, sizeof path, "%s/%s/__init__.py", dir, name) < (int)sizeof path &&
                   stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = add_package(py, name, n);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* find_script locates the runner script: next to an installed binary, else in the sources. */
static char *find_script(const orci_python_opts *o)
{
    char path[PATH_MAX];
    if (o->script)
        return access(o->script, R_OK) == 0 ? strdup(o->script) : NULL;
    if (o->self_exe) {
        const char *slash = strrchr(o->self_exe, '/');
        int dir = slash ? (int)(slash - o->self_exe) : 0;
        if (snprintf(path, sizeof path, "%.*s/../%s/%s", dir, o->self_exe, ORC_PYTHON_DATADIR,
                     ORCI_PYTHON_RUNNER) < (int)sizeof path &&
            access(path, R_OK) == 0)
            return realpath(path, NULL);
    }
#ifdef ORC_PYTHON_SOURCE_DIR
    snprintf(path, sizeof path, "%s/%s", ORC_PYTHON_SOURCE_DIR, ORCI_PYTHON_RUNNER);
    if (access(path, R_OK) == 0)
        return strdup(path);
#endif
    return NULL;
}

/* setup_paths resolves the --python-path folders into py->paths and scans them. */
static int setup_paths(const orci_python_opts *o, orci_python *py, orc_error *err)
{
    py->paths = calloc(o->n_paths + 1, sizeof *py->paths);
    if (!py->paths)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < o->n_paths; i++) {
        struct stat st;
        char *abs = realpath(o->paths[i], NULL);
        if (!abs || stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(abs);
            return orc_error_set(err, ORC_INVALID_ARGUMENT, "--python-path %s is not a folder",
                                 o->paths[i]);
        }
        py->paths[py->n_paths++] = abs;
        if (scan_folder(py, abs) != 0)
            return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    return ORC_OK;
}

/* setup_pythonpath scans the entries of $PYTHONPATH (':'-separated). */
static int setup_pythonpath(const char *pythonpath, orci_python *py, orc_error *err)
{
    for (const char *p = pythonpath; p && *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char dir[PATH_MAX];
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = '\0';
            if (scan_folder(py, dir) != 0)
                return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        }
        p = colon ? colon + 1 : p + n;
    }
    return ORC_OK;
}

int orci_python_setup(const orci_python_opts *o, orci_python **out, orc_error *err)
{
    *out = NULL;
    orci_python *py = calloc(1, sizeof *py);
    if (!py || !(py->packages = calloc(ORCI_PYTHON_MAX_PACKAGES, sizeof *py->packages))) {
        free(py);
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    int rc = ORC_OK;
    const char *interp = o->interpreter ? o->interpreter : ORCI_PYTHON_DEFAULT;
    if (access(interp, X_OK) != 0)
        rc = orc_error_set(err, ORC_NOT_FOUND, "no Python interpreter at %s", interp);
    else if (!(py->interpreter = strdup(interp)))
        rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    else if (!(py->script = find_script(o)))
        rc = orc_error_set(err, ORC_NOT_FOUND, "the Python runner script (%s) is not installed",
                           o->script ? o->script : ORCI_PYTHON_RUNNER);
    if (rc == ORC_OK)
        rc = setup_paths(o, py, err);
    if (rc == ORC_OK)
        rc = setup_pythonpath(o->pythonpath, py, err);
    for (size_t i = 0; rc == ORC_OK && i < o->n_packages; i++) {
        const char *name = o->packages[i];
        if (!is_identifier(name, strlen(name)))
            rc = orc_error_set(err, ORC_INVALID_ARGUMENT,
                               "--python-package %s is not a top-level package name", name);
        else if (add_package(py, name, strlen(name)) != 0)
            rc = orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    }
    if (rc != ORC_OK) {
        orci_python_destroy(py);
        return rc;
    }
    qsort(py->packages, py->n_packages, sizeof *py->packages, cmp_str);
    *out = py;
    return ORC_OK;
}

bool orci_python_takes(const orci_python *py, const char *function)
{
    const char *dot = function ? strchr(function, '.') : NULL;
    if (!py || !dot || dot == function)
        return false;
    size_t n = (size_t)(dot - function);
    for (size_t i = 0; i < py->n_packages; i++)
        if (strlen(py->packages[i]) == n && memcmp(py->packages[i], function, n) == 0)
            return true;
    return false;
}
