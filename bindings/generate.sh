#!/usr/bin/env bash
# Generates the Kotlin and Swift sources of the Wangge API from the built
# library (uniffi library mode):
#
#   bindings/kotlin/org/wangge/core/wangge.kt              the Kotlin API (package org.wangge.core)
#   bindings/kotlin/org/wangge/core/model/wangge_core.kt   the core's plain types (package
#                                                          org.wangge.core.model, core/uniffi.toml)
#   bindings/swift/Sources/Wangge/Wangge.swift             the Swift API (module Wangge), and
#   bindings/swift/Sources/Wangge/WanggeCore.swift         the core's plain types (same module)
#   bindings/swift/Headers/WanggeFFI.h, WanggeCoreFFI.h    the C headers of the FFI, and
#   bindings/swift/Headers/module.modulemap                one module map over both (all go
#                                                          into the xcframework)
#
# Usage: bash bindings/generate.sh [--no-build]
#   --no-build   use the library already in target/debug (CI builds it just before)
#
# The generated sources are not committed: they are a pure function of the
# library, and CI regenerates them on every run (scripts/test-kotlin.sh), so
# they can never drift from the Rust they describe.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
if [[ "${1:-}" != "--no-build" ]]; then
    cargo build --locked -p wangge-bindings --lib --bin uniffi-bindgen
fi

case "$(uname -s)" in
    Darwin) lib="$target_dir/debug/libwangge_ffi.dylib" ;;
    *) lib="$target_dir/debug/libwangge_ffi.so" ;;
esac
bindgen="$target_dir/debug/uniffi-bindgen"
for f in "$lib" "$bindgen"; do
    if [[ ! -f "$f" ]]; then
        echo "generate.sh: $f is missing; run without --no-build" >&2
        exit 1
    fi
done

# Kotlin.
rm -rf bindings/kotlin
"$bindgen" generate "$lib" --language kotlin --out-dir bindings/kotlin --no-format

# Swift: the sources for the package, the header and module map for the
# xcframework (see bindings/README.md, "iOS").
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bindgen" generate "$lib" --language swift --out-dir "$tmp" --no-format
rm -rf bindings/swift/Sources bindings/swift/Headers
mkdir -p bindings/swift/Sources/Wangge bindings/swift/Headers
mv "$tmp/Wangge.swift" "$tmp/WanggeCore.swift" bindings/swift/Sources/Wangge/
mv "$tmp/WanggeFFI.h" "$tmp/WanggeCoreFFI.h" bindings/swift/Headers/
# uniffi writes one module map per namespace, each naming its own header; both namespaces
# share the C module WanggeFFI (core/uniffi.toml), so one map names both headers.
cat >bindings/swift/Headers/module.modulemap <<'MAP'
module WanggeFFI {
    header "WanggeFFI.h"
    header "WanggeCoreFFI.h"
    export *
    use "Darwin"
    use "_Builtin_stdbool"
    use "_Builtin_stdint"
}
MAP

echo "generated:"
find bindings/kotlin bindings/swift/Sources bindings/swift/Headers -type f | sort | sed 's/^/  /'
