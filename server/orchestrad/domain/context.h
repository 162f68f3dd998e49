/*
 * context.h: the context of one domain transition, shared by the task lifecycle and the
 * machine-step jobs below it (jobs.h). Kept apart so that jobs.c needs nothing of the
 * lifecycle but the table of machine-task operations the lifecycle hands it.
 */
#ifndef ORCI_DOMAIN_CONTEXT_H
#define ORCI_DOMAIN_CONTEXT_H

#include <stdint.h>

#include "store/model.h"
#include "store/store.h"

/* orci_lc is the context of one transition. */
typedef struct orci_lc {
    orci_db *db;         /* the writer's connection, inside a transaction */
    int64_t now_us;      /* the time of the transition */
    const orci_rng *rng; /* sampled review; NULL means orci_rng_system */
} orci_lc;

#endif
