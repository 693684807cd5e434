// Independent audit-log hashes for the C tests: arguments are entries as
// "<seq> <time> <actor> <action> <payload hex>" (five arguments each); starting from 32
// zero bytes, prints one line per entry: "<seq> <hash hex>", the hash being
// keccak256(abi.encodePacked(bytes32 prev, uint64 seq, uint64 time, uint32 len, string
// actor, uint32 len, string action, uint32 len, bytes payload)) computed by ethers.
import { solidityPackedKeccak256, toUtf8Bytes, ZeroHash } from "ethers";

const args = process.argv.slice(2);
let prev = ZeroHash;
for (let i = 0; i + 4 < args.length; i += 5) {
    const [seq, time, actor, action, payloadHex] = args.slice(i, i + 5);
    const payload = "0x" + payloadHex;
    prev = solidityPackedKeccak256(
        ["bytes32", "uint64", "uint64", "uint32", "string", "uint32", "string", "uint32", "bytes"],
        [prev, BigInt(seq), BigInt(time), toUtf8Bytes(actor).length, actor,
         toUtf8Bytes(action).length, action, (payloadHex.length / 2), payload]);
    console.log(`${seq} ${prev.slice(2)}`);
}
