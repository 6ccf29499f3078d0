#!/usr/bin/env node
'use strict';
// Finality → worker latency of a running `ferry relay`, and the node's round trips in the same
// run (used by bench/relay_bench.sh).
//
// usage: node relay_latency.js [--warm] RELAY_WS CHAIN_WS WORKER_HTTP RELAY_PID SAMPLES
//   --warm       devnet_warmProofs first: the dev chain builds each new block's state trie when
//                it builds the block (as a real node has it), so a first read proof costs a round
//                trip like any other call
//   RELAY_WS     the dev chain's relay endpoint (devnet_produceBlocks is called there)
//   CHAIN_WS     the endpoint of the chain whose blocks the worker dispatches (the relay endpoint
//                in solo mode, the parachain's in parachain mode)
//   WORKER_HTTP  the worker API base URL (http://127.0.0.1:PORT)
//   RELAY_PID    the relayer's process, paused (SIGSTOP) while the node's round trips are timed
//
// Each sample is a pair, so that both halves see the same machine load:
//   latency: one block is produced and finalized; t0 is when this script's own
//     chain_subscribeFinalizedHeads notification for it arrives (the relayer's is sent in the
//     same tick), t1 when the worker's GetInfo first says blocknum > that block (polled every
//     millisecond over one keep-alive connection);
//   round trips: with the relayer paused, so that nothing else touches it, another block is
//     produced and, when its notification arrives, this script asks what the relayer must ask
//     about it, each timed from its own send: chain_getHeader (the cheapest round trip), a first
//     state_getReadProof of two keys at it (the dev chain builds the block's whole state trie on
//     the first proof asked at it, where a real node reads its database) and, on the relay
//     chain, the justification (grandpa_proveFinality, chain_getBlock when it has none). Then
//     the relayer is resumed and the worker awaited.
// Prints one JSON object on stdout; progress and errors on stderr (with BENCH_TRACE set, also the
// wall-clock time of each notification, to line up with the relayer's debug log); exit 1 on a
// failure.

const http = require('node:http');
const WebSocket = require('ws');

const warm = process.argv[2] === '--warm';
const [relayUrl, chainUrl, workerUrl, pidArg, samplesArg] = process.argv.slice(warm ? 3 : 2);
const relayPid = Number(pidArg);
const samples = Number(samplesArg || 20);
if (!relayUrl || !chainUrl || !workerUrl || !Number.isInteger(relayPid) || relayPid < 1 ||
    !Number.isInteger(samples) || samples < 1) {
  console.error('usage: node relay_latency.js [--warm] RELAY_WS CHAIN_WS WORKER_HTTP RELAY_PID SAMPLES');
  process.exit(2);
}
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const c = { ws, next: 1, calls: new Map(), subs: new Map() };
    ws.on('open', () => resolve(c));
    ws.on('error', reject);
    ws.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.id !== undefined && c.calls.has(m.id)) {
        const { res, rej } = c.calls.get(m.id);
        c.calls.delete(m.id);
        if (m.error) rej(new Error(`${m.error.message} (${m.error.code})`));
        else res(m.result);
      } else if (m.params && c.subs.has(m.params.subscription)) {
        c.subs.get(m.params.subscription)(m.params.result);
      }
    });
  });
}
function call(c, method, params = []) {
  return new Promise((res, rej) => {
    const id = c.next++;
    c.calls.set(id, { res, rej });
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function workerInfo() {
  return new Promise((resolve, reject) => {
    const req = http.get(`${workerUrl}/prpc/PhactoryAPI.GetInfo?json`, { agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        try { resolve(JSON.parse(body)); } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('GetInfo timed out')));
  });
}
const pct = (v, p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
const stats = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10) / 10;
  return { n: s.length, median: r(pct(s, 0.5)), p90: r(pct(s, 0.9)), max: r(s[s.length - 1]), min: r(s[0]) };
};

async function main() {
  const relay = await connect(relayUrl);
  const chain = chainUrl === relayUrl ? relay : await connect(chainUrl);
  let fin = { number: -1, at: 0 };
  const waiters = [];
  const subId = await call(chain, 'chain_subscribeFinalizedHeads');
  chain.subs.set(subId, (h) => {
    const n = parseInt(h.number, 16);
    if (n > fin.number) fin = { number: n, at: now() };
    for (const w of waiters.splice(0)) w();
  });
  const finalizedAbove = async (n, limitMs) => {
    const end = now() + limitMs;
    while (fin.number <= n) {
      if (now() > end) throw new Error(`no finalized head above #${n} within ${limitMs} ms`);
      await new Promise((res) => { waiters.push(res); setTimeout(res, 50); });
    }
    return fin;
  };
  const workerPast = async (n, limitMs) => {
    const end = now() + limitMs;
    for (;;) {
      const info = await workerInfo();
      if ((info.blocknum || 0) > n) return now();
      if (now() > end) throw new Error(`block #${n} did not reach the worker within ${limitMs} ms (blocknum ${info.blocknum})`);
      await sleep(1);
    }
  };
  const keys = ['0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac', // System::Number
                '0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7']; // System::Events
  const timed = async (c, method, params) => {
    const t = now();
    const r = await call(c, method, params);
    return [now() - t, r];
  };
  // settle at the tip first (with --warm, past the blocks built before)
  await sleep(100);
  if (warm) await call(relay, 'devnet_warmProofs', [true]);
  for (let i = 0; i < (warm ? 3 : 1); i++) await call(relay, 'devnet_produceBlocks', [1]);
  const first = await finalizedAbove(fin.number - 1, 60000);
  await workerPast(first.number, 120000);
  const lat = [], rtt = [], proof = [], just = [], over = [];
  for (let i = 0; i < samples; i++) {
    let before = fin.number;
    await call(relay, 'devnet_produceBlocks', [1]);
    let f = await finalizedAbove(before, 30000);
    const t1 = await workerPast(f.number, 30000);
    lat.push(t1 - f.at);
    if (process.env.BENCH_TRACE) console.error(`  t0 ${new Date(Date.now() - (now() - f.at)).toISOString()} block #${f.number}`);
    await sleep(20);
    process.kill(relayPid, 'SIGSTOP');
    let r;
    try {
      before = fin.number;
      call(relay, 'devnet_produceBlocks', [1]);
      f = await finalizedAbove(before, 30000);
      const hash = await call(chain, 'chain_getBlockHash', [f.number]);
      const rh = await call(relay, 'chain_getFinalizedHead');
      r = await Promise.all([
        timed(chain, 'chain_getHeader', [hash]),
        timed(chain, 'state_getReadProof', [keys, hash]),
        (async () => {
          const rn = parseInt((await call(relay, 'chain_getHeader', [rh])).number, 16);
          const t = now();
          const p = await call(relay, 'grandpa_proveFinality', [rn]).catch(() => null);
          if (!p) await call(relay, 'chain_getBlock', [rh]);
          return [now() - t];
        })(),
      ]);
    } finally {
      process.kill(relayPid, 'SIGCONT');
    }
    rtt.push(r[0][0]);
    proof.push(r[1][0]);
    just.push(r[2][0]);
    over.push(lat[i] - r[1][0]);
    console.error(`  latency ${lat[i].toFixed(1)} ms; next block: getHeader ${r[0][0].toFixed(1)} ms, ` +
                  `first read proof ${r[1][0].toFixed(1)} ms, justification ${r[2][0].toFixed(1)} ms`);
    await workerPast(f.number, 30000);
    await sleep(20);
  }
  console.log(JSON.stringify({ latency: stats(lat), rtt: stats(rtt), read_proof: stats(proof),
                               justification: stats(just), over_proof: stats(over) }));
  agent.destroy();
  relay.ws.close();
  if (chain !== relay) chain.ws.close();
}
main().catch((e) => { console.error(`relay_latency: ${e.message}`); process.exit(1); });
