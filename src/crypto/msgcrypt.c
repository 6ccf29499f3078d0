/* Phala's message cryptography (ECDH on ristretto255, AES-256-GCM) and ferry's envelope.
 *
 * AES-256-GCM comes from libsodium when the CPU has AES-NI and PCLMUL (its implementation is
 * small, audited and constant-time, but exists only for that hardware), and from OpenSSL's EVP
 * otherwise (which uses the same instructions when present and constant-time bit-sliced/vector
 * code where not). Where neither can run, every call fails with FERRY_E_UNSUPPORTED and a
 * reason. docs/messages.md has the full argument. */
#include "ferry/msgcrypt.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

enum backend { BACKEND_AUTO, BACKEND_SODIUM, BACKEND_OPENSSL, BACKEND_NONE };
static enum backend forced = BACKEND_AUTO;

static bool sodium_ok(void)
{
    return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
}

/* Is OpenSSL's AES-256-GCM usable (a restricted provider configuration can remove it)? */
static bool openssl_ok(void)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    static const uint8_t k[32], iv[12];
    bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k, iv) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static enum backend pick(struct ferry_reason *why)
{
    if (forced == BACKEND_SODIUM && sodium_ok())
        return BACKEND_SODIUM;
    if (forced == BACKEND_OPENSSL && openssl_ok())
        return BACKEND_OPENSSL;
    if (forced == BACKEND_AUTO && sodium_ok())
        return BACKEND_SODIUM;
    if (forced == BACKEND_AUTO && openssl_ok())
        return BACKEND_OPENSSL;
    ferry_reason_set(why, FERRY_E_UNSUPPORTED,
                     "AES-256-GCM unavailable: libsodium needs a CPU with AES-NI and PCLMUL, and "
                     "OpenSSL's EVP refused aes-256-gcm (check the OpenSSL provider config)");
    return BACKEND_AUTO;
}

const char *ferry_aes256gcm_backend(struct ferry_reason *why)
{
    switch (pick(why)) {
    case BACKEND_SODIUM:
        return "libsodium";
    case BACKEND_OPENSSL:
        return "openssl";
    default:
        return NULL;
    }
}

ferry_err ferry_aes256gcm_force(const char *name)
{
    if (!name) {
        forced = BACKEND_AUTO;
        return FERRY_OK;
    }
    if (strcmp(name, "libsodium") == 0) {
        if (!sodium_ok())
            return FERRY_E_UNSUPPORTED;
        forced = BACKEND_SODIUM;
        return FERRY_OK;
    }
    if (strcmp(name, "openssl") == 0) {
        if (!openssl_ok())
            return FERRY_E_UNSUPPORTED;
        forced = BACKEND_OPENSSL;
        return FERRY_OK;
    }
    if (strcmp(name, "none") == 0) { /* tests: behave as on a machine where neither works */
        forced = BACKEND_NONE;
        return FERRY_OK;
    }
    return FERRY_E_ARG;
}

/* OpenSSL: one seal or open with additional data aad[alen]. */
static ferry_err evp_gcm(bool enc, uint8_t *out, const uint8_t key[32], const uint8_t iv[12],
                         const uint8_t *aad, size_t alen, const uint8_t *in, size_t len,
                         const uint8_t *tag_in, uint8_t *tag_out, struct ferry_reason *why)
{
    if (len > INT32_MAX || alen > INT32_MAX)
        return ferry_reason_set(why, FERRY_E_TOO_LARGE, "AES-GCM input larger than 2 GiB");
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return ferry_reason_set(why, FERRY_E_NOMEM, "AES-GCM: no OpenSSL context");
    ferry_err err = FERRY_OK;
    int n = 0;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1 ||
        (alen && EVP_CipherUpdate(c, NULL, &n, aad, (int)alen) != 1) ||
        (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)) {
        err = ferry_reason_set(why, FERRY_E_UNSUPPORTED, "OpenSSL AES-256-GCM failed");
        goto done;
    }
    if (enc) {
        if (EVP_CipherFinal_ex(c, out + n, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag_out) != 1)
            err = ferry_reason_set(why, FERRY_E_UNSUPPORTED, "OpenSSL AES-256-GCM failed");
    } else {
        if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag_in) != 1 ||
            EVP_CipherFinal_ex(c, out + n, &n) != 1)
            err = ferry_reason_set(why, FERRY_E_VERIFY, "AES-GCM authentication failed");
    }
done:
    EVP_CIPHER_CTX_free(c);
    return err;
}

/* Seal msg[len] into out[len + 16] (ciphertext ‖ tag). */
static ferry_err gcm_seal(uint8_t *out, const uint8_t key[32], const uint8_t iv[12],
                          const uint8_t *aad, size_t alen, const uint8_t *msg, size_t len,
                          struct ferry_reason *why)
{
    switch (pick(why)) {
    case BACKEND_SODIUM: {
        unsigned long long clen;
        crypto_aead_aes256gcm_encrypt(out, &clen, msg, len, aad, alen, NULL, iv, key);
        return FERRY_OK;
    }
    case BACKEND_OPENSSL:
        return evp_gcm(true, out, key, iv, aad, alen, msg, len, NULL, out + len, why);
    default:
        return FERRY_E_UNSUPPORTED;
    }
}

/* Open ct[len] (ciphertext ‖ tag, len >= 16) into out[len - 16]. On failure out is zeroed. */
static ferry_err gcm_open(uint8_t *out, const uint8_t key[32], const uint8_t iv[12],
                          const uint8_t *aad, size_t alen, const uint8_t *ct, size_t len,
                          struct ferry_reason *why)
{
    if (len < 16)
        return ferry_reason_set(why, FERRY_E_TRUNCATED,
                                "AES-GCM ciphertext of %zu bytes is shorter than its 16-byte tag",
                                len);
    ferry_err err;
    switch (pick(why)) {
    case BACKEND_SODIUM: {
        unsigned long long mlen;
        err = crypto_aead_aes256gcm_decrypt(out, &mlen, NULL, ct, len, aad, alen, iv, key) == 0
                  ? FERRY_OK
                  : ferry_reason_set(why, FERRY_E_VERIFY, "AES-GCM authentication failed");
        break;
    }
    case BACKEND_OPENSSL:
        err = evp_gcm(false, out, key, iv, aad, alen, ct, len - 16, ct + len - 16, NULL, why);
        break;
    default:
        return FERRY_E_UNSUPPORTED;
    }
    if (err && len > 16)
        sodium_memzero(out, len - 16);
    return err;
}

ferry_err ferry_aes256gcm_seal(uint8_t *out, const uint8_t key[32], const uint8_t iv[12],
                               const uint8_t *msg, size_t len, struct ferry_reason *why)
{
    if (!out || !key || !iv || (!msg && len))
        return ferry_reason_set(why, FERRY_E_ARG, "AES-GCM: NULL argument");
    return gcm_seal(out, key, iv, NULL, 0, msg, len, why);
}

ferry_err ferry_aes256gcm_open(uint8_t *out, const uint8_t key[32], const uint8_t iv[12],
                               const uint8_t *ct, size_t len, struct ferry_reason *why)
{
    if (!key || !iv || !ct || (!out && len > 16))
        return ferry_reason_set(why, FERRY_E_ARG, "AES-GCM: NULL argument");
    return gcm_open(out, key, iv, NULL, 0, ct, len, why);
}

ferry_err ferry_ecdh_agree(uint8_t out[32], const uint8_t sk[FERRY_SR25519_SECRET_LEN],
                           const uint8_t pk[32])
{
    if (!out || !sk || !pk)
        return FERRY_E_ARG;
    uint8_t q[32];
    /* Fails for a non-point and for an identity result (pk the identity): both refused. */
    if (crypto_scalarmult_ristretto255(q, sk, pk) != 0) {
        sodium_memzero(q, sizeof q);
        return FERRY_E_INVALID;
    }
    memcpy(out, q, 32);
    sodium_memzero(q, sizeof q);
    return FERRY_OK;
}

/* ---- envelope ---------------------------------------------------------------------------- */

#define HDR_LEN 33 /* kind ‖ ephemeral public key: the additional data */

static ferry_err env_seal(uint8_t *out, size_t cap, size_t *out_len, uint8_t kind,
                          const uint8_t key[32], const uint8_t eph[32], const uint8_t *msg,
                          size_t len, struct ferry_reason *why)
{
    if (!out || !out_len || (!msg && len))
        return ferry_reason_set(why, FERRY_E_ARG, "envelope: NULL argument");
    if (len > SIZE_MAX - FERRY_ENVELOPE_OVERHEAD || cap < len + FERRY_ENVELOPE_OVERHEAD)
        return ferry_reason_set(why, FERRY_E_ARG,
                                "envelope: output buffer of %zu bytes cannot hold %zu + %d", cap,
                                len, FERRY_ENVELOPE_OVERHEAD);
    out[0] = kind;
    memcpy(out + 1, eph, 32);
    randombytes_buf(out + HDR_LEN, 12);
    ferry_err err = gcm_seal(out + HDR_LEN + 12, key, out + HDR_LEN, out, HDR_LEN, msg, len, why);
    if (err)
        return err;
    *out_len = len + FERRY_ENVELOPE_OVERHEAD;
    return FERRY_OK;
}

/* Check the framing of env and the kind; the ciphertext's length is then env_len - overhead. */
static ferry_err env_check(const uint8_t *env, size_t env_len, uint8_t kind, uint8_t *out,
                           size_t cap, struct ferry_reason *why)
{
    if (!env && env_len)
        return ferry_reason_set(why, FERRY_E_ARG, "envelope: NULL argument");
    if (env_len < FERRY_ENVELOPE_OVERHEAD)
        return ferry_reason_set(why, FERRY_E_TRUNCATED,
                                "envelope of %zu bytes is shorter than its %d-byte overhead "
                                "(kind, ephemeral key, IV, tag)",
                                env_len, FERRY_ENVELOPE_OVERHEAD);
    if (env[0] != kind) {
        if ((env[0] & 0x7f) != FERRY_ENVELOPE_VERSION)
            return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "envelope version %u unknown",
                                    env[0] & 0x7f);
        return ferry_reason_set(why, FERRY_E_UNSUPPORTED, "envelope is a %s where a %s is expected",
                                env[0] & 0x80 ? "reply" : "request",
                                kind & 0x80 ? "reply" : "request");
    }
    size_t len = env_len - FERRY_ENVELOPE_OVERHEAD;
    if ((!out && len) || cap < len)
        return ferry_reason_set(why, FERRY_E_ARG,
                                "envelope: output buffer of %zu bytes cannot hold %zu", cap, len);
    return FERRY_OK;
}

ferry_err ferry_envelope_seal(struct ferry_envelope_session *session, uint8_t *out, size_t cap,
                              size_t *out_len, const uint8_t worker_pk[32], const uint8_t *msg,
                              size_t len, struct ferry_reason *why)
{
    if (!session || !worker_pk)
        return ferry_reason_set(why, FERRY_E_ARG, "envelope: NULL argument");
    struct ferry_sr25519_keypair eph;
    uint8_t mini[32];
    randombytes_buf(mini, sizeof mini);
    ferry_sr25519_from_mini_secret(&eph, mini);
    sodium_memzero(mini, sizeof mini);
    ferry_err err = ferry_ecdh_agree(session->key, eph.secret, worker_pk);
    memcpy(session->ephemeral_public, eph.public_key, 32);
    ferry_sr25519_keypair_wipe(&eph);
    if (err) {
        ferry_envelope_session_wipe(session);
        return ferry_reason_set(why, err,
                                "envelope: the worker's key is not a valid ristretto255 "
                                "point");
    }
    err = env_seal(out, cap, out_len, FERRY_ENVELOPE_VERSION, session->key,
                   session->ephemeral_public, msg, len, why);
    if (err)
        ferry_envelope_session_wipe(session);
    return err;
}

ferry_err ferry_envelope_open(struct ferry_envelope_session *session, uint8_t *out, size_t cap,
                              size_t *out_len, const struct ferry_sr25519_keypair *worker,
                              const uint8_t *env, size_t env_len, struct ferry_reason *why)
{
    if (!session || !worker || !out_len)
        return ferry_reason_set(why, FERRY_E_ARG, "envelope: NULL argument");
    ferry_err err = env_check(env, env_len, FERRY_ENVELOPE_VERSION, out, cap, why);
    if (err)
        return err;
    struct ferry_envelope_session s;
    memcpy(s.ephemeral_public, env + 1, 32);
    if (ferry_ecdh_agree(s.key, worker->secret, s.ephemeral_public) != FERRY_OK) {
        ferry_envelope_session_wipe(&s);
        return ferry_reason_set(why, FERRY_E_INVALID,
                                "envelope: the ephemeral key is not a valid ristretto255 point");
    }
    err = gcm_open(out, s.key, env + HDR_LEN, env, HDR_LEN, env + HDR_LEN + 12,
                   env_len - HDR_LEN - 12, why);
    if (!err) {
        *session = s;
        *out_len = env_len - FERRY_ENVELOPE_OVERHEAD;
    }
    ferry_envelope_session_wipe(&s);
    return err;
}

ferry_err ferry_envelope_seal_reply(const struct ferry_envelope_session *session, uint8_t *out,
                                    size_t cap, size_t *out_len, const uint8_t *msg, size_t len,
                                    struct ferry_reason *why)
{
    if (!session)
        return ferry_reason_set(why, FERRY_E_ARG, "envelope: NULL argument");
    return env_seal(out, cap, out_len, FERRY_ENVELOPE_REPLY, session->key,
                    session->ephemeral_public, msg, len, why);
}

ferry_err ferry_envelope_open_reply(const struct ferry_envelope_session *session, uint8_t *out,
                                    size_t cap, size_t *out_len, const uint8_t *env, size_t env_len,
                                    struct ferry_reason *why)
{
    if (!session || !out_len)
        return ferry_reason_set(why, FERRY_E_ARG, "envelope: NULL argument");
    ferry_err err = env_check(env, env_len, FERRY_ENVELOPE_REPLY, out, cap, why);
    if (err)
        return err;
    if (sodium_memcmp(env + 1, session->ephemeral_public, 32) != 0)
        return ferry_reason_set(why, FERRY_E_VERIFY,
                                "envelope: the reply names another exchange's ephemeral key");
    err = gcm_open(out, session->key, env + HDR_LEN, env, HDR_LEN, env + HDR_LEN + 12,
                   env_len - HDR_LEN - 12, why);
    if (!err)
        *out_len = env_len - FERRY_ENVELOPE_OVERHEAD;
    return err;
}

void ferry_envelope_session_wipe(struct ferry_envelope_session *session)
{
    if (session)
        sodium_memzero(session, sizeof *session);
}
