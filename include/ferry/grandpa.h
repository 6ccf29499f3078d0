/* ferry — GRANDPA finality: justification codec, justification verification against a voter set,
 * and the client-side authority set that follows FRNK digests from block to block.
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
 * Polkadot and Kusama, that is S itself). See struct ferry_authority_set.
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

struct ferry_trie_proof;

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

/* ---- authority set tracking --------------------------------------------------------------------
 */

/* A change signalled by a FRNK log, waiting to be enacted at block signal_number + delay. */
struct ferry_grandpa_pending_change {
    uint32_t signal_number;
    uint8_t signal_hash[32];
    uint32_t delay;
    uint32_t median;              /* ForcedChange only: median last finalized block */
    struct ferry_authority *next; /* malloc'd, n_next items: the next authority list */
    size_t n_next;
};

enum ferry_grandpa_pause_state {
    FERRY_GRANDPA_LIVE = 0,
    FERRY_GRANDPA_PAUSE_PENDING = 1, /* Pause signalled; takes effect at block `pause_at` */
    FERRY_GRANDPA_PAUSED = 2,
    FERRY_GRANDPA_RESUME_PENDING = 3, /* Resume signalled; takes effect at block `pause_at` */
};

/* The client-side GRANDPA authority set at a block, advanced one header at a time.
 *
 * Contract: the set as it stands after applying headers up to B−1 is the one whose justification
 * finalizes B. So: verify B's justification with (set_id, authorities) first, then apply B (and
 * any headers below it, in order). A header must be the child of the last one applied.
 *
 * What applying a header does, in order:
 *   - FRNK ScheduledChange(next, d): recorded as pending (at most one; a second while one is
 *     pending is FERRY_E_STATE, as the runtime never emits it). Enacted when block S+d is applied
 *     (set_id += 1, authorities = next); with d = 0 that is S itself, right after S's
 *     justification was checked with the old set_id.
 *   - FRNK ForcedChange(median, next, d): Substrate nodes enact it when S+d is *imported*, not
 *     finalized, because it exists to restart a stalled set. A finality-following light client
 *     only ever sees S..S+d as unfinalized headers delivered alongside a justification from the
 *     NEW set (grandpa_proveFinality's unknown_headers, warp sync), so nothing it already trusts
 *     vouches for them: accepting a forced change means trusting block production. ferry
 *     therefore refuses forced changes (FERRY_E_UNSUPPORTED) unless accept_forced is set; with
 *     it set, apply S..S+d to a copy of the set, verify the new set's justification with the
 *     copy, and keep the copy only if that succeeds. Enactment clears any pending scheduled
 *     change; one whose enactment block is at or below the median is FERRY_E_STATE (Substrate's
 *     ForcedAuthoritySetChangeDependencyUnsatisfied).
 *   - Pause(d) / Resume(d): the pause state changes when block S+d is applied. Voters do not
 *     vote while paused; the state is exposed for callers and does not alter verification.
 *   - OnDisabled(i): no effect on the client-side set (no set_id change).
 * An FRNK consensus item that does not decode is an error (FERRY_E_INVALID), never skipped: it
 * could be a set change. On any error the set is left unchanged. */
struct ferry_authority_set {
    uint64_t set_id;
    struct ferry_authority *authorities; /* malloc'd, n_authorities items, as listed on chain */
    size_t n_authorities;
    uint32_t number; /* the last block applied: this set finalizes its descendants */
    uint8_t hash[32];
    bool has_scheduled;
    struct ferry_grandpa_pending_change scheduled;
    bool has_forced;
    struct ferry_grandpa_pending_change forced;
    enum ferry_grandpa_pause_state pause;
    uint32_t pause_at;  /* block number of a pending pause/resume */
    bool accept_forced; /* policy; see above. Persisted with the state. */
};

/* What applying one header changed (for logs and callers that persist on change). */
struct ferry_authority_set_event {
    bool signalled;     /* a Scheduled or Forced change was recorded */
    bool enacted;       /* set_id advanced at this block */
    bool forced;        /* ... by a forced change */
    bool pause_changed; /* pause state changed at this block */
    size_t disabled;    /* OnDisabled logs seen */
};

/* Start tracking at block (number, hash) with the given set.
 * In:  list[n] (copied), set_id, number, hash.
 * Out: *set (zeroed on failure). Returns: FERRY_OK, FERRY_E_INVALID (n = 0), FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_authority_set_init(struct ferry_authority_set *set,
                                                     uint64_t set_id,
                                                     const struct ferry_authority *list, size_t n,
                                                     uint32_t number, const uint8_t hash[32]);

/* Release what *set owns; safe on a zeroed set; leaves it zeroed. */
void ferry_authority_set_free(struct ferry_authority_set *set);

/* Deep copy. Returns: FERRY_OK or FERRY_E_NOMEM (*dst zeroed). */
FERRY_WARN_UNUSED ferry_err ferry_authority_set_copy(struct ferry_authority_set *dst,
                                                     const struct ferry_authority_set *src);

/* Apply header h (the child of the last block applied) as described at the struct.
 * Out: *ev (when non-NULL) what changed; *why (when non-NULL) a static reason on failure.
 * Returns: FERRY_OK; FERRY_E_STATE (h is not the next block, a second pending change, a forced
 *          change dependency); FERRY_E_UNSUPPORTED (forced change without accept_forced);
 *          FERRY_E_INVALID (an FRNK log that does not decode, a delay that overflows the block
 *          number); FERRY_E_NOMEM. On failure *set is unchanged. */
FERRY_WARN_UNUSED ferry_err ferry_authority_set_apply_header(struct ferry_authority_set *set,
                                                             const struct ferry_header *h,
                                                             struct ferry_authority_set_event *ev,
                                                             const char **why);

/* Build the voter set of the current authorities. Returns: as ferry_voter_set_init. */
FERRY_WARN_UNUSED ferry_err ferry_authority_set_voters(const struct ferry_authority_set *set,
                                                       struct ferry_voter_set *vs);

/* Persistence format (SCALE, ferry's own, version 1):
 *   0x01 ‖ set_id u64 ‖ Vec<(id[32], u64)> ‖ number u32 ‖ hash[32]
 *   ‖ Option<Pending> scheduled ‖ Option<Pending> forced ‖ pause u8 ‖ pause_at u32
 *   ‖ accept_forced bool,   Pending = signal_number u32 ‖ signal_hash[32] ‖ delay u32
 *   ‖ median u32 ‖ Vec<(id[32], u64)>. */
void ferry_authority_set_encode(const struct ferry_authority_set *set,
                                struct ferry_scale_writer *w);

/* Decode the persistence format from all of buf[len].
 * Out: *set (nothing to free on failure); diag as for the decoders above.
 * Returns: FERRY_OK; FERRY_E_UNSUPPORTED (unknown version byte); FERRY_E_INVALID (empty
 *          authority list, bad pause state); a decode error; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_authority_set_decode(struct ferry_authority_set *set,
                                                       const uint8_t *buf, size_t len,
                                                       struct ferry_scale_reader *diag);

/* Decode a GRANDPA authority list value as stored on chain, all of buf[len]: a plain
 * Vec<(id, u64)> (Grandpa::Authorities) or, when versioned is true, 0x01 ‖ Vec<(id, u64)> (the
 * legacy `:grandpa_authorities` key). Out: *list (malloc'd), *n.
 * Returns: FERRY_OK, FERRY_E_UNSUPPORTED (version byte other than 1), a decode error, or
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_grandpa_authorities_decode(const uint8_t *buf, size_t len,
                                                             bool versioned,
                                                             struct ferry_authority **list,
                                                             size_t *n);

/* Bootstrap a set from a read proof at block (number, hash) whose state root is state_root:
 * the authorities from Grandpa::Authorities (twox128("Grandpa") ‖ twox128("Authorities")) or,
 * when that is proven absent, from the legacy `:grandpa_authorities`; the set_id from
 * Grandpa::CurrentSetId (u64; proven absent = 0).
 * Note the runtime bumps CurrentSetId when a change is *scheduled*; with delay 0 that is the
 * same block the client-side set changes at, but a read at a block with a delayed change pending
 * yields the id of the set that is not yet active. Prefer a checkpoint that is not inside a
 * pending change.
 * Out: *set (zeroed on failure); *why (when non-NULL) a static reason on failure.
 * Returns: FERRY_OK; FERRY_E_INCOMPLETE (a needed key is not proven either way);
 *          FERRY_E_NOT_FOUND (neither authority key is present); a decode error of a value;
 *          FERRY_E_INVALID (empty authority list); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_authority_set_from_proof(struct ferry_authority_set *set,
                                                           const struct ferry_trie_proof *proof,
                                                           const uint8_t state_root[32],
                                                           uint32_t number, const uint8_t hash[32],
                                                           const char **why);

#endif
