/*
 * test_notify_sign.c: a webhook delivery (server/notify/webhook.c): the Orchestra-Signature
 * value against HMAC-SHA256 vectors computed apart (Python's hmac), and the POST as a small
 * HTTP server on loopback sees it: the body as given, the seq and signature headers, no
 * "Expect: 100-continue"; a 2xx is delivered, a 500 and a redirect (never followed) are
 * failures to retry, a refused connection too, and a stop flag abandons a request in flight.
 */
#define _GNU_SOURCE /* strcasestr */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "support.h"
#include "webhook.h"

static void test_signature_matches_independent_vectors(void **state)
{
    (void)state;
    const char body[] = "{\"seq\":1,\"type\":\"x\"}";
    char sig[ORCI_WEBHOOK_SIGNATURE_MAX];
    assert_true(orci_webhook_signature("whsec_test", 1700000000, body, strlen(body), sig));
    assert_string_equal(
        sig, "t=1700000000,v1=1d6f8d75bdf2856dd749dd8b23ffad619833b31beade022cb9f85f3c81391e97");
    /* the timestamp is signed too: another t, another MAC */
    assert_true(orci_webhook_signature("whsec_test", 1700000001, body, strlen(body), sig));
    assert_string_equal(
        sig, "t=1700000001,v1=25ea1fd6a6132ccb857d92aaf3e4370bb5158d462f78ddf3982256ea9f435c98");
    assert_true(orci_webhook_signature("k", 0, "", 0, sig));
    assert_string_equal(sig,
                        "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
}

/* ---- a one-request HTTP server -------------------------------------------------------------- */

typedef struct server {
    int fd;
    int port;
    const char *answer; /* the whole response to send */
    int stall_ms;       /* wait this long before answering */
    char request[8192];
    size_t len;
} server;

static void *serve(void *arg)
{
    server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    /* read the head, then Content-Length bytes of body */
    size_t want = 0;
    for (;;) {
        ssize_t n = read(c, s->request + s->len, sizeof s->request - 1 - s->len);
        if (n <= 0)
            break;
        s->len += (size_t)n;
        s->request[s->len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(s->request, "Content-Length:");
        want = (size_t)(end + 4 - s->request) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        if (s->len >= want)
            break;
    }
    if (s->stall_ms)
        orc_test_sleep_ms(s->stall_ms);
    if (write(c, s->answer, strlen(s->answer)) < 0)
        perror("write");
    close(c);
    return NULL;
}

static void server_start(server *s, pthread_t *th)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &l), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->fd, 4), 0);
    assert_int_equal(pthread_create(th, NULL, serve, s), 0);
}

/* post delivers one body to the server and returns the outcome (server thread joined). */
static orci_sent post(server *s, const atomic_bool *stop, int *status, char *why)
{
    pthread_t th;
    server_start(s, &th);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook?x=1", s->port);
    orci_webhook_opts o = {.url = url, .timeout_ms = 10000, .stop = stop};
    orci_webhook_client *w = NULL;
    orc_error err = {0};
    assert_int_equal(orci_webhook_client_new(&o, &w, &err), ORC_OK);
    char body[3000];
    memset(body, 'x', sizeof body - 1);
    memcpy(body, "{\"seq\":7,\"pad\":\"", 16);
    strcpy(body + sizeof body - 3, "\"}");
    orci_sent r =
        orci_webhook_post(w, "whsec_test", 7, body, strlen(body), 1700000000, status, why, 256);
    orci_webhook_client_free(w);
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(th, NULL);
    close(s->fd);
    return r;
}

static void test_a_2xx_is_delivered_with_the_headers(void **state)
{
    (void)state;
    server s = {.answer = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"};
    int status = 0;
    char why[256];
    assert_int_equal(post(&s, NULL, &status, why), ORCI_SENT_OK);
    assert_int_equal(status, 204);
    assert_non_null(strstr(s.request, "POST /hook?x=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s.request, "Orchestra-Event-Seq: 7\r\n"));
    assert_non_null(strstr(s.request, "Orchestra-Signature: t=1700000000,v1="));
    assert_null(strcasestr(s.request, "Expect:"));
    assert_non_null(strstr(s.request, "\r\n\r\n{\"seq\":7,\"pad\":\"xxx"));
}

static void test_a_500_and_a_redirect_are_failures_to_retry(void **state)
{
    (void)state;
    server s = {.answer = "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"};
    int status = 0;
    char why[256];
    assert_int_equal(post(&s, NULL, &status, why), ORCI_SENT_RETRY);
    assert_int_equal(status, 500);
    assert_string_equal(why, "HTTP 500");
    server r = {.answer = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n"
                          "Content-Length: 0\r\n\r\n"};
    assert_int_equal(post(&r, NULL, &status, why), ORCI_SENT_RETRY);
    assert_int_equal(status, 302);
}

static void test_a_refused_connection_is_a_failure_to_retry(void **state)
{
    (void)state;
    int port = orc_test_free_port();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    orci_webhook_opts o = {.url = url, .timeout_ms = 2000};
    orci_webhook_client *w = NULL;
    orc_error err = {0};
    assert_int_equal(orci_webhook_client_new(&o, &w, &err), ORC_OK);
    int status = -1;
    char why[256];
    assert_int_equal(orci_webhook_post(w, "s", 1, "{}", 2, 1, &status, why, sizeof why),
                     ORCI_SENT_RETRY);
    assert_int_equal(status, 0);
    assert_true(strlen(why) > 0);
    orci_webhook_client_free(w);
}

static void test_a_stop_abandons_a_request_in_flight(void **state)
{
    (void)state;
    atomic_bool stop;
    atomic_init(&stop, true);
    server s = {.answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", .stall_ms = 3000};
    int status = 0;
    char why[256];
    int64_t t0 = orc_test_now_ms();
    assert_int_equal(post(&s, &stop, &status, why), ORCI_SENT_ABORTED);
    assert_true(orc_test_now_ms() - t0 < 10000);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the server may write to a connection curl gave up */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_matches_independent_vectors),
        cmocka_unit_test(test_a_2xx_is_delivered_with_the_headers),
        cmocka_unit_test(test_a_500_and_a_redirect_are_failures_to_retry),
        cmocka_unit_test(test_a_refused_connection_is_a_failure_to_retry),
        cmocka_unit_test(test_a_stop_abandons_a_request_in_flight),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
