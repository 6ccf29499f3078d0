# Sourced by t_worker_devnet.sh (solo) and t_worker_devnet_para.sh (parachain): ferry-worker end
# to end on the real Phala runtime. worker_e2e.py feeds it like a relayer with standard RPCs
# (headers + justification, read proofs; in parachain mode para headers proven by Paras::Heads
# at the last validated relay block), sends a message with `ferry message send`, submits the
# worker's signed echo reply with PhalaMq.sync_offchain_message (accepted by the runtime's
# signature and sequence checks), sees it confirmed through the proven OffchainIngress, reads it
# with `ferry message replies`, and registers the worker with register_worker_v2(GetRuntimeInfo's
# info, None): the worker then proves PhalaRegistry.Workers(pk) present.
# In: $here, MODE=solo|para.
. "$here/lib.sh"
. "$here/devnet.sh"
command -v python3 >/dev/null || skip "python3 not installed"
W=$(dirname "$FERRY_BIN")/ferry-worker
[ -x "$W" ] || fail "no ferry-worker next to $FERRY_BIN"
if [ "$MODE" = para ]; then
    devnet_start DEVNET_PARA=phala DEVNET_BLOCK_MS=0 DEVNET_FINALITY_LAG=2
else
    devnet_start DEVNET_CHAIN=phala DEVNET_BLOCK_MS=0 DEVNET_FINALITY_LAG=2
fi
"$FERRY_BIN" key generate --out "$FERRY_TMP/seal.key" >/dev/null 2>&1 || fail "seal key"
"$W" --listen 127.0.0.1:0 --data-dir "$FERRY_TMP/worker" --seal-key-file "$FERRY_TMP/seal.key" \
    >"$FERRY_TMP/worker.log" 2>&1 &
wpid=$!
track_pid "$wpid"
WAIT_SECONDS=10 wait_for grep -q "listening on" "$FERRY_TMP/worker.log" || fail "worker did not start"
WORKER_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$FERRY_TMP/worker.log" | head -1)
E2E_PARACHAIN=$([ "$MODE" = para ] && echo 1) FERRY_BIN=$FERRY_BIN DEVNET_URL=$DEVNET_URL \
    DEVNET_PARA_URL=${DEVNET_PARA_URL:-} WORKER_URL=$WORKER_URL WORK=$FERRY_TMP \
    python3 "$here/worker_e2e.py" || { tail -20 "$FERRY_TMP/worker.log"; fail "e2e"; }
kill -TERM "$wpid"
wait "$wpid" || fail "worker exit status $?"
echo "worker devnet $MODE e2e: ok"
