/* sr25519 sign/verify per second next to libsodium's ed25519 in the same run, plus key
 * expansion, ECDH and the envelope. The aim: an sr25519 verification costs at most 2x an
 * ed25519 one (schnorrkel verifies with about two scalar multiplications; libsodium's ed25519
 * uses one double-scalar multiplication).
 *
 * The build machine is shared, so the operations are measured interleaved, in rounds of short
 * batches, and each figure is the fastest batch seen: load then slows both sides alike instead of
 * whichever happened to run while another job was busy. BENCH_ROUNDS (default 20) sets the
 * number of rounds. */
#include <sodium.h>
#include <string.h>

#include "bench.h"
#include "ferry/msgcrypt.h"
#include "ferry/sr25519.h"

#define BATCH 64

static volatile int sink;

enum op { ED_SIGN, ED_VERIFY, SR_SIGN, SR_VERIFY, SR_KEYGEN, ECDH, SEAL, OPEN, N_OPS };
static const char *const names[N_OPS] = {
    "ed25519_sign (libsodium)",
    "ed25519_verify (libsodium)",
    "sr25519_sign",
    "sr25519_verify",
    "sr25519_keypair_from_mini_secret",
    "ecdh_agree",
    "envelope_seal_1KiB",
    "envelope_open_1KiB",
};

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    int rounds = getenv("BENCH_ROUNDS") ? atoi(getenv("BENCH_ROUNDS")) : 20;
    if (rounds < 1)
        rounds = 1;
    uint8_t mini[32], msg[128], sig[64], esig[64], epk[32], esk[64], shared[32];
    randombytes_buf(mini, sizeof mini);
    randombytes_buf(msg, sizeof msg);
    struct ferry_sr25519_keypair kp, peer, tmp;
    ferry_sr25519_from_mini_secret(&kp, mini);
    randombytes_buf(mini, sizeof mini);
    ferry_sr25519_from_mini_secret(&peer, mini);
    crypto_sign_seed_keypair(epk, esk, mini);
    static const uint8_t ctx[] = "substrate";
    crypto_sign_detached(esig, NULL, msg, sizeof msg, esk);
    if (ferry_sr25519_sign(&kp, ctx, 9, msg, sizeof msg, sig) != FERRY_OK ||
        !ferry_sr25519_verify(kp.public_key, ctx, 9, msg, sizeof msg, sig)) {
        fprintf(stderr, "bench_sr25519: own signature does not verify\n");
        return 1;
    }
    uint8_t env[1024 + FERRY_ENVELOPE_OVERHEAD], out[1024] = {0};
    size_t en = 0, n = 0;
    struct ferry_envelope_session s, ws;
    if (ferry_envelope_seal(&s, env, sizeof env, &en, peer.public_key, out, 1024, NULL)) {
        fprintf(stderr, "bench_sr25519: envelope_seal failed\n");
        return 1;
    }

    double best[N_OPS];
    for (int o = 0; o < N_OPS; o++)
        best[o] = 1e9;
    for (int r = 0; r < rounds; r++) {
        for (int o = 0; o < N_OPS; o++) {
            double t0 = bench_now();
            for (int i = 0; i < BATCH; i++) {
                switch (o) {
                case ED_SIGN:
                    crypto_sign_detached(esig, NULL, msg, sizeof msg, esk);
                    break;
                case ED_VERIFY:
                    sink += crypto_sign_verify_detached(esig, msg, sizeof msg, epk);
                    break;
                case SR_SIGN:
                    sink += ferry_sr25519_sign(&kp, ctx, 9, msg, sizeof msg, sig);
                    break;
                case SR_VERIFY:
                    sink += ferry_sr25519_verify(kp.public_key, ctx, 9, msg, sizeof msg, sig);
                    break;
                case SR_KEYGEN:
                    ferry_sr25519_from_mini_secret(&tmp, mini);
                    break;
                case ECDH:
                    sink += ferry_ecdh_agree(shared, kp.secret, peer.public_key);
                    break;
                case SEAL:
                    sink += ferry_envelope_seal(&s, env, sizeof env, &en, peer.public_key, out,
                                                1024, NULL);
                    break;
                case OPEN:
                    sink += ferry_envelope_open(&ws, out, sizeof out, &n, &peer, env, en, NULL);
                    break;
                }
            }
            double dt = (bench_now() - t0) / BATCH;
            if (dt < best[o])
                best[o] = dt;
        }
    }
    for (int o = 0; o < N_OPS; o++) {
        printf("%s: %.0f /s", names[o], 1.0 / best[o]);
        if (o == SR_SIGN)
            printf(" (%.2fx ed25519 sign's time)", best[SR_SIGN] / best[ED_SIGN]);
        if (o == SR_VERIFY)
            printf(" (%.2fx ed25519 verify's time; aim <= 2x)", best[SR_VERIFY] / best[ED_VERIFY]);
        if (o == SEAL)
            printf(" (AES-GCM: %s)", ferry_aes256gcm_backend(NULL));
        printf("\n");
    }
    ferry_sr25519_keypair_wipe(&kp);
    ferry_sr25519_keypair_wipe(&peer);
    ferry_sr25519_keypair_wipe(&tmp);
    ferry_envelope_session_wipe(&s);
    ferry_envelope_session_wipe(&ws);
    return 0;
}
