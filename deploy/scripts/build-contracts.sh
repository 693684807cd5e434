#!/usr/bin/env bash
# Compiles the adapter contracts (deploy/contracts/src) offline with forge and the
# project-local solc-js, and checks that the artifact deploy.mjs needs is there:
# deploy/contracts/out/CustosAdapter.sol/CustosAdapter.json. Tests are not compiled.
# Needs node and the npm packages of package.json (./scripts/setup or npm ci).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
artifact="$root/deploy/contracts/out/CustosAdapter.sol/CustosAdapter.json"

"$root/tests/contract/run-forge.sh" build --skip test "$@"

node -e '
  const path = process.argv[1];
  try {
    const a = JSON.parse(require("fs").readFileSync(path, "utf8"));
    if (!Array.isArray(a.abi) || !/^0x([0-9a-f]{2})+$/i.test((a.bytecode || {}).object || ""))
      throw new Error("no ABI or no bytecode in it");
  } catch (e) {
    console.error(`build-contracts: ${path}: ${e.message}`);
    process.exit(1);
  }
' "$artifact"
echo "build-contracts: $artifact"
