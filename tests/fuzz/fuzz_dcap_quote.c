/* Fuzz target: the DCAP quote parser and everything the verifier does with a quote. The input is
 * tried as a whole quote; when the Phala sample is at ../shared/chain/phala (make fuzz-smoke runs
 * from the project root) it is also spliced into the sample quote (first two bytes = offset) and
 * verified against the sample collateral, which reaches the PEM chain, the SGX extension and the
 * signature checks with mostly-valid data. Nothing may crash, leak or read out of bounds; a parsed
 * quote's borrowed pointers must lie inside the input. The input is also tried as a worker's
 * attestation report (ferry_attest_prepare_report, no PCCS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/attest.h"

#include "dcap_sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void check_quote(const uint8_t *data, size_t size)
{
    struct ferry_dcap_quote q;
    if (ferry_dcap_quote_parse(data, size, &q, NULL) == FERRY_OK) {
        if (q.cert_data < data || q.cert_data + q.cert_len != data + size ||
            q.qe_auth_data < data || q.qe_auth_data + q.qe_auth_len > data + size)
            abort();
        struct ferry_sgx_pck_info pck;
        (void)ferry_dcap_quote_pck_info(&q, &pck, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_quote(data, size);
    struct ferry_attest_verdict v;
    /* The same bytes as a worker's SCALE Option<AttestationReport> (no PCCS: no network). */
    static const uint8_t rd[32];
    uint8_t *out = NULL;
    size_t out_len;
    enum ferry_attest_kind kind;
    if (ferry_attest_prepare_report(data, size, NULL, 1701388800, rd, &out, &out_len, &kind, &v,
                                    NULL) == FERRY_OK &&
        kind != FERRY_ATTEST_KIND_DCAP && (out_len != size || memcmp(out, data, size) != 0))
        abort();
    free(out);
    (void)ferry_attest_verify_dcap(data, size, sample_coll, sample_coll_len, 1701388800, NULL, NULL,
                                   &v);
    if (sample_quote && size >= 2) {
        size_t off = ((size_t)data[0] << 8 | data[1]) % sample_quote_len;
        size_t n = size - 2;
        if (n > sample_quote_len - off)
            n = sample_quote_len - off;
        uint8_t *q = malloc(sample_quote_len);
        if (!q)
            return 0;
        memcpy(q, sample_quote, sample_quote_len);
        memcpy(q + off, data + 2, n);
        check_quote(q, sample_quote_len);
        (void)ferry_attest_verify_dcap(q, sample_quote_len, sample_coll, sample_coll_len,
                                       1701388800, NULL, NULL, &v);
        free(q);
    }
    return 0;
}
