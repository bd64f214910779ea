#!/usr/bin/env bash
# The C ABI's test (make test-c): tests/abi_test.c compiled with AddressSanitizer and
# LeakSanitizer (the Rust library itself unsanitized), run against the mock provider; then
# examples/c built and run the same way.
# Needs libswitchyard_c.so and switchyard-mock in $CARGO_TARGET_DIR/debug (or target/debug).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
lib="${CARGO_TARGET_DIR:-$root/target}/debug"
mock_bin="${SWITCHYARD_MOCK_BIN:-$lib/switchyard-mock}"
work="$(mktemp -d)"
mock_pid=""
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$mock_bin" --addr 127.0.0.1:0 >"$work/mock.out" 2>/dev/null &
mock_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/mock.out" 2>/dev/null && break
  sleep 0.05
done
mock="$(sed -n 's/^listening on //p' "$work/mock.out" | head -1)"
[ -n "$mock" ] || { echo "the mock did not start" >&2; exit 1; }
script='{"models":{"gpt-4o-mini":[{"content":"hello from the mock"}],"slow-upstream":[{"fault":"hang"}]}}'
id="$(curl -sf -X POST -H 'content-type: application/json' -d "$script" "$mock/_mock/sessions" | sed 's/.*"id":"\{0,1\}\([^",}]*\).*/\1/')"
base="$mock/s/$id/v1"
config="{\"version\":1,\"providers\":{\"oa\":{\"kind\":\"openai\",\"base_url\":\"$base\"}},\
\"models\":{\"chat\":{\"deployments\":[{\"provider\":\"oa\",\"model\":\"gpt-4o-mini\"}]},\
\"slow\":{\"deployments\":[{\"provider\":\"oa\",\"model\":\"slow-upstream\"}]},\
\"embed\":{\"type\":\"embedding\",\"deployments\":[{\"provider\":\"oa\",\"model\":\"text-embedding-3-small\"}]}},\
\"guardrails\":{\"deny\":[{\"name\":\"top-secret\",\"pattern\":\"(?i)top secret\"}]}}"

cc_flags=(-std=c11 -Wall -Wextra -Werror -g -fsanitize=address -fno-omit-frame-pointer
  -I"$here/include" -L"$lib" -Wl,-rpath,"$lib")
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0


cc "${cc_flags[@]}" -o "$work/abi_test" "$here/tests/abi_test.c" -lswitchyard_c -lpthread
"$work/abi_test" "$config"

cc "${cc_flags[@]}" -o "$work/example" "$root/examples/c/chat.c" -lswitchyard_c -lpthread
out="$("$work/example" "$config")"
echo "$out"
grep -q 'hello from the mock' <<<"$out" || { echo "the C example did not print the answer" >&2; exit 1; }
echo "examples/c: 1 passed, 0 failed"
