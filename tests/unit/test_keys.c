/* Keys: dev-key derivation against vectors/hashing/ss58-and-keys.json (subkey output), BIP39 →
 * mini-secret against substrate-bip39's own test table, ECDSA and ed25519 signing, real ed25519
 * signatures from vectors/extrinsics and vectors/grandpa, secret URIs and key files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/hash.h"
#include "ferry/keys.h"
#include "ferry/ss58.h"
#include "src/crypto/bip39_english.h"
#include "testutil.h"

static const cJSON *dev_key(const cJSON *v, const char *name)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "dev_keys"))
    {
        if (strcmp(tu_str(row, "name"), name) == 0)
            return row;
    }
    ck_abort_msg("dev key '%s' missing from the vectors", name);
    return NULL;
}

/* ---- dev keys ------------------------------------------------------------------------------ */

START_TEST(ecdsa_alice_matches_subkey)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row = dev_key(v, "Alice ecdsa (//Alice)");
    uint8_t seed[32];
    struct ferry_reason why_r = {""};
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//Alice", seed, &why_r), FERRY_OK);
    ck_assert_str_eq(tu_tohex(seed, 32), tu_str(row, "secret_seed"));
    struct ferry_keypair kp;
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ECDSA, "//Alice", &why_r), FERRY_OK);
    ck_assert_uint_eq(kp.public_len, 33);
    ck_assert_str_eq(tu_tohex(kp.public_key, 33), tu_str(row, "public_key_compressed"));
    uint8_t acct[32];
    ferry_keypair_account_id(&kp, acct);
    ck_assert_str_eq(tu_tohex(acct, 32), tu_str(row, "account_id"));
    ferry_keypair_clear(&kp);
    /* The explicit dev phrase gives the same key. */
    ck_assert_int_eq(
        ferry_keypair_from_uri(&kp, FERRY_SCHEME_ECDSA, FERRY_DEV_PHRASE "//Alice", &why_r),
        FERRY_OK);
    ck_assert_str_eq(tu_tohex(kp.public_key, 33), tu_str(row, "public_key_compressed"));
    ferry_keypair_clear(&kp);
}
END_TEST

START_TEST(ed25519_alice_matches_subkey)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row = dev_key(v, "Alice ed25519 (//Alice)");
    uint8_t seed[32];
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ED25519, "//Alice", seed, NULL), FERRY_OK);
    ck_assert_str_eq(tu_tohex(seed, 32), tu_str(row, "secret_seed"));
    struct ferry_keypair kp;
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ED25519, "//Alice", NULL), FERRY_OK);
    ck_assert_uint_eq(kp.public_len, 32);
    ck_assert_str_eq(tu_tohex(kp.public_key, 32), tu_str(row, "public_key"));
    uint8_t acct[32];
    ferry_keypair_account_id(&kp, acct);
    ck_assert_str_eq(tu_tohex(acct, 32), tu_str(row, "account_id"));
    ferry_keypair_clear(&kp);
    /* The seed as a hex secret URI gives the same key. */
    char uri[80];
    snprintf(uri, sizeof uri, "%s", tu_str(row, "secret_seed"));
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ED25519, uri, NULL), FERRY_OK);
    ck_assert_str_eq(tu_tohex(kp.public_key, 32), tu_str(row, "public_key"));
    ferry_keypair_clear(&kp);
}
END_TEST

START_TEST(sr25519_alice_matches_subkey)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const cJSON *row = dev_key(v, "Alice sr25519 (//Alice)");
    uint8_t seed[32];
    struct ferry_reason why_r = {""};
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_SR25519, "//Alice", seed, &why_r),
                     FERRY_OK);
    ck_assert_str_eq(tu_tohex(seed, 32), tu_str(row, "secret_seed"));
    struct ferry_keypair kp;
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_SR25519, "//Alice", &why_r),
                     FERRY_OK);
    ck_assert_uint_eq(kp.public_len, 32);
    ck_assert_str_eq(tu_tohex(kp.public_key, 32), tu_str(row, "public_key"));
    uint8_t acct[32];
    ferry_keypair_account_id(&kp, acct);
    ck_assert_str_eq(tu_tohex(acct, 32), tu_str(row, "account_id"));
    char addr[FERRY_SS58_MAX_LEN];
    ck_assert_int_eq(ferry_ss58_encode(acct, 32, 42, addr, sizeof addr), FERRY_OK);
    ck_assert_str_eq(addr, tu_str(row, "ss58_42"));
    ck_assert_str_eq(addr, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    ferry_keypair_clear(&kp);
    /* The seed as a hex secret URI, and as a key pair built from it, give the same key. */
    ck_assert_int_eq(
        ferry_keypair_from_uri(&kp, FERRY_SCHEME_SR25519, tu_str(row, "secret_seed"), &why_r),
        FERRY_OK);
    ck_assert_str_eq(tu_tohex(kp.public_key, 32), tu_str(row, "public_key"));
    ck_assert_int_eq(ferry_keypair_from_seed(&kp, FERRY_SCHEME_SR25519, seed), FERRY_OK);
    ck_assert_str_eq(tu_tohex(kp.public_key, 32), tu_str(row, "public_key"));
    ferry_keypair_clear(&kp);
}
END_TEST

/* Secret URIs with every junction kind and passwords; the public keys were computed by
 * schnorrkel (@polkadot/wasm-crypto) from @polkadot/util-crypto's parse of the same URI. */
START_TEST(sr25519_secret_uris_match_schnorrkel)
{
    static const struct {
        const char *uri, *pub;
    } kat[] = {
        {"//Alice//stash", "0xbe5ddb1579b72e84524fc29e78609e3caf42e85aa118ebfe0b0ad404b5bdd25f"},
        {"//Alice/soft", "0x02cfd83074aefc9955af4034d19b3780d47a52e158ababec8ec012b2295f1c5b"},
        {"/Alice", "0xd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e"},
        {"//Alice//0/1", "0xf2662425fa4385123f56db4696bb14749b317bf2999e458a3faa137c0f57135a"},
        {"//Bob/7", "0x38736fab4f2cf17f0d5fd80ed99765b581636925463d5fdd1276339ea211442d"},
        {"//Alice///password",
         "0x32fc18294f88e02ec071e59bb3996aa21f4519d92593dc6e01fda2921d459b23"},
        {FERRY_DEV_PHRASE "///secret",
         "0xe828382f645685df1e292bb59c5cef182ad88be0be56568e24c73a69f8a7094e"},
        {"legal winner thank year wave sausage worth useful legal winner thank yellow//Alice/soft",
         "0x0acb999042e32a4d6ec23e4ec127e5522b17a9725f771462a7342ef5ef13d511"},
        {"0xabf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115//1/2",
         "0xf49272b8d1b27733ef1d7fe55aa5b106fdf715068b852ca2795c967017768163"},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        struct ferry_keypair kp;
        struct ferry_reason why_r = {""};
        const char *why = why_r.text;
        ck_assert_msg(ferry_keypair_from_uri(&kp, FERRY_SCHEME_SR25519, kat[i].uri, &why_r) ==
                          FERRY_OK,
                      "%s: %s", kat[i].uri, why ? why : "");
        ck_assert_str_eq(tu_tohex(kp.public_key, 32), kat[i].pub);
        /* It signs, and the signature verifies under "substrate". */
        uint8_t sig[FERRY_SIG_MAX];
        size_t siglen = 0;
        ck_assert_int_eq(ferry_keypair_sign(&kp, (const uint8_t *)"m", 1, sig, &siglen), 0);
        ck_assert_uint_eq(siglen, 64);
        ck_assert(ferry_sr25519_verify(kp.public_key, (const uint8_t *)"substrate", 9,
                                       (const uint8_t *)"m", 1, sig));
        ferry_keypair_clear(&kp);
    }
    /* A path ending in a soft junction has no seed. */
    uint8_t seed[32];
    struct ferry_reason why_r = {""};
    const char *why = why_r.text;
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_SR25519, "//Alice/soft", seed, &why_r),
                     FERRY_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why, "soft"));
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_SR25519, "//Alice//stash", seed, &why_r),
                     FERRY_OK);
}
END_TEST

/* The dev phrase's mini-secret: subkey prints it as the "Secret seed" of the bare dev phrase;
 * the value was recomputed here with Python's hashlib (PBKDF2 over the phrase's entropy). */
START_TEST(dev_phrase_mini_secret)
{
    uint8_t out[32];
    ck_assert_int_eq(
        ferry_bip39_mini_secret(out, FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE), NULL, NULL),
        FERRY_OK);
    ck_assert_str_eq(tu_tohex(out, 32),
                     "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e");
    uint8_t entropy[32];
    size_t n;
    ck_assert_int_eq(
        ferry_bip39_entropy(FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE), entropy, &n, NULL),
        FERRY_OK);
    ck_assert_uint_eq(n, 16);
    ck_assert_str_eq(tu_tohex(entropy, n), "0x1a486a5fbe53639984cb64b070755f7b");
}
END_TEST

/* ---- BIP39 --------------------------------------------------------------------------------- */

/* paritytech/substrate-bip39 src/lib.rs `VECTORS` (all seeds made with password "Substrate"):
 * phrase, entropy, 64-byte seed (the mini-secret is its first 32 bytes). */
static const char *const bip39_vectors[][3] = {
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "about",
     "00000000000000000000000000000000",
     "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e33f50c3d5c84fa3e5399c72d6cbbbb"
     "c"
     "4a49bf76f76d952f479d74655a2ef2d453"},
    {"legal winner thank year wave sausage worth useful legal winner thank yellow",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "4313249608fe8ac10fd5886c92c4579007272cb77c21551ee5b8d60b780416850f1e26c1f4b8d88ece681cb058ab6"
     "6"
     "d6182bc2ce5a03181f7b74c27576b5c8bf"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong", "ffffffffffffffffffffffffffffffff",
     "227d6256fd4f9ccaf06c45eaa4b2345969640462bbb00c5f51f43cb43418c7a753265f9b1e0c0822c155a9cabc769"
     "4"
     "13ecc14553e135fe140fc50b6722c6b9df"},
    {"legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth "
     "useful legal will",
     "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "cb1d50e14101024a88905a098feb1553d4306d072d7460e167a60ccb3439a6817a0afc59060f45d999ddebc053087"
     "1"
     "4733c9e1e84f30feccddd4ad6f95c8a445"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
     "vote",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "047e89ef7739cbfe30da0ad32eb1720d8f62441dd4f139b981b8e2d0bd412ed4eb14b89b5098c49db2301d4e7df4e"
     "8"
     "9c21e53f345138e56a5e7d63fae21c5939"},
    {"gravity machine north sort system female filter attitude volume fold club stay feature "
     "office "
     "ecology stable narrow fog",
     "6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
     "fbcc5229ade0c0ff018cb7a329c5459f91876e4dde2a97ddf03c832eab7f26124366a543f1485479c31a9db0d421b"
     "d"
     "a82d7e1fe562e57f3533cb1733b001d84d"},
    {"hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy "
     "gospel tennis maple dilemma loan word shrug inflict delay length",
     "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "7c60c555126c297deddddd59f8cdcdc9e3608944455824dd604897984b5cc369cad749803bb36eb8b786b570c9cdc"
     "8"
     "db275dbe841486676a6adf389f3be3f076"},
    {"vessel ladder alter error federal sibling chat ability sun glass valve picture",
     "f30f8c1da665478f49b001d94c5fc452",
     "4e2314ca7d9eebac6fe5a05a5a8d3546bc891785414d82207ac987926380411e559c885190d641ff7e686ace8c57d"
     "b"
     "6f6e4333c1081e3d88d7141a74cf339c8f"},
};

START_TEST(bip39_phrases_match_substrate_bip39_vectors)
{
    for (size_t i = 0; i < sizeof bip39_vectors / sizeof bip39_vectors[0]; i++) {
        const char *phrase = bip39_vectors[i][0];
        uint8_t entropy[32], seed[64], mini[32];
        size_t n;
        ck_assert_int_eq(ferry_bip39_entropy(phrase, strlen(phrase), entropy, &n, NULL), FERRY_OK);
        ck_assert_str_eq(tu_tohex(entropy, n) + 2, bip39_vectors[i][1]);
        ck_assert_int_eq(ferry_pbkdf2_hmac_sha512(seed, 64, entropy, n,
                                                  (const uint8_t *)"mnemonicSubstrate", 17, 2048),
                         FERRY_OK);
        ck_assert_str_eq(tu_tohex(seed, 64) + 2, bip39_vectors[i][2]);
        ck_assert_int_eq(ferry_bip39_mini_secret(mini, phrase, strlen(phrase), "Substrate", NULL),
                         FERRY_OK);
        ck_assert_mem_eq(mini, seed, 32);
    }
}
END_TEST

START_TEST(bip39_password_comes_from_the_secret_uri)
{
    /* "<phrase>///Substrate" must give the vector's mini-secret (no junctions). */
    char uri[256];
    snprintf(uri, sizeof uri, "%s///Substrate", bip39_vectors[1][0]);
    uint8_t seed[32];
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ED25519, uri, seed, NULL), FERRY_OK);
    ck_assert_str_eq(tu_tohex(seed, 32) + 2, "4313249608fe8ac10fd5886c92c4579007272cb77c21551ee5b8"
                                             "d60b78041685");
    ck_assert(!ferry_secret_uri_is_public(uri));
}
END_TEST

START_TEST(bip39_rejects_bad_phrases_without_quoting_them)
{
    uint8_t e[32];
    size_t n;
    struct ferry_reason why_r = {""};
    const char *why = why_r.text;
    const char *bad_sum = "abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                          "abandon abandon abandon";
    ck_assert_int_eq(ferry_bip39_entropy(bad_sum, strlen(bad_sum), e, &n, &why_r), FERRY_E_VERIFY);
    ck_assert_ptr_nonnull(strstr(why, "checksum"));
    const char *unknown = "abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                          "abandon abandon abcdef";
    ck_assert_int_eq(ferry_bip39_entropy(unknown, strlen(unknown), e, &n, &why_r), FERRY_E_INVALID);
    ck_assert_ptr_null(strstr(why, "abcdef"));
    const char *eleven = "abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                         "abandon about";
    ck_assert_int_eq(ferry_bip39_entropy(eleven, strlen(eleven), e, &n, &why_r), FERRY_E_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "12"));
    const char *upper = "Abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                        "abandon abandon about";
    ck_assert_int_eq(ferry_bip39_entropy(upper, strlen(upper), e, &n, &why_r), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_bip39_entropy("", 0, e, &n, &why_r), FERRY_E_INVALID);
    /* Extra spaces between words are tolerated (Substrate splits on whitespace). */
    const char *spaced = "  legal winner thank year wave sausage worth useful legal winner thank "
                         " yellow ";
    ck_assert_int_eq(ferry_bip39_entropy(spaced, strlen(spaced), e, &n, &why_r), FERRY_OK);
}
END_TEST

START_TEST(bip39_wordlist_is_complete_and_sorted)
{
    ck_assert_str_eq(ferry_bip39_english[0], "abandon");
    ck_assert_str_eq(ferry_bip39_english[1], "ability");
    ck_assert_str_eq(ferry_bip39_english[1024], "length");
    ck_assert_str_eq(ferry_bip39_english[2047], "zoo");
    for (int i = 1; i < FERRY_BIP39_WORDS; i++)
        ck_assert_int_lt(strcmp(ferry_bip39_english[i - 1], ferry_bip39_english[i]), 0);
}
END_TEST

/* PBKDF2-HMAC-SHA512 reference values (recomputed with Python's hashlib.pbkdf2_hmac). */
START_TEST(pbkdf2_hmac_sha512_reference_values)
{
    uint8_t out[100];
    ck_assert_int_eq(ferry_pbkdf2_hmac_sha512(out, 64, (const uint8_t *)"password", 8,
                                              (const uint8_t *)"salt", 4, 1),
                     FERRY_OK);
    ck_assert_str_eq(tu_tohex(out, 64) + 2,
                     "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a"
                     "0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
    ck_assert_int_eq(ferry_pbkdf2_hmac_sha512(out, 64, (const uint8_t *)"password", 8,
                                              (const uint8_t *)"salt", 4, 2),
                     FERRY_OK);
    ck_assert_str_eq(tu_tohex(out, 64) + 2,
                     "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a3"
                     "9b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e");
    /* Two output blocks. */
    ck_assert_int_eq(
        ferry_pbkdf2_hmac_sha512(out, 100, (const uint8_t *)"passwordPASSWORDpassword", 24,
                                 (const uint8_t *)"saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096),
        FERRY_OK);
    ck_assert_str_eq(tu_tohex(out, 100) + 2,
                     "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71115b59f9e60c"
                     "d9532fa33e0f75aefe30225c583a186cd82bd4daea9724a3d3b804f75bdd41494fa324cab24b"
                     "cc680fb3b96a30cf5d21fac3c2875913919f3399b1d9ce7e");
    ck_assert_int_eq(ferry_pbkdf2_hmac_sha512(out, 64, NULL, 0, NULL, 0, 0), FERRY_E_ARG);
}
END_TEST

/* ---- junctions and secret URIs -------------------------------------------------------------- */

START_TEST(junction_chain_codes_follow_scale_encoding)
{
    uint8_t cc[32];
    char want[2 * 32 + 3];
    ck_assert_int_eq(ferry_junction_chain_code(cc, "0", 1), FERRY_OK);
    ck_assert_str_eq(tu_tohex(cc, 32),
                     "0x"
                     "0000000000000000000000000000000000000000000000000000000000000000");
    ck_assert_int_eq(ferry_junction_chain_code(cc, "258", 3), FERRY_OK);
    snprintf(want, sizeof want, "0x0201%060d", 0);
    ck_assert_str_eq(tu_tohex(cc, 32), want);
    ck_assert_int_eq(ferry_junction_chain_code(cc, "+5", 2), FERRY_OK); /* Rust's u64 parser */
    ck_assert_uint_eq(cc[0], 5);
    ck_assert_int_eq(ferry_junction_chain_code(cc, "Alice", 5), FERRY_OK);
    snprintf(want, sizeof want, "0x14416c696365%052d", 0);
    ck_assert_str_eq(tu_tohex(cc, 32), want);
    /* u64::MAX is a number; one more is a 20-character string (compact 0x50 + bytes). */
    ck_assert_int_eq(ferry_junction_chain_code(cc, "18446744073709551615", 20), FERRY_OK);
    ck_assert_str_eq(tu_tohex(cc, 8), "0xffffffffffffffff");
    ck_assert_uint_eq(cc[8], 0);
    ck_assert_int_eq(ferry_junction_chain_code(cc, "18446744073709551616", 20), FERRY_OK);
    ck_assert_uint_eq(cc[0], 0x50);
    ck_assert_uint_eq(cc[1], '1');
    /* 31 characters + 1 length byte fit exactly; 32 characters are hashed. */
    const char *s31 = "abcdefghijklmnopqrstuvwxyz01234";
    ck_assert_int_eq(ferry_junction_chain_code(cc, s31, 31), FERRY_OK);
    ck_assert_uint_eq(cc[0], 31 << 2);
    ck_assert_uint_eq(cc[31], '4');
    const char *s32 = "abcdefghijklmnopqrstuvwxyz012345";
    uint8_t enc[33], h[32];
    enc[0] = 32 << 2; /* still the one-byte compact mode (< 64), but 33 bytes in all */
    memcpy(enc + 1, s32, 32);
    ferry_blake2b_256(h, enc, sizeof enc);
    ck_assert_int_eq(ferry_junction_chain_code(cc, s32, 32), FERRY_OK);
    ck_assert_mem_eq(cc, h, 32);
}
END_TEST

START_TEST(secret_uri_forms)
{
    uint8_t a[32], b[32], root[32];
    struct ferry_reason why_r = {""};
    /* dev phrase and //Alice are equivalent to the explicit phrase. */
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//Alice", a, &why_r), FERRY_OK);
    ck_assert_int_eq(
        ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, FERRY_DEV_PHRASE "//Alice", b, &why_r), FERRY_OK);
    ck_assert_mem_eq(a, b, 32);
    /* Hex seed then a junction = derive_hard(seed, cc("Alice")). */
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "", root, &why_r), FERRY_OK);
    char uri[128];
    snprintf(uri, sizeof uri, "%s//Alice", tu_tohex(root, 32));
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, uri, b, &why_r), FERRY_OK);
    ck_assert_mem_eq(a, b, 32);
    /* Two junctions compose; hard //0 differs from //Alice. */
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//Alice//0", b, &why_r), FERRY_OK);
    uint8_t cc[32], c[32];
    ck_assert_int_eq(ferry_junction_chain_code(cc, "0", 1), FERRY_OK);
    ferry_ecdsa_derive_hard(c, a, cc);
    ck_assert_mem_eq(b, c, 32);
    /* A password changes the dev-phrase root; it is ignored with a hex seed (Substrate). */
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//Alice///secret", b, &why_r),
                     FERRY_OK);
    ck_assert(memcmp(a, b, 32) != 0);
    snprintf(uri, sizeof uri, "%s//Alice///whatever", tu_tohex(root, 32));
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, uri, b, &why_r), FERRY_OK);
    ck_assert_mem_eq(a, b, 32);
}
END_TEST

START_TEST(secret_uri_errors)
{
    uint8_t s[32];
    struct ferry_reason why_r = {""};
    const char *why = why_r.text;
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//Alice/soft", s, &why_r),
                     FERRY_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(why, "soft"));
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ED25519, "/soft", s, &why_r),
                     FERRY_E_UNSUPPORTED);
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//", s, &why_r), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "//Alice/", s, &why_r),
                     FERRY_E_INVALID);
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "abc!def", s, &why_r),
                     FERRY_E_INVALID);
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "0x1234", s, &why_r),
                     FERRY_E_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "64 hex digits"));
    ck_assert_int_eq(ferry_secret_uri_seed(FERRY_SCHEME_ECDSA, "not a real phrase", s, &why_r),
                     FERRY_E_INVALID);
    /* A seed of zero is not a secp256k1 key but is a fine ed25519 seed. */
    const char *zero = "0x0000000000000000000000000000000000000000000000000000000000000000";
    struct ferry_keypair kp;
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ECDSA, zero, &why_r), FERRY_E_ARG);
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ED25519, zero, &why_r), FERRY_OK);
    ferry_keypair_clear(&kp);
}
END_TEST

START_TEST(public_uris_are_only_dev_phrase_derivations)
{
    ck_assert(ferry_secret_uri_is_public("//Alice"));
    ck_assert(ferry_secret_uri_is_public("//Bob//stash"));
    ck_assert(ferry_secret_uri_is_public(FERRY_DEV_PHRASE "//Alice"));
    ck_assert(ferry_secret_uri_is_public(FERRY_DEV_PHRASE));
    ck_assert(!ferry_secret_uri_is_public("//Alice///password"));
    ck_assert(!ferry_secret_uri_is_public(
        "0xabf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115"));
    ck_assert(!ferry_secret_uri_is_public(
        "legal winner thank year wave sausage worth useful legal winner thank yellow//Alice"));
    ck_assert(!ferry_secret_uri_is_public("//Alice/"));
    ck_assert(!ferry_secret_uri_is_public("Alice!"));
}
END_TEST

START_TEST(scheme_names)
{
    enum ferry_scheme s;
    ck_assert_int_eq(ferry_scheme_parse("ecdsa", &s), FERRY_OK);
    ck_assert_int_eq(s, FERRY_SCHEME_ECDSA);
    ck_assert_int_eq(ferry_scheme_parse("ed25519", &s), FERRY_OK);
    ck_assert_int_eq(s, FERRY_SCHEME_ED25519);
    ck_assert_int_eq(ferry_scheme_parse("sr25519", &s), FERRY_OK);
    ck_assert_int_eq(s, FERRY_SCHEME_SR25519);
    ck_assert_str_eq(ferry_scheme_name(FERRY_SCHEME_SR25519), "sr25519");
    ck_assert_int_eq(FERRY_SCHEME_DEFAULT, FERRY_SCHEME_SR25519);
    ck_assert_int_eq(ferry_scheme_parse("rsa", &s), FERRY_E_ARG);
    ck_assert_str_eq(ferry_scheme_name(FERRY_SCHEME_ED25519), "ed25519");
}
END_TEST

/* ---- signatures ------------------------------------------------------------------------------ */

START_TEST(ecdsa_sign_verify_recover)
{
    struct ferry_keypair kp;
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ECDSA, "//Alice", NULL), FERRY_OK);
    const uint8_t msg[] = "ferry relays verified data";
    uint8_t sig[65], sig2[65], pub[33];
    size_t siglen;
    ck_assert_int_eq(ferry_keypair_sign(&kp, msg, sizeof msg, sig, &siglen), FERRY_OK);
    ck_assert_uint_eq(siglen, 65);
    ck_assert_uint_le(sig[64], 3);
    ck_assert_int_eq(ferry_ecdsa_verify(sig, kp.public_key, msg, sizeof msg), FERRY_OK);
    ck_assert_int_eq(ferry_ecdsa_recover(pub, sig, msg, sizeof msg), FERRY_OK);
    ck_assert_mem_eq(pub, kp.public_key, 33);
    /* RFC 6979: signing is deterministic; sign_prehashed over blake2b-256 is the same thing. */
    uint8_t digest[32];
    ferry_blake2b_256(digest, msg, sizeof msg);
    ck_assert_int_eq(ferry_ecdsa_sign_prehashed(sig2, kp.seed, digest), FERRY_OK);
    ck_assert_mem_eq(sig, sig2, 65);
    ck_assert_int_eq(ferry_ecdsa_recover_prehashed(pub, sig, digest), FERRY_OK);
    ck_assert_mem_eq(pub, kp.public_key, 33);
    /* A different message, a flipped bit or another key fails. */
    const uint8_t other[] = "ferry relays verified dat4";
    ck_assert_int_eq(ferry_ecdsa_verify(sig, kp.public_key, other, sizeof other), FERRY_E_VERIFY);
    memcpy(sig2, sig, 65);
    sig2[10] ^= 1;
    ck_assert_int_eq(ferry_ecdsa_verify(sig2, kp.public_key, msg, sizeof msg), FERRY_E_VERIFY);
    memcpy(sig2, sig, 65);
    sig2[64] = (uint8_t)(sig[64] ^ 1); /* other recovery id: recovers a different key */
    ck_assert_int_eq(ferry_ecdsa_verify(sig2, kp.public_key, msg, sizeof msg), FERRY_E_VERIFY);
    sig2[64] = 4;
    ck_assert_int_eq(ferry_ecdsa_recover(pub, sig2, msg, sizeof msg), FERRY_E_INVALID);
    ck_assert_int_eq(ferry_ecdsa_verify(sig2, kp.public_key, msg, sizeof msg), FERRY_E_VERIFY);
    memset(sig2, 0xff, 64); /* r, s above the curve order */
    sig2[64] = 0;
    ck_assert_int_eq(ferry_ecdsa_recover(pub, sig2, msg, sizeof msg), FERRY_E_INVALID);
    struct ferry_keypair bob;
    ck_assert_int_eq(ferry_keypair_from_uri(&bob, FERRY_SCHEME_ECDSA, "//Bob", NULL), FERRY_OK);
    ck_assert_int_eq(ferry_ecdsa_verify(sig, bob.public_key, msg, sizeof msg), FERRY_E_VERIFY);
    ferry_keypair_clear(&bob);
    ferry_keypair_clear(&kp);
    for (size_t i = 0; i < sizeof kp; i++)
        ck_assert_uint_eq(((const uint8_t *)&kp)[i], 0);
}
END_TEST

START_TEST(ed25519_sign_verify)
{
    struct ferry_keypair kp;
    ck_assert_int_eq(ferry_keypair_from_uri(&kp, FERRY_SCHEME_ED25519, "//Alice", NULL), FERRY_OK);
    const uint8_t msg[] = "grandpa precommit";
    uint8_t sig[FERRY_SIG_MAX];
    size_t siglen;
    ck_assert_int_eq(ferry_keypair_sign(&kp, msg, sizeof msg, sig, &siglen), FERRY_OK);
    ck_assert_uint_eq(siglen, 64);
    ck_assert_int_eq(ferry_ed25519_verify(sig, kp.public_key, msg, sizeof msg), FERRY_OK);
    ck_assert_int_eq(ferry_ed25519_verify(sig, kp.public_key, msg, sizeof msg - 1), FERRY_E_VERIFY);
    sig[63] ^= 0x40;
    ck_assert_int_eq(ferry_ed25519_verify(sig, kp.public_key, msg, sizeof msg), FERRY_E_VERIFY);
    ferry_keypair_clear(&kp);
}
END_TEST

/* RFC 8032 section 7.1, TEST 1 (empty message). */
START_TEST(ed25519_rfc8032_test1)
{
    uint8_t seed[32], pub[32], sig[64];
    tu_hex_exact("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    ferry_ed25519_public(pub, seed);
    ck_assert_str_eq(tu_tohex(pub, 32),
                     "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    ferry_ed25519_sign(sig, seed, NULL, 0);
    ck_assert_str_eq(
        tu_tohex(sig, 64),
        "0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a3"
        "3bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    ck_assert_int_eq(ferry_ed25519_verify(sig, pub, NULL, 0), FERRY_OK);
}
END_TEST

START_TEST(ed25519_verifies_real_polkadot_extrinsic_signatures)
{
    TU_VECTOR_OR_SKIP(v, "extrinsics/polkadot-ed25519-signed.json");
    const cJSON *row;
    int n = 0;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(v, "vectors"))
    {
        const cJSON *d = cJSON_GetObjectItem(row, "decoded");
        if (strcmp(tu_str(d, "signature_type"), "Ed25519") != 0)
            continue;
        uint8_t pub[32], sig[64], digest[32];
        tu_hex_exact(tu_str(d, "signer"), pub, 32);
        tu_hex_exact(tu_str(d, "signature"), sig, 64);
        size_t len;
        uint8_t *payload = tu_hex(tu_str(row, "signing_payload"), &len);
        const uint8_t *msg = payload;
        if (len > 256) { /* Substrate signs blake2b-256 of a payload longer than 256 bytes */
            ferry_blake2b_256(digest, payload, len);
            msg = digest;
            len = 32;
        }
        ck_assert_msg(ferry_ed25519_verify(sig, pub, msg, len) == FERRY_OK, "%s",
                      tu_str(row, "name"));
        sig[5] ^= 1;
        ck_assert_int_eq(ferry_ed25519_verify(sig, pub, msg, len), FERRY_E_VERIFY);
        free(payload);
        n++;
    }
    ck_assert_int_ge(n, 11);
}
END_TEST

START_TEST(ed25519_verifies_a_real_grandpa_precommit)
{
    TU_VECTOR_OR_SKIP(v, "grandpa/westend-precommit-15693226-set6414.json");
    uint8_t pub[32], sig[64];
    tu_hex_exact(tu_str(v, "public_key"), pub, 32);
    tu_hex_exact(tu_str(v, "signature"), sig, 64);
    size_t len;
    uint8_t *payload = tu_hex(tu_str(v, "signed_payload"), &len);
    ck_assert_int_eq(ferry_ed25519_verify(sig, pub, payload, len), FERRY_OK);
    free(payload);
    payload =
        tu_hex(tu_str(cJSON_GetObjectItem(v, "negative"), "signed_payload_with_set_id_6415"), &len);
    ck_assert_int_eq(ferry_ed25519_verify(sig, pub, payload, len), FERRY_E_VERIFY);
    free(payload);
}
END_TEST

/* ---- key files ------------------------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-keys-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *write_file(const char *name, const char *content, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

START_TEST(keyfile_permissions_guard_secrets)
{
    TU_VECTOR_OR_SKIP(v, "hashing/ss58-and-keys.json");
    const char *hex_seed = tu_str(dev_key(v, "Alice ecdsa (//Alice)"), "secret_seed");
    const char *want_pub = tu_str(dev_key(v, "Alice ecdsa (//Alice)"), "public_key_compressed");
    make_tmpdir();
    struct ferry_keypair kp;
    struct ferry_reason why_r = {""};
    const char *why = why_r.text;
    char content[128];
    snprintf(content, sizeof content, "  %s\n", hex_seed);

    const char *p = write_file("secret", content, 0600);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_OK);
    ck_assert_str_eq(tu_tohex(kp.public_key, 33), want_pub);
    ferry_keypair_clear(&kp);

    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        p = write_file("secret", content, open_modes[i]);
        why_r.text[0] = 0;
        ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_STATE);
        ck_assert_ptr_nonnull(strstr(why, "group or others"));
        ck_assert_ptr_null(strstr(why, hex_seed + 2)); /* the reason never quotes the secret */
        ck_assert_uint_eq(kp.public_len, 0);
    }

    /* Public dev keys may be world-readable. */
    p = write_file("dev", "//Alice\n", 0644);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_OK);
    ck_assert_str_eq(tu_tohex(kp.public_key, 33), want_pub);
    ferry_keypair_clear(&kp);
    p = write_file("dev", FERRY_DEV_PHRASE "//Alice", 0644);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_OK);
    ferry_keypair_clear(&kp);
    p = write_file("dev", "//Alice///password", 0644);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_STATE);

    /* Other failures. */
    p = write_file("empty", " \n", 0600);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_INVALID);
    p = write_file("soft", "//Alice/soft", 0600);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_UNSUPPORTED);
    ck_assert_int_eq(ferry_keyfile_load(tmpdir, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_IO);
    char missing[96];
    snprintf(missing, sizeof missing, "%s/missing", tmpdir);
    ck_assert_int_eq(ferry_keyfile_load(missing, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_IO);
    ck_assert_str_eq(why, "key file does not exist");
    char big[5000];
    memset(big, '/', sizeof big - 1);
    big[sizeof big - 1] = 0;
    p = write_file("big", big, 0600);
    ck_assert_int_eq(ferry_keyfile_load(p, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_IO);
    remove_tmpdir();
}
END_TEST

/* Hand-made: a FIFO in place of the key file is refused at once. Opening it for reading without
 * O_NONBLOCK waits for a writer forever, before the regular-file check can run. */
START_TEST(keyfile_that_is_a_fifo_is_refused_without_blocking)
{
    make_tmpdir();
    char path[96];
    snprintf(path, sizeof path, "%s/fifo.key", tmpdir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    struct ferry_keypair kp;
    struct ferry_reason why_r = {""};
    const char *why = why_r.text;
    ck_assert_int_eq(ferry_keyfile_load(path, FERRY_SCHEME_ECDSA, &kp, &why_r), FERRY_E_IO);
    ck_assert_str_eq(why, "key file is not a regular file");
    remove_tmpdir();
}
END_TEST

START_TEST(keyfile_generate_is_private_and_never_overwrites)
{
    make_tmpdir();
    char path[96];
    snprintf(path, sizeof path, "%s/new.key", tmpdir);
    mode_t old = umask(0); /* even a permissive umask must give 0600 */
    struct ferry_reason why_r = {""};
    const char *why = why_r.text;
    ck_assert_int_eq(ferry_keyfile_generate(path, &why_r), FERRY_OK);
    umask(old);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_eq((size_t)st.st_size, 2 + 64 + 1);
    struct ferry_keypair a, b;
    ck_assert_int_eq(ferry_keyfile_load(path, FERRY_SCHEME_ECDSA, &a, &why_r), FERRY_OK);
    ck_assert_int_eq(ferry_keyfile_load(path, FERRY_SCHEME_ED25519, &b, &why_r), FERRY_OK);
    ck_assert_mem_eq(a.seed, b.seed, 32);
    ck_assert_int_eq(ferry_keyfile_generate(path, &why_r), FERRY_E_IO);
    ck_assert_ptr_nonnull(strstr(why, "exists"));
    struct ferry_keypair c;
    ck_assert_int_eq(ferry_keyfile_load(path, FERRY_SCHEME_ECDSA, &c, &why_r), FERRY_OK);
    ck_assert_mem_eq(a.seed, c.seed, 32); /* unchanged */
    /* Two generated keys differ. */
    char path2[96];
    snprintf(path2, sizeof path2, "%s/other.key", tmpdir);
    ck_assert_int_eq(ferry_keyfile_generate(path2, &why_r), FERRY_OK);
    ck_assert_int_eq(ferry_keyfile_load(path2, FERRY_SCHEME_ECDSA, &c, &why_r), FERRY_OK);
    ck_assert(memcmp(a.seed, c.seed, 32) != 0);
    ferry_keypair_clear(&a);
    ferry_keypair_clear(&b);
    ferry_keypair_clear(&c);
    remove_tmpdir();
}
END_TEST

Suite *keys_suite(void)
{
    Suite *s = suite_create("keys");
    TCase *dev = tcase_create("derivation");
    tcase_add_test(dev, ecdsa_alice_matches_subkey);
    tcase_add_test(dev, ed25519_alice_matches_subkey);
    tcase_add_test(dev, sr25519_alice_matches_subkey);
    tcase_add_test(dev, sr25519_secret_uris_match_schnorrkel);
    tcase_add_test(dev, dev_phrase_mini_secret);
    tcase_add_test(dev, bip39_phrases_match_substrate_bip39_vectors);
    tcase_add_test(dev, bip39_password_comes_from_the_secret_uri);
    tcase_add_test(dev, bip39_rejects_bad_phrases_without_quoting_them);
    tcase_add_test(dev, bip39_wordlist_is_complete_and_sorted);
    tcase_add_test(dev, pbkdf2_hmac_sha512_reference_values);
    tcase_add_test(dev, junction_chain_codes_follow_scale_encoding);
    tcase_add_test(dev, secret_uri_forms);
    tcase_add_test(dev, secret_uri_errors);
    tcase_add_test(dev, public_uris_are_only_dev_phrase_derivations);
    tcase_add_test(dev, scheme_names);
    tcase_set_timeout(dev, 30);
    suite_add_tcase(s, dev);
    TCase *sig = tcase_create("signatures");
    tcase_add_test(sig, ecdsa_sign_verify_recover);
    tcase_add_test(sig, ed25519_sign_verify);
    tcase_add_test(sig, ed25519_rfc8032_test1);
    tcase_add_test(sig, ed25519_verifies_real_polkadot_extrinsic_signatures);
    tcase_add_test(sig, ed25519_verifies_a_real_grandpa_precommit);
    suite_add_tcase(s, sig);
    TCase *files = tcase_create("keyfiles");
    tcase_add_test(files, keyfile_permissions_guard_secrets);
    tcase_add_test(files, keyfile_generate_is_private_and_never_overwrites);
    tcase_add_test(files, keyfile_that_is_a_fifo_is_refused_without_blocking);
    suite_add_tcase(s, files);
    return s;
}
