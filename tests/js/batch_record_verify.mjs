// Verifies an account of a batch as a gateway serves it (`custos get-latest` JSON, whose
// record carries its batch: docs/attestation.md §16), with ethers and
// @openzeppelin/merkle-tree alone, no Custos code:
//   1. the attestation's struct hash, computed by ethers from the record's fields;
//   2. StandardMerkleTree.verify accepts the record's proof from that leaf to accountsRoot;
//   3. the batch digest, computed by ethers from the batch's fields, is the record's, and
//      verifyTypedData recovers each signature to the record's signers, in order;
//   4. feedId is keccak256 of the feed name, and the times are the attestation's.
//
//   node batch_record_verify.mjs <record.json>
//
// Prints "valid" and one "signer 0x.." line per signature (exit 0), or "invalid: why"
// (exit 1).
import { readFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { TypedDataEncoder, getAddress, keccak256, toUtf8Bytes, verifyTypedData } from "ethers";

// The domain and both types as docs/attestation.md defines them (custos_types.mjs).
import {
    DOMAIN_NAME, DOMAIN_VERSION, KINDS, attestationTypes, batchTypes,
} from "./custos_types.mjs";

function fail(why) {
    console.log(`invalid: ${why}`);
    process.exit(1);
}

const rec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const b = rec.batch;
if (b === undefined)
    fail("the record carries no batch");
const domain = {
    name: DOMAIN_NAME,
    version: DOMAIN_VERSION,
    chainId: BigInt(rec.chainId),
    verifyingContract: rec.verifyingContract,
};
if (!(rec.kind in KINDS))
    fail(`kind ${rec.kind}`);
const att = {
    account: rec.account,
    beneficiary: rec.beneficiary,
    kind: KINDS[rec.kind],
    grossValue: BigInt(rec.grossValue),
    collateralValue: BigInt(rec.collateralValue),
    positionsRoot: rec.positionsRoot,
    asOf: BigInt(rec.asOf),
    validUntil: BigInt(rec.validUntil),
    sequence: BigInt(rec.sequence),
};
const structHash = TypedDataEncoder.hashStruct("CollateralAttestation", attestationTypes, att);
if (!StandardMerkleTree.verify(b.accountsRoot, ["bytes32"], [structHash], b.proof))
    fail("the proof does not lead from the attestation's leaf to accountsRoot");
if (keccak256(toUtf8Bytes(rec.feed)) !== b.feedId)
    fail("feedId is not keccak256 of the feed name");
if (String(b.asOf) !== String(rec.asOf) || String(b.validUntil) !== String(rec.validUntil))
    fail("the attestation's times differ from the batch's");
const msg = {
    feedId: b.feedId,
    accountsRoot: b.accountsRoot,
    count: BigInt(b.count),
    asOf: BigInt(b.asOf),
    validUntil: BigInt(b.validUntil),
    sequence: BigInt(b.sequence),
};
if (TypedDataEncoder.hash(domain, batchTypes, msg) !== b.digest)
    fail("the batch digest differs from ethers'");
if (b.signatures.length === 0 || b.signatures.length !== rec.signers.length)
    fail(`${b.signatures.length} signatures for ${rec.signers.length} signers`);
const signers = b.signatures.map((s) => verifyTypedData(domain, batchTypes, msg, s));
signers.forEach((s, i) => {
    if (s !== getAddress(rec.signers[i]))
        fail(`signature ${i} recovers to ${s}, not the signer ${rec.signers[i]}`);
});
console.log("valid");
for (const s of signers)
    console.log(`signer ${s}`);
