/*
 * bench_rpc: signed RPC round trips through liborchestra and a real orchestrad (--dev,
 * scratch database), against a bare nng REQ/REP echo of a message of the same size over the
 * same transport (tcp on loopback), measured in the same run, with 1 and 8 client threads
 * (each its own connection). Throughput and per-call latency (p50/p99) of:
 *  - the echo (the baseline);
 *  - a read: workflow_types, against the echo;
 *  - a durable write: pausing or resuming a project of the thread's own (one row and one
 *    event, group-committed with synchronous=FULL before the reply), against the echo plus
 *    one synchronous=FULL SQLite commit measured next to the database.
 *
 * Usage: bench_rpc [path-to-orchestrad]   (default: $ORC_ORCHESTRAD, else this build's).
 * Prints: name value unit [ratio-to-baseline].
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"

#define THREADS 8
#define CALLS_PER_THREAD 500
#define CALLS_ONE_THREAD 2000
#define COMMITS 500
#define ECHO_SIZE 96

typedef enum rpc_kind { RPC_ECHO, RPC_READ, RPC_WRITE } rpc_kind;

typedef struct worker {
    const char *echo_url;
    orc_client *client;
    int64_t project; /* the write's project, paused and resumed in turn */
    rpc_kind kind;
    int calls;
    int failures;
    bl_samples us;
} worker;

static void *worker_main(void *p)
{
    worker *w = p;
    if (w->kind == RPC_ECHO) {
        int failed = bl_echo_round_trips(w->echo_url, w->calls, ECHO_SIZE, &w->us);
        w->failures += failed < 0 ? w->calls : failed;
        return NULL;
    }
    for (int i = 0; i < w->calls; i++) {
        char *json = NULL;
        int64_t t0 = bl_mono_us();
        int rc;
        if (w->kind == RPC_READ)
            rc = orc_workflow_types_json(w->client, &json, NULL);
        else if (i % 2 == 0)
            rc = orc_project_pause(w->client, w->project, NULL);
        else
            rc = orc_project_resume(w->client, w->project, NULL);
        int64_t t1 = bl_mono_us();
        orc_free(json);
        if (rc != ORC_OK)
            w->failures++;
        else
            bl_samples_push(&w->us, t1 - t0);
    }
    return NULL;
}

/* result is one measured configuration. */
typedef struct result {
    double per_s;
    int64_t p50, p99;
} result;

/* measure runs n threads of kind, calls each, and merges their latencies. */
static int measure(worker *ws, int n, rpc_kind kind, int calls, result *r)
{
    pthread_t th[THREADS];
    int started = 0;
    int64_t t0 = bl_mono_us();
    for (; started < n; started++) {
        ws[started].kind = kind;
        ws[started].calls = calls;
        ws[started].us.n = 0;
        if (pthread_create(&th[started], NULL, worker_main, &ws[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    int64_t us = bl_mono_us() - t0;
    bl_samples all = {0};
    for (int i = 0; i < started; i++)
        bl_samples_append(&all, &ws[i].us);
    r->per_s = (double)all.n * 1e6 / (double)(us > 0 ? us : 1);
    r->p50 = bl_percentile(&all, 50);
    r->p99 = bl_percentile(&all, 99);
    bl_samples_free(&all);
    return started == n ? 0 : -1;
}

static double ratio(double a, double b)
{
    return a / (b > 0 ? b : 1);
}

/* report prints one configuration of n clients; commit_p50 is the write's extra floor. */
static void report(int n, const result *echo, const result *rd, const result *wr,
                   int64_t commit_p50)
{
    char c[32];
    snprintf(c, sizeof c, "%d_client%s", n, n > 1 ? "s" : "");
    printf("rpc.echo.%s %.0f calls/s (baseline)\n", c, echo->per_s);
    printf("rpc.echo.%s.p50 %lld us (baseline)\n", c, (long long)echo->p50);
    printf("rpc.echo.%s.p99 %lld us (baseline)\n", c, (long long)echo->p99);
    printf("rpc.list_workflows_signed.%s %.0f calls/s ratio %.2f\n", c, rd->per_s,
           ratio(rd->per_s, echo->per_s));
    printf("rpc.list_workflows_signed.%s.p50 %lld us ratio %.2f\n", c, (long long)rd->p50,
           ratio((double)rd->p50, (double)echo->p50));
    printf("rpc.list_workflows_signed.%s.p99 %lld us ratio %.2f\n", c, (long long)rd->p99,
           ratio((double)rd->p99, (double)echo->p99));
    printf("rpc.durable_write.%s %.0f calls/s\n", c, wr->per_s);
    printf("rpc.durable_write.%s.p50 %lld us ratio %.2f (to echo p50 + commit p50)\n", c,
           (long long)wr->p50, ratio((double)wr->p50, (double)(echo->p50 + commit_p50)));
    printf("rpc.durable_write.%s.p99 %lld us ratio %.2f (to echo p99 + commit p50)\n", c,
           (long long)wr->p99, ratio((double)wr->p99, (double)(echo->p99 + commit_p50)));
}

/* setup connects THREADS clients and creates each one's project for the writes. */
static int setup(const char *rpc_url, worker *ws, const char *echo_url)
{
    orc_client *admin = NULL;
    if (bl_client(rpc_url, BL_DEV_KEY, 0, &admin) != 0 || bl_workflow_load(admin, "handout") != 0) {
        orc_client_destroy(admin);
        return -1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < THREADS; i++) {
        ws[i].echo_url = echo_url;
        orc_project_params p = {
            .workflow = "bench_handout", .version = "v1", .description = "rpc", .priority = 1};
        orc_error err;
        if (bl_client(rpc_url, BL_DEV_KEY, 0, &ws[i].client) != 0) {
            rc = -1;
        } else if (orc_project_create(admin, &p, &ws[i].project, &err) != ORC_OK) {
            fprintf(stderr, "bench_rpc: CreateProject: %s\n", err.message);
            rc = -1;
        }
    }
    orc_client_destroy(admin);
    return rc;
}

static int run(const char *daemon, const char *dir, worker *ws, bl_daemon *d)
{
    char echo_url[64];
    snprintf(echo_url, sizeof echo_url, "tcp://127.0.0.1:%d", bl_free_port());
    bl_echo *echo = bl_echo_start(echo_url, THREADS);
    bl_samples commits = {0};
    int rc = echo != NULL && bl_commit_samples(dir, COMMITS, &commits) == 0 ? 0 : -1;
    int64_t commit_p50 = bl_percentile(&commits, 50);
    bl_samples_free(&commits);
    if (rc == 0)
        rc = bl_daemon_start(d, daemon, dir, NULL);
    if (rc == 0)
        rc = setup(d->rpc_url, ws, echo_url);
    if (rc == 0)
        printf("rpc.commit.p50 %lld us (baseline: one SQLite WAL synchronous=FULL commit)\n",
               (long long)commit_p50);
    static const int clients[] = {1, THREADS};
    for (size_t k = 0; rc == 0 && k < sizeof clients / sizeof clients[0]; k++) {
        int n = clients[k], calls = n == 1 ? CALLS_ONE_THREAD : CALLS_PER_THREAD;
        result e, r, w;
        if (measure(ws, n, RPC_ECHO, calls, &e) != 0 || measure(ws, n, RPC_READ, calls, &r) != 0 ||
            measure(ws, n, RPC_WRITE, calls, &w) != 0)
            rc = -1;
        else
            report(n, &e, &r, &w, commit_p50);
    }
    bl_echo_stop(echo);
    return rc;
}

int main(int argc, char **argv)
{
    const char *daemon = argc > 1 ? argv[1] : bl_path("ORC_ORCHESTRAD", ORC_BENCH_ORCHESTRAD);
    signal(SIGPIPE, SIG_IGN);
    char dir[256];
    if (bl_tmpdir("rpc", dir, sizeof dir) != 0)
        return 1;
    worker ws[THREADS];
    memset(ws, 0, sizeof ws);
    bl_daemon d = {0};
    int status = run(daemon, dir, ws, &d) == 0 ? 0 : 1;
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        failures += ws[i].failures;
        orc_client_destroy(ws[i].client);
        bl_samples_free(&ws[i].us);
    }
    if (failures) {
        fprintf(stderr, "bench_rpc: %d calls failed\n", failures);
        status = 1;
    }
    if (bl_daemon_stop(&d) != 0)
        status = 1;
    bl_rmtree(dir);
    return status;
}
