#!/usr/bin/env bash
# Regenerates include/switchyard.h with cbindgen and fails if it differs from the committed
# one (run by `make test-c`). `make setup` installs the pinned cbindgen.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
cbindgen --quiet --config "$here/cbindgen.toml" --crate switchyard-c --output "$fresh" "$here"
if ! diff -u "$here/include/switchyard.h" "$fresh"; then
  echo "bindings-c/include/switchyard.h is stale: run" >&2
  echo "  cbindgen --config bindings-c/cbindgen.toml --crate switchyard-c --output bindings-c/include/switchyard.h bindings-c" >&2
  exit 1
fi
echo "header: bindings-c/include/switchyard.h is current"
