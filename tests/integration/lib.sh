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
# json_get JSON PATH — print d<PATH> of the JSON text (e.g. "['hash']"); the text goes through
# stdin because headers can exceed the argument size limit.
json_get() { printf '%s' "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); v=eval("d"+sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$2"; }
