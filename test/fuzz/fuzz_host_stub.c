/*
 * fuzz_host_stub.c: the stand-in plugin host of fuzz_exec_reply.c as a program of its own
 * (fuzz_stub.h), for ORC_FUZZ_HOST_PROCESS=1 runs, where each host is a real process as in
 * the executor. Plain C and no sanitizer (a host starts often); the executor's side is what
 * is fuzzed.
 */
#include <unistd.h>

#include "fuzz_stub.h"

int main(void)
{
    return fuzz_stub_serve(STDIN_FILENO, STDOUT_FILENO, -1);
}
