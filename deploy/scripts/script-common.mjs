// What deploy.mjs and publish-reserves.mjs share: refusals, the command line, the key file
// and contract artifacts. Every refusal names what was wrong; messages never hold a key.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ethers } from 'ethers';

export class Refusal extends Error {}

export function refuse(message) {
  throw new Refusal(message);
}

// Strict options: an unknown option or a missing required one is refused with the usage;
// --help prints the usage and exits 0.
export function parseCommandLine(argv, { options, required, usage }) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    refuse(`${e.message}\n${usage}`);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  for (const name of required) {
    if (!values[name]) refuse(`--${name} is required\n${usage}`);
  }
  return values;
}

export function readJson(file, what) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return refuse(`${what} ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

// Same rules as libcustos (custos_keyfile_read): a regular file, not a link, no access for
// group or others, one key.
export function readKeyFile(file) {
  let st;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    refuse(`key file ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  if (st.isSymbolicLink()) refuse(`key file ${file} is a symbolic link; point to the file itself`);
  if (!st.isFile()) refuse(`key file ${file} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    refuse(`key file ${file} has mode ${mode}: group or others may access it; run chmod 600 on it`);
  }
  const text = fs.readFileSync(file, 'utf8');
  const m = /^0[xX]([0-9a-fA-F]{64})\n?$/.exec(text);
  if (!m) refuse(`key file ${file} must hold exactly one key: 0x followed by 64 hex digits and an optional newline`);
  const key = '0x' + m[1].toLowerCase();
  const k = BigInt(key);
  if (k === 0n || k >= ethers.N) refuse(`key file ${file} does not hold a valid secp256k1 secret key`);
  return key;
}

// A forge artifact (out/<sub>/<Name>.sol/<Name>.json): its ABI and creation bytecode.
export function loadArtifact(dir, name = 'CustosAdapter', sub = '') {
  const file = path.join(dir, sub, `${name}.sol`, `${name}.json`);
  let a;
  try {
    a = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    refuse(`${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message} ` +
      '(build the contracts first: deploy/scripts/build-contracts.sh)');
  }
  const bytecode = a.bytecode && a.bytecode.object;
  if (!Array.isArray(a.abi) || typeof bytecode !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(bytecode)) {
    refuse(`${file}: no ABI or no bytecode in it (rebuild: deploy/scripts/build-contracts.sh)`);
  }
  return { abi: a.abi, bytecode, file };
}

// A revert is named with its decoded custom error (e.g. AccountAlreadyRegistered(...)).
export function describe(e, iface) {
  let revert = e && e.revert;
  if (!revert && iface && e && typeof e.data === 'string' && e.data.length >= 10) {
    try {
      revert = iface.parseError(e.data);
    } catch {
      revert = null;
    }
  }
  if (revert && revert.name) return `reverted ${revert.name}(${revert.args.map(String).join(', ')})`;
  return (e && (e.shortMessage || e.message)) || String(e);
}
