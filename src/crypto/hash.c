/* Hashing primitives over libb2 and libxxhash, and the Substrate storage hashers. */
#include <blake2.h>
#include <ctype.h>
#include <string.h>
#include <xxhash.h>

#include "ferry/hash.h"

void ferry_blake2b(uint8_t *out, size_t outlen, const void *in, size_t len)
{
    /* libb2 rejects a NULL input pointer even for len 0. */
    static const uint8_t empty[1];
    blake2b(out, in ? in : empty, NULL, outlen, len, 0);
}

void ferry_blake2b_128(uint8_t out[16], const void *in, size_t len)
{
    ferry_blake2b(out, 16, in, len);
}

void ferry_blake2b_256(uint8_t out[32], const void *in, size_t len)
{
    ferry_blake2b(out, 32, in, len);
}

void ferry_blake2b_512(uint8_t out[64], const void *in, size_t len)
{
    ferry_blake2b(out, 64, in, len);
}

uint64_t ferry_xxh64(const void *in, size_t len, uint64_t seed)
{
    return XXH64(in, len, seed);
}

static void twox(uint8_t *out, size_t n_words, const void *in, size_t len)
{
    for (size_t seed = 0; seed < n_words; seed++) {
        uint64_t h = XXH64(in, len, seed);
        for (size_t i = 0; i < 8; i++)
            out[8 * seed + i] = (uint8_t)(h >> (8 * i));
    }
}

void ferry_twox64(uint8_t out[8], const void *in, size_t len)
{
    twox(out, 1, in, len);
}

void ferry_twox128(uint8_t out[16], const void *in, size_t len)
{
    twox(out, 2, in, len);
}

void ferry_twox256(uint8_t out[32], const void *in, size_t len)
{
    twox(out, 4, in, len);
}

static const struct {
    const char *name;
    enum ferry_hasher h;
} hasher_names[] = {
    {"blake2128", FERRY_HASHER_BLAKE2_128},
    {"blake2256", FERRY_HASHER_BLAKE2_256},
    {"blake2128concat", FERRY_HASHER_BLAKE2_128_CONCAT},
    {"twox128", FERRY_HASHER_TWOX128},
    {"twox256", FERRY_HASHER_TWOX256},
    {"twox64concat", FERRY_HASHER_TWOX64_CONCAT},
    {"identity", FERRY_HASHER_IDENTITY},
};

ferry_err ferry_hasher_parse(const char *name, enum ferry_hasher *out)
{
    char norm[32];
    size_t n = 0;
    for (const char *p = name; *p; p++) {
        if (*p == '_')
            continue;
        if (n + 1 >= sizeof norm)
            return FERRY_E_ARG;
        norm[n++] = (char)tolower((unsigned char)*p);
    }
    norm[n] = 0;
    for (size_t i = 0; i < sizeof hasher_names / sizeof hasher_names[0]; i++) {
        if (strcmp(norm, hasher_names[i].name) == 0) {
            *out = hasher_names[i].h;
            return FERRY_OK;
        }
    }
    return FERRY_E_ARG;
}

size_t ferry_hasher_output_len(enum ferry_hasher h, size_t klen)
{
    switch (h) {
    case FERRY_HASHER_BLAKE2_128:
    case FERRY_HASHER_TWOX128:
        return 16;
    case FERRY_HASHER_BLAKE2_256:
    case FERRY_HASHER_TWOX256:
        return 32;
    case FERRY_HASHER_BLAKE2_128_CONCAT:
        return 16 + klen;
    case FERRY_HASHER_TWOX64_CONCAT:
        return 8 + klen;
    case FERRY_HASHER_IDENTITY:
        return klen;
    }
    return 0;
}

size_t ferry_hasher_apply(enum ferry_hasher h, const uint8_t *key, size_t klen, uint8_t *out)
{
    switch (h) {
    case FERRY_HASHER_BLAKE2_128:
        ferry_blake2b_128(out, key, klen);
        return 16;
    case FERRY_HASHER_BLAKE2_256:
        ferry_blake2b_256(out, key, klen);
        return 32;
    case FERRY_HASHER_TWOX128:
        ferry_twox128(out, key, klen);
        return 16;
    case FERRY_HASHER_TWOX256:
        ferry_twox256(out, key, klen);
        return 32;
    case FERRY_HASHER_BLAKE2_128_CONCAT:
        ferry_blake2b_128(out, key, klen);
        if (klen)
            memcpy(out + 16, key, klen);
        return 16 + klen;
    case FERRY_HASHER_TWOX64_CONCAT:
        ferry_twox64(out, key, klen);
        if (klen)
            memcpy(out + 8, key, klen);
        return 8 + klen;
    case FERRY_HASHER_IDENTITY:
        if (klen)
            memcpy(out, key, klen);
        return klen;
    }
    return 0;
}

void ferry_storage_prefix(uint8_t out[32], const char *pallet, const char *item)
{
    ferry_twox128(out, pallet, strlen(pallet));
    ferry_twox128(out + 16, item, strlen(item));
}
