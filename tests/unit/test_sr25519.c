/* sr25519 and the pieces under it, each against its own published vectors:
 *   Keccak-f[1600]  the Keccak team's intermediate values (XKCP KeccakF-1600-IntermediateValues:
 *                   the zero state permuted once, lane 0 after twice) and SHA3-256 built on it
 *                   against OpenSSL's SHA3-256 over lengths straddling the rate;
 *   STROBE-128      merlin's strobe conformance test (vs strobe-rs), as published by ports;
 *   merlin          merlin's equivalence_simple and complex transcript vectors;
 *   sr25519         subkey's dev accounts //Alice..//Ferdie (public keys and SS58), the
 *                   mini secret of //Alice, sp_core's seed->public test vector, and sign/verify
 *                   behaviour (marker bit, non-canonical s, altered inputs, soft derivation).
 * FERRY_SR25519_DUMP=<file> makes oracle_dump write FERRY_SR25519_CASES (default 1000) random
 * cases there, and FERRY_SR25519_JS=<file> makes oracle_check verify the signatures the JS
 * implementations made for them: tests/integration/t_sr25519_oracle.sh runs both around
 * tests/oracle/sr25519_oracle.js. */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/keys.h"
#include "ferry/msgcrypt.h"
#include "ferry/sr25519.h"
#include "ferry/ss58.h"
#include "src/crypto/keccak.h"
#include "src/crypto/merlin.h"
#include "src/crypto/strobe.h"
#include "testutil.h"

static uint64_t lane(const uint8_t *st, int i)
{
    uint64_t v = 0;
    for (int b = 7; b >= 0; b--)
        v = (v << 8) | st[8 * i + b];
    return v;
}

START_TEST(keccak_zero_state_intermediate_values)
{
    static const uint64_t once[25] = {
        0xF1258F7940E1DDE7ULL, 0x84D5CCF933C0478AULL, 0xD598261EA65AA9EEULL, 0xBD1547306F80494DULL,
        0x8B284E056253D057ULL, 0xFF97A42D7F8E6FD4ULL, 0x90FEE5A0A44647C4ULL, 0x8C5BDA0CD6192E76ULL,
        0xAD30A6F71B19059CULL, 0x30935AB7D08FFC64ULL, 0xEB5AA93F2317D635ULL, 0xA9A6E6260D712103ULL,
        0x81A57C16DBCF555FULL, 0x43B831CD0347C826ULL, 0x01F22F1A11A5569FULL, 0x05E5635A21D9AE61ULL,
        0x64BEFEF28CC970F2ULL, 0x613670957BC46611ULL, 0xB87C5A554FD00ECBULL, 0x8C3EE88A1CCF32C8ULL,
        0x940C7922AE3A2614ULL, 0x1841F924A2C509E4ULL, 0x16F53526E70465C2ULL, 0x75F644E97F30A13BULL,
        0xEAF1FF7B5CECA249ULL,
    };
    uint8_t st[200] = {0};
    ferry_keccak_f1600(st);
    for (int i = 0; i < 25; i++)
        ck_assert_msg(lane(st, i) == once[i], "lane %d", i);
    ferry_keccak_f1600(st);
    ck_assert(lane(st, 0) == 0x2D5C954DF96ECB3CULL);
}
END_TEST

/* SHA3-256 (rate 136, domain 0x06) over ferry's permutation. */
static void sha3_256(uint8_t out[32], const uint8_t *in, size_t len)
{
    uint8_t st[200] = {0};
    while (len >= 136) {
        for (int i = 0; i < 136; i++)
            st[i] ^= in[i];
        ferry_keccak_f1600(st);
        in += 136;
        len -= 136;
    }
    for (size_t i = 0; i < len; i++)
        st[i] ^= in[i];
    st[len] ^= 0x06;
    st[135] ^= 0x80;
    ferry_keccak_f1600(st);
    memcpy(out, st, 32);
}

START_TEST(keccak_sha3_matches_openssl)
{
    uint8_t buf[600], mine[32], ref[32];
    unsigned rlen;
    randombytes_buf(buf, sizeof buf);
    uint8_t empty[32];
    sha3_256(empty, buf, 0);
    ck_assert_str_eq(tu_tohex(empty, 32),
                     "0xa7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    for (size_t len = 0; len <= sizeof buf; len += (len < 300 ? 1 : 37)) {
        sha3_256(mine, buf, len);
        ck_assert(EVP_Digest(buf, len, ref, &rlen, EVP_sha3_256(), NULL) == 1);
        ck_assert_msg(memcmp(mine, ref, 32) == 0, "length %zu", len);
    }
}
END_TEST

START_TEST(strobe_conformance)
{
    struct ferry_strobe s;
    static const char proto[] = "Conformance Test Protocol";
    uint8_t msg[1024], prf[32];
    memset(msg, 99, sizeof msg);
    ferry_strobe_init(&s, (const uint8_t *)proto, strlen(proto));
    ferry_strobe_meta_ad(&s, (const uint8_t *)"ms", 2, false);
    ferry_strobe_meta_ad(&s, (const uint8_t *)"g", 1, true);
    ferry_strobe_ad(&s, msg, sizeof msg, false);
    ferry_strobe_meta_ad(&s, (const uint8_t *)"prf", 3, false);
    ferry_strobe_prf(&s, prf, 32, false);
    ck_assert_str_eq(tu_tohex(prf, 32),
                     "0xb48e645ca17c667fd5206ba57a6a228d72d8e1903814d3f17f622996d7cfefb0");
    ferry_strobe_meta_ad(&s, (const uint8_t *)"key", 3, false);
    ferry_strobe_key(&s, prf, 32, false);
    ferry_strobe_meta_ad(&s, (const uint8_t *)"prf", 3, false);
    ferry_strobe_prf(&s, prf, 32, false);
    ck_assert_str_eq(tu_tohex(prf, 32),
                     "0x07e45cce8078cee259e3e375bb85d75610e2d1e1201c5f645045a194edd49ff8");
    ferry_strobe_wipe(&s);
}
END_TEST

START_TEST(merlin_simple_and_complex)
{
    struct ferry_merlin t;
    uint8_t c[32];
    ferry_merlin_init(&t, "test protocol");
    ferry_merlin_append(&t, "some label", (const uint8_t *)"some data", 9);
    ferry_merlin_challenge(&t, "challenge", c, 32);
    ck_assert_str_eq(tu_tohex(c, 32),
                     "0xd5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615");

    uint8_t data[1024];
    memset(data, 99, sizeof data);
    ferry_merlin_init(&t, "test protocol");
    ferry_merlin_append(&t, "step1", (const uint8_t *)"some data", 9);
    for (int i = 0; i < 32; i++) {
        ferry_merlin_challenge(&t, "challenge", c, 32);
        ferry_merlin_append(&t, "bigdata", data, sizeof data);
        ferry_merlin_append(&t, "challengedata", c, 32);
    }
    ck_assert_str_eq(tu_tohex(c, 32),
                     "0xa8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c");
}
END_TEST

/* The forked RNG depends on the witness and the random bytes, and leaves t unchanged. */
START_TEST(merlin_rng_is_bound_to_witness_and_randomness)
{
    struct ferry_merlin t, t2;
    struct ferry_merlin_rng r;
    uint8_t a[32], b[32], c[32], d[32], rnd[32] = {1};
    ferry_merlin_init(&t, "proto");
    t2 = t;
    ferry_merlin_rng_fork(&r, &t);
    ferry_merlin_rng_rekey(&r, "w", (const uint8_t *)"secret", 6);
    ferry_merlin_rng_finalize(&r, rnd);
    ferry_merlin_rng_fill(&r, a, 32);
    ferry_merlin_rng_fork(&r, &t);
    ferry_merlin_rng_rekey(&r, "w", (const uint8_t *)"secret", 6);
    ferry_merlin_rng_finalize(&r, rnd);
    ferry_merlin_rng_fill(&r, b, 32);
    ck_assert_mem_eq(a, b, 32);
    rnd[0] = 2;
    ferry_merlin_rng_fork(&r, &t);
    ferry_merlin_rng_rekey(&r, "w", (const uint8_t *)"secret", 6);
    ferry_merlin_rng_finalize(&r, rnd);
    ferry_merlin_rng_fill(&r, c, 32);
    ck_assert(memcmp(a, c, 32) != 0);
    ferry_merlin_challenge(&t, "x", c, 32);
    ferry_merlin_challenge(&t2, "x", d, 32);
    ck_assert_mem_eq(c, d, 32);
}
END_TEST

/* Derive //name from the dev phrase directly with the sr25519 primitives. */
static void dev_key(struct ferry_sr25519_keypair *kp, const char *name)
{
    uint8_t mini[32], cc[32];
    struct ferry_reason why = {""};
    ck_assert_int_eq(
        ferry_bip39_mini_secret(mini, FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE), NULL, &why), 0);
    ck_assert_str_eq(tu_tohex(mini, 32),
                     "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e");
    struct ferry_sr25519_keypair root;
    ferry_sr25519_from_mini_secret(&root, mini);
    ck_assert_int_eq(ferry_junction_chain_code(cc, name, strlen(name)), 0);
    ck_assert_int_eq(ferry_sr25519_derive_hard(kp, &root, cc), 0);
    ferry_sr25519_keypair_wipe(&root);
}

START_TEST(sr25519_subkey_dev_accounts)
{
    static const struct {
        const char *name, *pub, *ss58;
    } dev[] = {
        {"Alice", "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
         "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
        {"Bob", "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48",
         "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"},
        {"Charlie", "0x90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22",
         "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"},
        {"Dave", "0x306721211d5404bd9da88e0204360a1a9ab8b87c66c1bc2fcdd37f3c2222cc20",
         "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"},
        {"Eve", "0xe659a7a1628cdd93febc04a4e0646ea20e9f5f0ce097d9a05290d4a9e054df4e",
         "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw"},
        {"Ferdie", "0x1cbd2d43530a44705ad088af313e18f80b53ef16b36177cd4b77b846f2a5f07c",
         "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL"},
    };
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) {
        struct ferry_sr25519_keypair kp;
        dev_key(&kp, dev[i].name);
        ck_assert_str_eq(tu_tohex(kp.public_key, 32), dev[i].pub);
        char addr[64];
        ck_assert_int_eq(ferry_ss58_encode(kp.public_key, 32, 42, addr, sizeof addr), 0);
        ck_assert_str_eq(addr, dev[i].ss58);
        ferry_sr25519_keypair_wipe(&kp);
    }
    /* subkey inspect //Alice: "Secret seed" is the hard junction's mini secret. */
    uint8_t mini[32], cc[32];
    struct ferry_sr25519_keypair root;
    struct ferry_reason why = {""};
    ck_assert_int_eq(
        ferry_bip39_mini_secret(mini, FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE), NULL, &why), 0);
    ferry_sr25519_from_mini_secret(&root, mini);
    ck_assert_int_eq(ferry_junction_chain_code(cc, "Alice", 5), 0);
    ck_assert_int_eq(ferry_sr25519_hard_mini_secret(mini, &root, cc), 0);
    ck_assert_str_eq(tu_tohex(mini, 32),
                     "0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a");
}
END_TEST

/* Soft junctions, whose transcript differs from the hard one's: public keys computed by
 * schnorrkel (@polkadot/wasm-crypto) for paths on the dev phrase; //Alice//stash is the
 * well-known 5GNJqTPy... stash account. */
START_TEST(sr25519_soft_known_answers)
{
    static const struct {
        const char *path[4];
        const char *pub;
    } kat[] = {
        {{"//Alice", "//stash"},
         "0xbe5ddb1579b72e84524fc29e78609e3caf42e85aa118ebfe0b0ad404b5bdd25f"},
        {{"/Alice"}, "0xd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e"},
        {{"//Alice", "/soft"},
         "0x02cfd83074aefc9955af4034d19b3780d47a52e158ababec8ec012b2295f1c5b"},
        {{"//Alice", "/1", "//2", "/x"},
         "0x168fe12d930c601ae0e910f9bfb324f912d31cc8a3058a8a477ae6c93834aa68"},
        {{"/0"}, "0xb696d3a7fbc9dd6648e18fd56169b90f3be49714133eaa464cbfd6ca79ab1310"},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint8_t mini[32], cc[32], pub[32];
        struct ferry_reason why = {""};
        ck_assert_int_eq(
            ferry_bip39_mini_secret(mini, FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE), NULL, &why),
            0);
        struct ferry_sr25519_keypair kp;
        ferry_sr25519_from_mini_secret(&kp, mini);
        for (int j = 0; j < 4 && kat[i].path[j]; j++) {
            const char *p = kat[i].path[j];
            bool hard = p[1] == '/';
            const char *name = p + (hard ? 2 : 1);
            ck_assert_int_eq(ferry_junction_chain_code(cc, name, strlen(name)), 0);
            if (hard) {
                ck_assert_int_eq(ferry_sr25519_derive_hard(&kp, &kp, cc), 0);
            } else {
                ck_assert_int_eq(ferry_sr25519_derive_public_soft(pub, kp.public_key, cc), 0);
                ck_assert_int_eq(ferry_sr25519_derive_soft(&kp, &kp, cc), 0);
                ck_assert_mem_eq(pub, kp.public_key, 32);
            }
        }
        ck_assert_str_eq(tu_tohex(kp.public_key, 32), kat[i].pub);
        ferry_sr25519_keypair_wipe(&kp);
    }
}
END_TEST

START_TEST(sr25519_sp_core_seed_vector)
{
    uint8_t seed[32];
    tu_hex_exact("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    struct ferry_sr25519_keypair kp;
    ferry_sr25519_from_mini_secret(&kp, seed);
    ck_assert_str_eq(tu_tohex(kp.public_key, 32),
                     "0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f");
}
END_TEST

static const uint8_t CTX[] = "substrate";
#define CTXLEN (sizeof CTX - 1)

START_TEST(sr25519_sign_verify_and_alterations)
{
    struct ferry_sr25519_keypair kp, other;
    dev_key(&kp, "Alice");
    dev_key(&other, "Bob");
    uint8_t msg[100], sig[64], sig2[64], bad[64];
    randombytes_buf(msg, sizeof msg);
    for (size_t len = 0; len <= sizeof msg; len += 25) {
        ck_assert_int_eq(ferry_sr25519_sign(&kp, CTX, CTXLEN, msg, len, sig), 0);
        ck_assert(sig[63] & 0x80);
        ck_assert(ferry_sr25519_verify(kp.public_key, CTX, CTXLEN, msg, len, sig));
        /* randomised: a second signature differs and verifies too */
        ck_assert_int_eq(ferry_sr25519_sign(&kp, CTX, CTXLEN, msg, len, sig2), 0);
        ck_assert(memcmp(sig, sig2, 64) != 0);
        ck_assert(ferry_sr25519_verify(kp.public_key, CTX, CTXLEN, msg, len, sig2));
        ck_assert(!ferry_sr25519_verify(other.public_key, CTX, CTXLEN, msg, len, sig));
        ck_assert(
            !ferry_sr25519_verify(kp.public_key, (const uint8_t *)"substrat", 8, msg, len, sig));
        if (len) {
            msg[len - 1] ^= 1;
            ck_assert(!ferry_sr25519_verify(kp.public_key, CTX, CTXLEN, msg, len, sig));
            msg[len - 1] ^= 1;
        }
        for (int bit = 0; bit < 512; bit += 7) {
            memcpy(bad, sig, 64);
            bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ck_assert_msg(!ferry_sr25519_verify(kp.public_key, CTX, CTXLEN, msg, len, bad),
                          "bit %d", bit);
        }
    }
    /* Without the schnorrkel marker the signature is refused. */
    memcpy(bad, sig, 64);
    bad[63] &= 0x7f;
    ck_assert(!ferry_sr25519_verify(kp.public_key, CTX, CTXLEN, msg, 100, bad));
    /* s + l (non-canonical, same value mod l) is refused. */
    static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                  0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    memcpy(bad, sig, 64);
    bad[63] &= 0x7f;
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned v = bad[32 + i] + l[i] + carry;
        bad[32 + i] = (uint8_t)v;
        carry = v >> 8;
    }
    if (!(bad[63] & 0x80)) { /* s + l still fits below 2^255 */
        bad[63] |= 0x80;
        ck_assert(!ferry_sr25519_verify(kp.public_key, CTX, CTXLEN, msg, 100, bad));
    }
    /* The identity and non-points are not public keys. */
    uint8_t zero[32] = {0}, ff[32];
    memset(ff, 0xff, 32);
    ck_assert(!ferry_sr25519_verify(zero, CTX, CTXLEN, msg, 100, sig));
    ck_assert(!ferry_sr25519_verify(ff, CTX, CTXLEN, msg, 100, sig));
    ferry_sr25519_keypair_wipe(&kp);
    ferry_sr25519_keypair_wipe(&other);
}
END_TEST

START_TEST(sr25519_soft_derivation_agrees_with_public)
{
    struct ferry_sr25519_keypair kp, child;
    dev_key(&kp, "Alice");
    for (int i = 0; i < 20; i++) {
        uint8_t cc[32], pub[32], sig[64];
        randombytes_buf(cc, sizeof cc);
        ck_assert_int_eq(ferry_sr25519_derive_soft(&child, &kp, cc), 0);
        ck_assert_int_eq(ferry_sr25519_derive_public_soft(pub, kp.public_key, cc), 0);
        ck_assert_mem_eq(pub, child.public_key, 32);
        ck_assert_int_eq(ferry_sr25519_sign(&child, CTX, CTXLEN, cc, 32, sig), 0);
        ck_assert(ferry_sr25519_verify(pub, CTX, CTXLEN, cc, 32, sig));
        /* hard and soft children differ */
        struct ferry_sr25519_keypair hard;
        ck_assert_int_eq(ferry_sr25519_derive_hard(&hard, &kp, cc), 0);
        ck_assert(memcmp(hard.public_key, pub, 32) != 0);
    }
    uint8_t bad[32], cc[32] = {0}, out[32];
    memset(bad, 0xff, 32);
    ck_assert_int_eq(ferry_sr25519_derive_public_soft(out, bad, cc), FERRY_E_INVALID);
    /* in place */
    struct ferry_sr25519_keypair copy = kp;
    uint8_t pub[32];
    ck_assert_int_eq(ferry_sr25519_derive_public_soft(pub, kp.public_key, cc), 0);
    ck_assert_int_eq(ferry_sr25519_derive_soft(&copy, &copy, cc), 0);
    ck_assert_mem_eq(copy.public_key, pub, 32);
}
END_TEST

/* ---- oracle hand-off ----------------------------------------------------------------------- */

static const uint8_t OTHER_CTX[] = "substrate-x"; /* an altered signing context */

/* One random case: keys, each junction kind, ECDH and a ferry signature (plus one under an
 * altered context) for the JS implementations to recompute and check. */
static void dump_one(FILE *f, int i)
{
    uint8_t mini[32], peer_mini[32], cc_hard[32], cc_soft[32], hard_mini[32], ecdh[32], pubsoft[32];
    uint8_t chain_pub_soft[32], msg[64], sig[64], sig_ctx[64];
    struct ferry_sr25519_keypair kp, peer, hard, soft, chain;
    randombytes_buf(mini, 32);
    randombytes_buf(peer_mini, 32);
    randombytes_buf(cc_hard, 32);
    randombytes_buf(cc_soft, 32);
    size_t len = randombytes_uniform(sizeof msg + 1);
    randombytes_buf(msg, len);
    ferry_sr25519_from_mini_secret(&kp, mini);
    ferry_sr25519_from_mini_secret(&peer, peer_mini);
    ck_assert_int_eq(ferry_sr25519_hard_mini_secret(hard_mini, &kp, cc_hard), 0);
    ck_assert_int_eq(ferry_sr25519_derive_hard(&hard, &kp, cc_hard), 0);
    ck_assert_int_eq(ferry_sr25519_derive_soft(&soft, &kp, cc_soft), 0);
    ck_assert_int_eq(ferry_sr25519_derive_public_soft(pubsoft, kp.public_key, cc_soft), 0);
    ck_assert_mem_eq(pubsoft, soft.public_key, 32);
    /* a path hard then soft, and its public-only soft step */
    ck_assert_int_eq(ferry_sr25519_derive_soft(&chain, &hard, cc_soft), 0);
    ck_assert_int_eq(ferry_sr25519_derive_public_soft(chain_pub_soft, hard.public_key, cc_soft), 0);
    ck_assert_mem_eq(chain_pub_soft, chain.public_key, 32);
    ck_assert_int_eq(ferry_ecdh_agree(ecdh, kp.secret, peer.public_key), 0);
    ck_assert_int_eq(ferry_sr25519_sign(&kp, CTX, CTXLEN, msg, len, sig), 0);
    ck_assert_int_eq(ferry_sr25519_sign(&kp, OTHER_CTX, sizeof OTHER_CTX - 1, msg, len, sig_ctx),
                     0);
    /* An envelope to the peer (as a worker) carrying msg, for the JS side to open with its own
     * ECDH and AES-GCM (node:crypto) and answer; the session is kept so ferry can read the
     * answer in oracle_check. */
    uint8_t env[64 + FERRY_ENVELOPE_OVERHEAD];
    size_t env_len;
    struct ferry_envelope_session session;
    ck_assert_int_eq(
        ferry_envelope_seal(&session, env, sizeof env, &env_len, peer.public_key, msg, len, NULL),
        0);
    fprintf(f, "%s{\"mini\":\"%s\"", i ? ",\n" : "", tu_tohex(mini, 32));
    fprintf(f, ",\"pub\":\"%s\"", tu_tohex(kp.public_key, 32));
    fprintf(f, ",\"cc_hard\":\"%s\"", tu_tohex(cc_hard, 32));
    fprintf(f, ",\"hard_mini\":\"%s\"", tu_tohex(hard_mini, 32));
    fprintf(f, ",\"hard_pub\":\"%s\"", tu_tohex(hard.public_key, 32));
    fprintf(f, ",\"cc_soft\":\"%s\"", tu_tohex(cc_soft, 32));
    fprintf(f, ",\"soft_pub\":\"%s\"", tu_tohex(soft.public_key, 32));
    fprintf(f, ",\"hard_soft_pub\":\"%s\"", tu_tohex(chain.public_key, 32));
    fprintf(f, ",\"peer_mini\":\"%s\"", tu_tohex(peer_mini, 32));
    fprintf(f, ",\"peer_pub\":\"%s\"", tu_tohex(peer.public_key, 32));
    fprintf(f, ",\"ecdh\":\"%s\"", tu_tohex(ecdh, 32));
    fprintf(f, ",\"msg\":\"%s\"", tu_tohex(msg, len));
    fprintf(f, ",\"sig\":\"%s\"", tu_tohex(sig, 64));
    fprintf(f, ",\"sig_other_ctx\":\"%s\"", tu_tohex(sig_ctx, 64));
    fprintf(f, ",\"envelope\":\"%s\"", tu_tohex(env, env_len));
    fprintf(f, ",\"session_key\":\"%s\"}", tu_tohex(session.key, 32));
    ferry_envelope_session_wipe(&session);
    ferry_sr25519_keypair_wipe(&kp);
    ferry_sr25519_keypair_wipe(&hard);
    ferry_sr25519_keypair_wipe(&soft);
    ferry_sr25519_keypair_wipe(&chain);
}

START_TEST(oracle_dump)
{
    const char *path = getenv("FERRY_SR25519_DUMP");
    if (!path)
        return;
    int n = getenv("FERRY_SR25519_CASES") ? atoi(getenv("FERRY_SR25519_CASES")) : 1000;
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "[\n");
    for (int i = 0; i < n; i++)
        dump_one(f, i);
    fprintf(f, "\n]\n");
    ck_assert_int_eq(fclose(f), 0);
}
END_TEST

/* Verify every JS signature: valid as made, refused with the message, key, signature or
 * context altered. */
START_TEST(oracle_check)
{
    const char *path = getenv("FERRY_SR25519_JS");
    if (!path)
        return;
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)sz + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)sz, f), (size_t)sz);
    text[sz] = 0;
    fclose(f);
    cJSON *all = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(all);
    long checked = 0, replies = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, all)
    {
        uint8_t pub[32], peer[32], sig[64];
        size_t len;
        tu_hex_exact(tu_str(c, "pub"), pub, 32);
        tu_hex_exact(tu_str(c, "peer_pub"), peer, 32);
        uint8_t *msg = tu_hex(tu_str(c, "msg"), &len);
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(c, "sigs"))
        {
            const char *who = tu_str(s, "by");
            tu_hex_exact(tu_str(s, "sig"), sig, 64);
            ck_assert_msg(ferry_sr25519_verify(pub, CTX, CTXLEN, msg, len, sig), "%s sig", who);
            ck_assert_msg(!ferry_sr25519_verify(peer, CTX, CTXLEN, msg, len, sig), "%s key", who);
            ck_assert_msg(
                !ferry_sr25519_verify(pub, OTHER_CTX, sizeof OTHER_CTX - 1, msg, len, sig),
                "%s ctx", who);
            if (len) {
                msg[len / 2] ^= 0x10;
                ck_assert_msg(!ferry_sr25519_verify(pub, CTX, CTXLEN, msg, len, sig), "%s msg",
                              who);
                msg[len / 2] ^= 0x10;
            } else {
                uint8_t one = 0;
                ck_assert_msg(!ferry_sr25519_verify(pub, CTX, CTXLEN, &one, 1, sig), "%s msg", who);
            }
            int bit = (int)randombytes_uniform(512);
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ck_assert_msg(!ferry_sr25519_verify(pub, CTX, CTXLEN, msg, len, sig), "%s bit %d", who,
                          bit);
            checked++;
        }
        /* The JS worker's reply to ferry's envelope, read with the sender's session. */
        const cJSON *reply = cJSON_GetObjectItem(c, "reply");
        if (cJSON_IsString(reply)) {
            struct ferry_envelope_session session;
            size_t rlen, n;
            uint8_t *r = tu_hex(reply->valuestring, &rlen);
            tu_hex_exact(tu_str(c, "session_key"), session.key, 32);
            ck_assert_uint_ge(rlen, FERRY_ENVELOPE_OVERHEAD);
            memcpy(session.ephemeral_public, r + 1, 32);
            uint8_t out[64];
            struct ferry_reason why = {{0}};
            ck_assert_msg(ferry_envelope_open_reply(&session, out, sizeof out, &n, r, rlen, &why) ==
                              FERRY_OK,
                          "JS reply: %s", why.text);
            ck_assert_uint_eq(n, len);
            ck_assert(len == 0 || memcmp(out, msg, len) == 0);
            r[rlen - 1] ^= 1;
            ck_assert_int_eq(
                ferry_envelope_open_reply(&session, out, sizeof out, &n, r, rlen, NULL),
                FERRY_E_VERIFY);
            free(r);
            replies++;
        }
        free(msg);
    }
    cJSON_Delete(all);
    printf("sr25519 oracle: ferry verified %ld JS signatures (and refused 4 alterations of each), "
           "opened %ld JS envelope replies\n",
           checked, replies);
    ck_assert_int_gt(checked, 0);
}
END_TEST

Suite *sr25519_suite(void)
{
    Suite *s = suite_create("sr25519");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, keccak_zero_state_intermediate_values);
    tcase_add_test(tc, keccak_sha3_matches_openssl);
    tcase_add_test(tc, strobe_conformance);
    tcase_add_test(tc, merlin_simple_and_complex);
    tcase_add_test(tc, merlin_rng_is_bound_to_witness_and_randomness);
    tcase_add_test(tc, sr25519_subkey_dev_accounts);
    tcase_add_test(tc, sr25519_sp_core_seed_vector);
    tcase_add_test(tc, sr25519_soft_known_answers);
    tcase_add_test(tc, sr25519_sign_verify_and_alterations);
    tcase_add_test(tc, sr25519_soft_derivation_agrees_with_public);
    tcase_add_test(tc, oracle_dump);
    tcase_add_test(tc, oracle_check);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
