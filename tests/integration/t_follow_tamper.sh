#!/usr/bin/env bash
# ferry follow against lying nodes: a tampering proxy (forged justification signature, altered
# header, proof against another root, withheld justification, a finalized head whose header is
# another block, malformed headers) listed before an honest node.
# ferry must reject what the proxy says, move to the honest node, and report only canonical
# blocks. With the forging proxy alone it must report nothing past its trust root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
devnet_start DEVNET_SET_CHANGE_EVERY=5 DEVNET_BLOCK_MS=250 DEVNET_PARA=1
F=$FERRY_BIN
T=$FERRY_TMP
CHECK="python3 $(dirname "$0")/check_follow.py --relay-url $DEVNET_URL --para-url $DEVNET_PARA_URL"
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
reached() { [ "$(finalized)" -ge "$1" ]; }
WAIT_SECONDS=180 wait_for reached 12 || fail "dev chain did not reach #12"

start_proxy() { # MODE -> PROXY_URL
    local port; port=$(free_port)
    node "$(dirname "$0")/tamper-proxy.js" --upstream "$DEVNET_URL" --mode "$1" --port "$port" \
        >"$T/proxy-$1.log" 2>&1 &
    track_pid $!
    PROXY_PID=$!
    wait_for grep -q "proxy ready" "$T/proxy-$1.log" || fail "proxy $1 did not start"
    PROXY_URL=ws://127.0.0.1:$port
}

for mode in forge-sig alter-header proof-root withhold head-lie garbage-header discarded; do
    start_proxy "$mode"
    # The parachain check makes proof-root bite; the relay checks cover the rest.
    timeout 180 "$F" follow --url "$PROXY_URL" --url "$DEVNET_URL" \
        --para-url "$DEVNET_PARA_URL" --para-id 1000 --db "$T/$mode.db" --json --until 12 \
        >"$T/$mode.jsonl" 2>"$T/$mode.log" || { tail "$T/$mode.log"; fail "$mode: follow failed"; }
    $CHECK --min-set-changes 2 "$T/$mode.jsonl" || fail "$mode: reported a non-canonical block"
    grep -q "switching endpoint" "$T/$mode.log" || { tail "$T/$mode.log"; fail "$mode: the lie was not detected"; }
    echo "$mode: $(grep -m1 'switching endpoint' "$T/$mode.log" | sed 's/.*WARN  follow: //')"
    kill "$PROXY_PID"
done

# Only the forging proxy: nothing past genesis may be reported.
start_proxy forge-sig
timeout 20 "$F" follow --url "$PROXY_URL" --db "$T/alone.db" --json --until 12 \
    >"$T/alone.jsonl" 2>"$T/alone.log"
rc=$?
[ $rc -eq 124 ] || fail "follow with only a lying node exited $rc instead of retrying"
reported=$(python3 -c 'import json,sys; print(max([json.loads(l)["number"] for l in open(sys.argv[1])] or [-1]))' "$T/alone.jsonl")
[ "$reported" -le 0 ] || fail "reported block #$reported from a forging node"
grep -q "bad_signature" "$T/alone.log" || fail "no bad_signature reason logged"
echo ok
