/*
 * fuzz_stub.c: the stand-in plugin host's loop (fuzz_stub.h).
 */
#include "fuzz_stub.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STUB_HEADER 5
#define STUB_MAX (16u << 20)

/* stub_io reads or writes n bytes: 0, -1 at the end of the input or an error, -2 stopped. */
static int stub_io(int fd, unsigned char *buf, size_t n, bool writing, int stop_fd)
{
    while (n > 0) {
        if (stop_fd >= 0) {
            /* Waits for fd or the stop, so a "killed" thread never hangs in read or write. */
            struct pollfd pfd[2] = {{.fd = stop_fd, .events = POLLIN},
                                    {.fd = fd, .events = writing ? POLLOUT : POLLIN}};
            if (poll(pfd, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            if (pfd[0].revents)
                return -2;
            if (!pfd[1].revents)
                continue;
        }
        ssize_t r = writing ? write(fd, buf, n) : read(fd, buf, n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
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

/* stub_one serves one call: 1 to go on, else what fuzz_stub_serve returns. */
static int stub_one(int in_fd, int out_fd, int stop_fd)
{
    unsigned char h[STUB_HEADER];
    int rc = stub_io(in_fd, h, sizeof h, false, stop_fd);
    if (rc != 0)
        return rc == -2 ? -1 : 0; /* the end of the input: the executor let the host go */
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
    if (h[4] != 'J' || n > STUB_MAX)
        return 3;
    unsigned char *call = malloc(n + 1), *reply = malloc(n / 2 + 1);
    rc = !call || !reply ? -1 : stub_io(in_fd, call, n, false, stop_fd);
    size_t r = rc == 0 ? stub_reply(call, n, reply) : 0;
    if (rc == 0 && r)
        rc = stub_io(out_fd, reply, r, true, stop_fd);
    bool one_r_frame = r >= STUB_HEADER && reply[4] == 'R' &&
                       ((size_t)reply[0] << 24 | (size_t)reply[1] << 16 | (size_t)reply[2] << 8 |
                        reply[3]) == r - STUB_HEADER;
    free(call);
    free(reply);
    if (rc != 0)
        return rc == -2 ? -1 : 3;
    return one_r_frame ? 1 : 0;
}

int fuzz_stub_serve(int in_fd, int out_fd, int stop_fd)
{
    int rc;
    while ((rc = stub_one(in_fd, out_fd, stop_fd)) == 1)
        ;
    return rc;
}
