#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and the benchmark (Debian's PostgreSQL 15, or
# PG_BIN): trust authentication, listening on 127.0.0.1 only, on a free port.
#
#   scripts/postgres.sh start DIR [SETTING=VALUE ...]   initdb in DIR, start; prints the URL
#                                                          postgres://postgres@127.0.0.1:PORT
#   scripts/postgres.sh stop DIR                         stop it (DIR can then be removed)
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user (which
# Debian's package creates) and runs as it.
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
command=${1:?start or stop}
dir=${2:?the cluster folder}
shift 2

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log"
    port=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
    options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=400"
    for setting in "$@"; do options="$options -c $setting"; done
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
    ;;
  *)
    echo "usage: $0 start|stop DIR [SETTING=VALUE ...]" >&2
    exit 2
    ;;
esac
