#!/usr/bin/env bash
# Makes a fresh PostgreSQL database for one test run and prints its URL, for
# WANGGE_TEST_POSTGRES. Uses the server on 127.0.0.1:5432 (user postgres, trust auth);
# starts the machine's cluster on that port when it is installed but stopped, and installs
# PostgreSQL from Debian when there is none. Databases of earlier runs (wangge_run_*) are
# dropped first, so runs do not pile up.
#
# A server that already answers is used as it is: its configuration is never changed. Only
# a cluster this script started (or installed) is set up for the tests: Debian's default
# pg_hba.conf asks for a password over TCP, so the script puts a rule that trusts the user
# postgres from the loopback address before the others and reloads the server.
set -euo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
user=${PGUSER:-postgres}
psql_cmd=(psql -h "$host" -p "$port" -U "$user" -v ON_ERROR_STOP=1 -qAt)
# The line put into pg_hba.conf, and how the script finds it again.
marker="# wangge: the tests connect as postgres over TCP without a password (scripts/postgres-test-db.sh)"

reachable() { pg_isready -h "$host" -p "$port" -q 2>/dev/null; }
# Whether the tests can log in: over TCP, never asking for a password.
logs_in() { "${psql_cmd[@]}" -w -d postgres -c "SELECT 1" >/dev/null 2>&1; }

# The cluster this script installed or started ("version name"), which it may set up.
started_here=""
if ! command -v psql >/dev/null 2>&1 || ! reachable; then
    installed=""
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        echo "== installing PostgreSQL (Debian)" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
        installed=yes
    fi
    # The cluster on our port (the package's own is 5432); made when the package made none.
    cluster=$(pg_lsclusters --no-header | awk -v p="$port" '$3 == p {print $1" "$2; exit}')
    if [[ -z "$cluster" ]] && [[ -z "$(pg_lsclusters --no-header)" ]]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -1)
        echo "== creating PostgreSQL cluster $version main on port $port" >&2
        pg_createcluster --port "$port" "$version" main >&2
        cluster="$version main"
        installed=yes
    fi
    # The package may have started its cluster already: still the one this script brought.
    if [[ -n "$installed" ]]; then
        started_here=$cluster
    fi
    if [[ -n "$cluster" ]] && ! reachable; then
        echo "== starting PostgreSQL cluster $cluster" >&2
        # shellcheck disable=SC2086
        pg_ctlcluster $cluster start >&2 || true
        started_here=$cluster
    fi
    for _ in $(seq 1 30); do reachable && break; sleep 1; done
fi
if ! reachable; then
    echo "PostgreSQL does not answer on $host:$port; start it, or set WANGGE_TEST_POSTGRES" >&2
    exit 1
fi

if ! logs_in; then
    if [[ -z "$started_here" ]]; then
        # Somebody else's server: not ours to reconfigure.
        echo "PostgreSQL on $host:$port does not let $user in without a password; allow it" \
            "(a 'host all $user 127.0.0.1/32 trust' line first in pg_hba.conf), or set" \
            "WANGGE_TEST_POSTGRES to a URL that logs in" >&2
        exit 1
    fi
    # The cluster we started: over its Unix socket the OS user postgres gets in (peer).
    as_postgres=(runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt -d postgres)
    hba=$("${as_postgres[@]}" -c "SHOW hba_file")
    if ! grep -qF "$marker" "$hba"; then
        echo "== letting $user in from the loopback address without a password ($hba)" >&2
        {
            echo "$marker"
            echo "host all $user 127.0.0.1/32 trust"
            echo "host all $user ::1/128 trust"
            cat "$hba"
        } >"$hba.wangge"
        # Keeps the file's owner and mode: the server must still read it.
        cat "$hba.wangge" >"$hba"
        rm -f "$hba.wangge"
    fi
    "${as_postgres[@]}" -c "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 10); do logs_in && break; sleep 1; done
    if ! logs_in; then
        echo "PostgreSQL cluster $started_here still asks $user for a password; see $hba" >&2
        exit 1
    fi
fi

for old in $("${psql_cmd[@]}" -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'wangge\_run\_%'"); do
    "${psql_cmd[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)" >&2 || true
done
name="wangge_run_$(date +%Y%m%d%H%M%S)_$$"
"${psql_cmd[@]}" -d postgres -c "CREATE DATABASE \"$name\"" >&2
"${psql_cmd[@]}" -d "$name" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" >&2
echo "postgres://$user@$host:$port/$name"
