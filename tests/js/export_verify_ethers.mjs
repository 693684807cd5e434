// The README's ethers call on an exported attestation, exactly as written there:
//
//   const { EIP712Domain, ...types } = doc.typedData.types;
//   ethers.verifyTypedData(doc.typedData.domain, types, doc.typedData.message, signature)
//
//   node export_verify_ethers.mjs <export.json>
//
// Prints "signer<i> <address>" for each signature of the export. Also checks what the README
// says of passing the export's types unchanged: ethers refuses them, since EIP712Domain
// (there for eth_signTypedData_v4) is not referenced by the primary type; the script fails
// if that ever stops being true, so the README is corrected.
import { readFileSync } from "node:fs";
import * as ethers from "ethers";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));

const { EIP712Domain, ...types } = doc.typedData.types;
if (EIP712Domain === undefined) {
    console.error("export_verify_ethers: the export has no EIP712Domain in types");
    process.exit(1);
}
doc.signatures.forEach((signature, i) =>
    console.log(`signer${i} ${ethers.verifyTypedData(doc.typedData.domain, types,
                                                     doc.typedData.message, signature)}`));

let refused = false;
try {
    ethers.verifyTypedData(doc.typedData.domain, doc.typedData.types, doc.typedData.message,
                           doc.signatures[0]);
} catch (e) {
    refused = /ambiguous primary types or unused types/.test(e.message);
}
if (!refused) {
    console.error("export_verify_ethers: ethers took the export's types unchanged; the README says it refuses them");
    process.exit(1);
}
