#!/bin/sh
# make bench: run every benchmark built in bench/, one result line per figure.
# The binaries they start are this build's; set ORC_BENCH_HANDOUT_1M=1 for bench_handout's
# 1M-task level (minutes more, a few GB of scratch database).
set -eu
build=$(cd "${1:-build}" && pwd) # absolute: the benchmarks run daemons in other folders
status=0
export ORC_ORCHESTRAD="$build/server/orchestrad"
export ORC_EXECUTOR="$build/plugins/orchestra-executor"
export ORC_HTTP="$build/server/orchestra-http"
export ORC_NOTIFY="$build/server/orchestra-notify"
export ORC_BENCH_NOOP_PLUGIN="$build/plugins/bench_lib/test_plugin_noop.so"
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || status=1
done
exit $status
