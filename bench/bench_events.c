/*
 * bench_events: the event feed of a real orchestrad (free loopback ports, a scratch
 * database, the --dev key), against the history read through ListEvents in the same run.
 *
 *  1. live: an unfiltered orc_subscription reads while producer threads create projects of
 *     a small workflow as fast as they can; the events it delivers in order per second,
 *     delivered against committed, and the time from each event's timestamp to its
 *     delivery (the daemon stamps an event with the time it dispatched the request, before
 *     the writer queue and the commit, so this bounds commit-to-delivery from above);
 *  2. baseline: the same committed history read by paging ListEvents (1000 a page);
 *  3. filtered: a subscription to project.<id>. of one project paused and resumed over and
 *     over among busy ones, with a stalled unfiltered subscription beside it that is read
 *     (drained) only at the end;
 *     The ListEvents calls the filtered subscription made per event it delivered
 *     (orci_subscription_replays) show what topic_prev_seq saves: without it, one per event;
 *  4. the subscriber's resident memory (VmRSS) and heap in use around those deliveries.
 *     The producers run in a child process so that these figures are the subscriber's own.
 *
 * Usage: bench_events [path-to-orchestrad]   (default: $ORC_ORCHESTRAD).
 * Prints: name value unit [ratio-to-baseline].
 */
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orchestra/client.h"
#include "subscribe.h"

#define WF "benchwf"
#define PRODUCERS 2        /* threads creating projects */
#define LIVE_PROJECTS 2500 /* per producer, phase 1 */
#define BUSY_PROJECTS 2000 /* per producer, phase 3 */
#define TOGGLES 500        /* pause + resume pairs of the watched project, phase 3 */
#define PAGE 1000          /* ListEvents page of the baseline */
/* ListEvents page when looking for the end: keeps the bench's own reads out of the memory
 * figures. */
#define PROBE_PAGE 100
#define CALL_TIMEOUT_MS 10000
#define STUCK_MS 10000         /* a subscription without progress this long has failed */
#define SAMPLES_RESERVED 65536 /* latency samples allocated before memory is measured */
#define MEM_SAMPLE_EVERY 256
#define MEM_WARM_EVENTS 1000 /* memory is compared from here to the end */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* real_us reads the clock the daemon stamps events with (same host). */
static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* mono_us is CLOCK_MONOTONIC, which the producer process shares. */
static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- memory --------------------------------------------------------------------------- */

typedef struct mem {
    long rss_kib;  /* VmRSS, -1 when unreadable */
    long heap_kib; /* malloc'd and not freed, every arena */
} mem;

static mem mem_now(void)
{
    mem m = {.rss_kib = -1};
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            if (sscanf(line, "VmRSS: %ld kB", &m.rss_kib) == 1)
                break;
        }
        fclose(f);
    }
    struct mallinfo2 mi = mallinfo2();
    m.heap_kib = (long)((mi.uordblks + mi.hblkhd) / 1024);
    return m;
}

static void mem_max(mem *acc, mem m)
{
    if (m.rss_kib > acc->rss_kib)
        acc->rss_kib = m.rss_kib;
    if (m.heap_kib > acc->heap_kib)
        acc->heap_kib = m.heap_kib;
}

/* ---- latencies ------------------------------------------------------------------------- */

typedef struct samples {
    int64_t *v;
    size_t n;
    size_t cap;
} samples;

/* samples_reserve allocates and touches room for cap samples, so that filling it later
 * does not show in the memory figures (not 0 bytes: calloc would skip touching them). */
static int samples_reserve(samples *s, size_t cap)
{
    s->v = malloc(cap * sizeof *s->v);
    if (s->v == NULL)
        return -1;
    memset(s->v, 0xff, cap * sizeof *s->v);
    s->n = 0;
    s->cap = cap;
    return 0;
}

static void samples_push(samples *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *nv = realloc(s->v, cap * sizeof *nv);
        if (nv == NULL)
            return; /* one sample fewer */
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* percentile sorts s and returns its p-th percentile (nearest rank), 0 when empty. */
static int64_t percentile(samples *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_i64);
    size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

/* ---- the producer process ------------------------------------------------------------------ */

/* prod_cmd asks the producer process for one round of work. */
typedef struct prod_cmd {
    int projects; /* projects each of the PRODUCERS threads creates */
    int toggles;  /* pause + resume pairs of `watched` by one more thread */
    int64_t watched;
} prod_cmd;

/* prod_result is its answer once every thread is done. */
typedef struct prod_result {
    int failures;
    int64_t end_us;        /* when the last thread finished (mono_us) */
    int64_t create_p50_us; /* project creation round trip */
    char first_error[ORC_ERROR_MESSAGE_MAX];
} prod_result;

typedef struct producer {
    orc_client *c;  /* its own connection */
    int ops;        /* project creations, or pause + resume pairs */
    int64_t toggle; /* > 0: pause and resume this project instead of creating */
    int64_t end_us;
    samples rpc_us; /* duration of each creation */
    int failures;
    char first_error[ORC_ERROR_MESSAGE_MAX];
    pthread_t th;
} producer;

static void producer_failed(producer *p, const orc_error *err)
{
    if (p->failures++ == 0)
        snprintf(p->first_error, sizeof p->first_error, "%s", err->message);
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    orc_project_params params = {
        .workflow = WF, .version = "v1", .description = "bench", .priority = 1};
    for (int i = 0; i < p->ops; i++) {
        orc_error err;
        if (p->toggle > 0) {
            if (orc_project_pause(p->c, p->toggle, &err) != ORC_OK ||
                orc_project_resume(p->c, p->toggle, &err) != ORC_OK)
                producer_failed(p, &err);
            continue;
        }
        int64_t id = 0, t0 = mono_us();
        if (orc_project_create(p->c, &params, &id, &err) != ORC_OK) {
            producer_failed(p, &err);
            continue;
        }
        samples_push(&p->rpc_us, mono_us() - t0);
    }
    p->end_us = mono_us();
    return NULL;
}

static int client_new(const char *rpc_url, orc_client **out)
{
    orc_client_opts opts = {.rpc_url = rpc_url,
                            .api_key = "orchestra-user",
                            .api_secret = "CHANGEME",
                            .timeout_ms = CALL_TIMEOUT_MS};
    *out = NULL;
    for (int t = 0; t < 300; t++) {
        if (orc_client_new(&opts, out, NULL) == ORC_OK && orc_health(*out, NULL) == ORC_OK)
            return 0;
        orc_client_destroy(*out);
        *out = NULL;
        sleep_ms(20);
    }
    return -1;
}

/* produce runs one command with the threads ps (connected) and fills *res. */
static void produce(producer *ps, const prod_cmd *cmd, prod_result *res)
{
    int n = cmd->toggles > 0 ? PRODUCERS + 1 : PRODUCERS;
    memset(res, 0, sizeof *res);
    for (int i = 0; i < n; i++) {
        ps[i].ops = i < PRODUCERS ? cmd->projects : cmd->toggles;
        ps[i].toggle = i < PRODUCERS ? 0 : cmd->watched;
        ps[i].failures = 0;
        ps[i].rpc_us.n = 0;
        if (pthread_create(&ps[i].th, NULL, producer_main, &ps[i]) != 0) {
            n = i;
            res->failures++;
            snprintf(res->first_error, sizeof res->first_error, "cannot start a thread");
            break;
        }
    }
    samples all = {0};
    for (int i = 0; i < n; i++) {
        pthread_join(ps[i].th, NULL);
        if (ps[i].failures && res->failures == 0)
            snprintf(res->first_error, sizeof res->first_error, "%s", ps[i].first_error);
        res->failures += ps[i].failures;
        if (ps[i].end_us > res->end_us)
            res->end_us = ps[i].end_us;
        for (size_t k = 0; k < ps[i].rpc_us.n; k++)
            samples_push(&all, ps[i].rpc_us.v[k]);
    }
    res->create_p50_us = percentile(&all, 50);
    free(all.v);
}

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* producer_process serves commands from cmd_fd until it closes; it is forked before the
 * parent touches nng and connects on the first command. */
static int producer_process(int cmd_fd, int res_fd, const char *rpc_url)
{
    producer ps[PRODUCERS + 1];
    memset(ps, 0, sizeof ps);
    int status = 0;
    prod_cmd cmd;
    while (read_full(cmd_fd, &cmd, sizeof cmd) == 0) {
        prod_result res;
        memset(&res, 0, sizeof res);
        for (int i = 0; i <= PRODUCERS; i++) {
            if (ps[i].c == NULL && client_new(rpc_url, &ps[i].c) != 0) {
                res.failures = 1;
                snprintf(res.first_error, sizeof res.first_error, "cannot connect");
            }
        }
        if (res.failures == 0)
            produce(ps, &cmd, &res);
        if (write_full(res_fd, &res, sizeof res) != 0) {
            status = 1;
            break;
        }
    }
    for (int i = 0; i <= PRODUCERS; i++) {
        orc_client_destroy(ps[i].c);
        free(ps[i].rpc_us.v);
    }
    return status;
}

/* ---- history ------------------------------------------------------------------------------ */

/* read_history pages ListEvents (page events a call) with prefix after after_seq to the
 * end: the number of events in *count and the last one's seq (after_seq when none) in
 * *last. */
static int read_history(orc_client *c, const char *prefix, int64_t after_seq, int page_size,
                        int64_t *count, int64_t *last, orc_error *err)
{
    *count = 0;
    *last = after_seq;
    for (;;) {
        orc_event_page *page = NULL;
        int rc = orc_events_list(c, *last, prefix, page_size, &page, err);
        if (rc != ORC_OK)
            return rc;
        if (page->n_events > 0)
            *last = page->events[page->n_events - 1]->seq;
        *count += (int64_t)page->n_events;
        bool whole = page->n_events < (size_t)page_size;
        orc_event_page_free(page);
        if (whole)
            return ORC_OK;
    }
}

/* newest_seq returns the newest committed seq, -1 on failure. */
static int64_t newest_seq(orc_client *c)
{
    orc_event_page *page = NULL;
    orc_error err;
    if (orc_events_list(c, 0, "", 1, &page, &err) != ORC_OK) {
        fprintf(stderr, "bench_events: ListEvents: %s\n", err.message);
        return -1;
    }
    int64_t last = page->last_seq;
    orc_event_page_free(page);
    return last;
}

/* ---- reading a subscription --------------------------------------------------------------- */

typedef struct reader {
    orc_subscription *s;
    bool gap_free;      /* unfiltered: every seq must follow the previous one */
    int64_t prev;       /* seq of the last delivery */
    int64_t delivered;  /* events delivered */
    int64_t bad_order;  /* deliveries out of order (or skipping a seq when gap_free) */
    samples latency_us; /* event timestamp to delivery */
    mem warm;           /* when MEM_WARM_EVENTS were delivered */
    mem peak;           /* sampled every MEM_SAMPLE_EVERY deliveries */
    int64_t last_progress_us;
    int64_t last_delivery_us;
} reader;

static int reader_init(reader *r, orc_subscription *s, bool gap_free, int64_t after_seq)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->gap_free = gap_free;
    r->prev = after_seq;
    r->warm.rss_kib = r->warm.heap_kib = -1;
    r->last_progress_us = mono_us();
    return samples_reserve(&r->latency_us, SAMPLES_RESERVED);
}

/* reader_step waits up to timeout_ms for one event: 1 delivered, 0 nothing yet, -1 failed
 * (nothing came for STUCK_MS, or an error that is not worth retrying). */
static int reader_step(reader *r, int timeout_ms)
{
    orc_event *ev = NULL;
    orc_error err;
    int rc = orc_subscription_next(r->s, timeout_ms, &ev, &err);
    int64_t now = mono_us();
    if (rc == ORC_OK) {
        int64_t lat = real_us() - ev->time_us;
        if (ev->seq <= r->prev || (r->gap_free && ev->seq != r->prev + 1))
            r->bad_order++;
        r->prev = ev->seq;
        r->delivered++;
        samples_push(&r->latency_us, lat);
        orc_event_free(ev);
        if (r->delivered % MEM_SAMPLE_EVERY == 0 || r->delivered == MEM_WARM_EVENTS) {
            mem m = mem_now();
            mem_max(&r->peak, m);
            if (r->delivered == MEM_WARM_EVENTS)
                r->warm = m;
        }
        r->last_progress_us = r->last_delivery_us = now;
        return 1;
    }
    if (rc != ORC_DEADLINE_EXCEEDED && rc != ORC_UNAVAILABLE) {
        fprintf(stderr, "bench_events: subscription: %s: %s\n", orc_code_name(rc), err.message);
        return -1;
    }
    if (now - r->last_progress_us > (int64_t)STUCK_MS * 1000) {
        fprintf(stderr, "bench_events: subscription stuck at seq %lld\n", (long long)r->prev);
        return -1;
    }
    return 0;
}

/* reader_until reads until the subscription has delivered seq target: 0, or -1. */
static int reader_until(reader *r, int64_t target)
{
    while (orc_subscription_last_seq(r->s) < target) {
        if (reader_step(r, 200) < 0)
            return -1;
    }
    return 0;
}

static orc_subscription *subscribe(orc_client *c, const char *events_url, const char *prefix,
                                   int64_t after_seq)
{
    orc_subscribe_opts o = {
        .events_url = events_url, .topic_prefix = prefix, .after_seq = after_seq};
    orc_subscription *s = NULL;
    orc_error err;
    if (orc_subscription_new(&o, c, &s, &err) != ORC_OK) {
        fprintf(stderr, "bench_events: subscribe '%s': %s\n", prefix, err.message);
        return NULL;
    }
    /* The catch-up read from after_seq, done before the clock starts. */
    orc_event *ev = NULL;
    if (orc_subscription_next(s, 0, &ev, &err) == ORC_OK) {
        fprintf(stderr, "bench_events: an event after seq %lld before any work\n",
                (long long)after_seq);
        orc_event_free(ev);
    }
    return s;
}

static double per_s(int64_t n, int64_t us)
{
    return (double)n * 1e6 / (double)(us > 0 ? us : 1);
}

/* ---- the run ------------------------------------------------------------------------------- */

typedef struct run {
    const char *events_url;
    orc_client *c;
    int cmd_fd; /* to the producer process */
    int res_fd; /* from it */
    int failures;
} run;

/* follow sends cmd to the producer process and reads r meanwhile; once the producers are
 * done, it reads r up to the last event with prefix that they committed. *res is their
 * answer. 0, or -1. */
static int follow(run *b, const prod_cmd *cmd, reader *r, const char *prefix, int64_t after_seq,
                  prod_result *res)
{
    if (write_full(b->cmd_fd, cmd, sizeof *cmd) != 0) {
        fprintf(stderr, "bench_events: the producer process is gone\n");
        return -1;
    }
    for (;;) {
        struct pollfd pfd = {.fd = b->res_fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) > 0)
            break;
        if (reader_step(r, 50) < 0)
            return -1;
    }
    if (read_full(b->res_fd, res, sizeof *res) != 0) {
        fprintf(stderr, "bench_events: the producer process is gone\n");
        return -1;
    }
    if (res->failures) {
        fprintf(stderr, "bench_events: %d lifecycle calls failed, first: %s\n", res->failures,
                res->first_error);
        b->failures += res->failures;
    }
    int64_t count = 0, last = 0;
    orc_error err;
    if (read_history(b->c, prefix, after_seq, PROBE_PAGE, &count, &last, &err) != ORC_OK) {
        fprintf(stderr, "bench_events: ListEvents: %s\n", err.message);
        return -1;
    }
    return reader_until(r, last);
}

/* live_phase: figure 1, its baseline (figure 2) and the memory around it (figure 4). */
static int live_phase(run *b)
{
    int64_t start = newest_seq(b->c);
    if (start < 0)
        return -1;
    orc_subscription *s = subscribe(b->c, b->events_url, "", start);
    reader r;
    if (s == NULL || reader_init(&r, s, true, start) != 0) {
        orc_subscription_destroy(s);
        return -1;
    }
    mem before = mem_now();
    prod_cmd cmd = {.projects = LIVE_PROJECTS};
    prod_result res;
    int64_t t0 = mono_us();
    int rc = follow(b, &cmd, &r, "", start, &res);
    mem after = mem_now();
    mem_max(&r.peak, after);
    int64_t end = rc == 0 ? newest_seq(b->c) : -1;
    orc_subscription_destroy(s); /* parks the feed connection; never closes it */

    /* the baseline: the same history, paged */
    int64_t hist_count = 0, hist_last = 0, hist_us = 0;
    orc_error err;
    if (end >= 0) {
        int64_t h0 = mono_us();
        if (read_history(b->c, "", start, PAGE, &hist_count, &hist_last, &err) != ORC_OK) {
            fprintf(stderr, "bench_events: ListEvents: %s\n", err.message);
            end = -1;
        }
        hist_us = mono_us() - h0;
    }
    if (end < 0) {
        free(r.latency_us.v);
        return -1;
    }

    int64_t committed = end - start;
    double history_rate = per_s(hist_count, hist_us);
    double live_rate = per_s(r.delivered, r.last_delivery_us - t0);
    printf("events_history_read %.0f events/s (baseline: ListEvents, %d a page)\n", history_rate,
           PAGE);
    printf("events_publish_to_subscriber %.0f events/s ratio %.3f\n", live_rate,
           live_rate / history_rate);
    printf("events_commit_rate %.0f events/s (%d threads creating projects)\n",
           per_s(committed, res.end_us - t0), PRODUCERS);
    printf("events_committed %lld events\n", (long long)committed);
    printf("events_delivered %lld events ratio %.3f\n", (long long)r.delivered,
           committed > 0 ? (double)r.delivered / (double)committed : 0.0);
    printf("events_delivered_out_of_order %lld events\n", (long long)r.bad_order);
    printf("events_last_delivery_after_last_reply %.1f ms\n",
           (double)(r.last_delivery_us - res.end_us) / 1000.0);
    printf("events_stamp_to_delivery_p50 %lld us\n", (long long)percentile(&r.latency_us, 50));
    printf("events_stamp_to_delivery_p99 %lld us\n", (long long)percentile(&r.latency_us, 99));
    printf("events_project_create_rpc_p50 %lld us\n", (long long)res.create_p50_us);
    printf("events_subscriber_rss_before %ld KiB (heap %ld KiB)\n", before.rss_kib,
           before.heap_kib);
    printf("events_subscriber_rss_at_%d_events %ld KiB (heap %ld KiB)\n", MEM_WARM_EVENTS,
           r.warm.rss_kib, r.warm.heap_kib);
    printf("events_subscriber_rss_after %ld KiB (heap %ld KiB; %lld events; peak %ld KiB, heap "
           "%ld KiB)\n",
           after.rss_kib, after.heap_kib, (long long)r.delivered, r.peak.rss_kib, r.peak.heap_kib);
    free(r.latency_us.v);
    if (hist_count != committed)
        fprintf(stderr, "bench_events: ListEvents has %lld events, %lld committed\n",
                (long long)hist_count, (long long)committed);
    return r.delivered != committed || r.bad_order != 0 || hist_count != committed ? -1 : 0;
}

/* filtered_phase: the filtered subscription among busy projects, and a stalled one. */
static int filtered_phase(run *b)
{
    orc_project_params params = {
        .workflow = WF, .version = "v1", .description = "watched", .priority = 1};
    int64_t watched = 0;
    orc_error err;
    if (orc_project_create(b->c, &params, &watched, &err) != ORC_OK) {
        fprintf(stderr, "bench_events: project create: %s\n", err.message);
        return -1;
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "project.%lld.", (long long)watched);
    int64_t start = newest_seq(b->c);
    if (start < 0)
        return -1;
    orc_subscription *f = subscribe(b->c, b->events_url, prefix, start);
    orc_subscription *stalled = subscribe(b->c, b->events_url, "", start);
    reader r, st;
    memset(&r, 0, sizeof r);
    memset(&st, 0, sizeof st);
    int rc = -1;
    if (f == NULL || stalled == NULL || reader_init(&r, f, false, start) != 0 ||
        reader_init(&st, stalled, true, start) != 0)
        goto out;
    mem before = mem_now();
    uint64_t replays0 = orci_subscription_replays(f);
    prod_cmd cmd = {.projects = BUSY_PROJECTS, .toggles = TOGGLES, .watched = watched};
    prod_result res;
    int64_t t0 = mono_us();
    if ((rc = follow(b, &cmd, &r, prefix, start, &res)) != 0)
        goto out;
    int64_t matching = 0, last = 0, end = newest_seq(b->c);
    if (end < 0 ||
        read_history(b->c, prefix, start, PROBE_PAGE, &matching, &last, &err) != ORC_OK) {
        fprintf(stderr, "bench_events: ListEvents: %s\n", end < 0 ? "" : err.message);
        rc = -1;
        goto out;
    }
    mem backlog = mem_now();
    int64_t d0 = mono_us();
    if ((rc = reader_until(&st, end)) != 0)
        goto out;
    int64_t drain_us = mono_us() - d0;
    /* Caught up through ListEvents, the subscription still holds the feed's backlog, now
     * all repeats: the next call reads it away, as a consumer that carries on would. */
    if ((rc = reader_step(&st, 0)) != 0) {
        fprintf(stderr, "bench_events: an event past the last one committed\n");
        rc = -1;
        goto out;
    }
    mem drained = mem_now();
    mem_max(&st.peak, drained);

    printf("events_filtered_subscription %.0f events/s (%lld of %lld committed match %s)\n",
           per_s(r.delivered, r.last_delivery_us - t0), (long long)matching,
           (long long)(end - start), prefix);
    printf("events_filtered_delivered %lld events ratio %.3f\n", (long long)r.delivered,
           matching > 0 ? (double)r.delivered / (double)matching : 0.0);
    uint64_t replays = orci_subscription_replays(f) - replays0;
    printf("events_filtered_listevents_calls %llu calls, %.3f per delivered event\n",
           (unsigned long long)replays,
           r.delivered > 0 ? (double)replays / (double)r.delivered : 0.0);
    printf("events_filtered_stamp_to_delivery_p50 %lld us\n",
           (long long)percentile(&r.latency_us, 50));
    printf("events_filtered_stamp_to_delivery_p99 %lld us\n",
           (long long)percentile(&r.latency_us, 99));
    printf("events_stalled_subscriber_drain %.0f events/s (%lld events)\n",
           per_s(st.delivered, drain_us), (long long)st.delivered);
    printf("events_stalled_subscriber_rss_before %ld KiB (heap %ld KiB)\n", before.rss_kib,
           before.heap_kib);
    printf("events_stalled_subscriber_rss_backlog %ld KiB (heap %ld KiB)\n", backlog.rss_kib,
           backlog.heap_kib);
    printf("events_stalled_subscriber_rss_drained %ld KiB (heap %ld KiB; peak %ld KiB, heap %ld "
           "KiB)\n",
           drained.rss_kib, drained.heap_kib, st.peak.rss_kib, st.peak.heap_kib);
    if (r.delivered != matching || r.bad_order != 0 || st.bad_order != 0 ||
        st.delivered != end - start) {
        fprintf(stderr,
                "bench_events: filtered %lld of %lld (%lld out of order), stalled %lld of %lld "
                "(%lld out of order)\n",
                (long long)r.delivered, (long long)matching, (long long)r.bad_order,
                (long long)st.delivered, (long long)(end - start), (long long)st.bad_order);
        rc = -1;
    }

out:
    orc_subscription_destroy(f); /* both park their feed connections */
    orc_subscription_destroy(stalled);
    free(r.latency_us.v);
    free(st.latency_us.v);
    return rc;
}

/* workflow_load writes a two-step human workflow WF under parent and loads its v1. */
static int workflow_load(orc_client *c, const char *parent)
{
    static const char *const files[][2] = {
        {"workflow.json", "{\"slug\": \"" WF "\", \"name\": \"Bench workflow\",\n"
                          " \"description\": \"Two human steps.\", \"certifications\": []}\n"},
        {"v1/version.json",
         "{\"slug\": \"v1\", \"name\": \"v1\", \"description\": \"Two steps.\",\n"
         " \"steps\": [\n"
         "  {\"slug\": \"first\", \"name\": \"First\", \"description\": \"One.\",\n"
         "   \"is_human\": true, \"review_policy\": {\"policy\": \"no_review\"}},\n"
         "  {\"slug\": \"second\", \"name\": \"Second\", \"description\": \"Two.\",\n"
         "   \"is_human\": true, \"creation_depends_on\": [\"first\"],\n"
         "   \"review_policy\": {\"policy\": \"no_review\"}}\n"
         " ]}\n"},
    };
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/" WF, parent);
    snprintf(path, sizeof path, "%s/v1", dir);
    if (mkdir(dir, 0700) != 0 || mkdir(path, 0700) != 0)
        return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return -1;
        int bad = fputs(files[i][1], f) < 0;
        if (fclose(f) != 0 || bad)
            return -1;
    }
    orc_error err;
    if (orc_workflow_load(c, dir, "v1", false, NULL, &err) != ORC_OK) {
        fprintf(stderr, "bench_events: workflow load: %s\n", err.message);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *daemon = argc > 1 ? argv[1] : getenv("ORC_ORCHESTRAD");
    if (daemon == NULL) {
        fprintf(stderr, "usage: bench_events PATH-TO-ORCHESTRAD (or set ORC_ORCHESTRAD)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a producer process that died shows as a write error */
    char rpc_url[64], events_url[64];
    snprintf(rpc_url, sizeof rpc_url, "tcp://127.0.0.1:%d", free_port());
    snprintf(events_url, sizeof events_url, "tcp://127.0.0.1:%d", free_port());

    char dir[] = "/tmp/orc-bench-events-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char db[128];
    snprintf(db, sizeof db, "%s/orchestra.db", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(daemon, daemon, "--dev", "--db", db, "--rpc", rpc_url, "--events", events_url,
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    /* The producers' process, forked before this one starts any nng thread. */
    int cmd_pipe[2] = {-1, -1}, res_pipe[2] = {-1, -1};
    pid_t prod = -1;
    if (pid > 0 && pipe(cmd_pipe) == 0 && pipe(res_pipe) == 0 && (prod = fork()) == 0) {
        close(cmd_pipe[1]);
        close(res_pipe[0]);
        _exit(producer_process(cmd_pipe[0], res_pipe[1], rpc_url));
    }
    run b = {.events_url = events_url, .cmd_fd = cmd_pipe[1], .res_fd = res_pipe[0]};
    if (cmd_pipe[0] >= 0)
        close(cmd_pipe[0]);
    if (res_pipe[1] >= 0)
        close(res_pipe[1]);
    int status = 1;
    if (pid < 0 || prod < 0 || client_new(rpc_url, &b.c) != 0) {
        fprintf(stderr, "bench_events: orchestrad did not start\n");
        goto out;
    }
    if (workflow_load(b.c, dir) != 0 || live_phase(&b) != 0 || filtered_phase(&b) != 0)
        goto out;
    status = b.failures ? 1 : 0;

out:
    if (b.cmd_fd >= 0)
        close(b.cmd_fd); /* the producer process ends after its current command */
    if (prod > 0) {
        int ws = 0;
        if (status != 0)
            kill(prod, SIGTERM);
        if (waitpid(prod, &ws, 0) == prod && status == 0 &&
            !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
            fprintf(stderr, "bench_events: the producer process failed (status 0x%x)\n", ws);
            status = 1;
        }
    }
    if (b.res_fd >= 0)
        close(b.res_fd);
    orc_client_destroy(b.c);
    if (pid > 0) {
        int ws = 0;
        kill(pid, SIGTERM);
        if (waitpid(pid, &ws, 0) == pid && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
            fprintf(stderr, "bench_events: orchestrad did not exit cleanly (status 0x%x)\n", ws);
            status = 1;
        }
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_events: could not remove %s\n", dir);
    return status;
}
