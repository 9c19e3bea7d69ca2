#!/usr/bin/env bash
# Installs the browser tests' npm packages (console-tests/package-lock.json) unless every
# package the lock names is installed at its version: a checkout whose lock gained a package
# since its last install gets it, and an up-to-date one is not touched (no network).
set -euo pipefail
cd "$(dirname "$0")/../console-tests"
stale=$(node -e '
const fs = require("fs");
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const off = Object.entries(lock.packages)
  .filter(([path]) => path.startsWith("node_modules/"))
  .filter(([path, meta]) => {
    try {
      return JSON.parse(fs.readFileSync(`${path}/package.json`, "utf8")).version !== meta.version;
    } catch {
      return true;
    }
  });
process.stdout.write(off.map(([path]) => path.slice("node_modules/".length)).join(" "));
')
if [[ -n "$stale" ]]; then
    echo "== npm packages of console-tests to install: $stale"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
