#!/bin/sh
# test_install.sh: `cmake --install` into a temporary prefix, then what users do with it:
#  1. a program builds against the installed library with pkg-config, and again after the
#     whole tree moved (the .pc file is relocatable);
#  2. a program and a plugin build with find_package(Orchestra) (Orchestra::orchestra and the
#     headers-only Orchestra::plugin), and the plugin exports only its entry;
#  3. the installed daemons, started with their installed config files as the systemd units
#     start them (plus a temporary database and ports), run the demo workflow's crawl step
#     against a local page, and orchestra-http answers;
#  4. every binary answers --help and --version, and man pages and units are installed.
# Usage: test_install.sh BUILD_DIR (CTest passes it); needs cc, cmake, pkg-config, python3.
set -eu
build=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/orc-install-XXXXXX")
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "test_install: $*" >&2
    for f in "$work"/*.log; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; } >&2; done
    exit 1
}

# A sanitizer build's library needs the sanitizer's runtime loaded first: the programs built
# here against it use the build's compiler and sanitizers (ORC_SANITIZE in its cache).
cache=$build/CMakeCache.txt
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache")
san=$(sed -n 's/^ORC_SANITIZE:[A-Z]*=//p' "$cache")
sanflags=${san:+-fsanitize=$san}
: "${cc:=cc}"

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || fail "cmake --install"
for f in bin/orchestrad bin/orchestra bin/orchestra-http bin/orchestra-executor bin/orchestra-notify \
    include/orchestra/client.h include/orchestra/jobs.h include/orchestra/plugin.h \
    lib/pkgconfig/orchestra.pc lib/cmake/Orchestra/OrchestraConfigVersion.cmake \
    lib/orchestra/plugins/libsimple_workflow.so share/orchestra/workflows/simple_workflow/workflow.json \
    etc/orchestra/orchestrad.conf lib/systemd/system/orchestrad.service \
    share/man/man8/orchestrad.8.gz share/man/man1/orchestra.1.gz \
    share/bash-completion/completions/orchestra share/orchestra/python/orchestra_runner.py \
    share/orchestra/python/compat/orchestra/models.py; do
    [ -e "$prefix/$f" ] || fail "missing $f"
done
for b in orchestrad orchestra orchestra-http orchestra-executor orchestra-notify; do
    "$prefix/bin/$b" --help >/dev/null || fail "$b --help"
    "$prefix/bin/$b" --version | grep -q '[0-9]\.[0-9]' || fail "$b --version"
done

# 1. pkg-config, before and after moving the tree.
cat >"$work/prog.c" <<'EOF'
#include <stdio.h>
#include <orchestra/client.h>
int main(void)
{
    orc_client_opts o = {.rpc_url = "tcp://127.0.0.1:1", .timeout_ms = 500};
    orc_client *c;
    orc_error e;
    int rc = orc_client_new(&o, &c, &e);
    printf("%s\n", orc_code_name(rc));
    return rc == ORC_UNAVAILABLE ? 0 : 1;
}
EOF
build_pc() {
    PKG_CONFIG_PATH=$1/lib/pkgconfig
    export PKG_CONFIG_PATH
    # shellcheck disable=SC2046,SC2086
    "$cc" $sanflags -o "$work/prog" "$work/prog.c" $(pkg-config --cflags --libs orchestra) ||
        fail "pkg-config build against $1"
    LD_LIBRARY_PATH=$1/lib "$work/prog" >"$work/prog.out" || fail "the program against $1"
    grep -q UNAVAILABLE "$work/prog.out" || fail "unexpected output: $(cat "$work/prog.out")"
}
build_pc "$prefix"
mv "$prefix" "$work/moved"
prefix=$work/moved
build_pc "$prefix"

# 2. find_package(Orchestra): a program and a plugin.
mkdir -p "$work/consumer"
cp "$work/prog.c" "$work/consumer/prog.c"
cat >"$work/consumer/plug.c" <<'EOF'
#include <orchestra/plugin.h>
static int hello(const orc_plugin_host *h, const char *pd, const char *pr, char **out, char **err)
{
    (void)pd; (void)pr; (void)err;
    *out = h->alloc(3);
    if (!*out)
        return ORC_PLUGIN_FAIL;
    (*out)[0] = '{'; (*out)[1] = '}'; (*out)[2] = '\0';
    return ORC_PLUGIN_OK;
}
static const orc_plugin_function fns[] = {{.name = "consumer.hello", .fn = hello}};
static const orc_plugin_descriptor d = {.abi_version = ORC_PLUGIN_ABI_VERSION,
                                        .struct_size = sizeof(orc_plugin_descriptor),
                                        .name = "consumer", .n_functions = 1, .functions = fns};
ORC_PLUGIN_EXPORT const orc_plugin_descriptor *orc_plugin_entry(const orc_plugin_host *h)
{
    (void)h;
    return &d;
}
EOF
cat >"$work/consumer/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(Orchestra 0.1 REQUIRED)
add_executable(prog prog.c)
target_link_libraries(prog PRIVATE Orchestra::orchestra)
add_library(plug MODULE plug.c)
set_target_properties(plug PROPERTIES C_VISIBILITY_PRESET hidden PREFIX "")
target_link_libraries(plug PRIVATE Orchestra::plugin)
EOF
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$sanflags" \
    >"$work/consumer.log" 2>&1 || fail "find_package(Orchestra)"
cmake --build "$work/consumer/build" >>"$work/consumer.log" 2>&1 || fail "consumer build"
LD_LIBRARY_PATH=$prefix/lib "$work/consumer/build/prog" | grep -q UNAVAILABLE || fail "consumer run"
exported=$(nm -D --defined-only "$work/consumer/build/plug.so" | awk '{print $3}' | grep -v '^_')
[ "$exported" = orc_plugin_entry ] || fail "the plugin exports: $exported"

# 3. The installed daemons with their installed config files, as the units start them.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rpc=tcp://127.0.0.1:$(free_port)
events=tcp://127.0.0.1:$(free_port)
http_port=$(free_port)
page_port=$(free_port)
metrics_port=$(free_port)
conf=$prefix/etc/orchestra
mkdir -p "$work/www" "$work/state"
printf '<html><body><img src="a.png"></body></html>' >"$work/www/index.html"
printf 'png' >"$work/www/a.png"
(cd "$work/www" && exec python3 -m http.server "$page_port" --bind 127.0.0.1 >"$work/www.log" 2>&1) &
pids="$pids $!"
"$prefix/bin/orchestrad" --config "$conf/orchestrad.conf" --dev --db "$work/state/o.db" \
    --rpc "$rpc" --events "$events" --metrics-listen "127.0.0.1:$metrics_port" \
    >"$work/orchestrad.log" 2>&1 &
pids="$pids $!"
ORCHESTRA_RPC=$rpc ORCHESTRA_API_KEY=orchestra-user ORCHESTRA_API_SECRET=CHANGEME
export ORCHESTRA_RPC ORCHESTRA_API_KEY ORCHESTRA_API_SECRET
cli=$prefix/bin/orchestra
i=0
until "$cli" health >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "orchestrad did not answer"
    sleep 0.1
done
"$cli" workflow load "$prefix/share/orchestra/workflows/simple_workflow" v1 >/dev/null ||
    fail "workflow load from the installed tree"
"$prefix/bin/orchestra-executor" --config "$conf/orchestra-executor.conf" --rpc "$rpc" \
    --plugins "$prefix/lib/orchestra/plugins" --storage "$work/state/storage" \
    >"$work/executor.log" 2>&1 &
pids="$pids $!"
"$prefix/bin/orchestra-http" --config "$conf/orchestra-http.conf" --rpc "$rpc" \
    --listen "127.0.0.1:$http_port" >"$work/http.log" 2>&1 &
pids="$pids $!"
project=$("$cli" --json project create --workflow simple_workflow --version v1 \
    --description "installed" --priority 1 --data "{\"url\":\"http://127.0.0.1:$page_port/\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["project_id"])') ||
    fail "project create"
i=0
until "$cli" --json project info "$project" | python3 -c '
import json, sys
t = json.load(sys.stdin)["tasks"]["crawl"]
sys.exit(0 if t["status"] == "Complete" and t["latest_data"]["image"].endswith("/a.png") else 1)
' 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "the crawl step did not complete"
    sleep 0.1
done
# The installed executor runs Python steps with the installed runner, found next to itself.
grep -q "python: /usr/bin/python3 with .*/share/orchestra/python/orchestra_runner.py" \
    "$work/executor.log" || fail "the installed executor did not find the installed Python runner"
i=0
until curl -fs "http://127.0.0.1:$http_port/orchestra/api/status/" >/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "orchestra-http did not answer"
    sleep 0.1
done
# After the run, both /metrics show the families with the run's values: the executor's
# completed job, the step's commits, the open rate task, the shim's status requests.
curl -fs "http://127.0.0.1:$metrics_port/metrics" >"$work/orchestrad.metrics" ||
    fail "orchestrad's /metrics"
curl -fs "http://127.0.0.1:$http_port/metrics" >"$work/http.metrics" || fail "orchestra-http's /metrics"
python3 - "$work/orchestrad.metrics" "$work/http.metrics" <<'PY' || fail "the metrics after a run"
import re, sys
def samples(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out
def total(s, family, **labels):
    want = ['%s="%s"' % kv for kv in labels.items()]
    return sum(v for k, v in s.items()
               if re.match(family + r"(\{|$)", k) and all(w in k for w in want))
d, h = samples(sys.argv[1]), samples(sys.argv[2])
checks = [
    ("CompleteJob requests", total(d, "orchestra_rpc_requests_total", method="CompleteJob", code="OK") >= 1),
    ("commit durations", total(d, "orchestra_store_commit_duration_seconds_count") >= 1),
    ("commit batches", total(d, "orchestra_store_commit_batch_size_count") >= 1),
    ("the open rate task", total(d, "orchestra_open_tasks") >= 1),
    ("the event seq", total(d, "orchestra_events_last_seq") >= 1),
    ("orchestrad's build info", total(d, "orchestra_build_info", program="orchestrad") == 1),
    ("orchestrad's resident memory", total(d, "process_resident_memory_bytes") > 0),
    ("the shim's status requests", total(h, "orchestra_http_requests_total") >= 1),
    ("the shim's coordinator calls", total(h, "orchestra_http_rpc_calls_total") >= 1),
]
bad = [what for what, ok in checks if not ok]
if bad:
    sys.exit("test_install: metrics missing or wrong: " + ", ".join(bad))
PY
echo "test_install: ok"
