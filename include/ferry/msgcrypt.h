/* ferry — Phala's message cryptography and ferry's encrypted envelope (docs/messages.md).
 *
 * ECDH as Phala's phala-crypto does it on sr25519 (ristretto255) keys:
 *   agree(sk, pk) = compressed( scalar(sk[0..32]) · point(pk) )   (32 bytes)
 * AES-256-GCM with a 12-byte IV and empty AAD, from libsodium or OpenSSL (never hand-written).
 *
 * Envelope (to a worker, and the worker's reply under the same shared secret):
 *   version u8 (=1) ‖ sender ephemeral sr25519 public key[32] ‖ iv[12] ‖ ciphertext ‖ tag[16]
 * The sender draws an ephemeral key pair; the key is agree(ephemeral, worker ecdh pk); the reply
 * uses the same key with a fresh IV and the same ephemeral public key, so only the sender (who
 * kept the ephemeral secret) and the worker can read it.
 */
#ifndef FERRY_MSGCRYPT_H
#define FERRY_MSGCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/sr25519.h"

#define FERRY_ENVELOPE_VERSION  1
#define FERRY_ENVELOPE_OVERHEAD (1 + 32 + 12 + 16)

/* Shared secret of secret sk (an sr25519 secret: only its scalar half is used) and public pk.
 * Returns: FERRY_OK or FERRY_E_INVALID (pk is not a valid ristretto255 point). */
FERRY_WARN_UNUSED ferry_err ferry_ecdh_agree(uint8_t out[32],
                                             const uint8_t sk[FERRY_SR25519_SECRET_LEN],
                                             const uint8_t pk[32]);

/* AES-256-GCM, empty AAD. out holds len + 16 bytes (ciphertext ‖ tag).
 * Returns: FERRY_OK or FERRY_E_UNSUPPORTED (no implementation available, with *why). */
FERRY_WARN_UNUSED ferry_err ferry_aes256gcm_seal(uint8_t *out, const uint8_t key[32],
                                                 const uint8_t iv[12], const uint8_t *msg,
                                                 size_t len, struct ferry_reason *why);
/* Returns: FERRY_OK or FERRY_E_VERIFY (tag mismatch). out holds len - 16 bytes. */
FERRY_WARN_UNUSED ferry_err ferry_aes256gcm_open(uint8_t *out, const uint8_t key[32],
                                                 const uint8_t iv[12], const uint8_t *ct,
                                                 size_t len, struct ferry_reason *why);

#endif
