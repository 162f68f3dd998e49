/*
 * notifier.c: the manager of notifier.h.
 */
#include "notifier.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "vec.h"

/* A webhook's state is reported at most this often while it changes. */
#define NOTIFIER_REPORT_US 500000
#define NOTIFIER_TICK_MS 100

/* slot is one running target; its address is stable (the target holds &stop). */
typedef struct slot {
    int64_t webhook_id; /* 0: the e-mail channel */
    char name[48];
    atomic_bool stop;
    orci_target *t;
    uint64_t reported_changes;
    int64_t reported_at_us;
    bool seen;
} slot;

typedef struct notifier {
    const orci_notifier_config *c;
    slot **slots;
    size_t n, cap;
    bool email_started;
    bool list_failing; /* said once until ListWebhooks answers again */
    bool ready;        /* the webhooks were read once */
} notifier;

static int64_t now_us(void)
{
    return orci_clock_now(&orci_clock_system);
}

static slot *slot_find(notifier *m, int64_t webhook_id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->slots[i]->webhook_id == webhook_id)
            return m->slots[i];
    return NULL;
}

/* slot_add makes a slot for a target about to start; NULL when out of memory. */
static slot *slot_add(notifier *m, int64_t webhook_id)
{
    if (!orci_grow(&m->slots, &m->cap, m->n + 1, sizeof *m->slots))
        return NULL;
    slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->webhook_id = webhook_id;
    atomic_init(&s->stop, false);
    if (webhook_id > 0)
        snprintf(s->name, sizeof s->name, "webhook:%" PRId64, webhook_id);
    else
        snprintf(s->name, sizeof s->name, "email");
    m->slots[m->n++] = s;
    return s;
}

/* slot_remove stops and frees slot i (its target's thread is joined). */
static void slot_remove(notifier *m, size_t i)
{
    slot *s = m->slots[i];
    atomic_store(&s->stop, true);
    if (s->t)
        orci_target_wake(s->t);
    orci_target_join(s->t);
    free(s);
    m->slots[i] = m->slots[--m->n];
}

/* target_opts fills the options every target shares. */
static orci_target_opts target_opts(notifier *m, slot *s)
{
    const orci_notifier_config *c = m->c;
    return (orci_target_opts){.name = s->name,
                              .rpc = c->rpc,
                              .events_url = c->events_url,
                              .tls_ca = c->tls_ca,
                              .state = c->state,
                              .retry = c->retry,
                              .stop = &s->stop};
}

/* ---- the e-mail channel ---------------------------------------------------------------------- */

/*
 * start_email starts the e-mail target. A channel never run before starts at email_start,
 * or at the newest event ("now": a new notifier does not mail the whole history), which
 * needs the coordinator; false until it could.
 */
static bool start_email(notifier *m, orc_error *err)
{
    const orci_notifier_config *c = m->c;
    int64_t start = c->email_start;
    if (start < 0) {
        orc_event_page *page = NULL;
        /* An after_seq beyond the history answers with the bounds and no events. */
        if (orc_events_list(c->rpc, INT64_MAX / 2, "", 1, &page, err) != ORC_OK)
            return false;
        start = page->last_seq;
        orc_event_page_free(page);
    }
    slot *s = slot_add(m, 0);
    if (!s) {
        orc_error_set(err, ORC_RESOURCE_EXHAUSTED, "out of memory");
        return false;
    }
    orci_email_config ec = c->email_cfg;
    ec.rpc = c->rpc;
    orci_channel ch;
    orci_target_opts o = target_opts(m, s);
    o.prefix = "";
    o.start_seq = start;
    if (orci_email_channel(&ec, &s->stop, &ch, err) != ORC_OK ||
        orci_target_start(&o, ch, &s->t, err) != ORC_OK) {
        slot_remove(m, m->n - 1);
        return false;
    }
    return true;
}

/* ---- webhooks ---------------------------------------------------------------------------------
 */

/* start_webhook starts the target of a webhook the coordinator listed. */
static void start_webhook(notifier *m, const orc_webhook *w)
{
    slot *s = slot_add(m, w->id);
    if (!s) {
        orci_error("webhook:%" PRId64 ": out of memory", w->id);
        return;
    }
    s->seen = true;
    orci_hook_config hc = {.url = w->url,
                           .secret = w->secret,
                           .ca_file = m->c->webhook_ca,
                           .timeout_ms = m->c->webhook_timeout_ms};
    orci_channel ch;
    orci_target_opts o = target_opts(m, s);
    o.prefix = w->topic_prefix;
    o.start_seq = w->start_seq;
    o.start_generation = w->redeliver_generation;
    orc_error err;
    if (orci_hook_channel(&hc, &s->stop, &ch, &err) != ORC_OK ||
        orci_target_start(&o, ch, &s->t, &err) != ORC_OK) {
        orci_error("%s: cannot start: %s", s->name, err.message);
        slot_remove(m, m->n - 1);
        return;
    }
    char url[1024]; /* a URL's user:password@ stays out of the log */
    orci_log_url(w->url, url, sizeof url);
    orci_info("%s: delivering to %s", s->name, url);
}

/* forget drops the delivery state of a webhook that was deleted. */
static void forget(notifier *m, const char *name)
{
    orc_error err;
    if (orci_nstate_forget(m->c->state, name, &err) != ORC_OK)
        orci_warn("%s: %s", name, err.message);
    else
        orci_info("%s: deleted on the coordinator: stopped", name);
}

/* refused tells whether the coordinator refused the key itself (wrong key or scope): waiting
 * will not help, unlike a coordinator out of reach. */
static bool refused(int code)
{
    return code == ORC_UNAUTHENTICATED || code == ORC_PERMISSION_DENIED;
}

/*
 * refresh reads the webhooks and starts, updates and stops targets to match. ORC_OK, also
 * when the coordinator cannot be reached (it goes on trying); the refusal of the key
 * otherwise.
 */
static int refresh(notifier *m, orc_error *out)
{
    orc_webhook_list *l = NULL;
    orc_error err;
    int rc = orc_webhooks_list(m->c->rpc, true, &l, &err);
    if (rc != ORC_OK && refused(rc))
        return orc_error_set(out, rc, "%s", err.message);
    if (rc != ORC_OK) {
        if (!m->list_failing)
            orci_warn("cannot read the webhooks: %s (still trying)", err.message);
        m->list_failing = true;
        return ORC_OK;
    }
    if (!m->ready)
        orci_info("ready: %zu webhooks, e-mail %s", l->n_webhooks, m->c->email ? "on" : "off");
    m->ready = true;
    m->list_failing = false;
    for (size_t i = 0; i < m->n; i++)
        m->slots[i]->seen = m->slots[i]->webhook_id == 0;
    for (size_t i = 0; i < l->n_webhooks; i++) {
        const orc_webhook *w = l->webhooks[i];
        slot *s = slot_find(m, w->id);
        if (!s) {
            start_webhook(m, w);
            continue;
        }
        s->seen = true;
        orci_target_redeliver(s->t, w->redeliver_generation, w->redeliver_since);
    }
    orc_webhook_list_free(l);
    for (size_t i = m->n; i-- > 0;) {
        if (m->slots[i]->seen)
            continue;
        char name[sizeof m->slots[i]->name];
        snprintf(name, sizeof name, "%s", m->slots[i]->name);
        slot_remove(m, i);
        forget(m, name);
    }
    return ORC_OK;
}

/* report sends each webhook's state to the coordinator when it changed. */
static void report(notifier *m)
{
    int64_t now = now_us();
    for (size_t i = 0; i < m->n; i++) {
        slot *s = m->slots[i];
        if (s->webhook_id == 0)
            continue;
        orci_target_status st;
        orci_target_status_get(s->t, &st);
        if (st.changes == s->reported_changes || now - s->reported_at_us < NOTIFIER_REPORT_US)
            continue;
        orc_webhook_status ws = {.id = s->webhook_id,
                                 .state = st.state,
                                 .last_error = st.last_error,
                                 .delivered_seq = st.delivered_seq,
                                 .delivered = st.delivered,
                                 .dead_lettered = st.dead_lettered,
                                 .attempts = st.attempts,
                                 .next_attempt_us = st.next_attempt_us};
        orc_error err;
        s->reported_at_us = now;
        if (orc_webhook_report(m->c->rpc, &ws, &err) == ORC_OK)
            s->reported_changes = st.changes;
        else if (err.code != ORC_UNAVAILABLE)
            orci_debug("%s: report: %s", s->name, err.message);
    }
}

/* stop_all stops every target: flags first (all abandon at once), then the joins. */
static void stop_all(notifier *m)
{
    for (size_t i = 0; i < m->n; i++) {
        atomic_store(&m->slots[i]->stop, true);
        if (m->slots[i]->t)
            orci_target_wake(m->slots[i]->t);
    }
    orc_client_close(m->c->rpc);
    while (m->n > 0)
        slot_remove(m, m->n - 1);
    free(m->slots);
}

/* watch is what the stop watcher needs: the client to close and when it may leave. */
typedef struct watch {
    orc_client *rpc;
    atomic_bool done;
} watch;

/*
 * watch_main closes the client once a stop is asked for: the main thread may be in a call to
 * a coordinator that does not answer (up to the call timeout, longer than the stop may take),
 * and a closed client ends it at once.
 */
static void *watch_main(void *arg)
{
    watch *w = arg;
    while (!atomic_load(&w->done) && !orci_daemon_stopping()) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (orci_daemon_stopping())
        orc_client_close(w->rpc);
    return NULL;
}

/* run_loop is orci_notifier_run's work until a stop (ORC_OK) or a refusal of the key. */
static int run_loop(notifier *m, orc_error *err)
{
    const orci_notifier_config *c = m->c;
    int64_t next_refresh = 0;
    bool email_warned = false;
    while (!orci_daemon_stopping()) {
        if (c->email && !m->email_started) {
            orc_error e;
            m->email_started = start_email(m, &e);
            if (!m->email_started && !orci_daemon_stopping() && e.code != ORC_UNAVAILABLE &&
                e.code != ORC_DEADLINE_EXCEEDED)
                return orc_error_set(err, e.code, "e-mail: %s", e.message);
            if (!m->email_started && !email_warned)
                orci_warn("e-mail waits for the coordinator: %s", e.message);
            email_warned = !m->email_started;
        }
        if (now_us() >= next_refresh) {
            if (refresh(m, err) != ORC_OK && !orci_daemon_stopping())
                return err->code;
            next_refresh = now_us() + (int64_t)c->refresh_ms * 1000;
        }
        report(m);
        if (orci_daemon_take_reload()) {
            if (orci_log_reopen() != 0)
                orci_warn("SIGHUP: cannot reopen the log file: %s", strerror(errno));
            else
                orci_info("SIGHUP: log file reopened");
        }
        orci_daemon_wait(NOTIFIER_TICK_MS);
    }
    return ORC_OK;
}

int orci_notifier_run(const orci_notifier_config *c, orc_error *err)
{
    notifier m = {.c = c};
    watch w = {.rpc = c->rpc};
    atomic_init(&w.done, false);
    pthread_t watcher;
    bool watching = pthread_create(&watcher, NULL, watch_main, &w) == 0;
    if (!watching)
        orci_warn("no stop watcher (%s): a stop may wait for a call's timeout", strerror(errno));
    int code = run_loop(&m, err);
    if (code == ORC_OK) {
        orci_info("stopping %zu targets", m.n);
        orci_daemon_watchdog(ORCI_DAEMON_STOP_BUDGET_MS);
    }
    stop_all(&m);
    atomic_store(&w.done, true);
    if (watching)
        pthread_join(watcher, NULL);
    return code;
}
