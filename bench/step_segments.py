#!/usr/bin/python3
"""step_segments.py: the time of each segment of a machine step, from the event lines
bench/profile_chain.sh's `segments` mode records with bpftrace ("<ns> <tid> <event>").

A step runs from one CompleteJob the executor sends to the next; in between, in order: the
request reaches orchestrad's nng callback (rpc_ctx_cb), its transaction starts (run_batch),
COMMIT starts and ends, the WAL's fdatasync starts and ends, the reply is sent (rpc_finish_locked), the
executor has it, runs the next job (orci_job_run) on its plugin host (orci_host_run). Steps
whose events are not exactly that sequence (a batch of several requests, a poll in between)
are left out (the callback of a reply's send, also rpc_ctx_cb, is not counted). Prints, per segment, the p50 and mean in microseconds over the steps kept.

    step_segments.py EVENTS_FILE
"""
import collections
import sys

SEQUENCE = ["E_complete", "rpc_ctx_cb", "run_batch", "commit", "commit_ret", "sync",
            "sync_ret", "rpc_finish_locked", "rpc_finish_locked_ret", "E_complete_ret", "E_run", "E_host",
            "E_host_ret", "E_complete"]
LABELS = {
    "E_complete": "executor sends CompleteJob -> orchestrad's nng callback",
    "rpc_ctx_cb": "nng callback -> transaction starts",
    "run_batch": "transaction (SQL)",
    "commit": "COMMIT (WAL frames)",
    "commit_ret": "COMMIT -> fdatasync",
    "sync": "fdatasync",
    "sync_ret": "sync -> reply",
    "rpc_finish_locked": "reply sent (nng_ctx_send)",
    "rpc_finish_locked_ret": "reply -> the executor has it",
    "E_complete_ret": "executor: report logged -> next job runs",
    "E_run": "executor: job input -> plugin host call",
    "E_host": "plugin host round trip",
    "E_host_ret": "executor: output -> next CompleteJob",
}


def steps(events):
    """Yields the event lists of whole steps, each from one E_complete to the next."""
    current = None
    for t, name in events:
        if name == "E_complete":
            if current is not None:
                yield current + [(t, name)]
            current = [(t, name)]
        elif current is not None:
            # rpc_ctx_cb also runs when the reply's send completes: the first is the request's.
            if name == "rpc_ctx_cb" and any(n == name for _, n in current):
                continue
            current.append((t, name))


def main():
    events = []
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit():
                events.append((int(parts[0]), parts[2]))
    events.sort()
    gaps = collections.defaultdict(list)
    kept = 0
    for step in steps(events):
        if [name for _, name in step] != SEQUENCE:
            continue
        kept += 1
        for (t0, name), (t1, _) in zip(step, step[1:]):
            gaps[name].append((t1 - t0) / 1000)
        gaps["total"].append((step[-1][0] - step[0][0]) / 1000)
    if kept == 0:
        print("no whole step found")
        return 1
    print(f"segments of {kept} steps (us; p50, mean):")
    for name in SEQUENCE[:-1] + ["total"]:
        v = sorted(gaps[name])
        label = LABELS.get(name, name)
        print(f"  {label:<58} {v[len(v) // 2]:8.1f} {sum(v) / len(v):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
