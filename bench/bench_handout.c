/*
 * bench_handout: request-new-task (NewTask, as a logged-in worker, like `orchestra task new
 * entry_level`) on a real orchestrad (--dev, scratch database) as the backlog of open human
 * tasks grows, against a signed read round trip (workflow_types) measured at each level.
 *
 * The workflow (bench/workflows/handout) has one human step that needs a certification.
 * The backlog is filled through CreateProject by FILLERS client threads (each project is one
 * open task), then fresh workers certified for the step log in and ask for a task in turn;
 * each call assigns one task (nothing stops a worker from holding many: spec 3.1 blocks only
 * a worker with returned work), so every call must succeed. Levels: 10k and 100k open tasks,
 * and 1M with ORC_BENCH_HANDOUT_1M=1 in the environment. Figures per level: NewTask p50/p99,
 * the fill rate (projects/s), orchestrad's VmRSS and VmHWM (peak) from /proc; and the p99
 * ratio 100k/10k.
 *
 * orchestrad runs with --pbkdf2-iterations 1000 so that logging the workers in is quick;
 * login is not measured. Binary: $ORC_ORCHESTRAD (default: this build's).
 * Prints: name value unit [ratio to the baseline].
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"

#define WF "bench_handout"
#define FILLERS 32
#define WORKERS 20
#define CALLS 300                /* NewTask calls per level, at most */
#define CALLS_BUDGET_US 30000000 /* ... and no longer than this per level */
#define READS 200
#define PASSWORD "bench-password"

typedef struct handout_env {
    char dir[256];
    bl_daemon d;
    orc_client *admin;
    orc_client *fill[FILLERS];
    int64_t open;    /* open tasks now: projects created - tasks handed out */
    int64_t p99_10k; /* for the ratio */
    int64_t p99_100k;
    int failures;
} handout_env;

/* ---- filling -------------------------------------------------------------------------- */

typedef struct filler {
    orc_client *c;
    atomic_llong *left;
    int64_t created;
    int failures;
    char first_error[ORC_ERROR_MESSAGE_MAX];
    pthread_t th;
} filler;

static void *filler_main(void *arg)
{
    filler *f = arg;
    orc_project_params p = {
        .workflow = WF, .version = "v1", .description = "handout", .priority = 1};
    while (atomic_fetch_sub(f->left, 1) > 0) {
        int64_t id = 0;
        orc_error err;
        if (orc_project_create(f->c, &p, &id, &err) == ORC_OK)
            f->created++;
        else if (f->failures++ == 0)
            snprintf(f->first_error, sizeof f->first_error, "%s", err.message);
    }
    return NULL;
}

/* fill creates projects until `target` tasks are open and prints the rate under label. */
static int fill(handout_env *e, int64_t target, const char *label)
{
    atomic_llong left = target - e->open;
    filler fs[FILLERS];
    memset(fs, 0, sizeof fs);
    int64_t t0 = bl_mono_us();
    int started = 0;
    for (; started < FILLERS; started++) {
        fs[started].c = e->fill[started];
        fs[started].left = &left;
        if (pthread_create(&fs[started].th, NULL, filler_main, &fs[started]) != 0)
            break;
    }
    int64_t created = 0;
    int failures = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(fs[i].th, NULL);
        created += fs[i].created;
        if (fs[i].failures > 0 && failures == 0)
            fprintf(stderr, "bench_handout: CreateProject: %s\n", fs[i].first_error);
        failures += fs[i].failures;
    }
    int64_t us = bl_mono_us() - t0;
    e->open += created;
    printf("handout_fill_%s %.0f projects/s (%lld projects by %d threads, %.1f s)\n", label,
           (double)created * 1e6 / (double)(us > 0 ? us : 1), (long long)created, started,
           (double)us / 1e6);
    if (started < FILLERS || failures > 0 || e->open != target) {
        fprintf(stderr, "bench_handout: %d creations failed; %lld tasks open, %lld wanted\n",
                failures, (long long)e->open, (long long)target);
        return -1;
    }
    return 0;
}

/* ---- workers ------------------------------------------------------------------------------ */

/* workers_login adds WORKERS certified workers named w<label>-<i> and logs each in on a
 * client of its own (ws[i], released by the caller). */
static int workers_login(handout_env *e, const char *label, orc_client **ws)
{
    for (int i = 0; i < WORKERS; i++) {
        char name[64];
        snprintf(name, sizeof name, "w%s-%d", label, i);
        orc_worker_params p = {.username = name, .password = PASSWORD};
        int64_t id = 0;
        orc_error err;
        if (orc_worker_add(e->admin, &p, &id, &err) != ORC_OK ||
            orc_worker_certify(e->admin, name, WF, "bench_worker", "entry_level", "real", false,
                               &err) != ORC_OK) {
            fprintf(stderr, "bench_handout: worker %s: %s\n", name, err.message);
            return -1;
        }
        if (bl_client(e->d.rpc_url, NULL, 0, &ws[i]) != 0)
            return -1;
        if (orc_login(ws[i], name, PASSWORD, NULL, NULL, &err) != ORC_OK) {
            fprintf(stderr, "bench_handout: login %s: %s\n", name, err.message);
            return -1;
        }
    }
    return 0;
}

/* ---- one level ------------------------------------------------------------------------------ */

/* read_p50 is the baseline: the p50 of READS signed workflow_types round trips. */
static int64_t read_p50(handout_env *e)
{
    bl_samples s = {0};
    for (int i = 0; i < READS; i++) {
        char *json = NULL;
        int64_t t0 = bl_mono_us();
        if (orc_workflow_types_json(e->admin, &json, NULL) == ORC_OK)
            bl_samples_push(&s, bl_mono_us() - t0);
        orc_free(json);
    }
    int64_t p50 = bl_percentile(&s, 50);
    bl_samples_free(&s);
    return p50;
}

/* new_tasks asks for tasks in turn as the workers ws, CALLS times or CALLS_BUDGET_US long. */
static int new_tasks(handout_env *e, orc_client **ws, bl_samples *s)
{
    int64_t start = bl_mono_us();
    int failures = 0;
    for (int i = 0; i < CALLS && bl_mono_us() - start < CALLS_BUDGET_US; i++) {
        char *json = NULL;
        orc_error err;
        int64_t t0 = bl_mono_us();
        int rc = orc_task_new_json(ws[i % WORKERS], "entry_level", &json, &err);
        int64_t t1 = bl_mono_us();
        orc_free(json);
        if (rc != ORC_OK) {
            if (failures++ == 0)
                fprintf(stderr, "bench_handout: NewTask: %s: %s\n", orc_code_name(rc), err.message);
            continue;
        }
        e->open--;
        bl_samples_push(s, t1 - t0);
    }
    if (failures > 0)
        fprintf(stderr, "bench_handout: %d NewTask calls failed\n", failures);
    return failures;
}

/* level fills the backlog to target open tasks and measures NewTask there. */
static int level(handout_env *e, int64_t target, const char *label)
{
    if (fill(e, target, label) != 0)
        return -1;
    orc_client *ws[WORKERS] = {0};
    bl_samples s = {0};
    int rc = workers_login(e, label, ws);
    if (rc == 0) {
        int64_t base = read_p50(e);
        e->failures += new_tasks(e, ws, &s);
        int64_t p50 = bl_percentile(&s, 50), p99 = bl_percentile(&s, 99);
        bl_mem m = bl_proc_mem(e->d.pid);
        printf("handout_read_p50_%s %lld us (baseline: a signed read, workflow_types)\n", label,
               (long long)base);
        printf("handout_new_task_p50_%s %lld us ratio %.1f (NewTask entry_level, %zu calls "
               "by %d logged-in workers)\n",
               label, (long long)p50, (double)p50 / (double)(base > 0 ? base : 1), s.n, WORKERS);
        printf("handout_new_task_p99_%s %lld us ratio %.1f\n", label, (long long)p99,
               (double)p99 / (double)(base > 0 ? base : 1));
        printf("handout_orchestrad_rss_%s %ld KiB (VmRSS after the calls; peak VmHWM %ld "
               "KiB)\n",
               label, m.rss_kib, m.hwm_kib);
        fflush(stdout);
        if (strcmp(label, "10k") == 0)
            e->p99_10k = p99;
        else if (strcmp(label, "100k") == 0)
            e->p99_100k = p99;
    }
    for (int i = 0; i < WORKERS; i++)
        orc_client_destroy(ws[i]);
    bl_samples_free(&s);
    return rc;
}

static int run(handout_env *e)
{
    static const char *const extra[] = {"--pbkdf2-iterations", "1000", NULL};
    const char *daemon = bl_path("ORC_ORCHESTRAD", ORC_BENCH_ORCHESTRAD);
    if (bl_daemon_start(&e->d, daemon, e->dir, extra) != 0 ||
        bl_client(e->d.rpc_url, BL_DEV_KEY, 0, &e->admin) != 0 ||
        bl_workflow_load(e->admin, "handout") != 0)
        return -1;
    for (int i = 0; i < FILLERS; i++)
        if (bl_client(e->d.rpc_url, BL_DEV_KEY, 0, &e->fill[i]) != 0)
            return -1;
    if (level(e, 10000, "10k") != 0 || level(e, 100000, "100k") != 0)
        return -1;
    printf("handout_new_task_p99_ratio_100k_10k %.2f (p99 at 100k open tasks / p99 at 10k)\n",
           (double)e->p99_100k / (double)(e->p99_10k > 0 ? e->p99_10k : 1));
    fflush(stdout);
    const char *big = getenv("ORC_BENCH_HANDOUT_1M");
    if (big != NULL && strcmp(big, "1") == 0 && level(e, 1000000, "1m") != 0)
        return -1;
    return e->failures > 0 ? -1 : 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    handout_env e;
    memset(&e, 0, sizeof e);
    if (bl_tmpdir("handout", e.dir, sizeof e.dir) != 0)
        return 1;
    int status = run(&e) == 0 ? 0 : 1;
    for (int i = 0; i < FILLERS; i++)
        orc_client_destroy(e.fill[i]);
    orc_client_destroy(e.admin);
    if (bl_daemon_stop(&e.d) != 0)
        status = 1;
    if (getenv("ORC_BENCH_KEEP") != NULL)
        fprintf(stderr, "bench_handout: kept %s (ORC_BENCH_KEEP)\n", e.dir);
    else
        bl_rmtree(e.dir);
    return status;
}
