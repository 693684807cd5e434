#!/usr/bin/env bash
# deploy/systemd: the gateway and the attestor start and serve as their units' dynamic
# users, with every secret handed over by the units' LoadCredential= lines and the example
# configs as shipped (deploy/examples/gateway.ini, attestor.json).
#
# No systemd runs here, so each unit is reproduced as systemd 252 runs it, from the unit
# file itself (LoadCredential=, Environment=, StateDirectory=, ExecStartPre=, ExecStart=,
# UMask=): in a mount namespace of its own (with /run and /var/lib shared by the units, as
# on a host, and kept under the test's directory), the root-only source files are copied into
# /run/credentials/UNIT (ramfs, mode 0400 and chowned to the unit's uid, or, where systemd
# falls back to tmpfs, root-owned 0400 with an ACL for that uid, which shows as 0440),
# the directory is made read-only, the StateDirectory= directories under /var/lib are
# given to the uid, and the binary runs under a uid/gid of the DynamicUser range with no
# supplementary groups, no capabilities and no_new_privs, with CREDENTIALS_DIRECTORY set.
#
# What is checked:
#  1. The attestor daemon starts before the gateway: it signs and keeps the attestations
#     in its spool (StateDirectory) while the gateway is down.
#  2. The gateway starts from the example config (only addresses changed: listen ports,
#     the chain node), passes ExecStartPre's --check-config, serves TLS with client
#     certificates (custos health with a reader certificate: SERVING; /healthz: 200) and
#     publishes with the relayer key (publisher.start names its address).
#  3. The spooled attestations reach the gateway (custos get-latest finds them); with the
#     gateway running, custos-backup.service (the gateway's dynamic user, User=) backs the
#     store up, the accepted attestations included.
#  4. The same gateway with credentials on tmpfs with ACLs (root-owned, shown 0440).
#  5. A PostgreSQL store with the drop-in custos-gateway-postgresql.conf: the password
#     comes from the pgpass credential (password authentication), a wrong one is refused.
#  6. A secret path that is no credential fails with a message naming the path; the old
#     layout (the key read from a root-only /etc/custos/tls) fails with Permission denied.
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}" "${CLI_BIN:?}" "${NODE:?}"
systemd_dir=$src/deploy/systemd
anvil_bin=$src/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root: the test sets up credentials and switches uids as systemd does"
for tool in unshare setpriv setfacl openssl curl runuser; do
  command -v "$tool" > /dev/null || fail "$tool is missing (scripts/setup installs it)"
done

# shellcheck source=tests/deploy/pgserver.sh
. "$src/tests/deploy/pgserver.sh"
tmp=$(mktemp -d)
chmod 0755 "$tmp"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2> /dev/null; then
      kill -TERM "$pid" 2> /dev/null || true
      wait "$pid" 2> /dev/null || true
    fi
  done
  pg_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the unit files ----

# The values of KEY= in the unit and its drop-ins, in order, continuation lines joined; an
# empty assignment empties the list, as systemd does for list settings.
unit_values() {
  local key=$1
  shift
  awk -v key="$key" '
    /^[[:space:]]*[#;]/ { next }
    {
      line = $0
      while (line ~ /\\$/ && (getline more) > 0) { sub(/\\$/, " ", line); line = line more }
      if (index(line, key "=") == 1) {
        v = substr(line, length(key) + 2)
        if (v == "") n = 0; else vals[n++] = v
      }
    }
    END { for (i = 0; i < n; i++) print vals[i] }' "$@"
}

# ---- test material: PKI, keys, a free port ----

free_port() {
  "$NODE" -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

pki=$tmp/pki
mkdir -m 0700 "$pki"
make_ca() { # NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.pem" 2> /dev/null
}
make_cert() { # NAME CN CA EXTENSIONS
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2> /dev/null
  printf '%b' "$4" > "$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.pem" -CAkey "$pki/$3.key" -CAcreateserial \
    -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2> /dev/null
}
make_ca gateway-ca "Custos test gateway CA"
make_ca clients-ca "Custos test clients CA"
make_cert gateway gateway gateway-ca 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
# The example gateway.ini maps [client acme-attestor] to the attestor role; probe is a reader.
make_cert acme-attestor acme-attestor clients-ca 'extendedKeyUsage=clientAuth\n'
make_cert probe probe clients-ca 'extendedKeyUsage=clientAuth\n'
# anvil's development accounts (public keys, funded on anvil only): #1 is signer acme-ops-1
# of the example gateway.ini, #0 pays the relayer's gas.
signer_key=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
relayer_key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
relayer_address=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
pg_password="custos-$RANDOM$RANDOM"

# The content of credential ID, as an administrator would put it at the unit's source path.
make_credential() { # ID FILE
  case "$1" in
    gateway.crt) cp "$pki/gateway.pem" "$2" ;;
    gateway.key) cp "$pki/gateway.key" "$2" ;;
    client-ca.crt) cp "$pki/clients-ca.pem" "$2" ;;
    relayer.key) printf '%s\n' "$relayer_key" > "$2" ;;
    signer.key) printf '%s\n' "$signer_key" > "$2" ;;
    gateway-ca.crt) cp "$pki/gateway-ca.pem" "$2" ;;
    attestor.crt) cp "$pki/acme-attestor.pem" "$2" ;;
    attestor.key) cp "$pki/acme-attestor.key" "$2" ;;
    pgpass) printf '127.0.0.1:%s:custos:custos:%s\n' "$pg_port" "$pg_password" > "$2" ;;
    *) fail "a unit loads credential '$1', which this test cannot make: teach make_credential" ;;
  esac
}

# The administrator's side: every LoadCredential= source as a root-only file (0600) in
# root-only directories (0700), under $tmp/host instead of /.
host=$tmp/host
lay_out_sources() { # UNIT-FILE...
  local id path
  while IFS=: read -r id path; do
    [ -n "$id" ] && [ -n "$path" ] || fail "LoadCredential=$id:$path: expected ID:PATH"
    mkdir -p "$host$(dirname "$path")"
    chmod 0700 "$host$(dirname "$path")"
    make_credential "$id" "$host$path"
    chmod 0600 "$host$path"
  done < <(unit_values LoadCredential "$@")
}

# ---- running a unit the way systemd does ----

# A uid of the DynamicUser range (61184-65519) that no account uses.
pick_uid() {
  local uid
  while :; do
    uid=$((61184 + RANDOM % 4000))
    getent passwd "$uid" > /dev/null || getent group "$uid" > /dev/null || break
  done
  echo "$uid"
}

# run_unit FS UID LOG UNIT-FILE [DROP-IN...] -- COMMAND...
# Runs COMMAND as the unit's service process (see the top). FS: ramfs or acl. With LOG
# "-", runs in the foreground with output on stdout; otherwise in the background (the pid
# is added to pids and left in $unit_pid) with output appended to LOG.
run_unit() {
  local fs=$1 uid=$2 log=$3
  shift 3
  local files=()
  while [ "$1" != -- ]; do files+=("$1"); shift; done
  shift
  local unit
  unit=$(basename "${files[0]}")
  local root=$tmp/ns
  mkdir -p "$root/run" "$root/var-lib"
  local creds states envs umask mode
  creds=$(unit_values LoadCredential "${files[@]}" | tr '\n' ' ')
  states=$(unit_values StateDirectory "${files[@]}" | tr '\n' ' ')
  mode=$(unit_values StateDirectoryMode "${files[@]}" | tail -n 1)
  umask=$(unit_values UMask "${files[@]}" | tail -n 1)
  envs=$(unit_values Environment "${files[@]}" | sed "s|%d|/run/credentials/$unit|g" | tr '\n' ' ')
  # Not the unit's: the sanitizer run's options reach the binaries it checks.
  local name
  for name in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -z "${!name:-}" ] || envs="$envs $name=${!name}"
  done
  local setup='
    set -euo pipefail
    fs=$1 uid=$2 unit=$3 root=$4 host=$5 creds=$6 states=$7 mode=$8 umask=$9 envs=${10}
    shift 10
    mount --bind "$root/run" /run
    mount --bind "$root/var-lib" /var/lib
    cred=/run/credentials/$unit
    mkdir -p "$cred"
    if [ "$fs" = ramfs ]; then
      mount -t ramfs -o mode=0700 ramfs "$cred"
    else
      mount -t tmpfs -o mode=0700,size=1m tmpfs "$cred"
    fi
    for c in $creds; do
      id=${c%%:*} path=${c#*:}
      cat "$host$path" > "$cred/$id"
      chmod 0400 "$cred/$id"
      if [ "$fs" = ramfs ]; then chown "$uid" "$cred/$id"; else setfacl -m "u:$uid:r" "$cred/$id"; fi
    done
    chmod 0500 "$cred"
    if [ "$fs" = ramfs ]; then chown "$uid" "$cred"; else setfacl -m "u:$uid:rx" "$cred"; fi
    mount -o remount,ro "$cred"
    for c in $creds; do stat -c "credential %n: mode %a owner %u" "$cred/${c%%:*}"; done
    state_env=""
    for d in $states; do
      mkdir -p "/var/lib/$d"
      chown -R "$uid:$uid" "/var/lib/$d"
      chmod "${mode:-0755}" "/var/lib/$d"
      state_env="${state_env:+$state_env:}/var/lib/$d"
    done
    umask "${umask:-0022}"
    # shellcheck disable=SC2086 # envs is a list of NAME=VALUE words
    exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs \
      --inh-caps=-all --bounding-set=-all -- \
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/ LANG=C.UTF-8 CREDENTIALS_DIRECTORY="$cred" STATE_DIRECTORY="$state_env" \
      $envs "$@"'
  local argv=(unshare --mount --propagation private -- bash -c "$setup" setup
              "$fs" "$uid" "$unit" "$root" "$host" "$creds" "$states" "$mode" "$umask" "$envs" "$@")
  if [ "$log" = - ]; then
    "${argv[@]}" 2>&1
  else
    "${argv[@]}" >> "$log" 2>&1 &
    unit_pid=$!
    pids+=("$unit_pid")
  fi
}

# The unit's ExecStart= (or ExecStartPre=) command with the installed paths replaced by
# the ones of this run.
unit_command() { # KEY UNIT-FILE CONFIG
  unit_values "$1" "$2" | head -n 1 |
    sed -e "s|/usr/local/bin/custos-gateway|$GATEWAY_BIN|" \
        -e "s|/usr/local/bin/custos-attestor|$ATTESTOR_BIN|" \
        -e "s|/etc/custos/gateway.ini|$3|" -e "s|/etc/custos/attestor/attestor.json|$3|"
}

stop_pid() { # PID: SIGTERM as systemctl stop does; the exit status must be 0
  kill -TERM "$1"
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq 0 ] || fail "process $1 exited with status $status on SIGTERM"
}

wait_for() { # SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" > /dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
  echo "ok: $what"
}

# ---- anvil, the chain the gateway publishes to ----
[ -x "$anvil_bin" ] || fail "anvil is missing from node_modules (scripts/setup runs npm ci)"
rpc=""
for _ in 1 2 3; do
  port=$(free_port)
  "$anvil_bin" --host 127.0.0.1 --port "$port" --chain-id 31337 > "$tmp/anvil.log" 2>&1 &
  anvil_pid=$!
  pids+=("$anvil_pid")
  if wait_for 20 "anvil on port $port" curl -sf -H 'content-type: application/json' \
       -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$port"; then
    rpc=http://127.0.0.1:$port
    break
  fi
  kill "$anvil_pid" 2> /dev/null || true
done
[ -n "$rpc" ] || { cat "$tmp/anvil.log" >&2; fail "anvil did not start"; }

gw_unit=$systemd_dir/custos-gateway.service
at_unit=$systemd_dir/custos-attestor.service
pg_dropin=$systemd_dir/custos-gateway-postgresql.conf
lay_out_sources "$gw_unit" "$at_unit"
gw_uid=$(pick_uid)
at_uid=$(pick_uid)
[ "$gw_uid" != "$at_uid" ] || at_uid=$((gw_uid + 1))
mkdir -m 0777 "$tmp/ports"

# gateway.ini as shipped, with only the addresses of this machine: a fixed free port for
# gRPC (the attestor is told it before the gateway starts), port 0 and a port file for the
# metrics, this run's anvil. Every secret path stays as the example has it.
gw_port=$(free_port)
write_gateway_ini() { # OUT [STORE]
  local edits=(-e "s|^listen = 0\.0\.0\.0:50051$|listen = 127.0.0.1:$gw_port|"
               -e "s|^listen = 127\.0\.0\.1:9464$|listen = 127.0.0.1:0\nport_file = $tmp/ports/metrics|"
               -e "s|^rpc_url = .*|rpc_url = $rpc|")
  [ -z "${2:-}" ] || edits+=(-e "s|^store = .*|store = $2|")
  sed "${edits[@]}" "$src/deploy/examples/gateway.ini" > "$1"
  chmod 0644 "$1"
  grep -q "^listen = 127.0.0.1:$gw_port$" "$1" && grep -q "^port_file = " "$1" &&
    grep -q "^rpc_url = $rpc$" "$1" ||
    fail "deploy/examples/gateway.ini no longer has the listen, [metrics] listen or rpc_url lines this test rewrites"
}
mkdir -p "$tmp/etc"
write_gateway_ini "$tmp/etc/gateway.ini"

# Every secret the config names is one of the unit's credentials.
for path in $(grep -E '^(cert|key|client_ca|relayer_key) = ' "$tmp/etc/gateway.ini" | awk '{print $3}'); do
  id=${path#/run/credentials/custos-gateway.service/}
  [ "$id" != "$path" ] || fail "gateway.ini reads $path, not a credential of custos-gateway.service"
  unit_values LoadCredential "$gw_unit" | grep -q "^$id:" ||
    fail "gateway.ini reads credential $id, which custos-gateway.service does not load"
done

# attestor.json as shipped, with this run's gateway, fast retries and the inputs beside it
# (prices observed now). The pledge registry is left out: no pledge is recorded here.
mkdir -p "$tmp/etc/attestor"
cp "$src/deploy/examples/holdings.json" "$src/deploy/examples/policy.json" "$tmp/etc/attestor/"
"$NODE" -e '
  const fs = require("fs");
  const [dir, out, gateway] = process.argv.slice(1);
  const now = Math.floor(Date.now() / 1000);
  const prices = JSON.parse(fs.readFileSync(dir + "/prices.json", "utf8"));
  for (const k of Object.keys(prices.prices)) prices.prices[k].as_of = now - 60;
  fs.writeFileSync(out + "/prices.json", JSON.stringify(prices, null, 2));
  const conf = JSON.parse(fs.readFileSync(dir + "/attestor.json", "utf8"));
  for (const k of ["key", "tls_ca", "tls_cert", "tls_key", "state", "spool"])
    if (typeof conf[k] !== "string") throw new Error(`attestor.json: no ${k}`);
  conf.gateway = gateway;
  conf.retry_max_seconds = 1;
  delete conf.registry;
  fs.writeFileSync(out + "/attestor.json", JSON.stringify(conf, null, 2));
' "$src/deploy/examples" "$tmp/etc/attestor" "127.0.0.1:$gw_port"
chmod -R a+rX "$tmp/etc"
for k in key tls_ca tls_cert tls_key; do
  path=$("$NODE" -p "require('$tmp/etc/attestor/attestor.json').$k")
  id=${path#/run/credentials/custos-attestor.service/}
  [ "$id" != "$path" ] || fail "attestor.json $k is $path, not a credential of custos-attestor.service"
  unit_values LoadCredential "$at_unit" | grep -q "^$id:" ||
    fail "attestor.json reads credential $id, which custos-attestor.service does not load"
done
for k in state spool; do
  path=$("$NODE" -p "require('$tmp/etc/attestor/attestor.json').$k")
  state=$(unit_values StateDirectory "$at_unit" | head -n 1)
  case "$path" in /var/lib/"$state"/*) ;; *) fail "attestor.json $k $path is outside the unit's StateDirectory /var/lib/$state" ;; esac
done

# ---- 1. the attestor first: it signs and spools while the gateway is down ----
read -r -a at_cmd <<< "$(unit_command ExecStart "$at_unit" "$tmp/etc/attestor/attestor.json")"
[ "${at_cmd[1]}" = run ] || fail "custos-attestor.service must run the daemon (custos-attestor run), not '${at_cmd[*]}'"
run_unit ramfs "$at_uid" "$tmp/attestor.log" "$at_unit" -- "${at_cmd[@]}"
at_pid=$unit_pid
spool=$tmp/ns/var-lib/custos-attestor/spool
spooled() { [ "$(find "$spool" -maxdepth 1 -name '0x*.json' | wc -l)" -ge 1 ] && grep -q unreachable "$tmp/attestor.log"; }
wait_for 30 "the attestor signed and spooled with the gateway down" spooled ||
  { cat "$tmp/attestor.log" >&2; fail "no attestation in the attestor's spool"; }
grep -q "credential /run/credentials/custos-attestor.service/signer.key: mode 400 owner $at_uid$" "$tmp/attestor.log" ||
  { cat "$tmp/attestor.log" >&2; fail "the attestor's credentials were not set up as expected"; }

# ---- 2. the gateway, as its unit runs it ----
gw_check=$(unit_command ExecStartPre "$gw_unit" "$tmp/etc/gateway.ini")
read -r -a gw_cmd <<< "$(unit_command ExecStart "$gw_unit" "$tmp/etc/gateway.ini")"
[ "${gw_cmd[0]}" = "$GATEWAY_BIN" ] || fail "unexpected ExecStart in custos-gateway.service: ${gw_cmd[*]}"

start_gateway() { # FS LOG [DROP-IN]: ExecStartPre, then ExecStart in the background
  local fs=$1 log=$2 files=("$gw_unit")
  [ -z "${3:-}" ] || files+=("$3")
  rm -f "$tmp/ports/metrics"
  local out
  # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
  out=$(run_unit "$fs" "$gw_uid" - "${files[@]}" -- $gw_check) ||
    { echo "$out" >&2; fail "ExecStartPre (--check-config) failed as the dynamic user"; }
  run_unit "$fs" "$gw_uid" "$log" "${files[@]}" -- "${gw_cmd[@]}"
  gw_pid=$unit_pid
}
health() {
  "$CLI_BIN" health --gateway "127.0.0.1:$gw_port" --tls-ca "$pki/gateway-ca.pem" \
    --tls-cert "$pki/probe.pem" --tls-key "$pki/probe.key" | grep -qx SERVING
}
serving() { # LOG: the gateway serves and publishes with the relayer key
  wait_for 30 "the gateway serves TLS to a client certificate (custos health: SERVING)" health ||
    { cat "$1" >&2; fail "the gateway did not serve (its log is above)"; }
  wait_for 10 "the metrics port is bound" test -s "$tmp/ports/metrics" ||
    { cat "$1" >&2; fail "the gateway wrote no metrics port file"; }
  curl -sf "http://127.0.0.1:$(cat "$tmp/ports/metrics")/healthz" > /dev/null ||
    { cat "$1" >&2; fail "the metrics port's /healthz did not answer 200"; }
  grep -qi "publisher.start.*relayer $relayer_address" "$1" ||
    { cat "$1" >&2; fail "the publisher did not start with the relayer key's address"; }
}
start_gateway ramfs "$tmp/gateway.log"
serving "$tmp/gateway.log"
grep -q "credential /run/credentials/custos-gateway.service/gateway.key: mode 400 owner $gw_uid$" "$tmp/gateway.log" ||
  fail "the gateway's credentials were not 0400 and owned by its uid"

# ---- 3. the spooled attestations are delivered ----
latest() {
  "$CLI_BIN" get-latest --gateway "127.0.0.1:$gw_port" --tls-ca "$pki/gateway-ca.pem" \
    --tls-cert "$pki/probe.pem" --tls-key "$pki/probe.key" --custodian acme-custody --ref "$1"
}
drained() { latest ACME-FUND-001 && latest ACME-TREASURY-002 && ! spooled; }
wait_for 30 "the attestations spooled while the gateway was down were accepted" drained ||
  { cat "$tmp/attestor.log" >&2; fail "the spool was not delivered to the gateway"; }
stop_pid "$at_pid"

# The backup unit while the gateway runs: as the gateway's dynamic user (User= names it,
# so systemd gives both units one uid), it reads the store the gateway writes.
bk_unit=$systemd_dir/custos-backup.service
[ "$(unit_values User "$bk_unit")" = "$(basename "$gw_unit" .service)" ] ||
  fail "custos-backup.service must run as custos-gateway.service's dynamic user (User=custos-gateway)"
read -r -a bk_cmd <<< "$(unit_values ExecStart "$bk_unit" | sed "s|/usr/local/bin/custos-backup|$src/deploy/scripts/custos-backup|")"
out=$(run_unit ramfs "$gw_uid" - "$bk_unit" -- "${bk_cmd[@]}") ||
  { echo "$out" >&2; fail "custos-backup.service failed as the gateway's dynamic user"; }
backups=("$tmp"/ns/var-lib/custos-backup/custos-*Z.db)
[ -f "${backups[0]}" ] || { echo "$out" >&2; fail "custos-backup.service wrote no backup"; }
[ "$(sqlite3 "${backups[0]}" "SELECT count(*) FROM accepted")" -ge 2 ] ||
  fail "the backup lacks the attestations the gateway accepted"
echo "ok: custos-backup.service backed the live store up: ${backups[0]##*/}"
stop_pid "$gw_pid"

# ---- 4. credentials on tmpfs with ACLs (root-owned, the mask shown as group read) ----
start_gateway acl "$tmp/gateway-acl.log"
serving "$tmp/gateway-acl.log"
grep -q "credential /run/credentials/custos-gateway.service/gateway.key: mode 440 owner 0$" "$tmp/gateway-acl.log" ||
  { cat "$tmp/gateway-acl.log" >&2; fail "the ACL credentials did not show as root-owned 0440"; }
stop_pid "$gw_pid"

# ---- 5. PostgreSQL with the drop-in: the password from the pgpass credential ----
pg_start "$tmp/pg" "$pg_password"
pg_psql "CREATE DATABASE custos"
# The pgpass credential names this port: lay the sources out again.
lay_out_sources "$gw_unit" "$pg_dropin"
unit_values Environment "$pg_dropin" | grep -qx 'PGPASSFILE=%d/pgpass' ||
  fail "custos-gateway-postgresql.conf must point PGPASSFILE at its pgpass credential"
# A fresh gRPC port: the one chosen at the start may since have been taken as the source
# port of some outgoing connection on this machine, and nothing needs the old one now.
gw_port=$(free_port)
write_gateway_ini "$tmp/etc/gateway.ini" "postgresql://custos@127.0.0.1:$pg_port/custos"
start_gateway ramfs "$tmp/gateway-pg.log" "$pg_dropin"
serving "$tmp/gateway-pg.log"
stop_pid "$gw_pid"
# A wrong password in the credential: libpq's refusal, and no start.
correct_password=$pg_password
pg_password=wrong-password
lay_out_sources "$gw_unit" "$pg_dropin"
pg_password=$correct_password
if out=$(run_unit ramfs "$gw_uid" - "$gw_unit" "$pg_dropin" -- timeout 30 "${gw_cmd[@]}"); then
  fail "the gateway started with a wrong PostgreSQL password"
fi
grep -q "password authentication failed" <<< "$out" ||
  { echo "$out" >&2; fail "a wrong PostgreSQL password did not say so"; }
echo "ok: the PostgreSQL password comes from the pgpass credential (a wrong one is refused)"
lay_out_sources "$gw_unit"
write_gateway_ini "$tmp/etc/gateway.ini"

# ---- 6. wrong paths fail, saying which file ----
expect_refusal() { # NAME CONFIG-SED EXPECTED-TEXT
  sed -e "$2" "$tmp/etc/gateway.ini" > "$tmp/etc/$1.ini"
  chmod 0644 "$tmp/etc/$1.ini"
  local out
  if out=$(run_unit ramfs "$gw_uid" - "$gw_unit" -- timeout 30 "$GATEWAY_BIN" --config "$tmp/etc/$1.ini"); then
    fail "$1: the gateway started"
  fi
  grep -qF -- "$3" <<< "$out" || { echo "$out" >&2; fail "$1: the error does not say '$3'"; }
  echo "ok: $1 refused: $(grep -F -- "$3" <<< "$out" | head -n 1)"
}
expect_refusal not-a-credential \
  's|^key = .*|key = /run/credentials/custos-gateway.service/tls.key|' \
  "/run/credentials/custos-gateway.service/tls.key: cannot open: No such file or directory"
expect_refusal root-only-key "s|^key = .*|key = $host/etc/custos/tls/gateway.key|" \
  "$host/etc/custos/tls/gateway.key: cannot open: Permission denied"
expect_refusal relayer-not-a-credential \
  's|^relayer_key = .*|relayer_key = /run/credentials/custos-gateway.service/relayer|' \
  "cannot open key file /run/credentials/custos-gateway.service/relayer: No such file or directory"

echo "systemd credentials: the gateway and attestor units run as their dynamic users"
