/*
 * fuzz_http_input.h: the HTTP request text that fuzz_httpsig and fuzz_http_legacy read.
 *
 *   METHOD TARGET            request line (target: path?query as sent)
 *   Name: value              any number of header lines (up to FUZZ_HTTP_HEADERS_MAX)
 *                            an empty line
 *   body                     every remaining byte
 *
 * Lines end with "\n" (a "\r" before it is dropped), so corpora are plain text and curl or
 * python-httpsig requests paste in as they are. Header lookup ignores case and returns the
 * first match, as libmicrohttpd does.
 */
#ifndef ORC_FUZZ_HTTP_INPUT_H
#define ORC_FUZZ_HTTP_INPUT_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_HTTP_HEADERS_MAX 32

typedef struct fuzz_http_input {
    char *buf; /* owned copy of the input, cut into the strings below */
    const char *method;
    const char *target;
    char *path; /* owned: target up to '?' */
    const char *names[FUZZ_HTTP_HEADERS_MAX];
    const char *values[FUZZ_HTTP_HEADERS_MAX];
    size_t n_headers;
    const char *body;
    size_t body_len;
} fuzz_http_input;

/* fuzz_http_input_parse splits data into in. Returns 0, or -1 when out of memory. */
int fuzz_http_input_parse(const uint8_t *data, size_t size, fuzz_http_input *in);

/* fuzz_http_input_fini releases what parse allocated. */
void fuzz_http_input_fini(fuzz_http_input *in);

/* fuzz_http_header is an orci_httpsig_header_fn over a fuzz_http_input. */
const char *fuzz_http_header(void *arg, const char *name);

#endif
