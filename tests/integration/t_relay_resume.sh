#!/usr/bin/env bash
# ferry relay's trust roots and restarts on the dev chain (Rococo, solo, a set change every 10
# blocks; registration and egress off): a fresh worker initialised from a `ferry checkpoint
# export` checkpoint (--checkpoint) reaches the tip; a restart resumes ferry's light client from
# --data-dir/lc.state instead of verifying from the trust root again; a worker restored to an older
# sealed state (behind the saved light client) is caught up again from the checkpoint; a corrupt
# lc.state is ignored with a warning; a checkpoint of another chain stops with exit 4 before the
# worker is touched, a malformed one with exit 2; --header-batch-max holds (chunks end at the
# node's stored justifications, one every 4 blocks here).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
F=$FERRY_BIN
W=$(dirname "$FERRY_BIN")/ferry-worker
[ -x "$W" ] || skip "no ferry-worker next to $FERRY_BIN"
devnet_start DEVNET_SET_CHANGE_EVERY=10 DEVNET_BLOCK_MS=0 DEVNET_JUSTIFICATION_PERIOD=4
T=$FERRY_TMP
fail() {
    echo "FAIL: $*"
    grep -v DEBUG "$T/relay.log" 2>/dev/null | tail -30
    exit 1
}
produce() {
    "$F" rpc --url "$DEVNET_URL" --timeout 600 devnet_produceBlocks "$1" >/dev/null ||
        fail "devnet_produceBlocks $1"
}
finalized() {
    local fin; fin=$(devnet_rpc chain_getFinalizedHead | tr -d '"')
    devnet_rpc chain_getHeader "\"$fin\"" | python3 -c \
        'import json,sys; print(int(json.load(sys.stdin)["number"],16))'
}
"$F" key generate --out "$T/seal.key" >/dev/null 2>&1 || fail "seal key"
wport=$(free_port)
start_worker() { # start_worker DIR
    "$W" --listen "127.0.0.1:$wport" --data-dir "$1" --seal-key-file "$T/seal.key" \
        >>"$T/worker.log" 2>&1 &
    WORKER_PID=$!
    track_pid "$WORKER_PID"
    WAIT_SECONDS=20 wait_for curl -sf "http://127.0.0.1:$wport/prpc/PhactoryAPI.GetInfo" ||
        fail "worker did not start: $(tail -5 "$T/worker.log")"
}
stop_worker() { kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null; }
winfo() { "$F" worker info --url "http://127.0.0.1:$wport"; }
# relay WANT_RC TARGET [ARGS...] — ferry relay until the worker has TARGET; its log in relay.log
relay() {
    local want=$1 target=$2; shift 2
    : >"$T/relay.log"
    timeout 180 "$F" relay --relay-url "$DEVNET_URL" --worker-url "http://127.0.0.1:$wport" \
        --no-register --no-egress --data-dir "${DATA:-$T/relay}" --metrics-addr off \
        --until-block "$target" "$@" >"$T/relay.log" 2>&1
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "ferry relay exit $rc, want $want ($*)"
}

produce 40
timeout 60 "$F" follow --url "$DEVNET_URL" --db "$T/a.db" --until 20 2>"$T/follow.log" ||
    { tail "$T/follow.log"; fail "follow to #20"; }
"$F" checkpoint export --db "$T/a.db" --out "$T/cp.json" || fail "checkpoint export"
cpn=$(json_get "$(cat "$T/cp.json")" "['number']")
cph=$(json_get "$(cat "$T/cp.json")" "['hash']")
[ "$cpn" -ge 20 ] || fail "checkpoint at #$cpn"

# 1. a fresh worker from the checkpoint reaches the tip
start_worker "$T/w"
t1=$(finalized)
relay 0 "$t1" --checkpoint "$T/cp.json"
grep -q "worker initialised at checkpoint #$cpn" "$T/relay.log" || fail "not initialised at the checkpoint"
i=$(winfo)
[ "$(json_get "$i" "['genesis_hash']")" = "$cph" ] || fail "worker genesis: $i"
[ "$(json_get "$i" "['headernum']")" -gt "$t1" ] || fail "worker headers: $i"
[ "$(json_get "$i" "['blocknum']")" -gt "$t1" ] || fail "worker blocks: $i"
[ -s "$T/relay/lc.state" ] || fail "no lc.state saved"

# 2. a restart (without --checkpoint: the data directory remembers the worker's root) resumes
produce 20
t2=$(finalized)
relay 0 "$t2"
grep -q "resuming from the saved light-client state: relay #$t1" "$T/relay.log" ||
    fail "did not resume from the saved state at #$t1"
grep -q "verifying again" "$T/relay.log" && fail "verified again although the state was saved"
[ "$(json_get "$(winfo)" "['headernum']")" -gt "$t2" ] || fail "worker not at #$t2 after the restart"

# 3. the worker restores an older sealed state, behind the saved light client
stop_worker
cp -a "$T/w" "$T/w.old"
start_worker "$T/w"
produce 20
t3=$(finalized)
relay 0 "$t3"
stop_worker
rm -rf "$T/w" && mv "$T/w.old" "$T/w"
start_worker "$T/w"
old=$(json_get "$(winfo)" "['headernum']")
[ "$old" -le "$t3" ] || fail "the restored worker is not behind (#$old)"
produce 10
t4=$(finalized)
relay 0 "$t4" --checkpoint "$T/cp.json"
grep -q "verifying again from the checkpoint" "$T/relay.log" || fail "no fall-back for a worker behind"
[ "$(json_get "$(winfo)" "['headernum']")" -gt "$t4" ] || fail "worker not at #$t4 after its restore"

# 4. a corrupt lc.state: a warning, and the trust root again
printf 'garbage that is not a state' >"$T/relay/lc.state"
produce 5
t5=$(finalized)
relay 0 "$t5" --checkpoint "$T/cp.json"
grep -q "ignoring the saved light-client state" "$T/relay.log" || fail "no warning for a corrupt state"
[ "$(json_get "$(winfo)" "['headernum']")" -gt "$t5" ] || fail "worker not at #$t5"
stop_worker

# 5. another chain's checkpoint: exit 4, the fresh worker left alone; a malformed one: exit 2
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["genesis_hash"]="0x"+"11"*32; json.dump(c,open(sys.argv[2],"w"))' \
    "$T/cp.json" "$T/other.json"
start_worker "$T/w2"
rm -rf "$T/relay"
relay 4 "$t5" --checkpoint "$T/other.json"
grep -q "is for another chain" "$T/relay.log" || fail "no reason for the refused checkpoint"
[ "$(json_get "$(winfo)" "['initialized']")" = false ] || fail "the worker was initialised anyway"
printf '{"genesis_hash": 7}' >"$T/bad.json"
relay 2 "$t5" --checkpoint "$T/bad.json"
grep -q "not a ferry checkpoint" "$T/relay.log" || fail "no reason for the malformed checkpoint"
stop_worker

# 6. --header-batch-max 5: every SyncHeader carries at most 5 headers
start_worker "$T/w3"
DATA=$T/relay3 relay 0 "$t5" --header-batch-max 5 --log-level debug
grep "worker synced relay headers" "$T/relay.log" >"$T/synced" || fail "no SyncHeader logged"
python3 - "$T/synced" <<'PY' || fail "a SyncHeader above --header-batch-max"
import re, sys
n = 0
for line in open(sys.argv[1]):
    a, b = map(int, re.search(r"#(\d+)\.\.#(\d+)", line).groups())
    assert b - a + 1 <= 5, line
    n += 1
assert n >= 10, n
PY
[ "$(json_get "$(winfo)" "['headernum']")" -gt "$t5" ] || fail "worker not at #$t5 with chunks"
echo "ok: checkpoint start, resume from lc.state, worker restored behind it, corrupt state, foreign checkpoint, header batch limit"
