#!/bin/sh
# Runs the libFuzzer targets of a -DORC_FUZZ=ON build (test/fuzz/README.md):
#   scripts/fuzz.sh BUILD SECONDS [TARGET...]     (make fuzz FUZZ_SECONDS=... FUZZ_TARGETS=...)
# Each target runs SECONDS on its own working corpus, BUILD/fuzz/corpus/<target>, which it
# grows, with the checked-in seeds of test/fuzz/corpus/ read but never written. A crash, leak,
# timeout or sanitizer report stops that target and leaves its input in
# BUILD/fuzz/artifacts/<target>/ (crash-*, leak-*, timeout-*, oom-*); the full output is in
# BUILD/fuzz/logs/<target>.log. One summary line per target; exit 1 when any target failed.
# RUNS=N (make fuzz FUZZ_RUNS=N) stops each target after N inputs instead; SECONDS then only
# bounds the time (0: no bound), e.g. `RUNS=10000000 scripts/fuzz.sh build-fuzz 0 rpc_body`.
# FORK=N (make fuzz FUZZ_FORK=N) runs each target as N processes at once (libFuzzer's -fork:
# they share the working corpus; RUNS counts the inputs of all of them and is checked between
# their jobs, so a run stops a little after it), for the machine's cores.
# TIMEOUT=S (default 30) reports an input that runs longer than S seconds of wall time; raise
# it for a long run that may be paused (kill -STOP) while the machine does something else.
set -u
build=${1:?usage: fuzz.sh BUILD SECONDS [TARGET...]}
seconds=${2:?usage: fuzz.sh BUILD SECONDS [TARGET...]}
shift 2
runs=${RUNS:-}
fork=${FORK:-}
timeout=${TIMEOUT:-30}
case "$fork" in
    '' | *[!0-9]*) [ -z "$fork" ] || { echo "fuzz.sh: FORK must be a number" >&2; exit 2; } ;;
esac
case "$runs" in
    '' | *[!0-9]*) [ -z "$runs" ] || { echo "fuzz.sh: RUNS must be a number" >&2; exit 2; } ;;
esac
case "$timeout" in
    '' | *[!0-9]*) echo "fuzz.sh: TIMEOUT must be a number" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/.." && pwd)
list="$build/test/fuzz/targets.txt"
[ -f "$list" ] || { echo "fuzz.sh: $list missing: configure $build with -DORC_FUZZ=ON" >&2; exit 2; }
mkdir -p "$build/fuzz/logs"
failed=""
while read -r bin corpus dict; do
    [ -n "$bin" ] || continue
    name=${bin#fuzz_}
    if [ $# -gt 0 ]; then
        wanted=no
        for t in "$@"; do [ "$t" = "$name" ] || [ "$t" = "$bin" ] && wanted=yes; done
        [ "$wanted" = yes ] || continue
    fi
    work="$build/fuzz/corpus/$name"
    art="$build/fuzz/artifacts/$name"
    log="$build/fuzz/logs/$name.log"
    mkdir -p "$work" "$art"
    # -timeout: an input slower than this is reported (timeout-*); the slowest legitimate
    # inputs (a PBKDF2 login under ASan) take well under a second.
    "$build/test/fuzz/$bin" -max_total_time="$seconds" ${runs:+-runs="$runs"} \
        ${fork:+-fork="$fork"} -timeout="$timeout" \
        -print_final_stats=1 \
        -artifact_prefix="$art/" -dict="$src/test/fuzz/$dict.dict" \
        "$work" "$src/test/fuzz/corpus/$corpus" >"$log" 2>&1
    rc=$?
    # A -fork run prints no stat:: lines, only "#N: cov: C ft: F corp: U exec/s R" ones.
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    [ -n "$execs" ] || execs=$(printf '%s\n' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    [ -n "$rate" ] || rate=$(printf '%s\n' "$last" | sed -n 's/.*exec\/s:* \([0-9]*\).*/\1/p')
    cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    units=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    if [ $rc -eq 0 ]; then
        echo "fuzz $name: ok, ${execs:-?} runs, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${units:-?}"
    else
        echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} runs; input in $art/, log $log"
        grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written' "$log" | head -n 5 | sed 's/^/    /'
        failed="$failed $name"
    fi
done <"$list"
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
