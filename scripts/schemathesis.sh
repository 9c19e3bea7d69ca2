#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a live server with the demo street's data, using the
# server's own /openapi.json: fails on any 5xx answer, any status, content type or body
# that the document does not allow. Needs `schemathesis` on PATH (.ci/run installs it).
#
#   bash scripts/schemathesis.sh [max examples per operation, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
examples=${1:-60}

if ! command -v schemathesis >/dev/null 2>&1; then
    echo "schemathesis is not installed: pip install schemathesis==4.32.5 (.ci/run does)" >&2
    exit 1
fi

cargo build -q --locked -p wangge-sync-server --bin wangge-server
bin="${CARGO_TARGET_DIR:-$root/target}/debug/wangge-server"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && exec "$bin" demo --stay --listen "127.0.0.1:$port" >demo.log 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

token=""
for _ in $(seq 1 600); do
    token=$(sed -n 's/.*Centre token: \([^ ]*\).*/\1/p' "$work/demo.log" | head -n 1)
    [[ -n "$token" ]] && break
    if ! kill -0 $server 2>/dev/null; then
        cat "$work/demo.log" >&2
        echo "the demo server exited before serving" >&2
        exit 1
    fi
    sleep 0.2
done
if [[ -z "$token" ]]; then
    echo "the demo server did not print its centre token in 120 s" >&2
    exit 1
fi

# An Open311 key for the WeChat channel, signed by the demo's centre operator.
WANGGE_OPEN311_KEY=$("$bin" --db "$work/.wangge-demo/server.sqlite3" apikey create \
    --channel wechat --person XT-CC-001 --name schemathesis 2>/dev/null | sed -n 's/^api_key=//p')
if [[ -z "$WANGGE_OPEN311_KEY" ]]; then
    echo "could not make an Open311 API key for the run" >&2
    exit 1
fi
export WANGGE_OPEN311_KEY

# One worker: with two, hypothesis (in schemathesis) describes its lambdas with `ast.parse`
# from two threads at once, and this machine's Python 3.11.7 then fails now and then with
# "SystemError: AST constructor recursion depth mismatch" (a CPython race on the parser's
# recursion counter), a runtime error of the tool that failed a CI run though every case
# passed. One worker took 37 s for 100 examples per operation, as two did (33-40 s).
echo "== schemathesis against http://127.0.0.1:$port/openapi.json ($examples examples per operation)"
schemathesis --config-file scripts/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" \
    --workers 1 \
    --seed 20261206 \
    --suppress-health-check all \
    --no-color
