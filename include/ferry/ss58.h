/* ferry — SS58 addresses and the Base58 (Bitcoin alphabet) codec under them.
 *
 * An SS58 address is base58(prefix ‖ payload ‖ checksum) where
 *   prefix   = the network identifier: one byte for 0..63, two bytes for 64..16383
 *              (01aaaaaa bbcccccc for the 14-bit value ccccccaaaaaabb; see
 *              ferry_ss58_prefix_encode),
 *   payload  = a 32-byte account id, or a 33-byte compressed ECDSA public key,
 *   checksum = the first 2 bytes of blake2b-512("SS58PRE" ‖ prefix ‖ payload).
 * Prefixes 46 and 47 are reserved by the SS58 registry and rejected both ways, as Substrate's
 * decoder does. Decoding is strict: every error names its cause.
 */
#ifndef FERRY_SS58_H
#define FERRY_SS58_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

#define FERRY_SS58_MAX_PREFIX  16383
#define FERRY_SS58_MAX_PAYLOAD 33
/* Longest address (2-byte prefix, 33-byte payload: 37 bytes -> at most 51 characters) + NUL. */
#define FERRY_SS58_MAX_LEN 52
/* Size of a buffer that holds any reason ferry_ss58_decode writes. */
#define FERRY_SS58_WHY_LEN 96

/* Base58-encode in[len] (leading zero bytes become '1's) into out as a NUL-terminated string.
 * Returns: FERRY_OK, or FERRY_E_TOO_LARGE when out (outsize bytes) is too small or len > 1024;
 *          out is then an empty string when outsize > 0. */
FERRY_WARN_UNUSED ferry_err ferry_base58_encode(const uint8_t *in, size_t len, char *out,
                                                size_t outsize);

/* Base58-decode text[len] into out.
 * Out: out[0..*outlen).
 * Returns: FERRY_OK; FERRY_E_INVALID for a character outside the alphabet (*bad_pos, when
 *          non-NULL, gets its offset); FERRY_E_TOO_LARGE when the value does not fit in
 *          outsize bytes or len > 1024. On failure *outlen is 0. */
FERRY_WARN_UNUSED ferry_err ferry_base58_decode(const char *text, size_t len, uint8_t *out,
                                                size_t outsize, size_t *outlen, size_t *bad_pos);

/* Encode a network prefix as SS58 writes it.
 * Out: out[0..return) — 1 byte for 0..63, 2 bytes for 64..16383.
 * Returns: the number of bytes written, or 0 when prefix > 16383 (out untouched). */
size_t ferry_ss58_prefix_encode(uint16_t prefix, uint8_t out[2]);

/* Decode the network prefix at the start of an SS58 byte string.
 * In:  in[len] — the decoded address bytes (or just the prefix bytes).
 * Out: *prefix, *used (1 or 2).
 * Returns: FERRY_OK; FERRY_E_TRUNCATED when len is 0 or a 2-byte form is cut; FERRY_E_INVALID
 *          for a first byte in 128..255 (reserved); FERRY_E_NONCANONICAL for a 2-byte form whose
 *          value is below 64. Does not check the reserved values 46/47. */
FERRY_WARN_UNUSED ferry_err ferry_ss58_prefix_decode(const uint8_t *in, size_t len,
                                                     uint16_t *prefix, size_t *used);

/* Returns: 1 when prefix is reserved by the SS58 registry (46, 47) or above 16383, else 0. */
int ferry_ss58_prefix_is_reserved(uint32_t prefix);

/* Encode payload[len] (len 32: account id; len 33: compressed ECDSA public key) with prefix.
 * Out: out (FERRY_SS58_MAX_LEN bytes suffice), NUL-terminated.
 * Returns: FERRY_OK; FERRY_E_ARG for another payload length, a prefix above 16383 or a reserved
 *          prefix (46/47); FERRY_E_TOO_LARGE when outsize is too small. */
FERRY_WARN_UNUSED ferry_err ferry_ss58_encode(const uint8_t *payload, size_t len, uint16_t prefix,
                                              char *out, size_t outsize);

struct ferry_ss58 {
    uint16_t prefix;
    size_t len; /* payload length: 32 (account id) or 33 (ECDSA public key) */
    uint8_t payload[FERRY_SS58_MAX_PAYLOAD];
};

/* Decode and verify an SS58 address (NUL-terminated, no surrounding whitespace).
 * Out: *out on success; on failure, when why is non-NULL, a reason such as
 *      "invalid base58 character '0' at offset 3" or "bad checksum".
 * Returns: FERRY_OK;
 *          FERRY_E_INVALID     bad base58 character, reserved first prefix byte (128..255);
 *          FERRY_E_NONCANONICAL two-byte prefix form holding a value below 64;
 *          FERRY_E_TOO_LARGE / FERRY_E_TRUNCATED  wrong decoded length for a 32/33-byte payload;
 *          FERRY_E_VERIFY      checksum mismatch;
 *          FERRY_E_UNSUPPORTED reserved prefix 46 or 47. */
FERRY_WARN_UNUSED ferry_err ferry_ss58_decode(const char *address, struct ferry_ss58 *out,
                                              struct ferry_reason *why);

#endif
