#!/usr/bin/env bash
# Calls per second through one Switchyard client vs bare reqwest, against the mock provider,
# in one process and one run: usage `bench/pipeline-load.sh [CALLERS] [SECONDS]`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p switchyard --example pipeline_load -- "${1:-64}" "${2:-5}"
