/* DCAP quote verification with OpenSSL's libcrypto: certificate chains to a pinned root, CRLs,
 * the QE report, the quote signature, TCB info and QE identity (cJSON), the TCB level.
 *
 * The order of the steps is documented in include/ferry/attest.h. Each step writes its reason in
 * operator words; ferry_attest_verify_dcap() turns the first failure into the verdict. X.509,
 * ASN.1 and P-256 are OpenSSL's; this file only decides what to ask it and how to say the answer.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/attest.h"
#include "ferry/hex.h"

ferry_err ferry_attest_leaf_info(X509 *leaf, struct ferry_sgx_pck_info *out,
                                 struct ferry_reason *why);

const uint8_t FERRY_INTEL_SGX_ROOT_PUBKEY[65] = {
    0x04, 0x0b, 0xa9, 0xc4, 0xc0, 0xc0, 0xc8, 0x61, 0x93, 0xa3, 0xfe, 0x23, 0xd6,
    0xb0, 0x2c, 0xda, 0x10, 0xa8, 0xbb, 0xd4, 0xe8, 0x8e, 0x48, 0xb4, 0x45, 0x85,
    0x61, 0xa3, 0x6e, 0x70, 0x55, 0x25, 0xf5, 0x67, 0x91, 0x8e, 0x2e, 0xdc, 0x88,
    0xe4, 0x0d, 0x86, 0x0b, 0xd0, 0xcc, 0x4e, 0xe2, 0x6a, 0xac, 0xc9, 0x88, 0xe5,
    0x05, 0xa9, 0x53, 0x55, 0x8c, 0x45, 0x3f, 0x6b, 0x09, 0x04, 0xae, 0x73, 0x94,
};

static const uint8_t intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

#define MAX_CHAIN 8

const char *ferry_attest_step_name(enum ferry_attest_step step)
{
    switch (step) {
    case FERRY_ATTEST_OK:
        return "ok";
    case FERRY_ATTEST_QUOTE_FORMAT:
        return "quote format";
    case FERRY_ATTEST_COLLATERAL_FORMAT:
        return "collateral format";
    case FERRY_ATTEST_TCB_INFO:
        return "TCB info";
    case FERRY_ATTEST_QE_IDENTITY:
        return "QE identity";
    case FERRY_ATTEST_PCK_CHAIN:
        return "PCK chain";
    case FERRY_ATTEST_QE_REPORT:
        return "QE report";
    case FERRY_ATTEST_QUOTE_SIGNATURE:
        return "quote signature";
    case FERRY_ATTEST_QE_IDENTITY_MATCH:
        return "QE identity match";
    case FERRY_ATTEST_TCB_LEVEL:
        return "platform TCB level";
    case FERRY_ATTEST_POLICY:
        return "enclave policy";
    case FERRY_ATTEST_COLLATERAL_FETCH:
        return "collateral fetch";
    }
    return "unknown step";
}

/* ---- time ------------------------------------------------------------------------------------ */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

ferry_err ferry_attest_parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se;
    if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return FERRY_E_ARG;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return FERRY_E_ARG;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return FERRY_E_ARG;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int64_t offset = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return FERRY_E_ARG;
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    } else {
        return FERRY_E_ARG;
    }
    /* Days from civil (proleptic Gregorian), so no dependence on timegm or the TZ. */
    int yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + se - offset;
    return FERRY_OK;
}

char *ferry_attest_format_time(int64_t t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        snprintf(out, 21, "(time %lld)", (long long)(t % 100000000000LL));
        return out;
    }
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static void asn1_time_text(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    if (t && ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, cap, "(no date)");
}

/* ---- certificates, CRLs, keys ---------------------------------------------------------------- */

static void cert_cn(X509 *x, char *out, size_t cap)
{
    out[0] = 0;
    if (x)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    if (!out[0])
        snprintf(out, cap, "(certificate without a common name)");
}

/* Read every PEM certificate of text[len] (at least one, at most MAX_CHAIN). */
static ferry_err load_chain(const uint8_t *text, size_t len, STACK_OF(X509) * *out,
                            struct ferry_reason *why, const char *what)
{
    *out = NULL;
    if (len == 0 || len > INT32_MAX)
        return ferry_reason_set(why, FERRY_E_INVALID, "%s is empty", what);
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!bio || !sk) {
        BIO_free(bio);
        sk_X509_free(sk);
        return FERRY_E_NOMEM;
    }
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_num(sk) >= MAX_CHAIN || !sk_X509_push(sk, x)) {
            X509_free(x);
            BIO_free(bio);
            sk_X509_pop_free(sk, X509_free);
            return ferry_reason_set(why, FERRY_E_INVALID, "%s holds more than %d certificates",
                                    what, MAX_CHAIN);
        }
    }
    /* PEM_read stops at the end or at a block it cannot read: only the end is fine. */
    unsigned long e = ERR_peek_last_error();
    int clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    BIO_free(bio);
    if (sk_X509_num(sk) == 0 || !clean_end) {
        int n = sk_X509_num(sk);
        sk_X509_pop_free(sk, X509_free);
        if (n == 0)
            return ferry_reason_set(why, FERRY_E_INVALID, "%s holds no PEM certificate", what);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "%s: certificate %d is not a valid PEM certificate", what, n + 1);
    }
    *out = sk;
    return FERRY_OK;
}

/* A CRL given as hex text of DER (what a PCCS serves), PEM or raw DER. */
static ferry_err load_crl(const uint8_t *p, size_t len, X509_CRL **out, struct ferry_reason *why,
                          const char *what)
{
    *out = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (len > INT32_MAX)
        return ferry_reason_set(why, FERRY_E_INVALID, "%s is too large", what);
    if (len >= 5 && memcmp(p, "-----", 5) == 0) {
        BIO *bio = BIO_new_mem_buf(p, (int)len);
        if (!bio)
            return FERRY_E_NOMEM;
        *out = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        size_t n = len;
        while (n > 0 && isspace(p[n - 1]))
            n--;
        if (ferry_hex_decode((const char *)p, n, &der, &der_len) == FERRY_OK) {
            const unsigned char *q = der;
            *out = d2i_X509_CRL(NULL, &q, (long)der_len);
            if (*out && q != der + der_len) {
                X509_CRL_free(*out);
                *out = NULL;
            }
            free(der);
        } else {
            const unsigned char *q = p;
            *out = d2i_X509_CRL(NULL, &q, (long)len);
            if (*out && q != p + len) {
                X509_CRL_free(*out);
                *out = NULL;
            }
        }
    }
    ERR_clear_error();
    if (!*out)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "%s is not a certificate revocation list (expected hex of DER, "
                                "PEM or DER)",
                                what);
    return FERRY_OK;
}

/* The uncompressed point of a P-256 public key. Returns: 1 when it is one. */
static int pubkey_point(EVP_PKEY *k, uint8_t out[65])
{
    size_t n = 0;
    char group[32];
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) ||
        strcmp(group, "prime256v1") != 0 ||
        !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, 65, &n) ||
        n != 65) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

/* A P-256 public key from x || y. */
static EVP_PKEY *raw_p256_key(const uint8_t xy[64])
{
    uint8_t point[65];
    point[0] = 0x04;
    memcpy(point + 1, xy, 64);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return k;
}

/* ECDSA P-256 / SHA-256 over msg with a raw r || s signature. Returns: 1 when it verifies. */
static int verify_rs(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                     size_t sig_len)
{
    if (!key || sig_len != 64)
        return 0;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *ss = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len = -1, ok = 0;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
        r = ss = NULL;
        der_len = i2d_ECDSA_SIG(s, &der);
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (der_len > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1)
        ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

/* The last certificate of a chain must be a root carrying the pinned key, self-signed by it. */
static ferry_err check_root(X509 *root, const uint8_t pin[65], struct ferry_reason *why,
                            const char *what)
{
    uint8_t point[65];
    char cn[128];
    cert_cn(root, cn, sizeof cn);
    EVP_PKEY *k = X509_get0_pubkey(root);
    if (!pubkey_point(k, point) || memcmp(point, pin, 65) != 0)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s ends at \"%s\", whose key is not the pinned Intel SGX Root CA "
                                "key",
                                what, cn);
    if (X509_check_issued(root, root) != X509_V_OK || X509_verify(root, k) != 1) {
        ERR_clear_error();
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: root certificate \"%s\" is not self-signed by the pinned key",
                                what, cn);
    }
    return FERRY_OK;
}

/* Say what X509_verify_cert found, in operator words. */
static ferry_err chain_error(X509_STORE_CTX *ctx, X509_CRL **crls, int n_crls,
                             struct ferry_reason *why, const char *what)
{
    int e = X509_STORE_CTX_get_error(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    /* OpenSSL clears its current CRL once the check is over: find the one for this issuer. */
    X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
    for (int i = 0; !crl && cur && i < n_crls; i++)
        if (X509_NAME_cmp(X509_CRL_get_issuer(crls[i]), X509_get_issuer_name(cur)) == 0)
            crl = crls[i];
    char cn[128], date[32];
    cert_cn(cur, cn, sizeof cn);
    switch (e) {
    case X509_V_ERR_CERT_NOT_YET_VALID:
        asn1_time_text(X509_get0_notBefore(cur), date, sizeof date);
        return ferry_reason_set(why, FERRY_E_VERIFY, "%s: \"%s\" is not valid before %s", what, cn,
                                date);
    case X509_V_ERR_CERT_HAS_EXPIRED:
        asn1_time_text(X509_get0_notAfter(cur), date, sizeof date);
        return ferry_reason_set(why, FERRY_E_VERIFY, "%s: \"%s\" expired on %s", what, cn, date);
    case X509_V_ERR_CRL_NOT_YET_VALID:
        asn1_time_text(crl ? X509_CRL_get0_lastUpdate(crl) : NULL, date, sizeof date);
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: the CRL that covers \"%s\" is not valid before %s", what, cn,
                                date);
    case X509_V_ERR_CRL_HAS_EXPIRED:
        asn1_time_text(crl ? X509_CRL_get0_nextUpdate(crl) : NULL, date, sizeof date);
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: the CRL that covers \"%s\" expired (next update was %s)", what,
                                cn, date);
    case X509_V_ERR_CERT_REVOKED: {
        const ASN1_INTEGER *sn = cur ? X509_get0_serialNumber(cur) : NULL;
        BIGNUM *bn = sn ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        ferry_reason_set(why, FERRY_E_VERIFY,
                         "%s: \"%s\" (serial %s) is revoked by its issuer's CRL", what, cn,
                         hex ? hex : "?");
        OPENSSL_free(hex);
        BN_free(bn);
        return FERRY_E_VERIFY;
    }
    case X509_V_ERR_UNABLE_TO_GET_CRL:
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: no CRL from the issuer of \"%s\" was given", what, cn);
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: the signature on the CRL that covers \"%s\" does not verify",
                                what, cn);
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: the signature on \"%s\" does not verify with its issuer's key",
                                what, cn);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s: the issuer of \"%s\" is not in the chain, so it does not lead "
                                "to the pinned root",
                                what, cn);
    default:
        return ferry_reason_set(why, FERRY_E_VERIFY, "%s: \"%s\": %s", what, cn,
                                X509_verify_cert_error_string(e));
    }
}

/* Verify chain[0] up to the chain's last certificate (which must carry the pinned key) at time
 * now, applying the CRLs given (every certificate must then be covered by one). */
static ferry_err verify_chain(STACK_OF(X509) * chain, X509_CRL **crls, int n_crls, int64_t now,
                              const uint8_t pin[65], struct ferry_reason *why, const char *what)
{
    int n = sk_X509_num(chain);
    if (n < 2)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s has %d certificate(s); a leaf and the root CA are needed", what,
                                n);
    X509 *root = sk_X509_value(chain, n - 1);
    ferry_err err = check_root(root, pin, why, what);
    if (err)
        return err;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store, root)) {
        err = FERRY_E_NOMEM;
        goto out;
    }
    for (int i = 1; i < n - 1; i++)
        if (!sk_X509_push(untrusted, sk_X509_value(chain, i))) {
            err = FERRY_E_NOMEM;
            goto out;
        }
    for (int i = 0; i < n_crls; i++)
        if (!X509_STORE_add_crl(store, crls[i])) {
            err = FERRY_E_NOMEM;
            goto out;
        }
    if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted)) {
        err = FERRY_E_NOMEM;
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    if (n_crls)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    if (X509_verify_cert(ctx) != 1)
        err = chain_error(ctx, crls, n_crls, why, what);
out:
    ERR_clear_error();
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return err;
}

/* ---- JSON helpers ---------------------------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A non-negative integer member no larger than max. Returns: -1 when absent or out of range. */
static long jint(const cJSON *o, const char *name, long max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
        v->valuedouble != (double)(long)v->valuedouble)
        return -1;
    return (long)v->valuedouble;
}

static int jhex(const cJSON *o, const char *name, uint8_t *out, size_t n)
{
    const char *s = jstr(o, name);
    return s && strlen(s) == 2 * n && ferry_hex_decode_exact(s, out, n) == FERRY_OK;
}

/* issueDate <= now <= nextUpdate for a signed TCB info or QE identity. */
static ferry_err check_dates(const cJSON *o, int64_t now, struct ferry_reason *why,
                             const char *what)
{
    int64_t issue, next;
    char a[21], b[21];
    if (ferry_attest_parse_time(jstr(o, "issueDate"), &issue) ||
        ferry_attest_parse_time(jstr(o, "nextUpdate"), &next))
        return ferry_reason_set(why, FERRY_E_INVALID, "%s has no valid issueDate and nextUpdate",
                                what);
    if (now < issue)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s issue date %s is in the future at %s (collateral newer than "
                                "the verification time)",
                                what, jstr(o, "issueDate"), ferry_attest_format_time(now, a));
    if (now > next)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "%s expired: next update was due %s, verification time is %s "
                                "(fetch fresh collateral)",
                                what, jstr(o, "nextUpdate"), ferry_attest_format_time(now, b));
    return FERRY_OK;
}

/* ---- the verification context ---------------------------------------------------------------- */

struct vctx {
    const uint8_t *pin;
    int64_t now;
    struct ferry_dcap_quote q;
    struct ferry_dcap_collateral c;
    X509_CRL *root_crl;
    X509_CRL *pck_crl;
    STACK_OF(X509) * pck_chain;
    struct ferry_sgx_pck_info pck;
    cJSON *tcb;  /* the tcbInfo object */
    cJSON *qeid; /* the enclaveIdentity object */
    const char *qe_status;
    const cJSON *qe_advisories;
    struct ferry_reason why;
};

/* A signed collateral JSON: issuer chain to the root (root CA CRL applied), signing certificate
 * name, signature over the exact text, then the JSON and its dates. */
static ferry_err signed_json(struct vctx *x, struct ferry_bytes chain_pem, struct ferry_bytes text,
                             struct ferry_bytes sig, const char *what, cJSON **out)
{
    char chain_what[96];
    snprintf(chain_what, sizeof chain_what, "%s issuer chain", what);
    STACK_OF(X509) *chain = NULL;
    ferry_err err = load_chain(chain_pem.p, chain_pem.len, &chain, &x->why, chain_what);
    if (err)
        return err;
    err = verify_chain(chain, &x->root_crl, 1, x->now, x->pin, &x->why, chain_what);
    if (!err) {
        char cn[128];
        cert_cn(sk_X509_value(chain, 0), cn, sizeof cn);
        if (strcmp(cn, "Intel SGX TCB Signing") != 0)
            err = ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                   "%s is signed by \"%s\", not by \"Intel SGX TCB Signing\"", what,
                                   cn);
    }
    if (!err &&
        !verify_rs(X509_get0_pubkey(sk_X509_value(chain, 0)), text.p, text.len, sig.p, sig.len))
        err = ferry_reason_set(&x->why, FERRY_E_VERIFY,
                               sig.len == 64 ? "%s signature does not verify with the TCB signing "
                                               "key (the JSON or its signature was altered)"
                                             : "%s signature is not 64 bytes (r || s)",
                               what);
    sk_X509_pop_free(chain, X509_free);
    if (err)
        return err;
    cJSON *json = cJSON_ParseWithLength((const char *)text.p, text.len);
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return ferry_reason_set(&x->why, FERRY_E_INVALID, "%s is not a JSON object", what);
    }
    *out = json;
    return check_dates(json, x->now, &x->why, what);
}

static ferry_err step_tcb_info(struct vctx *x)
{
    ferry_err err =
        load_crl(x->c.root_ca_crl.p, x->c.root_ca_crl.len, &x->root_crl, &x->why, "root CA CRL");
    if (err)
        return err;
    err = signed_json(x, x->c.tcb_info_issuer_chain, x->c.tcb_info, x->c.tcb_info_signature,
                      "TCB info", &x->tcb);
    if (err)
        return err;
    long version = jint(x->tcb, "version", 100);
    const char *id = jstr(x->tcb, "id");
    if (!(version == 2 || (version == 3 && id && strcmp(id, "SGX") == 0)))
        return ferry_reason_set(&x->why, FERRY_E_UNSUPPORTED,
                                "TCB info version %ld (id %s) is not SGX TCB info version 2 or 3",
                                version, id ? id : "missing");
    if (version == 3 && jint(x->tcb, "tcbType", 100) != 0)
        return ferry_reason_set(&x->why, FERRY_E_UNSUPPORTED, "TCB info tcbType is not 0");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(x->tcb, "tcbLevels")))
        return ferry_reason_set(&x->why, FERRY_E_INVALID, "TCB info has no tcbLevels");
    return FERRY_OK;
}

static ferry_err step_qe_identity(struct vctx *x)
{
    ferry_err err = signed_json(x, x->c.qe_identity_issuer_chain, x->c.qe_identity,
                                x->c.qe_identity_signature, "QE identity", &x->qeid);
    if (err)
        return err;
    const char *id = jstr(x->qeid, "id");
    long version = jint(x->qeid, "version", 100);
    if (version != 2 || (id && strcmp(id, "QE") != 0))
        return ferry_reason_set(&x->why, FERRY_E_UNSUPPORTED,
                                "QE identity version %ld (id %s) is not a version 2 QE identity",
                                version, id ? id : "missing");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(x->qeid, "tcbLevels")))
        return ferry_reason_set(&x->why, FERRY_E_INVALID, "QE identity has no tcbLevels");
    return FERRY_OK;
}

static ferry_err step_pck_chain(struct vctx *x)
{
    STACK_OF(X509) *issuer = NULL;
    ferry_err err = load_chain(x->c.pck_crl_issuer_chain.p, x->c.pck_crl_issuer_chain.len, &issuer,
                               &x->why, "PCK CRL issuer chain");
    if (err)
        return err;
    err = verify_chain(issuer, &x->root_crl, 1, x->now, x->pin, &x->why, "PCK CRL issuer chain");
    if (!err)
        err = load_crl(x->c.pck_crl.p, x->c.pck_crl.len, &x->pck_crl, &x->why, "PCK CRL");
    if (!err && X509_CRL_verify(x->pck_crl, X509_get0_pubkey(sk_X509_value(issuer, 0))) != 1)
        err = ferry_reason_set(&x->why, FERRY_E_VERIFY,
                               "PCK CRL: its signature does not verify with the PCK CRL issuer "
                               "chain's key");
    sk_X509_pop_free(issuer, X509_free);
    ERR_clear_error();
    if (err)
        return err;
    err = load_chain(x->q.cert_data, x->q.cert_len, &x->pck_chain, &x->why,
                     "quote's PCK certificate chain");
    if (err)
        return err;
    X509_CRL *crls[2] = {x->root_crl, x->pck_crl};
    err = verify_chain(x->pck_chain, crls, 2, x->now, x->pin, &x->why, "PCK certificate chain");
    if (err)
        return err;
    return ferry_attest_leaf_info(sk_X509_value(x->pck_chain, 0), &x->pck, &x->why);
}

static ferry_err step_qe_report(struct vctx *x)
{
    if (!verify_rs(X509_get0_pubkey(sk_X509_value(x->pck_chain, 0)), x->q.qe_report_raw,
                   FERRY_SGX_REPORT_BODY_LEN, x->q.qe_report_signature, 64))
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the QE report's signature does not verify with the PCK "
                                "certificate's key");
    uint8_t h[32];
    unsigned hlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, x->q.attest_key, 64) == 1 &&
             EVP_DigestUpdate(md, x->q.qe_auth_data, x->q.qe_auth_len) == 1 &&
             EVP_DigestFinal_ex(md, h, &hlen) == 1 && hlen == 32;
    EVP_MD_CTX_free(md);
    if (!ok)
        return FERRY_E_NOMEM;
    static const uint8_t zero[32];
    if (memcmp(h, x->q.qe_report.report_data, 32) != 0 ||
        memcmp(zero, x->q.qe_report.report_data + 32, 32) != 0)
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the QE report does not vouch for this attestation key: its report "
                                "data is not SHA-256(attestation key || QE auth data)");
    return FERRY_OK;
}

static ferry_err step_quote_signature(struct vctx *x)
{
    EVP_PKEY *k = raw_p256_key(x->q.attest_key);
    if (!k)
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the quote's attestation key is not a P-256 point");
    int ok = verify_rs(k, x->q.signed_part, FERRY_DCAP_HEADER_LEN + FERRY_SGX_REPORT_BODY_LEN,
                       x->q.quote_signature, 64);
    EVP_PKEY_free(k);
    if (!ok)
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the quote's signature over its header and report body does not "
                                "verify with the attestation key (the report was altered)");
    return FERRY_OK;
}

/* Mask-compare hex fields of the QE identity with the QE report. */
static ferry_err step_qe_identity_match(struct vctx *x)
{
    const struct ferry_sgx_report_body *r = &x->q.qe_report;
    uint8_t mrsigner[32], attr[16], attr_mask[16], misc[4], misc_mask[4];
    if (!jhex(x->qeid, "mrsigner", mrsigner, 32) || !jhex(x->qeid, "attributes", attr, 16) ||
        !jhex(x->qeid, "attributesMask", attr_mask, 16) || !jhex(x->qeid, "miscselect", misc, 4) ||
        !jhex(x->qeid, "miscselectMask", misc_mask, 4) || jint(x->qeid, "isvprodid", 65535) < 0)
        return ferry_reason_set(&x->why, FERRY_E_INVALID,
                                "QE identity lacks mrsigner, attributes, miscselect or isvprodid");
    if (memcmp(mrsigner, r->mr_signer, 32) != 0)
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the QE's MRSIGNER is not the one the QE identity names");
    if (jint(x->qeid, "isvprodid", 65535) != r->isv_prod_id)
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the QE's ISVPRODID %u is not the QE identity's %ld",
                                r->isv_prod_id, jint(x->qeid, "isvprodid", 65535));
    uint32_t m =
        ((uint32_t)misc[0] << 24) | ((uint32_t)misc[1] << 16) | ((uint32_t)misc[2] << 8) | misc[3];
    uint32_t mm = ((uint32_t)misc_mask[0] << 24) | ((uint32_t)misc_mask[1] << 16) |
                  ((uint32_t)misc_mask[2] << 8) | misc_mask[3];
    if ((r->misc_select & mm) != (m & mm))
        return ferry_reason_set(
            &x->why, FERRY_E_VERIFY,
            "the QE's MISCSELECT does not match the QE identity under its mask");
    for (int i = 0; i < 16; i++)
        if ((r->attributes[i] & attr_mask[i]) != (attr[i] & attr_mask[i]))
            return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                    "the QE's ATTRIBUTES do not match the QE identity under its "
                                    "mask");
    const cJSON *lvl;
    cJSON_ArrayForEach(lvl, cJSON_GetObjectItemCaseSensitive(x->qeid, "tcbLevels"))
    {
        long svn = jint(cJSON_GetObjectItemCaseSensitive(lvl, "tcb"), "isvsvn", 65535);
        const char *status = jstr(lvl, "tcbStatus");
        if (svn < 0 || !status)
            return ferry_reason_set(&x->why, FERRY_E_INVALID,
                                    "QE identity has a TCB level without isvsvn or tcbStatus");
        if (r->isv_svn >= svn) {
            if (strcmp(status, "Revoked") == 0)
                return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                        "the QE's TCB level (ISVSVN %u) is Revoked", r->isv_svn);
            x->qe_status = status;
            x->qe_advisories = cJSON_GetObjectItemCaseSensitive(lvl, "advisoryIDs");
            return FERRY_OK;
        }
    }
    return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                            "the QE's ISVSVN %u is below every TCB level of the QE identity",
                            r->isv_svn);
}

/* The level's 16 SGX TCB component SVNs and PCE SVN (TCB info v3 or v2 layout). */
static int level_svns(const cJSON *lvl, uint8_t comps[16], long *pcesvn)
{
    const cJSON *tcb = cJSON_GetObjectItemCaseSensitive(lvl, "tcb");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(tcb, "sgxtcbcomponents");
    for (int i = 0; i < 16; i++) {
        long v;
        if (arr) {
            v = cJSON_GetArraySize(arr) == 16 ? jint(cJSON_GetArrayItem(arr, i), "svn", 255) : -1;
        } else {
            char name[32];
            snprintf(name, sizeof name, "sgxtcbcomp%02dsvn", i + 1);
            v = jint(tcb, name, 255);
        }
        if (v < 0)
            return 0;
        comps[i] = (uint8_t)v;
    }
    *pcesvn = jint(tcb, "pcesvn", 65535);
    return *pcesvn >= 0;
}

static int is_status(const char *s, const char *a, const char *b)
{
    return strcmp(s, a) == 0 || (b && strcmp(s, b) == 0);
}

static void add_advisories(struct ferry_attest_verdict *v, const cJSON *arr)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        if (!cJSON_IsString(a) || strlen(a->valuestring) >= FERRY_ATTEST_ADVISORY_LEN)
            continue;
        size_t i = 0;
        while (i < v->n_advisories && strcmp(v->advisory_ids[i], a->valuestring) != 0)
            i++;
        if (i == v->n_advisories && v->n_advisories < FERRY_ATTEST_MAX_ADVISORIES)
            strcpy(v->advisory_ids[v->n_advisories++], a->valuestring);
    }
}

static ferry_err step_tcb_level(struct vctx *x, struct ferry_attest_verdict *v)
{
    uint8_t fmspc[6], pce_id[2];
    if (!jhex(x->tcb, "fmspc", fmspc, 6) || !jhex(x->tcb, "pceId", pce_id, 2))
        return ferry_reason_set(&x->why, FERRY_E_INVALID, "TCB info lacks its fmspc or pceId");
    if (memcmp(fmspc, x->pck.fmspc, 6) != 0) {
        char a[16], b[16];
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the TCB info is for FMSPC %s but the platform's is %s (fetch the "
                                "TCB info for this platform)",
                                ferry_hex_encode(fmspc, 6, a) + 2,
                                ferry_hex_encode(x->pck.fmspc, 6, b) + 2);
    }
    if (memcmp(pce_id, x->pck.pce_id, 2) != 0)
        return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                                "the TCB info's PCE ID is not the platform's");
    const cJSON *lvl;
    cJSON_ArrayForEach(lvl, cJSON_GetObjectItemCaseSensitive(x->tcb, "tcbLevels"))
    {
        uint8_t comps[16];
        long pcesvn;
        const char *status = jstr(lvl, "tcbStatus");
        if (!level_svns(lvl, comps, &pcesvn) || !status)
            return ferry_reason_set(&x->why, FERRY_E_INVALID,
                                    "TCB info has a TCB level without 16 component SVNs, a PCE "
                                    "SVN or a tcbStatus");
        int meets = x->pck.pce_svn >= pcesvn;
        for (int i = 0; i < 16 && meets; i++)
            meets = x->pck.cpu_svn_components[i] >= comps[i];
        if (!meets)
            continue;
        if (strcmp(status, "Revoked") == 0)
            return ferry_reason_set(&x->why, FERRY_E_VERIFY, "the platform's TCB level is Revoked");
        if (!is_status(status, "UpToDate", "SWHardeningNeeded") &&
            !is_status(status, "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded") &&
            !is_status(status, "OutOfDate", "OutOfDateConfigurationNeeded"))
            return ferry_reason_set(&x->why, FERRY_E_INVALID,
                                    "TCB info gives the platform an unknown status \"%.40s\"",
                                    status);
        /* Intel QVL's convergence of the platform status with the QE's. */
        const char *merged = status;
        if (strcmp(x->qe_status, "OutOfDate") == 0) {
            if (is_status(status, "UpToDate", "SWHardeningNeeded"))
                merged = "OutOfDate";
            else if (is_status(status, "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded"))
                merged = "OutOfDateConfigurationNeeded";
        }
        snprintf(v->status, sizeof v->status, "%s", merged);
        add_advisories(v, cJSON_GetObjectItemCaseSensitive(lvl, "advisoryIDs"));
        add_advisories(v, x->qe_advisories);
        return FERRY_OK;
    }
    return ferry_reason_set(&x->why, FERRY_E_VERIFY,
                            "the platform's TCB (CPU SVN components and PCE SVN %u) is below every "
                            "level of the TCB info: TCB not supported",
                            x->pck.pce_svn);
}

ferry_err ferry_attest_check_policy(const struct ferry_sgx_report_body *r,
                                    const struct ferry_attest_policy *p, struct ferry_reason *why)
{
    char a[67], b[67];
    if (p && p->expected_report_data && memcmp(r->report_data, p->expected_report_data, 32) != 0)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "report_data[0..32] is %s, expected %s (the report is not for "
                                "this worker's runtime info)",
                                ferry_hex_encode(r->report_data, 32, a),
                                ferry_hex_encode(p->expected_report_data, 32, b));
    if (p && p->mr_enclave && memcmp(r->mr_enclave, p->mr_enclave, 32) != 0)
        return ferry_reason_set(
            why, FERRY_E_VERIFY, "MRENCLAVE is %s, expected %s (a different enclave build)",
            ferry_hex_encode(r->mr_enclave, 32, a), ferry_hex_encode(p->mr_enclave, 32, b));
    if ((r->attributes[0] & 0x02) && !(p && p->allow_debug))
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "the enclave runs in DEBUG mode: its memory is readable by the "
                                "host, so its report proves nothing");
    return FERRY_OK;
}

ferry_err ferry_attest_verify_dcap(const uint8_t *quote, size_t quote_len,
                                   const uint8_t *collateral, size_t coll_len, int64_t now,
                                   const struct ferry_attest_policy *policy,
                                   const struct ferry_attest_trust *trust,
                                   struct ferry_attest_verdict *v)
{
    memset(v, 0, sizeof *v);
    struct vctx *x = calloc(1, sizeof *x);
    if (!x)
        return FERRY_E_NOMEM;
    x->pin = trust && trust->root_pubkey ? trust->root_pubkey : FERRY_INTEL_SGX_ROOT_PUBKEY;
    x->now = now;
    enum ferry_attest_step step = FERRY_ATTEST_QUOTE_FORMAT;
    ferry_err err = ferry_dcap_quote_parse(quote, quote_len, &x->q, &x->why);
    if (!err) {
        v->have_report = true;
        v->report = x->q.report;
        if (memcmp(x->q.qe_vendor_id, intel_qe_vendor_id, 16) != 0)
            err = ferry_reason_set(&x->why, FERRY_E_UNSUPPORTED,
                                   "quote: the QE vendor is not Intel's Quoting Enclave");
    }
    if (!err) {
        struct ferry_sgx_pck_info pck;
        if (ferry_dcap_quote_pck_info(&x->q, &pck, NULL) == FERRY_OK) {
            v->have_fmspc = true;
            memcpy(v->fmspc, pck.fmspc, 6);
        }
        step = FERRY_ATTEST_COLLATERAL_FORMAT;
        err = ferry_dcap_collateral_decode(collateral, coll_len, &x->c, &x->why);
    }
    if (!err) {
        step = FERRY_ATTEST_TCB_INFO;
        err = step_tcb_info(x);
    }
    if (!err) {
        step = FERRY_ATTEST_QE_IDENTITY;
        err = step_qe_identity(x);
    }
    if (!err) {
        step = FERRY_ATTEST_PCK_CHAIN;
        err = step_pck_chain(x);
    }
    if (!err) {
        step = FERRY_ATTEST_QE_REPORT;
        err = step_qe_report(x);
    }
    if (!err) {
        step = FERRY_ATTEST_QUOTE_SIGNATURE;
        err = step_quote_signature(x);
    }
    if (!err) {
        step = FERRY_ATTEST_QE_IDENTITY_MATCH;
        err = step_qe_identity_match(x);
    }
    if (!err) {
        step = FERRY_ATTEST_TCB_LEVEL;
        err = step_tcb_level(x, v);
    }
    if (!err) {
        step = FERRY_ATTEST_POLICY;
        err = ferry_attest_check_policy(&x->q.report, policy, &x->why);
    }
    if (err == FERRY_E_NOMEM) {
        /* keep NOMEM distinct: it is not a verdict on the quote */
    } else if (err) {
        v->step = step;
        snprintf(v->reason, sizeof v->reason, "%s",
                 x->why.text[0] ? x->why.text : ferry_strerror(err));
        err = FERRY_E_VERIFY;
    } else {
        v->valid = true;
        v->step = FERRY_ATTEST_OK;
    }
    if (err && !v->reason[0]) {
        v->step = step;
        snprintf(v->reason, sizeof v->reason, "%s", ferry_strerror(err));
    }
    X509_CRL_free(x->root_crl);
    X509_CRL_free(x->pck_crl);
    sk_X509_pop_free(x->pck_chain, X509_free);
    cJSON_Delete(x->tcb);
    cJSON_Delete(x->qeid);
    free(x);
    return err;
}

ferry_err ferry_attest_verify_report(const uint8_t *quote, size_t quote_len,
                                     const uint8_t *collateral, size_t coll_len, int64_t now,
                                     const uint8_t *expected_report_data,
                                     struct ferry_attest_verdict *v)
{
    struct ferry_attest_policy p = {.expected_report_data = expected_report_data};
    return ferry_attest_verify_dcap(quote, quote_len, collateral, coll_len, now, &p, NULL, v);
}
