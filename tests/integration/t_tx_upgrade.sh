#!/usr/bin/env bash
# ferry tx and ferry decode across a *real* runtime upgrade: the dev chain starts on Rococo spec
# 9130 (DEVNET_RUNTIME=9130) and devnet_upgradeRuntime enacts sudo(system.setCode(9140 code)) in
# one block N, which the 9130 runtime executes (RuntimeEnvironmentUpdated in its header); N+1
# onwards runs 9140. Blocks are built only on request (DEVNET_BLOCK_MS=0), so what lands where is
# deterministic.
#   1. one `ferry tx --repeat 3` process across the upgrade: tx_hold_proxy.js holds the answer to
#      its first submission until the chain's runtime-version notification (9130 -> 9140) comes,
#      so copy 1 is signed with 9130 and lands in N, copies 2 and 3 are signed after the upgrade:
#      ferry must notice it through state_subscribeRuntimeVersion (no retry), sign with 9140 and
#      read copy 1's outcome from N's events with 9130's metadata;
#   2. the chain's own view: versions and metadata at N-1 / N, the digest, decode events at N
#      (9130 metadata, CodeUpdated + Sudid) and N+1 (9140), and every block's events equal to
#      @polkadot/types (tx_events_oracle.js);
#   3. a second chain, --no-follow-runtime: copy 2 is signed with the stale 9130 versions and
#      metadata after the upgrade and must still succeed. 9140 renumbered the System
#      calls and added the CheckNonZeroSender extension without bumping transaction_version
#      (0 in both), so the stale extrinsic does not even decode; the runtime's
#      validate_transaction traps ("wasm `unreachable` instruction executed", as a node's pool
#      would report it too) instead of answering badProof. ferry checks the node's runtime
#      version after any rejection, sees the change, refreshes and retries once.
# Every wait is bounded; only the PIDs started here are stopped.
source "$(dirname "$0")/lib.sh"
FERRY_ROOT=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
FERRY_BIN=${FERRY_BIN:-$FERRY_ROOT/build/ferry}
source "$(dirname "$0")/devnet.sh"
F=$FERRY_BIN
export NODE_PATH=$FERRY_ROOT/tests/devnet/node_modules
T="--timeout 60 --scheme ecdsa" # the dev chain endows only ECDSA dev accounts

# wait_line FILE PATTERN SECONDS — print the first line of FILE matching the sed -n PATTERN
wait_line() {
    local deadline=$((SECONDS + $3)) v=
    while [ $SECONDS -lt $deadline ]; do
        v=$(sed -n "$2" "$1" | head -1)
        [ -n "$v" ] && { echo "$v"; return 0; }
        sleep 0.1
    done
    return 1
}
# pump PID — build a block every 0.3 s until PID exits (at most 60 s)
pump() {
    local deadline=$((SECONDS + 60))
    while kill -0 "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "process $1 still running after 60 s of blocks"
        devnet_rpc devnet_produceBlocks 1 >/dev/null || fail "devnet_produceBlocks failed"
        sleep 0.3
    done
}
spec_at() { json_get "$(devnet_rpc state_getRuntimeVersion ${1:+"\"$1\""})" "['specVersion']"; }
# start_proxy NAME — a hold proxy in front of the dev chain; sets PROXY_URL and PROXY_PID
start_proxy() {
    : >"$FERRY_TMP/$1.log"
    node "$FERRY_ROOT/tests/integration/tx_hold_proxy.js" --upstream "$DEVNET_URL" --max-hold 30000 \
        >"$FERRY_TMP/$1.log" 2>&1 &
    PROXY_PID=$!
    track_pid "$PROXY_PID"
    PROXY_URL=$(wait_line "$FERRY_TMP/$1.log" 's/^proxy ready \(ws:[^ ]*\).*/\1/p' 20) ||
        { cat "$FERRY_TMP/$1.log"; fail "proxy $1 did not start"; }
}
# upgrade — devnet_upgradeRuntime; sets N (the upgrade block) and NHASH
upgrade() {
    local r
    r=$("$F" rpc --url "$DEVNET_URL" --timeout 120 devnet_upgradeRuntime) || fail "devnet_upgradeRuntime: $r"
    N=$(json_get "$r" "['block']")
    NHASH=$(json_get "$r" "['hash']")
    [ "$(json_get "$r" "['from']['specVersion']")" = 9130 ] || fail "upgrade from: $r"
    [ "$(json_get "$r" "['runtimeVersion']['specVersion']")" = 9140 ] || fail "upgrade to: $r"
    [ "$(json_get "$r" "['runtimeEnvironmentUpdated']")" = true ] || fail "no RuntimeEnvironmentUpdated: $r"
    case "$(json_get "$r" "['events']")" in *system.CodeUpdated*sudo.Sudid*) ;; *) fail "upgrade events: $r";; esac
}

t0=$SECONDS
devnet_start DEVNET_RUNTIME=9130 DEVNET_BLOCK_MS=0 DEVNET_FINALITY_LAG=1
echo "devnet (spec 9130) at $DEVNET_URL in $((SECONDS - t0)) s"
[ "$(spec_at)" = 9130 ] || fail "the dev chain does not start on spec 9130"
devnet_rpc devnet_produceBlocks 2 >/dev/null || fail "produce"

# a transaction under 9130, before anything else
"$F" tx --url "$DEVNET_URL" --key //Charlie $T --wait in-block System.remark_with_event 0x0130 \
    >"$FERRY_TMP/pre.out" 2>"$FERRY_TMP/pre.err" &
pre=$!
track_pid "$pre"
pump "$pre"
wait "$pre" || fail "tx under 9130: $(cat "$FERRY_TMP/pre.out" "$FERRY_TMP/pre.err")"
[ "$(json_get "$(cat "$FERRY_TMP/pre.out")" "['result']")" = ExtrinsicSuccess ] || fail "pre: $(cat "$FERRY_TMP/pre.out")"
echo "ok remark_with_event under spec 9130"

# 1. one ferry process across the upgrade
start_proxy hold
"$F" tx --url "$PROXY_URL" --key //Bob $T --repeat 3 --wait finalized System.remark_with_event 0x0a \
    >"$FERRY_TMP/rep.out" 2>"$FERRY_TMP/rep.err" &
rep=$!
track_pid "$rep"
wait_line "$FERRY_TMP/hold.log" '/^proxy holding/p' 30 >/dev/null ||
    fail "ferry's first submission never came: $(cat "$FERRY_TMP/hold.log" "$FERRY_TMP/rep.err")"
kill -0 "$rep" 2>/dev/null || fail "ferry tx exited early: $(cat "$FERRY_TMP/rep.out" "$FERRY_TMP/rep.err")"
t1=$SECONDS
upgrade
echo "upgrade enacted in block #$N $NHASH ($((SECONDS - t1)) s)"
wait_line "$FERRY_TMP/hold.log" '/^proxy released/p' 30 >/dev/null || fail "no release: $(cat "$FERRY_TMP/hold.log")"
grep -q 'released spec 9130 -> 9140' "$FERRY_TMP/hold.log" ||
    fail "released without the runtime-version notification: $(cat "$FERRY_TMP/hold.log")"
pump "$rep"
wait "$rep" || fail "ferry tx --repeat 3 across the upgrade failed: $(cat "$FERRY_TMP/rep.out" "$FERRY_TMP/rep.err")"
python3 - "$N" "$FERRY_TMP/rep.out" <<'EOF' || fail "across the upgrade: $(cat "$FERRY_TMP/rep.out" "$FERRY_TMP/rep.err")"
import json, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(rows) == 3, rows
assert all(r["result"] == "ExtrinsicSuccess" for r in rows), rows
nonces = [r["nonce"] for r in rows]
assert nonces == list(range(nonces[0], nonces[0] + 3)), nonces
assert rows[0]["number"] == n, ("copy 1 should be in the upgrade block", n, rows[0])
assert all(r["number"] > n for r in rows[1:]), ("copies 2, 3 should follow the upgrade", n, rows)
print("copies in blocks", [r["number"] for r in rows], "nonces", nonces)
EOF
grep -q "runtime upgraded to spec 9140" "$FERRY_TMP/rep.err" ||
    fail "ferry did not log the upgrade notice: $(cat "$FERRY_TMP/rep.err")"
! grep -q "retrying once" "$FERRY_TMP/rep.err" || fail "ferry needed the retry: $(cat "$FERRY_TMP/rep.err")"
echo "ok one ferry tx process across the upgrade: copy 1 (9130) in #$N, copies 2-3 signed for 9140 after the notification"

# 2. the chain and the decoders around the upgrade block
P=$(json_get "$(devnet_rpc chain_getHeader "\"$NHASH\"")" "['parentHash']")
[ "$(spec_at "$P")" = 9130 ] || fail "spec at N-1"
[ "$(spec_at "$NHASH")" = 9140 ] || fail "spec at N"
m0=$(devnet_rpc state_getMetadata "\"$P\"" | wc -c)
m1=$(devnet_rpc state_getMetadata "\"$NHASH\"" | wc -c)
[ "$m0" != "$m1" ] || fail "metadata did not change at N ($m0 bytes)"
devnet_rpc chain_getHeader "\"$NHASH\"" | "$F" decode header - >"$FERRY_TMP/hdr.json" || fail "decode header N"
grep -q RuntimeEnvironmentUpdated "$FERRY_TMP/hdr.json" || fail "N's header lacks RuntimeEnvironmentUpdated: $(cat "$FERRY_TMP/hdr.json")"
expect_exit 0 "$F" decode events --url "$DEVNET_URL" --at "$N"
printf '%s' "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert d["spec_version"]==9130, d["spec_version"]
ev=[(e["pallet"],e["event"]) for e in d["events"]]
assert ("System","CodeUpdated") in ev and ("Sudo","Sudid") in ev, ev
s=[e for e in d["events"] if e["event"]=="Sudid"][0]
assert "Ok" in json.dumps(s["fields"]), s
' || fail "decode events at N: $out"
expect_exit 0 "$F" decode events --url "$DEVNET_URL" --at $((N + 1))
[ "$(json_get "$out" "['spec_version']")" = 9140 ] || fail "decode events at N+1: $out"
best=$(json_get "$(devnet_rpc devnet_info)" "['best']")
timeout 120 node "$FERRY_ROOT/tests/integration/tx_events_oracle.js" "$DEVNET_URL" "$F" 1 "$best" ||
    fail "ferry decode events differs from @polkadot/types across the upgrade"
echo "ok versions/metadata at N-1 and N, RuntimeEnvironmentUpdated, decode events at N (9130) and N+1 (9140) = oracle"

# 3. without the runtime-version subscription: the retry after the real rejection
devnet_start DEVNET_RUNTIME=9130 DEVNET_BLOCK_MS=0 DEVNET_FINALITY_LAG=1
devnet_rpc devnet_produceBlocks 1 >/dev/null || fail "produce"
start_proxy hold2
"$F" tx --url "$PROXY_URL" --key //Dave $T --repeat 2 --wait in-block --no-follow-runtime \
    System.remark_with_event 0x0b >"$FERRY_TMP/nf.out" 2>"$FERRY_TMP/nf.err" &
nf=$!
track_pid "$nf"
wait_line "$FERRY_TMP/hold2.log" '/^proxy holding/p' 30 >/dev/null || fail "no first submission: $(cat "$FERRY_TMP/nf.err")"
upgrade
kill -USR1 "$PROXY_PID"
wait_line "$FERRY_TMP/hold2.log" '/^proxy released/p' 10 >/dev/null || fail "no release: $(cat "$FERRY_TMP/hold2.log")"
pump "$nf"
wait "$nf" || fail "no-follow: ferry tx failed across the upgrade: $(cat "$FERRY_TMP/nf.err")"
python3 - "$N" "$FERRY_TMP/nf.out" <<'EOF' || fail "no-follow: $(cat "$FERRY_TMP/nf.out" "$FERRY_TMP/nf.err")"
import json, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(rows) == 2 and all(r["result"] == "ExtrinsicSuccess" for r in rows), rows
assert rows[0]["number"] == n and rows[1]["number"] > n, (n, rows)
EOF
grep -q "retrying once" "$FERRY_TMP/nf.err" || fail "expected a retry: $(cat "$FERRY_TMP/nf.err")"
echo "ok --no-follow-runtime: stale 9130 extrinsic rejected by 9140, runtime change detected, retried once, included after #$N"
echo "PASS t_tx_upgrade ($((SECONDS - t0)) s)"
