/*
 * bench_python: what a Python machine step costs against a C plugin step, in the same run on
 * the same orchestrad and executor (issue 16). Two chains of 10 machine steps, step k created
 * when step k-1 is Complete: bench/workflows/chain (test_plugins.noop.noop, a C plugin that
 * returns {}) and bench/workflows/chain_python (chain_python.steps.noop, a Python function
 * that returns {}, found through --python-path bench/workflows). One executor at
 * --concurrency 1 serves both: its worker's plugin host runs the C steps, its Python runner
 * the Python ones. Projects of the two alternate (C, Python, C, ...), so that what else runs
 * on the machine weighs on both alike.
 *
 * Figures, per kind: the time between consecutive step completions of a project, from the
 * events' stamps (the daemon stamps the CompleteJob of each step), 9 intervals a project
 * (p50, p99); and the first project's time from create to its first step Complete, which
 * for Python includes starting the runner and importing the function.
 *
 * Usage: bench_python [projects]   (default 100 of each kind, after 3 of each unmeasured).
 * Binaries: $ORC_ORCHESTRAD, $ORC_EXECUTOR, the no-op plugin $ORC_BENCH_NOOP_PLUGIN and the
 * workflows $ORC_BENCH_WORKFLOWS (defaults: this build's and this source tree's).
 * Prints: name value unit [ratio].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchlib.h"

#define STEPS 10
#define WARMUP 3
#define PROJECTS 100
#define PAGE 1000
#define POLL_US 2000
#define STALL_US 60000000
#define EXEC_READY_MS 15000
#define EXEC_STOP_MS 30000

typedef struct kind {
    const char *name;     /* "c", "python" */
    const char *workflow; /* its slug */
    bl_samples step_us;
    int64_t first_step_us; /* the first project: create to its first step Complete */
} kind;

typedef struct run {
    char dir[256];
    bl_daemon d;
    orc_client *c;
    pid_t exec;
    char exec_log[400];
} run;

/* start_executor starts one executor with the no-op plugin and the Python chain's package. */
static int start_executor(run *r, const char *workflows)
{
    static const char *const env[] = {"ORCHESTRA_API_KEY=" BL_DEV_KEY,
                                      "ORCHESTRA_API_SECRET=" BL_DEV_SECRET, NULL};
    char plugins[320], storage[320], link[400];
    snprintf(plugins, sizeof plugins, "%s/plugins", r->dir);
    snprintf(storage, sizeof storage, "%s/storage", r->dir);
    snprintf(link, sizeof link, "%s/test_plugin_noop.so", plugins);
    if (mkdir(plugins, 0755) != 0 ||
        symlink(bl_path("ORC_BENCH_NOOP_PLUGIN", ORC_BENCH_NOOP_PLUGIN), link) != 0) {
        fprintf(stderr, "bench_python: cannot make the plugin folder %s\n", plugins);
        return -1;
    }
    snprintf(r->exec_log, sizeof r->exec_log, "%s/executor.log", r->dir);
    const char *argv[] = {bl_path("ORC_EXECUTOR", ORC_BENCH_EXECUTOR),
                          "--rpc",
                          r->d.rpc_url,
                          "--plugins",
                          plugins,
                          "--python-path",
                          workflows,
                          "--storage",
                          storage,
                          "--concurrency",
                          "1",
                          "--log-level",
                          "info",
                          NULL};
    r->exec = bl_spawn(argv, env, r->exec_log);
    if (r->exec < 0)
        return -1;
    return bl_wait_log(r->exec_log, "plugins loaded", r->exec, EXEC_READY_MS);
}

/* watch is what a project's events said: the stamps of its steps' completions, whether it
 * completed, and a job failure. */
typedef struct watch {
    int64_t after;
    int64_t done_us[STEPS];
    bool completed;
    char failure[256];
} watch;

static int step_index(const char *slug)
{
    if (slug[0] != 's' || slug[1] < '0' || slug[1] > '9' || slug[2] < '0' || slug[2] > '9' ||
        slug[3] != '\0')
        return -1;
    int k = (slug[1] - '0') * 10 + (slug[2] - '0') - 1;
    return k >= 0 && k < STEPS ? k : -1;
}

static int watch_read(orc_client *c, int64_t project, watch *w, bool *news)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "project.%lld.", (long long)project);
    *news = false;
    for (;;) {
        orc_event_page *page = NULL;
        orc_error err;
        if (orc_events_list(c, w->after, prefix, PAGE, &page, &err) != ORC_OK) {
            fprintf(stderr, "bench_python: ListEvents: %s\n", err.message);
            return -1;
        }
        for (size_t i = 0; i < page->n_events; i++) {
            const orc_event *ev = page->events[i];
            w->after = ev->seq;
            *news = true;
            if (strcmp(ev->type, "task.status_changed") == 0 &&
                strcmp(ev->new_status, "Complete") == 0 && step_index(ev->step) >= 0)
                w->done_us[step_index(ev->step)] = ev->time_us;
            else if (strcmp(ev->type, "project.status_changed") == 0 &&
                     strcmp(ev->new_status, "Completed") == 0)
                w->completed = true;
            else if (strcmp(ev->type, "job.failed") == 0 && !w->failure[0])
                snprintf(w->failure, sizeof w->failure, "step %s: %s", ev->step, ev->payload);
        }
        bool whole = page->n_events < PAGE;
        orc_event_page_free(page);
        if (whole)
            return 0;
    }
}

/* one_project runs one project of k to its completion; measured unless warm-up. */
static int one_project(run *r, kind *k, bool measured, bool first)
{
    orc_project_params p = {
        .workflow = k->workflow, .version = "v1", .description = "bench", .priority = 1};
    watch w;
    memset(&w, 0, sizeof w);
    int64_t id = 0, created_us = bl_real_us(), progress = bl_mono_us();
    orc_error err;
    if (orc_project_create(r->c, &p, &id, &err) != ORC_OK) {
        fprintf(stderr, "bench_python: CreateProject: %s\n", err.message);
        return -1;
    }
    while (!w.completed) {
        bool news = false;
        if (watch_read(r->c, id, &w, &news) != 0)
            return -1;
        if (w.failure[0]) {
            fprintf(stderr, "bench_python: %s project %lld failed: %s\n", k->name, (long long)id,
                    w.failure);
            bl_print_log(r->exec_log);
            return -1;
        }
        if (news)
            progress = bl_mono_us();
        else if (bl_mono_us() - progress > STALL_US) {
            fprintf(stderr, "bench_python: %s project %lld made no progress\n", k->name,
                    (long long)id);
            bl_print_log(r->exec_log);
            return -1;
        }
        if (!w.completed)
            bl_sleep_us(POLL_US);
    }
    if (first)
        k->first_step_us = w.done_us[0] - created_us;
    for (int s = 1; measured && s < STEPS; s++)
        bl_samples_push(&k->step_us, w.done_us[s] - w.done_us[s - 1]);
    return 0;
}

static void print_kind(kind *k, int64_t c_p50)
{
    int64_t p50 = bl_percentile(&k->step_us, 50);
    printf("python_bench.%s_step_p50 %lld us", k->name, (long long)p50);
    if (c_p50 > 0)
        printf(" ratio %.2f (to the C plugin step)", (double)p50 / (double)c_p50);
    printf(" (%zu intervals between consecutive step completions)\n", k->step_us.n);
    printf("python_bench.%s_step_p99 %lld us\n", k->name,
           (long long)bl_percentile(&k->step_us, 99));
    printf("python_bench.%s_first_step %lld us (the first project: create to its first step "
           "Complete)\n",
           k->name, (long long)k->first_step_us);
}

static int bench(run *r, int projects)
{
    kind kinds[2] = {{.name = "c", .workflow = "bench_chain"},
                     {.name = "python", .workflow = "bench_chain_python"}};
    int rc = 0;
    for (int i = 0; rc == 0 && i < WARMUP + projects; i++)
        for (int k = 0; rc == 0 && k < 2; k++)
            rc = one_project(r, &kinds[k], i >= WARMUP, i == 0);
    if (rc == 0) {
        int64_t c_p50 = bl_percentile(&kinds[0].step_us, 50);
        print_kind(&kinds[0], 0);
        print_kind(&kinds[1], c_p50);
        printf("python_bench.python_minus_c_step_p50 %lld us\n",
               (long long)(bl_percentile(&kinds[1].step_us, 50) - c_p50));
    }
    for (int k = 0; k < 2; k++)
        bl_samples_free(&kinds[k].step_us);
    return rc;
}

int main(int argc, char **argv)
{
    int projects = argc > 1 ? atoi(argv[1]) : PROJECTS;
    if (projects <= 0) {
        fprintf(stderr, "usage: bench_python [projects]\n");
        return 2;
    }
    run r;
    memset(&r, 0, sizeof r);
    if (bl_tmpdir("python", r.dir, sizeof r.dir) != 0)
        return 1;
    const char *workflows = bl_path("ORC_BENCH_WORKFLOWS", ORC_BENCH_WORKFLOWS);
    int rc = bl_daemon_start(&r.d, bl_path("ORC_ORCHESTRAD", ORC_BENCH_ORCHESTRAD), r.dir, NULL);
    if (rc == 0)
        rc = bl_client(r.d.rpc_url, BL_DEV_KEY, 0, &r.c);
    if (rc == 0)
        rc = bl_workflow_load(r.c, "chain");
    if (rc == 0)
        rc = bl_workflow_load(r.c, "chain_python");
    if (rc == 0)
        rc = start_executor(&r, workflows);
    if (rc == 0)
        rc = bench(&r, projects);
    if (r.exec > 0 && bl_stop(r.exec, EXEC_STOP_MS) != 0) {
        bl_print_log(r.exec_log);
        rc = -1;
    }
    orc_client_destroy(r.c);
    if (r.d.pid > 0 && bl_daemon_stop(&r.d) != 0)
        rc = -1;
    if (rc == 0)
        bl_rmtree(r.dir);
    return rc == 0 ? 0 : 1;
}
