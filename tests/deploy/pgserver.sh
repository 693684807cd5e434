# shellcheck shell=bash
# Sourced by the deploy checks that need a PostgreSQL server: initdb into a directory of
# the caller's, postgres on 127.0.0.1 only, on a free port, run as the "postgres" user of
# Debian's package (the server refuses root). Local (socket) connections are trusted;
# TCP connections need the password of the superuser "custos".
#   pg_start DIR PASSWORD   sets pg_bin, pg_port, pg_data; fails the caller on error
#                           (DIR is created; its parent must be searchable by postgres)
#   pg_psql SQL             runs SQL on the database "postgres" over the socket
#   pg_stop                 fast shutdown (safe to call when nothing runs)
# The caller defines fail() and free_port().

pg_bin="" pg_port="" pg_data="" pg_dir=""

pg_start() {
  pg_dir=$1
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1)
  [ -n "$pg_bin" ] && [ -x "$pg_bin/postgres" ] ||
    fail "no PostgreSQL server under /usr/lib/postgresql (scripts/setup installs it)"
  mkdir -m 0700 "$pg_dir"
  printf '%s\n' "$2" > "$pg_dir/pwfile"
  chown -R postgres: "$pg_dir"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U custos --pwfile="$pg_dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync > "$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; fail "initdb failed"; }
  local _
  for _ in 1 2 3; do
    pg_port=$(free_port)
    if runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
         -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir" start > /dev/null; then
      pg_data=$pg_dir/data
      return 0
    fi
  done
  cat "$pg_dir/server.log" >&2
  fail "PostgreSQL did not start"
}

pg_psql() {
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -h "$pg_dir" -p "$pg_port" -U custos -d postgres -c "$1"
}

pg_stop() {
  [ -n "$pg_data" ] || return 0
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop > /dev/null 2>&1 || true
  pg_data=""
}
