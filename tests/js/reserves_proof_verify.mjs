// Checks a reserves inclusion proof written by custos-attestor reserves (or custos
// get-reserves-proof) with ethers and sumtree.mjs only: no Custos code.
// Usage: node reserves_proof_verify.mjs <proof.json>; prints "signer 0x..." for each
// signature (the address ethers recovers from the EIP-712 signature), then "valid" or
// "invalid: <reason>" (exit 0 or 1).
import { readFileSync } from 'node:fs';
import { TypedDataEncoder, keccak256, toUtf8Bytes, verifyTypedData } from 'ethers';
import { leafOf, verify } from './sumtree.mjs';

const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
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
const domain = {
  name: 'Custos Collateral Attestation',
  version: '1',
  chainId: BigInt(doc.chainId),
  verifyingContract: doc.verifyingContract,
};
const total = BigInt(doc.totalCollateral);
const message = {
  feedId: keccak256(toUtf8Bytes(doc.feed)),
  totalCollateral: total,
  accounts: BigInt(doc.accounts),
  sumRoot: doc.sumRoot,
  asOf: BigInt(doc.asOf),
  sequence: BigInt(doc.sequence),
};
const signatures = doc.signatures ?? [doc.signature];
for (const sig of signatures) console.log(`signer ${verifyTypedData(domain, types, message, sig)}`);
const value = BigInt(doc.collateralValue);
const proof = doc.proof.map((s) => ({ hash: s.hash, sum: BigInt(s.sum) }));
let why = verify(doc.account, value, Number(doc.index), Number(doc.accounts), proof,
  doc.sumRoot, total);
if (why === null && leafOf(doc.account, value).hash !== doc.leaf.toLowerCase()) {
  why = 'the leaf is not the hash of (account, collateralValue)';
}
if (why === null && TypedDataEncoder.hash(domain, types, message) !== doc.digest.toLowerCase()) {
  why = 'the digest is not the EIP-712 digest of the fields';
}
console.log(why === null ? 'valid' : `invalid: ${why}`);
process.exit(why === null ? 0 : 1);
