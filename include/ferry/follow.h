/* ferry — the light client: follows relay-chain (or solo-chain) GRANDPA finality and,
 * optionally, one parachain, and reports only blocks it has verified itself.
 *
 * Trust starts at genesis (the genesis header, checked against the genesis hash, and the
 * authority set read from a verified proof of its state) or at a checkpoint written by
 * ferry_follow_export_checkpoint. From there every relay header is linked by parent hash to the
 * last verified one, and every batch ends in a block whose GRANDPA justification verifies
 * against the tracked authority set; set changes are applied from the FRNK digests of verified
 * headers. Parachain heads are read from `Paras::Heads(para_id)` with a read proof at a verified
 * relay block, and the para headers in between are linked to the proven head by parent hash.
 *
 * Catch-up uses grandpa_proveFinality (one call per batch: justification + the headers it
 * covers); when a node cannot serve it, the justification stored with the block
 * (chain_getBlock) is used, found by walking back from the finalized head. Live, the finalized
 * head subscription wakes the loop; after any reconnect the loop continues by block number from
 * the last verified block, so nothing is skipped or reported twice. Where grandpa_proveFinality
 * is missing, justifications pushed by grandpa_subscribeJustifications end batches too.
 *
 * A header, justification or proof that fails verification is logged with its reason, the
 * endpoint is abandoned for the next URL, and the step is retried with backoff.
 * Everything verified is committed to the store (store.h) before it is reported.
 */
#ifndef FERRY_FOLLOW_H
#define FERRY_FOLLOW_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/authority_set.h"
#include "ferry/header.h"

struct ferry_follow_progress {
    uint32_t verified;     /* highest verified relay block */
    uint32_t target;       /* the node's finalized head as last seen */
    uint64_t set_id;       /* current authority set id */
    double blocks_per_sec; /* recent verification rate */
    bool has_para;
    uint32_t para_number; /* highest verified para block */
};

struct ferry_follow_config {
    const char *const *urls; /* relay endpoints (ws/wss/http/https), rotated on failure */
    size_t n_urls;
    const char *const *para_urls; /* parachain endpoints; n_para_urls = 0: relay only */
    size_t n_para_urls;
    uint32_t para_id;
    const char *db_path;         /* SQLite store; ":memory:" keeps it in RAM (no resume) */
    uint32_t keep_headers;       /* keep this many recent relay headers in the store (0 = all) */
    const char *checkpoint_path; /* NULL: trust starts at genesis (or the store) */
    bool has_until;
    uint32_t until;              /* return once relay block `until` is verified */
    unsigned threads;            /* signature-verification threads (0 = 1) */
    bool insecure;               /* TLS: accept unverified certificates */
    uint32_t timeout_ms;         /* per request [30000] */
    size_t max_message_bytes;    /* [64 MiB] */
    volatile sig_atomic_t *stop; /* set non-zero to stop at the next step */

    /* Reports, called on the calling thread after the block was committed. A relay catch-up
     * batch is streamed into the store rather than held in memory, so on_relay's header carries
     * number, hash and parent_hash only (the rest zero; the full header is in the store). */
    void (*on_relay)(void *user, const struct ferry_header *h, uint64_t set_id);
    void (*on_para)(void *user, uint32_t para_id, const struct ferry_header *h);
    void (*on_progress)(void *user, const struct ferry_follow_progress *p);
    void *user;
};

/* Run the light client until cfg->until is reached or *cfg->stop is set.
 * *why (when non-NULL) receives the reason for a non-OK return.
 * Returns: FERRY_OK (until reached or stopped); FERRY_E_STATE (the store belongs to another
 *          chain, or the checkpoint does not match it); FERRY_E_INVALID (the checkpoint is not
 *          a ferry checkpoint); FERRY_E_IO (store, or checkpoint file unreadable);
 *          FERRY_E_VERIFY (the trust root itself failed: genesis header or its authority proof);
 *          FERRY_E_ARG (bad configuration). Network trouble and lying nodes are not returned:
 *          they are logged and retried. */
FERRY_WARN_UNUSED ferry_err ferry_follow_run(const struct ferry_follow_config *cfg,
                                             struct ferry_reason *why);

/* Write a checkpoint (JSON: genesis hash, the last verified header, its authority set) from the
 * store at db_path to out_path ("-" = stdout).
 * Out: *why (when non-NULL) the reason on failure.
 * Returns: FERRY_OK; FERRY_E_NOT_FOUND (empty store); FERRY_E_IO. */
FERRY_WARN_UNUSED ferry_err ferry_follow_export_checkpoint(const char *db_path,
                                                           const char *out_path,
                                                           struct ferry_reason *why);

/* Read a checkpoint written by ferry_follow_export_checkpoint (decoding only: that header and set
 * belong together is checked by ferry_lc_new_checkpoint).
 * Out: genesis; *header and *set (free with ferry_header_free / ferry_authority_set_free),
 *      zeroed on failure; *why (when non-NULL) the reason on failure.
 * Returns: FERRY_OK; FERRY_E_IO (unreadable); FERRY_E_INVALID (not a ferry checkpoint, larger
 *          than 16 MiB, or a header or set that does not decode); FERRY_E_NOMEM. */
FERRY_WARN_UNUSED ferry_err ferry_follow_read_checkpoint(const char *path, uint8_t genesis[32],
                                                         struct ferry_header *header,
                                                         struct ferry_authority_set *set,
                                                         struct ferry_reason *why);

#endif
