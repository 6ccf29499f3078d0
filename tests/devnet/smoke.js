#!/usr/bin/env node
'use strict';
// Smoke test of a running devnet, checked with independent code (polkadot-js types and crypto,
// papi's trie-proof decoder, smoldot's trie root via chopsticks-executor) — never with ferry.
//
//   DEVNET_URL=ws://127.0.0.1:9944 [DEVNET_PARA_URL=ws://127.0.0.1:9988] node smoke.js
//
// With the Phala runtime on the devnet (DEVNET_PARA=phala: the para endpoint; DEVNET_CHAIN=phala:
// the main endpoint), also runs smoke-phala.js (real Phala calls signed by dev keys).
//
// Expects the devnet started with DEVNET_SET_CHANGE_EVERY > 0 (or triggers a change itself),
// DEVNET_FINALITY_LAG and DEVNET_JUSTIFICATION_PERIOD as passed in SMOKE_LAG / SMOKE_PERIOD.
// Exit 0 = all checks passed.

const WebSocket = require('ws');
const { TypeRegistry, Metadata } = require('@polkadot/types');
const { expandMetadata } = require('@polkadot/types/metadata');
const { Keyring } = require('@polkadot/keyring');
const { cryptoWaitReady, blake2AsHex, blake2AsU8a, ed25519Verify, xxhashAsU8a } = require('@polkadot/util-crypto');
const { u8aToHex, hexToU8a, u8aConcat, stringToU8a, compactToU8a, compactStripLength } = require('@polkadot/util');
const papi = require('@polkadot-api/substrate-bindings');
const { calculateStateRoot } = require('@acala-network/chopsticks-core');
const { phalaChecks } = require('./smoke-phala');

const URL = process.env.DEVNET_URL || 'ws://127.0.0.1:9944';
const PARA_URL = process.env.DEVNET_PARA_URL || '';
const LAG = Number(process.env.SMOKE_LAG || 2);
const PERIOD = Number(process.env.SMOKE_PERIOD || 16);
const MIN_BLOCKS = Number(process.env.SMOKE_BLOCKS || 34);
const DEADLINE = Date.now() + Number(process.env.SMOKE_TIMEOUT_S || 150) * 1000;

const reg = new TypeRegistry();
reg.register({
  SmokePrecommit: { targetHash: 'H256', targetNumber: 'u32' },
  SmokeSignedPrecommit: { precommit: 'SmokePrecommit', signature: '[u8; 64]', id: '[u8; 32]' },
  SmokeCommit: { targetHash: 'H256', targetNumber: 'u32', precommits: 'Vec<SmokeSignedPrecommit>' },
  SmokeJustification: { round: 'u64', commit: 'SmokeCommit', votesAncestries: 'Vec<Header>' },
  SmokeFinalityProof: { block: 'H256', justification: 'Bytes', unknownHeaders: 'Vec<Header>' },
});

let checks = 0;
function ok(cond, what) {
  if (!cond) throw new Error(`CHECK FAILED: ${what}`);
  checks++;
}
function log(...a) { console.log(...a); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function left() {
  const l = DEADLINE - Date.now();
  if (l <= 0) throw new Error('smoke: deadline exceeded');
  return l;
}

class Rpc {
  constructor(url) { this.url = url; this.id = 0; this.pending = new Map(); this.subs = new Map(); this.early = new Map(); }
  async connect() {
    for (;;) {
      try {
        await new Promise((resolve, reject) => {
          const ws = new WebSocket(this.url);
          ws.once('open', () => { this.ws = ws; resolve(); });
          ws.once('error', reject);
          ws.on('message', (m) => this.onMessage(JSON.parse(m.toString())));
          ws.on('close', () => {
            for (const [, p] of this.pending) p.reject(new Error('connection closed'));
            this.pending.clear();
            this.closed = true;
          });
        });
        this.closed = false;
        return this;
      } catch (e) {
        if (left() < 500) throw e;
        await sleep(200);
      }
    }
  }
  onMessage(msg) {
    if (msg.id !== undefined && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else p.resolve(msg.result);
    } else if (msg.params && msg.params.subscription !== undefined) {
      const cb = this.subs.get(msg.params.subscription);
      if (cb) cb(msg.params.result);
      else {
        if (!this.early.has(msg.params.subscription)) this.early.set(msg.params.subscription, []);
        this.early.get(msg.params.subscription).push(msg.params.result);
      }
    }
  }
  call(method, params = []) {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.pending.delete(id); reject(new Error(`${method}: timeout`)); }, Math.min(60000, left()));
      this.pending.set(id, { resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }
  async subscribe(method, params, cb) {
    const id = await this.call(method, params);
    this.subs.set(id, cb);
    for (const x of this.early.get(id) || []) cb(x);
    this.early.delete(id);
    return id;
  }
  close() { if (this.ws) this.ws.terminate(); }
}

// ---- independent helpers -------------------------------------------------------------------------
const twox128 = (s) => xxhashAsU8a(stringToU8a(s), 128);
const key = (p, i) => u8aToHex(u8aConcat(twox128(p), twox128(i)));
const le32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const le64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const K = {
  number: key('System', 'Number'),
  auths: u8aToHex(stringToU8a(':grandpa_authorities')),
  setId: key('Grandpa', 'CurrentSetId'),
  absent: key('System', 'Number') + 'ff',
  paraHead: (id) => u8aToHex(u8aConcat(twox128('Paras'), twox128('Heads'), xxhashAsU8a(le32(id), 64), le32(id))),
};

function headerFromJson(j) {
  return reg.createType('Header', { parentHash: j.parentHash, number: Number(j.number), stateRoot: j.stateRoot, extrinsicsRoot: j.extrinsicsRoot, digest: { logs: j.digest.logs } });
}

// Walk a key through papi's decoded proof nodes: returns value hex, null (absent) or throws (incomplete).
function proofLookup(validated, keyHex) {
  const nib = keyHex.slice(2);
  let node = validated.proofs[validated.rootHash];
  let depth = 0;
  const used = new Set([validated.rootHash]);
  for (;;) {
    if (!node) throw new Error('proof incomplete');
    if (node.type === 'Empty') return { value: null, used };
    const pk = node.partialKey || '';
    if (nib.slice(depth, depth + pk.length) !== pk) return { value: null, used };
    depth += pk.length;
    if (node.type.startsWith('Leaf')) return { value: depth === nib.length ? valueOf(node) : null, used };
    if (depth === nib.length) return { value: node.value !== undefined ? valueOf(node) : null, used };
    const child = node.children[nib[depth]];
    if (!child) return { value: null, used };
    depth += 1;
    if ((child.length - 2) / 2 === 32) {
      used.add(child);
      node = validated.proofs[child];
    } else {
      node = papi.trieNodeDec(child);
    }
  }
  function valueOf(n) {
    if (n.type.endsWith('WithHash') || n.type === 'BranchWithHash') {
      used.add(n.value);
      const v = validated.proofs[n.value];
      if (!v) throw new Error('proof incomplete (value node)');
      return v.value;
    }
    // papi leaves the inline value's compact length prefix in place
    const [, raw] = compactStripLength(hexToU8a(n.value));
    return u8aToHex(raw);
  }
}

async function verifyProof(rpc, blockHash, stateRoot, keys, what) {
  const res = await rpc.call('state_getReadProof', [keys, blockHash]);
  ok(res.at === blockHash, `${what}: proof at`);
  const v = papi.validateProofs(res.proof);
  ok(v && v.rootHash === stateRoot, `${what}: proof root ${v && v.rootHash} == header stateRoot ${stateRoot}`);
  const used = new Set();
  const out = {};
  for (const k of keys) {
    const r = proofLookup(v, k);
    for (const u of r.used) used.add(u);
    const direct = await rpc.call('state_getStorage', [k, blockHash]);
    ok((direct ?? null) === (r.value ?? null), `${what}: proven value of ${k.slice(0, 20)}… matches state_getStorage`);
    out[k] = r.value;
  }
  ok(used.size === res.proof.length, `${what}: proof is minimal (${used.size} used of ${res.proof.length})`);
  return out;
}

function decodeAuthorities(hex) {
  const u = hexToU8a(hex);
  ok(u[0] === 1, ':grandpa_authorities version 1');
  return reg.createType('Vec<(H256, u64)>', u.subarray(1)).map(([id]) => id.toHex());
}

function grandpaChange(header) {
  for (const log of header.digest.logs) {
    if (!log.isConsensus) continue;
    const [engine, data] = log.asConsensus;
    if (engine.toHex() !== '0x46524e4b') continue;
    const d = data.toU8a(true);
    if (d[0] === 1) {
      const list = reg.createType('(Vec<(H256, u64)>, u32)', d.subarray(1));
      return { authorities: list[0].map(([id]) => id.toHex()), delay: list[1].toNumber() };
    }
  }
  return null;
}

function verifyJustification(justHex, target, set, what) {
  const j = reg.createType('SmokeJustification', justHex);
  ok(u8aToHex(j.toU8a()) === justHex, `${what}: justification decodes exactly`);
  ok(j.commit.targetHash.toHex() === target.hash && j.commit.targetNumber.toNumber() === target.number, `${what}: commit target is the block`);
  const seen = new Set();
  for (const pc of j.commit.precommits) {
    const id = u8aToHex(pc.id);
    const msg = u8aConcat(new Uint8Array([1]), pc.precommit.targetHash.toU8a(), le32(pc.precommit.targetNumber.toNumber()), le64(j.round.toBigInt()), le64(set.setId));
    if (!set.authorities.includes(id)) continue;
    if (!ed25519Verify(msg, pc.signature.toU8a(), pc.id.toU8a())) return false;
    if (pc.precommit.targetHash.toHex() !== target.hash) return false;
    seen.add(id);
  }
  const total = set.authorities.length;
  return seen.size >= total - Math.floor((total - 1) / 3);
}

async function main() {
  await cryptoWaitReady();
  const t0 = Date.now();
  const rpc = await new Rpc(URL).connect();
  const info0 = await rpc.call('devnet_info');
  log(`devnet genesis ${info0.genesisHash}, best #${info0.best}, config ${JSON.stringify({ lag: info0.config.lag, period: info0.config.period, every: info0.config.setChangeEvery })}`);
  const lag = info0.config.lag;
  const period = info0.config.period;

  // subscriptions
  const subJust = [];
  const subFinal = [];
  await rpc.subscribe('grandpa_subscribeJustifications', [], (j) => subJust.push(j));
  await rpc.subscribe('chain_subscribeFinalizedHeads', [], (h) => subFinal.push(h));

  // a signed extrinsic from ECDSA //Bob, validated and applied by the runtime
  const metaHex = await rpc.call('state_getMetadata');
  const mreg = new TypeRegistry();
  const metadata = new Metadata(mreg, metaHex);
  mreg.setMetadata(metadata);
  const decorated = expandMetadata(mreg, metadata);
  const rv = await rpc.call('state_getRuntimeVersion');
  const bob = new Keyring({ type: 'ecdsa' }).addFromUri('//Bob');
  const bobId = u8aToHex(blake2AsU8a(bob.publicKey, 256));
  const nonce0 = await rpc.call('system_accountNextIndex', [bob.address]);
  const xt = mreg.createType('Extrinsic', decorated.tx.system.remarkWithEvent('0x6665727279'));
  xt.sign(bob, { nonce: nonce0, genesisHash: info0.genesisHash, blockHash: info0.genesisHash, era: mreg.createType('ExtrinsicEra', new Uint8Array([0])), runtimeVersion: { specVersion: rv.specVersion, transactionVersion: rv.transactionVersion }, signedExtensions: mreg.signedExtensions });
  const xtHash = await rpc.call('author_submitExtrinsic', [xt.toHex()]);
  ok(xtHash === blake2AsHex(xt.toU8a(), 256), 'author_submitExtrinsic returns the extrinsic hash');

  // the Phala runtime: real calls signed by dev keys, effects proven
  let phala = null;
  let prpc = null;
  if (PARA_URL) prpc = await new Rpc(PARA_URL).connect();
  if (info0.phala) {
    const tp = Date.now();
    const phalaRpc = info0.phala.endpoint === 'relay' ? rpc : prpc;
    if (!phalaRpc) throw new Error('the devnet runs Phala as a parachain: set DEVNET_PARA_URL');
    phala = await phalaChecks({ ok, log, verifyProof, headerFromJson, phalaRpc, relayGenesis: info0.genesisHash, produce: (n) => rpc.call('devnet_produceBlocks', [n]) });
    log(`phala checks (${info0.phala.mode}) in ${Date.now() - tp} ms`);
  }

  // an on-demand set change while the timer also produces blocks
  const change = await rpc.call('devnet_scheduleSetChange', []);
  log(`on-demand set change at #${change.block} -> set ${change.setId}`);
  ok(change.setId >= 1, 'devnet_scheduleSetChange moved the set id');

  // reach MIN_BLOCKS finalized blocks
  for (;;) {
    const fin = await rpc.call('devnet_info');
    if (fin.finalized >= MIN_BLOCKS) break;
    await rpc.call('devnet_produceBlocks', [Math.min(8, MIN_BLOCKS - fin.finalized + lag)]);
  }
  await rpc.call('devnet_pauseFinality');
  const info = await rpc.call('devnet_info');
  log(`best #${info.best}, finalized #${info.finalized}, set ${info.setId}, changes ${JSON.stringify(info.setChanges)} (${Date.now() - t0} ms)`);
  ok(info.best - info.finalized >= lag, 'finalized lags best by DEVNET_FINALITY_LAG');
  const finHead = await rpc.call('chain_getFinalizedHead');
  ok(finHead === info.finalizedHash, 'chain_getFinalizedHead follows GRANDPA finality');
  ok(finHead !== (await rpc.call('chain_getBlockHash', [])), 'finalized head is not the best block');

  // the extrinsic was applied: Bob's nonce moved
  const nonce1 = await rpc.call('system_accountNextIndex', [bob.address]);
  ok(nonce1 === nonce0 + 1, `ECDSA //Bob's signed extrinsic applied (nonce ${nonce0} -> ${nonce1})`);
  const acct = await rpc.call('state_getStorage', [u8aToHex(u8aConcat(hexToU8a(key('System', 'Account')), blake2AsU8a(hexToU8a(bobId), 128), hexToU8a(bobId)))]);
  ok(acct && mreg.createType('AccountInfo', acct).data.free.toBigInt() > 0n, 'ECDSA //Bob is endowed');

  // walk the chain as a light client from genesis
  const genesisHash = await rpc.call('chain_getBlockHash', [0]);
  ok(genesisHash === info.genesisHash, 'genesis hash');
  const g = await rpc.call('chain_getHeader', [genesisHash]);
  const gh = headerFromJson(g);
  ok(gh.hash.toHex() === genesisHash, 'genesis hash = blake2b-256(SCALE(genesis header))');
  ok(gh.parentHash.toHex() === '0x' + '00'.repeat(32), 'genesis parent is zero');
  const gvals = await verifyProof(rpc, genesisHash, gh.stateRoot.toHex(), [K.auths, K.setId, K.absent], 'genesis');
  let set = { setId: Number(reg.createType('u64', hexToU8a(gvals[K.setId] || '0x0000000000000000')).toBigInt()), authorities: decodeAuthorities(gvals[K.auths]) };
  ok(gvals[K.absent] === null, 'non-membership proof at genesis');
  log(`genesis set ${set.setId}: ${set.authorities.length} authorities`);

  const headers = [gh];
  const setOf = [set]; // set that finalizes block n
  let prev = gh;
  let justified = 0;
  let changes = 0;
  for (let n = 1; n <= info.best; n++) {
    const hash = await rpc.call('chain_getBlockHash', [n]);
    const blk = await rpc.call('chain_getBlock', [hash]);
    const h = headerFromJson(blk.block.header);
    ok(h.hash.toHex() === hash, `#${n}: hash = blake2b-256(SCALE(header))`);
    ok(h.parentHash.toHex() === prev.hash.toHex() && h.number.toNumber() === n, `#${n}: links to #${n - 1}`);
    // extrinsics root = ordered trie root (smoldot's trie, V0) of the extrinsics
    const xroot = await calculateStateRoot(blk.block.extrinsics.map((x, i) => [u8aToHex(compactToU8a(i)), x]), 0);
    ok(xroot === h.extrinsicsRoot.toHex(), `#${n}: extrinsicsRoot is the ordered trie root of ${blk.block.extrinsics.length} extrinsics`);
    const keys = [K.number, K.auths, K.setId, K.absent];
    if (PARA_URL) keys.push(K.paraHead(info.para.paraId));
    const vals = await verifyProof(rpc, hash, h.stateRoot.toHex(), keys, `#${n}`);
    ok(reg.createType('u32', hexToU8a(vals[K.number])).toNumber() === n, `#${n}: proven System.Number`);
    ok(vals[K.absent] === null, `#${n}: non-membership proof`);
    setOf[n] = set;
    const sc = grandpaChange(h);
    if (sc) {
      ok(sc.delay === 0, `#${n}: ScheduledChange delay 0`);
      const next = { setId: set.setId + 1, authorities: sc.authorities };
      ok(JSON.stringify(decodeAuthorities(vals[K.auths])) === JSON.stringify(next.authorities), `#${n}: state's authority list = the ScheduledChange's`);
      ok(Number(reg.createType('u64', hexToU8a(vals[K.setId])).toBigInt()) === next.setId, `#${n}: CurrentSetId = ${next.setId}`);
      ok(!next.authorities.some((a) => set.authorities.includes(a)), `#${n}: new set shares no key with the old`);
      set = next;
      changes++;
    }
    // justifications
    const fin = n <= info.finalized;
    if (blk.justifications) {
      ok(fin, `#${n}: only finalized blocks carry justifications`);
      ok(blk.justifications.length === 1 && blk.justifications[0][0] === '0x46524e4b', `#${n}: justification engine FRNK`);
      ok(verifyJustification(blk.justifications[0][1], { hash, number: n }, setOf[n], `#${n}`), `#${n}: justification verifies under set ${setOf[n].setId}`);
      if (setOf[n].setId > 0) {
        const wrong = { setId: setOf[n].setId - 1, authorities: setOf[n].authorities };
        ok(!verifyJustification(blk.justifications[0][1], { hash, number: n }, wrong, `#${n}`), `#${n}: justification fails under the wrong set_id`);
      }
      justified++;
    }
    if (fin && (sc || (period > 0 && n % period === 0) || n === info.finalized)) ok(!!blk.justifications, `#${n}: stored justification present (change/period/latest)`);
    headers[n] = h;
    prev = h;
  }
  ok(changes >= 2, `at least two set changes seen (${changes})`);
  log(`walked #0..#${info.best}: ${justified} justifications, ${changes} set changes`);

  // grandpa_proveFinality against chain_getBlock
  const changeBlocks = [];
  for (let n = 1; n <= info.finalized; n++) if (grandpaChange(headers[n])) changeBlocks.push(n);
  for (let n = 1; n <= info.finalized; n++) {
    const hex = await rpc.call('grandpa_proveFinality', [n]);
    ok(hex, `#${n}: proveFinality returns a proof`);
    const fp = reg.createType('SmokeFinalityProof', hex);
    ok(u8aToHex(fp.toU8a()) === hex, `#${n}: FinalityProof decodes exactly`);
    const tgt = fp.block.toHex();
    const tn = headers.findIndex((h) => h && h.hash.toHex() === tgt);
    ok(tn >= n, `#${n}: proof target #${tn} >= n`);
    const expected = changeBlocks.find((s) => s >= n) ?? info.finalized;
    ok(tn === expected, `#${n}: proof target #${tn} is the set's last block or the latest finalized (#${expected})`);
    ok(setOf[tn].setId === setOf[n].setId, `#${n}: proof stays in n's authority set`);
    ok(fp.unknownHeaders.length === tn - n && fp.unknownHeaders.every((h, i) => h.hash.toHex() === headers[n + 1 + i].hash.toHex()), `#${n}: unknown_headers = #${n + 1}..#${tn}`);
    const jHex = fp.justification.toHex();
    ok(verifyJustification(jHex, { hash: tgt, number: tn }, setOf[tn], `proof #${n}`), `#${n}: proof justification verifies`);
    const blk = await rpc.call('chain_getBlock', [tgt]);
    ok(blk.justifications && blk.justifications[0][1] === jHex, `#${n}: proof justification = chain_getBlock(#${tn}) justification`);
  }
  let notYet = false;
  try { await rpc.call('grandpa_proveFinality', [info.best]); } catch (_) { notYet = true; }
  ok(notYet, 'proveFinality of an unfinalized block fails');

  // subscriptions delivered justifications and finalized heads that verify
  ok(subJust.length > 3 && subFinal.length > 3, `subscriptions delivered (${subJust.length} justifications, ${subFinal.length} finalized heads)`);
  for (const j of subJust) {
    const d = reg.createType('SmokeJustification', j);
    const tn = d.commit.targetNumber.toNumber();
    ok(verifyJustification(j, { hash: headers[tn].hash.toHex(), number: tn }, setOf[tn], `sub #${tn}`), `subscribed justification for #${tn} verifies`);
  }
  let lastF = -1;
  for (const fh of subFinal) {
    const h = headerFromJson(fh);
    const num = h.number.toNumber();
    ok(num >= lastF && headers[num].hash.toHex() === h.hash.toHex(), `finalized head #${num} is on the chain and monotonic`);
    lastF = num;
  }

  // tamper hook: the next served justification fails, the one after passes
  await rpc.call('devnet_tamperNextJustification', []);
  const fb = await rpc.call('chain_getBlock', [info.finalizedHash]);
  ok(!verifyJustification(fb.justifications[0][1], { hash: info.finalizedHash, number: info.finalized }, setOf[info.finalized], 'tampered'), 'tampered justification fails');
  const fb2 = await rpc.call('chain_getBlock', [info.finalizedHash]);
  ok(verifyJustification(fb2.justifications[0][1], { hash: info.finalizedHash, number: info.finalized }, setOf[info.finalized], 'after tamper'), 'next justification is good again');

  // finality pause/resume
  await rpc.call('devnet_produceBlocks', [2]);
  ok((await rpc.call('chain_getFinalizedHead')) === info.finalizedHash, 'paused finality does not move');
  const resumed = await rpc.call('devnet_resumeFinality');
  ok(resumed.finalized > info.finalized, `resumed finality moves (#${resumed.finalized})`);

  // parachain: relay state proves the para head, para chain serves it
  if (PARA_URL) {
    const paraId = info.para.paraId;
    const relayFin = await rpc.call('chain_getFinalizedHead');
    const rh = headerFromJson(await rpc.call('chain_getHeader', [relayFin]));
    const v = await verifyProof(rpc, relayFin, rh.stateRoot.toHex(), [K.paraHead(paraId)], 'relay finalized');
    const [, headData] = compactStripLength(hexToU8a(v[K.paraHead(paraId)])); // HeadData = Vec<u8>
    const ph = reg.createType('Header', headData);
    ok(u8aToHex(ph.toU8a()) === u8aToHex(headData), 'para head decodes exactly as a header');
    const paraHash = ph.hash.toHex();
    const served = await prpc.call('chain_getHeader', [paraHash]);
    ok(served && headerFromJson(served).hash.toHex() === paraHash, `para head #${ph.number.toNumber()} proven by relay #${rh.number.toNumber()} is served by the para chain`);
    ok((await prpc.call('chain_getFinalizedHead')) === paraHash, 'para finalized head = para head in relay finalized state');
    // relay best: Paras::Heads(id) proven equal to the para chain's head of that number
    if (info.config.blockMs === 0) {
      const relayBest = await rpc.call('chain_getBlockHash', []);
      const rb = headerFromJson(await rpc.call('chain_getHeader', [relayBest]));
      const vb = await verifyProof(rpc, relayBest, rb.stateRoot.toHex(), [K.paraHead(paraId)], 'relay best');
      const pb = reg.createType('Header', compactStripLength(hexToU8a(vb[K.paraHead(paraId)]))[1]);
      ok(pb.hash.toHex() === (await prpc.call('chain_getBlockHash', [])), `relay best #${rb.number.toNumber()}: Paras::Heads(${paraId}) = the para chain's best head #${pb.number.toNumber()}`);
    }
    // para headers hash-link; extrinsics roots and state roots verify (genesis and the last 6,
    // to keep the run short)
    let pprev = null;
    const top = ph.number.toNumber();
    for (let n = 0; n <= top; n++) {
      const hh = await prpc.call('chain_getBlockHash', [n]);
      if (n > 0 && n < top - 5) {
        const hd = headerFromJson(await prpc.call('chain_getHeader', [hh]));
        ok(hd.hash.toHex() === hh && hd.parentHash.toHex() === pprev, `para #${n}: hash, links`);
        pprev = hh;
        continue;
      }
      const blk = await prpc.call('chain_getBlock', [hh]);
      const h = headerFromJson(blk.block.header);
      ok(h.hash.toHex() === hh, `para #${n}: hash`);
      if (pprev) ok(h.parentHash.toHex() === pprev && h.number.toNumber() === n, `para #${n}: links`);
      else ok(h.parentHash.toHex() === '0x' + '00'.repeat(32) && n === 0, 'para genesis parent is zero');
      if (n > 0) {
        const xroot = await calculateStateRoot(blk.block.extrinsics.map((x, i) => [u8aToHex(compactToU8a(i)), x]), 0);
        ok(xroot === h.extrinsicsRoot.toHex(), `para #${n}: extrinsicsRoot is the ordered trie root of ${blk.block.extrinsics.length} extrinsics`);
      }
      const pv = await verifyProof(prpc, hh, h.stateRoot.toHex(), [K.number, K.absent], `para #${n}`);
      if (n > 0) ok(reg.createType('u32', hexToU8a(pv[K.number])).toNumber() === n, `para #${n}: proven System.Number`);
      pprev = hh;
    }
    prpc.close();
  }

  // restart: connections drop, the same chain comes back on the same port
  const before = await rpc.call('devnet_info');
  await rpc.call('devnet_restart', [300]);
  const t1 = Date.now();
  while (!rpc.closed) { left(); await sleep(50); }
  const rpc2 = await new Rpc(URL).connect();
  const after = await rpc2.call('devnet_info');
  ok(after.genesisHash === before.genesisHash && after.best >= before.best && after.finalized >= before.finalized, `restart kept the chain (#${after.best}, back in ${Date.now() - t1} ms)`);
  ok((await rpc2.call('chain_getBlockHash', [before.best])) === before.bestHash, 'restart kept old blocks');
  if (phala) {
    const prpc2 = info.phala.endpoint === 'relay' ? rpc2 : await new Rpc(PARA_URL).connect();
    const ing = await rpc2.call('devnet_offchainIngress', [phala.workerOrigin]);
    ok(ing.sequence === 3 && (await prpc2.call('state_getStorage', [phala.ingressKey])) === u8aToHex(le64(3)), 'restart kept the Phala chain\'s state (OffchainIngress = 3)');
    if (prpc2 !== rpc2) prpc2.close();
  }
  rpc2.close();
  rpc.close();
  log(`smoke: ${checks} checks passed in ${Date.now() - t0} ms`);
}

main().then(() => process.exit(0), (e) => {
  console.error(`smoke: ${e.stack || e}`);
  process.exit(1);
});
