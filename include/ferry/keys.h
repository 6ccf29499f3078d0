/* ferry — signing keys the Substrate way: sr25519 (sr25519.h, the default, as in subkey and
 * polkadot-js), ed25519 (libsodium), ECDSA over secp256k1 (libsecp256k1), secret URIs, BIP39
 * phrases, hard and soft derivation and key files.
 *
 * sr25519  schnorrkel as Substrate uses it (see sr25519.h): the seed is the 32-byte mini secret;
 *          the public key and the account id are the 32-byte ristretto255 point; signatures are
 *          64 bytes under the signing context "substrate" and randomised.
 *
 * ed25519  keypair from a 32-byte seed (RFC 8032); signatures are 64 bytes. Verification uses
 *          libsodium, which is stricter than the ZIP-215 rules Substrate applies through
 *          ed25519-zebra: it rejects non-canonical encodings of R and A, a non-canonical S, and
 *          small-order public keys or R points. Every signature an honest signer produces
 *          passes both; a deliberately malformed one that ZIP-215 would accept is refused here.
 *          For a light client that only follows finality this errs on the safe side.
 * ECDSA    as sp_core::ecdsa: the secret is 32 bytes, the public key the 33-byte compressed
 *          point, signatures are 65 bytes r ‖ s ‖ v (v = recovery id 0..3) over
 *          blake2b-256(message), made with RFC 6979 nonces (low-s). Verification recovers the
 *          key from the signature and compares it with the expected one, as Substrate does.
 *          The account id is blake2b-256(compressed public key).
 *
 * Secret URIs (what `subkey` and Substrate's `Pair::from_string` read):
 *     [<phrase> | 0x<64 hex digits>] (//<hard> | /<soft>)* [///<password>]
 * A missing phrase means the public development phrase (FERRY_DEV_PHRASE), so "//Alice" is
 * Alice's dev key. A BIP39 phrase becomes a 32-byte mini-secret through
 * PBKDF2-HMAC-SHA512(password = the phrase's entropy bytes, salt = "mnemonic" ‖ password,
 * 2048 rounds) — Substrate's rule, not BIP39's (which hashes the phrase text). For ed25519 and
 * ECDSA each hard junction replaces the seed with blake2b-256(SCALE(name) ‖ seed ‖ chain code),
 * name being "Ed25519HDKD" or "Secp256k1HDKD"; for sr25519 hard (//x) and soft (/x) junctions
 * follow schnorrkel's HDKD (ferry_sr25519_derive_hard/_soft). The chain code is the SCALE
 * encoding of the junction (a decimal number that fits u64 as u64 little-endian, anything else
 * as a SCALE string), zero-padded to 32 bytes, or blake2b-256'd when longer. Soft junctions are
 * an error for ed25519 and ECDSA (Substrate refuses them too). A password is ignored with a hex
 * seed, as in Substrate.
 *
 * Secrets are wiped (sodium_memzero) once used; no function here puts secret material in an
 * error reason.
 */
#ifndef FERRY_KEYS_H
#define FERRY_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/sr25519.h"

#define FERRY_SEED_LEN           32
#define FERRY_ED25519_PUBLIC_LEN 32
#define FERRY_ED25519_SIG_LEN    64
#define FERRY_ECDSA_PUBLIC_LEN   33
#define FERRY_ECDSA_SIG_LEN      65
#define FERRY_PUBLIC_MAX         33
#define FERRY_SIG_MAX            65

/* The public development phrase: the root of //Alice, //Bob, ... on every dev chain. */
#define FERRY_DEV_PHRASE "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

enum ferry_scheme {
    FERRY_SCHEME_ECDSA,
    FERRY_SCHEME_ED25519,
    FERRY_SCHEME_SR25519,
};

/* The scheme a key means when none is named: sr25519, as subkey and polkadot-js assume. */
#define FERRY_SCHEME_DEFAULT FERRY_SCHEME_SR25519

/* Returns: "ecdsa", "ed25519" or "sr25519". */
const char *ferry_scheme_name(enum ferry_scheme scheme);

/* Parse "sr25519", "ed25519" or "ecdsa" into *out.
 * Returns: FERRY_OK; FERRY_E_ARG for anything else. */
FERRY_WARN_UNUSED ferry_err ferry_scheme_parse(const char *name, enum ferry_scheme *out);

/* ---- ed25519 (src/crypto/ed25519.c) ---------------------------------------------------------- */

/* Out: pub = the ed25519 public key of seed. */
void ferry_ed25519_public(uint8_t pub[FERRY_ED25519_PUBLIC_LEN],
                          const uint8_t seed[FERRY_SEED_LEN]);

/* Out: sig = the (deterministic) ed25519 signature of msg[len] by the key with this seed. */
void ferry_ed25519_sign(uint8_t sig[FERRY_ED25519_SIG_LEN], const uint8_t seed[FERRY_SEED_LEN],
                        const uint8_t *msg, size_t len);

/* Returns: FERRY_OK when sig is pub's signature of msg[len] under libsodium's rules (see the top
 *          of this file), else FERRY_E_VERIFY. */
FERRY_WARN_UNUSED ferry_err ferry_ed25519_verify(const uint8_t sig[FERRY_ED25519_SIG_LEN],
                                                 const uint8_t pub[FERRY_ED25519_PUBLIC_LEN],
                                                 const uint8_t *msg, size_t len);

/* Out: out = blake2b-256(SCALE("Ed25519HDKD") ‖ seed ‖ chain_code). out may alias seed. */
void ferry_ed25519_derive_hard(uint8_t out[FERRY_SEED_LEN], const uint8_t seed[FERRY_SEED_LEN],
                               const uint8_t chain_code[32]);

/* ---- ECDSA / secp256k1 (src/crypto/ecdsa.c) -------------------------------------------------- */

/* Out: pub = the compressed public key of secret.
 * Returns: FERRY_OK; FERRY_E_ARG when secret is zero or not below the curve order (pub is then
 *          zeroed); FERRY_E_NOMEM when the shared context could not be created. */
FERRY_WARN_UNUSED ferry_err ferry_ecdsa_public(uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                                               const uint8_t secret[FERRY_SEED_LEN]);

/* Sign blake2b-256(msg[len]) (ferry_ecdsa_sign) or a 32-byte digest (..._prehashed).
 * Out: sig = r ‖ s ‖ v, low-s, v in 0..3.
 * Returns: FERRY_OK; FERRY_E_ARG for an invalid secret; FERRY_E_NOMEM (no context). On failure
 *          sig is zeroed. */
FERRY_WARN_UNUSED ferry_err ferry_ecdsa_sign(uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                             const uint8_t secret[FERRY_SEED_LEN],
                                             const uint8_t *msg, size_t len);
FERRY_WARN_UNUSED ferry_err ferry_ecdsa_sign_prehashed(uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                                       const uint8_t secret[FERRY_SEED_LEN],
                                                       const uint8_t digest[32]);

/* Recover the signer's compressed public key from sig over blake2b-256(msg[len]) (or over a
 * 32-byte digest).
 * Returns: FERRY_OK; FERRY_E_INVALID when v > 3 or r/s are not valid scalars; FERRY_E_VERIFY when
 *          no key recovers; FERRY_E_NOMEM. On failure pub is zeroed. */
FERRY_WARN_UNUSED ferry_err ferry_ecdsa_recover(uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                                                const uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                                const uint8_t *msg, size_t len);
FERRY_WARN_UNUSED ferry_err ferry_ecdsa_recover_prehashed(uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                                                          const uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                                          const uint8_t digest[32]);

/* Returns: FERRY_OK when sig over blake2b-256(msg[len]) recovers to pub, else FERRY_E_VERIFY
 *          (FERRY_E_NOMEM when the context could not be created). */
FERRY_WARN_UNUSED ferry_err ferry_ecdsa_verify(const uint8_t sig[FERRY_ECDSA_SIG_LEN],
                                               const uint8_t pub[FERRY_ECDSA_PUBLIC_LEN],
                                               const uint8_t *msg, size_t len);

/* Out: out = blake2b-256(pub), the account id of an ECDSA key. */
void ferry_ecdsa_account_id(uint8_t out[32], const uint8_t pub[FERRY_ECDSA_PUBLIC_LEN]);

/* Out: out = blake2b-256(SCALE("Secp256k1HDKD") ‖ secret ‖ chain_code). out may alias secret. */
void ferry_ecdsa_derive_hard(uint8_t out[FERRY_SEED_LEN], const uint8_t secret[FERRY_SEED_LEN],
                             const uint8_t chain_code[32]);

/* ---- BIP39, junctions, secret URIs (src/crypto/keys.c) -------------------------------------- */

/* PBKDF2 (RFC 8018) with HMAC-SHA512 (libsodium).
 * Out: out[outlen].
 * Returns: FERRY_OK, or FERRY_E_ARG when rounds is 0 or outlen is 0. */
FERRY_WARN_UNUSED ferry_err ferry_pbkdf2_hmac_sha512(uint8_t *out, size_t outlen,
                                                     const uint8_t *password, size_t password_len,
                                                     const uint8_t *salt, size_t salt_len,
                                                     uint32_t rounds);

/* Turn an English BIP39 phrase (12/15/18/21/24 lower-case words separated by spaces) into its
 * entropy, verifying the checksum.
 * Out: entropy[*entropy_len] (16..32 bytes); on failure *why (when non-NULL) the reason,
 *      that never quotes the phrase.
 * Returns: FERRY_OK; FERRY_E_INVALID (unknown word, bad word count); FERRY_E_VERIFY (checksum). */
FERRY_WARN_UNUSED ferry_err ferry_bip39_entropy(const char *phrase, size_t len, uint8_t entropy[32],
                                                size_t *entropy_len, struct ferry_reason *why);

/* Substrate's mini-secret of a BIP39 phrase: the first 32 bytes of
 * PBKDF2-HMAC-SHA512(entropy, "mnemonic" ‖ password, 2048). password may be NULL ("").
 * Returns: as ferry_bip39_entropy. */
FERRY_WARN_UNUSED ferry_err ferry_bip39_mini_secret(uint8_t out[FERRY_SEED_LEN], const char *phrase,
                                                    size_t len, const char *password,
                                                    struct ferry_reason *why);

/* The chain code of a junction's text (without its leading slashes): a decimal number that fits
 * u64 (an optional leading '+', as Rust's u64 parser allows) is encoded as u64 little-endian,
 * anything else as a SCALE string; the encoding is zero-padded to 32 bytes or, when longer,
 * replaced by its blake2b-256.
 * Returns: FERRY_OK, FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_junction_chain_code(uint8_t cc[32], const char *text, size_t len);

/* Derive the seed a secret URI names for scheme (see the top of this file). For sr25519 the
 * seed is the mini secret of the last hard junction (what subkey prints as "Secret seed"); a
 * path with a soft junction has none (FERRY_E_UNSUPPORTED; ferry_keypair_from_uri derives it).
 * Out: seed; on failure *why (when non-NULL) the reason (it quotes nothing secret).
 * Returns: FERRY_OK; FERRY_E_INVALID (malformed URI, bad phrase, bad hex seed, empty junction);
 *          FERRY_E_VERIFY (phrase checksum); FERRY_E_UNSUPPORTED (soft junction);
 *          FERRY_E_ARG (derived ECDSA secret out of range); FERRY_E_NOMEM. seed is zeroed on
 *          failure. */
FERRY_WARN_UNUSED ferry_err ferry_secret_uri_seed(enum ferry_scheme scheme, const char *uri,
                                                  uint8_t seed[FERRY_SEED_LEN],
                                                  struct ferry_reason *why);

/* Returns: 1 when uri is well-formed and derives only from the public development phrase
 *          (no phrase, or FERRY_DEV_PHRASE itself) without a password — e.g. "//Alice" — so it
 *          holds nothing secret; 0 otherwise. */
int ferry_secret_uri_is_public(const char *uri);

/* ---- key pairs and key files (src/crypto/keys.c) -------------------------------------------- */

struct ferry_keypair {
    enum ferry_scheme scheme;
    uint8_t seed[FERRY_SEED_LEN]; /* secret: wipe with ferry_keypair_clear. sr25519: the mini
                                     secret, all zero after a soft junction (there is none) */
    uint8_t public_key[FERRY_PUBLIC_MAX];
    size_t public_len;                    /* 32 (sr25519, ed25519) or 33 (ECDSA) */
    struct ferry_sr25519_keypair sr25519; /* sr25519 only: the expanded secret and public key */
};

/* Build a key pair from a seed (copied).
 * Returns: FERRY_OK; FERRY_E_ARG (invalid ECDSA secret); FERRY_E_NOMEM. kp is cleared on
 *          failure. */
FERRY_WARN_UNUSED ferry_err ferry_keypair_from_seed(struct ferry_keypair *kp,
                                                    enum ferry_scheme scheme,
                                                    const uint8_t seed[FERRY_SEED_LEN]);

/* Build a key pair from a secret URI (sr25519: soft junctions included).
 * Returns: as ferry_secret_uri_seed, except that sr25519 accepts soft junctions. */
FERRY_WARN_UNUSED ferry_err ferry_keypair_from_uri(struct ferry_keypair *kp,
                                                   enum ferry_scheme scheme, const char *uri,
                                                   struct ferry_reason *why);

/* Out: out = the account id (sr25519, ed25519: the public key; ECDSA: blake2b-256 of it). */
void ferry_keypair_account_id(const struct ferry_keypair *kp, uint8_t out[32]);

/* Sign msg[len] with kp's scheme (ECDSA signs blake2b-256(msg); sr25519 signs under the
 * signing context "substrate", with fresh randomness).
 * Out: sig[*siglen] (64 for sr25519 and ed25519, 65 for ECDSA).
 * Returns: FERRY_OK, or as ferry_ecdsa_sign. */
FERRY_WARN_UNUSED ferry_err ferry_keypair_sign(const struct ferry_keypair *kp, const uint8_t *msg,
                                               size_t len, uint8_t sig[FERRY_SIG_MAX],
                                               size_t *siglen);

/* Wipe kp (secret included). */
void ferry_keypair_clear(struct ferry_keypair *kp);

/* Load the key pair named by the secret URI held in the file at path (surrounding whitespace
 * ignored; at most 4 KiB). A file that group or others may access (mode & 077) is refused
 * unless its URI is public (ferry_secret_uri_is_public, e.g. "//Alice").
 * Out: *kp; on failure *why (when non-NULL) the reason (it quotes nothing from the file).
 * Returns: FERRY_OK; FERRY_E_IO (cannot open/read, not a regular file, too large);
 *          FERRY_E_STATE (permissions too open for a secret); or as ferry_keypair_from_uri. */
FERRY_WARN_UNUSED ferry_err ferry_keyfile_load(const char *path, enum ferry_scheme scheme,
                                               struct ferry_keypair *kp, struct ferry_reason *why);

/* Create a new key file at path holding a random 32-byte seed as "0x…\n", mode 0600. The seed
 * is valid for every scheme. An existing file is never overwritten.
 * Returns: FERRY_OK; FERRY_E_IO (exists, cannot create, write failed — a partial file is
 *          removed). *why (when non-NULL) gets the reason on failure. */
FERRY_WARN_UNUSED ferry_err ferry_keyfile_generate(const char *path, struct ferry_reason *why);

#endif
