#!/usr/bin/env bash
# Generates the Kotlin and Swift sources of the Wangge API from the built
# library (uniffi library mode):
#
#   bindings/kotlin/org/wangge/core/wangge.kt        the Kotlin API (package org.wangge.core)
#   bindings/swift/Sources/Wangge/Wangge.swift       the Swift API (module Wangge)
#   bindings/swift/Headers/WanggeFFI.h               the C header of the FFI, and
#   bindings/swift/Headers/module.modulemap          its module map (both go into the xcframework)
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
mv "$tmp/Wangge.swift" bindings/swift/Sources/Wangge/Wangge.swift
mv "$tmp/WanggeFFI.h" bindings/swift/Headers/WanggeFFI.h
mv "$tmp/WanggeFFI.modulemap" bindings/swift/Headers/module.modulemap

echo "generated:"
find bindings/kotlin bindings/swift/Sources bindings/swift/Headers -type f | sort | sed 's/^/  /'
