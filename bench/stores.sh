#!/bin/sh
# stores.sh [BUILD]: bench_store, bench_chain and bench_handout on both stores in one run
# (issue 19): first on SQLite files as `make bench` runs them, then on a throw-away PostgreSQL
# 15 cluster on this machine (test/support/pg_cluster.sh: fsync and synchronous_commit on, its
# socket in a temporary folder), each benchmark's daemon on a new database of it.
# Figures print as each benchmark prints them, under "== NAME (sqlite)" and "== NAME (postgres)".
set -eu
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
export ORC_ORCHESTRAD="$build/server/orchestrad"
export ORC_EXECUTOR="$build/plugins/orchestra-executor"
export ORC_HTTP="$build/server/orchestra-http"
export ORC_NOTIFY="$build/server/orchestra-notify"
export ORC_BENCH_NOOP_PLUGIN="$build/plugins/bench_lib/test_plugin_noop.so"
benches="bench_store bench_chain bench_handout"
status=0
for b in $benches; do
    echo "== $b (sqlite)"
    "$build/bench/$b" || status=1
done
cluster=$(mktemp -d /tmp/orc-bench-pg-XXXXXX)
trap 'sh "$src/test/support/pg_cluster.sh" remove "$cluster" >/dev/null 2>&1 || true' EXIT
ORC_PG_TEMPLATE="$build/pg-template" sh "$src/test/support/pg_cluster.sh" fresh "$cluster" >/dev/null
export ORC_BENCH_PG_HOST="$cluster" ORC_BENCH_PG_PORT="$(cat "$cluster/port")"
for b in $benches; do
    echo "== $b (postgres)"
    "$build/bench/$b" || status=1
done
exit $status
