# Sourced by t_relay_phala_solo.sh and t_relay_phala_para.sh with RELAY_MODE=solo|para.
# ferry relay end to end on the real Phala runtime — as a GRANDPA solo chain, or as parachain 2035
# under a Rococo relay chain — with an authority-set change every 10 relay blocks: ferry-worker
# is initialised and follows finality across set changes, gets registered (PhalaRegistry.register_worker_v2), and users' messages reach it and its
# replies reach the chain exactly once — also when ferry relay is killed with -9 while a reply is
# in flight and while syncing, when the worker is restarted, when the dev chain restarts (every
# socket dropped) and when the node serves tampered justifications. Checked at the end: every
# user decrypts each reply once, the chain's OffchainIngress for the worker equals the number of
# replies, and SIGTERM stops the relayer with exit 0.
[ -x "$(dirname "$FERRY_BIN")/ferry-worker" ] || skip "no ferry-worker next to $FERRY_BIN"
if [ "${RELAY_MODE:-solo}" = para ]; then
    devnet_start DEVNET_PARA=phala DEVNET_SET_CHANGE_EVERY=10 DEVNET_BLOCK_MS=1000
    CHAIN_URL=$DEVNET_PARA_URL
    # no --para-id: ferry relay reads ParachainInfo::ParachainId from the parachain (checked below)
    MODE_ARGS=(--relay-url "$DEVNET_URL" --para-url "$DEVNET_PARA_URL")
else
    devnet_start DEVNET_CHAIN=phala DEVNET_SET_CHANGE_EVERY=10 DEVNET_BLOCK_MS=1000
    CHAIN_URL=$DEVNET_URL
    MODE_ARGS=(--relay-url "$DEVNET_URL")
fi
. "$FERRY_ROOT/tests/integration/relay_lib.sh"

start_worker() {
    "$W" --listen "127.0.0.1:$wport" --data-dir "$T/w" --seal-key-file "$T/seal.key" \
        >>"$T/worker.log" 2>&1 &
    WORKER_PID=$!
    track_pid "$WORKER_PID"
    WAIT_SECONDS=20 wait_for curl -sf "http://127.0.0.1:$wport/prpc/PhactoryAPI.GetInfo" ||
        fail "worker did not start: $(tail -5 "$T/worker.log")"
}
start_relay() {
    "$F" relay "${MODE_ARGS[@]}" --worker-url "http://127.0.0.1:$wport" \
        --key-file "$T/relay.key" --key-scheme "${RELAY_SCHEME:-sr25519}" --data-dir "$T/relay" \
        --metrics-addr "127.0.0.1:$mport" --log-level debug --mortality 16 >>"$T/relay.log" 2>&1 &
    RELAY_PID=$!
    track_pid "$RELAY_PID"
    WAIT_SECONDS=30 wait_for curl -sf "http://127.0.0.1:$mport/healthz" ||
        fail "relay did not start: $(tail -5 "$T/relay.log")"
}

start_worker
if [ "${RELAY_MODE:-solo}" = para ]; then
    # --para-id is an override that must match the parachain's own ParachainInfo::ParachainId
    timeout 120 "$F" relay "${MODE_ARGS[@]}" --para-id 2036 --worker-url "http://127.0.0.1:$wport" \
        --no-register --no-egress --metrics-addr off --data-dir "$T/check" --check \
        >"$T/check.log" 2>&1
    rc=$?
    [ "$rc" -eq 4 ] || fail "--para-id 2036 against para 2035: exit $rc, want 4 ($(tail -3 "$T/check.log"))"
    grep -q "ParachainId 2035" "$T/check.log" || fail "no reason for the para id mismatch: $(tail -3 "$T/check.log")"
fi
start_relay
WAIT_SECONDS=120 wait_for metric_ge ferry_relay_registered 1 ||
    fail "worker not registered: $(grep -v DEBUG "$T/relay.log" | tail -5)"
PK=$("$F" worker info --url "http://127.0.0.1:$wport" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["public_key"])')
[ ${#PK} -eq 66 ] || fail "worker public key: $PK"
if [ "${RELAY_MODE:-solo}" = para ]; then
    grep -q "para id 2035 (ParachainInfo::ParachainId at the parachain's genesis" "$T/relay.log" ||
        fail "para id not read from the parachain's genesis"
    grep -q "para id 2035 proven at the verified para head" "$T/relay.log" ||
        fail "para id not checked against a verified para head"
    "$F" worker info --url "http://127.0.0.1:$wport" | grep -q '"para_id":2035' ||
        fail "worker not initialised for para 2035"
fi
"$F" worker info --url "http://127.0.0.1:$wport" | grep -q '"registered":true' ||
    WAIT_SECONDS=30 wait_for sh -c "'$F' worker info --url http://127.0.0.1:$wport | grep -q '\"registered\":true'" ||
    fail "the worker does not see itself registered"

# 1. plain delivery
send "msg 1"
send "msg 2"
WAIT_SECONDS=90 wait_for replies_ge 2 || fail "replies 1-2 missing: $(replies)"

# 2. kill -9 while a reply is in flight (submitted, not yet finalized)
send "msg 3"
WAIT_SECONDS=60 wait_for metric_ge 'ferry_relay_outbox_messages{state="inflight"}' 1 ||
    fail "no reply went in flight"
kill -9 "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
send "msg 4"
start_relay
WAIT_SECONDS=180 wait_for replies_ge 4 || fail "replies 3-4 missing after kill -9: $(replies)"

# 3. kill -9 in the middle of syncing (no wait for any particular step)
sleep 1.3
kill -9 "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
start_relay

# 4. worker restart (sealed state), with a message sent while it is down
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null
send "msg 5"
start_worker
send "msg 6"
WAIT_SECONDS=180 wait_for replies_ge 6 || fail "replies 5-6 missing after a worker restart: $(replies)"

# 5. the dev chain restarts (every WebSocket dropped, the node away for 3 s)
readies() { grep -c "devnet ready" "$DEVNET_LOG_FILE"; }
before=$(readies)
"$F" rpc --url "$DEVNET_URL" devnet_restart 3000 >/dev/null 2>&1 || fail "devnet_restart"
back() { [ "$(readies)" -gt "$before" ] && { [ "${RELAY_MODE:-solo}" != para ] ||
    [ "$(grep -c "para ready" "$DEVNET_LOG_FILE")" -gt "$before" ]; }; }
WAIT_SECONDS=90 wait_for back || fail "the dev chain did not come back: $(tail -3 "$DEVNET_LOG_FILE")"
WAIT_SECONDS=30 wait_for "$F" rpc --url "$CHAIN_URL" --timeout 5 chain_getFinalizedHead ||
    fail "the dev chain does not answer after its restart"
send "msg 7"
WAIT_SECONDS=180 wait_for replies_ge 7 || fail "reply 7 missing after a chain restart: $(replies)"

# 6. the node serves two tampered justifications: ferry's light client refuses them and the
#    step is retried; nothing bad reaches the worker
"$F" rpc --url "$DEVNET_URL" devnet_tamperNextJustification 2 >/dev/null 2>&1 ||
    fail "devnet_tamperNextJustification"
send "msg 8"
WAIT_SECONDS=180 wait_for replies_ge 8 || fail "reply 8 missing after tampering: $(replies)"
grep -q "rejected" "$T/relay.log" || fail "no rejected batch in the relay log"
"$F" worker info --url "http://127.0.0.1:$wport" | grep -q '"initialized":true' ||
    fail "worker state after tampering"

# exactly once: eight replies, one per message; the chain counted eight
r=$(replies)
[ "$(printf '%s\n' "$r" | wc -l)" -eq 8 ] || fail "expected 8 replies, got: $r"
for i in 1 2 3 4 5 6 7 8; do
    [ "$(printf '%s\n' "$r" | grep -c "\"reply\":\"msg $i\"")" -eq 1 ] ||
        fail "reply to msg $i not exactly once: $r"
done
ingress=$("$F" rpc --url "$CHAIN_URL" devnet_offchainIngress "{\"worker\":\"$PK\"}" 2>&1)
[ "$(json_get "$ingress" "['sequence']")" = 8 ] || fail "OffchainIngress (next sequence): $ingress"
metric_ge ferry_relay_set_id 2 || fail "fewer than two set changes followed: $(metric ferry_relay_set_id)"
WAIT_SECONDS=60 wait_for outbox_finalized_eq 8 ||
    fail "outbox: $(curl -sf "http://127.0.0.1:$mport/metrics" | grep outbox_messages)"

# SIGTERM: finish the step, exit 0
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
rc=$?
[ "$rc" -eq 0 ] || fail "relay exit status after SIGTERM: $rc"
echo "ok: 8 messages, 8 replies, exactly once through kill -9 (twice), a worker restart, a chain restart and tampered justifications"
