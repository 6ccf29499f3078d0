#!/usr/bin/env bash
# ferry checkpoint export → ferry follow --checkpoint: a fresh store started from a checkpoint of
# another store follows on across authority-set changes and reports canonical blocks from the
# checkpoint's child on; a checkpoint or a store for another chain is refused with exit 1 (it
# used to be retried forever as "waiting for the node"); malformed checkpoints are refused with
# a reason (no crash); an export taken while ferry is following on the same store loads.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
devnet_start DEVNET_SET_CHANGE_EVERY=4 DEVNET_BLOCK_MS=250
F=$FERRY_BIN
T=$FERRY_TMP
CHECK="python3 $(dirname "$0")/check_follow.py --relay-url $DEVNET_URL"
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
reached() { [ "$(finalized)" -ge "$1" ]; }
# run_rc WANT CMD... — run CMD with stdout/stderr in $T/out, $T/err; fail unless it exits WANT
# (lib.sh's expect_exit runs CMD in a command substitution, which fires devnet.sh's EXIT trap).
run_rc() {
    local want=$1; shift
    timeout 60 "$@" >"$T/out" 2>"$T/err"; local rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc from: $* ($(cat "$T/err"))"
}
WAIT_SECONDS=180 wait_for reached 18 || fail "dev chain did not reach #18"

timeout 60 "$F" follow --url "$DEVNET_URL" --db "$T/a.db" --until 6 2>"$T/a.log" ||
    { tail "$T/a.log"; fail "follow to #6"; }
run_rc 0 "$F" checkpoint export --db "$T/a.db" --out "$T/cp.json"
n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["number"])' "$T/cp.json")
[ "$n" -ge 6 ] || fail "checkpoint at #$n"
run_rc 3 "$F" checkpoint export --db "$T/a.db" --out "$T/cp.json" # never overwrites

# Round trip: a new store trusts the checkpoint and follows on across set changes.
timeout 60 "$F" follow --url "$DEVNET_URL" --checkpoint "$T/cp.json" --db "$T/b.db" --json \
    --until 18 >"$T/b.jsonl" 2>"$T/b.log" || { tail "$T/b.log"; fail "follow from the checkpoint"; }
grep -q "trust root: checkpoint #$n" "$T/b.log" || fail "did not start from the checkpoint"
first=$(head -1 "$T/b.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
[ "$first" -eq $((n + 1)) ] || fail "first reported block #$first, want #$((n + 1))"
$CHECK --min-set-changes 2 "$T/b.jsonl" || fail "blocks after the checkpoint"

# Another chain's checkpoint: exit 1, nothing reported.
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["genesis_hash"]="0x"+"11"*32; json.dump(c,open(sys.argv[2],"w"))' \
    "$T/cp.json" "$T/other.json"
run_rc 1 "$F" follow --url "$DEVNET_URL" --checkpoint "$T/other.json" --db "$T/c.db" --json --until 18
[ -s "$T/out" ] && fail "reported blocks from another chain's checkpoint"
grep -q "another chain" "$T/err" || fail "no reason for the refused checkpoint: $(cat "$T/err")"

# A store written for another chain: exit 1 (the store is left alone).
cp "$T/a.db" "$T/x.db"
python3 -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute("UPDATE meta SET value=? WHERE key=?", (b"\x11"*32, "genesis_hash")); d.commit()' "$T/x.db"
run_rc 1 "$F" follow --url "$DEVNET_URL" --db "$T/x.db" --json --until 18
[ -s "$T/out" ] && fail "reported blocks into another chain's store"
grep -q "another chain" "$T/err" || fail "no reason for the refused store: $(cat "$T/err")"

# Malformed checkpoints: refused with a reason, never a crash.
printf 'not json' >"$T/bad1.json"
printf '[1,2]' >"$T/bad2.json"
: >"$T/bad3.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["header"]="0x00"; json.dump(c,open(sys.argv[2],"w"))' \
    "$T/cp.json" "$T/bad4.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["authority_set"]=7; json.dump(c,open(sys.argv[2],"w"))' \
    "$T/cp.json" "$T/bad5.json"
for i in 1 2 3 4 5; do
    run_rc 1 "$F" follow --url "$DEVNET_URL" --checkpoint "$T/bad$i.json" --db "$T/d$i.db" --until 18
    grep -q "checkpoint" "$T/err" || fail "bad$i: no reason given: $(cat "$T/err")"
done
run_rc 3 "$F" follow --url "$DEVNET_URL" --checkpoint "$T/missing.json" --db "$T/e.db" --until 18

# Export while ferry follows the same store: every export must load as a checkpoint.
"$F" follow --url "$DEVNET_URL" --db "$T/a.db" >/dev/null 2>"$T/live.log" &
pid=$!
track_pid $pid
for i in $(seq 40); do
    "$F" checkpoint export --db "$T/a.db" --out "$T/live$i.json" 2>>"$T/export.log" || fail "export $i while following"
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["number"], c["hash"])' "$T/live$i.json" >>"$T/live.txt"
done
kill $pid
for i in 1 20 40; do
    timeout 30 "$F" follow --url "$DEVNET_URL" --checkpoint "$T/live$i.json" --db "$T/l$i.db" --until 1 \
        2>"$T/l$i.log" || { tail "$T/l$i.log"; fail "export $i taken while following does not load"; }
done
echo ok
