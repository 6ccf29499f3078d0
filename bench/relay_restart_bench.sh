#!/usr/bin/env bash
# Restart-to-tip of ferry relay (issue 14): the dev chain builds BENCH_BLOCKS blocks (default
# 2000; an authority-set change every 100 blocks), ferry relay brings a fresh worker to the tip and
# stops; BENCH_MORE blocks (default 50) are added; ferry relay is started again on the same data
# directory and worker, and the time until the worker has the new tip is reported. Before ferry
# relay saved its light-client state (lc.state) that restart re-verified every header from genesis
# first; now it resumes from the saved state.
# Exit 0 ok, 1 failed, 77 skipped (no node / no tests/devnet/node_modules).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
F=${FERRY_BIN:-$root/build/ferry}
W=${FERRY_WORKER_BIN:-$(dirname "$F")/ferry-worker}
N=${BENCH_BLOCKS:-2000}
M=${BENCH_MORE:-50}
command -v node >/dev/null || { echo "skipped: node not installed"; exit 77; }
[ -d "$root/tests/devnet/node_modules" ] || { echo "skipped: run make devnet-deps"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dport=$(port); wport=$(port)
(cd "$root/tests/devnet" && exec env DEVNET_PORT="$dport" DEVNET_BLOCK_MS=0 \
    DEVNET_SET_CHANGE_EVERY=100 node devnet.js) >"$tmp/devnet.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q "devnet ready" "$tmp/devnet.log" && break; sleep 0.2; done
grep -q "devnet ready" "$tmp/devnet.log" || { cat "$tmp/devnet.log"; exit 1; }
url=ws://127.0.0.1:$dport
produce() {
    local left=$1 c
    while [ "$left" -gt 0 ]; do
        c=$((left > 100 ? 100 : left))
        "$F" rpc --url "$url" --timeout 600 devnet_produceBlocks "$c" >/dev/null || exit 1
        left=$((left - c))
    done
}
finalized() {
    local fin; fin=$("$F" rpc --url "$url" chain_getFinalizedHead | tr -d '"')
    "$F" rpc --url "$url" chain_getHeader "\"$fin\"" | python3 -c \
        'import json,sys; print(int(json.load(sys.stdin)["number"],16))'
}
echo "producing $N blocks ..." >&2
produce "$N"
"$F" key generate --out "$tmp/seal.key" >/dev/null 2>&1
"$W" --listen "127.0.0.1:$wport" --data-dir "$tmp/w" --seal-key-file "$tmp/seal.key" \
    >"$tmp/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$tmp/worker.log" && break; sleep 0.1; done
relay() { # relay TARGET — run until the worker has TARGET; prints the wall time
    local s e
    s=$(date +%s.%N)
    "$F" relay --relay-url "$url" --worker-url "http://127.0.0.1:$wport" --no-register \
        --no-egress --data-dir "$tmp/relay" --metrics-addr off --until-block "$1" \
        --log-level info >>"$tmp/relay.log" 2>&1 || { tail -20 "$tmp/relay.log" >&2; exit 1; }
    e=$(date +%s.%N)
    python3 -c "print(f'{$e - $s:.2f}')"
}
t1=$(finalized)
first=$(relay "$t1")
produce "$M"
t2=$(finalized)
second=$(relay "$t2")
resumed=$(grep -c "resuming from the saved light-client state" "$tmp/relay.log")
echo "first run: worker from genesis to #$t1 in $first s"
echo "restart: worker from #$t1 to #$t2 in $second s (resumed from saved state: $resumed)"
