/* ferry — the GRANDPA authority set as a light client tracks it: the current voters and set id,
 * the changes signalled by FRNK digests and waiting to be enacted, and the trust root (the
 * genesis set read from state through a proof). It moves forward one verified header at a time
 * (ferry_authority_set_apply_header) and gives the voter set a justification is checked against
 * (grandpa.h).
 */
#ifndef FERRY_AUTHORITY_SET_H
#define FERRY_AUTHORITY_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/digest.h"
#include "ferry/error.h"
#include "ferry/grandpa.h"
#include "ferry/header.h"
#include "ferry/scale.h"

struct ferry_trie_proof;

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
                                                             struct ferry_reason *why);

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
                                                           struct ferry_reason *why);

#endif
