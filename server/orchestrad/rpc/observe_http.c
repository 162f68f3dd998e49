/*
 * observe_http.c: orchestrad's metrics listener (see observe_http.h).
 *
 * The database gauges are a collector of the registry: each render reads them in one read
 * transaction on the listener's own connection (renders are serialised by the registry, so
 * the connection is never used by two threads at once). The counts walk indexes over the
 * open rows only (tasks_status, jobs_due, jobs_lease), never a table's history.
 *
 * Readiness hands the writer a write job that changes nothing and waits at most 2 s for it:
 * the job and its outcome live on the heap, shared by the waiting connection thread and the
 * writer, and whichever of the two lets go last frees them, so a probe that gave up waiting
 * leaves nothing behind for the writer to touch.
 */
#include "rpc/observe_http.h"

#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "clock.h"
#include "log.h"
#include "store/db.h"
#include "store/model.h"

#define OBS_MAX_CONNECTIONS 16
#define OBS_IDLE_TIMEOUT_S 10
#define OBS_HEAD_MEMORY (16 * 1024)
#define OBS_READY_WAIT_MS 2000
#define OBS_METRICS_MAX ((size_t)8 << 20)
/* The task statuses that are still open (everything before Complete). */
#define OBS_OPEN_STATUSES ORCI_TASK_COMPLETE

struct orci_obs_http {
    orci_metrics *metrics;
    orci_store *store;
    const orci_events_pub *publisher;
    orci_db *rdb; /* the collector's, under the registry's render lock */
    struct MHD_Daemon *mhd;
    uint16_t port;
    orci_series *open_tasks[OBS_OPEN_STATUSES];
    orci_series *jobs_queued, *jobs_failed;
    orci_series *leases_active, *leases_expired;
    orci_series *last_seq, *first_seq, *dropped;
};

/* ---- the database gauges ---------------------------------------------------------------- */

/* obs_count runs a SELECT count(*) with an optional time parameter. */
static int obs_count(orci_db *db, const char *sql, int64_t now_us, double *out, orc_error *err)
{
    orci_stmt *st = orci_db_stmt(db, sql, err);
    if (!st)
        return ORC_INTERNAL;
    if (now_us)
        orci_bind_int(st, 1, now_us);
    int r = orci_db_row(db, st, err);
    if (r < 0)
        return ORC_INTERNAL;
    *out = r == 1 ? (double)orci_col_int(st, 0) : 0;
    orci_stmt_reset(st);
    return ORC_OK;
}

/* obs_open_tasks counts the open tasks by status (statuses without tasks show 0). */
static int obs_open_tasks(orci_obs_http *h, orc_error *err)
{
    double counts[OBS_OPEN_STATUSES] = {0};
    orci_stmt *st = orci_db_stmt(
        h->rdb, "SELECT status, count(*) FROM tasks WHERE status < 5 GROUP BY status", err);
    if (!st)
        return ORC_INTERNAL;
    int r;
    while ((r = orci_db_row(h->rdb, st, err)) == 1) {
        int64_t status = orci_col_int(st, 0);
        if (status >= 0 && status < OBS_OPEN_STATUSES)
            counts[status] = (double)orci_col_int(st, 1);
    }
    if (r < 0)
        return ORC_INTERNAL;
    for (int i = 0; i < OBS_OPEN_STATUSES; i++)
        orci_gauge_set(h->open_tasks[i], counts[i]);
    return ORC_OK;
}

/* obs_read reads every database gauge inside one read transaction (one snapshot). */
static int obs_read(orci_obs_http *h, orc_error *err)
{
    int64_t now = orci_clock_now(NULL);
    double queued = 0, failed = 0, active = 0, expired = 0;
    int64_t first = 0, last = 0;
    int rc = orci_db_read_begin(h->rdb, err);
    if (rc != ORC_OK)
        return rc;
    if ((rc = obs_open_tasks(h, err)) == ORC_OK)
        rc = obs_count(h->rdb, "SELECT count(*) FROM jobs WHERE status = 0", 0, &queued, err);
    if (rc == ORC_OK)
        rc = obs_count(h->rdb, "SELECT count(*) FROM jobs WHERE status = 3", 0, &failed, err);
    if (rc == ORC_OK)
        rc = obs_count(h->rdb,
                       "SELECT count(*) FROM jobs WHERE status = 1 AND lease_expires_at > ?1", now,
                       &active, err);
    if (rc == ORC_OK)
        rc = obs_count(h->rdb,
                       "SELECT count(*) FROM jobs WHERE status = 1 AND lease_expires_at <= ?1", now,
                       &expired, err);
    if (rc == ORC_OK)
        rc = orci_events_bounds(h->rdb, &first, &last, err);
    orci_db_read_end(h->rdb);
    if (rc != ORC_OK)
        return rc;
    orci_gauge_set(h->jobs_queued, queued);
    orci_gauge_set(h->jobs_failed, failed);
    orci_gauge_set(h->leases_active, active);
    orci_gauge_set(h->leases_expired, expired);
    orci_gauge_set(h->last_seq, (double)last);
    orci_gauge_set(h->first_seq, (double)first);
    return ORC_OK;
}

static void obs_collect(void *arg)
{
    orci_obs_http *h = arg;
    orc_error err;
    orc_error_clear(&err);
    if (obs_read(h, &err) != ORC_OK)
        orci_warn("metrics: reading the database gauges failed (they keep their last values): "
                  "%s",
                  err.message);
    if (h->publisher)
        orci_counter_set(h->dropped, orci_events_pub_dropped(h->publisher));
}

/* obs_family registers one family and returns its series for values (NULL: no labels). */
static int obs_family(orci_metrics *m, const orci_metric_spec *spec, orci_metric **f,
                      orc_error *err)
{
    int rc = orci_metrics_add(m, spec, f, err);
    if (rc == ORC_OK && !*f && m)
        rc = orc_error_set(err, ORC_INTERNAL, "metric %s not registered", spec->name);
    return rc;
}

/* obs_register adds the database gauges to the registry. */
static int obs_register(orci_obs_http *h, orc_error *err)
{
    static const char *const status_label[] = {"status"};
    static const char *const state_label[] = {"state"};
    orci_metric *tasks = NULL, *jobs = NULL, *leases = NULL, *last = NULL, *first = NULL,
                *dropped = NULL;
    orci_metric_spec specs[] = {
        {.name = "orchestra_open_tasks",
         .help = "Tasks not yet Complete or Aborted, by status (read from the database).",
         .type = ORCI_METRIC_GAUGE,
         .labels = status_label,
         .n_labels = 1},
        {.name = "orchestra_jobs",
         .help = "Machine-step jobs waiting to be leased (queued) or failed for good until an "
                 "admin retries them (failed).",
         .type = ORCI_METRIC_GAUGE,
         .labels = status_label,
         .n_labels = 1},
        {.name = "orchestra_job_leases",
         .help = "Job leases held by executors (active), and leases past their expiry that "
                 "no call has settled yet (expired).",
         .type = ORCI_METRIC_GAUGE,
         .labels = state_label,
         .n_labels = 1},
        {.name = "orchestra_events_last_seq",
         .help = "Sequence number of the newest committed event (0: none yet).",
         .type = ORCI_METRIC_GAUGE},
        {.name = "orchestra_events_first_kept_seq",
         .help = "Sequence number of the oldest event kept (retention prunes below it).",
         .type = ORCI_METRIC_GAUGE},
        {.name = "orchestra_events_publish_dropped_total",
         .help = "Event messages the PUB socket refused (subscribers read them back with "
                 "ListEvents).",
         .type = ORCI_METRIC_COUNTER},
    };
    orci_metric **fams[] = {&tasks, &jobs, &leases, &last, &first, &dropped};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        int rc = obs_family(h->metrics, &specs[i], fams[i], err);
        if (rc != ORC_OK)
            return rc;
    }
    for (int i = 0; i < OBS_OPEN_STATUSES; i++)
        h->open_tasks[i] =
            orci_metric_series(tasks, (const char *const[]){orci_task_status_label(i)});
    h->jobs_queued = orci_metric_series(jobs, (const char *const[]){"queued"});
    h->jobs_failed = orci_metric_series(jobs, (const char *const[]){"failed"});
    h->leases_active = orci_metric_series(leases, (const char *const[]){"active"});
    h->leases_expired = orci_metric_series(leases, (const char *const[]){"expired"});
    h->last_seq = orci_metric_series(last, NULL);
    h->first_seq = orci_metric_series(first, NULL);
    h->dropped = orci_metric_series(dropped, NULL);
    return orci_metrics_on_collect(h->metrics, obs_collect, h, err);
}

/* ---- readiness -------------------------------------------------------------------------- */

typedef struct obs_probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the waiter and the writer */
    bool done;
    int status;
} obs_probe;

static void obs_probe_release(obs_probe *p)
{
    pthread_mutex_lock(&p->mu);
    bool last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
    }
}

static int obs_probe_job(orci_db *db, void *arg, orc_error *err)
{
    (void)db;
    (void)arg;
    (void)err;
    return ORC_OK; /* the savepoint and the commit around it are the probe */
}

static void obs_probe_done(void *arg, int status, const orc_error *err)
{
    (void)err;
    obs_probe *p = arg;
    pthread_mutex_lock(&p->mu);
    p->done = true;
    p->status = status;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    obs_probe_release(p);
}

/* obs_ready says whether the writer committed a no-op job within OBS_READY_WAIT_MS. */
static bool obs_ready(orci_obs_http *h, const char **why)
{
    obs_probe *p = calloc(1, sizeof *p);
    if (!p) {
        *why = "out of memory";
        return false;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->refs = 2;
    orc_error err;
    orc_error_clear(&err);
    if (orci_store_write_async(h->store, obs_probe_job, NULL, obs_probe_done, p, &err) != ORC_OK) {
        p->refs = 1; /* the writer will never call back */
        obs_probe_release(p);
        *why = "the database is closing";
        return false;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += OBS_READY_WAIT_MS / 1000;
    ts.tv_nsec += (long)(OBS_READY_WAIT_MS % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (!p->done && pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
        ;
    bool done = p->done;
    int status = p->status;
    pthread_mutex_unlock(&p->mu);
    obs_probe_release(p);
    if (!done)
        *why = "the database writer did not commit within 2 s";
    else if (status != ORC_OK)
        *why = "the database writer cannot commit";
    return done && status == ORC_OK;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static enum MHD_Result obs_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                char *body, size_t len, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result obs_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return obs_send(conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text), false);
}

static enum MHD_Result obs_metrics(orci_obs_http *h, struct MHD_Connection *conn)
{
    orci_buf b = {.max = OBS_METRICS_MAX};
    orc_error err;
    orc_error_clear(&err);
    if (orci_metrics_render(h->metrics, &b, &err) != ORC_OK) {
        orci_buf_fini(&b);
        orci_warn("metrics: %s", err.message);
        return obs_text(conn, 500, "cannot render the metrics\n");
    }
    size_t len = 0;
    char *text = orci_buf_take(&b, &len);
    if (!text)
        return obs_text(conn, 500, "out of memory\n");
    return obs_send(conn, 200, ORCI_METRICS_CONTENT_TYPE, text, len, true);
}

static enum MHD_Result obs_request(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    static int started;
    orci_obs_http *h = cls;
    if (*con_cls == NULL) { /* the head: answer once the whole request is in */
        *con_cls = &started;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* a body is never wanted: dropped */
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool known =
        strcmp(url, "/metrics") == 0 || strcmp(url, "/livez") == 0 || strcmp(url, "/readyz") == 0;
    if (!known)
        return obs_text(conn, 404, "not found: /metrics, /livez and /readyz are served here\n");
    if (!get)
        return obs_text(conn, 405, "method not allowed\n");
    if (strcmp(url, "/livez") == 0)
        return obs_text(conn, 200, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        const char *why = NULL;
        if (obs_ready(h, &why))
            return obs_text(conn, 200, "ready\n");
        orci_warn("readiness: %s", why);
        char *text = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&text, &n);
        if (f) {
            fprintf(f, "not ready: %s\n", why);
            fclose(f);
        }
        return text ? obs_send(conn, 503, "text/plain; charset=utf-8", text, n, true)
                    : obs_text(conn, 503, "not ready\n");
    }
    return obs_metrics(h, conn);
}

/* obs_mhd_log passes libmicrohttpd's own messages through the log (its format, its level). */
static void obs_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    orci_warn("metrics listener: %s", msg);
}

/* obs_resolve turns "HOST:PORT" ("[::1]:9464") into an address. */
static int obs_resolve(const char *listen, struct sockaddr_storage *ss, orc_error *err)
{
    char host[256];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof host || !colon[1])
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "--metrics-listen %s: want HOST:PORT",
                             listen ? listen : "");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *hn = host;
    size_t hl = strlen(hn);
    if (hl >= 2 && hn[0] == '[' && hn[hl - 1] == ']') {
        hn[hl - 1] = '\0';
        hn++;
    }
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(hn[0] ? hn : NULL, colon + 1, &hints, &ai) != 0 || !ai)
        return orc_error_set(err, ORC_INVALID_ARGUMENT, "--metrics-listen %s does not resolve",
                             listen);
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return ORC_OK;
}

int orci_obs_http_start(const orci_obs_http_opts *opts, orci_obs_http **out, orc_error *err)
{
    *out = NULL;
    struct sockaddr_storage addr;
    int rc = obs_resolve(opts->listen, &addr, err);
    if (rc != ORC_OK)
        return rc;
    orci_obs_http *h = calloc(1, sizeof *h);
    if (!h)
        return orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
    h->metrics = opts->metrics;
    h->store = opts->store;
    h->publisher = opts->publisher;
    if ((rc = orci_db_open_reader(h->store, &h->rdb, err)) != ORC_OK ||
        (rc = obs_register(h, err)) != ORC_OK)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    h->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, obs_request, h, MHD_OPTION_EXTERNAL_LOGGER, obs_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)OBS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)OBS_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)OBS_HEAD_MEMORY, MHD_OPTION_END);
    if (!h->mhd) {
        rc = orc_error_set(err, ORC_UNAVAILABLE, "cannot listen on %s for metrics", opts->listen);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    *out = h;
    return ORC_OK;
fail:
    orci_obs_http_stop(h);
    return rc;
}

uint16_t orci_obs_http_port(const orci_obs_http *h)
{
    return h ? h->port : 0;
}

void orci_obs_http_stop(orci_obs_http *h)
{
    if (!h)
        return;
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    orci_metrics_off_collect(h->metrics, obs_collect, h);
    orci_db_close(h->rdb);
    free(h);
}
