#!/usr/bin/env bash
# Dev chain smoke test: starts tests/devnet (relay + parachain, set changes every 10 blocks) on
# OS-picked ports, runs tests/devnet/smoke.js against it (independent oracles, not ferry), stops it.
source "$(dirname "$0")/lib.sh"
root=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=$root/tests/devnet
command -v node >/dev/null || skip "node not installed"
command -v npm >/dev/null || skip "npm not installed"

make -s -C "$root" devnet-deps >/dev/null 2>&1 || {
    (cd "$dir" && npm ci --no-audit --no-fund) || skip "cannot install the devnet's npm packages (offline?)"
}

log=$(mktemp)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$log"
}
trap cleanup EXIT

cd "$dir" || fail "no $dir"
DEVNET_PORT=0 DEVNET_PARA=1 DEVNET_PARA_PORT=0 DEVNET_BLOCK_MS=1000 DEVNET_FINALITY_LAG=2 \
DEVNET_JUSTIFICATION_PERIOD=8 DEVNET_SET_CHANGE_EVERY=10 DEVNET_AUTHORITIES=4 \
    node devnet.js >"$log" 2>&1 &
pid=$!

deadline=$((SECONDS + 60))
url= purl=
while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$log"; fail "devnet exited during startup"; }
    url=$(sed -n 's/^devnet ready \(ws:[^ ]*\).*/\1/p' "$log" | head -1)
    purl=$(sed -n 's/^devnet para ready \(ws:[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$url" ] && [ -n "$purl" ] && break
    sleep 0.2
done
[ -n "$url" ] && [ -n "$purl" ] || { cat "$log"; fail "devnet not ready within 60 s"; }
echo "devnet at $url, para at $purl"

DEVNET_URL=$url DEVNET_PARA_URL=$purl SMOKE_BLOCKS=30 SMOKE_TIMEOUT_S=170 \
    timeout 200 node smoke.js || { tail -30 "$log"; fail "smoke checks failed"; }

kill -TERM "$pid"
for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "devnet did not stop on SIGTERM within 6 s"
wait "$pid"; rc=$?
pid=
[ "$rc" -eq 0 ] || fail "devnet exited $rc on SIGTERM"
grep -q "devnet: SIGTERM, stopping" "$log" || fail "no clean-stop message"
exit 0
