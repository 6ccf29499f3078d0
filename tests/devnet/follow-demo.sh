#!/usr/bin/env bash
# The main job on the embedded default: start the local dev chain (relay + parachain 1000, an
# authority-set change every 20 blocks) and run `ferry follow` against it in the foreground.
# Ctrl-C stops both. Settings: DEVNET_* as in tests/devnet/README.md; FERRY_DB (default: a fresh
# store in a temporary directory, removed at exit); extra `ferry follow` options as arguments,
# e.g. `make run ARGS="--json --until 100"`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
ferry=${FERRY_BIN:-$root/build/ferry}
tmp=$(mktemp -d)
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=${DEVNET_PORT:-9944}
port_free "$port" || port=$(pick_port)
pport=${DEVNET_PARA_PORT:-9988}
port_free "$pport" || pport=$(pick_port)
db=${FERRY_DB:-$tmp/follow.db}
devnet_pid=
cleanup() {
    [ -n "$devnet_pid" ] && kill "$devnet_pid" 2>/dev/null && wait "$devnet_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "starting the dev chain (relay ws://127.0.0.1:$port, para 1000 ws://127.0.0.1:$pport) ..." >&2
(cd "$root/tests/devnet" && exec env DEVNET_PORT="$port" DEVNET_PARA_PORT="$pport" \
    DEVNET_PARA="${DEVNET_PARA:-1}" DEVNET_SET_CHANGE_EVERY="${DEVNET_SET_CHANGE_EVERY:-20}" \
    node devnet.js) >"$tmp/devnet.log" 2>&1 &
devnet_pid=$!
for _ in $(seq 600); do
    grep -q "devnet ready" "$tmp/devnet.log" && break
    kill -0 "$devnet_pid" 2>/dev/null || { cat "$tmp/devnet.log" >&2; echo "dev chain failed to start" >&2; exit 3; }
    sleep 0.2
done
grep -q "devnet ready" "$tmp/devnet.log" || { echo "dev chain did not start within 120 s" >&2; exit 3; }
grep "devnet" "$tmp/devnet.log" >&2
para=()
[ "${DEVNET_PARA:-1}" = 1 ] && para=(--para-url "ws://127.0.0.1:$pport" --para-id 1000)
"$ferry" follow --url "ws://127.0.0.1:$port" "${para[@]}" --db "$db" "$@"
