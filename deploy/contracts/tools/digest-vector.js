#!/usr/bin/env node
// Known-answer vector for the CollateralAttestation EIP-712 digest, computed with ethers'
// TypedDataEncoder (independent of the contract and of libcustos).
//   node deploy/contracts/tools/digest-vector.js            print the vector
//   node deploy/contracts/tools/digest-vector.js --write    also write test/vectors/digest.json
// The forge test test/CustosDigest.t.sol and libcustos's C tests check against it.
'use strict';
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const { ethers } = require(path.join(repoRoot, 'node_modules', 'ethers'));

const domain = {
  name: 'Custos Collateral Attestation',
  version: '1',
  chainId: 1,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
};
const types = {
  CollateralAttestation: [
    { name: 'account', type: 'bytes32' },
    { name: 'beneficiary', type: 'address' },
    { name: 'kind', type: 'uint8' },
    { name: 'grossValue', type: 'uint256' },
    { name: 'collateralValue', type: 'uint256' },
    { name: 'positionsRoot', type: 'bytes32' },
    { name: 'asOf', type: 'uint64' },
    { name: 'validUntil', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
};
const attestation = {
  account: ethers.keccak256(ethers.toUtf8Bytes('custos-vector-account-1')),
  beneficiary: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
  kind: 0,
  grossValue: '125000000000000000000000000', // 125,000,000 USD
  collateralValue: '121875000000000000000000000', // after a 2.5% haircut
  positionsRoot: ethers.keccak256(ethers.toUtf8Bytes('custos-vector-positions-1')),
  asOf: 1767369600, // 2026-01-02T16:00:00Z
  validUntil: 1767628800, // 2026-01-05T16:00:00Z
  sequence: 42,
};
// Test-only key (never use for anything real).
const testKey = '0x' + '11'.repeat(32);

const digest = ethers.TypedDataEncoder.hash(domain, types, attestation);
const signingKey = new ethers.SigningKey(testKey);
const sig = signingKey.sign(digest);
const vector = {
  command: 'node deploy/contracts/tools/digest-vector.js --write',
  typeString: ethers.TypedDataEncoder.from(types).encodeType('CollateralAttestation'),
  domain,
  attestation,
  domainSeparator: ethers.TypedDataEncoder.hashDomain(domain),
  structHash: ethers.TypedDataEncoder.hashStruct('CollateralAttestation', types, attestation),
  digest,
  signature: {
    privateKey: testKey,
    address: ethers.computeAddress(testKey),
    rsv: sig.serialized,
  },
};
const text = JSON.stringify(vector, null, 2) + '\n';
process.stdout.write(text);
if (process.argv.includes('--write')) {
  fs.writeFileSync(path.join(__dirname, '..', 'test', 'vectors', 'digest.json'), text);
}
