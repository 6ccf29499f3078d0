/* DCAP reports before registration: the real sample quote and collateral (../shared/chain/phala)
 * are attached only after verification; the sample commits to "Hello, world!", not to any
 * registration info, so it is refused before a fee is spent — and with a time outside the
 * collateral's validity for that reason first. Malformed report shapes are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/relay.h"
#include "ferry/scale.h"
#include "testutil.h"

static uint8_t *slurp(const char *name, size_t *len)
{
    const char *dir = getenv("FERRY_VECTORS");
    char path[512];
    snprintf(path, sizeof path, "%s/../chain/phala/%s", dir ? dir : "../shared/vectors", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Some(SgxDcap{quote, None}) as a Gramine worker reports it. */
static uint8_t *report_of(const uint8_t *quote, size_t qlen, size_t *len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_u8(&w, 1);
    ferry_scale_put_u8(&w, 1);
    ferry_scale_put_byte_vec(&w, quote, qlen);
    ferry_scale_put_u8(&w, 0);
    return ferry_scale_writer_take(&w, len);
}

START_TEST(a_quote_that_does_not_commit_to_the_info_is_refused_before_any_fee)
{
    size_t qlen, clen;
    uint8_t *quote = slurp("dcap_quote.bin", &qlen);
    uint8_t *coll = slurp("dcap_quote_collateral.scale", &clen);
    if (!quote || !coll) {
        free(quote);
        free(coll);
        fprintf(stderr, "relaydcap: ../shared/chain/phala samples absent; skipped\n");
        return;
    }
    size_t rlen;
    uint8_t *report = report_of(quote, qlen, &rlen);
    ck_assert(ferry_relay_dcap_needs_collateral(report, rlen));
    const uint8_t info[] = "some WorkerRegistrationInfoV2 bytes";
    uint8_t *out = NULL;
    size_t out_len = 0;
    struct ferry_reason why = {{0}};
    /* 2023-12-01: the collateral is valid, the quote too, but its report data is not ours */
    ck_assert_int_eq(ferry_relay_dcap_attach(report, rlen, info, sizeof info, coll, clen,
                                             1701388800, &out, &out_len, &why),
                     FERRY_E_VERIFY);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(why.text, "not registering") && strstr(why.text, "report_data"), "%s",
                  why.text);
    /* 2024-01-01: the TCB info has expired */
    ck_assert_int_eq(ferry_relay_dcap_attach(report, rlen, info, sizeof info, coll, clen,
                                             1704067200, &out, &out_len, &why),
                     FERRY_E_VERIFY);
    /* a collateral that is not one */
    ck_assert_int_eq(ferry_relay_dcap_attach(report, rlen, info, sizeof info, coll, clen / 2,
                                             1701388800, &out, &out_len, &why),
                     FERRY_E_VERIFY);
    free(report);
    free(quote);
    free(coll);
}
END_TEST

START_TEST(report_shapes_other_than_dcap_without_collateral_are_not_completed)
{
    static const uint8_t none[] = {0x00};
    static const uint8_t ias[] = {0x01, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t with_coll[] = {0x01, 0x01, 0x04, 0xaa, 0x01, 0x00};
    static const uint8_t trailing[] = {0x01, 0x01, 0x04, 0xaa, 0x00, 0x00};
    ck_assert(!ferry_relay_dcap_needs_collateral(none, sizeof none));
    ck_assert(!ferry_relay_dcap_needs_collateral(ias, sizeof ias));
    ck_assert(!ferry_relay_dcap_needs_collateral(with_coll, sizeof with_coll));
    ck_assert(!ferry_relay_dcap_needs_collateral(trailing, sizeof trailing));
    ck_assert(!ferry_relay_dcap_needs_collateral(NULL, 0));
    uint8_t *out;
    size_t out_len;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(
        ferry_relay_dcap_attach(ias, sizeof ias, none, 1, none, 1, 0, &out, &out_len, &why),
        FERRY_E_INVALID);
    /* an unreachable PCCS is a transport error (retried by the relayer), after the quote parsed */
    static const uint8_t short_quote[] = {0x01, 0x01, 0x08, 1, 2, 0x00};
    ck_assert_int_eq(ferry_relay_dcap_complete(short_quote, sizeof short_quote, none, 1,
                                               "http://127.0.0.1:9/", 1000, &out, &out_len, &why),
                     FERRY_E_VERIFY); /* two bytes are no quote */
}
END_TEST

Suite *relaydcap_suite(void)
{
    Suite *s = suite_create("relaydcap");
    TCase *tc = tcase_create("dcap");
    tcase_add_test(tc, a_quote_that_does_not_commit_to_the_info_is_refused_before_any_fee);
    tcase_add_test(tc, report_shapes_other_than_dcap_without_collateral_are_not_completed);
    suite_add_tcase(s, tc);
    return s;
}
