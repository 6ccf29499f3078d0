#!/usr/bin/env bash
# Cross-check ferry's sr25519 against three independent implementations in Node.js
# (tests/oracle/sr25519_oracle.mjs: @scure/sr25519, @polkadot/util-crypto and schnorrkel compiled
# to WebAssembly by @polkadot/wasm-crypto). The sr25519 unit suite writes FERRY_SR25519_CASES
# (default 1000) random cases — mini secret -> public key, hard, soft, hard+soft and public-only
# soft derivation, ECDH shared secret, a ferry signature — which every JS implementation must
# reproduce byte for byte and whose signatures they must accept (and refuse once the message,
# key, signature or context is altered), plus a ferry envelope that Node opens as the worker
# (schnorrkel ECDH + node:crypto AES-256-GCM) and answers. The JS signatures and replies then go
# back to the unit suite, which must accept them and refuse the same alterations.
# Skips with a notice when node, the npm packages or the unit-test binary are unavailable.
. "$(dirname "$0")/lib.sh"
root=${FERRY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
oracle=$root/tests/oracle
unit=$root/${BUILD:-build}/unit-tests
command -v node >/dev/null || skip "node not installed: sr25519 oracle skipped"
if [ ! -d "$oracle/node_modules/@scure/sr25519" ] || [ ! -d "$oracle/node_modules/@polkadot/wasm-crypto" ]; then
    command -v npm >/dev/null || skip "npm not installed: sr25519 oracle skipped"
    (cd "$oracle" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1) ||
        skip "npm ci in tests/oracle failed (offline?): sr25519 oracle skipped"
fi
[ -x "$unit" ] || skip "unit-test binary $unit not built (make unit first): sr25519 oracle skipped"
n=${FERRY_SR25519_CASES:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
FERRY_SR25519_DUMP=$work/cases.json FERRY_SR25519_CASES=$n CK_RUN_SUITE=sr25519 "$unit" \
    >"$work/dump.log" 2>&1 || fail "sr25519 unit suite (dump) failed: $(tail -5 "$work/dump.log")"
node "$oracle/sr25519_oracle.mjs" "$work/cases.json" "$work/js.json" >"$work/oracle.log" 2>&1 ||
    fail "JS implementations disagree with ferry: $(tail -25 "$work/oracle.log")"
cat "$work/oracle.log"
FERRY_SR25519_JS=$work/js.json CK_RUN_SUITE=sr25519 "$unit" >"$work/check.log" 2>&1 ||
    fail "ferry refuses JS signatures: $(tail -5 "$work/check.log")"
grep "sr25519 oracle:" "$work/check.log"
echo "ok: $n random cases agree with @scure/sr25519, @polkadot/util-crypto and schnorrkel (wasm)"
