/* DCAP quote v3 parser, SgxV30 collateral codec and the PCK leaf's SGX extension.
 *
 * The quote is hostile input: it is read with the SCALE cursor (little-endian, every read bounds
 * checked), and the two inner lengths (QE auth data, certification data) are checked against
 * what remains before anything points at them. The SGX extension is walked with OpenSSL's ASN.1
 * decoder (d2i_ASN1_SEQUENCE_ANY), never by hand.
 */
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "ferry/attest.h"
#include "ferry/scale.h"

static void read_report_body(struct ferry_scale_reader *r, struct ferry_sgx_report_body *b)
{
    (void)ferry_scale_copy(r, b->cpu_svn, 16);
    (void)ferry_scale_u32(r, &b->misc_select);
    (void)ferry_scale_skip(r, 28);
    (void)ferry_scale_copy(r, b->attributes, 16);
    (void)ferry_scale_copy(r, b->mr_enclave, 32);
    (void)ferry_scale_skip(r, 32);
    (void)ferry_scale_copy(r, b->mr_signer, 32);
    (void)ferry_scale_skip(r, 96);
    (void)ferry_scale_u16(r, &b->isv_prod_id);
    (void)ferry_scale_u16(r, &b->isv_svn);
    (void)ferry_scale_skip(r, 60);
    (void)ferry_scale_copy(r, b->report_data, 64);
}

static ferry_err quote_fail(struct ferry_reason *why, ferry_err err, const char *what, size_t at)
{
    return ferry_reason_set(why, err, "quote: %s at byte %zu", what, at);
}

ferry_err ferry_dcap_quote_parse(const uint8_t *buf, size_t len, struct ferry_dcap_quote *q,
                                 struct ferry_reason *why)
{
    memset(q, 0, sizeof *q);
    if (len > FERRY_DCAP_QUOTE_MAX)
        return ferry_reason_set(why, FERRY_E_TOO_LARGE,
                                "quote: %zu bytes, more than the %d allowed", len,
                                FERRY_DCAP_QUOTE_MAX);
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    (void)ferry_scale_u16(&r, &q->version);
    (void)ferry_scale_u16(&r, &q->att_key_type);
    if (r.err)
        return quote_fail(why, r.err, "truncated header", r.err_pos);
    if (q->version != 3)
        return ferry_reason_set(
            why, FERRY_E_UNSUPPORTED,
            "quote: version %u is not supported (SGX DCAP quotes are version 3)", q->version);
    if (q->att_key_type != 2)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                "quote: attestation key type %u is not supported (2 = ECDSA P-256)",
                                q->att_key_type);
    (void)ferry_scale_u32(&r, &q->tee_type);
    (void)ferry_scale_u16(&r, &q->qe_svn);
    (void)ferry_scale_u16(&r, &q->pce_svn);
    (void)ferry_scale_copy(&r, q->qe_vendor_id, 16);
    (void)ferry_scale_copy(&r, q->user_data, 20);
    q->signed_part = buf;
    read_report_body(&r, &q->report);
    uint32_t sig_len = 0;
    (void)ferry_scale_u32(&r, &sig_len);
    if (r.err)
        return quote_fail(why, r.err, "truncated header or report body", r.err_pos);
    if (q->tee_type != 0)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "quote: TEE type 0x%x is not SGX (0)",
                                (unsigned)q->tee_type);
    if (sig_len != ferry_scale_remaining(&r))
        return ferry_reason_set(
            why, sig_len > ferry_scale_remaining(&r) ? FERRY_E_TRUNCATED : FERRY_E_TRAILING,
            "quote: signature data length %u but %zu bytes follow", (unsigned)sig_len,
            ferry_scale_remaining(&r));
    (void)ferry_scale_copy(&r, q->quote_signature, 64);
    (void)ferry_scale_copy(&r, q->attest_key, 64);
    q->qe_report_raw = r.err ? NULL : buf + r.pos;
    read_report_body(&r, &q->qe_report);
    (void)ferry_scale_copy(&r, q->qe_report_signature, 64);
    uint16_t auth_len = 0;
    (void)ferry_scale_u16(&r, &auth_len);
    if (r.err)
        return quote_fail(why, r.err, "truncated signature data", r.err_pos);
    size_t at = r.pos;
    if (ferry_scale_bytes(&r, auth_len, &q->qe_auth_data))
        return quote_fail(why, FERRY_E_TRUNCATED, "QE auth data runs past the end", at);
    q->qe_auth_len = auth_len;
    uint32_t cert_len = 0;
    (void)ferry_scale_u16(&r, &q->cert_type);
    (void)ferry_scale_u32(&r, &cert_len);
    if (r.err)
        return quote_fail(why, r.err, "truncated certification data header", r.err_pos);
    at = r.pos;
    if (cert_len != ferry_scale_remaining(&r))
        return quote_fail(
            why, cert_len > ferry_scale_remaining(&r) ? FERRY_E_TRUNCATED : FERRY_E_TRAILING,
            "certification data length does not match the bytes that remain", at);
    (void)ferry_scale_bytes(&r, cert_len, &q->cert_data);
    q->cert_len = cert_len;
    if (q->cert_type != 5)
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                                "quote: certification data type %u is not supported (5 = PCK "
                                "certificate chain)",
                                q->cert_type);
    return FERRY_OK;
}

/* ---- the PCK leaf's SGX extension ---------------------------------------------------------- */

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* The last arc of an OID under the SGX extension (".1.13.1.<a>" or ".1.13.1.2.<b>"), found by
 * comparing its dotted text with the prefix. Returns: the arc, or -1. */
static int sgx_arc(const ASN1_OBJECT *obj, const char *prefix)
{
    char text[80];
    int n = OBJ_obj2txt(text, sizeof text, obj, 1);
    size_t pl = strlen(prefix);
    if (n <= 0 || (size_t)n >= sizeof text || strncmp(text, prefix, pl) != 0 || text[pl] != '.')
        return -1;
    const char *p = text + pl + 1;
    int v = 0;
    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 1000)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* Decode a SEQUENCE value (an ASN1_TYPE of type V_ASN1_SEQUENCE) into its elements. */
static STACK_OF(ASN1_TYPE) * inner_seq(const ASN1_TYPE *t)
{
    if (!t || t->type != V_ASN1_SEQUENCE)
        return NULL;
    const unsigned char *p = t->value.sequence->data;
    return d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
}

/* An INTEGER or ENUMERATED element as a small non-negative value. Returns: -1 when not. */
static long small_int(const ASN1_TYPE *t, long max)
{
    long v = -1;
    if (t->type == V_ASN1_INTEGER)
        v = ASN1_INTEGER_get(t->value.integer);
    else if (t->type == V_ASN1_ENUMERATED)
        v = ASN1_ENUMERATED_get(t->value.enumerated);
    return v < 0 || v > max ? -1 : v;
}

static int octets(const ASN1_TYPE *t, uint8_t *out, int n)
{
    if (t->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(t->value.octet_string) != n)
        return 0;
    memcpy(out, ASN1_STRING_get0_data(t->value.octet_string), (size_t)n);
    return 1;
}

/* Walk the TCB sequence (OID .2): comp01..comp16 SVNs (.2.1-.2.16) and PCE SVN (.2.17). */
static int read_tcb(const ASN1_TYPE *t, struct ferry_sgx_pck_info *out)
{
    STACK_OF(ASN1_TYPE) *tcb = inner_seq(t);
    if (!tcb)
        return 0;
    unsigned seen = 0;
    for (int i = 0; i < sk_ASN1_TYPE_num(tcb); i++) {
        STACK_OF(ASN1_TYPE) *kv = inner_seq(sk_ASN1_TYPE_value(tcb, i));
        if (kv && sk_ASN1_TYPE_num(kv) == 2 && sk_ASN1_TYPE_value(kv, 0)->type == V_ASN1_OBJECT) {
            int arc = sgx_arc(sk_ASN1_TYPE_value(kv, 0)->value.object, SGX_EXT_OID ".2");
            const ASN1_TYPE *val = sk_ASN1_TYPE_value(kv, 1);
            if (arc >= 1 && arc <= 16) {
                long v = small_int(val, 255);
                if (v >= 0) {
                    out->cpu_svn_components[arc - 1] = (uint8_t)v;
                    seen |= 1u << arc;
                }
            } else if (arc == 17) {
                long v = small_int(val, 65535);
                if (v >= 0) {
                    out->pce_svn = (uint16_t)v;
                    seen |= 1u << 17;
                }
            }
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(tcb, ASN1_TYPE_free);
    return seen == 0x3fffeu;
}

static ferry_err parse_sgx_extension(X509 *leaf, struct ferry_sgx_pck_info *out,
                                     struct ferry_reason *why)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_EXT_OID, 1);
    if (!oid)
        return FERRY_E_NOMEM;
    int idx = X509_get_ext_by_OBJ(leaf, oid, -1);
    ASN1_OBJECT_free(oid);
    if (idx < 0)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the PCK certificate has no SGX extension (" SGX_EXT_OID ")");
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    const unsigned char *p = ASN1_STRING_get0_data(data);
    STACK_OF(ASN1_TYPE) *top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(data));
    if (!top)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the PCK certificate's SGX extension is not a DER SEQUENCE");
    unsigned seen = 0;
    for (int i = 0; i < sk_ASN1_TYPE_num(top); i++) {
        STACK_OF(ASN1_TYPE) *kv = inner_seq(sk_ASN1_TYPE_value(top, i));
        if (kv && sk_ASN1_TYPE_num(kv) == 2 && sk_ASN1_TYPE_value(kv, 0)->type == V_ASN1_OBJECT) {
            int arc = sgx_arc(sk_ASN1_TYPE_value(kv, 0)->value.object, SGX_EXT_OID);
            const ASN1_TYPE *val = sk_ASN1_TYPE_value(kv, 1);
            if (arc == 2 && read_tcb(val, out))
                seen |= 1u << 2;
            else if (arc == 3 && octets(val, out->pce_id, 2))
                seen |= 1u << 3;
            else if (arc == 4 && octets(val, out->fmspc, 6))
                seen |= 1u << 4;
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
    if (!(seen & (1u << 2)))
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the PCK certificate's SGX extension lacks a complete TCB "
                                "(16 CPU SVN components and the PCE SVN)");
    if (!(seen & (1u << 3)))
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the PCK certificate's SGX extension lacks the PCE ID");
    if (!(seen & (1u << 4)))
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the PCK certificate's SGX extension lacks the FMSPC");
    return FERRY_OK;
}

/* Shared with verify.c: the SGX extension and the PCK CA kind of a leaf certificate. */
ferry_err ferry_attest_leaf_info(X509 *leaf, struct ferry_sgx_pck_info *out,
                                 struct ferry_reason *why);

ferry_err ferry_attest_leaf_info(X509 *leaf, struct ferry_sgx_pck_info *out,
                                 struct ferry_reason *why)
{
    memset(out, 0, sizeof *out);
    char cn[128] = "";
    X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, cn, sizeof cn);
    out->platform_ca = strcmp(cn, "Intel SGX PCK Platform CA") == 0;
    return parse_sgx_extension(leaf, out, why);
}

ferry_err ferry_dcap_quote_pck_info(const struct ferry_dcap_quote *q,
                                    struct ferry_sgx_pck_info *out, struct ferry_reason *why)
{
    memset(out, 0, sizeof *out);
    if (q->cert_type != 5 || !q->cert_data || q->cert_len > INT32_MAX)
        return ferry_reason_set(why, FERRY_E_INVALID, "the quote carries no PCK certificate chain");
    BIO *bio = BIO_new_mem_buf(q->cert_data, (int)q->cert_len);
    if (!bio)
        return FERRY_E_NOMEM;
    X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!leaf)
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "the quote's certification data does not start with a PEM "
                                "certificate");
    ferry_err err = ferry_attest_leaf_info(leaf, out, why);
    X509_free(leaf);
    return err;
}

/* ---- collateral ------------------------------------------------------------------------------ */

const char *const ferry_dcap_collateral_field_names[9] = {
    "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
    "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
    "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
};

struct ferry_bytes *ferry_dcap_collateral_field(struct ferry_dcap_collateral *c, unsigned i)
{
    struct ferry_bytes *f[9] = {
        &c->pck_crl_issuer_chain,     &c->root_ca_crl, &c->pck_crl,
        &c->tcb_info_issuer_chain,    &c->tcb_info,    &c->tcb_info_signature,
        &c->qe_identity_issuer_chain, &c->qe_identity, &c->qe_identity_signature};
    return i < 9 ? f[i] : NULL;
}

ferry_err ferry_dcap_collateral_decode(const uint8_t *buf, size_t len,
                                       struct ferry_dcap_collateral *c, struct ferry_reason *why)
{
    memset(c, 0, sizeof *c);
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    for (unsigned i = 0; i < 9; i++) {
        struct ferry_bytes *f = ferry_dcap_collateral_field(c, i);
        size_t at = r.pos;
        const uint8_t *p = NULL;
        ferry_err err = (i == 4 || i == 7) ? ferry_scale_string(&r, &p, &f->len)
                                           : ferry_scale_byte_vec(&r, &p, &f->len);
        /* A view into buf: the collateral is read, never written through (see bytes.h). */
        f->p = (uint8_t *)p;
        if (err) {
            char d[96];
            ferry_scale_describe(&r, d, sizeof d);
            memset(c, 0, sizeof *c);
            return ferry_reason_set(why, err, "collateral field %s (starting at byte %zu): %s",
                                    ferry_dcap_collateral_field_names[i], at, d);
        }
    }
    if (ferry_scale_remaining(&r))
        return ferry_reason_set(why, FERRY_E_TRAILING,
                                "collateral: %zu bytes after the nine fields",
                                ferry_scale_remaining(&r));
    return FERRY_OK;
}

ferry_err ferry_dcap_collateral_encode(const struct ferry_dcap_collateral *c, uint8_t **out,
                                       size_t *out_len)
{
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    struct ferry_dcap_collateral copy = *c;
    for (unsigned i = 0; i < 9; i++) {
        const struct ferry_bytes *f = ferry_dcap_collateral_field(&copy, i);
        ferry_scale_put_compact(&w, f->len);
        ferry_scale_put_bytes(&w, f->p, f->len);
    }
    *out = ferry_scale_writer_take(&w, out_len);
    return *out ? FERRY_OK : FERRY_E_NOMEM;
}
