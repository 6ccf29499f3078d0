#!/usr/bin/env bash
# Catch-up of a worker through ferry relay (issue 14): the dev chain builds BENCH_BLOCKS blocks up
# front (default 500; Rococo solo-style relay, an authority-set change every 100 blocks), then
# ferry-worker starts uninitialised and ferry relay brings it from genesis to block N
# (--until-block N, registration and egress off: the Rococo runtime has no Phala pallets).
# BENCH_PARA=phala (or assethub) runs it in parachain mode: the dev chain adds that parachain and
# the worker follows it under the relay chain.
# Reports: wall time and blocks/s (headers validated and blocks dispatched by the worker), peak
# RSS of ferry relay, and where the time goes: worker calls (ferry_relay_seconds_total{part=
# "worker"}) versus node requests and ferry's own verification (the rest); then, with the relayer
# left running at the tip, the time from a block's finality to the worker having it, next to the
# node's round trips in the same run (see the end of this script and bench/relay_latency.js;
# BENCH_LATENCY_BLOCKS samples per phase, BENCH_LOG_LEVEL=debug and BENCH_KEEP_LOGS=DIR to keep
# the relayer's timing lines).
# Exit 0 ok, 1 failed, 77 skipped (no node / no tests/devnet/node_modules).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
F=${FERRY_BIN:-$root/build/ferry}
W=$(dirname "$F")/ferry-worker
N=${BENCH_BLOCKS:-500}
command -v node >/dev/null || { echo "bench-relay skipped: node not installed"; exit 77; }
[ -d "$root/tests/devnet/node_modules" ] || { echo "bench-relay skipped: run make devnet-deps"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
trap "exit 1" INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(port); wport=$(port); mport=$(port); pport=$(port)
(cd "$root/tests/devnet" && exec env DEVNET_PORT="$dport" DEVNET_BLOCK_MS=0 \
    DEVNET_SET_CHANGE_EVERY=100 ${BENCH_PARA:+DEVNET_PARA="$BENCH_PARA" DEVNET_PARA_PORT="$pport"} \
    node devnet.js) >"$tmp/devnet.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "devnet ready" "$tmp/devnet.log" && break; sleep 0.2; done
grep -q "devnet ready" "$tmp/devnet.log" || { cat "$tmp/devnet.log"; exit 1; }
url=ws://127.0.0.1:$dport
chain_url=$url
MODE_ARGS=(--relay-url "$url")
mode=solo
if [ -n "${BENCH_PARA:-}" ]; then
    chain_url=ws://127.0.0.1:$pport
    pid=$("$F" rpc --url "$url" devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["para"]["paraId"])')
    MODE_ARGS=(--relay-url "$url" --para-url "$chain_url" --para-id "$pid")
    mode=parachain
fi
echo "producing $N blocks ..." >&2
left=$N
while [ "$left" -gt 0 ]; do
    c=$((left > 100 ? 100 : left))
    "$F" rpc --url "$url" --timeout 600 devnet_produceBlocks "$c" >/dev/null || exit 1
    left=$((left - c))
done
"$F" key generate --out "$tmp/seal.key" >/dev/null 2>&1
"$W" --listen "127.0.0.1:$wport" --data-dir "$tmp/w" --seal-key-file "$tmp/seal.key" \
    >"$tmp/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/worker.log" && break; sleep 0.1; done
fin=$("$F" rpc --url "$url" chain_getFinalizedHead | tr -d '"')
target=$("$F" rpc --url "$url" chain_getHeader "\"$fin\"" | python3 -c \
    'import json,sys; print(int(json.load(sys.stdin)["number"],16))')
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$tmp/rss" "$F" relay "${MODE_ARGS[@]}" \
    --worker-url "http://127.0.0.1:$wport" --no-register --no-egress --data-dir "$tmp/relay" \
    --metrics-addr "127.0.0.1:$mport" --until-block "$target" --log-level warn \
    --dispatch-batch "${BENCH_DISPATCH:-16}" >"$tmp/relay.log" 2>&1 &
rpid=$!
# sample the time split just before the end
while kill -0 "$rpid" 2>/dev/null; do
    curl -sf "http://127.0.0.1:$mport/metrics" >"$tmp/m.new" 2>/dev/null && mv "$tmp/m.new" "$tmp/metrics"
    sleep 0.2
done
wait "$rpid" || { echo "ferry relay failed:"; tail -20 "$tmp/relay.log"; exit 1; }
end=$(date +%s.%N)
info=$("$F" worker info --url "http://127.0.0.1:$wport")
python3 - "$start" "$end" "$target" "$tmp/rss" "$tmp/metrics" "$info" <<'PY'
import sys, json
start, end, target = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rss = int(open(sys.argv[4]).read().split()[-1])
m = {}
for line in open(sys.argv[5]):
    if line and not line.startswith('#'):
        k, v = line.rsplit(' ', 1)
        m[k] = float(v)
info = json.loads(sys.argv[6])
wall = end - start
worker_s = m.get('ferry_relay_seconds_total{part="worker"}', 0.0)
print(f"relay catch-up: {target} blocks from genesis in {wall:.1f} s = {target / wall:.1f} blocks/s "
      f"(headers validated and blocks dispatched by the worker)")
print(f"  worker headernum {info.get('headernum')} blocknum {info.get('blocknum')}")
print(f"  time in worker calls {worker_s:.1f} s ({100 * worker_s / wall:.0f}%), "
      f"node requests + ferry verification {wall - worker_s:.1f} s ({100 * (wall - worker_s) / wall:.0f}%)")
print(f"  ferry relay peak RSS {rss / 1024:.1f} MiB")
PY

# Finality to worker: the relayer runs on at the tip (same worker, same data directory); for
# each of BENCH_LATENCY_BLOCKS samples (default 20) one block is produced and finalized with
# devnet_produceBlocks, and the time from the finality notification of that block (pushed to the
# bench's own chain_subscribeFinalizedHeads in the same tick as to the relayer's) until the
# worker's GetInfo says blocknum is past it is measured (polled every millisecond over one
# keep-alive connection). Paired with each sample, with the relayer paused, the node's round
# trips for the next block, timed from its notification: chain_getHeader, the first
# state_getReadProof at the block (the dev chain builds the block's whole state trie then: tens
# of ms, more under load) and the justification. See bench/relay_latency.js.
"$F" relay "${MODE_ARGS[@]}" --worker-url "http://127.0.0.1:$wport" --no-register --no-egress \
    --data-dir "$tmp/relay" --log-level "${BENCH_LOG_LEVEL:-warn}" >"$tmp/relay-tip.log" 2>&1 &
tip_pid=$!
pids+=("$tip_pid")
# Two phases: as the dev chain is (the first read proof at a new block makes it build the block's
# state trie: that proof is the node's slowest answer, and the figure to compare with), then with
# devnet_warmProofs (tries built with the blocks, as a real node has them: a read proof costs a
# round trip like any other call).
phase() { # label [--warm]
    NODE_PATH="$root/tests/devnet/node_modules" node "$root/bench/relay_latency.js" ${2:-} "$url" \
        "$chain_url" "http://127.0.0.1:$wport" "$tip_pid" "${BENCH_LATENCY_BLOCKS:-20}" \
        >"$tmp/latency-$1.json" 2>"$tmp/latency-$1.log" ||
        { cat "$tmp/latency-$1.log"; tail -20 "$tmp/relay-tip.log"; exit 1; }
    python3 - "$tmp/latency-$1.json" "$mode" "$1" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
l = r['latency']
f = lambda s: f"median {s['median']:.1f} ms, p90 {s['p90']:.1f} ms, max {s['max']:.1f} ms"
print(f"finality to worker ({sys.argv[2]} mode, {sys.argv[3]} read proofs): {l['n']} blocks, {f(l)}")
print(f"  node round trips, same run (paired samples, relayer paused): chain_getHeader {f(r['rtt'])}")
print(f"    state_getReadProof at a new block {f(r['read_proof'])}")
print(f"    justification (grandpa_proveFinality or chain_getBlock) {f(r['justification'])}")
print(f"  latency minus the paired read proof: {f(r['over_proof'])} (aim: at most 10 ms)")
print(f"  load average: {open('/proc/loadavg').read().split()[0]} (1 min; {os.cpu_count()} CPUs)")
PY
}
phase cold
phase warm --warm
[ -n "${BENCH_KEEP_LOGS:-}" ] && cp "$tmp"/*.log "$tmp"/*.json "$BENCH_KEEP_LOGS"/
exit 0
