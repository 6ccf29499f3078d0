#!/usr/bin/env bash
# ferry relay against lying nodes on the Phala dev chain (solo mode), through the follow tests'
# tampering proxy (tamper-proxy.js):
#   1. the only endpoint forges justification signatures: ferry's light client refuses every
#      batch, the worker is not given a single header past genesis;
#   2. the proxy stops lying (SIGUSR1): the relayer recovers on the same endpoint, the worker is
#      registered and two messages get their replies;
#   3. the relayer restarts with three liars (altered headers, read proofs against another root,
#      withheld justifications) listed before an honest node: it moves past them and two more
#      messages get their replies;
#   4. a node the relayer trusts starts answering read proofs against another root once the
#      worker is at the tip (SIGUSR2): the relayer's block reads refuse it and move to the honest
#      node; a fifth message gets its reply.
# Checked at the end: five replies, each exactly once, OffchainIngress = 5, the outbox counts
# five finalized, the worker is consistent (initialised, registered, at the finalized tip) and
# SIGTERM stops the relayer with exit 0.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/devnet.sh"
[ -x "$(dirname "$FERRY_BIN")/ferry-worker" ] || skip "no ferry-worker next to $FERRY_BIN"
devnet_start DEVNET_CHAIN=phala DEVNET_SET_CHANGE_EVERY=10 DEVNET_BLOCK_MS=500
CHAIN_URL=$DEVNET_URL
. "$here/relay_lib.sh"
start_relay() { # URL...
    local urls=()
    for u in "$@"; do urls+=(--relay-url "$u"); done
    "$F" relay "${urls[@]}" --worker-url "http://127.0.0.1:$wport" \
        --key-file "$T/relay.key" --data-dir "$T/relay" --backoff-max-ms 2000 \
        --metrics-addr "127.0.0.1:$mport" --log-level debug --mortality 16 >>"$T/relay.log" 2>&1 &
    RELAY_PID=$!
    track_pid "$RELAY_PID"
    WAIT_SECONDS=30 wait_for curl -sf "http://127.0.0.1:$mport/healthz" ||
        fail "relay did not start: $(tail -5 "$T/relay.log")"
}
stop_relay() {
    kill -TERM "$RELAY_PID"
    wait "$RELAY_PID"
    local rc=$?
    [ "$rc" -eq 0 ] || fail "relay exit status after SIGTERM: $rc"
}
headernum() { json_get "$(winfo)" "['headernum']"; }
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
count() { grep -c "$1" "$T/relay.log"; }
count_ge() { [ "$(count "$2")" -ge "$1" ]; }

"$W" --listen "127.0.0.1:$wport" --data-dir "$T/w" --seal-key-file "$T/seal.key" \
    >>"$T/worker.log" 2>&1 &
track_pid $!
WAIT_SECONDS=20 wait_for curl -sf "http://127.0.0.1:$wport/prpc/PhactoryAPI.GetInfo" ||
    fail "worker did not start: $(tail -5 "$T/worker.log")"

# 1. the only endpoint forges signatures: refused again and again, nothing reaches the worker
start_proxy "$DEVNET_URL" forge-sig
FORGE_PID=$PROXY_PID
start_relay "$PROXY_URL"
WAIT_SECONDS=60 wait_for count_ge 3 "bad_signature" ||
    fail "forged justifications not refused three times"
WAIT_SECONDS=60 wait_for winfo || fail "worker info"
[ "$(json_get "$(winfo)" "['initialized']")" = true ] || fail "worker not initialised: $(winfo)"
# keep lying across an authority-set change (every 10 blocks)
reached() { [ "$(finalized)" -ge "$1" ]; }
WAIT_SECONDS=60 wait_for reached 12 || fail "dev chain did not reach #12"
fin=$(finalized)
hn=$(headernum)
[ "$hn" -le 1 ] || fail "worker got headers from a forging node (next expected #$hn)"
echo "1. forge-sig alone: $(count bad_signature) refusals, chain at #$fin, worker expects #$hn"

# 2. the node stops lying: the same relayer recovers on the same endpoint
kill -USR1 "$FORGE_PID"
WAIT_SECONDS=120 wait_for metric_ge ferry_relay_registered 1 ||
    fail "worker not registered after the proxy turned honest"
PK=$(json_get "$(winfo)" "['public_key']")
[ ${#PK} -eq 66 ] || fail "worker public key: $PK"
send "msg 1"
send "msg 2"
WAIT_SECONDS=90 wait_for replies_ge 2 || fail "replies 1-2 missing: $(replies)"
echo "2. recovered once the proxy turned honest: worker expects #$(headernum)"
stop_relay
kill "$FORGE_PID"

# 3. three liars before an honest node: each is refused, the honest one serves
liars=()
for mode in alter-header proof-root withhold; do
    start_proxy "$DEVNET_URL" "$mode"
    liars+=("$PROXY_URL")
    eval "URL_$(echo "$mode" | tr - _)=$PROXY_URL"
done
before=$(count "switching endpoint")
start_relay "${liars[@]}" "$DEVNET_URL"
send "msg 3"
send "msg 4"
WAIT_SECONDS=120 wait_for replies_ge 4 || fail "replies 3-4 missing: $(replies)"
for mode in alter-header proof-root withhold; do
    eval "u=\$URL_$(echo "$mode" | tr - _)"
    lines=$(grep "switching endpoint" "$T/relay.log" | tail -n +$((before + 1)) | grep "from $u")
    [ -n "$lines" ] || fail "$mode: the lie was not detected"
    echo "3. $mode: refused $(printf '%s\n' "$lines" | wc -l) times: $(printf '%s\n' "$lines" |
        head -1 | sed 's/.*WARN *//')"
done

stop_relay

# 4. a trusted node starts lying once the relayer is at the tip: its read proofs are against
#    another root (the relayer's DispatchBlocks and OffchainIngress reads)
start_proxy "$DEVNET_URL" none proof-root
LATER_PID=$PROXY_PID
LATER_URL=$PROXY_URL
start_relay "$LATER_URL" "$DEVNET_URL"
at_tip() { [ "$(headernum)" -ge "$(finalized)" ]; }
WAIT_SECONDS=60 wait_for at_tip || fail "worker not at the tip through an honest proxy"
before=$(count "switching endpoint")
kill -USR2 "$LATER_PID"
WAIT_SECONDS=20 wait_for grep -q "proxy lying now" "$T/proxy-none.log" || fail "proxy did not switch"
send "msg 5"
WAIT_SECONDS=120 wait_for replies_ge 5 || fail "reply 5 missing: $(replies)"
lines=$(grep "switching endpoint" "$T/relay.log" | tail -n +$((before + 1)) | grep "from $LATER_URL")
[ -n "$lines" ] || fail "proof-root after trust: the lie was not detected"
echo "4. proof-root after trust: refused $(printf '%s' "$lines" | grep -c .) times: $(printf '%s\n' "$lines" |
    head -1 | sed 's/.*WARN *//')"
N=5

# exactly once and consistent
r=$(replies)
[ "$(printf '%s\n' "$r" | wc -l)" -eq $N ] || fail "expected $N replies, got: $r"
for i in $(seq $N); do
    [ "$(printf '%s\n' "$r" | grep -c "\"reply\":\"msg $i\"")" -eq 1 ] ||
        fail "reply to msg $i not exactly once: $r"
done
ingress=$("$F" rpc --url "$DEVNET_URL" devnet_offchainIngress "{\"worker\":\"$PK\"}" 2>&1)
[ "$(json_get "$ingress" "['sequence']")" = $N ] || fail "OffchainIngress (next sequence): $ingress"
WAIT_SECONDS=60 wait_for outbox_finalized_eq $N ||
    fail "outbox: $(curl -sf "http://127.0.0.1:$mport/metrics" | grep outbox_messages)"
WAIT_SECONDS=30 wait_for at_tip || fail "worker not at the finalized tip: $(winfo), chain #$(finalized)"
[ "$(json_get "$(winfo)" "['registered']")" = true ] || fail "worker state: $(winfo)"
metric_ge ferry_relay_set_id 2 || fail "fewer than two set changes followed: $(metric ferry_relay_set_id)"
stop_relay
echo "ok: $N messages, $N replies, exactly once, past a forging node, a node that stopped lying, three liars and a trusted node turned liar"
