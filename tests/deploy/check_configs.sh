#!/usr/bin/env bash
# deploy/examples/*.ini: each example gateway config is accepted by
# custos-gateway --check-config, with the files it names staged under a temporary
# directory (stage_gateway_ini.sh). (The attestor's example configs are loaded by the unit
# test test_deploy_examples; the Kubernetes ConfigMaps' by check_manifests.sh.)
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=stage_gateway_ini.sh
. "$src/tests/deploy/stage_gateway_ini.sh"
n=0
for ini in "$src"/deploy/examples/*.ini; do
  stage_gateway_ini "$ini" "$tmp/$n.ini" "$tmp/files"
  "$GATEWAY_BIN" --config "$tmp/$n.ini" --check-config
  n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
  echo "no gateway config in deploy/examples" >&2
  exit 1
fi
