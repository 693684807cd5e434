#!/usr/bin/env node
// Known-answer vector for the ReleaseConsent EIP-712 digest a lender signs (CustosPledges),
// computed with ethers' TypedDataEncoder (independent of the contract).
//   node deploy/contracts/tools/consent-vector.js            print the vector
//   node deploy/contracts/tools/consent-vector.js --write    also write test/vectors/consent.json
// The forge test test/CustosPledges.t.sol checks against it.
'use strict';
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const { ethers } = require(path.join(repoRoot, 'node_modules', 'ethers'));

const domain = {
  name: 'Custos Pledges',
  version: '1',
  chainId: 1,
  verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
};
const types = {
  ReleaseConsent: [
    { name: 'account', type: 'bytes32' },
    { name: 'beneficiary', type: 'address' },
    { name: 'receipt', type: 'address' },
    { name: 'sequence', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
  ],
};
const consent = {
  account: ethers.keccak256(ethers.toUtf8Bytes('custos-vector-account-1')),
  beneficiary: '0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb', // Morpho Blue on mainnet
  receipt: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  sequence: 43,
  deadline: 1767373200, // 2026-01-02T17:00:00Z
};
// Test-only key (never use for anything real).
const testKey = '0x' + '22'.repeat(32);

const digest = ethers.TypedDataEncoder.hash(domain, types, consent);
const sig = new ethers.SigningKey(testKey).sign(digest);
const vector = {
  command: 'node deploy/contracts/tools/consent-vector.js --write',
  typeString: ethers.TypedDataEncoder.from(types).encodeType('ReleaseConsent'),
  domain,
  consent,
  domainSeparator: ethers.TypedDataEncoder.hashDomain(domain),
  digest,
  signature: { privateKey: testKey, address: ethers.computeAddress(testKey), rsv: sig.serialized },
};
const text = JSON.stringify(vector, null, 2) + '\n';
process.stdout.write(text);
if (process.argv.includes('--write')) {
  fs.writeFileSync(path.join(__dirname, '..', 'test', 'vectors', 'consent.json'), text);
}
