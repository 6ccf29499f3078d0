# Sourced by the ferry relay tests (after lib.sh and devnet.sh, once the dev chain runs): what
# they share. Sets F (ferry), W (ferry-worker), T (the test's temporary directory), wport (the
# worker's port), mport (the relayer's metrics port), and in $T: seal.key (the worker's),
# relay.key (//Bob, the relayer's) and user.key (//Charlie, the user's), all mode 0600.
# Expects CHAIN_URL (the endpoint of the chain with the Phala pallets) for replies/send, and PK
# (the worker's public key) for send.
#   fail MSG                 print MSG and the relayer's log (no debug lines), exit 1
#   metric NAME              the relayer's metric NAME (with labels) or nothing; metric_ge NAME N
#   winfo                    ferry worker info (JSON)
#   replies / replies_ge N   the user's decrypted replies on chain, one JSON line each
#   send TEXT                the user sends TEXT to the worker
#   outbox_finalized_eq N    the relayer's outbox counts N finalized submissions
#   start_proxy UPSTREAM MODE [LATER]   tamper-proxy.js in front of UPSTREAM (PROXY_URL, PROXY_PID)
F=$FERRY_BIN
W=$(dirname "$FERRY_BIN")/ferry-worker
T=$FERRY_TMP
fail() {
    echo "FAIL: $*"
    echo "--- relay log (without debug lines) ---"
    grep -v DEBUG "$T/relay.log" 2>/dev/null | tail -40
    [ -n "${FERRY_KEEP_LOGS:-}" ] && cp "$T"/*.log "$FERRY_KEEP_LOGS"/ 2>/dev/null
    exit 1
}
wport=$(free_port)
mport=$(free_port)
"$F" key generate --out "$T/seal.key" >/dev/null 2>&1 || fail "seal key"
printf '//Bob\n' >"$T/relay.key"
printf '//Charlie\n' >"$T/user.key"
chmod 600 "$T/relay.key" "$T/user.key"

metric() {
    curl -sf "http://127.0.0.1:$mport/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }
winfo() { "$F" worker info --url "http://127.0.0.1:$wport"; }
replies() {
    "$F" message replies --url "$CHAIN_URL" --key-file "$T/user.key" --from 1 2>/dev/null
}
replies_ge() { [ "$(replies | wc -l)" -ge "$1" ]; }
send() {
    "$F" message send --url "$CHAIN_URL" --key-file "$T/user.key" --worker "$PK" "$1" \
        >>"$T/sent.log" 2>>"$T/send.err" || fail "message send $1: $(tail -3 "$T/send.err")"
}
outbox_finalized_eq() { [ "$(metric 'ferry_relay_outbox_messages{state="finalized"}')" = "$1" ]; }
start_proxy() {
    local port; port=$(free_port)
    node "$FERRY_ROOT/tests/integration/tamper-proxy.js" --upstream "$1" --mode "$2" \
        --port "$port" --later "${3:-$2}" >"$T/proxy-$2.log" 2>&1 &
    PROXY_PID=$!
    track_pid "$PROXY_PID"
    wait_for grep -q "proxy ready" "$T/proxy-$2.log" || fail "proxy $2 did not start"
    PROXY_URL=ws://127.0.0.1:$port
}
