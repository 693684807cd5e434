// Independent accepted-chain links for the C tests: given entries as arguments, starts from
// 32 zero bytes and prints one line per link: "<cursor> <chain hash hex>". An entry is
// "<cursor> <digest hex>", a record: keccak256(abi.encodePacked(prev, uint64 cursor,
// bytes32 digest)); or "notice <cursor> <digest hex> <signature hex>", a collateral notice:
// keccak256(abi.encodePacked(prev, uint64 cursor, uint8 1, bytes32 digest, bytes signature)).
// Computed by ethers alone.
import { solidityPackedKeccak256, ZeroHash } from "ethers";

const args = process.argv.slice(2);
let prev = ZeroHash;
let i = 0;
while (i < args.length) {
    if (args[i] === "notice") {
        const [cursor, digest, sig] = args.slice(i + 1, i + 4);
        prev = solidityPackedKeccak256(["bytes32", "uint64", "uint8", "bytes32", "bytes"],
                                       [prev, BigInt(cursor), 1, "0x" + digest, "0x" + sig]);
        console.log(`${cursor} ${prev.slice(2)}`);
        i += 4;
    } else {
        prev = solidityPackedKeccak256(["bytes32", "uint64", "bytes32"],
                                       [prev, BigInt(args[i]), "0x" + args[i + 1]]);
        console.log(`${args[i]} ${prev.slice(2)}`);
        i += 2;
    }
}
