// Independent check, with ethers only, of what `custos watch --notices` printed from a
// gateway's Watch stream: every collateral notice's EIP-712 digest is recomputed from its
// typed data (the CollateralNotice type written out here, as docs/attestation.md §17 defines
// it), verifyTypedData recovers its signer, and every chain link is recomputed from the one
// before (docs/attestation.md §13 for records, §19 for notices).
//
//   node watch_notice_check.mjs <lines.jsonl> <custodian address> [<previous chain hash>]
//
// The previous chain hash is the link before the first line (32 zero bytes from cursor 0).
// Prints "notice <cursor> recovered <address>" per notice, then "entries N notices M tip
// 0x..", and exits 1 naming the first line that does not check.
import { readFileSync } from "node:fs";
import { TypedDataEncoder, ZeroHash, getAddress, solidityPackedKeccak256, verifyTypedData } from "ethers";

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

const [file, custodian, prevArg] = process.argv.slice(2);
const want = getAddress(custodian);
let prev = prevArg ?? ZeroHash;
let last = null;
let entries = 0;
let notices = 0;

function fail(msg) {
    console.error(`watch_notice_check: ${msg}`);
    process.exit(1);
}

for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const ev = JSON.parse(line);
    let cursor, link;
    if (ev.notice !== undefined) {
        const n = ev.notice;
        const td = n.signed.typedData;
        cursor = BigInt(n.cursor);
        const digest = TypedDataEncoder.hash(td.domain, types, td.message);
        const signer = verifyTypedData(td.domain, types, td.message, n.signed.signature);
        if (signer !== want) fail(`notice at ${cursor}: recovered ${signer}, not ${want}`);
        if (BigInt(td.message.sequence) !== BigInt(n.sequence))
            fail(`notice at ${cursor}: the typed data's sequence is not the notice's`);
        link = solidityPackedKeccak256(["bytes32", "uint64", "uint8", "bytes32", "bytes"],
                                       [prev, cursor, 1, digest, n.signed.signature]);
        if (link !== n.chainHash.toLowerCase())
            fail(`notice at ${cursor}: chain hash ${n.chainHash}, ethers links ${link}`);
        console.log(`notice ${cursor} recovered ${signer}`);
        notices++;
    } else {
        cursor = BigInt(ev.cursor);
        link = solidityPackedKeccak256(["bytes32", "uint64", "bytes32"], [prev, cursor, ev.digest]);
        if (link !== ev.chainHash.toLowerCase())
            fail(`record at ${cursor}: chain hash ${ev.chainHash}, ethers links ${link}`);
    }
    if (last !== null && cursor !== last + 1n) fail(`cursor ${cursor} does not follow ${last}`);
    last = cursor;
    prev = link;
    entries++;
}
console.log(`entries ${entries} notices ${notices} tip ${prev}`);
