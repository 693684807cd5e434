#!/usr/bin/env node
// Measures the real transaction gas (receipt gasUsed) of submit() updating an existing
// account with 1, 2 and 3 signatures, on a local anvil chain.
//   (cd deploy/contracts && forge build --use tools/solc-json) && node deploy/contracts/tools/measure-gas.js
'use strict';
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..');
const { ethers } = require(path.join(repo, 'node_modules', 'ethers'));
const anvilBin = path.join(repo, 'node_modules', '@foundry-rs', 'anvil-linux-amd64', 'bin', 'anvil');

const PORT = 18545 + (process.pid % 1000);
// anvil's well-known first development key
const DEPLOYER = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

function artifact(name) {
  const j = JSON.parse(fs.readFileSync(path.join(here, 'out', `${name}.sol`, `${name}.json`), 'utf8'));
  return { abi: j.abi, bytecode: j.bytecode.object };
}

async function waitForNode(provider) {
  for (let i = 0; i < 100; i++) {
    try { await provider.getBlockNumber(); return; } catch (_) { await new Promise((r) => setTimeout(r, 100)); }
  }
  throw new Error('anvil did not start');
}

async function main() {
  const anvil = spawn(anvilBin, ['--port', String(PORT), '--silent'], { stdio: 'ignore' });
  try {
    const provider = new ethers.JsonRpcProvider(`http://127.0.0.1:${PORT}`, 31337, { staticNetwork: true });
    await waitForNode(provider);
    const owner = new ethers.NonceManager(new ethers.Wallet(DEPLOYER, provider));
    const { abi, bytecode } = artifact('CustosAdapter');
    const adapter = await new ethers.ContractFactory(abi, bytecode, owner).deploy(await owner.getAddress());
    await adapter.waitForDeployment();
    const { chainId } = await provider.getNetwork();
    const domain = { name: 'Custos Collateral Attestation', version: '1', chainId, verifyingContract: await adapter.getAddress() };
    const types = { CollateralAttestation: [
      { name: 'account', type: 'bytes32' }, { name: 'beneficiary', type: 'address' }, { name: 'kind', type: 'uint8' },
      { name: 'grossValue', type: 'uint256' }, { name: 'collateralValue', type: 'uint256' },
      { name: 'positionsRoot', type: 'bytes32' }, { name: 'asOf', type: 'uint64' },
      { name: 'validUntil', type: 'uint64' }, { name: 'sequence', type: 'uint64' } ] };
    const keys = [1, 2, 3].map((i) => new ethers.SigningKey(ethers.zeroPadValue(ethers.toBeHex(0xC0FFEE00 + i), 32)));
    const results = [];
    for (const n of [1, 2, 3]) {
      const feedId = ethers.id(`gas-feed-${n}`);
      const account = ethers.id(`gas-account-${n}`);
      await (await adapter.setFeed(feedId, n, true, 4 * 86400, 300, 5 * 86400)).wait();
      for (let i = 0; i < n; i++) await (await adapter.addSigner(feedId, ethers.computeAddress(keys[i]), i)).wait();
      await (await adapter.registerAccount(account, feedId)).wait();
      const gasUsed = [];
      for (const seq of [1, 2]) {
        const now = (await provider.getBlock('latest')).timestamp;
        const att = { account, beneficiary: '0x00000000000000000000000000000000000A11CE', kind: 0,
          grossValue: 103n * 10n ** 24n + BigInt(seq), collateralValue: 10n ** 26n + BigInt(seq),
          positionsRoot: ethers.id(`root-${seq}`), asOf: now, validUntil: now + 86400, sequence: seq };
        const digest = ethers.TypedDataEncoder.hash(domain, types, att);
        const sigs = keys.slice(0, n)
          .map((k) => ({ addr: BigInt(ethers.computeAddress(k)), sig: k.sign(digest).serialized }))
          .sort((a, b) => (a.addr < b.addr ? -1 : 1))
          .map((s) => s.sig);
        const rc = await (await adapter.submit(feedId, att, ethers.concat(sigs))).wait();
        gasUsed.push(rc.gasUsed);
      }
      results.push({ signatures: n, firstSubmit: gasUsed[0], update: gasUsed[1] });
    }
    for (const r of results) {
      console.log(`submit, ${r.signatures} signature(s): first ${r.firstSubmit} gas, update ${r.update} gas`);
    }
  } finally {
    anvil.kill();
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
