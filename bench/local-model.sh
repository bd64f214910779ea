#!/usr/bin/env bash
# Switchyard's local provider vs llama-cpp-python (see bench/local_vs_llama_cpp_python.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-model.sh
exec python3 bench/local_vs_llama_cpp_python.py "$@"
