/* A worker's attestation report, made ready to submit: pherry's attestation_to_report (fill in a
 * DCAP report's collateral from the PCCS) plus ferry's own verification, so that an invalid
 * report never costs a registration fee.
 *
 * SCALE layouts (reference/pherry.md §5):
 *   Option<AttestationReport>  0x00 | 0x01 AttestationReport
 *   AttestationReport          0x00 SgxIas{ra_report, signature, raw_signing_cert: Vec<u8>}
 *                              0x01 SgxDcap{quote: Vec<u8>, collateral: Option<Collateral>}
 *   Collateral                 0x00 SgxV30(SgxV30QuoteCollateral)
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/attest.h"
#include "ferry/scale.h"

static ferry_err decode_fail(struct ferry_scale_reader *r, struct ferry_reason *why)
{
    char d[96];
    ferry_scale_describe(r, d, sizeof d);
    return ferry_reason_set(why, r->err ? r->err : FERRY_E_INVALID, "attestation report: %s", d);
}

static ferry_err copy_out(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
    *out = malloc(n ? n : 1);
    if (!*out)
        return FERRY_E_NOMEM;
    memcpy(*out, p, n);
    *out_len = n;
    return FERRY_OK;
}

ferry_err ferry_attest_prepare_report(const uint8_t *report, size_t len,
                                      const struct ferry_pccs_opts *pccs, int64_t now,
                                      const uint8_t *expected_report_data, uint8_t **out,
                                      size_t *out_len, enum ferry_attest_kind *kind,
                                      struct ferry_attest_verdict *v, struct ferry_reason *why)
{
    *out = NULL;
    *out_len = 0;
    *kind = FERRY_ATTEST_KIND_NONE;
    memset(v, 0, sizeof *v);
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, report, len);
    bool some;
    if (ferry_scale_option(&r, &some))
        return decode_fail(&r, why);
    if (!some) {
        if (ferry_scale_finish(&r))
            return decode_fail(&r, why);
        return copy_out(report, len, out, out_len);
    }
    static const uint8_t variants[] = {0, 1};
    uint8_t variant;
    if (ferry_scale_enum(&r, variants, 2, &variant))
        return decode_fail(&r, why);
    if (variant == 0) {
        const uint8_t *p;
        size_t n;
        for (int i = 0; i < 3; i++)
            (void)ferry_scale_byte_vec(&r, &p, &n);
        if (ferry_scale_finish(&r))
            return decode_fail(&r, why);
        *kind = FERRY_ATTEST_KIND_IAS;
        return copy_out(report, len, out, out_len);
    }
    *kind = FERRY_ATTEST_KIND_DCAP;
    const uint8_t *quote;
    size_t quote_len;
    bool have_coll;
    (void)ferry_scale_byte_vec(&r, &quote, &quote_len);
    if (ferry_scale_option(&r, &have_coll))
        return decode_fail(&r, why);
    const uint8_t *coll = NULL;
    size_t coll_len = 0;
    uint8_t *fetched = NULL;
    if (have_coll) {
        static const uint8_t sgx_v30[] = {0};
        uint8_t tag;
        if (ferry_scale_enum(&r, sgx_v30, 1, &tag))
            return decode_fail(&r, why);
        coll = report + r.pos;
        coll_len = ferry_scale_remaining(&r);
    } else {
        if (ferry_scale_finish(&r))
            return decode_fail(&r, why);
        if (!pccs)
            return ferry_reason_set(why, FERRY_E_ARG,
                                    "the DCAP report has no collateral and no PCCS is configured");
        struct ferry_dcap_quote q;
        struct ferry_sgx_pck_info pck;
        ferry_err err = ferry_dcap_quote_parse(quote, quote_len, &q, why);
        if (!err)
            err = ferry_dcap_quote_pck_info(&q, &pck, why);
        if (!err)
            err = ferry_pccs_fetch_collateral(pccs, &pck, &fetched, &coll_len, why);
        if (err)
            return err;
        coll = fetched;
    }
    ferry_err err =
        ferry_attest_verify_report(quote, quote_len, coll, coll_len, now, expected_report_data, v);
    if (err == FERRY_E_VERIFY) {
        ferry_reason_set(why, err, "DCAP report invalid at step \"%s\": %s",
                         ferry_attest_step_name(v->step), v->reason);
    } else if (!err) {
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_scale_put_u8(&w, 1); /* Some */
        ferry_scale_put_u8(&w, 1); /* SgxDcap */
        ferry_scale_put_compact(&w, quote_len);
        ferry_scale_put_bytes(&w, quote, quote_len);
        ferry_scale_put_u8(&w, 1); /* Some */
        ferry_scale_put_u8(&w, 0); /* Collateral::SgxV30 */
        ferry_scale_put_bytes(&w, coll, coll_len);
        *out = ferry_scale_writer_take(&w, out_len);
        if (!*out)
            err = FERRY_E_NOMEM;
    }
    free(fetched);
    return err;
}
