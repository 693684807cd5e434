// Independent reference for test_reserves: the ReservesAttestation EIP-712 digest with
// ethers' TypedDataEncoder and the accounts tree with OpenZeppelin's StandardMerkleTree.
//   node reserves_check.mjs <input.json>
// Input: {"chainId", "verifyingContract", "feed", "asOf", "sequence",
//         "entries": [[account, collateralValue], ...]} (amounts as decimal strings).
// Prints "name value" lines: feedId, total, accounts, root, digest, then "proof<i> h,h,..."
// for each entry (the library's proof, checked with its own verify).
import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { TypedDataEncoder, keccak256, toUtf8Bytes } from 'ethers';

const types = {
  ReservesAttestation: [
    { name: 'feedId', type: 'bytes32' },
    { name: 'totalCollateral', type: 'uint256' },
    { name: 'accounts', type: 'uint64' },
    { name: 'accountsRoot', type: 'bytes32' },
    { name: 'asOf', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
};
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const values = spec.entries.map(([a, v]) => [a, BigInt(v)]);
const tree = StandardMerkleTree.of(values, ['bytes32', 'uint256']);
const total = values.reduce((s, [, v]) => s + v, 0n);
const feedId = keccak256(toUtf8Bytes(spec.feed));
const domain = {
  name: 'Custos Collateral Attestation',
  version: '1',
  chainId: BigInt(spec.chainId),
  verifyingContract: spec.verifyingContract,
};
const message = {
  feedId,
  totalCollateral: total,
  accounts: BigInt(values.length),
  accountsRoot: tree.root,
  asOf: BigInt(spec.asOf),
  sequence: BigInt(spec.sequence),
};
console.log(`feedId ${feedId}`);
console.log(`total ${total}`);
console.log(`root ${tree.root}`);
console.log(`digest ${TypedDataEncoder.hash(domain, types, message)}`);
values.forEach((v, i) => {
  const proof = tree.getProof(v);
  if (!StandardMerkleTree.verify(tree.root, ['bytes32', 'uint256'], v, proof)) {
    throw new Error(`proof ${i} does not verify`);
  }
  console.log(`proof${i} ${proof.join(',')}`);
});
