'use strict';
// GRANDPA finality for the dev chain: justifications signed by the dev voter keys, finality that
// lags the best block, stored justifications (set changes, every N blocks, latest finalized),
// and Substrate's prove_finality.

const { u8aToHex, hexToU8a, u8aConcat, compactToU8a, stringToHex } = require('@polkadot/util');
const { plainRegistry } = require('./chain');
const { readCompact } = require('./trie');

const FRNK = stringToHex('FRNK'); // 0x46524e4b
const GRANDPA_AUTHORITIES_KEY = stringToHex(':grandpa_authorities');

function u32le(n) { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; }
function u64le(n) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; }

// :grandpa_authorities = 0x01 ‖ Vec<(ed25519[32], u64)>
function encodeAuthorities(pubs) {
  return u8aToHex(u8aConcat(new Uint8Array([1]), compactToU8a(pubs.length), ...pubs.map((p) => u8aConcat(hexToU8a(p), u64le(1)))));
}
function decodeAuthorityList(buf, off) {
  const [n, o] = readCompact(buf, off);
  off = o;
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ id: u8aToHex(buf.subarray(off, off + 32)), weight: buf.readBigUInt64LE(off + 32) });
    off += 40;
  }
  return [out, off];
}
function decodeAuthoritiesValue(hex) {
  const buf = Buffer.from(hex.slice(2), 'hex');
  if (buf[0] !== 1) throw new Error('unknown :grandpa_authorities version');
  return decodeAuthorityList(buf, 1)[0];
}

// The FRNK consensus log of a header, if any: { kind: 'scheduled'|'forced'|other, authorities, delay }
function grandpaLogs(headerHex) {
  const h = plainRegistry.createType('Header', headerHex);
  const out = [];
  for (const log of h.digest.logs) {
    if (!log.isConsensus) continue;
    const [engine, data] = log.asConsensus;
    if (engine.toHex() !== FRNK) continue;
    const buf = Buffer.from(data.toU8a(true));
    if (buf[0] === 1) {
      const [auths, off] = decodeAuthorityList(buf, 1);
      out.push({ kind: 'scheduled', authorities: auths, delay: buf.readUInt32LE(off) });
    } else if (buf[0] === 2) {
      const [auths, off] = decodeAuthorityList(buf, 5);
      out.push({ kind: 'forced', median: buf.readUInt32LE(1), authorities: auths, delay: buf.readUInt32LE(off) });
    } else out.push({ kind: `log${buf[0]}` });
  }
  return out;
}

function precommitMessage(hash, number, round, setId) {
  return u8aConcat(new Uint8Array([1]), hexToU8a(hash), u32le(number), u64le(round), u64le(setId));
}

// round u64 ‖ commit{target_hash, target_number u32, Vec<{hash, u32, sig64, id32}>} ‖ Vec<Header>
function makeJustification(keys, target, round, setId, authorities) {
  const precommits = [];
  const msg = precommitMessage(target.hash, target.number, round, setId);
  for (const id of authorities) {
    const k = keys.get(id);
    if (!k) continue; // not a dev key: cannot sign (the justification may then fall short)
    const sig = k.pair.sign(msg);
    precommits.push(u8aConcat(hexToU8a(target.hash), u32le(target.number), sig, hexToU8a(id)));
  }
  return u8aToHex(u8aConcat(u64le(round), hexToU8a(target.hash), u32le(target.number), compactToU8a(precommits.length), ...precommits, compactToU8a(0)));
}

// Flip one bit of the first precommit's signature.
function tamper(justHex) {
  const buf = Buffer.from(justHex.slice(2), 'hex');
  const [, off] = readCompact(buf, 8 + 32 + 4);
  const sigOff = off + 32 + 4;
  if (sigOff < buf.length) buf[sigOff] ^= 0x01;
  else buf[8] ^= 0x01;
  return '0x' + buf.toString('hex');
}

class Grandpa {
  constructor(relay, keys, opts) {
    this.relay = relay;
    this.keys = keys;
    this.lag = opts.lag;
    this.period = opts.period;
    this.proveMode = opts.proveMode || 'substrate';
    this.currentSetIdKey = opts.currentSetIdKey;
    this.finalized = 0;
    this.paused = false;
    this.tamperCount = 0;
    this.best = null; // { number, hash, justification } latest finalized with its justification
    this.info = new Map(); // hash -> { setId, authorities, isChange, justification, round }
    this.setChanges = []; // [(oldSetId, changeBlockNumber)] for finalized change blocks
    this.rounds = new Map(); // setId -> last round
    this.listeners = { finalized: new Set(), justification: new Set() };
  }

  // Voter set of a block = authorities and set id in its parent's state.
  blockInfo(rec) {
    let inf = this.info.get(rec.hash);
    if (inf) return inf;
    if (rec.number === 0) {
      const st = this.relay.stateAt(rec.hash);
      inf = { setId: readSetId(st.get(this.currentSetIdKey)), authorities: decodeAuthoritiesValue(st.get(GRANDPA_AUTHORITIES_KEY)).map((a) => a.id), isChange: false };
    } else {
      const st = this.relay.stateAt(rec.parentHash);
      const logs = grandpaLogs(rec.headerHex);
      inf = {
        setId: readSetId(st.get(this.currentSetIdKey)),
        authorities: decodeAuthoritiesValue(st.get(GRANDPA_AUTHORITIES_KEY)).map((a) => a.id),
        isChange: logs.some((l) => (l.kind === 'scheduled' && l.delay === 0)),
        logs,
      };
    }
    this.info.set(rec.hash, inf);
    return inf;
  }

  nextRound(setId) {
    const r = (this.rounds.get(setId) || 0) + 1;
    this.rounds.set(setId, r);
    return r;
  }

  // Finalize up to best - lag, stopping at every set-change block and every period multiple.
  advance() {
    if (this.paused) return;
    const bestN = this.relay.best.number;
    const target = bestN - this.lag;
    if (target <= this.finalized) return;
    const steps = [];
    for (let n = this.finalized + 1; n <= target; n++) {
      const rec = this.relay.recordAt(n);
      const inf = this.blockInfo(rec);
      if (inf.isChange || (this.period > 0 && n % this.period === 0)) steps.push(n);
    }
    if (steps[steps.length - 1] !== target) steps.push(target);
    for (const n of steps) this.finalizeTo(n);
  }

  finalizeTo(n) {
    const rec = this.relay.recordAt(n);
    const inf = this.blockInfo(rec);
    const round = this.nextRound(inf.setId);
    const just = makeJustification(this.keys, rec, round, inf.setId, inf.authorities);
    inf.round = round;
    if (inf.isChange || (this.period > 0 && n % this.period === 0)) inf.justification = just;
    if (inf.isChange) this.setChanges.push([inf.setId, n]);
    this.finalized = n;
    this.best = { number: n, hash: rec.hash, justification: just };
    for (const cb of this.listeners.finalized) cb(rec);
    for (const cb of this.listeners.justification) cb(just);
  }

  serve(justHex) {
    if (justHex && this.tamperCount > 0) {
      this.tamperCount--;
      return tamper(justHex);
    }
    return justHex;
  }

  // Justification stored for a block (set change, period) or, for the latest finalized block, the latest one.
  justificationOf(hash) {
    const inf = this.info.get(hash);
    if (inf && inf.justification) return inf.justification;
    if (this.best && this.best.hash === hash) return this.best.justification;
    return null;
  }

  // Substrate's prove_finality (sc-consensus-grandpa finality_proof.rs):
  //  - n > finalized: error;
  //  - n in a closed set (a change block S >= n was finalized): justification of the set's last
  //    block S, unknown_headers = headers n+1..=S;
  //  - n after the last change: the latest finalized block's justification, headers n+1..=F;
  //  - no finalized set change at all: "not covered by authority set changes".
  // proveMode 'first' instead uses the first block >= n in n's set that has a justification.
  proveFinality(n) {
    if (n > this.finalized) throw new Error(`Failed to prove finality: Requested finality proof for descendant of #${n} while we only have finalized #${this.finalized}.`);
    let justBlock;
    let justification;
    if (this.proveMode === 'first') {
      const end = this.setChanges.find(([, s]) => s >= n);
      const last = end ? end[1] : this.finalized;
      for (let m = n; m <= last; m++) {
        const j = this.justificationOf(this.relay.byNumber[m]);
        if (j) { justBlock = m; justification = j; break; }
      }
      if (justification === undefined) return null;
    } else {
      const changes = this.setChanges;
      const lastChange = changes[changes.length - 1];
      if (lastChange && lastChange[1] < n) {
        if (!this.best) return null;
        justBlock = this.best.number;
        justification = this.best.justification;
      } else {
        const idx = changes.findIndex(([, s]) => s >= n);
        if (idx < 0 || (idx === 0 && changes[0][0] !== 0)) {
          throw new Error('Failed to prove finality: Block not covered by authority set changes');
        }
        justBlock = changes[idx][1];
        justification = this.info.get(this.relay.byNumber[justBlock]).justification;
        if (!justification) return null;
      }
    }
    const headers = [];
    for (let m = n + 1; m <= justBlock; m++) headers.push(hexToU8a(this.relay.recordAt(m).headerHex));
    const justU8a = hexToU8a(this.serve(justification));
    return u8aToHex(u8aConcat(hexToU8a(this.relay.byNumber[justBlock]), compactToU8a(justU8a.length), justU8a, compactToU8a(headers.length), ...headers));
  }
}

function readSetId(hex) {
  if (!hex) return 0;
  return Number(Buffer.from(hex.slice(2), 'hex').readBigUInt64LE(0));
}

module.exports = { Grandpa, FRNK, GRANDPA_AUTHORITIES_KEY, encodeAuthorities, decodeAuthoritiesValue, grandpaLogs, makeJustification, tamper, u64le, u32le, readSetId };
