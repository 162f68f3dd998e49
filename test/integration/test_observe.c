/*
 * test_observe.c: observing the daemons (issue 17, items 4 to 6) with real processes.
 *
 *  - A run (machine steps through orchestra-executor, a worker signing in through
 *    orchestra-http, orchestra-notify failing to deliver to a webhook), every daemon at debug
 *    level in JSON: both /metrics parse strictly (test/support/prom.h), carry every family,
 *    nothing more, and their counters match the calls this test made; every log line of
 *    every daemon is a JSON object; orchestrad logs one line per request (request id,
 *    caller, method, code, duration; info for changes, debug for reads); a request's line
 *    in the shim's access log and in orchestrad's log share its request id; and no log
 *    holds any secret used (key secrets, the worker's password, the session and CSRF
 *    cookies, the webhook's secret, the passwords in the webhook's and the SMTP URL).
 *  - Health: liveness stays 200 while readiness follows the database (orchestrad, with the
 *    write lock held by this test) and the coordinator (orchestra-http, with orchestrad
 *    stopped and started again).
 *  - --log-format refuses what it does not know, on every daemon.
 */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli_flow.h"
#include "exec_harness.h"
#include "harness.h"
#include "notify_harness.h"
#include "prom.h"
#include "support.h"

#define WAIT_MS 60000
#define PROJECTS 3
#define USERNAME "olga"

typedef struct fixture {
    orc_harness h;
    int metrics_port; /* orchestrad's --metrics-listen */
    int http_port;
    pid_t http_pid, exec_pid;
    char http_log[400], exec_log[400];
    char exec_key[128]; /* the executor's key id */
    orc_notify_proc notify;
} fixture;

/* ---- HTTP ------------------------------------------------------------------------------- */

typedef struct http_resp {
    int status;
    char *head; /* the status line and headers */
    char *body;
} http_resp;

static void http_resp_free(http_resp *r)
{
    free(r->head);
    memset(r, 0, sizeof *r);
}

/*
 * http_do sends one request (Connection: close) to 127.0.0.1:port and reads the whole
 * answer (at most 20 s). 0 on success, -1 when nothing came.
 */
static int http_do(int port, const char *method, const char *path, const char *headers,
                   const char *body, http_resp *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    char *req = NULL;
    size_t req_len = 0;
    FILE *f = open_memstream(&req, &req_len);
    fprintf(f, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s", method, path,
            port, headers ? headers : "");
    if (body)
        fprintf(f, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    else
        fprintf(f, "\r\n");
    fclose(f);
    bool sent = write(fd, req, req_len) == (ssize_t)req_len;
    free(req);
    char *text = NULL;
    size_t len = 0;
    f = open_memstream(&text, &len);
    char buf[4096];
    ssize_t n;
    while (sent && (n = read(fd, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, f);
    fclose(f);
    close(fd);
    char *split = strstr(text, "\r\n\r\n");
    if (!split || sscanf(text, "HTTP/1.1 %d", &out->status) != 1) {
        free(text);
        return -1;
    }
    *split = '\0';
    out->head = text;
    out->body = split + 4;
    return 0;
}

static int http_status(int port, const char *path)
{
    http_resp r;
    if (http_do(port, "GET", path, NULL, NULL, &r) != 0)
        return -1;
    int s = r.status;
    http_resp_free(&r);
    return s;
}

/* wait_status polls GET path until it answers want (true) or WAIT_MS pass. */
static bool wait_status(int port, const char *path, int want)
{
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    int last = -1;
    while (orc_test_now_ms() < deadline) {
        if ((last = http_status(port, path)) == want)
            return true;
        orc_test_sleep_ms(50);
    }
    fprintf(stderr, "GET %s on port %d: %d, never %d\n", path, port, last, want);
    return false;
}

/* header copies the value of header name (case as sent) from a head; "" when absent. */
static void header(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    char needle[128];
    snprintf(needle, sizeof needle, "\r\n%s: ", name);
    const char *at = strstr(head, needle);
    if (at)
        snprintf(out, size, "%.*s", (int)strcspn(at + strlen(needle), "\r"), at + strlen(needle));
}

/* cookie copies the value of cookie name from the Set-Cookie headers of a head. */
static void cookie(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    char needle[128];
    snprintf(needle, sizeof needle, "Set-Cookie: %s=", name);
    const char *at = strstr(head, needle);
    if (at)
        snprintf(out, size, "%.*s", (int)strcspn(at + strlen(needle), ";\r"), at + strlen(needle));
}

/* scrape reads and strictly parses GET /metrics on port. */
static void scrape(int port, orc_prom *p)
{
    http_resp r;
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    char why[512] = "";
    if (orc_prom_parse(r.body, p, why, sizeof why) != 0)
        fail_msg("/metrics on port %d: %s\n%s", port, why, r.body);
    http_resp_free(&r);
}

static void expect_metric(const orc_prom *p, const char *name, const char *labels, double want)
{
    double got = orc_prom_get(p, name, labels);
    if (got != want)
        fail_msg("%s{%s} is %g, not %g", name, labels, got, want);
}

/* ---- processes -------------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    if (!f)
        return -1;
    f->metrics_port = orc_test_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->metrics_port);
    orc_harness_opts o = {.extra_args = {"--metrics-listen", listen, "--log-format", "json", NULL}};
    return orc_harness_start(&f->h, &o) == 0 ? 0 : -1;
}

static void stop_pid(pid_t *pid)
{
    if (*pid <= 0)
        return;
    int status = 0;
    kill(*pid, SIGTERM);
    if (orc_test_wait_exit(*pid, 15000, &status) != 0) {
        kill(*pid, SIGKILL);
        orc_test_wait_exit(*pid, 5000, &status);
    }
    *pid = 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        stop_pid(&f->http_pid);
        stop_pid(&f->exec_pid);
        if (f->notify.pid > 0)
            orc_notify_kill(&f->notify);
        orc_harness_cleanup(&f->h);
        free(f);
    }
    return 0;
}

/* start_http starts orchestra-http at debug level in format (JSON or text). */
static void start_http(fixture *f, const char *format)
{
    f->http_port = orc_test_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->http_port);
    snprintf(f->http_log, sizeof f->http_log, "%s/http.log", f->h.dir);
    const char *argv[] = {
        orc_test_env("ORC_HTTP"), "--listen",    listen,  "--rpc",        f->h.rpc_url, "--events",
        f->h.events_url,          "--log-level", "debug", "--log-format", format,       NULL};
    f->http_pid = orc_test_spawn(argv, f->http_log);
    assert_true(f->http_pid > 0);
    assert_true(wait_status(f->http_port, "/livez", 200));
}

/* start_exec starts an executor with the test plugins, its own key, at debug level in JSON. */
static void start_exec(fixture *f, char *secret, size_t secret_size)
{
    char plugins[700], storage[420];
    assert_int_equal(orc_harness_create_key(&f->h, "runner", "executor", f->exec_key,
                                            sizeof f->exec_key, secret, secret_size),
                     0);
    const char *const files[] = {"test_lib/test_plugin_flaky.so", NULL};
    assert_int_equal(orc_exec_plugin_dir(&f->h, "plugins", files, plugins, sizeof plugins), 0);
    snprintf(f->exec_log, sizeof f->exec_log, "%s/executor.log", f->h.dir);
    snprintf(storage, sizeof storage, "%s/storage", f->h.dir);
    const char *argv[] = {orc_test_env("ORC_EXECUTOR"),
                          "--rpc",
                          f->h.rpc_url,
                          "--plugins",
                          plugins,
                          "--storage",
                          storage,
                          "--concurrency",
                          "1",
                          "--log-level",
                          "debug",
                          "--log-format",
                          "json",
                          NULL};
    setenv("ORCHESTRA_API_KEY", f->exec_key, 1);
    setenv("ORCHESTRA_API_SECRET", secret, 1);
    f->exec_pid = orc_test_spawn(argv, f->exec_log);
    unsetenv("ORCHESTRA_API_KEY");
    unsetenv("ORCHESTRA_API_SECRET");
    assert_true(f->exec_pid > 0);
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    while (!orc_test_file_has(f->exec_log, "plugins loaded") && orc_test_now_ms() < deadline)
        orc_test_sleep_ms(20);
    assert_true(orc_test_file_has(f->exec_log, "plugins loaded"));
}

/*
 * start_notify starts orchestra-notify with its own key, an SMTP server named with a password
 * in its URL, and a webhook (with a secret and credentials in its URL) that nobody answers.
 */
static void start_notify(fixture *f, char *secret, size_t secret_size, const char *hook_secret,
                         const char *password, const char *smtp_password)
{
    char key[128], url[128], smtp[128];
    assert_int_equal(
        orc_harness_create_key(&f->h, "notifier", "notify", key, sizeof key, secret, secret_size),
        0);
    snprintf(url, sizeof url, "http://hook:%s@127.0.0.1:%d/hook", password, orc_test_free_port());
    snprintf(smtp, sizeof smtp, "smtp://mail:%s@127.0.0.1:%d", smtp_password, orc_test_free_port());
    orc_flow_run r;
    orc_flow_admin(&f->h, &r, NULL, "webhook", "create", url, "--secret", hook_secret, NULL);
    orc_flow_expect_ok(&r);
    orc_flow_run_free(&r);
    const char *const extra[] = {"--log-level", "debug", "--log-format", "json", "--smtp",
                                 smtp,          NULL};
    assert_int_equal(
        orc_notify_start(&f->h, "notify", key, secret, "notify-state", extra, &f->notify), 0);
}

/* load_workflow loads obswf/v1: the machine step "run" (echo), then the human step "after". */
static void load_workflow(fixture *f)
{
    char dir[700];
    orc_flow_write_workflow(
        f->h.dir, "obswf",
        "{\"slug\":\"obswf\",\"name\":\"obswf\",\"description\":\"Observed.\","
        "\"certifications\":[]}",
        "{\"slug\":\"v1\",\"name\":\"Version 1\",\"description\":\"Run, then a person.\","
        "\"steps\":["
        "{\"slug\":\"run\",\"name\":\"Run\",\"description\":\"The machine step.\","
        "\"is_human\":false,\"execution_function\":"
        "{\"module\":\"test_plugins.flaky\",\"name\":\"echo\"}},"
        "{\"slug\":\"after\",\"name\":\"After\",\"description\":\"A person.\","
        "\"is_human\":true,\"creation_depends_on\":[\"run\"],"
        "\"review_policy\":{\"policy\":\"no_review\"}}]}",
        dir, sizeof dir);
    orc_flow_load_workflow(&f->h, dir, "v1");
}

/* ---- the web sign-in -------------------------------------------------------------------- */

typedef struct web_session {
    char csrf[128];
    char session[256];
    char login_id[64];  /* the X-Request-Id of the sign-in that succeeded */
    char whoami_id[64]; /* the X-Request-Id of the whoami call */
} web_session;

static void web_sign_in(const fixture *f, const char *password, web_session *s)
{
    http_resp r;
    assert_int_equal(http_do(f->http_port, "GET", "/orchestra/accounts/login/", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cookie(r.head, "csrftoken", s->csrf, sizeof s->csrf);
    assert_true(s->csrf[0] != '\0');
    http_resp_free(&r);
    char headers[512], body[512];
    snprintf(headers, sizeof headers,
             "Cookie: csrftoken=%s\r\nOrigin: http://127.0.0.1:%d\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\n",
             s->csrf, f->http_port);
    /* A wrong password first: the form again, and Login refused by the coordinator. */
    snprintf(body, sizeof body, "csrfmiddlewaretoken=%s&username=" USERNAME "&password=wrong%s",
             s->csrf, password);
    assert_int_equal(http_do(f->http_port, "POST", "/orchestra/accounts/login/", headers, body, &r),
                     0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    snprintf(body, sizeof body, "csrfmiddlewaretoken=%s&username=" USERNAME "&password=%s", s->csrf,
             password);
    assert_int_equal(http_do(f->http_port, "POST", "/orchestra/accounts/login/", headers, body, &r),
                     0);
    assert_int_equal(r.status, 302);
    header(r.head, "X-Request-Id", s->login_id, sizeof s->login_id);
    assert_int_equal(strlen(s->login_id), 24);
    cookie(r.head, "sessionid", s->session, sizeof s->session);
    assert_true(strlen(s->session) > 20);
    http_resp_free(&r);
    snprintf(headers, sizeof headers, "Cookie: sessionid=%s\r\n", s->session);
    assert_int_equal(
        http_do(f->http_port, "GET", "/orchestra/api/interface/whoami/", headers, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    header(r.head, "X-Request-Id", s->whoami_id, sizeof s->whoami_id);
    assert_int_equal(strlen(s->whoami_id), 24);
    http_resp_free(&r);
}

/* ---- checks ----------------------------------------------------------------------------- */

/* wait_parked waits until orchestrad shows at least one parked long poll (the executor). */
static void wait_parked(const fixture *f)
{
    int64_t deadline = orc_test_now_ms() + WAIT_MS;
    double parked = 0;
    while (orc_test_now_ms() < deadline) {
        orc_prom p;
        scrape(f->metrics_port, &p);
        parked = orc_prom_get(&p, "orchestra_rpc_parked_requests", "");
        orc_prom_free(&p);
        if (parked >= 1)
            return;
        orc_test_sleep_ms(50);
    }
    fail_msg("no LeaseJob poll was ever seen parked (last %g)", parked);
}

typedef struct family {
    const char *name, *type;
} family;

/* The families every daemon's /metrics carries. */
static const family process_families[] = {
    {"orchestra_build_info", "gauge"},          {"process_cpu_seconds_total", "counter"},
    {"process_resident_memory_bytes", "gauge"}, {"process_open_fds", "gauge"},
    {"process_start_time_seconds", "gauge"},    {NULL, NULL},
};

static bool family_listed(const family *list, const char *name)
{
    for (size_t i = 0; list[i].name; i++)
        if (strcmp(list[i].name, name) == 0)
            return true;
    return false;
}

/*
 * expect_families: p has exactly the process families and own (each of its type), nothing
 * more, so that a family added without its place here (and in the README's table) fails.
 */
static void expect_families(const orc_prom *p, const family *own)
{
    const family *lists[] = {process_families, own};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; lists[l][i].name; i++) {
            const char *type = orc_prom_family_type(p, lists[l][i].name);
            if (!type)
                fail_msg("family %s is missing", lists[l][i].name);
            if (strcmp(type, lists[l][i].type) != 0)
                fail_msg("family %s is a %s, not a %s", lists[l][i].name, type, lists[l][i].type);
        }
    for (size_t i = 0; i < p->n_families; i++)
        if (!family_listed(process_families, p->families[i].name) &&
            !family_listed(own, p->families[i].name))
            fail_msg("family %s is not expected (and not documented)", p->families[i].name);
}

/* expect_durations_match: a method's latency count is its calls of every status code. */
static void expect_durations_match(const orc_prom *p, const char *hist, const char *counter,
                                   const char *method)
{
    char filter[128], labels[128], name[128];
    snprintf(filter, sizeof filter, "method=\"%s\"", method);
    snprintf(labels, sizeof labels, "method=\"%s\"", method);
    snprintf(name, sizeof name, "%s_count", hist);
    double calls = orc_prom_sum(p, counter, filter);
    assert_true(calls >= 1);
    expect_metric(p, name, labels, calls);
}

/* last_seq reads the newest committed seq as a subscriber catching up does (ListEvents). */
static int64_t last_seq(const fixture *f)
{
    orc_client *c = NULL;
    assert_int_equal(orc_harness_client_dev(&f->h, &c), ORC_OK);
    orc_event_page *page = NULL;
    orc_error err;
    assert_int_equal(orc_events_list(c, 0, NULL, 0, &page, &err), ORC_OK);
    int64_t last = page->last_seq;
    orc_event_page_free(page);
    orc_client_destroy(c);
    return last;
}

static void check_orchestrad_metrics(const fixture *f)
{
    int64_t before = last_seq(f);
    assert_true(before > 0);
    orc_prom p;
    scrape(f->metrics_port, &p);
    int64_t after = last_seq(f);
    static const family families[] = {
        {"orchestra_rpc_requests_total", "counter"},
        {"orchestra_rpc_request_duration_seconds", "histogram"},
        {"orchestra_rpc_parked_requests", "gauge"},
        {"orchestra_events_subscriber_lag_events", "histogram"},
        {"orchestra_store_commit_batch_size", "histogram"},
        {"orchestra_store_commit_duration_seconds", "histogram"},
        {"orchestra_store_transaction_duration_seconds", "histogram"},
        {"orchestra_store_sync_duration_seconds", "histogram"},
        {"orchestra_open_tasks", "gauge"},
        {"orchestra_jobs", "gauge"},
        {"orchestra_job_leases", "gauge"},
        {"orchestra_events_last_seq", "gauge"},
        {"orchestra_events_first_kept_seq", "gauge"},
        {"orchestra_events_publish_dropped_total", "counter"},
        {NULL, NULL},
    };
    expect_families(&p, families);
    const char *rq = "orchestra_rpc_requests_total";
    expect_metric(&p, rq, "method=\"CreateProject\",code=\"OK\"", PROJECTS);
    expect_metric(&p, rq, "method=\"CompleteJob\",code=\"OK\"", PROJECTS);
    expect_metric(&p, rq, "method=\"Login\",code=\"OK\"", 1);
    expect_metric(&p, rq, "method=\"Login\",code=\"UNAUTHENTICATED\"", 1);
    expect_metric(&p, rq, "method=\"WhoAmI\",code=\"OK\"", 1);
    const char *dur = "orchestra_rpc_request_duration_seconds";
    expect_durations_match(&p, dur, rq, "CreateProject");
    expect_durations_match(&p, dur, rq, "CompleteJob");
    expect_durations_match(&p, dur, rq, "Login");
    expect_metric(&p, "orchestra_open_tasks", "status=\"Awaiting Processing\"", PROJECTS);
    expect_metric(&p, "orchestra_open_tasks", "status=\"Processing\"", 0);
    expect_metric(&p, "orchestra_jobs", "status=\"queued\"", 0);
    expect_metric(&p, "orchestra_jobs", "status=\"failed\"", 0);
    expect_metric(&p, "orchestra_job_leases", "state=\"active\"", 0);
    expect_metric(&p, "orchestra_job_leases", "state=\"expired\"", 0);
    /* The scrape saw the seq that the ListEvents calls around it saw (the run is over). */
    double seq = orc_prom_get(&p, "orchestra_events_last_seq", "");
    if (seq < (double)before || seq > (double)after)
        fail_msg("orchestra_events_last_seq %g, ListEvents %lld then %lld", seq, (long long)before,
                 (long long)after);
    assert_true(orc_prom_get(&p, "orchestra_events_subscriber_lag_events_count", "") >= 1);
    double commits = orc_prom_get(&p, "orchestra_store_commit_batch_size_count", "");
    double jobs = orc_prom_get(&p, "orchestra_store_commit_batch_size_sum", "");
    expect_metric(&p, "orchestra_store_commit_duration_seconds_count", "", commits);
    assert_true(commits >= 1 && jobs >= commits);
    /* SQLite: the WAL is synced before replies, once for one commit or for several. */
    double syncs = orc_prom_get(&p, "orchestra_store_sync_duration_seconds_count", "");
    if (orc_test_store_pg())
        assert_true(syncs == 0);
    else if (syncs < 1 || syncs > commits)
        fail_msg("%g WAL syncs for %g commits", syncs, commits);
    assert_true(jobs >= 2 * PROJECTS); /* the creations and the completions at least */
    expect_metric(&p, "orchestra_build_info", "program=\"orchestrad\",version=\"" ORC_VERSION "\"",
                  1);
    orc_prom_free(&p);
}

static void check_http_metrics(const fixture *f)
{
    orc_prom p;
    scrape(f->http_port, &p);
    static const family families[] = {
        {"orchestra_http_requests_total", "counter"},
        {"orchestra_http_request_duration_seconds", "histogram"},
        {"orchestra_http_rpc_calls_total", "counter"},
        {"orchestra_http_rpc_duration_seconds", "histogram"},
        {NULL, NULL},
    };
    expect_families(&p, families);
    const char *rq = "orchestra_http_requests_total";
    const char *login = "route=\"/orchestra/accounts/login/\"";
    char labels[256];
    snprintf(labels, sizeof labels, "%s,method=\"GET\",code=\"200\"", login);
    expect_metric(&p, rq, labels, 1);
    snprintf(labels, sizeof labels, "%s,method=\"POST\",code=\"200\"", login);
    expect_metric(&p, rq, labels, 1);
    snprintf(labels, sizeof labels, "%s,method=\"POST\",code=\"302\"", login);
    expect_metric(&p, rq, labels, 1);
    expect_metric(&p, rq, "route=\"/orchestra/api/interface/whoami/\",method=\"GET\",code=\"200\"",
                  1);
    /* A path nobody serves is counted under one route, whatever the path was. */
    expect_metric(&p, rq, "route=\"unmatched\",method=\"GET\",code=\"404\"", 2);
    expect_metric(&p, "orchestra_http_request_duration_seconds_count",
                  "route=\"/orchestra/accounts/login/\"", 3);
    const char *rpc = "orchestra_http_rpc_calls_total";
    expect_metric(&p, rpc, "method=\"Login\",code=\"OK\"", 1);
    expect_metric(&p, rpc, "method=\"Login\",code=\"UNAUTHENTICATED\"", 1);
    expect_metric(&p, rpc, "method=\"WhoAmI\",code=\"OK\"", 1);
    assert_true(orc_prom_get(&p, rpc, "method=\"Health\",code=\"OK\"") >= 1);
    expect_durations_match(&p, "orchestra_http_rpc_duration_seconds", rpc, "Login");
    orc_prom_free(&p);
}

/*
 * load_json_log asserts that every line of the log at path is a JSON object with time,
 * level, program and msg, and returns them in order (a JSON array; release with json_decref).
 */
static json_t *load_json_log(const char *path)
{
    char *text = orc_test_read_file(path, NULL);
    assert_non_null(text);
    json_t *lines = json_array();
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "==== harness: ", 14) == 0)
            continue; /* the harness's own marks between the daemon's runs */
        json_error_t e;
        json_t *v = json_loads(line, JSON_REJECT_DUPLICATES, &e);
        if (!v || !json_is_object(v) || !json_is_string(json_object_get(v, "time")) ||
            !json_is_string(json_object_get(v, "level")) ||
            !json_is_string(json_object_get(v, "program")) ||
            !json_is_string(json_object_get(v, "msg")))
            fail_msg("%s: not a JSON log record: %s", path, line);
        json_array_append_new(lines, v);
    }
    free(text);
    return lines;
}

static const char *jstr(const json_t *line, const char *key)
{
    const char *v = json_string_value(json_object_get(line, key));
    return v ? v : "";
}

/*
 * log_select returns (a new array, release with json_decref) the lines of log whose msg is
 * msg and whose string field key is value (key NULL: any).
 */
static json_t *log_select(const json_t *log, const char *msg, const char *key, const char *value)
{
    json_t *out = json_array();
    size_t i;
    json_t *line;
    json_array_foreach(log, i, line)
    {
        if (strcmp(jstr(line, "msg"), msg) == 0 && (!key || strcmp(jstr(line, key), value) == 0))
            json_array_append(out, line);
    }
    return out;
}

/* log_count_level counts the lines of log at level. */
static size_t log_count_level(const json_t *log, const char *level)
{
    size_t n = 0, i;
    json_t *line;
    json_array_foreach(log, i, line)
    {
        n += strcmp(jstr(line, "level"), level) == 0;
    }
    return n;
}

/*
 * expect_rpc_lines: orchestrad's log has want lines for method, each at level, from caller,
 * with a request id, a status code, a duration, and the refusal's message when not OK.
 */
static void expect_rpc_lines(const json_t *log, const char *method, size_t want, const char *level,
                             const char *caller)
{
    json_t *lines = log_select(log, "rpc", "method", method);
    if (json_array_size(lines) != want)
        fail_msg("%zu rpc lines for %s, not %zu", json_array_size(lines), method, want);
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        char *text = json_dumps(line, JSON_COMPACT);
        if (strcmp(jstr(line, "level"), level) != 0 || strcmp(jstr(line, "caller"), caller) != 0 ||
            strlen(jstr(line, "request_id")) < 8 || !jstr(line, "code")[0] ||
            !json_is_real(json_object_get(line, "duration_ms")) ||
            json_real_value(json_object_get(line, "duration_ms")) < 0 ||
            (strcmp(jstr(line, "code"), "OK") != 0) != (jstr(line, "error")[0] != '\0'))
            fail_msg("rpc line for %s (want level %s, caller %s): %s", method, level, caller, text);
        free(text);
    }
    json_decref(lines);
}

static void expect_no_secret(const char *path, const char *const *secrets)
{
    char *text = orc_test_read_file(path, NULL);
    assert_non_null(text);
    for (size_t i = 0; secrets[i]; i++)
        if (secrets[i][0] && strstr(text, secrets[i]))
            fail_msg("%s holds the secret \"%s\"", path, secrets[i]);
    free(text);
}

/* ---- tests ------------------------------------------------------------------------------ */

/*
 * expect_joined_lines checks the shim's access lines of the whoami read (debug, with the
 * client's address) and of the sign-in (info), each joined by orchestrad's line of the RPC it
 * made under the same request id.
 */
static void expect_joined_lines(const json_t *http_log, const json_t *rpc_log, const web_session *s)
{
    /* The shim's access line: a read at debug, with the client's address. */
    json_t *lines = log_select(http_log, "http", "request_id", s->whoami_id);
    assert_int_equal(json_array_size(lines), 1);
    const json_t *line = json_array_get(lines, 0);
    assert_string_equal(jstr(line, "route"), "/orchestra/api/interface/whoami/");
    assert_string_equal(jstr(line, "path"), "/orchestra/api/interface/whoami/");
    assert_string_equal(jstr(line, "method"), "GET");
    assert_string_equal(jstr(line, "client"), "127.0.0.1");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 200);
    assert_true(json_integer_value(json_object_get(line, "bytes")) > 0);
    assert_true(json_is_real(json_object_get(line, "duration_ms")));
    assert_string_equal(jstr(line, "level"), "debug");
    json_decref(lines);
    /* ... and orchestrad's line of the RPC it made, under the same request id. */
    lines = log_select(rpc_log, "rpc", "request_id", s->whoami_id);
    assert_int_equal(json_array_size(lines), 1);
    line = json_array_get(lines, 0);
    assert_string_equal(jstr(line, "method"), "WhoAmI");
    assert_string_equal(jstr(line, "caller"), "worker:" USERNAME);
    assert_string_equal(jstr(line, "code"), "OK");
    assert_string_equal(jstr(line, "level"), "debug");
    json_decref(lines);
    /* A change: the sign-in's access line at info, joined by orchestrad's Login line. */
    lines = log_select(http_log, "http", "request_id", s->login_id);
    assert_int_equal(json_array_size(lines), 1);
    line = json_array_get(lines, 0);
    assert_string_equal(jstr(line, "method"), "POST");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 302);
    assert_string_equal(jstr(line, "level"), "info");
    json_decref(lines);
    lines = log_select(rpc_log, "rpc", "request_id", s->login_id);
    assert_int_equal(json_array_size(lines), 1);
    line = json_array_get(lines, 0);
    assert_string_equal(jstr(line, "method"), "Login");
    assert_string_equal(jstr(line, "code"), "OK");
    assert_string_equal(jstr(line, "level"), "info");
    json_decref(lines);
}

static void test_a_run_is_measured_logged_and_leaks_no_secret(void **state)
{
    fixture *f = *state;
    char exec_secret[128], notify_secret[128];
    const char *hook_secret = "hook-secret-9f2c41d7e5";
    const char *password = "pw-5be1c0a8d2";
    const char *url_password = "urlpw-73ac0e19";
    const char *smtp_password = "smtppw-e41b9a06";
    start_notify(f, notify_secret, sizeof notify_secret, hook_secret, url_password, smtp_password);
    start_exec(f, exec_secret, sizeof exec_secret);
    start_http(f, "json");
    load_workflow(f);
    int64_t projects[PROJECTS];
    for (int i = 0; i < PROJECTS; i++)
        projects[i] = orc_flow_create_project(&f->h, "obswf", "v1", "observed", NULL);
    for (int i = 0; i < PROJECTS; i++)
        assert_int_equal(orc_exec_wait_task(&f->h, projects[i], "after", "Awaiting Processing/",
                                            WAIT_MS, NULL, 0),
                         0);
    orc_flow_worker w;
    orc_flow_worker_init(&w, &f->h, USERNAME, password);
    orc_flow_add_worker(&f->h, &w);
    web_session s;
    web_sign_in(f, password, &s);
    assert_int_equal(http_status(f->http_port, "/nope/123"), 404);
    assert_int_equal(http_status(f->http_port, "/nope/456"), 404);
    assert_int_equal(http_status(f->http_port, "/orchestra/status/"), 200);

    wait_parked(f);
    check_orchestrad_metrics(f);
    check_http_metrics(f);

    /* The notifier started delivering to the webhook (nobody answers), logging as it went. */
    assert_int_equal(
        orc_notify_wait_log(&f->notify, "delivering to http://***@127.0.0.1:", WAIT_MS), 0);

    /* Every line of every daemon is JSON; those that log at debug level here did. (The
     * notifier logs at debug only an event delivered, and nobody answers its webhook.) */
    json_t *http_log = load_json_log(f->http_log);
    json_t *rpc_log = load_json_log(f->h.log_path);
    json_t *exec_log = load_json_log(f->exec_log);
    json_t *notify_log = load_json_log(f->notify.log_path);
    const json_t *const logs[] = {http_log, rpc_log, exec_log, notify_log};
    const char *const log_paths[] = {f->http_log, f->h.log_path, f->exec_log};
    for (size_t i = 0; i < sizeof log_paths / sizeof log_paths[0]; i++)
        if (log_count_level(logs[i], "debug") < 1)
            fail_msg("%s: no line at debug level", log_paths[i]);

    expect_joined_lines(http_log, rpc_log, &s);

    /* One line per request, at info for changes and debug for reads, naming the caller. */
    char exec_caller[160];
    snprintf(exec_caller, sizeof exec_caller, "key:%s", f->exec_key);
    expect_rpc_lines(rpc_log, "CreateProject", PROJECTS, "info", "key:" ORC_TEST_DEV_KEY);
    expect_rpc_lines(rpc_log, "CompleteJob", PROJECTS, "info", exec_caller);
    expect_rpc_lines(rpc_log, "Login", 2, "info", "-");
    expect_rpc_lines(rpc_log, "WhoAmI", 1, "debug", "worker:" USERNAME);
    json_t *lines = log_select(rpc_log, "rpc", "code", "UNAUTHENTICATED");
    assert_int_equal(json_array_size(lines), 1);
    assert_string_equal(jstr(json_array_get(lines, 0), "method"), "Login");
    json_decref(lines);

    /* The notifier named its SMTP server without the password. */
    assert_int_equal(orc_notify_wait_log(&f->notify, "smtp://***@127.0.0.1:", WAIT_MS), 0);
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++)
        json_decref((json_t *)logs[i]);

    /* Stopped daemons flush nothing more; then no log may hold any secret of the run. */
    stop_pid(&f->http_pid);
    stop_pid(&f->exec_pid);
    assert_int_equal(orc_notify_stop(&f->notify), 0);
    assert_int_equal(orc_harness_stop(&f->h), 0);
    const char *const secrets[] = {exec_secret,         notify_secret, hook_secret, password,
                                   url_password,        smtp_password, s.session,   s.csrf,
                                   ORC_TEST_DEV_SECRET, NULL};
    expect_no_secret(f->h.log_path, secrets);
    expect_no_secret(f->http_log, secrets);
    expect_no_secret(f->exec_log, secrets);
    expect_no_secret(f->notify.log_path, secrets);
}

/* hold_write_lock takes the database's write lock from this process (BEGIN IMMEDIATE). */
static sqlite3 *hold_write_lock(const fixture *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->h.db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, WAIT_MS);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void test_readiness_follows_the_database_and_the_coordinator(void **state)
{
    fixture *f = *state;
    start_http(f, "text");
    assert_int_equal(http_status(f->metrics_port, "/livez"), 200);
    /* Ready once the first no-op commit and Health call came back within their 2 s (waited
     * for: a loaded machine may miss the first one). */
    assert_true(wait_status(f->metrics_port, "/readyz", 200));
    assert_true(wait_status(f->http_port, "/readyz", 200));
    http_resp r;
    assert_int_equal(http_do(f->http_port, "GET", "/orchestra/status/", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "OK");
    http_resp_free(&r);
    assert_int_equal(http_status(f->http_port, "/orchestra/api/status/"), 200);

    /* The writer cannot commit while this test holds the write lock: not ready, alive. (A
     * SQLite store: this process takes the lock with SQLite itself.) */
    if (!orc_test_store_pg()) {
        sqlite3 *db = hold_write_lock(f);
        assert_int_equal(http_do(f->metrics_port, "GET", "/readyz", NULL, NULL, &r), 0);
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.body, "not ready"));
        http_resp_free(&r);
        assert_int_equal(http_status(f->metrics_port, "/livez"), 200);
        assert_int_equal(http_status(f->http_port, "/readyz"), 200); /* Health reads nothing */
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        assert_true(wait_status(f->metrics_port, "/readyz", 200));
    }

    /* The coordinator stopped: the shim is alive, not ready, and its status page says so. */
    assert_int_equal(orc_harness_stop(&f->h), 0);
    assert_int_equal(http_status(f->http_port, "/livez"), 200);
    assert_int_equal(http_status(f->http_port, "/readyz"), 503);
    assert_int_equal(http_status(f->http_port, "/orchestra/status/"), 503);
    assert_int_equal(http_status(f->http_port, "/orchestra/api/status/"), 503);
    assert_true(orc_test_file_has(f->http_log, "not ready"));
    /* Back: ready again, without restarting the shim. */
    assert_int_equal(orc_harness_relaunch(&f->h), 0);
    assert_true(wait_status(f->http_port, "/readyz", 200));
    assert_true(wait_status(f->http_port, "/orchestra/status/", 200));
    assert_int_equal(http_status(f->http_port, "/livez"), 200);
}

static void test_log_format_refuses_unknown_formats_on_every_daemon(void **state)
{
    (void)state;
    const char *bins[] = {orc_test_env("ORC_ORCHESTRAD"), orc_test_env("ORC_HTTP"),
                          orc_test_env("ORC_EXECUTOR"), orc_test_env("ORC_NOTIFY")};
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        const char *argv[] = {bins[i], "--log-format", "xml", NULL};
        int code = -1;
        char *out = NULL, *err = NULL;
        assert_int_equal(orc_test_run(argv, NULL, NULL, 20000, &code, &out, &err), 0);
        if (code != 2 || !strstr(err, "--log-format"))
            fail_msg("%s --log-format xml: exit %d, %s", bins[i], code, err);
        free(out);
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_run_is_measured_logged_and_leaks_no_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_readiness_follows_the_database_and_the_coordinator,
                                        setup, teardown),
        cmocka_unit_test(test_log_format_refuses_unknown_formats_on_every_daemon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
