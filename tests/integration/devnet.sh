# Sourced by integration tests that need the dev chain (tests/devnet). Provides:
#   devnet_start [ENV=VALUE ...]  start it on free ports with the given settings, wait for
#                                 "devnet ready", export DEVNET_URL (and DEVNET_PARA_URL when
#                                 DEVNET_PARA=1|phala); stopped by PID when the test exits.
#                                 With DEVNET_CHAIN=phala or DEVNET_PARA=phala also exports
#                                 DEVNET_PHALA_URL (the endpoint that runs the Phala runtime)
#   need_phala_spec               skip the test unless ../shared/chain/phala/phala_testnet.json
#                                 (or $FERRY_PHALA_SPEC) exists; exports FERRY_PHALA_SPEC
#   devnet_rpc METHOD [PARAM...]  call the dev chain with ferry rpc and print the result JSON
#   free_port                     print a free TCP port on 127.0.0.1
#   wait_for CMD...               retry CMD until it succeeds (at most WAIT_SECONDS, default 60)
# Skips the test (exit 77) when Node.js is missing; installs the npm packages on first use.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

_ferry_pids=()
_ferry_cleanup() {
    for p in "${_ferry_pids[@]+"${_ferry_pids[@]}"}"; do kill "$p" 2>/dev/null; done
    for p in "${_ferry_pids[@]+"${_ferry_pids[@]}"}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    [ -n "${FERRY_TMP:-}" ] && rm -rf "$FERRY_TMP"
}
trap _ferry_cleanup EXIT
FERRY_TMP=$(mktemp -d)
# track_pid PID — stop this process when the test exits
track_pid() { _ferry_pids+=("$1"); }

wait_for() {
    local deadline=$(( $(date +%s) + ${WAIT_SECONDS:-60} ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

need_phala_spec() {
    local spec=${FERRY_PHALA_SPEC:-$FERRY_ROOT/../shared/chain/phala/phala_testnet.json}
    [ -f "$spec" ] || skip "Phala chain spec not found at $spec (set FERRY_PHALA_SPEC)"
    FERRY_PHALA_SPEC=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
    export FERRY_PHALA_SPEC
}

devnet_start() {
    command -v node >/dev/null || skip "node not installed"
    make -s -C "$FERRY_ROOT" devnet-deps >/dev/null 2>&1 || fail "npm ci for the dev chain failed"
    case " $* " in *" DEVNET_CHAIN=phala "*|*" DEVNET_PARA=phala "*) need_phala_spec ;; esac
    local port; port=$(free_port)
    local pport; pport=$(free_port)
    DEVNET_LOG_FILE=$FERRY_TMP/devnet.log
    ( cd "$FERRY_ROOT/tests/devnet" && exec env DEVNET_PORT="$port" DEVNET_PARA_PORT="$pport" "$@" \
        node devnet.js ) >"$DEVNET_LOG_FILE" 2>&1 &
    DEVNET_PID=$!
    track_pid "$DEVNET_PID"
    WAIT_SECONDS=90 wait_for grep -q "^devnet genesis" "$DEVNET_LOG_FILE" || {
        tail -20 "$DEVNET_LOG_FILE"; fail "devnet did not start"; }
    DEVNET_URL=ws://127.0.0.1:$port
    DEVNET_PARA_URL=ws://127.0.0.1:$pport
    DEVNET_PHALA_URL=
    case " $* " in
        *" DEVNET_CHAIN=phala "*) DEVNET_PHALA_URL=$DEVNET_URL ;;
        *" DEVNET_PARA=phala "*) DEVNET_PHALA_URL=$DEVNET_PARA_URL ;;
    esac
    export DEVNET_URL DEVNET_PARA_URL DEVNET_PHALA_URL DEVNET_PID
}

devnet_rpc() { "$FERRY_BIN" rpc --url "$DEVNET_URL" --timeout 20 "$@"; }
