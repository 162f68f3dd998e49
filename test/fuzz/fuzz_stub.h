/*
 * fuzz_stub.h: the host's side of the frame protocol (plugins/executor/host.h) as
 * fuzz_exec_reply.c needs it: a stand-in plugin host with no plugin behind it. For each call
 * frame it reads, it writes back, as its whole reply, the bytes given in the call's job input
 * ({"project_data":{"reply":"<hex>"},...}). It goes on serving after a reply that is exactly
 * one 'R' frame, the only reply after which the executor keeps a host; after anything else it
 * ends, as the executor replaces the host then anyway (and waits for it to end after 'M').
 *
 * The same loop runs as the program fuzz_host_stub (a real process, ORC_FUZZ_HOST_PROCESS=1)
 * and, by default, as a thread of the fuzz process behind fuzz_exec_reply.c's stand-in for
 * orci_proc_spawn: the executor's pump, frame and replacement code is the same either way, the
 * thread only saves the fork + exec of a process per replaced host.
 */
#ifndef FUZZ_STUB_H
#define FUZZ_STUB_H

/*
 * fuzz_stub_serve serves calls read from in_fd with replies written to out_fd until the end
 * of its input (returns 0), a reply that is not one 'R' frame (0), a broken call frame or a
 * failed write (3), or, when stop_fd >= 0, until stop_fd becomes readable (returns -1: the
 * stand-in for SIGKILL). With stop_fd >= 0, in_fd and out_fd must be non-blocking.
 */
int fuzz_stub_serve(int in_fd, int out_fd, int stop_fd);

#endif
