#!/usr/bin/env bash
# Runs every check and test of the project, as CI does: formatting, lints,
# then the whole test suite (unit, integration, property and crash tests).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== what the tests need (JDK, JNA, Kotlin, schemathesis, Chromium, playwright-core; skipped when present)"
bash scripts/install-test-deps.sh

echo "== a fresh PostgreSQL database for the PostgreSQL backend's tests"
if [[ -z "${WANGGE_TEST_POSTGRES:-}" ]]; then
    WANGGE_TEST_POSTGRES=$(bash scripts/postgres-test-db.sh)
    export WANGGE_TEST_POSTGRES
fi
echo "WANGGE_TEST_POSTGRES=$WANGGE_TEST_POSTGRES"

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# Benchmarks are built by clippy above but not run here: they measure, they do not test.
cargo test --workspace --lib --bins --tests --examples --locked

echo "== doc tests"
cargo test --workspace --doc --locked

echo "== fuzzing: every target for 30 s (scripts/fuzz.sh; the dev build cargo test made, two at a time)"
FUZZ_PROFILE=dev FUZZ_JOBS=2 bash scripts/fuzz.sh 30

echo "== Kotlin on the JVM (bindings and the Android demo's view models)"
bash scripts/test-kotlin.sh

echo "== the console in Chromium (browser tests against a real server)"
bash scripts/test-console.sh

echo "== schemathesis against a live server (OpenAPI conformance: no 5xx, no schema violation)"
bash scripts/schemathesis.sh 100
