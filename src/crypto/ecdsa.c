/* ECDSA over secp256k1 the Substrate way (sp_core::ecdsa): 65-byte recoverable signatures over
 * blake2b-256 of the message, compressed 33-byte public keys, account id = blake2b-256(key).
 *
 * One libsecp256k1 context serves the whole process. It is created once (pthread_once) and
 * randomized for side-channel protection; after that libsecp256k1 only reads it, which is
 * thread-safe.
 */
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>
#include <string.h>

#include "ferry/hash.h"
#include "ferry/keys.h"
#include "src/crypto/hdkd.h"

static secp256k1_context *shared_ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_create(void)
{
    uint8_t seed[32];
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!ctx)
        return;
    if (sodium_init() < 0) {
        /* No random source for the blinding seed: fail closed rather than run unblinded. */
        secp256k1_context_destroy(ctx);
        return;
    }
    randombytes_buf(seed, sizeof seed);
    if (!secp256k1_context_randomize(ctx, seed)) {
        secp256k1_context_destroy(ctx);
        ctx = NULL;
    }
    sodium_memzero(seed, sizeof seed);
    shared_ctx = ctx;
}

/* Returns: the shared context, or NULL when it could not be created. */
static const secp256k1_context *ctx_get(void)
{
    pthread_once(&ctx_once, ctx_create);
    return shared_ctx;
}

ferry_err ferry_ecdsa_public(uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                             const uint8_t secret[FERRY_SEED_LEN])
{
    const secp256k1_context *ctx = ctx_get();
    secp256k1_pubkey pk;
    size_t len = FERRY_ECDSA_PUBLIC_LEN;
    memset(pub, 0, FERRY_ECDSA_PUBLIC_LEN);
    if (!ctx)
        return FERRY_E_NOMEM;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, secret))
        return FERRY_E_ARG;
    secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_COMPRESSED);
    return FERRY_OK;
}

ferry_err ferry_ecdsa_sign_prehashed(uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                     const uint8_t secret[FERRY_SEED_LEN], const uint8_t digest[32])
{
    const secp256k1_context *ctx = ctx_get();
    secp256k1_ecdsa_recoverable_signature rs;
    int recid = 0;
    memset(sig, 0, FERRY_ECDSA_SIG_LEN);
    if (!ctx)
        return FERRY_E_NOMEM;
    /* NULL nonce function: RFC 6979, as Substrate (via the secp256k1 crate) uses. */
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rs, digest, secret, NULL, NULL))
        return FERRY_E_ARG;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rs);
    sig[64] = (uint8_t)recid;
    return FERRY_OK;
}

ferry_err ferry_ecdsa_sign(uint8_t sig[FERRY_ECDSA_SIG_LEN], const uint8_t secret[FERRY_SEED_LEN],
                           const uint8_t *msg, size_t len)
{
    uint8_t digest[32];
    ferry_blake2b_256(digest, msg, len);
    return ferry_ecdsa_sign_prehashed(sig, secret, digest);
}

ferry_err ferry_ecdsa_recover_prehashed(uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                                        const uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                        const uint8_t digest[32])
{
    const secp256k1_context *ctx = ctx_get();
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_pubkey pk;
    size_t len = FERRY_ECDSA_PUBLIC_LEN;
    memset(pub, 0, FERRY_ECDSA_PUBLIC_LEN);
    if (!ctx)
        return FERRY_E_NOMEM;
    if (sig[64] > 3 || !secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, sig[64]))
        return FERRY_E_INVALID;
    if (!secp256k1_ecdsa_recover(ctx, &pk, &rs, digest))
        return FERRY_E_VERIFY;
    secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pk, SECP256K1_EC_COMPRESSED);
    return FERRY_OK;
}

ferry_err ferry_ecdsa_recover(uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                              const uint8_t sig[FERRY_ECDSA_SIG_LEN], const uint8_t *msg,
                              size_t len)
{
    uint8_t digest[32];
    ferry_blake2b_256(digest, msg, len);
    return ferry_ecdsa_recover_prehashed(pub, sig, digest);
}

ferry_err ferry_ecdsa_verify(const uint8_t sig[FERRY_ECDSA_SIG_LEN],
                             const uint8_t pub[FERRY_ECDSA_PUBLIC_LEN], const uint8_t *msg,
                             size_t len)
{
    uint8_t got[FERRY_ECDSA_PUBLIC_LEN];
    ferry_err err = ferry_ecdsa_recover(got, sig, msg, len);
    if (err == FERRY_E_NOMEM)
        return err;
    if (err || memcmp(got, pub, sizeof got) != 0)
        return FERRY_E_VERIFY;
    return FERRY_OK;
}

void ferry_ecdsa_account_id(uint8_t out[32], const uint8_t pub[FERRY_ECDSA_PUBLIC_LEN])
{
    ferry_blake2b_256(out, pub, FERRY_ECDSA_PUBLIC_LEN);
}

void ferry_ecdsa_derive_hard(uint8_t out[FERRY_SEED_LEN], const uint8_t secret[FERRY_SEED_LEN],
                             const uint8_t chain_code[32])
{
    ferry_hdkd_hard(out, "Secp256k1HDKD", secret, chain_code);
}
