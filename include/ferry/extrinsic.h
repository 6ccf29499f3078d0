/* ferry — signed extrinsics (format v4): mortal eras, signed extensions driven by the metadata,
 * signing payloads, assembly and a structural decoder. Pure: metadata + parameters in, bytes
 * out; nothing here touches a socket (the submit side is tx.h).
 *
 * A signed v4 extrinsic is
 *     Compact(len) ‖ 0x84 ‖ address ‖ signature ‖ extra ‖ call
 * with address = MultiAddress::Id (0x00 ‖ account id[32]) on every runtime since 2021 (older
 * Polkadot runtimes used a bare AccountId32), signature = MultiSignature (a variant index, looked
 * up by name in the metadata: 0 Ed25519[64], 1 Sr25519[64], 2 Ecdsa[65] on every known runtime),
 * and extra = the concatenated "extra" parts of the runtime's signed extensions, in the order the
 * metadata lists them. The signer signs
 *     payload = call ‖ extra ‖ additional
 * where additional is the concatenated "additional signed" parts; a payload longer than 256
 * bytes is replaced by its blake2b-256 first. ECDSA (ferry_keypair_sign) then signs
 * blake2b-256 of that message — exactly Substrate's ecdsa::Pair::sign(payload); sr25519 signs
 * the message under the signing context "substrate" and ed25519 signs it as is.
 *
 * Signed extensions ferry knows, by identifier (extra / additional):
 *   CheckSpecVersion          - / u32 spec_version
 *   CheckTxVersion            - / u32 transaction_version
 *   CheckGenesis              - / genesis hash
 *   CheckMortality, CheckEra  era / hash of the era's birth block (genesis when immortal)
 *   CheckNonce                Compact nonce / -
 *   CheckWeight               - / -
 *   ChargeTransactionPayment  Compact tip / -
 *   ChargeAssetTxPayment      Compact tip ‖ Option<asset id> = None / -
 *   CheckMetadataHash         mode byte 0 (disabled) / Option<hash> = None
 * Any other extension is accepted only when both its types are empty in the type registry (a
 * composite whose fields are all empty, a tuple of empty types, a zero-length array —
 * CheckNonZeroSender, PrevalidateAttests, ...); a non-empty unknown extension is an error naming
 * it, never a guess. Known extensions are also checked against the registry (a u32 where a u32
 * is expected, 32 bytes where a hash is, an empty type where nothing is encoded), so a runtime
 * that changed one of them is refused rather than signed for wrongly.
 *
 * Mortal era (Substrate's Era::mortal): the period is rounded up to a power of two and clamped to
 * 4..65536; phase = checkpoint % period, quantized down to a multiple of max(period >> 12, 1);
 * encoded as two bytes little-endian
 *     min(max(tz(period) − 1, 1), 15) | (phase / quantize) << 4
 * An immortal era is the single byte 0x00. The transaction is valid from its birth block
 * (ferry_era_birth) for `period` blocks; the additional part carries the birth block's hash.
 */
#ifndef FERRY_EXTRINSIC_H
#define FERRY_EXTRINSIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/keys.h"
#include "ferry/scale.h"

struct ferry_metadata;
struct cJSON;

/* Payloads longer than this are signed as their blake2b-256. */
#define FERRY_XT_PAYLOAD_HASH_OVER 256
/* Most signed extensions ferry handles in one runtime. */
#define FERRY_XT_MAX_EXT 32

/* ---- eras ------------------------------------------------------------------------------------ */

struct ferry_era {
    bool immortal;
    uint32_t period; /* power of two in 4..65536 (mortal only) */
    uint32_t phase;  /* < period, a multiple of max(period >> 12, 1) (mortal only) */
};

/* Make a mortal era valid from block `checkpoint` (Substrate's Era::mortal(period, checkpoint)):
 * period is rounded up to the next power of two and clamped to 4..65536.
 * Out: *era. */
void ferry_era_mortal(uint64_t period, uint64_t checkpoint, struct ferry_era *era);

/* Returns: the block whose hash a transaction with this era signs when it is checked at block
 *          `current` (Substrate's Era::birth): (max(current, phase) − phase) / period * period
 *          + phase for a mortal era, 0 for an immortal one. */
uint64_t ferry_era_birth(const struct ferry_era *era, uint64_t current);

/* Append the era's encoding (1 byte immortal, 2 bytes mortal) to w. */
void ferry_era_encode(const struct ferry_era *era, struct ferry_scale_writer *w);

/* Read an era from r.
 * Returns: FERRY_OK; FERRY_E_INVALID (period < 4 or phase >= period, recorded in the cursor);
 *          FERRY_E_TRUNCATED. */
FERRY_WARN_UNUSED ferry_err ferry_era_decode(struct ferry_scale_reader *r, struct ferry_era *era);

/* ---- the signed-extension layout of a runtime ------------------------------------------------ */

enum ferry_xt_ext_kind {
    FERRY_XT_EXT_EMPTY,         /* encodes nothing (CheckWeight, CheckNonZeroSender, unknown) */
    FERRY_XT_EXT_SPEC_VERSION,  /* additional u32 */
    FERRY_XT_EXT_TX_VERSION,    /* additional u32 */
    FERRY_XT_EXT_GENESIS,       /* additional hash */
    FERRY_XT_EXT_MORTALITY,     /* extra era, additional birth hash */
    FERRY_XT_EXT_NONCE,         /* extra Compact nonce */
    FERRY_XT_EXT_TIP,           /* extra Compact tip */
    FERRY_XT_EXT_ASSET_TIP,     /* extra Compact tip ‖ Option<asset id> */
    FERRY_XT_EXT_METADATA_HASH, /* extra mode byte, additional Option<hash> */
};

struct ferry_xt_ext {
    char identifier[48];
    enum ferry_xt_ext_kind kind;
};

/* What a runtime's extrinsics look like, as far as building and decoding them needs. */
struct ferry_xt_format {
    bool multi_address;   /* MultiAddress::Id (0x00 ‖ id); false: a bare AccountId32 */
    uint8_t address_id;   /* MultiAddress variant index of Id (0 everywhere known) */
    int sig_ed25519;      /* MultiSignature variant index of Ed25519, or -1 when absent */
    int sig_sr25519;      /* ... of Sr25519, or -1 */
    int sig_ecdsa;        /* ... of Ecdsa, or -1 */
    bool multi_signature; /* false: a bare ed25519 signature (pre-MultiSignature runtimes) */
    size_t n_ext;
    struct ferry_xt_ext ext[FERRY_XT_MAX_EXT];
};

/* The layout the Polkadot relay chain used in 2020–2024 (and Westend/Kusama alike):
 * MultiAddress, MultiSignature {0 Ed25519, 1 Sr25519, 2 Ecdsa}, extensions CheckNonZeroSender,
 * CheckSpecVersion, CheckTxVersion, CheckGenesis, CheckMortality, CheckNonce, CheckWeight,
 * ChargeTransactionPayment. For decoding without metadata and for tests.
 * Out: *f. */
void ferry_xt_format_default(struct ferry_xt_format *f);

/* Derive the format from metadata: the extrinsic version must be 4, the address type a
 * MultiAddress with an Id variant (or an AccountId32), the signature a MultiSignature; every
 * signed extension is classified as described at the top of this file.
 * Out: *f; why (optional) names the offending extension or type on failure.
 * Returns: FERRY_OK; FERRY_E_UNSUPPORTED (another extrinsic version or address/signature form;
 *          an unknown non-empty extension; a known extension whose types are not what ferry
 *          encodes for it); FERRY_E_TOO_LARGE (more than FERRY_XT_MAX_EXT extensions). */
FERRY_WARN_UNUSED ferry_err ferry_xt_format_from_metadata(const struct ferry_metadata *md,
                                                          struct ferry_xt_format *f,
                                                          struct ferry_reason *why);

/* ---- building ---------------------------------------------------------------------------------
 */

/* Everything the signed extensions need. */
struct ferry_xt_params {
    uint32_t spec_version;
    uint32_t tx_version;
    uint8_t genesis_hash[32];
    struct ferry_era era;
    uint8_t birth_hash[32]; /* hash of ferry_era_birth(era, checkpoint); ignored when immortal
                               (the genesis hash is used) */
    uint64_t nonce;
    struct ferry_u128 tip;
};

/* Append the extra and the additional parts for params to `extra` and `additional`.
 * Returns: FERRY_OK, or FERRY_E_NOMEM (sticky in the writers). */
FERRY_WARN_UNUSED ferry_err ferry_xt_encode_extensions(const struct ferry_xt_format *f,
                                                       const struct ferry_xt_params *params,
                                                       struct ferry_scale_writer *extra,
                                                       struct ferry_scale_writer *additional);

/* Build the message a signer signs: call ‖ extra ‖ additional, or its blake2b-256 when that is
 * longer than FERRY_XT_PAYLOAD_HASH_OVER bytes.
 * Out: *msg (malloc'd; caller frees), *msg_len.
 * Returns: FERRY_OK, FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_xt_signing_message(const uint8_t *call, size_t call_len,
                                                     const uint8_t *extra, size_t extra_len,
                                                     const uint8_t *additional,
                                                     size_t additional_len, uint8_t **msg,
                                                     size_t *msg_len);

/* Assemble a signed extrinsic from its parts.
 * In:  scheme + sig[sig_len] — the signature (64 bytes sr25519/ed25519, 65 ECDSA); account[32] —
 * the signer's account id. Out: *xt (malloc'd, with its Compact length prefix), *xt_len. Returns:
 * FERRY_OK; FERRY_E_UNSUPPORTED (the format has no signature variant for scheme, or has no
 * MultiSignature and scheme is not ed25519); FERRY_E_ARG (wrong sig_len); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_xt_assemble(const struct ferry_xt_format *f,
                                              const uint8_t account[32], enum ferry_scheme scheme,
                                              const uint8_t *sig, size_t sig_len,
                                              const uint8_t *extra, size_t extra_len,
                                              const uint8_t *call, size_t call_len, uint8_t **xt,
                                              size_t *xt_len);

/* Sign an encoded call with kp and assemble the extrinsic (the three steps above).
 * Out: *xt (malloc'd), *xt_len, hash = blake2b-256(*xt) (the extrinsic hash nodes report).
 * Returns: as the steps, plus ferry_keypair_sign's errors. On failure *xt is NULL. */
FERRY_WARN_UNUSED ferry_err ferry_xt_sign(const struct ferry_xt_format *f,
                                          const struct ferry_keypair *kp,
                                          const struct ferry_xt_params *params, const uint8_t *call,
                                          size_t call_len, uint8_t **xt, size_t *xt_len,
                                          uint8_t hash[32]);

/* Encode "Pallet.call" with JSON arguments (ferry_md_encode_call), then sign and assemble it
 * with the format derived from md.
 * Out: as ferry_xt_sign; why (optional) — the reason on failure (bad argument at a JSON path,
 *      unknown call, unsupported extension).
 * Returns: as ferry_md_encode_call, ferry_xt_format_from_metadata and ferry_xt_sign. */
FERRY_WARN_UNUSED ferry_err ferry_xt_build_call(const struct ferry_metadata *md,
                                                const struct ferry_keypair *kp,
                                                const struct ferry_xt_params *params,
                                                const char *dotted, const struct cJSON *args_json,
                                                uint8_t **xt, size_t *xt_len, uint8_t hash[32],
                                                struct ferry_reason *why);

/* ---- decoding ---------------------------------------------------------------------------------
 */

enum ferry_xt_address_kind {
    FERRY_XT_ADDR_ID,        /* MultiAddress::Id or a bare AccountId32 */
    FERRY_XT_ADDR_INDEX,     /* MultiAddress::Index(Compact<u32>) */
    FERRY_XT_ADDR_RAW,       /* MultiAddress::Raw(Vec<u8>) */
    FERRY_XT_ADDR_ADDRESS32, /* MultiAddress::Address32([u8; 32]) */
    FERRY_XT_ADDR_ADDRESS20, /* MultiAddress::Address20([u8; 20]) */
};

/* A decoded extrinsic; pointers borrow from the input buffer. */
struct ferry_xt_decoded {
    uint8_t version; /* low 7 bits of the version byte (4) */
    bool is_signed;
    /* signed only: */
    enum ferry_xt_address_kind address_kind;
    const uint8_t *address; /* the id bytes (32/20/raw), or NULL for an index */
    size_t address_len;
    uint32_t address_index;   /* FERRY_XT_ADDR_INDEX */
    int sig_variant;          /* MultiSignature index, or -1 for a bare ed25519 signature */
    const uint8_t *signature; /* 64 or 65 bytes */
    size_t signature_len;
    const uint8_t *extra; /* the extra part as a whole */
    size_t extra_len;
    bool has_era, has_nonce, has_tip;
    struct ferry_era era;
    uint64_t nonce;
    struct ferry_u128 tip;
    bool asset_id_present;      /* ChargeAssetTxPayment with Some(asset id) (not decoded) */
    uint8_t metadata_hash_mode; /* CheckMetadataHash mode byte, 0 when absent */
    /* always: */
    const uint8_t *call; /* pallet index ‖ call index ‖ arguments, to the end of the extrinsic */
    size_t call_len;
};

/* Decode one extrinsic with its Compact length prefix, which must span the rest of buf exactly.
 * The extra part is read by the extension kinds of f; MultiSignature variants are 0 Ed25519,
 * 1 Sr25519 (64 bytes) and 2 Ecdsa (65 bytes) unless f names other indices.
 * Out: *out; r (optional) — the cursor, for ferry_scale_describe on failure.
 * Returns: FERRY_OK; FERRY_E_UNSUPPORTED (a version other than 4, an asset id present in
 *          ChargeAssetTxPayment); FERRY_E_INVALID (bad address or signature variant, bad era,
 *          a length prefix that does not match, mode byte > 1); cursor errors. */
FERRY_WARN_UNUSED ferry_err ferry_xt_decode(const struct ferry_xt_format *f, const uint8_t *buf,
                                            size_t len, struct ferry_xt_decoded *out,
                                            struct ferry_scale_reader *r);

#endif
