#!/bin/sh
# pg_cluster.sh: a throw-away PostgreSQL cluster for the tests labelled postgres
# (test/README.md). The server refuses to run as root, so as root every command runs as the
# postgres user, in a folder that user owns.
#
#   pg_cluster.sh start DIR    create DIR (initdb, or a copy of the cached template), start the
#                              server on a free loopback port with its Unix socket in DIR;
#                              DIR/port holds the port
#   pg_cluster.sh stop DIR     stop the server (fast shutdown)
#   pg_cluster.sh remove DIR   stop it if running and delete DIR
#   pg_cluster.sh fresh DIR    remove, then start (what a leftover of an earlier run needs)
#
# ORC_PG_TEMPLATE=FOLDER keeps an initdb'd data folder there for the next clusters (initdb
# takes seconds on a busy machine; a copy takes a fraction). ORC_PG_BIN overrides the folder
# of initdb/pg_ctl (default: the newest /usr/lib/postgresql/*/bin).
set -eu

die() { echo "pg_cluster.sh: $*" >&2; exit 1; }

PGBIN=${ORC_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || die "no PostgreSQL server found (apt-get install postgresql-15)"

# as_pg runs a command as the postgres user when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# own hands a folder to the postgres user when we are root.
own() {
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$1"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

initdb_into() {
    as_pg "$PGBIN/initdb" -D "$1" -A trust -U postgres -E UTF8 --locale=C --no-sync \
        >"$1.initdb.log" 2>&1 || { cat "$1.initdb.log" >&2; die "initdb failed"; }
    rm -f "$1.initdb.log"
}

make_data() {
    dir=$1
    tpl=${ORC_PG_TEMPLATE:-}
    if [ -z "$tpl" ]; then
        initdb_into "$dir/data"
        return
    fi
    mkdir -p "$(dirname "$tpl")"
    # One initdb for every cluster made from this template, even when tests start together.
    (
        flock 9
        if [ ! -f "$tpl/PG_VERSION" ]; then
            rm -rf "$tpl" "$tpl.tmp"
            mkdir -p "$tpl.tmp"
            own "$tpl.tmp"
            initdb_into "$tpl.tmp/data"
            mv "$tpl.tmp/data" "$tpl"
            rm -rf "$tpl.tmp"
        fi
    ) 9>"$tpl.lock"
    cp -a "$tpl" "$dir/data"
}

start() {
    dir=$1
    mkdir -p "$dir"
    chmod 0755 "$dir"
    own "$dir"
    [ -f "$dir/data/PG_VERSION" ] || make_data "$dir"
    own "$dir"
    chmod 0700 "$dir/data"
    # A restart keeps its port (and so its URLs).
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    # Enough connections for two test programs at a time, each with a few coordinators
    # (a writer and a reader per RPC worker each).
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 120 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400" start \
        >/dev/null || { cat "$dir/postgres.log" >&2; die "the server did not start"; }
    echo "$port" >"$dir/port"
}

stop() {
    dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    fi
}

[ $# -eq 2 ] || die "usage: pg_cluster.sh start|stop|remove|fresh DIR"
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
remove)
    stop "$2"
    rm -rf "$2"
    ;;
fresh)
    stop "$2"
    rm -rf "$2"
    start "$2"
    ;;
*) die "unknown command $1" ;;
esac
