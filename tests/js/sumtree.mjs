// An independent Merkle sum tree (docs/attestation.md §18), written from the document with
// ethers' keccak256 and ABI coder only, for the cross-checks of the reserves attestation.
//   leaf      = (keccak256(abi.encode(bytes32 account, uint256 value)), value), sorted by account
//   node(l,r) = (keccak256(abi.encode(bytes32 l.hash, uint256 l.sum, bytes32 r.hash,
//                uint256 r.sum)), l.sum + r.sum); an odd last node is carried up
import { AbiCoder, keccak256 } from 'ethers';

const abi = AbiCoder.defaultAbiCoder();
const LIMIT = 1n << 128n;
const MAX256 = (1n << 256n) - 1n;

export function leafOf(account, value) {
  return { hash: keccak256(abi.encode(['bytes32', 'uint256'], [account, value])), sum: value };
}

function parent(l, r) {
  const sum = l.sum + r.sum;
  if (sum > MAX256) throw new Error('a sum overflows uint256');
  return {
    hash: keccak256(abi.encode(['bytes32', 'uint256', 'bytes32', 'uint256'],
      [l.hash, l.sum, r.hash, r.sum])),
    sum,
  };
}

// entries: [[account, value(BigInt)], ...]; returns { levels, sorted }.
export function build(entries) {
  const sorted = [...entries].sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  for (const [, v] of sorted) if (v < 0n || v >= LIMIT) throw new Error('value out of range');
  const levels = [sorted.map(([a, v]) => leafOf(a, v))];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const above = [];
    for (let i = 0; i + 1 < below.length; i += 2) above.push(parent(below[i], below[i + 1]));
    if (below.length % 2 === 1) above.push(below[below.length - 1]);
    levels.push(above);
  }
  return { levels, sorted };
}

export function root(tree) {
  return tree.levels[tree.levels.length - 1][0];
}

export function proofOf(tree, index) {
  const out = [];
  let at = index;
  for (let lv = 0; lv + 1 < tree.levels.length; lv++, at = Math.floor(at / 2)) {
    const sib = at % 2 === 1 ? at - 1 : at + 1;
    if (sib < tree.levels[lv].length) out.push(tree.levels[lv][sib]);
  }
  return out;
}

// Returns null when the proof shows leaf `index` of `count` under (rootHash, total), else
// the reason.
export function verify(account, value, index, count, proof, rootHash, total) {
  if (value < 0n || value >= LIMIT) return 'the value is 2^128 or more';
  if (count < 1 || index < 0 || index >= count) return 'no such leaf';
  let node = leafOf(account, value);
  let k = 0;
  for (let at = index, width = count; width > 1; at = Math.floor(at / 2),
    width = Math.floor((width + 1) / 2)) {
    const sib = at % 2 === 1 ? at - 1 : at + 1;
    if (sib >= width) continue;
    if (k === proof.length) return 'too few siblings';
    const s = proof[k++];
    try {
      node = at % 2 === 1 ? parent(s, node) : parent(node, s);
    } catch (e) {
      return e.message;
    }
    if (node.sum > total) return 'a partial sum exceeds the total';
  }
  if (k !== proof.length) return 'too many siblings';
  if (node.hash.toLowerCase() !== rootHash.toLowerCase()) return 'not the root';
  if (node.sum !== total) return 'the sums do not add up to the total';
  return null;
}
