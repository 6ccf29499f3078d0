#!/usr/bin/env bash
# ferry follow on the dev chain: from genesis across authority-set changes with the parachain,
# kill -9 mid catch-up and resume on the same store, a dropped WebSocket and a dev-chain restart
# mid-stream. Every reported block must be the dev chain's canonical block, reported once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
devnet_start DEVNET_SET_CHANGE_EVERY=6 DEVNET_BLOCK_MS=250 DEVNET_PARA=1
F=$FERRY_BIN
T=$FERRY_TMP
CHECK="python3 $(dirname "$0")/check_follow.py --relay-url $DEVNET_URL --para-url $DEVNET_PARA_URL"
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# Conditions for wait_for (evaluated on every try).
reached() { [ "$(finalized)" -ge "$1" ]; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# 1. From genesis across >= 2 set changes, with the parachain.
timeout 120 "$F" follow --url "$DEVNET_URL" --para-url "$DEVNET_PARA_URL" --para-id 1000 \
    --db "$T/a.db" --json --until 14 >"$T/a1.jsonl" 2>"$T/a1.log" || { tail "$T/a1.log"; fail "follow to #14"; }
$CHECK --min-set-changes 2 --min-para 5 "$T/a1.jsonl" || fail "run 1 output"

# 2. Let the chain run ahead, then catch up and kill -9 in the middle; resume on the same store.
WAIT_SECONDS=180 wait_for reached 26 || fail "dev chain did not reach #26"
"$F" follow --url "$DEVNET_URL" --para-url "$DEVNET_PARA_URL" --para-id 1000 \
    --db "$T/a.db" --json --until 26 >"$T/a2.jsonl" 2>"$T/a2.log" &
pid=$!
track_pid $pid
WAIT_SECONDS=60 wait_for has_lines "$T/a2.jsonl" 4 || fail "catch-up did not start"
kill -9 $pid
wait $pid 2>/dev/null
echo "killed after $(lines "$T/a2.jsonl") lines"
timeout 120 "$F" follow --url "$DEVNET_URL" --para-url "$DEVNET_PARA_URL" --para-id 1000 \
    --db "$T/a.db" --json --until 26 >"$T/a3.jsonl" 2>"$T/a3.log" || { tail "$T/a3.log"; fail "resume"; }
grep -q "resuming at" "$T/a3.log" || fail "did not resume from the store"
grep -q "trust root: genesis" "$T/a3.log" && fail "re-verified from genesis after kill -9"
$CHECK --min-set-changes 4 --min-para 12 "$T/a1.jsonl" "$T/a2.jsonl" "$T/a3.jsonl" || fail "runs 1-3"

# 3. Live through a proxy that drops the connection, then a dev-chain restart.
pport=$(free_port)
proxy() { node "$(dirname "$0")/tamper-proxy.js" --upstream "$DEVNET_URL" --mode none --port "$pport" \
    >>"$T/proxy.log" 2>&1 & PROXY=$!; track_pid $PROXY; }
proxy
wait_for grep -q "proxy ready" "$T/proxy.log" || fail "proxy did not start"
start=$(finalized)
until=$((start + 10))
"$F" follow --url "ws://127.0.0.1:$pport" --db "$T/b.db" --json --until $until \
    >"$T/b.jsonl" 2>"$T/b.log" &
fpid=$!
track_pid $fpid
WAIT_SECONDS=120 wait_for has_lines "$T/b.jsonl" $((start + 3)) || fail "live follow did not start"
kill $PROXY; sleep 1; proxy          # dropped WebSocket mid-stream
WAIT_SECONDS=120 wait_for has_lines "$T/b.jsonl" $((start + 6)) || { tail "$T/b.log"; fail "no progress after the drop"; }
devnet_rpc devnet_restart 1500 >/dev/null || fail "devnet_restart"
WAIT_SECONDS=30 wait_for grep -q "devnet restarting" "$DEVNET_LOG_FILE"
for _ in $(seq 600); do kill -0 $fpid 2>/dev/null || break; sleep 0.5; done
wait $fpid || { tail -20 "$T/b.log"; fail "follow through drop and restart did not finish"; }
$CHECK --min-relay $((until + 1)) "$T/b.jsonl" || fail "run through drop and restart"
grep -c "WARN" "$T/b.log" || true
echo ok
