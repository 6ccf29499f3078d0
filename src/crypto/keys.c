/* Secret URIs, BIP39 phrases, hard derivation, key pairs and key files (see keys.h).
 *
 * The rules follow sp_core's `Pair::from_string_with_seed`: a secret URI is split into phrase,
 * junctions and password exactly like Substrate's regular expression
 *     ^(?P<phrase>[a-zA-Z0-9 ]+)?(?P<path>(//?[^/]+)*)(///(?P<password>.*))?$
 * would split it; the phrase is a 0x hex seed or a BIP39 phrase (the dev phrase when absent);
 * each junction is applied with the scheme's hard-derivation hash. Nothing in here writes
 * secret material into an error reason, and every buffer that held a secret is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/keys.h"
#include "ferry/scale.h"
#include "src/crypto/bip39_english.h"
#include "src/crypto/hdkd.h"

#define KEYFILE_MAX 4096

static void set_why(const char **why, const char *reason)
{
    if (why)
        *why = reason;
}

const char *ferry_scheme_name(enum ferry_scheme scheme)
{
    switch (scheme) {
    case FERRY_SCHEME_SR25519:
        return "sr25519";
    case FERRY_SCHEME_ED25519:
        return "ed25519";
    default:
        return "ecdsa";
    }
}

ferry_err ferry_scheme_parse(const char *name, enum ferry_scheme *out)
{
    if (strcmp(name, "ecdsa") == 0) {
        *out = FERRY_SCHEME_ECDSA;
        return FERRY_OK;
    }
    if (strcmp(name, "ed25519") == 0) {
        *out = FERRY_SCHEME_ED25519;
        return FERRY_OK;
    }
    if (strcmp(name, "sr25519") == 0) {
        *out = FERRY_SCHEME_SR25519;
        return FERRY_OK;
    }
    return FERRY_E_ARG;
}

/* ---- PBKDF2-HMAC-SHA512 ------------------------------------------------------------------------
 */

ferry_err ferry_pbkdf2_hmac_sha512(uint8_t *out, size_t outlen, const uint8_t *password,
                                   size_t password_len, const uint8_t *salt, size_t salt_len,
                                   uint32_t rounds)
{
    static const uint8_t empty[1];
    if (rounds == 0 || outlen == 0)
        return FERRY_E_ARG;
    /* The keyed state after init is the same for every HMAC call; compute it once. */
    crypto_auth_hmacsha512_state keyed, st;
    crypto_auth_hmacsha512_init(&keyed, password ? password : empty, password_len);
    uint8_t u[crypto_auth_hmacsha512_BYTES], t[crypto_auth_hmacsha512_BYTES];
    size_t done = 0;
    for (uint32_t block = 1; done < outlen; block++) {
        const uint8_t ctr[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16),
                                (uint8_t)(block >> 8), (uint8_t)block};
        st = keyed;
        crypto_auth_hmacsha512_update(&st, salt ? salt : empty, salt_len);
        crypto_auth_hmacsha512_update(&st, ctr, sizeof ctr);
        crypto_auth_hmacsha512_final(&st, u);
        memcpy(t, u, sizeof t);
        for (uint32_t r = 1; r < rounds; r++) {
            st = keyed;
            crypto_auth_hmacsha512_update(&st, u, sizeof u);
            crypto_auth_hmacsha512_final(&st, u);
            for (size_t i = 0; i < sizeof t; i++)
                t[i] ^= u[i];
        }
        size_t n = outlen - done < sizeof t ? outlen - done : sizeof t;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(&keyed, sizeof keyed);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(u, sizeof u);
    sodium_memzero(t, sizeof t);
    return FERRY_OK;
}

/* ---- BIP39 -------------------------------------------------------------------------------------
 */

static int word_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

/* Returns: the index of word[len] in the English list, or -1. */
static int word_index(const char *word, size_t len)
{
    char buf[16];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, word, len);
    buf[len] = 0;
    const char *const *hit = bsearch(buf, ferry_bip39_english, FERRY_BIP39_WORDS,
                                     sizeof ferry_bip39_english[0], word_cmp);
    sodium_memzero(buf, sizeof buf);
    return hit ? (int)(hit - ferry_bip39_english) : -1;
}

static ferry_err bip39_entropy_sr(const char *phrase, size_t len, uint8_t entropy[32],
                                  size_t *entropy_len, const char **why)
{
    uint8_t bits[33] = {0}; /* 24 words * 11 bits = 264 bits */
    size_t words = 0, p = 0;
    ferry_err err = FERRY_OK;
    *entropy_len = 0;
    while (p < len) {
        if (phrase[p] == ' ') {
            p++;
            continue;
        }
        size_t start = p;
        while (p < len && phrase[p] != ' ')
            p++;
        if (words == 24) {
            set_why(why, "BIP39 phrase has more than 24 words");
            err = FERRY_E_INVALID;
            goto out;
        }
        int idx = word_index(phrase + start, p - start);
        if (idx < 0) {
            set_why(why, "BIP39 phrase contains a word that is not in the English wordlist");
            err = FERRY_E_INVALID;
            goto out;
        }
        for (int b = 10; b >= 0; b--) {
            size_t bit = words * 11 + (size_t)(10 - b);
            if ((idx >> b) & 1)
                bits[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
        }
        words++;
    }
    if (words < 12 || words % 3 != 0) {
        set_why(why, "BIP39 phrase must have 12, 15, 18, 21 or 24 words");
        err = FERRY_E_INVALID;
        goto out;
    }
    size_t ent_bytes = words * 11 * 32 / 33 / 8; /* 16..32 */
    size_t cs_bits = words * 11 - ent_bytes * 8; /* 4..8 */
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, bits, ent_bytes);
    unsigned want = digest[0] >> (8 - cs_bits);
    unsigned got = 0;
    for (size_t i = 0; i < cs_bits; i++) {
        size_t bit = ent_bytes * 8 + i;
        got = got << 1 | ((bits[bit / 8] >> (7 - bit % 8)) & 1u);
    }
    sodium_memzero(digest, sizeof digest);
    if (want != got) {
        set_why(why, "BIP39 phrase checksum does not match (a word is wrong or out of order)");
        err = FERRY_E_VERIFY;
        goto out;
    }
    memcpy(entropy, bits, ent_bytes);
    *entropy_len = ent_bytes;
out:
    sodium_memzero(bits, sizeof bits);
    return err;
}

static ferry_err mini_secret(uint8_t out[FERRY_SEED_LEN], const char *phrase, size_t len,
                             const char *password, size_t password_len, const char **why)
{
    uint8_t entropy[32], seed[64];
    size_t elen;
    ferry_err err = bip39_entropy_sr(phrase, len, entropy, &elen, why);
    if (err)
        return err;
    uint8_t *salt = malloc(8 + password_len);
    if (!salt) {
        sodium_memzero(entropy, sizeof entropy);
        set_why(why, "out of memory");
        return FERRY_E_NOMEM;
    }
    memcpy(salt, "mnemonic", 8);
    if (password_len)
        memcpy(salt + 8, password, password_len);
    err = ferry_pbkdf2_hmac_sha512(seed, sizeof seed, entropy, elen, salt, 8 + password_len, 2048);
    memcpy(out, seed, FERRY_SEED_LEN);
    sodium_memzero(salt, 8 + password_len);
    free(salt);
    sodium_memzero(entropy, sizeof entropy);
    sodium_memzero(seed, sizeof seed);
    return err;
}

static ferry_err bip39_mini_secret_sr(uint8_t out[FERRY_SEED_LEN], const char *phrase, size_t len,
                                      const char *password, const char **why)
{
    return mini_secret(out, phrase, len, password ? password : "", password ? strlen(password) : 0,
                       why);
}

/* ---- junctions ---------------------------------------------------------------------------------
 */

/* Returns: 1 and *v when text[len] is what Rust's `str::parse::<u64>` accepts, else 0. */
static int parse_u64(const char *text, size_t len, uint64_t *v)
{
    size_t i = 0;
    if (len > 0 && text[0] == '+')
        i = 1;
    if (i == len)
        return 0;
    uint64_t acc = 0;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        unsigned d = (unsigned)(text[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return 0;
        acc = acc * 10 + d;
    }
    *v = acc;
    return 1;
}

ferry_err ferry_junction_chain_code(uint8_t cc[32], const char *text, size_t len)
{
    uint64_t n;
    memset(cc, 0, 32);
    if (parse_u64(text, len, &n)) {
        for (int i = 0; i < 8; i++)
            cc[i] = (uint8_t)(n >> (8 * i));
        return FERRY_OK;
    }
    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_byte_vec(&w, text, len);
    ferry_err err = ferry_scale_writer_error(&w);
    if (!err) {
        if (w.len > 32)
            ferry_blake2b_256(cc, w.buf, w.len);
        else
            memcpy(cc, w.buf, w.len);
    }
    if (w.buf)
        sodium_memzero(w.buf, w.len);
    ferry_scale_writer_free(&w);
    return err;
}

/* ---- secret URIs -------------------------------------------------------------------------------
 */

struct suri {
    const char *phrase; /* NULL: absent (the dev phrase) */
    size_t phrase_len;
    const char *path; /* the junctions, "//a/b//c" */
    size_t path_len;
    const char *password; /* NULL: none */
    size_t password_len;
};

static int phrase_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ';
}

/* Split uri the way Substrate's regular expression does. Returns: 1 when it matches. */
static int suri_split(const char *uri, struct suri *s)
{
    const char *p = uri;
    memset(s, 0, sizeof *s);
    while (phrase_char(*p))
        p++;
    if (p > uri) {
        s->phrase = uri;
        s->phrase_len = (size_t)(p - uri);
    }
    s->path = p;
    while (*p == '/') {
        if (p[1] == '/' && p[2] == '/') {
            s->password = p + 3;
            s->password_len = strlen(p + 3);
            if (memchr(s->password, '\n', s->password_len))
                return 0; /* `.` does not match a newline */
            break;
        }
        const char *start = p + (p[1] == '/' ? 2 : 1);
        const char *end = start;
        while (*end && *end != '/')
            end++;
        if (end == start)
            return 0; /* "//" or "/" with no name */
        p = end;
    }
    s->path_len = (size_t)((s->password ? s->password - 3 : p) - s->path);
    return s->password || *p == 0;
}

int ferry_secret_uri_is_public(const char *uri)
{
    struct suri s;
    if (!suri_split(uri, &s) || s.password)
        return 0;
    return !s.phrase || (s.phrase_len == strlen(FERRY_DEV_PHRASE) &&
                         memcmp(s.phrase, FERRY_DEV_PHRASE, s.phrase_len) == 0);
}

static ferry_err hex_seed(uint8_t seed[FERRY_SEED_LEN], const char *text, size_t len,
                          const char **why)
{
    char buf[2 + 2 * FERRY_SEED_LEN + 1];
    ferry_err err = FERRY_E_INVALID;
    if (len == sizeof buf - 1) {
        memcpy(buf, text, len);
        buf[len] = 0;
        err = ferry_hex_decode_exact(buf, seed, FERRY_SEED_LEN) ? FERRY_E_INVALID : FERRY_OK;
        sodium_memzero(buf, sizeof buf);
    }
    if (err) {
        sodium_memzero(seed, FERRY_SEED_LEN);
        set_why(why, "secret seed must be 0x followed by 64 hex digits (32 bytes)");
    }
    return err;
}

/* Walk uri for scheme. seed gets the root seed, then each hard junction's; for sr25519 *sr
 * (when non-NULL) gets the key pair, soft junctions included, and seed is zeroed by a soft
 * junction. With sr NULL a soft junction is an error for every scheme. */
static ferry_err derive_uri(enum ferry_scheme scheme, const char *uri, uint8_t seed[FERRY_SEED_LEN],
                            struct ferry_sr25519_keypair *sr, const char **why)
{
    struct suri s;
    ferry_err err;
    struct ferry_sr25519_keypair kp;
    memset(seed, 0, FERRY_SEED_LEN);
    memset(&kp, 0, sizeof kp);
    if (!suri_split(uri, &s)) {
        set_why(why, "not a secret URI: expected <phrase or 0x seed>[//hard...][///password]");
        return FERRY_E_INVALID;
    }
    if (s.phrase && s.phrase_len >= 2 && s.phrase[0] == '0' && s.phrase[1] == 'x') {
        err = hex_seed(seed, s.phrase, s.phrase_len, why);
    } else if (s.phrase) {
        err = mini_secret(seed, s.phrase, s.phrase_len, s.password, s.password_len, why);
    } else {
        err = mini_secret(seed, FERRY_DEV_PHRASE, strlen(FERRY_DEV_PHRASE), s.password,
                          s.password_len, why);
    }
    if (!err && scheme == FERRY_SCHEME_SR25519)
        ferry_sr25519_from_mini_secret(&kp, seed);
    const char *p = s.path, *end = s.path + s.path_len;
    while (!err && p < end) {
        int hard = p[1] == '/';
        const char *name = p + 1 + hard;
        const char *stop = name;
        while (stop < end && *stop != '/')
            stop++;
        if (!hard && scheme != FERRY_SCHEME_SR25519) {
            set_why(why, "soft derivation (/name) is not supported for ecdsa or ed25519 keys "
                         "(sr25519 only); use //name");
            err = FERRY_E_UNSUPPORTED;
            break;
        }
        if (!hard && !sr) {
            set_why(why, "an sr25519 path with a soft junction (/name) has no seed, only a key "
                         "pair");
            err = FERRY_E_UNSUPPORTED;
            break;
        }
        uint8_t cc[32];
        err = ferry_junction_chain_code(cc, name, (size_t)(stop - name));
        if (err) {
            set_why(why, "out of memory");
            break;
        }
        if (scheme == FERRY_SCHEME_SR25519 && hard) {
            err = ferry_sr25519_hard_mini_secret(seed, &kp, cc);
            if (!err)
                ferry_sr25519_from_mini_secret(&kp, seed);
        } else if (scheme == FERRY_SCHEME_SR25519) {
            err = ferry_sr25519_derive_soft(&kp, &kp, cc);
            sodium_memzero(seed, FERRY_SEED_LEN); /* a soft child has no mini secret */
        } else if (scheme == FERRY_SCHEME_ED25519) {
            ferry_ed25519_derive_hard(seed, seed, cc);
        } else {
            ferry_ecdsa_derive_hard(seed, seed, cc);
        }
        sodium_memzero(cc, sizeof cc);
        if (err)
            set_why(why, "sr25519 derivation failed");
        p = stop;
    }
    if (err)
        sodium_memzero(seed, FERRY_SEED_LEN);
    else if (sr)
        *sr = kp;
    ferry_sr25519_keypair_wipe(&kp);
    return err;
}

static ferry_err secret_uri_seed_sr(enum ferry_scheme scheme, const char *uri,
                                    uint8_t seed[FERRY_SEED_LEN], const char **why)
{
    return derive_uri(scheme, uri, seed, NULL, why);
}

/* ---- key pairs ---------------------------------------------------------------------------------
 */

ferry_err ferry_keypair_from_seed(struct ferry_keypair *kp, enum ferry_scheme scheme,
                                  const uint8_t seed[FERRY_SEED_LEN])
{
    memset(kp, 0, sizeof *kp);
    kp->scheme = scheme;
    memcpy(kp->seed, seed, FERRY_SEED_LEN);
    if (scheme == FERRY_SCHEME_SR25519) {
        ferry_sr25519_from_mini_secret(&kp->sr25519, kp->seed);
        memcpy(kp->public_key, kp->sr25519.public_key, FERRY_SR25519_PUBLIC_LEN);
        kp->public_len = FERRY_SR25519_PUBLIC_LEN;
        return FERRY_OK;
    }
    if (scheme == FERRY_SCHEME_ED25519) {
        ferry_ed25519_public(kp->public_key, kp->seed);
        kp->public_len = FERRY_ED25519_PUBLIC_LEN;
        return FERRY_OK;
    }
    ferry_err err = ferry_ecdsa_public(kp->public_key, kp->seed);
    if (err) {
        ferry_keypair_clear(kp);
        return err;
    }
    kp->public_len = FERRY_ECDSA_PUBLIC_LEN;
    return FERRY_OK;
}

static ferry_err keypair_from_uri_sr(struct ferry_keypair *kp, enum ferry_scheme scheme,
                                     const char *uri, const char **why)
{
    uint8_t seed[FERRY_SEED_LEN];
    memset(kp, 0, sizeof *kp);
    if (scheme == FERRY_SCHEME_SR25519) {
        ferry_err err = derive_uri(scheme, uri, seed, &kp->sr25519, why);
        if (!err) {
            kp->scheme = scheme;
            memcpy(kp->seed, seed, FERRY_SEED_LEN);
            memcpy(kp->public_key, kp->sr25519.public_key, FERRY_SR25519_PUBLIC_LEN);
            kp->public_len = FERRY_SR25519_PUBLIC_LEN;
        }
        sodium_memzero(seed, sizeof seed);
        return err;
    }
    ferry_err err = secret_uri_seed_sr(scheme, uri, seed, why);
    if (!err) {
        err = ferry_keypair_from_seed(kp, scheme, seed);
        if (err == FERRY_E_ARG)
            set_why(why, "derived secret is not a valid secp256k1 key");
        else if (err)
            set_why(why, "out of memory");
    }
    sodium_memzero(seed, sizeof seed);
    return err;
}

void ferry_keypair_account_id(const struct ferry_keypair *kp, uint8_t out[32])
{
    if (kp->scheme == FERRY_SCHEME_ECDSA)
        ferry_ecdsa_account_id(out, kp->public_key);
    else
        memcpy(out, kp->public_key, 32);
}

ferry_err ferry_keypair_sign(const struct ferry_keypair *kp, const uint8_t *msg, size_t len,
                             uint8_t sig[FERRY_SIG_MAX], size_t *siglen)
{
    if (kp->scheme == FERRY_SCHEME_SR25519) {
        static const uint8_t ctx[] = "substrate";
        ferry_err err = ferry_sr25519_sign(&kp->sr25519, ctx, sizeof ctx - 1, msg, len, sig);
        *siglen = err ? 0 : FERRY_SR25519_SIGNATURE_LEN;
        return err;
    }
    if (kp->scheme == FERRY_SCHEME_ED25519) {
        ferry_ed25519_sign(sig, kp->seed, msg, len);
        *siglen = FERRY_ED25519_SIG_LEN;
        return FERRY_OK;
    }
    ferry_err err = ferry_ecdsa_sign(sig, kp->seed, msg, len);
    *siglen = err ? 0 : FERRY_ECDSA_SIG_LEN;
    return err;
}

void ferry_keypair_clear(struct ferry_keypair *kp)
{
    sodium_memzero(kp, sizeof *kp);
}

/* ---- key files ---------------------------------------------------------------------------------
 */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static ferry_err keyfile_load_sr(const char *path, enum ferry_scheme scheme,
                                 struct ferry_keypair *kp, const char **why)
{
    char buf[KEYFILE_MAX + 2];
    size_t n = 0;
    ferry_err err = FERRY_OK;
    struct stat st;
    memset(kp, 0, sizeof *kp);
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before the
     * regular-file check below could refuse it (reads from a regular file never block). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        set_why(why, errno == ENOENT ? "key file does not exist" : "cannot open key file");
        return FERRY_E_IO;
    }
    /* Check the file that was opened, not the name (no race with a swapped file). */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        set_why(why, "key file is not a regular file");
        return FERRY_E_IO;
    }
    for (;;) {
        ssize_t got = read(fd, buf + n, sizeof buf - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            set_why(why, "cannot read key file");
            err = FERRY_E_IO;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > KEYFILE_MAX) {
            set_why(why, "key file is larger than 4 KiB; it should hold one secret URI");
            err = FERRY_E_IO;
            break;
        }
    }
    close(fd);
    buf[n] = 0;
    if (!err && memchr(buf, 0, n)) {
        set_why(why, "key file contains a NUL byte; it should hold one secret URI");
        err = FERRY_E_INVALID;
    }
    char *s = buf;
    if (!err) {
        while (is_space(*s))
            s++;
        size_t len = strlen(s);
        while (len > 0 && is_space(s[len - 1]))
            s[--len] = 0;
        if (len == 0) {
            set_why(why, "key file is empty");
            err = FERRY_E_INVALID;
        }
    }
    if (!err && (st.st_mode & 077) && !ferry_secret_uri_is_public(s)) {
        set_why(why, "key file is accessible to group or others; a secret must be private "
                     "(chmod 600 it)");
        err = FERRY_E_STATE;
    }
    if (!err)
        err = keypair_from_uri_sr(kp, scheme, s, why);
    sodium_memzero(buf, sizeof buf);
    return err;
}

static ferry_err keyfile_generate_sr(const char *path, const char **why)
{
    uint8_t seed[FERRY_SEED_LEN], pub[FERRY_ECDSA_PUBLIC_LEN];
    char text[2 + 2 * FERRY_SEED_LEN + 2];
    if (sodium_init() < 0) {
        set_why(why, "no source of randomness (libsodium could not initialise)");
        return FERRY_E_IO;
    }
    /* A uniformly random 32-byte string is a valid secp256k1 secret except with probability
     * ~2^-128; retry then so the file works for both schemes. */
    do {
        randombytes_buf(seed, sizeof seed);
    } while (ferry_ecdsa_public(pub, seed) == FERRY_E_ARG);
    ferry_hex_encode(seed, sizeof seed, text);
    sodium_memzero(seed, sizeof seed);
    size_t len = strlen(text);
    text[len++] = '\n';

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        sodium_memzero(text, sizeof text);
        set_why(why, errno == EEXIST ? "file already exists; refusing to overwrite a key file"
                                     : "cannot create key file");
        return FERRY_E_IO;
    }
    ferry_err err = FERRY_OK;
    size_t done = 0;
    /* The umask can only clear bits; fchmod makes 0600 exact whatever it is. */
    if (fchmod(fd, 0600) != 0)
        err = FERRY_E_IO;
    while (!err && done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            err = FERRY_E_IO;
        else
            done += (size_t)w;
    }
    if (!err && fsync(fd) != 0)
        err = FERRY_E_IO;
    if (close(fd) != 0)
        err = FERRY_E_IO;
    sodium_memzero(text, sizeof text);
    if (err) {
        unlink(path);
        set_why(why, "cannot write key file");
    }
    return err;
}

void ferry_hdkd_hard(uint8_t out[32], const char *tag, const uint8_t secret[32],
                     const uint8_t chain_code[32])
{
    size_t n = strlen(tag);
    uint8_t buf[1 + 63 + 32 + 32];
    buf[0] = (uint8_t)(n << 2);
    memcpy(buf + 1, tag, n);
    memcpy(buf + 1 + n, secret, 32);
    memcpy(buf + 1 + n + 32, chain_code, 32);
    ferry_blake2b_256(out, buf, 1 + n + 64);
    sodium_memzero(buf, sizeof buf);
}

/* ---- the public forms: the same functions with a struct ferry_reason (error.h) ----------------
 */

ferry_err ferry_bip39_entropy(const char *phrase, size_t len, uint8_t entropy[32],
                              size_t *entropy_len, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = bip39_entropy_sr(phrase, len, entropy, entropy_len, why ? &reason : NULL);
    if (err)
        ferry_reason_set(why, err, "%s", reason ? reason : ferry_strerror(err));
    return err;
}

ferry_err ferry_bip39_mini_secret(uint8_t out[FERRY_SEED_LEN], const char *phrase, size_t len,
                                  const char *password, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = bip39_mini_secret_sr(out, phrase, len, password, why ? &reason : NULL);
    if (err)
        ferry_reason_set(why, err, "%s", reason ? reason : ferry_strerror(err));
    return err;
}

ferry_err ferry_secret_uri_seed(enum ferry_scheme scheme, const char *uri,
                                uint8_t seed[FERRY_SEED_LEN], struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = secret_uri_seed_sr(scheme, uri, seed, why ? &reason : NULL);
    if (err)
        ferry_reason_set(why, err, "%s", reason ? reason : ferry_strerror(err));
    return err;
}

ferry_err ferry_keypair_from_uri(struct ferry_keypair *kp, enum ferry_scheme scheme,
                                 const char *uri, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = keypair_from_uri_sr(kp, scheme, uri, why ? &reason : NULL);
    if (err)
        ferry_reason_set(why, err, "%s", reason ? reason : ferry_strerror(err));
    return err;
}

ferry_err ferry_keyfile_load(const char *path, enum ferry_scheme scheme, struct ferry_keypair *kp,
                             struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = keyfile_load_sr(path, scheme, kp, why ? &reason : NULL);
    if (err)
        ferry_reason_set(why, err, "%s", reason ? reason : ferry_strerror(err));
    return err;
}

ferry_err ferry_keyfile_generate(const char *path, struct ferry_reason *why)
{
    const char *reason = NULL;
    ferry_err err = keyfile_generate_sr(path, why ? &reason : NULL);
    if (err)
        ferry_reason_set(why, err, "%s", reason ? reason : ferry_strerror(err));
    return err;
}
