#!/usr/bin/env bash
# `ferry metadata`: the offline metadata inspector end to end on the committed real fixtures
# (tests/unit/fixtures/metadata, see PROVENANCE.md): summary, pallets, calls, storage, constants,
# dynamic decoding, System.Events, call encoding, input forms (binary, hex text, JSON-RPC
# response, stdin) and the exit-code contract on bad input.
. "$(dirname "$0")/lib.sh"
F=$FERRY_BIN
D=$FERRY_ROOT/tests/unit/fixtures/metadata
V14=$D/polkadot-v14.scale
V15=$D/polkadot-v15-opaque.scale
[ -f "$V14" ] || fail "fixture $V14 missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_exit 0 "$F" metadata --help
expect_exit 2 "$F" metadata
expect_exit 2 "$F" metadata "$V14" --bogus
expect_exit 3 "$F" metadata "$tmp/does-not-exist"

expect_exit 0 "$F" metadata "$V14"
grep -q "^metadata V14, 871 types, 57 pallets, extrinsic v4" <<<"$out" || fail "summary: $out"
grep -q "CheckMetadataHash" <<<"$out" || fail "signed extensions missing"
expect_exit 0 "$F" metadata "$V15" --json
[ "$(json_get "$out" "['version']")" = 15 ] || fail "V15 summary"
[ "$(json_get "$out" "['pallets'][0]['name']")" = System ] || fail "V15 first pallet"

expect_exit 0 "$F" metadata "$V14" --pallets
grep -qx "5 Balances" <<<"$out" || fail "--pallets lacks '5 Balances'"
expect_exit 0 "$F" metadata "$V14" --calls Balances
grep -q "^5.3 Balances.transfer_keep_alive(dest: " <<<"$out" || fail "--calls: $out"
expect_exit 0 "$F" metadata "$V14" --calls Balances --json
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if [c["index"] for c in d if c["name"] == "transfer_keep_alive"] == [3] else 1)' "$out" ||
    fail "--calls --json"
expect_exit 1 "$F" metadata "$V14" --calls NoSuchPallet
grep -q "no pallet named NoSuchPallet" <<<"$err" || fail "unknown pallet reason: $err"
expect_exit 0 "$F" metadata "$V14" --storage System
grep -q "^System.Account: map \[Blake2_128Concat\] AccountId32 -> " <<<"$out" || fail "--storage"
expect_exit 0 "$F" metadata "$V14" --constant System.Version
[ "$(json_get "$out" "['spec_name']")" = polkadot ] || fail "System.Version"
[ "$(json_get "$out" "['spec_version']")" = 1002005 ] || fail "spec_version"
expect_exit 0 "$F" metadata "$V14" --constant System.BlockHashCount
[ "$out" = 4096 ] || fail "BlockHashCount = $out"

# Dynamic decoding: type 0 is AccountId32 in this registry; a truncated value is rejected.
expect_exit 0 "$F" metadata "$V14" --decode-type 0 0x$(printf '11%.0s' {1..32})
[ "$out" = "\"0x$(printf '11%.0s' {1..32})\"" ] || fail "AccountId32 decode: $out"
expect_exit 1 "$F" metadata "$V14" --decode-type 0 0x1111
grep -q "at byte 0" <<<"$err" || fail "no offset in the reason: $err"
expect_exit 1 "$F" metadata "$V14" --decode-type 999999 0x00

# System.Events and call encoding, checked against the @polkadot/types oracle.
ev=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_sample"]["bytes"])' "$D/polkadot-v14.oracle.json")
expect_exit 0 "$F" metadata "$V14" --events "$ev"
python3 - "$out" "$D/polkadot-v14.oracle.json" <<'PY' || fail "events differ from the oracle"
import json, sys
got = json.loads(sys.argv[1]); want = json.load(open(sys.argv[2]))["events_sample"]["decoded"]
sys.exit(0 if got == want else 1)
PY
call=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["call_sample"]; print(json.dumps(c["args"])); print(c["bytes"])' "$D/polkadot-v14.oracle.json")
expect_exit 0 "$F" metadata "$V14" --encode-call Balances.transfer_keep_alive "$(sed -n 1p <<<"$call")"
[ "$out" = "$(sed -n 2p <<<"$call")" ] || fail "call bytes $out"
expect_exit 1 "$F" metadata "$V14" --encode-call Balances.transfer_keep_alive '{"dest":{"Id":"0x00"},"value":1}'
grep -q "at .dest.Id" <<<"$err" || fail "encode error lacks the JSON path: $err"

# Input forms: hex text file, JSON-RPC response, stdin, 0x argument.
hex=0x$(xxd -p "$D/contracts-node-v14.scale" | tr -d '\n')
echo "$hex" >"$tmp/md.hex"
echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"$hex\"}" >"$tmp/md.json"
for input in "$tmp/md.hex" "$tmp/md.json"; do
    expect_exit 0 "$F" metadata "$input" --pallets
    grep -qx "0 System" <<<"$out" || fail "$input: pallets"
done
out=$("$F" metadata - --pallets <"$D/contracts-node-v14.scale") || fail "stdin rejected"
grep -qx "0 System" <<<"$out" || fail "stdin: pallets"
# hand-made: no types, yet the extrinsic refers to type 0
expect_exit 1 "$F" metadata 0x6d6574610e000000040000
grep -q "missing type id" <<<"$err" || fail "dangling type id reason: $err"

# Hostile metadata: bad magic, unknown version, truncation — exit 1 with a byte offset.
printf 'MET\x61\x0e' >"$tmp/bad"
expect_exit 1 "$F" metadata "$tmp/bad"
grep -q 'bad magic' <<<"$err" || fail "bad magic reason: $err"
expect_exit 1 "$F" metadata 0x6d657461100000
grep -q "unsupported metadata version .* at byte 4" <<<"$err" || fail "version reason: $err"
head -c 30000 "$V14" >"$tmp/trunc"
expect_exit 1 "$F" metadata "$tmp/trunc"
grep -q "at byte" <<<"$err" || fail "truncation reason: $err"
echo "ok"
