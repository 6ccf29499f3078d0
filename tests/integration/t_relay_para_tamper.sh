#!/usr/bin/env bash
# ferry relay in parachain mode (the Phala runtime as parachain 2035 under a Rococo relay chain)
# against lying PARACHAIN endpoints, through the follow tests' tampering proxy (tamper-proxy.js).
# The relay endpoint stays honest: the para head is proven from it (Paras::Heads(2035)), so every
# para header and every para read proof a para node serves can be checked by ferry itself.
#   1. the only para endpoint alters every header it serves (state root changed): ferry's light
#      client refuses them, the worker is given no para header, and the relayer keeps retrying
#      (a lying node is transient, not a broken worker: it must not exit);
#   2. the proxy stops lying (SIGUSR1): the relayer recovers on the same endpoint, the worker is
#      registered and two messages get their replies;
#   3. the relayer restarts with two more liars listed before an honest para node: one answers
#      read proofs against another root (the worker's DispatchBlocks reads, OffchainIngress), one
#      serves headers whose parent hash is not hex: both are refused and two more messages get
#      their replies;
#   4. a trusted para node starts answering read proofs against another root once the worker is
#      at the tip (SIGUSR2): refused, a fifth message gets its reply.
# Checked at the end: five replies, each exactly once, OffchainIngress = 5, the outbox counts five
# finalized, the worker is consistent (initialised, registered, at the para tip) and SIGTERM
# stops the relayer with exit 0.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/devnet.sh"
[ -x "$(dirname "$FERRY_BIN")/ferry-worker" ] || skip "no ferry-worker next to $FERRY_BIN"
devnet_start DEVNET_PARA=phala DEVNET_SET_CHANGE_EVERY=10 DEVNET_BLOCK_MS=1000
PARA=$DEVNET_PARA_URL
CHAIN_URL=$PARA
. "$here/relay_lib.sh"
start_relay() { # PARA_URL...
    local urls=()
    for u in "$@"; do urls+=(--para-url "$u"); done
    "$F" relay --relay-url "$DEVNET_URL" "${urls[@]}" --para-id 2035 \
        --worker-url "http://127.0.0.1:$wport" --key-file "$T/relay.key" --data-dir "$T/relay" \
        --backoff-max-ms 2000 --metrics-addr "127.0.0.1:$mport" --log-level debug \
        --mortality 16 >>"$T/relay.log" 2>&1 &
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
para_headernum() { json_get "$(winfo)" "['para_headernum']"; }
para_finalized() {
    local h; h=$("$F" rpc --url "$PARA" chain_getFinalizedHead) || return 1
    "$F" rpc --url "$PARA" chain_getHeader "$h" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["number"],16))'
}
count() { grep -c "$1" "$T/relay.log"; }
switched_from() { # URL [SKIP_LINES] — "switching endpoint" lines about URL after SKIP_LINES
    grep "switching endpoint" "$T/relay.log" | tail -n +$((${2:-0} + 1)) | grep "from $1"
}

"$W" --listen "127.0.0.1:$wport" --data-dir "$T/w" --seal-key-file "$T/seal.key" \
    >>"$T/worker.log" 2>&1 &
track_pid $!
WAIT_SECONDS=20 wait_for curl -sf "http://127.0.0.1:$wport/prpc/PhactoryAPI.GetInfo" ||
    fail "worker did not start: $(tail -5 "$T/worker.log")"

# 1. the only para endpoint alters headers: refused again and again, no para header reaches the
#    worker, and the relayer does not give up
start_proxy "$PARA" alter-header
ALTER_PID=$PROXY_PID
ALTER_URL=$PROXY_URL
start_relay "$ALTER_URL"
refusals() { [ "$(switched_from "$ALTER_URL" | wc -l)" -ge "$1" ]; }
WAIT_SECONDS=90 wait_for refusals 3 || fail "altered para headers not refused three times"
kill -0 "$RELAY_PID" 2>/dev/null || fail "the relayer exited on a lying para node"
phn=$(para_headernum 2>/dev/null || echo 0)
[ "${phn:-0}" -le 1 ] || fail "worker got para headers from an altering node (para_headernum $phn)"
echo "1. alter-header alone: $(switched_from "$ALTER_URL" | wc -l) refusals," \
    "e.g. $(switched_from "$ALTER_URL" | head -1 | sed 's/.*WARN *//')"

# 2. the para node stops lying: the same relayer recovers on the same endpoint
kill -USR1 "$ALTER_PID"
WAIT_SECONDS=150 wait_for metric_ge ferry_relay_registered 1 ||
    fail "worker not registered after the proxy turned honest"
PK=$(json_get "$(winfo)" "['public_key']")
[ ${#PK} -eq 66 ] || fail "worker public key: $PK"
send "msg 1"
send "msg 2"
WAIT_SECONDS=120 wait_for replies_ge 2 || fail "replies 1-2 missing: $(replies)"
echo "2. recovered once the para proxy turned honest: para_headernum $(para_headernum)"
stop_relay
kill "$ALTER_PID"

# 3. two liars before an honest para node
before=$(grep -c "switching endpoint" "$T/relay.log")
start_proxy "$PARA" proof-root
ROOT_URL=$PROXY_URL
start_proxy "$PARA" garbage-header
GARBAGE_URL=$PROXY_URL
start_relay "$ROOT_URL" "$GARBAGE_URL" "$PARA"
send "msg 3"
send "msg 4"
WAIT_SECONDS=150 wait_for replies_ge 4 || fail "replies 3-4 missing: $(replies)"
for u in "$ROOT_URL" "$GARBAGE_URL"; do
    lines=$(switched_from "$u" "$before")
    [ -n "$lines" ] || fail "the lie of $u was not detected"
    echo "3. $u: refused $(printf '%s\n' "$lines" | wc -l) times: $(printf '%s\n' "$lines" |
        head -1 | sed 's/.*WARN *//')"
done
stop_relay

# 4. a trusted para node starts lying at the tip
start_proxy "$PARA" none proof-root
LATER_PID=$PROXY_PID
LATER_URL=$PROXY_URL
start_relay "$LATER_URL" "$PARA"
para_at_tip() { [ "$(para_headernum)" -ge "$(para_finalized)" ]; }
WAIT_SECONDS=90 wait_for para_at_tip || fail "worker not at the para tip through an honest proxy"
before=$(grep -c "switching endpoint" "$T/relay.log")
kill -USR2 "$LATER_PID"
WAIT_SECONDS=20 wait_for grep -q "proxy lying now" "$T/proxy-none.log" || fail "proxy did not switch"
send "msg 5"
WAIT_SECONDS=150 wait_for replies_ge 5 || fail "reply 5 missing: $(replies)"
lines=$(switched_from "$LATER_URL" "$before")
[ -n "$lines" ] || fail "proof-root after trust: the lie was not detected"
echo "4. proof-root after trust: refused $(printf '%s\n' "$lines" | wc -l) times"
N=5

# exactly once and consistent
r=$(replies)
[ "$(printf '%s\n' "$r" | wc -l)" -eq $N ] || fail "expected $N replies, got: $r"
for i in $(seq $N); do
    [ "$(printf '%s\n' "$r" | grep -c "\"reply\":\"msg $i\"")" -eq 1 ] ||
        fail "reply to msg $i not exactly once: $r"
done
ingress=$("$F" rpc --url "$PARA" devnet_offchainIngress "{\"worker\":\"$PK\"}" 2>&1)
[ "$(json_get "$ingress" "['sequence']")" = $N ] || fail "OffchainIngress (next sequence): $ingress"
WAIT_SECONDS=60 wait_for outbox_finalized_eq $N ||
    fail "outbox: $(curl -sf "http://127.0.0.1:$mport/metrics" | grep outbox_messages)"
grep -q "the worker refused data ferry verified" "$T/relay.log" &&
    fail "a lying para node was blamed on the worker"
[ "$(json_get "$(winfo)" "['registered']")" = true ] || fail "worker state: $(winfo)"
stop_relay
echo "ok: $N messages, $N replies, exactly once, past an altering para node that stopped lying, two para liars and a trusted para node turned liar"
