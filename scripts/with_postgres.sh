#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL cluster (temp dir, free loopback port) and its URL in
# KTRDR_TEST_POSTGRES_URL; the cluster is stopped and removed afterwards. Without PostgreSQL binaries
# the command runs as is (the PostgreSQL-backed tests then skip, unless KTRDR_REQUIRE_POSTGRES=1).
set -euo pipefail

if [[ -n "${KTRDR_TEST_POSTGRES_URL:-}" ]]; then exec "$@"; fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$pg_bin" ]]; then
  echo "with_postgres: no PostgreSQL found; running without it" >&2
  exec "$@"
fi

workdir=$(mktemp -d /tmp/ktrdr-pg.XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres:postgres "$workdir"  # the server refuses to run as root
  as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap stop EXIT

"${as_pg[@]}" "$pg_bin/initdb" -D "$workdir/data" -A trust -U postgres >"$workdir/initdb.log" 2>&1
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w \
  -o "-p $port -k $workdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
export KTRDR_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
echo "with_postgres: PostgreSQL on 127.0.0.1:$port" >&2
"$@"
