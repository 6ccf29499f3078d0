#!/usr/bin/env bash
# Integration test harness: runs every tests/integration/t_*.sh, each in its own process with a
# time bound, and ends with the plain summary line "N passed, N failed[, N skipped]".
# A test exits 0 (pass), 77 (skip, with its reason on stdout) or anything else (fail).
# Environment passed to tests: FERRY_BIN (the ferry binary), FERRY_VECTORS, BUILD, and
# FERRY_TEST_TIMEOUT (seconds per test, default 600).
set -u
here=$(cd "$(dirname "$0")" && pwd)
export FERRY_BIN=${FERRY_BIN:-$here/../../build/ferry}
export FERRY_VECTORS=${FERRY_VECTORS:-$here/../../../shared/vectors}
export FERRY_ROOT=$(cd "$here/../.." && pwd)
limit=${FERRY_TEST_TIMEOUT:-600}
only=${1:-}
pass=0 fail=0 skip=0 failed=()
for t in "$here"/t_*.sh; do
    name=$(basename "$t" .sh)
    [ -n "$only" ] && [[ $name != *"$only"* ]] && continue
    log=$(mktemp)
    start=$(date +%s)
    timeout --kill-after=10 "$limit" bash "$t" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    case $rc in
        0) pass=$((pass + 1)); echo "PASS $name (${secs}s)" ;;
        77) skip=$((skip + 1)); echo "SKIP $name: $(tail -1 "$log")" ;;
        *) fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc, ${secs}s)"
           sed 's/^/    | /' "$log" | tail -40 ;;
    esac
    rm -f "$log"
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
