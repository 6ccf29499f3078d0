# Helpers sourced by the integration tests (tests/integration/t_*.sh).
set -u
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
# expect_exit CODE CMD... — run CMD, fail unless it exits with CODE; its stdout is left in $out.
expect_exit() {
    local want=$1; shift
    out=$("$@" 2>/tmp/ferry-it-stderr.$$); local rc=$?
    err=$(cat /tmp/ferry-it-stderr.$$); rm -f /tmp/ferry-it-stderr.$$
    [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc from: $* (stderr: $err)"
}
need_vectors() { [ -d "$FERRY_VECTORS" ] || skip "vectors not found at $FERRY_VECTORS"; }
# jq-free JSON field check with python3 (present on Debian images and in CI).
json_get() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$1" "$2"; }
