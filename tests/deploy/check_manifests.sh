#!/usr/bin/env bash
# deploy/container/compose.yaml, deploy/k8s, deploy/k8s/replicas and deploy/k8s/attestor:
# YAML parsed and schema-checked (check_manifests.mjs), both gateway ConfigMaps' gateway.ini
# accepted by custos-gateway --check-config, the attestor ConfigMap's inputs valued and
# signed by custos-attestor as its attestor.json says, and the compose stack's
# prometheus.yml accepted by promtool.
set -euo pipefail
src=${CUSTOS_SOURCE_DIR:?}
: "${NODE:?}" "${GATEWAY_BIN:?}" "${ATTESTOR_BIN:?}" "${PROMTOOL:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=stage_gateway_ini.sh
. "$src/tests/deploy/stage_gateway_ini.sh"

"$NODE" "$src/tests/deploy/check_manifests.mjs" "$src"

for cm in configmap.yaml replicas/configmap.yaml; do
  "$NODE" -e '
    const { createRequire } = require("node:module");
    const YAML = createRequire(process.argv[1] + "/package.json")("yaml");
    const doc = YAML.parse(require("node:fs").readFileSync(process.argv[1] + "/deploy/k8s/" + process.argv[2], "utf8"));
    process.stdout.write(doc.data["gateway.ini"]);' "$src" "$cm" > "$tmp/gateway.ini"
  stage_gateway_ini "$tmp/gateway.ini" "$tmp/staged.ini" "$tmp/files"
  "$GATEWAY_BIN" --config "$tmp/staged.ini" --check-config
done

# The attestor ConfigMap's files in a directory, as the pod mounts them; one attestation of
# its first account, valued at its prices' time, exported (no gateway).
mkdir "$tmp/attestor"
"$NODE" -e '
  const { createRequire } = require("node:module");
  const fs = require("node:fs");
  const [src, out] = process.argv.slice(1);
  const YAML = createRequire(src + "/package.json")("yaml");
  const docs = YAML.parseAllDocuments(fs.readFileSync(src + "/deploy/k8s/attestor/configmap.yaml", "utf8"));
  const cm = docs.map((d) => d.toJS()).find((d) => d && d.kind === "ConfigMap");
  for (const [name, text] of Object.entries(cm.data)) fs.writeFileSync(out + "/" + name, text);' \
  "$src" "$tmp/attestor"
"$ATTESTOR_BIN" keygen --out "$tmp/attestor/test.key" > /dev/null
mapfile -t args < <("$NODE" -e '
  const fs = require("node:fs");
  const dir = process.argv[1];
  const c = JSON.parse(fs.readFileSync(dir + "/attestor.json", "utf8"));
  const h = JSON.parse(fs.readFileSync(dir + "/" + c.holdings, "utf8"));
  const p = JSON.parse(fs.readFileSync(dir + "/" + c.prices, "utf8"));
  const now = Math.max(...Object.values(p.prices).map((x) => x.as_of)) + 3600;
  for (const a of ["--holdings", dir + "/" + c.holdings, "--prices", dir + "/" + c.prices,
                   "--policy", dir + "/" + c.policy, "--account", h.accounts[0].ref,
                   "--feed", c.feed, "--chain-id", String(c.chain_id), "--contract", c.contract,
                   "--now", String(now)]) console.log(a);' "$tmp/attestor")
"$ATTESTOR_BIN" attest "${args[@]}" --key "$tmp/attestor/test.key" --state "$tmp/attestor/state.json" \
  --export "$tmp/attestor/out.json" > /dev/null
[ -s "$tmp/attestor/out.json" ] || { echo "the attestor ConfigMap's inputs produced no attestation" >&2; exit 1; }

sed "s|/etc/prometheus/alerts.yaml|$src/deploy/prometheus/alerts.yaml|" \
  "$src/deploy/container/prometheus.yml" > "$tmp/prometheus.yml"
"$PROMTOOL" check config "$tmp/prometheus.yml"
