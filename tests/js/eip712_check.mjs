// Independent EIP-712 reference for test_eip712: recomputes, with ethers only, every value
// libcustos derives from an exported typed-data document.
//
//   node eip712_check.mjs <typeddata.json> <custodianId> <accountRef> <seckey hex>...
//
// Prints "name value" lines: the domain separator, struct hash and digest; the account id
// of (custodianId, accountRef); for each signature in the document the address ethers
// recovers; for each secret key its address and the signature ethers makes over the digest.
import { readFileSync } from "node:fs";
import { AbiCoder, SigningKey, TypedDataEncoder, computeAddress, keccak256, verifyTypedData }
    from "ethers";

// The attestation type as docs/attestation.md §3 defines it, not taken from the document
// (custos_types.mjs), so a wrong type list in the export cannot go unnoticed.
import { attestationTypes as types } from "./custos_types.mjs";
const domainType = [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
];

const [file, custodianId, accountRef, ...keys] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(file, "utf8"));
const td = doc.typedData;

function fail(msg) {
    console.error(`eip712_check: ${msg}`);
    process.exit(1);
}

if (JSON.stringify(td.types.CollateralAttestation) !== JSON.stringify(types.CollateralAttestation))
    fail("exported CollateralAttestation type differs from docs/attestation.md §3");
if (JSON.stringify(td.types.EIP712Domain) !== JSON.stringify(domainType))
    fail("exported EIP712Domain type differs from the EIP-712 domain of docs/attestation.md §2");
if (td.primaryType !== "CollateralAttestation") fail("primaryType");
if (td.domain.name !== "Custos Collateral Attestation" || td.domain.version !== "1")
    fail("domain name or version");

const digest = TypedDataEncoder.hash(td.domain, types, td.message);
const out = [
    ["domainSeparator", TypedDataEncoder.hashDomain(td.domain)],
    ["structHash", TypedDataEncoder.from(types).hash(td.message)],
    ["digest", digest],
    ["accountId",
     keccak256(AbiCoder.defaultAbiCoder().encode(["string", "string"], [custodianId, accountRef]))],
];
doc.signatures.forEach((sig, i) =>
    out.push([`recovered${i}`, verifyTypedData(td.domain, types, td.message, sig)]));
keys.forEach((key, i) => {
    const sk = new SigningKey(key);
    out.push([`address${i}`, computeAddress(sk.publicKey)]);
    out.push([`signature${i}`, sk.sign(digest).serialized]);
});
for (const [name, value] of out) console.log(`${name} ${value}`);
