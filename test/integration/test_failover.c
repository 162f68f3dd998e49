/*
 * test_failover.c: standby coordinators on PostgreSQL (issue 19). Two orchestrad share one
 * database; clients, the CLI and an executor are given both URLs. While a child process
 * creates projects and an executor runs their machine steps and a worker takes their human
 * tasks, the active coordinator is SIGKILLed. Afterwards: every acknowledged project and
 * assignment is in the database, every machine step ran exactly once, the event feed has no
 * gap, and the run goes on against the coordinator that took over. It prints the failover
 * time (SIGKILL to the first successful call through the URL list) as "failover_ms=N", which
 * bench/failover.sh collects over 20 runs.
 *
 * On SQLite there is no standby (one coordinator per file, a lock file): the test is skipped.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_flow.h"
#include "exec_harness.h"
#include "harness.h"
#include "support.h"

#define CREATES 16        /* projects the child creates */
#define KILL_AFTER 5      /* acknowledged creates before the SIGKILL */
#define WAIT_MS 60000     /* any one bounded wait */
#define TAKEOVER_MS 20000 /* the standby serves within this of the SIGKILL (issue: a few s) */

typedef struct fixture {
    orc_harness h; /* coordinator A, started by the harness */
    pid_t b;       /* coordinator B, the standby */
    char b_log[400];
    char a_url[400];
    char b_url[128];
    char events[200]; /* both coordinators' event feeds, a list */
    orc_exec ex;
    pid_t child;
} fixture;

static int setup(void **state)
{
    if (!orc_test_store_pg())
        return 0;
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(orc_harness_start(&f->h, NULL), 0);
    snprintf(f->a_url, sizeof f->a_url, "%s", f->h.rpc_url);
    char events[64];
    snprintf(f->b_url, sizeof f->b_url, "tcp://127.0.0.1:%d", orc_test_free_port());
    snprintf(events, sizeof events, "tcp://127.0.0.1:%d", orc_test_free_port());
    snprintf(f->b_log, sizeof f->b_log, "%s/orchestrad-b.log", f->h.dir);
    snprintf(f->events, sizeof f->events, "%.63s,%.63s", f->h.events_url, events);
    const char *argv[] = {orc_test_env("ORC_ORCHESTRAD"),
                          "--dev",
                          "--db",
                          f->h.db_path,
                          "--rpc",
                          f->b_url,
                          "--events",
                          events,
                          "--log-level",
                          "debug",
                          NULL};
    f->b = orc_test_spawn(argv, f->b_log);
    assert_true(f->b > 0);
    bool standby = false;
    for (int i = 0; i < 200 && !standby; i++) {
        standby = orc_test_file_has(f->b_log, "standby: another coordinator is active");
        if (!standby)
            usleep(100 * 1000);
    }
    assert_true(standby);
    /* From here on every client, CLI run and executor gets both coordinators. */
    if ((size_t)snprintf(f->h.rpc_url, sizeof f->h.rpc_url, "%.200s,%.127s", f->a_url, f->b_url) >=
        sizeof f->h.rpc_url)
        fail_msg("the URL list does not fit");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    orc_exec_kill(&f->ex);
    if (f->b > 0) {
        kill(f->b, SIGTERM);
        int st = 0;
        if (orc_test_wait_exit(f->b, 10000, &st) != 0)
            kill(f->b, SIGKILL);
    }
    orc_harness_cleanup(&f->h);
    free(f);
    return 0;
}

/* ---- the child: creates, each acknowledged one written down ------------------------- */

/*
 * creator runs in the child: CREATES project creates through the CLI (both URLs), one line
 * per outcome in acks: "ack <id> <mark>" or "fail <mark>". Exits 0.
 */
static void creator(const orc_harness *h, const char *acks)
{
    for (int i = 0; i < CREATES; i++) {
        char mark[32], data[96];
        snprintf(mark, sizeof mark, "mark%03d", i);
        snprintf(data, sizeof data, "{\"mark\":\"%s\"}", mark);
        orc_flow_run r;
        orc_flow_admin(h, &r, NULL, "project", "create", "--workflow", "failwf", "--version", "v1",
                       "--description", mark, "--priority", "10", "--task-class", "real", "--data",
                       data, NULL);
        json_t *v = r.code == 0 ? json_loads(r.out, 0, NULL) : NULL;
        json_t *id = json_object_get(v, "project_id");
        char line[96];
        if (json_is_integer(id))
            snprintf(line, sizeof line, "ack %" PRId64 " %s\n", (int64_t)json_integer_value(id),
                     mark);
        else
            snprintf(line, sizeof line, "fail %s\n", mark);
        json_decref(v);
        orc_flow_run_free(&r);
        FILE *fp = fopen(acks, "a");
        if (fp != NULL) {
            fputs(line, fp);
            fclose(fp);
        }
    }
    _exit(0);
}

/* count_acks counts the "ack" lines of the file written so far. */
static int count_acks(const char *acks)
{
    FILE *fp = fopen(acks, "r");
    if (fp == NULL)
        return 0;
    int n = 0;
    char line[128];
    while (fgets(line, sizeof line, fp) != NULL)
        n += strncmp(line, "ack ", 4) == 0;
    fclose(fp);
    return n;
}

/* ---- checks ------------------------------------------------------------------------ */

/* sql_int runs a one-value query on the database (either coordinator may be down). */
static int64_t sql_int(const orc_harness *h, const char *sql)
{
    char *out = orc_harness_sql(h, sql);
    assert_non_null(out);
    int64_t v = strtoll(out, NULL, 10);
    free(out);
    return v;
}

/* failover_ms polls Health through both URLs from the SIGKILL on; the first answer ends it. */
static int64_t failover_ms(const orc_harness *h, int64_t killed_at)
{
    for (;;) {
        orc_client *c = NULL;
        if (orc_harness_client_timeout(h, NULL, NULL, 500, &c) == ORC_OK) {
            orc_error err = {0};
            int rc = orc_health(c, &err);
            orc_client_destroy(c);
            if (rc == ORC_OK)
                return orc_test_now_ms() - killed_at;
        }
        if (orc_test_now_ms() - killed_at > TAKEOVER_MS)
            return -1;
        usleep(20 * 1000);
    }
}

/* every_acked_project_ran_once checks the acks against the database and the runs file. */
static void every_acked_project_ran_once(fixture *f, const char *acks, const char *runs, int *acked)
{
    FILE *fp = fopen(acks, "r");
    assert_non_null(fp);
    char line[128];
    *acked = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        int64_t id = 0;
        char mark[32];
        if (sscanf(line, "ack %" SCNd64 " %31s", &id, mark) != 2)
            continue;
        (*acked)++;
        char q[160];
        snprintf(q, sizeof q, "SELECT count(*) FROM projects WHERE id = %" PRId64, id);
        if (sql_int(&f->h, q) != 1)
            fail_msg("acknowledged project %" PRId64 " (%s) is missing", id, mark);
        assert_int_equal(
            orc_exec_wait_task(&f->h, id, "run", "Complete/Submitted", WAIT_MS, NULL, 0), 0);
        char *text = orc_test_read_file(runs, NULL);
        assert_non_null(text);
        int n = 0;
        for (const char *p = strstr(text, mark); p != NULL; p = strstr(p + 1, mark))
            n++;
        free(text);
        if (n != 1)
            fail_msg("the machine step of project %" PRId64 " (%s) ran %d times", id, mark, n);
    }
    fclose(fp);
}

/*
 * events_have_no_gap: the seqs in the database run without a gap, and a subscriber given both
 * coordinators' feeds (opened before the kill) got every one of them once, in order.
 */
static void events_have_no_gap(fixture *f, orc_subscription *sub)
{
    int64_t n = sql_int(&f->h, "SELECT count(*) FROM events");
    int64_t lo = sql_int(&f->h, "SELECT min(seq) FROM events");
    int64_t hi = sql_int(&f->h, "SELECT max(seq) FROM events");
    assert_true(n > 0);
    assert_int_equal(hi - lo + 1, n);
    int64_t prev = 0;
    while (prev < hi) {
        orc_event *ev = NULL;
        orc_error err = {0};
        int rc = orc_subscription_next(sub, WAIT_MS, &ev, &err);
        if (rc != ORC_OK)
            fail_msg("subscription after seq %" PRId64 " of %" PRId64 ": %s", prev, hi,
                     err.message);
        if (ev->seq != prev + 1)
            fail_msg("subscription: seq %" PRId64 " after %" PRId64, ev->seq, prev);
        prev = ev->seq;
        orc_event_free(ev);
    }
}

/* ---- the test ---------------------------------------------------------------------- */

static void load_workflow(fixture *f, const char *runs)
{
    char script[600], text[1024], function[800], dir[700];
    snprintf(script, sizeof script, "%s/step.sh", f->h.dir);
    /* One line per run with the project's data (its mark) in the runs file. */
    snprintf(text, sizeof text,
             "in=$(tr -d '\\n')\n"
             "printf '%%s\\n' \"$in\" >> '%s'\n"
             "echo '{\"ran\":true}'\n",
             runs);
    assert_int_equal(orc_test_write_file(script, text), 0);
    snprintf(function, sizeof function, "{\"command\":[\"sh\",\"%s\"]}", script);
    char version[2048];
    snprintf(version, sizeof version,
             "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":\"Run, then a person.\","
             "\"steps\":["
             "{\"slug\":\"run\",\"name\":\"Run\",\"description\":\"The machine step.\","
             "\"is_human\":false,\"execution_function\":%s,"
             "\"retry_policy\":{\"max_attempts\":3,\"initial_delay_ms\":20,\"max_delay_ms\":50}},"
             "{\"slug\":\"after\",\"name\":\"After\",\"description\":\"A person.\","
             "\"is_human\":true,\"creation_depends_on\":[\"run\"],"
             "\"review_policy\":{\"policy\":\"no_review\"}}]}",
             function);
    orc_flow_write_workflow(f->h.dir, "failwf",
                            "{\"slug\":\"failwf\",\"name\":\"Failover\",\"description\":\"Two "
                            "coordinators.\",\"certifications\":[]}",
                            version, dir, sizeof dir);
    orc_flow_load_workflow(&f->h, dir, "v1");
}

static void test_sigkill_of_the_active_coordinator_loses_nothing(void **state)
{
    fixture *f = *state;
    if (f == NULL) {
        skip(); /* SQLite: no standby coordinators */
        return;
    }
    char runs[400], acks[400], plugins[700];
    snprintf(runs, sizeof runs, "%s/runs", f->h.dir);
    snprintf(acks, sizeof acks, "%s/acks", f->h.dir);
    assert_int_equal(orc_test_write_file(runs, ""), 0);
    load_workflow(f, runs);
    const char *const no_plugins[] = {NULL};
    assert_int_equal(orc_exec_plugin_dir(&f->h, "plugins", no_plugins, plugins, sizeof plugins), 0);
    /* A lease long enough that the failover never expires one: a step runs once. */
    orc_exec_opts eo = {
        .plugins_dir = plugins, .concurrency = 2, .lease_s = 60, .allow_commands = true};
    assert_int_equal(orc_exec_start(&f->h, "x", &eo, &f->ex), 0);
    orc_flow_worker w;
    orc_flow_worker_init(&w, &f->h, "ann", "ann-password-1");
    orc_flow_add_worker(&f->h, &w);
    orc_flow_login(&f->h, &w);

    /* A human task before the kill: its assignment is acknowledged. */
    int64_t first = orc_flow_create_project(&f->h, "failwf", "v1", "first", "{\"mark\":\"markA\"}");
    assert_int_equal(
        orc_exec_wait_task(&f->h, first, "run", "Complete/Submitted", WAIT_MS, NULL, 0), 0);
    int64_t assignment = 0;
    int64_t task = orc_flow_task_new(&f->h, &w, "entry_level", &assignment);
    assert_true(task > 0 && assignment > 0);
    orc_client *rpc = NULL;
    assert_int_equal(orc_harness_client_dev(&f->h, &rpc), ORC_OK);
    orc_subscribe_opts so = {.size = sizeof so, .events_url = f->events};
    orc_subscription *sub = NULL;
    orc_error serr = {0};
    assert_int_equal(orc_subscription_new(&so, rpc, &sub, &serr), ORC_OK);

    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0)
        creator(&f->h, acks);
    int64_t t0 = orc_test_now_ms();
    while (count_acks(acks) < KILL_AFTER && orc_test_now_ms() - t0 < WAIT_MS)
        usleep(20 * 1000);
    assert_true(count_acks(acks) >= KILL_AFTER);

    int64_t killed_at = orc_test_now_ms();
    assert_int_equal(kill(f->h.pid, SIGKILL), 0);
    int st = 0;
    assert_int_equal(orc_test_wait_exit(f->h.pid, 10000, &st), 0);
    f->h.pid = 0;
    int64_t ms = failover_ms(&f->h, killed_at);
    assert_true(ms >= 0);
    printf("failover_ms=%" PRId64 "\n", ms);
    fflush(stdout);
    assert_true(orc_test_file_has(f->b_log, "took the database's lock"));

    assert_int_equal(orc_test_wait_exit(f->child, WAIT_MS, &st), 0);
    f->child = 0;
    assert_int_equal(st, 0);
    int acked = 0;
    every_acked_project_ran_once(f, acks, runs, &acked);
    /* The CLI runs had both URLs: the one in flight at the kill was sent again to the new
     * coordinator (same request id), the later ones waited for it. None failed. */
    assert_int_equal(acked, CREATES);

    /* The assignment made before the kill is there, and the run goes on: a new project's
     * machine step runs once and the worker takes its task. */
    char q[160];
    snprintf(q, sizeof q, "SELECT count(*) FROM task_assignments WHERE id = %" PRId64, assignment);
    assert_int_equal(sql_int(&f->h, q), 1);
    int64_t last = orc_flow_create_project(&f->h, "failwf", "v1", "after", "{\"mark\":\"markZ\"}");
    assert_int_equal(orc_exec_wait_task(&f->h, last, "run", "Complete/Submitted", WAIT_MS, NULL, 0),
                     0);
    assert_true(orc_flow_task_new(&f->h, &w, "entry_level", NULL) > 0);
    char *text = orc_test_read_file(runs, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "markZ"));
    assert_null(strstr(strstr(text, "markA") + 1, "markA"));
    free(text);
    events_have_no_gap(f, sub);
    orc_subscription_destroy(sub);
    orc_client_destroy(rpc);
    orc_flow_expect_consistent(&f->h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigkill_of_the_active_coordinator_loses_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
