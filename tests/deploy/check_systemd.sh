#!/usr/bin/env bash
# deploy/systemd: every unit passes `systemd-analyze verify` with no warning at all
# (unknown keys and bad values are only warnings there), the services keep their
# hardening (offline `systemd-analyze security` exposure at most 2.0), and the
# directives the deployment relies on are present.
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify needs the ExecStart binaries to exist: point them at the ones just built.
units=()
for f in "$src"/deploy/systemd/*.service "$src"/deploy/systemd/*.timer; do
  sed -e "s|/usr/local/bin/custos-gateway|$GATEWAY_BIN|g" \
      -e "s|/usr/local/bin/custos-attestor|$ATTESTOR_BIN|g" "$f" > "$tmp/$(basename "$f")"
  units+=("$tmp/$(basename "$f")")
done

fail=0
if ! out=$(cd "$tmp" && systemd-analyze verify "${units[@]}" 2>&1) || [ -n "$out" ]; then
  echo "systemd-analyze verify:"; echo "$out"; fail=1
fi

for svc in "$tmp"/*.service; do
  if ! systemd-analyze security --offline=true --threshold=20 "$svc" > "$tmp/security.out" 2>&1; then
    echo "$(basename "$svc"): exposure above 2.0:"; tail -n 3 "$tmp/security.out"; fail=1
  fi
  for d in DynamicUser=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
           NoNewPrivileges=yes CapabilityBoundingSet= MemoryDenyWriteExecute=yes \
           SystemCallFilter=@system-service StateDirectory= LoadCredential= \
           RestrictAddressFamilies=; do
    grep -q "^$d" "$svc" || { echo "$(basename "$svc"): missing $d"; fail=1; }
  done
done
# The timer must start the attestor service of the same name.
[ -f "$tmp/custos-attestor.timer" ] && [ -f "$tmp/custos-attestor.service" ] ||
  { echo "custos-attestor.timer needs custos-attestor.service"; fail=1; }

[ "$fail" -eq 0 ] && echo "systemd units: ${#units[@]} verified"
exit "$fail"
