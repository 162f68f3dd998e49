#!/bin/sh
# failover.sh BUILD [RUNS]: the standby coordinators' failover time on PostgreSQL (issue 19).
# Runs test_failover RUNS times (default 20) against one throw-away cluster, each run a SIGKILL
# of the active coordinator in the middle of creates, assignments and machine steps; prints
# each run's time from the SIGKILL to the first successful call through the URL list, then
# p50 and max. Exits 1 when a run fails (the test's checks: nothing acknowledged lost, every
# machine step once, no event gap) - so it also is "the failover test 20 times in a row".
set -eu
build=$(cd "${1:?usage: failover.sh BUILD [RUNS]}" && pwd)
runs=${2:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
cluster=$(mktemp -d /tmp/orc-failover-XXXXXX)
trap 'sh "$src/test/support/pg_cluster.sh" remove "$cluster" >/dev/null 2>&1 || true' EXIT
sh "$src/test/support/pg_cluster.sh" fresh "$cluster" >/dev/null
export ORC_TEST_STORE=postgres ORC_TEST_PG_DIR="$cluster" ORC_SOURCE_DIR="$src" \
    ORC_BUILD_DIR="$build" ORC_PG_TEMPLATE="$build/pg-template" \
    ORC_ORCHESTRAD="$build/server/orchestrad" ORC_CLI="$build/client/orchestra" \
    ORC_EXECUTOR="$build/plugins/orchestra-executor"
times=""
i=1
while [ "$i" -le "$runs" ]; do
    out=$("$build/test/test_failover" 2>&1) || {
        printf '%s\n' "$out" | tail -40
        echo "run $i of $runs FAILED" >&2
        exit 1
    }
    ms=$(printf '%s\n' "$out" | sed -n 's/^failover_ms=//p')
    [ -n "$ms" ] || { echo "run $i: no failover_ms (skipped?)" >&2; exit 1; }
    echo "run $i: failover ${ms} ms"
    times="$times $ms"
    i=$((i + 1))
done
printf '%s\n' $times | sort -n | awk '{ v[NR] = $1 } END {
    printf "failover over %d runs: p50 %d ms, max %d ms\n", NR, v[int((NR + 1) / 2)], v[NR] }'
