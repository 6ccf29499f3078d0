/* ferry — block headers and their digest items.
 *
 * Layout (SCALE): parent_hash[32] ‖ Compact<u32> number ‖ state_root[32] ‖ extrinsics_root[32]
 * ‖ Vec<DigestItem>. DigestItem: 0 Other(Vec<u8>), 4 Consensus(engine[4], Vec<u8>),
 * 5 Seal(engine[4], Vec<u8>), 6 PreRuntime(engine[4], Vec<u8>), 8 RuntimeEnvironmentUpdated.
 * The block hash is blake2b-256 of the exact encoding, seal included.
 *
 * A decoded header owns a copy of its encoding; digest payloads point into that copy, so
 * re-encoding is byte-exact and the header stays valid after the input buffer is gone.
 * Engine payloads are never interpreted here: unknown engines and unknown payloads are kept as
 * opaque bytes (digest.h interprets the known ones on demand).
 */
#ifndef FERRY_HEADER_H
#define FERRY_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/scale.h"

enum ferry_digest_kind {
    FERRY_DIGEST_OTHER = 0,
    FERRY_DIGEST_CONSENSUS = 4,
    FERRY_DIGEST_SEAL = 5,
    FERRY_DIGEST_PRERUNTIME = 6,
    FERRY_DIGEST_RUNTIME_ENV_UPDATED = 8,
};

struct ferry_digest_item {
    enum ferry_digest_kind kind;
    uint8_t engine[4];   /* all zero for Other and RuntimeEnvironmentUpdated */
    const uint8_t *data; /* payload, pointing into the owning header's `encoded` */
    size_t data_len;
};

struct ferry_header {
    uint8_t parent_hash[32];
    uint32_t number;
    uint8_t state_root[32];
    uint8_t extrinsics_root[32];
    struct ferry_digest_item *digest; /* n_digest items; with `encoded`, one allocation */
    size_t n_digest;
    uint8_t hash[32]; /* blake2b-256(encoded) */
    uint8_t *encoded; /* owned copy of the exact SCALE bytes */
    size_t encoded_len;
};

/* Decode one header that must span all of buf[len].
 * Out: *h (zeroed first; on failure it holds nothing to free). diag, when non-NULL, receives the
 *      cursor so the caller can report where and why decoding failed (ferry_scale_describe).
 * Returns: FERRY_OK, a decode error, FERRY_E_TRAILING or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_header_decode(struct ferry_header *h, const uint8_t *buf,
                                                size_t len, struct ferry_scale_reader *diag);

/* Decode one header from a cursor (inside a larger structure such as Vec<Header>).
 * Returns: FERRY_OK, or the cursor's error (*h then holds nothing to free). */
FERRY_WARN_UNUSED ferry_err ferry_header_read(struct ferry_scale_reader *r, struct ferry_header *h);

/* Release what a decoded header owns; safe on a zeroed header; leaves it zeroed. */
void ferry_header_free(struct ferry_header *h);

/* Encode the header's fields (not its cached `encoded`) to w. Used to build headers and to prove
 * that decode/encode round-trips. */
void ferry_header_encode(const struct ferry_header *h, struct ferry_scale_writer *w);

/* Deep copy src into *dst. Returns: FERRY_OK or FERRY_E_NOMEM (dst then zeroed). */
FERRY_WARN_UNUSED ferry_err ferry_header_copy(struct ferry_header *dst,
                                              const struct ferry_header *src);

/* Turn the JSON header that `chain_getHeader` returns ({"parentHash","number":"0x..",
 * "stateRoot","extrinsicsRoot","digest":{"logs":["0x.."]}}, given as text) into SCALE bytes.
 * Out: *out (malloc'd) and *len.
 * Returns: FERRY_OK, FERRY_E_JSON (missing/ill-typed field), FERRY_E_HEX, a digest-item decode
 *          error, or FERRY_E_NOMEM. why, when non-NULL, gets a static reason. */
FERRY_WARN_UNUSED ferry_err ferry_header_json_to_scale(const char *json, uint8_t **out, size_t *len,
                                                       struct ferry_reason *why);

/* Returns: a static name for kind: "Other", "Consensus", "Seal", "PreRuntime",
 *          "RuntimeEnvironmentUpdated". */
const char *ferry_digest_kind_name(enum ferry_digest_kind kind);

/* Returns: the first digest item of the given kind and engine ("FRNK", "BABE", ...) at or after
 *          index *from (updated to one past the match), or NULL when none is left. */
const struct ferry_digest_item *ferry_header_find_digest(const struct ferry_header *h,
                                                         enum ferry_digest_kind kind,
                                                         const char engine[4], size_t *from);

#endif
