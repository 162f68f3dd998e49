/*
 * fuzz_rpc_envelope.c: raw bytes as a received RPC request, through orci_dispatch on the
 * fixture's store (fuzz_server.h): envelope decode, UTF-8 checks, method lookup, auth (key
 * signatures, session tokens, forwarded HTTP signatures), scopes, body decode and the
 * handler. The seeds (gen_seeds.c) are envelopes signed at the fixture's fixed time, so
 * mutations of their bodies and ids keep reaching past authentication when the fuzzer
 * keeps the signature intact, and probe it when it does not.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/dispatch.h"
#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* mentions tells whether data holds word (memmem is a GNU extension). */
static bool mentions(const uint8_t *data, size_t size, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, word, n) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_server *fs = fuzz_server_get();
    fuzz_server_next_input(fs);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    /* Any input gets a reply: only a failure to allocate one may return an error. */
    if (orci_dispatch(&fs->srv, fs->rdb, data, size, &reply, &reply_len) != ORC_OK)
        abort();
    if (!reply)
        abort();
    free(reply);
    /* A Logout may have ended the fixture's session: give it back for the next inputs. */
    if (mentions(data, size, "Logout"))
        fuzz_server_restore_session(fs);
    return 0;
}
