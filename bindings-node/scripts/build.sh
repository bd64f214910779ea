#!/usr/bin/env bash
# Builds the native addon with plain cargo (same features and profile as the workspace, so
# llama.cpp is never compiled again) and copies it to lib/switchyard.node.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
profile="${PROFILE:-debug}"
flag=()
[ "$profile" = release ] && flag=(--release)
cargo build -p switchyard-node --features switchyard/local,switchyard/otlp "${flag[@]}" \
    --manifest-path "$root/Cargo.toml"
cp "$target/$profile/libswitchyard_node.so" "$here/lib/switchyard.node"
