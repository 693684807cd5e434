// Figure b: verifyTypedData (ethers) over the attestations bench_verify exported, one
// eth_signTypedData_v4 document per line, each checked against the expected signer.
//   node ethers_verify.mjs <typeddata.jsonl> <signer address>
// Prints "ethers_verify_per_s <rate>".
import { readFileSync } from "node:fs";
import { verifyTypedData } from "ethers";

const [file, expected] = process.argv.slice(2);
const docs = readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
const jobs = docs.map((d) => {
    const types = { ...d.typedData.types };
    delete types.EIP712Domain; // ethers derives the domain type itself
    return { domain: d.typedData.domain, types, message: d.typedData.message,
             sig: d.signatures[0] };
});

function run(list) {
    for (const j of list) {
        const who = verifyTypedData(j.domain, j.types, j.message, j.sig);
        if (who.toLowerCase() !== expected.toLowerCase())
            throw new Error(`recovered ${who}, expected ${expected}`);
    }
}

run(jobs.slice(0, Math.ceil(jobs.length / 4))); // warm-up: JIT
const t0 = process.hrtime.bigint();
run(jobs);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`ethers_verify_per_s ${(jobs.length / seconds).toFixed(1)}`);
