#!/usr/bin/env bash
# Usage ingestion throughput through the real HTTP path: the release server binary on
# SQLite (and on PostgreSQL when a test cluster can be started), events/s stored (acked).
# Prints each run and the median of RUNS.
#   bash bench/usage-ingest.sh [EVENTS] [BATCH] [CONNECTIONS] [RUNS]
# Defaults: 200000 events, batches of 1000 (the protocol's maximum), 8 connections, 3 runs.
# SKIP_BUILD=1 reuses the last build; NO_POSTGRES=1 skips PostgreSQL; GZIP=1 gzips bodies.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-200000}
BATCH=${2:-1000}
CONNECTIONS=${3:-8}
RUNS=${4:-3}
T=${CARGO_TARGET_DIR:-target}
# No engine features: the server needs none, and a release llama.cpp build takes minutes.
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p switchyard-server --bin switchyard --example usage_load >&2
BIN=$T/release/switchyard
LOAD=$T/release/examples/usage_load
GZ=${GZIP:+gzip}
work=$(mktemp -d)
chmod 755 "$work"  # the PostgreSQL cluster runs as its own user, below it
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/pg/url" ] && bash server/scripts/test-postgres.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# bench BACKEND DATABASE_URL: a fresh server per run, a fresh tenant, app and key (and on
# SQLite a fresh database file).
bench() {
  local backend=$1 url=$2 results=()
  for run in $(seq "$RUNS"); do
    local db="$url"
    if [ "$backend" = sqlite ]; then db="sqlite://$work/sy-$run.db"; fi
    export SWITCHYARD_DATABASE_URL="$db"
    local token port pid
    token=$($BIN init --tenant "bench$run" --admin admin | awk '/^token:/ {print $2}')
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $BIN serve --listen "127.0.0.1:$port" 2>"$work/serve-$backend-$run.log" & pid=$!
    pids+=("$pid")
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.01; done
    api() { curl -sf -X "$1" -H "authorization: Bearer $token" -H 'content-type: application/json' "http://127.0.0.1:$port$2" ${3:+-d "$3"}; }
    local dep app key
    dep=$(api GET /api/v1/departments | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
    app=$(api POST /api/v1/apps "{\"department_id\": \"$dep\", \"name\": \"load\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    key=$(api POST "/api/v1/apps/$app/keys" '{"name": "load"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
    local line
    line=$($LOAD "127.0.0.1:$port" "$key" "$EVENTS" "$BATCH" "$CONNECTIONS" $GZ)
    echo "$backend run $run: $line"
    results+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events_per_s"])' "$line")")
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  local median
  median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$backend: median $median events/s ($EVENTS events, batches of $BATCH, $CONNECTIONS connections${GZ:+, gzip})"
}

bench sqlite ""
if [ -n "${NO_POSTGRES:-}" ]; then
  echo "postgres: skipped (NO_POSTGRES)"
elif bash server/scripts/test-postgres.sh start "$work/pg" >/dev/null 2>&1; then
  # One database for every run (a tenant each): later runs insert into fuller tables.
  base=$(cat "$work/pg/url")
  bench postgres "$base"
else
  echo "postgres: no test cluster could be started (server/scripts/test-postgres.sh); skipped"
fi
