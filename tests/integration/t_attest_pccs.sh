#!/usr/bin/env bash
# `ferry attest verify` on the Phala DCAP sample: from the collateral file at the three times of
# the independent verifier's verdicts, and with --pccs-url against a local PCCS stand-in
# (tests/integration/pccs_standin.py) that serves the sample's collateral at the PCCS paths —
# the fetched collateral must re-assemble byte-for-byte — or answers 404, garbage, or another
# FMSPC's TCB info; `attest prepare` fills a DCAP report's collateral from the stand-in.
. "$(dirname "$0")/lib.sh"
P=$FERRY_VECTORS/../chain/phala
[ -f "$P/dcap_quote.bin" ] || skip "Phala DCAP sample not found at $P"
command -v python3 >/dev/null || skip "python3 not installed"
F=$FERRY_BIN
Q=$P/dcap_quote.bin
C=$P/dcap_quote_collateral.scale
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_pccs MODE [stand-in options] — start a stand-in, set $url (http, or https with --tls-cert).
start_pccs() {
    local scheme=http log=$tmp/pccs${#pids[@]}
    [[ " $* " == *" --tls-cert "* ]] && scheme=https
    python3 "$here/pccs_standin.py" --collateral "$C" --mode "$1" --lifetime 120 "${@:2}" \
        >"$log.out" 2>"$log.err" &
    pids+=($!)
    local port=
    for _ in $(seq 100); do
        port=$(awk '/^port /{print $2}' "$log.out" 2>/dev/null)
        [ -n "$port" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || fail "PCCS stand-in ($1) exited: $(cat "$log.err")"
        sleep 0.1
    done
    [ -n "$port" ] || fail "PCCS stand-in ($1) did not start"
    url=$scheme://127.0.0.1:$port/sgx/certification/v4
}
ferry() { timeout 30 "$F" "$@"; }

# ---- the collateral file at the three times
expect_exit 0 ferry attest verify --quote "$Q" --collateral "$C" --at 2023-12-01T00:00:00Z
[ "$(json_get "$out" '["valid"]')" = true ] || fail "valid: $out"
[ "$(json_get "$out" '["status"]')" = ConfigurationAndSWHardeningNeeded ] || fail "status: $out"
[ "$(json_get "$out" '["advisory_ids"]')" = '["INTEL-SA-00289", "INTEL-SA-00615"]' ] || fail "advisories: $out"
[ "$(json_get "$out" '["mrenclave"]')" = 0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb ] || fail "mrenclave: $out"
expect_exit 1 ferry attest verify --quote "$Q" --collateral "$C" --at 2023-11-06T20:03:20Z
[[ $(json_get "$out" '["reason"]') == *"TCB info issue date"*"in the future"* ]] || fail "2023-11-06: $out"
[[ $err == *"TCB info issue date"* ]] || fail "2023-11-06 stderr: $err"
expect_exit 1 ferry attest verify --quote "$Q" --collateral "$C" --at 2024-01-01T00:00:00Z
[[ $(json_get "$out" '["reason"]') == *"TCB info expired"* ]] || fail "2024-01-01: $out"

# ---- policy flags and usage
expect_exit 0 ferry attest verify --quote "$Q" --collateral "$C" --at 2023-12-01T00:00:00Z \
    --expect-report-data 0x48656c6c6f2c20776f726c642100000000000000000000000000000000000000
expect_exit 1 ferry attest verify --quote "$Q" --collateral "$C" --at 2023-12-01T00:00:00Z \
    --expect-report-data 0x0000000000000000000000000000000000000000000000000000000000000000
[ "$(json_get "$out" '["step"]')" = "enclave policy" ] || fail "report data step: $out"
expect_exit 1 ferry attest verify --quote "$Q" --collateral "$C" --at 2023-12-01T00:00:00Z \
    --mrenclave 0x0000000000000000000000000000000000000000000000000000000000000000
[[ $(json_get "$out" '["reason"]') == *"MRENCLAVE"* ]] || fail "mrenclave policy: $out"
expect_exit 2 ferry attest verify --quote "$Q"
expect_exit 2 ferry attest verify --quote "$Q" --collateral "$C" --at yesterday
expect_exit 2 ferry attest verify --quote "$Q" --collateral "$C" --insecure
expect_exit 3 ferry attest verify --quote "$tmp/missing" --collateral "$C"
expect_exit 0 ferry attest --help
[[ $out == *"--pccs-url URL"* && $out == *"exit status"* ]] || fail "help: $out"

# ---- PCCS stand-in serving the sample
start_pccs ok
expect_exit 0 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2023-12-01T00:00:00Z \
    --save-collateral "$tmp/fetched.scale"
[ "$(json_get "$out" '["status"]')" = ConfigurationAndSWHardeningNeeded ] || fail "pccs status: $out"
cmp -s "$tmp/fetched.scale" "$C" || fail "collateral assembled from the PCCS differs from the sample"
grep -q 'GET /sgx/certification/v4/pckcrl?ca=processor' "$tmp/pccs0.err" || fail "no pckcrl request"
grep -q 'GET /sgx/certification/v4/tcb?fmspc=00A067110000' "$tmp/pccs0.err" || fail "no tcb request"
expect_exit 1 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2024-01-01T00:00:00Z
[[ $(json_get "$out" '["reason"]') == *"TCB info expired"* ]] || fail "pccs 2024: $out"

# ---- attest prepare (the relayer's step): pRuntime's SgxDcap report without collateral gets
# it from the PCCS, is verified against the expected report data, and comes out ready to submit.
python3 - "$Q" "$C" "$tmp" <<'PY'
import sys
q, c, d = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3]
def compact(n):
    return bytes([n << 2]) if n < 64 else ((n << 2) | 1).to_bytes(2, "little") if n < 1 << 14 else ((n << 2) | 2).to_bytes(4, "little")
dcap = b"\x01\x01" + compact(len(q)) + q
open(d + "/report.bin", "wb").write(dcap + b"\x00")                          # collateral: None
open(d + "/expected.hex", "w").write("0x" + (dcap + b"\x01\x00" + c).hex())  # Some(SgxV30(..))
PY
RD=0x48656c6c6f2c20776f726c642100000000000000000000000000000000000000
expect_exit 0 ferry attest prepare --report "$tmp/report.bin" --pccs-url "$url" \
    --expect-report-data "$RD" --at 2023-12-01T00:00:00Z
[ "$(json_get "$out" '["kind"]')" = dcap ] && [ "$(json_get "$out" '["ready"]')" = true ] || fail "prepare: $out"
[ "$(json_get "$out" '["report"]')" = "$(cat "$tmp/expected.hex")" ] || fail "prepared report differs"
expect_exit 1 ferry attest prepare --report "$tmp/report.bin" --pccs-url "$url" \
    --expect-report-data 0x"$(printf '%064d' 0)" --at 2023-12-01T00:00:00Z
[ "$(json_get "$out" '["ready"]')" = false ] && [[ $err == *"enclave policy"* ]] || fail "prepare wrong data: $out $err"
expect_exit 2 ferry attest prepare --report "$tmp/report.bin" --expect-report-data "$RD"
printf '\x00' > "$tmp/none.bin"
expect_exit 0 ferry attest prepare --report "$tmp/none.bin" --expect-report-data "$RD"
[ "$(json_get "$out" '["kind"]')" = none ] || fail "prepare none: $out"

# ---- TLS is verified unless --insecure: a self-signed PCCS certificate is refused.
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=127.0.0.1 -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null || fail "openssl req"
    ok_url=$url
    start_pccs ok --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key"
    expect_exit 3 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2023-12-01T00:00:00Z
    [[ $err == *"PCCS GET https://"*"failed"* ]] || fail "self-signed TLS accepted or wrong reason: $err"
    expect_exit 0 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2023-12-01T00:00:00Z --insecure
    url=$ok_url
else
    echo "openssl CLI missing: TLS verification case skipped"
fi

# ---- PCCS answering 404, garbage, another FMSPC's TCB info: exit 3, reason names the request
start_pccs 404
expect_exit 3 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2023-12-01T00:00:00Z
[[ $err == *"pckcrl?ca=processor answered HTTP 404"* ]] || fail "404: $err"
[ "$(json_get "$out" '["valid"]')" = false ] || fail "404 json: $out"
start_pccs garbage
expect_exit 3 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2023-12-01T00:00:00Z
[[ $err == *"pckcrl response is not a CRL"* ]] || fail "garbage: $err"
start_pccs other-fmspc
expect_exit 3 ferry attest verify --quote "$Q" --pccs-url "$url" --at 2023-12-01T00:00:00Z
[[ $err == *"TCB info for FMSPC 00906ED50000, not the platform's 00A067110000"* ]] || fail "fmspc: $err"
expect_exit 3 ferry attest prepare --report "$tmp/report.bin" --pccs-url "$url" \
    --expect-report-data "$RD" --at 2023-12-01T00:00:00Z
# Nothing listens: a connection failure is exit 3 as well.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
expect_exit 3 ferry attest verify --quote "$Q" --pccs-url "http://127.0.0.1:1/sgx/certification/v4"
echo "attest pccs: ok"
