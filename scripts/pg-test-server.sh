#!/bin/sh
# Starts a throwaway PostgreSQL 15 + PostGIS 3 server on loopback for the test suite (once;
# a second call finds it running) and prints the URL the tests read from
# TWEELING_TEST_PG_URL. Installs the Debian packages when they are missing and we are root
# with apt-get; otherwise says what is missing and exits 1. As root the server runs as the
# postgres user with its data in /var/tmp/tweeling-pg; as anyone else, as that user with its
# data in $TMPDIR. Used by `make test` (and so by .ci/run).
set -eu
PORT="${TWEELING_TEST_PG_PORT:-54329}"
BIN=/usr/lib/postgresql/15/bin
present() { [ -x "$BIN/postgres" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; }
if ! present; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-15-postgis-3 >&2
    else
        echo "no PostgreSQL 15 + PostGIS 3 here (Debian: apt-get install postgresql postgresql-15-postgis-3, or make system-deps as root)" >&2
        exit 1
    fi
fi
if [ "$(id -u)" = "0" ]; then
    DATA=/var/tmp/tweeling-pg
    as_server() { su postgres -c "$1"; }
else
    DATA="${TMPDIR:-/tmp}/tweeling-pg-$(id -u)"
    as_server() { sh -c "$1"; }
fi
if ! [ -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$DATA"
    as_server "$BIN/initdb -D $DATA -A trust -U postgres --no-sync" >&2
fi
if ! as_server "$BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
    as_server "$BIN/pg_ctl -D $DATA -l $DATA/server.log -w -o '-c listen_addresses=127.0.0.1 -p $PORT -c fsync=off -c synchronous_commit=off -c unix_socket_directories=/tmp' start" >&2
fi
PSQL="psql -h 127.0.0.1 -p $PORT -U postgres"
$PSQL -tAc "SELECT 1 FROM pg_database WHERE datname='tweeling_test'" | grep -q 1 \
    || $PSQL -c "CREATE DATABASE tweeling_test" >&2
$PSQL -d tweeling_test -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/tweeling_test"
