#!/usr/bin/env bash
# ferry relay across a *real* runtime upgrade, live: the dev chain starts on Rococo spec 9130 and
# devnet_upgradeRuntime enacts sudo(system.setCode(9140 code)) in one block N (its header carries
# RuntimeEnvironmentUpdated); N+1 onwards runs 9140, whose metadata renumbered calls. The relayer
# (solo mode; registration and egress off: Rococo has no Phala pallets, and ferry tx's own
# upgrade handling, which the relayer's submissions share, is t_tx_upgrade.sh) keeps the worker
# in step through the upgrade and across authority-set changes on both sides of it, without a
# restart: headers, read proofs and DispatchBlocks for blocks of both runtimes. Blocks are built
# only on request, so the upgrade lands where the test says.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/devnet.sh"
F=$FERRY_BIN
W=$(dirname "$FERRY_BIN")/ferry-worker
[ -x "$W" ] || skip "no ferry-worker next to $FERRY_BIN"
devnet_start DEVNET_RUNTIME=9130 DEVNET_BLOCK_MS=0 DEVNET_FINALITY_LAG=1 DEVNET_SET_CHANGE_EVERY=10
T=$FERRY_TMP
fail() {
    echo "FAIL: $*"
    echo "--- relay log (without debug lines) ---"
    grep -v DEBUG "$T/relay.log" 2>/dev/null | tail -30
    exit 1
}
wport=$(free_port)
mport=$(free_port)
"$F" key generate --out "$T/seal.key" >/dev/null 2>&1 || fail "seal key"
"$W" --listen "127.0.0.1:$wport" --data-dir "$T/w" --seal-key-file "$T/seal.key" \
    >>"$T/worker.log" 2>&1 &
track_pid $!
WAIT_SECONDS=20 wait_for curl -sf "http://127.0.0.1:$wport/prpc/PhactoryAPI.GetInfo" ||
    fail "worker did not start: $(tail -5 "$T/worker.log")"
"$F" relay --relay-url "$DEVNET_URL" --worker-url "http://127.0.0.1:$wport" --no-register \
    --no-egress --data-dir "$T/relay" --metrics-addr "127.0.0.1:$mport" --log-level debug \
    >>"$T/relay.log" 2>&1 &
RELAY_PID=$!
track_pid "$RELAY_PID"
WAIT_SECONDS=30 wait_for curl -sf "http://127.0.0.1:$mport/healthz" ||
    fail "relay did not start: $(tail -5 "$T/relay.log")"

winfo() { "$F" worker info --url "http://127.0.0.1:$wport"; }
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
# the worker has dispatched every finalized block
caught_up() {
    local fin; fin=$(finalized) || return 1
    [ "$(json_get "$(winfo)" "['blocknum']")" -gt "$fin" ]
}
produce() { devnet_rpc devnet_produceBlocks "$1" >/dev/null || fail "devnet_produceBlocks $1"; }

produce 14
WAIT_SECONDS=90 wait_for caught_up || fail "worker not at the tip before the upgrade: $(winfo)"
before=$(json_get "$(winfo)" "['blocknum']")
r=$("$F" rpc --url "$DEVNET_URL" --timeout 120 devnet_upgradeRuntime) || fail "devnet_upgradeRuntime: $r"
N=$(json_get "$r" "['block']")
[ "$(json_get "$r" "['runtimeVersion']['specVersion']")" = 9140 ] || fail "upgrade: $r"
produce 14
WAIT_SECONDS=120 wait_for caught_up || fail "worker not at the tip after the upgrade (#$N): $(winfo)"
after=$(json_get "$(winfo)" "['blocknum']")
[ "$after" -gt $((N + 10)) ] || fail "worker only reached #$after (upgrade at #$N)"
kill -0 "$RELAY_PID" 2>/dev/null || fail "the relayer exited"
sets=$(curl -sf "http://127.0.0.1:$mport/metrics" | awk '$1 == "ferry_relay_set_id" { print $2 }')
[ "${sets%.*}" -ge 2 ] || fail "fewer than two set changes followed: $sets"
grep -q "the worker refused" "$T/relay.log" && fail "the worker refused data across the upgrade"
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
rc=$?
[ "$rc" -eq 0 ] || fail "relay exit status after SIGTERM: $rc"
echo "ok: worker dispatched #$before before and #$after after the upgrade at #$N (9130 -> 9140), authority set $sets, no restart"
