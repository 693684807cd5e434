#!/usr/bin/env node
// Measures the real transaction gas (receipt gasUsed) on a local anvil chain:
//  - submit() updating an existing account with 1, 2 and 3 signatures, and with 2 on a
//    feed whose circuit breaker is on;
//  - submitBatch() with 2 signatures over 10 and 100 accounts: their first valuation and
//    an update of every account, and the gas per account (the tree built with
//    @openzeppelin/merkle-tree, not with Custos code); and 100 on a feed whose breaker is
//    on, every account rising within its bound;
//  - submitBatchPart() of 1 and of 50 accounts of a batch of 100 (updates), the gas per
//    account beside submit's 2-signature update;
//  - CustosReserves.publish() of a 2-of-2 feed's reserves, first and next;
//  - lending: making a pledge, a borrow and a release on Morpho Blue (the unmodified
//    0.8.19 build) against a Custos receipt, each beside the same step on a plain Morpho
//    market (plain ERC-20 collateral, fixed-price oracle) measured in the same run.
//   tests/contract/run-forge.sh build && node deploy/contracts/tools/measure-gas.js
// (the test build is needed too: the loan token is the tests' LoanToken.)
'use strict';
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..');
const { ethers } = require(path.join(repo, 'node_modules', 'ethers'));
const { StandardMerkleTree } = require(path.join(repo, 'node_modules', '@openzeppelin', 'merkle-tree'));
const anvilBin = path.join(repo, 'node_modules', '@foundry-rs', 'anvil-linux-amd64', 'bin', 'anvil');

// anvil's well-known development keys (accounts 0 to 2 of its default mnemonic)
const DEPLOYER = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const BORROWER = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const SUPPLIER = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';

function artifact(name, { dir = 'out', file = name } = {}) {
  const f = path.join(here, dir, `${file}.sol`, `${name}.json`);
  let j;
  try {
    j = JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    throw new Error(`${f}: ${e.message} (build first: tests/contract/run-forge.sh build)`);
  }
  return { abi: j.abi, bytecode: j.bytecode.object };
}

async function deploy(name, signer, args = [], where = {}) {
  const { abi, bytecode } = artifact(name, where);
  const c = await new ethers.ContractFactory(abi, bytecode, signer).deploy(...args);
  const rc = await c.deploymentTransaction().wait();
  return { contract: c, gas: rc.gasUsed };
}

// Morpho accrues interest, and CustosPledges reads it, only when a second has passed since
// the market's last update: a gas estimate made in the same second as the previous
// transaction falls short once the transaction lands a second later (and an out-of-gas
// inside the exposure read fails closed, as ExposureUnknown). Such steps get a fixed
// limit; gasUsed is what is measured.
const TIME_DEPENDENT = { gasLimit: 1_000_000 };

async function gasOf(txPromise) {
  return (await (await txPromise).wait()).gasUsed;
}

// anvil binds a port of its own choosing (port 0) and prints it: no other node can answer
// in its place.
function anvilPort(anvil) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${out}`)), 30000);
    anvil.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        anvil.stdout.removeAllListeners('data');
        anvil.stdout.resume();
        resolve(Number(m[1]));
      }
    });
    anvil.on('exit', (code) => { clearTimeout(timer); reject(new Error(`anvil exited (${code}): ${out}`)); });
  });
}

async function waitForNode(provider) {
  for (let i = 0; i < 100; i++) {
    try { await provider.getBlockNumber(); return; } catch (_) { await new Promise((r) => setTimeout(r, 100)); }
  }
  throw new Error('anvil did not start');
}

async function main() {
  const anvil = spawn(anvilBin, ['--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await anvilPort(anvil);
    const provider = new ethers.JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, { staticNetwork: true });
    await waitForNode(provider);
    const owner = new ethers.NonceManager(new ethers.Wallet(DEPLOYER, provider));
    const { abi, bytecode } = artifact('CustosAdapter');
    const adapter = await new ethers.ContractFactory(abi, bytecode, owner).deploy(await owner.getAddress());
    await adapter.waitForDeployment();
    const { chainId } = await provider.getNetwork();
    const domain = { name: 'Custos Collateral Attestation', version: '1', chainId, verifyingContract: await adapter.getAddress() };
    const types = { CollateralAttestation: [
      { name: 'account', type: 'bytes32' }, { name: 'beneficiary', type: 'address' }, { name: 'kind', type: 'uint8' },
      { name: 'grossValue', type: 'uint256' }, { name: 'collateralValue', type: 'uint256' },
      { name: 'positionsRoot', type: 'bytes32' }, { name: 'asOf', type: 'uint64' },
      { name: 'validUntil', type: 'uint64' }, { name: 'sequence', type: 'uint64' } ] };
    const keys = [1, 2, 3].map((i) => new ethers.SigningKey(ethers.zeroPadValue(ethers.toBeHex(0xC0FFEE00 + i), 32)));
    const sign = (att, n) => {
      const digest = ethers.TypedDataEncoder.hash(domain, types, att);
      return ethers.concat(keys.slice(0, n)
        .map((k) => ({ addr: BigInt(ethers.computeAddress(k)), sig: k.sign(digest).serialized }))
        .sort((a, b) => (a.addr < b.addr ? -1 : 1))
        .map((x) => x.sig));
    };
    const results = [];
    // The 2-signature update again on a feed with the circuit breaker on (rule 6): the
    // rise stays within the bound, so the base is read and compared.
    for (const [n, breaker] of [[1, false], [2, false], [3, false], [2, true]]) {
      const feedId = ethers.id(`gas-feed-${n}${breaker ? '-breaker' : ''}`);
      const account = ethers.id(`gas-account-${n}${breaker ? '-breaker' : ''}`);
      await (await adapter.setFeed(feedId, n, true, 4 * 86400, 300, 5 * 86400)).wait();
      if (breaker) await (await adapter.setBreaker(feedId, 2500, n + 1)).wait();
      for (let i = 0; i < n; i++) await (await adapter.addSigner(feedId, ethers.computeAddress(keys[i]), i)).wait();
      await (await adapter.registerAccount(account, feedId)).wait();
      const gasUsed = [];
      for (const seq of [1, 2]) {
        const now = (await provider.getBlock('latest')).timestamp;
        const att = { account, beneficiary: '0x00000000000000000000000000000000000A11CE', kind: 0,
          grossValue: 103n * 10n ** 24n + BigInt(seq), collateralValue: 10n ** 26n + BigInt(seq),
          positionsRoot: ethers.id(`root-${seq}`), asOf: now, validUntil: now + 86400, sequence: seq };
        const rc = await (await adapter.submit(feedId, att, sign(att, n))).wait();
        gasUsed.push(rc.gasUsed);
      }
      results.push({ signatures: n, breaker, firstSubmit: gasUsed[0], update: gasUsed[1] });
    }
    for (const r of results) {
      console.log(`submit, ${r.signatures} signature(s)${r.breaker ? ', breaker on' : ''}: ` +
        `first ${r.firstSubmit} gas, update ${r.update} gas`);
    }
    for (const n of [10, 100]) {
      const r = await measureBatch({ provider, adapter, domain, types, keys, n });
      console.log(`batch of ${n} accounts, 2 signature(s): first ${r.first} gas (${r.first / BigInt(n)} gas per account), ` +
        `update ${r.update} gas (${r.update / BigInt(n)} gas per account)`);
    }
    {
      // Every account's value rises within the bound of a breaker that is on (rule 6).
      const n = 100;
      const r = await measureBatch({ provider, adapter, domain, types, keys, n, breaker: true });
      console.log(`batch of ${n} accounts, 2 signature(s), breaker on (rises within the bound): ` +
        `first ${r.first} gas (${r.first / BigInt(n)} gas per account), ` +
        `update ${r.update} gas (${r.update / BigInt(n)} gas per account)`);
    }
    {
      // Parts of a batch of 100 (submitBatchPart, docs/adapter.md §14): every account
      // valued by a first whole batch, then a second batch's accounts updated by a part of
      // one account and a part of 50 others.
      const n = 100;
      const r = await measureParts({ provider, adapter, domain, types, keys, n, sizes: [1, 50] });
      for (const [size, gas] of r) {
        console.log(`part of ${size} of a batch of ${n} accounts, 2 signature(s), update: ${gas} gas ` +
          `(${gas / BigInt(size)} gas per account; submit's 2-signature update ${results[1].update} gas)`);
      }
    }
    const reserves = await measureReserves({ provider, owner, adapter, domain, keys });
    console.log(`CustosReserves.publish, 2 signatures: first ${reserves[0]} gas, next ${reserves[1]} gas ` +
      `(beside submit's 2-signature update, ${results[1].update} gas)`);
    const lending = await measureLending({ provider, owner, adapter, sign });
    for (const [step, custos, plain, detail] of lending) {
      console.log(`lending, ${step}: custos ${custos} gas, plain ${plain} gas (${detail})`);
    }
  } finally {
    anvil.kill();
  }
}

const BATCH_TYPES = { CollateralBatch: [
  { name: 'feedId', type: 'bytes32' }, { name: 'accountsRoot', type: 'bytes32' }, { name: 'count', type: 'uint32' },
  { name: 'asOf', type: 'uint64' }, { name: 'validUntil', type: 'uint64' }, { name: 'sequence', type: 'uint64' } ] };

// n accounts of a 2-signature feed valued by one batch, then updated by a second one (each
// value a little above the first): the receipts' gasUsed of both. The leaves go in the tree's order, which the adapter requires.
async function measureBatch({ provider, adapter, domain, types, keys, n, breaker = false }) {
  const tag = breaker ? `${n}-breaker` : `${n}`;
  const feedId = ethers.id(`gas-batch-feed-${tag}`);
  await (await adapter.setFeed(feedId, 2, true, 4 * 86400, 300, 5 * 86400)).wait();
  if (breaker) await (await adapter.setBreaker(feedId, 2500, 3)).wait(); // +25% needs three roles
  for (let i = 0; i < 2; i++) await (await adapter.addSigner(feedId, ethers.computeAddress(keys[i]), i)).wait();
  const accounts = [];
  for (let i = 0; i < n; i++) {
    accounts.push(ethers.id(`gas-batch-${tag}-account-${i}`));
    await (await adapter.registerAccount(accounts[i], feedId)).wait();
  }
  const gasUsed = [];
  for (const seq of [1, 2]) {
    const now = (await provider.getBlock('latest')).timestamp;
    const atts = accounts.map((account, i) => ({ account, beneficiary: '0x00000000000000000000000000000000000A11CE',
      kind: 0, grossValue: 103n * 10n ** 24n + BigInt(i * 1000 + seq), collateralValue: 10n ** 26n + BigInt(i * 1000 + seq),
      positionsRoot: ethers.id(`batch-root-${i}-${seq}`), asOf: now, validUntil: now + 86400, sequence: seq }));
    const hashes = atts.map((a) => ethers.TypedDataEncoder.from(types).hash(a));
    const tree = StandardMerkleTree.of(hashes.map((h) => [h]), ['bytes32']);
    // dump().values in input order, treeIndex the leaf's place: leaf i sits at 2n - 2 - i.
    const ordered = tree.dump().values.map((v, i) => ({ att: atts[i], at: v.treeIndex }))
      .sort((a, b) => b.at - a.at).map((x) => x.att);
    const batch = { feedId, accountsRoot: tree.root, count: n, asOf: now, validUntil: now + 86400, sequence: seq };
    const digest = ethers.TypedDataEncoder.hash(domain, BATCH_TYPES, batch);
    const sigs = ethers.concat(keys.slice(0, 2)
      .map((k) => ({ addr: BigInt(ethers.computeAddress(k)), sig: k.sign(digest).serialized }))
      .sort((a, b) => (a.addr < b.addr ? -1 : 1))
      .map((x) => x.sig));
    const rc = await (await adapter.submitBatch(feedId, batch, ordered, sigs)).wait();
    const refused = rc.logs.map((l) => adapter.interface.parseLog(l)).filter((e) => e && e.name === 'AccountRefused');
    if (refused.length !== 0) throw new Error(`batch of ${n}: ${refused.length} account(s) refused`);
    gasUsed.push(rc.gasUsed);
    await provider.send('evm_increaseTime', [3600]);
  }
  return { first: gasUsed[0], update: gasUsed[1] };
}

// The batch `seq` of n attestations of `accounts`, its tree (@openzeppelin/merkle-tree) and
// the feed's 2 signatures over its digest.
function signedBatch({ domain, types, keys, feedId, accounts, seq, now }) {
  const atts = accounts.map((account, i) => ({ account, beneficiary: '0x00000000000000000000000000000000000A11CE',
    kind: 0, grossValue: 103n * 10n ** 24n + BigInt(i * 1000 + seq), collateralValue: 10n ** 26n + BigInt(i * 1000 + seq),
    positionsRoot: ethers.id(`batch-root-${i}-${seq}`), asOf: now, validUntil: now + 86400, sequence: seq }));
  const hashes = atts.map((a) => ethers.TypedDataEncoder.from(types).hash(a));
  const tree = StandardMerkleTree.of(hashes.map((h) => [h]), ['bytes32']);
  const batch = { feedId, accountsRoot: tree.root, count: accounts.length, asOf: now, validUntil: now + 86400, sequence: seq };
  const digest = ethers.TypedDataEncoder.hash(domain, BATCH_TYPES, batch);
  const sigs = ethers.concat(keys.slice(0, 2)
    .map((k) => ({ addr: BigInt(ethers.computeAddress(k)), sig: k.sign(digest).serialized }))
    .sort((a, b) => (a.addr < b.addr ? -1 : 1))
    .map((x) => x.sig));
  return { atts, hashes, tree, batch, sigs };
}

// n accounts of a 2-signature feed valued by a whole batch, then a second batch sent in
// parts of the given sizes (disjoint accounts; the multiproofs from getMultiProof): the
// receipts' gasUsed of each part.
async function measureParts({ provider, adapter, domain, types, keys, n, sizes }) {
  const feedId = ethers.id(`gas-part-feed-${n}`);
  await (await adapter.setFeed(feedId, 2, true, 4 * 86400, 300, 5 * 86400)).wait();
  for (let i = 0; i < 2; i++) await (await adapter.addSigner(feedId, ethers.computeAddress(keys[i]), i)).wait();
  const accounts = [];
  for (let i = 0; i < n; i++) {
    accounts.push(ethers.id(`gas-part-${n}-account-${i}`));
    await (await adapter.registerAccount(accounts[i], feedId)).wait();
  }
  let now = (await provider.getBlock('latest')).timestamp;
  {
    const { atts, tree, batch, sigs } = signedBatch({ domain, types, keys, feedId, accounts, seq: 1, now });
    const ordered = tree.dump().values.map((v, i) => ({ att: atts[i], at: v.treeIndex }))
      .sort((a, b) => b.at - a.at).map((x) => x.att);
    await (await adapter.submitBatch(feedId, batch, ordered, sigs)).wait();
  }
  await provider.send('evm_increaseTime', [3600]);
  await provider.send('evm_mine', []);
  now = (await provider.getBlock('latest')).timestamp;
  const { atts, hashes, tree, batch, sigs } = signedBatch({ domain, types, keys, feedId, accounts, seq: 2, now });
  const out = [];
  for (const [p, size] of sizes.entries()) {
    // Every other account, the even ones for the first part, the odd ones for the second:
    // accounts apart in the tree, and none in both parts.
    const picked = Array.from({ length: size }, (_, k) => p + 2 * k);
    const mp = tree.getMultiProof(picked);
    const part = mp.leaves.map(([h]) => atts[hashes.indexOf(h)]);
    const rc = await (await adapter.submitBatchPart(feedId, batch, part, mp.proof, mp.proofFlags, sigs)).wait();
    const events = rc.logs.map((l) => adapter.interface.parseLog(l)).filter((e) => e);
    if (events.some((e) => e.name === 'AccountRefused') || !events.some((e) => e.name === 'BatchPartAccepted')) {
      throw new Error(`part of ${size}: not every account written`);
    }
    out.push([size, rc.gasUsed]);
  }
  return out;
}

// Two reserves attestations of a 2-of-2 feed published to CustosReserves (docs/adapter.md
// §11): the quorum is checked through the adapter's checkQuorum.
async function measureReserves({ provider, owner, adapter, domain, keys }) {
  const { abi, bytecode } = artifact('CustosReserves');
  const reserves = await new ethers.ContractFactory(abi, bytecode, owner)
    .deploy(await adapter.getAddress(), 2 * 86400, 300);
  await reserves.waitForDeployment();
  const feedId = ethers.id('gas-feed-reserves');
  await (await adapter.setFeed(feedId, 2, true, 4 * 86400, 300, 5 * 86400)).wait();
  for (let i = 0; i < 2; i++) await (await adapter.addSigner(feedId, ethers.computeAddress(keys[i]), i)).wait();
  const types = { ReservesAttestation: [
    { name: 'feedId', type: 'bytes32' }, { name: 'totalCollateral', type: 'uint256' },
    { name: 'accounts', type: 'uint64' }, { name: 'sumRoot', type: 'bytes32' },
    { name: 'asOf', type: 'uint64' }, { name: 'sequence', type: 'uint64' } ] };
  const out = [];
  for (const sequence of [1, 2]) {
    const asOf = (await provider.getBlock('latest')).timestamp;
    const r = { feedId, totalCollateral: 10n ** 30n + BigInt(sequence), accounts: 1000,
      sumRoot: ethers.id(`sum-root-${sequence}`), asOf, sequence };
    const digest = ethers.TypedDataEncoder.hash(domain, types, r);
    const sigs = ethers.concat(keys.slice(0, 2)
      .map((k) => ({ addr: BigInt(ethers.computeAddress(k)), sig: k.sign(digest).serialized }))
      .sort((a, b) => (a.addr < b.addr ? -1 : 1))
      .map((x) => x.sig));
    const rc = await (await reserves.publish(feedId, r.totalCollateral, r.accounts, r.sumRoot, asOf,
      sequence, sigs)).wait();
    out.push(rc.gasUsed);
  }
  return out;
}

// Pledge creation, a borrow and a release on Morpho Blue against a Custos receipt, and the
// same steps on a plain Morpho market with the same loan token, IRM and LLTV.
async function measureLending({ provider, owner, adapter, sign }) {
  const borrower = new ethers.NonceManager(new ethers.Wallet(BORROWER, provider));
  const supplier = new ethers.NonceManager(new ethers.Wallet(SUPPLIER, provider));
  const ownerAddress = await owner.getAddress();
  const borrowerAddress = await borrower.getAddress();
  const supplierAddress = await supplier.getAddress();
  const agentAddress = ethers.getAddress('0x00000000000000000000000000000000000a6e17');
  const morphoDir = { dir: 'out-morpho' };
  const lltv = 8n * 10n ** 17n;
  // Measured steps land a minute after the previous transaction, as in real use, so
  // that Morpho always accrues interest in them (the same work in every run).
  const later = () => provider.send('evm_increaseTime', [60]);
  const usdc = 10n ** 6n;

  const factory = (await deploy('CustosPledgeFactory', owner)).contract;
  const pledges = (await deploy('CustosPledges', owner,
    [await adapter.getAddress(), await factory.getAddress()])).contract;
  await (await adapter.installPledges(await pledges.getAddress())).wait();
  const morpho = (await deploy('Morpho', owner, [ownerAddress], morphoDir)).contract;
  const morphoAddress = await morpho.getAddress();
  const irm = await (await deploy('IrmMock', owner, [], morphoDir)).contract.getAddress();
  await (await morpho.enableIrm(irm)).wait();
  await (await morpho.enableLltv(lltv)).wait();
  const loan = (await deploy('LoanToken', owner, [6], { file: 'LendingFixture' })).contract;
  const loanAddress = await loan.getAddress();

  // The custodian's feed: 2 signers of distinct roles; one pledged account, one without.
  const feedId = ethers.id('lending-gas-feed');
  const pledged = ethers.id('lending-gas-account');
  const unpledged = ethers.id('lending-gas-account-without-pledge');
  await (await adapter.setFeed(feedId, 2, true, 4 * 86400, 300, 5 * 86400)).wait();
  const signerKeys = [1, 2].map((i) => ethers.computeAddress(
    new ethers.SigningKey(ethers.zeroPadValue(ethers.toBeHex(0xC0FFEE00 + i), 32))));
  for (let i = 0; i < 2; i++) await (await adapter.addSigner(feedId, signerKeys[i], i)).wait();
  for (const a of [pledged, unpledged]) await (await adapter.registerAccount(a, feedId)).wait();
  const attest = async (account, kind, sequence, value) => {
    const now = (await provider.getBlock('latest')).timestamp;
    const att = { account, beneficiary: morphoAddress, kind, grossValue: value, collateralValue: value,
      positionsRoot: ethers.id(`gas-root-${sequence}`), asOf: now, validUntil: now + 86400, sequence };
    const sigs = sign(att, 2);
    try {
      await adapter.submit.staticCall(feedId, att, sigs);
    } catch (e) {
      const data = e.data || (e.info && e.info.error && e.info.error.data);
      let why = e.shortMessage || e.message;
      for (const iface of [adapter.interface, pledges.interface]) {
        try {
          const err = iface.parseError(data);
          if (err) why = `${err.name}(${err.args.map(String).join(', ')})`;
        } catch { /* not this contract's error */ }
      }
      throw new Error(`submit of kind ${kind}, sequence ${sequence}: ${why}`);
    }
    return gasOf(adapter.submit(feedId, att, sigs, TIME_DEPENDENT));
  };
  const supply = async (params) => {
    await (await loan.setBalance(supplierAddress, 1_000_000n * usdc)).wait();
    await (await loan.connect(supplier).approve(morphoAddress, 1_000_000n * usdc)).wait();
    await (await morpho.connect(supplier)
      .supply(params, 1_000_000n * usdc, 0, supplierAddress, '0x', TIME_DEPENDENT)).wait();
  };

  // Custos: the pledge (receipt, Morpho oracle, market creation), then collateral and a borrow.
  const terms = { account: pledged, beneficiary: morphoAddress, borrower: borrowerAddress,
    lender: ownerAddress, agent: agentAddress, loanToken: loanAddress, irm, lltv, createMarket: true };
  const [receipt, oracle] = await pledges.createPledge.staticCall(terms);
  const custosCreate = await gasOf(pledges.createPledge(terms));
  const custosMarket = { loanToken: loanAddress, collateralToken: receipt, oracle, irm, lltv };
  await attest(pledged, 0, 1, 1_000_000n * 10n ** 18n);
  await supply(custosMarket);
  const receiptToken = new ethers.Contract(receipt, artifact('CustosReceipt').abi, borrower);
  await (await receiptToken.approve(morphoAddress, 10n ** 18n)).wait();
  await (await morpho.connect(borrower).supplyCollateral(custosMarket, 10n ** 18n, borrowerAddress, '0x')).wait();
  await later();
  const custosBorrow = await gasOf(morpho.connect(borrower)
    .borrow(custosMarket, 100_000n * usdc, 0, borrowerAddress, borrowerAddress, TIME_DEPENDENT));

  // Plain: an ERC-20 collateral and a fixed-price oracle at the same price, and a market.
  const collateral = await deploy('ERC20Mock', owner, [], morphoDir);
  const fixed = await deploy('OracleMock', owner, [], morphoDir);
  const setPrice = await gasOf(fixed.contract.setPrice(10n ** 30n));
  const plainMarket = { loanToken: loanAddress, collateralToken: await collateral.contract.getAddress(),
    oracle: await fixed.contract.getAddress(), irm, lltv };
  const createMarket = await gasOf(morpho.createMarket(plainMarket));
  const plainCreate = collateral.gas + fixed.gas + setPrice + createMarket;
  await supply(plainMarket);
  await (await collateral.contract.setBalance(borrowerAddress, 10n ** 18n)).wait();
  await (await collateral.contract.connect(borrower).approve(morphoAddress, 10n ** 18n)).wait();
  await (await morpho.connect(borrower).supplyCollateral(plainMarket, 10n ** 18n, borrowerAddress, '0x')).wait();
  await later();
  const plainBorrow = await gasOf(morpho.connect(borrower)
    .borrow(plainMarket, 100_000n * usdc, 0, borrowerAddress, borrowerAddress, TIME_DEPENDENT));

  // Release: the debt repaid, the pledged account's release (CustosPledges reads the
  // market) beside the release of an account without a pledge.
  const position = await morpho.position(ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(
    ['address', 'address', 'address', 'address', 'uint256'],
    [custosMarket.loanToken, custosMarket.collateralToken, custosMarket.oracle, custosMarket.irm, custosMarket.lltv])),
  borrowerAddress);
  await (await loan.setBalance(borrowerAddress, 200_000n * usdc)).wait();
  await (await loan.connect(borrower).approve(morphoAddress, 200_000n * usdc)).wait();
  await (await morpho.connect(borrower)
    .repay(custosMarket, 0, position.borrowShares, borrowerAddress, '0x', TIME_DEPENDENT)).wait();
  await later();
  const custosRelease = await attest(pledged, 1, 2, 0n);
  await attest(unpledged, 0, 1, 1_000_000n * 10n ** 18n);
  await later();
  const plainRelease = await attest(unpledged, 1, 2, 0n);

  return [
    ['pledge creation', custosCreate, plainCreate,
      `plain: a Morpho market with ERC-20 collateral ${collateral.gas} + fixed-price oracle ${fixed.gas} + setPrice ${setPrice} + createMarket ${createMarket}`],
    ['borrow', custosBorrow, plainBorrow, 'first borrow of a position, 100,000 of a 6-decimal loan token; plain: a Morpho market with ERC-20 collateral and a fixed-price oracle'],
    ['release', custosRelease, plainRelease,
      'submit of a 2-signature release; plain: an account without a pledge, nothing read from the market'],
  ];
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
