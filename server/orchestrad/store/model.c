/*
 * model.c: labels and parsers of the data-model enums (spec section 1) and the system
 * random source.
 */
#include "store/model.h"

#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "log.h"

const char *orci_task_status_label(int status)
{
    switch (status) {
    case ORCI_TASK_AWAITING_PROCESSING:
        return "Awaiting Processing";
    case ORCI_TASK_PROCESSING:
        return "Processing";
    case ORCI_TASK_PENDING_REVIEW:
        return "Pending Review";
    case ORCI_TASK_REVIEWING:
        return "Reviewing";
    case ORCI_TASK_POST_REVIEW_PROCESSING:
        return "Post-review Processing";
    case ORCI_TASK_COMPLETE:
        return "Complete";
    case ORCI_TASK_ABORTED:
        return "Aborted";
    default:
        return "";
    }
}

const char *orci_assignment_status_label(int status)
{
    switch (status) {
    case ORCI_ASSIGNMENT_PROCESSING:
        return "Processing";
    case ORCI_ASSIGNMENT_SUBMITTED:
        return "Submitted";
    case ORCI_ASSIGNMENT_FAILED:
        return "Failed";
    default:
        return "";
    }
}

const char *orci_iteration_status_label(int status)
{
    switch (status) {
    case ORCI_ITERATION_PROCESSING:
        return "Processing";
    case ORCI_ITERATION_REQUESTED_REVIEW:
        return "Requested Review";
    case ORCI_ITERATION_PROVIDED_REVIEW:
        return "Provided Review";
    default:
        return "";
    }
}

const char *orci_project_status_label(int status)
{
    switch (status) {
    case ORCI_PROJECT_ACTIVE:
        return "Active";
    case ORCI_PROJECT_ABORTED:
        return "Aborted";
    case ORCI_PROJECT_PAUSED:
        return "Paused";
    case ORCI_PROJECT_COMPLETED:
        return "Completed";
    default:
        return "";
    }
}

const char *orci_role_name(int role)
{
    switch (role) {
    case ORCI_ROLE_ENTRY_LEVEL:
        return "entry_level";
    case ORCI_ROLE_REVIEWER:
        return "reviewer";
    default:
        return "";
    }
}

int orci_role_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "entry_level") == 0)
        return ORCI_ROLE_ENTRY_LEVEL;
    if (strcmp(s, "reviewer") == 0)
        return ORCI_ROLE_REVIEWER;
    return -1;
}

const char *orci_task_class_name(int task_class)
{
    switch (task_class) {
    case ORCI_TASK_CLASS_TRAINING:
        return "training";
    case ORCI_TASK_CLASS_REAL:
        return "real";
    default:
        return "";
    }
}

int orci_task_class_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "real") == 0)
        return ORCI_TASK_CLASS_REAL;
    if (strcmp(s, "training") == 0)
        return ORCI_TASK_CLASS_TRAINING;
    return -1;
}

/*
 * system_uniform takes 53 random bits from the DRBG, which gives every double of the form
 * k / 2^53 in [0, 1) with equal probability. If the generator cannot be seeded there is no
 * good answer; 0.5 keeps sampled review at its configured rate's midpoint instead of always
 * or never reviewing, and the failure is logged.
 */
static double system_uniform(void *arg)
{
    (void)arg;
    uint64_t bits = 0;
    if (orci_random(&bits, sizeof bits) != 0) {
        orci_error("random source unavailable; sampled review uses 0.5");
        return 0.5;
    }
    bits >>= 11;
    return (double)bits / 9007199254740992.0; /* 2^53 */
}

const orci_rng orci_rng_system = {system_uniform, NULL};
