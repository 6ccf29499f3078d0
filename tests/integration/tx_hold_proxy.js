#!/usr/bin/env node
'use strict';
// A WebSocket JSON-RPC proxy that puts a real runtime upgrade *between* two submissions of one
// `ferry tx --repeat` process. It changes no data; it only holds messages back:
//   - everything from the client goes upstream at once;
//   - from the answer to the client's first author_submitAndWatchExtrinsic on, the messages from
//     upstream to the client are held (ferry waits for that answer before it builds the next
//     copy), and "proxy holding" is printed;
//   - they are released, in order, when upstream sends a state_runtimeVersion notification with
//     a spec version other than the first one seen on this connection (that notification is
//     forwarded first and the rest --gap ms later (default 250), as a node that had announced the
//     upgrade a moment earlier would: sent together, the answer could reach ferry's waiting
//     thread before its subscription callback has seen the notification, which ferry covers by
//     its retry but this test means to exercise the notification), or on SIGUSR1, or after
//     --max-hold ms (default 60000); "proxy released <why>" is printed.
// So the first copy is signed and pooled before the upgrade and the next ones are built after it.
// Usage: node tx_hold_proxy.js --upstream ws://127.0.0.1:PORT [--max-hold MS]
// Prints "proxy ready ws://127.0.0.1:<port>" when listening on a free port of 127.0.0.1.
const path = require('node:path');
const WebSocket = require(path.join(__dirname, '../devnet/node_modules/ws'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const maxHold = Number(args['max-hold'] || 60000);
const gap = Number(args.gap || 250);
const releasers = new Set();

const server = new WebSocket.Server({ host: '127.0.0.1', port: 0 }, () => {
  console.log(`proxy ready ws://127.0.0.1:${server.address().port}`);
});
server.on('connection', (client) => {
  const up = new WebSocket(args.upstream);
  const toUp = [];
  const pending = new Map(); // request id -> method
  let firstSpec = null;
  let state = 'idle'; // idle -> holding [-> releasing] -> done
  const held = [];
  let timer = null;
  const flush = (why, first) => {
    for (const m of held) if (m !== first) client.send(m);
    held.length = 0;
    state = 'done';
    console.log(`proxy released ${why}`);
  };
  const release = (why, first) => {
    if (state !== 'holding') return;
    clearTimeout(timer);
    releasers.delete(release);
    if (!first) return flush(why, null);
    client.send(first);
    state = 'releasing'; // what comes meanwhile is held too, in order
    setTimeout(() => flush(why, first), gap);
  };
  up.on('open', () => { for (const m of toUp) up.send(m); toUp.length = 0; });
  client.on('message', (data) => {
    const text = data.toString();
    try {
      const msg = JSON.parse(text);
      for (const r of Array.isArray(msg) ? msg : [msg]) if (r && r.id !== undefined) pending.set(r.id, r.method);
    } catch (_) { /* forwarded as is */ }
    if (up.readyState === WebSocket.OPEN) up.send(text);
    else toUp.push(text);
  });
  up.on('message', (data) => {
    const text = data.toString();
    let msg = null;
    try { msg = JSON.parse(text); } catch (_) { /* forwarded as is */ }
    const method = msg && msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (method) pending.delete(msg.id);
    let spec = null;
    if (method === 'state_getRuntimeVersion' && msg.result) spec = msg.result.specVersion;
    if (msg && msg.method === 'state_runtimeVersion' && msg.params && msg.params.result) spec = msg.params.result.specVersion;
    if (spec !== null && firstSpec === null) firstSpec = spec;
    if (state === 'releasing') {
      held.push(text);
      return;
    }
    if (state === 'holding') {
      held.push(text);
      if (msg && msg.method === 'state_runtimeVersion' && spec !== firstSpec) release(`spec ${firstSpec} -> ${spec}`, text);
      return;
    }
    if (state === 'idle' && method === 'author_submitAndWatchExtrinsic') {
      // hold the answer itself (ferry waits for it) and everything after it
      state = 'holding';
      held.push(text);
      releasers.add(release);
      timer = setTimeout(() => release(`after ${maxHold} ms`), maxHold);
      console.log('proxy holding');
      return;
    }
    client.send(text);
  });
  const close = () => { try { client.close(); } catch (_) {} try { up.close(); } catch (_) {} };
  client.on('close', close);
  up.on('close', close);
  up.on('error', close);
  client.on('error', close);
});
process.on('SIGUSR1', () => { for (const r of [...releasers]) r('on SIGUSR1'); });
process.on('SIGTERM', () => process.exit(0));
