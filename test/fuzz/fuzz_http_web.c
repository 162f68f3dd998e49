/*
 * fuzz_http_web.c: the web app's side of orchestra-http (server/http/web.h) on a fuzzed
 * request (fuzz_http_input.h): routing, cookies, the CSRF and origin checks, form and query
 * decoding, JSON bodies, the account pages' templates and the embedded files. There is no
 * coordinator (the shared client is NULL), so every RPC fails like an unreachable one and its
 * error path runs too. Invariants the server relies on are checked, so a violation crashes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_http_input.h"
#include "sse.h"
#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const orci_web_response *res)
{
    if (res->status < 100 || res->status > 599 || !res->content_type)
        abort();
    if (!res->stream && (!res->body || strlen(res->body) > res->body_len))
        abort();
    if (res->stream) /* a stream needs a coordinator: never opened here */
        abort();
    bool csp = false;
    for (size_t i = 0; i < res->n_headers; i++) {
        const char *v = res->headers[i].value;
        if (!res->headers[i].name || !v || strchr(v, '\r') || strchr(v, '\n'))
            abort(); /* a header must never be split by what the request held */
        csp = csp || strcasecmp(res->headers[i].name, "Content-Security-Policy") == 0;
        if (strcasecmp(res->headers[i].name, "Location") == 0 && v[0] != '/')
            abort(); /* redirects stay on this server */
    }
    if (!csp)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_input in;
    if (fuzz_http_input_parse(data, size, &in) != 0)
        return 0;
    const char *q = strchr(in.target, '?');
    orci_web_config cfg = {.client = NULL, .max_streams = 1, .date_window_s = 300};
    orci_web_request req = {.method = in.method,
                            .path = in.path,
                            .query = q ? q + 1 : "",
                            .target = in.target,
                            .header = fuzz_http_header,
                            .header_arg = &in,
                            .body = in.body,
                            .body_len = in.body_len,
                            .client_address = "127.0.0.1",
                            .connection_fd = -1,
                            .tls = size > 0 && (data[0] & 1)};
    if (orci_web_path(req.path)) {
        orci_web_response res;
        orci_web_handle(&cfg, &req, &res);
        check_response(&res);
        orci_web_response_fini(&res);
    }
    fuzz_http_input_fini(&in);
    return 0;
}
