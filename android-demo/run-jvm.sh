#!/usr/bin/env bash
# Runs the field app's flow on a desktop JVM and prints what its screens
# show: the demo's plain-Kotlin view models over the real native library.
# Usage: bash android-demo/run-jvm.sh [store folder, default target/kotlin/demo]
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
bash bindings/kotlin-tests/build.sh >&2
exec java -cp "$(cat "$target_dir/kotlin/classpath")" -Djna.library.path="$target_dir/debug" \
    org.wangge.demo.jvm.DemoMainKt "${1:-$target_dir/kotlin/demo}"
