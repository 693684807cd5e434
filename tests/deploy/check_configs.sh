#!/usr/bin/env bash
# deploy/examples/*.ini: each example gateway config is accepted by
# custos-gateway --check-config. (The attestor's example configs are loaded by the unit
# test test_deploy_examples; the Kubernetes ConfigMaps' by check_manifests.sh.)
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${GATEWAY_BIN:?}"
n=0
for ini in "$src"/deploy/examples/*.ini; do
  "$GATEWAY_BIN" --config "$ini" --check-config
  n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
  echo "no gateway config in deploy/examples" >&2
  exit 1
fi
