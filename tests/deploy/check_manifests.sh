#!/usr/bin/env bash
# deploy/container/compose.yaml, deploy/k8s and deploy/k8s/replicas: YAML parsed and
# schema-checked (check_manifests.mjs), both ConfigMaps' gateway.ini accepted by
# custos-gateway --check-config, and the compose stack's prometheus.yml by promtool.
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${NODE:?}" "${GATEWAY_BIN:?}" "${PROMTOOL:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$NODE" "$src/tests/deploy/check_manifests.mjs" "$src"

for cm in configmap.yaml replicas/configmap.yaml; do
  "$NODE" -e '
    const { createRequire } = require("node:module");
    const YAML = createRequire(process.argv[1] + "/package.json")("yaml");
    const doc = YAML.parse(require("node:fs").readFileSync(process.argv[1] + "/deploy/k8s/" + process.argv[2], "utf8"));
    process.stdout.write(doc.data["gateway.ini"]);' "$src" "$cm" > "$tmp/gateway.ini"
  "$GATEWAY_BIN" --config "$tmp/gateway.ini" --check-config
done

sed "s|/etc/prometheus/alerts.yaml|$src/deploy/prometheus/alerts.yaml|" \
  "$src/deploy/container/prometheus.yml" > "$tmp/prometheus.yml"
"$PROMTOOL" check config "$tmp/prometheus.yml"
