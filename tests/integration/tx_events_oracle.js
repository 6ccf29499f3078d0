#!/usr/bin/env node
'use strict';
// Compare `ferry decode events` with @polkadot/types (the independent decoder) on a range of
// dev-chain blocks, event by event and field by field.
//   node tx_events_oracle.js WS_URL FERRY_BIN FROM TO
// Needs tests/devnet/node_modules (NODE_PATH). Prints a summary line; exits 1 on the first
// mismatch (with the block, event and JSON path), 0 when every event of every block matches.
const { execFileSync } = require('node:child_process');
const WebSocket = require('ws');
const { TypeRegistry, Metadata } = require('@polkadot/types');
const { decodeAddress, xxhashAsHex } = require('@polkadot/util-crypto');
const { u8aToHex } = require('@polkadot/util');

const [url, ferry, fromS, toS] = process.argv.slice(2);
const from = Number(fromS);
const to = Number(toS);

function rpcClient(u) {
  const ws = new WebSocket(u);
  let id = 0;
  const waiting = new Map();
  ws.on('message', (m) => {
    const r = JSON.parse(m);
    const w = waiting.get(r.id);
    if (!w) return;
    waiting.delete(r.id);
    if (r.error) w.reject(new Error(JSON.stringify(r.error)));
    else w.resolve(r.result);
  });
  const ready = new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
  return {
    ready,
    call: (method, params = []) => new Promise((resolve, reject) => {
      const i = ++id;
      waiting.set(i, { resolve, reject });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method, params }));
      setTimeout(() => { if (waiting.delete(i)) reject(new Error(`${method} timed out`)); }, 20000);
    }),
    close: () => ws.close(),
  };
}

const lc = (k) => k.replace(/_/g, '').toLowerCase();
const isDec = (s) => typeof s === 'string' && /^-?[0-9]+$/.test(s);

function fail(where, msg) {
  console.error(`MISMATCH ${where}: ${msg}`);
  process.exit(1);
}

// f: ferry's JSON, p: @polkadot/types toJSON()
function compare(f, p, where) {
  if (typeof f === 'number' || isDec(f)) {
    let pb;
    if (typeof p === 'number') pb = BigInt(p);
    else if (typeof p === 'string' && (/^0x[0-9a-f]+$/i.test(p) || isDec(p))) pb = BigInt(p);
    else fail(where, `ferry ${JSON.stringify(f)} vs oracle ${JSON.stringify(p)}`);
    if (BigInt(f) !== pb) fail(where, `ferry ${f} vs oracle ${pb}`);
    return;
  }
  if (typeof f === 'string' && f.startsWith('0x')) {
    let ph = p;
    if (typeof p === 'string' && !p.startsWith('0x')) {
      try { ph = u8aToHex(decodeAddress(p)); } catch (_) { /* not an address */ }
    }
    if (typeof ph !== 'string' || ph.toLowerCase() !== f.toLowerCase()) fail(where, `ferry ${f} vs oracle ${JSON.stringify(p)}`);
    return;
  }
  if (typeof f === 'string' || typeof f === 'boolean' || f === null) {
    if (typeof f === 'string' && typeof p === 'string' && f.toLowerCase() === p.toLowerCase()) return;
    if (f !== p) fail(where, `ferry ${JSON.stringify(f)} vs oracle ${JSON.stringify(p)}`);
    return;
  }
  if (Array.isArray(f)) {
    if (!Array.isArray(p) || p.length !== f.length) fail(where, `ferry array[${f.length}] vs oracle ${JSON.stringify(p)}`);
    f.forEach((x, i) => compare(x, p[i], `${where}[${i}]`));
    return;
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) fail(where, `ferry object vs oracle ${JSON.stringify(p)}`);
  const fk = Object.keys(f);
  const pk = new Map(Object.keys(p).map((k) => [lc(k), k]));
  if (fk.length !== pk.size) fail(where, `keys ${fk} vs ${[...pk.values()]}`);
  for (const k of fk) {
    const pkey = pk.get(lc(k));
    if (pkey === undefined) fail(where, `ferry key ${k} missing in oracle (${[...pk.values()]})`);
    compare(f[k], p[pkey], `${where}.${k}`);
  }
}

async function main() {
  const rpc = rpcClient(url);
  await rpc.ready;
  const regs = new Map(); // spec -> registry
  const eventsKey = xxhashAsHex('System', 128) + xxhashAsHex('Events', 128).slice(2);
  let nEvents = 0;
  let nBlocks = 0;
  const kinds = new Set();
  for (let n = from; n <= to; n++) {
    const hash = await rpc.call('chain_getBlockHash', [n]);
    const header = await rpc.call('chain_getHeader', [hash]);
    const at = n === 0 ? hash : header.parentHash; // the runtime that executed the block
    const rv = await rpc.call('state_getRuntimeVersion', [at]);
    if (!regs.has(rv.specVersion)) {
      const registry = new TypeRegistry();
      registry.setMetadata(new Metadata(registry, await rpc.call('state_getMetadata', [at])));
      regs.set(rv.specVersion, registry);
    }
    const registry = regs.get(rv.specVersion);
    const raw = await rpc.call('state_getStorage', [eventsKey, hash]);
    const records = raw ? registry.createType('Vec<EventRecord>', raw) : [];
    const out = JSON.parse(execFileSync(ferry, ['decode', 'events', '--url', url, '--at', hash], { encoding: 'utf8' }));
    if (out.block !== hash || out.number !== n) fail(`#${n}`, `ferry reports block ${out.block} #${out.number}`);
    if (out.events.length !== records.length) fail(`#${n}`, `ferry ${out.events.length} events, oracle ${records.length}`);
    records.forEach((rec, i) => {
      const fe = out.events[i];
      const where = `#${n} event ${i} (${fe.pallet}.${fe.event})`;
      const pallet = registry.metadata.pallets.find((p) => p.index.toNumber() === rec.event.index[0]);
      if (!pallet || pallet.name.toString() !== fe.pallet) fail(where, `oracle pallet ${pallet && pallet.name}`);
      if (rec.event.method !== fe.event) fail(where, `oracle event ${rec.event.method}`);
      compare(fe.phase, rec.phase.toJSON(), `${where} phase`);
      const pd = rec.event.data.toJSON();
      const named = rec.event.meta.fields.length > 0 && rec.event.meta.fields.every((x) => x.name.isSome);
      let ff = fe.fields;
      if (named) ff = Object.values(ff);
      else if (!Array.isArray(ff)) ff = rec.event.meta.fields.length === 0 ? [] : [ff];
      compare(ff, pd, `${where} fields`);
      compare(fe.topics, rec.topics.toJSON(), `${where} topics`);
      kinds.add(`${fe.pallet}.${fe.event}`);
      nEvents++;
    });
    nBlocks++;
  }
  rpc.close();
  console.log(`oracle: ${nBlocks} blocks, ${nEvents} events, ${kinds.size} kinds (${[...kinds].sort().join(' ')}) all match`);
}

main().catch((e) => { console.error(e); process.exit(1); });
