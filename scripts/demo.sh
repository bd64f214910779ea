#!/usr/bin/env bash
# The main job (`make run`): the management server on a fresh embedded SQLite file with a
# demo tenant, whose config (examples/rust/switchyard.yaml) is pushed and activated, an app
# and its key created through the REST API, and the demo call made through the SDK with
# its config fetched from the server by that key; then the same app through the server's
# OpenAI-compatible gateway, with curl and with the official `openai` package
# (examples/python/gateway_openai.py). Without OPENAI_API_KEY the OpenAI deployment fails
# at once and the in-process model answers (in the gateway's case, inside the server).
set -euo pipefail

target=${CARGO_TARGET_DIR:-target}
server=$target/debug/switchyard
example=$target/debug/switchyard-example
python=${DEMO_PYTHON:-python3}
run=.run
listen=${DEMO_LISTEN:-127.0.0.1:8787}
url=http://$listen
db=sqlite://$run/demo.db
config=examples/rust/switchyard.yaml

mkdir -p "$run"
rm -f "$run"/demo.db*
# The master key seals provider credentials and call logs (docs/call-logs.md); the demo's
# lives beside its database, made once.
[ -s "$run/master.key" ] || (umask 077 && "$server" master-key generate > "$run/master.key")
export SWITCHYARD_MASTER_KEY_FILE=$run/master.key
# The audit key MACs the audit chain, the checkpoint key signs its head every 5 minutes
# into a directory of files written once (docs/audit.md): both outside the database, here
# beside it. The database is new each run, so are its checkpoints.
[ -s "$run/audit.key" ] || (umask 077 && "$server" audit generate-key > "$run/audit.key")
[ -s "$run/checkpoint.key" ] || { rm -f "$run/checkpoint.key"; "$server" audit generate-checkpoint-key --out "$run/checkpoint.key" > /dev/null; }
rm -rf "$run/audit-checkpoints"
export SWITCHYARD_AUDIT_KEY_FILE=$run/audit.key
export SWITCHYARD_AUDIT_CHECKPOINT_KEY_FILE=$run/checkpoint.key
export SWITCHYARD_AUDIT_CHECKPOINT_DIR=$run/audit-checkpoints
"$server" --database-url "$db" init --tenant demo --password demo-password-123 > "$run/init.log"
token=$(sed -n 's/^token: *//p' "$run/init.log")
"$server" --database-url "$db" config push "$config" --tenant demo --label demo > /dev/null
"$server" --database-url "$db" config activate --tenant demo 1 > /dev/null

"$server" --database-url "$db" serve --listen "$listen" > "$run/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "$url/readyz" > /dev/null && break
  sleep 0.1
done
curl -sf "$url/readyz" > /dev/null || { echo "the server did not get ready; see $run/server.log" >&2; exit 1; }

api() { # METHOD PATH [JSON] -> the response body
  curl -sf -X "$1" "$url$2" -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

department=$(api GET /api/v1/departments | field '["items"][0]["id"]')
app=$(api POST /api/v1/apps "{\"department_id\":\"$department\",\"name\":\"example\"}" | field '["id"]')
key=$(api POST "/api/v1/apps/$app/keys" '{"name":"demo"}' | field '["secret"]')

# Call logs for the demo app: every call's request and answer, redacted in the SDK
# (docs/call-logs.md); the console's Call logs page shows them.
api PUT "/api/v1/apps/$app/call-logs" '{"content":"all"}' > /dev/null

# A server-side budget: every SDK instance and the gateway lease slices of it (docs/budgets.md).
budget=$(api POST /api/v1/budgets '{"name":"demo-monthly","scope":"tenant","period":"month","amount_usd":5,"mode":"hard"}' | field '["id"]')

echo "server: $url on $db: tenant demo, config version 1 active, app 'example' with a key,"
echo "        a hard budget of \$5 a month for the tenant, leased to every SDK instance and the gateway"
echo "        every call of the app logged with its request and answer (redacted; kept 7 days)"
echo "        (API docs at $url/docs; the admin's one-time token is in $run/init.log)"
echo "        an audit chain keyed outside the database, checkpointed into $run/audit-checkpoints"
echo "        (check it: $server --database-url $db audit verify)"
SWITCHYARD_SERVER=$url SWITCHYARD_API_KEY=$key "$example"

echo
echo "the same app through the gateway, $url/v1 (OpenAI's API, the app key as bearer), with curl:"
curl -sS -i "$url/v1/chat/completions" -H "authorization: Bearer $key" -H 'content-type: application/json' \
  -d '{"model": "chat", "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 32, "temperature": 0}' \
  | tr -d '\r' | grep -iE '^(HTTP/|x-switchyard-|x-request-id|\{)'
echo
echo "and with the official openai package (examples/python/gateway_openai.py):"
OPENAI_BASE_URL=$url/v1 OPENAI_API_KEY=$key "$python" examples/python/gateway_openai.py

echo
sleep 0.5 # the gateway stores its calls' usage a moment after answering
echo "the calls above in the usage report (GET /api/v1/usage?group_by=app, the last 24 hours):"
api GET "/api/v1/usage?step=1h&group_by=app" | "$python" -c '
import json, sys
for series in json.load(sys.stdin)["series"]:
    points = series["points"]
    calls = sum(p["calls"] for p in points)
    tokens = sum(p["prompt_tokens"] + p["completion_tokens"] for p in points)
    cost = sum(p["cost_micros"] for p in points) / 1e6
    local = sum(p["local_share"] * p["calls"] for p in points)
    group = series["group"]
    print(f"  app {group}: {calls} calls, {tokens} tokens, ${cost:.6f}, {local:.0f} answered in-process")
'

echo
echo "the budget (GET /api/v1/budgets/ID: spent from ingested usage, reserved by live leases):"
api GET "/api/v1/budgets/$budget" | "$python" -c '
import json, sys
b = json.load(sys.stdin)
name, s = b["name"], b["state"]
spent, reserved, left = s["spent_usd"], s["reserved_usd"], s["remaining_usd"]
print(f"  {name}: ${spent:.6f} spent, ${reserved:.6f} reserved by leases, ${left:.6f} left this period")
'

echo
echo "open $url/ui/ (the admin console: tenant demo, user admin, password demo-password-123),"
echo "     $url/docs (the API), $url/v1 (the gateway), $url/metrics; Ctrl-C stops the server"
wait $server_pid
