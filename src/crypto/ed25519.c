/* ed25519 over libsodium: keys from 32-byte seeds, signing, verification, and Substrate's hard
 * derivation. libsodium's verification rules (stricter than ZIP-215) are discussed in keys.h. */
#include <sodium.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/keys.h"
#include "src/crypto/hdkd.h"

/* sodium_init is idempotent and thread-safe; it selects the fastest implementations. The
 * signature functions work (with the portable code) even when it fails, so its result only
 * matters to code that needs randomness. */
static void sodium_ready(void)
{
    int rc = sodium_init();
    (void)rc;
}

void ferry_ed25519_public(uint8_t pub[FERRY_ED25519_PUBLIC_LEN], const uint8_t seed[FERRY_SEED_LEN])
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    sodium_ready();
    crypto_sign_seed_keypair(pub, sk, seed);
    sodium_memzero(sk, sizeof sk);
}

void ferry_ed25519_sign(uint8_t sig[FERRY_ED25519_SIG_LEN], const uint8_t seed[FERRY_SEED_LEN],
                        const uint8_t *msg, size_t len)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    static const uint8_t empty[1];
    sodium_ready();
    crypto_sign_seed_keypair(pk, sk, seed);
    crypto_sign_detached(sig, NULL, msg ? msg : empty, len, sk);
    sodium_memzero(sk, sizeof sk);
}

ferry_err ferry_ed25519_verify(const uint8_t sig[FERRY_ED25519_SIG_LEN],
                               const uint8_t pub[FERRY_ED25519_PUBLIC_LEN], const uint8_t *msg,
                               size_t len)
{
    static const uint8_t empty[1];
    sodium_ready();
    return crypto_sign_verify_detached(sig, msg ? msg : empty, len, pub) == 0 ? FERRY_OK
                                                                              : FERRY_E_VERIFY;
}

void ferry_ed25519_derive_hard(uint8_t out[FERRY_SEED_LEN], const uint8_t seed[FERRY_SEED_LEN],
                               const uint8_t chain_code[32])
{
    ferry_hdkd_hard(out, "Ed25519HDKD", seed, chain_code);
}
