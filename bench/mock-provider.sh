#!/usr/bin/env bash
# Throughput of the mock provider: release build, non-stream OpenAI chat, keep-alive load.
# Usage: bench/mock-provider.sh [CONNECTIONS] [DURATION_SECS]
set -euo pipefail

CONNECTIONS="${1:-64}"
DURATION="${2:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

cargo build --release -p switchyard-mock-provider --bins --manifest-path "$ROOT/Cargo.toml" >&2

PORT_FILE="$(mktemp)"
"$TARGET/release/switchyard-mock" --port-file "$PORT_FILE" >/dev/null &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null || true; rm -f "$PORT_FILE"' EXIT

for _ in $(seq 100); do
  [ -s "$PORT_FILE" ] && break
  sleep 0.05
done
PORT="$(cat "$PORT_FILE")"

"$TARGET/release/switchyard-mock-load" \
  --addr "127.0.0.1:$PORT" \
  --path /v1/chat/completions \
  --connections "$CONNECTIONS" \
  --duration-secs "$DURATION"
