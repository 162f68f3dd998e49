/*
 * events.h: the event outbox (DESIGN.md "Events").
 *
 * Every committed state change appends its events inside the write job that makes the
 * change (orci_events_append), so they commit or roll back with it. Each event gets the
 * next global sequence number, assigned as the current maximum plus one inside the writer's
 * transaction: a rolled-back job takes its rows with it and leaves no gap.
 *
 * Topics (server/README.md "Event topics"): an event is published once per topic among
 * "project.<id>.", "worker.<username>.", "workflow.<slug>." and "step.<slug>." (those that
 * apply). Subscribers filter with nng's byte-prefix SUB subscription; the trailing dot keeps
 * "project.1." from matching "project.12.". Notifications (spec 3.7) go to the worker's
 * topic only.
 *
 * After each commit the publisher (a store commit hook) sends the new events on the PUB
 * socket as "<topic>\0<packed orchestra.v1.Event>", without ever blocking: a dropped message
 * is read back with ListEvents. Each copy carries topic_prev_seq, a bound of the previous
 * event on its topic, so that a subscriber to one project sees a hole without asking.
 *
 * Threads: append, notify and the context loaders on the writer thread inside a write job;
 * list and bounds on any connection; prune in a write job.
 */
#ifndef ORCI_EVENTS_H
#define ORCI_EVENTS_H

#include <jansson.h>
#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestra/error.h"
#include "proto/orchestra.pb-c.h"
#include "store/store.h"

#define ORCI_EVENT_NAME_MAX 208 /* slugs are at most 200 bytes, usernames 150 */
#define ORCI_EVENT_TOPIC_MAX (ORCI_EVENT_NAME_MAX + 16)
#define ORCI_EVENT_TOPICS_MAX 5
#define ORCI_EVENTS_DEFAULT_LIMIT 1000
#define ORCI_EVENTS_MAX_LIMIT 10000

/* One event to append. Strings NULL or "" mean "does not apply". */
typedef struct orci_event_rec {
    const char *type; /* e.g. "task.status_changed"; required */
    int64_t time_us;  /* the time of the change */
    int64_t project_id;
    int64_t task_id;
    char step[ORCI_EVENT_NAME_MAX];         /* step slug */
    char workflow[ORCI_EVENT_NAME_MAX];     /* workflow slug */
    char worker[ORCI_EVENT_NAME_MAX];       /* username of the worker concerned */
    char other_worker[ORCI_EVENT_NAME_MAX]; /* a second worker (reassignment): topic only */
    const char *old_status;                 /* label */
    const char *new_status;
    const json_t *payload; /* borrowed JSON object with the other fields; NULL: {} */
    bool worker_only;      /* a notification: published on the worker's topic only */
} orci_event_rec;

/* orci_events_topics computes the topics of e into topics; returns how many. */
size_t orci_events_topics(const orci_event_rec *e,
                          char topics[ORCI_EVENT_TOPICS_MAX][ORCI_EVENT_TOPIC_MAX]);

/*
 * orci_events_append appends e with the next sequence number (in *seq when not NULL), to be
 * written when the write job ends (below). Writer thread, inside a write job.
 */
int orci_events_append(orci_db *db, const orci_event_rec *e, int64_t *seq, orc_error *err);

/* Context loaders: fill e's fields from the rows (ORC_NOT_FOUND for an unknown id). */
/* orci_events_task_context: project_id, task_id, step and workflow of a task. */
int orci_events_task_context(orci_db *db, int64_t task_id, orci_event_rec *e, orc_error *err);
/* orci_events_project_context: project_id and workflow of a project. */
int orci_events_project_context(orci_db *db, int64_t project_id, orci_event_rec *e, orc_error *err);
/* orci_events_assignment_context: the task's context and the assignment's worker. */
int orci_events_assignment_context(orci_db *db, int64_t assignment_id, orci_event_rec *e,
                                   orc_error *err);
/* orci_events_worker_name writes a worker's username into out ("" for worker_id 0). */
int orci_events_worker_name(orci_db *db, int64_t worker_id, char *out, size_t out_size,
                            orc_error *err);

/*
 * orci_events_task_event appends an event about task_id (its project, step and workflow
 * filled) concerning worker_id (0: none) with the given statuses (NULL: none) and payload.
 */
int orci_events_task_event(orci_db *db, int64_t now_us, const char *type, int64_t task_id,
                           int64_t worker_id, const char *old_status, const char *new_status,
                           const json_t *payload, orc_error *err);

/*
 * What an event about a task carries of it, when the caller knows it already (the machine
 * step's path, from the version's cached step graph): the row is then written with VALUES,
 * with no join and, being a single-row INSERT, no statement journal either.
 */
typedef struct orci_event_task {
    int64_t task_id;
    int64_t project_id;
    char step[ORCI_EVENT_NAME_MAX];     /* step slug */
    char workflow[ORCI_EVENT_NAME_MAX]; /* workflow slug */
} orci_event_task;

/*
 * orci_events_task_event_known is orci_events_task_event for a task whose context the caller
 * gives, about no worker; payload_text is a compact JSON object (NULL: {}). The row is the
 * same orci_events_task_event writes.
 */
int orci_events_task_event_known(orci_db *db, int64_t now_us, const char *type,
                                 const orci_event_task *t, const char *old_status,
                                 const char *new_status, const char *payload_text, orc_error *err);

/*
 * orci_events_machine_assignment_event is orci_events_assignment_event for the assignment of
 * a machine task (no worker, counter 0) whose task's context the caller gives: the same row.
 */
int orci_events_machine_assignment_event(orci_db *db, int64_t now_us, const char *type,
                                         const orci_event_task *t, int64_t assignment_id,
                                         const char *old_status, const char *new_status,
                                         orc_error *err);

/*
 * orci_events_assignment_event appends an event about assignment_id: its task's project,
 * step and workflow, the assignment's worker, the statuses (NULL: none) and the payload
 * {"assignment_id", "counter"}. other_worker_id (0: none) is a second worker concerned (a
 * reassignment's previous worker): the payload then names it as "previous_worker" and the
 * event goes to its topic too. The context is read inside the INSERT (one statement).
 */
int orci_events_assignment_event(orci_db *db, int64_t now_us, const char *type,
                                 int64_t assignment_id, const char *old_status,
                                 const char *new_status, int64_t other_worker_id, orc_error *err);

/* The notifications of spec 3.7, as events on the worker's topic. */
typedef enum orci_note {
    ORCI_NOTE_ASSIGNED,           /* task entered Processing/Reviewing for the worker */
    ORCI_NOTE_UNDER_REVIEW,       /* to the submitter, on Pending Review */
    ORCI_NOTE_RETURNED,           /* to the worker the task went back to (Post-review) */
    ORCI_NOTE_COMPLETE,           /* to every worker on the task */
    ORCI_NOTE_READY_FOR_REREVIEW, /* to the reviewer, on Reviewing after Post-review */
    ORCI_NOTE_ENDED,              /* to every worker on the task, on abort */
} orci_note;

/*
 * orci_events_notify appends the notification kind about task_id for worker_id, or for every
 * worker with a live assignment on the task when worker_id is 0. Machine assignments (no
 * worker) get none.
 */
int orci_events_notify(orci_db *db, int64_t now_us, int64_t task_id, int64_t worker_id,
                       orci_note kind, orc_error *err);

/*
 * orci_events_bounds reads the oldest kept seq (first_kept; every seq below it was pruned)
 * and the newest committed seq (0 when there was never any event).
 */
int orci_events_bounds(orci_db *db, int64_t *first_kept, int64_t *last_seq, orc_error *err);

/*
 * orci_events_list reads up to limit events with seq > after_seq in order, all of them when
 * prefix is NULL or "", else those with a topic starting with prefix (exact: a topic equal to
 * prefix). *out is a malloc'd array of malloc'd Events (free with orci_events_free).
 */
int orci_events_list(orci_db *db, int64_t after_seq, const char *prefix, bool exact, int limit,
                     Orchestra__V1__Event ***out, size_t *n, orc_error *err);

/* orci_events_free frees what orci_events_list returned; NULL allowed. */
void orci_events_free(Orchestra__V1__Event **events, size_t n);

/*
 * orci_events_prune deletes the events older than cutoff_us (the oldest ones up to the first
 * event at or after cutoff_us) and advances first_kept; *pruned counts the events deleted.
 * Write job.
 */
int orci_events_prune(orci_db *db, int64_t cutoff_us, int64_t *pruned, orc_error *err);

/*
 * The publisher: a thread with its own reader connection, woken by the store's commit hook,
 * sending each newly committed event on sock (a PUB socket, borrowed: it must outlive the
 * publisher) once per topic, in seq order, as the topic, a NUL byte and the packed Event,
 * without blocking. Events committed before the start are history (ListEvents), not published.
 */
typedef struct orci_events_pub orci_events_pub;

/* orci_events_pub_start installs the publisher on s. Release with orci_events_pub_stop. */
int orci_events_pub_start(orci_store *s, nng_socket sock, orci_events_pub **out, orc_error *err);

/* orci_events_pub_stop removes the hook, sends what was committed before, stops the thread
 * and frees the publisher; NULL allowed. */
void orci_events_pub_stop(orci_events_pub *p);

/* orci_events_pub_dropped counts the messages the PUB socket refused (full or closed). */
uint64_t orci_events_pub_dropped(const orci_events_pub *p);

#endif
