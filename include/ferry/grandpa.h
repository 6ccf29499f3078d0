/* ferry — GRANDPA finality: justification codec and justification verification against a voter
 * set. (The client-side authority set that follows FRNK digests is authority_set.h.)
 *
 * A justification proves that a supermajority of the voter set (the GRANDPA authorities of one
 * set_id) precommitted to a block or its descendants in one round. ferry verifies it by the rules
 * Substrate applies (`GrandpaJustification::decode_and_verify_finalizes`, which calls
 * `finality_grandpa::validate_commit`), checked against polkadot-sdk and finality-grandpa
 * sources:
 *
 *   1. The commit target (hash, number) is the block the caller wants finalized.
 *   2. Every precommit signature verifies (see "ed25519" below) for (round, set_id). This holds
 *      for *every* precommit, including one from a key outside the voter set: one bad signature
 *      rejects the whole justification.
 *   3. Every precommit target has number >= the commit target's and is the commit target or a
 *      descendant of it, reachable by walking parent-hash links through `votes_ancestries`
 *      (headers indexed by their blake2b-256 hash). This, too, holds for every precommit.
 *   4. Weights. A precommit whose id is not in the voter set is ignored (Substrate counts it as an
 *      "invalid voter" and does not reject). A second precommit from the same voter that is
 *      identical (target hash, number and signature) is a duplicate and counts once. A second
 *      precommit that differs is an equivocation: tolerated, and from then on the equivocator's
 *      weight counts for every block (as finality-grandpa's vote graph does). Substrate's vote
 *      tracker silently ignores any further precommit from a voter who already equivocated, so
 *      `validate_commit`'s "a second equivocation invalidates" branch can never fire; ferry does
 *      the same by default and rejects instead when FERRY_GRANDPA_STRICT_EQUIVOCATIONS is set.
 *   5. Let W(B) = the weight of distinct voters whose (first) precommit is B or a descendant of B,
 *      plus the weight of every equivocator. The commit target needs W(target) >= threshold,
 *      threshold = total − ⌊(total − 1)/3⌋, and the precommit-GHOST (the highest block with
 *      W >= threshold) must be exactly the commit target: a justification whose votes would
 *      finalize a strict descendant is rejected, as in finality-grandpa >= 0.16.
 *   6. Ancestry economy: take the precommit with the lowest target number (the first one on a
 *      tie) as base; every other precommit target must reach the base through votes_ancestries,
 *      and the headers walked (the target and every header between it and the base, the base
 *      excluded) must be exactly the set of votes_ancestries headers. A header no route uses
 *      rejects the justification.
 * Every rejection carries a reason code (ferry_grandpa_reason_name: the strings used in the
 * conformance vectors) and a sentence naming the precommit or header at fault.
 *
 * ed25519: a signature is valid iff libsodium's crypto_sign_verify_detached accepts it (RFC 8032
 * with canonical S, canonical point encodings, no small-order public key or R, cofactorless
 * equation). Substrate verifies with ed25519-zebra under ZIP-215 rules, which additionally
 * accept non-canonical point encodings, small-order points and signatures that only satisfy the
 * cofactored equation. Honest voters sign with RFC 8032 and their signatures pass both, so the
 * difference only matters for a signature crafted by a faulty voter: ferry then rejects a
 * justification Substrate would accept (never the reverse) and waits for a later one.
 *
 * Set ids: a justification does not say which set signed it; the caller must know. A scheduled
 * change signalled in block S with delay d is enacted when S+d is finalized, so S+d is the last
 * block of the old set and its justification is signed with the OLD set_id (with d = 0, as on
 * Polkadot and Kusama, that is S itself). See struct ferry_authority_set (authority_set.h).
 */
#ifndef FERRY_GRANDPA_H
#define FERRY_GRANDPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/digest.h"
#include "ferry/error.h"
#include "ferry/header.h"
#include "ferry/scale.h"

/* ---- justification codec -----------------------------------------------------------------------
 */

/* Size of the message each precommit signs: 0x01 ‖ hash[32] ‖ number u32 ‖ round u64 ‖ set_id
 * u64, all little-endian. */
#define FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN 53

struct ferry_grandpa_precommit {
    uint8_t target_hash[32];
    uint32_t target_number;
    uint8_t signature[64];
    uint8_t id[32]; /* ed25519 public key of the signer */
};

struct ferry_grandpa_justification {
    uint64_t round;
    uint8_t target_hash[32]; /* commit target */
    uint32_t target_number;
    struct ferry_grandpa_precommit *precommits; /* malloc'd, n_precommits items */
    size_t n_precommits;
    struct ferry_header *ancestries; /* votes_ancestries, malloc'd, n_ancestries items */
    size_t n_ancestries;
};

/* Decode a justification that must span all of buf[len]:
 * round u64 ‖ commit{target_hash[32], target_number u32, Vec<SignedPrecommit>} ‖ Vec<Header>.
 * Input is hostile: every Vec length is checked against the remaining input before allocating.
 * Out: *j (zeroed first; on failure it holds nothing to free). diag, when non-NULL, receives the
 *      cursor for ferry_scale_describe ("... at byte N").
 * Returns: FERRY_OK, a decode error (FERRY_E_TRUNCATED, FERRY_E_TOO_LARGE, FERRY_E_INVALID, ...),
 *          FERRY_E_TRAILING when bytes remain, or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err
ferry_grandpa_justification_decode(struct ferry_grandpa_justification *j, const uint8_t *buf,
                                   size_t len, struct ferry_scale_reader *diag);

/* Decode a justification from a cursor (inside a larger structure); the cursor's sticky error
 * says why on failure. Returns: FERRY_OK or the cursor's error (*j then holds nothing). */
FERRY_WARN_UNUSED ferry_err ferry_grandpa_justification_read(struct ferry_scale_reader *r,
                                                             struct ferry_grandpa_justification *j);

/* Release what *j owns; safe on a zeroed justification; leaves it zeroed. */
void ferry_grandpa_justification_free(struct ferry_grandpa_justification *j);

/* Append the SCALE encoding of *j to w (decoded headers byte-exactly, built ones from their
 * fields). */
void ferry_grandpa_justification_encode(const struct ferry_grandpa_justification *j,
                                        struct ferry_scale_writer *w);

/* Write the 53-byte message a precommit for (hash, number) signs in (round, set_id). */
void ferry_grandpa_precommit_payload(uint8_t out[FERRY_GRANDPA_PRECOMMIT_PAYLOAD_LEN],
                                     const uint8_t target_hash[32], uint32_t target_number,
                                     uint64_t round, uint64_t set_id);

/* What `grandpa_proveFinality(n)` returns (SCALE): block[32] ‖ justification Vec<u8> ‖
 * unknown_headers Vec<Header>. */
struct ferry_grandpa_finality_proof {
    uint8_t block[32];
    uint8_t *justification; /* malloc'd copy of the encoded justification */
    size_t justification_len;
    struct ferry_header *unknown_headers; /* malloc'd, n_unknown_headers items */
    size_t n_unknown_headers;
};

/* Decode a FinalityProof that must span all of buf[len]. The inner justification is copied,
 * not decoded (use ferry_grandpa_justification_decode on it).
 * Out: *p (zeroed first; nothing to free on failure); diag as above.
 * Returns: FERRY_OK, a decode error, FERRY_E_TRAILING or FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err
ferry_grandpa_finality_proof_decode(struct ferry_grandpa_finality_proof *p, const uint8_t *buf,
                                    size_t len, struct ferry_scale_reader *diag);

/* Release what *p owns; safe on a zeroed proof. */
void ferry_grandpa_finality_proof_free(struct ferry_grandpa_finality_proof *p);

/* ---- voter sets ------------------------------------------------------------------------------ */

/* A GRANDPA voter set built the way finality-grandpa's VoterSet::new builds it: zero-weight
 * entries are dropped, repeated ids have their weights added, voters are sorted by id. */
struct ferry_voter_set {
    struct ferry_authority *voters; /* malloc'd, sorted by id, distinct, weights > 0 */
    size_t n_voters;
    uint64_t total_weight;
    uint64_t threshold; /* ferry_grandpa_threshold(total_weight) */
};

/* Returns: total − ⌊(total − 1)/3⌋ (0 for total 0): the weight a supermajority needs. */
uint64_t ferry_grandpa_threshold(uint64_t total_weight);

/* Build a voter set from list[n] (not modified).
 * Out: *vs (zeroed on failure).
 * Returns: FERRY_OK; FERRY_E_INVALID when no entry has a non-zero weight (empty set);
 *          FERRY_E_OVERFLOW when the total weight exceeds 2^64 − 1; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_voter_set_init(struct ferry_voter_set *vs,
                                                 const struct ferry_authority *list, size_t n);

/* Release a voter set; safe on a zeroed one. */
void ferry_voter_set_free(struct ferry_voter_set *vs);

/* Returns: the voter with this id, or NULL. */
const struct ferry_authority *ferry_voter_set_find(const struct ferry_voter_set *vs,
                                                   const uint8_t id[32]);

/* ---- verification ---------------------------------------------------------------------------- */

enum ferry_grandpa_reason {
    FERRY_GRANDPA_VALID = 0,
    FERRY_GRANDPA_DECODE,            /* "decode": the bytes are not a justification */
    FERRY_GRANDPA_TARGET_MISMATCH,   /* "commit_target_mismatch": not the block asked about */
    FERRY_GRANDPA_BAD_SIGNATURE,     /* "bad_signature" */
    FERRY_GRANDPA_NOT_DESCENDANT,    /* "precommit_not_descendant_of_target" */
    FERRY_GRANDPA_EQUIVOCATIONS,     /* "too_many_equivocations" (strict mode only) */
    FERRY_GRANDPA_BELOW_THRESHOLD,   /* "below_threshold" */
    FERRY_GRANDPA_GHOST_BEYOND,      /* "ghost_beyond_target": votes finalize a descendant */
    FERRY_GRANDPA_ANCESTRY_ROUTE,    /* "invalid_ancestry_route": no route to the lowest vote */
    FERRY_GRANDPA_UNUSED_ANCESTRIES, /* "unused_votes_ancestries" */
    FERRY_GRANDPA_NOMEM,             /* "out_of_memory" (not a verdict on the input) */
    FERRY_GRANDPA_REASON__COUNT
};

/* Returns: the static reason code for r ("valid", "bad_signature", ...; see the enum). */
const char *ferry_grandpa_reason_name(enum ferry_grandpa_reason r);

/* Options for ferry_grandpa_verify. A zeroed struct (or NULL) means: one thread, Substrate's
 * equivocation rule, no expected target. */
#define FERRY_GRANDPA_STRICT_EQUIVOCATIONS 0x1u /* reject a voter's third distinct precommit */
#define FERRY_GRANDPA_CHECK_TARGET         0x2u /* rule 1: compare with expected_hash/number */

struct ferry_grandpa_verify_opts {
    unsigned threads; /* signature-checking threads; 0 or 1 = the calling thread only */
    unsigned flags;   /* FERRY_GRANDPA_* above */
    uint8_t expected_hash[32];
    uint32_t expected_number;
};

/* The outcome of a verification, valid or not. */
struct ferry_grandpa_verdict {
    enum ferry_grandpa_reason reason;
    size_t index;        /* precommit (or, for unused ancestries, header) at fault; SIZE_MAX */
    char detail[256];    /* one sentence: what failed, where, and the rule */
    size_t signatures;   /* signatures checked and found valid */
    uint64_t weight;     /* weight of distinct voters on the target and its descendants */
    uint64_t threshold;  /* of the voter set */
    size_t voters;       /* distinct voters counted */
    size_t unknown;      /* precommits from ids outside the set (ignored) */
    size_t duplicates;   /* exact repeats (counted once) */
    size_t equivocators; /* voters with two different precommits */
};

/* Verify j for the voter set vs and set_id, following the rules at the top of this file. All
 * signatures are checked first (in parallel when opts->threads > 1), then votes are tallied.
 * In:  j, vs, set_id, opts (may be NULL).
 * Out: *v - the verdict, filled in every case (reason FERRY_GRANDPA_VALID on success).
 * Returns: FERRY_OK when valid, FERRY_E_VERIFY when invalid (v->reason says why), FERRY_E_NOMEM
 *          when memory ran out (v->reason = FERRY_GRANDPA_NOMEM; nothing was decided). */
FERRY_WARN_UNUSED ferry_err ferry_grandpa_verify(const struct ferry_grandpa_justification *j,
                                                 const struct ferry_voter_set *vs, uint64_t set_id,
                                                 const struct ferry_grandpa_verify_opts *opts,
                                                 struct ferry_grandpa_verdict *v);

/* Decode buf[len] as a justification and verify it (a decode failure is the verdict
 * FERRY_GRANDPA_DECODE with the cursor's description in v->detail).
 * Out: *v; *target_hash / *target_number (when non-NULL) the decoded commit target (zero when
 *      decoding failed). Returns: as ferry_grandpa_verify, FERRY_E_VERIFY for a decode failure. */
FERRY_WARN_UNUSED ferry_err ferry_grandpa_verify_encoded(
    const uint8_t *buf, size_t len, const struct ferry_voter_set *vs, uint64_t set_id,
    const struct ferry_grandpa_verify_opts *opts, struct ferry_grandpa_verdict *v,
    uint8_t target_hash[32], uint32_t *target_number);

#endif
