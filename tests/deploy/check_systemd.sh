#!/usr/bin/env bash
# deploy/systemd: every unit, alone and with each drop-in it ships, passes
# `systemd-analyze verify` with no warning at all (unknown keys and bad values are only
# warnings there); the services keep their hardening (offline `systemd-analyze security`
# exposure at most 2.0) and the directives the deployment relies on; the attestor runs as
# a daemon with its spool in its StateDirectory; the backup service backs up the store the
# example gateway.ini names, as the gateway's own dynamic user; every timer starts a
# service that exists. (check_systemd_credentials.sh runs the units' processes.)
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}" "${NODE:?}"
dir=$src/deploy/systemd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
problem() { echo "$*"; fail=1; }

# The value of KEY= in a unit (the last one), or every value with --all.
value() { # [--all] KEY FILE
  local all=0
  [ "$1" != --all ] || { all=1; shift; }
  awk -v key="$1" -v all="$all" 'index($0, key "=") == 1 {
      v = substr($0, length(key) + 2); if (all) print v; else last = v }
    END { if (!all) print last }' "$2"
}

# verify needs the ExecStart binaries to exist: point them at the ones just built.
install_unit() { # FILE DEST-DIR
  sed -e "s|/usr/local/bin/custos-gateway|$GATEWAY_BIN|g" \
      -e "s|/usr/local/bin/custos-attestor|$ATTESTOR_BIN|g" \
      -e "s|/usr/local/bin/custos-backup|$src/deploy/scripts/custos-backup|g" "$1" > "$2/$(basename "$1")"
}
verify() { # WHAT UNIT-FILE...
  local what=$1 out
  shift
  if ! out=$(cd "$(dirname "$1")" && systemd-analyze verify "$@" 2>&1) || [ -n "$out" ]; then
    problem "systemd-analyze verify ($what):"$'\n'"$out"
  fi
}

mkdir "$tmp/units"
units=()
for f in "$dir"/*.service "$dir"/*.timer; do
  install_unit "$f" "$tmp/units"
  units+=("$tmp/units/$(basename "$f")")
done
verify "every unit" "${units[@]}"

# Each drop-in, installed where systemd looks for it: <unit>.service.d/.
for pair in custos-gateway-postgresql.conf:custos-gateway.service custos-attestor-pkcs11.conf:custos-attestor.service; do
  conf=${pair%%:*} unit=${pair#*:}
  [ -f "$dir/$conf" ] || { problem "missing drop-in $conf"; continue; }
  mkdir -p "$tmp/$conf/$unit.d"
  install_unit "$dir/$unit" "$tmp/$conf"
  cp "$dir/$conf" "$tmp/$conf/$unit.d/$conf"
  verify "$unit with $conf" "$tmp/$conf/$unit"
  systemd-analyze security --offline=true --threshold=20 "$tmp/$conf/$unit" > "$tmp/security.out" 2>&1 ||
    { problem "$unit with $conf: exposure above 2.0:"; tail -n 3 "$tmp/security.out"; }
done

for svc in "$tmp"/units/*.service; do
  name=$(basename "$svc")
  if ! systemd-analyze security --offline=true --threshold=20 "$svc" > "$tmp/security.out" 2>&1; then
    problem "$name: exposure above 2.0:"; tail -n 3 "$tmp/security.out"
  fi
  for d in DynamicUser=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
           NoNewPrivileges=yes CapabilityBoundingSet= MemoryDenyWriteExecute=yes \
           SystemCallFilter=@system-service StateDirectory= UMask=0077 \
           RestrictAddressFamilies=; do
    grep -q "^$d" "$svc" || problem "$name: missing $d"
  done
  # Secrets come as credentials from root-only files under /etc/custos.
  for c in $(value --all LoadCredential "$svc"); do
    case "$c" in
      *:/etc/custos/*) ;;
      *) problem "$name: LoadCredential=$c: expected ID:/etc/custos/..." ;;
    esac
  done
done
for timer in "$tmp"/units/*.timer; do
  [ -f "${timer%.timer}.service" ] || problem "$(basename "$timer") starts no $(basename "${timer%.timer}").service"
done

# The gateway: every secret of the example gateway.ini is one of its credentials.
gw=$dir/custos-gateway.service
for c in gateway.crt gateway.key client-ca.crt relayer.key; do
  value --all LoadCredential "$gw" | grep -q "^$c:" || problem "custos-gateway.service: no LoadCredential=$c"
done

# The attestor: the daemon, restarted on failure, state and spool in its StateDirectory.
at=$dir/custos-attestor.service
[ -f "$dir/custos-attestor.timer" ] && problem "custos-attestor.timer: the attestor is a daemon (custos-attestor run), not a one-shot"
grep -q "^ExecStart=/usr/local/bin/custos-attestor run --config " "$at" ||
  problem "custos-attestor.service: ExecStart must be custos-attestor run --config FILE"
[ "$(value Type "$at")" = simple ] || problem "custos-attestor.service: Type=simple (a long-running daemon)"
[ "$(value Restart "$at")" = on-failure ] || problem "custos-attestor.service: Restart=on-failure"
at_state=/var/lib/$(value StateDirectory "$at")
for k in state spool; do
  v=$("$NODE" -p "require('$src/deploy/examples/attestor.json').$k" 2> /dev/null || true)
  case "$v" in "$at_state"/*) ;; *) problem "attestor.json $k ($v) is outside $at_state, the unit's StateDirectory" ;; esac
done

# The backup: the store of the example gateway.ini, as the gateway's dynamic user (its
# name is the unit's), into a directory of its own.
bk=$dir/custos-backup.service
store=$(awk '/^store = / { print $3; exit }' "$src/deploy/examples/gateway.ini")
exec_start=$(value ExecStart "$bk")
grep -q -- "--store $store " <<< "$exec_start" || problem "custos-backup.service: ExecStart does not back up $store (the example gateway.ini's store)"
[ "$(value User "$bk")" = custos-gateway ] || problem "custos-backup.service: User=custos-gateway (the gateway's dynamic user) is needed to open its store"
bk_states=" $(value StateDirectory "$bk") "
[[ "$bk_states" == *" $(value StateDirectory "$gw") "* ]] || problem "custos-backup.service: StateDirectory lacks the gateway's"
bk_dir=$(sed -E 's/.*--dir ([^ ]+).*/\1/' <<< "$exec_start")
[[ "$bk_states" == *" ${bk_dir#/var/lib/} "* ]] || problem "custos-backup.service: --dir $bk_dir is not one of its StateDirectory"
[ "$(value Unit "$dir/custos-backup.timer")" = "" ] || problem "custos-backup.timer: Unit= should be left to the matching name"

[ "$fail" -eq 0 ] && echo "systemd units: ${#units[@]} verified, drop-ins applied"
exit "$fail"
