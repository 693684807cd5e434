// RLP reference encodings from ethers: argv[2] is a JSON array of items; an item is a hex
// string (bytes), {"int": "<decimal>"} (an integer) or an array of items (a list).
// Prints one encoding per line.
import { encodeRlp, hexlify, toBeArray } from 'ethers';

function toRlpInput(item) {
  if (Array.isArray(item)) return item.map(toRlpInput);
  if (typeof item === 'string') return item;
  return hexlify(toBeArray(BigInt(item.int)));
}

for (const item of JSON.parse(process.argv[2])) console.log(encodeRlp(toRlpInput(item)));
