#!/usr/bin/env bash
# The Kotlin test suites, on a desktop JVM against the real native library:
# builds the library, generates the Kotlin (and Swift), compiles the
# bindings, the tests and the Android demo's plain-Kotlin layer with
# warnings as errors, then runs
#   - the bindings' suite (bindings/kotlin-tests), whose sync tests start
#     the real sync server (target/debug/wangge-server, built by build.sh)
#     on a free 127.0.0.1 port, and
#   - the demo's view-model suite (android-demo/shared/src/test).
# Closes with "N passed, M failed" over both; exits non-zero on any failure.
# Extra arguments filter tests by name, e.g. `bash scripts/test-kotlin.sh thread`.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
bash bindings/kotlin-tests/build.sh
classpath="$(cat "$target_dir/kotlin/classpath")"

passed=0
failed=0
status=0
for main in org.wangge.tests.MainKt org.wangge.demo.tests.MainKt; do
    echo "== java $main"
    log="$(mktemp)"
    set +e
    java -cp "$classpath" -Djna.library.path="$target_dir/debug" \
        -Dwangge.server="$target_dir/debug/wangge-server" "$main" "$@" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    set -e
    summary="$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
    rm -f "$log"
    if [[ -z "$summary" ]]; then
        echo "$main ended (exit $code) without a summary line" >&2
        status=1
        failed=$((failed + 1))
        continue
    fi
    [[ $code == 0 ]] || status=1
    p="$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$summary")"
    f="$(sed -E 's/.*passed, ([0-9]+) failed/\1/' <<<"$summary")"
    passed=$((passed + p))
    failed=$((failed + f))
done

[[ $failed == 0 ]] || status=1
echo "$passed passed, $failed failed"
exit $status
