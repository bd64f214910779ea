#!/usr/bin/env bash
# Node SDK benchmark: the release addon and mock, the `openai` package from the gateway
# tests' lock, then bench/node_sdk.mjs. Usage: make bench-node
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -p switchyard-mock-provider --bin switchyard-mock
PROFILE=release bash bindings-node/scripts/build.sh
(cd tests/gateway/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
export SWITCHYARD_MOCK_BIN=${SWITCHYARD_MOCK_BIN:-$(cd "$TARGET_DIR" && pwd)/release/switchyard-mock}
node bench/node_sdk.mjs
