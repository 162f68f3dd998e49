/*
 * context.h: the context of one domain transition, shared by the task lifecycle and the
 * machine-step jobs below it (jobs.h). Kept apart so that jobs.c needs nothing of the
 * lifecycle but the table of machine-task operations the lifecycle hands it.
 */
#ifndef ORCI_DOMAIN_CONTEXT_H
#define ORCI_DOMAIN_CONTEXT_H

#include <stdint.h>

#include "store/events.h"
#include "store/model.h"
#include "store/store.h"

#define ORCI_LC_TASK_MEMO 2

/* orci_lc is the context of one transition. */
typedef struct orci_lc {
    orci_db *db;         /* the writer's connection, inside a transaction */
    int64_t now_us;      /* the time of the transition */
    const orci_rng *rng; /* sampled review; NULL means orci_rng_system */
    /* The event context of the tasks the transition's events named last (graph.h,
     * orci_lc_task_ctx): a machine step names two tasks, each in three or four events.
     * Zeroed by the initializer; a task's project and step never change. */
    orci_event_task task_memo[ORCI_LC_TASK_MEMO];
    unsigned task_memo_next;
} orci_lc;

#endif
