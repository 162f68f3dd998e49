#!/bin/bash
# profile_chain.sh: run the machine-step chain of bench_chain (bench/workflows/chain, no-op
# plugin steps) under a profiler, for before/after comparisons that machine load does not
# blur. Not a benchmark (it prints no timings): it counts.
#
#   bench/profile_chain.sh BUILD MODE [PROJECTS] [EXECUTORS] [CONCURRENCY]
#
# BUILD is a build folder (or a folder holding orchestrad, orchestra-executor and
# test_plugin_noop.so, e.g. a copy of an older build). PROJECTS (default 20) chains of 10
# steps are created at once; EXECUTORS (default 1) executors at --concurrency CONCURRENCY
# (default 1) run them, so with the defaults every step is one CompleteJob and one commit of
# its own. MODE:
#   callgrind  orchestrad under valgrind --tool=callgrind (counters zeroed after start-up
#              and workflow loading, dumped once every project completed; one file per
#              thread); prints instructions per step, total and per thread
#   callgrind-exec  the same for the executor and its plugin host (--trace-children)
#   strace     strace -c -f on orchestrad (slows it a lot: contention grows)
#   syscalls   perf trace -s on orchestrad during the run: syscalls per step
#   perf       perf record -g on orchestrad during the run (report left in the folder);
#              ORC_PROF_EVENT picks the event (e.g. page-faults, syscalls:sys_enter_futex),
#              ORC_PROF_THREAD the threads by name (e.g. orc:writer, orc:rpc),
#              ORC_PROF_CALLGRAPH the --call-graph mode (default fp; dwarf unwinds libraries
#              built without frame pointers, like Debian's libsqlite3 and libc)
# ORC_PROF_TARGET=exec points perf, perfstat and syscalls at the executors and their plugin
# hosts instead of orchestrad.
#   perfstat   perf stat on orchestrad during the run
#   sched      perf sched record of the whole machine during the run: per thread of
#              orchestrad and the executors, run time per step and the mean delay between a
#              wake-up and running; the folder keeps sched.txt (perf sched timehist -w: every
#              switch and wake-up, to follow one step from thread to thread)
#   segments   bpftrace (Debian's bpftrace) on both processes: uprobes on the functions a
#              step goes through and the WAL's fdatasync; bench/step_segments.py then prints
#              the p50 and mean of each segment of a step (request to orchestrad, transaction,
#              COMMIT, sync, reply, the executor's share, the plugin host's round trip).
#              Tracing adds some us to each segment: compare builds with it, not with
#              bench_chain's figures
#   none       just the run (CPU per step from /proc, which load does not change much)
# The scratch folder (/tmp/orc-prof-*) is kept and printed; ORC_PROF_DIR chooses it.
# ORC_PROF_DB=FILE starts from a copy of that SQLite database (stopped cleanly, so without a
# WAL) instead of an empty one, e.g. one with a long history: the workflow is then loaded
# with --force. ORC_PROF_METRICS=HOST:PORT has orchestrad serve /metrics there; the folder then
# keeps metrics.0 and metrics.1, read before and after the run (the store's transaction,
# commit and sync histograms).
set -eu

build=${1:?usage: profile_chain.sh BUILD MODE [PROJECTS] [EXECUTORS] [CONCURRENCY]}
mode=${2:?mode: callgrind, callgrind-exec, strace, perf, perfstat, syscalls, sched, segments or none}
projects=${3:-20}
n_exec=${4:-1}
conc=${5:-1}
here=$(cd "$(dirname "$0")" && pwd)

find_bin() {
    for p in "$build/$1" "$build/server/$1" "$build/client/$1" "$build/plugins/$1" \
        "$build/plugins/bench_lib/$1"; do
        [ -e "$p" ] && { echo "$p"; return; }
    done
    echo "profile_chain: no $1 under $build" >&2
    exit 1
}
orchestrad=$(find_bin orchestrad)
executor=$(find_bin orchestra-executor)
noop=$(find_bin test_plugin_noop.so)
cli=${ORC_CLI:-$(find_bin orchestra)}

dir=${ORC_PROF_DIR:-$(mktemp -d /tmp/orc-prof-XXXXXX)}
mkdir -p "$dir/plugins" "$dir/storage"
ln -sf "$(readlink -f "$noop")" "$dir/plugins/test_plugin_noop.so"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rpc="tcp://127.0.0.1:$(port)"
events="tcp://127.0.0.1:$(port)"
export ORCHESTRA_API_KEY=orchestra-user ORCHESTRA_API_SECRET=CHANGEME
orc() { "$cli" --rpc "$rpc" --timeout 120000 "$@"; }

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

wrap=()
case $mode in
callgrind) wrap=(valgrind --tool=callgrind --separate-threads=yes
    --callgrind-out-file="$dir/callgrind.out.%p" --log-file="$dir/valgrind.log") ;;
strace) wrap=(strace -c -f -o "$dir/strace.txt") ;;
esac
load_force=()
if [ -n "${ORC_PROF_DB:-}" ]; then
    cp "$ORC_PROF_DB" "$dir/orchestra.db"
    load_force=(--force)
fi
metrics=()
[ -n "${ORC_PROF_METRICS:-}" ] && metrics=(--metrics-listen "$ORC_PROF_METRICS")
"${wrap[@]}" "$orchestrad" --dev --db "$dir/orchestra.db" --rpc "$rpc" --events "$events" \
    "${metrics[@]}" --log-level "${ORC_PROF_LOG_LEVEL:-warn}" >"$dir/orchestrad.log" 2>&1 &
dpid=$!
wpid=$dpid
pids+=("$dpid")
if [ "$mode" = strace ]; then
    # Signals and /proc figures are orchestrad's, not strace's.
    for _ in $(seq 100); do
        child=$(pgrep -P "$dpid" || true)
        [ -n "$child" ] && break
        sleep 0.05
    done
    dpid=$child
fi
for _ in $(seq 600); do
    orc health >/dev/null 2>&1 && break
    sleep 0.1
done
orc workflow load "$here/workflows/chain" v1 "${load_force[@]}" >/dev/null

ewrap=()
if [ "$mode" = callgrind-exec ]; then
    ewrap=(valgrind --tool=callgrind --trace-children=yes
        --callgrind-out-file="$dir/callgrind.exec.%p" --log-file="$dir/valgrind-exec.%p.log")
fi
for i in $(seq "$n_exec"); do
    "${ewrap[@]}" "$executor" --rpc "$rpc" --plugins "$dir/plugins" --storage "$dir/storage" \
        --concurrency "$conc" --log-level info >"$dir/executor-$i.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 600); do
        grep -q "plugins loaded" "$dir/executor-$i.log" 2>/dev/null && break
        sleep 0.1
    done
done
sleep 1

# The processes perf looks at: orchestrad, or with ORC_PROF_TARGET=exec the executors and
# their plugin hosts.
exec_tree() { # the executors and their plugin hosts, one pid a line
    for p in "${pids[@]:1}"; do echo "$p"; pgrep -P "$p" || true; done
}
target=$dpid
if [ "${ORC_PROF_TARGET:-}" = exec ]; then
    target=$(exec_tree | paste -sd,)
fi
case $mode in
callgrind) callgrind_control -z "$dpid" >/dev/null ;;
callgrind-exec) for p in $(pgrep -f "callgrind.exec" || true); do callgrind_control -z "$p" >/dev/null || true; done ;;
perf)
    who=(-p "$target")
    if [ -n "${ORC_PROF_THREAD:-}" ]; then # one thread, by name (e.g. orc:writer)
        tids=$(grep -l -x "$ORC_PROF_THREAD" /proc/"$dpid"/task/*/comm | cut -d/ -f5 | paste -sd,)
        who=(-t "$tids")
    fi
    perf record --call-graph "${ORC_PROF_CALLGRAPH:-fp}" ${ORC_PROF_EVENT:+-e "$ORC_PROF_EVENT"} \
        -o "$dir/perf.data" "${who[@]}" \
    >"$dir/perf.log" 2>&1 &
    perfpid=$! ;;
syscalls) perf trace -s -p "$target" -o "$dir/syscalls.txt" >/dev/null 2>&1 & perfpid=$! ;;
sched) perf sched record -o "$dir/sched.data" >"$dir/perf.log" 2>&1 & perfpid=$! ;;
segments)
    od=$(readlink -f "$orchestrad")
    ex=$(readlink -f "$executor")
    probe() { # probe KIND BINARY FUNCTION EVENT
        echo "$1:$2:$3 { printf(\"%lld %d $4\\n\", nsecs, tid); }"
    }
    {
        for f in rpc_ctx_cb run_batch commit rpc_finish_locked; do probe uprobe "$od" "$f" "$f"; done
        for f in commit rpc_finish_locked; do probe uretprobe "$od" "$f" "${f}_ret"; done
        probe uprobe "$ex" orc_job_complete E_complete
        probe uretprobe "$ex" orc_job_complete E_complete_ret
        probe uprobe "$ex" orci_job_run E_run
        probe uprobe "$ex" orci_host_run E_host
        probe uretprobe "$ex" orci_host_run E_host_ret
        w="pid == $dpid" # the writer, the syncer, or the thread serving a lone request
        for e in enter:sync exit:sync_ret; do
            echo "tracepoint:syscalls:sys_${e%%:*}_fdatasync /$w/ { printf(\"%lld %d ${e#*:}\\n\", nsecs, tid); }"
        done
    } >"$dir/segments.bt"
    bpftrace "$dir/segments.bt" >"$dir/segments.txt" 2>"$dir/bpftrace.log" &
    perfpid=$!
    for _ in $(seq 100); do grep -q Attaching "$dir/segments.txt" 2>/dev/null && break; sleep 0.1; done
    ;;
perfstat) perf stat -p "$target" -o "$dir/perfstat.txt" -e task-clock,context-switches,cpu-migrations,page-faults >/dev/null 2>&1 & perfpid=$! ;;
esac
case $mode in perf | perfstat | syscalls | sched | segments) sleep 1 ;; esac # perf attaches
cpu_of() { awk '{print $14+$15}' "/proc/$1/stat"; }
tree_cpu() { # ticks of a process and its live children
    local sum=0
    for p in $1 $(pgrep -P "$1" || true); do sum=$((sum + $(cpu_of "$p"))); done
    echo "$sum"
}
# Per thread of orchestrad: name, CPU ticks, voluntary and involuntary context switches.
threads() {
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s %s %s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm")" \
            "$(awk '{print $14+$15}' "$t/stat")" \
            "$(awk '/^voluntary_ctxt/{print $2}' "$t/status")" \
            "$(awk '/^nonvoluntary_ctxt/{print $2}' "$t/status")"
    done 2>/dev/null
}
[ "$mode" = none ] && threads "$dpid" >"$dir/threads.0"
scrape() { [ -z "${ORC_PROF_METRICS:-}" ] || curl -s "http://$ORC_PROF_METRICS/metrics" >"$dir/$1"; }
scrape metrics.0
d0=$(cpu_of "$dpid")
e0=0; for p in "${pids[@]:1}"; do e0=$((e0 + $(tree_cpu "$p"))); done
start=$(date +%s.%N)

for i in $(seq "$projects"); do
    orc project create --workflow bench_chain --version v1 --description prof --priority 1 >/dev/null
done
# Completions are counted in the executors' logs, so that waiting costs orchestrad nothing;
# the last report reaches orchestrad just after its line is written.
while :; do
    done_n=$(cat "$dir"/executor-*.log | grep -c " completed in " || true)
    [ "$done_n" -ge $((projects * 10)) ] && break
    sleep 0.5
done
sleep 1
end=$(date +%s.%N)
scrape metrics.1
d1=$(cpu_of "$dpid")
e1=0; for p in "${pids[@]:1}"; do e1=$((e1 + $(tree_cpu "$p"))); done
steps=$((projects * 10))
hz=$(getconf CLK_TCK)
if [ "$mode" = none ]; then
    threads "$dpid" >"$dir/threads.1"
    echo "orchestrad threads: cpu_us/step voluntary/step involuntary/step"
    join <(sort "$dir/threads.0") <(sort "$dir/threads.1") | awk -v s="$steps" -v hz="$hz" '
        { c = ($7 - $3) * 1000000 / hz / s; v = ($8 - $4) / s; n = ($9 - $5) / s
          tc += c; tv += v; tn += n
          if (c > 0 || v > 0.05) printf "  %-8s %-16s %7.0f %7.2f %7.2f\n", $1, $2, c, v, n }
        END { printf "  %-25s %7.0f %7.2f %7.2f\n", "all", tc, tv, tn }'
fi

case $mode in
callgrind)
    callgrind_control -d "$dpid" >/dev/null
    sleep 2
    echo "instructions (Ir) per step, orchestrad, $steps steps (each file a thread):"
    total=0
    # Part 1 is the dump above (the run); the files without a part are the shut-down.
    for f in "$dir"/callgrind.out.*.1-*; do
        ir=$(awk '/^summary:/{print $2}' "$f")
        [ -n "$ir" ] || continue
        [ "$ir" -gt 0 ] || continue
        total=$((total + ir))
        printf '  %-50s %12d  %9d/step\n' "$(basename "$f")" "$ir" $((ir / steps))
    done
    echo "orchestrad_ir_per_step $((total / steps))"
    ;;
callgrind-exec)
    for p in $(pgrep -f "callgrind.exec" || true); do callgrind_control -d "$p" >/dev/null || true; done
    sleep 2
    total=0
    for f in "$dir"/callgrind.exec.*; do
        ir=$(awk '/^summary:/{print $2}' "$f")
        [ -n "$ir" ] || continue
        total=$((total + ir))
        printf '  %-50s %12d  %9d/step\n' "$(basename "$f")" "$ir" $((ir / steps))
    done
    echo "executor_ir_per_step $((total / steps)) (executor and plugin hosts, all threads)"
    ;;
perf | perfstat | syscalls) kill -INT "$perfpid"; wait "$perfpid" || true ;;
segments)
    kill -INT "$perfpid"
    wait "$perfpid" || true
    /usr/bin/python3 "$here/step_segments.py" "$dir/segments.txt"
    ;;
sched)
    kill -INT "$perfpid"
    wait "$perfpid" || true
    perf sched timehist -i "$dir/sched.data" -w >"$dir/sched.txt" 2>/dev/null || true
    # Columns of timehist: time, cpu, task, wait, scheduling delay, run time (ms).
    pids_re=$( (echo "$dpid"; exec_tree) | paste -sd'|')
    echo "per thread: run us/step, switches in/step, mean wake-up delay us"
    awk -v s="$steps" -v re="^.*[[/]($pids_re)[]/]" '
        NF == 6 && $3 ~ re { name = $3; sub(/\[.*/, "", name); tid = $3
            sub(/^[^[]*\[/, "", tid); sub(/[]/].*/, "", tid); key = tid " " name
            run[key] += $6; n[key]++; delay[key] += $5 }
        END { for (k in run) printf "  %-28s %7.0f %6.2f %7.1f\n", k, run[k] * 1000 / s,
                n[k] / s, delay[k] * 1000 / n[k] }' "$dir/sched.txt" | sort -k3 -n -r
    ;;
esac

echo "steps $steps wall_s $(echo "$end - $start" | bc)"
echo "orchestrad_cpu_us_per_step $(( (d1 - d0) * 1000000 / hz / steps ))"
echo "executor_cpu_us_per_step $(( (e1 - e0) * 1000000 / hz / steps ))"
# ORC_PROF_WAL=1 keeps a copy of the database and its WAL as the run left them (before the
# daemon checkpoints at its stop), to see which pages the steps wrote (bench/wal_pages.py).
if [ -n "${ORC_PROF_WAL:-}" ]; then
    cp "$dir/orchestra.db-wal" "$dir/run.db-wal"
    cp "$dir/orchestra.db" "$dir/run.db"
fi
kill -TERM "$dpid" 2>/dev/null || true
for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
wait "$wpid" 2>/dev/null || true
if [ "$mode" = strace ]; then
    echo "syscalls (strace -c -f, whole run incl. start-up), per step:"
    awk -v s="$steps" '$1 ~ /^[0-9.]+$/ && NF >= 5 {name=$NF; calls=$4; if (calls ~ /^[0-9]+$/) printf "  %-20s %8.2f\n", name, calls/s} /total/ {printf "  total %8.2f\n", $3/s}' "$dir/strace.txt"
fi
[ "$mode" = perfstat ] && cat "$dir/perfstat.txt"
if [ "$mode" = syscalls ]; then
    echo "syscalls per step (perf trace -s, every thread of orchestrad, during the run):"
    awk -v s="$steps" '$2 ~ /^[0-9]+$/ && $1 ~ /^[a-z_0-9]+$/ {c[$1] += $2; t += $2}
        END {for (k in c) printf "  %-20s %8.2f\n", k, c[k] / s; printf "  %-20s %8.2f\n", "total", t / s}' \
        "$dir/syscalls.txt" | sort -k2 -n -r
fi
echo "folder $dir"
