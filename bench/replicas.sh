#!/usr/bin/env bash
# Sizing figures for several server replicas on one PostgreSQL (docs/operations.md): the
# ignored `sizing` test of server/tests/replicas.rs against three real server processes
# on a throwaway PostgreSQL cluster — usage events/s into one replica and into three, the
# memory 1000 held long-polls take and how fast an activation on another replica answers
# them all, lease grants/s over the three — each the median of RUNS runs.
#   bash bench/replicas.sh [RUNS] [POLLS]        (defaults 3 and 1000)
# PROFILE=release measures release builds (the default is the debug build `make test` uses).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
POLLS=${2:-1000}
PROFILE=${PROFILE:-debug}
T=${CARGO_TARGET_DIR:-target}
flags=(-p switchyard-server --features switchyard/local,switchyard/otlp --test replicas)
[ "$PROFILE" = release ] && flags+=(--release)
exe=$(cargo test "${flags[@]}" --no-run 2>&1 | sed -n 's/.*Executable tests\/replicas.rs (\(.*\))/\1/p')
work=$(mktemp -d)
chmod 755 "$work"  # the PostgreSQL cluster runs as its own user, below it
trap 'bash server/scripts/test-postgres.sh stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
# The server binary copied aside at once: another build in the same target directory may
# replace it while the measurement runs.
cp "$T/$PROFILE/switchyard" "$work/switchyard"
bash server/scripts/test-postgres.sh start "$work/pg" >/dev/null
SWITCHYARD_SERVER_BIN="$work/switchyard" SWITCHYARD_TEST_POSTGRES_URL=$(cat "$work/pg/url") \
  SIZING_RUNS=$RUNS SIZING_POLLS=$POLLS "$exe" --ignored --exact sizing --nocapture 2>&1 |
  grep -E '^(usage ingestion|[0-9]+ long-polls|lease grants|test result)'
