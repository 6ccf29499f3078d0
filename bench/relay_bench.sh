#!/usr/bin/env bash
# Catch-up of a worker through ferry relay (issue 14): the dev chain builds BENCH_BLOCKS blocks up
# front (default 500; Rococo solo-style relay, an authority-set change every 100 blocks), then
# ferry-worker starts uninitialised and ferry relay brings it from genesis to block N
# (--until-block N, registration and egress off: the Rococo runtime has no Phala pallets).
# Reports: wall time and blocks/s (headers validated and blocks dispatched by the worker), peak
# RSS of ferry relay, and where the time goes: worker calls (ferry_relay_seconds_total{part=
# "worker"}) versus node requests and ferry's own verification (the rest).
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
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(port); wport=$(port); mport=$(port)
(cd "$root/tests/devnet" && exec env DEVNET_PORT="$dport" DEVNET_BLOCK_MS=0 \
    DEVNET_SET_CHANGE_EVERY=100 node devnet.js) >"$tmp/devnet.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "devnet ready" "$tmp/devnet.log" && break; sleep 0.2; done
grep -q "devnet ready" "$tmp/devnet.log" || { cat "$tmp/devnet.log"; exit 1; }
url=ws://127.0.0.1:$dport
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
/usr/bin/time -f "%M" -o "$tmp/rss" "$F" relay --relay-url "$url" \
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

# Finality to worker: the relayer runs on at the tip (same worker, same data directory); each of
# BENCH_LATENCY_BLOCKS single blocks (default 20) is produced and finalized with
# devnet_produceBlocks, and the time from its answer (the finality notification is pushed before
# it) until the worker has dispatched that block (GetInfo blocknum past it) is measured by polling
# the worker. Polling resolution: one `ferry worker info` (a few ms).
"$F" relay --relay-url "$url" --worker-url "http://127.0.0.1:$wport" --no-register --no-egress \
    --data-dir "$tmp/relay" --log-level warn >"$tmp/relay-tip.log" 2>&1 &
pids+=($!)
python3 - "$F" "$url" "$wport" "${BENCH_LATENCY_BLOCKS:-20}" <<'PY' || exit 1
import json, subprocess, sys, time
F, url, wport, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def info():
    return json.loads(subprocess.run([F, 'worker', 'info', '--url', f'http://127.0.0.1:{wport}'],
                                     capture_output=True, text=True, check=True).stdout)
def produce():
    out = subprocess.run([F, 'rpc', '--url', url, 'devnet_produceBlocks', '1'],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)['finalized']
def wait_block(n, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if info().get('blocknum', 0) > n:
            return True
        time.sleep(0.001)
    return False
# settle at the tip first
if not wait_block(produce(), 60):
    sys.exit('the worker did not reach the tip through ferry relay')
lat = []
for _ in range(k):
    fin = produce()
    t0 = time.monotonic()
    if not wait_block(fin, 30):
        sys.exit(f'block #{fin} did not reach the worker within 30 s')
    lat.append((time.monotonic() - t0) * 1000)
lat.sort()
print(f"finality to worker: {k} blocks, median {lat[len(lat) // 2]:.0f} ms, "
      f"p90 {lat[int(len(lat) * 0.9) - 1]:.0f} ms, max {lat[-1]:.0f} ms "
      f"(from the devnet_produceBlocks answer to GetInfo blocknum past the block)")
PY
