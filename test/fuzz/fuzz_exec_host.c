/*
 * fuzz_exec_host.c: what a plugin host reads (plugins/executor/host.h): the input is the
 * byte stream on the host's stdin, any number of frames ('J': "<function>\0<job input>"),
 * run through the real host, orci_host_main, in this process. The host loads
 * fuzz_plugin.so (every kind of answer, nothing else touched), reads the frames, parses each
 * job input, calls the function and writes its replies; those are read back and checked to
 * be well-formed reply frames ('R' or 'L' with a {"status":...} object), and the host must
 * end with 0 (end of input) or 3 (a broken frame), never anything else.
 *
 * orci_host_main takes the process's stdin and stdout for itself (its protocol, then
 * /dev/null and stderr): each input gets files on descriptors 0 and 1 first. Stdout stays
 * pointed at stderr between inputs, where libFuzzer writes anyway.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "host.h"
#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* exec_file opens an anonymous file under /dev/shm (or /tmp): gone once closed. */
static int exec_file(void)
{
    char path[] = "/dev/shm/orc-fuzz-host-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        char alt[] = "/tmp/orc-fuzz-host-XXXXXX";
        memcpy(path, alt, sizeof alt);
        fd = mkstemp(path);
    }
    if (fd < 0) {
        perror("fuzz_exec_host: mkstemp");
        abort();
    }
    unlink(path);
    return fd;
}

/* exec_load fills fd with data from its start, and rewinds it. */
static void exec_load(int fd, const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size) ||
        lseek(fd, 0, SEEK_SET) != 0)
        abort();
}

/* exec_check_replies reads the host's replies back from fd: each a well-formed frame. */
static void exec_check_replies(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        abort();
    char *buf = malloc((size_t)end + 1);
    if (!buf || pread(fd, buf, (size_t)end, 0) != end)
        abort();
    size_t off = 0, total = (size_t)end;
    while (off < total) {
        if (total - off < ORCI_FRAME_HEADER)
            abort(); /* a cut header */
        const unsigned char *h = (const unsigned char *)buf + off;
        size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | (size_t)h[3];
        if ((h[4] != 'R' && h[4] != 'L') || n > total - off - ORCI_FRAME_HEADER)
            abort();
        json_t *r = json_loadb(buf + off + ORCI_FRAME_HEADER, n, 0, NULL);
        const char *status = json_string_value(json_object_get(r, "status"));
        if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "fail") != 0))
            abort();
        json_decref(r);
        off += ORCI_FRAME_HEADER + n;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int in_fd = -1, out_fd = -1;
    if (in_fd < 0) {
        in_fd = exec_file();
        out_fd = exec_file();
        /* Held open for the process: the host's dlclose must not unmap the plugin, whose
         * coverage counters libFuzzer keeps using. */
        if (!dlopen(ORC_FUZZ_PLUGIN, RTLD_NOW | RTLD_LOCAL)) {
            fprintf(stderr, "fuzz_exec_host: %s\n", dlerror());
            abort();
        }
    }
    exec_load(in_fd, data, size);
    exec_load(out_fd, NULL, 0);
    if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
        abort();
    char *argv[] = {"orchestra-executor",
                    ORCI_HOST_FLAG,
                    "/nonexistent-storage",
                    "error",
                    "0",
                    ORC_FUZZ_PLUGIN,
                    NULL};
    int rc = orci_host_main(6, argv);
    if (rc != 0 && rc != 3)
        abort();
    exec_check_replies(out_fd);
    return 0;
}
