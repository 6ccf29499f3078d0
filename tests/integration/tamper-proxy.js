#!/usr/bin/env node
// A lying node for the light-client tests: a WebSocket JSON-RPC proxy between ferry and the dev
// chain that tampers with what the node says, in one of these modes:
//   forge-sig     flip a bit in the first precommit signature of every justification
//                 (grandpa_proveFinality, chain_getBlock justifications, subscriptions)
//   alter-header  change the state root of every header it serves (chain_getHeader,
//                 unknown_headers inside grandpa_proveFinality)
//   proof-root    answer state_getReadProof with a proof taken at the best block instead of the
//                 block asked for (a valid proof, but against another root)
//   withhold      grandpa_proveFinality answers null, chain_getBlock carries no justification and
//                 grandpa_subscribeJustifications pushes nothing usable
//   push-only     an honest node without grandpa_proveFinality (-32601) that stores no
//                 justification with blocks: only grandpa_subscribeJustifications pushes them
//   head-lie      chain_getHeader of the hash chain_getFinalizedHead last answered returns that
//                 header with a made-up number (0x7ffffff0), so it no longer hashes to the head
//   garbage-header  every chain_getHeader answer but genesis has a parentHash that is not hex
//   stall         never answers anything after the first chain_getHeader of a non-genesis block
//                 (the connection stays up and answers pings)
//   discarded     a pruned node: chain_getHeader of any block but genesis answers the error
//                 "State already discarded" (an honest answer, but useless)
//   none          forward everything unchanged
// SIGUSR1 makes the proxy honest from then on (mode none): a node that stops lying; SIGUSR2
// switches it to the mode given by --later: a node that starts lying after being trusted.
// Usage: node tamper-proxy.js --upstream ws://127.0.0.1:9944 --mode forge-sig [--port 0]
//        [--later MODE]
// Prints "proxy ready ws://127.0.0.1:<port>" when listening. Binds 127.0.0.1 only.
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '../devnet/node_modules/ws'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const upstreamUrl = args.upstream;
let mode = args.mode || 'none';
if (!upstreamUrl) {
  console.error('usage: tamper-proxy.js --upstream ws://… --mode MODE [--port N]');
  process.exit(2);
}

// SCALE compact length at buf[off]: returns [value, bytes].
function compact(buf, off) {
  const b = buf[off];
  if ((b & 3) === 0) return [b >> 2, 1];
  if ((b & 3) === 1) return [(buf[off] | (buf[off + 1] << 8)) >> 2, 2];
  if ((b & 3) === 2) return [buf.readUInt32LE(off) >>> 2, 4];
  throw new Error('big compact not expected here');
}

// Flip a bit of the first precommit's signature in an encoded justification.
function forgeJustification(hex) {
  const j = Buffer.from(hex.slice(2), 'hex');
  const [n, len] = compact(j, 8 + 32 + 4);
  if (n === 0) return hex;
  j[8 + 32 + 4 + len + 32 + 4 + 10] ^= 0x01;
  return '0x' + j.toString('hex');
}

// Split FinalityProof{block, Vec<u8> justification, Vec<Header>} and rebuild it.
function editFinalityProof(hex, editJustification, editHeaders) {
  const p = Buffer.from(hex.slice(2), 'hex');
  const [jlen, jl] = compact(p, 32);
  const jstart = 32 + jl;
  let just = '0x' + p.slice(jstart, jstart + jlen).toString('hex');
  let rest = p.slice(jstart + jlen);
  if (editJustification) just = editJustification(just);
  if (editHeaders) rest = editHeaders(rest);
  const jb = Buffer.from(just.slice(2), 'hex');
  const lenPrefix = jb.length < 64 ? Buffer.from([jb.length << 2])
    : jb.length < 16384 ? Buffer.from([((jb.length << 2) | 1) & 0xff, (jb.length << 2 | 1) >> 8])
    : (() => { const b = Buffer.alloc(4); b.writeUInt32LE(((jb.length << 2) | 2) >>> 0); return b; })();
  return '0x' + Buffer.concat([p.slice(0, 32), lenPrefix, jb, rest]).toString('hex');
}

// In Vec<Header>, change a byte of each header's state root (right after parent hash + number).
function alterHeaderVec(buf) {
  const out = Buffer.from(buf);
  const [n, l] = compact(out, 0);
  let off = l;
  for (let i = 0; i < n; i++) {
    const [, nl] = compact(out, off + 32);
    out[off + 32 + nl] ^= 0x01;
    off += 32 + nl + 64;
    const [nd, dl] = compact(out, off);
    off += dl;
    for (let k = 0; k < nd; k++) {
      const kind = out[off++];
      if (kind === 8) continue;
      if (kind !== 0) off += 4;
      const [pl, pll] = compact(out, off);
      off += pll + pl;
    }
  }
  return out;
}

let tampered = 0;
function tamperResult(method, result, params, conn) {
  if (result === null || result === undefined) return result;
  if (method === 'chain_getFinalizedHead') conn.finalized = result;
  switch (mode) {
    case 'head-lie':
      if (method === 'chain_getHeader' && Array.isArray(params) && params[0] === conn.finalized &&
          result.number) {
        tampered++;
        result.number = '0x7ffffff0';
      }
      return result;
    case 'garbage-header':
      if (method === 'chain_getHeader' && result.number && parseInt(result.number, 16) > 0) {
        tampered++;
        result.parentHash = '0xzz' + result.parentHash.slice(4);
      }
      return result;
    case 'forge-sig':
      if (method === 'grandpa_proveFinality') { tampered++; return editFinalityProof(result, forgeJustification); }
      if (method === 'chain_getBlock' && result.justifications) {
        tampered++;
        result.justifications = result.justifications.map(([e, j]) => [e, forgeJustification(j)]);
      }
      if (method === 'grandpa_justifications') { tampered++; return forgeJustification(result); }
      return result;
    case 'alter-header':
      if (method === 'chain_getHeader' && result.stateRoot) {
        tampered++;
        result.stateRoot = '0x' + (result.stateRoot[2] === '0' ? '1' : '0') + result.stateRoot.slice(3);
      }
      if (method === 'grandpa_proveFinality') { tampered++; return editFinalityProof(result, null, alterHeaderVec); }
      return result;
    case 'withhold':
      if (method === 'grandpa_proveFinality') { tampered++; return null; }
      if (method === 'chain_getBlock') { tampered++; result.justifications = null; }
      if (method === 'grandpa_justifications') { tampered++; return null; }
      return result;
    case 'push-only':
      if (method === 'chain_getBlock') { tampered++; result.justifications = null; }
      return result;
    default:
      return result;
  }
}

const server = new WebSocket.Server({ host: '127.0.0.1', port: Number(args.port || 0), maxPayload: 256 << 20 });
server.on('listening', () => console.log(`proxy ready ws://127.0.0.1:${server.address().port}`));
server.on('connection', (client) => {
  const up = new WebSocket(upstreamUrl, { maxPayload: 256 << 20 });
  const methods = new Map(); // request id -> method
  const params = new Map();  // request id -> params
  const conn = { finalized: null, stalled: false };
  const subs = new Map();    // subscription id -> method
  const pending = [];
  up.on('open', () => { for (const m of pending.splice(0)) up.send(m); });
  up.on('error', () => client.close());
  up.on('close', () => client.close());
  client.on('close', () => up.close());
  client.on('error', () => up.close());
  client.on('message', (data) => {
    let text = data.toString();
    try {
      const msg = JSON.parse(text);
      if (mode === 'push-only' && !Array.isArray(msg) && msg.method === 'grandpa_proveFinality') {
        tampered++;
        client.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }));
        return;
      }
      for (const m of Array.isArray(msg) ? msg : [msg]) {
        methods.set(m.id, m.method);
        params.set(m.id, m.params);
        if (mode === 'proof-root' && m.method === 'state_getReadProof' && Array.isArray(m.params)) {
          m.params = [m.params[0]]; // drop `at`: the node proves against its best block
          tampered++;
        }
      }
      text = JSON.stringify(msg);
    } catch (e) { /* forward as is */ }
    if (up.readyState === WebSocket.OPEN) up.send(text); else pending.push(text);
  });
  up.on('message', (data) => {
    let msg;
    try { msg = JSON.parse(data.toString()); } catch (e) { client.send(data.toString()); return; }
    if (conn.stalled) { tampered++; return; }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (m.id !== undefined && m.result !== undefined) {
        const method = methods.get(m.id);
        const p = params.get(m.id);
        methods.delete(m.id);
        params.delete(m.id);
        if (typeof m.result === 'string' && method && method.includes('subscribe')) subs.set(m.result, method);
        if (mode === 'stall' && method === 'chain_getHeader' && m.result && parseInt(m.result.number, 16) > 0) {
          conn.stalled = true;
          console.log('proxy stalled');
          tampered++;
          return;
        }
        m.result = tamperResult(method, m.result, p, conn);
        if (mode === 'discarded' && method === 'chain_getHeader' && m.result && parseInt(m.result.number, 16) > 0) {
          tampered++;
          delete m.result;
          m.error = { code: -32000, message: 'State already discarded' };
        }
      } else if (m.method && m.params) {
        m.params.result = tamperResult(m.method, m.params.result, undefined, conn);
      }
    }
    client.send(JSON.stringify(msg));
  });
});
process.on('SIGTERM', () => { console.error(`proxy: tampered ${tampered} answers`); process.exit(0); });
process.on('SIGINT', () => process.exit(0));
process.on('SIGUSR2', () => { mode = args.later || mode; console.log(`proxy lying now (${mode})`); });
process.on('SIGUSR1', () => { console.log(`proxy honest now (was ${mode}, tampered ${tampered})`); mode = 'none'; });
