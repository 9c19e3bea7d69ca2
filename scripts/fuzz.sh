#!/usr/bin/env bash
# Fuzzes the sync server's push path (SyncRequest::decode -> merge_push:
# strict Automerge load, authority rules, save-and-load-back) on stable Rust.
#
# Usage: bash scripts/fuzz.sh [seconds] [extra fuzz_push options]
#   seconds  how long to run (default 300)
#   FUZZ_SEED=n  PRNG seed (default 1): the same seed replays the same inputs
#
# Builds sync-server/examples/fuzz_push.rs in release and runs it from the
# committed seed corpus fuzz/corpus/ (stored documents + valid requests;
# regenerate with `... --example fuzz_push -- --write-corpus`). Findings
# (escaped panics, broken invariants, inputs over 2 s) are saved as
# fuzz/findings/<sha>.bin with a .txt description; the CI test
# `cargo test -p wangge-sync-server --test fuzz_regressions` replays them.
# The input being run is kept in fuzz/last-input.bin, so a process killed
# by an abort or out-of-memory leaves the culprit behind.
#
# Exit status: 0 no findings, 1 findings, other: the driver died.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
cargo build --release -p wangge-sync-server --example fuzz_push
start=$(date +%s)
set +e
"${CARGO_TARGET_DIR:-target}/release/examples/fuzz_push" --seconds "$seconds" --seed "${FUZZ_SEED:-1}" \
    --trace fuzz/last-input.bin "$@"
status=$?
set -e
echo "fuzz.sh: ran $(( $(date +%s) - start )) s wall clock, exit status $status"
if [ "$status" -gt 1 ]; then
    echo "fuzz.sh: the driver died; the input it was running is fuzz/last-input.bin" >&2
else
    rm -f fuzz/last-input.bin
fi
exit "$status"
