/*
 * fuzz_rpc_body.c: the body of one chosen method, in a valid signed envelope, through
 * orci_dispatch on the fixture's store (fuzz_server.h). Past authentication every input
 * reaches the body decoder, its UTF-8 checks and the handler: JSON fields (project data,
 * task data, workflow bundles), ids, enum-like strings.
 *
 * Input: the method name, a NUL, one byte saying who calls ('a' admin key, 'p' project key,
 * 'e' executor key, 'w' the worker's session, anything else nobody), then the body bytes.
 * An unknown method name is skipped. Each input gets a fresh request id, so mutating
 * methods run instead of answering from the stored replies.
 *
 * An INTERNAL reply is a crash too: whatever a caller sends must get a clear error, and an
 * internal one means a check failed or the state is broken (an import that broke a task was
 * found this way, from the log, before this check).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dispatch.h"
#include "fuzz_server.h"
#include "proto/envelope.pb-c.h"
#include "proto/orchestra.pb-c.h"

#define BODY_METHOD_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* body_method returns the service's method named by the input's prefix, or NULL. */
static const char *body_method(const uint8_t *data, size_t size, size_t *used)
{
    const uint8_t *nul = memchr(data, '\0', size < BODY_METHOD_MAX ? size : BODY_METHOD_MAX);
    if (!nul)
        return NULL;
    size_t n = (size_t)(nul - data);
    const ProtobufCServiceDescriptor *sd = &orchestra__v1__orchestra__descriptor;
    /* Compared here (instrumented) rather than in libprotobuf-c, so the fuzzer learns names. */
    for (unsigned i = 0; i < sd->n_methods; i++) {
        const char *name = sd->methods[i].name;
        if (strlen(name) == n && memcmp(name, data, n) == 0) {
            *used = n + 1;
            return name;
        }
    }
    return NULL;
}

/* body_check_reply aborts on a reply that does not decode or says INTERNAL. */
static void body_check_reply(const char *method, const uint8_t *reply, size_t len)
{
    Orchestra__V1__Reply *r = orchestra__v1__reply__unpack(NULL, len, reply);
    if (!r)
        abort();
    if (r->status == ORCHESTRA__V1__CODE__INTERNAL) {
        fprintf(stderr, "fuzz_rpc_body: %s answered INTERNAL: %s\n", method, r->message);
        abort();
    }
    orchestra__v1__reply__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long long counter;
    size_t used = 0;
    const char *method = body_method(data, size, &used);
    if (!method || used >= size)
        return 0;
    fuzz_who who = fuzz_who_from_char(data[used]);
    used++;
    fuzz_server *fs = fuzz_server_get();
    fuzz_server_next_input(fs);
    char rid[32];
    snprintf(rid, sizeof rid, "fz-%llu", ++counter);
    uint8_t *env = NULL, *reply = NULL;
    size_t env_len = 0, reply_len = 0;
    if (fuzz_server_envelope(method, who, rid, data + used, size - used, &env, &env_len) != 0)
        abort();
    if (orci_dispatch(&fs->srv, fs->rdb, env, env_len, &reply, &reply_len) != ORC_OK || !reply)
        abort();
    body_check_reply(method, reply, reply_len);
    free(reply);
    free(env);
    if (strcmp(method, "Logout") == 0)
        fuzz_server_restore_session(fs);
    return 0;
}
