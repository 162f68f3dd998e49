/*
 * loader_internal.h: what the loader's two halves share (loader_plan.c validates a bundle
 * into a plan, loader_write.c writes it): the sorted slug index and a few plan readers.
 */
#ifndef ORCI_LOADER_INTERNAL_H
#define ORCI_LOADER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "workflow/loader.h"

/* A sorted slug -> position index, for lookups and duplicate detection. */
typedef struct slug_ix {
    const char *slug;
    size_t idx;
} slug_ix;

/* orci_ldi_oom sets err to "out of memory" and returns its code. */
int orci_ldi_oom(orc_error *err);

/* orci_ldi_strv_has tells whether the sorted list v holds s. */
bool orci_ldi_strv_has(char *const *v, size_t n, const char *s);

/* orci_ldi_ix_find returns the position of slug in a sorted index, or -1. */
long orci_ldi_ix_find(const slug_ix *ix, size_t n, const char *slug);

/* orci_ldi_steps_index / certs_index index a plan's steps / certifications (malloc'd,
 * sorted by slug; NULL when out of memory). */
slug_ix *orci_ldi_steps_index(const orci_load_plan *p);
slug_ix *orci_ldi_certs_index(const orci_load_plan *p);

/* The dependencies of a step, creation ones first: orci_ldi_dep_at(s, k) for k below
 * orci_ldi_n_deps(s). */
size_t orci_ldi_n_deps(const orci_load_step *s);
const char *orci_ldi_dep_at(const orci_load_step *s, size_t k);

/* orci_ldi_item_fail records a load-all item's failure. */
void orci_ldi_item_fail(orci_load_item *it, const orc_error *e);

/*
 * loader_head.c: the keys upstream HEAD added (spec 2): a step's "creation_policy" (only the
 * built-in policies of store/policy.h load) and "completion_ends_project", a version's
 * "abort_completion_function". Each fills its fields with the defaults when a key is absent.
 */
int orci_ldi_plan_head_step(const json_t *js, orci_load_step *s, orc_error *err);
int orci_ldi_plan_head_version(const json_t *vj, const char *ctx, orci_load_plan *p,
                               orc_error *err);

#endif
