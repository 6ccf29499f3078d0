/* sr25519 sign/verify per second next to libsodium's ed25519 in the same run, plus ECDH and the
 * envelope. The aim: an sr25519 verification costs at most 2x an ed25519 one (schnorrkel
 * verifies with about two scalar multiplications; libsodium's ed25519 uses one double-scalar
 * multiplication). */
#include <sodium.h>
#include <string.h>

#include "bench.h"
#include "ferry/msgcrypt.h"
#include "ferry/sr25519.h"

static volatile int sink;

/* Run body until at least min_s seconds have passed; returns operations per second. */
#define RATE(min_s, body)                                                                          \
    ({                                                                                             \
        long n_ = 0;                                                                               \
        double t0_ = bench_now(), dt_;                                                             \
        do {                                                                                       \
            for (int i_ = 0; i_ < 64; i_++) {                                                      \
                body;                                                                              \
            }                                                                                      \
            n_ += 64;                                                                              \
        } while ((dt_ = bench_now() - t0_) < (min_s));                                             \
        (double)n_ / dt_;                                                                          \
    })

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const double secs = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 1.0;
    uint8_t mini[32], msg[128], sig[64], esig[64], epk[32], esk[64], shared[32];
    randombytes_buf(mini, sizeof mini);
    randombytes_buf(msg, sizeof msg);
    struct ferry_sr25519_keypair kp, peer;
    ferry_sr25519_from_mini_secret(&kp, mini);
    randombytes_buf(mini, sizeof mini);
    ferry_sr25519_from_mini_secret(&peer, mini);
    crypto_sign_seed_keypair(epk, esk, mini);
    static const uint8_t ctx[] = "substrate";

    double ed_sign = RATE(secs, crypto_sign_detached(esig, NULL, msg, sizeof msg, esk));
    double ed_verify = RATE(secs, sink += crypto_sign_verify_detached(esig, msg, sizeof msg, epk));
    double sr_sign = RATE(secs, sink += ferry_sr25519_sign(&kp, ctx, 9, msg, sizeof msg, sig));
    double sr_verify =
        RATE(secs, sink += ferry_sr25519_verify(kp.public_key, ctx, 9, msg, sizeof msg, sig));
    if (!ferry_sr25519_verify(kp.public_key, ctx, 9, msg, sizeof msg, sig)) {
        fprintf(stderr, "bench_sr25519: own signature does not verify\n");
        return 1;
    }
    double keygen = RATE(secs, ferry_sr25519_from_mini_secret(&peer, mini));
    double ecdh = RATE(secs, sink += ferry_ecdh_agree(shared, kp.secret, peer.public_key));
    uint8_t env[1024 + FERRY_ENVELOPE_OVERHEAD], out[1024];
    size_t en = 0, n = 0;
    struct ferry_envelope_session s, ws;
    double seal = RATE(secs, sink += ferry_envelope_seal(&s, env, sizeof env, &en, peer.public_key,
                                                         out, 1024, NULL));
    double open =
        RATE(secs, sink += ferry_envelope_open(&ws, out, sizeof out, &n, &peer, env, en, NULL));

    printf("ed25519_sign (libsodium): %.0f sign/s\n", ed_sign);
    printf("ed25519_verify (libsodium): %.0f verify/s\n", ed_verify);
    printf("sr25519_sign: %.0f sign/s (%.2fx ed25519's time)\n", sr_sign, ed_sign / sr_sign);
    printf("sr25519_verify: %.0f verify/s (%.2fx ed25519's time; aim <= 2x)\n", sr_verify,
           ed_verify / sr_verify);
    printf("sr25519_keypair_from_mini_secret: %.0f /s\n", keygen);
    printf("ecdh_agree: %.0f /s\n", ecdh);
    printf("envelope_seal_1KiB (%s): %.0f /s\n", ferry_aes256gcm_backend(NULL), seal);
    printf("envelope_open_1KiB: %.0f /s\n", open);
    ferry_sr25519_keypair_wipe(&kp);
    return 0;
}
