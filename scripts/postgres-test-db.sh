#!/usr/bin/env bash
# Makes a fresh PostgreSQL database for one test run and prints its URL, for
# WANGGE_TEST_POSTGRES. Uses the server on 127.0.0.1:5432 (user postgres, trust auth);
# starts the machine's cluster when it is installed but stopped, and installs
# PostgreSQL from Debian when there is none. Databases of earlier runs
# (wangge_run_*) are dropped first, so runs do not pile up.
set -euo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
user=${PGUSER:-postgres}
psql_cmd=(psql -h "$host" -p "$port" -U "$user" -v ON_ERROR_STOP=1 -qAt)

reachable() { pg_isready -h "$host" -p "$port" -q 2>/dev/null; }

if ! command -v psql >/dev/null 2>&1 || ! reachable; then
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        echo "== installing PostgreSQL (Debian)" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
    fi
    cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
    if [[ -n "$cluster" ]] && ! reachable; then
        echo "== starting PostgreSQL cluster $cluster" >&2
        # shellcheck disable=SC2086
        pg_ctlcluster $cluster start >&2 || true
    fi
    for _ in $(seq 1 30); do reachable && break; sleep 1; done
fi
if ! reachable; then
    echo "PostgreSQL does not answer on $host:$port; start it, or set WANGGE_TEST_POSTGRES" >&2
    exit 1
fi

for old in $("${psql_cmd[@]}" -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'wangge\_run\_%'"); do
    "${psql_cmd[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)" >&2 || true
done
name="wangge_run_$(date +%Y%m%d%H%M%S)_$$"
"${psql_cmd[@]}" -d postgres -c "CREATE DATABASE \"$name\"" >&2
"${psql_cmd[@]}" -d "$name" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" >&2
echo "postgres://$user@$host:$port/$name"
