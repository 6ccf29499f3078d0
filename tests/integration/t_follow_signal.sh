#!/usr/bin/env bash
# ferry follow and signals: SIGTERM at the tip stops it at once with exit 0 and every reported
# block flushed; against a node that stops answering (the connection stays up), the first SIGINT
# waits for the request in flight but a second one quits at once, and the store is intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/devnet.sh"
devnet_start DEVNET_BLOCK_MS=250
F=$FERRY_BIN
T=$FERRY_TMP
CHECK="python3 $(dirname "$0")/check_follow.py --relay-url $DEVNET_URL"
finalized() { devnet_rpc devnet_info | python3 -c 'import json,sys; print(json.load(sys.stdin)["finalized"])'; }
reached() { [ "$(finalized)" -ge "$1" ]; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
WAIT_SECONDS=120 wait_for reached 6 || fail "dev chain did not reach #6"

# 1. SIGTERM while following live: exit 0 within 2 s, all reported blocks on stdout.
"$F" follow --url "$DEVNET_URL" --db "$T/a.db" --json >"$T/a.jsonl" 2>"$T/a.log" &
pid=$!
track_pid $pid
WAIT_SECONDS=60 wait_for has_lines "$T/a.jsonl" 6 || { tail "$T/a.log"; fail "follow did not start"; }
kill -TERM $pid
WAIT_SECONDS=2 wait_for gone $pid || fail "SIGTERM at the tip did not stop ferry within 2 s"
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc, want 0"
$CHECK "$T/a.jsonl" || fail "SIGTERM: output"
last=$(tail -1 "$T/a.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
stored=$("$F" checkpoint export --db "$T/a.db" | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
[ "$last" = "$stored" ] || fail "SIGTERM: last printed #$last but the store holds #$stored (unflushed output)"

# 2. A node that stops answering: one SIGINT waits (timeout 30 s), a second quits at once.
port=$(free_port)
node "$(dirname "$0")/tamper-proxy.js" --upstream "$DEVNET_URL" --mode stall --port "$port" \
    >"$T/proxy.log" 2>&1 &
track_pid $!
wait_for grep -q "proxy ready" "$T/proxy.log" || fail "proxy did not start"
"$F" follow --url "ws://127.0.0.1:$port" --db "$T/b.db" --json >"$T/b.jsonl" 2>"$T/b.log" &
pid=$!
track_pid $pid
WAIT_SECONDS=30 wait_for grep -q "proxy stalled" "$T/proxy.log" || fail "ferry never reached the stall"
sleep 0.5
kill -INT $pid
sleep 1
kill -0 $pid 2>/dev/null || echo "note: stopped on the first SIGINT"
kill -INT $pid 2>/dev/null
WAIT_SECONDS=2 wait_for gone $pid || fail "a second SIGINT did not stop ferry within 2 s"
wait $pid 2>/dev/null
grep -q "signal again" "$T/b.log" || fail "the first SIGINT did not say how to quit at once"
# The store is whole: follow resumes from it against the honest node.
timeout 60 "$F" follow --url "$DEVNET_URL" --db "$T/b.db" --until 3 >/dev/null 2>"$T/b2.log" ||
    { tail "$T/b2.log"; fail "resume after the forced quit"; }
echo ok
