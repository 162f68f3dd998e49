/*
 * fuzz_httpsig.c: the shim's HTTP Signature code (server/http/httpsig.h) on a fuzzed
 * request (fuzz_http_input.h): the Authorization parser, the signing string built from the
 * listed headers, the Date parser and the Digest check. Invariants the rest of the shim
 * relies on are checked, so a violation crashes rather than passing silently.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_http_input.h"
#include "httpsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_params(const orci_httpsig_params *p)
{
    if (p->n_headers < 1 || p->n_headers > ORCI_HTTPSIG_MAX_HEADERS)
        abort();
    if (!p->signature[0] || memchr(p->signature, '\0', sizeof p->signature) == NULL)
        abort();
    for (size_t i = 0; i < p->n_headers; i++)
        if (!p->headers[i][0] || memchr(p->headers[i], '\0', sizeof p->headers[i]) == NULL)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_http_input in;
    if (fuzz_http_input_parse(data, size, &in) != 0)
        return 0;
    orci_httpsig_params p;
    orc_error err;
    orc_error_clear(&err);
    if (orci_httpsig_parse(fuzz_http_header(&in, "authorization"), &p, &err) == ORC_OK) {
        check_params(&p);
        char *s = NULL;
        if (orci_httpsig_signing_string(&p, in.method, in.target, fuzz_http_header, &in, &s,
                                        &err) == ORC_OK) {
            if (!s || strlen(s) >= ORCI_HTTPSIG_STRING_MAX)
                abort();
        } else if (s || err.code != ORC_UNAUTHENTICATED) {
            abort();
        }
        free(s);
    } else if (err.code != ORC_UNAUTHENTICATED) {
        abort();
    }
    int64_t when = 0;
    if (orci_httpsig_parse_date(fuzz_http_header(&in, "date"), &when) == 0 &&
        (when < -62167219200LL || when > 253402300800LL)) /* years 0000 to 9999 */
        abort();
    (void)orci_httpsig_digest_ok(fuzz_http_header(&in, "digest"), in.body, in.body_len);
    fuzz_http_input_fini(&in);
    return 0;
}
