#!/usr/bin/env bash
# The real Phala runtime on the dev chain, both shapes, checked by tests/devnet/smoke.js (+
# smoke-phala.js: independent oracles and real calls signed by dev keys in JavaScript, not ferry):
#   1. DEVNET_CHAIN=phala  — Phala as a solo chain with GRANDPA finality and set changes;
#   2. DEVNET_PARA=phala   — Rococo relay + Phala as parachain 2035 (Paras::Heads(2035) proven).
# Needs ../shared/chain/phala/phala_testnet.json (or FERRY_PHALA_SPEC); skips without it.
# Blocks only on demand (DEVNET_BLOCK_MS=0) to keep it short on 2 cores.
source "$(dirname "$0")/lib.sh"
root=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
dir=$root/tests/devnet
command -v node >/dev/null || skip "node not installed"
spec=${FERRY_PHALA_SPEC:-$root/../shared/chain/phala/phala_testnet.json}
[ -f "$spec" ] || skip "Phala chain spec not found at $spec (set FERRY_PHALA_SPEC)"
export FERRY_PHALA_SPEC=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")

make -s -C "$root" devnet-deps >/dev/null 2>&1 || {
    (cd "$dir" && npm ci --no-audit --no-fund) || skip "cannot install the devnet's npm packages (offline?)"
}

log=$(mktemp)
pid=
stop() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null; pid=; fail "devnet did not stop on SIGTERM within 6 s"; }
        wait "$pid"; local rc=$?
        pid=
        [ "$rc" -eq 0 ] || fail "devnet exited $rc on SIGTERM"
    fi
    pid=
}
trap 'stop; rm -f "$log"' EXIT
cd "$dir" || fail "no $dir"

# run_mode NAME ENV... — start the devnet with ENV, wait for its ready lines, run the smoke test
run_mode() {
    local name=$1; shift
    local t0=$SECONDS
    : >"$log"
    env DEVNET_PORT=0 DEVNET_PARA_PORT=0 DEVNET_BLOCK_MS=0 DEVNET_FINALITY_LAG=2 \
        DEVNET_JUSTIFICATION_PERIOD=4 DEVNET_SET_CHANGE_EVERY=5 DEVNET_AUTHORITIES=4 "$@" \
        node devnet.js >"$log" 2>&1 &
    pid=$!
    local deadline=$((SECONDS + 60)) url= purl= want_para=0
    case " $* " in *" DEVNET_PARA=phala "*) want_para=1 ;; esac
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$pid" 2>/dev/null || { cat "$log"; fail "$name: devnet exited during startup"; }
        url=$(sed -n 's/^devnet ready \(ws:[^ ]*\).*/\1/p' "$log" | head -1)
        purl=$(sed -n 's/^devnet para ready \(ws:[^ ]*\).*/\1/p' "$log" | head -1)
        grep -q '^devnet genesis' "$log" && [ -n "$url" ] && { [ $want_para = 0 ] || [ -n "$purl" ]; } && break
        sleep 0.2
    done
    grep -q '^devnet genesis' "$log" || { cat "$log"; fail "$name: devnet not ready within 60 s"; }
    echo "$name: $(grep '^devnet phala' "$log") ($(sed -n 's/.*(started in \(.*\))/\1/p' "$log"))"
    DEVNET_URL=$url DEVNET_PARA_URL=$purl SMOKE_BLOCKS=11 SMOKE_TIMEOUT_S=150 \
        timeout 180 node smoke.js 2> >(grep -v 'Unknown signed extensions CheckMqSequence' >&2) ||
        { tail -30 "$log"; fail "$name: smoke checks failed"; }
    stop
    echo "$name: passed in $((SECONDS - t0)) s"
}

run_mode solo DEVNET_CHAIN=phala
run_mode para DEVNET_PARA=phala
exit 0
