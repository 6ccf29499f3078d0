/* Completing and checking a worker's DCAP report before registration (include/ferry/relay.h).
 * Kept apart from relay.c: the DCAP completion and checks are one idea of their own. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/attest.h"
#include "ferry/hash.h"
#include "ferry/relay.h"
#include "ferry/scale.h"

/* 0x01 (Some) 0x01 (SgxDcap) Vec<u8> quote 0x00 (collateral None), all of report. */
static bool split(const uint8_t *report, size_t len, const uint8_t **quote, size_t *qlen)
{
    if (len < 4 || report[0] != 1 || report[1] != 1)
        return false;
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, report + 2, len - 2);
    uint8_t none;
    if (ferry_scale_byte_vec(&r, quote, qlen) || ferry_scale_u8(&r, &none) || none != 0)
        return false;
    return ferry_scale_finish(&r) == FERRY_OK;
}

bool ferry_relay_dcap_needs_collateral(const uint8_t *report, size_t report_len)
{
    const uint8_t *q;
    size_t ql;
    return split(report, report_len, &q, &ql);
}

ferry_err ferry_relay_dcap_attach(const uint8_t *report, size_t report_len, const uint8_t *info,
                                  size_t info_len, const uint8_t *collateral, size_t coll_len,
                                  int64_t now, uint8_t **out, size_t *out_len,
                                  struct ferry_reason *why)
{
    *out = NULL;
    *out_len = 0;
    const uint8_t *quote;
    size_t qlen;
    if (!split(report, report_len, &quote, &qlen))
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the worker's report is not a DCAP report without collateral");
    uint8_t commit[32];
    ferry_blake2b_256(commit, info, info_len);
    struct ferry_attest_verdict v;
    ferry_err err = ferry_attest_verify_report(quote, qlen, collateral, coll_len, now, commit, &v);
    if (err == FERRY_E_NOMEM)
        return err;
    if (err || !v.valid)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "not registering: the worker's DCAP quote does not verify "
                                "(%s): %s",
                                ferry_attest_step_name(v.step), v.reason);
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_u8(&w, 1); /* Some */
    ferry_scale_put_u8(&w, 1); /* SgxDcap */
    ferry_scale_put_byte_vec(&w, quote, qlen);
    ferry_scale_put_u8(&w, 1); /* Some(collateral) */
    ferry_scale_put_u8(&w, 0); /* Collateral::SgxV30 */
    ferry_scale_put_bytes(&w, collateral, coll_len);
    *out = ferry_scale_writer_take(&w, out_len);
    return *out ? FERRY_OK : FERRY_E_NOMEM;
}

ferry_err ferry_relay_dcap_complete(const uint8_t *report, size_t report_len, const uint8_t *info,
                                    size_t info_len, const char *pccs_url, long timeout_ms,
                                    uint8_t **out, size_t *out_len, struct ferry_reason *why)
{
    *out = NULL;
    *out_len = 0;
    const uint8_t *quote;
    size_t qlen;
    if (!split(report, report_len, &quote, &qlen))
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the worker's report is not a DCAP report without collateral");
    struct ferry_dcap_quote q;
    ferry_err err = ferry_dcap_quote_parse(quote, qlen, &q, why);
    struct ferry_sgx_pck_info pck;
    if (!err)
        err = ferry_dcap_quote_pck_info(&q, &pck, why);
    if (err)
        return ferry_reason_prefix(why, FERRY_E_VERIFY, "the worker's DCAP quote: ");
    struct ferry_pccs_opts opts = {pccs_url, false, timeout_ms};
    uint8_t *coll = NULL;
    size_t coll_len = 0;
    err = ferry_pccs_fetch_collateral(&opts, &pck, &coll, &coll_len, why);
    if (err)
        return ferry_reason_prefix(why, err, "PCCS %s: ", pccs_url);
    err = ferry_relay_dcap_attach(report, report_len, info, info_len, coll, coll_len,
                                  (int64_t)time(NULL), out, out_len, why);
    free(coll);
    return err;
}
