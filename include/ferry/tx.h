/* ferry — submitting signed extrinsics and reading their outcome, over rpc.h.
 *
 * A ferry_tx_client keeps what signing needs — the runtime's metadata, spec and transaction
 * versions, the genesis hash, the signer's next nonce — and keeps it current:
 *   - it follows state_subscribeRuntimeVersion; when a notification carries a spec or
 *     transaction version other than the one it signs with, the next build first fetches the new
 *     metadata and versions (no restart);
 *   - when the node rejects a submission as "bad proof" (a signature over stale versions) or
 *     "stale"/"future" (a nonce another signer used), it refreshes versions, metadata and nonce
 *     once and retries once;
 *   - the nonce comes from system_accountNextIndex at first use, is then counted locally (so
 *     back-to-back submissions get consecutive nonces without waiting for blocks), and is
 *     re-read from the node after any failed submission.
 *
 * A submission goes through author_submitAndWatchExtrinsic (never re-subscribed after a
 * reconnect: that would submit twice) and is followed to inBlock or finalized. The outcome is
 * read from the block itself: the extrinsic's index is found by comparing blake2b-256 of every
 * extrinsic of the block with ours, and System.Events at that block is decoded with the
 * metadata of the runtime that executed the block (its parent's: a block that enacts a runtime
 * upgrade still runs the old code) to find ExtrinsicSuccess / ExtrinsicFailed for
 * ApplyExtrinsic(index); a module error is named "Pallet.Error" from that metadata (the reading
 * half is the chain view, chain_view.h).
 *
 * Thread safety: one client is used by one thread at a time (the subscription callbacks it
 * installs synchronise with it internally).
 */
#ifndef FERRY_TX_H
#define FERRY_TX_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/extrinsic.h"
#include "ferry/keys.h"
#include "ferry/metadata.h"
#include "ferry/rpc.h"

/* How long ferry_tx_wait follows a submission. */
enum ferry_tx_wait {
    FERRY_TX_WAIT_READY,     /* accepted into the pool: no block, no outcome */
    FERRY_TX_WAIT_IN_BLOCK,  /* included in a block (best chain) */
    FERRY_TX_WAIT_FINALIZED, /* included in a finalized block */
};

struct ferry_tx_options {
    bool immortal;         /* immortal era (checkpoint = genesis) instead of mortal */
    uint32_t period;       /* mortal era period [64], rounded as ferry_era_mortal does */
    struct ferry_u128 tip; /* tip for the block author [0] */
    bool fixed_nonce;      /* sign with `nonce` below instead of the tracked one; no retry */
    uint64_t nonce;
    uint32_t timeout_ms;    /* longest wait for each status of a submission [120000] */
    bool no_runtime_follow; /* do not subscribe to runtime-version notifications */
};

struct ferry_tx_client;

/* Open a client: fetch genesis hash, runtime version and metadata, check that the metadata's
 * extrinsic format is one ferry can sign for the key's scheme, and subscribe to runtime
 * versions (unless no_runtime_follow or the transport is HTTP).
 * In:  rpc (borrowed; must outlive the client), kp (copied), opt (copied; NULL = defaults).
 * Out: *out; why (optional) — the reason on failure.
 * Returns: FERRY_OK; the rpc errors (FERRY_E_NET, FERRY_E_TIMEOUT, FERRY_E_RPC, ...);
 *          metadata parse errors; FERRY_E_UNSUPPORTED (extrinsic format or key scheme). */
FERRY_WARN_UNUSED ferry_err ferry_tx_client_open(struct ferry_rpc *rpc,
                                                 const struct ferry_keypair *kp,
                                                 const struct ferry_tx_options *opt,
                                                 struct ferry_tx_client **out,
                                                 struct ferry_reason *why);

/* Unsubscribe, wipe the key copy and free everything. NULL is ignored. */
void ferry_tx_client_close(struct ferry_tx_client *c);

/* Fetch runtime version and metadata again now (and forget the tracked nonce).
 * Returns: as ferry_tx_client_open. On failure the previous state stays in use. */
FERRY_WARN_UNUSED ferry_err ferry_tx_refresh(struct ferry_tx_client *c, struct ferry_reason *why);

/* Views of the client's current state (valid until the next call that may refresh). */
const struct ferry_metadata *ferry_tx_metadata(const struct ferry_tx_client *c);
uint32_t ferry_tx_spec_version(const struct ferry_tx_client *c);
uint32_t ferry_tx_transaction_version(const struct ferry_tx_client *c);
/* Returns: how many times the client fetched metadata (1 after open), for tests and logs. */
unsigned ferry_tx_refresh_count(const struct ferry_tx_client *c);
/* Out: the signer's account id. */
void ferry_tx_account(const struct ferry_tx_client *c, uint8_t account[32]);

/* Build and sign "Pallet.call" with JSON args (see ferry_md_encode_call) using the next nonce,
 * without submitting and without consuming the nonce (a dry run).
 * Out: *xt (malloc'd), *xt_len, hash; *nonce (optional) the nonce signed with.
 * Returns: as ferry_xt_build_call plus the rpc errors of fetching nonce and checkpoint. */
FERRY_WARN_UNUSED ferry_err ferry_tx_build(struct ferry_tx_client *c, const char *dotted,
                                           const cJSON *args, uint8_t **xt, size_t *xt_len,
                                           uint8_t hash[32], uint64_t *nonce,
                                           struct ferry_reason *why);

/* A submission being watched. */
struct ferry_tx_pending;

/* Build, sign and submit "Pallet.call" (author_submitAndWatchExtrinsic); on a "bad proof",
 * "stale" or "future" rejection refresh and retry once (not with fixed_nonce). Returns as soon
 * as the node accepted it; the local nonce then advances.
 * Out: *out (pass to ferry_tx_wait exactly once); why — the reason on failure, the node's
 *      rejection included ("Invalid Transaction: Transaction has a bad signature").
 * Returns: FERRY_OK; FERRY_E_RPC (the node rejected it); the errors of ferry_tx_build; rpc
 *          errors (FERRY_E_NET, FERRY_E_TIMEOUT, FERRY_E_RETRY). */
FERRY_WARN_UNUSED ferry_err ferry_tx_send(struct ferry_tx_client *c, const char *dotted,
                                          const cJSON *args, struct ferry_tx_pending **out,
                                          struct ferry_reason *why);

/* Submit a ready-made signed extrinsic xt[len] (no rebuild, no retry) and watch it.
 * Returns: as ferry_tx_send. */
FERRY_WARN_UNUSED ferry_err ferry_tx_send_raw(struct ferry_tx_client *c, const uint8_t *xt,
                                              size_t len, struct ferry_tx_pending **out,
                                              struct ferry_reason *why);

/* The outcome of a submission. */
struct ferry_tx_result {
    uint8_t hash[32]; /* extrinsic hash */
    uint64_t nonce;   /* nonce it was signed with (0 for raw submissions) */
    bool included;    /* block/number/index below are set */
    uint8_t block[32];
    uint32_t number;
    uint32_t index; /* position in the block */
    bool finalized; /* the node reported it finalized */
    bool success;   /* ExtrinsicSuccess */
    cJSON *error;   /* ExtrinsicFailed: {"module": "Pallet.Error", "pallet", "name",
                       "dispatch_error": <decoded DispatchError>} or {"dispatch_error": …} */
    cJSON *events;  /* the events of this extrinsic (phase ApplyExtrinsic(index)) */
};

/* Release what a result owns; leaves it zeroed. */
void ferry_tx_result_clear(struct ferry_tx_result *r);

/* Follow a submission until `wait` is reached, then (for IN_BLOCK/FINALIZED) read its outcome
 * from the block. Frees p whatever happens.
 * Out: *res (always filled as far as known; clear it); why — the reason on failure.
 * Returns: FERRY_OK when the outcome is known (res->success says which: a dispatch failure is
 *          FERRY_OK with success = false); FERRY_E_STATE (the node dropped it or declared it
 *          invalid or usurped after accepting it); FERRY_E_TIMEOUT; FERRY_E_RETRY / FERRY_E_NET
 *          (the connection was lost: the outcome is unknown); FERRY_E_NOT_FOUND (the block does
 *          not contain it or has no matching event); decode errors. */
FERRY_WARN_UNUSED ferry_err ferry_tx_wait(struct ferry_tx_client *c, struct ferry_tx_pending *p,
                                          enum ferry_tx_wait wait, struct ferry_tx_result *res,
                                          struct ferry_reason *why);

/* ferry_tx_send followed by ferry_tx_wait. */
FERRY_WARN_UNUSED ferry_err ferry_tx_submit(struct ferry_tx_client *c, const char *dotted,
                                            const cJSON *args, enum ferry_tx_wait wait,
                                            struct ferry_tx_result *res, struct ferry_reason *why);

#endif
