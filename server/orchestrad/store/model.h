/*
 * model.h: the enums of the data model (spec section 1) with their upstream numbering and
 * labels, and the injectable random source. Pure functions; any thread.
 */
#ifndef ORCI_MODEL_H
#define ORCI_MODEL_H

typedef enum orci_task_status {
    ORCI_TASK_AWAITING_PROCESSING = 0,
    ORCI_TASK_PROCESSING = 1,
    ORCI_TASK_PENDING_REVIEW = 2,
    ORCI_TASK_REVIEWING = 3,
    ORCI_TASK_POST_REVIEW_PROCESSING = 4,
    ORCI_TASK_COMPLETE = 5,
    ORCI_TASK_ABORTED = 6,
} orci_task_status;

typedef enum orci_assignment_status {
    ORCI_ASSIGNMENT_PROCESSING = 0,
    ORCI_ASSIGNMENT_SUBMITTED = 1,
    ORCI_ASSIGNMENT_FAILED = 2,
} orci_assignment_status;

typedef enum orci_iteration_status {
    ORCI_ITERATION_PROCESSING = 0,
    ORCI_ITERATION_REQUESTED_REVIEW = 1,
    ORCI_ITERATION_PROVIDED_REVIEW = 2,
} orci_iteration_status;

typedef enum orci_project_status {
    ORCI_PROJECT_ACTIVE = 0,
    ORCI_PROJECT_ABORTED = 2,
    ORCI_PROJECT_PAUSED = 3,
    ORCI_PROJECT_COMPLETED = 4,
} orci_project_status;

typedef enum orci_role {
    ORCI_ROLE_ENTRY_LEVEL = 0,
    ORCI_ROLE_REVIEWER = 1,
} orci_role;

typedef enum orci_task_class {
    ORCI_TASK_CLASS_TRAINING = 0,
    ORCI_TASK_CLASS_REAL = 1,
} orci_task_class;

/* Labels as the upstream JSON APIs show them ("Awaiting Processing", ...); "" if unknown. */
const char *orci_task_status_label(int status);
const char *orci_assignment_status_label(int status);
const char *orci_iteration_status_label(int status);
const char *orci_project_status_label(int status);
/* "entry_level" / "reviewer"; orci_role_parse returns -1 for anything else. */
const char *orci_role_name(int role);
int orci_role_parse(const char *s);
/* "real" / "training"; orci_task_class_parse returns -1 for anything else. */
const char *orci_task_class_name(int task_class);
int orci_task_class_parse(const char *s);

/*
 * orci_rng is the injectable random source (sampled review). uniform returns a number in
 * [0, 1). Tests pass a scripted one; the daemon uses orci_rng_system.
 */
typedef struct orci_rng {
    double (*uniform)(void *arg);
    void *arg;
} orci_rng;

extern const orci_rng orci_rng_system;

#endif
