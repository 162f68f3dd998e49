/*
 * bench_rpc: signed RPC round trips through liborchestra and a real orchestrad, against a
 * bare nng REQ/REP echo of a message of the same size over the same transport (tcp on
 * loopback), measured in the same run.
 *
 * Usage: bench_rpc [path-to-orchestrad]   (default: $ORC_ORCHESTRAD, else ../server/orchestrad
 * next to this binary's folder). Prints: name value unit [ratio-to-baseline].
 */
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "orchestra/client.h"

#define CALLS 2000
#define THREADS 8
#define CALLS_PER_THREAD 500

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

/* ---- baseline: a REP echo with contexts, like orchestrad's, minus all the work ---- */

typedef struct echo_ctx {
    nng_aio *aio;
    nng_ctx ctx;
    int sending;
} echo_ctx;

static void echo_cb(void *arg)
{
    echo_ctx *e = arg;
    if (nng_aio_result(e->aio) != 0) {
        if (e->sending)
            nng_msg_free(nng_aio_get_msg(e->aio));
        return; /* closed */
    }
    if (e->sending) {
        e->sending = 0;
        nng_ctx_recv(e->ctx, e->aio);
    } else {
        e->sending = 1;
        nng_ctx_send(e->ctx, e->aio);
    }
}

typedef struct worker {
    const char *url;
    orc_client *client;
    int failures;
} worker;

static void *echo_worker(void *p)
{
    worker *w = p;
    nng_socket s;
    char body[96];
    memset(body, 'x', sizeof body);
    if (nng_req0_open(&s) != 0 || nng_dial(s, w->url, NULL, 0) != 0) {
        w->failures = CALLS_PER_THREAD;
        return NULL;
    }
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        nng_msg *m;
        nng_msg_alloc(&m, 0);
        nng_msg_append(m, body, sizeof body);
        if (nng_sendmsg(s, m, 0) != 0 || nng_recvmsg(s, &m, 0) != 0) {
            w->failures++;
            continue;
        }
        nng_msg_free(m);
    }
    nng_close(s);
    return NULL;
}

static void *rpc_worker(void *p)
{
    worker *w = p;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        char *json = NULL;
        if (orc_workflow_types_json(w->client, &json, NULL) != ORC_OK)
            w->failures++;
        orc_free(json);
    }
    return NULL;
}

static double run(void *(*fn)(void *), worker *ws, int n)
{
    pthread_t th[THREADS];
    int64_t t0 = orci_monotonic_ms();
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, fn, &ws[i]);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    int64_t ms = orci_monotonic_ms() - t0;
    return (double)n * CALLS_PER_THREAD * 1000.0 / (double)(ms > 0 ? ms : 1);
}

int main(int argc, char **argv)
{
    const char *daemon = argc > 1 ? argv[1] : getenv("ORC_ORCHESTRAD");
    if (daemon == NULL) {
        fprintf(stderr, "usage: bench_rpc PATH-TO-ORCHESTRAD (or set ORC_ORCHESTRAD)\n");
        return 2;
    }
    int ports[3] = {free_port(), free_port(), free_port()};
    char echo_url[64], rpc_url[64], events_url[64];
    snprintf(echo_url, sizeof echo_url, "tcp://127.0.0.1:%d", ports[0]);
    snprintf(rpc_url, sizeof rpc_url, "tcp://127.0.0.1:%d", ports[1]);
    snprintf(events_url, sizeof events_url, "tcp://127.0.0.1:%d", ports[2]);

    /* baseline server */
    nng_socket rep;
    echo_ctx ectx[THREADS];
    if (nng_rep0_open(&rep) != 0 || nng_listen(rep, echo_url, NULL, 0) != 0) {
        fprintf(stderr, "bench_rpc: cannot listen on %s\n", echo_url);
        return 1;
    }
    for (int i = 0; i < THREADS; i++) {
        ectx[i].sending = 0;
        nng_aio_alloc(&ectx[i].aio, echo_cb, &ectx[i]);
        nng_ctx_open(&ectx[i].ctx, rep);
        nng_ctx_recv(ectx[i].ctx, ectx[i].aio);
    }

    /* orchestrad on a scratch database */
    char dir[] = "/tmp/orc-bench-rpc-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char db[128];
    snprintf(db, sizeof db, "%s/orchestra.db", dir);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(daemon, daemon, "--dev", "--db", db, "--rpc", rpc_url, "--events", events_url,
              "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    orc_client_opts opts = {
        .rpc_url = rpc_url, .api_key = "orchestra-user", .api_secret = "CHANGEME"};
    worker ws[THREADS];
    int up = 0;
    for (int i = 0; i < THREADS; i++) {
        ws[i] = (worker){.url = echo_url};
        for (int t = 0; t < 300 && ws[i].client == NULL; t++) {
            if (orc_client_new(&opts, &ws[i].client, NULL) != ORC_OK)
                sleep_ms(20);
        }
        up += ws[i].client != NULL;
    }
    int status = 0;
    if (up != THREADS) {
        fprintf(stderr, "bench_rpc: orchestrad did not start\n");
        status = 1;
        goto out;
    }

    double echo1 = run(echo_worker, ws, 1);
    double rpc1 = run(rpc_worker, ws, 1);
    double echo8 = run(echo_worker, ws, THREADS);
    double rpc8 = run(rpc_worker, ws, THREADS);
    int failures = 0;
    for (int i = 0; i < THREADS; i++)
        failures += ws[i].failures;

    printf("rpc.echo.1_client %.0f calls/s (baseline)\n", echo1);
    printf("rpc.list_workflows_signed.1_client %.0f calls/s ratio %.2f\n", rpc1, rpc1 / echo1);
    printf("rpc.echo.%d_clients %.0f calls/s (baseline)\n", THREADS, echo8);
    printf("rpc.list_workflows_signed.%d_clients %.0f calls/s ratio %.2f\n", THREADS, rpc8,
           rpc8 / echo8);
    if (failures) {
        fprintf(stderr, "bench_rpc: %d calls failed\n", failures);
        status = 1;
    }

out:
    for (int i = 0; i < THREADS; i++)
        orc_client_destroy(ws[i].client);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    nng_close(rep);
    for (int i = 0; i < THREADS; i++)
        nng_aio_free(ectx[i].aio);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_rpc: could not remove %s\n", dir);
    return status;
}
