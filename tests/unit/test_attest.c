/* SGX DCAP attestation: the Phala sample quote and collateral (../shared/chain/phala) give the
 * independent verifier's verdicts at three times; variants made here from the sample fail at the
 * step that checks what was altered; a test PKI generated with OpenSSL at run time (a root pinned
 * in place of Intel's) re-signs the sample so that a revoked PCK, a debug enclave, another
 * FMSPC's TCB info and the QVL status merge can be exercised. Nothing is hand-edited. */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/attest.h"
#include "ferry/hex.h"
#include "ferry/scale.h"
#include "testutil.h"

/* ---- the sample ------------------------------------------------------------------------------ */

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static uint8_t *g_quote, *g_coll;
static size_t g_quote_len, g_coll_len;

/* Load the sample once; returns 0 (and prints a notice) when ../shared is absent. */
static int sample(void)
{
    static int tried, ok;
    if (tried)
        return ok;
    tried = 1;
    const char *v = getenv("FERRY_VECTORS");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/../chain/phala", v ? v : "../shared/vectors");
    snprintf(path, sizeof path, "%s/dcap_quote.bin", dir);
    g_quote = read_all(path, &g_quote_len);
    snprintf(path, sizeof path, "%s/dcap_quote_collateral.scale", dir);
    g_coll = read_all(path, &g_coll_len);
    ok = g_quote && g_coll;
    if (!ok)
        fprintf(stderr, "attest: sample not found under %s; sample tests skipped\n", dir);
    return ok;
}

#define SAMPLE_OR_SKIP()                                                                           \
    if (!sample())                                                                                 \
        return;

static int64_t at(const char *s)
{
    int64_t t;
    ck_assert_int_eq(ferry_attest_parse_time(s, &t), FERRY_OK);
    return t;
}

/* 2023-12-01: inside every validity window of the sample. */
#define GOOD_TIME "2023-12-01T00:00:00Z"

static void expect_invalid(const uint8_t *q, size_t ql, const uint8_t *c, size_t cl, int64_t now,
                           const struct ferry_attest_policy *p, const struct ferry_attest_trust *t,
                           enum ferry_attest_step step, const char *reason_part)
{
    struct ferry_attest_verdict v;
    ck_assert_int_eq(ferry_attest_verify_dcap(q, ql, c, cl, now, p, t, &v), FERRY_E_VERIFY);
    ck_assert_msg(!v.valid, "verdict valid");
    ck_assert_msg(v.step == step, "step \"%s\", expected \"%s\" (reason: %s)",
                  ferry_attest_step_name(v.step), ferry_attest_step_name(step), v.reason);
    ck_assert_msg(strstr(v.reason, reason_part), "reason \"%s\" lacks \"%s\"", v.reason,
                  reason_part);
}

/* ---- the sample's verdicts ------------------------------------------------------------------- */

START_TEST(sample_valid_on_2023_12_01_with_status_and_advisories)
{
    SAMPLE_OR_SKIP();
    struct ferry_attest_verdict v;
    ck_assert_int_eq(ferry_attest_verify_report(g_quote, g_quote_len, g_coll, g_coll_len,
                                                at("2023-12-01T00:00:00Z"), NULL, &v),
                     FERRY_OK);
    ck_assert(v.valid);
    ck_assert_int_eq(v.step, FERRY_ATTEST_OK);
    ck_assert_str_eq(v.status, "ConfigurationAndSWHardeningNeeded");
    ck_assert_uint_eq(v.n_advisories, 2);
    ck_assert_str_eq(v.advisory_ids[0], "INTEL-SA-00289");
    ck_assert_str_eq(v.advisory_ids[1], "INTEL-SA-00615");
    ck_assert(v.have_report);
    ck_assert_mem_eq(v.report.report_data, "Hello, world!", 13);
    ck_assert_str_eq(tu_tohex(v.fmspc, 6), "0x00a067110000");
}
END_TEST

START_TEST(sample_invalid_on_2023_11_06_tcb_info_from_the_future)
{
    SAMPLE_OR_SKIP();
    expect_invalid(g_quote, g_quote_len, g_coll, g_coll_len, 1699301000, NULL, NULL,
                   FERRY_ATTEST_TCB_INFO, "issue date 2023-11-21T00:06:09Z is in the future");
}
END_TEST

START_TEST(sample_invalid_on_2024_01_01_tcb_info_expired)
{
    SAMPLE_OR_SKIP();
    expect_invalid(g_quote, g_quote_len, g_coll, g_coll_len, at("2024-01-01T00:00:00Z"), NULL, NULL,
                   FERRY_ATTEST_TCB_INFO, "TCB info expired");
}
END_TEST

START_TEST(sample_between_the_tcb_info_and_qe_identity_issue_dates)
{
    SAMPLE_OR_SKIP();
    expect_invalid(g_quote, g_quote_len, g_coll, g_coll_len, at("2023-11-21T00:20:00Z"), NULL, NULL,
                   FERRY_ATTEST_QE_IDENTITY,
                   "QE identity issue date 2023-11-21T00:39:26Z is in the future");
}
END_TEST

/* The pinned constant is the key of the root certificate that ends every chain of the sample. */
static void root_key_is_pinned(const uint8_t *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x, *last = NULL;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        X509_free(last);
        last = x;
    }
    ERR_clear_error();
    BIO_free(b);
    ck_assert_ptr_nonnull(last);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(last), NID_commonName, cn, sizeof cn);
    ck_assert_str_eq(cn, "Intel SGX Root CA");
    uint8_t point[65];
    size_t n;
    ck_assert(EVP_PKEY_get_octet_string_param(X509_get0_pubkey(last),
                                              OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, 65, &n));
    ck_assert_uint_eq(n, 65);
    ck_assert_mem_eq(point, FERRY_INTEL_SGX_ROOT_PUBKEY, 65);
    X509_free(last);
}

START_TEST(pinned_key_is_the_root_of_every_sample_chain)
{
    SAMPLE_OR_SKIP();
    struct ferry_dcap_quote q;
    ck_assert_int_eq(ferry_dcap_quote_parse(g_quote, g_quote_len, &q, NULL), FERRY_OK);
    root_key_is_pinned(q.cert_data, q.cert_len);
    struct ferry_dcap_collateral c;
    ck_assert_int_eq(ferry_dcap_collateral_decode(g_coll, g_coll_len, &c, NULL), FERRY_OK);
    root_key_is_pinned(c.pck_crl_issuer_chain.p, c.pck_crl_issuer_chain.len);
    root_key_is_pinned(c.tcb_info_issuer_chain.p, c.tcb_info_issuer_chain.len);
    root_key_is_pinned(c.qe_identity_issuer_chain.p, c.qe_identity_issuer_chain.len);
}
END_TEST

START_TEST(sample_quote_fields_and_pck_extension)
{
    SAMPLE_OR_SKIP();
    struct ferry_dcap_quote q;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_dcap_quote_parse(g_quote, g_quote_len, &q, &why), FERRY_OK);
    ck_assert_uint_eq(q.version, 3);
    ck_assert_uint_eq(q.att_key_type, 2);
    ck_assert_uint_eq(q.cert_type, 5);
    ck_assert_uint_eq(q.qe_auth_len, 32);
    ck_assert_uint_eq(q.qe_report.isv_prod_id, 1);
    ck_assert_uint_eq(q.qe_report.isv_svn, 10);
    ck_assert_str_eq(tu_tohex(q.report.mr_enclave, 4), "0x33d8736d");
    ck_assert_uint_eq(q.report.attributes[0] & 2, 0);
    struct ferry_sgx_pck_info pck;
    ck_assert_int_eq(ferry_dcap_quote_pck_info(&q, &pck, &why), FERRY_OK);
    ck_assert_str_eq(tu_tohex(pck.fmspc, 6), "0x00a067110000");
    ck_assert_str_eq(tu_tohex(pck.pce_id, 2), "0x0000");
    ck_assert_uint_eq(pck.pce_svn, 13);
    ck_assert(!pck.platform_ca);
    /* The level it matches (ConfigurationAndSWHardeningNeeded) is 11,11,2,2,255,1,0,... */
    ck_assert_uint_eq(pck.cpu_svn_components[0], 11);
    ck_assert_uint_lt(pck.cpu_svn_components[6], 12);
}
END_TEST

START_TEST(quote_parser_rejects_every_truncation_and_extension)
{
    SAMPLE_OR_SKIP();
    struct ferry_dcap_quote q;
    struct ferry_reason why;
    for (size_t n = 0; n < g_quote_len; n++) {
        /* A fresh copy of exactly n bytes, so a read past n is an ASan error. */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, g_quote, n);
        ck_assert_msg(ferry_dcap_quote_parse(cut, n, &q, &why) != FERRY_OK, "accepted %zu bytes",
                      n);
        free(cut);
    }
    uint8_t *longer = malloc(g_quote_len + 1);
    memcpy(longer, g_quote, g_quote_len);
    longer[g_quote_len] = 0;
    ck_assert_int_eq(ferry_dcap_quote_parse(longer, g_quote_len + 1, &q, &why), FERRY_E_TRAILING);
    longer[0] = 4;
    ck_assert_int_eq(ferry_dcap_quote_parse(longer, g_quote_len, &q, &why), FERRY_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why.text, "version 4"));
    free(longer);
}
END_TEST

START_TEST(collateral_decodes_reencodes_and_rejects_truncations)
{
    SAMPLE_OR_SKIP();
    struct ferry_dcap_collateral c;
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_dcap_collateral_decode(g_coll, g_coll_len, &c, &why), FERRY_OK);
    ck_assert_uint_eq(c.tcb_info_signature.len, 64);
    ck_assert_uint_eq(c.qe_identity_signature.len, 64);
    ck_assert_mem_eq(c.tcb_info.p, "{\"id\":\"SGX\"", 11);
    uint8_t *enc;
    size_t enc_len;
    ck_assert_int_eq(ferry_dcap_collateral_encode(&c, &enc, &enc_len), FERRY_OK);
    ck_assert_uint_eq(enc_len, g_coll_len);
    ck_assert_mem_eq(enc, g_coll, g_coll_len);
    free(enc);
    for (size_t n = 0; n < g_coll_len; n += (n < 64 ? 1 : 97)) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, g_coll, n);
        ck_assert_int_ne(ferry_dcap_collateral_decode(cut, n, &c, &why), FERRY_OK);
        free(cut);
    }
    ck_assert_ptr_nonnull(strstr(why.text, "collateral field"));
}
END_TEST

/* ---- flipped bits in the sample -------------------------------------------------------------- */

static void flip_quote(size_t off, enum ferry_attest_step step, const char *reason)
{
    uint8_t *q = malloc(g_quote_len);
    memcpy(q, g_quote, g_quote_len);
    q[off] ^= 0x01;
    expect_invalid(q, g_quote_len, g_coll, g_coll_len, at(GOOD_TIME), NULL, NULL, step, reason);
    free(q);
}

/* Offsets in a v3 quote: header 48, report body 384, sig_len 4, then the signature data. */
#define OFF_BODY      48
#define OFF_SIG       (48 + 384 + 4)
#define OFF_ATT_KEY   (OFF_SIG + 64)
#define OFF_QE_REPORT (OFF_ATT_KEY + 64)
#define OFF_QE_SIG    (OFF_QE_REPORT + 384)
#define OFF_AUTH      (OFF_QE_SIG + 64 + 2)

START_TEST(flipped_quote_body_fails_the_quote_signature)
{
    SAMPLE_OR_SKIP();
    flip_quote(OFF_BODY + 64, FERRY_ATTEST_QUOTE_SIGNATURE, "report was altered");  /* MRENCLAVE */
    flip_quote(OFF_BODY + 320, FERRY_ATTEST_QUOTE_SIGNATURE, "report was altered"); /* data */
    flip_quote(40, FERRY_ATTEST_QUOTE_SIGNATURE, "report was altered"); /* header user data */
}
END_TEST

START_TEST(flipped_quote_signature_fails_the_quote_signature)
{
    SAMPLE_OR_SKIP();
    flip_quote(OFF_SIG + 5, FERRY_ATTEST_QUOTE_SIGNATURE, "does not verify");
    flip_quote(OFF_SIG + 40, FERRY_ATTEST_QUOTE_SIGNATURE, "does not verify");
}
END_TEST

START_TEST(flipped_qe_report_or_its_signature_fails_the_qe_report)
{
    SAMPLE_OR_SKIP();
    flip_quote(OFF_QE_REPORT + 64, FERRY_ATTEST_QE_REPORT, "signature does not verify");
    flip_quote(OFF_QE_REPORT + 330, FERRY_ATTEST_QE_REPORT, "signature does not verify");
    flip_quote(OFF_QE_SIG + 7, FERRY_ATTEST_QE_REPORT, "signature does not verify");
    /* The attestation key or the auth data no longer hash to the QE's report data. */
    flip_quote(OFF_ATT_KEY + 3, FERRY_ATTEST_QE_REPORT, "SHA-256(attestation key");
    flip_quote(OFF_AUTH + 1, FERRY_ATTEST_QE_REPORT, "SHA-256(attestation key");
}
END_TEST

/* Re-encode the i-th PEM certificate of a chain with one bit of its DER flipped (inside the
 * signature value, so the DER stays well-formed). Returns a malloc'd chain of the same length. */
static char *flip_cert_in_chain(const uint8_t *pem, size_t len, int which, size_t *out_len)
{
    BIO *in = BIO_new_mem_buf(pem, (int)len), *out = BIO_new(BIO_s_mem());
    char *name, *header;
    unsigned char *der;
    long der_len;
    for (int i = 0; PEM_read_bio(in, &name, &header, &der, &der_len) == 1; i++) {
        if (i == which)
            der[der_len - 10] ^= 0x04;
        PEM_write_bio(out, name, header, der, der_len);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
    }
    ERR_clear_error();
    char *p;
    long n = BIO_get_mem_data(out, &p);
    char *r = malloc((size_t)n);
    memcpy(r, p, (size_t)n);
    *out_len = (size_t)n;
    BIO_free(in);
    BIO_free(out);
    return r;
}

/* Build a quote whose certification data is replaced (lengths updated). */
static uint8_t *quote_with_certs(const uint8_t *q, size_t qlen, const void *certs, size_t certs_len,
                                 size_t *out_len)
{
    struct ferry_dcap_quote p;
    ck_assert_int_eq(ferry_dcap_quote_parse(q, qlen, &p, NULL), FERRY_OK);
    size_t head = (size_t)(p.cert_data - q);
    uint8_t *r = malloc(head + certs_len);
    memcpy(r, q, head);
    memcpy(r + head, certs, certs_len);
    uint32_t cl = (uint32_t)certs_len, sl = (uint32_t)(head + certs_len - OFF_SIG);
    for (int i = 0; i < 4; i++) {
        r[head - 4 + i] = (uint8_t)(cl >> (8 * i));
        r[OFF_SIG - 4 + i] = (uint8_t)(sl >> (8 * i));
    }
    *out_len = head + certs_len;
    return r;
}

START_TEST(flipped_pck_chain_fails_the_pck_chain)
{
    SAMPLE_OR_SKIP();
    struct ferry_dcap_quote p;
    ck_assert_int_eq(ferry_dcap_quote_parse(g_quote, g_quote_len, &p, NULL), FERRY_OK);
    static const char *const want[3] = {"\"Intel SGX PCK Certificate\"",
                                        "\"Intel SGX PCK Processor CA\"", "not self-signed"};
    for (int which = 0; which < 3; which++) {
        size_t cl, ql;
        char *certs = flip_cert_in_chain(p.cert_data, p.cert_len, which, &cl);
        uint8_t *q = quote_with_certs(g_quote, g_quote_len, certs, cl, &ql);
        expect_invalid(q, ql, g_coll, g_coll_len, at(GOOD_TIME), NULL, NULL, FERRY_ATTEST_PCK_CHAIN,
                       want[which]);
        free(q);
        free(certs);
    }
}
END_TEST

/* A copy of the sample collateral with field i replaced by data[len]. */
static uint8_t *collateral_with(const uint8_t *coll, size_t coll_len, unsigned i, const void *data,
                                size_t len, size_t *out_len)
{
    struct ferry_dcap_collateral c;
    ck_assert_int_eq(ferry_dcap_collateral_decode(coll, coll_len, &c, NULL), FERRY_OK);
    *ferry_dcap_collateral_field(&c, i) = (struct ferry_bytes){(uint8_t *)data, len};
    uint8_t *out;
    ck_assert_int_eq(ferry_dcap_collateral_encode(&c, &out, out_len), FERRY_OK);
    return out;
}

/* Field i of the sample with one bit flipped where it keeps its form: DER inside the first
 * certificate's signature, the CRL's signature (hex of DER), a JSON text's value, a signature. */
static uint8_t *flipped_field(unsigned i, size_t *len)
{
    struct ferry_dcap_collateral c;
    ck_assert_int_eq(ferry_dcap_collateral_decode(g_coll, g_coll_len, &c, NULL), FERRY_OK);
    const struct ferry_bytes *f = ferry_dcap_collateral_field(&c, i);
    if (i == 0 || i == 3 || i == 6)
        return (uint8_t *)flip_cert_in_chain(f->p, f->len, 0, len);
    if (i == 1 || i == 2) {
        uint8_t *der;
        size_t der_len;
        ck_assert_int_eq(ferry_hex_decode((const char *)f->p, f->len, &der, &der_len), FERRY_OK);
        der[der_len - 10] ^= 0x04;
        char *hex = ferry_hex_alloc(der, der_len);
        free(der);
        *len = strlen(hex) - 2;
        memmove(hex, hex + 2, *len);
        return (uint8_t *)hex;
    }
    uint8_t *r = malloc(f->len);
    memcpy(r, f->p, f->len);
    *len = f->len;
    if (i == 4 || i == 7) {
        char *d = strstr((char *)r, "\"tcbEvaluationDataNumber\":16");
        ck_assert_ptr_nonnull(d);
        d[27] ^= 0x02; /* 16 -> 14 */
    } else {
        r[17] ^= 0x10;
    }
    return r;
}

START_TEST(each_flipped_collateral_field_fails_at_its_step)
{
    SAMPLE_OR_SKIP();
    static const struct {
        enum ferry_attest_step step;
        const char *reason;
    } want[9] = {
        {FERRY_ATTEST_PCK_CHAIN, "PCK CRL issuer chain: the signature on \"Intel SGX PCK"},
        {FERRY_ATTEST_TCB_INFO, "signature on the CRL"},
        {FERRY_ATTEST_PCK_CHAIN, "PCK CRL: its signature does not verify"},
        {FERRY_ATTEST_TCB_INFO, "the signature on \"Intel SGX TCB Signing\""},
        {FERRY_ATTEST_TCB_INFO, "TCB info signature does not verify"},
        {FERRY_ATTEST_TCB_INFO, "TCB info signature does not verify"},
        {FERRY_ATTEST_QE_IDENTITY, "the signature on \"Intel SGX TCB Signing\""},
        {FERRY_ATTEST_QE_IDENTITY, "QE identity signature does not verify"},
        {FERRY_ATTEST_QE_IDENTITY, "QE identity signature does not verify"},
    };
    for (unsigned i = 0; i < 9; i++) {
        size_t flen, clen;
        uint8_t *f = flipped_field(i, &flen);
        uint8_t *c = collateral_with(g_coll, g_coll_len, i, f, flen, &clen);
        struct ferry_attest_verdict v;
        ck_assert_int_eq(
            ferry_attest_verify_dcap(g_quote, g_quote_len, c, clen, at(GOOD_TIME), NULL, NULL, &v),
            FERRY_E_VERIFY);
        ck_assert_msg(v.step == want[i].step && strstr(v.reason, want[i].reason),
                      "field %s: step \"%s\" reason \"%s\"", ferry_dcap_collateral_field_names[i],
                      ferry_attest_step_name(v.step), v.reason);
        free(c);
        free(f);
    }
}
END_TEST

START_TEST(policy_report_data_mrenclave_and_debug)
{
    SAMPLE_OR_SKIP();
    uint8_t rd[32] = "Hello, world!";
    struct ferry_attest_verdict v;
    ck_assert_int_eq(
        ferry_attest_verify_report(g_quote, g_quote_len, g_coll, g_coll_len, at(GOOD_TIME), rd, &v),
        FERRY_OK);
    rd[0] ^= 1;
    expect_invalid(g_quote, g_quote_len, g_coll, g_coll_len, at(GOOD_TIME),
                   &(struct ferry_attest_policy){.expected_report_data = rd}, NULL,
                   FERRY_ATTEST_POLICY, "report_data[0..32] is 0x48656c6c6f");
    uint8_t mr[32] = {0};
    expect_invalid(g_quote, g_quote_len, g_coll, g_coll_len, at(GOOD_TIME),
                   &(struct ferry_attest_policy){.mr_enclave = mr}, NULL, FERRY_ATTEST_POLICY,
                   "MRENCLAVE is 0x33d8736d");
    struct ferry_sgx_report_body body = {0};
    body.attributes[0] = 0x07; /* INIT | DEBUG | MODE64BIT */
    struct ferry_reason why = {{0}};
    ck_assert_int_eq(ferry_attest_check_policy(&body, NULL, &why), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why.text, "DEBUG"));
    ck_assert_int_eq(
        ferry_attest_check_policy(&body, &(struct ferry_attest_policy){.allow_debug = true}, &why),
        FERRY_OK);
}
END_TEST

START_TEST(times_parse_as_rfc3339)
{
    ck_assert_int_eq(at("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(at("2023-11-06T20:03:20Z"), 1699301000);
    ck_assert_int_eq(at("2023-11-06T21:03:20.5+01:00"), 1699301000);
    ck_assert_int_eq(at("2024-02-29T00:00:00Z"), 1709164800);
    int64_t t;
    ck_assert_int_ne(ferry_attest_parse_time("2023-11-06", &t), FERRY_OK);
    ck_assert_int_ne(ferry_attest_parse_time("2023-11-06T20:03:20", &t), FERRY_OK);
    ck_assert_int_ne(ferry_attest_parse_time("2023-13-06T20:03:20Z", &t), FERRY_OK);
    char buf[21];
    ck_assert_str_eq(ferry_attest_format_time(1699301000, buf), "2023-11-06T20:03:20Z");
}
END_TEST

/* ---- a test PKI in place of Intel's ---------------------------------------------------------- */

struct pki {
    EVP_PKEY *root_key, *pck_ca_key, *tcb_key, *pck_key, *att_key;
    X509 *root, *pck_ca, *tcb, *pck;
    uint8_t root_point[65];
};

static EVP_PKEY *gen_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(k);
    return k;
}

static void point_of(EVP_PKEY *k, uint8_t out[65])
{
    size_t n;
    ck_assert(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, 65, &n));
    ck_assert_uint_eq(n, 65);
}

static X509_NAME *name_cn(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"ferry test PKI", -1,
                               -1, 0);
    return n;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial, int ca, X509 *copy_sgx_ext_from)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME *subj = name_cn(cn);
    X509_set_subject_name(x, subj);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj);
    X509_NAME_free(subj);
    ASN1_TIME_set(X509_getm_notBefore(x), at("2020-01-01T00:00:00Z"));
    ASN1_TIME_set(X509_getm_notAfter(x), at("2040-01-01T00:00:00Z"));
    X509_set_pubkey(x, key);
    X509 *iss = issuer ? issuer : x;
    if (ca) {
        add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, iss, NID_key_usage, "critical,digitalSignature,nonRepudiation");
    }
    if (copy_sgx_ext_from) {
        ASN1_OBJECT *oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        int idx = X509_get_ext_by_OBJ(copy_sgx_ext_from, oid, -1);
        ck_assert_int_ge(idx, 0);
        X509_add_ext(x, X509_get_ext(copy_sgx_ext_from, idx), -1);
        ASN1_OBJECT_free(oid);
    }
    ck_assert_int_gt(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()), 0);
    return x;
}

static X509 *sample_pck_leaf(void)
{
    struct ferry_dcap_quote q;
    ck_assert_int_eq(ferry_dcap_quote_parse(g_quote, g_quote_len, &q, NULL), FERRY_OK);
    BIO *b = BIO_new_mem_buf(q.cert_data, (int)q.cert_len);
    X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ck_assert_ptr_nonnull(leaf);
    return leaf;
}

static void pki_init(struct pki *k)
{
    k->root_key = gen_key();
    k->pck_ca_key = gen_key();
    k->tcb_key = gen_key();
    k->pck_key = gen_key();
    k->att_key = gen_key();
    k->root = make_cert("Intel SGX Root CA", k->root_key, NULL, NULL, 1, 1, NULL);
    k->pck_ca =
        make_cert("Intel SGX PCK Processor CA", k->pck_ca_key, k->root, k->root_key, 2, 1, NULL);
    k->tcb = make_cert("Intel SGX TCB Signing", k->tcb_key, k->root, k->root_key, 3, 0, NULL);
    X509 *real = sample_pck_leaf();
    k->pck = make_cert("Intel SGX PCK Certificate", k->pck_key, k->pck_ca, k->pck_ca_key, 0x5eed, 0,
                       real);
    X509_free(real);
    point_of(k->root_key, k->root_point);
}

static void pki_free(struct pki *k)
{
    EVP_PKEY *keys[] = {k->root_key, k->pck_ca_key, k->tcb_key, k->pck_key, k->att_key};
    X509 *certs[] = {k->root, k->pck_ca, k->tcb, k->pck};
    for (int i = 0; i < 5; i++)
        EVP_PKEY_free(keys[i]);
    for (int i = 0; i < 4; i++)
        X509_free(certs[i]);
}

static char *pem_chain(X509 *a, X509 *b, X509 *c, size_t *len)
{
    BIO *out = BIO_new(BIO_s_mem());
    X509 *all[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (all[i])
            PEM_write_bio_X509(out, all[i]);
    char *p;
    long n = BIO_get_mem_data(out, &p);
    char *r = malloc((size_t)n + 1);
    memcpy(r, p, (size_t)n);
    r[n] = 0;
    *len = (size_t)n;
    BIO_free(out);
    return r;
}

/* ECDSA P-256 / SHA-256 as r || s. */
static void sign_rs(EVP_PKEY *key, const void *msg, size_t len, uint8_t out[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof der;
    ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    ck_assert_int_eq(EVP_DigestSign(md, der, &der_len, msg, len), 1);
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    ck_assert_ptr_nonnull(s);
    BN_bn2binpad(ECDSA_SIG_get0_r(s), out, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), out + 32, 32);
    ECDSA_SIG_free(s);
}

/* The sample quote re-signed under the test PKI: new attestation key, QE report data bound to
 * it, QE report signed by the test PCK key, quote signed by the attestation key. `attributes0`
 * replaces the enclave's first attribute byte when >= 0. */
static uint8_t *pki_quote(struct pki *k, int attributes0, size_t *len)
{
    uint8_t *q = malloc(g_quote_len);
    memcpy(q, g_quote, g_quote_len);
    if (attributes0 >= 0)
        q[OFF_BODY + 48] = (uint8_t)attributes0;
    uint8_t point[65];
    point_of(k->att_key, point);
    memcpy(q + OFF_ATT_KEY, point + 1, 64);
    struct ferry_dcap_quote p;
    ck_assert_int_eq(ferry_dcap_quote_parse(q, g_quote_len, &p, NULL), FERRY_OK);
    uint8_t h[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, point + 1, 64);
    EVP_DigestUpdate(md, p.qe_auth_data, p.qe_auth_len);
    EVP_DigestFinal_ex(md, h, NULL);
    EVP_MD_CTX_free(md);
    memcpy(q + OFF_QE_REPORT + 320, h, 32);
    memset(q + OFF_QE_REPORT + 352, 0, 32);
    sign_rs(k->pck_key, q + OFF_QE_REPORT, 384, q + OFF_QE_SIG);
    sign_rs(k->att_key, q, 48 + 384, q + OFF_SIG);
    size_t cl;
    char *certs = pem_chain(k->pck, k->pck_ca, k->root, &cl);
    uint8_t *r = quote_with_certs(q, g_quote_len, certs, cl, len);
    free(certs);
    free(q);
    return r;
}

static const char *pck_crl_next_update = "2024-06-01T00:00:00Z";

static char *crl_hex(X509 *issuer, EVP_PKEY *key, long revoked_serial, const char *next)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    ASN1_TIME *t = ASN1_TIME_new();
    ASN1_TIME_set(t, at("2023-11-01T00:00:00Z"));
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, at(next));
    X509_CRL_set1_nextUpdate(crl, t);
    if (revoked_serial) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();
        ASN1_INTEGER_set(sn, revoked_serial);
        X509_REVOKED_set_serialNumber(r, sn);
        ASN1_TIME_set(t, at("2023-11-15T00:00:00Z"));
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(sn);
    }
    ASN1_TIME_free(t);
    X509_CRL_sort(crl);
    ck_assert_int_gt(X509_CRL_sign(crl, key, EVP_sha256()), 0);
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    X509_CRL_free(crl);
    char *hex = ferry_hex_alloc(der, (size_t)n);
    OPENSSL_free(der);
    memmove(hex, hex + 2, strlen(hex) - 1);
    return hex;
}

/* Collateral for the test PKI. tcb_json / qe_json replace the sample's texts when non-NULL. */
static uint8_t *pki_collateral(struct pki *k, long revoked_pck_serial, const char *tcb_json,
                               const char *qe_json, size_t *len)
{
    struct ferry_dcap_collateral c;
    ck_assert_int_eq(ferry_dcap_collateral_decode(g_coll, g_coll_len, &c, NULL), FERRY_OK);
    size_t l1, l2;
    char *pck_chain = pem_chain(k->pck_ca, k->root, NULL, &l1);
    char *tcb_chain = pem_chain(k->tcb, k->root, NULL, &l2);
    char *root_crl = crl_hex(k->root, k->root_key, 0, "2030-01-01T00:00:00Z");
    char *pck_crl = crl_hex(k->pck_ca, k->pck_ca_key, revoked_pck_serial, pck_crl_next_update);
    const char *tcb = tcb_json ? tcb_json : (const char *)NULL;
    const char *qe = qe_json ? qe_json : (const char *)NULL;
    struct ferry_bytes tcb_b = tcb ? (struct ferry_bytes){(uint8_t *)tcb, strlen(tcb)} : c.tcb_info;
    struct ferry_bytes qe_b = qe ? (struct ferry_bytes){(uint8_t *)qe, strlen(qe)} : c.qe_identity;
    uint8_t tcb_sig[64], qe_sig[64];
    sign_rs(k->tcb_key, tcb_b.p, tcb_b.len, tcb_sig);
    sign_rs(k->tcb_key, qe_b.p, qe_b.len, qe_sig);
    struct ferry_dcap_collateral n = {
        .pck_crl_issuer_chain = {(uint8_t *)pck_chain, l1},
        .root_ca_crl = {(uint8_t *)root_crl, strlen(root_crl)},
        .pck_crl = {(uint8_t *)pck_crl, strlen(pck_crl)},
        .tcb_info_issuer_chain = {(uint8_t *)tcb_chain, l2},
        .tcb_info = tcb_b,
        .tcb_info_signature = {tcb_sig, 64},
        .qe_identity_issuer_chain = {(uint8_t *)tcb_chain, l2},
        .qe_identity = qe_b,
        .qe_identity_signature = {qe_sig, 64},
    };
    uint8_t *out;
    ck_assert_int_eq(ferry_dcap_collateral_encode(&n, &out, len), FERRY_OK);
    free(pck_chain);
    free(tcb_chain);
    free(root_crl);
    free(pck_crl);
    return out;
}

/* The sample's JSON text `field` (tcb_info or qe_identity) edited with cJSON by `edit`. */
static char *edited_json(unsigned field, void (*edit)(cJSON *))
{
    struct ferry_dcap_collateral c;
    ck_assert_int_eq(ferry_dcap_collateral_decode(g_coll, g_coll_len, &c, NULL), FERRY_OK);
    const struct ferry_bytes *f = ferry_dcap_collateral_field(&c, field);
    cJSON *j = cJSON_ParseWithLength((const char *)f->p, f->len);
    ck_assert_ptr_nonnull(j);
    edit(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static const struct ferry_attest_trust *trust_of(struct pki *k)
{
    static struct ferry_attest_trust t;
    t.root_pubkey = k->root_point;
    return &t;
}

START_TEST(test_pki_positive_control_and_pinning)
{
    SAMPLE_OR_SKIP();
    struct pki k;
    pki_init(&k);
    size_t ql, cl;
    uint8_t *q = pki_quote(&k, -1, &ql);
    uint8_t *c = pki_collateral(&k, 0, NULL, NULL, &cl);
    struct ferry_attest_verdict v;
    ck_assert_int_eq(ferry_attest_verify_dcap(q, ql, c, cl, at(GOOD_TIME), NULL, trust_of(&k), &v),
                     FERRY_OK);
    ck_assert_str_eq(v.status, "ConfigurationAndSWHardeningNeeded");
    /* Intel's pinned key refuses the test root, wherever it is first met. */
    expect_invalid(q, ql, c, cl, at(GOOD_TIME), NULL, NULL, FERRY_ATTEST_TCB_INFO,
                   "not the pinned Intel SGX Root CA key");
    /* And the test root refuses Intel's sample. */
    expect_invalid(g_quote, g_quote_len, g_coll, g_coll_len, at(GOOD_TIME), NULL, trust_of(&k),
                   FERRY_ATTEST_TCB_INFO, "not the pinned Intel SGX Root CA key");
    free(q);
    free(c);
    pki_free(&k);
}
END_TEST

START_TEST(revoked_pck_fails_the_pck_chain)
{
    SAMPLE_OR_SKIP();
    struct pki k;
    pki_init(&k);
    size_t ql, cl;
    uint8_t *q = pki_quote(&k, -1, &ql);
    uint8_t *c = pki_collateral(&k, 0x5eed, NULL, NULL, &cl);
    expect_invalid(q, ql, c, cl, at(GOOD_TIME), NULL, trust_of(&k), FERRY_ATTEST_PCK_CHAIN,
                   "\"Intel SGX PCK Certificate\" (serial 5EED) is revoked");
    free(c);
    /* Another serial on the CRL leaves the PCK valid. */
    c = pki_collateral(&k, 0x5eee, NULL, NULL, &cl);
    struct ferry_attest_verdict v;
    ck_assert_int_eq(ferry_attest_verify_dcap(q, ql, c, cl, at(GOOD_TIME), NULL, trust_of(&k), &v),
                     FERRY_OK);
    free(q);
    free(c);
    pki_free(&k);
}
END_TEST

static void valid_until_2030(cJSON *j)
{
    cJSON_ReplaceItemInObject(j, "nextUpdate", cJSON_CreateString("2030-01-01T00:00:00Z"));
}

START_TEST(expired_pck_crl_fails_the_pck_chain)
{
    SAMPLE_OR_SKIP();
    struct pki k;
    pki_init(&k);
    size_t ql, cl;
    uint8_t *q = pki_quote(&k, -1, &ql);
    char *tcb = edited_json(4, valid_until_2030), *qe = edited_json(7, valid_until_2030);
    uint8_t *c = pki_collateral(&k, 0, tcb, qe, &cl);
    struct ferry_attest_verdict v;
    ck_assert_int_eq(
        ferry_attest_verify_dcap(q, ql, c, cl, at("2024-05-01T00:00:00Z"), NULL, trust_of(&k), &v),
        FERRY_OK);
    expect_invalid(q, ql, c, cl, at("2024-07-01T00:00:00Z"), NULL, trust_of(&k),
                   FERRY_ATTEST_PCK_CHAIN,
                   "the CRL that covers \"Intel SGX PCK Certificate\" expired (next update was "
                   "2024-06-01T00:00:00Z)");
    /* Before the CRLs were issued the TCB signing chain's CRL is the first thing to fail. */
    expect_invalid(q, ql, c, cl, at("2023-10-01T00:00:00Z"), NULL, trust_of(&k),
                   FERRY_ATTEST_TCB_INFO,
                   "the CRL that covers \"Intel SGX TCB Signing\" is not valid before "
                   "2023-11-01T00:00:00Z");
    free(c);
    cJSON_free(tcb);
    cJSON_free(qe);
    free(q);
    pki_free(&k);
}
END_TEST

START_TEST(debug_enclave_fails_the_policy_unless_allowed)
{
    SAMPLE_OR_SKIP();
    struct pki k;
    pki_init(&k);
    size_t ql, cl;
    uint8_t *q = pki_quote(&k, 0x07, &ql); /* INIT | DEBUG | MODE64BIT */
    uint8_t *c = pki_collateral(&k, 0, NULL, NULL, &cl);
    expect_invalid(q, ql, c, cl, at(GOOD_TIME), NULL, trust_of(&k), FERRY_ATTEST_POLICY,
                   "DEBUG mode");
    struct ferry_attest_verdict v;
    struct ferry_attest_policy allow = {.allow_debug = true};
    ck_assert_int_eq(
        ferry_attest_verify_dcap(q, ql, c, cl, at(GOOD_TIME), &allow, trust_of(&k), &v), FERRY_OK);
    free(q);
    free(c);
    pki_free(&k);
}
END_TEST

static void other_fmspc(cJSON *j)
{
    cJSON_ReplaceItemInObject(j, "fmspc", cJSON_CreateString("00906ED50000"));
}

static void other_mrsigner(cJSON *j)
{
    cJSON_ReplaceItemInObject(
        j, "mrsigner",
        cJSON_CreateString("0000000000000000000000000000000000000000000000000000000000000000"));
}

/* The QE's ISVSVN (10) now only reaches an OutOfDate level with its own advisory. */
static void qe_out_of_date(cJSON *j)
{
    cJSON *lvl = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tcbLevels"), 0);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(lvl, "tcb"), "isvsvn", cJSON_CreateNumber(11));
    cJSON *second = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tcbLevels"), 1);
    cJSON_AddItemToArray(cJSON_GetObjectItem(second, "advisoryIDs"),
                         cJSON_CreateString("INTEL-SA-99999"));
}

/* Raise every level's PCE SVN above the platform's 13. */
static void unsupported_platform(cJSON *j)
{
    cJSON *lvl;
    cJSON_ArrayForEach(lvl, cJSON_GetObjectItem(j, "tcbLevels")) cJSON_ReplaceItemInObject(
        cJSON_GetObjectItem(lvl, "tcb"), "pcesvn", cJSON_CreateNumber(99));
}

static void revoked_qe(cJSON *j)
{
    cJSON *lvl = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tcbLevels"), 0);
    cJSON_ReplaceItemInObject(lvl, "tcbStatus", cJSON_CreateString("Revoked"));
}

START_TEST(tcb_and_qe_identity_rules)
{
    SAMPLE_OR_SKIP();
    struct pki k;
    pki_init(&k);
    size_t ql, cl;
    uint8_t *q = pki_quote(&k, -1, &ql);
    struct {
        unsigned field;
        void (*edit)(cJSON *);
        enum ferry_attest_step step;
        const char *reason;
    } cases[] = {
        {4, other_fmspc, FERRY_ATTEST_TCB_LEVEL, "TCB info is for FMSPC 00906ed50000"},
        {4, unsupported_platform, FERRY_ATTEST_TCB_LEVEL, "TCB not supported"},
        {7, other_mrsigner, FERRY_ATTEST_QE_IDENTITY_MATCH, "MRSIGNER"},
        {7, revoked_qe, FERRY_ATTEST_QE_IDENTITY_MATCH, "is Revoked"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = edited_json(cases[i].field, cases[i].edit);
        uint8_t *c = pki_collateral(&k, 0, cases[i].field == 4 ? json : NULL,
                                    cases[i].field == 7 ? json : NULL, &cl);
        expect_invalid(q, ql, c, cl, at(GOOD_TIME), NULL, trust_of(&k), cases[i].step,
                       cases[i].reason);
        free(c);
        cJSON_free(json);
    }
    /* QE OutOfDate + platform ConfigurationAndSWHardeningNeeded -> OutOfDateConfigurationNeeded,
     * advisories merged (platform's first). */
    char *json = edited_json(7, qe_out_of_date);
    uint8_t *c = pki_collateral(&k, 0, NULL, json, &cl);
    struct ferry_attest_verdict v;
    ck_assert_int_eq(ferry_attest_verify_dcap(q, ql, c, cl, at(GOOD_TIME), NULL, trust_of(&k), &v),
                     FERRY_OK);
    ck_assert_str_eq(v.status, "OutOfDateConfigurationNeeded");
    ck_assert_uint_eq(v.n_advisories, 3);
    ck_assert_str_eq(v.advisory_ids[0], "INTEL-SA-00289");
    ck_assert_str_eq(v.advisory_ids[1], "INTEL-SA-00615");
    ck_assert_str_eq(v.advisory_ids[2], "INTEL-SA-99999");
    free(c);
    cJSON_free(json);
    free(q);
    pki_free(&k);
}
END_TEST

/* SCALE Some(SgxDcap{quote, collateral}) with collateral Some(SgxV30(sample)) or None. */
static uint8_t *dcap_report(int with_collateral, size_t *len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_u8(&w, 1);
    ferry_scale_put_u8(&w, 1);
    ferry_scale_put_compact(&w, g_quote_len);
    ferry_scale_put_bytes(&w, g_quote, g_quote_len);
    ferry_scale_put_u8(&w, with_collateral ? 1 : 0);
    if (with_collateral) {
        ferry_scale_put_u8(&w, 0);
        ferry_scale_put_bytes(&w, g_coll, g_coll_len);
    }
    uint8_t *r = ferry_scale_writer_take(&w, len);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(prepare_report_verifies_dcap_and_passes_none_and_ias_through)
{
    SAMPLE_OR_SKIP();
    uint8_t rd[32] = "Hello, world!";
    uint8_t *out;
    size_t out_len, len;
    enum ferry_attest_kind kind;
    struct ferry_attest_verdict v;
    struct ferry_reason why = {{0}};
    uint8_t *rep = dcap_report(1, &len);
    ck_assert_int_eq(ferry_attest_prepare_report(rep, len, NULL, at(GOOD_TIME), rd, &out, &out_len,
                                                 &kind, &v, &why),
                     FERRY_OK);
    ck_assert_int_eq(kind, FERRY_ATTEST_KIND_DCAP);
    ck_assert(v.valid);
    ck_assert_uint_eq(out_len, len);
    ck_assert_mem_eq(out, rep, len);
    free(out);
    /* Expired collateral or another worker's report data: nothing to submit. */
    ck_assert_int_eq(ferry_attest_prepare_report(rep, len, NULL, at("2024-01-01T00:00:00Z"), rd,
                                                 &out, &out_len, &kind, &v, &why),
                     FERRY_E_VERIFY);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(why.text, "step \"TCB info\""));
    uint8_t other[32] = {1};
    ck_assert_int_eq(ferry_attest_prepare_report(rep, len, NULL, at(GOOD_TIME), other, &out,
                                                 &out_len, &kind, &v, &why),
                     FERRY_E_VERIFY);
    ck_assert_int_eq(v.step, FERRY_ATTEST_POLICY);
    /* Trailing bytes after the collateral are not a collateral. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, rep, len);
    longer[len] = 0;
    ck_assert_int_eq(ferry_attest_prepare_report(longer, len + 1, NULL, at(GOOD_TIME), rd, &out,
                                                 &out_len, &kind, &v, &why),
                     FERRY_E_VERIFY);
    ck_assert_int_eq(v.step, FERRY_ATTEST_COLLATERAL_FORMAT);
    free(longer);
    free(rep);
    /* No collateral: a PCCS is needed; an unreachable one is a network error. */
    rep = dcap_report(0, &len);
    ck_assert_int_eq(ferry_attest_prepare_report(rep, len, NULL, at(GOOD_TIME), rd, &out, &out_len,
                                                 &kind, &v, &why),
                     FERRY_E_ARG);
    struct ferry_pccs_opts closed = {.base_url = "http://127.0.0.1:1/sgx/certification/v4",
                                     .timeout_ms = 5000};
    ck_assert_int_eq(ferry_attest_prepare_report(rep, len, &closed, at(GOOD_TIME), rd, &out,
                                                 &out_len, &kind, &v, &why),
                     FERRY_E_NET);
    ck_assert_ptr_nonnull(
        strstr(why.text, "PCCS GET http://127.0.0.1:1/sgx/certification/v4/pckcrl"));
    free(rep);
    /* None and IAS pass through; a bad variant or a truncated IAS report does not. */
    static const uint8_t none[] = {0x00}, ias[] = {0x01, 0x00, 0x04, 'a', 0x00, 0x00},
                         bad[] = {0x01, 0x02}, cut[] = {0x01, 0x00, 0x08, 'a'};
    ck_assert_int_eq(
        ferry_attest_prepare_report(none, 1, NULL, 0, rd, &out, &out_len, &kind, &v, &why),
        FERRY_OK);
    ck_assert_int_eq(kind, FERRY_ATTEST_KIND_NONE);
    ck_assert_uint_eq(out_len, 1);
    free(out);
    ck_assert_int_eq(
        ferry_attest_prepare_report(ias, sizeof ias, NULL, 0, rd, &out, &out_len, &kind, &v, &why),
        FERRY_OK);
    ck_assert_int_eq(kind, FERRY_ATTEST_KIND_IAS);
    ck_assert_mem_eq(out, ias, sizeof ias);
    free(out);
    ck_assert_int_ne(
        ferry_attest_prepare_report(bad, sizeof bad, NULL, 0, rd, &out, &out_len, &kind, &v, &why),
        FERRY_OK);
    ck_assert_int_ne(
        ferry_attest_prepare_report(cut, sizeof cut, NULL, 0, rd, &out, &out_len, &kind, &v, &why),
        FERRY_OK);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(cli_attest_verify_prints_the_verdict)
{
    SAMPLE_OR_SKIP();
    const char *bin = tu_ferry_bin();
    if (!bin || access(bin, X_OK) != 0)
        return; /* e.g. `make asan` builds only the unit tests */
    const char *v = getenv("FERRY_VECTORS");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' attest verify --quote '%s/../chain/phala/dcap_quote.bin' --collateral "
             "'%s/../chain/phala/dcap_quote_collateral.scale' --at 2023-12-01T00:00:00Z "
             "2>/dev/null",
             bin, v ? v : "../shared/vectors", v ? v : "../shared/vectors");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int rc = pclose(p);
    ck_assert_int_eq(WEXITSTATUS(rc), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "valid")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring,
                     "ConfigurationAndSWHardeningNeeded");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "advisory_ids")), 2);
    cJSON_Delete(j);
}
END_TEST

Suite *attest_suite(void)
{
    Suite *s = suite_create("attest");
    TCase *tc = tcase_create("attest");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sample_valid_on_2023_12_01_with_status_and_advisories);
    tcase_add_test(tc, sample_invalid_on_2023_11_06_tcb_info_from_the_future);
    tcase_add_test(tc, sample_invalid_on_2024_01_01_tcb_info_expired);
    tcase_add_test(tc, sample_between_the_tcb_info_and_qe_identity_issue_dates);
    tcase_add_test(tc, pinned_key_is_the_root_of_every_sample_chain);
    tcase_add_test(tc, sample_quote_fields_and_pck_extension);
    tcase_add_test(tc, quote_parser_rejects_every_truncation_and_extension);
    tcase_add_test(tc, collateral_decodes_reencodes_and_rejects_truncations);
    tcase_add_test(tc, flipped_quote_body_fails_the_quote_signature);
    tcase_add_test(tc, flipped_quote_signature_fails_the_quote_signature);
    tcase_add_test(tc, flipped_qe_report_or_its_signature_fails_the_qe_report);
    tcase_add_test(tc, flipped_pck_chain_fails_the_pck_chain);
    tcase_add_test(tc, each_flipped_collateral_field_fails_at_its_step);
    tcase_add_test(tc, policy_report_data_mrenclave_and_debug);
    tcase_add_test(tc, times_parse_as_rfc3339);
    tcase_add_test(tc, test_pki_positive_control_and_pinning);
    tcase_add_test(tc, revoked_pck_fails_the_pck_chain);
    tcase_add_test(tc, expired_pck_crl_fails_the_pck_chain);
    tcase_add_test(tc, debug_enclave_fails_the_policy_unless_allowed);
    tcase_add_test(tc, tcb_and_qe_identity_rules);
    tcase_add_test(tc, prepare_report_verifies_dcap_and_passes_none_and_ias_through);
    tcase_add_test(tc, cli_attest_verify_prints_the_verdict);
    suite_add_tcase(s, tc);
    return s;
}
