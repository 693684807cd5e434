// Reference positions trees built with OpenZeppelin's StandardMerkleTree.
// Usage: node merkle_check.mjs <input.json> <output.json>
// Input: {"types": "bytes32,uint256,...", "sets": [[[assetId, quantity, price, value,
// haircutBps], ...], ...]} with amounts as decimal strings; each set is one tree.
// Output: {"sets": [{"root", "leaves": [...], "proofs": [[...], ...]}, ...]}, where
// leaves[i] and proofs[i] answer the set's values[i]. A proof is the library's proof for
// the value (getProof by value, which for duplicated values is the last one's), checked
// with the library's own verify before it is written.
import { readFileSync, writeFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeBytes32String } from 'ethers';

function reference(types, rows) {
  const values = rows.map(([id, q, p, v, h]) => [
    encodeBytes32String(id),
    BigInt(q),
    BigInt(p),
    BigInt(v),
    BigInt(h),
  ]);
  const tree = StandardMerkleTree.of(values, types);
  const proofs = values.map((v) => tree.getProof(v));
  values.forEach((v, i) => {
    if (!StandardMerkleTree.verify(tree.root, types, v, proofs[i])) {
      throw new Error(`proof ${i} does not verify`);
    }
  });
  return { root: tree.root, leaves: values.map((v) => tree.leafHash(v)), proofs };
}

const [input, output] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(input, 'utf8'));
const types = spec.types.split(',');
const sets = spec.sets.map((rows) => reference(types, rows));
writeFileSync(output, JSON.stringify({ sets }));
console.log(`ok ${sets.length}`);
