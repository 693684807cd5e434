// Checks a reserves inclusion proof written by custos-attestor reserves with ethers and
// OpenZeppelin's StandardMerkleTree only.
// Usage: node reserves_proof_verify.mjs <proof.json>; prints "signer 0x..." (the address
// ethers recovers from the EIP-712 signature) and "valid" or "invalid" (exit 0 or 1).
import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, toUtf8Bytes, verifyTypedData } from 'ethers';

const doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
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
const domain = {
  name: 'Custos Collateral Attestation',
  version: '1',
  chainId: BigInt(doc.chainId),
  verifyingContract: doc.verifyingContract,
};
const message = {
  feedId: keccak256(toUtf8Bytes(doc.feed)),
  totalCollateral: BigInt(doc.totalCollateral),
  accounts: BigInt(doc.accounts),
  accountsRoot: doc.accountsRoot,
  asOf: BigInt(doc.asOf),
  sequence: BigInt(doc.sequence),
};
const signer = verifyTypedData(domain, types, message, doc.signature);
console.log(`signer ${signer}`);
const included = StandardMerkleTree.verify(doc.accountsRoot, ['bytes32', 'uint256'],
  [doc.account, BigInt(doc.collateralValue)], doc.proof);
console.log(included ? 'valid' : 'invalid');
process.exit(included ? 0 : 1);
