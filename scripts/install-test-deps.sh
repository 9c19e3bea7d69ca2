#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, skipping what is present:
# clippy and rustfmt; a JDK and JNA (Debian) and the Kotlin compiler (npm) for the Kotlin
# tests; schemathesis (PyPI) for the API conformance run; Chromium (Debian) and
# playwright-core and jsqr (npm, console-tests/) for the console's browser tests. Called by
# scripts/test.sh, so the README's one test command works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    rustup component add clippy rustfmt
fi

# The phone's store is SQLCipher with a vendored OpenSSL (core/Cargo.toml, feature
# `sqlcipher`), which is built from source by its Configure (perl, with IPC::Cmd) and make.
if ! command -v make >/dev/null 2>&1 || ! perl -MIPC::Cmd -e 1 >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq perl make
fi

if ! command -v javac >/dev/null 2>&1 || [[ ! -f /usr/share/java/jna.jar ]]; then
    apt-get update -qq
    apt-get install -y -qq libjna-java default-jdk-headless
fi
if [[ ! -x bindings/kotlin-tests/.tools/node_modules/kotlin-compiler/bin/kotlinc ]]; then
    npm install --prefix bindings/kotlin-tests/.tools --no-save --no-audit --no-fund kotlin-compiler@2.4.20
fi

if ! command -v schemathesis >/dev/null 2>&1; then
    python3 -m pip install -q schemathesis==4.32.5
    # pyenv installs console scripts behind shims that appear after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

# The console's browser tests drive Debian's Chromium (never a browser downloaded by
# Playwright); a CJK font makes their screenshots legible.
if [[ ! -x /usr/bin/chromium ]]; then
    apt-get update -qq
    apt-get install -y -qq chromium fonts-wqy-zenhei
fi
bash scripts/console-npm.sh
