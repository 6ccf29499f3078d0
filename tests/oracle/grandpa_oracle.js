// Independent oracle for ferry's GRANDPA verification: a second implementation of the rules in
// include/ferry/grandpa.h, written from the Substrate sources, with @polkadot/util-crypto for
// ed25519 and blake2b. Usage: node grandpa_oracle.js <dir>  — every <dir>/*.json case holds
// {set_id, valid, authorities:[{id, weight}], justification}; `valid` is ferry's verdict. Exits 0
// when every verdict agrees, 1 otherwise, printing one line per case.
'use strict';
const fs = require('fs');
const path = require('path');
const { hexToU8a, u8aToHex } = require('@polkadot/util');
const { ed25519Verify, blake2AsU8a, cryptoWaitReady } = require('@polkadot/util-crypto');

class Reader {
  constructor(b) { this.b = b; this.p = 0; }
  take(n) {
    if (this.p + n > this.b.length) throw new Error('truncated');
    const s = this.b.subarray(this.p, this.p + n); this.p += n; return s;
  }
  u8() { return this.take(1)[0]; }
  u32() { const s = this.take(4); return (s[0] | s[1] << 8 | s[2] << 16) + s[3] * 2 ** 24; }
  u64() { const lo = this.u32(); return BigInt(lo) + (BigInt(this.u32()) << 32n); }
  compact() {
    const b = this.u8(); const m = b & 3;
    if (m === 0) return b >> 2;
    if (m === 1) return (b | this.u8() << 8) >> 2;
    if (m === 2) { this.p -= 1; return this.u32() >>> 2; }
    const n = (b >> 2) + 4; let v = 0n;
    for (let i = 0; i < n; i++) v |= BigInt(this.u8()) << BigInt(8 * i);
    return Number(v);
  }
}

function readHeader(r) {
  const start = r.p;
  const parent = u8aToHex(r.take(32));
  r.compact(); r.take(64);
  const n = r.compact();
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    if (kind === 8) continue;
    if (kind !== 0) r.take(4);
    r.take(r.compact());
  }
  const enc = r.b.subarray(start, r.p);
  return { parent, hash: u8aToHex(blake2AsU8a(enc, 256)) };
}

function decode(hex) {
  const r = new Reader(hexToU8a(hex));
  const j = { round: r.u64(), target: u8aToHex(r.take(32)), number: r.u32(), precommits: [], headers: [] };
  for (let n = r.compact(), i = 0; i < n; i++) {
    j.precommits.push({ hash: u8aToHex(r.take(32)), number: r.u32(), sig: r.take(64), id: u8aToHex(r.take(32)) });
  }
  for (let n = r.compact(), i = 0; i < n; i++) j.headers.push(readHeader(r));
  if (r.p !== r.b.length) throw new Error('trailing bytes');
  return j;
}

function payload(p, round, setId) {
  const b = new Uint8Array(53); const dv = new DataView(b.buffer);
  b[0] = 1; b.set(hexToU8a(p.hash), 1);
  dv.setUint32(33, p.number, true); dv.setBigUint64(37, round, true); dv.setBigUint64(45, BigInt(setId), true);
  return b;
}

// Returns a reason string, or null when valid.
function verify(c) {
  const j = decode(c.justification);
  const weights = new Map();
  for (const a of c.authorities) weights.set(a.id, (weights.get(a.id) || 0n) + BigInt(a.weight));
  let total = 0n; for (const w of weights.values()) total += w;
  const threshold = total - (total - 1n) / 3n;
  const byHash = new Map(j.headers.map((h) => [h.hash, h]));
  // every signature, voter or not
  for (const [i, p] of j.precommits.entries()) {
    if (!ed25519Verify(payload(p, j.round, c.set_id), p.sig, hexToU8a(p.id))) return `bad_signature ${i}`;
  }
  // route from `from` down to `root` through the ancestry (list of headers walked), or null
  const route = (root, from) => {
    const seen = []; let cur = from;
    while (cur !== root) { const h = byHash.get(cur); if (!h || seen.length > byHash.size) return null; seen.push(h); cur = h.parent; }
    return seen;
  };
  for (const [i, p] of j.precommits.entries()) {
    if (p.number < j.number || route(j.target, p.hash) === null) return `precommit_not_descendant_of_target ${i}`;
  }
  const first = new Map(); const equiv = new Map();
  let weight = 0n;
  for (const p of j.precommits) {
    if (!weights.has(p.id)) continue;
    const same = (q) => q.hash === p.hash && q.number === p.number && u8aToHex(q.sig) === u8aToHex(p.sig);
    const f = first.get(p.id);
    if (!f) { first.set(p.id, p); weight += weights.get(p.id); continue; }
    if (same(f) || (equiv.has(p.id) && same(equiv.get(p.id)))) continue;
    if (!equiv.has(p.id)) equiv.set(p.id, p);
  }
  if (weight < threshold) return 'below_threshold';
  let eqW = 0n; for (const id of equiv.keys()) eqW += weights.get(id);
  const child = new Map();
  for (const [id, p] of first) {
    if (p.hash === j.target) continue;
    const r = route(j.target, p.hash); const c0 = r[r.length - 1].hash;
    child.set(c0, (child.get(c0) || 0n) + (equiv.has(id) ? 0n : weights.get(id)));
  }
  for (const w of child.values()) if (w + eqW >= threshold) return 'ghost_beyond_target';
  let base = j.precommits[0];
  for (const p of j.precommits) if (p.number < base.number) base = p;
  const visited = new Set();
  for (const [i, p] of j.precommits.entries()) {
    if (p.hash === base.hash) continue;
    const r = route(base.hash, p.hash);
    if (r === null) return `invalid_ancestry_route ${i}`;
    for (const h of r) visited.add(h.hash);
  }
  for (const h of byHash.keys()) if (!visited.has(h)) return 'unused_votes_ancestries';
  return null;
}

(async () => {
  await cryptoWaitReady();
  const dir = process.argv[2];
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  let bad = 0;
  for (const f of files) {
    const c = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const reason = verify(c);
    const agree = (reason === null) === c.valid;
    if (!agree) bad++;
    console.log(`${agree ? 'agree' : 'DISAGREE'} ${f}: ferry ${c.valid ? 'valid' : 'invalid'}, oracle ${reason === null ? 'valid' : reason}`);
  }
  if (files.length === 0) { console.log('no cases'); process.exit(1); }
  process.exit(bad ? 1 : 0);
})();
