#!/usr/bin/env bash
# `ferry verify justification`: exit codes and JSON output on the real Polkadot #302592 (set 0)
# and #4635975 (set 450) justifications, every derived negative, and usage/I-O errors.
. "$(dirname "$0")/lib.sh"
need_vectors
[ -x "$FERRY_BIN" ] || skip "ferry binary not built at $FERRY_BIN"
V=$FERRY_VECTORS/grandpa
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Split the vectors into the CLI's inputs (authorities file + hex) with python3.
python3 - "$V" "$tmp" <<'EOF'
import json, sys, os
v, t = sys.argv[1], sys.argv[2]
d = json.load(open(os.path.join(v, "polkadot-302592-set0.json")))
json.dump(d["authorities"], open(os.path.join(t, "auth0.json"), "w"))
json.dump([a["id"] for a in d["authorities"]], open(os.path.join(t, "auth0-ids.json"), "w"))
open(os.path.join(t, "j0.hex"), "w").write(d["justification"])
n = json.load(open(os.path.join(v, "polkadot-302592-set0-negatives.json")))
for c in n["cases"]:
    json.dump(c["authorities"], open(os.path.join(t, c["name"] + ".auth.json"), "w"))
    open(os.path.join(t, c["name"] + ".hex"), "w").write(c["justification"])
    open(os.path.join(t, c["name"] + ".meta"), "w").write("%d %s\n" % (c["set_id"], c["expected"]["reason"]))
d = json.load(open(os.path.join(v, "polkadot-4635975-set450.json")))
json.dump(d["signers"], open(os.path.join(t, "auth450.json"), "w"))
open(os.path.join(t, "j450.hex"), "w").write(d["justification"])
EOF

# valid, both authorities-file shapes, hex from a file and from stdin
expect_exit 0 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/auth0.json" "@$tmp/j0.hex"
[ "$(json_get "$out" '["valid"]')" = true ] || fail "not valid: $out"
[ "$(json_get "$out" '["target"]["number"]')" = 302592 ] || fail "target number: $out"
[ "$(json_get "$out" '["target"]["hash"]')" = 0x29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2 ] || fail "target hash: $out"
[ "$(json_get "$out" '["signatures"]')" = 5 ] || fail "signatures: $out"
[ "$(json_get "$out" '["weight"]')" = 5 ] || fail "weight: $out"
[ "$(json_get "$out" '["threshold"]')" = 5 ] || fail "threshold: $out"
expect_exit 0 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/auth0-ids.json" \
    --target 0x29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2 - <"$tmp/j0.hex"
expect_exit 0 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/auth0.json" "$(cat "$tmp/j0.hex")"

# 199 real signatures of set 450 with 4 threads (voter set = the signers)
expect_exit 0 "$FERRY_BIN" verify justification --threads 4 --set-id 450 --authorities "$tmp/auth450.json" "@$tmp/j450.hex"
[ "$(json_get "$out" '["signatures"]')" = 199 ] || fail "set 450 signatures: $out"
expect_exit 1 "$FERRY_BIN" verify justification --set-id 451 --authorities "$tmp/auth450.json" "@$tmp/j450.hex"
[ "$(json_get "$out" '["reason"]')" = bad_signature ] || fail "set 451: $out"

# every derived negative: exit 1, valid false, the vector's reason (a_or_b: a)
for meta in "$tmp"/*.meta; do
    name=$(basename "$meta" .meta)
    read -r set_id want <"$meta"
    expect_exit 1 "$FERRY_BIN" verify justification --set-id "$set_id" --authorities "$tmp/$name.auth.json" "@$tmp/$name.hex"
    [ "$(json_get "$out" '["valid"]')" = false ] || fail "$name: $out"
    got=$(json_get "$out" '["reason"]')
    case $want in
        "$got" | "${got}_or_"*) ;;
        *) fail "$name: reason $got, want $want ($out)" ;;
    esac
    [ -n "$err" ] || fail "$name: no reason on stderr"
done

# wrong target, undecodable input
expect_exit 1 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/auth0.json" \
    --target 0x0000000000000000000000000000000000000000000000000000000000000000 "@$tmp/j0.hex"
[ "$(json_get "$out" '["reason"]')" = commit_target_mismatch ] || fail "target: $out"
expect_exit 1 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/auth0.json" 0x0102
[ "$(json_get "$out" '["reason"]')" = decode ] || fail "decode: $out"

# usage and I/O errors
expect_exit 2 "$FERRY_BIN" verify justification --authorities "$tmp/auth0.json" "@$tmp/j0.hex"
expect_exit 2 "$FERRY_BIN" verify justification --set-id 0 "@$tmp/j0.hex"
echo '[{"id":"0x12"}]' >"$tmp/bad.json"
expect_exit 2 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/bad.json" "@$tmp/j0.hex"
expect_exit 2 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/auth0.json" nothex
expect_exit 3 "$FERRY_BIN" verify justification --set-id 0 --authorities "$tmp/missing.json" "@$tmp/j0.hex"
echo "ok"
