/* ferry — egress: carrying a worker's signed messages onto the chain exactly once.
 *
 * The engine owns no connection. It drives the outbox (outbox.h) through a small chain
 * interface (struct ferry_egress_chain) that the relayer binds to a node (src/relay/chain.c) and
 * the unit tests bind to a simulated chain with the real pool, nonce, era and sequence rules.
 *
 * One round (ferry_egress_round), at the chain tip, one thread:
 *   1. Enqueue what the worker gave (ferry_egress_offer) — durable before anything is sent.
 *   2. For every sender with open rows: read its on-chain next sequence at the *finalized* block
 *      (verified by the caller's light client) and settle every row below it as FINALIZED; read it
 *      at the best block and mark in-flight rows below it INCLUDED.
 *   3. Resolve each INFLIGHT row that the best block has not included:
 *        - its era is over (best >= era_death) and it is not in the pool: it can never be
 *          included — back to PENDING, to be signed again (with the same nonce when that nonce
 *          is still unused on chain, so no gap is left behind it);
 *        - otherwise, not in the pool (dropped, or never arrived: a crash between commit and
 *          submit, a lost connection): re-broadcast the very same bytes. Same hash, same nonce:
 *          whatever happened before, at most one of them can execute.
 *   4. Sign and submit PENDING rows in (sender, sequence) order while fewer than max_inflight
 *      are in flight and at most max_per_round this round: choose the nonce, sign, commit
 *      INFLIGHT (bytes, hash, nonce, era), then submit. A rejection that proves the bytes can
 *      never execute (stale or outdated nonce, era over) returns the row to PENDING; a sequence
 *      the chain already has is settled at the next round; a lost connection leaves the row
 *      INFLIGHT for step 3.
 * A crash anywhere leaves rows in a committed state from which the next round continues without
 * ever having two different signed transactions for one (sender, sequence) valid at once.
 */
#ifndef FERRY_EGRESS_H
#define FERRY_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/outbox.h"

/* What the node said about a submission. */
enum ferry_submit_verdict {
    FERRY_SUBMIT_ACCEPTED,    /* in the pool (or already there: "already imported") */
    FERRY_SUBMIT_STALE_NONCE, /* its nonce was used by another transaction */
    FERRY_SUBMIT_OUTDATED,    /* its era is over (or its birth block is unknown) */
    FERRY_SUBMIT_STALE_SEQ,   /* the chain already has this (sender, sequence) */
    FERRY_SUBMIT_REJECTED,    /* any other refusal (bad signature, no funds, ...) */
    FERRY_SUBMIT_UNKNOWN,     /* the connection failed: it may or may not have arrived */
};

struct ferry_egress_chain {
    void *user;
    /* The sender's next expected sequence (PhalaMq.OffchainIngress) at the finalized block
     * (finalized = true; the caller verifies it) or at the best block. */
    ferry_err (*ingress_seq)(void *user, const uint8_t *sender, size_t sender_len, bool finalized,
                             uint64_t *next, struct ferry_reason *why);
    /* The best block number. */
    ferry_err (*best_number)(void *user, uint32_t *number, struct ferry_reason *why);
    /* The signer's next nonce: on chain at the best block (pool = false) or counting the
     * node's ready pool (pool = true, system_accountNextIndex). */
    ferry_err (*account_nonce)(void *user, bool pool, uint64_t *nonce, struct ferry_reason *why);
    /* Whether the node's pool holds the extrinsic with this hash. */
    ferry_err (*in_pool)(void *user, const uint8_t hash[32], bool *present,
                         struct ferry_reason *why);
    /* Sign the submission of payload (a SCALE SignedMessage) with nonce, mortal from the
     * current block. Out: *xt (malloc'd), *xt_len, hash, *era_birth, *era_death. */
    ferry_err (*sign)(void *user, const uint8_t *payload, size_t payload_len, uint64_t nonce,
                      uint8_t **xt, size_t *xt_len, uint8_t hash[32], uint32_t *era_birth,
                      uint32_t *era_death, struct ferry_reason *why);
    /* Submit signed bytes. Out: *verdict. Returns FERRY_OK whenever a verdict is set. */
    ferry_err (*submit)(void *user, const uint8_t *xt, size_t xt_len,
                        enum ferry_submit_verdict *verdict, struct ferry_reason *why);
};

struct ferry_egress_limits {
    uint32_t max_inflight;  /* rows INFLIGHT at once [16] */
    uint32_t max_per_round; /* new submissions per round [200] */
};

/* What one round did (for logs and metrics). */
struct ferry_egress_stats {
    size_t offered_new;       /* rows the worker's batch added */
    size_t finalized;         /* rows settled FINALIZED */
    size_t included;          /* rows seen INCLUDED at the best block */
    size_t submitted;         /* new signatures submitted */
    size_t rebroadcast;       /* same bytes sent again */
    size_t expired;           /* rows returned to PENDING (era over / nonce lost) */
    size_t rejected;          /* submissions refused for another reason */
    size_t pending, inflight; /* rows in those states after the round */
};

/* Add the worker's messages to the outbox. encoded is SCALE
 * Vec<(MessageOrigin, Vec<SignedMessage>)> (GetEgressMessagesResponse.encoded_messages); each
 * SignedMessage is stored whole under (SCALE(origin), its sequence).
 * Out: *added (optional) rows new to the outbox.
 * Returns: FERRY_OK; decode errors (FERRY_E_TRUNCATED, FERRY_E_INVALID, ..., with *why); the
 *          outbox's errors. Nothing is added when the batch does not decode. */
FERRY_WARN_UNUSED ferry_err ferry_egress_offer(struct ferry_outbox *ob, const uint8_t *encoded,
                                               size_t len, size_t *added, struct ferry_reason *why);

/* Run steps 2–4 above once.
 * Out: *st (optional).
 * Returns: FERRY_OK; the chain interface's errors (the round stops there; committed rows stay
 *          consistent); the outbox's errors (FERRY_E_IO). */
FERRY_WARN_UNUSED ferry_err ferry_egress_round(struct ferry_outbox *ob,
                                               const struct ferry_egress_chain *chain,
                                               const struct ferry_egress_limits *lim,
                                               struct ferry_egress_stats *st,
                                               struct ferry_reason *why);

/* Decode the sender (MessageOrigin) and sequence of a SCALE SignedMessage.
 * Out: *sender_len (the origin is payload[0..*sender_len)), *seq.
 * Returns: FERRY_OK or a decode error. */
FERRY_WARN_UNUSED ferry_err ferry_signed_message_id(const uint8_t *payload, size_t len,
                                                    size_t *sender_len, uint64_t *seq);

#endif
