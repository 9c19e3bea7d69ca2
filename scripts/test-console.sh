#!/usr/bin/env bash
# The console's browser tests (console-tests/): Debian's Chromium, headless, driven by
# playwright-core against a real server (the console-fixture binary of the wangge-e2e
# crate: the demo street on a fresh database, with a clock the tests move). Each test saves
# screenshots under target/console-tests/screenshots/. Needs /usr/bin/chromium and the npm
# packages of console-tests/ (scripts/install-test-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$PWD/$target"

echo "== building the console's test server (console-fixture)"
cargo build -p wangge-e2e --bin console-fixture --locked

bash scripts/console-npm.sh

export WANGGE_CONSOLE_FIXTURE="$target/debug/console-fixture"
export WANGGE_CONSOLE_SCREENSHOTS="$target/console-tests/screenshots"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
rm -rf "$WANGGE_CONSOLE_SCREENSHOTS"

echo "== browser tests (Chromium $(/usr/bin/chromium --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n 1), headless)"
status=0
# A test that hangs fails after 2 minutes instead of holding CI.
node --test --test-timeout=120000 console-tests/*.test.mjs || status=$?
shots=$(find "$WANGGE_CONSOLE_SCREENSHOTS" -name '*.png' 2>/dev/null | wc -l)
echo "== screenshots: $shots in $WANGGE_CONSOLE_SCREENSHOTS"
exit "$status"
