// Independent keccak256 for the C tests: for each argument "<length>" or
// "<length>@<offset>", hashes the bytes [offset, offset + length) of the test pattern
// byte[i] = (i * 131 + 7) mod 256 with ethers and prints "<argument> <hash hex>".
import { keccak256 } from "ethers";

for (const arg of process.argv.slice(2)) {
    const [len, offset] = arg.split("@").map((v) => Number.parseInt(v, 10));
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = ((i + (offset || 0)) * 131 + 7) % 256;
    console.log(`${arg} ${keccak256(data).slice(2)}`);
}
