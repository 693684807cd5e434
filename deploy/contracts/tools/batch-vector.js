#!/usr/bin/env node
// Known-answer vector for a batch (docs/adapter.md §14): three CollateralAttestation struct
// hashes (ethers' TypedDataEncoder), their OpenZeppelin StandardMerkleTree (the
// @openzeppelin/merkle-tree package, leaf encoding ["bytes32"]), the CollateralBatch
// digest over its root (ethers), a multiproof of two of its leaves (the package's
// getMultiProof) and a signature of the digest; independent of the contract and of
// libcustos.
//   node deploy/contracts/tools/batch-vector.js            print the vector
//   node deploy/contracts/tools/batch-vector.js --write    also write test/vectors/batch.json
// test/CustosDigest.t.sol checks the adapter against it and submits it, whole and in a part.
'use strict';
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const { ethers } = require(path.join(repoRoot, 'node_modules', 'ethers'));
const { StandardMerkleTree } = require(path.join(repoRoot, 'node_modules', '@openzeppelin', 'merkle-tree'));

// The domain of digest-vector.js: the adapter at a fixed address on chain 1.
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
const batchTypes = {
  CollateralBatch: [
    { name: 'feedId', type: 'bytes32' },
    { name: 'accountsRoot', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
    { name: 'asOf', type: 'uint64' },
    { name: 'validUntil', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
};
const asOf = 1767369600; // 2026-01-02T16:00:00Z
const validUntil = 1767456000; // a day later
const attestations = [1, 2, 3].map((i) => ({
  account: ethers.keccak256(ethers.toUtf8Bytes(`custos-vector-batch-account-${i}`)),
  beneficiary: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
  kind: 0,
  grossValue: String(BigInt(i) * 10n ** 26n),
  collateralValue: String(BigInt(i) * 95n * 10n ** 24n),
  positionsRoot: ethers.keccak256(ethers.toUtf8Bytes(`custos-vector-batch-positions-${i}`)),
  asOf,
  validUntil,
  sequence: 10 + i,
}));
const structHashes = attestations.map((a) => ethers.TypedDataEncoder.hashStruct('CollateralAttestation', types, a));
const tree = StandardMerkleTree.of(structHashes.map((h) => [h]), ['bytes32']);
// Leaf i of the sorted tree sits at tree index 2n - 2 - i: the order submitBatch wants.
const dumped = tree.dump();
const leaves = dumped.values
  .map((v, i) => ({ index: i, treeIndex: v.treeIndex }))
  .sort((a, b) => b.treeIndex - a.treeIndex)
  .map(({ index }) => ({
    attestation: attestations[index],
    structHash: structHashes[index],
    leaf: tree.leafHash([structHashes[index]]),
    proof: tree.getProof(index),
  }));
// A multiproof (getMultiProof) of the first and the last leaf of the tree's order, which are
// not siblings: one proof hash and one flag of each value. submitBatchPart takes its leaves
// in the order given.
const multi = tree.getMultiProof(
  dumped.values.map((v, i) => ({ index: i, treeIndex: v.treeIndex }))
    .filter(({ treeIndex }) => treeIndex === 2 * attestations.length - 2 || treeIndex === attestations.length - 1)
    .map(({ index }) => index),
);
const multiproof = {
  attestations: multi.leaves.map(([h]) => attestations[structHashes.indexOf(h)]),
  proof: multi.proof,
  proofFlags: multi.proofFlags,
};
const batch = {
  feedId: ethers.keccak256(ethers.toUtf8Bytes('vector')),
  accountsRoot: tree.root,
  count: attestations.length,
  asOf,
  validUntil,
  sequence: 7,
};
const digest = ethers.TypedDataEncoder.hash(domain, batchTypes, batch);
// Test-only key (never use for anything real), as digest-vector.js.
const testKey = '0x' + '11'.repeat(32);
const vector = {
  command: 'node deploy/contracts/tools/batch-vector.js --write',
  typeString: ethers.TypedDataEncoder.from(batchTypes).encodeType('CollateralBatch'),
  domain,
  batch,
  structHash: ethers.TypedDataEncoder.hashStruct('CollateralBatch', batchTypes, batch),
  digest,
  leaves,
  multiproof,
  signature: {
    privateKey: testKey,
    address: ethers.computeAddress(testKey),
    rsv: new ethers.SigningKey(testKey).sign(digest).serialized,
  },
};
const text = JSON.stringify(vector, null, 2) + '\n';
process.stdout.write(text);
if (process.argv.includes('--write')) {
  fs.writeFileSync(path.join(__dirname, '..', 'test', 'vectors', 'batch.json'), text);
}
