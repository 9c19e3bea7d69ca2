#!/usr/bin/env bash
# Benchmark of the Kotlin API on the JVM against the native library (not a
# test): record 1,000 cases, list 1,000 cases in one call, one small call.
# Prints medians and 95th percentiles. The library is the debug build the
# tests use; pass --release to measure an optimised one.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
profile=debug
if [[ "${1:-}" == "--release" ]]; then
    cargo build --locked --release -p wangge-bindings --lib
    profile=release
fi
bash bindings/kotlin-tests/build.sh >&2
exec java -cp "$(cat "$target_dir/kotlin/classpath")" -Djna.library.path="$target_dir/$profile" \
    org.wangge.bench.BenchKt "$target_dir/kotlin/bench"
