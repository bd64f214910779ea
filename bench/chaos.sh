#!/usr/bin/env bash
# The long chaos run: seeded fault mixes on a mock primary through one client, printing
# p50/p99, throughput, failures and upstream calls per mix beside the fault-free figures.
# Usage: `bench/chaos.sh [CALLS_PER_MIX] [CALLERS] [PERCENT] [plain|stream]` (defaults 10000,
# 16, every mix, both styles); RUST_LOG=switchyard=warn shows circuit openings. The bounded
# version runs in `make test` (core/tests/chaos.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p switchyard --example chaos -- "${1:-10000}" "${2:-16}" ${3:+"$3"} ${4:+"$4"}
