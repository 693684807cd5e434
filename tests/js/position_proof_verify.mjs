// Checks a position proof written by `custos get-proof` with OpenZeppelin's
// StandardMerkleTree.verify, independently of libcustos.
// Usage: node position_proof_verify.mjs <proof.json>; prints "valid" (exit 0) or
// "invalid" (exit 1).
import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeBytes32String } from 'ethers';

const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const types = doc.leafTypes.split(',');
const p = doc.position;
const value = [
  encodeBytes32String(p.assetId),
  BigInt(p.quantity),
  BigInt(p.price),
  BigInt(p.value),
  BigInt(p.haircutBps),
];
const ok =
  StandardMerkleTree.verify(doc.root, types, value, doc.proof) &&
  StandardMerkleTree.of([value], types).leafHash(value) === doc.leaf;
console.log(ok ? 'valid' : 'invalid');
process.exit(ok ? 0 : 1);
