/*
 * notify_harness.h: what the notifier's integration tests run beside orchestrad: the SMTP
 * sink (smtp_sink.py), the webhook receiver that checks signatures (webhook_receiver.py), both
 * with Debian's /usr/bin/python3 on free loopback ports, and orchestra-notify itself
 * ($ORC_NOTIFY). Each process logs to <harness dir>/<name>.log; the servers append what they
 * receive as JSON lines to <harness dir>/<name>.jsonl.
 *
 * Every wait is bounded. Functions returning int give 0 on success and -1 after printing why
 * to stderr. Call them from the test's main thread (they fork). Include after cmocka's
 * headers.
 */
#ifndef ORC_TEST_NOTIFY_HARNESS_H
#define ORC_TEST_NOTIFY_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "harness.h"

#define ORC_NOTIFY_MAX_ARGS 32

/* orc_notify_proc is one process the tests started. Zero it before use. */
typedef struct orc_notify_proc {
    char name[64];
    char log_path[400];
    char records_path[400]; /* the servers' JSON lines */
    int port;               /* the servers' port */
    pid_t pid;              /* 0 when not running */
} orc_notify_proc;

/*
 * orc_notify_sink_start starts the SMTP sink `name` (extra: more of its flags, NULL-terminated;
 * NULL: none) on port (0: a free one) and waits until it listens.
 */
int orc_notify_sink_start(const orc_harness *h, const char *name, int port,
                          const char *const *extra, orc_notify_proc *p);

/* orc_notify_receiver_start starts the webhook receiver `name` checking secret (as above). */
int orc_notify_receiver_start(const orc_harness *h, const char *name, int port, const char *secret,
                              const char *const *extra, orc_notify_proc *p);

/*
 * orc_notify_start starts orchestra-notify `name` against h with the API key (key, secret),
 * --state <h->dir>/<state>, --refresh 100, short retries (--retry-min 20 --retry-max 200) and
 * extra flags (NULL-terminated; they win over these), then waits until its log says it is
 * running ("ready: ", once it read the webhooks; the e-mail target may start later). With
 * --log-file among extra, p->log_path is that file.
 */
int orc_notify_start(const orc_harness *h, const char *name, const char *key, const char *secret,
                     const char *state, const char *const *extra, orc_notify_proc *p);

/* orc_notify_stop sends SIGTERM and waits up to 10 s: the exit status, -1 when killed. */
int orc_notify_stop(orc_notify_proc *p);

/*
 * orc_notify_term sends SIGTERM and waits up to timeout_ms: the exit status and in *took_ms
 * how long it took; -1 when it still runs (then *took_ms is -1).
 */
int orc_notify_term(orc_notify_proc *p, int timeout_ms, int64_t *took_ms);

/* orc_notify_kill ends p with SIGKILL at once (and reaps it). */
void orc_notify_kill(orc_notify_proc *p);

/* orc_notify_print_log copies p's log to stderr, framed. */
void orc_notify_print_log(const orc_notify_proc *p);

/* orc_notify_log_has says whether p's log contains needle. */
bool orc_notify_log_has(const orc_notify_proc *p, const char *needle);

/* orc_notify_records parses p's JSON lines into an array (new reference; [] when none yet). */
json_t *orc_notify_records(const orc_notify_proc *p);

/*
 * orc_notify_wait_records waits up to timeout_ms until p has at least n records and returns
 * them (new reference), or NULL after printing what came (and the notifier's log, when given).
 */
json_t *orc_notify_wait_records(const orc_notify_proc *p, size_t n, int timeout_ms,
                                const orc_notify_proc *notifier);

/* orc_notify_wait_log waits up to timeout_ms until p's log contains needle. */
int orc_notify_wait_log(const orc_notify_proc *p, const char *needle, int timeout_ms);

#endif
