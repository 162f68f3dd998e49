/*
 * fuzz_host_stub.c: a stand-in plugin host for fuzz_exec_reply.c. It speaks the host's side
 * of the frame protocol (plugins/executor/host.h) with no plugin behind it: for each call
 * frame it reads, it writes back, as its whole reply, the bytes given in the call's job input
 * ({"project_data":{"reply":"<hex>"},...}). It goes on serving after a reply that is exactly
 * one 'R' frame, the only reply after which the executor keeps a host; after anything else it
 * exits, as the executor replaces the host then anyway (and waits for it to end after 'M').
 * Plain C and no sanitizer (a host starts often); the executor's side is what is fuzzed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STUB_HEADER 5
#define STUB_MAX (16u << 20)

static int stub_io(int fd, unsigned char *buf, size_t n, bool writing)
{
    while (n > 0) {
        ssize_t r = writing ? write(fd, buf, n) : read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

static int stub_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* stub_reply decodes the hex after "reply":" in the call into out; returns its length. */
static size_t stub_reply(const unsigned char *call, size_t len, unsigned char *out)
{
    static const char key[] = "\"reply\":\"";
    size_t k = sizeof key - 1, n = 0;
    for (size_t i = 0; i + k <= len; i++) {
        if (memcmp(call + i, key, k) != 0)
            continue;
        for (i += k; i + 1 < len; i += 2) {
            int hi = stub_hex(call[i]), lo = stub_hex(call[i + 1]);
            if (hi < 0 || lo < 0)
                break;
            out[n++] = (unsigned char)(hi << 4 | lo);
        }
        break;
    }
    return n;
}

int main(void)
{
    unsigned char h[STUB_HEADER];
    for (;;) {
        if (stub_io(STDIN_FILENO, h, sizeof h, false) != 0)
            return 0; /* the end of the input: the executor let the host go */
        size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
        if (h[4] != 'J' || n > STUB_MAX)
            return 3;
        unsigned char *call = malloc(n + 1), *reply = malloc(n / 2 + 1);
        if (!call || !reply || stub_io(STDIN_FILENO, call, n, false) != 0)
            return 3;
        size_t r = stub_reply(call, n, reply);
        int rc = r && stub_io(STDOUT_FILENO, reply, r, true) != 0 ? 3 : 0;
        bool one_r_frame = r >= STUB_HEADER && reply[4] == 'R' &&
                           ((size_t)reply[0] << 24 | (size_t)reply[1] << 16 |
                            (size_t)reply[2] << 8 | reply[3]) == r - STUB_HEADER;
        free(call);
        free(reply);
        if (rc != 0 || !one_r_frame)
            return rc;
    }
}
