#!/usr/bin/env bash
# Python SDK benchmark: installs the bench-only dependencies (httpx, openai) into .venv,
# builds the release mock, runs bench/python_sdk.py. Usage: make bench-python
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_PY=${VENV_PY:-.venv/bin/python}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
"$VENV_PY" -m pip install --quiet --disable-pip-version-check httpx==0.28.1 openai==3.63.0
cargo build --release -p switchyard-mock-provider --bin switchyard-mock
export SWITCHYARD_MOCK_BIN=${SWITCHYARD_MOCK_BIN:-$(cd "$TARGET_DIR" && pwd)/release/switchyard-mock}
"$VENV_PY" bench/python_sdk.py
