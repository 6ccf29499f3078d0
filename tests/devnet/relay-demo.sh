#!/usr/bin/env bash
# The whole system on loopback (`make run`): the dev chain running the real Phala runtime
# (a GRANDPA solo chain with an authority-set change every 20 blocks; DEVNET_MODE=para for the
# Rococo relay + Phala parachain 2035), ferry-worker, and ferry relay in the foreground; a user
# (//Charlie) sends the worker a message every few seconds with `ferry message send`, and the
# decrypted replies are printed as they arrive on chain. Ctrl-C stops everything.
# Settings: DEVNET_* as in tests/devnet/README.md, DEMO_EVERY (seconds between messages, 5);
# extra `ferry relay` options as arguments (`make run ARGS="--log-level debug"`).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
ferry=${FERRY_BIN:-$root/build/ferry}
worker=$(dirname "$ferry")/ferry-worker
tmp=$(mktemp -d)
pick_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(pick_port)
pport=$(pick_port)
wport=$(pick_port)
pids=()
cleanup() {
    for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mode=${DEVNET_MODE:-solo}
if [ "$mode" = para ]; then
    env_chain=(DEVNET_PARA=phala)
    relay_args=(--relay-url "ws://127.0.0.1:$port" --para-url "ws://127.0.0.1:$pport" --para-id 2035)
    chain_url="ws://127.0.0.1:$pport"
else
    env_chain=(DEVNET_CHAIN=phala)
    relay_args=(--relay-url "ws://127.0.0.1:$port")
    chain_url="ws://127.0.0.1:$port"
fi
echo "starting the dev chain (Phala runtime, $mode mode) ..." >&2
(cd "$root/tests/devnet" && exec env DEVNET_PORT="$port" DEVNET_PARA_PORT="$pport" "${env_chain[@]}" \
    DEVNET_SET_CHANGE_EVERY="${DEVNET_SET_CHANGE_EVERY:-20}" node devnet.js) >"$tmp/devnet.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do
    grep -q "devnet ready" "$tmp/devnet.log" && break
    kill -0 "${pids[0]}" 2>/dev/null || { cat "$tmp/devnet.log" >&2; echo "dev chain failed to start" >&2; exit 3; }
    sleep 0.2
done
grep -q "devnet ready" "$tmp/devnet.log" || { echo "dev chain did not start within 120 s" >&2; exit 3; }
grep "devnet" "$tmp/devnet.log" >&2

"$ferry" key generate --out "$tmp/seal.key" >/dev/null 2>&1
printf '//Bob\n' >"$tmp/relay.key"
printf '//Charlie\n' >"$tmp/user.key"
chmod 600 "$tmp/relay.key" "$tmp/user.key"
"$worker" --listen "127.0.0.1:$wport" --data-dir "$tmp/worker" --seal-key-file "$tmp/seal.key" \
    >"$tmp/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening" "$tmp/worker.log" && break; sleep 0.1; done
pk=$(grep -o 'public key 0x[0-9a-f]*' "$tmp/worker.log" | head -1 | cut -d' ' -f3)
echo "ferry-worker on http://127.0.0.1:$wport, identity $pk" >&2

# the user: a message every DEMO_EVERY seconds once the worker is registered, replies as they come
(
    n=0
    until "$ferry" worker info --url "http://127.0.0.1:$wport" 2>/dev/null | grep -q '"registered":true'; do
        sleep 2
    done
    seen=0
    while :; do
        n=$((n + 1))
        "$ferry" message send --url "$chain_url" --key-file "$tmp/user.key" --worker "$pk" \
            "hello #$n from //Charlie" >/dev/null 2>>"$tmp/user.log" &&
            echo "user: sent \"hello #$n from //Charlie\"" >&2
        r=$("$ferry" message replies --url "$chain_url" --key-file "$tmp/user.key" --from 1 2>/dev/null)
        c=$(printf '%s' "$r" | grep -c reply)
        if [ "$c" -gt "$seen" ]; then
            printf '%s\n' "$r" | tail -n $((c - seen)) | sed 's/^/user: reply /' >&2
            seen=$c
        fi
        sleep "${DEMO_EVERY:-5}"
    done
) &
pids+=($!)

"$ferry" relay "${relay_args[@]}" --worker-url "http://127.0.0.1:$wport" --key-file "$tmp/relay.key" \
    --key-scheme ecdsa --data-dir "$tmp/relay" --metrics-addr 127.0.0.1:0 "$@"
