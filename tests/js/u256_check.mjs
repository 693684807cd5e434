// Reference results for the u256 tests, computed with JavaScript BigInt.
// Usage: node u256_check.mjs <input> <output>
// Each input line is "<op> <a> <b> <d>" with operands in hex (no 0x); each output line
// answers the input line of the same number: 64 hex digits, a decimal or fixed-point
// rendering, or OVERFLOW / INVALID.
import { readFileSync, writeFileSync } from 'node:fs';

const MAX = (1n << 256n) - 1n;
const MONEY = 10n ** 18n;

function fits(v) {
  return v >= 0n && v <= MAX ? v.toString(16).padStart(64, '0') : 'OVERFLOW';
}

function fixed(v, decimals) {
  if (decimals === 0n) return v.toString();
  const scale = 10n ** decimals;
  const frac = (v % scale).toString().padStart(Number(decimals), '0').replace(/0+$/, '');
  const whole = (v / scale).toString();
  return frac === '' ? whole : `${whole}.${frac}`;
}

const ops = {
  add: (a, b) => fits(a + b),
  sub: (a, b) => fits(a - b),
  mul: (a, b) => fits(a * b),
  muldiv: (a, b, d) => (d === 0n ? 'INVALID' : fits((a * b) / d)),
  money: (a, b) => fits((a * b) / MONEY),
  haircut: (a, b) => (b > 10000n ? 'INVALID' : fits((a * (10000n - b)) / 10000n)),
  dec: (a) => a.toString(),
  fixed: (a, b) => fixed(a, b),
};

const [input, output] = process.argv.slice(2);
const lines = readFileSync(input, 'utf8').split('\n').filter((l) => l !== '');
const out = lines.map((line) => {
  const [op, ...hex] = line.split(' ');
  const f = ops[op];
  if (f === undefined) throw new Error(`unknown op ${op}`);
  const [a, b, d] = hex.map((h) => BigInt(`0x${h}`));
  return f(a, b, d);
});
writeFileSync(output, out.join('\n') + '\n');
console.log(`ok ${out.length}`);
