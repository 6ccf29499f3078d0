/* Phala's message cryptography and ferry's envelope (msgcrypt.h):
 *   AES-256-GCM  the GCM specification's AES-256 test cases 13-15 (McGrew & Viega, "The Galois/
 *                Counter Mode of Operation", empty AAD) on every backend usable here, and the
 *                two backends byte-equal on random inputs;
 *   ECDH         agree(a, B) == agree(b, A); non-points and the identity refused;
 *   envelope     round trip both ways, every flipped bit refused, every truncation refused with
 *                a reason, request/reply confusion and wrong recipients refused. */
#include <sodium.h>
#include <string.h>

#include "ferry/msgcrypt.h"
#include "testutil.h"

static const char *const backends[] = {"libsodium", "openssl"};

START_TEST(gcm_spec_test_cases)
{
    uint8_t key[32], iv[12], pt[64], out[64 + 16], back[64];
    struct ferry_reason why;
    int tried = 0;
    for (size_t b = 0; b < 2; b++) {
        if (ferry_aes256gcm_force(backends[b]) != FERRY_OK)
            continue;
        tried++;
        /* Test case 13: zero key, zero IV, empty plaintext. */
        memset(key, 0, 32);
        memset(iv, 0, 12);
        ck_assert_int_eq(ferry_aes256gcm_seal(out, key, iv, NULL, 0, &why), 0);
        ck_assert_str_eq(tu_tohex(out, 16), "0x530f8afbc74536b9a963b4f1c4cb738b");
        /* Test case 14: one zero block. */
        memset(pt, 0, 16);
        ck_assert_int_eq(ferry_aes256gcm_seal(out, key, iv, pt, 16, &why), 0);
        ck_assert_str_eq(tu_tohex(out, 32), "0xcea7403d4d606b6e074ec5d3baf39d18"
                                            "d0d1c8a799996bf0265b98b5d48ab919");
        /* Test case 15. */
        tu_hex_exact("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
        tu_hex_exact("cafebabefacedbaddecaf888", iv, 12);
        tu_hex_exact("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
                     pt, 64);
        ck_assert_int_eq(ferry_aes256gcm_seal(out, key, iv, pt, 64, &why), 0);
        ck_assert_str_eq(tu_tohex(out, 80),
                         "0x522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                         "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
                         "b094dac5d93471bdec1a502270e3cc6c");
        ck_assert_int_eq(ferry_aes256gcm_open(back, key, iv, out, 80, &why), 0);
        ck_assert_mem_eq(back, pt, 64);
        out[79] ^= 1;
        why.text[0] = 0;
        ck_assert_int_eq(ferry_aes256gcm_open(back, key, iv, out, 80, &why), FERRY_E_VERIFY);
        ck_assert(why.text[0] != 0);
        static const uint8_t zeros[64];
        ck_assert_mem_eq(back, zeros, 64); /* no unauthenticated plaintext is left behind */
        ck_assert_int_eq(ferry_aes256gcm_open(back, key, iv, out, 15, &why), FERRY_E_TRUNCATED);
    }
    ck_assert_int_eq(ferry_aes256gcm_force(NULL), 0);
    ck_assert_int_ge(tried, 1);
    ck_assert_int_eq(ferry_aes256gcm_force("rot13"), FERRY_E_ARG);

    /* Where neither library works, every call says so, with the reason. */
    ck_assert_int_eq(ferry_aes256gcm_force("none"), 0);
    why.text[0] = 0;
    ck_assert_ptr_null(ferry_aes256gcm_backend(&why));
    ck_assert_ptr_nonnull(strstr(why.text, "AES-NI"));
    why.text[0] = 0;
    ck_assert_int_eq(ferry_aes256gcm_seal(out, key, iv, pt, 16, &why), FERRY_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why.text, "AES-256-GCM unavailable"));
    ck_assert_int_eq(ferry_aes256gcm_open(back, key, iv, out, 32, &why), FERRY_E_UNSUPPORTED);
    struct ferry_sr25519_keypair w;
    uint8_t mini[32] = {3}, env[64];
    size_t en;
    struct ferry_envelope_session s;
    ferry_sr25519_from_mini_secret(&w, mini);
    why.text[0] = 0;
    ck_assert_int_eq(ferry_envelope_seal(&s, env, sizeof env, &en, w.public_key, pt, 3, &why),
                     FERRY_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why.text, "AES-256-GCM unavailable"));
    ck_assert_int_eq(ferry_aes256gcm_force(NULL), 0);
    ck_assert_ptr_nonnull(ferry_aes256gcm_backend(NULL));
}
END_TEST

START_TEST(gcm_backends_agree)
{
    if (ferry_aes256gcm_force("libsodium") != FERRY_OK || ferry_aes256gcm_force("openssl") != 0) {
        ck_assert_int_eq(ferry_aes256gcm_force(NULL), 0);
        return; /* only one backend here: nothing to compare */
    }
    uint8_t key[32], iv[12], pt[300], a[316], b[316];
    for (size_t len = 0; len <= sizeof pt; len += 13) {
        randombytes_buf(key, 32);
        randombytes_buf(iv, 12);
        randombytes_buf(pt, len);
        ck_assert_int_eq(ferry_aes256gcm_force("libsodium"), 0);
        ck_assert_int_eq(ferry_aes256gcm_seal(a, key, iv, pt, len, NULL), 0);
        ck_assert_int_eq(ferry_aes256gcm_force("openssl"), 0);
        ck_assert_int_eq(ferry_aes256gcm_seal(b, key, iv, pt, len, NULL), 0);
        ck_assert_mem_eq(a, b, len + 16);
    }
    ck_assert_int_eq(ferry_aes256gcm_force(NULL), 0);
    ck_assert_ptr_nonnull(ferry_aes256gcm_backend(NULL));
}
END_TEST

START_TEST(ecdh_is_symmetric)
{
    for (int i = 0; i < 50; i++) {
        uint8_t ma[32], mb[32], s1[32], s2[32];
        randombytes_buf(ma, 32);
        randombytes_buf(mb, 32);
        struct ferry_sr25519_keypair a, b;
        ferry_sr25519_from_mini_secret(&a, ma);
        ferry_sr25519_from_mini_secret(&b, mb);
        ck_assert_int_eq(ferry_ecdh_agree(s1, a.secret, b.public_key), 0);
        ck_assert_int_eq(ferry_ecdh_agree(s2, b.secret, a.public_key), 0);
        ck_assert_mem_eq(s1, s2, 32);
    }
    uint8_t bad[32], zero[32] = {0}, out[32], sk[64] = {1};
    memset(bad, 0xff, 32);
    ck_assert_int_eq(ferry_ecdh_agree(out, sk, bad), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_ecdh_agree(out, sk, zero), FERRY_E_INVALID);
}
END_TEST

static void worker_key(struct ferry_sr25519_keypair *w, uint8_t tag)
{
    uint8_t mini[32];
    memset(mini, tag, 32);
    ferry_sr25519_from_mini_secret(w, mini);
}

START_TEST(envelope_round_trip_and_tampering)
{
    struct ferry_sr25519_keypair w, other;
    worker_key(&w, 1);
    worker_key(&other, 2);
    const char *msg = "transfer 10 PHA to the cluster";
    size_t len = strlen(msg);
    uint8_t env[128], ans[128], out[128];
    size_t en, an, n;
    struct ferry_envelope_session s, ws;
    struct ferry_reason why;
    ck_assert_int_eq(ferry_envelope_seal(&s, env, sizeof env, &en, w.public_key,
                                         (const uint8_t *)msg, len, &why),
                     0);
    ck_assert_uint_eq(en, len + FERRY_ENVELOPE_OVERHEAD);
    ck_assert_uint_eq(env[0], FERRY_ENVELOPE_VERSION);
    ck_assert_int_eq(ferry_envelope_open(&ws, out, sizeof out, &n, &w, env, en, &why), 0);
    ck_assert_uint_eq(n, len);
    ck_assert_mem_eq(out, msg, len);
    ck_assert_mem_eq(ws.key, s.key, 32);

    /* The reply: same key, fresh IV, readable by the sender only. */
    const char *reply = "done";
    ck_assert_int_eq(
        ferry_envelope_seal_reply(&ws, ans, sizeof ans, &an, (const uint8_t *)reply, 4, &why), 0);
    ck_assert_uint_eq(ans[0], FERRY_ENVELOPE_REPLY);
    ck_assert(memcmp(ans + 33, env + 33, 12) != 0);
    ck_assert_int_eq(ferry_envelope_open_reply(&s, out, sizeof out, &n, ans, an, &why), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(out, reply, 4);

    /* Another worker cannot open it; a request is not a reply and vice versa. */
    ck_assert_int_eq(ferry_envelope_open(&ws, out, sizeof out, &n, &other, env, en, &why),
                     FERRY_E_VERIFY);
    ck_assert_int_eq(ferry_envelope_open_reply(&s, out, sizeof out, &n, env, en, &why),
                     FERRY_E_UNSUPPORTED);
    ck_assert_int_eq(ferry_envelope_open(&ws, out, sizeof out, &n, &w, ans, an, &why),
                     FERRY_E_UNSUPPORTED);
    /* A reply from another exchange is refused. */
    struct ferry_envelope_session s2;
    uint8_t env2[128];
    size_t en2;
    ck_assert_int_eq(ferry_envelope_seal(&s2, env2, sizeof env2, &en2, w.public_key,
                                         (const uint8_t *)msg, len, &why),
                     0);
    ck_assert_int_eq(ferry_envelope_open_reply(&s2, out, sizeof out, &n, ans, an, &why),
                     FERRY_E_VERIFY);

    /* Every flipped bit anywhere, in both directions, is refused with a reason. */
    for (size_t bit = 0; bit < 8 * en; bit++) {
        env[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        why.text[0] = 0;
        ck_assert_msg(ferry_envelope_open(&ws, out, sizeof out, &n, &w, env, en, &why) != 0,
                      "bit %zu", bit);
        ck_assert(why.text[0] != 0);
        env[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 8 * an; bit++) {
        ans[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_msg(ferry_envelope_open_reply(&s, out, sizeof out, &n, ans, an, &why) != 0,
                      "bit %zu", bit);
        ans[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Every truncation is refused with a reason; below the overhead it says so. */
    for (size_t cut = 0; cut < en; cut++) {
        why.text[0] = 0;
        ferry_err err = ferry_envelope_open(&ws, out, sizeof out, &n, &w, env, cut, &why);
        ck_assert_int_eq(err, cut < FERRY_ENVELOPE_OVERHEAD ? FERRY_E_TRUNCATED : FERRY_E_VERIFY);
        ck_assert(why.text[0] != 0);
    }
    ck_assert_int_eq(ferry_envelope_open(&ws, out, sizeof out, &n, &w, env, 10, &why),
                     FERRY_E_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(why.text, "shorter"));
    /* Unknown version; output buffer too small. */
    env[0] = 2;
    ck_assert_int_eq(ferry_envelope_open(&ws, out, sizeof out, &n, &w, env, en, &why),
                     FERRY_E_UNSUPPORTED);
    env[0] = FERRY_ENVELOPE_VERSION;
    ck_assert_int_eq(ferry_envelope_open(&ws, out, len - 1, &n, &w, env, en, &why), FERRY_E_ARG);
    ck_assert_int_eq(ferry_envelope_seal(&s2, env2, len + FERRY_ENVELOPE_OVERHEAD - 1, &en2,
                                         w.public_key, (const uint8_t *)msg, len, &why),
                     FERRY_E_ARG);
    /* An empty message works. */
    ck_assert_int_eq(ferry_envelope_seal(&s2, env2, sizeof env2, &en2, w.public_key, NULL, 0, &why),
                     0);
    ck_assert_int_eq(ferry_envelope_open(&ws, NULL, 0, &n, &w, env2, en2, &why), 0);
    ck_assert_uint_eq(n, 0);
    /* The worker's key must be a point. */
    uint8_t bad[32];
    memset(bad, 0xff, 32);
    ck_assert_int_eq(ferry_envelope_seal(&s2, env2, sizeof env2, &en2, bad, NULL, 0, &why),
                     FERRY_E_INVALID);
    ferry_envelope_session_wipe(&s);
    ferry_envelope_session_wipe(&ws);
}
END_TEST

Suite *msgcrypt_suite(void)
{
    Suite *s = suite_create("msgcrypt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, gcm_spec_test_cases);
    tcase_add_test(tc, gcm_backends_agree);
    tcase_add_test(tc, ecdh_is_symmetric);
    tcase_add_test(tc, envelope_round_trip_and_tampering);
    suite_add_tcase(s, tc);
    return s;
}
