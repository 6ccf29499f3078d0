#!/usr/bin/env node
'use strict';
// ferry's local dev chain: the real Rococo runtime (spec 9140; or 9130 with a real upgrade to
// 9140 on demand) under chopsticks-core, with real headers, GRANDPA justifications signed by dev
// keys, authority-set changes emitted by the runtime, real read proofs, and optionally a
// parachain (Rococo Asset Hub, para id 1000, or the real Phala runtime, para id 2035) whose heads
// are written into the relay chain's Paras::Heads. With DEVNET_CHAIN=phala the Phala runtime is
// the GRANDPA-finalized chain itself (solo mode). See README.md.

process.env.LOG_LEVEL = process.env.LOG_LEVEL || process.env.DEVNET_LOG || 'warn';

const fs = require('node:fs');
const path = require('node:path');
const core = require('@acala-network/chopsticks-core');
const { cryptoWaitReady, xxhashAsU8a, blake2AsU8a } = require('@polkadot/util-crypto');
const { u8aToHex, hexToU8a, u8aConcat, compactAddLength, stringToU8a, bnToU8a } = require('@polkadot/util');
const { DevChain, plainRegistry } = require('./lib/chain');
const { ecdsaAccounts, sr25519Accounts, VoterKeys, NAMES } = require('./lib/keys');
const G = require('./lib/grandpa');
const { RpcServer, RpcError } = require('./lib/server');
const specs = require('./lib/specs');

function envInt(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

// DEVNET_PARA: unset/0 = no parachain, 1 (or assethub) = Rococo Asset Hub, phala = the Phala runtime
const PARA_KINDS = { '': null, 0: null, 1: 'assethub', assethub: 'assethub', phala: 'phala' };
const PARA_IDS = { assethub: 1000, phala: 2035 };
// The Phala runtime's ParachainInfo::ParachainId, set in its genesis (para mode and solo mode alike:
// a worker's WorkerRegistrationInfoV2.para_id must equal it).
const PHALA_PARA_ID = PARA_IDS.phala;
const paraKind = PARA_KINDS[process.env.DEVNET_PARA || ''];
if (paraKind === undefined) throw new Error(`DEVNET_PARA must be 1, assethub or phala, got ${process.env.DEVNET_PARA}`);

const cfg = {
  chain: process.env.DEVNET_CHAIN || 'rococo',
  port: envInt('DEVNET_PORT', 9944),
  blockMs: envInt('DEVNET_BLOCK_MS', 1000),
  lag: envInt('DEVNET_FINALITY_LAG', 2),
  period: envInt('DEVNET_JUSTIFICATION_PERIOD', 16),
  setChangeEvery: envInt('DEVNET_SET_CHANGE_EVERY', 0),
  authorities: envInt('DEVNET_AUTHORITIES', 4),
  para: paraKind,
  paraPort: envInt('DEVNET_PARA_PORT', 9988),
  paraId: paraKind ? PARA_IDS[paraKind] : null,
  proveMode: process.env.DEVNET_PROVE_FINALITY || 'substrate',
  justJson: process.env.DEVNET_JUSTIFICATION_JSON || 'hex',
  runtime: envInt('DEVNET_RUNTIME', 9140),
  host: '127.0.0.1',
};
if (cfg.authorities < 1) throw new Error('DEVNET_AUTHORITIES must be >= 1');
if (!['substrate', 'first'].includes(cfg.proveMode)) throw new Error('DEVNET_PROVE_FINALITY must be substrate or first');
if (!['hex', 'bytes'].includes(cfg.justJson)) throw new Error('DEVNET_JUSTIFICATION_JSON must be hex or bytes');
if (!['rococo', 'phala'].includes(cfg.chain)) throw new Error('DEVNET_CHAIN must be rococo or phala');
if (cfg.chain === 'phala' && cfg.para) throw new Error('DEVNET_CHAIN=phala is a solo chain: it cannot be combined with DEVNET_PARA');
if (cfg.chain === 'phala' && process.env.DEVNET_RUNTIME) throw new Error('DEVNET_RUNTIME selects the Rococo runtime: not with DEVNET_CHAIN=phala');
if (!specs.RUNTIMES.includes(cfg.runtime)) throw new Error(`DEVNET_RUNTIME must be one of ${specs.RUNTIMES.join(', ')}`);

const twox128 = (s) => xxhashAsU8a(stringToU8a(s), 128);
const storageKey = (pallet, item) => u8aToHex(u8aConcat(twox128(pallet), twox128(item)));
const blake2_128concat = (k) => u8aConcat(blake2AsU8a(k, 128), k);
const u128le = (v) => bnToU8a(BigInt(v), { bitLength: 128, isLe: true });
const le32 = (n) => G.u32le(n);
function parasHeadsKey(id) {
  return u8aToHex(u8aConcat(twox128('Paras'), twox128('Heads'), xxhashAsU8a(le32(id), 64), le32(id)));
}
const KEYS = {
  sudoKey: storageKey('Sudo', 'Key'),
  account: storageKey('System', 'Account'),
  totalIssuance: storageKey('Balances', 'TotalIssuance'),
  pendingChange: storageKey('Grandpa', 'PendingChange'),
  currentSetId: storageKey('Grandpa', 'CurrentSetId'),
  parachainId: storageKey('ParachainInfo', 'ParachainId'),
  events: storageKey('System', 'Events'),
  offchainIngress: storageKey('PhalaMq', 'OffchainIngress'),
  outboundMessages: storageKey('PhalaMq', 'OutboundMessages'),
};

// SCALE MessageOrigin (phala-mq) from a JSON-RPC parameter: the encoded hex, or one of
// {worker|accountId|contract|cluster: H256}, {pallet|multiLocation: bytes hex}, {gatekeeper: null}.
function encodeOrigin(sender) {
  if (typeof sender === 'string') {
    if (!/^0x([0-9a-fA-F]{2})+$/.test(sender)) throw new RpcError(-32602, 'sender: SCALE MessageOrigin hex expected');
    return hexToU8a(sender);
  }
  if (!sender || typeof sender !== 'object' || Object.keys(sender).length !== 1) throw new RpcError(-32602, 'sender: {worker: "0x<32 bytes>"} or similar expected');
  const [kind, v] = Object.entries(sender)[0];
  const h256 = { contract: 1, worker: 2, accountId: 3, cluster: 6 };
  const bytes = { pallet: 0, multiLocation: 4 };
  if (kind in h256) {
    const b = typeof v === 'string' ? hexToU8a(v) : new Uint8Array(0);
    if (b.length !== 32) throw new RpcError(-32602, `sender.${kind}: 32 bytes hex expected`);
    return u8aConcat(new Uint8Array([h256[kind]]), b);
  }
  if (kind in bytes) {
    if (typeof v !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(v)) throw new RpcError(-32602, `sender.${kind}: bytes hex expected`);
    return u8aConcat(new Uint8Array([bytes[kind]]), compactAddLength(hexToU8a(v)));
  }
  if (kind === 'gatekeeper') return new Uint8Array([5]);
  throw new RpcError(-32602, `sender: unknown MessageOrigin kind ${kind}`);
}
// PhalaMq::OffchainIngress(origin): Twox64Concat map of u64 (checked against the metadata at start)
function offchainIngressKey(origin) {
  return u8aToHex(u8aConcat(hexToU8a(KEYS.offchainIngress), xxhashAsU8a(origin, 64), origin));
}
const ENDOWMENT = 10n ** 24n; // 1e12 ROC at 12 decimals
// Fixed genesis time (2024-01-01T00:00:00Z, a multiple of the 6 s relay and 12 s para slots):
// block timestamps and slots are then deterministic (chopsticks adds one slot per block).
const GENESIS_TIME_MS = 1704067200000n;

function setGenesisTime(top) {
  top[storageKey('Timestamp', 'Now')] = u8aToHex(G.u64le(GENESIS_TIME_MS));
}

function accountInfo(free) {
  // AccountInfo{nonce u32, consumers u32, providers u32, sufficients u32, data{free, reserved, misc_frozen, fee_frozen}}
  return u8aToHex(u8aConcat(le32(0), le32(0), le32(1), le32(0), u128le(free), u128le(0), u128le(0), u128le(0)));
}

function endow(top, accounts) {
  let issuance = top[KEYS.totalIssuance] ? hexToU8a(top[KEYS.totalIssuance]) : new Uint8Array(16);
  let total = 0n;
  for (let i = 15; i >= 0; i--) total = total * 256n + BigInt(issuance[i]);
  for (const a of accounts) {
    const key = u8aToHex(u8aConcat(hexToU8a(KEYS.account), blake2_128concat(hexToU8a(a.accountId))));
    if (!top[key]) total += ENDOWMENT;
    top[key] = accountInfo(ENDOWMENT);
  }
  top[KEYS.totalIssuance] = u8aToHex(u128le(total));
}

function loadRelaySpec() {
  return specs.loadRelaySpec(cfg.runtime);
}

// Phala genesis edits (both modes): sudo = sr25519 //Alice, ParachainInfo::ParachainId = 2035.
// The registry settings are runtime constants of this runtime (NoneAttestationEnabled = true,
// VerifyPRuntime = false, VerifyRelaychainGenesisBlockHash = false), not genesis storage: they are
// kept as they are, checked at start and listed by devnet_info.
function phalaGenesis(top, sudo) {
  top[KEYS.sudoKey] = sudo.accountId;
  top[KEYS.parachainId] = u8aToHex(le32(PHALA_PARA_ID));
}
const PHALA_REGISTRY = { noneAttestationEnabled: true, verifyPRuntime: false, verifyRelaychainGenesisBlockHash: false };
function loadParaSpec() {
  const dir = path.dirname(require.resolve('@substrate/connect-known-chains/package.json'));
  const mod = require(path.join(dir, 'dist/commonjs/specs/rococo_v2_2_asset_hub.js'));
  return JSON.parse(mod.chainSpec);
}

class Devnet {
  constructor() {
    this.accounts = ecdsaAccounts();
    this.srAccounts = sr25519Accounts();
    this.allAccounts = [...this.accounts, ...this.srAccounts];
    // the main (GRANDPA-finalized) chain's sudo key: ECDSA //Alice on Rococo, sr25519 //Alice on Phala
    this.sudo = cfg.chain === 'phala' ? this.srAccounts[0] : this.accounts[0];
    this.voters = new VoterKeys();
    this.queue = Promise.resolve();
    this.timer = null;
    this.stopped = false;
    this.forceChange = null; // { authorities } for the next block
    this.paraHeads = []; // relay number -> para hash written in that block (sparse)
  }

  async start() {
    const t0 = Date.now();
    const spec = cfg.chain === 'phala' ? specs.loadPhalaSpec() : loadRelaySpec();
    const top = spec.genesis.raw.top;
    const set0 = this.voters.set(0, cfg.authorities);
    top[G.GRANDPA_AUTHORITIES_KEY] = G.encodeAuthorities(set0);
    top[KEYS.currentSetId] = u8aToHex(G.u64le(0));
    top[KEYS.sudoKey] = this.sudo.accountId;
    endow(top, this.allAccounts);
    setGenesisTime(top);
    if (cfg.chain === 'phala') phalaGenesis(top, this.srAccounts[0]);

    if (cfg.para) {
      const pspec = cfg.para === 'phala' ? specs.loadPhalaSpec() : loadParaSpec();
      endow(pspec.genesis.raw.top, this.allAccounts);
      setGenesisTime(pspec.genesis.raw.top);
      if (cfg.para === 'phala') phalaGenesis(pspec.genesis.raw.top, this.srAccounts[0]);
      this.para = new DevChain(cfg.para === 'phala' ? 'phala' : 'para', pspec);
      await this.para.init();
      const paraId = this.para.spec.genesis.raw.top[storageKey('ParachainInfo', 'ParachainId')];
      if (paraId && paraId !== u8aToHex(le32(cfg.paraId))) throw new Error(`para spec has para id ${paraId}`);
      // the relay genesis already knows the para's genesis head
      top[parasHeadsKey(cfg.paraId)] = u8aToHex(compactAddLength(hexToU8a(this.para.recordAt(0).headerHex)));
      this.paraHeads[0] = this.para.genesisHash;
    }

    this.relay = new DevChain(cfg.chain === 'phala' ? 'phala' : 'relay', spec);
    await this.relay.init();
    this.phala = cfg.chain === 'phala' ? this.relay : cfg.para === 'phala' ? this.para : null;
    if (this.phala) await this.checkPhala(this.phala);
    const meta = this.relay.meta;
    for (const [k, q] of [[KEYS.pendingChange, meta.query.grandpa.pendingChange], [KEYS.currentSetId, meta.query.grandpa.currentSetId], [KEYS.sudoKey, meta.query.sudo.key]]) {
      if (core.compactHex(q()) !== k) throw new Error(`storage key mismatch for ${k}`);
    }
    this.grandpa = new G.Grandpa(this.relay, this.voters, { lag: cfg.lag, period: cfg.period, proveMode: cfg.proveMode, currentSetIdKey: KEYS.currentSetId });
    this.grandpa.blockInfo(this.relay.recordAt(0));
    if (this.para) {
      this.grandpa.listeners.finalized.add(() => this.onParaFinality());
      this.paraFinalizedListeners = new Set();
    }

    this.relayServer = new RpcServer('relay', this.relayHandlers(), this.relay);
    await this.relayServer.listen(cfg.host, cfg.port);
    if (this.para) {
      this.paraServer = new RpcServer('para', this.paraHandlers(), this.para);
      await this.paraServer.listen(cfg.host, cfg.paraPort);
    }
    this.startMs = Date.now() - t0;
    console.log(`devnet ready ws://${cfg.host}:${this.relayServer.port}`);
    if (this.para) console.log(`devnet para ready ws://${cfg.host}:${this.paraServer.port}`);
    if (this.phala) console.log(`devnet phala ${cfg.chain === 'phala' ? 'solo' : `para ${cfg.paraId}`} genesis ${this.phala.genesisHash}`);
    console.log(`devnet genesis ${this.relay.genesisHash} (started in ${this.startMs} ms)`);
    this.schedule();
  }

  // The Phala runtime's storage keys, para id and registry settings as this devnet assumes them.
  async checkPhala(dc) {
    const meta = dc.meta;
    const q = meta.query;
    const probe = new Uint8Array(33).fill(7);
    probe[0] = 2;
    for (const [k, want] of [
      [core.compactHex(q.parachainInfo.parachainId()), KEYS.parachainId],
      [core.compactHex(q.sudo.key()), KEYS.sudoKey],
      [core.compactHex(q.phalaMq.outboundMessages()), KEYS.outboundMessages],
      [core.compactHex(q.phalaMq.offchainIngress({ Worker: u8aToHex(probe.subarray(1)) })), offchainIngressKey(probe)],
    ]) {
      if (k !== want) throw new Error(`phala: storage key mismatch: metadata ${k}, devnet ${want}`);
    }
    const st = dc.stateAt(dc.genesisHash);
    if (st.get(KEYS.parachainId) !== u8aToHex(le32(PHALA_PARA_ID))) throw new Error('phala: ParachainId not set in genesis');
    this.phalaRegistry = {};
    for (const [name, want] of Object.entries(PHALA_REGISTRY)) {
      const got = meta.consts.phalaRegistry[name].toJSON();
      if (got !== want) throw new Error(`phala: PhalaRegistry.${name} = ${got}, expected ${want}`);
      this.phalaRegistry[name] = got;
    }
  }

  // ---- block production ------------------------------------------------------------------------
  exclusive(fn) {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  schedule() {
    if (this.stopped || cfg.blockMs === 0 || this.timer) return;
    this.timer = setTimeout(async () => {
      const t = Date.now();
      try {
        await this.produce(1);
      } catch (e) {
        console.error(`devnet: block production failed: ${e.stack || e}`);
      }
      this.timer = null;
      if (!this.stopped && !this.down) {
        const wait = Math.max(0, cfg.blockMs - (Date.now() - t));
        this.timer = setTimeout(() => { this.timer = null; this.schedule(); }, wait);
      }
    }, 0);
  }

  produce(count, opts = {}) {
    return this.exclusive(async () => {
      const out = [];
      for (let i = 0; i < count; i++) out.push(await this.produceOne(i === 0 ? opts : {}));
      return out;
    });
  }

  async nonceOf(chain, acct) {
    const head = chain.head;
    const res = await head.call('AccountNonceApi_account_nonce', [acct.accountId]);
    const nonce = Buffer.from(res.result.slice(2), 'hex').readUInt32LE(0);
    return nonce;
  }

  // Signs sudo extrinsics (ECDSA //Alice, immortal, consecutive nonces) for the next block, one
  // per call; mk(meta.tx) returns the inner calls. Pool transactions go first in the block, so
  // the sudo key's among them count for the nonce.
  async signSudo(mk, poolTxs) {
    const chain = this.relay.chain;
    const head = chain.head;
    const meta = await head.meta;
    const registry = await head.registry;
    let nonce = await this.nonceOf(chain, this.sudo);
    for (const x of poolTxs) {
      try {
        const ext = registry.createType('Extrinsic', x);
        if (ext.isSigned && ext.signer.toHex() === this.sudo.accountId) nonce++;
      } catch (_) { /* undecodable: ignore */ }
    }
    const rv = await head.runtimeVersion;
    return mk(meta.tx).map((call) => {
      const xt = registry.createType('Extrinsic', call);
      xt.sign(this.sudo.pair, {
        nonce: nonce++,
        genesisHash: this.relay.genesisHash,
        blockHash: this.relay.genesisHash,
        era: registry.createType('ExtrinsicEra', new Uint8Array([0])),
        runtimeVersion: { specVersion: rv.specVersion, transactionVersion: rv.transactionVersion },
        signedExtensions: registry.signedExtensions,
      });
      return xt.toHex();
    });
  }

  async produceOne(opts) {
    const relay = this.relay;
    const n = relay.best.number + 1;
    const items = [];
    let change = null;
    if (opts.setChange || this.forceChange || (cfg.setChangeEvery > 0 && n % cfg.setChangeEvery === 0)) {
      const req = opts.setChange || this.forceChange || {};
      this.forceChange = null;
      const st = relay.stateAt(relay.best.hash);
      const cur = G.readSetId(st.get(KEYS.currentSetId));
      const count = req.authorities || cfg.authorities;
      const next = this.voters.set(cur + 1, count);
      // StoredPendingChange{scheduled_at u32, delay u32, next_authorities Vec<(id, u64)>, forced Option<u32>}
      const pending = u8aConcat(le32(n), le32(0), hexToU8a(G.encodeAuthorities(next)).subarray(1), new Uint8Array([0]));
      items.push([KEYS.pendingChange, u8aToHex(pending)], [KEYS.currentSetId, u8aToHex(G.u64le(cur + 1))]);
      change = { setId: cur + 1, authorities: next };
    }
    let paraRec = null;
    if (this.para) {
      paraRec = await this.para.newBlock();
      items.push([parasHeadsKey(cfg.paraId), u8aToHex(compactAddLength(hexToU8a(paraRec.headerHex)))]);
    }
    let extra = [];
    if (items.length || opts.upgradeCode) {
      // take the pool synchronously: anything submitted while we sign stays in the pool
      const pool = relay.chain.txPool.pendingExtrinsics;
      relay.chain.txPool.clear();
      const xts = await this.signSudo((tx) => {
        const calls = [];
        if (items.length) calls.push(tx.sudo.sudo(tx.system.setStorage(items)));
        // setCode declares the whole block's weight; sudo_unchecked_weight overrides it
        if (opts.upgradeCode) calls.push(tx.sudo.sudoUncheckedWeight(tx.system.setCode(opts.upgradeCode), 0));
        return calls;
      }, [...relay.carried.map((c) => c.xt), ...pool]); // carried ones go first (DevChain.newBlock)
      extra = [...pool, ...xts];
    }
    const t = Date.now();
    const rec = extra.length ? await relay.newBlock(extra) : await relay.newBlock();
    rec.buildMs = Date.now() - t;
    if (rec.number !== n) throw new Error(`expected block ${n}, built ${rec.number}`);
    const inf = this.grandpa.blockInfo(rec);
    if (change && !inf.isChange) {
      console.error(`devnet: block #${n} was meant to schedule set ${change.setId} but carries no ScheduledChange (sudo extrinsic failed?)`);
      // undo nothing: the runtime state decides; try again on the next block
      this.forceChange = { authorities: change.authorities.length };
    }
    if (paraRec) {
      const v = relay.stateAt(rec.hash).get(parasHeadsKey(cfg.paraId));
      if (v === u8aToHex(compactAddLength(hexToU8a(paraRec.headerHex)))) this.paraHeads[n] = paraRec.hash;
      else console.error(`devnet: para head #${paraRec.number} not written in relay #${n}`);
    }
    // devnet_warmProofs: build the new blocks' state tries now (as a real node has them in its
    // database), not on the first read proof asked at them (tens of ms per block)
    if (this.warmProofs) {
      await relay.fullTrie(rec.hash);
      if (paraRec) await this.para.fullTrie(paraRec.hash);
    }
    this.grandpa.advance();
    return rec;
  }

  // A real runtime upgrade: one block carrying sudo.sudoUncheckedWeight(system.setCode(code of
  // `target`)), signed by the sudo key. The block is still executed by the old code (its events
  // decode with the parent's metadata); its own state holds the new :code, frame_system puts
  // RuntimeEnvironmentUpdated into its header, and every later block runs the new runtime.
  async upgradeRuntime(target) {
    if (cfg.chain !== 'rococo') throw new RpcError(-32000, 'devnet_upgradeRuntime upgrades the Rococo relay runtime only');
    const code = specs.relayCode(target);
    const relay = this.relay;
    const before = await relay.chain.head.runtimeVersion;
    const oldRegistry = await relay.chain.head.registry;
    const [rec] = await this.produce(1, { upgradeCode: code });
    const head = await relay.chain.getBlock(rec.hash);
    const after = await head.runtimeVersion;
    const logs = plainRegistry.createType('Header', rec.headerHex).digest.logs;
    const envUpdated = logs.some((l) => l.isRuntimeEnvironmentUpdated);
    const raw = relay.stateAt(rec.hash).get(storageKey('System', 'Events'));
    const events = raw ? oldRegistry.createType('Vec<EventRecord>', raw).map((e) => `${e.event.section}.${e.event.method}`) : [];
    if (after.specVersion !== target || !envUpdated) {
      const sudid = raw ? oldRegistry.createType('Vec<EventRecord>', raw).filter((e) => e.event.method === 'Sudid' || e.event.method === 'ExtrinsicFailed').map((e) => JSON.stringify(e.event.toHuman())) : [];
      throw new RpcError(-32000, `runtime upgrade in block #${rec.number} did not take: spec ${before.specVersion} -> ${after.specVersion}, RuntimeEnvironmentUpdated ${envUpdated}, events ${events.join(' ')} ${sudid.join(' ')}`);
    }
    console.log(`devnet: runtime upgraded from spec ${before.specVersion} to ${after.specVersion} in block #${rec.number} ${rec.hash}`);
    return {
      block: rec.number, hash: rec.hash,
      from: { specName: before.specName, specVersion: before.specVersion, transactionVersion: before.transactionVersion },
      runtimeVersion: after,
      runtimeEnvironmentUpdated: envUpdated,
      events,
    };
  }

  // para finality: the latest para head written at or below the relay finalized block
  paraFinalized() {
    for (let n = this.grandpa.finalized; n >= 0; n--) {
      if (this.paraHeads[n]) return this.para.records.get(this.paraHeads[n]);
    }
    return this.para.recordAt(0);
  }
  onParaFinality() {
    const rec = this.paraFinalized();
    if (this.lastParaFinal === rec.hash) return;
    this.lastParaFinal = rec.hash;
    for (const cb of this.paraFinalizedListeners) cb(rec);
  }

  // ---- RPC -------------------------------------------------------------------------------------------
  commonHandlers(dc, finality) {
    const headerJson = (rec) => plainRegistry.createType('Header', rec.headerHex).toJSON();
    const rpcHeader = (rec) => {
      const h = headerJson(rec);
      return { parentHash: h.parentHash, number: '0x' + h.number.toString(16), stateRoot: h.stateRoot, extrinsicsRoot: h.extrinsicsRoot, digest: { logs: plainRegistry.createType('Header', rec.headerHex).digest.logs.map((l) => l.toHex()) } };
    };
    const resolve = (at) => {
      if (at === undefined || at === null) return dc.best;
      const rec = dc.records.get(at);
      if (!rec) throw new RpcError(-32000, `Block ${at} not found`);
      return rec;
    };
    return {
      rpcHeader,
      resolve,
      handlers: {
        state_getReadProof: async ([keys, at]) => {
          const rec = resolve(at);
          if (!Array.isArray(keys)) throw new RpcError(-32602, 'keys must be an array');
          return { at: rec.hash, proof: await dc.readProof(rec.hash, keys) };
        },
        chain_getFinalizedHead: async () => finality.head().hash,
        chain_getFinalisedHead: async () => finality.head().hash,
        chain_subscribeFinalizedHeads: async (_p, sub) => {
          const id = sub.newId();
          const send = sub.subscribe('chain_finalizedHead', id, () => finality.listeners.delete(cb));
          const cb = (rec) => send(rpcHeader(rec));
          finality.listeners.add(cb);
          setTimeout(() => send(rpcHeader(finality.head())), 10);
          return id;
        },
        chain_unsubscribeFinalizedHeads: async ([id], sub) => sub.unsubscribe(id),
        dev_setStorage: async () => { throw new RpcError(-32000, 'dev_setStorage is disabled on the ferry devnet: it changes a block\'s state after its state root was published'); },
        dev_setHead: async () => { throw new RpcError(-32000, 'dev_setHead is disabled on the ferry devnet'); },
        dev_timeTravel: async () => { throw new RpcError(-32000, 'dev_timeTravel is disabled on the ferry devnet'); },
        dev_setBlockBuildMode: async () => { throw new RpcError(-32000, 'dev_setBlockBuildMode is disabled on the ferry devnet'); },
      },
    };
  }

  relayHandlers() {
    const g = this.grandpa;
    const finality = { head: () => this.relay.recordAt(g.finalized), listeners: g.listeners.finalized };
    const { handlers, resolve } = this.commonHandlers(this.relay, finality);
    const jsonJust = (hex) => {
      if (cfg.justJson === 'hex') return [[G.FRNK, hex]];
      return [[[...hexToU8a(G.FRNK)], [...hexToU8a(hex)]]];
    };
    const hooks = {
      devnet_produceBlocks: async ([count]) => {
        const n = count === undefined ? 1 : Number(count);
        if (!Number.isInteger(n) || n < 1 || n > 10000) throw new RpcError(-32602, 'count must be 1..10000');
        const recs = await this.produce(n);
        const last = recs[recs.length - 1];
        return { best: last.number, hash: last.hash, finalized: g.finalized };
      },
      devnet_scheduleSetChange: async ([opts]) => {
        const authorities = opts && opts.authorities !== undefined ? Number(opts.authorities) : cfg.authorities;
        if (!Number.isInteger(authorities) || authorities < 1 || authorities > 100) throw new RpcError(-32602, 'authorities must be 1..100');
        const [rec] = await this.produce(1, { setChange: { authorities } });
        const inf = g.blockInfo(rec);
        if (!inf.isChange) throw new RpcError(-32000, `block #${rec.number} did not schedule the change`);
        const st = this.relay.stateAt(rec.hash);
        return { block: rec.number, hash: rec.hash, setId: G.readSetId(st.get(KEYS.currentSetId)), authorities: G.decodeAuthoritiesValue(st.get(G.GRANDPA_AUTHORITIES_KEY)).map((a) => a.id) };
      },
      devnet_upgradeRuntime: async ([opts]) => {
        const target = opts && opts.specVersion !== undefined ? Number(opts.specVersion) : 9140;
        if (!specs.RUNTIMES.includes(target)) throw new RpcError(-32602, `specVersion must be one of ${specs.RUNTIMES.join(', ')}`);
        return this.upgradeRuntime(target);
      },
      devnet_warmProofs: async ([on]) => { this.warmProofs = on !== false; return { warmProofs: this.warmProofs }; },
      devnet_pauseFinality: async () => { g.paused = true; return { finalized: g.finalized }; },
      devnet_resumeFinality: async () => this.exclusive(async () => { g.paused = false; g.advance(); return { finalized: g.finalized }; }),
      devnet_tamperNextJustification: async ([count]) => { g.tamperCount += count === undefined ? 1 : Number(count); return { pending: g.tamperCount }; },
      devnet_restart: async ([ms]) => {
        const downMs = ms === undefined ? 1000 : Number(ms);
        setTimeout(() => this.restart(downMs).catch((e) => console.error(`devnet: restart failed: ${e.stack || e}`)), 50);
        return { downMs };
      },
      devnet_offchainIngress: async ([sender, at]) => {
        const dc = this.phala;
        if (!dc) throw new RpcError(-32000, 'no Phala chain here (start with DEVNET_CHAIN=phala or DEVNET_PARA=phala)');
        let rec;
        if (at === undefined || at === null) rec = dc.best;
        else if (typeof at === 'number') rec = dc.recordAt(at);
        else rec = dc.records.get(at);
        if (!rec) throw new RpcError(-32000, `Block ${at} not found on the Phala chain`);
        const origin = encodeOrigin(sender);
        const k = offchainIngressKey(origin);
        const v = dc.stateAt(rec.hash).get(k) ?? null;
        const sequence = v ? Number(Buffer.from(v.slice(2), 'hex').readBigUInt64LE(0)) : 0;
        return { chain: cfg.chain === 'phala' ? 'solo' : 'para', block: rec.number, hash: rec.hash, origin: u8aToHex(origin), key: k, value: v, sequence };
      },
      devnet_info: async () => {
        const best = this.relay.best;
        const st = this.relay.stateAt(best.hash);
        return {
          genesisHash: this.relay.genesisHash,
          best: best.number, bestHash: best.hash,
          finalized: g.finalized, finalizedHash: this.relay.byNumber[g.finalized],
          setId: G.readSetId(st.get(KEYS.currentSetId)),
          authorities: G.decodeAuthoritiesValue(st.get(G.GRANDPA_AUTHORITIES_KEY)).map((a) => a.id),
          setChanges: g.setChanges.map(([setId, block]) => ({ setId, block })),
          finalityPaused: g.paused,
          chain: cfg.chain,
          config: cfg,
          para: this.para ? { kind: cfg.para, paraId: cfg.paraId, genesisHash: this.para.genesisHash, headsKey: parasHeadsKey(cfg.paraId), best: this.para.best.number, bestHash: this.para.best.hash, finalized: this.paraFinalized().number, finalizedHash: this.paraFinalized().hash } : null,
          phala: this.phala ? {
            mode: cfg.chain === 'phala' ? 'solo' : 'para',
            endpoint: cfg.chain === 'phala' ? 'relay' : 'para',
            paraId: PHALA_PARA_ID,
            genesisHash: this.phala.genesisHash,
            specVersion: this.phala.genesisVersion.specVersion,
            sudo: { type: 'sr25519', uri: '//Alice', accountId: this.srAccounts[0].accountId },
            registry: this.phalaRegistry,
            keys: {
              parachainId: KEYS.parachainId,
              outboundMessages: KEYS.outboundMessages,
              offchainIngressPrefix: KEYS.offchainIngress, // ‖ twox64(origin) ‖ origin
              parasHeads: cfg.para === 'phala' ? parasHeadsKey(cfg.paraId) : null, // on the relay
            },
          } : null,
          accounts: this.accounts.map((a) => ({ name: a.name, publicKey: a.publicKey, accountId: a.accountId, ss58: a.address })),
          sr25519Accounts: this.srAccounts.map((a) => ({ name: a.name, publicKey: a.publicKey, accountId: a.accountId, ss58: a.address })),
        };
      },
    };
    this.hooks = hooks;
    return {
      ...handlers,
      ...hooks,
      chain_getBlock: async ([hash], sub, fallback) => {
        const res = await fallback('chain_getBlock', [hash]);
        const rec = resolve(hash);
        const j = g.justificationOf(rec.hash);
        res.justifications = j ? jsonJust(g.serve(j)) : null;
        return res;
      },
      grandpa_proveFinality: async ([n]) => {
        const num = typeof n === 'string' ? Number(n) : n;
        if (!Number.isInteger(num) || num < 0) throw new RpcError(-32602, 'block number expected');
        try {
          return g.proveFinality(num);
        } catch (e) {
          throw new RpcError(-32000, e.message);
        }
      },
      grandpa_subscribeJustifications: async (_p, sub) => {
        const id = sub.newId();
        const send = sub.subscribe('grandpa_justifications', id, () => g.listeners.justification.delete(cb));
        const cb = (j) => send(g.serve(j));
        g.listeners.justification.add(cb);
        return id;
      },
      grandpa_unsubscribeJustifications: async ([id], sub) => sub.unsubscribe(id),
      grandpa_roundState: async () => {
        const rec = this.relay.recordAt(g.finalized);
        const inf = g.blockInfo(rec);
        const total = inf.authorities.length;
        const threshold = total - Math.floor((total - 1) / 3);
        const st = { currentWeight: total, missing: [] };
        return { setId: inf.setId, best: { round: inf.round || 0, totalWeight: total, thresholdWeight: threshold, prevotes: st, precommits: st }, background: [] };
      },
      dev_newBlock: async ([params]) => {
        const count = params && params.count ? Number(params.count) : 1;
        const recs = await this.produce(count);
        return recs[recs.length - 1].hash;
      },
    };
  }

  paraHandlers() {
    const finality = { head: () => this.paraFinalized(), listeners: this.paraFinalizedListeners };
    const { handlers } = this.commonHandlers(this.para, finality);
    // the relay endpoint's test hooks, also here (blocks and finality are shared)
    const h = this.hooks;
    const shared = {};
    for (const m of ['devnet_produceBlocks', 'devnet_pauseFinality', 'devnet_resumeFinality', 'devnet_offchainIngress', 'devnet_restart', 'devnet_info']) shared[m] = h[m];
    return {
      ...handlers,
      ...shared,
      dev_newBlock: async () => { throw new RpcError(-32000, 'para blocks are produced with the relay chain; call devnet_produceBlocks on the relay endpoint'); },
    };
  }

  async restart(downMs) {
    this.down = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    await this.queue;
    await this.relayServer.close();
    if (this.paraServer) await this.paraServer.close();
    console.log(`devnet restarting (down for ${downMs} ms)`);
    await new Promise((r) => setTimeout(r, downMs));
    if (this.stopped) return;
    // same ports as before (also when they were picked by the OS with port 0)
    await this.relayServer.listen(cfg.host, this.relayServer.port);
    if (this.paraServer) await this.paraServer.listen(cfg.host, this.paraServer.port);
    this.down = false;
    console.log(`devnet ready ws://${cfg.host}:${this.relayServer.port}`);
    if (this.para) console.log(`devnet para ready ws://${cfg.host}:${this.paraServer.port}`);
    this.schedule();
  }

  async stop() {
    this.stopped = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const servers = [this.relayServer, this.paraServer].filter(Boolean);
    await Promise.all(servers.map((s) => s.close().catch(() => {})));
    await Promise.race([this.queue, new Promise((r) => setTimeout(r, 3000))]);
    await core.destroyWorker().catch(() => {});
  }
}

async function main() {
  await cryptoWaitReady();
  const dn = new Devnet();
  let stopping = false;
  const onSignal = (sig) => {
    if (stopping) return;
    stopping = true;
    console.log(`devnet: ${sig}, stopping`);
    dn.stop().then(() => process.exit(0), () => process.exit(1));
    setTimeout(() => process.exit(1), 5000).unref();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  await dn.start();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`devnet: ${e.stack || e}`);
    process.exit(1);
  });
}

module.exports = { Devnet, parasHeadsKey, KEYS, NAMES };
