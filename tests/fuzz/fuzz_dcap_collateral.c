/* Fuzz target: the SgxV30 collateral decoder and the verifier's collateral steps (PEM chains,
 * CRLs as hex/PEM/DER, TCB info and QE identity JSON). A collateral that decodes must re-encode
 * to the same bytes. When the Phala sample is at ../shared/chain/phala (make fuzz-smoke runs from
 * the project root) the input is also verified with the sample quote, and spliced into the sample
 * collateral (first two bytes = offset) so the deeper steps see mostly-valid data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/attest.h"

#include "dcap_sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void check_collateral(const uint8_t *data, size_t size)
{
    struct ferry_dcap_collateral c;
    if (ferry_dcap_collateral_decode(data, size, &c, NULL) == FERRY_OK) {
        uint8_t *enc;
        size_t len;
        if (ferry_dcap_collateral_encode(&c, &enc, &len) != FERRY_OK)
            abort();
        if (len != size || memcmp(enc, data, size) != 0)
            abort();
        free(enc);
    }
    struct ferry_attest_verdict v;
    if (sample_quote)
        (void)ferry_attest_verify_dcap(sample_quote, sample_quote_len, data, size, 1701388800, NULL,
                                       NULL, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_collateral(data, size);
    if (sample_coll && size >= 2) {
        size_t off = ((size_t)data[0] << 8 | data[1]) % sample_coll_len;
        size_t n = size - 2;
        if (n > sample_coll_len - off)
            n = sample_coll_len - off;
        uint8_t *c = malloc(sample_coll_len);
        if (!c)
            return 0;
        memcpy(c, sample_coll, sample_coll_len);
        memcpy(c + off, data + 2, n);
        check_collateral(c, sample_coll_len);
        free(c);
    }
    return 0;
}
