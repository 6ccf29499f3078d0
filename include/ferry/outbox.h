/* ferry — the relayer's durable outbox: the worker's egress messages on their way to the chain.
 *
 * One row per (sender, sequence), where sender is the SCALE MessageOrigin and sequence the
 * message's u64; the chain accepts each sender's messages exactly in sequence
 * (PhalaMq.OffchainIngress). A row moves through
 *
 *     PENDING ──mark_inflight──▶ INFLIGHT ──mark_included──▶ INCLUDED ──mark_finalized──▶ FINALIZED
 *        ▲                          │                           │
 *        └──────mark_pending────────┴───────────────────────────┘   (era expired, dropped, reorg)
 *
 * and settle() moves any row to FINALIZED once the sender's on-chain sequence, read at a
 * finalized block, has passed it (whoever submitted it).
 *
 * The rule that makes submission exactly-once across crashes: a row is marked INFLIGHT — with
 * the signed extrinsic's bytes, hash, nonce and era — in a committed transaction *before* the
 * extrinsic is submitted. After a crash an INFLIGHT row is therefore resolved, never re-signed
 * blindly: it was either included (the on-chain sequence shows it), or is still in the node's
 * pool (look for its hash), or can still be included (re-broadcast the very same bytes: same
 * hash, same nonce, so at most one of them ever executes), or its era has expired and it can
 * never be included (only then back to PENDING, to be signed again with a new era). Every state
 * change is one SQLite transaction (WAL, synchronous=FULL): after kill -9 or power loss the row is
 * in the state of its last committed change.
 *
 * The database also binds itself to one chain (ferry_outbox_bind_genesis) and keeps a small
 * key/value table for the relayer's bookkeeping (next nonce, registration fingerprint).
 * Not thread-safe: one connection per thread.
 */
#ifndef FERRY_OUTBOX_H
#define FERRY_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

enum ferry_outbox_state {
    FERRY_OUTBOX_PENDING = 0,
    FERRY_OUTBOX_INFLIGHT = 1,
    FERRY_OUTBOX_INCLUDED = 2,
    FERRY_OUTBOX_FINALIZED = 3,
};

#define FERRY_OUTBOX_STATES 4

/* A row. Buffers are owned by the struct (ferry_outbox_msg_clear). */
struct ferry_outbox_msg {
    uint8_t *sender; /* SCALE MessageOrigin */
    size_t sender_len;
    uint64_t seq;
    uint8_t *payload; /* SCALE SignedMessage, as the worker produced it */
    size_t payload_len;
    enum ferry_outbox_state state;
    uint32_t attempts; /* times it was marked INFLIGHT */
    /* INFLIGHT and later: the last signed submission */
    uint8_t tx_hash[32];
    uint64_t nonce;
    uint32_t era_birth; /* first block the extrinsic is valid in */
    uint32_t era_death; /* first block it is no longer valid in (UINT32_MAX: immortal) */
    uint8_t *xt;        /* the signed extrinsic */
    size_t xt_len;
    /* INCLUDED and later */
    uint8_t block[32];
    uint32_t block_number;
    int64_t updated_ms; /* wall clock of the last change, ms since the epoch */
};

void ferry_outbox_msg_clear(struct ferry_outbox_msg *m);
void ferry_outbox_msgs_free(struct ferry_outbox_msg *v, size_t n);

/* Returns: "pending", "inflight", "included", "finalized" (static). */
const char *ferry_outbox_state_name(enum ferry_outbox_state s);

struct ferry_outbox;

/* Open (creating) the database at path.
 * Returns: FERRY_OK; FERRY_E_IO (cannot open, not an outbox, newer schema); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_open(const char *path, struct ferry_outbox **out,
                                              struct ferry_reason *why);

void ferry_outbox_close(struct ferry_outbox *ob);

/* Record the chain's genesis hash on first use; afterwards refuse another one.
 * Returns: FERRY_OK; FERRY_E_STATE (the database belongs to another chain; *why names both);
 *          FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_bind_genesis(struct ferry_outbox *ob,
                                                      const uint8_t genesis[32],
                                                      struct ferry_reason *why);

/* Add a message as PENDING unless (sender, seq) is known. A known PENDING row takes the new
 * payload (a restarted worker may sign the same message again, with another signature); rows
 * already submitted keep theirs.
 * Out: *added (optional) — true when the row is new.
 * Returns: FERRY_OK; FERRY_E_ARG (empty sender or payload); FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_enqueue(struct ferry_outbox *ob, const uint8_t *sender,
                                                 size_t sender_len, uint64_t seq,
                                                 const uint8_t *payload, size_t payload_len,
                                                 bool *added, struct ferry_reason *why);

/* Fetch one row. Returns: FERRY_OK; FERRY_E_NOT_FOUND; FERRY_E_IO; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_get(struct ferry_outbox *ob, const uint8_t *sender,
                                             size_t sender_len, uint64_t seq,
                                             struct ferry_outbox_msg *out,
                                             struct ferry_reason *why);

/* List up to max rows in state s (all states when s < 0), ordered by sender then sequence.
 * Out: *v (free with ferry_outbox_msgs_free), *n.
 * Returns: FERRY_OK; FERRY_E_IO; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_list(struct ferry_outbox *ob, int s, size_t max,
                                              struct ferry_outbox_msg **v, size_t *n,
                                              struct ferry_reason *why);

/* PENDING → INFLIGHT with the signed extrinsic about to be submitted (commit, then submit).
 * Returns: FERRY_OK; FERRY_E_STATE (the row is not PENDING); FERRY_E_NOT_FOUND; FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_mark_inflight(
    struct ferry_outbox *ob, const uint8_t *sender, size_t sender_len, uint64_t seq,
    const uint8_t *xt, size_t xt_len, const uint8_t tx_hash[32], uint64_t nonce, uint32_t era_birth,
    uint32_t era_death, struct ferry_reason *why);

/* INFLIGHT (or INCLUDED, when a reorg moved it) → INCLUDED in block/number.
 * Returns: FERRY_OK; FERRY_E_STATE; FERRY_E_NOT_FOUND; FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_mark_included(struct ferry_outbox *ob,
                                                       const uint8_t *sender, size_t sender_len,
                                                       uint64_t seq, const uint8_t block[32],
                                                       uint32_t number, struct ferry_reason *why);

/* Any state → FINALIZED (idempotent). Returns: FERRY_OK; FERRY_E_NOT_FOUND; FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_mark_finalized(struct ferry_outbox *ob,
                                                        const uint8_t *sender, size_t sender_len,
                                                        uint64_t seq, struct ferry_reason *why);

/* INFLIGHT or INCLUDED → PENDING: the submission can no longer be included (its era expired,
 * the pool dropped it as invalid, or the block including it was abandoned). The signed bytes
 * are forgotten; the nonce they used may be reused.
 * Returns: FERRY_OK; FERRY_E_STATE (PENDING or FINALIZED); FERRY_E_NOT_FOUND; FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_mark_pending(struct ferry_outbox *ob,
                                                      const uint8_t *sender, size_t sender_len,
                                                      uint64_t seq, struct ferry_reason *why);

/* The sender's on-chain next sequence is next_seq (read at a finalized block): every row of the
 * sender below it becomes FINALIZED, in one transaction.
 * Out: *settled (optional) — rows changed.
 * Returns: FERRY_OK; FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_settle(struct ferry_outbox *ob, const uint8_t *sender,
                                                size_t sender_len, uint64_t next_seq,
                                                size_t *settled, struct ferry_reason *why);

/* Out: counts[state] for every state. Returns: FERRY_OK or FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_counts(struct ferry_outbox *ob,
                                                uint64_t counts[FERRY_OUTBOX_STATES],
                                                struct ferry_reason *why);

/* Out: the distinct senders with rows not FINALIZED (*v: array of malloc'd buffers, lens).
 * Free with ferry_outbox_senders_free. Returns: FERRY_OK; FERRY_E_IO; FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_open_senders(struct ferry_outbox *ob, uint8_t ***v,
                                                      size_t **lens, size_t *n,
                                                      struct ferry_reason *why);
void ferry_outbox_senders_free(uint8_t **v, size_t *lens, size_t n);

/* Delete FINALIZED rows changed before before_ms, keeping for each sender its highest one (so
 * the sender's progress stays visible). Out: *deleted (optional).
 * Returns: FERRY_OK; FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_prune(struct ferry_outbox *ob, int64_t before_ms,
                                               size_t *deleted, struct ferry_reason *why);

/* Key/value bookkeeping (small blobs). get: FERRY_E_NOT_FOUND when absent; *val malloc'd. */
FERRY_WARN_UNUSED ferry_err ferry_outbox_kv_put(struct ferry_outbox *ob, const char *key,
                                                const uint8_t *val, size_t len,
                                                struct ferry_reason *why);
FERRY_WARN_UNUSED ferry_err ferry_outbox_kv_get(struct ferry_outbox *ob, const char *key,
                                                uint8_t **val, size_t *len,
                                                struct ferry_reason *why);

#endif
