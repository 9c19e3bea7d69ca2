#!/usr/bin/env bash
# Runs the several-instances test (sync-server/tests/instances.rs: three servers on one
# PostgreSQL database, twenty phones, the centre registering and dispatching) with N
# different seeds in a row (default 20), each printed. Needs WANGGE_TEST_POSTGRES, or makes
# a fresh database with scripts/postgres-test-db.sh.
#   bash scripts/instances.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
if [[ -z "${WANGGE_TEST_POSTGRES:-}" ]]; then
    WANGGE_TEST_POSTGRES=$(bash scripts/postgres-test-db.sh)
    export WANGGE_TEST_POSTGRES
fi
cargo test -p wangge-sync-server --test instances --no-run --locked
for i in $(seq 1 "$runs"); do
    seed=$(( $(date +%s%N) % 1000000007 + i ))
    echo "== run $i of $runs: WANGGE_INSTANCES_SEED=$seed"
    WANGGE_INSTANCES_SEED=$seed cargo test -q -p wangge-sync-server --test instances --locked -- --nocapture 2>&1 \
        | grep -E "^seed|test result|panicked|assert" || { echo "run $i failed (seed $seed)"; exit 1; }
done
echo "== $runs runs passed"
