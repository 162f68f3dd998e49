#!/bin/sh
# make demo: start orchestrad on a fresh database, load the example workflows and their sample
# data, list them, and stop everything this script started.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
orchestrad="$build/server/orchestrad"
orchestra="$build/client/orchestra"
data=$(mktemp -d "${TMPDIR:-/tmp}/orchestra-demo-XXXXXX")
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rpc="tcp://127.0.0.1:$(free_port)"
events="tcp://127.0.0.1:$(free_port)"

say() { printf '\n== %s\n' "$*"; }

say "starting orchestrad (database $data/orchestra.db)"
"$orchestrad" --dev --db "$data/orchestra.db" --rpc "$rpc" --events "$events" \
    >"$data/orchestrad.log" 2>&1 &
pid=$!
export ORCHESTRA_RPC="$rpc" ORCHESTRA_API_KEY=orchestra-user ORCHESTRA_API_SECRET=CHANGEME
tries=0
until "$orchestra" health >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "orchestrad did not start:" >&2
        cat "$data/orchestrad.log" >&2
        exit 1
    fi
    sleep 0.1
done
"$orchestra" server-info

say "loading the example workflows"
"$orchestra" workflow load "$top/plugins/simple_workflow" v1
"$orchestra" workflow load "$top/plugins/journalism_workflow" v1

say "loading their sample data (users, workers, certifications)"
"$orchestra" workflow sample-data simple_workflow/v1
"$orchestra" workflow sample-data journalism/v1

say "workflows"
"$orchestra" workflow list

say "workflow_types (orchestra --json workflow list)"
"$orchestra" --json workflow list
echo

say "stopping orchestrad"
kill -TERM "$pid"
wait "$pid"
pid=""
grep -E 'INFO|WARN|ERROR' "$data/orchestrad.log" | sed 's/^/  log: /'
echo "demo finished"
