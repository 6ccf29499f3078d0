#!/usr/bin/env bash
# Cross-check ferry's verdicts on generated GRANDPA justifications (valid, below threshold, bad
# signature, equivocations, unknown voters, duplicates, descendant votes, GHOST past the target,
# sibling routes, missing/unused ancestry) against an independent implementation in Node.js using
# @polkadot/util-crypto (tests/oracle/grandpa_oracle.js). The grandpa unit suite writes the cases
# (FERRY_GRANDPA_DUMP); the oracle must agree on every verdict.
# Skips with a notice when node, npm packages or the unit-test binary are unavailable.
. "$(dirname "$0")/lib.sh"
root=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
oracle=$root/tests/oracle
unit=$root/${BUILD:-build}/unit-tests
command -v node >/dev/null || skip "node not installed: GRANDPA oracle skipped"
if [ ! -d "$oracle/node_modules/@polkadot/util-crypto" ]; then
    command -v npm >/dev/null || skip "npm not installed: GRANDPA oracle skipped"
    (cd "$oracle" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        skip "npm ci in tests/oracle failed (offline?): GRANDPA oracle skipped"
fi
[ -x "$unit" ] || skip "unit-test binary $unit not built (make unit first): GRANDPA oracle skipped"
need_vectors
dump=$(mktemp -d)
trap 'rm -rf "$dump"' EXIT
FERRY_GRANDPA_DUMP=$dump CK_RUN_SUITE=grandpa FERRY_VECTORS=$FERRY_VECTORS "$unit" >"$dump/unit.log" 2>&1 ||
    fail "grandpa unit suite failed: $(tail -5 "$dump/unit.log")"
n=$(ls "$dump"/*.json 2>/dev/null | wc -l)
[ "$n" -ge 10 ] || fail "expected at least 10 generated cases, got $n"
node "$oracle/grandpa_oracle.js" "$dump" || fail "oracle disagrees with ferry"
echo "ok: $n generated justifications, oracle agrees"
