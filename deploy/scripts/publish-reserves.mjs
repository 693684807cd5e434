#!/usr/bin/env node
// Publishes a feed's reserves attestation to CustosReserves (docs/adapter.md §13): the
// reserves.json that custos-attestor reserves wrote and each other signer of the feed's
// quorum cosigned (custos-attestor cosign-reserves).
//
//   node deploy/scripts/publish-reserves.mjs --rpc URL --key-file FILE \
//        --deployed deployed.json --reserves reserves.json [--artifacts deploy/contracts/out]
//
// deployed.json is deploy.mjs's output with "reserves" (the config's "reserves" section).
// The file's domain must be the deployed adapter's; its digest is recomputed and must be
// the one written and the one CustosReserves computes; the signatures are sorted by the
// address they recover to, as the contract requires. The key file pays for the
// transaction (anyone may publish: the contract accepts only what the quorum signed).
// Prints the transaction and the feed's reservesOk after it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ethers } from 'ethers';

import {
  Refusal, loadArtifact, parseCommandLine, readJson, readKeyFile, refuse,
} from './script-common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const usage =
  'usage: node deploy/scripts/publish-reserves.mjs --rpc URL --key-file FILE ' +
  '--deployed deployed.json --reserves reserves.json [--artifacts DIR]';

const TYPES = {
  ReservesAttestation: [
    { name: 'feedId', type: 'bytes32' },
    { name: 'totalCollateral', type: 'uint256' },
    { name: 'accounts', type: 'uint64' },
    { name: 'sumRoot', type: 'bytes32' },
    { name: 'asOf', type: 'uint64' },
    { name: 'sequence', type: 'uint64' },
  ],
};

// The signed fields of reserves.json, checked; the signatures sorted by signer.
function readReserves(file, adapter, chainId) {
  const doc = readJson(file, 'reserves');
  const fail = (what) => refuse(`${file}: ${what}`);
  for (const k of ['feed', 'chainId', 'verifyingContract', 'totalCollateral', 'accounts', 'sumRoot',
    'asOf', 'sequence', 'digest']) {
    if (doc[k] === undefined) fail(`"${k}" is missing (custos-attestor reserves writes it)`);
  }
  if (BigInt(doc.chainId) !== BigInt(chainId)) fail(`chainId ${doc.chainId}, but the adapter is on chain ${chainId}`);
  if (ethers.getAddress(doc.verifyingContract) !== ethers.getAddress(adapter)) {
    fail(`signed for the adapter at ${doc.verifyingContract}, not the deployed ${adapter}`);
  }
  const domain = {
    name: 'Custos Collateral Attestation',
    version: '1',
    chainId: BigInt(doc.chainId),
    verifyingContract: doc.verifyingContract,
  };
  const message = {
    feedId: ethers.id(doc.feed),
    totalCollateral: BigInt(doc.totalCollateral),
    accounts: BigInt(doc.accounts),
    sumRoot: doc.sumRoot,
    asOf: BigInt(doc.asOf),
    sequence: BigInt(doc.sequence),
  };
  const digest = ethers.TypedDataEncoder.hash(domain, TYPES, message);
  if (digest !== doc.digest.toLowerCase()) fail('"digest" is not the EIP-712 digest of its fields');
  const sigs = doc.signatures ?? (doc.signature ? [doc.signature] : []);
  if (!Array.isArray(sigs) || sigs.length === 0) fail('no "signatures"');
  const signed = sigs.map((s, i) => {
    try {
      return { signer: ethers.recoverAddress(digest, s), sig: s };
    } catch (e) {
      return fail(`signature ${i} does not recover: ${e.message}`);
    }
  });
  signed.sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
  return { message, digest, signed };
}

async function main() {
  const args = parseCommandLine(process.argv.slice(2), {
    options: {
      rpc: { type: 'string' },
      'key-file': { type: 'string' },
      deployed: { type: 'string' },
      reserves: { type: 'string' },
      artifacts: { type: 'string', default: path.join(here, '..', 'contracts', 'out') },
    },
    required: ['rpc', 'key-file', 'deployed', 'reserves'],
    usage,
  });
  const deployed = readJson(args.deployed, 'deployed');
  if (!deployed.reserves) refuse(`${args.deployed}: no "reserves": deploy CustosReserves first (deploy.json "reserves")`);
  const { message, digest, signed } = readReserves(args.reserves, deployed.adapter, deployed.chainId);
  const artifact = loadArtifact(args.artifacts, 'CustosReserves');
  const provider = new ethers.JsonRpcProvider(args.rpc, deployed.chainId, { staticNetwork: true });
  const wallet = new ethers.Wallet(readKeyFile(args['key-file']), provider);
  const reserves = new ethers.Contract(deployed.reserves, artifact.abi, wallet);
  const onChain = await reserves.digest(message.feedId, message.totalCollateral, message.accounts,
    message.sumRoot, message.asOf, message.sequence);
  if (onChain !== digest) refuse(`CustosReserves at ${deployed.reserves} computes another digest: is it this adapter's?`);
  console.log(`feed ${message.feedId}, sequence ${message.sequence}, total ${message.totalCollateral}`);
  for (const s of signed) console.log(`  signer ${s.signer}`);
  let receipt;
  try {
    receipt = await (await reserves.publish(message.feedId, message.totalCollateral, message.accounts,
      message.sumRoot, message.asOf, message.sequence, ethers.concat(signed.map((s) => s.sig)))).wait();
  } catch (e) {
    let why = e.shortMessage || e.message;
    const data = e.data ?? e.info?.error?.data;
    if (data) {
      const adapterIface = new ethers.Interface([
        'error BelowThreshold(uint256 have, uint256 need)', 'error TooFewRoles(uint256 have, uint256 need)',
        'error UnknownSigner(address signer)', 'error RevokedSigner(address signer)',
        'error UnknownFeed(bytes32 feedId)', 'error DuplicateSignerSlot(address signer)']);
      for (const iface of [reserves.interface, adapterIface]) {
        try {
          const parsed = iface.parseError(data);
          if (parsed) why = `${parsed.name}(${parsed.args.join(', ')})`;
        } catch {
          // not this contract's error
        }
      }
    }
    refuse(`publish: ${why}`);
  }
  console.log(`published: tx ${receipt.hash}, gas ${receipt.gasUsed}`);
  console.log(`reservesOk ${await reserves.reservesOk(message.feedId)}`);
}

main().catch((e) => {
  console.error(e instanceof Refusal ? e.message : `publish-reserves: ${e.shortMessage || e.message}`);
  process.exit(1);
});
