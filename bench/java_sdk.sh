#!/usr/bin/env bash
# Java SDK benchmark: release builds of the mock and of the JNI library, the SDK installed in
# the local Maven repository (`make java-sdk`), then bench/java (JavaSdkBench) against one
# mock session: per-call p50 of Switchyard (sync and async) vs raw java.net.http vs
# openai-java, and a stream's time to first chunk. Usage: make bench-java [CALLS=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR=$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)
CALLS=${CALLS:-2000}
cargo build --release -p switchyard-java -p switchyard-mock-provider --bin switchyard-mock --lib \
    --features switchyard/local,switchyard/otlp
[ -d "$HOME/.m2/repository/dev/switchyard/switchyard/0.1.0" ] || make java-sdk
(cd bench/java && mvn -q -B package)

"$TARGET_DIR/release/switchyard-mock" --addr 127.0.0.1:0 > "$TARGET_DIR/bench-java-mock.out" 2>/dev/null &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  url=$(sed -n 's/^listening on //p' "$TARGET_DIR/bench-java-mock.out")
  [ -n "$url" ] && break
  sleep 0.05
done
session=$(curl -s -X POST -H 'content-type: application/json' -d '{}' "$url/_mock/sessions" | sed 's/.*"id":"\([^"]*\)".*/\1/')
# The release library, not the debug one inside the installed jar.
java -Xms256m -Xmx256m -Dswitchyard.library="$TARGET_DIR/release/libswitchyard_java.so" \
  -cp 'bench/java/target/classes:bench/java/target/lib/*' bench.JavaSdkBench "$url/s/$session" "$CALLS"
