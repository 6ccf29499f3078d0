/* ferry — the light-client core: verified finality of one chain (and its parachain), no I/O.
 *
 * A `struct ferry_lc` is the verified state of a relay (or solo) chain and, in parachain mode,
 * of one parachain: the genesis hash, the last verified (finalized) header, the GRANDPA
 * authority set that finalizes its descendants, the para id and last verified para header, and
 * the state roots of the verified blocks still retained (so read proofs can be checked against
 * them by number). `ferry follow`, `ferry-worker` and `ferry relay` each drive one.
 *
 * Rules every operation keeps:
 *   - It applies completely or not at all: on any failure the state is byte-identical to before
 *     (ferry_lc_encode gives the same bytes), and *why says what was refused and where.
 *   - Nothing the caller says is trusted: set changes come from the digests of headers this
 *     state verified, para heads from proofs against state roots it verified.
 *   - No RPC, no SQLite, no clock, no threads of its own (GRANDPA signature checks may use the
 *     configured number of worker threads for one call, joined before it returns), no logging.
 *
 * Not thread-safe: one state, one caller at a time.
 */
#ifndef FERRY_LC_H
#define FERRY_LC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/authority_set.h"
#include "ferry/error.h"
#include "ferry/grandpa.h"
#include "ferry/header.h"
#include "ferry/para_head.h"
#include "ferry/scale.h"
#include "ferry/trie.h"

struct ferry_lc;

/* Fixed choices for the life of a state (persisted with it). */
struct ferry_lc_config {
    bool parachain;      /* follow para_id's heads through Paras::Heads proofs */
    uint32_t para_id;    /* parachain mode only */
    bool accept_forced;  /* see ferry_authority_set: forced changes refused unless set */
    unsigned threads;    /* signature-checking threads per justification (0/1 = caller's) */
    uint32_t keep_roots; /* state roots retained per chain (0 = default 65536); older are
                          * dropped first. ferry_lc_forget_below drops explicitly. */
};

/* ---- trust roots ------------------------------------------------------------------------------
 */

/* Start from a genesis header (block 0) and a read proof of the authority set against its state
 * root: Grandpa::Authorities (or the well-known :grandpa_authorities) and, when present,
 * Grandpa::CurrentSetId (absent = 0). The genesis hash is blake2b-256 of the header's encoding.
 * Out: *out (free with ferry_lc_free); NULL on failure.
 * Returns: FERRY_OK; FERRY_E_INVALID (not block 0, empty or undecodable authority list);
 *          FERRY_E_INCOMPLETE (the proof lacks the authority keys); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_lc_new_genesis(struct ferry_lc **out,
                                                 const struct ferry_lc_config *cfg,
                                                 const struct ferry_header *genesis,
                                                 const struct ferry_trie_proof *authorities_proof,
                                                 struct ferry_reason *why);

/* Start from a checkpoint the operator trusts: the genesis hash, a finalized header and the
 * authority set that finalizes its descendants (set->number/hash must be that header's).
 * Returns: FERRY_OK; FERRY_E_INVALID (set does not belong to the header); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_lc_new_checkpoint(struct ferry_lc **out,
                                                    const struct ferry_lc_config *cfg,
                                                    const uint8_t genesis_hash[32],
                                                    const struct ferry_header *header,
                                                    const struct ferry_authority_set *set,
                                                    struct ferry_reason *why);

void ferry_lc_free(struct ferry_lc *lc);

/* ---- what an operation changed ------------------------------------------------------------------
 */

struct ferry_lc_change {
    uint32_t finalized_from; /* first newly finalized relay block (0 with finalized_count 0) */
    uint32_t finalized_count;
    bool set_enacted; /* the authority set changed; new_set_id is the new id */
    uint64_t new_set_id;
    size_t signatures; /* valid justification signatures checked */
    bool para_advanced;
    uint32_t para_from, para_to; /* para blocks newly verified: para_from..para_to */
};

/* ---- relay headers
 * ------------------------------------------------------------------------------- */

/* A batch: headers that link to the last verified header one by one, the last of which is the
 * target of a justification verified against the set in force. Set changes signalled in the
 * batch are applied to a working copy as headers are added, and a change enacted inside the
 * batch must be at its last header (Substrate never asks a justification of the old set to
 * finalize blocks past an enactment). Headers are consumed as added: the batch keeps only what
 * linkage and the final commit need (hash, number, state root), never the headers themselves,
 * so a caller can stream a 65 536-block batch without holding it in memory.
 *
 * Usage: ferry_lc_batch_begin, ferry_lc_batch_add for each header in order,
 *        ferry_lc_batch_finish with the justification (or ferry_lc_batch_abort). */
struct ferry_lc_batch;

FERRY_WARN_UNUSED ferry_err ferry_lc_batch_begin(struct ferry_lc *lc, struct ferry_lc_batch **out,
                                                 struct ferry_reason *why);

/* Add the next header (as decoded by ferry_header_decode: its hash is that of its encoding).
 * Refused (the batch is then dead: only abort remains) when it does not link, repeats or skips
 * a block, follows an enactment, or carries an FRNK log that does not decode.
 * Returns: FERRY_OK; FERRY_E_VERIFY (parent hash is not the previous block's); FERRY_E_STATE
 *          (repeats, skips or goes back; follows an enactment; a second pending change);
 *          FERRY_E_INVALID (an FRNK log that does not decode); FERRY_E_UNSUPPORTED (a forced
 *          change without accept_forced); FERRY_E_TOO_LARGE (over 2^20 headers); NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_lc_batch_add(struct ferry_lc_batch *b,
                                               const struct ferry_header *h,
                                               struct ferry_reason *why);

/* Verify the SCALE justification (all of just[len]) for the batch's last header with the set in
 * force (the new set when the last header enacts a forced change: accept_forced only) and,
 * when valid, commit the batch to the state. The batch is freed either way.
 * Out: *ch (when non-NULL) what changed; *v (when non-NULL) the GRANDPA verdict.
 * Returns: FERRY_OK; FERRY_E_STATE (empty batch, or refused earlier); FERRY_E_VERIFY
 *          (justification invalid or for another block); FERRY_E_NOMEM. On failure the state
 *          is untouched. */
FERRY_WARN_UNUSED ferry_err ferry_lc_batch_finish(struct ferry_lc_batch *b, const uint8_t *just,
                                                  size_t len, struct ferry_lc_change *ch,
                                                  struct ferry_grandpa_verdict *v,
                                                  struct ferry_reason *why);

void ferry_lc_batch_abort(struct ferry_lc_batch *b);

/* The whole batch in one call (begin, add each, finish). */
FERRY_WARN_UNUSED ferry_err ferry_lc_import_relay(struct ferry_lc *lc,
                                                  const struct ferry_header *headers, size_t n,
                                                  const uint8_t *just, size_t just_len,
                                                  struct ferry_lc_change *ch,
                                                  struct ferry_reason *why);

/* ---- parachain headers
 * --------------------------------------------------------------------------- */

/* Advance the parachain: proof is a read proof of Paras::Heads(para_id) at relay block
 * relay_number (a block this state verified and still retains); headers[n] are the para headers
 * from the one after the last verified para header up to the proven head, in order, each the
 * child of the previous (the first para import may start at any number: linkage back from the
 * proven head proves them all). n = 0 is allowed when the proven head is the current one.
 * Returns: FERRY_OK; FERRY_E_STATE (not parachain mode, relay block unknown); FERRY_E_VERIFY
 *          (proof against another root or missing the head's nodes, proven value not a header,
 *          head mismatch, broken linkage, para head going back); FERRY_E_NOT_FOUND (the proof
 *          shows no head for para_id); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_lc_import_para(struct ferry_lc *lc, uint32_t relay_number,
                                                 const struct ferry_trie_proof *proof,
                                                 const struct ferry_header *headers, size_t n,
                                                 struct ferry_lc_change *ch,
                                                 struct ferry_reason *why);

/* Jump the para head to the one proven at relay_number without the para headers in between, for
 * a driver that cannot fetch them (a head far ahead of the verified one): the proof vouches for
 * the head alone, and the retained roots of older para blocks are dropped.
 * Out: *head (when non-NULL) the proven head (free with ferry_header_free); zeroed on failure.
 * Returns: as ferry_lc_import_para; FERRY_E_VERIFY when the proven head is not above the
 *          verified one. */
FERRY_WARN_UNUSED ferry_err ferry_lc_import_para_head(struct ferry_lc *lc, uint32_t relay_number,
                                                      const struct ferry_trie_proof *proof,
                                                      struct ferry_header *head,
                                                      struct ferry_lc_change *ch,
                                                      struct ferry_reason *why);

/* Trust root for the parachain: take `head` as the last verified para header without a proof,
 * the way a checkpoint is taken (a driver resuming from a store it trusts, so that the next para
 * import must link to it). Only in parachain mode, before any para header was verified.
 * Returns: FERRY_OK; FERRY_E_STATE (not parachain mode, or a para head already verified);
 *          FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_lc_trust_para(struct ferry_lc *lc,
                                                const struct ferry_header *head,
                                                struct ferry_reason *why);

/* ---- read proofs
 * ---------------------------------------------------------------------------------- */

enum ferry_lc_chain {
    FERRY_LC_RELAY = 0, /* the relay (or solo) chain */
    FERRY_LC_PARA = 1,
};

/* State root of a verified, retained block. Returns: FERRY_OK or FERRY_E_NOT_FOUND. */
FERRY_WARN_UNUSED ferry_err ferry_lc_state_root(const struct ferry_lc *lc, enum ferry_lc_chain c,
                                                uint32_t number, uint8_t root[32],
                                                uint8_t hash[32]);

/* Look key up in proof against the state root of verified block `number` of chain c.
 * Out: *value, *value_len (owned by proof) when present.
 * Returns: FERRY_OK present; FERRY_E_NOT_FOUND proven absent; FERRY_E_INCOMPLETE; FERRY_E_STATE
 *          (block not verified or no longer retained); FERRY_E_INVALID. */
FERRY_WARN_UNUSED ferry_err ferry_lc_read(const struct ferry_lc *lc, enum ferry_lc_chain c,
                                          uint32_t number, const struct ferry_trie_proof *proof,
                                          const uint8_t *key, size_t key_len, const uint8_t **value,
                                          size_t *value_len, struct ferry_reason *why);

/* Drop retained state roots below the given numbers (a driver calls it once it no longer needs
 * to check proofs there). */
void ferry_lc_forget_below(struct ferry_lc *lc, uint32_t relay_number, uint32_t para_number);

/* ---- accessors ----------------------------------------------------------------------------------
 */

struct ferry_lc_status {
    uint8_t genesis_hash[32];
    uint32_t number; /* last verified relay block */
    uint8_t hash[32];
    uint8_t state_root[32];
    uint64_t set_id;
    size_t n_authorities;
    bool parachain;
    uint32_t para_id;
    bool has_para; /* a para head has been verified */
    uint32_t para_number;
    uint8_t para_hash[32];
    uint8_t para_state_root[32];
};

void ferry_lc_status(const struct ferry_lc *lc, struct ferry_lc_status *st);

/* The authority set in force (owned by lc; valid until the next change). */
const struct ferry_authority_set *ferry_lc_authority_set(const struct ferry_lc *lc);

/* The configuration the state was created with (keep_roots with its default applied). */
void ferry_lc_config_get(const struct ferry_lc *lc, struct ferry_lc_config *cfg);

/* ---- persistence --------------------------------------------------------------------------------
 */

/* Serialise the whole state: SCALE, versioned, ending in blake2b-256 of everything before it, so
 * a truncated or altered blob is refused by ferry_lc_decode. */
void ferry_lc_encode(const struct ferry_lc *lc, struct ferry_scale_writer *w);

/* Restore from all of buf[len]. Returns: FERRY_OK; FERRY_E_UNSUPPORTED (unknown version);
 * FERRY_E_VERIFY (digest mismatch: truncated or altered); a decode error; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_lc_decode(struct ferry_lc **out, const uint8_t *buf, size_t len,
                                            struct ferry_reason *why);

#endif
