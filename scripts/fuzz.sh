#!/usr/bin/env bash
# Fuzzes on stable Rust, target by target, for a set time each:
#   push     the sync server's push path (SyncRequest::decode -> merge_push:
#            strict Automerge load, authority rules, save-and-load-back)
#   catalog  the checklist, calendar and grid loaders (Catalog::load)
#   roster   the roster loader (roster::parse)
#   photo    the photo import (photo::prepare)
#
# Usage: bash scripts/fuzz.sh [seconds] [target ...]
#   seconds        how long each target runs (default 300)
#   target ...     which targets (default: all of them)
#   FUZZ_SEED=n    PRNG seed (default 1): the same seed replays the same inputs
#   FUZZ_JOBS=n    targets run at once (default 1; each is one process on one core)
#   FUZZ_PROFILE   release (default: the fastest inputs) or dev (reuses what
#                  `cargo test` built: no release build, as CI runs it)
#
# Builds sync-server/examples/fuzz.rs and runs it once per target from the
# committed seed corpus fuzz/corpus/<target>/ (regenerate one with
# `... --example fuzz -- --target NAME --write-corpus`). Findings (escaped
# panics, broken invariants, inputs over 2 s, for the photo import peak
# memory over its budget) are saved as fuzz/findings/<target>/<sha>.bin with
# a .txt description; `cargo test -p wangge-sync-server --test
# fuzz_regressions` replays them all. The input being run is kept in
# fuzz/last-input-<target>.bin, so a process killed by an abort or
# out-of-memory leaves the culprit behind. Each target's full output is in
# target/fuzz-logs/<target>.log.
#
# Exit status: 0 no findings, 1 findings, 2 a driver died (or bad arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
case "$seconds" in
    '' | *[!0-9]*) echo "fuzz.sh: seconds must be a number, not $seconds" >&2; exit 2 ;;
esac
jobs="${FUZZ_JOBS:-1}"
profile="${FUZZ_PROFILE:-release}"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$profile" in
    release)
        cargo build --release --locked -p wangge-sync-server --example fuzz
        driver="$target_dir/release/examples/fuzz" ;;
    dev)
        # The whole workspace's examples, as `cargo test --workspace --examples` selects
        # them: the same features, so every library `cargo test` built is reused.
        cargo build --locked --workspace --examples
        driver="$target_dir/debug/examples/fuzz" ;;
    *) echo "fuzz.sh: FUZZ_PROFILE is release or dev, not $profile" >&2; exit 2 ;;
esac
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("$driver" --list)
fi
logs="$target_dir/fuzz-logs"
mkdir -p "$logs"

run_one() {
    local t="$1" status=0
    "$driver" --target "$t" --seconds "$seconds" --seed "${FUZZ_SEED:-1}" \
        --trace "fuzz/last-input-$t.bin" >"$logs/$t.log" 2>&1 || status=$?
    if [ "$status" -le 1 ]; then
        rm -f "fuzz/last-input-$t.bin"
    fi
    echo "$status" >"$logs/$t.status"
}

start=$(date +%s)
echo "fuzz.sh: ${targets[*]}: $seconds s each, $jobs at a time, $profile build, seed ${FUZZ_SEED:-1}"
running=0
for t in "${targets[@]}"; do
    rm -f "$logs/$t.status"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

worst=0
printf '%-8s %12s %10s %9s  %s\n' target inputs inputs/s findings status
for t in "${targets[@]}"; do
    status=$(cat "$logs/$t.status" 2>/dev/null || echo 2)
    result=$(grep '^RESULT ' "$logs/$t.log" | tail -n 1 || true)
    inputs=$(sed -n 's/.* inputs=\([0-9]*\).*/\1/p' <<<"$result")
    ran=$(sed -n 's/.* seconds=\([0-9]*\).*/\1/p' <<<"$result")
    found=$(sed -n 's/.* findings=\([0-9]*\).*/\1/p' <<<"$result")
    rate=$([ -n "$inputs" ] && [ "${ran:-0}" -gt 0 ] && echo $((inputs / ran)) || echo -)
    case "$status" in
        0) what=ok ;;
        1) what="findings in fuzz/findings/$t/" ;;
        *) what="driver died (status $status)"
           if [ -f "fuzz/last-input-$t.bin" ]; then
               what="$what: the input it was running is fuzz/last-input-$t.bin"
           fi ;;
    esac
    printf '%-8s %12s %10s %9s  %s\n' "$t" "${inputs:--}" "$rate" "${found:--}" "$what"
    if [ "$status" -ne 0 ]; then
        grep -E '^FINDING ' "$logs/$t.log" | head -n 20 || true
        [ "$status" -gt 1 ] && tail -n 20 "$logs/$t.log"
    fi
    [ "$status" -gt "$worst" ] && worst=$status
done
echo "fuzz.sh: ran $(($(date +%s) - start)) s wall clock; full output in $logs/"
[ "$worst" -gt 2 ] && worst=2
exit "$worst"
