#!/usr/bin/env bash
# ferry-worker as a process: it logs where it listens, `ferry worker info` reads it, a second
# worker on the same data dir is refused, SIGTERM seals and exits 0, a restart keeps the keys,
# corrupted or foreign state and a group-readable seal key are refused (and the state file is
# left as it was), the body limit answers 413.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
F=$FERRY_BIN
W=$(dirname "$FERRY_BIN")/ferry-worker
[ -x "$W" ] || fail "no ferry-worker next to $FERRY_BIN"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

# wait_for FILE PATTERN SECONDS — poll until FILE contains PATTERN.
wait_for() {
    local end=$(( $(date +%s) + $3 ))
    while ! grep -q "$2" "$1" 2>/dev/null; do
        [ "$(date +%s)" -lt "$end" ] || fail "timed out waiting for '$2' in $1: $(cat "$1")"
        sleep 0.05
    done
}
# start LOG [ARGS...] — start a worker on a free port; sets $pid and $url.
start() {
    local log=$1; shift
    "$W" --listen 127.0.0.1:0 --data-dir "$tmp/data" --seal-key-file "$tmp/seal.key" "$@" \
        >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "$log" "listening on" 10
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
}

expect_exit 0 "$F" key generate --out "$tmp/seal.key"
start "$tmp/w1.log" --log-level debug
expect_exit 0 "$F" worker info --url "$url"
[ "$(json_get "$out" "['initialized']")" = false ] || fail "fresh worker initialized: $out"
pk=$(json_get "$out" "['public_key']")
[ ${#pk} -eq 66 ] || fail "public key: $pk"

# a second worker on the same data dir
expect_exit 1 "$W" --listen 127.0.0.1:0 --data-dir "$tmp/data" --seal-key-file "$tmp/seal.key"
[[ $err == *"in use by another ferry-worker"* ]] || fail "second worker: $err"

# the body limit (GetInfo: 1 KiB) over HTTP
code=$(head -c 4096 /dev/zero | curl -s -o /dev/null -w '%{http_code}' --data-binary @- \
    "$url/prpc/PhactoryAPI.GetInfo")
[ "$code" = 413 ] || fail "oversized GetInfo body: HTTP $code"
printf '\x0a\xff' > "$tmp/garbage"
code=$(curl -s -o "$tmp/err" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$tmp/garbage" "$url/prpc/PhactoryAPI.SyncHeader")
[ "$code" = 400 ] || fail "garbage SyncHeader: HTTP $code"
grep -q '"error"' "$tmp/err" || fail "JSON error body: $(cat "$tmp/err")"

# SIGTERM while a request is in flight (a 1 MiB body arriving at 256 KiB/s): the request is
# finished (answered: 400, zeros are not a protobuf message), then the state sealed and exit 0
head -c 1048576 /dev/zero > "$tmp/zeros"
curl -s -o "$tmp/slow.out" -w '%{http_code}' --limit-rate 256k --data-binary @"$tmp/zeros" \
    "$url/prpc/PhactoryAPI.DispatchBlocks" > "$tmp/slow.code" &
cpid=$!
wait_for "$tmp/w1.log" "DispatchBlocks: request started" 10
kill -TERM "$pid"
wait "$cpid"
[ "$(cat "$tmp/slow.code")" = 400 ] || fail "in-flight request during SIGTERM: HTTP $(cat "$tmp/slow.code")"
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || fail "exit status after SIGTERM: $rc ($(cat "$tmp/w1.log"))"
grep -q "stopped" "$tmp/w1.log" || fail "no 'stopped' line: $(cat "$tmp/w1.log")"
[ -f "$tmp/data/state.sealed" ] || fail "no sealed state"

# restart: same identity
start "$tmp/w2.log"
expect_exit 0 "$F" worker info --url "$url"
[ "$(json_get "$out" "['public_key']")" = "$pk" ] || fail "restart changed the key: $out"
kill -TERM "$pid"; wait "$pid" || fail "second stop"

# corrupted state: refused, file untouched
cp "$tmp/data/state.sealed" "$tmp/good"
printf '\x01' | dd of="$tmp/data/state.sealed" bs=1 seek=50 conv=notrunc 2>/dev/null
cp "$tmp/data/state.sealed" "$tmp/bad"
expect_exit 1 "$W" --listen 127.0.0.1:0 --data-dir "$tmp/data" --seal-key-file "$tmp/seal.key"
[[ $err == *"refusing the sealed state"* ]] || fail "corrupted state: $err"
cmp -s "$tmp/bad" "$tmp/data/state.sealed" || fail "a refused state file was modified"
cp "$tmp/good" "$tmp/data/state.sealed"

# foreign seal key
expect_exit 0 "$F" key generate --out "$tmp/other.key"
expect_exit 1 "$W" --listen 127.0.0.1:0 --data-dir "$tmp/data" --seal-key-file "$tmp/other.key"
[[ $err == *"does not open under this seal key"* ]] || fail "foreign key: $err"
cmp -s "$tmp/good" "$tmp/data/state.sealed" || fail "state file modified by a foreign start"

# seal key readable by others
chmod 644 "$tmp/seal.key"
expect_exit 1 "$W" --listen 127.0.0.1:0 --data-dir "$tmp/data" --seal-key-file "$tmp/seal.key"
[[ $err == *"must be 0600"* ]] || fail "open seal key: $err"
echo "worker process: ok"
