#!/usr/bin/env bash
# `ferry verify proof`, `ferry verify para-head` and `ferry trie` on the trie vectors: outputs,
# the three lookup outcomes, exit codes 0/1/2/3, every accepted proof shape.
. "$(dirname "$0")/lib.sh"
need_vectors
F=$FERRY_BIN
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
V=$FERRY_VECTORS/trie

expect_exit 0 "$F" verify --help
grep -q "para-head" <<<"$out" || fail "verify --help does not describe para-head"
expect_exit 0 "$F" trie --help
expect_exit 2 "$F" verify
expect_exit 2 "$F" verify bogus
expect_exit 2 "$F" verify proof --root 0x12 --proof x --key 0x00
expect_exit 2 "$F" verify proof --proof x --key 0x00
expect_exit 2 "$F" trie
expect_exit 2 "$F" trie root

# Split every proof object of every vector into files: proof as a JSON array, as the RPC
# result object, and as SCALE hex; plus a lookup table "file root key expected value".
python3 - "$V" "$T" <<'PY'
import json, os, sys
vdir, out = sys.argv[1], sys.argv[2]
rows = []
def emit(name, p):
    json.dump(p['proof_nodes'], open(f'{out}/{name}.arr.json', 'w'))
    json.dump({'at': '0x' + '00' * 32, 'proof': p['proof_nodes']}, open(f'{out}/{name}.obj.json', 'w'))
    open(f'{out}/{name}.scale', 'w').write(p['proof_scale_vec'] + '\n')
    for l in p['lookups']:
        root = l.get('state_root_override', p['state_root'])
        rows.append(f"{name} {root} {l['key']} {l['expected']} {l.get('value', '-')}")
for f in sorted(os.listdir(vdir)):
    d = json.load(open(f'{vdir}/{f}'))
    base = f[:-5]
    if 'proof_nodes' in d:
        emit(base, d)
    for part in ('relay_proof', 'parachain_proof'):
        if part in d:
            emit(f'{base}.{part}', d[part])
    if 'derived_negative' in d:
        neg = d['derived_negative']
        json.dump(neg['proof_nodes'], open(f'{out}/tampered.json', 'w'))
        open(f'{out}/tampered.args', 'w').write(f"{d['state_root']} {neg['key']}\n")
    if f.startswith('staking'):
        # The prefix-scan proofs as one RPC-shaped union (SCALE Vec<Vec<u8>> entries).
        nodes = []
        for ph in d['proofs']:
            b = bytes.fromhex(ph[2:]); i = 0
            def compact(b, i):
                m = b[i] & 3
                if m == 0: return b[i] >> 2, i + 1
                if m == 1: return int.from_bytes(b[i:i+2], 'little') >> 2, i + 2
                if m == 2: return int.from_bytes(b[i:i+4], 'little') >> 2, i + 4
                n = (b[i] >> 2) + 4; return int.from_bytes(b[i+1:i+1+n], 'little'), i + 1 + n
            n, i = compact(b, i)
            for _ in range(n):
                l, i = compact(b, i); nodes.append('0x' + b[i:i+l].hex()); i += l
        json.dump(sorted(set(nodes)), open(f'{out}/staking.json', 'w'))
        ents = d['entries']
        open(f'{out}/staking.args', 'w').write(d['state_root'] + '\n' + '\n'.join(
            f"{e['key']} {e['value']}" for e in ents[:40]) + '\n')
open(f'{out}/lookups.txt', 'w').write('\n'.join(rows) + '\n')
PY

# One call per (proof, root, shape) with all its keys; one Python check of the whole output.
n=0
while read -r name root; do
    mapfile -t keys < <(awk -v n="$name" -v r="$root" '$1 == n && $2 == r {print "--key"; print $3}' "$T/lookups.txt")
    for shape in arr.json obj.json scale; do
        expect_exit 0 "$F" verify proof --root "$root" --proof "$T/$name.$shape" "${keys[@]}"
        printf '%s' "$out" | python3 -c '
import json, sys
name, root, table = sys.argv[1], sys.argv[2], sys.argv[3]
got = json.load(sys.stdin)
want = {"present": None, "absent": None, "incomplete_proof": "incomplete"}
for line in open(table):
    n, r, key, expected, value = line.split()
    if n != name or r != root:
        continue
    w = value if expected == "present" else want[expected]
    g = got.get(key, "missing")
    if g != w:
        sys.exit("%s %s: got %s, want %s" % (name, key, g, w))
' "$name" "$root" "$T/lookups.txt" || fail "$name/$shape: wrong lookup result"
    done
    n=$((n + ${#keys[@]} / 2))
done < <(awk '{print $1, $2}' "$T/lookups.txt" | sort -u)
[ "$n" -ge 100 ] || fail "only $n vector lookups ran"

# Several keys in one call, one output object; proof on stdin.
claims=$T/polkadot-genesis-v0-claims.arr.json
mapfile -t cl < <(python3 -c "
import json; d=json.load(open('$V/polkadot-genesis-v0-claims.json'))
print(d['state_root']); [print(l['key']) for l in d['lookups'][:3]]")
out=$("$F" verify proof --root "${cl[0]}" --proof - --key "${cl[1]}" --key "${cl[2]}" \
    --key "${cl[3]}" <"$claims") || fail "three-key lookup failed"
[ "$(json_get "$out" "['${cl[2]}']")" = null ] || fail "absent key not null in $out"
[ "$(json_get "$out" "['${cl[3]}']")" = incomplete ] || fail "incomplete key wrong in $out"
[ "$(json_get "$out" ".__len__()")" = 3 ] || fail "expected three keys in $out"

# Wrong root: nothing is proven. Tampered node: never the altered value; --strict rejects the
# unreachable entry.
read -r troot tkey <"$T/tampered.args"
expect_exit 0 "$F" verify proof --root "$troot" --proof "$T/tampered.json" --key "$tkey"
[ "$(json_get "$out" "['$tkey']")" = incomplete ] || fail "tampered proof answered $out"
grep -q "not reachable" <<<"$err" || fail "no note about the unreachable entry: $err"
expect_exit 1 "$F" verify proof --root "$troot" --proof "$T/tampered.json" --key "$tkey" --strict
grep -q "not reachable" <<<"$err" || fail "--strict gave no reason: $err"

# A proof whose root node does not decode is invalid (exit 1); malformed files are exit 1;
# a missing file is exit 3.
echo '["0x010203"]' >"$T/junk.json"
jroot=$(python3 -c "import hashlib;print('0x'+hashlib.blake2b(bytes([1,2,3]),digest_size=32).hexdigest())")
expect_exit 1 "$F" verify proof --root "$jroot" --proof "$T/junk.json" --key 0x00
grep -q "does not decode" <<<"$err" || fail "no reason for the undecodable node: $err"
echo '{"proof": 5}' >"$T/bad.json"
expect_exit 1 "$F" verify proof --root "$troot" --proof "$T/bad.json" --key 0x00
echo '["0xzz"]' >"$T/bad.json"
expect_exit 1 "$F" verify proof --root "$troot" --proof "$T/bad.json" --key 0x00
echo '0x0c0400' >"$T/bad.scale"
expect_exit 1 "$F" verify proof --root "$troot" --proof "$T/bad.scale" --key 0x00
expect_exit 3 "$F" verify proof --root "$troot" --proof "$T/does-not-exist" --key 0x00

# Prefix-scan union: 40 of the 922 Staking::Validators entries.
{
    read -r sroot
    args=()
    declare -A want
    while read -r k v; do
        args+=(--key "$k")
        want[$k]=$v
    done
} <"$T/staking.args"
expect_exit 0 "$F" verify proof --root "$sroot" --proof "$T/staking.json" "${args[@]}" --strict
for k in "${!want[@]}"; do
    [ "$(json_get "$out" "['$k']")" = "${want[$k]}" ] || fail "staking $k wrong"
done

# Parachain heads: the three real Paras::Heads proofs.
check_para() { # file part para_id number hash
    local root
    root=$(python3 -c "import json;d=json.load(open('$V/$1.json'));print((d.get('$2') or d)['state_root'])")
    local pf=$T/$1.$2.arr.json
    [ "$2" = "-" ] && pf=$T/$1.arr.json
    expect_exit 0 "$F" verify para-head --relay-root "$root" --para-id "$3" --proof "$pf"
    [ "$(json_get "$out" "['number']")" = "$4" ] || fail "para $3: number $(json_get "$out" "['number']")"
    [ "$(json_get "$out" "['hash']")" = "$5" ] || fail "para $3: wrong hash"
    expect_exit 1 "$F" verify para-head --relay-root "$root" --para-id 4242 --proof "$pf"
    grep -q "not proven" <<<"$err" || fail "para 4242: no reason: $err"
    bad=${root:0:65}$([ "${root:65:1}" = 0 ] && echo 1 || echo 0)
    expect_exit 1 "$F" verify para-head --relay-root "$bad" --para-id "$3" --proof "$pf"
}
check_para polkadot-v1-paras-heads-1000-assethub-account relay_proof 1000 6115725 \
    0x641e00dee4b8ef6bf078ea66429c2ff151414aee2ce5615204939314cd343eb4
check_para rococo-v1-paras-heads-1013-bridgehub relay_proof 1013 3248814 \
    0x142994e8691fe46e95ab1fd34067d133a05f3feeee1b6dc6b031605c7f9ded12
check_para rococo-local-v1-paras-heads-2000 - 2000 123 \
    0x18cf5189e1376b2c819711eba958401cc2862ae4d8f2f286c940573e8b2edd8f
expect_exit 2 "$F" verify para-head --relay-root "$troot" --para-id x --proof "$claims"
expect_exit 2 "$F" verify para-head --relay-root "$troot" --proof "$claims"

# Trie roots: empty trie, the smoldot cross-checked cases, V0 vs V1, duplicates, bad input.
echo '{}' >"$T/empty.json"
expect_exit 0 "$F" trie root "$T/empty.json"
[ "$out" = 0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314 ] || fail "empty root $out"
echo '{"0x0204":"0x05","0x0102":"0x03","0x0103":"0x04"}' >"$T/r.json"
expect_exit 0 "$F" trie root "$T/r.json"
[ "$out" = 0x7442fc9c956dce4a904a7dd4b37839d4edbc95ef4e91b5153c5487ad826fc754 ] || fail "root $out"
python3 -c "import json;print(json.dumps({'0x0a':'0x'+'07'*32,'0x0b':'0x'+'08'*33,'0x0c':'0x'+'09'*64}))" >"$T/v.json"
expect_exit 0 "$F" trie root "$T/v.json"
[ "$out" = 0xd2551ec1d021a447ceb0c805c426865843cbc2fdb442ff40abf76f73a57bd23d ] || fail "V0 root $out"
expect_exit 0 "$F" trie root --v1 "$T/v.json"
[ "$out" = 0x4945968562c8ba7bd3ea42d7377e236105ac4780eff9ac3987a4ad79a04a06af ] || fail "V1 root $out"
# The 92 pairs of the (partial) 423-node proof: their own root, cross-checked with smoldot.
python3 -c "
import json;d=json.load(open('$V/large-v0-proof.json'))
print(json.dumps({l['key']:l['value'] for l in d['lookups']}))" >"$T/large.json"
expect_exit 0 "$F" trie root - <"$T/large.json"
[ "$out" = 0x27878a6724b8dcdf9b6f6d7465a5d013ebe1f5a547f955cdb1ed9ac11e5a838d ] || fail "large root $out"
expect_exit 0 "$F" trie ordered-root - <<<'[]'
[ "$out" = 0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314 ] || fail "empty ordered"
echo '{"0x01":"0x02","0x01":"0x03"}' >"$T/dup.json"
expect_exit 1 "$F" trie root "$T/dup.json"
grep -q duplicate <<<"$err" || fail "no reason for duplicate keys: $err"
expect_exit 1 "$F" trie root - <<<'{"0x01":5}'
expect_exit 1 "$F" trie root - <<<'[1,2]'
expect_exit 1 "$F" trie root - <<<'not json'
expect_exit 3 "$F" trie root "$T/does-not-exist"
expect_exit 0 "$F" trie node 0xc2ab0100040c084100
[ "$(json_get "$out" "['type']")" = branch_with_value ] || fail "node type in $out"
expect_exit 1 "$F" trie node 0x01
echo "trie CLI: $n vector lookups x 3 proof shapes, para heads, roots"
