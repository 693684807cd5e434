#!/usr/bin/env node
// Deploys CustosAdapter and configures it from a JSON file: feeds (policy, circuit
// breaker, sequence step and signer allow-list), accounts bound to their feed, and one CustosAccountFeed (Chainlink
// AggregatorV3Interface) per (account, lender); deploys CustosPledges (with its factory),
// installs it in the adapter and makes the configured pledges: a receipt each, a Morpho
// oracle and optionally the Morpho market, optionally an 8-decimal source for Aave/Spark;
// with "reserves" in the config, deploys CustosReserves beside the adapter.
// Writes what it deployed to --out.
//
//   node deploy/scripts/deploy.mjs --rpc URL --key-file FILE --config deploy.json \
//        --out deployed.json [--artifacts deploy/contracts/out]
//
// The key file holds the deployer's key in Custos's format ("0x" + 64 hex digits, one
// line, mode 0600). The deployer owns the adapter; with "owner" in the config, ownership
// is then offered to that address, which must call acceptOwnership() (Ownable2Step). With
// "timelockDelay" (seconds), the initial configuration done, the adapter is handed to a new
// CustosTimelock with that delay (additions and loosening scheduled, revocations and
// tightening at once), and "owner" is offered the timelock instead.
// Feed id = keccak256(utf8 feed name); account id = keccak256(abi.encode(custodian, ref)).
// See deploy/scripts/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ethers } from 'ethers';

import {
  Refusal, describe, loadArtifact, parseCommandLine, readKeyFile, refuse,
} from './script-common.mjs';

const ROLES = ['custodian', 'valuation_agent', 'fund_administrator', 'auditor'];
const FEED_NAME_MAX = 64; // bytes, as the gateway's feed names
const UINT32_MAX = 2 ** 32 - 1;
// The adapter keeps validUntil - asOf in 24 bits of an account's record (docs/adapter.md §1).
const MAX_TTL = 2 ** 24 - 1;
// The adapter's and the gateway's bounds (rule 6, rule 12): the breaker's bound in basis
// points, the signatures an attestation may carry.
const MAX_BREAKER_RISE_BPS = 1_000_000;
const MAX_SIGNATURES = 16;
// CustosTimelock's bounds on its delay (MIN_DELAY, MAX_DELAY).
const TIMELOCK_MIN_DELAY = 3600;
const TIMELOCK_MAX_DELAY = 30 * 86400;
const here = path.dirname(fileURLToPath(import.meta.url));
const usage =
  'usage: node deploy/scripts/deploy.mjs --rpc URL --key-file FILE --config deploy.json ' +
  '--out deployed.json [--artifacts DIR]';

// ------------------------------------------------------------------ config

function loadConfig(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    refuse(`${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    refuse(`${file}: not valid JSON: ${e.message}`);
  }
  return validateConfig(json, file);
}

function validateConfig(json, file) {
  const fail = (where, what) => refuse(`${file}: ${where}: ${what}`);
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const keysOf = (obj, where, required, optional) => {
    if (!isObject(obj)) fail(where, 'expected an object');
    for (const k of Object.keys(obj)) {
      if (k !== '_comment' && !required.includes(k) && !optional.includes(k)) {
        fail(`${where}.${k}`.replace(/^\./, ''), `unknown key (expected ${[...required, ...optional].join(', ')})`);
      }
    }
    for (const k of required) if (!(k in obj)) fail(`${where}.${k}`.replace(/^\./, ''), 'missing');
  };
  const integer = (v, where, min, max) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) fail(where, `expected an integer from ${min} to ${max}`);
    return v;
  };
  const address = (v, where) => {
    if (typeof v === 'string' && v.startsWith('0xREPLACE')) fail(where, `${v} is a placeholder: put the real address here`);
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v)) {
      fail(where, `expected a 0x-prefixed 20-byte address, got ${JSON.stringify(v)}`);
    }
    let a;
    try {
      a = ethers.getAddress(v);
    } catch {
      fail(where, `${v} has a wrong EIP-55 checksum (mixed case); use the checksummed or all-lowercase form`);
    }
    if (a === ethers.ZeroAddress) fail(where, 'the zero address is not allowed');
    return a;
  };
  const string = (v, where) => {
    if (typeof v !== 'string' || v.length === 0) fail(where, 'expected a non-empty string');
    return v;
  };

  keysOf(json, '', ['chainId', 'feeds'], ['owner', 'pledges', 'timelockDelay', 'reserves']);
  const cfg = {
    chainId: integer(json.chainId, 'chainId', 1, Number.MAX_SAFE_INTEGER),
    owner: json.owner === undefined ? null : address(json.owner, 'owner'),
    timelockDelay: json.timelockDelay === undefined
      ? null
      : integer(json.timelockDelay, 'timelockDelay', TIMELOCK_MIN_DELAY, TIMELOCK_MAX_DELAY),
    feeds: [],
    reserves: null,
  };
  // CustosReserves (docs/adapter.md §13): how long published reserves back the feeds'
  // pledged totals, and how far ahead their asOf may lie.
  if (json.reserves !== undefined) {
    keysOf(json.reserves, 'reserves', ['maxAge', 'maxSkew'], []);
    cfg.reserves = {
      maxAge: integer(json.reserves.maxAge, 'reserves.maxAge', 1, Number.MAX_SAFE_INTEGER),
      maxSkew: integer(json.reserves.maxSkew, 'reserves.maxSkew', 0, Number.MAX_SAFE_INTEGER),
    };
  }
  if (!Array.isArray(json.feeds) || json.feeds.length === 0) fail('feeds', 'expected a non-empty array');
  const feedNames = new Set();
  const accountIds = new Map();
  json.feeds.forEach((f, i) => {
    const at = `feeds[${i}]`;
    keysOf(f, at, ['name', 'threshold', 'distinctRoles', 'maxAge', 'maxSkew', 'maxTtl', 'signers'],
      ['accounts', 'breakerRiseBps', 'breakerReleaseThreshold', 'maxSequenceStep']);
    const name = string(f.name, `${at}.name`);
    if (Buffer.byteLength(name, 'utf8') > FEED_NAME_MAX) fail(`${at}.name`, `longer than ${FEED_NAME_MAX} bytes`);
    if (feedNames.has(name)) fail(`${at}.name`, `feed ${JSON.stringify(name)} is listed twice`);
    feedNames.add(name);
    if (typeof f.distinctRoles !== 'boolean') fail(`${at}.distinctRoles`, 'expected true or false');
    const feed = {
      name,
      id: ethers.id(name),
      threshold: integer(f.threshold, `${at}.threshold`, 1, f.distinctRoles ? ROLES.length : 255),
      distinctRoles: f.distinctRoles,
      maxAge: integer(f.maxAge, `${at}.maxAge`, 1, UINT32_MAX),
      maxSkew: integer(f.maxSkew, `${at}.maxSkew`, 0, UINT32_MAX),
      maxTtl: integer(f.maxTtl, `${at}.maxTtl`, 1, MAX_TTL),
      // The gateway's breaker_rise_bps, breaker_release_threshold and max_sequence_step
      // (rule 10: both sides apply the same values); absent: no breaker, default step.
      breakerRiseBps: f.breakerRiseBps === undefined ? 0
        : integer(f.breakerRiseBps, `${at}.breakerRiseBps`, 0, MAX_BREAKER_RISE_BPS),
      breakerReleaseThreshold: 0,
      maxSequenceStep: f.maxSequenceStep === undefined ? null
        : integer(f.maxSequenceStep, `${at}.maxSequenceStep`, 1, UINT32_MAX),
      signers: [],
      accounts: [],
    };
    if (feed.breakerRiseBps === 0) {
      if (f.breakerReleaseThreshold !== undefined) {
        fail(`${at}.breakerReleaseThreshold`, 'has no effect without breakerRiseBps above 0');
      }
    } else {
      if (f.breakerReleaseThreshold === undefined) {
        fail(`${at}.breakerRiseBps`, 'needs breakerReleaseThreshold (the signers that publish a held rise)');
      }
      const most = feed.distinctRoles ? ROLES.length : MAX_SIGNATURES;
      feed.breakerReleaseThreshold = integer(f.breakerReleaseThreshold, `${at}.breakerReleaseThreshold`,
        feed.threshold + 1, most);
    }
    if (!Array.isArray(f.signers) || f.signers.length === 0) fail(`${at}.signers`, 'expected a non-empty array');
    const seen = new Set();
    f.signers.forEach((s, j) => {
      const sat = `${at}.signers[${j}]`;
      keysOf(s, sat, ['address', 'role'], []);
      const addr = address(s.address, `${sat}.address`);
      if (seen.has(addr)) fail(`${sat}.address`, `${addr} is listed twice in this feed`);
      seen.add(addr);
      const role = ROLES.indexOf(s.role);
      if (role < 0) fail(`${sat}.role`, `expected one of ${ROLES.join(', ')}`);
      feed.signers.push({ address: addr, role: s.role, roleIndex: role });
    });
    const reachable = feed.distinctRoles ? new Set(feed.signers.map((s) => s.role)).size : feed.signers.length;
    if (feed.threshold > reachable) {
      fail(`${at}.threshold`, `${feed.threshold} cannot be reached with the ${reachable} ` +
        `${feed.distinctRoles ? 'distinct roles' : 'signers'} listed`);
    }
    const accounts = f.accounts === undefined ? [] : f.accounts;
    if (!Array.isArray(accounts)) fail(`${at}.accounts`, 'expected an array');
    accounts.forEach((a, j) => {
      const aat = `${at}.accounts[${j}]`;
      keysOf(a, aat, ['custodian', 'ref', 'lenders'], []);
      const custodian = string(a.custodian, `${aat}.custodian`);
      const ref = string(a.ref, `${aat}.ref`);
      const id = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['string', 'string'], [custodian, ref]));
      if (accountIds.has(id)) fail(aat, `account ${custodian}/${ref} is already listed at ${accountIds.get(id)}`);
      accountIds.set(id, aat);
      if (!Array.isArray(a.lenders)) fail(`${aat}.lenders`, 'expected an array of addresses');
      const lenders = [];
      a.lenders.forEach((l, k) => {
        const addr = address(l, `${aat}.lenders[${k}]`);
        if (lenders.includes(addr)) fail(`${aat}.lenders[${k}]`, `${addr} is listed twice`);
        lenders.push(addr);
      });
      feed.accounts.push({ custodian, ref, id, lenders });
    });
    cfg.feeds.push(feed);
  });
  cfg.pledges = validatePledges(json.pledges === undefined ? [] : json.pledges, accountIds,
    { fail, keysOf, address, string, isObject });
  return cfg;
}

// Morpho's LLTV is a fraction of 1 with 18 decimals; written as a decimal string ("0.86").
function parseLltv(v, where, fail) {
  if (typeof v !== 'string' || !/^0\.[0-9]{1,18}$/.test(v)) {
    fail(where, `expected a decimal string below 1 with at most 18 decimals, such as "0.86", got ${JSON.stringify(v)}`);
  }
  const wad = ethers.parseUnits(v, 18);
  if (wad === 0n) fail(where, 'must be above 0');
  return wad;
}

function validatePledges(list, accountIds, { fail, keysOf, address, string, isObject }) {
  if (!Array.isArray(list)) fail('pledges', 'expected an array');
  const seen = new Set();
  return list.map((p, i) => {
    const at = `pledges[${i}]`;
    keysOf(p, at, ['custodian', 'ref', 'beneficiary', 'borrower', 'lender', 'agent'], ['morpho', 'aaveSource']);
    const custodian = string(p.custodian, `${at}.custodian`);
    const ref = string(p.ref, `${at}.ref`);
    const account = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(['string', 'string'], [custodian, ref]));
    if (!accountIds.has(account)) fail(at, `account ${custodian}/${ref} is not listed in any feed's accounts`);
    const pledge = {
      custodian,
      ref,
      account,
      beneficiary: address(p.beneficiary, `${at}.beneficiary`),
      borrower: address(p.borrower, `${at}.borrower`),
      lender: address(p.lender, `${at}.lender`),
      agent: address(p.agent, `${at}.agent`),
      morpho: null,
      aaveSource: false,
    };
    const key = `${account}/${pledge.beneficiary}`;
    if (seen.has(key)) fail(at, `account ${custodian}/${ref} is pledged to ${pledge.beneficiary} twice`);
    seen.add(key);
    if (pledge.borrower === pledge.beneficiary) fail(`${at}.borrower`, 'must differ from the beneficiary');
    if (pledge.agent === pledge.beneficiary || pledge.agent === pledge.borrower) {
      fail(`${at}.agent`, 'must differ from the beneficiary and the borrower');
    }
    if (p.morpho !== undefined) {
      const m = p.morpho;
      if (!isObject(m)) fail(`${at}.morpho`, 'expected an object');
      keysOf(m, `${at}.morpho`, ['loanToken', 'irm', 'lltv'], ['createMarket']);
      if (m.createMarket !== undefined && typeof m.createMarket !== 'boolean') {
        fail(`${at}.morpho.createMarket`, 'expected true or false');
      }
      pledge.morpho = {
        loanToken: address(m.loanToken, `${at}.morpho.loanToken`),
        irm: address(m.irm, `${at}.morpho.irm`),
        lltv: parseLltv(m.lltv, `${at}.morpho.lltv`, fail),
        createMarket: m.createMarket === true,
      };
    }
    if (p.aaveSource !== undefined) {
      if (typeof p.aaveSource !== 'boolean') fail(`${at}.aaveSource`, 'expected true or false');
      pledge.aaveSource = p.aaveSource;
    }
    return pledge;
  });
}

// ------------------------------------------------------------------ output

// Atomic and never clobbering: the file appears complete or not at all, and an --out
// created by someone else meanwhile is left alone (link fails with EEXIST).
function writeOutAtomically(out, data) {
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(data, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, out);
  } finally {
    fs.unlinkSync(tmp);
  }
  const dirFd = fs.openSync(path.dirname(path.resolve(out)), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

// ------------------------------------------------------------------ chain

async function main() {
  const args = parseCommandLine(process.argv.slice(2), {
    options: {
      rpc: { type: 'string' },
      'key-file': { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      artifacts: { type: 'string', default: path.join(here, '..', 'contracts', 'out') },
    },
    required: ['rpc', 'key-file', 'config', 'out'],
    usage,
  });
  if (fs.existsSync(args.out) || isDanglingLink(args.out)) {
    refuse(`--out ${args.out} already exists; deployments are recorded once: choose a new file`);
  }
  const outDir = path.dirname(path.resolve(args.out));
  if (!fs.existsSync(outDir)) refuse(`--out ${args.out}: directory ${outDir} does not exist`);
  const cfg = loadConfig(args.config);
  const key = readKeyFile(args['key-file']);
  const artifact = loadArtifact(args.artifacts);
  const factoryArtifact = loadArtifact(args.artifacts, 'CustosPledgeFactory');
  const pledgesArtifact = loadArtifact(args.artifacts, 'CustosPledges');
  const noticesArtifact = loadArtifact(args.artifacts, 'CustosNotices');
  const reservesArtifact = cfg.reserves ? loadArtifact(args.artifacts, 'CustosReserves') : null;
  const timelockArtifact = cfg.timelockDelay === null ? null : loadArtifact(args.artifacts, 'CustosTimelock');

  const provider = new ethers.JsonRpcProvider(args.rpc, cfg.chainId, { staticNetwork: true });
  let nodeChainId;
  try {
    nodeChainId = BigInt(await provider.send('eth_chainId', []));
  } catch (e) {
    refuse(`--rpc ${args.rpc}: cannot read the chain id: ${describe(e)}`);
  }
  if (nodeChainId !== BigInt(cfg.chainId)) {
    refuse(`${args.config}: chainId: ${cfg.chainId}, but the node at ${args.rpc} is on chain ${nodeChainId}`);
  }
  const deployer = new ethers.NonceManager(new ethers.Wallet(key, provider));
  const deployerAddress = await deployer.getAddress();
  const balance = await provider.getBalance(deployerAddress);
  if (balance === 0n) refuse(`deployer ${deployerAddress} has no ether on chain ${cfg.chainId} to pay for gas`);
  console.log(`chain ${cfg.chainId}, deployer ${deployerAddress}`);

  const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, deployer);
  let adapter;
  let deployBlock;
  try {
    adapter = await factory.deploy(deployerAddress);
    const receipt = await adapter.deploymentTransaction().wait();
    deployBlock = receipt.blockNumber;
  } catch (e) {
    refuse(`deploying CustosAdapter: ${describe(e, factory.interface)}`);
  }
  const adapterAddress = await adapter.getAddress();
  console.log(`CustosAdapter ${adapterAddress} (block ${deployBlock})`);

  // One transaction, waited for; a failure names the step and the adapter so that the
  // operator knows what is already on-chain.
  const send = async (label, call, iface = adapter.interface) => {
    let receipt;
    try {
      receipt = await (await call()).wait();
    } catch (e) {
      refuse(`${label}: ${describe(e, iface)} (adapter ${adapterAddress} is deployed but not fully configured)`);
    }
    console.log(`  ${label}: tx ${receipt.hash}`);
    return receipt;
  };

  const out = {
    chainId: cfg.chainId,
    adapter: adapterAddress,
    deployBlock,
    owner: deployerAddress,
    pendingOwner: null,
    timelock: null,
    timelockDelay: null,
    feeds: {},
    accounts: [],
    pledgeRegistry: null,
    pledgeFactory: null,
    notices: null,
    pledges: [],
    reserves: null,
  };
  for (const f of cfg.feeds) {
    await send(`setFeed ${f.name}`, () =>
      adapter.setFeed(f.id, f.threshold, f.distinctRoles, f.maxAge, f.maxSkew, f.maxTtl));
    out.feeds[f.name] = f.id;
    if (f.breakerRiseBps !== 0) {
      await send(`setBreaker ${f.name} ${f.breakerRiseBps} bps ${f.breakerReleaseThreshold}`, () =>
        adapter.setBreaker(f.id, f.breakerRiseBps, f.breakerReleaseThreshold));
    }
    if (f.maxSequenceStep !== null) {
      await send(`setSequenceStep ${f.name} ${f.maxSequenceStep}`, () => adapter.setSequenceStep(f.id, f.maxSequenceStep));
    }
    for (const s of f.signers) {
      await send(`addSigner ${f.name} ${s.address} ${s.role}`, () => adapter.addSigner(f.id, s.address, s.roleIndex));
    }
    for (const a of f.accounts) {
      await send(`registerAccount ${a.custodian}/${a.ref} ${a.id}`, () => adapter.registerAccount(a.id, f.id));
      const feeds = {};
      for (const lender of a.lenders) {
        const receipt = await send(`createAccountFeed ${a.custodian}/${a.ref} lender ${lender}`,
          () => adapter.createAccountFeed(a.id, lender));
        const created = receipt.logs
          .map((log) => adapter.interface.parseLog(log))
          .find((ev) => ev && ev.name === 'AccountFeedCreated');
        if (!created) refuse(`createAccountFeed ${a.custodian}/${a.ref}: no AccountFeedCreated event in tx ${receipt.hash}`);
        feeds[lender] = created.args.feed;
        console.log(`    CustosAccountFeed ${created.args.feed}`);
      }
      out.accounts.push({ custodian: a.custodian, ref: a.ref, account: a.id, feeds });
    }
  }
  await deployPledges({ cfg, out, deployer, adapter, adapterAddress, factoryArtifact, pledgesArtifact, noticesArtifact, send });
  if (cfg.reserves) {
    const rf = new ethers.ContractFactory(reservesArtifact.abi, reservesArtifact.bytecode, deployer);
    try {
      const r = await rf.deploy(adapterAddress, cfg.reserves.maxAge, cfg.reserves.maxSkew);
      await r.deploymentTransaction().wait();
      out.reserves = await r.getAddress();
    } catch (e) {
      refuse(`deploying CustosReserves: ${describe(e, rf.interface)} (adapter ${adapterAddress} is deployed and configured)`);
    }
    console.log(`CustosReserves ${out.reserves} (maxAge ${cfg.reserves.maxAge} s, maxSkew ${cfg.reserves.maxSkew} s)`);
  }
  if (cfg.timelockDelay !== null) {
    await handToTimelock({ cfg, out, deployer, deployerAddress, adapter, adapterAddress, timelockArtifact, send });
  } else if (cfg.owner && cfg.owner !== deployerAddress) {
    await send(`transferOwnership ${cfg.owner}`, () => adapter.transferOwnership(cfg.owner));
    out.pendingOwner = cfg.owner;
    console.log(`  ${cfg.owner} must call acceptOwnership() on ${adapterAddress} to become its owner`);
  }
  writeOutAtomically(args.out, out);
  console.log(`wrote ${args.out}`);
}

// The initial configuration done, the adapter's ownership goes to a new CustosTimelock
// owned by the deployer (which accepts it through the timelock), then the timelock is
// offered to "owner". From then on additions and loosening wait timelockDelay seconds.
async function handToTimelock({ cfg, out, deployer, deployerAddress, adapter, adapterAddress, timelockArtifact, send }) {
  const factory = new ethers.ContractFactory(timelockArtifact.abi, timelockArtifact.bytecode, deployer);
  let timelock;
  try {
    timelock = await factory.deploy(deployerAddress, adapterAddress, cfg.timelockDelay);
    await timelock.deploymentTransaction().wait();
  } catch (e) {
    refuse(`deploying CustosTimelock: ${describe(e, factory.interface)} (adapter ${adapterAddress} is configured and still owned by the deployer)`);
  }
  const timelockAddress = await timelock.getAddress();
  console.log(`CustosTimelock ${timelockAddress} (delay ${cfg.timelockDelay} s)`);
  await send(`transferOwnership ${timelockAddress}`, () => adapter.transferOwnership(timelockAddress));
  await send('acceptAdapterOwnership', () => timelock.acceptAdapterOwnership(), timelock.interface);
  out.owner = timelockAddress;
  out.timelock = timelockAddress;
  out.timelockDelay = cfg.timelockDelay;
  if (cfg.owner && cfg.owner !== deployerAddress) {
    await send(`timelock transferOwnership ${cfg.owner}`, () => timelock.transferOwnership(cfg.owner), timelock.interface);
    out.pendingOwner = cfg.owner;
    console.log(`  ${cfg.owner} must call acceptOwnership() on the timelock ${timelockAddress} to become its owner`);
  }
}

// CustosPledges and its factory, installed in the adapter (once and for good), CustosNotices,
// then the configured pledges: only the adapter's owner may make them, so before any transfer.
async function deployPledges({ cfg, out, deployer, adapter, adapterAddress, factoryArtifact, pledgesArtifact, noticesArtifact, send }) {
  const deployOne = async (art, label, args) => {
    const factory = new ethers.ContractFactory(art.abi, art.bytecode, deployer);
    let c;
    try {
      c = await factory.deploy(...args);
      await c.deploymentTransaction().wait();
    } catch (e) {
      refuse(`deploying ${label}: ${describe(e, factory.interface)} (adapter ${adapterAddress} is deployed but not fully configured)`);
    }
    const addr = await c.getAddress();
    console.log(`${label} ${addr}`);
    return c;
  };
  const factory = await deployOne(factoryArtifact, 'CustosPledgeFactory', []);
  const registry = await deployOne(pledgesArtifact, 'CustosPledges', [adapterAddress, await factory.getAddress()]);
  const registryAddress = await registry.getAddress();
  await send(`installPledges ${registryAddress}`, () => adapter.installPledges(registryAddress));
  out.pledgeFactory = await factory.getAddress();
  out.pledgeRegistry = registryAddress;
  // The collateral manager's notices on-chain (docs/adapter.md §11): reads the adapter only.
  const notices = await deployOne(noticesArtifact, 'CustosNotices', [adapterAddress]);
  out.notices = await notices.getAddress();

  for (const p of cfg.pledges) {
    const m = p.morpho;
    const terms = {
      account: p.account, beneficiary: p.beneficiary, borrower: p.borrower, lender: p.lender, agent: p.agent,
      loanToken: m ? m.loanToken : ethers.ZeroAddress, irm: m ? m.irm : ethers.ZeroAddress,
      lltv: m ? m.lltv : 0n, createMarket: m ? m.createMarket : false,
    };
    const label = `createPledge ${p.custodian}/${p.ref} to ${p.beneficiary}`;
    let receipt;
    try {
      receipt = await (await registry.createPledge(terms)).wait();
    } catch (e) {
      refuse(`${label}: ${describe(e, registry.interface)} (adapter ${adapterAddress} is deployed but not fully configured)`);
    }
    console.log(`  ${label}: tx ${receipt.hash}`);
    const created = receipt.logs
      .map((log) => { try { return registry.interface.parseLog(log); } catch { return null; } })
      .find((ev) => ev && ev.name === 'PledgeCreated');
    if (!created) refuse(`${label}: no PledgeCreated event in tx ${receipt.hash}`);
    const entry = {
      custodian: p.custodian, ref: p.ref, account: p.account, beneficiary: p.beneficiary,
      borrower: p.borrower, lender: p.lender, agent: p.agent,
      receipt: created.args.receipt,
      morphoOracle: m ? created.args.oracle : null,
      morphoMarketId: m ? created.args.marketId : null,
      aaveSource: null,
    };
    if (p.aaveSource) {
      const fr = await send(`createReceiptFeed ${p.custodian}/${p.ref} to ${p.beneficiary}`,
        () => registry.createReceiptFeed(p.account, p.beneficiary), registry.interface);
      const ev = fr.logs
        .map((log) => { try { return registry.interface.parseLog(log); } catch { return null; } })
        .find((e) => e && e.name === 'ReceiptFeedCreated');
      if (!ev) refuse(`createReceiptFeed ${p.custodian}/${p.ref}: no ReceiptFeedCreated event in tx ${fr.hash}`);
      entry.aaveSource = ev.args.feed;
    }
    console.log(`    CustosReceipt ${entry.receipt}`);
    out.pledges.push(entry);
  }
}

function isDanglingLink(file) {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

main().catch((e) => {
  console.error(e instanceof Refusal ? e.message : `deploy: ${describe(e)}`);
  process.exit(1);
});
