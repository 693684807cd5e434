#!/usr/bin/env bash
# Runs the adapter contract's forge test suite (deploy/contracts/test) offline, compiling
# with the project-local solc-js through deploy/contracts/tools/solc-json.
# Needs node and the npm packages of package.json (npm ci). Extra arguments go to
# `forge test` (e.g. -vv, --match-test test_Gas). Exits non-zero if a test fails.
# `run-forge.sh build [ARGS]` runs `forge build` instead: artifacts in deploy/contracts/out.
# Either way Morpho Blue (npm @morpho-org/morpho-blue, unmodified) is compiled first with
# solc 0.8.19 (npm alias solc-0.8.19) into deploy/contracts/out-morpho, which the tests,
# deploy.mjs's tests and the gas measurements deploy from (forge's cache makes it a no-op
# after the first time).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
contracts="$root/deploy/contracts"
forge="$root/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
shim="$contracts/tools/solc-json"

command -v node >/dev/null 2>&1 || { echo "run-forge: node not found in PATH" >&2; exit 2; }
for need in "$forge" "$root/node_modules/solc/package.json" \
            "$root/node_modules/@openzeppelin/contracts/package.json" \
            "$root/node_modules/@chainlink/contracts/package.json" \
            "$root/node_modules/solc-0.8.19/package.json" \
            "$root/node_modules/@morpho-org/morpho-blue/package.json" \
            "$root/node_modules/@aave/core-v3/package.json"; do
  [ -e "$need" ] || { echo "run-forge: missing $need (run npm ci in $root)" >&2; exit 2; }
done
[ -x "$forge" ] || chmod +x "$forge" 2>/dev/null || true
[ -x "$shim" ] || { echo "run-forge: $shim is not executable" >&2; exit 2; }

cd "$contracts"
export FOUNDRY_OFFLINE=true
if ! morpho_log=$(CUSTOS_SOLC_PACKAGE=solc-0.8.19 FOUNDRY_PROFILE=morpho "$forge" build --offline --use "$shim" 2>&1); then
  printf '%s\nrun-forge: compiling Morpho Blue with solc 0.8.19 failed\n' "$morpho_log" >&2
  exit 1
fi
command=test
if [ "${1:-}" = build ]; then
  command=build
  shift
fi
exec "$forge" "$command" --offline --use "$shim" "$@"
