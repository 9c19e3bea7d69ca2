#!/usr/bin/env bash
# Runs the field app's flow on a desktop JVM and prints what its screens
# show: the demo's plain-Kotlin view models over the real native library.
#
# By default it also starts a local sync server (target/debug/wangge-server,
# database in the store folder, a free 127.0.0.1 port), imports the demo
# roster (sync-server/data/roster-demo.json) and enrols two phones to two
# grid officers of block XT-B1 (XT-GO-001, XT-GO-002) through the server's
# CLI; the officer's phone signs in as its person, and at the end of the day it
# syncs (printing the progress and the sync status screen) and a second
# phone of the same block syncs and shows what it received. The server is
# stopped when the demo ends.
#
# Usage: bash android-demo/run-jvm.sh [--offline] [store folder, default target/kotlin/demo]
#   --offline   no server: the flow stays on the phone
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"

offline=0
folder="$target_dir/kotlin/demo"
for arg in "$@"; do
    case "$arg" in
        --offline) offline=1 ;;
        -*) echo "run-jvm.sh: unknown option $arg (usage: run-jvm.sh [--offline] [folder])" >&2; exit 2 ;;
        *) folder="$arg" ;;
    esac
done

bash bindings/kotlin-tests/build.sh >&2
run() {
    java -cp "$(cat "$target_dir/kotlin/classpath")" -Djna.library.path="$target_dir/debug" \
        org.wangge.demo.jvm.DemoMainKt "$@"
}
if [[ $offline == 1 ]]; then
    run "$folder"
    exit
fi

server="$target_dir/debug/wangge-server"
mkdir -p "$folder"
db="$folder/server.sqlite3"
rm -f "$db" "$db-wal" "$db-shm"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
value() { sed -n "s/^$1=//p"; }
"$server" --db "$db" roster import sync-server/data/roster-demo.json >&2
phone1="$("$server" --db "$db" enroll --name "网格一组-手持01" --person XT-GO-001 --blocks XT-B1)"
phone2="$("$server" --db "$db" enroll --name "网格一组-手持02" --person XT-GO-002 --blocks XT-B1)"
"$server" --db "$db" serve --listen "127.0.0.1:$port" >"$folder/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$folder/server.log" >&2; exit 1; }
    sleep 0.1
done
echo "sync server: http://127.0.0.1:$port (database $db, log $folder/server.log)"
run "$folder" --server "http://127.0.0.1:$port" \
    --token "$(value token <<<"$phone1")" --device "$(value device_id <<<"$phone1")" \
    --token2 "$(value token <<<"$phone2")" --device2 "$(value device_id <<<"$phone2")"
