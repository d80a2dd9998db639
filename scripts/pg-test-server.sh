#!/bin/sh
# Installs (Debian packages) and starts a PostgreSQL 15 + PostGIS 3 server on loopback for
# the test suite, then prints the URL the tests read from TWEELING_TEST_PG_URL.
# Used by .ci/run; runs the same way on a developer machine (as root).
set -eu
PORT="${TWEELING_TEST_PG_PORT:-54329}"
DATA=/var/tmp/tweeling-pg
if ! [ -x /usr/lib/postgresql/15/bin/postgres ] || ! [ -f /usr/share/postgresql/15/extension/postgis.control ]; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-15-postgis-3 >&2
fi
BIN=/usr/lib/postgresql/15/bin
if ! [ -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    chown postgres:postgres "$DATA"
    su postgres -c "$BIN/initdb -D $DATA -A trust -U postgres --no-sync" >&2
fi
if ! su postgres -c "$BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
    su postgres -c "$BIN/pg_ctl -D $DATA -l $DATA/server.log -w -o '-c listen_addresses=127.0.0.1 -p $PORT -c fsync=off -c synchronous_commit=off -c unix_socket_directories=/tmp' start" >&2
fi
psql -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='tweeling_test'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE tweeling_test" >&2
psql -h 127.0.0.1 -p "$PORT" -U postgres -d tweeling_test -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/tweeling_test"
