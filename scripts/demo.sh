#!/bin/sh
# make demo: run the simple workflow from end to end, non-interactively. Starts orchestrad on
# a fresh database, an orchestra-executor with the example plugins, and a local web page with
# a few images to crawl; loads the example workflows and their sample data; runs
# `orchestra example simple --yes` (the crawl runs on the executor, the demo user rates the
# image); orchestra-notify mails the demo worker (to a local SMTP sink, printed) and posts
# project 1's events to a signed webhook (a local receiver); shows the legacy JSON API; starts
# the experts' web app and prints its URL and the demo worker's credentials; and stops
# everything this script started. With KEEP=1
# (`make demo KEEP=1`) everything stays up, with a fresh task waiting for the demo worker in
# the web app, until Ctrl-C.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
orchestrad="$build/server/orchestrad"
orchestra="$build/client/orchestra"
executor="$build/plugins/orchestra-executor"
shim="$build/server/orchestra-http"
plugins="$build/plugins/lib"
data=$(mktemp -d "${TMPDIR:-/tmp}/orchestra-demo-XXXXXX")
pids=""

# stop_all sends SIGTERM to every process we started, newest first, and waits for each.
stop_all() {
    for p in $pids; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    pids=""
}
cleanup() {
    status=$?
    stop_all
    if [ "$status" -ne 0 ]; then
        for log in "$data"/*.log; do
            [ -f "$log" ] || continue
            echo "--- $log" >&2
            tail -n 30 "$log" >&2
        done
    fi
    rm -rf "$data"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started() { pids="$1 $pids"; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
rpc="tcp://127.0.0.1:$(free_port)"
events="tcp://127.0.0.1:$(free_port)"
web_port=$(free_port)
keep=${KEEP:-0}
# Kept up for a person to use: the usual address when it is free.
if [ "$keep" = 1 ] && /usr/bin/python3 -c 'import socket; socket.socket().bind(("127.0.0.1", 8000))' 2>/dev/null; then
    http_port=8000
else
    http_port=$(free_port)
fi
web="http://127.0.0.1:$web_port/"

say() { printf '\n== %s\n' "$*"; }

# wait_until CMD...: retries CMD for up to 10 s.
wait_until() {
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -le 100 ] || return 1
        sleep 0.1
    done
}

say "starting orchestrad (database $data/orchestra.db, RPC $rpc)"
"$orchestrad" --dev --db "$data/orchestra.db" --rpc "$rpc" --events "$events" \
    >"$data/orchestrad.log" 2>&1 &
started $!
export ORCHESTRA_RPC="$rpc" ORCHESTRA_API_KEY=orchestra-user ORCHESTRA_API_SECRET=CHANGEME
if ! wait_until "$orchestra" health; then
    echo "orchestrad did not start" >&2
    exit 1
fi
"$orchestra" server-info

say "creating an API key with the executor scope for orchestra-executor"
"$orchestrad" keys create demo-executor --scopes executor --db "$data/orchestra.db" \
    >"$data/executor-key.txt"
exec_key=$(sed -n 's/^key id: //p' "$data/executor-key.txt")
exec_secret=$(sed -n 's/^secret: //p' "$data/executor-key.txt")
rm -f "$data/executor-key.txt"
echo "key id: $exec_key (secret not shown)"

say "starting orchestra-executor (plugins $plugins)"
mkdir -p "$data/storage"
ORCHESTRA_API_KEY="$exec_key" ORCHESTRA_API_SECRET="$exec_secret" \
    "$executor" --rpc "$rpc" --plugins "$plugins" --storage "$data/storage" \
    >"$data/executor.log" 2>&1 &
started $!
grep -E 'function|plugins loaded' "$data/executor.log" | sed 's/^/  log: /' || true

say "serving a page with a few images at $web"
mkdir -p "$data/www/images"
/usr/bin/python3 - "$data/www" <<'PY'
import struct, sys, zlib

def png(path, rgb, size=16):
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

root = sys.argv[1]
for name, rgb in (("red", (220, 40, 40)), ("green", (40, 180, 60)), ("blue", (40, 80, 220))):
    png(f"{root}/images/{name}.png", rgb)
with open(f"{root}/index.html", "w") as f:
    f.write("<!doctype html><html><head><title>Demo photos</title></head><body>\n"
            "<h1>Three squares</h1>\n"
            '<img src="images/red.png" alt="red">\n'
            '<img src="images/green.png" alt="green">\n'
            '<img src="/images/blue.png" alt="blue">\n'
            "</body></html>\n")
PY
(cd "$data/www" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$web_port") \
    >"$data/http.log" 2>&1 &
started $!
if ! wait_until /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('$web')"; then
    echo "the demo web page did not come up" >&2
    exit 1
fi
ls "$data/www/images" | sed 's/^/  /'

say "loading the example workflows"
"$orchestra" workflow load "$top/plugins/simple_workflow" v1
"$orchestra" workflow load "$top/plugins/journalism_workflow" v1

say "loading their sample data (users, workers, certifications)"
"$orchestra" workflow sample-data simple_workflow/v1
"$orchestra" workflow sample-data journalism/v1

say "starting orchestra-notify: e-mails to a local SMTP sink, project 1's events to a webhook"
notify="$build/server/orchestra-notify"
/usr/bin/python3 "$top/test/support/smtp_sink.py" --port-file "$data/smtp.port" \
    --out "$data/mail.jsonl" --print >"$data/mail.txt" 2>&1 &
started $!
/usr/bin/python3 "$top/test/support/webhook_receiver.py" --port-file "$data/hook.port" \
    --secret demo-webhook-secret --out "$data/hook.jsonl" --print >"$data/hook.txt" 2>&1 &
started $!
wait_until test -s "$data/smtp.port" && wait_until test -s "$data/hook.port"
"$orchestrad" keys create demo-notify --scopes notify --db "$data/orchestra.db" >"$data/notify-key.txt"
notify_key=$(sed -n 's/^key id: //p' "$data/notify-key.txt")
notify_secret=$(sed -n 's/^secret: //p' "$data/notify-key.txt")
rm -f "$data/notify-key.txt"
"$orchestra" webhook create "http://127.0.0.1:$(cat "$data/hook.port")/orchestra-events" \
    --topic project.1. --secret demo-webhook-secret
ORCHESTRA_API_KEY="$notify_key" ORCHESTRA_API_SECRET="$notify_secret" \
    "$notify" --rpc "$rpc" --events "$events" --state "$data/notify" --refresh 200 \
    --smtp "smtp://127.0.0.1:$(cat "$data/smtp.port")" --smtp-from orchestra@demo.example \
    --app-url "http://127.0.0.1:$http_port" >"$data/notify.log" 2>&1 &
started $!
wait_until grep -q 'starts after' "$data/notify.log"

say "following project 1's events live: orchestra events --follow --topic project.1."
"$orchestra" events --follow --topic project.1. --events "$events" >"$data/events.txt" 2>&1 &
follower=$!

say "running the simple workflow: orchestra example simple --yes --url $web"
"$orchestra" example simple --yes --url "$web"

say "what the follower printed, one line per event, each once and in order"
sleep 0.5
kill -TERM "$follower" 2>/dev/null || true
wait "$follower" || true
sed 's/^/  /' "$data/events.txt"

say "the e-mails orchestra-notify sent to the demo worker (what the SMTP sink received)"
wait_until grep -q 'Task complete!' "$data/mail.txt" || true
sed 's/^/  /' "$data/mail.txt"

say "project 1's first webhook delivery (the receiver checked its Orchestra-Signature)"
wait_until grep -q 'Orchestra-Event-Seq' "$data/hook.txt" || true
awk '/^---- webhook/ {n++} n == 1' "$data/hook.txt" | sed 's/^/  /'
"$orchestra" webhook list

say "the crawl's job (orchestra job list)"
"$orchestra" job list

say "the legacy JSON API: orchestra-http on 127.0.0.1:$http_port, signed as upstream's client"
"$shim" --listen "127.0.0.1:$http_port" --rpc "$rpc" --events "$events" \
    >"$data/orchestra-http.log" 2>&1 &
started $!
if ! wait_until /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$http_port/orchestra/api/status/')"; then
    echo "orchestra-http did not start:" >&2
    cat "$data/orchestra-http.log" >&2
    exit 1
fi
/usr/bin/python3 - "http://127.0.0.1:$http_port" <<'PY'
# What an existing Orchestra client does: python3-requests with python3-httpsig.
import email.utils, json, sys
import requests
from httpsig.requests_auth import HTTPSignatureAuth
base = sys.argv[1] + "/orchestra/api/project/"
auth = HTTPSignatureAuth("orchestra-user", "CHANGEME")
def headers():
    return {"Date": email.utils.formatdate(usegmt=True), "X-Api-Key": "orchestra-user"}
r = requests.get(base + "workflow_types/", headers=headers(), auth=auth)
print("GET workflow_types/ ->", r.status_code, json.dumps(r.json(), sort_keys=True))
r = requests.post(base + "project_information/", json={"project_id": 1}, headers=headers(),
                  auth=auth)
info = r.json()
print("POST project_information/ {project_id: 1} ->", r.status_code, "rating:",
      info["tasks"]["rate"]["latest_data"]["rating"])
r = requests.post(base + "project_information/", json={"project_id": 1},
                  headers=headers(), auth=HTTPSignatureAuth("orchestra-user", "wrong"))
print("the same with a wrong secret ->", r.status_code, r.text)
PY

say "the experts' web app (served by the same orchestra-http)"
app="http://127.0.0.1:$http_port/orchestra/app/"
# A task waiting for the demo worker, and a project admin (upstream's demo_admin fixture).
project=$("$orchestra" --json project create --workflow simple_workflow --version v1 \
    --description "Rate an image in the web app" --priority 10 --task-class real \
    --data "{\"url\":\"$web\"}" | sed 's/[^0-9]//g')
printf '%s\n' admin | "$orchestra" worker create admin --password-stdin --first-name Demo \
    --last-name Admin >/dev/null
"$orchestra" worker admin admin
status=$(/usr/bin/python3 -c "import urllib.request; print(urllib.request.urlopen('${app%app/}accounts/login/').status)")
echo "  sign-in page: HTTP $status"
echo "  open:         $app"
echo "  sign in as:   demo / demo (the simple workflow's worker; project $project has a task)"
echo "                journalism-editor / editor, journalism-reporter-1 / reporter, ... (plugins/README.md)"
echo "                admin / admin (a project admin: ${app}project/$project)"

if [ "$keep" = 1 ]; then
    say "everything stays up until Ctrl-C (logs in $data)"
    while :; do
        sleep 1
    done
fi

say "stopping orchestra-http, orchestra-notify, orchestra-executor, the local servers and orchestrad"
stop_all
grep -E 'job [0-9]+|stopped' "$data/executor.log" | sed 's/^/  executor: /' || true
grep -E 'WARN|ERROR|stopp' "$data/orchestrad.log" | sed 's/^/  orchestrad: /' || true
echo "demo finished"
