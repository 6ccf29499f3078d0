#!/usr/bin/env bash
# ferry tx / decode events / decode storage against the dev chain (tests/devnet: the real Rococo
# 9140 runtime under chopsticks), which validates and applies what ferry signs:
#   - System.remark_with_event and Balances.transfer between ECDSA accounts, finalized, with
#     ExtrinsicSuccess, the balance change read back with `ferry decode storage`;
#   - sr25519 (the default scheme): //Alice funded from ECDSA //Alice, then a remark signed with
#     MultiSignature::Sr25519 applied by the runtime, a tampered one refused;
#   - failures named from metadata: Balances.InsufficientBalance, Sudo.RequireSudo;
#   - a wrong nonce and a bad signature are rejected with a clear reason; a dead URL exits 3;
#   - 5 back-to-back submissions from one account get consecutive nonces and all succeed;
#   - a runtime version that changes under ferry (tx_upgrade_proxy.js): noticed through the
#     runtime-version subscription, or through the one retry after the bad-proof rejection;
#   - `ferry decode events` on 50 blocks equals @polkadot/types, event by event, field by field.
# Starts the dev chain on a free port and stops it (by PID) on exit; every wait is bounded.
source "$(dirname "$0")/lib.sh"
root=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
F=${FERRY_BIN:-$root/build/ferry}
command -v node >/dev/null || skip "node not installed"
make -s -C "$root" devnet-deps >/dev/null 2>&1 || skip "cannot install the devnet's npm packages (offline?)"
export NODE_PATH=$root/tests/devnet/node_modules

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]+"${pids[@]}"}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]+"${pids[@]}"}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_line FILE PATTERN SECONDS PID — print the first line matching PATTERN (sed -n regex).
wait_line() {
    local deadline=$((SECONDS + $3)) v=
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$4" 2>/dev/null || { cat "$1"; fail "process $4 exited during startup"; }
        v=$(sed -n "$2" "$1" | head -1)
        [ -n "$v" ] && { echo "$v"; return 0; }
        sleep 0.2
    done
    cat "$1"
    fail "no ready line in $1 within $3 s"
}

(cd "$root/tests/devnet" && DEVNET_PORT=0 DEVNET_BLOCK_MS=500 DEVNET_FINALITY_LAG=2 \
    exec node devnet.js) >"$tmp/devnet.log" 2>&1 &
pids+=($!)
U=$(wait_line "$tmp/devnet.log" 's/^devnet ready \(ws:[^ ]*\).*/\1/p' 90 "${pids[0]}")
echo "devnet at $U"

acct() { json_get "$("$F" rpc --url "$U" devnet_info)" "['accounts'][$1]['accountId']"; }
ALICE=$(acct 0) BOB=$(acct 1) CHARLIE=$(acct 2) DAVE=$(acct 3)
[ "$ALICE" = 0x01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed ] ||
    fail "unexpected //Alice account $ALICE"
T="--timeout 60 --scheme ecdsa" # the dev chain endows only ECDSA dev accounts

# 1. remark_with_event, signed with a key file (mode 0600), finalized
printf '//Bob\n' >"$tmp/bob.key"
chmod 600 "$tmp/bob.key"
expect_exit 0 "$F" tx --url "$U" --key-file "$tmp/bob.key" $T System.remark_with_event 0x66657272792d7478
[ "$(json_get "$out" "['result']")" = ExtrinsicSuccess ] || fail "remark: $out"
blk=$(json_get "$out" "['block']")
idx=$(json_get "$out" "['index']")
expect_exit 0 "$F" decode events --url "$U" --at "$blk"
printf '%s' "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin); i=int(sys.argv[1])
ev=[(e["pallet"],e["event"]) for e in d["events"] if e["phase"]=={"ApplyExtrinsic":i}]
assert ("System","Remarked") in ev and ("System","ExtrinsicSuccess") in ev, ev
' "$idx" || fail "decode events at $blk lacks Remarked/ExtrinsicSuccess for extrinsic $idx"
echo "ok remark_with_event (key file) finalized in $blk"

# 2. a transfer between ECDSA accounts (FERRY_KEY_FILE), balance read back from storage
printf '//Alice\n' >"$tmp/alice.key"
chmod 600 "$tmp/alice.key"
free() { json_get "$("$F" decode storage --url "$U" System Account "$1")" "['data']['free']"; }
before=$(free "$CHARLIE")
expect_exit 0 env FERRY_KEY_FILE="$tmp/alice.key" "$F" tx --url "$U" $T Balances.transfer "{\"Id\":\"$CHARLIE\"}" 1234567890123
[ "$(json_get "$out" "['result']")" = ExtrinsicSuccess ] || fail "transfer: $out"
after=$(free "$CHARLIE")
python3 -c "import sys; assert int(sys.argv[2]) - int(sys.argv[1]) == 1234567890123" "$before" "$after" ||
    fail "Charlie's balance went from $before to $after"
expect_exit 0 "$F" decode storage --url "$U" Sudo Key
[ "$out" = "\"$ALICE\"" ] || fail "Sudo.Key = $out"
echo "ok Balances.transfer Alice -> Charlie finalized, balance $before -> $after"

# 2b. sr25519 (ferry's default scheme) against the real runtime: the dev chain endows only the
# ECDSA dev accounts, so ECDSA //Alice first funds sr25519 //Alice (5GrwvaEF...), which then
# signs a remark with MultiSignature::Sr25519 that the runtime verifies and applies.
SR_ALICE=0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d
expect_exit 0 "$F" key inspect //Alice
[ "$(json_get "$out" "['account_id']")" = $SR_ALICE ] || fail "sr25519 //Alice: $out"
expect_exit 0 "$F" tx --url "$U" --key //Alice $T --wait in-block Balances.transfer "{\"Id\":\"$SR_ALICE\"}" 1000000000000000
[ "$(json_get "$out" "['result']")" = ExtrinsicSuccess ] || fail "funding sr25519 //Alice: $out"
expect_exit 0 "$F" tx --url "$U" --key //Alice --timeout 60 System.remark_with_event 0x737232353531392d7478
[ "$(json_get "$out" "['result']")" = ExtrinsicSuccess ] || fail "sr25519 remark: $out"
expect_exit 0 "$F" tx --url "$U" --key //Alice --timeout 60 --dry-run System.remark 0x0102
xt=$(json_get "$out" "['extrinsic']")
python3 -c 'import sys; b=bytes.fromhex(sys.argv[1][2:]); assert b[2+1+1+32] == 1, b[:40].hex()' "$xt" ||
    fail "sr25519 signature is not MultiSignature index 1: $xt"
bad=$(python3 -c 'import sys; b=bytearray.fromhex(sys.argv[1][2:]); b[2+1+1+32+1+10]^=1; print("0x"+b.hex())' "$xt")
expect_exit 1 "$F" tx --url "$U" --timeout 60 --submit "$bad"
case "$err" in *badProof*|*"bad signature"*) ;; *) fail "sr25519 bad signature: $err";; esac
echo "ok sr25519 //Alice funded and its remark applied; a tampered sr25519 signature is refused"

# 3. dispatch failures named from metadata (exit 1, JSON result on stdout)
expect_exit 1 "$F" tx --url "$U" --key //Charlie $T Balances.transfer "{\"Id\":\"$BOB\"}" '"900000000000000000000000000"'
[ "$(json_get "$out" "['result']['error']['module']")" = Balances.InsufficientBalance ] || fail "overdraft: $out"
expect_exit 1 "$F" tx --url "$U" --key //Bob $T --wait in-block Sudo.sudo '{"System":{"remark":{"remark":"0x00"}}}'
[ "$(json_get "$out" "['result']['error']['module']")" = Sudo.RequireSudo ] || fail "sudo: $out"
echo "ok Balances.InsufficientBalance and Sudo.RequireSudo reported by name"

# 4. rejections: wrong nonce, bad signature; unknown call; connection failure
expect_exit 1 "$F" tx --url "$U" --key //Bob $T --nonce 0 System.remark 0x00
case "$err" in *stale*"next nonce is"*) ;; *) fail "wrong nonce: $err";; esac
expect_exit 0 "$F" tx --url "$U" --key //Bob $T --dry-run System.remark 0x0102
xt=$(json_get "$out" "['extrinsic']")
bad=$(python3 -c 'import sys; b=bytearray.fromhex(sys.argv[1][2:]); b[2+1+1+32+1+10]^=1; print("0x"+b.hex())' "$xt")
expect_exit 1 "$F" tx --url "$U" $T --submit "$bad"
case "$err" in *badProof*|*"bad signature"*) ;; *) fail "bad signature: $err";; esac
expect_exit 0 "$F" tx --url "$U" $T --wait in-block --submit "$xt"
[ "$(json_get "$out" "['result']")" = ExtrinsicSuccess ] || fail "untampered copy: $out"
expect_exit 1 "$F" tx --url "$U" --key //Bob $T System.no_such_call
expect_exit 2 "$F" tx --url "$U" --key //Bob $T Balances.transfer 1
expect_exit 2 "$F" tx --url "$U" --key 'bottom drive obey lake curtain smoke basket hold race lonely fit walk//Secret///pw' System.remark 0x00
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
expect_exit 3 "$F" tx --url "ws://127.0.0.1:$port" --key //Bob --timeout 3 System.remark 0x00
echo "ok stale nonce, bad signature, unknown call, bad args, secret --key, dead URL"

# 5. five back-to-back submissions from one account
expect_exit 0 "$F" tx --url "$U" --key //Dave $T --repeat 5 System.remark_with_event 0x05
printf '%s\n' "$out" | python3 -c '
import json,sys
rows=[json.loads(l) for l in sys.stdin if l.strip()]
assert len(rows)==5, rows
n=[r["nonce"] for r in rows]
assert n==list(range(n[0],n[0]+5)), n
assert all(r["result"]=="ExtrinsicSuccess" for r in rows), rows
assert len({r["hash"] for r in rows})==5
print("nonces", n, "blocks", sorted({r["number"] for r in rows}))
' || fail "back-to-back: $out"
echo "ok 5 back-to-back remarks"

# 6. runtime version changing under ferry
for mode in notify retry; do
    node "$root/tests/integration/tx_upgrade_proxy.js" --upstream "$U" --notify $([ $mode = notify ] && echo 1 || echo 0) \
        >"$tmp/proxy-$mode.log" 2>&1 &
    pids+=($!)
    P=$(wait_line "$tmp/proxy-$mode.log" 's/^proxy ready \(ws:[^ ]*\).*/\1/p' 20 "$!")
    extra=$([ $mode = retry ] && echo --no-follow-runtime)
    expect_exit 0 "$F" tx --url "$P" --key //Eve $T --wait in-block $extra System.remark 0x0c
    [ "$(json_get "$out" "['result']")" = ExtrinsicSuccess ] || fail "$mode: $out"
    if [ $mode = notify ]; then
        case "$err" in *"runtime upgraded to spec"*) ;; *) fail "notify: no refresh logged: $err";; esac
        case "$err" in *"retrying once"*) fail "notify: needed the retry: $err";; esac
    else
        case "$err" in *"retrying once"*) ;; *) fail "retry: no retry logged: $err";; esac
    fi
    echo "ok stale runtime version handled ($mode)"
done

# 7. decode events of 50 blocks against @polkadot/types
deadline=$((SECONDS + 60))
while :; do
    best=$(json_get "$("$F" rpc --url "$U" devnet_info)" "['best']")
    [ "$best" -ge 50 ] && break
    [ $SECONDS -lt $deadline ] || fail "the dev chain did not reach block 50 (best $best)"
    sleep 1
done
timeout 300 node "$root/tests/integration/tx_events_oracle.js" "$U" "$F" $((best - 49)) "$best" ||
    fail "ferry decode events differs from @polkadot/types"
echo "PASS t_tx_devnet"
