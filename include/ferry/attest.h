/* ferry — SGX DCAP attestation reports: parse a quote, decode its collateral, verify both.
 *
 * A worker proves it runs in an SGX enclave with a DCAP quote (version 3, ECDSA P-256): a
 * report body signed by an attestation key, which the Quoting Enclave (QE) vouches for in its
 * own report, which the platform's PCK certificate key signs, which chains to Intel's SGX Root
 * CA. The collateral (PCK CRL, root CA CRL, TCB info, QE identity and their issuer chains) says
 * which platforms and QEs are current. ferry_attest_verify_report() checks all of it with
 * OpenSSL's libcrypto and returns a verdict that names the step that failed and why.
 *
 * Steps, in the order they run (a verdict names the first that fails):
 *   quote format        the quote decodes (bounded; every length checked against the input)
 *   collateral format   the SgxV30 collateral decodes (nine SCALE byte vectors)
 *   TCB info            its issuer chain ends at the pinned root (root CA CRL applied), its
 *                       signature verifies, issueDate <= time <= nextUpdate
 *   QE identity         the same for the QE identity
 *   PCK chain           the quote's PCK chain ends at the pinned root at the given time, with the
 *                       root CA CRL and the PCK CRL (itself checked against its issuer chain)
 *   QE report           signed by the PCK leaf key; its report data is
 *                       SHA-256(attestation key || QE auth data) followed by 32 zero bytes
 *   quote signature     header || report body signed by the attestation key
 *   QE identity match   MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES under their masks, and
 *                       the QE's ISVSVN's TCB level (Revoked or below every level: invalid)
 *   platform TCB level  FMSPC and PCE ID of the PCK leaf equal the TCB info's; the first TCB
 *                       level whose 16 CPU SVN components and PCE SVN the platform meets;
 *                       status and advisory ids merged with the QE's as Intel's QVL does
 *   enclave policy      optional: report_data[0..32], MRENCLAVE, the debug attribute
 * Collateral dates are checked before the quote so that a stale collateral is reported as such.
 * ("collateral fetch" is set by callers that could not get the collateral from a PCCS.)
 *
 * The trust anchor is a pinned public key: Intel SGX Root CA's P-256 key (see
 * FERRY_INTEL_SGX_ROOT_PUBKEY and docs/attestation.md). Every root certificate met (in the quote
 * and in each issuer chain) must carry exactly that key and be self-signed by it.
 */
#ifndef FERRY_ATTEST_H
#define FERRY_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/bytes.h"
#include "ferry/error.h"

/* ---- the quote ------------------------------------------------------------------------------- */

#define FERRY_SGX_REPORT_BODY_LEN 384
#define FERRY_DCAP_HEADER_LEN     48
/* Largest quote the parser accepts; real ones are 4-6 KiB. */
#define FERRY_DCAP_QUOTE_MAX (64 * 1024)

/* An SGX report body (the enclave's or the QE's), decoded. */
struct ferry_sgx_report_body {
    uint8_t cpu_svn[16];
    uint32_t misc_select;
    uint8_t attributes[16]; /* flags (u64 LE; bit 1 = DEBUG) then XFRM */
    uint8_t mr_enclave[32];
    uint8_t mr_signer[32];
    uint16_t isv_prod_id;
    uint16_t isv_svn;
    uint8_t report_data[64];
};

/* A parsed quote. Pointers borrow from the input buffer given to ferry_dcap_quote_parse. */
struct ferry_dcap_quote {
    uint16_t version;      /* 3 */
    uint16_t att_key_type; /* 2 = ECDSA-256 with P-256 */
    uint32_t tee_type;     /* 0 = SGX (reserved in v3) */
    uint16_t qe_svn;
    uint16_t pce_svn;
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    struct ferry_sgx_report_body report;
    const uint8_t *signed_part;  /* header || report body, 432 bytes */
    uint8_t quote_signature[64]; /* r || s */
    uint8_t attest_key[64];      /* x || y of the P-256 attestation key */
    struct ferry_sgx_report_body qe_report;
    const uint8_t *qe_report_raw; /* the 384 bytes the PCK key signed */
    uint8_t qe_report_signature[64];
    const uint8_t *qe_auth_data;
    size_t qe_auth_len;
    uint16_t cert_type; /* 5 = PEM chain PCK leaf || intermediate || root */
    const uint8_t *cert_data;
    size_t cert_len;
};

/* Decode a DCAP quote v3 (ECDSA-P256) as hostile input.
 * In:  buf[len] - the quote bytes (at most FERRY_DCAP_QUOTE_MAX).
 * Out: *q (borrows from buf); *why on failure (the field and byte offset).
 * Returns: FERRY_OK; FERRY_E_TRUNCATED, FERRY_E_TOO_LARGE, FERRY_E_TRAILING, FERRY_E_UNSUPPORTED
 *          (other version, key type or certification data type) or FERRY_E_INVALID. */
FERRY_WARN_UNUSED ferry_err ferry_dcap_quote_parse(const uint8_t *buf, size_t len,
                                                   struct ferry_dcap_quote *q,
                                                   struct ferry_reason *why);

/* Platform identity from the PCK leaf certificate's SGX extension (OID 1.2.840.113741.1.13.1). */
struct ferry_sgx_pck_info {
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint8_t cpu_svn_components[16]; /* SGX TCB comp01..comp16 SVNs */
    uint16_t pce_svn;
    bool platform_ca; /* issued by "Intel SGX PCK Platform CA" (else the Processor CA) */
};

/* Read the PCK leaf of a type-5 quote's certification data and its SGX extension.
 * Returns: FERRY_OK, FERRY_E_INVALID (no PEM leaf, missing or malformed extension) or
 *          FERRY_E_NOMEM. No signature is checked here. */
FERRY_WARN_UNUSED ferry_err ferry_dcap_quote_pck_info(const struct ferry_dcap_quote *q,
                                                      struct ferry_sgx_pck_info *out,
                                                      struct ferry_reason *why);

/* ---- the collateral -------------------------------------------------------------------------- */

/* SgxV30QuoteCollateral: nine byte vectors in this order (SCALE, no enum tag). The CRLs are
 * hex text of DER as a PCCS serves them (PEM or raw DER are accepted too); the chains are PEM;
 * tcb_info and qe_identity are the exact JSON texts that were signed; the signatures are r||s. */
struct ferry_dcap_collateral {
    struct ferry_bytes pck_crl_issuer_chain;
    struct ferry_bytes root_ca_crl;
    struct ferry_bytes pck_crl;
    struct ferry_bytes tcb_info_issuer_chain;
    struct ferry_bytes tcb_info;
    struct ferry_bytes tcb_info_signature;
    struct ferry_bytes qe_identity_issuer_chain;
    struct ferry_bytes qe_identity;
    struct ferry_bytes qe_identity_signature;
};

/* Names of the nine fields, in order ("pck_crl_issuer_chain", ...). */
extern const char *const ferry_dcap_collateral_field_names[9];

/* Returns: the i-th field of c (0..8, in the order above). */
struct ferry_bytes *ferry_dcap_collateral_field(struct ferry_dcap_collateral *c, unsigned i);

/* Decode SCALE SgxV30QuoteCollateral (the bare struct; strip the Collateral::SgxV30 tag 0x00
 * first when reading it from an on-chain AttestationReport).
 * Out: *c borrows from buf. tcb_info and qe_identity must be UTF-8 (they are SCALE Strings).
 * Returns: FERRY_OK or a SCALE error (FERRY_E_TRUNCATED, FERRY_E_TOO_LARGE, FERRY_E_UTF8,
 *          FERRY_E_TRAILING, ...) with the field and offset in *why. */
FERRY_WARN_UNUSED ferry_err ferry_dcap_collateral_decode(const uint8_t *buf, size_t len,
                                                         struct ferry_dcap_collateral *c,
                                                         struct ferry_reason *why);

/* Encode c as SCALE SgxV30QuoteCollateral.
 * Out: *out (malloc'd, caller frees), *out_len. Returns: FERRY_OK or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_dcap_collateral_encode(const struct ferry_dcap_collateral *c,
                                                         uint8_t **out, size_t *out_len);

/* ---- verification ---------------------------------------------------------------------------- */

/* Intel SGX Root CA public key, uncompressed P-256 point (04 || x || y). Provenance: the
 * subjectPublicKeyInfo of Intel's "Intel SGX Root CA" certificate (serial
 * 22650cd65a9d3489f383b49552bf501b392706ac, valid 2018-05-21 to 2049-12-31, SHA-256
 * fingerprint 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3), published at
 * https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem
 * and carried in every PCK chain Intel issues. */
extern const uint8_t FERRY_INTEL_SGX_ROOT_PUBKEY[65];

enum ferry_attest_step {
    FERRY_ATTEST_OK = 0,            /* every step passed */
    FERRY_ATTEST_QUOTE_FORMAT,      /* the quote does not decode */
    FERRY_ATTEST_COLLATERAL_FORMAT, /* the collateral does not decode */
    FERRY_ATTEST_TCB_INFO,          /* TCB info chain, signature or dates */
    FERRY_ATTEST_QE_IDENTITY,       /* QE identity chain, signature or dates */
    FERRY_ATTEST_PCK_CHAIN,         /* PCK chain to the root, CRLs */
    FERRY_ATTEST_QE_REPORT,         /* QE report signature or report data */
    FERRY_ATTEST_QUOTE_SIGNATURE,   /* the quote's signature by the attestation key */
    FERRY_ATTEST_QE_IDENTITY_MATCH, /* the QE is not the one the QE identity describes */
    FERRY_ATTEST_TCB_LEVEL,         /* the platform's TCB level */
    FERRY_ATTEST_POLICY,            /* report data, MRENCLAVE or debug policy */
    FERRY_ATTEST_COLLATERAL_FETCH,  /* set by callers: the collateral could not be obtained */
};

/* Returns: the step's operator name ("TCB info", "PCK chain", ...; "ok" for FERRY_ATTEST_OK). */
const char *ferry_attest_step_name(enum ferry_attest_step step);

/* What the caller requires of the enclave, beyond a valid quote. NULL fields are not checked. */
struct ferry_attest_policy {
    const uint8_t *expected_report_data; /* 32 bytes: report_data[0..32] must equal it */
    const uint8_t *mr_enclave;           /* 32 bytes */
    bool allow_debug;                    /* accept an enclave with the DEBUG attribute */
};

/* Trust settings. The default (NULL) pins FERRY_INTEL_SGX_ROOT_PUBKEY. Tests pin their own root
 * here; production code never needs to. */
struct ferry_attest_trust {
    const uint8_t *root_pubkey; /* uncompressed P-256 point, 65 bytes */
};

#define FERRY_ATTEST_MAX_ADVISORIES 64
#define FERRY_ATTEST_ADVISORY_LEN   32

struct ferry_attest_verdict {
    bool valid;
    enum ferry_attest_step step;   /* FERRY_ATTEST_OK when valid, else the failed step */
    char reason[FERRY_REASON_MAX]; /* operator words; "" when valid */
    /* Merged TCB status ("UpToDate", "ConfigurationAndSWHardeningNeeded", ...), "" when the TCB
     * level step was not reached. */
    char status[48];
    size_t n_advisories;
    char advisory_ids[FERRY_ATTEST_MAX_ADVISORIES][FERRY_ATTEST_ADVISORY_LEN];
    bool have_report; /* the quote decoded: report below is filled */
    struct ferry_sgx_report_body report;
    bool have_fmspc;
    uint8_t fmspc[6];
};

/* Verify a DCAP quote against its collateral at a given time — the call a relayer makes before
 * submitting a worker's report.
 * In:  quote[quote_len], collateral[coll_len] (SCALE SgxV30QuoteCollateral), now (unix seconds),
 *      expected_report_data (32 bytes, or NULL to skip that check; a relayer passes
 *      blake2_256(SCALE(runtime info))). Debug enclaves are refused; the Intel root is pinned.
 * Out: *v, always filled.
 * Returns: FERRY_OK when valid; FERRY_E_VERIFY when not (v->step and v->reason say why);
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_attest_verify_report(const uint8_t *quote, size_t quote_len,
                                                       const uint8_t *collateral, size_t coll_len,
                                                       int64_t now,
                                                       const uint8_t *expected_report_data,
                                                       struct ferry_attest_verdict *v);

/* The same with an explicit policy and trust anchor (NULL = defaults: no enclave checks but
 * the debug refusal; Intel's root). */
FERRY_WARN_UNUSED ferry_err ferry_attest_verify_dcap(const uint8_t *quote, size_t quote_len,
                                                     const uint8_t *collateral, size_t coll_len,
                                                     int64_t now,
                                                     const struct ferry_attest_policy *policy,
                                                     const struct ferry_attest_trust *trust,
                                                     struct ferry_attest_verdict *v);

/* Check an enclave report body against a policy: report_data[0..32], MRENCLAVE, debug bit.
 * Returns: FERRY_OK or FERRY_E_VERIFY with the mismatch in *why. */
FERRY_WARN_UNUSED ferry_err ferry_attest_check_policy(const struct ferry_sgx_report_body *r,
                                                      const struct ferry_attest_policy *p,
                                                      struct ferry_reason *why);

/* Parse an RFC 3339 date-time ("2023-12-01T00:00:00Z", "...T01:00:00+01:00", fractions of a
 * second ignored) into unix seconds. Returns: FERRY_OK or FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_attest_parse_time(const char *s, int64_t *out);

/* Format unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. Returns: out. */
char *ferry_attest_format_time(int64_t t, char out[21]);

/* ---- PCCS client ------------------------------------------------------------------------------
 */

struct ferry_pccs_opts {
    const char *base_url; /* e.g. "https://pccs.example:8081/sgx/certification/v4" */
    bool insecure;        /* skip TLS verification (test setups only) */
    long timeout_ms;      /* per request; 0 = 30000 */
};

/* Fetch a quote's collateral from a PCCS with the four requests pherry makes: pckcrl (with its
 * SGX-PCK-CRL-Issuer-Chain header), rootcacrl, tcb?fmspc=, qe/identity; issuer-chain headers are
 * URL-decoded; CRLs are stored as hex text of DER. The TCB info must be for the requested FMSPC.
 * In:  opts; pck (from ferry_dcap_quote_pck_info: FMSPC and which PCK CA).
 * Out: *out / *out_len: SCALE SgxV30QuoteCollateral (malloc'd, caller frees).
 * Returns: FERRY_OK; FERRY_E_NET / FERRY_E_TIMEOUT (transport), FERRY_E_RPC (HTTP status other
 *          than 200), FERRY_E_INVALID (a response that is not what the PCCS API specifies),
 *          FERRY_E_NOMEM; *why names the request. */
FERRY_WARN_UNUSED ferry_err ferry_pccs_fetch_collateral(const struct ferry_pccs_opts *opts,
                                                        const struct ferry_sgx_pck_info *pck,
                                                        uint8_t **out, size_t *out_len,
                                                        struct ferry_reason *why);

/* ---- a worker's report, ready to submit ------------------------------------------------------ */

enum ferry_attest_kind {
    FERRY_ATTEST_KIND_NONE = 0, /* Option::None (dev chains with NoneAttestationEnabled) */
    FERRY_ATTEST_KIND_IAS,      /* AttestationReport::SgxIas (EPID; passed through unverified) */
    FERRY_ATTEST_KIND_DCAP,     /* AttestationReport::SgxDcap */
};

/* Turn the attestation pRuntime returns (GetRuntimeInfo's SCALE Option<AttestationReport>) into
 * the one to submit with register_worker_v2, as pherry's attestation_to_report does, and verify
 * it first: a DCAP report without collateral gets it from the PCCS; the DCAP report is then
 * verified with report_data[0..32] = expected_report_data (blake2_256(SCALE(runtime info))),
 * Intel's root and debug enclaves refused, and is returned only when valid. None and SgxIas are
 * passed through as they are (ferry does not verify EPID reports; EPID is end-of-life).
 * In:  report[len]; pccs (NULL when no PCCS is configured: a DCAP report without collateral is
 *      then FERRY_E_ARG); now (unix seconds); expected_report_data (32 bytes).
 * Out: *out, *out_len (malloc'd SCALE Option<AttestationReport>; DCAP with
 *      Some(Collateral::SgxV30(..))), *kind, *v (DCAP: the verdict; else zeroed), *why.
 * Returns: FERRY_OK; FERRY_E_VERIFY (DCAP report invalid: v says why, nothing to submit);
 *          FERRY_E_INVALID / FERRY_E_TRUNCATED / ... (undecodable report); the PCCS client's
 *          errors; FERRY_E_NOMEM. On failure *out is NULL. */
FERRY_WARN_UNUSED ferry_err ferry_attest_prepare_report(
    const uint8_t *report, size_t len, const struct ferry_pccs_opts *pccs, int64_t now,
    const uint8_t *expected_report_data, uint8_t **out, size_t *out_len,
    enum ferry_attest_kind *kind, struct ferry_attest_verdict *v, struct ferry_reason *why);

#endif
