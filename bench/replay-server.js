#!/usr/bin/env node
// A replay source for the catch-up benchmark (bench/follow_bench.sh): a local JSON-RPC
// WebSocket server that serves a synthetic but fully valid GRANDPA chain of N headers at full
// speed, so the figure measures ferry and not a node.
//
// The chain, generated deterministically at start-up (same arguments, same chain):
//   * genesis: parent 0, state root = the root of a one-entry V0 trie holding
//     Grandpa::Authorities (twox128("Grandpa") ‖ twox128("Authorities") → SCALE
//     Vec<(ed25519 id, u64 weight)>) of set 0; Grandpa::CurrentSetId is thereby proven absent (0);
//   * header b (1..N): parent = blake2b-256 of header b-1, a BABE PreRuntime item (13 bytes, slot
//     = b) and a 64-byte BABE Seal (fixed bytes; nobody checks it), so headers are ~190 bytes as
//     on Polkadot; the state root of b > 0 is a placeholder (only genesis state is proven), or
//     with --state-root genesis genesis's root (so any key can be proven at any block: present
//     for Grandpa::Authorities, absent for all others — what `ferry relay` dispatches);
//   * every --set-every K blocks (b = K, 2K, …) a FRNK Consensus ScheduledChange{set s+1, delay 0}
//     before the seal: b is the last block of set s and is signed by set s;
//   * justifications (Substrate SCALE: round, commit{target, precommits}, empty
//     votes_ancestries), one precommit per voter, ed25519-signed over
//     0x01 ‖ hash ‖ u32 number ‖ u64 round ‖ u64 set_id, on every set-change block, every
//     --period P blocks and the finalized head N.
// Voter i of set s: ed25519 seed = blake2b-256("ferry-bench voter <s> <i>"), weight 1.
//
// Methods: chain_getBlockHash, chain_getHeader, chain_getFinalizedHead, chain_getBlock
// (justifications as [["0x46524e4b","0x…"]]), grandpa_proveFinality, state_getReadProof (the one
// trie node, at any block), chain_subscribeFinalizedHeads (sends the head once),
// chain_unsubscribeFinalizedHeads, system_health, system_chain, system_name, system_version,
// rpc_methods; for `ferry relay`'s pre-flight (bench/relay_replay_bench.sh) also state_getStorage
// (the one entry, null for any other key), state_getRuntimeVersion (a synthetic one),
// system_accountNextIndex (0), author_pendingExtrinsics ([]), and state_getMetadata /
// author_submitExtrinsic, which answer errors (no runtime); anything else: -32601.
//
// grandpa_proveFinality(n) semantics (--prove-finality):
//   substrate (default) as sc-consensus-grandpa's prove_finality: the justification of the last
//             block of n's authority set (the set-change block S ≥ n), or of the finalized head N
//             when n is in the latest set; unknown_headers = n+1 ..= that block;
//   next      the justification of the first justified block ≥ n (batches of ≤ P headers).
//
// Usage: node replay-server.js [--blocks 100000] [--set-every 10000] [--period 512]
//                              [--authorities 4] [--signers V] [--prove-finality substrate|next]
//                              [--state-root placeholder|genesis] [--latency-ms 0] [--delay-ms 0]
//                              [--port 0]
// --latency-ms L answers every request L ms late (a node far away: bench-follow's
// BENCH_LATENCY_MS). --delay-ms D answers each request that includes grandpa_proveFinality D ms
// late (a slow node: tests/integration/t_follow_crash.sh stretches a catch-up over several store
// commits with it).
// Prints "replay chain …" (figures of the generated chain) and then
// "replay ready ws://127.0.0.1:<port>". Binds 127.0.0.1 only. SIGTERM/SIGINT stop it; it also
// prints "replay served …" (requests, bytes) on exit.
'use strict';
const path = require('path');
const crypto = require('crypto');
const nm = path.join(__dirname, '../tests/devnet/node_modules');
const WebSocket = require(path.join(nm, 'ws'));
const { blake2AsU8a, xxhashAsU8a } = require(path.join(nm, '@polkadot/util-crypto'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const N = Number(args.blocks || 100000);
const K = Number(args['set-every'] || 10000);
const P = Number(args.period || 512);
const NV = Number(args.authorities || 4);
// Voters that sign each justification: the first NS of the set (default all; GRANDPA needs more
// than 2/3 of the weight, e.g. 200 of 297, 667 of 1000).
const NS = Number(args.signers || NV);
const MODE = args['prove-finality'] || 'substrate';
// --state-root genesis: every block carries genesis's state root (the relay benchmark reads the
// worker's keys at every block, proven absent from that one-entry trie); default placeholder.
const ROOTS = args['state-root'] || 'placeholder';
// --latency-ms L: every answer leaves L ms after its request arrived (a node far away).
const LATENCY = Number(args['latency-ms'] || 0);
const DELAY_MS = Number(args['delay-ms'] || 0);
if (!(N >= 1 && N < 2 ** 30) || !(K >= 0) || !(P >= 0) || !(NV >= 1) || !(NS >= 1 && NS <= NV) || !['substrate', 'next'].includes(MODE) ||
    !['placeholder', 'genesis'].includes(ROOTS) || !(LATENCY >= 0) || !(DELAY_MS >= 0)) {
  console.error('usage: replay-server.js [--blocks N] [--set-every K] [--period P] [--authorities V] ' +
    '[--signers S] [--prove-finality substrate|next] [--state-root placeholder|genesis] [--latency-ms L] [--delay-ms D] [--port PORT]');
  process.exit(2);
}

// ---- SCALE and hashing --------------------------------------------------------------------------
const blake256 = (b) => Buffer.from(blake2AsU8a(b, 256));
function compact(n) {
  if (n < 64) return Buffer.from([n << 2]);
  if (n < 16384) return Buffer.from([((n << 2) | 1) & 0xff, n >> 6]);
  if (n < 2 ** 30) { const b = Buffer.alloc(4); b.writeUInt32LE(((n << 2) | 2) >>> 0); return b; }
  throw new Error('compact too large');
}
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const bytesVec = (b) => Buffer.concat([compact(b.length), b]);
const hex = (b) => '0x' + b.toString('hex');

// ---- keys ---------------------------------------------------------------------------------------
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const sets = []; // sets[s] = [{pub, key}] (generated on demand)
function voters(s) {
  if (!sets[s]) {
    sets[s] = [];
    for (let i = 0; i < NV; i++) {
      const seed = blake256(Buffer.from(`ferry-bench voter ${s} ${i}`));
      const key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
      const spki = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' });
      sets[s].push({ pub: spki.subarray(spki.length - 32), key });
    }
  }
  return sets[s];
}
// SCALE Vec<(id[32], u64 weight 1)>
const authorityList = (s) => Buffer.concat([compact(NV), ...voters(s).map((v) => Buffer.concat([v.pub, u64(1)]))]);

// ---- genesis state: one-entry V0 trie -------------------------------------------------------------
const AUTH_KEY = Buffer.concat([Buffer.from(xxhashAsU8a('Grandpa', 128)), Buffer.from(xxhashAsU8a('Authorities', 128))]);
const authValue = authorityList(0);
// Leaf, 64-nibble partial key: 0x40 | 63 = 0x7f, then continuation 64 - 63 = 1; key bytes; value.
const LEAF = Buffer.concat([Buffer.from([0x7f, 0x01]), AUTH_KEY, bytesVec(authValue)]);
const STATE_ROOT = blake256(LEAF);
const EMPTY_ROOT = blake256(Buffer.from([0]));

// ---- chain --------------------------------------------------------------------------------------
const t0 = process.hrtime.bigint();
const BABE = Buffer.from('BABE'), FRNK = Buffer.from('FRNK');
const SEAL = Buffer.concat([Buffer.from([5]), BABE, bytesVec(Buffer.alloc(64, 0xa5))]);
const setOf = (b) => (K > 0 && b > 0 ? Math.floor((b - 1) / K) : 0); // set whose voters finalize b
const isChange = (b) => K > 0 && b > 0 && b % K === 0;
const headers = new Array(N + 1); // encoded SCALE
const hashes = new Array(N + 1);
const byHash = new Map(); // hex → number
let headerBytes = 0;
for (let b = 0; b <= N; b++) {
  const parts = [b === 0 ? Buffer.alloc(32) : hashes[b - 1], compact(b),
    b === 0 || ROOTS === 'genesis' ? STATE_ROOT : blake256(Buffer.concat([Buffer.from('state'), u32(b)])), EMPTY_ROOT];
  if (b === 0) {
    parts.push(compact(0));
  } else {
    // BABE PreDigest::SecondaryPlain{authority_index u32, slot u64}
    const pre = Buffer.concat([Buffer.from([6]), BABE, bytesVec(Buffer.concat([Buffer.from([2]), u32(b % NV), u64(b)]))]);
    const logs = [pre];
    if (isChange(b)) {
      const change = Buffer.concat([Buffer.from([1]), authorityList(setOf(b) + 1), u32(0)]);
      logs.push(Buffer.concat([Buffer.from([4]), FRNK, bytesVec(change)]));
    }
    logs.push(SEAL);
    parts.push(compact(logs.length), ...logs);
  }
  const enc = Buffer.concat(parts);
  headers[b] = enc;
  hashes[b] = blake256(enc);
  byHash.set(hashes[b].toString('hex'), b);
  headerBytes += enc.length;
}
const t1 = process.hrtime.bigint();

const justified = (b) => b === N || isChange(b) || (P > 0 && b > 0 && b % P === 0);
const justifications = new Map(); // number → Buffer
let signatures = 0;
for (let b = 1; b <= N; b++) {
  if (!justified(b)) continue;
  const setId = setOf(b);
  const round = BigInt(b); // any u64; Substrate's restart per set is irrelevant to the check
  const msg = Buffer.concat([Buffer.from([1]), hashes[b], u32(b), u64(round), u64(setId)]);
  const pcs = voters(setId).slice(0, NS).map((v) => {
    signatures++;
    return Buffer.concat([hashes[b], u32(b), crypto.sign(null, msg, v.key), v.pub]);
  });
  justifications.set(b, Buffer.concat([u64(round), hashes[b], u32(b), compact(pcs.length), ...pcs, compact(0)]));
}
const t2 = process.hrtime.bigint();
const ms = (a, z) => Number(z - a) / 1e6;
console.log(`replay chain blocks=${N} header_bytes=${headerBytes} justifications=${justifications.size} ` +
  `signatures=${signatures} sets=${setOf(N) + 1} voters=${NV} signers=${NS} set_every=${K} period=${P} mode=${MODE} ` +
  `state_roots=${ROOTS} ` +
  `genesis=${hex(hashes[0])} state_root=${hex(STATE_ROOT)} auth_key=${hex(AUTH_KEY)} ` +
  `gen_headers_ms=${ms(t0, t1).toFixed(0)} gen_justifications_ms=${ms(t1, t2).toFixed(0)}`);
if (args['dump-leaf']) require('fs').writeFileSync(args['dump-leaf'], LEAF); // for `ferry verify proof`

// ---- RPC ----------------------------------------------------------------------------------------
function headerJson(b) {
  const h = headers[b];
  let o = 32;
  // number: compact at 32 (we wrote it; decode its width)
  const m = h[o] & 3;
  o += m === 0 ? 1 : m === 1 ? 2 : 4;
  const stateRoot = h.subarray(o, o + 32), extRoot = h.subarray(o + 32, o + 64);
  o += 64;
  const logs = [];
  const nLogs = h[o] >> 2; // < 64 logs
  o += 1;
  for (let i = 0; i < nLogs; i++) {
    const start = o;
    o += 5; // kind + engine
    const lm = h[o] & 3;
    const len = lm === 0 ? h[o] >> 2 : lm === 1 ? (h.readUInt16LE(o) >> 2) : (h.readUInt32LE(o) >>> 2);
    o += (lm === 0 ? 1 : lm === 1 ? 2 : 4) + len;
    logs.push(hex(h.subarray(start, o)));
  }
  return { parentHash: hex(h.subarray(0, 32)), number: '0x' + b.toString(16), stateRoot: hex(stateRoot),
    extrinsicsRoot: hex(extRoot), digest: { logs } };
}

function numberAt(param) {
  if (param === undefined || param === null) return N;
  if (typeof param === 'number') return param;
  if (typeof param === 'string' && /^0x[0-9a-fA-F]{64}$/.test(param)) {
    const b = byHash.get(param.slice(2).toLowerCase());
    return b === undefined ? -1 : b;
  }
  if (typeof param === 'string' && /^(0x)?[0-9a-fA-F]+$/.test(param)) return param.startsWith('0x') ? parseInt(param, 16) : Number(param);
  return -1;
}

class RpcError extends Error { constructor(code, message) { super(message); this.code = code; } }

// The justified block whose justification answers grandpa_proveFinality(n) (see the top).
function proofTarget(n) {
  if (MODE === 'next') {
    let j = Math.max(n, 1);
    while (j <= N && !justifications.has(j)) j++;
    return j;
  }
  const j = K > 0 ? Math.max(K, Math.ceil(n / K) * K) : N; // the last block of n's set
  return j > N ? N : j; // n is in the latest set: the latest justification (the head's)
}
// A pre-encoded JSON result: sent as is, not through JSON.stringify (proofs are MiBs of hex).
class Raw { constructor(buf) { this.buf = buf; } }
function encodeProof(n) {
  const j = proofTarget(n);
  const unknown = [];
  for (let b = n + 1; b <= j; b++) unknown.push(headers[b]);
  const scale = Buffer.concat([hashes[j], bytesVec(justifications.get(j)), compact(unknown.length), ...unknown]);
  return new Raw(Buffer.from('"0x' + scale.toString('hex') + '"'));
}
// Pre-record the answers a client catching up from genesis asks for (n = last verified + 1), so
// serving one costs a buffer copy: "pre-recorded blocks at full speed".
const recorded = new Map();
for (let n = 1; n <= N; n = proofTarget(n) + 1) recorded.set(n, encodeProof(n));
const t3 = process.hrtime.bigint();
// What a client catching up this way must verify: one justification (NV signatures) per proof.
console.log(`replay recorded proofs=${recorded.size} proof_signatures=${recorded.size * NS} ms=${ms(t2, t3).toFixed(0)}`);
function proveFinality(n) {
  if (!(n >= 0) || n > N) throw new RpcError(-32000, `Failed to prove finality: Requested finality proof for descendant of #${n} while we only have finalized #${N}.`);
  return recorded.get(n) || encodeProof(n);
}

let nextSub = 1;
function handle(ws, req) {
  const p = Array.isArray(req.params) ? req.params : [];
  switch (req.method) {
    case 'chain_getBlockHash': {
      const b = p.length ? numberAt(p[0]) : N;
      return b >= 0 && b <= N ? hex(hashes[b]) : null;
    }
    case 'chain_getFinalizedHead': return hex(hashes[N]);
    case 'chain_getHeader': {
      const b = numberAt(p[0]);
      return b >= 0 && b <= N ? headerJson(b) : null;
    }
    case 'chain_getBlock': {
      const b = numberAt(p[0]);
      if (b < 0 || b > N) return null;
      const j = justifications.get(b);
      return { block: { header: headerJson(b), extrinsics: [] }, justifications: j ? [['0x46524e4b', hex(j)]] : null };
    }
    case 'grandpa_proveFinality': return proveFinality(numberAt(p[0]));
    case 'state_getReadProof': {
      const b = numberAt(p[1]);
      if (b < 0) throw new RpcError(4003, 'Client error: UnknownBlock: header not found');
      return { at: hex(hashes[b]), proof: [hex(LEAF)] };
    }
    // What `ferry relay` asks in solo mode besides the above (its pre-flight requires the
    // transaction methods of the chain it would submit to); the replay chain has no runtime and
    // no transaction pool, and says so.
    case 'state_getStorage': {
      if (p.length > 1 && numberAt(p[1]) < 0) throw new RpcError(4003, 'Client error: UnknownBlock: header not found');
      return typeof p[0] === 'string' && p[0].toLowerCase() === hex(AUTH_KEY) ? hex(authValue) : null;
    }
    case 'state_getRuntimeVersion': return { specName: 'ferry-bench-replay', implName: 'ferry-bench-replay',
      authoringVersion: 0, specVersion: 0, implVersion: 0, apis: [], transactionVersion: 0, stateVersion: 0 };
    case 'state_getMetadata': throw new RpcError(-32000, 'replay chain: no runtime, no metadata');
    case 'system_accountNextIndex': return 0;
    case 'author_pendingExtrinsics': return [];
    case 'author_submitExtrinsic': throw new RpcError(1010, 'Invalid Transaction: replay chain has no runtime');
    case 'chain_subscribeFinalizedHeads': {
      const id = String(nextSub++);
      setImmediate(() => send(ws, { jsonrpc: '2.0', method: 'chain_finalizedHead', params: { subscription: id, result: headerJson(N) } }));
      return id;
    }
    case 'chain_unsubscribeFinalizedHeads': return true;
    case 'system_health': return { peers: 0, isSyncing: false, shouldHavePeers: false };
    case 'system_chain': return 'ferry-bench replay';
    case 'system_name': return 'ferry-bench-replay';
    case 'system_version': return '1.0.0';
    case 'rpc_methods': return { methods: ['chain_getBlockHash', 'chain_getHeader', 'chain_getFinalizedHead', 'chain_getBlock',
      'grandpa_proveFinality', 'state_getReadProof', 'chain_subscribeFinalizedHeads', 'chain_unsubscribeFinalizedHeads',
      'system_health', 'system_chain', 'system_name', 'system_version', 'rpc_methods',
      'state_getStorage', 'state_getRuntimeVersion', 'state_getMetadata', 'system_accountNextIndex',
      'author_pendingExtrinsics', 'author_submitExtrinsic'] };
    default: throw new RpcError(-32601, 'Method not found');
  }
}

let requests = 0, bytesOut = 0;
function send(ws, obj) {
  const buf = Buffer.isBuffer(obj) ? obj : Buffer.from(JSON.stringify(obj));
  bytesOut += buf.length;
  const out = () => { if (ws.readyState === WebSocket.OPEN) ws.send(buf, { binary: false }); };
  if (LATENCY > 0) setTimeout(out, LATENCY);
  else out();
}
// One response as JSON text bytes.
function answer(ws, req) {
  requests++;
  let resp;
  if (!req || typeof req !== 'object' || typeof req.method !== 'string') {
    resp = { jsonrpc: '2.0', id: req && req.id !== undefined ? req.id : null, error: { code: -32600, message: 'Invalid request' } };
  } else {
    try {
      const result = handle(ws, req);
      if (result instanceof Raw)
        return Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(req.id)},"result":`), result.buf, Buffer.from('}')]);
      resp = { jsonrpc: '2.0', id: req.id, result };
    } catch (e) {
      resp = { jsonrpc: '2.0', id: req.id, error: { code: e.code || -32603, message: e.message } };
    }
  }
  return Buffer.from(JSON.stringify(resp));
}

const server = new WebSocket.Server({ host: '127.0.0.1', port: Number(args.port || 0), maxPayload: 16 << 20 });
server.on('listening', () => console.log(`replay ready ws://127.0.0.1:${server.address().port}`));
server.on('connection', (ws) => {
  ws.on('message', (data) => {
    let req;
    try { req = JSON.parse(data.toString()); } catch (e) {
      return send(ws, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const reply = () => {
      if (!Array.isArray(req)) return send(ws, answer(ws, req));
      const parts = [Buffer.from('[')];
      req.forEach((r, i) => parts.push(Buffer.from(i ? ',' : ''), answer(ws, r)));
      send(ws, Buffer.concat([...parts, Buffer.from(']')]));
    };
    const slow = (r) => r && r.method === 'grandpa_proveFinality';
    if (DELAY_MS > 0 && (Array.isArray(req) ? req.some(slow) : slow(req))) setTimeout(reply, DELAY_MS);
    else reply();
  });
  ws.on('error', () => {});
});
function stop() {
  console.log(`replay served requests=${requests} bytes_out=${bytesOut}`);
  server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
