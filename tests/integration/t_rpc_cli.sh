#!/usr/bin/env bash
# `ferry rpc` against the scripted JSON-RPC server (build/rpcserver, from tests/unit/rpcserver.c):
# results on stdout, node errors on stderr with exit 1, connection failures exit 3, usage exit 2,
# a notification sent before the subscribe answer, and a subscription that survives the server
# dropping the connection every 3 notifications.
. "$(dirname "$0")/lib.sh"

case $BUILD in /*) srvbin=$BUILD/rpcserver ;; *) srvbin=$FERRY_ROOT/$BUILD/rpcserver ;; esac
[ -x "$srvbin" ] || skip "rpcserver not built ($srvbin); run 'make integration'"

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME [args...] — starts a server, sets $port.
start_server() {
    local name=$1; shift
    "$srvbin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    for _ in $(seq 50); do
        port=$(awk '/^port /{print $2}' "$tmp/$name.out" 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    fail "rpcserver $name did not start: $(cat "$tmp/$name.err")"
}

ferry() { timeout 30 "$FERRY_BIN" "$@"; }

start_server main
ws=ws://127.0.0.1:$port
http=http://127.0.0.1:$port
start_server flaky --close-after-notifications 3
flaky=ws://127.0.0.1:$port

# A call prints its result as one JSON line; params are JSON.
expect_exit 0 ferry rpc --url "$ws" echo '"0x12"' '[1,2]' 5
[ "$out" = '["0x12",[1,2],5]' ] || fail "echo printed $out"
expect_exit 0 ferry rpc --url "$http" system_chain
[ "$out" = '"Ferry Testnet"' ] || fail "http system_chain printed $out"
expect_exit 0 ferry rpc --url "$ws" state_getRuntimeVersion
[ "$(json_get "$out" '["specVersion"]')" = 9140 ] || fail "runtime version: $out"

# A node error: its JSON on stderr, nothing on stdout, exit 1.
expect_exit 1 ferry rpc --url "$ws" error
[ -z "$out" ] || fail "error printed to stdout: $out"
[ "$(json_get "$err" '["code"]')" = -32000 ] || fail "error JSON on stderr: $err"
[ "$(json_get "$err" '["data"]["detail"]')" = x ] || fail "error data on stderr: $err"
expect_exit 1 ferry rpc --url "$http" no_such_method

# Connection failures exit 3, quickly.
start=$(date +%s)
expect_exit 3 ferry rpc --url ws://127.0.0.1:1 system_chain
expect_exit 3 ferry rpc --url http://127.0.0.1:1 system_chain
[ $(( $(date +%s) - start )) -lt 10 ] || fail "connection failure took too long"
# ... unless another URL works: they are rotated.
expect_exit 0 ferry rpc --url ws://127.0.0.1:1 --url "$ws" system_chain
# A deadline that passes is exit 3 too.
expect_exit 3 ferry rpc --url "$ws" --timeout 1 delay 5000 1

# Usage errors exit 2.
expect_exit 2 ferry rpc --url "$ws" echo 'not json'
expect_exit 2 ferry rpc echo
expect_exit 2 ferry rpc --url ftp://x echo
expect_exit 2 ferry rpc --url "$http" --subscribe sub 10 --count 1 --unsubscribe unsub

# Large messages: 20 MiB is fine by default; over --max-message-mib is exit 3.
expect_exit 0 ferry rpc --url "$ws" big 20971520
[ ${#out} -eq 20971522 ] || fail "20 MiB answer printed ${#out} bytes"
expect_exit 3 ferry rpc --url "$ws" --max-message-mib 1 big 2000000

# Subscriptions: N lines, then unsubscribe and exit 0.
expect_exit 0 ferry rpc --url "$ws" --subscribe chain_subscribeFinalizedHeads --count 3
[ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ] || fail "expected 3 headers, got: $out"
[ "$(printf '%s\n' "$out" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')" = 0x3 ] ||
    fail "third header: $out"

# A node may send the first notification before the answer carrying the subscription id
# (chopsticks does for state_subscribeRuntimeVersion): it is printed at once, not lost. The
# next one would come only after 60 s, so a lost first notification means exit 3.
start=$(date +%s)
expect_exit 0 ferry rpc --url "$ws" --timeout 5 --subscribe early_sub 1 0 60000 --count 1 --unsubscribe unsub
[ "$(json_get "$out" '["early"]')" = true ] || fail "early notification: $out"
[ $(( $(date +%s) - start )) -lt 4 ] || fail "early notification took too long"

# The server drops the connection after every 3 notifications: the CLI re-subscribes and still
# prints 10 strictly increasing values.
expect_exit 0 ferry rpc --url "$flaky" --subscribe sub 10 --count 10 --unsubscribe unsub
[ "$(printf '%s\n' "$out" | wc -l)" -eq 10 ] || fail "expected 10 notifications, got: $out"
printf '%s\n' "$out" | python3 -c '
import sys
v = [int(l) for l in sys.stdin]
assert all(a < b for a, b in zip(v, v[1:])), v
' || fail "notifications not increasing: $out"
grep -q "re-subscribed after a reconnect" <<<"$err" || fail "no reconnect reported: $err"

echo "rpc CLI: ok"
