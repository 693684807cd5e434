// submitBatch calldata built with no Custos code: ethers for the struct hashes and the
// ABI, @openzeppelin/merkle-tree for the tree and its leaf order.
//   node batch_calldata.mjs '<json {domain, feedId, sequence, attestations: [...], signatures: "0x..",
//                                    part: [indices]}>'
// Prints the accounts root, then the calldata: submitBatch's, or with `part` (indices into
// attestations) submitBatchPart's, its multiproof from the merkle-tree package's
// getMultiProof. Integers are decimal strings or numbers.
import { ethers } from 'ethers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { attestationTypes } from './custos_types.mjs';

const { feedId, sequence, attestations, signatures, part } = JSON.parse(process.argv[2]);
const types = attestationTypes;
const hashes = attestations.map((a) => ethers.TypedDataEncoder.hashStruct('CollateralAttestation', types, a));
const tree = StandardMerkleTree.of(hashes.map((h) => [h]), ['bytes32']);
// The sorted tree keeps leaf i at index 2n - 2 - i: decreasing tree index is leaf order.
const ordered = tree.dump().values.map((v, i) => ({ att: attestations[i], at: v.treeIndex }))
  .sort((a, b) => b.at - a.at).map((x) => x.att);
const batch = { feedId, accountsRoot: tree.root, count: attestations.length,
  asOf: attestations[0].asOf, validUntil: attestations[0].validUntil, sequence };
const batchType = '(bytes32 feedId, bytes32 accountsRoot, uint32 count, uint64 asOf, uint64 validUntil, uint64 sequence) b';
const attsType = '(bytes32 account, address beneficiary, uint8 kind, uint256 grossValue, uint256 collateralValue, ' +
  'bytes32 positionsRoot, uint64 asOf, uint64 validUntil, uint64 sequence)[] atts';
const iface = new ethers.Interface([
  `function submitBatch(bytes32 feedId, ${batchType}, ${attsType}, bytes signatures)`,
  `function submitBatchPart(bytes32 feedId, ${batchType}, ${attsType}, bytes32[] proof, bool[] proofFlags, bytes signatures)`]);
console.log(tree.root);
if (part === undefined) {
  console.log(iface.encodeFunctionData('submitBatch', [feedId, batch, ordered, signatures]));
} else {
  // getMultiProof takes indices into the values given to of(); its leaves come back in
  // the order the proof needs, each the [structHash] given.
  const mp = tree.getMultiProof(part);
  const byHash = new Map(hashes.map((h, i) => [h, attestations[i]]));
  const atts = mp.leaves.map(([h]) => byHash.get(h));
  console.log(iface.encodeFunctionData('submitBatchPart', [feedId, batch, atts, mp.proof, mp.proofFlags, signatures]));
}
