#!/usr/bin/env bash
# Go SDK benchmark (make bench-go): starts the mock provider and runs bench/go_sdk/ against
# it: per-call p50 of switchyard-go next to raw net/http and openai-go (the pin of
# tests/gateway/go), the cgo crossing alone, streaming time to first chunk.
# PROFILE=release measures a release build of libswitchyard_c.so (and of the mock); the
# default is the debug build `make test` leaves. Arguments go to the program (-n, -warmup,
# -rounds).
#
# Figures: docs/sdk/go.md ("Performance").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
profile="${PROFILE:-debug}"
target="${CARGO_TARGET_DIR:-$root/target}"
flag=()
[ "$profile" = release ] && flag=(--release)
features=(--features switchyard/local,switchyard/otlp)
# One package per cargo step, as make test builds them (selecting two at once resolves the
# engine's features differently and rebuilds it). The debug mock comes from `make build`.
cargo build "${flag[@]}" -p switchyard-c "${features[@]}" --manifest-path "$root/Cargo.toml"
if [ "$profile" = release ]; then
  cargo build --release -p switchyard-mock-provider --bin switchyard-mock --manifest-path "$root/Cargo.toml"
fi
mkdir -p "$root/bindings-go/lib"
ln -sf "$target/$profile/libswitchyard_c.so" "$root/bindings-go/lib/libswitchyard_c.so"

work="$(mktemp -d)"
"${SWITCHYARD_MOCK_BIN:-$target/$profile/switchyard-mock}" --addr 127.0.0.1:0 >"$work/mock.out" 2>/dev/null &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/mock.out" 2>/dev/null && break
  sleep 0.05
done
mock="$(sed -n 's/^listening on //p' "$work/mock.out" | head -1)"
cd "$root/bench/go_sdk"
go run . -mock "$mock" "$@"
