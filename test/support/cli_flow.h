/*
 * cli_flow.h: driving the human task lifecycle through the `orchestra` CLI in integration
 * tests. Workers have their own session file (ORCHESTRA_SESSION) in the daemon's folder and
 * run without an API key; admin commands run with the --dev key. Every command is run with
 * --json.
 *
 * These helpers assert with cmocka: an unexpected exit status, a missing message or a wrong
 * status prints the command, its output, the relevant JSON and the daemon's log, then fails
 * the test. Call them from the test's main thread. Include after cmocka's headers.
 */
#ifndef ORC_TEST_CLI_FLOW_H
#define ORC_TEST_CLI_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "harness.h"

/* orc_flow_run is one finished CLI run; release with orc_flow_run_free. */
typedef struct orc_flow_run {
    const orc_harness *h; /* borrowed: the daemon, for its log */
    int code;             /* exit status */
    char *out;            /* malloc'd stdout and stderr */
    char *err;
    char what[512]; /* the command line, for messages */
} orc_flow_run;

/* orc_flow_worker is a worker account and its session file. */
typedef struct orc_flow_worker {
    char username[64];
    char password[64];
    char session_path[400];
    char session_env[440]; /* "ORCHESTRA_SESSION=<session_path>" */
} orc_flow_worker;

void orc_flow_run_free(orc_flow_run *r);

/* orc_flow_admin runs `orchestra --json arg...` with the --dev key and stdin_text. */
void orc_flow_admin(const orc_harness *h, orc_flow_run *r, const char *stdin_text, const char *arg,
                    ...) __attribute__((sentinel));

/* orc_flow_as runs `orchestra --json arg...` as worker w: no key, w's session file. */
void orc_flow_as(const orc_harness *h, const orc_flow_worker *w, orc_flow_run *r, const char *arg,
                 ...) __attribute__((sentinel));

/* orc_flow_expect_ok asserts that r exited 0. */
void orc_flow_expect_ok(const orc_flow_run *r);

/* orc_flow_expect_refused asserts that r exited 1 with message in its stderr. */
void orc_flow_expect_refused(const orc_flow_run *r, const char *message);

/* orc_flow_json parses r's stdout as one JSON document (new reference; asserts). */
json_t *orc_flow_json(const orc_flow_run *r);

/* orc_flow_fail_json prints what (a label) and v, the daemon's log, and fails the test. */
void orc_flow_fail_json(const orc_harness *h, const char *what, json_t *v);

/*
 * orc_flow_worker_init names a worker; its session file is <h->dir>/<username>.session
 * (not created).
 */
void orc_flow_worker_init(orc_flow_worker *w, const orc_harness *h, const char *username,
                          const char *password);

/* orc_flow_add_worker runs `worker add USER --password-stdin` (asserts success). */
void orc_flow_add_worker(const orc_harness *h, const orc_flow_worker *w);

/* orc_flow_certify runs `worker certify USER CERT --role ROLE` (cert is WORKFLOW/SLUG). */
void orc_flow_certify(const orc_harness *h, const char *username, const char *cert,
                      const char *role);

/* orc_flow_login runs `login USER --password-stdin` for w (asserts success). */
void orc_flow_login(const orc_harness *h, const orc_flow_worker *w);

/* orc_flow_load_workflow runs `workflow load DIR VERSION` (asserts success). */
void orc_flow_load_workflow(const orc_harness *h, const char *dir, const char *version);

/*
 * orc_flow_write_workflow writes the workflow folder <parent>/<name> (workflow.json and
 * v1/version.json with these texts) and puts its path in dir.
 */
void orc_flow_write_workflow(const char *parent, const char *name, const char *workflow_json,
                             const char *version_json, char *dir, size_t dir_size);

/*
 * orc_flow_create_project runs `project create --workflow W --version V --description D
 * --priority 10 --task-class real [--data data]` and returns the project id.
 */
int64_t orc_flow_create_project(const orc_harness *h, const char *workflow, const char *version,
                                const char *description, const char *data);

/* orc_flow_project_info returns `project info ID`'s document (new reference). */
json_t *orc_flow_project_info(const orc_harness *h, int64_t project_id);

/* orc_flow_task returns tasks.<step> of a project_information document (borrowed), or NULL. */
json_t *orc_flow_task(json_t *info, const char *step);

/* orc_flow_task_id returns the id of the project's task of step (asserts it exists). */
int64_t orc_flow_task_id(const orc_harness *h, int64_t project_id, const char *step);

/*
 * orc_flow_expect_task asserts the status of the project's task of step and, when
 * assignments is not NULL, its assignments' statuses in counter order, comma-separated
 * ("Submitted,Processing"; "" for none).
 */
void orc_flow_expect_task(const orc_harness *h, int64_t project_id, const char *step,
                          const char *status, const char *assignments);

/* orc_flow_expect_no_task asserts that the project has no task of step yet. */
void orc_flow_expect_no_task(const orc_harness *h, int64_t project_id, const char *step);

/* orc_flow_expect_project_status asserts project.status of `project info`. */
void orc_flow_expect_project_status(const orc_harness *h, int64_t project_id, const char *status);

/*
 * orc_flow_task_new runs `task new ROLE` as w, asserts success and returns the task id
 * (*assignment_id, when not NULL, the assignment's).
 */
int64_t orc_flow_task_new(const orc_harness *h, const orc_flow_worker *w, const char *role,
                          int64_t *assignment_id);

/* orc_flow_task_new_refused runs `task new ROLE` as w and expects exit 1 with message. */
void orc_flow_task_new_refused(const orc_harness *h, const orc_flow_worker *w, const char *role,
                               const char *message);

/*
 * orc_flow_task_cmd runs `task VERB TASK [--data data]` as w (verb: save, submit, accept,
 * return) and asserts success.
 */
void orc_flow_task_cmd(const orc_harness *h, const orc_flow_worker *w, const char *verb,
                       int64_t task_id, const char *data);

/* orc_flow_task_cmd_refused is orc_flow_task_cmd expecting exit 1 with message. */
void orc_flow_task_cmd_refused(const orc_harness *h, const orc_flow_worker *w, const char *verb,
                               int64_t task_id, const char *data, const char *message);

/* orc_flow_dashboard returns w's `dashboard` document (new reference). */
json_t *orc_flow_dashboard(const orc_harness *h, const orc_flow_worker *w);

/*
 * orc_flow_dashboard_list names the dashboard list holding task_id ("in_progress",
 * "returned", "pending_review", "pending_processing", "complete"), NULL when none; asserts
 * that no task is in two lists.
 */
const char *orc_flow_dashboard_list(const orc_harness *h, json_t *dashboard, int64_t task_id);

/*
 * orc_flow_expect_dashboard asserts that w's dashboard lists task_id under list (NULL: under
 * none) and, when prevent_new is 0 or 1, the preventNew flag.
 */
void orc_flow_expect_dashboard(const orc_harness *h, const orc_flow_worker *w, int64_t task_id,
                               const char *list, int prevent_new);

/*
 * orc_flow_expect_consistent asserts that `orchestra check` and `orchestrad check --db`
 * both exit 0 (no invariant violated).
 */
void orc_flow_expect_consistent(const orc_harness *h);

#endif
