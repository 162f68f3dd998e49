/*
 * bench_http: the legacy JSON API through a real orchestra-http in front of a real
 * orchestrad (--dev, scratch database), with 1 and 8 keep-alive connections (libcurl, one
 * easy handle per connection and thread, so each connection is reused), against two
 * baselines measured in the same run:
 *  - the same calls over native RPC through liborchestra (1 and 8 clients, each its own
 *    connection): what the HTTP translation adds;
 *  - GET /livez, a static 200 from the same HTTP server: what the server itself costs
 *    (a shim without /livez, from before it had one: GET /orchestra/api/status/, static then;
 *    it now asks the coordinator too).
 * The calls: GET workflow_types/ and POST create_project/ (one project of the one-step
 * human workflow bench/workflows/handout), signed as upstream's Python client signs them
 * (python3-httpsig's default: hmac-sha256 over the Date header; X-Api-Key names the key).
 * Figures per call and connection count: requests/s and latency p50/p99.
 *
 * Binaries: $ORC_ORCHESTRAD, $ORC_HTTP (defaults: this build's).
 * Prints: name value unit [ratio to the baseline].
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "crypto.h"

#define CONNS 8
#define CALLS_ONE 1000 /* calls of one connection alone */
#define CALLS_EACH 250 /* calls of each of CONNS connections */
#define WARM_UP 20     /* unmeasured calls of each kind on each connection first */
#define HTTP_READY_MS 15000
#define BODY_MAX 4096 /* response text kept for an error message */
#define CREATE_BODY                                                                                \
    "{\"workflow_slug\": \"bench_handout\", \"workflow_version_slug\": \"v1\", "                   \
    "\"description\": \"http\", \"priority\": 1, \"task_class\": \"real\", "                       \
    "\"project_data\": {\"n\": 1}}"

typedef enum call_kind { CALL_STATUS, CALL_TYPES, CALL_CREATE } call_kind;
typedef enum via { VIA_HTTP, VIA_RPC } via;

typedef struct conn {
    const char *base; /* http://127.0.0.1:<port> */
    CURL *curl;
    orc_client *client;
    call_kind kind;
    via how;
    int calls;
    int failures;
    long status; /* of the last HTTP call */
    char first_error[ORC_ERROR_MESSAGE_MAX + 64];
    char body[BODY_MAX];
    size_t body_len;
    bl_samples us;
} conn;

/* ---- one HTTP call -------------------------------------------------------------------- */

static size_t conn_write(char *data, size_t size, size_t n, void *arg)
{
    conn *c = arg;
    size_t len = size * n, room = sizeof c->body - 1 - c->body_len;
    size_t keep = len < room ? len : room;
    memcpy(c->body + c->body_len, data, keep);
    c->body_len += keep;
    c->body[c->body_len] = '\0';
    return len;
}

/*
 * sign_headers builds the headers of a signed request as python3-httpsig's default does:
 * a Date, X-Api-Key, and Signature over "date: <Date>" with the --dev secret.
 */
static struct curl_slist *sign_headers(bool json)
{
    char date[64], line[160], auth[256], b64[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(line, sizeof line, "date: %s", date);
    uint8_t mac[ORCI_SHA256_LEN];
    orci_hmac_sha256(BL_DEV_SECRET, strlen(BL_DEV_SECRET), line, strlen(line), mac);
    orci_base64_encode(mac, sizeof mac, b64, sizeof b64);
    snprintf(auth, sizeof auth,
             "Authorization: Signature keyId=\"" BL_DEV_KEY "\",algorithm=\"hmac-sha256\","
             "signature=\"%s\"",
             b64);
    snprintf(line, sizeof line, "Date: %s", date);
    struct curl_slist *h = curl_slist_append(NULL, line);
    h = curl_slist_append(h, "X-Api-Key: " BL_DEV_KEY);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Expect:");
    if (json)
        h = curl_slist_append(h, "Content-Type: application/json");
    return h;
}

/* The static baseline's path; http_start falls back to the old one for an older shim. */
static const char *http_static_path = "/livez";

/* http_call makes one request of c->kind on c's connection; 0 when it got its 200. */
static int http_call(conn *c)
{
    const char *const paths[] = {http_static_path, "/orchestra/api/project/workflow_types/",
                                 "/orchestra/api/project/create_project/"};
    char url[256];
    snprintf(url, sizeof url, "%s%s", c->base, paths[c->kind]);
    struct curl_slist *h = c->kind == CALL_STATUS ? NULL : sign_headers(c->kind == CALL_CREATE);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    if (c->kind == CALL_CREATE) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, CREATE_BODY);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(CREATE_BODY));
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    c->body_len = 0;
    c->body[0] = '\0';
    CURLcode rc = curl_easy_perform(c->curl);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    c->status = status;
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    if (rc == CURLE_OK && status == 200 &&
        (c->kind != CALL_CREATE || strstr(c->body, "\"project_id\"") != NULL))
        return 0;
    if (c->failures == 0)
        snprintf(c->first_error, sizeof c->first_error, "%s: %s %ld %.200s", paths[c->kind],
                 rc == CURLE_OK ? "HTTP" : curl_easy_strerror(rc), status, c->body);
    return -1;
}

/* rpc_call makes the same call as c->kind over native RPC; 0 on success. */
static int rpc_call(conn *c)
{
    orc_error err;
    int rc;
    if (c->kind == CALL_TYPES) {
        char *json = NULL;
        rc = orc_workflow_types_json(c->client, &json, &err);
        orc_free(json);
    } else {
        orc_project_params p = {.workflow = "bench_handout",
                                .version = "v1",
                                .description = "rpc",
                                .priority = 1,
                                .project_data = "{\"n\": 1}"};
        int64_t id = 0;
        rc = orc_project_create(c->client, &p, &id, &err);
    }
    if (rc == ORC_OK)
        return 0;
    if (c->failures == 0)
        snprintf(c->first_error, sizeof c->first_error, "RPC: %s", err.message);
    return -1;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    for (int i = 0; i < c->calls; i++) {
        int64_t t0 = bl_mono_us();
        int rc = c->how == VIA_HTTP ? http_call(c) : rpc_call(c);
        int64_t t1 = bl_mono_us();
        if (rc != 0)
            c->failures++;
        else
            bl_samples_push(&c->us, t1 - t0);
    }
    return NULL;
}

/* ---- measuring -------------------------------------------------------------------------- */

typedef struct result {
    double per_s;
    int64_t p50, p99;
} result;

/* measure runs n connections making `calls` calls each of kind via how, and merges their
 * latencies. */
static int measure(conn *cs, int n, int calls, call_kind kind, via how, result *r)
{
    pthread_t th[CONNS];
    int started = 0;
    int64_t t0 = bl_mono_us();
    for (; started < n; started++) {
        cs[started].kind = kind;
        cs[started].how = how;
        cs[started].calls = calls;
        cs[started].us.n = 0;
        if (pthread_create(&th[started], NULL, conn_main, &cs[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    int64_t us = bl_mono_us() - t0;
    bl_samples all = {0};
    int failures = 0;
    for (int i = 0; i < started; i++) {
        bl_samples_append(&all, &cs[i].us);
        if (cs[i].failures > 0 && failures == 0)
            fprintf(stderr, "bench_http: %s\n", cs[i].first_error);
        failures += cs[i].failures;
        cs[i].failures = 0;
    }
    r->per_s = (double)all.n * 1e6 / (double)(us > 0 ? us : 1);
    r->p50 = bl_percentile(&all, 50);
    r->p99 = bl_percentile(&all, 99);
    bl_samples_free(&all);
    if (failures > 0)
        fprintf(stderr, "bench_http: %d calls failed\n", failures);
    return started == n && failures == 0 ? 0 : -1;
}

static double ratio(double a, double b)
{
    return a / (b > 0 ? b : 1);
}

static void print_result(const char *name, const char *conns, const result *r, const char *what,
                         const result *base, const result *trivial)
{
    printf("%s.%s %.0f req/s", name, conns, r->per_s);
    if (base != NULL)
        printf(" ratio %.2f (to %s; %.2f to the trivial handler)", ratio(r->per_s, base->per_s),
               what, ratio(r->per_s, trivial->per_s));
    else
        printf(" (%s)", what);
    printf("\n%s.%s.p50 %lld us", name, conns, (long long)r->p50);
    if (base != NULL)
        printf(" ratio %.2f (%.2f to the trivial handler)",
               ratio((double)r->p50, (double)base->p50),
               ratio((double)r->p50, (double)trivial->p50));
    printf("\n%s.%s.p99 %lld us", name, conns, (long long)r->p99);
    if (base != NULL)
        printf(" ratio %.2f", ratio((double)r->p99, (double)base->p99));
    printf("\n");
}

/* warm_up makes WARM_UP calls of every kind on every connection, unmeasured. */
static int warm_up(conn *cs)
{
    result r;
    return measure(cs, CONNS, WARM_UP, CALL_STATUS, VIA_HTTP, &r) != 0 ||
                   measure(cs, CONNS, WARM_UP, CALL_TYPES, VIA_RPC, &r) != 0 ||
                   measure(cs, CONNS, WARM_UP, CALL_TYPES, VIA_HTTP, &r) != 0 ||
                   measure(cs, CONNS, WARM_UP, CALL_CREATE, VIA_RPC, &r) != 0 ||
                   measure(cs, CONNS, WARM_UP, CALL_CREATE, VIA_HTTP, &r) != 0
               ? -1
               : 0;
}

/* measure_all measures every call with n connections and prints the figures. */
static int measure_all(conn *cs, int n)
{
    char conns[32];
    snprintf(conns, sizeof conns, "%d_conn%s", n, n > 1 ? "s" : "");
    int calls = n == 1 ? CALLS_ONE : CALLS_EACH;
    result st, ht, rt, hc, rc;
    if (measure(cs, n, calls, CALL_STATUS, VIA_HTTP, &st) != 0 ||
        measure(cs, n, calls, CALL_TYPES, VIA_RPC, &rt) != 0 ||
        measure(cs, n, calls, CALL_TYPES, VIA_HTTP, &ht) != 0 ||
        measure(cs, n, calls, CALL_CREATE, VIA_RPC, &rc) != 0 ||
        measure(cs, n, calls, CALL_CREATE, VIA_HTTP, &hc) != 0)
        return -1;
    print_result("http.status", conns, &st, "baseline: a static 200 of the same server", NULL,
                 NULL);
    print_result("rpc.workflow_types", conns, &rt, "baseline: native RPC, signed", NULL, NULL);
    print_result("http.workflow_types", conns, &ht, "native RPC", &rt, &st);
    print_result("rpc.create_project", conns, &rc, "baseline: native RPC, signed", NULL, NULL);
    print_result("http.create_project", conns, &hc, "native RPC", &rc, &st);
    fflush(stdout);
    return 0;
}

/* ---- the run ------------------------------------------------------------------------------ */

/*
 * http_start starts orchestra-http in front of d on a free port, puts its base URL in base
 * (which probe->base must point to) and waits until its status answers.
 */
static int http_start(const char *dir, const bl_daemon *d, char *base, size_t base_size,
                      conn *probe, pid_t *pid)
{
    char listen[64], log[320];
    int port = bl_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(base, base_size, "http://%s", listen);
    snprintf(log, sizeof log, "%s/orchestra-http.log", dir);
    const char *argv[] = {bl_path("ORC_HTTP", ORC_BENCH_HTTP),
                          "--listen",
                          listen,
                          "--rpc",
                          d->rpc_url,
                          "--log-level",
                          "warn",
                          NULL};
    if ((*pid = bl_spawn(argv, NULL, log)) < 0)
        return -1;
    int64_t deadline = bl_mono_us() + (int64_t)HTTP_READY_MS * 1000;
    probe->kind = CALL_STATUS;
    while (bl_mono_us() < deadline) {
        if (!bl_alive(*pid)) {
            *pid = 0;
            fprintf(stderr, "bench_http: orchestra-http exited at start\n");
            bl_print_log(log);
            return -1;
        }
        if (http_call(probe) == 0)
            return 0;
        if (probe->status == 404) /* a shim from before /livez */
            http_static_path = "/orchestra/api/status/";
        bl_sleep_us(20000);
    }
    fprintf(stderr, "bench_http: orchestra-http did not answer within %d ms\n", HTTP_READY_MS);
    bl_print_log(log);
    return -1;
}

static int run(const char *dir, bl_daemon *d, conn *cs, pid_t *http_pid, char *base,
               size_t base_size)
{
    orc_client *admin = NULL;
    const char *daemon = bl_path("ORC_ORCHESTRAD", ORC_BENCH_ORCHESTRAD);
    if (bl_daemon_start(d, daemon, dir, NULL) != 0 ||
        bl_client(d->rpc_url, BL_DEV_KEY, 0, &admin) != 0 ||
        bl_workflow_load(admin, "handout") != 0) {
        orc_client_destroy(admin);
        return -1;
    }
    orc_client_destroy(admin);
    for (int i = 0; i < CONNS; i++) {
        cs[i].base = base;
        if ((cs[i].curl = curl_easy_init()) == NULL ||
            bl_client(d->rpc_url, BL_DEV_KEY, 0, &cs[i].client) != 0)
            return -1;
        curl_easy_setopt(cs[i].curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(cs[i].curl, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(cs[i].curl, CURLOPT_WRITEFUNCTION, conn_write);
        curl_easy_setopt(cs[i].curl, CURLOPT_WRITEDATA, &cs[i]);
    }
    if (http_start(dir, d, base, base_size, &cs[0], http_pid) != 0)
        return -1;
    return warm_up(cs) == 0 && measure_all(cs, 1) == 0 && measure_all(cs, CONNS) == 0 ? 0 : -1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    char dir[256], base[96];
    if (bl_tmpdir("http", dir, sizeof dir) != 0)
        return 1;
    conn cs[CONNS];
    memset(cs, 0, sizeof cs);
    bl_daemon d = {0};
    pid_t http_pid = 0;
    int status = run(dir, &d, cs, &http_pid, base, sizeof base) == 0 ? 0 : 1;
    for (int i = 0; i < CONNS; i++) {
        if (cs[i].curl != NULL)
            curl_easy_cleanup(cs[i].curl);
        orc_client_destroy(cs[i].client);
        bl_samples_free(&cs[i].us);
    }
    if (http_pid > 0 && bl_stop(http_pid, 15000) != 0) {
        fprintf(stderr, "bench_http: orchestra-http did not stop cleanly\n");
        status = 1;
    }
    if (bl_daemon_stop(&d) != 0)
        status = 1;
    bl_rmtree(dir);
    curl_global_cleanup();
    return status;
}
