#!/usr/bin/env bash
# A private PostgreSQL for the tests: `start` initialises a data directory under
# target/postgres (once), listens on 127.0.0.1 at $TAI_PG_PORT (default 54329) with its socket
# in that directory, and prints the URL the tests read from TAI_TEST_POSTGRES; `stop` stops it.
# Run as root, the server runs as the unprivileged user `tai-ci` (PostgreSQL refuses root).
# Debian's postgresql package is installed when missing and apt-get is at hand as root.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${TAI_PG_PORT:-54329}
base=$(pwd)/target/postgres
# As root the server runs as `tai-ci`, which may not reach a checkout under a private home
# (/root is 0700): then its data lives in a folder of its own under /tmp instead.
if [ "$(id -u)" = 0 ] && id tai-ci >/dev/null 2>&1 \
   && ! runuser -u tai-ci -- test -x "$(pwd)" 2>/dev/null; then
  base=/tmp/tai-ci-postgres-$port
fi
data=$base/data
log=$base/server.log

bin=""
for v in 17 16 15 14 13; do
  if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then bin=/usr/lib/postgresql/$v/bin; break; fi
done

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # From `/`: the checkout itself may be out of the server user's reach.
    (cd / && runuser -u tai-ci -- "$@")
  else
    "$@"
  fi
}

start() {
  if [ -z "$bin" ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      echo "installing postgresql for the ledger tests" >&2
      (export DEBIAN_FRONTEND=noninteractive
       apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null 2>&1
      bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    else
      echo "no PostgreSQL (initdb, pg_ctl) and no apt-get as root" >&2
      return 1
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! id tai-ci >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin tai-ci
    if ! runuser -u tai-ci -- test -x "$(pwd)" 2>/dev/null; then
      base=/tmp/tai-ci-postgres-$port data=/tmp/tai-ci-postgres-$port/data
      log=/tmp/tai-ci-postgres-$port/server.log
    fi
  fi
  mkdir -p "$base"
  if [ "$(id -u)" = 0 ]; then chown tai-ci "$base"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 start \
      -o "-h 127.0.0.1 -p $port -k $base -c max_connections=300 -c fsync=on" >/dev/null
  fi
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
