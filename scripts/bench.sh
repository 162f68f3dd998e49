#!/bin/sh
# make bench: run every benchmark built in bench/, one result line per figure.
set -eu
build=${1:-build}
status=0
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    ORC_ORCHESTRAD="$build/server/orchestrad" "$b" || status=1
done
exit $status
