#!/usr/bin/env node
'use strict';
// A WebSocket JSON-RPC proxy between ferry and the dev chain that makes the runtime look as if
// it had just been upgraded under ferry's feet (the dev chain cannot run a real upgrade: the
// Rococo 9140 wasm is the only runtime there is). Per client connection:
//   - the first state_getRuntimeVersion answer says spec_version − 1 (ferry then holds a stale
//     version, exactly as after an upgrade it has not noticed yet; later answers are the truth);
//   - with --notify, 50 ms after answering state_subscribeRuntimeVersion it sends a
//     state_runtimeVersion notification carrying the true version (the upgrade announcement).
// A client that signs with the stale version is rejected by the real runtime (bad proof).
// Usage: node tx_upgrade_proxy.js --upstream ws://127.0.0.1:PORT [--notify 1]
// Prints "proxy ready ws://127.0.0.1:<port>" when listening on a free port of 127.0.0.1.
const path = require('node:path');
const WebSocket = require(path.join(__dirname, '../devnet/node_modules/ws'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const notify = args.notify === '1';

const server = new WebSocket.Server({ host: '127.0.0.1', port: 0 }, () => {
  console.log(`proxy ready ws://127.0.0.1:${server.address().port}`);
});
server.on('connection', (client) => {
  const up = new WebSocket(args.upstream);
  const queue = [];
  const pending = new Map(); // request id -> method
  let faked = false;
  let truth = null;
  up.on('open', () => { for (const m of queue) up.send(m); queue.length = 0; });
  client.on('message', (data) => {
    const text = data.toString();
    try {
      const msg = JSON.parse(text);
      for (const r of Array.isArray(msg) ? msg : [msg]) if (r && r.id !== undefined) pending.set(r.id, r.method);
    } catch (_) { /* forwarded as is */ }
    if (up.readyState === WebSocket.OPEN) up.send(text);
    else queue.push(text);
  });
  up.on('message', (data) => {
    let text = data.toString();
    let msg;
    try { msg = JSON.parse(text); } catch (_) { client.send(text); return; }
    const method = msg && msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (method) pending.delete(msg.id);
    if (method === 'state_getRuntimeVersion' && msg.result) {
      truth = { ...msg.result };
      if (!faked) {
        faked = true;
        msg.result.specVersion -= 1;
        text = JSON.stringify(msg);
      }
    }
    client.send(text);
    if (method === 'state_subscribeRuntimeVersion' && notify && msg.result) {
      setTimeout(() => {
        if (truth && client.readyState === WebSocket.OPEN) {
          client.send(JSON.stringify({ jsonrpc: '2.0', method: 'state_runtimeVersion', params: { subscription: msg.result, result: truth } }));
        }
      }, 50);
    }
  });
  const close = () => { try { client.close(); } catch (_) {} try { up.close(); } catch (_) {} };
  client.on('close', close);
  up.on('close', close);
  up.on('error', close);
  client.on('error', close);
});
process.on('SIGTERM', () => process.exit(0));
