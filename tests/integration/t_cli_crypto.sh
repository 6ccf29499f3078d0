#!/usr/bin/env bash
# The crypto CLI commands against vector values and the exit-status contract:
# ferry hash, storage-key, ss58 encode/decode, key generate/inspect.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_vectors
F=$FERRY_BIN
V=$FERRY_VECTORS/hashing
# All vector values in one python3 run (it is slow to start): vec FILE PATH looks them up.
declare -A VEC
while IFS=$'\t' read -r k val; do VEC[$k]=$val; done < <(python3 - "$V" <<'PY'
import json, sys
for name in ("hashes.json", "ss58-and-keys.json"):
    def walk(p, x):
        if isinstance(x, dict):
            for k, v in x.items(): walk(p + '["%s"]' % k, v)
        elif isinstance(x, list):
            for i, v in enumerate(x): walk(p + "[%d]" % i, v)
        elif isinstance(x, (str, int)):
            print("%s%s\t%s" % (name, p, x))
    walk("", json.load(open(sys.argv[1] + "/" + name)))
PY
)
vec() { local k; k="$(basename "$1")$2"; [ -n "${VEC[$k]+x}" ] || fail "no vector $k"; echo "${VEC[$k]}"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- hash
expect_exit 0 "$F" hash twox128 System
[ "$out" = "$(vec "$V/hashes.json" '["twox128"][0]["twox128"]')" ] || fail "twox128(System) = $out"
expect_exit 0 "$F" hash blake2-256 abc
[ "$out" = "$(vec "$V/hashes.json" '["blake2b"][1]["blake2b_256"]')" ] || fail "blake2-256(abc) = $out"
expect_exit 0 "$F" hash blake2-512 abc
[ "$out" = "$(vec "$V/hashes.json" '["blake2b"][2]["blake2b_512"]')" ] || fail "blake2-512(abc) = $out"
expect_exit 0 "$F" hash blake2-128 0x616263   # "abc" as hex bytes
[ "$out" = "$(vec "$V/hashes.json" '["blake2b"][3]["blake2b_128"]')" ] || fail "blake2-128(0x616263) = $out"
expect_exit 0 "$F" hash blake2-256 0x
[ "$out" = "$(vec "$V/hashes.json" '["blake2b"][0]["blake2b_256"]')" ] || fail "blake2-256(empty) = $out"
expect_exit 0 "$F" hash twox64 abc
[ "$out" = "0x990977adf52cbc44" ] || fail "twox64(abc) should be xxh64 0x44bc2cf5ad770999 little-endian, got $out"
expect_exit 2 "$F" hash sha256 abc
expect_exit 1 "$F" hash twox128 0xabc
expect_exit 2 "$F" hash twox128
expect_exit 0 "$F" hash --help
[[ $out == *blake2-256* ]] || fail "hash --help does not list the algorithms"

# ---- storage-key
acct=0x3ceaf1c4e92a3ed0e47ce5157249557057e45ce0b629754d9c3488fdce868b46
expect_exit 0 "$F" storage-key System Account "blake2_128concat:$acct"
[ "$out" = "$(vec "$V/hashes.json" '["storage_keys"][7]["key"]')" ] || fail "System::Account key = $out"
expect_exit 0 "$F" storage-key Paras Heads twox64_concat:0xe8030000
[ "$out" = "$(vec "$V/hashes.json" '["storage_keys"][5]["key"]')" ] || fail "Paras::Heads(1000) key = $out"
expect_exit 0 "$F" storage-key Grandpa Authorities
[ "$out" = "$(vec "$V/hashes.json" '["storage_keys"][0]["key"]')" ] || fail "Grandpa::Authorities key = $out"
expect_exit 2 "$F" storage-key System Account sha256:0x00
expect_exit 2 "$F" storage-key System Account 0x00
expect_exit 1 "$F" storage-key System Account blake2_128concat:0xzz
expect_exit 2 "$F" storage-key System

# ---- ss58
K=$V/ss58-and-keys.json
pub=$(vec "$K" '["addresses"][0]["public_key"]')
for i in 0 1 2 3 4 5 6; do
    prefix=$(vec "$K" "[\"addresses\"][$i][\"prefix\"]")
    want=$(vec "$K" "[\"addresses\"][$i][\"address\"]")
    expect_exit 0 "$F" ss58 encode --prefix "$prefix" "$pub"
    [ "$out" = "$want" ] || fail "ss58 encode prefix $prefix: $out != $want"
    expect_exit 0 "$F" ss58 decode "$want"
    [ "$(json_get "$out" '["prefix"]')" = "$prefix" ] || fail "ss58 decode $want: $out"
    [ "$(json_get "$out" '["account_id"]')" = "$pub" ] || fail "ss58 decode $want: $out"
done
alice=$(vec "$K" '["dev_keys"][1]["ss58_42"]')
expect_exit 0 "$F" ss58 encode "$(vec "$K" '["dev_keys"][1]["account_id"]')"
[ "$out" = "$alice" ] || fail "default prefix 42: $out"
expect_exit 1 "$F" ss58 decode "${alice%?}Z"          # bad checksum
[[ $err == *checksum* ]] || fail "bad checksum reason missing: $err"
expect_exit 1 "$F" ss58 decode "${alice:0:5}0${alice:6}" # '0' is not base58
[[ $err == *"base58 character '0'"* ]] || fail "bad character reason missing: $err"
expect_exit 1 "$F" ss58 decode "${alice:0:20}"
expect_exit 1 "$F" ss58 encode 0x1234
expect_exit 1 "$F" ss58 encode --prefix 46 "$pub"
expect_exit 2 "$F" ss58 encode --prefix 16384 "$pub"
expect_exit 2 "$F" ss58 frobnicate
expect_exit 2 "$F" ss58 decode

# ---- key inspect (dev keys must match subkey's output)
expect_exit 0 "$F" key inspect //Alice                  # default scheme: sr25519, as subkey
[ "$(json_get "$out" '["scheme"]')" = sr25519 ] || fail "default scheme: $out"
[ "$(json_get "$out" '["public_key"]')" = "$(vec "$K" '["dev_keys"][1]["public_key"]')" ] || fail "sr25519 //Alice: $out"
[ "$(json_get "$out" '["ss58"]')" = 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY ] || fail "sr25519 //Alice: $out"
[ "$(json_get "$out" '["ss58"]')" = "$(vec "$K" '["dev_keys"][1]["ss58_42"]')" ] || fail "sr25519 //Alice: $out"
expect_exit 0 "$F" key inspect //Alice//stash --scheme sr25519
[ "$(json_get "$out" '["ss58"]')" = 5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY ] || fail "//Alice//stash: $out"
expect_exit 0 "$F" key inspect //Alice --scheme ecdsa
[ "$(json_get "$out" '["scheme"]')" = ecdsa ] || fail "ecdsa scheme: $out"
[ "$(json_get "$out" '["public_key"]')" = "$(vec "$K" '["dev_keys"][2]["public_key_compressed"]')" ] || fail "ecdsa //Alice: $out"
[ "$(json_get "$out" '["account_id"]')" = "$(vec "$K" '["dev_keys"][2]["account_id"]')" ] || fail "ecdsa //Alice: $out"
[ "$(json_get "$out" '["ss58"]')" = "$(vec "$K" '["dev_keys"][2]["ss58_42_of_account_id"]')" ] || fail "ecdsa //Alice: $out"
[[ $out != *secret* && $out != *cb6df9de* ]] || fail "inspect printed the secret: $out"
expect_exit 0 "$F" key inspect //Alice --scheme ed25519 --prefix 0
[ "$(json_get "$out" '["public_key"]')" = "$(vec "$K" '["dev_keys"][0]["public_key"]')" ] || fail "ed25519 //Alice: $out"
[ "$(json_get "$out" '["ss58"]')" = "$(vec "$K" '["dev_keys"][0]["ss58_0_polkadot"]')" ] || fail "ed25519 //Alice prefix 0: $out"
expect_exit 2 "$F" key inspect //Alice --scheme rsa
[[ $err == *sr25519* ]] || fail "an unknown scheme should list the known ones: $err"
expect_exit 2 "$F" key inspect "//Alice///password"   # only public dev keys on the command line
expect_exit 2 "$F" key inspect
expect_exit 3 "$F" key inspect "$tmp/missing"

# ---- key files
expect_exit 0 "$F" key generate --out "$tmp/k"
[ "$(json_get "$out" '["scheme"]')" = sr25519 ] || fail "generate prints the new sr25519 key: $out"
genpub=$(json_get "$out" '["public_key"]')
[ "$(stat -c %a "$tmp/k")" = 600 ] || fail "generated key file mode is $(stat -c %a "$tmp/k")"
grep -Eq '^0x[0-9a-f]{64}$' "$tmp/k" || fail "generated key file is not a 0x seed"
expect_exit 3 "$F" key generate --out "$tmp/k"          # never overwrites
expect_exit 2 "$F" key generate
expect_exit 0 "$F" key inspect "$tmp/k"
[ "$(json_get "$out" '["public_key"]')" = "$genpub" ] || fail "inspect differs from generate: $out"
seed=$(cat "$tmp/k")
[[ $out != *"${seed:2}"* ]] || fail "inspect printed the secret"
chmod 644 "$tmp/k"
expect_exit 1 "$F" key inspect "$tmp/k"
[[ $err == *"group or others"* ]] || fail "permission refusal reason missing: $err"
[[ $err != *"${seed:2}"* ]] || fail "error message contains the secret"
(umask 022; printf '%s\n' "$(vec "$K" '["dev_keys"][2]["secret_seed"]')" > "$tmp/alice")
expect_exit 1 "$F" key inspect "$tmp/alice" --scheme ecdsa   # world-readable secret: refused
chmod 600 "$tmp/alice"
expect_exit 0 "$F" key inspect "$tmp/alice" --scheme ecdsa
[ "$(json_get "$out" '["public_key"]')" = "$(vec "$K" '["dev_keys"][2]["public_key_compressed"]')" ] || fail "hex seed file: $out"
(umask 022; echo "//Alice" > "$tmp/dev")                # public dev key: fine when readable
expect_exit 0 "$F" key inspect "$tmp/dev" --scheme ed25519
[ "$(json_get "$out" '["public_key"]')" = "$(vec "$K" '["dev_keys"][0]["public_key"]')" ] || fail "dev key file: $out"
echo "//Alice/soft" > "$tmp/soft"; chmod 600 "$tmp/soft"
expect_exit 1 "$F" key inspect "$tmp/soft" --scheme ecdsa     # soft junctions: sr25519 only
expect_exit 0 "$F" key inspect "$tmp/soft"
[ "$(json_get "$out" '["public_key"]')" = 0x02cfd83074aefc9955af4034d19b3780d47a52e158ababec8ec012b2295f1c5b ] || fail "sr25519 //Alice/soft: $out"
expect_exit 0 "$F" key --help
[[ $out == *"key generate --out FILE"* ]] || fail "key --help"
echo "cli crypto: ok"
