#!/usr/bin/env bash
# Restart-to-tip of ferry relay (issue 14): the dev chain builds BENCH_BLOCKS blocks (default
# 2000; an authority-set change every 100 blocks), ferry relay brings a fresh worker to the tip and
# stops; BENCH_MORE blocks (default 50) are added; ferry relay is started again on the same data
# directory and worker, and the time until the worker has the new tip is reported. Before ferry
# relay saved its light-client state (lc.state) that restart re-verified every header from genesis
# first; now it resumes from the saved state.
# FERRY_BASE_BIN=path/to/older/ferry runs the same on a second worker with that build, on the
# same chain, for a before/after figure.
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
# one worker, data directory and log per binary: ferry (a) and, with FERRY_BASE_BIN, another
# build to compare with (b), both on the same chain
bins=(a)
[ -n "${FERRY_BASE_BIN:-}" ] && bins+=(b)
bin() { [ "$1" = a ] && echo "$F" || echo "$FERRY_BASE_BIN"; }
declare -A wport
for x in "${bins[@]}"; do
    wport[$x]=$(port)
    "$W" --listen "127.0.0.1:${wport[$x]}" --data-dir "$tmp/w-$x" --seal-key-file "$tmp/seal.key" \
        >"$tmp/worker-$x.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q listening "$tmp/worker-$x.log" && break; sleep 0.1; done
done
relay() { # relay X TARGET — run binary X until its worker has TARGET; prints the wall time
    local s e
    s=$(date +%s.%N)
    "$(bin "$1")" relay --relay-url "$url" --worker-url "http://127.0.0.1:${wport[$1]}" \
        --no-register --no-egress --data-dir "$tmp/relay-$1" --metrics-addr off \
        --until-block "$2" --log-level info >>"$tmp/relay-$1.log" 2>&1 ||
        { tail -20 "$tmp/relay-$1.log" >&2; exit 1; }
    e=$(date +%s.%N)
    python3 -c "print(f'{$e - $s:.2f}')"
}
t1=$(finalized)
declare -A first second
for x in "${bins[@]}"; do first[$x]=$(relay "$x" "$t1"); done
produce "$M"
t2=$(finalized)
for x in "${bins[@]}"; do second[$x]=$(relay "$x" "$t2"); done
for x in "${bins[@]}"; do
    resumed=$(grep -c "resuming from the saved light-client state" "$tmp/relay-$x.log")
    echo "$(bin "$x"):"
    echo "  first run: worker from genesis to #$t1 in ${first[$x]} s"
    echo "  restart: worker from #$t1 to #$t2 in ${second[$x]} s (resumed from saved state: $resumed)"
done
