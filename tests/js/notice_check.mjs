// Independent EIP-712 reference for test_notice: recomputes, with ethers only, what
// libcustos derives from an exported CollateralNotice document.
//
//   node notice_check.mjs <notice.json> [<seckey hex>]
//
// Prints "name value" lines: the domain separator, struct hash and digest, the address
// verifyTypedData recovers from the document's signature and, with a secret key, its
// address and the signature ethers makes over the digest with it.
import { readFileSync } from "node:fs";
import { SigningKey, TypedDataEncoder, computeAddress, verifyTypedData } from "ethers";

// The notice type as docs/attestation.md §17 defines it, written out here rather than
// taken from the document, so a wrong type list in the export cannot go unnoticed.
const types = {
    CollateralNotice: [
        { name: "account", type: "bytes32" },
        { name: "lender", type: "address" },
        { name: "state", type: "uint8" },
        { name: "ltvBps", type: "uint32" },
        { name: "exposure", type: "uint256" },
        { name: "collateralValue", type: "uint256" },
        { name: "deadline", type: "uint64" },
        { name: "sequence", type: "uint64" },
    ],
};
const domainType = [
    { name: "name", type: "string" },
    { name: "version", type: "string" },
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
];

const [file, key] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(file, "utf8"));
const td = doc.typedData;

function fail(msg) {
    console.error(`notice_check: ${msg}`);
    process.exit(1);
}

if (JSON.stringify(td.types.CollateralNotice) !== JSON.stringify(types.CollateralNotice))
    fail("exported CollateralNotice type differs from docs/attestation.md §17");
if (JSON.stringify(td.types.EIP712Domain) !== JSON.stringify(domainType))
    fail("exported EIP712Domain type differs from docs/attestation.md §2");
if (td.primaryType !== "CollateralNotice") fail("primaryType");
if (td.domain.name !== "Custos Collateral Attestation" || td.domain.version !== "1")
    fail("domain name or version");

const digest = TypedDataEncoder.hash(td.domain, types, td.message);
if (digest !== doc.digest) fail(`document digest ${doc.digest}, ethers ${digest}`);
const out = [
    ["domainSeparator", TypedDataEncoder.hashDomain(td.domain)],
    ["structHash", TypedDataEncoder.from(types).hash(td.message)],
    ["digest", digest],
    ["recovered", verifyTypedData(td.domain, types, td.message, doc.signature)],
];
if (key !== undefined) {
    const sk = new SigningKey(key);
    out.push(["address", computeAddress(sk.publicKey)]);
    out.push(["signature", sk.sign(digest).serialized]);
}
for (const [name, value] of out) console.log(`${name} ${value}`);
