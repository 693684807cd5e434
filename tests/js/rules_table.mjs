// The adapter's side of the rule table (tests/rules/cases.json, docs/rules.md rule 10),
// independent of libcustos: ethers signs every attestation of the table and submits it to
// CustosAdapter on a node, and the gateway's side (test_rules_table.c) sends the very same
// bytes to custos-gateway. Format of the table: tests/rules/README.md.
//
//   node rules_table.mjs deploy-config --table cases.json --out deploy.json
//       the deploy.json for deploy/scripts/deploy.mjs: the table's feeds (policy, breaker,
//       sequence step, the signers there before any rotation) and one account per case
//   node rules_table.mjs run --table cases.json --rpc URL --deployed deployed.json
//        --owner-key-file FILE --submitter-key 0x.. --out run.json
//       as the adapter's owner, rotates and revokes the signers the table says; then signs
//       every step, submits it from the submitter's account (not the owner: anyone may
//       submit), and writes run.json: the signed steps, each with the adapter's verdict,
//       and the signers' state for the gateway's config.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ethers } from 'ethers';
import { KINDS, attestationTypes } from './custos_types.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, '..', '..', 'deploy', 'contracts', 'out');
const ROLES = ['custodian', 'valuation_agent', 'fund_administrator', 'auditor'];
const SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141n;
const TYPES = attestationTypes;

function fail(message) {
  console.error(`rules_table: ${message}`);
  process.exit(1);
}

// A signer's key is derived from its name, so the table holds no key material.
function keyOf(name) {
  return ethers.id(`custos rules table/${name}`);
}

// "1250000e18" is 1250000 * 10^18; any other value is a decimal integer.
function amount(text, where) {
  const m = /^([0-9]+)(e18)?$/.exec(String(text));
  if (!m) fail(`${where}: value ${JSON.stringify(text)} is not a decimal integer`);
  return BigInt(m[1]) * (m[2] ? 10n ** 18n : 1n);
}

function accountId(feed, ref) {
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['string', 'string'], [feed, ref]));
}

function loadTable(file) {
  const t = JSON.parse(fs.readFileSync(file, 'utf8'));
  const signers = new Map(); // name -> {name, feed, role, address, key}
  for (const f of t.feeds) {
    for (const s of f.signers) {
      if (signers.has(s.name)) fail(`signer ${s.name} listed twice`);
      if (!ROLES.includes(s.role)) fail(`signer ${s.name}: role ${s.role}`);
      const key = keyOf(s.name);
      signers.set(s.name, { ...s, feed: f.name, key, address: new ethers.Wallet(key).address });
    }
  }
  for (const name of t.strangers) {
    const key = keyOf(name);
    signers.set(name, { name, feed: null, key, address: new ethers.Wallet(key).address });
  }
  for (const c of t.cases) {
    c.feed = c.feed || t.feeds[0].name;
    if (!t.feeds.some((f) => f.name === c.feed)) fail(`case ${c.name}: no feed ${c.feed}`);
    // Rule 9: the feed the case's account is registered to on both sides (null: none).
    c.registeredTo = c.registered === false ? null : (c.registeredTo || c.feed);
    if (c.registeredTo !== null && !t.feeds.some((f) => f.name === c.registeredTo))
      fail(`case ${c.name}: registeredTo: no feed ${c.registeredTo}`);
  }
  return { t, signers };
}

function deployConfig(args) {
  const { t } = loadTable(args.table);
  const out = {
    chainId: 31337,
    feeds: t.feeds.map((f) => {
      const feed = {
        name: f.name, threshold: f.threshold, distinctRoles: f.distinctRoles,
        maxAge: f.maxAge, maxSkew: f.maxSkew, maxTtl: f.maxTtl,
        // A rotation's new key takes the old key's slot on-chain: rotateSigner adds it.
        signers: f.signers.filter((s) => !s.replaces)
          .map((s) => ({ address: new ethers.Wallet(keyOf(s.name)).address, role: s.role })),
        accounts: t.cases.filter((c) => c.registeredTo === f.name)
          .map((c) => ({ custodian: c.feed, ref: c.name, lenders: [] })),
      };
      if (f.breakerRiseBps !== undefined) {
        feed.breakerRiseBps = f.breakerRiseBps;
        feed.breakerReleaseThreshold = f.breakerReleaseThreshold;
      }
      if (f.maxSequenceStep !== undefined) feed.maxSequenceStep = f.maxSequenceStep;
      return feed;
    }),
  };
  fs.writeFileSync(args.out, JSON.stringify(out, null, 2) + '\n');
}

// A transaction's receipt, waited for at most a minute: a node that stops mining fails the
// run instead of stalling it.
async function mined(txPromise) {
  const rc = await (await txPromise).wait(1, 60000);
  if (rc === null) throw new Error('no receipt within 60 s');
  return rc;
}

function artifact(name) {
  const a = JSON.parse(fs.readFileSync(path.join(artifacts, `${name}.sol`, `${name}.json`), 'utf8'));
  return a.abi;
}

// The adapter's verdict of a revert: the custom error decoded by the adapter's ABI (or the
// pledge registry's, which a release passes through).
function decodeRevert(e, ifaces) {
  const data = e && (e.data || (e.info && e.info.error && e.info.error.data) || (e.error && e.error.data));
  if (typeof data === 'string' && data.length >= 10) {
    for (const iface of ifaces) {
      try {
        const err = iface.parseError(data);
        if (err) return { name: err.name, args: err.args.map(String) };
      } catch { /* another interface's error */ }
    }
    return { name: `unknown revert ${data.slice(0, 10)}`, args: [] };
  }
  return { name: `no revert data: ${(e && (e.shortMessage || e.message)) || e}`, args: [] };
}

function corrupt(sig, how) {
  const b = ethers.getBytes(sig);
  if (how === 'highS') {
    const s = BigInt(ethers.hexlify(b.slice(32, 64)));
    b.set(ethers.getBytes(ethers.toBeHex(SECP256K1_N - s, 32)), 32);
    b[64] = b[64] === 27 ? 28 : 27;
  } else if (how === 'v29') {
    b[64] = 29;
  } else if (how === 'zeroR') {
    b.fill(0, 0, 32);
  } else {
    fail(`unknown corruption ${how}`);
  }
  return ethers.hexlify(b);
}

async function run(args) {
  const { t, signers } = loadTable(args.table);
  const deployed = JSON.parse(fs.readFileSync(args.deployed, 'utf8'));
  // No cached answers: a nonce read a moment ago is stale once the transaction is mined.
  const provider = new ethers.JsonRpcProvider(args.rpc, deployed.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const ownerKey = fs.readFileSync(args['owner-key-file'], 'utf8').trim();
  // Plain wallets: each transaction is waited for, and a submit refused at estimateGas
  // must not take a nonce (a NonceManager would skip one and stall the next).
  const owner = new ethers.Wallet(ownerKey, provider);
  const submitter = new ethers.Wallet(args["submitter-key"], provider);
  const abi = artifact('CustosAdapter');
  const ifaces = [new ethers.Interface(abi), new ethers.Interface(artifact('CustosPledges'))];
  const asOwner = new ethers.Contract(deployed.adapter, abi, owner);
  const asSubmitter = new ethers.Contract(deployed.adapter, abi, submitter);
  const feedId = (name) => ethers.id(name);

  // The signers' state the table asks for, set by the adapter's owner.
  for (const s of signers.values()) {
    if (s.replaces) {
      const old = signers.get(s.replaces);
      await mined(asOwner.rotateSigner(feedId(s.feed), old.address, s.address, s.overlap));
    }
    if (s.revoked) await mined(asOwner.revokeSigner(feedId(s.feed), s.address));
  }
  const feeds = [];
  for (const f of t.feeds) {
    const list = [];
    for (const s of f.signers) {
      const me = signers.get(s.name);
      const [status, , retiresAt] = await asOwner.signer(feedId(f.name), me.address);
      const successor = f.signers.find((x) => x.replaces === s.name);
      list.push({
        name: s.name, address: me.address, role: s.role,
        status: Number(status) === 2 ? 'revoked' : 'active',
        notAfter: Number(retiresAt),
        replacedBy: successor ? signers.get(successor.name).address : null,
      });
    }
    feeds.push({
      name: f.name, threshold: f.threshold, distinctRoles: f.distinctRoles, maxAge: f.maxAge,
      maxSkew: f.maxSkew, maxTtl: f.maxTtl, breakerRiseBps: f.breakerRiseBps || 0,
      breakerReleaseThreshold: f.breakerReleaseThreshold || 0,
      maxSequenceStep: f.maxSequenceStep || 0, signers: list,
    });
  }

  const now = (await provider.getBlock('latest')).timestamp;
  const revoked = new Set();
  const cases = [];
  for (const c of t.cases) {
    const account = accountId(c.feed, c.name);
    const steps = [];
    const signedBy = new Map(); // digest -> names whose signatures the gateway keeps
    for (const [i, st] of c.steps.entries()) {
      const where = `case ${c.name} step ${i}`;
      if (st.action) {
        if (st.action !== 'revoke') fail(`${where}: unknown action ${st.action}`);
        const s = signers.get(st.signer);
        await mined(asOwner.revokeSigner(feedId(s.feed), s.address));
        revoked.add(st.signer);
        steps.push({ action: 'revoke', signer: st.signer, feed: s.feed, address: s.address });
        continue;
      }
      let att;
      let chainId = st.chainId || deployed.chainId;
      if (st.again !== undefined) {
        const prev = steps[st.again];
        if (!prev || !prev.attestation) fail(`${where}: again ${st.again} is not an attestation`);
        att = prev.attestation;
        chainId = prev.chainId;
      } else {
        const value = amount(st.value === undefined ? '1000000e18' : st.value, where);
        const ben = st.beneficiary || 'A';
        att = {
          account,
          beneficiary: ben === 'zero' ? ethers.ZeroAddress : t.lenders[ben],
          kind: KINDS[st.kind || 'valuation'],
          grossValue: value.toString(),
          collateralValue: value.toString(),
          positionsRoot: ethers.id(`positions of ${c.name} step ${i}`),
          asOf: now + (st.asOf === undefined ? -60 : st.asOf),
          validUntil: now + (st.validUntil === undefined ? 3600 : st.validUntil),
          sequence: String(st.sequence),
        };
      }
      const domain = { name: 'Custos Collateral Attestation', version: '1', chainId, verifyingContract: deployed.adapter };
      const digest = ethers.TypedDataEncoder.hash(domain, TYPES, att);
      const names = st.sign || (c.feed === t.feeds[0].name ? ['custodian', 'agent'] : fail(`${where}: sign`));
      let sigs = names.map((n) => {
        const s = signers.get(n);
        if (!s) fail(`${where}: no signer ${n}`);
        return new ethers.SigningKey(s.key).sign(digest).serialized;
      });
      if (st.corrupt === 'repeat17') sigs = Array(17).fill(sigs[0]);
      else if (st.corrupt) sigs[0] = corrupt(sigs[0], st.corrupt);
      // "refused:REASON:Error" names both sides' refusal, "pending:Error" the adapter's;
      // a documented difference gives each side's verdict on its own.
      const parts = (st.expect || '').split(':');
      const gatewayExpect = st.expectGateway ||
        (parts[0] === 'refused' ? `refused:${parts[1]}` : parts[0]);
      const adapterExpect = st.expectAdapter ||
        (parts[0] === 'refused' ? `refused:${parts[2]}` : st.expect);

      // What the adapter gets for this step: the signatures the gateway's record of the
      // digest would carry (earlier steps' that it kept and whose signers are still valid)
      // and this step's, sorted by signer address as the publisher sorts them.
      const kept = (signedBy.get(digest) || []).filter((n) => !revoked.has(n) && !names.includes(n));
      const chain = kept.map((n) => ({ addr: signers.get(n).address, sig: new ethers.SigningKey(signers.get(n).key).sign(digest).serialized }))
        .concat(sigs.map((sig, j) => ({ addr: signers.get(names[Math.min(j, names.length - 1)]).address, sig })))
        .sort((a, b) => (BigInt(a.addr) < BigInt(b.addr) ? -1 : BigInt(a.addr) > BigInt(b.addr) ? 1 : 0));
      const verdict = await submit(asSubmitter, asOwner, ifaces, feedId(c.feed), att,
        ethers.concat(chain.map((x) => x.sig)));
      // The gateway keeps the signatures of a step it does not refuse.
      if (!gatewayExpect.startsWith('refused')) {
        signedBy.set(digest, [...new Set([...(signedBy.get(digest) || []), ...names])]);
      }
      steps.push({
        attestation: att, chainId, digest, signers: names, signatures: sigs,
        expectGateway: gatewayExpect, expectAdapter: adapterExpect,
        adapter: verdict.verdict, adapterDetail: verdict.detail,
      });
    }
    cases.push({
      name: c.name, feed: c.feed, account, registeredTo: c.registeredTo,
      difference: c.difference || null, steps,
    });
  }
  fs.writeFileSync(args.out, JSON.stringify({
    chainId: deployed.chainId, adapter: deployed.adapter, now, feeds, cases,
  }, null, 1) + '\n');
}

// The adapter's verdict in the table's words: accepted, pending:Error (short of the
// quorum), held (BreakerHeld), duplicate (Replay(n, n) of the attestation on-chain) or
// refused:Error.
async function submit(asSubmitter, asOwner, ifaces, feed, att, sigs) {
  try {
    const rc = await mined(asSubmitter.submit(feed, att, sigs));
    return { verdict: rc.status === 1 ? 'accepted' : 'refused:reverted', detail: '' };
  } catch (e) {
    const err = decodeRevert(e, ifaces);
    const detail = `${err.name}(${err.args.join(', ')})`;
    if (err.name === 'BelowThreshold' || err.name === 'TooFewRoles') return { verdict: `pending:${err.name}`, detail };
    if (err.name === 'BreakerHeld') return { verdict: 'held', detail };
    if (err.name === 'Replay' && err.args[0] === err.args[1] && await sameOnChain(asOwner, att)) {
      return { verdict: 'duplicate', detail };
    }
    return { verdict: `refused:${err.name}`, detail };
  }
}

// Whether the adapter's latest record of the account is exactly att (Replay(n, n) of the
// same attestation is the gateway's duplicate success): the stored fields, and the digest
// of the account's last AttestationAccepted event for what is not stored (grossValue,
// positionsRoot).
async function sameOnChain(adapter, att) {
  const s = await adapter.latest(att.account);
  const value = att.kind === 0 ? BigInt(att.collateralValue) : 0n;
  if (!(Number(s.kind) === att.kind && s.beneficiary === ethers.getAddress(att.beneficiary) &&
    s.collateralValue === value && Number(s.asOf) === att.asOf &&
    Number(s.validUntil) === att.validUntil && s.sequence === BigInt(att.sequence))) return false;
  const events = await adapter.queryFilter(adapter.filters.AttestationAccepted(att.account), 0);
  return events.length > 0 && events[events.length - 1].args.digest === await adapter.digest(att);
}

const [mode, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    table: { type: 'string' }, out: { type: 'string' }, rpc: { type: 'string' },
    deployed: { type: 'string' }, 'owner-key-file': { type: 'string' },
    'submitter-key': { type: 'string' },
  },
});
if (mode === 'deploy-config') deployConfig(values);
else if (mode === 'run') await run(values).catch((e) => fail(e.stack || String(e)));
else fail('usage: rules_table.mjs deploy-config|run ...');
