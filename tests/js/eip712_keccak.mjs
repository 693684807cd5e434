// Independent keccak256 for the C tests: for each length given, hashes the test pattern
// byte[i] = (i * 131 + 7) mod 256 with ethers and prints "<length> <hash hex>".
import { keccak256 } from "ethers";

for (const arg of process.argv.slice(2)) {
    const len = Number.parseInt(arg, 10);
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = (i * 131 + 7) % 256;
    console.log(`${len} ${keccak256(data).slice(2)}`);
}
