/* ferry — Phala's message cryptography and ferry's encrypted envelope (docs/messages.md).
 *
 * ECDH as Phala's phala-crypto does it on sr25519 (ristretto255) keys:
 *   agree(sk, pk) = compressed( scalar(sk[0..32]) · point(pk) )   (32 bytes, no KDF)
 * AES-256-GCM with a 12-byte IV and empty AAD, from libsodium (when the CPU has AES-NI and
 * PCLMUL) or else OpenSSL's EVP; never hand-written. Both give the same bytes.
 *
 * Envelope (to a worker, and the worker's reply under the same shared secret):
 *   kind u8 ‖ sender ephemeral sr25519 public key[32] ‖ iv[12] ‖ ciphertext ‖ tag[16]
 * kind is FERRY_ENVELOPE_VERSION (1) for a message to a worker and FERRY_ENVELOPE_REPLY (0x81,
 * version 1 with the reply bit) for the worker's answer. The first 33 bytes (kind ‖ ephemeral
 * key) are the GCM additional data, so neither can be altered, and a request can never be
 * played back to its sender as a reply (both directions share one key).
 * The sender draws an ephemeral key pair; the key is agree(ephemeral, worker ecdh pk); the reply
 * uses the same key with a fresh random IV and the same ephemeral public key, so only the sender
 * (who kept the session) and the worker can read it.
 */
#ifndef FERRY_MSGCRYPT_H
#define FERRY_MSGCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/sr25519.h"

#define FERRY_ENVELOPE_VERSION  1
#define FERRY_ENVELOPE_REPLY    0x81
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
/* out holds len - 16 bytes.
 * Returns: FERRY_OK; FERRY_E_VERIFY (tag mismatch: out is zeroed); FERRY_E_TRUNCATED (len < 16);
 *          FERRY_E_UNSUPPORTED (no implementation available); FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_aes256gcm_open(uint8_t *out, const uint8_t key[32],
                                                 const uint8_t iv[12], const uint8_t *ct,
                                                 size_t len, struct ferry_reason *why);

/* Returns: "libsodium" or "openssl", the AES-256-GCM implementation in use, or NULL when neither
 * works here (then *why says why). */
const char *ferry_aes256gcm_backend(struct ferry_reason *why);

/* For tests and benchmarks: use only "libsodium", only "openssl", "none" (act as where neither
 * works), or NULL for the automatic choice.
 * Returns: FERRY_OK, FERRY_E_ARG (unknown name), FERRY_E_UNSUPPORTED (not usable here). */
FERRY_WARN_UNUSED ferry_err ferry_aes256gcm_force(const char *backend);

/* ---- the envelope ------------------------------------------------------------------------- */

/* What both ends of one exchange keep: the shared AES key and the sender's ephemeral public
 * key. Secret: wipe with ferry_envelope_session_wipe. */
struct ferry_envelope_session {
    uint8_t key[32];
    uint8_t ephemeral_public[32];
};

/* Sender: encrypt msg[len] to a worker's ECDH public key with a fresh ephemeral key pair.
 * Out: out[*out_len] (len + FERRY_ENVELOPE_OVERHEAD bytes; cap must allow it); *session, to
 *      read the reply with.
 * Returns: FERRY_OK; FERRY_E_ARG (NULL pointers, cap too small); FERRY_E_INVALID (worker_pk is
 *          not a ristretto255 point); FERRY_E_UNSUPPORTED (no AES-GCM here). *why says which. */
FERRY_WARN_UNUSED ferry_err ferry_envelope_seal(struct ferry_envelope_session *session,
                                                uint8_t *out, size_t cap, size_t *out_len,
                                                const uint8_t worker_pk[32], const uint8_t *msg,
                                                size_t len, struct ferry_reason *why);

/* Worker: decrypt an envelope sent to the key pair worker (its ECDH key).
 * Out: out[*out_len] (env_len - FERRY_ENVELOPE_OVERHEAD bytes; cap must allow it); *session,
 *      to answer with ferry_envelope_seal_reply. When it does not verify, out holds zeros.
 * Returns: FERRY_OK; FERRY_E_TRUNCATED (shorter than the overhead); FERRY_E_UNSUPPORTED
 *          (unknown kind/version, or no AES-GCM); FERRY_E_INVALID (ephemeral key not a point);
 *          FERRY_E_VERIFY (authentication failed: altered, or not for this key); FERRY_E_ARG. */
FERRY_WARN_UNUSED ferry_err ferry_envelope_open(struct ferry_envelope_session *session,
                                                uint8_t *out, size_t cap, size_t *out_len,
                                                const struct ferry_sr25519_keypair *worker,
                                                const uint8_t *env, size_t env_len,
                                                struct ferry_reason *why);

/* Worker: encrypt the answer msg[len] under session with a fresh IV. Out/Returns: as seal. */
FERRY_WARN_UNUSED ferry_err ferry_envelope_seal_reply(const struct ferry_envelope_session *session,
                                                      uint8_t *out, size_t cap, size_t *out_len,
                                                      const uint8_t *msg, size_t len,
                                                      struct ferry_reason *why);

/* Sender: decrypt the worker's answer. Also refuses (FERRY_E_VERIFY) a reply naming another
 * ephemeral key. Out/Returns: as ferry_envelope_open. */
FERRY_WARN_UNUSED ferry_err ferry_envelope_open_reply(const struct ferry_envelope_session *session,
                                                      uint8_t *out, size_t cap, size_t *out_len,
                                                      const uint8_t *env, size_t env_len,
                                                      struct ferry_reason *why);

void ferry_envelope_session_wipe(struct ferry_envelope_session *session);

#endif
