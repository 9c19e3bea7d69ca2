#!/usr/bin/env bash
# Builds everything the JVM runs, without Gradle:
#   1. the native library (debug), uniffi-bindgen, and the sync server
#      (target/debug/wangge-server, which the Kotlin sync tests and the
#      demo's --server flow start),
#   2. the generated Kotlin and Swift (bindings/generate.sh),
#   3. one kotlinc run, warnings as errors, over the generated bindings, the
#      Kotlin tests and benchmark (bindings/kotlin-tests), and the demo's
#      plain-Kotlin layer, its tests and its JVM runner (android-demo/),
#      into $target/kotlin/classes; the classpath to run them is written to
#      $target/kotlin/classpath.
# Used by scripts/test-kotlin.sh, scripts/bench-kotlin.sh and
# android-demo/run-jvm.sh. Needs the Kotlin compiler (npm `kotlin-compiler`,
# in bindings/kotlin-tests/.tools) and JNA (Debian `libjna-java`).
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
kotlin_home="bindings/kotlin-tests/.tools/node_modules/kotlin-compiler"
kotlinc="$kotlin_home/bin/kotlinc"
jna="${JNA_JAR:-/usr/share/java/jna.jar}"

missing=0
if [[ ! -x "$kotlinc" ]]; then
    echo "build.sh: the Kotlin compiler is missing; install it with" >&2
    echo "  npm install --prefix bindings/kotlin-tests/.tools --no-save --no-audit --no-fund kotlin-compiler@2.4.20" >&2
    missing=1
fi
if [[ ! -f "$jna" ]]; then
    echo "build.sh: JNA is missing ($jna); install it with: apt-get install -y libjna-java" >&2
    missing=1
fi
if ! command -v java >/dev/null; then
    echo "build.sh: java is missing; install it with: apt-get install -y default-jdk-headless" >&2
    missing=1
fi
[[ $missing == 0 ]] || exit 2

echo "== native library and generated bindings"
cargo build --locked -p wangge-bindings --lib --bin uniffi-bindgen
cargo build --locked -p wangge-sync-server --bin wangge-server
bash bindings/generate.sh --no-build

out="$target_dir/kotlin"
rm -rf "$out/classes"
mkdir -p "$out/classes"
libs="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar:$jna"
mapfile -t sources < <(find \
    bindings/kotlin \
    bindings/kotlin-tests/src \
    bindings/kotlin-tests/bench \
    android-demo/shared/src/main/kotlin \
    android-demo/shared/src/test/kotlin \
    android-demo/jvm/src/main/kotlin \
    -name '*.kt' | sort)
echo "== kotlinc -Werror (${#sources[@]} files)"
"$kotlinc" -Werror -cp "$libs" -d "$out/classes" "${sources[@]}"
echo "$out/classes:$kotlin_home/lib/kotlin-stdlib.jar:$libs" >"$out/classpath"
