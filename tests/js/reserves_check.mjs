// Independent reference for test_reserves: the ReservesAttestation EIP-712 digest with
// ethers' TypedDataEncoder and the accounts' sum tree with sumtree.mjs (no Custos code).
//   node reserves_check.mjs <input.json>
// Input: {"chainId", "verifyingContract", "feed", "asOf", "sequence",
//         "entries": [[account, collateralValue], ...]} (amounts as decimal strings).
// Prints "name value" lines: feedId, total, root, digest, then "proof<i> index:h/s,h/s,..."
// for the i-th entry as given (each proof checked with sumtree.mjs's verify).
import { readFileSync } from 'node:fs';
import { TypedDataEncoder, keccak256, toUtf8Bytes } from 'ethers';
import { build, proofOf, root, verify } from './sumtree.mjs';

const types = {
  ReservesAttestation: [
    { name: 'feedId', type: 'bytes32' },
    { name: 'totalCollateral', type: 'uint256' },
    { name: 'accounts', type: 'uint64' },
    { name: 'sumRoot', type: 'bytes32' },
    { name: 'asOf', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
};
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const values = spec.entries.map(([a, v]) => [a, BigInt(v)]);
const tree = build(values);
const top = root(tree);
const total = values.reduce((s, [, v]) => s + v, 0n);
if (top.sum !== total) throw new Error('the root sum is not the total');
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
  sumRoot: top.hash,
  asOf: BigInt(spec.asOf),
  sequence: BigInt(spec.sequence),
};
console.log(`feedId ${feedId}`);
console.log(`total ${total}`);
console.log(`root ${top.hash}`);
console.log(`digest ${TypedDataEncoder.hash(domain, types, message)}`);
values.forEach(([a, v], i) => {
  const index = tree.sorted.findIndex(([b]) => b === a);
  const proof = proofOf(tree, index);
  const why = verify(a, v, index, values.length, proof, top.hash, total);
  if (why !== null) throw new Error(`proof ${i} does not verify: ${why}`);
  console.log(`proof${i} ${index}:${proof.map((s) => `${s.hash}/${s.sum}`).join(',')}`);
});
