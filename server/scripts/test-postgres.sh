#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the server's tests, on 127.0.0.1 and a free port.
#   test-postgres.sh start DIR   -> installs PostgreSQL if missing, starts it, writes DIR/url
#   test-postgres.sh stop DIR    -> stops it and removes DIR
# As root (CI), the cluster runs as the `postgres` user: initdb refuses root.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}

find_bin() {
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

case "$cmd" in
start)
    bin=$(find_bin || true)
    if [ -z "$bin" ]; then
        echo "PostgreSQL not found: installing from Debian's packages" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin=$(find_bin)
    fi
    mkdir -p "$dir"
    chmod 755 "$dir"
    runas=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$dir"
        runas=(runuser -u postgres --)
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${runas[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
    "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-h 127.0.0.1 -p $port -k $dir -F -c max_connections=300" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres" >"$dir/url"
    ;;
stop)
    bin=$(find_bin || true)
    if [ -d "$dir/data" ] && [ -n "$bin" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        else
            "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$dir"
    ;;
esac
