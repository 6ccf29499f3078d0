#!/usr/bin/env bash
# `ferry decode` and the CLI contract: outputs, exit codes 0/1/2, --help.
. "$(dirname "$0")/lib.sh"
need_vectors
F=$FERRY_BIN

expect_exit 0 "$F" --help
grep -q "decode" <<<"$out" || fail "--help does not list decode"
expect_exit 2 "$F" no-such-command
expect_exit 0 "$F" decode --help
expect_exit 2 "$F" decode
expect_exit 2 "$F" decode bogus 0x00

expect_exit 0 "$F" decode compact 0x0300000040
[ "$out" = 1073741824 ] || fail "compact 0x0300000040 gave $out"
expect_exit 0 "$F" decode compact 0x13ffffffffffffffff
[ "$out" = 18446744073709551615 ] || fail "u64 max gave $out"
expect_exit 1 "$F" decode compact 0x0100       # non-canonical
grep -q "non-canonical" <<<"$err" || fail "no reason for non-canonical compact: $err"
expect_exit 1 "$F" decode compact 0x03ffff     # truncated
expect_exit 1 "$F" decode compact 0x0000       # trailing byte
expect_exit 1 "$F" decode compact zz

# Every real header: hash and encoding round-trip through the CLI.
python3 - "$FERRY_VECTORS/headers/headers.json" >/tmp/ferry-it-headers.$$ <<'PY'
import json, sys
for h in json.load(open(sys.argv[1]))['headers']:
    print(h['name'], h['hash'], h['encoded'])
PY
while read -r name hash enc; do
    echo "$enc" >/tmp/ferry-it-h.$$
    expect_exit 0 "$F" decode header @/tmp/ferry-it-h.$$
    [ "$(json_get "$out" "['hash']")" = "$hash" ] || fail "$name: wrong hash"
    [ "$(json_get "$out" "['encoded']")" = "$enc" ] || fail "$name: encoding not preserved"
done </tmp/ferry-it-headers.$$
rm -f /tmp/ferry-it-headers.$$ /tmp/ferry-it-h.$$

# JSON header shape (as chain_getHeader returns it) on stdin, with an FRNK ScheduledChange.
json='{"parentHash":"0x0000000000000000000000000000000000000000000000000000000000000000","number":"0x2a","stateRoot":"0x1111111111111111111111111111111111111111111111111111111111111111","extrinsicsRoot":"0x2222222222222222222222222222222222222222222222222222222222222222","digest":{"logs":["0x0446524e4b59010108111111111111111111111111111111111111111111111111111111111111111101000000000000002222222222222222222222222222222222222222222222222222222222222222020000000000000005000000"]}}'
out=$("$F" decode header - <<<"$json") || fail "JSON header rejected"
[ "$(json_get "$out" "['number']")" = 42 ] || fail "number not 42"
[ "$(json_get "$out" "['digest'][0]['decoded']['kind']")" = ScheduledChange ] || fail "FRNK not decoded"
[ "$(json_get "$out" "['digest'][0]['decoded']['delay']")" = 5 ] || fail "delay not 5"
expect_exit 1 "$F" decode header '{"parentHash":"0x00"}'
expect_exit 1 "$F" decode header 0x00
echo ok
