/* ferry — the hash functions Substrate uses: BLAKE2b (libb2) and xxHash64-based "twox"
 * (libxxhash), plus the storage hashers and storage-key building.
 *
 * twox64(x) = xxh64(x, seed 0) little-endian; twox128 = twox64 ‖ xxh64(x, 1); twox256 adds
 * seeds 2 and 3. Storage key of a map entry = twox128(pallet) ‖ twox128(item) ‖ hasher(key)…
 */
#ifndef FERRY_HASH_H
#define FERRY_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

/* BLAKE2b with an outlen-byte digest (1..64), unkeyed. */
void ferry_blake2b(uint8_t *out, size_t outlen, const void *in, size_t len);
void ferry_blake2b_128(uint8_t out[16], const void *in, size_t len);
void ferry_blake2b_256(uint8_t out[32], const void *in, size_t len);
void ferry_blake2b_512(uint8_t out[64], const void *in, size_t len);

uint64_t ferry_xxh64(const void *in, size_t len, uint64_t seed);
void ferry_twox64(uint8_t out[8], const void *in, size_t len);
void ferry_twox128(uint8_t out[16], const void *in, size_t len);
void ferry_twox256(uint8_t out[32], const void *in, size_t len);

enum ferry_hasher {
    FERRY_HASHER_BLAKE2_128,
    FERRY_HASHER_BLAKE2_256,
    FERRY_HASHER_BLAKE2_128_CONCAT,
    FERRY_HASHER_TWOX128,
    FERRY_HASHER_TWOX256,
    FERRY_HASHER_TWOX64_CONCAT,
    FERRY_HASHER_IDENTITY,
};

/* Parse a hasher name as the CLI and metadata spell it, case-insensitively and ignoring '_':
 * "blake2_128", "blake2_256", "blake2_128concat", "twox128", "twox256", "twox64concat",
 * "identity". Returns: FERRY_OK or FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_hasher_parse(const char *name, enum ferry_hasher *out);

/* Returns: the number of bytes hasher h writes for a key of klen bytes. */
size_t ferry_hasher_output_len(enum ferry_hasher h, size_t klen);

/* Write hasher h of key[klen] to out, which holds ferry_hasher_output_len(h, klen) bytes.
 * Returns: the number of bytes written. */
size_t ferry_hasher_apply(enum ferry_hasher h, const uint8_t *key, size_t klen, uint8_t *out);

/* Storage key prefix twox128(pallet) ‖ twox128(item) into out[32]. */
void ferry_storage_prefix(uint8_t out[32], const char *pallet, const char *item);

#endif
