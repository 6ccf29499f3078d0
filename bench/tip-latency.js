#!/usr/bin/env node
// Live at the tip (issue 16): how long after the dev chain notifies a finalized block does
// `ferry follow` report it, and what does ferry cost between blocks?
//
//   node bench/tip-latency.js [--ferry build/ferry] [--blocks 20] [--block-ms 1000]
//
// Starts tests/devnet (on a free port, stopped at the end), lets ferry catch up, then for each of
// the next N finalized blocks records when this script's own chain_subscribeFinalizedHeads
// notification arrives and when ferry prints the block (--json on stdout). Also measures the
// node round trip (chain_getFinalizedHead, between blocks) and ferry's CPU time over the
// measured stretch. Prints the delays (median, p90, max) and a key=value summary line.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const root = path.join(__dirname, '..');
const WebSocket = require(path.join(root, 'tests/devnet/node_modules/ws'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const FERRY = args.ferry || path.join(root, 'build/ferry');
const BLOCKS = Number(args.blocks || 20);
const BLOCK_MS = Number(args['block-ms'] || 1000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-tip-'));
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const children = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
setTimeout(() => { console.error('tip-latency: timed out'); process.exit(1); }, 120000 + BLOCKS * BLOCK_MS * 3).unref();

function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime at USER_HZ 100
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

async function main() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dev = spawn('node', ['devnet.js'], {
    cwd: path.join(root, 'tests/devnet'),
    env: { ...process.env, DEVNET_PORT: String(port), DEVNET_PARA_PORT: String(port + 1), DEVNET_BLOCK_MS: String(BLOCK_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(dev);
  let devOut = '';
  await new Promise((resolve, reject) => {
    dev.stdout.on('data', (d) => { devOut += d; if (/devnet ready/.test(devOut)) resolve(); });
    dev.on('exit', () => reject(new Error('devnet exited:\n' + devOut)));
  });
  const url = `ws://127.0.0.1:${port}`;
  const ws = new WebSocket(url);
  await new Promise((r) => ws.on('open', r));
  let nextId = 1;
  const pending = new Map();
  const notified = new Map(); // number → ms
  ws.on('message', (m) => {
    const t = now();
    const o = JSON.parse(m);
    if (o.method === 'chain_finalizedHead') notified.set(parseInt(o.params.result.number, 16), t);
    else if (pending.has(o.id)) { pending.get(o.id)(o); pending.delete(o.id); }
  });
  const call = (method, params = []) => new Promise((r) => {
    const id = nextId++;
    pending.set(id, r);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
  await call('chain_subscribeFinalizedHeads');

  const ferry = spawn(FERRY, ['follow', '--url', url, '--db', path.join(tmp, 'f.db'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(ferry);
  const reported = new Map();
  let buf = '';
  ferry.stdout.on('data', (d) => {
    const t = now();
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      try { const o = JSON.parse(line); if (o.chain === 'relay') reported.set(o.number, t); } catch (e) { /* not ours */ }
    }
  });
  let ferryErr = '';
  ferry.stderr.on('data', (d) => { ferryErr += d; });
  ferry.on('exit', (c) => { console.error('ferry exited ' + c + '\n' + ferryErr.slice(-2000)); process.exit(1); });

  // Catch-up: wait until ferry reports a block notified after it started.
  const startAt = now();
  const caughtUp = () => [...notified.keys()].some((n) => notified.get(n) > startAt && reported.has(n));
  while (!caughtUp()) await new Promise((r) => setTimeout(r, 50));
  const first = Math.max(...notified.keys()) + 1;
  const cpu0 = cpuOf(ferry.pid), t0 = now();
  const rtts = [];
  while (!(reported.has(first + BLOCKS - 1))) {
    const a = now();
    await call('chain_getFinalizedHead');
    rtts.push(now() - a);
    await new Promise((r) => setTimeout(r, BLOCK_MS / 4));
  }
  const cpu = cpuOf(ferry.pid) - cpu0, span = (now() - t0) / 1000;
  const delays = [];
  for (let n = first; n < first + BLOCKS; n++) if (notified.has(n) && reported.has(n)) delays.push(reported.get(n) - notified.get(n));
  const f = (x) => x.toFixed(1);
  console.log(`== ferry follow at the tip of the dev chain (${BLOCK_MS} ms blocks): ${delays.length} blocks #${first}..#${first + BLOCKS - 1}`);
  console.log(`  notification -> reported: median ${f(median(delays))} ms, p90 ${f(pct(delays, 0.9))} ms, max ${f(Math.max(...delays))} ms`);
  console.log(`  node round trip (chain_getFinalizedHead): median ${f(median(rtts))} ms (${rtts.length} samples)`);
  console.log(`  ferry CPU over ${span.toFixed(1)} s: ${(cpu * 1000).toFixed(0)} ms (${(cpu * 1000 / span).toFixed(1)} ms/s, ${(cpu * 1000 / delays.length).toFixed(1)} ms per block)`);
  console.log(`tip_latency blocks=${delays.length} median_ms=${f(median(delays))} p90_ms=${f(pct(delays, 0.9))} max_ms=${f(Math.max(...delays))} ` +
    `rtt_median_ms=${f(median(rtts))} cpu_ms_per_s=${(cpu * 1000 / span).toFixed(2)}`);
  process.exit(0);
}
main().catch((e) => { console.error(e.message); process.exit(1); });
