#!/usr/bin/env bash
# ferry follow and kill -9 during a catch-up: the store (SQLite + the header log of full chunks)
# stays consistent whatever moment the process dies at, and the --json output over successive
# runs on one store never repeats a block.
#
# The chain is bench/replay-server.js's synthetic, fully valid GRANDPA chain (N blocks, a set
# change every K, a justification every P), served a little slowly (--delay-ms per
# grandpa_proveFinality) so that a catch-up lasts a few seconds and spans several of follow's
# store commits (one per 250 ms while catching up). In each scenario ferry follow --until N runs
# on one store and is killed with SIGKILL KILLS times, in turn a random 0-400 ms after it starts
# (often inside its first, uncommitted transaction), a random 0-200 ms after its first output
# (within its next transaction) and as soon as it has output (while it prints the blocks of a
# commit); then a last run finishes.
# Checks (crash_follow.py):
#   * every run exits 0 or was killed by the test; no ERROR and no "corrupt" in its log;
#   * each run's output is contiguous, starts at the block after the store's last one, and every
#     hash (and set_id) is the server's, so printed blocks link to the stored ones; no block is
#     printed twice across runs and numbers strictly increase (a kill between a commit and its
#     printing may leave committed blocks unprinted: that is documented, and counted);
#   * after every kill `ferry checkpoint export` reads the store: its number never goes back,
#     is at least the last printed one and its hash is the server's;
#   * after every run every header the store keeps is read without ferry (SQLite's relay_chunk
#     rows and the header-log chunks they refer to, decoded per include/ferry/store.h): all
#     present, contiguous up to the checkpoint, each the server's header (hash, parent, set id);
#   * the last run ends at N with the server's hash of N (ferry rpc chain_getBlockHash N) and
#     the store's checkpoint is N.
# Scenarios: proveFinality "substrate" (one batch per set) and "next" (one per justification),
# then "next" with --keep-headers 4096 so that header-log segments (65 536 headers each) are
# pruned across kills: the store's -headers directory ends without segment 0. Then 12 fresh
# stores are each killed within 30 ms of ferry's start (store creation, schema, trust root) and
# resumed to #3000 (crash_follow.py early). Last, the replay
# server is killed and restarted on the same port while ferry catches up: ferry waits for it,
# resumes and prints every block once.
# Environment: CRASH_SEED (random seed, printed), CRASH_KILLS [9] kills per scenario.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
F=$FERRY_BIN
T=$FERRY_TMP
DRIVER="python3 $(dirname "$0")/crash_follow.py"
command -v node >/dev/null || skip "node not installed"
make -s -C "$FERRY_ROOT" devnet-deps >/dev/null 2>&1 || fail "npm ci for tests/devnet failed"
N=80000 K=1000 P=256
SEED=${CRASH_SEED:-$RANDOM}
KILLS=${CRASH_KILLS:-9}
echo "seed $SEED (CRASH_SEED=$SEED repeats the kill moments)"
t0=$(date +%s)

# spawn_server NAME MODE DELAY_MS PORT — start a replay server (PID in SRV_PID_<NAME>);
# server_url NAME — wait until it listens and print its URL.
spawn_server() {
    node "$FERRY_ROOT/bench/replay-server.js" --blocks $N --set-every $K --period $P \
        --prove-finality "$2" --delay-ms "$3" --port "$4" >"$T/server-$1.log" 2>&1 &
    track_pid $!
    eval "SRV_PID_$1=$!"
}
server_url() {
    WAIT_SECONDS=60 wait_for grep -q "replay ready" "$T/server-$1.log" ||
        { cat "$T/server-$1.log"; fail "replay server $1 did not start"; }
    grep -o 'replay ready ws://[0-9.:]*' "$T/server-$1.log" | cut -d' ' -f3
}
gone() { ! kill -0 "$1" 2>/dev/null; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# The two chains are generated in parallel (a few seconds each); the same arguments give the
# same chain, so one list of hashes serves both.
SPORT=$(free_port)
spawn_server substrate substrate 30 "$SPORT"
spawn_server next next 5 0
URL_S=$(server_url substrate) || { echo "$URL_S"; exit 1; }
URL_N=$(server_url next) || { echo "$URL_N"; exit 1; }
$DRIVER hashes --url "$URL_S" --n $N --out "$T/hashes" || fail "cannot list the chain's hashes"
for u in "$URL_S" "$URL_N"; do
    h=$("$F" rpc --url "$u" --timeout 20 chain_getBlockHash $N | tr -d '"')
    [ "$h" = "$(sed -n "$((N + 1))p" "$T/hashes")" ] || fail "server $u: hash of #$N $h differs from the list"
done
echo "servers ready after $(( $(date +%s) - t0 )) s"

crash() { # NAME URL [ferry follow flags...]
    local name=$1 url=$2; shift 2
    $DRIVER crash --ferry "$F" --url "$url" --db "$T/$name.db" --n $N --set-every $K \
        --hashes "$T/hashes" --kills "$KILLS" --min-kills 6 --seed "$SEED" --dir "$T/$name" \
        -- "$@" || fail "scenario $name (seed $SEED)"
}
segments() { ls "$1-headers" 2>/dev/null | grep -c '\.hlog$'; }

crash substrate "$URL_S"
crash next "$URL_N"
# 80 000 blocks keep segments 0 and 1 by default (65 536 headers kept)
[ "$(segments "$T/substrate.db")" -le 2 ] || fail "substrate: $(ls "$T/substrate.db-headers")"

crash next-keep "$URL_N" --keep-headers 4096
segs=$(ls "$T/next-keep.db-headers")
echo "next-keep: header log segments left: $(echo $segs)"
[ -e "$T/next-keep.db-headers/00000000.hlog" ] && fail "segment 0 not pruned with --keep-headers 4096: $segs"
[ "$(segments "$T/next-keep.db")" -ge 1 ] && [ "$(segments "$T/next-keep.db")" -le 2 ] ||
    fail "next-keep: unexpected segments: $segs"
# the pruned store still resumes and answers
"$F" checkpoint export --db "$T/next-keep.db" >/dev/null || fail "next-keep: checkpoint export"

$DRIVER early --ferry "$F" --url "$URL_N" --until 3000 --set-every $K --hashes "$T/hashes" \
    --runs 12 --seed "$SEED" --dir "$T/early" || fail "kills while the store is created (seed $SEED)"

# The node goes away mid-catch-up and comes back (same port, same chain).
R=$T/restart
"$F" follow --url "$URL_S" --db "$R.db" --json --until $N >"$R.jsonl" 2>"$R.log" &
fpid=$!
track_pid $fpid
WAIT_SECONDS=30 wait_for has_lines "$R.jsonl" 1 || { tail "$R.log"; fail "restart: follow printed nothing"; }
kill -9 "$SRV_PID_substrate"
at=$(lines "$R.jsonl")
gone "$fpid" && fail "restart: ferry was done before the node went away (#$at printed)"
wait "$SRV_PID_substrate" 2>/dev/null
echo "restart: node killed with $at lines printed"
spawn_server substrate2 substrate 30 "$SPORT"
u=$(server_url substrate2) || { echo "$u"; exit 1; }
WAIT_SECONDS=60 wait_for gone "$fpid" || { tail "$R.log"; fail "restart: ferry did not finish within 60 s"; }
wait "$fpid"
rc=$?
[ $rc -eq 0 ] || { tail "$R.log"; fail "restart: ferry exit $rc"; }
grep -q "WARN" "$R.log" || echo "note: ferry logged no warning for the outage"
grep -E "ERROR|corrupt" "$R.log" && fail "restart: error in ferry's log"
$DRIVER check --n $N --set-every $K --hashes "$T/hashes" "$R.jsonl" || fail "restart: output"
stored=$("$F" checkpoint export --db "$R.db" | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
[ "$stored" = $N ] || fail "restart: store holds #$stored, want #$N"
echo "restart: ok ($(grep -c WARN "$R.log") warnings while the node was away)"
echo "all scenarios in $(( $(date +%s) - t0 )) s"
echo ok
