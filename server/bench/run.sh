#!/usr/bin/env bash
# Server benchmarks: start-up to ready (SQLite), idle RSS, long-poll fan-out to N clients.
#   bash server/bench/run.sh [N]      (release build; N defaults to 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
T=${CARGO_TARGET_DIR:-target}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p switchyard-server --bin switchyard --example fanout >/dev/null
BIN=$T/release/switchyard
dir=$(mktemp -d)
export SWITCHYARD_DATABASE_URL="sqlite://$dir/sy.db"
export SWITCHYARD_MASTER_KEY=$($BIN master-key generate)
ulimit -n 8192 || true
token=$($BIN init --tenant bench --admin admin | awk '/^token:/ {print $2}')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s%N)
$BIN serve --listen 127.0.0.1:$port 2>"$dir/serve.log" & pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.002; done
end=$(date +%s%N)
echo "start-up to ready (SQLite, migrations already applied): $(( (end - start) / 1000000 )) ms"
api() { curl -sf -X "$1" -H "authorization: Bearer $token" -H 'content-type: application/json' "http://127.0.0.1:$port$2" ${3:+-d "$3"}; }
dep=$(api GET /api/v1/departments | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
app=$(api POST /api/v1/apps "{\"department_id\": \"$dep\", \"name\": \"bench\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
key=$(api POST /api/v1/apps/$app/keys '{"name": "bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
v=$(api POST /api/v1/configs '{"document": {"version": 1, "providers": {"openai": {"kind": "openai"}}, "models": {"chat": {"deployments": [{"provider": "openai", "model": "gpt-4o"}]}}}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api POST /api/v1/configs/$v/activate >/dev/null
sleep 1
echo "idle RSS after start-up and a few requests: $(( $(ps -o rss= -p $pid) / 1024 )) MB"
$T/release/examples/fanout "127.0.0.1:$port" "$key" "$token" "$N"
echo "RSS with $N long-polls served: $(( $(ps -o rss= -p $pid) / 1024 )) MB"
