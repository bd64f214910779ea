#!/usr/bin/env bash
# The gateway's overhead: wrk against the mock provider directly (baseline) and through the
# gateway (the real server binary, an app key, a config on the same mock), in the same run.
# Cells: RPS at c=64 (target >= 0.5x direct), p99 at c=16 and the gateway's added p99
# (target <= 1 ms), the added median at c=1 (one call at a time: the overhead itself, least
# disturbed by a busy machine), a streaming cell at c=16, and the server's RSS under load
# (target <= 100 MB; VmHWM, the peak); and RPS at c=64 again with the gateway on a core of
# its own (wrk and the mock on the other, in both runs; needs taskset and two cores).
# Usage: bench/gateway.sh [DURATION_SECS]      PROFILE=debug for the debug build's binaries
set -euo pipefail

DURATION="${1:-10}"
PROFILE="${PROFILE:-release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

if ! command -v wrk >/dev/null; then
  SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

FLAGS=(--features switchyard/local,switchyard/otlp -p switchyard-server -p switchyard-mock-provider --bins)
[ "$PROFILE" = release ] && FLAGS+=(--release)
cargo build "${FLAGS[@]}" --manifest-path "$ROOT/Cargo.toml" >&2
export SWITCHYARD_SERVER_BIN="$TARGET/$PROFILE/switchyard" SWITCHYARD_MOCK_BIN="$TARGET/$PROFILE/switchyard-mock"

RUN="$(mktemp -d /tmp/switchyard-gateway-bench.XXXXXX)"
trap 'python3 "$ROOT/tests/gateway/harness.py" stop "$RUN"; rm -rf "$RUN"' EXIT
python3 "$ROOT/tests/gateway/harness.py" start "$RUN" >/dev/null
field() { python3 -c "import json,sys; print(json.load(open('$RUN/env.json'))['$1'])"; }
GATEWAY="$(field url)"; KEY="$(field key)"; MOCK="$(field mock_url)"
SERVER_PID="$(cat "$RUN/server.pid")"

# A wrk script posting one chat body with one bearer key.
script() { # NAME MODEL KEY STREAM
  cat >"$RUN/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"$2","stream":$4,"messages":[{"role":"user","content":"Say hello in five words."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $3"
LUA
}
script direct gpt-4o-mini sk-gateway-clients false
script gateway chat "$KEY" false
script direct_stream gpt-4o-mini sk-gateway-clients true
script gateway_stream chat "$KEY" true

# wrk's figures: "RPS P99_MS P50_MS" (and errors to stderr).
measure() { # SCRIPT URL CONNECTIONS
  local out
  local threads=$(( $3 < 2 ? 1 : 2 ))
  [ -n "${PIN:-}" ] && threads=1
  out="$(${PIN:-} wrk -t"$threads" -c"$3" -d"${DURATION}s" --latency -s "$RUN/$1.lua" "$2/v1/chat/completions")"
  if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; echo "bench: non-2xx answers in $1" >&2; exit 1; fi
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def percentile(p):
    value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
print(f"{rps:.0f} {percentile(99):.3f} {percentile(50):.3f}")
PY
}

# Warm both (connections, the app's client, the allocator), then measure.
wrk -t2 -c16 -d2s -s "$RUN/gateway.lua" "$GATEWAY/v1/chat/completions" >/dev/null
wrk -t2 -c16 -d2s -s "$RUN/direct.lua" "$MOCK/v1/chat/completions" >/dev/null

read -r D64 _ _ <<<"$(measure direct "$MOCK" 64)"
read -r G64 _ _ <<<"$(measure gateway "$GATEWAY" 64)"
read -r _ D16P99 _ <<<"$(measure direct "$MOCK" 16)"
read -r _ G16P99 _ <<<"$(measure gateway "$GATEWAY" 16)"
read -r _ _ D1P50 <<<"$(measure direct "$MOCK" 1)"
read -r _ _ G1P50 <<<"$(measure gateway "$GATEWAY" 1)"
read -r DS DSP99 _ <<<"$(measure direct_stream "$MOCK" 16)"
read -r GS GSP99 _ <<<"$(measure gateway_stream "$GATEWAY" 16)"
RSS_KB="$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")"

# The gateway on a core of its own, as it runs in production, with wrk and the mock sharing
# the other core in both runs: the ratio then compares what the gateway's own cost allows
# with what the load generator and the mock allow, rather than three processes' share of
# two cores.
DPIN=0 GPIN=0
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  taskset -a -cp 0 "$(cat "$RUN/mock.pid")" >/dev/null
  taskset -a -cp 1 "$SERVER_PID" >/dev/null
  read -r DPIN _ _ <<<"$(PIN="taskset -c 0" measure direct "$MOCK" 64)"
  read -r GPIN _ _ <<<"$(PIN="taskset -c 0" measure gateway "$GATEWAY" 64)"
fi

python3 - "$PROFILE" "$D64" "$G64" "$D16P99" "$G16P99" "$DS" "$DSP99" "$GS" "$GSP99" "$RSS_KB" "$D1P50" "$G1P50" "$DPIN" "$GPIN" <<'PY'
import sys
profile, *figures = sys.argv[1:]
d64, g64, dp, gp, ds, dsp, gs, gsp, rss, d1, g1, dpin, gpin = map(float, figures)
ok = lambda b: "ok" if b else "MISSED"
print(f"gateway bench ({profile} build, mock provider upstream, 2-thread wrk, same run)")
print(f"  RPS c=64            direct {d64:8.0f}   gateway {g64:8.0f}   ratio {g64 / d64:.2f}  (target >= 0.5: {ok(g64 / d64 >= 0.5)})")
print(f"  p99 c=16            direct {dp:8.3f}ms gateway {gp:8.3f}ms added {gp - dp:.3f}ms  (target <= 1 ms: {ok(gp - dp <= 1.0)})")
print(f"  median c=1          direct {d1:8.3f}ms gateway {g1:8.3f}ms added {g1 - d1:.3f}ms")
print(f"  stream c=16 RPS     direct {ds:8.0f}   gateway {gs:8.0f}   p99 direct {dsp:.3f}ms gateway {gsp:.3f}ms")
if dpin > 0:
    print(f"  RPS c=64, own core  direct {dpin:8.0f}   gateway {gpin:8.0f}   ratio {gpin / dpin:.2f}  (the gateway on one core, wrk and the mock on the other)")
print(f"  server RSS peak     {rss / 1024:.1f} MB  (target <= 100 MB: {ok(rss / 1024 <= 100)})")
PY
