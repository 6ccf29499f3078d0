#!/usr/bin/env bash
# A ferry-worker killed with -9 between two seals restarts behind, and the ferry relay that feeds
# it brings it forward again (docs/worker-api.md, *Sealing*). Over bench/replay-server.js's
# synthetic GRANDPA chain (20 000 blocks, a set change at 10 000; every block's read proof a
# real proof of absence), with --seal-interval-ms 600000 (progress sealed only at exit):
#   1. `ferry relay --until-block 20000` runs; once the worker has dispatched block 4 000 it is
#      killed with -9 and restarted on the same port and data dir: it is back at its InitRuntime
#      seal (same identity, initialised, behind);
#   2. the same relay run notices the worker went back ("verifying again from genesis") and
#      brings it to block 20 000 — or, when the worker went back in the middle of a relay step,
#      the relay exits 5 on the worker's 409 (a known relay gap, see docs/worker-api.md) and a
#      restarted relay brings it there;
#   3. SIGTERM seals everything: the restarted worker is at 20 000.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
F=$FERRY_BIN
W=$(dirname "$FERRY_BIN")/ferry-worker
root=$(cd "$here/../.." && pwd)
[ -x "$W" ] || fail "no ferry-worker next to $FERRY_BIN"
command -v node >/dev/null || skip "node not installed"
[ -d "$root/tests/devnet/node_modules/ws" ] || skip "tests/devnet/node_modules missing (make devnet-deps)"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

# wait_for FILE PATTERN SECONDS — poll until FILE contains PATTERN.
wait_for() {
    local end=$(( $(date +%s) + $3 ))
    while ! grep -q "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for '$2' in $1: $(tail -5 "$1")"
        sleep 0.05
    done
}

node "$root/bench/replay-server.js" --blocks 20000 --set-every 10000 --period 512 --authorities 4 \
    --prove-finality substrate --state-root genesis --port 0 >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_for "$tmp/server.log" "replay ready" 120
node_url=$(grep -o 'replay ready ws://[0-9.:]*' "$tmp/server.log" | cut -d' ' -f3)
expect_exit 0 "$F" key generate --out "$tmp/seal.key"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
mport=$(free_port)
wurl="http://127.0.0.1:$port"

# start_worker LOG — on the fixed port, progress sealed only at exit.
start_worker() {
    "$W" --listen "127.0.0.1:$port" --data-dir "$tmp/w" --seal-key-file "$tmp/seal.key" \
        --seal-interval-ms 600000 >"$1" 2>&1 &
    wpid=$!
    pids+=("$wpid")
    wait_for "$1" "listening on" 20
}
info() {
    expect_exit 0 "$F" worker info --url "$wurl"
    echo "$out"
}

start_worker "$tmp/w1.log"
pk=$(json_get "$(info)" "['public_key']")
timeout 300 "$F" relay --relay-url "$node_url" --worker-url "$wurl" --no-register --no-egress \
    --data-dir "$tmp/relay" --metrics-addr "127.0.0.1:$mport" --until-block 20000 --log-level info >"$tmp/relay.out" 2>"$tmp/relay.log" &
rpid=$!
pids+=("$rpid")
# kill -9 once the worker has dispatched block 4 000 (the run takes seconds: a wide margin)
end=$(( $(date +%s) + 240 ))
while :; do
    b=$("$F" worker info --url "$wurl" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["blocknum"])' 2>/dev/null)
    [ -n "$b" ] && [ "$b" -gt 4000 ] && break
    kill -0 "$rpid" 2>/dev/null || fail "the relay ended before the kill: $(tail -5 "$tmp/relay.log")"
    [ "$(date +%s)" -lt "$end" ] || fail "the worker never reached block 4000"
    sleep 0.02
done
kill -9 "$wpid"
wait "$wpid" 2>/dev/null
[ "$b" -lt 20001 ] || fail "the worker was already done: $b"
start_worker "$tmp/w2.log"
i=$(info)
[ "$(json_get "$i" "['public_key']")" = "$pk" ] || fail "identity lost after kill -9: $i"
[ "$(json_get "$i" "['initialized']")" = true ] || fail "InitRuntime lost after kill -9: $i"
[ "$(json_get "$i" "['blocknum']")" -lt "$b" ] || fail "the restarted worker is not behind ($b): $i"
wait "$rpid"; rrc=$?
how="by the same ferry relay run"
# The worker went back while the relay was running, possibly between its GetInfo and its next
# call of a step: the relay re-reads the worker before calling a refusal the worker's fault, so it
# must carry on (verifying again from its trust root), never exit.
[ "$rrc" -eq 0 ] || fail "ferry relay exited $rrc: $(grep -v "worker dispatched" "$tmp/relay.log" | tail -12)"
grep -q "verifying again from genesis" "$tmp/relay.log" ||
    fail "the relay did not notice the worker went back: $(grep -i worker "$tmp/relay.log" | tail -5)"
i=$(info)
[ "$(json_get "$i" "['headernum']")" = 20001 ] && [ "$(json_get "$i" "['blocknum']")" = 20001 ] ||
    fail "after the relay run: $i"

kill -TERM "$wpid"
wait "$wpid" || fail "the worker did not exit 0 on SIGTERM"
start_worker "$tmp/w3.log"
i=$(info)
[ "$(json_get "$i" "['blocknum']")" = 20001 ] || fail "SIGTERM did not seal the progress: $i"
[ "$(json_get "$i" "['public_key']")" = "$pk" ] || fail "identity changed: $i"
kill -TERM "$wpid"
wait "$wpid" || fail "the worker did not exit 0 on the last SIGTERM"
echo "ok: killed -9 at block $b, restarted behind, brought to 20000 $how; SIGTERM sealed it all"
