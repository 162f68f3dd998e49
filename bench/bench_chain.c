/*
 * bench_chain: what a machine step costs, on a real orchestrad (--dev, scratch database)
 * with real orchestra-executor processes, against the physical floor of a step measured in
 * the same run: one nng REQ/REP round trip plus one synchronous=FULL SQLite commit.
 *
 * The workflows (bench/workflows/chain and chain_command) are chains of 10 machine steps,
 * step k created when step k-1 is Complete. Figures:
 *  1. sequential: 200 projects one after the other (create, wait until Completed, next).
 *     Per step: the time between consecutive step completions of a project, from the
 *     events' stamps (the daemon stamps an event with the time it dispatched the request
 *     that made it: the CompleteJob of each step), 9 intervals per project; also the
 *     project's wall time (create to Completed, seen by polling ListEvents) / 10, and
 *     orchestrad's and the executor's CPU per step. One executor, --concurrency 1;
 *  2. throughput: 50 projects in flight (a new project as soon as one completes), steps/s
 *     over a window of completions (from their event stamps), with 1 executor at
 *     --concurrency 50 and with 2 executors at 25 each;
 *  3. the sequential figure for command steps running `true` (--allow-commands): an empty
 *     stdout is not a JSON object for an executor that predates "empty stdout counts as
 *     {}", and the step fails; the figure is then reported unavailable.
 *
 * Usage: bench_chain [sequential] [throughput] [command]   (default: all three).
 * Binaries: $ORC_ORCHESTRAD, $ORC_EXECUTOR and the no-op plugin $ORC_BENCH_NOOP_PLUGIN
 * (defaults: this build's). Prints: name value unit [ratio to the baseline].
 */
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchlib.h"

#define STEPS 10
#define LAST_STEP "s10"
#define SEQ_PROJECTS 200
#define SEQ_WARMUP 5
#define FLIGHT 50       /* projects in flight in the throughput runs */
#define CREATORS 4      /* threads creating the replacement projects */
#define TP_MIN_DONE 300 /* completions in a throughput window, at least */
#define TP_MIN_WINDOW_US 5000000
#define TP_MAX_WINDOW_US 30000000
#define STALL_US 60000000 /* no progress for this long: the run has failed */
#define DRAIN_US 180000000
#define PAGE 1000
#define EXEC_READY_MS 15000
#define EXEC_STOP_MS 30000
#define RR_ROUNDS 2000
#define COMMITS 500

/* chain_env is the run: the daemon of the current phase, its client and the executors. */
typedef struct chain_env {
    char dir[256];
    char phase_dir[320]; /* <dir>/<phase>: its database and logs */
    char plugins[320];
    const char *executor;
    bl_daemon d;
    orc_client *c;
    pid_t execs[2];
    char exec_logs[2][400];
    int n_execs;
    double floor_us; /* the physical baseline: round trip + commit p50 */
} chain_env;

/* ---- executors ------------------------------------------------------------------------- */

/* execs_start starts n executors with --concurrency conc (commands allowed or not). */
static int execs_start(chain_env *e, int n, int conc, bool commands)
{
    static const char *const env[] = {"ORCHESTRA_API_KEY=" BL_DEV_KEY,
                                      "ORCHESTRA_API_SECRET=" BL_DEV_SECRET, NULL};
    char conc_s[16], storage[320];
    snprintf(conc_s, sizeof conc_s, "%d", conc);
    snprintf(storage, sizeof storage, "%s/storage", e->dir);
    for (int i = 0; i < n; i++) {
        snprintf(e->exec_logs[i], sizeof e->exec_logs[i], "%s/executor-%d.log", e->phase_dir, i);
        const char *argv[] = {e->executor,   "--rpc",         e->d.rpc_url,
                              "--plugins",   e->plugins,      "--storage",
                              storage,       "--concurrency", conc_s,
                              "--log-level", "info",          commands ? "--allow-commands" : NULL,
                              NULL};
        e->execs[i] = bl_spawn(argv, env, e->exec_logs[i]);
        if (e->execs[i] < 0)
            return -1;
        e->n_execs = i + 1;
        if (bl_wait_log(e->exec_logs[i], "plugins loaded", e->execs[i], EXEC_READY_MS) != 0)
            return -1;
    }
    return 0;
}

/* execs_stop stops every executor started; -1 when one did not exit 0. */
static int execs_stop(chain_env *e)
{
    int rc = 0;
    for (int i = 0; i < e->n_execs; i++) {
        int code = bl_stop(e->execs[i], EXEC_STOP_MS);
        if (code != 0) {
            fprintf(stderr, "bench_chain: executor %d stopped with status %d\n", i, code);
            bl_print_log(e->exec_logs[i]);
            rc = -1;
        }
    }
    e->n_execs = 0;
    return rc;
}

/* execs_cpu_us is the CPU time of the executors running and their job processes. */
static int64_t execs_cpu_us(const chain_env *e)
{
    int64_t sum = 0;
    for (int i = 0; i < e->n_execs; i++)
        sum += bl_tree_cpu_us(e->execs[i]);
    return sum;
}

/* ---- events ---------------------------------------------------------------------------- */

/* step_index maps "s01".."s10" to 0..9, -1 otherwise. */
static int step_index(const char *slug)
{
    if (slug[0] != 's' || slug[1] < '0' || slug[1] > '9' || slug[2] < '0' || slug[2] > '9' ||
        slug[3] != '\0')
        return -1;
    int k = (slug[1] - '0') * 10 + (slug[2] - '0') - 1;
    return k >= 0 && k < STEPS ? k : -1;
}

/* failure_text puts the "error" of a job.failed event's payload in out. */
static void failure_text(const orc_event *ev, char *out, size_t out_size)
{
    json_t *doc = json_loads(ev->payload, 0, NULL);
    const char *msg = json_string_value(json_object_get(doc, "error"));
    snprintf(out, out_size, "step %s: %s", ev->step, msg != NULL ? msg : ev->payload);
    json_decref(doc);
}

/* project_watch is what one project's events said so far. */
typedef struct project_watch {
    int64_t after;          /* last seq read */
    int64_t done_us[STEPS]; /* stamp of each step's completion, 0 until seen */
    bool completed;         /* project.status_changed to Completed */
    char failure[256];      /* a job.failed event, "" when none */
} project_watch;

/* watch_read reads the project's new events into w. 0, or -1 (printed). *news: any read. */
static int watch_read(orc_client *c, int64_t project, project_watch *w, bool *news)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "project.%lld.", (long long)project);
    *news = false;
    for (;;) {
        orc_event_page *page = NULL;
        orc_error err;
        if (orc_events_list(c, w->after, prefix, PAGE, &page, &err) != ORC_OK) {
            fprintf(stderr, "bench_chain: ListEvents: %s\n", err.message);
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
            else if (strcmp(ev->type, "job.failed") == 0 && w->failure[0] == '\0')
                failure_text(ev, w->failure, sizeof w->failure);
        }
        bool whole = page->n_events < PAGE;
        orc_event_page_free(page);
        if (whole)
            return 0;
    }
}

/* ---- sequential ------------------------------------------------------------------------- */

/* seq_stats is what a sequential run measured. */
typedef struct seq_stats {
    bl_samples step_us; /* between consecutive step completions */
    bl_samples wall_us; /* project wall time / STEPS */
    int64_t polls;      /* ListEvents calls while waiting */
    char failure[256];  /* why the run stopped early, "" when it did not */
} seq_stats;

/*
 * seq_wait waits until project completes (or a job fails), polling its events: first a
 * sleep of 3/4 of the last project's wall time, then every 1/100 of it (0.2 to 20 ms), so
 * that the polls neither load the daemon nor add much to the wall time.
 */
static int seq_wait(chain_env *e, int64_t project, int64_t last_wall_us, project_watch *w,
                    seq_stats *s)
{
    int64_t every = last_wall_us / 100;
    every = every < 200 ? 200 : every > 20000 ? 20000 : every;
    bl_sleep_us(last_wall_us * 3 / 4);
    int64_t progress = bl_mono_us();
    for (;;) {
        bool news = false;
        s->polls++;
        if (watch_read(e->c, project, w, &news) != 0)
            return -1;
        if (w->completed || w->failure[0] != '\0')
            return 0;
        int64_t now = bl_mono_us();
        if (news)
            progress = now;
        else if (now - progress > STALL_US) {
            snprintf(w->failure, sizeof w->failure, "project %lld made no progress for %d s",
                     (long long)project, STALL_US / 1000000);
            return 0;
        }
        bl_sleep_us(every);
    }
}

/* seq_run runs SEQ_WARMUP + SEQ_PROJECTS projects of workflow one after the other. */
static int seq_run(chain_env *e, const char *workflow, seq_stats *s)
{
    orc_project_params p = {
        .workflow = workflow, .version = "v1", .description = "chain", .priority = 1};
    int64_t last_wall = 0;
    for (int i = 0; i < SEQ_WARMUP + SEQ_PROJECTS; i++) {
        project_watch w;
        memset(&w, 0, sizeof w);
        int64_t id = 0, t0 = bl_mono_us();
        orc_error err;
        if (orc_project_create(e->c, &p, &id, &err) != ORC_OK) {
            fprintf(stderr, "bench_chain: CreateProject: %s\n", err.message);
            return -1;
        }
        if (seq_wait(e, id, last_wall, &w, s) != 0)
            return -1;
        last_wall = bl_mono_us() - t0;
        if (w.failure[0] != '\0') {
            snprintf(s->failure, sizeof s->failure, "%s", w.failure);
            return 0;
        }
        for (int k = 0; k < STEPS; k++) {
            if (w.done_us[k] == 0) {
                fprintf(stderr,
                        "bench_chain: project %lld completed without an event of step "
                        "%d completing\n",
                        (long long)id, k + 1);
                return -1;
            }
        }
        if (i < SEQ_WARMUP)
            continue;
        bl_samples_push(&s->wall_us, last_wall / STEPS);
        for (int k = 1; k < STEPS; k++)
            bl_samples_push(&s->step_us, w.done_us[k] - w.done_us[k - 1]);
    }
    return 0;
}

/*
 * sequential runs seq_run with one executor (commands allowed or not) and prints its
 * figures under name; an early stop prints the figure unavailable, and is an error unless
 * tolerated (the command chain, see the file comment).
 */
static int sequential(chain_env *e, const char *name, const char *workflow, bool commands)
{
    seq_stats s;
    memset(&s, 0, sizeof s);
    int rc = execs_start(e, 1, 1, commands);
    int64_t d0 = bl_proc_cpu_us(e->d.pid), x0 = execs_cpu_us(e);
    if (rc == 0)
        rc = seq_run(e, workflow, &s);
    int64_t d1 = bl_proc_cpu_us(e->d.pid), x1 = execs_cpu_us(e);
    if (execs_stop(e) != 0)
        rc = -1;
    if (rc == 0 && s.failure[0] != '\0') {
        printf("chain_%s_step_p50 unavailable (%s)\n", name, s.failure);
        rc = commands ? 0 : -1;
    } else if (rc == 0) {
        double steps = (double)s.wall_us.n * STEPS;
        int64_t p50 = bl_percentile(&s.step_us, 50);
        printf("chain_%s_step_p50 %lld us ratio %.2f (between consecutive step completions, "
               "event stamps; %zu intervals of %zu projects)\n",
               name, (long long)p50, (double)p50 / e->floor_us, s.step_us.n, s.wall_us.n);
        printf("chain_%s_step_p99 %lld us\n", name, (long long)bl_percentile(&s.step_us, 99));
        printf("chain_%s_wall_per_step_p50 %lld us (project wall time / %d, create to "
               "Completed seen by polling)\n",
               name, (long long)bl_percentile(&s.wall_us, 50), STEPS);
        printf("chain_%s_wall_per_step_p99 %lld us\n", name,
               (long long)bl_percentile(&s.wall_us, 99));
        printf("chain_%s_orchestrad_cpu_per_step %.0f us (with the bench's polls: %.1f "
               "ListEvents per project)\n",
               name, (double)(d1 - d0) / steps, (double)s.polls / (SEQ_WARMUP + SEQ_PROJECTS));
        printf("chain_%s_executor_cpu_per_step %.0f us (executor and its job processes)\n", name,
               (double)(x1 - x0) / steps);
    }
    bl_samples_free(&s.step_us);
    bl_samples_free(&s.wall_us);
    return rc;
}

/* ---- throughput ------------------------------------------------------------------------- */

/* flight is the state shared by the creator threads and the watcher (main thread). */
typedef struct flight {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int slots; /* projects that may be created now */
    bool stop;
    int64_t created;
    int failures;
    char first_error[ORC_ERROR_MESSAGE_MAX];
    const char *rpc_url;
    const char *workflow;
} flight;

static void *creator_main(void *arg)
{
    flight *f = arg;
    orc_client *c = NULL;
    if (bl_client(f->rpc_url, BL_DEV_KEY, 0, &c) != 0) {
        pthread_mutex_lock(&f->mu);
        if (f->failures++ == 0)
            snprintf(f->first_error, sizeof f->first_error, "cannot connect");
        pthread_mutex_unlock(&f->mu);
        return NULL;
    }
    orc_project_params p = {
        .workflow = f->workflow, .version = "v1", .description = "chain", .priority = 1};
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->slots == 0 && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        f->slots--;
        pthread_mutex_unlock(&f->mu);
        int64_t id = 0;
        orc_error err;
        int rc = orc_project_create(c, &p, &id, &err);
        pthread_mutex_lock(&f->mu);
        if (rc == ORC_OK)
            f->created++;
        else if (f->failures++ == 0)
            snprintf(f->first_error, sizeof f->first_error, "%s", err.message);
        pthread_mutex_unlock(&f->mu);
    }
    orc_client_destroy(c);
    return NULL;
}

/* tp_window is what the watcher counted: completions and the stamps bounding the window. */
typedef struct tp_window {
    int64_t after;   /* last seq read on step.<last>. */
    int64_t done;    /* projects completed since the run started */
    int64_t open_us; /* stamp of completion number FLIGHT: the window opens */
    int64_t last_us; /* stamp of the last completion */
    int64_t in_window;
    int64_t max_gap_us; /* longest time between consecutive completions in the window */
    /* What the processes spent from when the watcher saw the window open to when it saw it
     * complete (orchestrad; the executors with their plugin hosts): CPU us, switches. */
    bool sampled;
    int64_t d_cpu, e_cpu, d_sw, e_sw;
} tp_window;

/* tp_sample adds (sign 1) or subtracts (-1) the processes' counters now to the window's. */
static void tp_sample(const chain_env *e, tp_window *w, int sign)
{
    int64_t e_sw = 0;
    for (int i = 0; i < e->n_execs; i++)
        e_sw += bl_tree_switches(e->execs[i]);
    w->d_cpu += sign * bl_proc_cpu_us(e->d.pid);
    w->e_cpu += sign * execs_cpu_us(e);
    w->d_sw += sign * bl_proc_switches(e->d.pid);
    w->e_sw += sign * e_sw;
}

/* tp_poll reads the completions of the last step since w->after, hands a slot back to the
 * creators for each, and counts them. *news: any completion. 0 or -1. */
static int tp_poll(orc_client *c, flight *f, tp_window *w, bool *news)
{
    *news = false;
    for (;;) {
        orc_event_page *page = NULL;
        orc_error err;
        if (orc_events_list(c, w->after, "step." LAST_STEP ".", PAGE, &page, &err) != ORC_OK) {
            fprintf(stderr, "bench_chain: ListEvents: %s\n", err.message);
            return -1;
        }
        int freed = 0;
        for (size_t i = 0; i < page->n_events; i++) {
            const orc_event *ev = page->events[i];
            w->after = ev->seq;
            if (strcmp(ev->type, "task.status_changed") != 0 ||
                strcmp(ev->new_status, "Complete") != 0)
                continue;
            freed++;
            if (++w->done == FLIGHT) {
                w->open_us = ev->time_us;
            } else if (w->done > FLIGHT) {
                w->in_window++;
                if (ev->time_us - w->last_us > w->max_gap_us)
                    w->max_gap_us = ev->time_us - w->last_us;
            }
            w->last_us = ev->time_us;
        }
        bool whole = page->n_events < PAGE;
        orc_event_page_free(page);
        if (freed > 0) {
            *news = true;
            pthread_mutex_lock(&f->mu);
            f->slots += freed;
            pthread_cond_broadcast(&f->cv);
            pthread_mutex_unlock(&f->mu);
        }
        if (whole)
            return 0;
    }
}

/* tp_watch keeps FLIGHT projects in flight until the window is complete. 0 or -1. */
static int tp_watch(chain_env *e, flight *f, tp_window *w)
{
    int64_t progress = bl_mono_us();
    for (;;) {
        bool news = false;
        if (tp_poll(e->c, f, w, &news) != 0)
            return -1;
        int64_t now = bl_mono_us();
        if (news)
            progress = now;
        if (w->done >= FLIGHT && !w->sampled) {
            tp_sample(e, w, -1);
            w->sampled = true;
        }
        if (w->in_window > 0) {
            int64_t span = w->last_us - w->open_us;
            if ((w->in_window >= TP_MIN_DONE && span >= TP_MIN_WINDOW_US) ||
                span >= TP_MAX_WINDOW_US) {
                tp_sample(e, w, 1);
                return 0;
            }
        }
        if (now - progress > STALL_US) {
            fprintf(stderr, "bench_chain: no project completed for %d s (%lld done)\n",
                    STALL_US / 1000000, (long long)w->done);
            return -1;
        }
        pthread_mutex_lock(&f->mu);
        int failures = f->failures;
        pthread_mutex_unlock(&f->mu);
        if (failures > 0) {
            fprintf(stderr, "bench_chain: CreateProject failed: %s\n", f->first_error);
            return -1;
        }
        bl_sleep_us(2000);
    }
}

/* tp_drain waits until every project created has completed, so that none is left over for
 * the next run. 0 or -1. */
static int tp_drain(chain_env *e, flight *f, tp_window *w)
{
    int64_t deadline = bl_mono_us() + DRAIN_US;
    while (w->done < f->created) {
        bool news = false;
        if (bl_mono_us() > deadline) {
            fprintf(stderr, "bench_chain: %lld projects still running after %d s\n",
                    (long long)(f->created - w->done), DRAIN_US / 1000000);
            return -1;
        }
        if (tp_poll(e->c, f, w, &news) != 0)
            return -1;
        bl_sleep_us(5000);
    }
    return 0;
}

/* throughput runs FLIGHT projects in flight with n executors at conc each. */
static int throughput(chain_env *e, const char *name, int n, int conc)
{
    flight f = {.slots = FLIGHT, .rpc_url = e->d.rpc_url, .workflow = "bench_chain"};
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    tp_window w = {0};
    /* Start where the events are now, so that earlier runs do not count. */
    orc_event_page *page = NULL;
    orc_error err;
    int rc = orc_events_list(e->c, 0, "step." LAST_STEP ".", 1, &page, &err);
    if (rc != ORC_OK) {
        fprintf(stderr, "bench_chain: ListEvents: %s\n", err.message);
        return -1;
    }
    w.after = page->last_seq;
    orc_event_page_free(page);

    pthread_t th[CREATORS];
    int started = 0;
    rc = execs_start(e, n, conc, false);
    for (; rc == 0 && started < CREATORS; started++)
        if (pthread_create(&th[started], NULL, creator_main, &f) != 0)
            rc = -1;
    if (rc == 0)
        rc = tp_watch(e, &f, &w);
    pthread_mutex_lock(&f.mu);
    f.stop = true;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (rc == 0)
        rc = tp_drain(e, &f, &w);
    if (execs_stop(e) != 0)
        rc = -1;
    if (rc == 0) {
        double rate = (double)w.in_window * STEPS * 1e6 / (double)(w.last_us - w.open_us);
        printf("chain_throughput_%s %.0f steps/s ratio %.2f (%d projects in flight, %d "
               "executor(s) at --concurrency %d; %lld projects in %.1f s; ratio to 1/baseline)\n",
               name, rate, rate * e->floor_us / 1e6, FLIGHT, n, conc, (long long)w.in_window,
               (double)(w.last_us - w.open_us) / 1e6);
        printf("chain_throughput_%s_longest_gap %lld ms (between consecutive project "
               "completions in the window)\n",
               name, (long long)(w.max_gap_us / 1000));
        double steps = (double)w.in_window * STEPS;
        printf("chain_throughput_%s_orchestrad_cpu_per_step %.0f us (over the window, with the "
               "bench's ListEvents polls)\n",
               name, (double)w.d_cpu / steps);
        printf("chain_throughput_%s_executor_cpu_per_step %.0f us (executors and their plugin "
               "hosts)\n",
               name, (double)w.e_cpu / steps);
        printf("chain_throughput_%s_orchestrad_switches_per_step %.1f switches (context "
               "switches of every thread, voluntary and not)\n",
               name, (double)w.d_sw / steps);
        printf("chain_throughput_%s_executor_switches_per_step %.1f switches\n", name,
               (double)w.e_sw / steps);
    }
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------------- */

/* plugin_dir makes <dir>/plugins holding a link to the no-op plugin. */
static int plugin_dir(chain_env *e)
{
    const char *given = bl_path("ORC_BENCH_NOOP_PLUGIN", ORC_BENCH_NOOP_PLUGIN);
    char link_path[600], noop[PATH_MAX];
    snprintf(e->plugins, sizeof e->plugins, "%s/plugins", e->dir);
    snprintf(link_path, sizeof link_path, "%s/test_plugin_noop.so", e->plugins);
    /* The link must hold an absolute path: a relative one would be read from its folder. */
    if (realpath(given, noop) == NULL || access(noop, R_OK) != 0) {
        fprintf(stderr, "bench_chain: no no-op plugin at %s\n", given);
        return -1;
    }
    if (mkdir(e->plugins, 0755) != 0 || symlink(noop, link_path) != 0) {
        fprintf(stderr, "bench_chain: cannot make the plugin folder %s\n", e->plugins);
        return -1;
    }
    return 0;
}

static int baseline(chain_env *e)
{
    int64_t rr = 0, commit = 0;
    if (bl_physical_baseline(e->dir, RR_ROUNDS, COMMITS, &rr, &commit) != 0)
        return -1;
    e->floor_us = (double)(rr + commit);
    printf("chain_baseline_round_trip_p50 %lld us (nng REQ/REP, tcp loopback, 128 B)\n",
           (long long)rr);
    printf("chain_baseline_commit_p50 %lld us (SQLite WAL synchronous=FULL, one row, next to "
           "the database)\n",
           (long long)commit);
    printf("chain_baseline %.0f us (baseline: one round trip + one commit)\n", e->floor_us);
    return 0;
}

/* wanted tells whether phase is selected by the command line (none: every phase). */
static bool wanted(int argc, char **argv, const char *phase)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], phase) == 0)
            return true;
    return argc < 2;
}

/*
 * phase_open starts a fresh orchestrad on its own database for one phase and loads the
 * workflows. Phases do not share a daemon: an executor that stops leaves LeaseJob polls
 * parked in the daemon, and a job handed to one of them waits for its lease to expire,
 * which would charge one phase for the end of the previous one.
 */
static int phase_open(chain_env *e, const char *name)
{
    snprintf(e->phase_dir, sizeof e->phase_dir, "%s/%s", e->dir, name);
    if (mkdir(e->phase_dir, 0755) != 0) {
        fprintf(stderr, "bench_chain: cannot make %s\n", e->phase_dir);
        return -1;
    }
    const char *daemon = bl_path("ORC_ORCHESTRAD", ORC_BENCH_ORCHESTRAD);
    if (bl_daemon_start(&e->d, daemon, e->phase_dir, NULL) != 0 ||
        bl_client(e->d.rpc_url, BL_DEV_KEY, 0, &e->c) != 0 ||
        bl_workflow_load(e->c, "chain") != 0 || bl_workflow_load(e->c, "chain_command") != 0)
        return -1;
    return 0;
}

/* phase_close stops the phase's executors and daemon; rc is the phase's outcome. */
static int phase_close(chain_env *e, int rc)
{
    if (execs_stop(e) != 0)
        rc = -1;
    orc_client_destroy(e->c);
    e->c = NULL;
    if (bl_daemon_stop(&e->d) != 0)
        rc = -1;
    fflush(stdout);
    return rc;
}

static int run(chain_env *e, int argc, char **argv)
{
    if (plugin_dir(e) != 0 || baseline(e) != 0)
        return -1;
    fflush(stdout);
    if (wanted(argc, argv, "sequential") &&
        phase_close(e, phase_open(e, "sequential") != 0
                           ? -1
                           : sequential(e, "plugin", "bench_chain", false)) != 0)
        return -1;
    if (wanted(argc, argv, "throughput") &&
        (phase_close(e, phase_open(e, "throughput-1") != 0
                            ? -1
                            : throughput(e, "1_executor", 1, FLIGHT)) != 0 ||
         phase_close(e, phase_open(e, "throughput-2") != 0
                            ? -1
                            : throughput(e, "2_executors", 2, FLIGHT / 2)) != 0))
        return -1;
    if (wanted(argc, argv, "command") &&
        phase_close(e, phase_open(e, "command") != 0
                           ? -1
                           : sequential(e, "command", "bench_chain_command", true)) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "sequential") != 0 && strcmp(argv[i], "throughput") != 0 &&
            strcmp(argv[i], "command") != 0) {
            fprintf(stderr, "usage: bench_chain [sequential] [throughput] [command]  "
                            "(default: all three)\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    chain_env e;
    memset(&e, 0, sizeof e);
    e.executor = bl_path("ORC_EXECUTOR", ORC_BENCH_EXECUTOR);
    if (bl_tmpdir("chain", e.dir, sizeof e.dir) != 0)
        return 1;
    int status = phase_close(&e, run(&e, argc, argv)) == 0 ? 0 : 1;
    if (getenv("ORC_BENCH_KEEP") != NULL)
        fprintf(stderr, "bench_chain: kept %s (ORC_BENCH_KEEP)\n", e.dir);
    else
        bl_rmtree(e.dir);
    return status;
}
