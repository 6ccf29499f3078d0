/* sr25519 (schnorrkel 0.11 as Substrate uses it) on libsodium's ristretto255.
 *
 * Key pair      mini secret m -> h = SHA-512(m); key = clamp(h[0..32]) / 8 (a scalar below l);
 *               nonce = h[32..64]; public = key·B, compressed.  (ExpansionMode::Ed25519)
 * Signing       t = Transcript("SigningContext"); append("", ctx); append("sign-bytes", msg);
 *               append("proto-name", "Schnorr-sig"); append("sign:pk", A);
 *               r = wide( rng(t; "signing" <- nonce; 32 random bytes) );  R = r·B;
 *               append("sign:R", R); k = wide(challenge("sign:c", 64)); s = k·key + r;
 *               signature = R ‖ s with the top bit of byte 63 set (schnorrkel's marker).
 * Verification  the marker must be set and s canonical; A must decode; R' = s·B − k·A; accept
 *               when R' compresses to R.
 * Hard HDKD     t = Transcript("SchnorrRistrettoHDKD"); append("sign-bytes", "");
 *               append("chain-code", cc); append("secret-key", key); mini' = challenge
 *               ("HDKD-hard", 32); the child is mini' expanded as above.
 * Soft HDKD     t = Transcript("SchnorrRistrettoHDKD"); append("sign-bytes", "");
 *               append("chain-code", cc); append("public-key", A); d = wide(challenge
 *               ("HDKD-scalar", 64)); child key = key + d, child public = A + d·B. The child's
 *               nonce is drawn from t rekeyed with the parent's secret and fresh randomness, as
 *               schnorrkel does (it only protects signatures, so it need not be reproducible).
 * wide(x) is x (64 bytes) reduced mod l. */
#include "ferry/sr25519.h"

#include <sodium.h>
#include <string.h>

#include "merlin.h"

/* The group order l, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

/* s < l? s is public (part of a signature), so a plain comparison is fine. */
static bool scalar_is_canonical(const uint8_t s[32])
{
    for (int i = 31; i >= 0; i--) {
        if (s[i] < group_order[i])
            return true;
        if (s[i] > group_order[i])
            return false;
    }
    return false;
}

static void challenge_scalar(struct ferry_merlin *t, const char *label, uint8_t out[32])
{
    uint8_t wide[64];
    ferry_merlin_challenge(t, label, wide, sizeof wide);
    crypto_core_ristretto255_scalar_reduce(out, wide);
    sodium_memzero(wide, sizeof wide);
}

/* public = key·B. key is a non-zero scalar for every key pair ferry builds (a zero key only
 * arises with probability 2^-252), and libsodium then always succeeds. */
static void public_of(uint8_t pub[32], const uint8_t key[32])
{
    if (crypto_scalarmult_ristretto255_base(pub, key) != 0)
        memset(pub, 0, 32);
}

void ferry_sr25519_from_mini_secret(struct ferry_sr25519_keypair *kp, const uint8_t mini[32])
{
    uint8_t h[64];
    crypto_hash_sha512(h, mini, 32);
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
    /* Divide the clamped value by the cofactor 8: a 3-bit right shift of the little-endian
     * number. The result is below 2^252 < l, so it is already reduced. */
    for (int i = 0; i < 31; i++)
        kp->secret[i] = (uint8_t)((h[i] >> 3) | (h[i + 1] << 5));
    kp->secret[31] = (uint8_t)(h[31] >> 3);
    memcpy(kp->secret + 32, h + 32, 32);
    sodium_memzero(h, sizeof h);
    public_of(kp->public_key, kp->secret);
}

/* The transcript signing_context(ctx).bytes(msg) with the Schnorr-sig framing and the public
 * key appended: everything both signer and verifier absorb before R. */
static void sig_transcript(struct ferry_merlin *t, const uint8_t pub[32], const uint8_t *ctx,
                           size_t ctx_len, const uint8_t *msg, size_t len)
{
    static const uint8_t proto[] = "Schnorr-sig";
    ferry_merlin_init(t, "SigningContext");
    ferry_merlin_append(t, "", ctx, ctx_len);
    ferry_merlin_append(t, "sign-bytes", msg, len);
    ferry_merlin_append(t, "proto-name", proto, sizeof proto - 1);
    ferry_merlin_append(t, "sign:pk", pub, 32);
}

ferry_err ferry_sr25519_sign(const struct ferry_sr25519_keypair *kp, const uint8_t *ctx,
                             size_t ctx_len, const uint8_t *msg, size_t len,
                             uint8_t sig[FERRY_SR25519_SIGNATURE_LEN])
{
    if (!kp || !sig || (!ctx && ctx_len) || (!msg && len) || len > UINT32_MAX ||
        ctx_len > UINT32_MAX)
        return FERRY_E_ARG;
    if (sodium_init() < 0) /* the system RNG is needed for the nonce */
        return FERRY_E_ARG;
    static const uint8_t empty[1] = {0};
    if (!ctx)
        ctx = empty;
    if (!msg)
        msg = empty;

    struct ferry_merlin t;
    struct ferry_merlin_rng rng;
    uint8_t rnd[32], wide[64], r[32], k[32], s[32];
    sig_transcript(&t, kp->public_key, ctx, ctx_len, msg, len);

    ferry_merlin_rng_fork(&rng, &t);
    ferry_merlin_rng_rekey(&rng, "signing", kp->secret + 32, 32);
    randombytes_buf(rnd, sizeof rnd);
    ferry_merlin_rng_finalize(&rng, rnd);
    ferry_merlin_rng_fill(&rng, wide, sizeof wide);
    crypto_core_ristretto255_scalar_reduce(r, wide);

    ferry_err err = FERRY_OK;
    if (crypto_scalarmult_ristretto255_base(sig, r) != 0) { /* r = 0: probability 2^-252 */
        err = FERRY_E_ARG;
        memset(sig, 0, FERRY_SR25519_SIGNATURE_LEN);
        goto out;
    }
    ferry_merlin_append(&t, "sign:R", sig, 32);
    challenge_scalar(&t, "sign:c", k);
    crypto_core_ristretto255_scalar_mul(s, k, kp->secret);
    crypto_core_ristretto255_scalar_add(s, s, r);
    memcpy(sig + 32, s, 32);
    sig[63] |= 0x80;
out:
    ferry_merlin_wipe(&t);
    ferry_merlin_rng_wipe(&rng);
    sodium_memzero(rnd, sizeof rnd);
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(r, sizeof r);
    sodium_memzero(k, sizeof k);
    sodium_memzero(s, sizeof s);
    return err;
}

bool ferry_sr25519_verify(const uint8_t pub[FERRY_SR25519_PUBLIC_LEN], const uint8_t *ctx,
                          size_t ctx_len, const uint8_t *msg, size_t len,
                          const uint8_t sig[FERRY_SR25519_SIGNATURE_LEN])
{
    static const uint8_t zero[32] = {0};
    static const uint8_t empty[1] = {0};
    if (!pub || !sig || (!ctx && ctx_len) || (!msg && len) || len > UINT32_MAX ||
        ctx_len > UINT32_MAX)
        return false;
    if (!(sig[63] & 0x80))
        return false; /* not marked as a schnorrkel signature */
    uint8_t s[32];
    memcpy(s, sig + 32, 32);
    s[31] &= 0x7f;
    if (!scalar_is_canonical(s))
        return false;
    /* The identity is a valid encoding, but as a public key it would let anyone sign: refuse.
     * Whether pub decodes at all is checked by the scalar multiplication below. */
    if (sodium_memcmp(pub, zero, 32) == 0)
        return false;

    struct ferry_merlin t;
    uint8_t k[32], sb[32], ka[32], rr[32];
    sig_transcript(&t, pub, ctx ? ctx : empty, ctx_len, msg ? msg : empty, len);
    ferry_merlin_append(&t, "sign:R", sig, 32);
    challenge_scalar(&t, "sign:c", k);
    /* s·B and k·A are the identity (all-zero encoding) only for s = 0 or k = 0; libsodium then
     * returns -1 but still writes the identity, which is the right value to continue with. */
    (void)crypto_scalarmult_ristretto255_base(sb, s);
    if (crypto_scalarmult_ristretto255(ka, k, pub) != 0 &&
        (!crypto_core_ristretto255_is_valid_point(pub) || sodium_memcmp(ka, zero, 32) != 0))
        return false;
    if (crypto_core_ristretto255_sub(rr, sb, ka) != 0)
        return false;
    return sodium_memcmp(rr, sig, 32) == 0;
}

ferry_err ferry_sr25519_hard_mini_secret(uint8_t mini[32], const struct ferry_sr25519_keypair *kp,
                                         const uint8_t cc[32])
{
    if (!mini || !kp || !cc)
        return FERRY_E_ARG;
    struct ferry_merlin t;
    ferry_merlin_init(&t, "SchnorrRistrettoHDKD");
    ferry_merlin_append(&t, "sign-bytes", NULL, 0);
    ferry_merlin_append(&t, "chain-code", cc, 32);
    ferry_merlin_append(&t, "secret-key", kp->secret, 32);
    ferry_merlin_challenge(&t, "HDKD-hard", mini, 32);
    ferry_merlin_wipe(&t);
    return FERRY_OK;
}

ferry_err ferry_sr25519_derive_hard(struct ferry_sr25519_keypair *out,
                                    const struct ferry_sr25519_keypair *kp, const uint8_t cc[32])
{
    uint8_t mini[32];
    ferry_err err = ferry_sr25519_hard_mini_secret(mini, kp, cc);
    if (err)
        return err;
    ferry_sr25519_from_mini_secret(out, mini);
    sodium_memzero(mini, sizeof mini);
    return FERRY_OK;
}

/* The soft-derivation transcript up to and including the HDKD scalar d. */
static void soft_scalar(struct ferry_merlin *t, uint8_t d[32], const uint8_t pub[32],
                        const uint8_t cc[32])
{
    ferry_merlin_init(t, "SchnorrRistrettoHDKD");
    ferry_merlin_append(t, "sign-bytes", NULL, 0);
    ferry_merlin_append(t, "chain-code", cc, 32);
    ferry_merlin_append(t, "public-key", pub, 32);
    challenge_scalar(t, "HDKD-scalar", d);
    uint8_t next_cc[32];
    ferry_merlin_challenge(t, "HDKD-chaincode", next_cc, sizeof next_cc);
}

ferry_err ferry_sr25519_derive_soft(struct ferry_sr25519_keypair *out,
                                    const struct ferry_sr25519_keypair *kp, const uint8_t cc[32])
{
    if (!out || !kp || !cc || sodium_init() < 0)
        return FERRY_E_ARG;
    struct ferry_merlin t;
    struct ferry_merlin_rng rng;
    uint8_t d[32], rnd[32], key[32], nonce[32];
    soft_scalar(&t, d, kp->public_key, cc);
    ferry_merlin_rng_fork(&rng, &t);
    ferry_merlin_rng_rekey(&rng, "HDKD-nonce", kp->secret + 32, 32);
    ferry_merlin_rng_rekey(&rng, "HDKD-nonce", kp->secret, 64);
    randombytes_buf(rnd, sizeof rnd);
    ferry_merlin_rng_finalize(&rng, rnd);
    ferry_merlin_rng_fill(&rng, nonce, sizeof nonce);
    crypto_core_ristretto255_scalar_add(key, kp->secret, d);
    memcpy(out->secret, key, 32); /* out may alias kp: write only after reading it */
    memcpy(out->secret + 32, nonce, 32);
    public_of(out->public_key, out->secret);
    ferry_merlin_wipe(&t);
    ferry_merlin_rng_wipe(&rng);
    sodium_memzero(d, sizeof d);
    sodium_memzero(rnd, sizeof rnd);
    sodium_memzero(key, sizeof key);
    sodium_memzero(nonce, sizeof nonce);
    return FERRY_OK;
}

ferry_err ferry_sr25519_derive_public_soft(uint8_t out[32], const uint8_t pub[32],
                                           const uint8_t cc[32])
{
    if (!out || !pub || !cc)
        return FERRY_E_ARG;
    if (!crypto_core_ristretto255_is_valid_point(pub))
        return FERRY_E_INVALID;
    struct ferry_merlin t;
    uint8_t d[32], db[32], sum[32];
    soft_scalar(&t, d, pub, cc);
    ferry_merlin_wipe(&t);
    if (crypto_scalarmult_ristretto255_base(db, d) != 0)
        memset(db, 0, sizeof db);
    if (crypto_core_ristretto255_add(sum, pub, db) != 0)
        return FERRY_E_INVALID;
    memcpy(out, sum, 32);
    return FERRY_OK;
}

void ferry_sr25519_keypair_wipe(struct ferry_sr25519_keypair *kp)
{
    if (kp)
        sodium_memzero(kp, sizeof *kp);
}
