// Independent accepted-chain links for the C tests: given "<cursor> <digest hex>" pairs as
// arguments (cursor then digest, repeated), starts from 32 zero bytes and prints one line
// per link: "<cursor> <chain hash hex>", with chain = keccak256(abi.encodePacked(prev,
// uint64 cursor, bytes32 digest)) computed by ethers.
import { solidityPackedKeccak256, ZeroHash } from "ethers";

const args = process.argv.slice(2);
let prev = ZeroHash;
for (let i = 0; i + 1 < args.length; i += 2) {
    const cursor = BigInt(args[i]);
    prev = solidityPackedKeccak256(["bytes32", "uint64", "bytes32"], [prev, cursor, "0x" + args[i + 1]]);
    console.log(`${args[i]} ${prev.slice(2)}`);
}
