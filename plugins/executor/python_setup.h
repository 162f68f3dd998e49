/*
 * python_setup.h: what an executor needs to run Python functions (plugins/README.md "Python
 * steps"): the interpreter (Debian's /usr/bin/python3), the runner script installed with the
 * project, the --python-path folders, and the top-level packages it advertises to the
 * coordinator (LeaseJobRequest.python_packages).
 *
 * Which jobs are Python's. The executor takes a job whose function's first dotted component
 * is a package it can import: a folder holding __init__.py, or a module file NAME.py, directly
 * in a --python-path folder or a PYTHONPATH entry, plus each --python-package (a package
 * installed elsewhere on sys.path). The folders are read once, at start: restart the executor
 * after adding a workflow package. A C plugin that provides a step's exact function name
 * still runs it (job.c); creation policies, abort hooks and sample-data loads always run in
 * Python.
 *
 * Built on the main thread at start; read-only afterwards (any thread).
 */
#ifndef ORCI_PYTHON_SETUP_H
#define ORCI_PYTHON_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "orchestra/error.h"

/* The interpreter used unless told otherwise. */
#define ORCI_PYTHON_DEFAULT "/usr/bin/python3"
/* The runner script's name, in its folder (share/orchestra/python when installed). */
#define ORCI_PYTHON_RUNNER "orchestra_runner.py"
/* The most packages advertised (the coordinator's ORCI_JOB_MAX_PACKAGES). */
#define ORCI_PYTHON_MAX_PACKAGES 256

/* orci_python_opts: the executor's settings (borrowed for the call). */
typedef struct orci_python_opts {
    const char *interpreter;  /* NULL: ORCI_PYTHON_DEFAULT */
    const char *const *paths; /* --python-path folders */
    size_t n_paths;
    const char *const *packages; /* --python-package names */
    size_t n_packages;
    const char *pythonpath; /* $PYTHONPATH (NULL: none) */
    const char *self_exe;   /* the executor binary, to find the installed script */
    const char *script;     /* NULL: found next to the binary, else in the sources */
} orci_python_opts;

/* orci_python is the result; its strings are owned by it. */
typedef struct orci_python {
    char *interpreter;
    char *script;
    char **paths; /* absolute --python-path folders */
    size_t n_paths;
    char **packages; /* sorted, unique */
    size_t n_packages;
    size_t dropped; /* packages past ORCI_PYTHON_MAX_PACKAGES, not advertised */
} orci_python;

/*
 * orci_python_setup checks the interpreter and the script and lists the packages into *out
 * (release with orci_python_destroy). ORC_NOT_FOUND when the interpreter or the script is
 * missing, ORC_INVALID_ARGUMENT for a --python-path that is no folder or a --python-package
 * that is no identifier; the message says which.
 */
int orci_python_setup(const orci_python_opts *opts, orci_python **out, orc_error *err);

/* orci_python_destroy frees py; NULL is allowed. */
void orci_python_destroy(orci_python *py);

/* orci_python_takes says whether function ("pkg.mod.fn") is in one of py's packages. */
bool orci_python_takes(const orci_python *py, const char *function);

#endif
