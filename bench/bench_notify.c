/*
 * bench_notify: orchestra-notify's webhook deliveries from a real orchestrad (free loopback
 * ports, a scratch database, the --dev key) to a receiver in this process, against the rate
 * at which the events were committed, in the same run.
 *
 *  1. baselines: one synchronous=FULL SQLite commit (the notifier records each delivery with
 *     one) and one signed POST answered by the same receiver over one keep-alive connection
 *     (libcurl, as the notifier posts): the physical floor of a delivery is their sum;
 *  2. a webhook on "project." and PRODUCERS threads pausing and resuming a project each as
 *     fast as they can (one project.status_changed event per call): the events committed per
 *     second, the deliveries per second from the first to the last (its ratio to the commit
 *     rate: 1 when the notifier keeps up), and the delay of each delivery from the event's
 *     time (the daemon stamps an event when it dispatched the request, just before the
 *     commit) to its arrival at the receiver, p50 and p99.
 *
 * The receiver answers 200 at once and checks nothing (the tests check signatures). Usage:
 * bench_notify [orchestrad [orchestra-notify]] (defaults: $ORC_ORCHESTRAD, $ORC_NOTIFY).
 * Prints: name value unit [ratio]. Machine load changes every figure (bench/README.md).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "benchlib.h"
#include "orchestra/client.h"

#define PRODUCERS 2
#define TOGGLES 1000 /* pause + resume pairs per producer: 2 events each */
#define EVENTS (PRODUCERS * TOGGLES * 2)
#define BASELINE_POSTS 500
#define BASELINE_COMMITS 200
#define DELIVERY_WAIT_US (180LL * 1000000)
#define MAX_SEQ 200000

/* ---- the receiver ---------------------------------------------------------------------------- */

typedef struct receiver {
    struct MHD_Daemon *d;
    int port;
    int64_t *arrived_us; /* by seq: CLOCK_REALTIME of the delivery's arrival, 0: none */
    atomic_long deliveries;
    atomic_long repeats;
} receiver;

static enum MHD_Result rx_cb(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *data,
                             size_t *size, void **state)
{
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    receiver *r = cls;
    if (!*state) {
        *state = r; /* the head: wait for the body */
        return MHD_YES;
    }
    if (*size) {
        *size = 0; /* the body is read and dropped */
        return MHD_YES;
    }
    int64_t now = bl_real_us();
    const char *seq_text =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Orchestra-Event-Seq");
    long long seq = seq_text ? atoll(seq_text) : 0;
    if (seq > 0 && seq < MAX_SEQ) {
        if (r->arrived_us[seq])
            atomic_fetch_add(&r->repeats, 1);
        else
            r->arrived_us[seq] = now;
        atomic_fetch_add(&r->deliveries, 1);
    }
    static const char ok[] = "ok\n";
    struct MHD_Response *res =
        MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, 200, res);
    MHD_destroy_response(res);
    return rc;
}

static int rx_start(receiver *r)
{
    r->arrived_us = calloc(MAX_SEQ, sizeof *r->arrived_us);
    r->port = bl_free_port();
    if (!r->arrived_us || r->port <= 0)
        return -1;
    r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                            (uint16_t)r->port, NULL, NULL, rx_cb, r, MHD_OPTION_END);
    if (!r->d) {
        fprintf(stderr, "bench_notify: cannot listen on port %d\n", r->port);
        return -1;
    }
    return 0;
}

/* ---- baselines
 * ----------------------------------------------------------------------------------- */

static size_t drop(char *p, size_t s, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return s * n;
}

/* post_baseline makes n POSTs like the notifier's over one connection: their latencies. */
static int post_baseline(const receiver *r, int n, bl_samples *out)
{
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/baseline", r->port);
    const char body[] = "{\"seq\":0,\"type\":\"project.status_changed\",\"topic\":\"project.1.\","
                        "\"time\":\"2026-01-01T00:00:00.000000Z\",\"project_id\":1}";
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Orchestra-Event-Seq: 0");
    h = curl_slist_append(h, "Orchestra-Signature: t=0,v1=00");
    h = curl_slist_append(h, "Expect:");
    int failed = 0;
    for (int i = 0; c && i < n; i++) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop);
        int64_t t0 = bl_mono_us();
        long code = 0;
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
            failed++;
        bl_samples_push(out, bl_mono_us() - t0);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return c && failed == 0 ? 0 : -1;
}

/* ---- producers
 * ------------------------------------------------------------------------------------ */

typedef struct producer {
    const char *rpc_url;
    int64_t project;
    int failures;
    char error[ORC_ERROR_MESSAGE_MAX];
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    orc_client *c = NULL;
    if (bl_client(p->rpc_url, BL_DEV_KEY, 10000, &c) != 0) {
        p->failures = 1;
        return NULL;
    }
    orc_error err;
    for (int i = 0; i < TOGGLES; i++) {
        if (orc_project_pause(c, p->project, &err) != ORC_OK ||
            orc_project_resume(c, p->project, &err) != ORC_OK) {
            if (p->failures++ == 0)
                snprintf(p->error, sizeof p->error, "%s", err.message);
        }
    }
    orc_client_destroy(c);
    return NULL;
}

/* ---- the run
 * ------------------------------------------------------------------------------------- */

typedef struct run {
    char dir[256];
    bl_daemon d;
    receiver rx;
    pid_t notify;
    char notify_log[320];
    orc_client *c;
    int64_t projects[PRODUCERS];
    int64_t first_seq; /* the newest event before the producers */
} run;

/* setup starts orchestrad, the receiver, the projects, the webhook and the notifier. */
static int setup(run *r, const char *orchestrad, const char *notifier)
{
    if (bl_tmpdir("notify", r->dir, sizeof r->dir) != 0 ||
        bl_daemon_start(&r->d, orchestrad, r->dir, NULL) != 0 || rx_start(&r->rx) != 0 ||
        bl_client(r->d.rpc_url, BL_DEV_KEY, 10000, &r->c) != 0 ||
        bl_workflow_load(r->c, "handout") != 0)
        return -1;
    orc_error err;
    orc_project_params p = {.workflow = "bench_handout", .version = "v1", .priority = 1};
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orchestra", r->rx.port);
    for (int i = 0; i < PRODUCERS; i++) {
        p.description = "toggled";
        if (orc_project_create(r->c, &p, &r->projects[i], &err) != ORC_OK) {
            fprintf(stderr, "bench_notify: project: %s\n", err.message);
            return -1;
        }
    }
    if (orc_webhook_create(r->c, url, "project.", "bench-secret", NULL, &r->first_seq, &err) !=
        ORC_OK) {
        fprintf(stderr, "bench_notify: webhook: %s\n", err.message);
        return -1;
    }
    char state[300];
    snprintf(state, sizeof state, "%s/notify-state", r->dir);
    snprintf(r->notify_log, sizeof r->notify_log, "%s/notify.log", r->dir);
    const char *argv[] = {notifier,  "--rpc",      r->d.rpc_url,  "--events", r->d.events_url,
                          "--state", state,        "--refresh",   "100",      "--log-level",
                          "warn",    "--log-file", r->notify_log, NULL};
    const char *env[] = {"ORCHESTRA_API_KEY=" BL_DEV_KEY, "ORCHESTRA_API_SECRET=" BL_DEV_SECRET,
                         NULL};
    if ((r->notify = bl_spawn(argv, env, r->notify_log)) < 0)
        return -1;
    /* Ready once the webhook's target reported itself: its state appears in the list. */
    int64_t deadline = bl_mono_us() + 15 * 1000000LL;
    while (bl_mono_us() < deadline) {
        orc_webhook_list *l = NULL;
        if (orc_webhooks_list(r->c, false, &l, &err) == ORC_OK) {
            bool up = l->n_webhooks == 1 && l->webhooks[0]->status_at_us > 0;
            orc_webhook_list_free(l);
            if (up)
                return 0;
        }
        bl_sleep_us(20000);
    }
    fprintf(stderr, "bench_notify: the notifier did not start\n");
    bl_print_log(r->notify_log);
    return -1;
}

/* produce_all runs the producers; *rate gets the events committed per second. */
static int produce_all(run *r, double *rate)
{
    producer ps[PRODUCERS];
    pthread_t th[PRODUCERS];
    int64_t t0 = bl_mono_us();
    for (int i = 0; i < PRODUCERS; i++) {
        ps[i] = (producer){.rpc_url = r->d.rpc_url, .project = r->projects[i]};
        if (pthread_create(&th[i], NULL, produce, &ps[i]) != 0)
            return -1;
    }
    int failures = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        if (ps[i].failures && failures++ == 0)
            fprintf(stderr, "bench_notify: producer: %s\n", ps[i].error);
    }
    *rate = (double)EVENTS * 1e6 / (double)(bl_mono_us() - t0);
    return failures ? -1 : 0;
}

/* delays fills out with each event's arrival minus its time; *span the first to last arrival. */
static int delays(run *r, bl_samples *out, int64_t *span_us)
{
    int64_t after = r->first_seq, first = 0, last = 0;
    orc_error err;
    for (int got = 0; got < EVENTS;) {
        orc_event_page *page = NULL;
        if (orc_events_list(r->c, after, "project.", 1000, &page, &err) != ORC_OK) {
            fprintf(stderr, "bench_notify: ListEvents: %s\n", err.message);
            return -1;
        }
        if (page->n_events == 0) {
            orc_event_page_free(page);
            break;
        }
        for (size_t i = 0; i < page->n_events; i++) {
            const orc_event *ev = page->events[i];
            int64_t at = ev->seq < MAX_SEQ ? r->rx.arrived_us[ev->seq] : 0;
            if (at) {
                bl_samples_push(out, at - ev->time_us);
                first = first && first < at ? first : at;
                last = last > at ? last : at;
            }
            after = ev->seq;
            got++;
        }
        orc_event_page_free(page);
    }
    *span_us = last - first;
    return 0;
}

int main(int argc, char **argv)
{
    const char *orchestrad = argc > 1 ? argv[1] : bl_path("ORC_ORCHESTRAD", ORC_BENCH_ORCHESTRAD);
    const char *notifier = argc > 2 ? argv[2] : bl_path("ORC_NOTIFY", ORC_BENCH_NOTIFY);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run r;
    memset(&r, 0, sizeof r);
    int status = 1;
    bl_samples posts = {0}, commits = {0}, delay = {0};
    double commit_rate = 0;
    int64_t span = 0;
    if (setup(&r, orchestrad, notifier) != 0 || post_baseline(&r.rx, BASELINE_POSTS, &posts) != 0 ||
        bl_commit_samples(r.dir, BASELINE_COMMITS, &commits) != 0 ||
        produce_all(&r, &commit_rate) != 0)
        goto out;
    int64_t deadline = bl_mono_us() + DELIVERY_WAIT_US;
    while (atomic_load(&r.rx.deliveries) < EVENTS && bl_mono_us() < deadline && bl_alive(r.notify))
        bl_sleep_us(20000);
    long delivered = atomic_load(&r.rx.deliveries);
    if (delivered < EVENTS) {
        fprintf(stderr, "bench_notify: %ld of %d events delivered\n", delivered, EVENTS);
        bl_print_log(r.notify_log);
        goto out;
    }
    if (delays(&r, &delay, &span) != 0 || delay.n != EVENTS || span <= 0)
        goto out;
    double post_p50 = (double)bl_percentile(&posts, 50),
           commit_p50 = (double)bl_percentile(&commits, 50);
    double floor_rate = 1e6 / (post_p50 + commit_p50);
    double rate = (double)(EVENTS - 1) * 1e6 / (double)span;
    printf("notify.baseline.post_p50 %.0f us (one signed POST, keep-alive, same receiver)\n",
           post_p50);
    printf("notify.baseline.commit_p50 %.0f us (one synchronous=FULL commit)\n", commit_p50);
    printf("notify.commit_rate %.0f events/s (%d threads pausing and resuming a project)\n",
           commit_rate, PRODUCERS);
    printf("notify.webhook_deliveries %.0f deliveries/s ratio %.3f to the commit rate, %.3f to "
           "1/(post+commit)\n",
           rate, rate / commit_rate, rate / floor_rate);
    printf("notify.delay_p50 %.1f ms (event time to arrival)\n",
           (double)bl_percentile(&delay, 50) / 1000.0);
    printf("notify.delay_p99 %.1f ms\n", (double)bl_percentile(&delay, 99) / 1000.0);
    printf("notify.repeats %ld deliveries (0 expected without a crash)\n",
           atomic_load(&r.rx.repeats));
    status = 0;
out:
    if (r.notify > 0 && bl_stop(r.notify, 10000) != 0) {
        fprintf(stderr, "bench_notify: orchestra-notify did not stop cleanly\n");
        bl_print_log(r.notify_log);
        status = 1;
    }
    orc_client_destroy(r.c);
    if (bl_daemon_stop(&r.d) != 0)
        status = 1;
    if (r.rx.d)
        MHD_stop_daemon(r.rx.d);
    free(r.rx.arrived_us);
    bl_samples_free(&posts);
    bl_samples_free(&commits);
    bl_samples_free(&delay);
    if (r.dir[0])
        bl_rmtree(r.dir);
    curl_global_cleanup();
    return status;
}
