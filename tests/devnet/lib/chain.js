'use strict';
// One chopsticks-core chain in genesis mode, publishing real headers: the genesis header is the
// real one (parent 0, state root of the sorted raw genesis with the runtime's trie version), and
// every block's header is the runtime's own (BlockBuilder_finalize_block: real extrinsics root,
// the runtime's digest logs) with the state root of the full storage. The full storage of each
// block is tracked here (parent state + the block's storage diff) for roots and read proofs.

const core = require('@acala-network/chopsticks-core');
const { TypeRegistry } = require('@polkadot/types');
const { u8aToHex, hexToU8a } = require('@polkadot/util');
const { blake2AsHex } = require('@polkadot/util-crypto');
const trie = require('./trie');

const ZERO32 = '0x' + '00'.repeat(32);
const EMPTY_TRIE_ROOT = blake2AsHex(new Uint8Array([0]), 256);
const plainRegistry = new TypeRegistry();

function encodeHeader(h) {
  return plainRegistry.createType('Header', h);
}

// Block states: full maps kept for recent blocks and every SNAPSHOT_EVERY blocks; others are
// rebuilt from the nearest snapshot plus per-block diffs.
const SNAPSHOT_EVERY = 32;
const RECENT = 48;
const CARRY_TRIES = 16;

class DevChain {
  constructor(name, spec, opts = {}) {
    this.name = name;
    this.spec = spec;
    this.opts = opts;
    this.records = new Map(); // hash -> { number, hash, parentHash, headerHex, diff, state? }
    this.byNumber = []; // number -> hash
    this.trieCache = new Map(); // hash -> { nodes }
    this.onBlock = []; // callbacks(record)
    this.carried = []; // [{ xt, tries }]: skipped for now, offered again to the next block
  }

  async init() {
    const top = this.spec.genesis.raw.top;
    const sorted = Object.keys(top).sort();
    const sortedTop = {};
    for (const k of sorted) sortedTop[k] = top[k];
    this.spec.genesis.raw.top = sortedTop; // chopsticks enumerates keys in insertion order
    const version = await core.getRuntimeVersion(sortedTop['0x3a636f6465']);
    this.genesisVersion = version;
    const entries = sorted.map((k) => [k, sortedTop[k]]);
    const stateRoot = await core.calculateStateRoot(entries, version.stateVersion);
    const header = encodeHeader({ parentHash: ZERO32, number: 0, stateRoot, extrinsicsRoot: EMPTY_TRIE_ROOT, digest: { logs: [] } });
    this.genesisHash = header.hash.toHex();
    const headerJson = { parentHash: ZERO32, number: '0x0', stateRoot, extrinsicsRoot: EMPTY_TRIE_ROOT, digest: { logs: [] } };

    const provider = new core.GenesisProvider(this.spec);
    const genesisHash = this.genesisHash;
    Object.defineProperty(provider, 'blockHash', { get: () => genesisHash });
    provider.getHeader = async () => headerJson;
    // chopsticks' GenesisProvider answers state_getKeysPaged(prefix, n, start) with a start key
    // equal to the prefix *inclusively* (the key itself when it exists). Its storage layers ask
    // the genesis with start = prefix for "the keys after prefix" (a node treats an explicit start
    // key as exclusive), so a storage_next_key(K) on an existing genesis key K is answered with K
    // and smoldot's executor aborts (storage_diff.rs "assertion failed: in_parent_next_key >
    // key"). The runtime upgrade's migrations (9130 -> 9140) hit this. Answer as a node does.
    const genesisSend = provider.send.bind(provider);
    provider.send = async (method, params, isCacheable) => {
      if ((method === 'state_getKeysPaged' || method === 'state_getKeysPagedAt') && !core.isPrefixedChildKey(params[0])) {
        const [prefix, size, start] = params;
        const out = [];
        for (const k of sorted) {
          if (out.length >= size) break;
          if (k.startsWith(prefix) && (start ? k > start : true)) out.push(k);
        }
        return out;
      }
      return genesisSend(method, params, isCacheable);
    };

    const { api, blockHash } = await core.processOptions({ genesis: provider, block: 0 });
    if (blockHash !== genesisHash) throw new Error(`${this.name}: genesis hash mismatch`);
    this.chain = new core.Blockchain({
      api,
      buildBlockMode: core.BuildBlockMode.Manual,
      inherentProviders: core.inherentProviders,
      header: { hash: genesisHash, number: 0 },
      registeredTypes: { types: { DispatchErrorModule: 'DispatchErrorModuleU8' } },
      runtimeLogLevel: 0,
      maxMemoryBlockCount: 1_000_000,
      processQueuedMessages: false,
      saveBlocks: false,
    });
    this.chain.ferryRealHeader = (args) => this._realHeader(args);
    this._keepTemporarilyInvalid();
    const state = new Map(entries);
    this._record({ number: 0, hash: genesisHash, parentHash: ZERO32, headerHex: header.toHex(), diff: null, state, snapshot: state });
    const meta = await this.chain.head.meta;
    this.meta = meta;
  }

  // A node's block author skips a transaction that does not fit (ExhaustsResources) or whose
  // nonce is not reached yet (Future) and keeps it in the pool for a later block; chopsticks
  // drops it and tells its watchers "invalid". That happens for real in the first block after a
  // runtime upgrade, whose migrations fill the block. Keep such transactions (for up to
  // CARRY_TRIES blocks, then let chopsticks report them), as the node's pool would.
  _keepTemporarilyInvalid() {
    const ev = this.chain.txPool.event;
    const emit = ev.emit.bind(ev);
    const tries = new Map(); // xt -> tries so far (for this build)
    this._carryTries = tries;
    ev.emit = (name, ...args) => {
      if (name === core.APPLY_EXTRINSIC_ERROR) {
        const [xt, error] = args[0] || [];
        const inv = error && error.isInvalid ? error.asInvalid : null;
        const n = (tries.get(xt) || 0) + 1;
        if (inv && (inv.isExhaustsResources || inv.isFuture) && n <= CARRY_TRIES) {
          this.carried.push({ xt, tries: n });
          return true;
        }
      }
      return emit(name, ...args);
    };
  }

  _record(rec) {
    this.records.set(rec.hash, rec);
    this.byNumber[rec.number] = rec.hash;
    // drop full states that are neither recent nor snapshots
    const old = this.byNumber[rec.number - RECENT];
    if (old) {
      const o = this.records.get(old);
      if (o && o.number % SNAPSHOT_EVERY !== 0) o.state = null;
    }
    return rec;
  }

  stateAt(hash) {
    const rec = this.records.get(hash);
    if (!rec) throw new Error(`unknown block ${hash}`);
    if (rec.state) return rec.state;
    const chainBack = [];
    let r = rec;
    while (!r.state) {
      chainBack.push(r);
      r = this.records.get(r.parentHash);
    }
    const st = new Map(r.state);
    for (let i = chainBack.length - 1; i >= 0; i--) applyDiff(st, chainBack[i].diff);
    return st;
  }

  async _realHeader({ head, runtimeHeaderHex, storageDiff, registry }) {
    const parentState = this.stateAt(head.hash);
    const st = new Map(parentState);
    applyDiff(st, storageDiff, this.name);
    const entries = [...st.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const version = await head.runtimeVersion;
    const stateRoot = await core.calculateStateRoot(entries, version.stateVersion);
    const rh = registry.createType('Header', runtimeHeaderHex);
    if (rh.parentHash.toHex() !== head.hash) throw new Error(`${this.name}: runtime header parent mismatch`);
    const header = registry.createType('Header', {
      parentHash: rh.parentHash,
      number: rh.number,
      stateRoot,
      extrinsicsRoot: rh.extrinsicsRoot,
      digest: rh.digest,
    });
    const hash = header.hash.toHex();
    const number = rh.number.toNumber();
    this._record({
      number, hash, parentHash: head.hash, headerHex: header.toHex(), diff: storageDiff, state: st,
      stateVersion: version.stateVersion, snapshot: number % SNAPSHOT_EVERY === 0,
    });
    return header;
  }

  get best() {
    return this.records.get(this.byNumber[this.byNumber.length - 1]);
  }

  recordAt(n) {
    const h = this.byNumber[n];
    return h ? this.records.get(h) : undefined;
  }

  // Builds one block with the given extra extrinsics first, then whatever is in the pool.
  async newBlock(extra = []) {
    const pool = this.chain.txPool;
    const carried = this.carried.splice(0);
    this._carryTries.clear();
    for (const c of carried) this._carryTries.set(c.xt, c.tries);
    const txs = [...carried.map((c) => c.xt), ...extra, ...pool.pendingExtrinsics];
    pool.clear();
    const before = this.chain.head.number;
    await this.chain.newBlock({ transactions: txs });
    const head = this.chain.head;
    if (head.number !== before + 1) throw new Error(`${this.name}: block not built`);
    const rec = this.records.get(head.hash);
    if (!rec) throw new Error(`${this.name}: head ${head.hash} has no real header record (patch not applied?)`);
    for (const cb of this.onBlock) await cb(rec);
    return rec;
  }

  async storageAt(hash, key) {
    return this.stateAt(hash).get(key) ?? null;
  }

  async fullTrie(hash) {
    let t = this.trieCache.get(hash);
    if (t) return t;
    const rec = this.records.get(hash);
    const st = this.stateAt(hash);
    const entries = [...st.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const { trieRootHash, nodes } = await core.createProof([], entries);
    const header = plainRegistry.createType('Header', rec.headerHex);
    const root = header.stateRoot.toHex();
    if (trieRootHash !== root) {
      throw new Error(`${this.name}: proof trie root ${trieRootHash} != header state root ${root} (trie version mismatch?)`);
    }
    t = { root, nodes: trie.indexNodes(nodes) };
    this.trieCache.set(hash, t);
    if (this.trieCache.size > 8) this.trieCache.delete(this.trieCache.keys().next().value);
    return t;
  }

  async readProof(hash, keys) {
    const t = await this.fullTrie(hash);
    return trie.minimalProof(t.nodes, t.root, keys).proof;
  }
}

function applyDiff(st, diff, name) {
  if (!diff) return;
  for (const [k, v] of Object.entries(diff)) {
    if (core.isPrefixedChildKey(k)) {
      console.error(`${name || 'chain'}: child storage write ignored by the devnet's state tracking: ${k.slice(0, 40)}…`);
      continue;
    }
    if (v === null || v === undefined) st.delete(k);
    else st.set(k, v);
  }
}

module.exports = { DevChain, encodeHeader, plainRegistry, ZERO32, hexToU8a, u8aToHex };
