// Independent audit-log hashes for the C tests, computed by ethers:
//   keccak256(abi.encodePacked(bytes32 prev, uint64 seq, uint64 time, uint32 len, string
//   actor, uint32 len, string action, uint32 len, bytes payload))
//
// Default mode: arguments are entries as "<seq> <time> <actor> <action> <payload hex>"
// (five arguments each); starting from 32 zero bytes, prints one line per entry:
// "<seq> <hash hex>".
//
// --verify [--expect-head SEQ:0xHASH]: arguments are stored rows as "<seq> <time> <actor>
// <action> <payload hex> <prev_hash hex> <hash hex>" (seven each), oldest first; checks the
// chain as an auditor would (each seq the previous plus 1, prev_hash the previous hash,
// hash recomputed) and the kept head, and prints one line:
//   "ok <entries> <seq>:0x<hash>"  the chain holds (and the kept head is in it),
//   "broken <seq>"                 the first row that does not follow,
//   "differs <seq>"                the kept head's row has another hash,
//   "missing <seq>"                the log ends before the kept head's seq.
import { solidityPackedKeccak256, toUtf8Bytes, ZeroHash } from "ethers";

function link(prev, seq, time, actor, action, payloadHex) {
    return solidityPackedKeccak256(
        ["bytes32", "uint64", "uint64", "uint32", "string", "uint32", "string", "uint32", "bytes"],
        [prev, BigInt(seq), BigInt(time), toUtf8Bytes(actor).length, actor,
         toUtf8Bytes(action).length, action, payloadHex.length / 2, "0x" + payloadHex]);
}

const args = process.argv.slice(2);
if (args[0] === "--verify") {
    let rest = args.slice(1);
    let kept = null;
    if (rest[0] === "--expect-head") {
        const [s, h] = rest[1].split(":");
        kept = { seq: BigInt(s), hash: h.toLowerCase() };
        rest = rest.slice(2);
    }
    let prev = ZeroHash;
    let last = 0n;
    let verdict = null;
    for (let i = 0; i + 6 < rest.length && verdict === null; i += 7) {
        const [seq, time, actor, action, payloadHex, prevHex, hashHex] = rest.slice(i, i + 7);
        const h = link(prev, seq, time, actor, action, payloadHex);
        if (BigInt(seq) !== last + 1n || "0x" + prevHex !== prev || "0x" + hashHex !== h) {
            verdict = `broken ${seq}`;
        } else if (kept !== null && BigInt(seq) === kept.seq && h !== kept.hash) {
            verdict = `differs ${seq}`;
        } else {
            prev = h;
            last = BigInt(seq);
        }
    }
    if (verdict === null && kept !== null && last < kept.seq) verdict = `missing ${last + 1n}`;
    console.log(verdict ?? `ok ${last} ${last}:${prev}`);
} else {
    let prev = ZeroHash;
    for (let i = 0; i + 4 < args.length; i += 5) {
        const [seq, time, actor, action, payloadHex] = args.slice(i, i + 5);
        prev = link(prev, seq, time, actor, action, payloadHex);
        console.log(`${seq} ${prev.slice(2)}`);
    }
}
