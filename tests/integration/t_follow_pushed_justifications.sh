#!/usr/bin/env bash
# ferry follow against a node that serves no grandpa_proveFinality and stores no justification
# with its blocks (as a real node stores one only every few hundred blocks): the justifications
# pushed by grandpa_subscribeJustifications must be enough to follow finality live, and every
# reported block must be canonical.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
devnet_start DEVNET_BLOCK_MS=300
F=$FERRY_BIN
T=$FERRY_TMP
port=$(free_port)
node "$(dirname "$0")/tamper-proxy.js" --upstream "$DEVNET_URL" --mode push-only --port "$port" \
    >"$T/proxy.log" 2>&1 &
track_pid $!
wait_for grep -q "proxy ready" "$T/proxy.log" || fail "proxy did not start"
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
until=$(( $(finalized) + 8 ))
timeout 180 "$F" follow --url "ws://127.0.0.1:$port" --db "$T/a.db" --json --until "$until" \
    >"$T/a.jsonl" 2>"$T/a.log" || { tail -20 "$T/a.log"; fail "follow on pushed justifications"; }
python3 "$(dirname "$0")/check_follow.py" --relay-url "$DEVNET_URL" --min-relay $((until + 1)) \
    "$T/a.jsonl" || fail "non-canonical or missing blocks"
grep -q "does not serve grandpa_proveFinality" "$T/a.log" || fail "did not notice the missing method"
echo ok
