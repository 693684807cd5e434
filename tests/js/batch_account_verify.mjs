// Verifies one exported account of a batch with ethers and @openzeppelin/merkle-tree alone,
// no Custos code (docs/attestation.md §12):
//   1. the attestation's struct hash, recomputed by ethers from its fields, is the leaf value;
//   2. StandardMerkleTree.verify accepts the leaf's proof against the batch's accountsRoot;
//   3. verifyTypedData recovers each batch signature over the CollateralBatch message;
//   4. the batch's feedId is keccak256 of the feed name and its times are the attestation's.
//
//   node batch_account_verify.mjs <account.json>
//
// Prints "valid" and one "signer 0x.." line per signature (exit 0), or "invalid: why"
// (exit 1).
import { readFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { TypedDataEncoder, keccak256, toUtf8Bytes, verifyTypedData } from "ethers";

// Both types as docs/attestation.md §3 and §12 define them, not read from the document
// (custos_types.mjs), so a wrong type list in the export cannot go unnoticed.
import { attestationTypes, batchTypes } from "./custos_types.mjs";

function fail(why) {
    console.log(`invalid: ${why}`);
    process.exit(1);
}

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const att = doc.typedData.message;
const batch = doc.batch;
const msg = batch.typedData.message;

const structHash = TypedDataEncoder.hashStruct("CollateralAttestation", attestationTypes, att);
if (batch.leafTypes !== "bytes32")
    fail(`leaf types ${batch.leafTypes}`);
if (!StandardMerkleTree.verify(msg.accountsRoot, ["bytes32"], [structHash], batch.proof))
    fail("the proof does not lead from the attestation's leaf to accountsRoot");
if (StandardMerkleTree.of([[structHash]], ["bytes32"]).leafHash([structHash]) !== batch.leaf)
    fail("the exported leaf is not the leaf of the attestation");
if (keccak256(toUtf8Bytes(doc.feed)) !== msg.feedId)
    fail("feedId is not keccak256 of the feed name");
if (String(att.asOf) !== String(msg.asOf) || String(att.validUntil) !== String(msg.validUntil))
    fail("the attestation's times differ from the batch's");
if (Number(att.kind) !== 0)
    fail("a batch carries valuations only");
if (batch.signatures.length === 0)
    fail("no signatures");
const digest = TypedDataEncoder.hash(doc.typedData.domain, batchTypes, msg);
if (digest !== batch.digest)
    fail("the batch digest differs from ethers'");
const signers = batch.signatures.map((s) => verifyTypedData(doc.typedData.domain, batchTypes,
                                                            msg, s));
if (new Set(signers).size !== signers.length)
    fail("two signatures from one signer");
console.log("valid");
for (const s of signers)
    console.log(`signer ${s}`);
