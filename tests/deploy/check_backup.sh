#!/usr/bin/env bash
# deploy/scripts/custos-backup, the command behind custos-backup.timer, the compose backup
# profile and the Kubernetes CronJobs:
#  1. SQLite: backups of a running gateway's store hold what it accepted (the WAL
#     included), pass PRAGMA integrity_check, and only the newest --keep stay.
#  2. The README's restore: the gateway stopped, a backup put in place of the store, the
#     gateway serves the attestation it had accepted before the backup.
#  3. PostgreSQL: pg_dump of a live database, the password from PGPASSWORD, restored into
#     another database with the same rows; a wrong password fails.
#  4. Bad input fails with a message saying what is wrong, and leaves no file behind.
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}" "${CLI_BIN:?}" "${NODE:?}"
backup=$src/deploy/scripts/custos-backup

fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() {
  "$NODE" -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
# shellcheck source=tests/deploy/pgserver.sh
. "$src/tests/deploy/pgserver.sh"
tmp=$(mktemp -d)
chmod 0755 "$tmp" # the postgres user and the refusal checks' nobody reach inside
gw_pid=""
cleanup() {
  if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2> /dev/null; then
    kill -TERM "$gw_pid"
    wait "$gw_pid" 2> /dev/null || true
  fi
  pg_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- a gateway on a SQLite store, with one accepted attestation ----
signer=$("$ATTESTOR_BIN" keygen --out "$tmp/signer.key")
cat > "$tmp/gateway.ini" <<INI
[gateway]
listen = 127.0.0.1:0
store = $tmp/data/custos.db
chain_id = 31337
verifying_contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3

[tls]
insecure = true

[feed acme-custody]
max_age = 345600
threshold = 1
# ACME-FUND-001 of custodian acme-custody (rule 9)
accounts = 0x081fc0e60b77885ca4891a83f5625ab1f543f195b8807eb4c7c61a202f586d2b

[signer acme-ops-1]
address = $signer
feed = acme-custody
role = custodian
INI
mkdir "$tmp/data" "$tmp/backups"
start_gateway() {
  rm -f "$tmp/port"
  "$GATEWAY_BIN" --config "$tmp/gateway.ini" --port-file "$tmp/port" >> "$tmp/gateway.log" 2>&1 &
  gw_pid=$!
  local _
  for _ in $(seq 1 100); do [ -s "$tmp/port" ] && return 0; sleep 0.1; done
  cat "$tmp/gateway.log" >&2
  fail "the gateway did not start"
}
stop_gateway() {
  kill -TERM "$gw_pid"
  wait "$gw_pid" || fail "the gateway exited with $? on SIGTERM"
  gw_pid=""
}
start_gateway
gw=127.0.0.1:$(cat "$tmp/port")
"$NODE" -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  for (const k of Object.keys(p.prices)) p.prices[k].as_of = Math.floor(Date.now() / 1000) - 60;
  fs.writeFileSync(process.argv[2], JSON.stringify(p));' "$src/deploy/examples/prices.json" "$tmp/prices.json"
"$ATTESTOR_BIN" attest --holdings "$src/deploy/examples/holdings.json" --prices "$tmp/prices.json" \
  --policy "$src/deploy/examples/policy.json" --key "$tmp/signer.key" --account ACME-FUND-001 \
  --feed acme-custody --chain-id 31337 --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3 \
  --state "$tmp/attestor-state.json" --gateway "$gw" --insecure > "$tmp/attest.out" 2>&1 ||
  { cat "$tmp/attest.out" >&2; fail "the attestation was not accepted"; }
latest() {
  "$CLI_BIN" get-latest --insecure --gateway "$gw" --custodian acme-custody --ref ACME-FUND-001
}
before=$(latest) || fail "get-latest found nothing before the backup"

# ---- 1. backups of the live store, retention ----
for _ in 1 2 3; do
  "$backup" --store "$tmp/data/custos.db" --dir "$tmp/backups" --keep 2 > /dev/null
  sleep 1.1 # one backup per second of the clock: the names carry the second
done
mapfile -t kept < <(find "$tmp/backups" -maxdepth 1 -type f -printf '%f\n' | sort)
[ "${#kept[@]}" -eq 2 ] || fail "--keep 2 left ${#kept[@]} files: ${kept[*]}"
for f in "${kept[@]}"; do
  [[ "$f" =~ ^custos-[0-9]{8}T[0-9]{6}Z\.db$ ]] || fail "unexpected file in the backup directory: $f"
  [ "$(sqlite3 "$tmp/backups/$f" "PRAGMA integrity_check")" = ok ] || fail "$f fails its integrity check"
  [ "$(sqlite3 "$tmp/backups/$f" "SELECT count(*) FROM accepted")" = 1 ] || fail "$f lacks the accepted attestation"
  [ "$(stat -c %a "$tmp/backups/$f")" = "$(printf '%o' $((0666 & ~0$(umask))))" ] || fail "$f: unexpected mode"
done
echo "ok: three backups of the live store, the newest two kept, each complete"

# ---- 2. the README's restore ----
stop_gateway
rm -f "$tmp/data/custos.db" "$tmp/data/custos.db-wal" "$tmp/data/custos.db-shm"
cp "$tmp/backups/${kept[1]}" "$tmp/data/custos.db"
start_gateway
gw=127.0.0.1:$(cat "$tmp/port")
after=$(latest) || { cat "$tmp/gateway.log" >&2; fail "get-latest found nothing after the restore"; }
[ "$before" = "$after" ] || fail "the restored gateway serves another attestation"$'\n'"$before"$'\n'"$after"
stop_gateway
echo "ok: the gateway restored from a backup serves what it had accepted"

# ---- 3. PostgreSQL ----
pg_password="backup-$RANDOM$RANDOM"
pg_start "$tmp/pg" "$pg_password"
pg_psql "CREATE DATABASE custos"
uri="postgresql://custos@127.0.0.1:$pg_port/custos"
PGPASSWORD=$pg_password psql -q -v ON_ERROR_STOP=1 -d "$uri" \
  -c "CREATE TABLE t (k integer PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
mkdir "$tmp/pg-backups"
PGPASSWORD=$pg_password "$backup" --store "$uri" --dir "$tmp/pg-backups" --keep 3 > /dev/null
dump=$(find "$tmp/pg-backups" -name 'custos-*Z.dump')
[ -f "$dump" ] || fail "no dump written"
pg_psql "CREATE DATABASE restored"
PGPASSWORD=$pg_password pg_restore --dbname="postgresql://custos@127.0.0.1:$pg_port/restored" "$dump"
sum() { PGPASSWORD=$pg_password psql -tA -d "$1" -c "SELECT count(*), md5(string_agg(v, ',' ORDER BY k)) FROM t"; }
[ "$(sum "$uri")" = "$(sum "postgresql://custos@127.0.0.1:$pg_port/restored")" ] ||
  fail "the restored database differs from the dumped one"
if out=$(PGPASSWORD=wrong "$backup" --store "$uri" --dir "$tmp/pg-backups" --keep 3 2>&1); then
  fail "a dump with a wrong password succeeded"
fi
grep -q "password authentication failed" <<< "$out" || { echo "$out" >&2; fail "a wrong password did not say so"; }
[ "$(find "$tmp/pg-backups" -type f | wc -l)" -eq 1 ] || fail "a failed dump left a file behind"
pg_stop
echo "ok: pg_dump of a live database restores to the same rows; a wrong password fails cleanly"

# ---- 4. bad input: a clear message, nothing left behind ----
printf 'not a database' > "$tmp/not-a-store.db"
mkdir -m 0500 "$tmp/read-only"
: > "$tmp/no-dir"
expect_failure() { # EXPECTED-TEXT ARGS...
  local want=$1 out
  shift
  local before_files
  before_files=$(find "$tmp/backups" -type f | sort)
  if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$backup" "$@" 2>&1); then
    fail "custos-backup $* succeeded"
  fi
  grep -qF -- "$want" <<< "$out" || fail "custos-backup $*: expected '$want', got: $out"
  [ "$(find "$tmp/backups" -type f | sort)" = "$before_files" ] || fail "custos-backup $* left files behind"
  echo "ok: refused: $out"
}
chmod 0777 "$tmp/backups"
expect_failure "no SQLite store at $tmp/missing.db" --store "$tmp/missing.db" --dir "$tmp/backups"
expect_failure "could not back up $tmp/not-a-store.db" --store "$tmp/not-a-store.db" --dir "$tmp/backups"
expect_failure "does not exist or is not writable" --store "$tmp/data/custos.db" --dir "$tmp/read-only"
expect_failure "does not exist or is not writable" --store "$tmp/data/custos.db" --dir "$tmp/no-dir"
expect_failure "--keep 0: expected a whole number from 1 to 10000" --store "$tmp/data/custos.db" --dir "$tmp/backups" --keep 0
expect_failure "--keep 2x: expected a whole number" --store "$tmp/data/custos.db" --dir "$tmp/backups" --keep 2x
expect_failure "the store URI carries a password" --store "postgresql://custos:secret@db/custos" --dir "$tmp/backups"
expect_failure "--dir is required" --store "$tmp/data/custos.db"
expect_failure "unknown argument '--keepp'" --store "$tmp/data/custos.db" --dir "$tmp/backups" --keepp 3

echo "custos-backup: SQLite and PostgreSQL backups, retention, restore and refusals: ok"
