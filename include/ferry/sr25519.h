/* ferry — sr25519 (schnorrkel): Substrate's default account scheme and the only one Phala's
 * runtime accepts for a worker's signed messages.
 *
 * Built on libsodium's ristretto255 group and scalar arithmetic plus the merlin transcript
 * (src/crypto/merlin.h, over STROBE-128 over Keccak-f[1600]). Keys follow schnorrkel 0.11 as
 * Substrate uses it: a 32-byte mini secret expanded with ExpansionMode::Ed25519; signatures are
 * 64 bytes with the schnorrkel marker bit; the signing context for accounts is "substrate".
 *
 * Secrets are wiped after use; nothing branches on secret data beyond libsodium's primitives.
 */
#ifndef FERRY_SR25519_H
#define FERRY_SR25519_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

#define FERRY_SR25519_PUBLIC_LEN    32
#define FERRY_SR25519_SECRET_LEN    64 /* key scalar[32] ‖ nonce[32] (schnorrkel SecretKey) */
#define FERRY_SR25519_SIGNATURE_LEN 64
#define FERRY_SR25519_CHAINCODE_LEN 32

struct ferry_sr25519_keypair {
    uint8_t secret[FERRY_SR25519_SECRET_LEN];
    uint8_t public_key[FERRY_SR25519_PUBLIC_LEN];
};

/* Expand a 32-byte mini secret (as Substrate does: ExpansionMode::Ed25519). */
void ferry_sr25519_from_mini_secret(struct ferry_sr25519_keypair *kp, const uint8_t mini[32]);

/* Sign msg[len] under the signing context ctx[ctx_len] ("substrate" for accounts) with fresh
 * randomness mixed into the nonce. Returns: FERRY_OK or FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_sr25519_sign(const struct ferry_sr25519_keypair *kp,
                                               const uint8_t *ctx, size_t ctx_len,
                                               const uint8_t *msg, size_t len,
                                               uint8_t sig[FERRY_SR25519_SIGNATURE_LEN]);

/* Returns: true when sig is a valid signature of msg under ctx by pub. */
bool ferry_sr25519_verify(const uint8_t pub[FERRY_SR25519_PUBLIC_LEN], const uint8_t *ctx,
                          size_t ctx_len, const uint8_t *msg, size_t len,
                          const uint8_t sig[FERRY_SR25519_SIGNATURE_LEN]);

/* HDKD as Substrate does it for sr25519 (out may alias kp). cc is the junction's 32-byte chain
 * code (the SCALE encoding of the junction, blake2b-256'd when longer than 32 bytes, zero-padded
 * otherwise). A soft child's nonce half is fresh randomness, as in schnorrkel: its key scalar
 * and public key are deterministic; any nonce half signs validly.
 * Returns: FERRY_OK or FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_sr25519_derive_hard(struct ferry_sr25519_keypair *out,
                                                      const struct ferry_sr25519_keypair *kp,
                                                      const uint8_t cc[32]);
FERRY_WARN_UNUSED ferry_err ferry_sr25519_derive_soft(struct ferry_sr25519_keypair *out,
                                                      const struct ferry_sr25519_keypair *kp,
                                                      const uint8_t cc[32]);
/* The mini secret a hard junction yields (what Substrate reports as the derived "secret seed"):
 * the challenge "HDKD-hard" of Transcript("SchnorrRistrettoHDKD") over the chain code and kp's
 * secret scalar. ferry_sr25519_derive_hard expands it. Returns: FERRY_OK or FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_sr25519_hard_mini_secret(uint8_t mini[32],
                                                           const struct ferry_sr25519_keypair *kp,
                                                           const uint8_t cc[32]);
/* Soft derivation from a public key alone. Returns: FERRY_OK or FERRY_E_INVALID (not a point). */
FERRY_WARN_UNUSED ferry_err ferry_sr25519_derive_public_soft(uint8_t out[32], const uint8_t pub[32],
                                                             const uint8_t cc[32]);

/* Wipe a key pair. */
void ferry_sr25519_keypair_wipe(struct ferry_sr25519_keypair *kp);

#endif
